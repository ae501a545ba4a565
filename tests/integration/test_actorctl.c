/* tests/integration/test_actorctl.c - the Ray account and Dask counter
 * sessions typed at the shell, through actorctl.
 * SPDX-License-Identifier: MIT
 *
 * actorctl call ADDRESS METHOD [JSON-ARG ...]: the result as JSON on
 * stdout, an error as "ErrorType: message" on stderr with exit status 1,
 * a usage error with exit status 2. actorctl tell: nothing once the broker
 * has the message, and a refusal like call's errors.
 */
#include "itest.h"

#define CTL_MS 10000

/* s_ctl runs actorctl --broker EP args... and returns its exit status;
 * its stdout and stderr are left in s_out and s_err. */
static char s_out[8192];
static char s_err[8192];

static int
s_ctl(const char *arg, ...)
{
    const char *argv[32];
    int n = 0;
    argv[n++] = "actorctl";
    argv[n++] = "--broker";
    argv[n++] = testutil_endpoint();
    va_list ap;
    va_start(ap, arg);
    for (const char *a = arg; a != NULL && n < 31;
         a = va_arg(ap, const char *)) {
        argv[n++] = a;
    }
    va_end(ap);
    argv[n] = NULL;
    return testutil_run(argv, CTL_MS, s_out, sizeof s_out, s_err, sizeof s_err);
}

#define CTL_OK(want_out, ...)                                                  \
    do {                                                                       \
        int st_ = s_ctl(__VA_ARGS__, NULL);                                    \
        ck_assert_msg(st_ == 0, "exit %d, stderr '%s'", st_, s_err);           \
        ck_assert_str_eq(s_out, want_out);                                     \
    } while (0)

START_TEST(test_actorctl_ray_account_session)
{
    testutil_broker_start(NULL);
    testutil_service_start("account", "account/1", 0, "100", "20", NULL);
    CTL_OK("300.0\n", "call", "account/1", "deposit", "200");
    CTL_OK("260.0\n", "call", "account/1", "withdraw", "40");
    int st = s_ctl("call", "account/1", "withdraw", "-5", NULL);
    ck_assert_int_eq(st, 1);
    ck_assert_str_eq(s_out, "");
    ck_assert_msg(
        strstr(s_err, "ValueError: Can not withdraw negative amount") != NULL,
        "stderr '%s'", s_err);
    CTL_OK("260.0\n", "call", "account/1", "balance");
}
END_TEST

/* 1e308 twice would make the balance infinite: refused, balance kept.
 * Non-finite doubles are words both ways: Infinity as an argument, and
 * NaN/Infinity printed, never null. */
START_TEST(test_actorctl_non_finite_numbers)
{
    testutil_broker_start(NULL);
    testutil_service_start("account", "account/big", 0, "0", "0", NULL);
    testutil_service_start("chaos", "chaos/n", 0, NULL);
    CTL_OK("1e+308\n", "call", "account/big", "deposit", "1e308");
    int st = s_ctl("call", "account/big", "deposit", "1e308", NULL);
    ck_assert_int_eq(st, 1);
    ck_assert_msg(
        strstr(s_err, "ValueError: the balance would overflow") != NULL,
        "stderr '%s'", s_err);
    st = s_ctl("call", "account/big", "deposit", "Infinity", NULL);
    ck_assert_int_eq(st, 1);
    ck_assert_msg(
        strstr(s_err, "ValueError: amount must be a finite number") != NULL,
        "stderr '%s'", s_err);
    CTL_OK("1e+308\n", "call", "account/big", "balance");
    CTL_OK("0.0\n", "call", "account/big", "withdraw", "1e308");

    CTL_OK("Infinity\n", "call", "chaos/n", "echo", "Infinity");
    CTL_OK("-Infinity\n", "call", "chaos/n", "echo", "-Infinity");
    CTL_OK("NaN\n", "call", "chaos/n", "echo", "NaN");
    /* Beyond a double: a usage error, not a string or an infinity. */
    st = s_ctl("call", "chaos/n", "echo", "1e999", NULL);
    ck_assert_int_eq(st, 2);
    ck_assert_msg(strstr(s_err, "out of range") != NULL, "stderr '%s'", s_err);
}
END_TEST

START_TEST(test_actorctl_dask_counter_session)
{
    testutil_broker_start(NULL);
    testutil_service_start("counter", "counter/a", 0, NULL);
    CTL_OK("1\n", "call", "counter/a", "increment");
    CTL_OK("2\n", "call", "counter/a", "increment");
    CTL_OK("3\n", "call", "counter/a", "increment");
    /* tell prints nothing; the count reflects it. */
    CTL_OK("", "tell", "counter/a", "increment");
    CTL_OK("4\n", "call", "counter/a", "value");
}
END_TEST

START_TEST(test_actorctl_errors_and_usage)
{
    testutil_broker_start(NULL);
    testutil_service_start("chaos", "chaos/c", 0, NULL);
    /* Bare words are strings. */
    CTL_OK("\"hello\"\n", "call", "chaos/c", "echo", "hello");
    CTL_OK("[1,2]\n", "call", "chaos/c", "echo", "[1, 2]");
    int st = s_ctl("call", "nobody/x", "echo", "1", NULL);
    ck_assert_int_eq(st, 1);
    ck_assert_msg(
        strncmp(s_err, "NoSuchActor: ", 13) == 0, "stderr '%s'", s_err);
    st = s_ctl("call", "chaos/c", "nosuch", NULL);
    ck_assert_int_eq(st, 1);
    ck_assert_msg(
        strncmp(s_err, "NoSuchMethod: ", 14) == 0, "stderr '%s'", s_err);
    st = s_ctl("--timeout", "200", "call", "chaos/c", "sleep", "2000", NULL);
    ck_assert_int_eq(st, 1);
    ck_assert_msg(strncmp(s_err, "Timeout: ", 9) == 0, "stderr '%s'", s_err);
    st = s_ctl("frobnicate", NULL);
    ck_assert_int_eq(st, 2);
    st = s_ctl("call", NULL);
    ck_assert_int_eq(st, 2);
}
END_TEST

START_TEST(test_actorctl_lookup_ls_ping)
{
    testutil_broker_start(NULL);
    testutil_service_start("counter", "counter/l", 0, NULL);
    int st = s_ctl("lookup", "counter/l", NULL);
    ck_assert_msg(st == 0, "exit %d, stderr '%s'", st, s_err);
    ck_assert_msg(
        strstr(s_out, "counter/l") != NULL && strstr(s_out, "running") != NULL,
        "lookup printed '%s'", s_out);
    st = s_ctl("ls", NULL);
    ck_assert_msg(st == 0, "exit %d, stderr '%s'", st, s_err);
    ck_assert_msg(strstr(s_out, "counter/l") != NULL, "ls printed '%s'", s_out);
    st = s_ctl("ls", "--json", NULL);
    ck_assert_msg(st == 0, "exit %d, stderr '%s'", st, s_err);
    ck_assert_msg(s_out[0] == '[' && strstr(s_out, "\"counter/l\"") != NULL,
        "ls --json printed '%s'", s_out);
    st = s_ctl("ping", NULL);
    ck_assert_msg(st == 0, "exit %d, stderr '%s'", st, s_err);
    ck_assert_msg(strstr(s_out, "ACT2") != NULL, "ping printed '%s'", s_out);
    st = s_ctl("lookup", "counter/none", NULL);
    ck_assert_int_eq(st, 1);
    ck_assert_msg(
        strncmp(s_err, "NoSuchActor: ", 13) == 0, "stderr '%s'", s_err);
}
END_TEST

/* A tell the broker refuses is an error like a call's: to an address no
 * actor has (NoSuchActor), into a full mailbox (MailboxFull). */
START_TEST(test_actorctl_tell_refused)
{
    testutil_broker_start(NULL);
    testutil_service_start("chaos", "chaos/t", 1, "--mailbox", "1", NULL);
    actors_client_t *c = itest_connect();
    int st = s_ctl("tell", "nobody/x", "echo", "1", NULL);
    ck_assert_int_eq(st, 1);
    ck_assert_str_eq(s_out, "");
    ck_assert_msg(strncmp(s_err, "NoSuchActor: ", 13) == 0 &&
                      strstr(s_err, "nobody/x") != NULL,
        "stderr '%s'", s_err);
    /* The actor busy with a call (its one credit), its mailbox of one
     * holding a tell: the next tell finds it full. */
    actors_future_t *busy = itest_send(c, "chaos/t", "sleep", 0, "i", 3000);
    actors_future_t *queued = NULL;
    TEST_ASSERT_OK(actors_client_tell_ack(c, "chaos/t", "echo", NULL, &queued));
    TEST_ASSERT_OK(actors_future_wait(queued, ITEST_WAIT_MS));
    ck_assert_msg(itest_code(queued) == ACTORS_OK, "the first tell: %s",
        itest_describe(queued));
    actors_future_destroy(&queued);
    st = s_ctl("tell", "chaos/t", "echo", "2", NULL);
    ck_assert_int_eq(st, 1);
    ck_assert_msg(
        strncmp(s_err, "MailboxFull: ", 13) == 0, "stderr '%s'", s_err);
    TEST_ASSERT_OK(actors_future_wait(busy, ITEST_WAIT_MS));
    ck_assert_int_eq(itest_int(busy), 3000);
    actors_future_destroy(&busy);
    /* Room again: accepted, nothing printed. */
    CTL_OK("", "tell", "chaos/t", "echo", "3");
}
END_TEST

static Suite *
actorctl_suite(void)
{
    Suite *s = suite_create("actorctl");
    TCase *tc = itest_tcase("cli", 60);
    tcase_add_test(tc, test_actorctl_ray_account_session);
    tcase_add_test(tc, test_actorctl_non_finite_numbers);
    tcase_add_test(tc, test_actorctl_dask_counter_session);
    tcase_add_test(tc, test_actorctl_errors_and_usage);
    tcase_add_test(tc, test_actorctl_lookup_ls_ping);
    tcase_add_test(tc, test_actorctl_tell_refused);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return itest_run(actorctl_suite());
}
