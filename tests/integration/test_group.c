/* tests/integration/test_group.c - group addresses: several chaos processes
 * serve one address (schemas/PROTOCOL.md, "Groups").
 * SPDX-License-Identifier: MIT
 *
 * Real processes: the broker and chaos actors started with --group. The
 * members are found through LOOKUP's "members" list (their pids), and a
 * call reaches a member known by its answer to "pid".
 */
#include "itest.h"
#include "suptest.h"

#include <signal.h>
#include <sys/wait.h>

#include <zmq.h>

#include <actors-internal/wire.h>

#define S_MAX_MEMBERS 8

/* A LOOKUP of a group, read. */
typedef struct {
    bool found;                      /* LOOKUP answered */
    bool group;                      /* "group": true */
    char state[32];                  /* "running", "dead" */
    int n;                           /* members */
    int64_t pid[S_MAX_MEMBERS];      /* each member's pid */
    int64_t inflight[S_MAX_MEMBERS]; /* and messages outstanding */
    int64_t handled[S_MAX_MEMBERS];  /* and handled */
} s_group_t;

static int64_t
s_map_int(const msgpack_object *map, const char *key)
{
    const msgpack_object *v = actors_map_get(map, key);
    int64_t out = -1;
    if (v != NULL) {
        (void)actors_value_int(v, &out);
    }
    return out;
}

/* s_lookup asks the broker about the group at address. */
static s_group_t
s_lookup(const char *address)
{
    s_group_t g;
    memset(&g, 0, sizeof g);
    actors_future_t *f = NULL;
    TEST_ASSERT_OK(actors_client_lookup(g_client, address, &f));
    if (actors_future_wait(f, ITEST_WAIT_MS) != ACTORS_OK ||
        actors_future_error(f) != NULL) {
        actors_future_destroy(&f);
        return g;
    }
    const msgpack_object *r = actors_future_result(f);
    g.found = true;
    const msgpack_object *v = actors_map_get(r, "group");
    g.group = v != NULL && v->type == MSGPACK_OBJECT_BOOLEAN && v->via.boolean;
    v = actors_map_get(r, "state");
    const char *sp;
    size_t sn;
    if (v != NULL && actors_value_str(v, &sp, &sn) == ACTORS_OK) {
        snprintf(g.state, sizeof g.state, "%.*s", (int)sn, sp);
    }
    v = actors_map_get(r, "members");
    if (v != NULL && v->type == MSGPACK_OBJECT_ARRAY) {
        for (uint32_t i = 0; i < v->via.array.size && g.n < S_MAX_MEMBERS;
             i++) {
            const msgpack_object *m = &v->via.array.ptr[i];
            g.pid[g.n] = s_map_int(m, "pid");
            g.inflight[g.n] = s_map_int(m, "inflight");
            g.handled[g.n] = s_map_int(m, "handled");
            ck_assert_msg(actors_map_get(m, "node") != NULL &&
                              actors_map_get(m, "credit") != NULL,
                "a member lacks node or credit");
            g.n++;
        }
    }
    actors_future_destroy(&f);
    return g;
}

typedef struct {
    const char *address;
    int members;
} s_members_t;

static bool
s_has_members(void *arg)
{
    s_members_t *w = arg;
    s_group_t g = s_lookup(w->address);
    return g.found && g.group && g.n == w->members &&
           strcmp(g.state, "running") == 0;
}

/* s_start starts n chaos members of the group at address (prefetch as
 * testutil_service_start; extra: one more option or NULL) and waits
 * until LOOKUP lists them all. */
static void
s_start(testutil_proc_t **procs, int n, const char *address, int prefetch,
    const char *extra, const char *extra_value)
{
    for (int i = 0; i < n; i++) {
        procs[i] = testutil_service_spawn(
            0, "chaos", address, prefetch, "--group", extra, extra_value, NULL);
        ck_assert_ptr_nonnull(procs[i]);
        /* One by one: each joins before the next starts. */
        s_members_t w = {address, i + 1};
        ck_assert_msg(testutil_wait_until(s_has_members, &w, ITEST_WAIT_MS),
            "member %d of %s never joined", i + 1, address);
    }
}

/* s_pid_of calls "pid" with opts and returns the answer. */
static int64_t
s_pid_call(const char *address, const char *route)
{
    actors_call_opts_t opts = ACTORS_CALL_OPTS_INIT;
    opts.route = route;
    opts.route_len = route ? strlen(route) : 0;
    actors_future_t *f = NULL;
    TEST_ASSERT_OK(
        actors_client_call(g_client, address, "pid", NULL, &opts, &f));
    TEST_ASSERT_OK(actors_future_wait(f, ITEST_WAIT_MS));
    int64_t pid = itest_int(f);
    actors_future_destroy(&f);
    return pid;
}

/* Calls spread over the members: pipelined calls go to every member, and
 * four slow calls run at once on four members (an idle member first). */
START_TEST(test_group_distribution)
{
    testutil_broker_start(NULL);
    itest_connect();
    testutil_proc_t *p[4];
    s_start(p, 4, "grp/d", 0, NULL, NULL);
    enum { N = 40 };
    actors_future_t *fs[N];
    for (int i = 0; i < N; i++) {
        fs[i] = itest_send(g_client, "grp/d", "pid", 0, "");
    }
    TEST_ASSERT_OK(actors_future_wait_all(fs, N, ITEST_WAIT_MS));
    int count[4] = {0};
    for (int i = 0; i < N; i++) {
        int64_t pid = itest_int(fs[i]);
        int k = 0;
        while (k < 4 && (pid_t)pid != p[k]->pid) {
            k++;
        }
        ck_assert_msg(k < 4, "answer from pid %lld, no member", (long long)pid);
        count[k]++;
        actors_future_destroy(&fs[i]);
    }
    for (int k = 0; k < 4; k++) {
        ck_assert_msg(
            count[k] >= N / 8, "member %d got %d of %d calls", k, count[k], N);
    }
    /* Four sleeps of 600 ms on four members take about 600 ms, not 2.4 s:
     * each goes to an idle member. */
    int64_t t0 = testutil_now_ms();
    for (int i = 0; i < 4; i++) {
        fs[i] = itest_send(g_client, "grp/d", "sleep", 0, "i", 600);
    }
    TEST_ASSERT_OK(actors_future_wait_all(fs, 4, ITEST_WAIT_MS));
    int64_t took = testutil_now_ms() - t0;
    for (int i = 0; i < 4; i++) {
        TEST_ASSERT_OK(itest_code(fs[i]));
        actors_future_destroy(&fs[i]);
    }
    ck_assert_msg(took < 1800, "4 sleeps of 600 ms took %lld ms on 4 members",
        (long long)took);
}
END_TEST

typedef struct {
    const char *address;
    int busy; /* members with a message outstanding, wanted */
} s_busy_t;

static bool
s_busy_is(void *arg)
{
    s_busy_t *w = arg;
    s_group_t g = s_lookup(w->address);
    int busy = 0;
    for (int i = 0; i < g.n; i++) {
        busy += g.inflight[i] > 0;
    }
    return busy == w->busy;
}

/* While one member is busy, a call goes to the idle one, at once. */
START_TEST(test_group_idle_member_first)
{
    testutil_broker_start(NULL);
    itest_connect();
    testutil_proc_t *p[2];
    s_start(p, 2, "grp/i", 0, NULL, NULL);
    for (int round = 0; round < 3; round++) {
        actors_future_t *slow =
            itest_send(g_client, "grp/i", "sleep", 0, "i", 3000);
        s_busy_t w = {"grp/i", 1};
        int64_t deadline = testutil_now_ms() + ITEST_WAIT_MS;
        while (!s_busy_is(&w) && testutil_now_ms() < deadline) {
            actors_client_poll(g_client, 10); /* poll until the deadline */
        }
        ck_assert_msg(s_busy_is(&w), "the sleep never went out");
        int64_t t0 = testutil_now_ms();
        int64_t pid = s_pid_call("grp/i", NULL);
        ck_assert_msg(testutil_now_ms() - t0 < 2000,
            "the call waited %lld ms behind the busy member",
            (long long)(testutil_now_ms() - t0));
        ck_assert(pid == p[0]->pid || pid == p[1]->pid);
        TEST_ASSERT_OK(actors_future_wait(slow, ITEST_WAIT_MS));
        TEST_ASSERT_OK(itest_code(slow));
        actors_future_destroy(&slow);
    }
}
END_TEST

typedef struct {
    const char *address;
    int64_t each; /* handled by every member, wanted */
} s_handled_t;

static bool
s_handled_is(void *arg)
{
    s_handled_t *w = arg;
    s_group_t g = s_lookup(w->address);
    if (g.n == 0) {
        return false;
    }
    for (int i = 0; i < g.n; i++) {
        if (g.handled[i] != w->each) {
            return false;
        }
    }
    return true;
}

/* A broadcast tell reaches every member; a plain tell reaches one. */
START_TEST(test_group_broadcast)
{
    testutil_broker_start(NULL);
    itest_connect();
    testutil_proc_t *p[3];
    /* Prefetch 2: each tell is credited at once, so "handled" moves. */
    s_start(p, 3, "grp/b", 2, NULL, NULL);
    actors_msg_t *args = NULL;
    TEST_ASSERT_OK(actors_msg_build(&args, "[i]", 1));
    actors_future_t *ack = NULL;
    TEST_ASSERT_OK(
        actors_client_broadcast(g_client, "grp/b", "echo", &args, &ack));
    TEST_ASSERT_OK(actors_future_wait(ack, ITEST_WAIT_MS));
    TEST_ASSERT_OK(itest_code(ack));
    actors_future_destroy(&ack);
    s_handled_t w = {"grp/b", 1};
    ck_assert_msg(testutil_wait_until(s_handled_is, &w, ITEST_WAIT_MS),
        "the broadcast did not reach every member once");
    /* Without an ack too. */
    TEST_ASSERT_OK(actors_msg_build(&args, "[i]", 2));
    TEST_ASSERT_OK(
        actors_client_broadcast(g_client, "grp/b", "echo", &args, NULL));
    w.each = 2;
    ck_assert_msg(testutil_wait_until(s_handled_is, &w, ITEST_WAIT_MS),
        "the second broadcast did not reach every member once");
    /* A plain tell goes to one member: 7 handled in all. */
    TEST_ASSERT_OK(actors_msg_build(&args, "[i]", 3));
    TEST_ASSERT_OK(
        actors_client_tell_ack(g_client, "grp/b", "echo", &args, &ack));
    TEST_ASSERT_OK(actors_future_wait(ack, ITEST_WAIT_MS));
    actors_future_destroy(&ack);
    int64_t deadline = testutil_now_ms() + ITEST_WAIT_MS;
    int64_t total = 0;
    while (testutil_now_ms() < deadline) {
        s_group_t g = s_lookup("grp/b");
        total = 0;
        for (int i = 0; i < g.n; i++) {
            total += g.handled[i];
        }
        if (total == 7) {
            break;
        }
        testutil_poll_pause_ms(20); /* poll until the deadline */
    }
    ck_assert_msg(total == 7, "handled %lld messages, not 7", (long long)total);
}
END_TEST

/* Calls with the same routing key go to the same member; keys spread. */
START_TEST(test_group_key_affinity)
{
    testutil_broker_start(NULL);
    itest_connect();
    testutil_proc_t *p[4];
    s_start(p, 4, "grp/k", 0, NULL, NULL);
    int64_t first[16];
    char key[32];
    for (int round = 0; round < 3; round++) {
        for (int k = 0; k < 16; k++) {
            snprintf(key, sizeof key, "user-%d", k);
            int64_t pid = s_pid_call("grp/k", key);
            if (round == 0) {
                first[k] = pid;
            } else {
                ck_assert_msg(pid == first[k],
                    "key %s went to %lld, before to %lld", key, (long long)pid,
                    (long long)first[k]);
            }
        }
    }
    int distinct = 0;
    for (int k = 0; k < 16; k++) {
        bool seen = false;
        for (int j = 0; j < k; j++) {
            seen = seen || first[j] == first[k];
        }
        distinct += !seen;
    }
    ck_assert_msg(distinct >= 2, "16 keys all went to %d member(s)", distinct);
    /* A member leaving moves only its own keys. */
    pid_t gone = p[0]->pid;
    testutil_proc_kill(p[0], SIGKILL);
    s_members_t w = {"grp/k", 3};
    ck_assert(testutil_wait_until(s_has_members, &w, ITEST_WAIT_MS));
    for (int k = 0; k < 16; k++) {
        snprintf(key, sizeof key, "user-%d", k);
        int64_t pid = s_pid_call("grp/k", key);
        ck_assert(pid != gone);
        if (first[k] != gone) {
            ck_assert_msg(pid == first[k], "key %s moved from %lld to %lld",
                key, (long long)first[k], (long long)pid);
        }
    }
}
END_TEST

/* s_busy_member waits until one member has a call in flight and returns
 * its index in procs. */
static int
s_busy_member(testutil_proc_t **procs, int n, const char *address)
{
    int64_t deadline = testutil_now_ms() + ITEST_WAIT_MS;
    while (testutil_now_ms() < deadline) {
        actors_client_poll(g_client, 10); /* poll until the deadline */
        s_group_t g = s_lookup(address);
        for (int i = 0; i < g.n; i++) {
            if (g.inflight[i] > 0) {
                for (int k = 0; k < n; k++) {
                    if (procs[k]->pid == (pid_t)g.pid[i]) {
                        return k;
                    }
                }
            }
        }
    }
    ck_abort_msg("no member of %s ever had a call in flight", address);
    return -1;
}

/* A member SIGKILLed mid-call, no retries: that call gets ActorCrashed; a
 * keyed call queued behind it moves to the other member; the group lives
 * on while one member does, and is dead when none is left. */
START_TEST(test_group_member_killed_no_retry)
{
    testutil_broker_start(NULL);
    itest_connect();
    testutil_proc_t *p[2];
    s_start(p, 2, "grp/c", 1, NULL, NULL);
    /* Find the key that goes to member 0 with a quick call. */
    char key[32] = "";
    for (int k = 0; k < 64; k++) {
        snprintf(key, sizeof key, "k%d", k);
        if (s_pid_call("grp/c", key) == p[0]->pid) {
            break;
        }
    }
    ck_assert_int_eq(s_pid_call("grp/c", key), p[0]->pid);
    actors_call_opts_t opts = ACTORS_CALL_OPTS_INIT;
    opts.route = key;
    opts.route_len = strlen(key);
    actors_future_t *slow = NULL;
    actors_future_t *queued = NULL;
    TEST_ASSERT_OK(actors_client_call_fmt(
        g_client, "grp/c", "sleep", &opts, &slow, "i", 5000));
    ck_assert_int_eq(s_busy_member(p, 2, "grp/c"), 0);
    /* Prefetch 1: this one waits in member 0's own mailbox. */
    TEST_ASSERT_OK(
        actors_client_call(g_client, "grp/c", "pid", NULL, &opts, &queued));
    /* The broker shows it waiting: the group's mailbox count is the
     * members' own mailboxes and its own. */
    int64_t deadline = testutil_now_ms() + ITEST_WAIT_MS;
    int64_t waiting = 0;
    while (waiting != 1 && testutil_now_ms() < deadline) {
        actors_client_poll(g_client, 10); /* poll until the deadline */
        char state[32];
        (void)testutil_lookup_state(
            "grp/c", state, sizeof state, NULL, &waiting, NULL);
    }
    ck_assert_int_eq(waiting, 1);
    ck_assert(!actors_future_is_ready(queued));
    testutil_proc_kill(p[0], SIGKILL);
    actors_future_t *fs[2] = {slow, queued};
    TEST_ASSERT_OK(actors_future_wait_all(fs, 2, ITEST_WAIT_MS));
    itest_assert_error(slow, ACTORS_ECRASHED, "ActorCrashed", "grp/c");
    TEST_ASSERT_OK(itest_code(queued));
    ck_assert_int_eq(itest_int(queued), p[1]->pid);
    actors_future_destroy(&slow);
    actors_future_destroy(&queued);
    /* Alive while one member is. */
    ck_assert_int_eq(s_pid_call("grp/c", NULL), p[1]->pid);
    s_group_t g = s_lookup("grp/c");
    ck_assert_int_eq(g.n, 1);
    ck_assert_str_eq(g.state, "running");
    /* The last member gone: the group is dead. */
    testutil_proc_kill(p[1], SIGKILL);
    ck_assert(testutil_wait_state("grp/c", "dead", 0, ITEST_WAIT_MS));
    actors_future_t *f = itest_call("grp/c", "pid", "");
    itest_assert_error(f, ACTORS_EDEAD, "ActorDead", NULL);
    actors_future_destroy(&f);
}
END_TEST

/* With max_task_retries, the call of a member SIGKILLed mid-call runs again
 * on another member; the calls waiting in the group's mailbox go on. */
START_TEST(test_group_member_killed_retry)
{
    testutil_broker_start(NULL);
    itest_connect();
    testutil_proc_t *p[2];
    s_start(p, 2, "grp/r", 1, "--max-task-retries", "1");
    actors_future_t *a = itest_send(g_client, "grp/r", "sleep", 0, "i", 4000);
    int victim = s_busy_member(p, 2, "grp/r");
    actors_future_t *b = itest_send(g_client, "grp/r", "sleep", 0, "i", 300);
    s_busy_t w = {"grp/r", 2};
    int64_t deadline = testutil_now_ms() + ITEST_WAIT_MS;
    while (!s_busy_is(&w) && testutil_now_ms() < deadline) {
        actors_client_poll(g_client, 10); /* poll until the deadline */
    }
    ck_assert(s_busy_is(&w));
    /* Both busy (prefetch 1): this one waits in the group's mailbox. */
    actors_future_t *c = itest_send(g_client, "grp/r", "pid", 0, "");
    testutil_proc_kill(p[victim], SIGKILL);
    actors_future_t *fs[3] = {a, b, c};
    TEST_ASSERT_OK(actors_future_wait_all(fs, 3, 3 * ITEST_WAIT_MS));
    ck_assert_msg(
        itest_code(a) == ACTORS_OK, "the killed call: %s", itest_describe(a));
    TEST_ASSERT_OK(itest_code(b));
    TEST_ASSERT_OK(itest_code(c));
    ck_assert_int_eq(itest_int(c), p[1 - victim]->pid);
    for (int i = 0; i < 3; i++) {
        actors_future_destroy(&fs[i]);
    }
}
END_TEST

/* A plain REGISTER of a group's address is NameTaken, and so is a group
 * member's REGISTER of a single actor's address. */
START_TEST(test_group_name_taken)
{
    testutil_broker_start(NULL);
    itest_connect();
    testutil_proc_t *p[1];
    s_start(p, 1, "grp/t", 0, NULL, NULL);
    testutil_proc_t *plain =
        testutil_service_spawn(0, "chaos", "grp/t", 0, NULL);
    int status = 0;
    ck_assert(testutil_proc_wait(plain, 3 * ITEST_WAIT_MS, &status));
    ck_assert_int_eq(testutil_proc_exit_code(plain), ACTORS_EXIT_NAME_TAKEN);

    testutil_service_start("chaos", "single/t", 0, NULL);
    testutil_proc_t *member =
        testutil_service_spawn(0, "chaos", "single/t", 0, "--group", NULL);
    ck_assert(testutil_proc_wait(member, 3 * ITEST_WAIT_MS, &status));
    ck_assert_int_eq(testutil_proc_exit_code(member), ACTORS_EXIT_NAME_TAKEN);
    s_group_t g = s_lookup("grp/t");
    ck_assert(g.group);
    ck_assert_int_eq(g.n, 1);
    g = s_lookup("single/t");
    ck_assert(!g.group);
}
END_TEST

/* s_raw_call sends a CALL (flags, address of alen bytes, method "pid",
 * args [], then the extra frame if not NULL) on a raw DEALER and returns
 * the ERROR type of the answer ("" for a REPLY). */
static const char *
s_raw_call(void *sock, uint8_t flags, const char *address, size_t alen,
    const char *extra, size_t extra_len)
{
    static char type[64];
    uint8_t hdr[600];
    size_t n = testutil_hdr(hdr, "ACT2", ACTORS_CMD_CALL, 5000, "r1", 2);
    hdr[5] = flags;
    hdr[n++] = (uint8_t)alen;
    memcpy(hdr + n, address, alen);
    n += alen;
    hdr[n++] = 3;
    memcpy(hdr + n, "pid", 3);
    n += 3;
    const void *data[3] = {hdr, "\x90", extra};
    size_t len[3] = {n, 1, extra_len};
    ck_assert_int_eq(testutil_raw_send(sock, extra ? 3 : 2, data, len), 0);
    testutil_raw_msg_t m;
    ck_assert(testutil_raw_recv(sock, ITEST_WAIT_MS, &m));
    type[0] = '\0';
    if (!testutil_raw_error_type(&m, 0, type, sizeof type)) {
        snprintf(type, sizeof type, "%s",
            m.nframes > 0 && m.len[0] > 4 && m.data[0][4] == ACTORS_CMD_REPLY
                ? ""
                : "?");
    }
    testutil_raw_msg_free(&m);
    return type;
}

/* A member's hidden name ("grp/h", a zero byte, "0") is no address; a
 * routing key must be 1..255 bytes; a routed call to a single actor is a
 * plain call. */
START_TEST(test_group_wire_edges)
{
    testutil_broker_start(NULL);
    itest_connect();
    testutil_proc_t *p[1];
    s_start(p, 1, "grp/h", 0, NULL, NULL);
    testutil_service_start("chaos", "single/h", 0, NULL);
    void *sock = testutil_raw_socket(ZMQ_DEALER);
    ck_assert_str_eq(s_raw_call(sock, 0, "grp/h", 5, NULL, 0), "");
    ck_assert_str_eq(s_raw_call(sock, 0,
                         "grp/h\0"
                         "0",
                         7, NULL, 0),
        "NoSuchActor");
    ck_assert_str_eq(s_raw_call(sock, 2, "grp/h", 5, "k", 1), "");
    ck_assert_str_eq(s_raw_call(sock, 2, "grp/h", 5, "", 0), "BadRequest");
    ck_assert_str_eq(s_raw_call(sock, 2, "single/h", 8, "k", 1), "");
    /* LOOKUP of the hidden name. */
    uint8_t hdr[64];
    size_t n = testutil_hdr(hdr, "ACT2", ACTORS_CMD_LOOKUP, 0, "l1", 2);
    const void *data[2] = {hdr, "grp/h\0"
                                "0"};
    size_t len[2] = {n, 7};
    ck_assert_int_eq(testutil_raw_send(sock, 2, data, len), 0);
    testutil_raw_msg_t m;
    ck_assert(testutil_raw_recv(sock, ITEST_WAIT_MS, &m));
    char type[64];
    ck_assert(testutil_raw_error_type(&m, 0, type, sizeof type));
    ck_assert_str_eq(type, "NoSuchActor");
    testutil_raw_msg_free(&m);
    testutil_raw_close(&sock);
}
END_TEST

/* LOOKUP and LIST show the group and its members; a member's hidden name
 * is no address; actorctl ls prints the members. */
START_TEST(test_group_lookup_list)
{
    testutil_broker_start(NULL);
    itest_connect();
    testutil_proc_t *p[2];
    s_start(p, 2, "grp/l", 0, NULL, NULL);
    s_group_t g = s_lookup("grp/l");
    ck_assert(g.group);
    ck_assert_int_eq(g.n, 2);
    ck_assert((g.pid[0] == p[0]->pid && g.pid[1] == p[1]->pid) ||
              (g.pid[0] == p[1]->pid && g.pid[1] == p[0]->pid));
    /* LIST: one entry for the group, none for its members. */
    actors_future_t *f = NULL;
    TEST_ASSERT_OK(actors_client_list(g_client, &f));
    TEST_ASSERT_OK(actors_future_wait(f, ITEST_WAIT_MS));
    const msgpack_object *r = actors_future_result(f);
    ck_assert_int_eq(r->type, MSGPACK_OBJECT_ARRAY);
    ck_assert_int_eq(r->via.array.size, 1);
    const msgpack_object *members =
        actors_map_get(&r->via.array.ptr[0], "members");
    ck_assert_ptr_nonnull(members);
    ck_assert_int_eq(members->via.array.size, 2);
    actors_future_destroy(&f);
    char bin[1024];
    snprintf(bin, sizeof bin, "%s/actorctl", testutil_bin_dir());
    const char *argv[] = {bin, "--broker", testutil_endpoint(), "ls", NULL};
    char out[8192];
    char err[2048];
    int rc =
        testutil_run(argv, ITEST_WAIT_MS, out, sizeof out, err, sizeof err);
    ck_assert_msg(rc == 0, "actorctl ls: %d %s", rc, err);
    char want[64];
    for (int i = 0; i < 2; i++) {
        snprintf(want, sizeof want, "%d", (int)p[i]->pid);
        ck_assert_msg(strstr(out, want) != NULL,
            "actorctl ls does not show member pid %s:\n%s", want, out);
    }
    ck_assert_msg(strstr(out, "grp/l") != NULL, "no group in:\n%s", out);
}
END_TEST

/* s_calls reads the errors and the calls (summed latency_hist) of a
 * LOOKUP map, or of one of its members; the sum of latencies in *sum_us
 * (NULL: not wanted). Absent fields read -1. */
static void
s_calls(
    const msgpack_object *map, int64_t *errors, int64_t *calls, int64_t *sum_us)
{
    *errors = s_map_int(map, "errors");
    if (sum_us != NULL) {
        *sum_us = s_map_int(map, "latency_us_sum");
    }
    *calls = -1;
    const msgpack_object *h = actors_map_get(map, "latency_hist");
    if (h == NULL || h->type != MSGPACK_OBJECT_ARRAY) {
        return;
    }
    ck_assert_int_eq(h->via.array.size, 17);
    *calls = 0;
    for (uint32_t b = 0; b < h->via.array.size; b++) {
        int64_t v = 0;
        TEST_ASSERT_OK(actors_value_int(&h->via.array.ptr[b], &v));
        *calls += v;
    }
}

/* s_check_calls checks the errors and calls that LOOKUP and LIST report
 * for the group at address (the only address), and that its members' add
 * up to no more; returns the group's latency sum from LOOKUP. */
static int64_t
s_check_calls(const char *address, int64_t want_errors, int64_t want_calls)
{
    actors_future_t *f = NULL;
    TEST_ASSERT_OK(actors_client_lookup(g_client, address, &f));
    TEST_ASSERT_OK(actors_future_wait(f, ITEST_WAIT_MS));
    const msgpack_object *r = actors_future_result(f);
    ck_assert_ptr_nonnull(r);
    int64_t errors = 0;
    int64_t calls = 0;
    int64_t sum = 0;
    s_calls(r, &errors, &calls, &sum);
    ck_assert_msg(errors == want_errors && calls == want_calls,
        "LOOKUP %s: errors %lld calls %lld, want %lld and %lld", address,
        (long long)errors, (long long)calls, (long long)want_errors,
        (long long)want_calls);
    const msgpack_object *m = actors_map_get(r, "members");
    ck_assert_ptr_nonnull(m);
    int64_t m_errors = 0;
    int64_t m_calls = 0;
    for (uint32_t i = 0; i < m->via.array.size; i++) {
        int64_t e = 0;
        int64_t c = 0;
        s_calls(&m->via.array.ptr[i], &e, &c, NULL);
        ck_assert_msg(e >= 0 && c >= 0, "member %u has no call counts", i);
        m_errors += e;
        m_calls += c;
    }
    ck_assert_int_le(m_errors, errors);
    ck_assert_int_le(m_calls, calls);
    actors_future_destroy(&f);

    TEST_ASSERT_OK(actors_client_list(g_client, &f));
    TEST_ASSERT_OK(actors_future_wait(f, ITEST_WAIT_MS));
    r = actors_future_result(f);
    ck_assert_int_eq(r->type, MSGPACK_OBJECT_ARRAY);
    ck_assert_int_eq(r->via.array.size, 1);
    s_calls(&r->via.array.ptr[0], &errors, &calls, NULL);
    ck_assert_int_eq(errors, want_errors);
    ck_assert_int_eq(calls, want_calls);
    actors_future_destroy(&f);
    return sum;
}

/* A group reports the errors and latency of the calls made to it, in
 * LOOKUP and LIST, as a single actor does, and each member its own; the
 * counts of a member that goes stay with the group, and a call that
 * times out in the group's mailbox counts too. Before: a group's LOOKUP
 * and LIST had no errors, latency_us_sum or latency_hist. */
START_TEST(test_group_errors_latency)
{
    testutil_broker_start(NULL);
    itest_connect();
    testutil_proc_t *p[2];
    s_start(p, 2, "grp/e", 1, NULL, NULL);
    for (int i = 0; i < 6; i++) {
        actors_future_t *f = itest_call("grp/e", "echo", "i", i);
        TEST_ASSERT_OK(itest_code(f));
        actors_future_destroy(&f);
    }
    for (int i = 0; i < 3; i++) {
        actors_future_t *f = itest_call("grp/e", "fail", "s", "no");
        itest_assert_error(f, ACTORS_EAPP, "ChaosError", NULL);
        actors_future_destroy(&f);
    }
    s_check_calls("grp/e", 3, 9);
    /* Both members busy (prefetch 1): a third call waits in the group's
     * mailbox until its deadline. */
    actors_future_t *a = itest_send(g_client, "grp/e", "sleep", 0, "i", 3000);
    actors_future_t *b = itest_send(g_client, "grp/e", "sleep", 0, "i", 3000);
    s_busy_t w = {"grp/e", 2};
    int64_t deadline = testutil_now_ms() + ITEST_WAIT_MS;
    while (!s_busy_is(&w) && testutil_now_ms() < deadline) {
        actors_client_poll(g_client, 10); /* poll until the deadline */
    }
    ck_assert(s_busy_is(&w));
    actors_call_opts_t opts = ACTORS_CALL_OPTS_INIT;
    opts.timeout_ms = 50;
    actors_future_t *c = NULL;
    TEST_ASSERT_OK(
        actors_client_call(g_client, "grp/e", "pid", NULL, &opts, &c));
    TEST_ASSERT_OK(actors_future_wait(c, ITEST_WAIT_MS));
    ck_assert_int_eq(itest_code(c), ACTORS_ETIMEDOUT);
    actors_future_destroy(&c);
    actors_future_t *fs[2] = {a, b};
    TEST_ASSERT_OK(actors_future_wait_all(fs, 2, 2 * ITEST_WAIT_MS));
    TEST_ASSERT_OK(itest_code(a));
    TEST_ASSERT_OK(itest_code(b));
    actors_future_destroy(&a);
    actors_future_destroy(&b);
    int64_t sum = s_check_calls("grp/e", 4, 12);
    /* Two calls of 3 s and one of 50 ms at least. */
    ck_assert_int_ge(sum, 6050000);
    /* A member goes: its counts stay with the group. */
    testutil_proc_kill(p[0], SIGKILL);
    s_members_t one = {"grp/e", 1};
    ck_assert(testutil_wait_until(s_has_members, &one, ITEST_WAIT_MS));
    ck_assert_int_eq(s_check_calls("grp/e", 4, 12), sum);
}
END_TEST

typedef struct {
    const char *address;
    int members;
    int64_t not_pid; /* no member has this pid; 0: any */
    const char *node;
} s_sup_members_t;

static bool
s_sup_members(void *arg)
{
    s_sup_members_t *w = arg;
    actors_future_t *f = NULL;
    TEST_ASSERT_OK(actors_client_lookup(g_client, w->address, &f));
    bool ok = actors_future_wait(f, ITEST_WAIT_MS) == ACTORS_OK &&
              actors_future_error(f) == NULL;
    const msgpack_object *m =
        ok ? actors_map_get(actors_future_result(f), "members") : NULL;
    ok = m != NULL && m->type == MSGPACK_OBJECT_ARRAY &&
         (int)m->via.array.size == w->members;
    for (uint32_t i = 0; ok && i < m->via.array.size; i++) {
        const msgpack_object *node =
            actors_map_get(&m->via.array.ptr[i], "node");
        ok = s_map_int(&m->via.array.ptr[i], "pid") != w->not_pid &&
             node != NULL && node->type == MSGPACK_OBJECT_STR &&
             node->via.str.size == strlen(w->node) &&
             memcmp(node->via.str.ptr, w->node, node->via.str.size) == 0;
    }
    actors_future_destroy(&f);
    return ok;
}

/* Supervisor config replicas = 3 with group = true: three members of one
 * address on node n1; a member SIGKILLed is restarted and joins again,
 * and its call in flight runs again elsewhere (max_task_retries). */
START_TEST(test_group_supervised_replicas)
{
    testutil_broker_start(NULL);
    itest_connect();
    suptest_node("n1", "actor\n"
                       "    pool\n"
                       "        service = chaos\n"
                       "        address = pool/chaos\n"
                       "        replicas = 3\n"
                       "        group = true\n"
                       "        prefetch = 1\n"
                       "        policy\n"
                       "            max_restarts = -1\n"
                       "            max_task_retries = 1\n");
    s_sup_members_t w = {"pool/chaos", 3, 0, "n1"};
    ck_assert_msg(testutil_wait_until(s_sup_members, &w, SUPTEST_WAIT_MS),
        "three members on n1 never joined pool/chaos");
    actors_future_t *slow =
        itest_send(g_client, "pool/chaos", "sleep", 0, "i", 3000);
    s_group_t g;
    int64_t victim = 0;
    int64_t deadline = testutil_now_ms() + ITEST_WAIT_MS;
    while (victim == 0 && testutil_now_ms() < deadline) {
        actors_client_poll(g_client, 10); /* poll until the deadline */
        g = s_lookup("pool/chaos");
        for (int i = 0; i < g.n; i++) {
            if (g.inflight[i] > 0) {
                victim = g.pid[i];
            }
        }
    }
    ck_assert(victim > 0);
    kill((pid_t)victim, SIGKILL);
    TEST_ASSERT_OK(actors_future_wait(slow, 3 * ITEST_WAIT_MS));
    ck_assert_msg(itest_code(slow) == ACTORS_OK, "the killed call: %s",
        itest_describe(slow));
    actors_future_destroy(&slow);
    w.not_pid = victim;
    ck_assert_msg(testutil_wait_until(s_sup_members, &w, SUPTEST_WAIT_MS),
        "the killed member was not restarted into the group");
}
END_TEST

/* s_actorctl runs actorctl with args (NULL-terminated) against the test's
 * broker; its stdout in out. Returns the exit status. */
static int
s_actorctl(char *out, size_t cap, ...)
{
    char bin[1024];
    snprintf(bin, sizeof bin, "%s/actorctl", testutil_bin_dir());
    const char *argv[16] = {bin, "--broker", testutil_endpoint()};
    int n = 3;
    va_list ap;
    va_start(ap, cap);
    const char *a;
    while ((a = va_arg(ap, const char *)) != NULL && n < 15) {
        argv[n++] = a;
    }
    va_end(ap);
    argv[n] = NULL;
    char err[2048];
    int rc = testutil_run(argv, SUPTEST_WAIT_MS, out, cap, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "actorctl: %s", err);
    }
    return rc;
}

/* actorctl spawn --group starts members of one address on a node; call
 * --route keeps a key on one member; tell --broadcast reaches them all. */
START_TEST(test_group_actorctl_spawn_route_broadcast)
{
    testutil_broker_start(NULL);
    itest_connect();
    suptest_node("n2", NULL);
    char out[4096];
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(s_actorctl(out, sizeof out, "spawn", "--group",
                             "--name", "pool/s", "chaos", NULL),
            0);
        ck_assert_msg(strstr(out, "pool/s") != NULL, "spawn printed %s", out);
    }
    s_sup_members_t w = {"pool/s", 2, 0, "n2"};
    ck_assert_msg(testutil_wait_until(s_sup_members, &w, SUPTEST_WAIT_MS),
        "two spawned members never joined pool/s");
    char first[4096] = "";
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(s_actorctl(out, sizeof out, "call", "--route",
                             "user-7", "pool/s", "pid", NULL),
            0);
        if (i == 0) {
            snprintf(first, sizeof first, "%s", out);
        }
        ck_assert_str_eq(out, first);
    }
    ck_assert_int_eq(s_actorctl(out, sizeof out, "tell", "--broadcast",
                         "pool/s", "echo", "1", NULL),
        0);
    s_handled_t h = {"pool/s", 0};
    /* Each member has handled the broadcast; one of them the four calls
     * too (4 + 1), the other 1. */
    int64_t deadline = testutil_now_ms() + ITEST_WAIT_MS;
    bool ok = false;
    while (!ok && testutil_now_ms() < deadline) {
        s_group_t g = s_lookup(h.address);
        ok = g.n == 2 && ((g.handled[0] == 5 && g.handled[1] == 1) ||
                             (g.handled[0] == 1 && g.handled[1] == 5));
        if (!ok) {
            testutil_poll_pause_ms(20); /* poll until the deadline */
        }
    }
    ck_assert_msg(ok, "the broadcast and the keyed calls were not seen");
    /* A group spawn onto a single actor's address is refused. */
    testutil_service_start("chaos", "single/s", 0, NULL);
    ck_assert_int_eq(s_actorctl(out, sizeof out, "spawn", "--group", "--name",
                         "single/s", "chaos", NULL),
        1);
}
END_TEST

static Suite *
group_suite(void)
{
    Suite *s = suite_create("group");
    TCase *tc = itest_tcase("group", 90);
    tcase_add_test(tc, test_group_distribution);
    tcase_add_test(tc, test_group_idle_member_first);
    tcase_add_test(tc, test_group_broadcast);
    tcase_add_test(tc, test_group_key_affinity);
    tcase_add_test(tc, test_group_member_killed_no_retry);
    tcase_add_test(tc, test_group_member_killed_retry);
    tcase_add_test(tc, test_group_name_taken);
    tcase_add_test(tc, test_group_lookup_list);
    tcase_add_test(tc, test_group_errors_latency);
    tcase_add_test(tc, test_group_wire_edges);
    suite_add_tcase(s, tc);
    TCase *sup = suptest_tcase("group-supervised", 90);
    tcase_add_test(sup, test_group_supervised_replicas);
    tcase_add_test(sup, test_group_actorctl_spawn_route_broadcast);
    suite_add_tcase(s, sup);
    return s;
}

int
main(void)
{
    return itest_run(group_suite());
}
