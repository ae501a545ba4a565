/* tests/integration/test_relay.c - actors calling actors, deferred replies.
 * SPDX-License-Identifier: MIT
 *
 * A calls B which calls A back: no deadlock, because a method that calls
 * out defers its reply and the loop goes on serving. A deferred delay
 * keeps the loop free for other calls.
 */
#include "itest.h"

START_TEST(test_relay_a_b_a)
{
    testutil_broker_start(NULL);
    testutil_service_start("chaos", "a", 0, NULL);
    testutil_service_start("chaos", "b", 0, NULL);
    itest_connect();
    /* a.relay("b", "relay", "a", "echo", x): a -> b -> a.echo(x). */
    actors_msg_t *args = NULL;
    TEST_ASSERT_OK(actors_msg_build(
        &args, "sssss", "b", "relay", "a", "echo", "round trip"));
    actors_future_t *f = NULL;
    TEST_ASSERT_OK(actors_client_call(g_client, "a", "relay", &args, NULL, &f));
    actors_msg_destroy(&args);
    TEST_ASSERT_OK(actors_future_wait(f, ITEST_WAIT_MS));
    ck_assert_str_eq(itest_str(f), "round trip");
    actors_future_destroy(&f);
    /* Both still serve. */
    itest_echo_ok("a", "a lives");
    itest_echo_ok("b", "b lives");
}
END_TEST

/* A calls itself through its own client: the deferred reply waits while
 * the loop serves the inner call. */
START_TEST(test_relay_self_call)
{
    testutil_broker_start(NULL);
    testutil_service_start("chaos", "a", 0, NULL);
    itest_connect();
    actors_future_t *f = itest_call("a", "relay", "sss", "a", "echo", "me");
    ck_assert_str_eq(itest_str(f), "me");
    actors_future_destroy(&f);
}
END_TEST

/* An error of the far end comes back through the relay as it is. */
START_TEST(test_relay_forwards_errors)
{
    testutil_broker_start(NULL);
    testutil_service_start("chaos", "a", 0, NULL);
    testutil_service_start("chaos", "b", 0, NULL);
    itest_connect();
    actors_future_t *f = itest_call("a", "relay", "sss", "b", "fail", "far");
    itest_assert_error(f, ACTORS_EAPP, "ChaosError", "far");
    actors_future_destroy(&f);
    f = itest_call("a", "relay", "ss", "nobody", "echo");
    itest_assert_error(f, ACTORS_ENOACTOR, "NoSuchActor", NULL);
    actors_future_destroy(&f);
}
END_TEST

/* delay(500, x) defers; an echo sent after it is answered first. */
START_TEST(test_relay_delay_keeps_loop_free)
{
    testutil_broker_start(NULL);
    testutil_service_start("chaos", "chaos/d", 0, NULL);
    actors_client_t *c = itest_connect();
    int64_t t0 = testutil_now_ms();
    actors_future_t *slow =
        itest_send(c, "chaos/d", "delay", 0, "is", 500, "late");
    actors_future_t *fast = itest_send(c, "chaos/d", "echo", 0, "s", "now");
    actors_future_t *fs[2] = {slow, fast};
    size_t first = 99;
    TEST_ASSERT_OK(actors_future_wait_any(fs, 2, ITEST_WAIT_MS, &first));
    ck_assert_msg(first == 1, "delay answered before the echo");
    ck_assert_str_eq(itest_str(fast), "now");
    ck_assert(!actors_future_is_ready(slow));
    TEST_ASSERT_OK(actors_future_wait(slow, ITEST_WAIT_MS));
    int64_t took = testutil_now_ms() - t0;
    ck_assert_str_eq(itest_str(slow), "late");
    ck_assert_msg(
        took >= 450, "delay(500) answered after %lld ms", (long long)took);
    actors_future_destroy(&slow);
    actors_future_destroy(&fast);
}
END_TEST

static Suite *
relay_suite(void)
{
    Suite *s = suite_create("relay");
    TCase *tc = itest_tcase("relay", 60);
    tcase_add_test(tc, test_relay_a_b_a);
    tcase_add_test(tc, test_relay_self_call);
    tcase_add_test(tc, test_relay_forwards_errors);
    tcase_add_test(tc, test_relay_delay_keeps_loop_free);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return itest_run(relay_suite());
}
