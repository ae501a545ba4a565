/* tests/integration/test_reminders.c - reminders outlive the process: a
 * SIGKILL and restart, a restart after their due time (fired once on
 * recovery), a move to another node after its node was lost, a group
 * whose holding member is SIGKILLed (the other takes them over), and the
 * same group on Redis, where the hold is a lease that lapses.
 * SPDX-License-Identifier: MIT
 *
 * Real processes: the broker, actors-supervisor nodes, chaos actors whose
 * remind(name, due_ms, period_ms) sets a reminder that publishes
 * chaos.reminder {address, name, pid} when it fires; the test's client
 * subscribes to it. The reminders are kept under $ACTORS_STATE_DIR, a
 * directory of the test that both nodes see (as a shared volume would),
 * or for the Redis case in a redis-server of the test's own (unix socket
 * in the test's directory, no TCP port) selected with $ACTORS_REDIS.
 */
#include "suptest.h"

#include <sys/stat.h>

static char s_state[96];

static void
s_state_setup(void)
{
    suptest_setup();
    snprintf(s_state, sizeof s_state, "%s/state", g_supdir);
    ck_assert_int_eq(mkdir(s_state, 0700), 0);
    setenv("ACTORS_STATE_DIR", s_state, 1); /* the nodes' children get it */
}

static void
s_state_teardown(void)
{
    suptest_teardown();
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_supdir);
    ck_assert_int_eq(system(cmd), 0);
}

#define P(line) "            " line "\n"

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

static actors_subscription_t *
s_watch(void)
{
    actors_subscription_t *q = NULL;
    actors_future_t *r = NULL;
    TEST_ASSERT_OK(
        actors_subscribe(g_client, "chaos.reminder", NULL, NULL, &q, &r));
    suptest_wait(r);
    actors_future_destroy(&r);
    return q;
}

static void
s_remind(const char *address, const char *name, int due, int period)
{
    actors_future_t *f =
        itest_call(address, "remind", "sii", name, due, period);
    itest_result(f);
    actors_future_destroy(&f);
}

/* s_fired waits (up to wait_ms) for the next reminder event and returns
 * the pid that published it (0: none came). */
static int64_t
s_fired(actors_subscription_t *q, const char *name, int wait_ms)
{
    actors_future_t *e = NULL;
    TEST_ASSERT_OK(actors_subscription_next(q, &e));
    if (actors_future_wait(e, wait_ms) != ACTORS_OK) {
        actors_future_destroy(&e);
        return 0;
    }
    const msgpack_object *data = actors_map_get(itest_result(e), "data");
    const char *s = NULL;
    size_t n = 0;
    TEST_ASSERT_OK(actors_value_str(actors_map_get(data, "name"), &s, &n));
    ck_assert_int_eq(n, strlen(name));
    ck_assert_int_eq(memcmp(s, name, n), 0);
    int64_t pid = 0;
    TEST_ASSERT_OK(actors_value_int(actors_map_get(data, "pid"), &pid));
    actors_future_destroy(&e);
    return pid;
}

/* A reminder set just before a SIGKILL fires in the restarted process,
 * once. */
START_TEST(test_reminders_survive_sigkill)
{
    testutil_broker_start(NULL);
    itest_connect();
    actors_subscription_t *q = s_watch();
    suptest_node("n1", s_config("chaos/rk", P("max_restarts = -1")));
    int64_t pid = suptest_wait_running("chaos/rk", 0);
    s_remind("chaos/rk", "later", 1500, 0);
    kill((pid_t)pid, SIGKILL);
    int64_t pid2 = suptest_wait_running("chaos/rk", pid);
    ck_assert_int_eq(s_fired(q, "later", SUPTEST_WAIT_MS), pid2);
    /* One-shot: no second time (within a second). */
    actors_future_t *e = NULL;
    TEST_ASSERT_OK(actors_subscription_next(q, &e));
    ck_assert_int_eq(actors_future_wait(e, 1000), ACTORS_ETIMEDOUT);
    actors_future_destroy(&e);
    actors_future_t *f = itest_call("chaos/rk", "unremind", "s", "later");
    ck_assert(!itest_result(f)->via.boolean);
    actors_future_destroy(&f);
    actors_unsubscribe(&q);
}
END_TEST

/* Due while the actor was down: fired once when it is back, whatever
 * the periods missed, and then every period. */
START_TEST(test_reminders_missed_fire_once)
{
    testutil_broker_start(NULL);
    itest_connect();
    actors_subscription_t *q = s_watch();
    suptest_node("n1", s_config("chaos/rm",
                           P("max_restarts = -1") P("backoff_base_ms = 2000") P(
                               "backoff_jitter = 0") P("healthy_ms = 60000")));
    int64_t pid = suptest_wait_running("chaos/rm", 0);
    kill((pid_t)pid, SIGKILL); /* back at once */
    pid = suptest_wait_running("chaos/rm", pid);
    s_remind("chaos/rm", "tick", 100, 1500);
    ck_assert_int_eq(s_fired(q, "tick", SUPTEST_WAIT_MS), pid);
    kill((pid_t)pid, SIGKILL); /* back in 2 s: about one period missed */
    int64_t pid2 = suptest_wait_running("chaos/rm", pid);
    int64_t t0 = testutil_now_ms();
    ck_assert_int_eq(s_fired(q, "tick", SUPTEST_WAIT_MS), pid2);
    ck_assert_int_lt(testutil_now_ms() - t0, 1000); /* at once */
    /* Once: the next one is a period later, not a burst. */
    t0 = testutil_now_ms();
    ck_assert_int_eq(s_fired(q, "tick", SUPTEST_WAIT_MS), pid2);
    ck_assert_int_ge(testutil_now_ms() - t0, 1000);
    actors_future_t *f = itest_call("chaos/rm", "unremind", "s", "tick");
    ck_assert(itest_result(f)->via.boolean);
    actors_future_destroy(&f);
    actors_unsubscribe(&q);
}
END_TEST

/* Its node lost, the actor is re-created on another node (sharing the
 * state directory): its reminder fires there. */
START_TEST(test_reminders_follow_a_move)
{
    testutil_broker_start(NULL);
    actors_client_t *c = itest_connect();
    actors_subscription_t *q = s_watch();
    testutil_proc_t *n1 = suptest_node("n1", NULL);
    suptest_node("n2", NULL);
    actors_spawn_opts_t o = ACTORS_SPAWN_OPTS_INIT;
    o.service = "chaos";
    o.name = "chaos/mover";
    o.node = "n1";
    o.max_restarts = -1;
    o.detached = true;
    actors_future_t *f = NULL;
    TEST_ASSERT_OK(actors_client_spawn(c, &o, &f));
    suptest_wait(f);
    itest_result(f);
    actors_future_destroy(&f);
    int64_t pid = suptest_wait_running("chaos/mover", 0);
    s_remind("chaos/mover", "moved", 2000, 0);
    testutil_proc_kill(n1, SIGKILL);
    int64_t pid2 = suptest_wait_running("chaos/mover", pid);
    char node[64];
    suptest_field("chaos/mover", "node", node, sizeof node);
    ck_assert_str_eq(node, "n2");
    ck_assert_int_eq(s_fired(q, "moved", SUPTEST_WAIT_MS), pid2);
    actors_unsubscribe(&q);
}
END_TEST

/* The example: orders re-sends an order nobody acknowledged, from its
 * reminder, after a SIGKILL too (its pending orders and the reminder are
 * both stored); a shipper that acknowledges empties it. */
START_TEST(test_reminders_orders_resend)
{
    testutil_broker_start(NULL);
    itest_connect();
    actors_subscription_t *q = NULL;
    actors_future_t *r = NULL;
    TEST_ASSERT_OK(
        actors_subscribe(g_client, "orders.created", NULL, NULL, &q, &r));
    suptest_wait(r);
    actors_future_destroy(&r);
    suptest_node("n1", "supervisor\n"
                       "    node = n1\n"
                       "actor\n"
                       "    orders\n"
                       "        service = orders\n"
                       "        address = orders/x\n"
                       "        args = [800]\n"
                       "        policy\n" P("max_restarts = -1"));
    int64_t pid = suptest_wait_running("orders/x", 0);
    actors_future_t *f = itest_call("orders/x", "place", "si", "widget", 2);
    ck_assert_int_eq(itest_int(f), 1);
    actors_future_destroy(&f);
    kill((pid_t)pid, SIGKILL);
    suptest_wait_running("orders/x", pid);
    bool resent = false;
    int64_t deadline = testutil_now_ms() + SUPTEST_WAIT_MS;
    while (!resent && testutil_now_ms() < deadline) {
        actors_future_t *e = NULL;
        TEST_ASSERT_OK(actors_subscription_next(q, &e));
        suptest_wait(e);
        const msgpack_object *d = actors_map_get(itest_result(e), "data");
        int64_t id = 0;
        TEST_ASSERT_OK(actors_value_int(actors_map_get(d, "id"), &id));
        ck_assert_int_eq(id, 1);
        TEST_ASSERT_OK(actors_value_bool(actors_map_get(d, "resent"), &resent));
        actors_future_destroy(&e);
    }
    ck_assert(resent);
    f = itest_call("orders/x", "pending", NULL);
    ck_assert_uint_eq(itest_result(f)->via.array.size, 1);
    actors_future_destroy(&f);
    testutil_service_start("shipping", "shipping/x", 0, NULL);
    deadline = testutil_now_ms() + SUPTEST_WAIT_MS;
    uint32_t left = 1;
    while (left > 0 && testutil_now_ms() < deadline) {
        testutil_poll_pause_ms(50);
        f = itest_call("orders/x", "pending", NULL);
        left = itest_result(f)->via.array.size;
        actors_future_destroy(&f);
    }
    ck_assert_uint_eq(left, 0);
    actors_unsubscribe(&q);
}
END_TEST

/* s_log_has tells whether member m's stderr (so far) contains what. */
static bool
s_log_has(const testutil_proc_t *m, const char *what)
{
    return strstr(testutil_proc_stderr(m), what) != NULL;
}

static bool
s_standing_by(void *arg)
{
    return s_log_has(arg, "ACT-REMINDER-STANDBY");
}

/* s_log_count counts what in member m's stderr. */
static int
s_log_count(const testutil_proc_t *m, const char *what)
{
    int n = 0;
    for (const char *p = testutil_proc_stderr(m); (p = strstr(p, what)) != NULL;
         p += strlen(what)) {
        n++;
    }
    return n;
}

/* s_routed calls address.method(args) routed by key and waits for it. */
static actors_future_t *
s_routed(const char *address, const char *method, const char *key,
    actors_msg_t *args)
{
    actors_call_opts_t opts = ACTORS_CALL_OPTS_INIT;
    opts.route = key;
    opts.route_len = strlen(key);
    actors_future_t *f = NULL;
    TEST_ASSERT_OK(
        actors_client_call(g_client, address, method, &args, &opts, &f));
    actors_msg_destroy(&args);
    TEST_ASSERT_OK(actors_future_wait(f, ITEST_WAIT_MS));
    return f;
}

/* s_key_of finds a route key that the group at address sends to pid
 * (it may not have joined yet: keys are tried until the deadline). */
static void
s_key_of(const char *address, int64_t pid, char *key, size_t key_len)
{
    int64_t deadline = testutil_now_ms() + SUPTEST_WAIT_MS;
    for (int k = 0; testutil_now_ms() < deadline; k++) {
        snprintf(key, key_len, "key-%d", k);
        actors_future_t *f = s_routed(address, "pid", key, NULL);
        int64_t got = itest_int(f);
        actors_future_destroy(&f);
        if (got == pid) {
            return;
        }
        testutil_poll_pause_ms(10); /* poll pause; deadline above */
    }
    ck_abort_msg("no key of %s went to pid %lld", address, (long long)pid);
}

/* s_member spawns a chaos member of group chaos/grp, stderr captured. */
static testutil_proc_t *
s_member(void)
{
    testutil_proc_t *m = testutil_service_spawn(
        TESTUTIL_CAPTURE_STDERR, "chaos", "chaos/grp", 0, "--group", NULL);
    ck_assert_ptr_nonnull(m);
    return m;
}

/* s_next_holder waits for the first beat not from the old holder (whose
 * beats published before it went may still arrive) and returns its pid. */
static int64_t
s_next_holder(actors_subscription_t *q, int64_t old)
{
    int64_t pid = old;
    int64_t deadline = testutil_now_ms() + SUPTEST_WAIT_MS;
    while (pid == old && testutil_now_ms() < deadline) {
        pid = s_fired(q, "beat", SUPTEST_WAIT_MS);
    }
    ck_assert_int_ne(pid, old);
    ck_assert_int_ne(pid, 0);
    return pid;
}

/* A group's reminders are the group address's: one member (the first)
 * holds and fires them, the others stand by quietly; when the holder is
 * SIGKILLed one of them takes them over, and when that one stops
 * (SIGTERM) the last does. Plain members: nobody restarts them. */
START_TEST(test_reminders_group_one_holder)
{
    setenv("ACTORS_LOG_LEVEL", "info", 1);
    testutil_broker_start(NULL);
    itest_connect();
    actors_subscription_t *q = s_watch();
    testutil_proc_t *m[3];
    m[0] = s_member();
    ck_assert(testutil_wait_state("chaos/grp", "running", 0, ITEST_WAIT_MS));
    s_remind("chaos/grp", "beat", 100, 500);
    for (int i = 1; i < 3; i++) {
        m[i] = s_member();
        ck_assert_msg(testutil_wait_until(s_standing_by, m[i], SUPTEST_WAIT_MS),
            "member %d never stood by: %s", i, testutil_proc_stderr(m[i]));
    }
    pid_t pids[3] = {m[0]->pid, m[1]->pid, m[2]->pid};
    /* Set on a member standing by: refused, and the group's reminder is
     * untouched (it still beats from the holder). */
    char key[32];
    s_key_of("chaos/grp", pids[1], key, sizeof key);
    actors_msg_t *args = NULL;
    TEST_ASSERT_OK(actors_msg_create(&args));
    TEST_ASSERT_OK(actors_msg_add_str(args, "other"));
    TEST_ASSERT_OK(actors_msg_add_int(args, 100));
    TEST_ASSERT_OK(actors_msg_add_int(args, 0));
    actors_future_t *f = s_routed("chaos/grp", "remind", key, args);
    const actors_error_t *err = actors_future_error(f);
    ck_assert_ptr_nonnull(err);
    ck_assert_msg(strstr(actors_error_message(err), "held by another") != NULL,
        "%s", actors_error_message(err));
    actors_future_destroy(&f);
    /* Once per period across the group: the holder's, never another's
     * (they have restored, and would fire now if they held them too). */
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(s_fired(q, "beat", SUPTEST_WAIT_MS), pids[0]);
    }
    testutil_proc_kill(m[0], SIGKILL);
    ck_assert(testutil_proc_wait(m[0], ITEST_WAIT_MS, NULL));
    int64_t h = s_next_holder(q, pids[0]);
    ck_assert(h == pids[1] || h == pids[2]);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(s_fired(q, "beat", SUPTEST_WAIT_MS), h);
    }
    int next = h == pids[1] ? 1 : 2;
    int last = 3 - next;
    ck_assert(testutil_proc_stop(m[next], ITEST_WAIT_MS));
    ck_assert_int_eq(s_next_holder(q, h), pids[last]);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(s_fired(q, "beat", SUPTEST_WAIT_MS), pids[last]);
    }
    /* Quietly: one INFO line to stand by, one to take over, no KeyLocked
     * in any member's log. */
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(s_log_count(m[i], "ACT-REMINDER-STANDBY"), i > 0);
        ck_assert_int_eq(s_log_count(m[i], "ACT-REMINDER-TAKEOVER"), i > 0);
        ck_assert_msg(
            !s_log_has(m[i], "KeyLocked") && !s_log_has(m[i], "PST-LOCKED"),
            "%s", testutil_proc_stderr(m[i]));
    }
    actors_unsubscribe(&q);
    unsetenv("ACTORS_LOG_LEVEL");
}
END_TEST

static bool
s_lost_lease(void *arg)
{
    return s_log_has(arg, "ACT-REMINDER-LOST");
}

/* The group of test_reminders_group_one_holder with its reminders in
 * Redis: the hold is a lease (SET NX PX, renewed by the holder's loop;
 * docs/PERSISTENCE.md). One member fires, once per period across the
 * group, though the others have restored (they stand by); a SIGKILLed
 * holder's lease lapses and another member takes over; a holder stopped
 * (SIGSTOP) past the lease's TTL is replaced too, and once it runs again
 * it finds its lease taken and drops the reminders (ACT-REMINDER-LOST)
 * instead of firing them alongside the new holder. */
START_TEST(test_reminders_group_one_holder_redis)
{
    if (!testutil_redis_start(g_supdir)) {
        return;
    }
    setenv("ACTORS_LOG_LEVEL", "info", 1);
    testutil_broker_start(NULL);
    itest_connect();
    actors_subscription_t *q = s_watch();
    testutil_proc_t *m[3];
    m[0] = s_member();
    ck_assert(testutil_wait_state("chaos/grp", "running", 0, ITEST_WAIT_MS));
    s_remind("chaos/grp", "beat", 100, 300);
    char key[32];
    for (int i = 1; i < 3; i++) {
        m[i] = s_member();
        /* Routed to it: it runs, its reminders restored before its init. */
        s_key_of("chaos/grp", m[i]->pid, key, sizeof key);
    }
    pid_t pids[3] = {m[0]->pid, m[1]->pid, m[2]->pid};
    /* Only the holder fires: every beat is its, none another member's. */
    for (int i = 0; i < 8; i++) {
        ck_assert_int_eq(s_fired(q, "beat", SUPTEST_WAIT_MS), pids[0]);
    }
    for (int i = 1; i < 3; i++) {
        ck_assert_msg(s_standing_by(m[i]), "member %d: %s", i,
            testutil_proc_stderr(m[i]));
    }
    /* SIGKILL: no release; the lease lapses and a member takes over. */
    testutil_proc_kill(m[0], SIGKILL);
    ck_assert(testutil_proc_wait(m[0], ITEST_WAIT_MS, NULL));
    int64_t h = s_next_holder(q, pids[0]);
    ck_assert(h == pids[1] || h == pids[2]);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(s_fired(q, "beat", SUPTEST_WAIT_MS), h);
    }
    /* SIGSTOP: the lease lapses as well, the last member takes over. */
    int held = h == pids[1] ? 1 : 2;
    int last = 3 - held;
    testutil_proc_kill(m[held], SIGSTOP);
    ck_assert_int_eq(s_next_holder(q, h), pids[last]);
    testutil_proc_kill(m[held], SIGCONT);
    ck_assert_msg(testutil_wait_until(s_lost_lease, m[held], SUPTEST_WAIT_MS),
        "the stopped holder never found its lease lost: %s",
        testutil_proc_stderr(m[held]));
    /* From then on only the new holder fires. */
    for (int i = 0; i < 6; i++) {
        ck_assert_int_eq(s_fired(q, "beat", SUPTEST_WAIT_MS), pids[last]);
    }
    ck_assert_int_eq(s_log_count(m[last], "ACT-REMINDER-TAKEOVER"), 1);
    for (int i = 1; i < 3; i++) {
        ck_assert_msg(
            !s_log_has(m[i], "KeyLocked") && !s_log_has(m[i], "PST-LOCKED"),
            "%s", testutil_proc_stderr(m[i]));
    }
    actors_unsubscribe(&q);
    unsetenv("ACTORS_LOG_LEVEL");
    unsetenv("ACTORS_REDIS");
}
END_TEST

static Suite *
reminders_suite(void)
{
    Suite *s = suite_create("reminders");
    TCase *tc = tcase_create("reminders");
    tcase_add_checked_fixture(tc, s_state_setup, s_state_teardown);
    tcase_set_timeout(tc, 90);
    tcase_add_test(tc, test_reminders_survive_sigkill);
    tcase_add_test(tc, test_reminders_missed_fire_once);
    tcase_add_test(tc, test_reminders_follow_a_move);
    tcase_add_test(tc, test_reminders_orders_resend);
    tcase_add_test(tc, test_reminders_group_one_holder);
    tcase_add_test(tc, test_reminders_group_one_holder_redis);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return itest_run(reminders_suite());
}
