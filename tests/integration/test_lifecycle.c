/* tests/integration/test_lifecycle.c - actors spawned, killed and stopped
 * at run time through the broker; owned and detached actors; a node lost
 * and its actors re-created elsewhere; the event log.
 * SPDX-License-Identifier: MIT
 *
 * Real processes: the broker and one or two actors-supervisor nodes with
 * no config; the test's client spawns chaos actors on them.
 */
#include "suptest.h"

#include <sys/wait.h>

/* s_spawn spawns chaos with opts (service set here) on client c and waits
 * for the answer. */
static actors_future_t *
s_spawn(actors_client_t *c, actors_spawn_opts_t *opts)
{
    opts->service = "chaos";
    actors_future_t *f = NULL;
    TEST_ASSERT_OK(actors_client_spawn(c, opts, &f));
    suptest_wait(f);
    return f;
}

/* s_str copies string field key of map r into a static buffer. */
static const char *
s_str(const msgpack_object *r, const char *key)
{
    static char buf[256];
    const char *p = NULL;
    size_t n = 0;
    buf[0] = '\0';
    if (actors_value_str(actors_map_get(r, key), &p, &n) == ACTORS_OK &&
        n < sizeof buf) {
        memcpy(buf, p, n);
        buf[n] = '\0';
    }
    return buf;
}

static bool
s_bool(const msgpack_object *r, const char *key)
{
    bool b = false;
    actors_value_bool(actors_map_get(r, key), &b);
    return b;
}

static void
s_echo_ok(const char *address, int v)
{
    actors_future_t *f = itest_send(g_client, address, "echo", 0, "i", v);
    suptest_wait(f);
    ck_assert_int_eq(itest_int(f), v);
    actors_future_destroy(&f);
}

static void
s_kill(const char *address, bool restart, bool graceful)
{
    actors_future_t *f = NULL;
    if (graceful) {
        TEST_ASSERT_OK(actors_client_stop(g_client, address, &f));
    } else {
        TEST_ASSERT_OK(actors_client_kill(g_client, address, restart, &f));
    }
    suptest_wait(f);
    itest_result(f);
    actors_future_destroy(&f);
}

START_TEST(test_lifecycle_spawn_named_and_generated)
{
    testutil_broker_start(NULL);
    actors_client_t *c = itest_connect();
    suptest_node("n1", NULL);
    actors_spawn_opts_t o = ACTORS_SPAWN_OPTS_INIT;
    o.name = "chaos/named";
    actors_future_t *f = s_spawn(c, &o);
    const msgpack_object *r = itest_result(f);
    ck_assert_str_eq(s_str(r, "address"), "chaos/named");
    ck_assert_str_eq(s_str(r, "node"), "n1");
    ck_assert(!s_bool(r, "existed"));
    int64_t pid = 0;
    TEST_ASSERT_OK(actors_value_int(actors_map_get(r, "pid"), &pid));
    ck_assert_int_gt(pid, 0);
    actors_future_destroy(&f);
    s_echo_ok("chaos/named", 1);

    actors_spawn_opts_t g = ACTORS_SPAWN_OPTS_INIT;
    f = s_spawn(c, &g);
    char address[256];
    snprintf(address, sizeof address, "%s", s_str(itest_result(f), "address"));
    actors_future_destroy(&f);
    ck_assert_msg(strncmp(address, "chaos/", 6) == 0 && strlen(address) == 14,
        "generated name '%s'", address);
    s_echo_ok(address, 2);
}
END_TEST

START_TEST(test_lifecycle_name_taken_and_get_if_exists)
{
    testutil_broker_start(NULL);
    actors_client_t *c = itest_connect();
    suptest_node("n1", NULL);
    actors_spawn_opts_t o = ACTORS_SPAWN_OPTS_INIT;
    o.name = "chaos/one";
    actors_future_t *f = s_spawn(c, &o);
    int64_t pid = 0;
    actors_value_int(actors_map_get(itest_result(f), "pid"), &pid);
    actors_future_destroy(&f);
    f = s_spawn(c, &o);
    itest_assert_error(f, ACTORS_ETAKEN, "NameTaken", NULL);
    actors_future_destroy(&f);
    o.get_if_exists = true;
    f = s_spawn(c, &o);
    const msgpack_object *r = itest_result(f);
    ck_assert(s_bool(r, "existed"));
    int64_t pid2 = 0;
    actors_value_int(actors_map_get(r, "pid"), &pid2);
    ck_assert_int_eq(pid, pid2);
    actors_future_destroy(&f);
    actors_spawn_opts_t n = ACTORS_SPAWN_OPTS_INIT;
    n.node = "nowhere";
    f = s_spawn(c, &n);
    itest_assert_error(f, ACTORS_ENONODE, "NoSuchNode", "nowhere");
    actors_future_destroy(&f);
}
END_TEST

/* An actor whose constructor fails never registers: the node gives up
 * and the spawner gets SpawnFailed with the exit cause. */
START_TEST(test_lifecycle_spawn_failed)
{
    testutil_broker_start(NULL);
    actors_client_t *c = itest_connect();
    suptest_node("n1", NULL);
    actors_msg_t *args = NULL;
    TEST_ASSERT_OK(actors_msg_create(&args));
    TEST_ASSERT_OK(actors_msg_add_int(args, 10)); /* balance < minimal */
    TEST_ASSERT_OK(actors_msg_add_int(args, 20));
    actors_spawn_opts_t o = ACTORS_SPAWN_OPTS_INIT;
    o.service = "account";
    o.name = "account/poor";
    o.args = args;
    actors_future_t *f = NULL;
    TEST_ASSERT_OK(actors_client_spawn(c, &o, &f));
    suptest_wait(f);
    itest_assert_error(f, ACTORS_ESPAWN, "SpawnFailed", "exit code 2");
    actors_future_destroy(&f);
    actors_msg_destroy(&args);
    suptest_wait_state("account/poor", "dead");
}
END_TEST

/* Two clients spawn one name at once: exactly one creates it. */
START_TEST(test_lifecycle_concurrent_spawn_one_name)
{
    testutil_broker_start(NULL);
    actors_client_t *c = itest_connect();
    actors_client_t *c2 = NULL;
    TEST_ASSERT_OK(actors_client_create(&c2, testutil_endpoint()));
    suptest_node("n1", NULL);
    actors_spawn_opts_t o = ACTORS_SPAWN_OPTS_INIT;
    o.service = "chaos";
    o.name = "chaos/race";
    o.detached = true;
    actors_future_t *fs[2] = {NULL, NULL};
    TEST_ASSERT_OK(actors_client_spawn(c, &o, &fs[0]));
    TEST_ASSERT_OK(actors_client_spawn(c2, &o, &fs[1]));
    int64_t deadline = testutil_now_ms() + SUPTEST_WAIT_MS;
    while (!(actors_future_is_ready(fs[0]) && actors_future_is_ready(fs[1])) &&
           testutil_now_ms() < deadline) {
        actors_client_poll(c, 5);  /* both clients pump until the deadline */
        actors_client_poll(c2, 5); /* (each future needs its own client) */
    }
    int ok = 0;
    int taken = 0;
    for (int i = 0; i < 2; i++) {
        actors_err rc = itest_code(fs[i]);
        ok += rc == ACTORS_OK;
        taken += rc == ACTORS_ETAKEN;
        actors_future_destroy(&fs[i]);
    }
    ck_assert_int_eq(ok, 1);
    ck_assert_int_eq(taken, 1);
    actors_client_destroy(&c2);
    s_echo_ok("chaos/race", 3);
}
END_TEST

START_TEST(test_lifecycle_kill_restart_and_no_restart)
{
    testutil_broker_start(NULL);
    actors_client_t *c = itest_connect();
    suptest_node("n1", NULL);
    actors_spawn_opts_t o = ACTORS_SPAWN_OPTS_INIT;
    o.name = "chaos/kr";
    o.max_restarts = -1;
    actors_future_t *f = s_spawn(c, &o);
    itest_result(f);
    actors_future_destroy(&f);
    int64_t pid = suptest_wait_running("chaos/kr", 0);
    s_kill("chaos/kr", true, false);
    int64_t pid2 = suptest_wait_running("chaos/kr", pid);
    ck_assert_int_ne(pid, pid2);
    s_echo_ok("chaos/kr", 1);
    s_kill("chaos/kr", false, false);
    suptest_wait_state("chaos/kr", "dead");
    f = itest_call("chaos/kr", "echo", "i", 2);
    itest_assert_error(f, ACTORS_EDEAD, "ActorDead", NULL);
    actors_future_destroy(&f);
    f = NULL;
    TEST_ASSERT_OK(actors_client_kill(c, "chaos/kr", true, &f));
    suptest_wait(f);
    itest_assert_error(f, ACTORS_ENOACTOR, "NoSuchActor", NULL);
    actors_future_destroy(&f);
}
END_TEST

START_TEST(test_lifecycle_stop_graceful)
{
    testutil_broker_start(NULL);
    actors_client_t *c = itest_connect();
    suptest_node("n1", NULL);
    actors_spawn_opts_t o = ACTORS_SPAWN_OPTS_INIT;
    o.name = "chaos/st";
    o.max_restarts = -1;
    actors_future_t *f = s_spawn(c, &o);
    itest_result(f);
    actors_future_destroy(&f);
    s_echo_ok("chaos/st", 1);
    s_kill("chaos/st", false, true);
    suptest_wait_state("chaos/st", "stopped");
    f = itest_call("chaos/st", "echo", "i", 2);
    itest_assert_error(f, ACTORS_EDEAD, "ActorDead", NULL);
    actors_future_destroy(&f);
}
END_TEST

/* An owned actor goes with its owner's connection, gracefully; a
 * detached one stays. */
START_TEST(test_lifecycle_owned_and_detached)
{
    testutil_broker_start(NULL);
    itest_connect();
    suptest_node("n1", NULL);
    actors_client_t *owner = NULL;
    TEST_ASSERT_OK(actors_client_create(&owner, testutil_endpoint()));
    actors_spawn_opts_t o = ACTORS_SPAWN_OPTS_INIT;
    o.name = "chaos/owned";
    actors_future_t *f = s_spawn(owner, &o);
    itest_result(f);
    actors_future_destroy(&f);
    actors_spawn_opts_t d = ACTORS_SPAWN_OPTS_INIT;
    d.name = "chaos/detached";
    d.detached = true;
    f = s_spawn(owner, &d);
    itest_result(f);
    actors_future_destroy(&f);
    s_echo_ok("chaos/owned", 1);
    actors_client_destroy(&owner);
    /* Stopped gracefully (SIGTERM: the runtime unregisters and runs the
     * service's fini, exit code 0), as Pykka's stop(), not SIGKILLed. */
    suptest_wait_state("chaos/owned", "stopped");
    char cause[128];
    suptest_field("chaos/owned", "cause", cause, sizeof cause);
    ck_assert_str_eq(cause, "exit code 0");
    s_echo_ok("chaos/detached", 2);
}
END_TEST

/* s_owner_child runs in a forked child: once go is readable (the node is
 * up), a client of its own spawns an owned chaos at address, reports on
 * fd, and then never polls again, so only libzmq's I/O thread (answering
 * the broker's ZMTP PINGs) speaks for it. It is forked before the test
 * starts any thread (ThreadSanitizer does not support new threads after
 * a multi-threaded fork). */
static void
s_owner_child(const char *address, int go, int fd)
{
    /* Only our own descriptors: the parent's are not ours to count. */
    for (int i = 3; i < 1024; i++) {
        if (i != fd && i != go) {
            close(i);
        }
    }
    char token = 0;
    if (read(go, &token, 1) != 1) {
        _exit(2); /* the test gave up before the node was up */
    }
    actors_client_t *c = NULL;
    if (actors_client_create(&c, testutil_endpoint()) != ACTORS_OK) {
        _exit(3);
    }
    actors_spawn_opts_t o = ACTORS_SPAWN_OPTS_INIT;
    o.service = "chaos";
    o.name = address;
    actors_future_t *f = NULL;
    if (actors_client_spawn(c, &o, &f) != ACTORS_OK ||
        actors_future_wait(f, SUPTEST_WAIT_MS) != ACTORS_OK ||
        actors_future_error(f) != NULL) {
        _exit(4);
    }
    char ok = 1;
    if (write(fd, &ok, 1) != 1) {
        _exit(5);
    }
    for (;;) {
        pause(); /* busy elsewhere: never polls the client */
    }
}

static bool
s_not_running(void *arg)
{
    char state[32];
    return testutil_lookup_state(arg, state, sizeof state, NULL, NULL, NULL) !=
               ACTORS_OK ||
           strcmp(state, "running") != 0;
}

/* An owner that does not poll for many liveness intervals keeps its actor
 * (its connection answers the broker's ZMTP heartbeats), over its one
 * connection (no second socket for liveness); an owner process that stops
 * (SIGSTOP: connected, silent) loses it once the broker's heartbeat times
 * its connection out. */
START_TEST(test_lifecycle_owner_liveness)
{
    testutil_broker_start("--heartbeat", "200", "--liveness", "3", NULL);
    int go[2];
    int p[2];
    ck_assert_int_eq(pipe(go), 0);
    ck_assert_int_eq(pipe(p), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        s_owner_child("chaos/kept", go[0], p[1]);
    }
    close(go[0]);
    close(p[1]);
    itest_connect();
    suptest_node("n1", NULL);
    char ok = 1;
    ck_assert_int_eq(write(go[1], &ok, 1), 1);
    close(go[1]);
    ssize_t got = read(p[0], &ok, 1); /* the child exits on any failure */
    close(p[0]);
    if (got != 1) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        ck_abort_msg("the owner child could not spawn its actor");
    }
    /* 2 s without a poll from the owner: 3 x the liveness interval. */
    ck_assert_msg(!testutil_wait_until(s_not_running, "chaos/kept", 2000),
        "the actor of a live owner that does not poll was stopped");
    s_echo_ok("chaos/kept", 1);
    int conns = testutil_tcp_conns(pid, testutil_endpoint());
    if (conns != 1) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        ck_abort_msg("the owner holds %d connections to the broker", conns);
    }
    kill(pid, SIGSTOP);
    bool gone = testutil_wait_until(s_not_running, "chaos/kept", 10000);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    ck_assert_msg(gone, "the actor of a stopped owner is still running");
    suptest_wait_state("chaos/kept", "stopped"); /* gracefully */
}
END_TEST

/* A supervised actor whose process stops (SIGSTOP) is taken for dead when
 * the broker's heartbeat times its connection out: its address waits
 * ("restarting", the mailbox kept), the call in flight gets ActorCrashed
 * once no STATE comes. The node sees no exit, so nothing restarts the
 * process; when it runs again (SIGCONT) it has a new connection and
 * registers again, and the calls that waited meanwhile are answered. */
START_TEST(test_lifecycle_stopped_actor_comes_back)
{
    testutil_broker_start("--heartbeat", "200", "--liveness", "3", NULL);
    itest_connect();
    suptest_node("n1", NULL);
    actors_spawn_opts_t o = ACTORS_SPAWN_OPTS_INIT;
    o.name = "chaos/stopped";
    o.detached = true;
    o.max_restarts = -1;
    actors_future_t *f = s_spawn(g_client, &o);
    int64_t pid = 0;
    TEST_ASSERT_OK(
        actors_value_int(actors_map_get(itest_result(f), "pid"), &pid));
    actors_future_destroy(&f);
    s_echo_ok("chaos/stopped", 1);
    f = itest_send(g_client, "chaos/stopped", "sleep", 0, "i", 100);
    kill((pid_t)pid, SIGSTOP);
    suptest_wait(f);
    itest_assert_error(f, ACTORS_ECRASHED, "ActorCrashed", "connection lost");
    actors_future_destroy(&f);
    char state[32];
    suptest_field("chaos/stopped", "state", state, sizeof state);
    ck_assert_str_eq(state, "restarting");
    f = itest_send(g_client, "chaos/stopped", "echo", 0, "i", 2);
    kill((pid_t)pid, SIGCONT);
    suptest_wait(f);
    ck_assert_int_eq(itest_int(f), 2);
    actors_future_destroy(&f);
    ck_assert_int_eq(suptest_wait_running("chaos/stopped", 0), pid);
}
END_TEST

/* Two nodes; one is SIGKILLed: its actor that may restart comes back on
 * the other node and answers; the one that may not is dead. */
START_TEST(test_lifecycle_node_lost)
{
    testutil_broker_start(NULL);
    actors_client_t *c = itest_connect();
    testutil_proc_t *n1 = suptest_node("n1", NULL);
    suptest_node("n2", NULL);
    actors_spawn_opts_t o = ACTORS_SPAWN_OPTS_INIT;
    o.name = "chaos/phoenix";
    o.node = "n1";
    o.max_restarts = -1;
    o.detached = true;
    actors_future_t *f = s_spawn(c, &o);
    itest_result(f);
    actors_future_destroy(&f);
    actors_spawn_opts_t m = ACTORS_SPAWN_OPTS_INIT;
    m.name = "chaos/mortal";
    m.node = "n1";
    m.detached = true;
    f = s_spawn(c, &m);
    itest_result(f);
    actors_future_destroy(&f);
    int64_t pid = suptest_wait_running("chaos/phoenix", 0);
    testutil_proc_kill(n1, SIGKILL);
    suptest_wait_running("chaos/phoenix", pid);
    char node[64];
    suptest_field("chaos/phoenix", "node", node, sizeof node);
    ck_assert_str_eq(node, "n2");
    s_echo_ok("chaos/phoenix", 5);
    suptest_wait_state("chaos/mortal", "dead");
    f = itest_call("chaos/mortal", "echo", "i", 1);
    itest_assert_error(f, ACTORS_EDEAD, "ActorDead", NULL);
    actors_future_destroy(&f);
}
END_TEST

/* A lost node's config actor is re-created on another node; when the lost
 * node comes back with the same config it leaves the address where it now
 * lives instead of fighting for the name (its child exits with
 * ACTORS_EXIT_NAME_TAKEN and is not restarted). */
START_TEST(test_lifecycle_returning_node_yields)
{
    static const char *zpl = "actor\n"
                             "    homed\n"
                             "        service = chaos\n"
                             "        address = chaos/homed\n"
                             "        policy\n"
                             "            max_restarts = -1\n";
    testutil_broker_start(NULL);
    itest_connect();
    testutil_proc_t *n1 = suptest_node("n1", zpl);
    suptest_node("n2", NULL);
    int64_t pid = suptest_wait_running("chaos/homed", 0);
    testutil_proc_kill(n1, SIGKILL);
    int64_t moved = suptest_wait_running("chaos/homed", pid);
    char node[64];
    suptest_field("chaos/homed", "node", node, sizeof node);
    ck_assert_str_eq(node, "n2");
    testutil_proc_t *back = suptest_node("n1", zpl);
    int64_t deadline = testutil_now_ms() + SUPTEST_WAIT_MS;
    while (strstr(testutil_proc_stderr(back), "SUP-MOVED") == NULL) {
        ck_assert_msg(testutil_now_ms() < deadline, "n1 did not yield: %s",
            testutil_proc_stderr(back));
        testutil_poll_pause_ms(10);
    }
    ck_assert_int_eq(suptest_wait_running("chaos/homed", 0), moved);
    suptest_field("chaos/homed", "node", node, sizeof node);
    ck_assert_str_eq(node, "n2");
    ck_assert_ptr_null(strstr(testutil_proc_stderr(back), "SUP-RESTART"));
    s_echo_ok("chaos/homed", 9);
}
END_TEST

/* The event log lists start, exit, restart and give-up, with ids that
 * grow and "since" that filters. */
START_TEST(test_lifecycle_events)
{
    testutil_broker_start(NULL);
    actors_client_t *c = itest_connect();
    suptest_node("n1", NULL);
    actors_spawn_opts_t o = ACTORS_SPAWN_OPTS_INIT;
    o.name = "chaos/ev";
    o.max_restarts = 1;
    actors_future_t *f = s_spawn(c, &o);
    itest_result(f);
    actors_future_destroy(&f);
    int64_t pid = suptest_wait_running("chaos/ev", 0);
    f = itest_call("chaos/ev", "crash", "i", 11);
    actors_future_destroy(&f);
    pid = suptest_wait_running("chaos/ev", pid);
    f = itest_call("chaos/ev", "crash", "i", 11);
    actors_future_destroy(&f);
    suptest_wait_state("chaos/ev", "dead");
    actors_future_t *ev = suptest_events(0);
    const msgpack_object *r = itest_result(ev);
    const char *kinds[] = {"start", "exit", "restart", "give-up"};
    for (size_t i = 0; i < 4; i++) {
        ck_assert_msg(suptest_event_ms(r, "chaos/ev", kinds[i], 0) > 0,
            "no %s event", kinds[i]);
    }
    uint32_t n = r->via.array.size;
    int64_t last = 0;
    for (uint32_t i = 0; i < n; i++) {
        int64_t id = 0;
        actors_value_int(actors_map_get(&r->via.array.ptr[i], "id"), &id);
        ck_assert_int_gt(id, last);
        last = id;
    }
    actors_future_destroy(&ev);
    ev = suptest_events((uint64_t)last - 1);
    ck_assert_uint_eq(itest_result(ev)->via.array.size, 1);
    actors_future_destroy(&ev);
    ev = suptest_events((uint64_t)last);
    ck_assert_uint_eq(itest_result(ev)->via.array.size, 0);
    actors_future_destroy(&ev);
}
END_TEST

static Suite *
lifecycle_suite(void)
{
    Suite *s = suite_create("lifecycle");
    TCase *tc = suptest_tcase("lifecycle", 60);
    tcase_add_test(tc, test_lifecycle_spawn_named_and_generated);
    tcase_add_test(tc, test_lifecycle_name_taken_and_get_if_exists);
    tcase_add_test(tc, test_lifecycle_spawn_failed);
    tcase_add_test(tc, test_lifecycle_concurrent_spawn_one_name);
    tcase_add_test(tc, test_lifecycle_kill_restart_and_no_restart);
    tcase_add_test(tc, test_lifecycle_stop_graceful);
    tcase_add_test(tc, test_lifecycle_owned_and_detached);
    tcase_add_test(tc, test_lifecycle_owner_liveness);
    tcase_add_test(tc, test_lifecycle_stopped_actor_comes_back);
    tcase_add_test(tc, test_lifecycle_node_lost);
    tcase_add_test(tc, test_lifecycle_returning_node_yields);
    tcase_add_test(tc, test_lifecycle_events);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return itest_run(lifecycle_suite());
}
