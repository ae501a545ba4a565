/* tests/integration/test_supervisor.c - supervised actors: restarts after
 * crashes of every kind, restart limits, backoff, in-flight calls retried
 * or answered with the cause, the mailbox kept across a restart.
 * SPDX-License-Identifier: MIT
 *
 * Real processes: the broker, actors-supervisor with a config written to
 * a mkdtemp directory, and the chaos service it starts.
 */
#include "suptest.h"

/* A config running chaos at address with the policy lines given (each
 * "key = value", indented by the caller-independent helper below). */
static const char *
s_config(const char *address, const char *policy)
{
    static char text[2048];
    snprintf(text, sizeof text,
        "supervisor\n"
        "    node = n1\n"
        "actor\n"
        "    chaos\n"
        "        service = chaos\n"
        "        address = %s\n"
        "        policy\n"
        "%s",
        address, policy);
    return text;
}

#define P(line) "            " line "\n"

/* s_crash calls method(arg) that kills the actor and checks that the call
 * gets ActorCrashed naming cause. */
static void
s_crash(const char *address, const char *method, int arg, const char *cause)
{
    actors_future_t *f = itest_send(g_client, address, method, 0, "i", arg);
    suptest_wait(f);
    itest_assert_error(f, ACTORS_ECRASHED, "ActorCrashed", cause);
    actors_future_destroy(&f);
}

static void
s_echo_ok(const char *address, int v)
{
    actors_future_t *f = itest_send(g_client, address, "echo", 0, "i", v);
    suptest_wait(f);
    ck_assert_int_eq(itest_int(f), v);
    actors_future_destroy(&f);
}

START_TEST(test_supervisor_restart_after_sigkill)
{
    testutil_broker_start(NULL);
    itest_connect();
    suptest_node("n1", s_config("chaos/k", P("max_restarts = -1")));
    int64_t pid = suptest_wait_running("chaos/k", 0);
    s_echo_ok("chaos/k", 1);
    kill((pid_t)pid, SIGKILL);
    int64_t pid2 = suptest_wait_running("chaos/k", pid);
    ck_assert_int_ne(pid, pid2);
    s_echo_ok("chaos/k", 2);
    char node[64];
    suptest_field("chaos/k", "node", node, sizeof node);
    ck_assert_str_eq(node, "n1");
}
END_TEST

/* SIGSEGV, abort and an exit code: each call in flight gets ActorCrashed
 * with the supervisor's cause, and the actor comes back. */
START_TEST(test_supervisor_restart_after_segv_abort_exit)
{
    testutil_broker_start(NULL);
    itest_connect();
    suptest_node("n1",
        s_config("chaos/c", P("max_restarts = -1") P("backoff_base_ms = 1")));
    int64_t pid = suptest_wait_running("chaos/c", 0);
    s_crash("chaos/c", "crash", 11, "signal 11");
    pid = suptest_wait_running("chaos/c", pid);
    s_crash("chaos/c", "crash", 6, "signal 6");
    pid = suptest_wait_running("chaos/c", pid);
    s_crash("chaos/c", "exit", 3, "exit code 3");
    pid = suptest_wait_running("chaos/c", pid);
    s_echo_ok("chaos/c", 7);
    char cause[128];
    suptest_field("chaos/c", "cause", cause, sizeof cause);
    ck_assert_msg(strstr(cause, "exit code 3") != NULL, "cause '%s'", cause);
}
END_TEST

/* max_restarts 0: the first crash is the end; later calls ActorDead. */
START_TEST(test_supervisor_max_restarts_zero)
{
    testutil_broker_start(NULL);
    itest_connect();
    suptest_node("n1", s_config("chaos/z", P("max_restarts = 0")));
    suptest_wait_running("chaos/z", 0);
    s_crash("chaos/z", "crash", 11, "signal 11");
    suptest_wait_state("chaos/z", "dead");
    actors_future_t *f = itest_call("chaos/z", "echo", "i", 1);
    itest_assert_error(f, ACTORS_EDEAD, "ActorDead", NULL);
    actors_future_destroy(&f);
}
END_TEST

/* max_restarts 2: two crashes come back, the third is final; every
 * caller waiting then is answered (ActorCrashed in flight, ActorDead in
 * the mailbox), and later calls get ActorDead. */
START_TEST(test_supervisor_max_restarts_n)
{
    testutil_broker_start(NULL);
    itest_connect();
    suptest_node("n1",
        s_config("chaos/n", P("max_restarts = 2") P("backoff_base_ms = 1")));
    int64_t pid = suptest_wait_running("chaos/n", 0);
    for (int i = 0; i < 2; i++) {
        s_crash("chaos/n", "crash", 11, "signal 11");
        pid = suptest_wait_running("chaos/n", pid);
    }
    actors_future_t *fs[4];
    fs[0] = itest_send(g_client, "chaos/n", "crash", 0, "i", 11);
    for (int i = 1; i < 4; i++) {
        fs[i] = itest_send(g_client, "chaos/n", "echo", 0, "i", i);
    }
    TEST_ASSERT_OK(actors_future_wait_all(fs, 4, SUPTEST_WAIT_MS));
    itest_assert_error(fs[0], ACTORS_ECRASHED, "ActorCrashed", "signal 11");
    for (int i = 1; i < 4; i++) {
        actors_err rc = itest_code(fs[i]);
        ck_assert_msg(rc == ACTORS_ECRASHED || rc == ACTORS_EDEAD,
            "caller %d: %s", i, itest_describe(fs[i]));
    }
    for (int i = 0; i < 4; i++) {
        actors_future_destroy(&fs[i]);
    }
    suptest_wait_state("chaos/n", "dead");
    actors_future_t *f = itest_call("chaos/n", "echo", "i", 1);
    itest_assert_error(f, ACTORS_EDEAD, "ActorDead", "signal 11");
    actors_future_destroy(&f);
}
END_TEST

/* max_restarts -1: it keeps coming back. */
START_TEST(test_supervisor_max_restarts_forever)
{
    testutil_broker_start(NULL);
    itest_connect();
    suptest_node("n1",
        s_config("chaos/f", P("max_restarts = -1") P("backoff_base_ms = 1")
                                P("backoff_max_ms = 5")));
    int64_t pid = suptest_wait_running("chaos/f", 0);
    for (int i = 0; i < 6; i++) {
        s_crash("chaos/f", "exit", 3, "exit code 3");
        pid = suptest_wait_running("chaos/f", pid);
    }
    s_echo_ok("chaos/f", 6);
}
END_TEST

/* intensity 2 per 10 s: the third crash in the window gives up. */
START_TEST(test_supervisor_window_gives_up)
{
    testutil_broker_start(NULL);
    itest_connect();
    suptest_node("n1",
        s_config("chaos/w", P("max_restarts = -1") P("intensity = 2") P(
                                "period_ms = 10000") P("backoff_base_ms = 1")));
    int64_t pid = suptest_wait_running("chaos/w", 0);
    for (int i = 0; i < 2; i++) {
        s_crash("chaos/w", "crash", 11, "signal 11");
        pid = suptest_wait_running("chaos/w", pid);
    }
    s_crash("chaos/w", "crash", 11, "signal 11");
    suptest_wait_state("chaos/w", "dead");
    actors_future_t *ev = suptest_events(0);
    ck_assert_int_ge(
        suptest_event_ms(itest_result(ev), "chaos/w", "give-up", 0), 0);
    actors_future_destroy(&ev);
}
END_TEST

/* Consecutive restarts wait base, base*2, base*4: the time from each
 * "restart" event to the next "start" grows. */
START_TEST(test_supervisor_backoff_grows)
{
    testutil_broker_start(NULL);
    itest_connect();
    suptest_node("n1",
        s_config("chaos/b", P("max_restarts = -1") P("backoff_base_ms = 400")
                                P("backoff_factor = 2") P("backoff_jitter = 0")
                                    P("healthy_ms = 60000")));
    int64_t pid = suptest_wait_running("chaos/b", 0);
    for (int i = 0; i < 4; i++) {
        s_crash("chaos/b", "crash", 9, "signal 9");
        pid = suptest_wait_running("chaos/b", pid);
    }
    actors_future_t *ev = suptest_events(0);
    const msgpack_object *r = itest_result(ev);
    /* Each "restart" event to the next "start" event (the first start may
     * or may not be listed: pair them in order, not by index). */
    int64_t delay[4];
    int nd = 0;
    int64_t restart_ms = -1;
    for (uint32_t i = 0; i < r->via.array.size && nd < 4; i++) {
        const msgpack_object *e = &r->via.array.ptr[i];
        const char *k = NULL;
        size_t kn = 0;
        int64_t ms = 0;
        actors_value_str(actors_map_get(e, "kind"), &k, &kn);
        actors_value_int(actors_map_get(e, "ms"), &ms);
        if (kn == 7 && memcmp(k, "restart", 7) == 0) {
            restart_ms = ms;
        } else if (kn == 5 && memcmp(k, "start", 5) == 0 && restart_ms >= 0) {
            delay[nd++] = ms - restart_ms;
            restart_ms = -1;
        }
    }
    ck_assert_int_eq(nd, 4);
    /* Nominal delays 0, 400, 800, 1600 ms. The times are the broker's
     * when it took each event, so a broker or supervisor stalled by load
     * (5-15x under ThreadSanitizer) moves them by hundreds of ms either
     * way: bounds at half the nominal delay, and a growth no noise makes
     * (a fixed 400 ms backoff gives about 400 for delay[3]). */
    ck_assert_msg(delay[1] >= 200 && delay[2] >= 400 && delay[3] >= 800 &&
                      delay[3] >= delay[1] + 400,
        "delays %lld %lld %lld %lld do not grow", (long long)delay[0],
        (long long)delay[1], (long long)delay[2], (long long)delay[3]);
    actors_future_destroy(&ev);
}
END_TEST

/* s_wait_inflight waits until the broker has n calls in flight. */
static void
s_wait_inflight(actors_client_t *c, const char *address, int64_t n)
{
    int64_t deadline = testutil_now_ms() + SUPTEST_WAIT_MS;
    for (;;) {
        char state[32];
        int64_t inflight = -1;
        if (testutil_lookup_state(address, state, sizeof state, NULL, NULL,
                &inflight) == ACTORS_OK &&
            inflight == n) {
            return;
        }
        ck_assert_msg(
            testutil_now_ms() < deadline, "never %lld in flight", (long long)n);
        actors_client_poll(c, 10); /* poll until the deadline */
    }
}

/* max_task_retries 1: a call in flight when the actor is SIGKILLed runs
 * again on the restarted actor and is answered once; the calls queued
 * behind it follow in order. */
START_TEST(test_supervisor_inflight_retried)
{
    testutil_broker_start(NULL);
    actors_client_t *c = itest_connect();
    suptest_node("n1",
        s_config("chaos/r", P("max_restarts = -1") P("max_task_retries = 1")));
    int64_t pid = suptest_wait_running("chaos/r", 0);
    actors_future_t *fs[4];
    fs[0] = itest_send(c, "chaos/r", "sleep", 0, "i", 2000);
    for (int i = 1; i < 4; i++) {
        fs[i] = itest_send(c, "chaos/r", "echo", 0, "i", i);
    }
    s_wait_inflight(c, "chaos/r", 4);
    kill((pid_t)pid, SIGKILL);
    TEST_ASSERT_OK(actors_future_wait_all(fs, 4, SUPTEST_WAIT_MS));
    ck_assert_int_eq(itest_int(fs[0]), 2000);
    for (int i = 1; i < 4; i++) {
        ck_assert_int_eq(itest_int(fs[i]), i);
        actors_future_destroy(&fs[i]);
    }
    actors_future_destroy(&fs[0]);
    int64_t pid2 = suptest_wait_running("chaos/r", pid);
    ck_assert_int_ne(pid, pid2);
    /* The new process handled each of the four once before this call. */
    actors_future_t *f = itest_call("chaos/r", "count", NULL);
    ck_assert_int_eq(itest_int(f), 4);
    actors_future_destroy(&f);
}
END_TEST

/* max_task_retries 0: the call in flight gets ActorCrashed with the
 * supervisor's cause. */
START_TEST(test_supervisor_inflight_crashed_with_cause)
{
    testutil_broker_start(NULL);
    actors_client_t *c = itest_connect();
    suptest_node("n1", s_config("chaos/q", P("max_restarts = -1")));
    int64_t pid = suptest_wait_running("chaos/q", 0);
    actors_future_t *f = itest_send(c, "chaos/q", "sleep", 0, "i", 2000);
    s_wait_inflight(c, "chaos/q", 1);
    kill((pid_t)pid, SIGKILL);
    suptest_wait(f);
    itest_assert_error(f, ACTORS_ECRASHED, "ActorCrashed", "signal 9");
    actors_future_destroy(&f);
    suptest_wait_running("chaos/q", pid);
    s_echo_ok("chaos/q", 3);
}
END_TEST

/* Calls made while the actor is restarting wait in the broker's mailbox
 * and are delivered, in order, once it is back. */
START_TEST(test_supervisor_mailbox_kept_while_restarting)
{
    testutil_broker_start(NULL);
    actors_client_t *c = itest_connect();
    suptest_node("n1", s_config("chaos/m",
                           P("max_restarts = -1") P("backoff_base_ms = 1500") P(
                               "backoff_jitter = 0") P("healthy_ms = 60000")));
    int64_t pid = suptest_wait_running("chaos/m", 0);
    s_crash("chaos/m", "crash", 9, "signal 9"); /* back at once */
    pid = suptest_wait_running("chaos/m", pid);
    s_crash("chaos/m", "crash", 9, "signal 9"); /* back in 1.5 s */
    suptest_wait_state("chaos/m", "restarting");
    actors_future_t *fs[3];
    for (int i = 0; i < 3; i++) {
        fs[i] = itest_send(c, "chaos/m", "echo", 0, "i", i);
    }
    TEST_ASSERT_OK(actors_future_wait_all(fs, 3, SUPTEST_WAIT_MS));
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(itest_int(fs[i]), i);
        actors_future_destroy(&fs[i]);
    }
    ck_assert_int_ne(suptest_wait_running("chaos/m", pid), pid);
}
END_TEST

/* Killed with no restart while it waits to restart: the calls waiting
 * in the mailbox get ActorDead with the cause. */
START_TEST(test_supervisor_waiting_callers_dead)
{
    testutil_broker_start(NULL);
    actors_client_t *c = itest_connect();
    suptest_node("n1", s_config("chaos/d",
                           P("max_restarts = -1") P("backoff_base_ms = 5000") P(
                               "backoff_jitter = 0") P("healthy_ms = 60000")));
    int64_t pid = suptest_wait_running("chaos/d", 0);
    s_crash("chaos/d", "crash", 9, "signal 9");
    suptest_wait_running("chaos/d", pid);
    s_crash("chaos/d", "crash", 9, "signal 9"); /* back in 5 s */
    suptest_wait_state("chaos/d", "restarting");
    actors_future_t *fs[3];
    for (int i = 0; i < 3; i++) {
        fs[i] = itest_send(c, "chaos/d", "echo", 0, "i", i);
    }
    actors_future_t *k = NULL;
    TEST_ASSERT_OK(actors_client_kill(c, "chaos/d", false, &k));
    suptest_wait(k);
    TEST_ASSERT_OK(actors_future_wait_all(fs, 3, SUPTEST_WAIT_MS));
    for (int i = 0; i < 3; i++) {
        itest_assert_error(fs[i], ACTORS_EDEAD, "ActorDead", NULL);
        actors_future_destroy(&fs[i]);
    }
    actors_future_destroy(&k);
    suptest_wait_state("chaos/d", "dead");
}
END_TEST

static Suite *
supervisor_suite(void)
{
    Suite *s = suite_create("supervisor");
    TCase *tc = suptest_tcase("supervisor", 60);
    tcase_add_test(tc, test_supervisor_restart_after_sigkill);
    tcase_add_test(tc, test_supervisor_restart_after_segv_abort_exit);
    tcase_add_test(tc, test_supervisor_max_restarts_zero);
    tcase_add_test(tc, test_supervisor_max_restarts_n);
    tcase_add_test(tc, test_supervisor_max_restarts_forever);
    tcase_add_test(tc, test_supervisor_window_gives_up);
    tcase_add_test(tc, test_supervisor_backoff_grows);
    tcase_add_test(tc, test_supervisor_inflight_retried);
    tcase_add_test(tc, test_supervisor_inflight_crashed_with_cause);
    tcase_add_test(tc, test_supervisor_mailbox_kept_while_restarting);
    tcase_add_test(tc, test_supervisor_waiting_callers_dead);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return itest_run(supervisor_suite());
}
