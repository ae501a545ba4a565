/* tests/integration/test_liveness.c - ZMTP heartbeats, and a broker that
 * goes away.
 * SPDX-License-Identifier: MIT
 *
 * Liveness is the connection's: the broker's ROUTER and every client's
 * DEALER have ZMTP heartbeats on, answered by libzmq's I/O thread. With a
 * short heartbeat (--heartbeat 200 --liveness 3), an actor whose process
 * goes silent (stopped with SIGSTOP: hung as a whole) is declared dead:
 * the broker drops the connection, its call gets ActorCrashed; once it
 * runs again its connection is new and it registers again. A method that
 * runs longer than the liveness interval is not mistaken for a dead actor
 * (the I/O thread answers meanwhile), with a short heartbeat and with the
 * default one. An idle actor stays registered, over exactly one TCP
 * connection. A client whose broker is gone still gets one answer per
 * call: Timeout.
 */
#include "itest.h"

#include <signal.h>
#include <stdbool.h>

typedef struct {
    const char *address; /* watched */
    pid_t pid;           /* its process */
    bool left;           /* it was seen in another state */
} s_watch_t;

static bool
s_left_running(void *arg)
{
    s_watch_t *w = arg;
    char state[32];
    int64_t pid = 0;
    if (testutil_lookup_state(
            w->address, state, sizeof state, &pid, NULL, NULL) != ACTORS_OK ||
        strcmp(state, "running") != 0 || pid != (int64_t)w->pid) {
        w->left = true;
    }
    return w->left;
}

/* An idle actor answers the broker's heartbeats: it is still running after
 * many heartbeat periods (polled: the predicate only turns true if it
 * leaves the running state). */
START_TEST(test_liveness_idle_actor_stays)
{
    testutil_broker_start("--heartbeat", "200", "--liveness", "3", NULL);
    testutil_proc_t *p = testutil_service_start("chaos", "chaos/idle", 0, NULL);
    itest_connect();
    s_watch_t w = {"chaos/idle", p->pid, false};
    ck_assert_msg(!testutil_wait_until(s_left_running, &w, 2000),
        "idle actor left the running state");
    itest_echo_ok("chaos/idle", "still here");
}
END_TEST

/* A process that goes silent as a whole for longer than liveness *
 * heartbeat: the broker gives up on the actor; it registers again
 * afterwards and serves. */
START_TEST(test_liveness_silent_actor_declared_dead)
{
    testutil_broker_start("--heartbeat", "200", "--liveness", "3", NULL);
    testutil_proc_t *p = testutil_service_start("chaos", "chaos/hb", 1, NULL);
    itest_connect();
    itest_echo_ok("chaos/hb", "before");
    int64_t t0 = testutil_now_ms();
    actors_future_t *f = itest_send(g_client, "chaos/hb", "sleep", 0, "i", 100);
    kill(p->pid, SIGSTOP);
    TEST_ASSERT_OK(actors_future_wait(f, ITEST_WAIT_MS));
    int64_t took = testutil_now_ms() - t0;
    kill(p->pid, SIGCONT);
    itest_assert_error(f, ACTORS_ECRASHED, "ActorCrashed", "connection lost");
    ck_assert_msg(took < 2500, "declared dead after %lld ms", (long long)took);
    actors_future_destroy(&f);
    /* The process lives on and comes back under the same address. */
    ck_assert(testutil_proc_running(p));
    ck_assert_msg(testutil_wait_state("chaos/hb", "running", p->pid, 15000),
        "actor did not register again after the broker gave up on it");
    itest_echo_ok("chaos/hb", "back");
}
END_TEST

/* A method that runs five times the liveness interval (3 s against
 * 600 ms) is answered: libzmq's I/O thread answers the broker's PINGs
 * while the loop is busy. */
START_TEST(test_liveness_long_method_is_not_death)
{
    testutil_broker_start("--heartbeat", "200", "--liveness", "3", NULL);
    testutil_proc_t *p = testutil_service_start("chaos", "chaos/long", 1, NULL);
    itest_connect();
    actors_future_t *f =
        itest_send(g_client, "chaos/long", "sleep", 0, "i", 3000);
    TEST_ASSERT_OK(actors_future_wait(f, ITEST_WAIT_MS));
    ck_assert_msg(
        itest_code(f) == ACTORS_OK, "a long method: %s", itest_describe(f));
    ck_assert_int_eq(itest_int(f), 3000);
    actors_future_destroy(&f);
    char state[32];
    int64_t pid = 0;
    TEST_ASSERT_OK(testutil_lookup_state(
        "chaos/long", state, sizeof state, &pid, NULL, NULL));
    ck_assert_str_eq(state, "running");
    ck_assert_int_eq(pid, p->pid);
}
END_TEST

/* The same with the broker's defaults (1000 ms x 3): a method of 3.5 s
 * outlives the liveness interval and is answered. */
START_TEST(test_liveness_long_method_default_liveness)
{
    testutil_broker_start(NULL);
    testutil_proc_t *p = testutil_service_start("chaos", "chaos/ld", 1, NULL);
    itest_connect();
    actors_future_t *f =
        itest_send(g_client, "chaos/ld", "sleep", 0, "i", 3500);
    TEST_ASSERT_OK(actors_future_wait(f, ITEST_WAIT_MS));
    ck_assert_msg(
        itest_code(f) == ACTORS_OK, "a long method: %s", itest_describe(f));
    ck_assert_int_eq(itest_int(f), 3500);
    actors_future_destroy(&f);
    ck_assert(testutil_wait_state("chaos/ld", "running", p->pid, 1000));
}
END_TEST

typedef struct {
    pid_t pid; /* the actor's process */
    int seen;  /* its connections to the broker at the last look */
} s_conns_t;

static bool
s_not_one_conn(void *arg)
{
    s_conns_t *c = arg;
    c->seen = testutil_tcp_conns(c->pid, testutil_endpoint());
    return c->seen != 1;
}

/* An actor process holds exactly one connection to the broker (no second
 * socket for liveness): looked at for a while after registering, as a
 * liveness socket of old connected once the REGISTER reply came. */
START_TEST(test_liveness_one_connection_per_actor)
{
    testutil_broker_start("--heartbeat", "200", "--liveness", "3", NULL);
    testutil_proc_t *p = testutil_service_start("chaos", "chaos/one", 0, NULL);
    itest_connect();
    itest_echo_ok("chaos/one", "registered");
    s_conns_t c = {p->pid, -1};
    ck_assert_msg(!testutil_wait_until(s_not_one_conn, &c, 1500),
        "actor process %ld holds %d TCP connections to the broker",
        (long)p->pid, c.seen);
    ck_assert_int_eq(c.seen, 1);
}
END_TEST

/* The broker dies: a call with a deadline still resolves (Timeout, made
 * by the client). */
START_TEST(test_liveness_broker_gone_call_times_out)
{
    testutil_proc_t *b = testutil_broker_start(NULL);
    testutil_service_start("chaos", "chaos/bg", 0, NULL);
    itest_connect();
    itest_echo_ok("chaos/bg", "before");
    testutil_proc_kill(b, SIGKILL);
    ck_assert(testutil_proc_wait(b, ITEST_WAIT_MS, NULL));
    int64_t t0 = testutil_now_ms();
    actors_future_t *f = itest_send(g_client, "chaos/bg", "echo", 500, "i", 1);
    TEST_ASSERT_OK(actors_future_wait(f, ITEST_WAIT_MS));
    int64_t took = testutil_now_ms() - t0;
    itest_assert_error(f, ACTORS_ETIMEDOUT, "Timeout", NULL);
    ck_assert_msg(
        took >= 400 && took < 3000, "Timeout after %lld ms", (long long)took);
    actors_future_destroy(&f);
}
END_TEST

static Suite *
liveness_suite(void)
{
    Suite *s = suite_create("liveness");
    TCase *tc = itest_tcase("heartbeat", 60);
    tcase_add_test(tc, test_liveness_idle_actor_stays);
    tcase_add_test(tc, test_liveness_silent_actor_declared_dead);
    tcase_add_test(tc, test_liveness_long_method_is_not_death);
    tcase_add_test(tc, test_liveness_long_method_default_liveness);
    tcase_add_test(tc, test_liveness_one_connection_per_actor);
    tcase_add_test(tc, test_liveness_broker_gone_call_times_out);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return itest_run(liveness_suite());
}
