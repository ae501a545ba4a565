/* tests/integration/test_crash.c - actors that die: ActorCrashed for the
 * call in flight, ActorDead for the calls behind it and after.
 * SPDX-License-Identifier: MIT
 */
#include "itest.h"

#include <signal.h>
#include <sys/wait.h>

typedef struct {
    const char *address; /* asked about */
    int64_t inflight;    /* wanted */
    int64_t mailbox;     /* wanted */
} s_depth_t;

static bool
s_depth_is(void *arg)
{
    s_depth_t *d = arg;
    char state[32];
    int64_t inflight = -1;
    int64_t mailbox = -1;
    return testutil_lookup_state(d->address, state, sizeof state, NULL,
               &mailbox, &inflight) == ACTORS_OK &&
           inflight == d->inflight && mailbox == d->mailbox;
}

/* SIGKILL while a call runs: that call gets ActorCrashed, the two queued
 * behind it (prefetch 1) get ActorDead, and so does a call made after. */
START_TEST(test_crash_sigkill_mid_call)
{
    testutil_broker_start(NULL);
    testutil_proc_t *p = testutil_service_start("chaos", "chaos/k", 1, NULL);
    actors_client_t *c = itest_connect();
    actors_future_t *f1 = itest_send(c, "chaos/k", "sleep", 0, "i", 5000);
    actors_future_t *f2 = itest_send(c, "chaos/k", "echo", 0, "i", 2);
    actors_future_t *f3 = itest_send(c, "chaos/k", "echo", 0, "i", 3);
    /* Pump the client while the broker takes them in. */
    s_depth_t d = {"chaos/k", 1, 2};
    int64_t deadline = testutil_now_ms() + ITEST_WAIT_MS;
    while (!s_depth_is(&d) && testutil_now_ms() < deadline) {
        actors_client_poll(c, 10); /* poll until the deadline */
    }
    ck_assert_msg(s_depth_is(&d), "broker never had 1 in flight, 2 queued");
    int64_t t0 = testutil_now_ms();
    testutil_proc_kill(p, SIGKILL);

    actors_future_t *fs[3] = {f1, f2, f3};
    TEST_ASSERT_OK(actors_future_wait_all(fs, 3, ITEST_WAIT_MS));
    ck_assert_msg(testutil_now_ms() - t0 < 4000, "crash noticed after %lld ms",
        (long long)(testutil_now_ms() - t0));
    itest_assert_error(f1, ACTORS_ECRASHED, "ActorCrashed", NULL);
    itest_assert_error(f2, ACTORS_EDEAD, "ActorDead", NULL);
    itest_assert_error(f3, ACTORS_EDEAD, "ActorDead", NULL);
    for (int i = 0; i < 3; i++) {
        actors_future_destroy(&fs[i]);
    }
    actors_future_t *f = itest_call("chaos/k", "echo", "i", 4);
    itest_assert_error(f, ACTORS_EDEAD, "ActorDead", NULL);
    actors_future_destroy(&f);
    ck_assert(testutil_wait_state("chaos/k", "dead", 0, ITEST_WAIT_MS));

    /* LIST remembers the dead address. */
    TEST_ASSERT_OK(actors_client_list(c, &f));
    TEST_ASSERT_OK(actors_future_wait(f, ITEST_WAIT_MS));
    const msgpack_object *a = itest_result(f);
    ck_assert_int_eq(a->type, MSGPACK_OBJECT_ARRAY);
    bool listed = false;
    for (uint32_t i = 0; i < a->via.array.size; i++) {
        const msgpack_object *e = &a->via.array.ptr[i];
        const char *s = NULL;
        size_t n = 0;
        if (actors_value_str(actors_map_get(e, "address"), &s, &n) ==
                ACTORS_OK &&
            n == 7 && memcmp(s, "chaos/k", 7) == 0) {
            TEST_ASSERT_OK(
                actors_value_str(actors_map_get(e, "state"), &s, &n));
            ck_assert_msg(n == 4 && memcmp(s, "dead", 4) == 0,
                "listed as '%.*s'", (int)n, s);
            listed = true;
        }
    }
    ck_assert_msg(listed, "LIST forgot the dead address");
    actors_future_destroy(&f);
}
END_TEST

/* crash(11): SIGSEGV inside the method. */
START_TEST(test_crash_segv)
{
    testutil_broker_start(NULL);
    testutil_proc_t *p = testutil_service_start("chaos", "chaos/s", 0, NULL);
    itest_connect();
    actors_future_t *f = itest_call("chaos/s", "crash", "i", 11);
    itest_assert_error(f, ACTORS_ECRASHED, "ActorCrashed", NULL);
    actors_future_destroy(&f);
    int status = 0;
    ck_assert(testutil_proc_wait(p, ITEST_WAIT_MS, &status));
    /* Under ASan the SEGV handler exits instead of dying by the signal. */
    ck_assert(WIFSIGNALED(status) || WEXITSTATUS(status) != 0);
    f = itest_call("chaos/s", "echo", "i", 1);
    itest_assert_error(f, ACTORS_EDEAD, "ActorDead", NULL);
    actors_future_destroy(&f);
}
END_TEST

/* exit(3): the process ends with status 3 during the call. */
START_TEST(test_crash_exit_code)
{
    testutil_broker_start(NULL);
    testutil_proc_t *p = testutil_service_start("chaos", "chaos/x", 0, NULL);
    itest_connect();
    actors_future_t *f = itest_call("chaos/x", "exit", "i", 3);
    itest_assert_error(f, ACTORS_ECRASHED, "ActorCrashed", NULL);
    actors_future_destroy(&f);
    int status = 0;
    ck_assert(testutil_proc_wait(p, ITEST_WAIT_MS, &status));
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 3);
    f = itest_call("chaos/x", "echo", "i", 1);
    itest_assert_error(f, ACTORS_EDEAD, "ActorDead", NULL);
    actors_future_destroy(&f);
}
END_TEST

/* A new actor may take a dead address again. */
START_TEST(test_crash_address_reused)
{
    testutil_broker_start(NULL);
    testutil_proc_t *p = testutil_service_start("chaos", "chaos/r", 0, NULL);
    itest_connect();
    testutil_proc_kill(p, SIGKILL);
    ck_assert(testutil_wait_state("chaos/r", "dead", 0, ITEST_WAIT_MS));
    testutil_service_start("chaos", "chaos/r", 0, NULL);
    itest_echo_ok("chaos/r", "reborn");
}
END_TEST

static Suite *
crash_suite(void)
{
    Suite *s = suite_create("crash");
    TCase *tc = itest_tcase("crash", 60);
    tcase_add_test(tc, test_crash_sigkill_mid_call);
    tcase_add_test(tc, test_crash_segv);
    tcase_add_test(tc, test_crash_exit_code);
    tcase_add_test(tc, test_crash_address_reused);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return itest_run(crash_suite());
}
