/* tests/integration/test_account.c - the Ray account session, end to end.
 * SPDX-License-Identifier: MIT
 *
 * The Ray tutorial's Account actor against the real broker and the account
 * service: create with (100, 20), deposit, withdraw, an error that keeps
 * the state, and an init error that stops the process before it
 * registers.
 */
#include "itest.h"

#include <math.h>
#include <signal.h>
#include <sys/wait.h>

START_TEST(test_account_ray_session)
{
    testutil_broker_start(NULL);
    testutil_service_start("account", "account/ray", 0, "100", "20", NULL);
    itest_connect();

    actors_future_t *f = itest_call("account/ray", "balance", NULL);
    ck_assert_double_eq(itest_double(f), 100.0);
    actors_future_destroy(&f);

    f = itest_call("account/ray", "deposit", "i", 200);
    ck_assert_double_eq(itest_double(f), 300.0);
    actors_future_destroy(&f);

    f = itest_call("account/ray", "withdraw", "i", 40);
    ck_assert_double_eq(itest_double(f), 260.0);
    actors_future_destroy(&f);

    /* Ray: raise ValueError("Can not withdraw negative amount"). */
    f = itest_call("account/ray", "withdraw", "i", -5);
    itest_assert_error(
        f, ACTORS_EAPP, "ValueError", "Can not withdraw negative amount");
    ck_assert_str_eq(
        actors_error_address(actors_future_error(f)), "account/ray");
    actors_future_destroy(&f);

    f = itest_call("account/ray", "balance", NULL);
    ck_assert_double_eq(itest_double(f), 260.0);
    actors_future_destroy(&f);
}
END_TEST

START_TEST(test_account_errors_keep_state)
{
    testutil_broker_start(NULL);
    testutil_service_start("account", "account/e", 0, "100", "20", NULL);
    itest_connect();

    actors_future_t *f = itest_call("account/e", "deposit", "i", -1);
    itest_assert_error(
        f, ACTORS_EAPP, "ValueError", "Can not deposit negative amount");
    actors_future_destroy(&f);

    f = itest_call("account/e", "withdraw", "i", 1000);
    itest_assert_error(f, ACTORS_EAPP, "ValueError",
        "Withdraw is not supported by current balance");
    actors_future_destroy(&f);

    f = itest_call("account/e", "deposit", "s", "lots");
    itest_assert_error(f, ACTORS_EARGS, "WrongArguments", NULL);
    actors_future_destroy(&f);

    /* Floats work as well as integers. */
    f = itest_call("account/e", "deposit", "d", 1.0);
    ck_assert_double_eq(itest_double(f), 101.0);
    actors_future_destroy(&f);
}
END_TEST

/* s_balance_is checks the balance of address. */
static void
s_balance_is(const char *address, double want)
{
    actors_future_t *f = itest_call(address, "balance", NULL);
    ck_assert_double_eq(itest_double(f), want);
    actors_future_destroy(&f);
}

/* Amounts that are not finite, and changes that would take the balance
 * out of the doubles (1e308 twice), are refused with ValueError and leave
 * the balance as it was; the account keeps working. */
START_TEST(test_account_refuses_non_finite)
{
    testutil_broker_start(NULL);
    testutil_service_start("account", "account/inf", 0, "0", "-1.7e308", NULL);
    itest_connect();

    const char *methods[] = {"deposit", "withdraw"};
    double amounts[] = {INFINITY, -INFINITY, NAN};
    for (size_t i = 0; i < 2; i++) {
        for (size_t j = 0; j < 3; j++) {
            actors_future_t *f =
                itest_call("account/inf", methods[i], "d", amounts[j]);
            itest_assert_error(
                f, ACTORS_EAPP, "ValueError", "amount must be a finite number");
            actors_future_destroy(&f);
        }
    }
    s_balance_is("account/inf", 0.0);

    actors_future_t *f = itest_call("account/inf", "deposit", "d", 1e308);
    ck_assert_double_eq(itest_double(f), 1e308);
    actors_future_destroy(&f);
    f = itest_call("account/inf", "deposit", "d", 1e308);
    itest_assert_error(
        f, ACTORS_EAPP, "ValueError", "the balance would overflow");
    actors_future_destroy(&f);
    s_balance_is("account/inf", 1e308);

    /* Down to -1e308 (above the minimum), then once more: overflow. */
    f = itest_call("account/inf", "withdraw", "d", 1e308);
    ck_assert_double_eq(itest_double(f), 0.0);
    actors_future_destroy(&f);
    f = itest_call("account/inf", "withdraw", "d", 1e308);
    ck_assert_double_eq(itest_double(f), -1e308);
    actors_future_destroy(&f);
    f = itest_call("account/inf", "withdraw", "d", 1e308);
    itest_assert_error(
        f, ACTORS_EAPP, "ValueError", "the balance would overflow");
    actors_future_destroy(&f);
    s_balance_is("account/inf", -1e308);

    /* Still a working account. */
    f = itest_call("account/inf", "deposit", "d", 1e308);
    ck_assert_double_eq(itest_double(f), 0.0);
    actors_future_destroy(&f);
}
END_TEST

START_TEST(test_account_below_minimum_refuses_to_start)
{
    testutil_broker_start(NULL);
    testutil_proc_t *p = testutil_service_spawn(
        TESTUTIL_CAPTURE_STDERR, "account", "account/low", 0, "10", "20", NULL);
    ck_assert_ptr_nonnull(p);
    int status = 0;
    ck_assert_msg(testutil_proc_wait(p, 10000, &status),
        "account with balance < minimal did not exit");
    ck_assert_msg(WIFEXITED(status), "account died of signal %d",
        WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    ck_assert_int_eq(WEXITSTATUS(status), 2);
    const char *err = testutil_proc_stderr(p);
    ck_assert_msg(
        strstr(err, "ValueError: Starting balance is less then minimal "
                    "balance") != NULL,
        "stderr: '%s'", err);

    /* It never registered. */
    char state[32];
    TEST_ASSERT_ERR(testutil_lookup_state(
                        "account/low", state, sizeof state, NULL, NULL, NULL),
        ACTORS_ENOACTOR);
}
END_TEST

static Suite *
account_suite(void)
{
    Suite *s = suite_create("account");
    TCase *tc = itest_tcase("ray", 60);
    tcase_add_test(tc, test_account_ray_session);
    tcase_add_test(tc, test_account_errors_keep_state);
    tcase_add_test(tc, test_account_refuses_non_finite);
    tcase_add_test(tc, test_account_below_minimum_refuses_to_start);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return itest_run(account_suite());
}
