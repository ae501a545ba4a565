/* tests/integration/test_placement.c - no orphaned actors: nodes that
 * stop gracefully drain, home nodes take their config actors back, and
 * restart counts agree (issue 14, item 1).
 * SPDX-License-Identifier: MIT
 *
 * Real processes: the broker and two or three actors-supervisor nodes on
 * loopback, with config files naming chaos and account actors. Nodes are
 * stopped with SIGTERM (a drain, as `docker compose up --scale` down or a
 * rolling update does), SIGUSR1 (a full stop) or SIGKILL (lost), and the
 * test plays the issue's sequence: a node killed, started again, and the
 * nodes its actors moved to scaled down.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include "suptest.h"

#include <ftw.h>
#include <sys/stat.h>

static char g_state[96]; /* ACTORS_STATE_DIR of the account actors */

static int
s_rm(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void
s_setup(void)
{
    suptest_setup();
    snprintf(g_state, sizeof g_state, "/tmp/actors-place-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(g_state));
    /* The nodes' shared state volume: a node's environment, inherited by
     * its actors. Not the actor's config env: a spawn (a re-placement
     * too) may never set the state location (docs/SUPERVISOR.md). */
    setenv("ACTORS_STATE_DIR", g_state, 1);
}

static void
s_teardown(void)
{
    suptest_teardown();
    nftw(g_state, s_rm, 16, FTW_DEPTH | FTW_PHYS);
}

/* s_wait_log waits until p's stderr contains text. */
static void
s_wait_log(testutil_proc_t *p, const char *text)
{
    int64_t deadline = testutil_now_ms() + SUPTEST_WAIT_MS;
    while (strstr(testutil_proc_stderr(p), text) == NULL) {
        ck_assert_msg(testutil_now_ms() < deadline, "no '%s' in: %s", text,
            testutil_proc_stderr(p));
        testutil_poll_pause_ms(10);
    }
}

/* s_stop_node sends sig to node p and waits until it has exited. */
static void
s_stop_node(testutil_proc_t *p, int sig)
{
    testutil_proc_kill(p, sig);
    int status = 0;
    ck_assert_msg(testutil_proc_wait(p, SUPTEST_WAIT_MS, &status),
        "node did not exit: %s", testutil_proc_stderr(p));
}

static void
s_echo_ok(const char *address, int v)
{
    actors_future_t *f = itest_send(g_client, address, "echo", 0, "i", v);
    suptest_wait(f);
    ck_assert_int_eq(itest_int(f), v);
    actors_future_destroy(&f);
}

static int64_t
s_restarts(const char *address)
{
    actors_future_t *f = suptest_lookup(address);
    ck_assert_ptr_nonnull(f);
    int64_t n = -1;
    actors_value_int(actors_map_get(actors_future_result(f), "restarts"), &n);
    actors_future_destroy(&f);
    return n;
}

static void
s_node_of(const char *address, char *node, size_t len)
{
    suptest_field(address, "node", node, len);
}

/* s_last_event_int returns field key of the last event of kind for
 * address (or for the node, address ""), or -1 if there is none. */
static int64_t
s_last_event_int(const char *address, const char *kind, const char *key)
{
    actors_future_t *ev = suptest_events(0);
    const msgpack_object *r = itest_result(ev);
    int64_t v = -1;
    for (uint32_t i = 0; i < r->via.array.size; i++) {
        const msgpack_object *e = &r->via.array.ptr[i];
        const char *a = NULL;
        const char *k = NULL;
        size_t an = 0;
        size_t kn = 0;
        if (actors_value_str(actors_map_get(e, "address"), &a, &an) ==
                ACTORS_OK &&
            actors_value_str(actors_map_get(e, "kind"), &k, &kn) == ACTORS_OK &&
            an == strlen(address) && memcmp(a, address, an) == 0 &&
            kn == strlen(kind) && memcmp(k, kind, kn) == 0) {
            actors_value_int(actors_map_get(e, key), &v);
        }
    }
    actors_future_destroy(&ev);
    return v;
}

static double
s_balance(const char *address)
{
    actors_future_t *f = itest_call(address, "balance", NULL);
    suptest_wait(f);
    double d = 0;
    ck_assert_int_eq(actors_value_double(itest_result(f), &d), ACTORS_OK);
    actors_future_destroy(&f);
    return d;
}

/* A node stopped with SIGTERM drains: its actors run on the other node,
 * max_restarts 0 ones included, a persistent one with its state, and the
 * move counts no restart. Before: they stayed stopped for good. */
START_TEST(test_placement_sigterm_drains)
{
    char zpl[1024];
    snprintf(zpl, sizeof zpl,
        "actor\n"
        "    ledger\n"
        "        service = account\n"
        "        address = account/ledger\n"
        "        args = [100, 0, \"ledger\"]\n"
        "    once\n"
        "        service = chaos\n"
        "        address = chaos/once\n");
    testutil_broker_start(NULL);
    itest_connect();
    testutil_proc_t *n1 = suptest_node("n1", zpl);
    testutil_proc_t *n2 = suptest_node("n2", NULL);
    int64_t pid = suptest_wait_running("account/ledger", 0);
    int64_t once = suptest_wait_running("chaos/once", 0);
    actors_future_t *f = itest_call("account/ledger", "deposit", "d", 5.0);
    suptest_wait(f);
    itest_result(f);
    actors_future_destroy(&f);
    s_stop_node(n1, SIGTERM);
    ck_assert_int_eq(testutil_proc_exit_code(n1), 0);
    suptest_wait_running("account/ledger", pid);
    suptest_wait_running("chaos/once", once);
    char node[64];
    s_node_of("account/ledger", node, sizeof node);
    ck_assert_str_eq(node, "n2");
    s_node_of("chaos/once", node, sizeof node);
    ck_assert_str_eq(node, "n2");
    ck_assert_double_eq(s_balance("account/ledger"), 105.0);
    s_echo_ok("chaos/once", 3);
    ck_assert_int_eq(s_restarts("chaos/once"), 0);
    ck_assert_int_gt(s_last_event_int("", "node-drain", "ms"), 0);
    ck_assert_int_gt(s_last_event_int("chaos/once", "re-placed", "ms"), 0);
    ck_assert_ptr_nonnull(strstr(testutil_proc_stderr(n2), "SUP-START"));
    ck_assert_ptr_nonnull(strstr(testutil_proc_stderr(n1), "SUP-DRAIN"));
}
END_TEST

/* SIGUSR1 is the explicit full stop: the actors stay stopped, none is
 * re-placed. Before: SIGUSR1 killed the supervisor, whose actors were
 * then re-created as a lost node's. */
START_TEST(test_placement_sigusr1_full_stop)
{
    static const char *zpl = "actor\n"
                             "    full\n"
                             "        service = chaos\n"
                             "        address = chaos/full\n"
                             "        policy\n"
                             "            max_restarts = -1\n";
    testutil_broker_start(NULL);
    itest_connect();
    testutil_proc_t *n1 = suptest_node("n1", zpl);
    testutil_proc_t *n2 = suptest_node("n2", NULL);
    suptest_wait_running("chaos/full", 0);
    s_stop_node(n1, SIGUSR1);
    ck_assert_int_eq(testutil_proc_exit_code(n1), 0);
    ck_assert_ptr_nonnull(strstr(testutil_proc_stderr(n1), "SUP-STOP-ALL"));
    suptest_wait_state("chaos/full", "stopped");
    /* The events of the stop are in; a re-placement would be too. */
    ck_assert_int_gt(s_last_event_int("chaos/full", "stop", "ms"), 0);
    ck_assert_int_eq(s_last_event_int("chaos/full", "re-placed", "ms"), -1);
    ck_assert_ptr_null(strstr(testutil_proc_stderr(n2), "chaos/full"));
    actors_future_t *f = itest_call("chaos/full", "echo", "i", 1);
    itest_assert_error(f, ACTORS_EDEAD, "ActorDead", NULL);
    actors_future_destroy(&f);
}
END_TEST

/* --no-drain makes SIGTERM a full stop too (for an operator who wants
 * the old behaviour). */
START_TEST(test_placement_no_drain_flag)
{
    static const char *zpl = "actor\n"
                             "    nd\n"
                             "        service = chaos\n"
                             "        address = chaos/nd\n"
                             "        policy\n"
                             "            max_restarts = -1\n";
    testutil_broker_start(NULL);
    itest_connect();
    /* suptest_node's config file, then a node of our own with the flag. */
    testutil_proc_t *tmp = suptest_node("tmp", zpl);
    s_stop_node(tmp, SIGUSR1);
    suptest_wait_state("chaos/nd", "stopped");
    char path[128];
    snprintf(path, sizeof path, "%s/node0.cfg", g_supdir);
    const char *argv[] = {"actors-supervisor", "--broker", testutil_endpoint(),
        "--node", "n1", "--config", path, "--no-drain", NULL};
    testutil_proc_t *n1 = testutil_spawn(argv, TESTUTIL_CAPTURE_STDERR);
    ck_assert_ptr_nonnull(n1);
    suptest_node("n2", NULL);
    s_wait_log(n1, "SUP-NODE-REGISTERED");
    suptest_wait_running("chaos/nd", 0);
    s_stop_node(n1, SIGTERM);
    ck_assert_ptr_nonnull(strstr(testutil_proc_stderr(n1), "SUP-STOP-ALL"));
    suptest_wait_state("chaos/nd", "stopped");
    ck_assert_int_eq(s_last_event_int("chaos/nd", "re-placed", "ms"), -1);
}
END_TEST

/* The issue's sequence: the home node is killed (its actors move to the
 * others), started again (it yields: SUP-MOVED), then the node hosting
 * the moved actors is scaled down (SIGTERM): the actors go home and run.
 * Restart counts agree between LOOKUP, the events and the node's log.
 * Before: they stayed dead, "exit code 0". */
START_TEST(test_placement_issue_sequence)
{
    char zpl[1024];
    snprintf(zpl, sizeof zpl,
        "actor\n"
        "    counter\n"
        "        service = chaos\n"
        "        address = chaos/counter\n"
        "        policy\n"
        "            max_restarts = -1\n"
        "    ledger\n"
        "        service = account\n"
        "        address = account/seq\n"
        "        args = [10, 0, \"seq\"]\n"
        "        policy\n"
        "            max_restarts = -1\n");
    testutil_broker_start(NULL);
    itest_connect();
    testutil_proc_t *n1 = suptest_node("home", zpl);
    testutil_proc_t *nodes[2] = {
        suptest_node("n2", NULL), suptest_node("n3", NULL)};
    int64_t pid = suptest_wait_running("chaos/counter", 0);
    int64_t apid = suptest_wait_running("account/seq", 0);
    actors_future_t *f = itest_call("account/seq", "deposit", "d", 1.0);
    suptest_wait(f);
    itest_result(f);
    actors_future_destroy(&f);

    s_stop_node(n1, SIGKILL);
    pid = suptest_wait_running("chaos/counter", pid);
    apid = suptest_wait_running("account/seq", apid);
    ck_assert_int_eq(s_restarts("chaos/counter"), 1);
    ck_assert_int_eq(s_last_event_int("chaos/counter", "start", "restarts"), 1);
    ck_assert_int_gt(s_last_event_int("", "node-lost", "ms"), 0);
    ck_assert_int_gt(s_last_event_int("chaos/counter", "re-placed", "ms"), 0);

    testutil_proc_t *back = suptest_node("home", zpl);
    s_wait_log(back, "SUP-MOVED");
    ck_assert_int_eq(suptest_wait_running("chaos/counter", 0), pid);

    /* Scale down: the nodes that took the actors stop gracefully. */
    for (int i = 0; i < 2; i++) {
        s_stop_node(nodes[i], SIGTERM);
    }
    suptest_wait_running("chaos/counter", pid);
    suptest_wait_running("account/seq", apid);
    char node[64];
    s_node_of("chaos/counter", node, sizeof node);
    ck_assert_str_eq(node, "home");
    s_node_of("account/seq", node, sizeof node);
    ck_assert_str_eq(node, "home");
    s_echo_ok("chaos/counter", 14);
    ck_assert_double_eq(s_balance("account/seq"), 11.0);
    s_wait_log(back, "SUP-RECLAIM");
    /* One restart (the node lost); the drain moved it without one. */
    ck_assert_int_eq(s_restarts("chaos/counter"), 1);
    ck_assert_int_eq(s_last_event_int("chaos/counter", "start", "restarts"), 1);
    ck_assert_ptr_nonnull(strstr(
        testutil_proc_stderr(back), "address=chaos/counter service=chaos"));
    ck_assert_ptr_nonnull(
        strstr(testutil_proc_stderr(back), "restarts=1 its config actor"));
}
END_TEST

/* A moved actor that dies for good where it was moved to (a clean exit
 * there) runs again on its home node, which is up. Before: it stayed
 * dead while the home node idled. */
START_TEST(test_placement_home_reclaims_when_free)
{
    static const char *zpl = "actor\n"
                             "    rc\n"
                             "        service = chaos\n"
                             "        address = chaos/rc\n"
                             "        policy\n"
                             "            max_restarts = -1\n";
    testutil_broker_start(NULL);
    itest_connect();
    testutil_proc_t *n1 = suptest_node("n1", zpl);
    suptest_node("n2", NULL);
    int64_t pid = suptest_wait_running("chaos/rc", 0);
    s_stop_node(n1, SIGKILL);
    pid = suptest_wait_running("chaos/rc", pid);
    testutil_proc_t *back = suptest_node("n1", zpl);
    s_wait_log(back, "SUP-MOVED");
    actors_future_t *f = itest_call("chaos/rc", "exit", "i", 0);
    suptest_wait(f);
    actors_future_destroy(&f);
    suptest_wait_running("chaos/rc", pid);
    char node[64];
    s_node_of("chaos/rc", node, sizeof node);
    ck_assert_str_eq(node, "n1");
    s_echo_ok("chaos/rc", 2);
    ck_assert_int_gt(s_last_event_int("chaos/rc", "reclaimed", "ms"), 0);
}
END_TEST

/* A client's KILL without restart is final: the home node does not
 * bring the actor back behind the client's back. */
START_TEST(test_placement_killed_stays_dead)
{
    static const char *zpl = "actor\n"
                             "    kd\n"
                             "        service = chaos\n"
                             "        address = chaos/kd\n"
                             "        policy\n"
                             "            max_restarts = -1\n";
    testutil_broker_start(NULL);
    itest_connect();
    testutil_proc_t *n1 = suptest_node("n1", zpl);
    suptest_node("n2", NULL);
    int64_t pid = suptest_wait_running("chaos/kd", 0);
    s_stop_node(n1, SIGKILL);
    suptest_wait_running("chaos/kd", pid);
    testutil_proc_t *back = suptest_node("n1", zpl);
    s_wait_log(back, "SUP-MOVED");
    actors_future_t *f = NULL;
    TEST_ASSERT_OK(actors_client_kill(g_client, "chaos/kd", false, &f));
    suptest_wait(f);
    itest_result(f);
    actors_future_destroy(&f);
    suptest_wait_state("chaos/kd", "dead");
    /* The home node heard of it through the broker's events: none is a
     * reclaim, and its log has no second start. */
    ck_assert_int_eq(s_last_event_int("chaos/kd", "reclaimed", "ms"), -1);
    ck_assert_ptr_null(strstr(testutil_proc_stderr(back), "SUP-RECLAIM"));
}
END_TEST

/* spawn --node HOME of an address HOME's config names, while it is
 * stopped, starts the config actor there. Before: NameTaken: the
 * address belongs to this node's config. */
START_TEST(test_placement_spawn_on_home)
{
    static const char *zpl = "actor\n"
                             "    sh\n"
                             "        service = chaos\n"
                             "        address = chaos/sh\n";
    testutil_broker_start(NULL);
    actors_client_t *c = itest_connect();
    testutil_proc_t *n1 = suptest_node("n1", zpl);
    int64_t pid = suptest_wait_running("chaos/sh", 0);
    actors_future_t *f = itest_call("chaos/sh", "exit", "i", 0);
    suptest_wait(f);
    actors_future_destroy(&f);
    suptest_wait_state("chaos/sh", "stopped");
    actors_spawn_opts_t o = ACTORS_SPAWN_OPTS_INIT;
    o.service = "chaos";
    o.name = "chaos/sh";
    o.node = "n1";
    o.detached = true;
    TEST_ASSERT_OK(actors_client_spawn(c, &o, &f));
    suptest_wait(f);
    itest_result(f);
    actors_future_destroy(&f);
    suptest_wait_running("chaos/sh", pid);
    s_echo_ok("chaos/sh", 4);
    ck_assert_ptr_nonnull(strstr(testutil_proc_stderr(n1), "SUP-RECLAIM"));
}
END_TEST

static Suite *
placement_suite(void)
{
    Suite *s = suite_create("placement");
    TCase *tc = tcase_create("placement");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_set_timeout(tc, 90);
    tcase_add_test(tc, test_placement_sigterm_drains);
    tcase_add_test(tc, test_placement_sigusr1_full_stop);
    tcase_add_test(tc, test_placement_no_drain_flag);
    tcase_add_test(tc, test_placement_issue_sequence);
    tcase_add_test(tc, test_placement_home_reclaims_when_free);
    tcase_add_test(tc, test_placement_killed_stays_dead);
    tcase_add_test(tc, test_placement_spawn_on_home);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return itest_run(placement_suite());
}
