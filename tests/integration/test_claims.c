/* tests/integration/test_claims.c - forged claims (issue 10, item 4): a
 * peer that says NODE, STATE, EVENT, REGISTER or answers a relayed
 * request must not take over an address it was not given, whatever it
 * read from LOOKUP.
 * SPDX-License-Identifier: MIT
 *
 * Real processes: the broker (its log captured), the example services,
 * actors-supervisor nodes; the attacker is a raw DEALER that speaks the
 * frames of PROTOCOL.md. Every attack must be refused (Forbidden where
 * the protocol has an answer), logged by the broker (BRK-FORBIDDEN), and
 * change nothing: the victim keeps answering its callers.
 */
#include "suptest.h"

#include <actors-internal/wire.h>

#include <fcntl.h>
#include <zmq.h>

/* ---- frames -------------------------------------------------------------- */

static void
s_pack_str(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str(pk, strlen(s));
    msgpack_pack_str_body(pk, s, strlen(s));
}

/* s_send sends header(cmd, id) [+ address] [+ body] on sock. */
static void
s_send(void *sock, uint8_t cmd, uint32_t timeout_ms, const void *id,
    size_t id_len, const char *address, const msgpack_sbuffer *body)
{
    uint8_t hdr[ACTORS_WIRE_HDR_MAX];
    size_t hlen = testutil_hdr(hdr, "ACT2", cmd, timeout_ms, id, id_len);
    const void *data[3] = {hdr};
    size_t len[3] = {hlen};
    int n = 1;
    if (address != NULL) {
        data[n] = address;
        len[n++] = strlen(address);
    }
    if (body != NULL) {
        data[n] = body->data;
        len[n++] = body->size;
    }
    ck_assert_int_eq(testutil_raw_send(sock, n, data, len), 0);
}

/* s_recv_cmd waits up to timeout_ms for a message on sock that is not a
 * HEARTBEAT; false if none came. */
static bool
s_recv(void *sock, int timeout_ms, testutil_raw_msg_t *m)
{
    int64_t deadline = testutil_now_ms() + timeout_ms;
    for (;;) {
        int64_t left = deadline - testutil_now_ms();
        if (!testutil_raw_recv(sock, left > 0 ? (int)left : 0, m)) {
            return false;
        }
        if (m->nframes >= 1 && m->len[0] >= ACTORS_WIRE_HDR_MIN &&
            m->data[0][4] == ACTORS_CMD_HEARTBEAT) {
            testutil_raw_msg_free(m);
            continue;
        }
        return true;
    }
}

/* s_answer waits for the answer to request id on sock: "" for REPLY, the
 * error type for ERROR. */
static void
s_answer(void *sock, const char *id, char *type, size_t type_len)
{
    testutil_raw_msg_t m;
    for (;;) {
        ck_assert_msg(s_recv(sock, ITEST_WAIT_MS, &m), "no answer to %s", id);
        const uint8_t *rid = NULL;
        size_t n = testutil_hdr_id(m.data[0], m.len[0], &rid);
        if (n == strlen(id) && memcmp(rid, id, n) == 0) {
            break;
        }
        testutil_raw_msg_free(&m);
    }
    type[0] = '\0';
    if (m.data[0][4] == ACTORS_CMD_ERROR) {
        ck_assert(testutil_raw_error_type(&m, 0, type, type_len));
    } else {
        ck_assert_int_eq(m.data[0][4], ACTORS_CMD_REPLY);
    }
    testutil_raw_msg_free(&m);
}

/* s_node says NODE name on sock; returns the answer's type ("" REPLY). */
static const char *
s_node(void *sock, const char *name)
{
    static char type[64];
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    s_pack_str(&pk, "node");
    s_pack_str(&pk, name);
    s_pack_str(&pk, "pid");
    msgpack_pack_int64(&pk, getpid());
    s_send(sock, ACTORS_CMD_NODE, 0, "node", 4, NULL, &sb);
    msgpack_sbuffer_destroy(&sb);
    s_answer(sock, "node", type, sizeof type);
    return type;
}

/* s_state sends STATE state for address with pid and claim (NULL: none). */
static void
s_state(void *sock, const char *address, const char *state, int64_t pid,
    const char *claim)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, claim ? 6 : 5);
    s_pack_str(&pk, "state");
    s_pack_str(&pk, state);
    s_pack_str(&pk, "pid");
    msgpack_pack_int64(&pk, pid);
    s_pack_str(&pk, "restarts");
    msgpack_pack_int(&pk, 0);
    s_pack_str(&pk, "cause");
    s_pack_str(&pk, "");
    s_pack_str(&pk, "spec");
    if (strcmp(state, "starting") == 0) {
        msgpack_pack_map(&pk, 2);
        s_pack_str(&pk, "service");
        s_pack_str(&pk, "counter");
        s_pack_str(&pk, "max_restarts");
        msgpack_pack_int(&pk, -1);
    } else {
        msgpack_pack_nil(&pk);
    }
    if (claim != NULL) {
        s_pack_str(&pk, "claim");
        s_pack_str(&pk, claim);
    }
    s_send(sock, ACTORS_CMD_STATE, 0, NULL, 0, address, &sb);
    msgpack_sbuffer_destroy(&sb);
}

/* s_register sends REGISTER address with pid and claim (NULL: none) and
 * returns the answer's type ("" for REPLY). */
static const char *
s_register(void *sock, const char *address, int64_t pid, const char *claim)
{
    static char type[64];
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, claim ? 3 : 2);
    s_pack_str(&pk, "service");
    s_pack_str(&pk, "counter");
    s_pack_str(&pk, "pid");
    msgpack_pack_int64(&pk, pid);
    if (claim != NULL) {
        s_pack_str(&pk, "claim");
        s_pack_str(&pk, claim);
    }
    s_send(sock, ACTORS_CMD_REGISTER, 0, "reg", 3, address, &sb);
    msgpack_sbuffer_destroy(&sb);
    s_answer(sock, "reg", type, sizeof type);
    return type;
}

/* s_event sends EVENT kind for address. */
static void
s_event(void *sock, const char *address, const char *kind)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 4);
    s_pack_str(&pk, "id");
    msgpack_pack_int(&pk, 1);
    s_pack_str(&pk, "kind");
    s_pack_str(&pk, kind);
    s_pack_str(&pk, "address");
    s_pack_str(&pk, address);
    s_pack_str(&pk, "cause");
    s_pack_str(&pk, "forged");
    s_send(sock, ACTORS_CMD_EVENT, 0, NULL, 0, NULL, &sb);
    msgpack_sbuffer_destroy(&sb);
}

/* s_reply_int answers request id (len bytes) with the integer v. */
static void
s_reply_body(void *sock, uint8_t cmd, const void *id, size_t id_len,
    const msgpack_sbuffer *sb)
{
    s_send(sock, cmd, 0, id, id_len, NULL, sb);
}

/* ---- the broker's log ---------------------------------------------------- */

static testutil_proc_t *g_broker;
static char g_log[64]; /* the broker's stderr, a file */

/* s_broker_start starts the broker (extra arguments arg..., NULL ended)
 * with its stderr in g_log: the test's own stderr is pointed there while
 * the broker starts, and it inherits it. */
static void
s_broker_start(const char *arg, const char *value)
{
    int fd;
    if (g_log[0] == '\0') {
        snprintf(g_log, sizeof g_log, "/tmp/actors-claims-log.XXXXXX");
        fd = mkstemp(g_log);
    } else {
        fd = open(g_log, O_WRONLY | O_APPEND);
    }
    ck_assert_int_ge(fd, 0);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    ck_assert_int_ge(saved, 0);
    dup2(fd, STDERR_FILENO);
    close(fd);
    /* Warnings only: the log stays short, and the refusals are there. */
    setenv("ACTORS_LOG_LEVEL", "warn", 1);
    g_broker = testutil_broker_start(arg, value, NULL);
    unsetenv("ACTORS_LOG_LEVEL");
    dup2(saved, STDERR_FILENO);
    close(saved);
}

static void
s_broker(void)
{
    g_log[0] = '\0';
    s_broker_start(NULL, NULL);
    itest_connect();
}

/* s_log_teardown removes the log (a checked fixture's teardown). */
static void
s_log_teardown(void)
{
    if (g_log[0] != '\0') {
        unlink(g_log);
    }
}

/* s_log reads the broker's log (its first 64 KiB); static storage. */
static const char *
s_log(void)
{
    static char buf[65536];
    buf[0] = '\0';
    FILE *f = fopen(g_log, "r");
    if (f != NULL) {
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        buf[n] = '\0';
        fclose(f);
    }
    return buf;
}

/* s_count counts the lines of the broker's log with all of a, b. */
static int
s_count(const char *a, const char *b)
{
    const char *log = s_log();
    int n = 0;
    for (const char *p = log; *p;) {
        const char *end = strchr(p, '\n');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char line[1024];
        snprintf(line, sizeof line, "%.*s", (int)len, p);
        if (strstr(line, a) != NULL && (b == NULL || strstr(line, b) != NULL)) {
            n++;
        }
        p += len + (end ? 1 : 0);
    }
    return n;
}

/* s_wait_logged_n waits until the broker logged n lines with a and b,
 * and checks there are not more. */
static void
s_wait_logged_n(const char *a, const char *b, int n)
{
    int64_t deadline = testutil_now_ms() + ITEST_WAIT_MS;
    while (s_count(a, b) < n) {
        ck_assert_msg(testutil_now_ms() < deadline, "no log line '%s' '%s': %s",
            a, b ? b : "", s_log());
        testutil_poll_pause_ms(10);
    }
    ck_assert_int_eq(s_count(a, b), n);
}

/* s_wait_logged: one line with a and b (one log line per refusal). */
static void
s_wait_logged(const char *a, const char *b)
{
    s_wait_logged_n(a, b, 1);
}

/* s_call_through calls address.method while the attacker on sock answers
 * every CALL it gets with forged; returns the caller's future (resolved).
 * The attacker must get nothing: the check is the caller's result. */
static actors_future_t *
s_call_through(
    void *sock, const char *address, const char *method, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    actors_future_t *f =
        itest_vsend(g_client, address, method, ITEST_WAIT_MS, fmt, ap);
    va_end(ap);
    int64_t deadline = testutil_now_ms() + ITEST_WAIT_MS;
    while (!actors_future_is_ready(f)) {
        ck_assert(testutil_now_ms() < deadline);
        testutil_raw_msg_t m;
        if (s_recv(sock, 0, &m)) {
            if (m.data[0][4] == ACTORS_CMD_CALL) {
                const uint8_t *tag = NULL;
                size_t n = testutil_hdr_id(m.data[0], m.len[0], &tag);
                msgpack_sbuffer sb;
                msgpack_sbuffer_init(&sb);
                msgpack_packer pk;
                msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
                msgpack_pack_int(&pk, -666);
                s_reply_body(sock, ACTORS_CMD_REPLY, tag, n, &sb);
                msgpack_sbuffer_destroy(&sb);
            }
            testutil_raw_msg_free(&m);
        }
        (void)actors_future_wait(f, 10);
    }
    return f;
}

/* ---- item 4, the sequences ----------------------------------------
 */

/* Sequence 1: a plain client says NODE, then STATE stopped for a live
 * actor's address, then REGISTER; the caller's balance must still be the
 * real one. */
START_TEST(test_hijack_stopped_then_register)
{
    s_broker();
    testutil_proc_t *victim =
        testutil_service_start("account", "account/1", 0, "100", "20", NULL);
    void *evil = testutil_raw_socket(ZMQ_DEALER);
    ck_assert_str_eq(s_node(evil, "evil"), "");
    s_state(evil, "account/1", "stopped", 0, NULL);
    s_wait_logged("BRK-FORBIDDEN", "account/1");
    const char *type = s_register(evil, "account/1", 4242, NULL);
    ck_assert_msg(type[0] != '\0', "the attacker registered account/1");
    actors_future_t *f = s_call_through(evil, "account/1", "balance", NULL);
    ck_assert_double_eq_tol(itest_double(f), 100.0, 1e-9);
    actors_future_destroy(&f);
    char state[32];
    int64_t pid = suptest_field("account/1", "state", state, sizeof state);
    ck_assert_str_eq(state, "running");
    ck_assert_int_eq(pid, victim->pid);
    testutil_raw_close(&evil);
}
END_TEST

/* The same, with the victim's pid read from LOOKUP: STATE starting (to be
 * "adopted"), STATE stopped, REGISTER. */
START_TEST(test_hijack_adopt_stop_register)
{
    s_broker();
    testutil_proc_t *victim =
        testutil_service_start("account", "account/1", 0, "100", "20", NULL);
    char state[32];
    int64_t pid = suptest_field("account/1", "state", state, sizeof state);
    ck_assert_int_eq(pid, victim->pid);
    void *evil = testutil_raw_socket(ZMQ_DEALER);
    ck_assert_str_eq(s_node(evil, "evil"), "");
    s_state(evil, "account/1", "starting", pid, NULL);
    s_wait_logged("BRK-FORBIDDEN", "state=starting");
    s_state(evil, "account/1", "stopped", pid, NULL);
    s_wait_logged("BRK-FORBIDDEN", "state=stopped");
    const char *type = s_register(evil, "account/1", pid, NULL);
    ck_assert_msg(type[0] != '\0', "the attacker registered account/1");
    actors_future_t *f = s_call_through(evil, "account/1", "balance", NULL);
    ck_assert_double_eq_tol(itest_double(f), 100.0, 1e-9);
    actors_future_destroy(&f);
    suptest_field("account/1", "node", state, sizeof state);
    ck_assert_str_eq(state, ""); /* not the attacker's node */
    testutil_raw_close(&evil);
}
END_TEST

/* Sequence 2: a supervised actor; STATE starting with its pid, STATE
 * restarting, REGISTER: the caller's increment must reach the real
 * counter, not the attacker's -666. */
START_TEST(test_hijack_supervised)
{
    s_broker();
    suptest_node("n1", "actor\n"
                       "    counter\n"
                       "        service = counter\n"
                       "        address = counter/1\n"
                       "        policy\n"
                       "            max_restarts = -1\n");
    int64_t pid = suptest_wait_running("counter/1", 0);
    void *evil = testutil_raw_socket(ZMQ_DEALER);
    ck_assert_str_eq(s_node(evil, "evil"), "");
    s_state(evil, "counter/1", "starting", pid, NULL);
    s_state(evil, "counter/1", "restarting", pid, NULL);
    s_wait_logged("BRK-FORBIDDEN", "state=restarting");
    const char *type = s_register(evil, "counter/1", pid, NULL);
    ck_assert_msg(type[0] != '\0', "the attacker registered counter/1");
    actors_future_t *f = s_call_through(evil, "counter/1", "increment", NULL);
    ck_assert_int_eq(itest_int(f), 1);
    actors_future_destroy(&f);
    char buf[32];
    ck_assert_int_eq(suptest_field("counter/1", "state", buf, sizeof buf), pid);
    ck_assert_str_eq(buf, "running");
    suptest_field("counter/1", "node", buf, sizeof buf);
    ck_assert_str_eq(buf, "n1");
    testutil_raw_close(&evil);
}
END_TEST

/* An address waiting for its node's process (starting) is registered only
 * by the process that shows the node's claim; another node cannot report
 * it either. */
START_TEST(test_register_held_needs_claim)
{
    s_broker();
    void *n2 = testutil_raw_socket(ZMQ_DEALER);
    ck_assert_str_eq(s_node(n2, "n2"), "");
    const char *claim = "00112233445566778899aabbccddeeff";
    s_state(n2, "x/1", "starting", 777, claim);
    suptest_wait_state("x/1", "starting");
    void *evil = testutil_raw_socket(ZMQ_DEALER);
    ck_assert_str_eq(s_register(evil, "x/1", 777, NULL), "Forbidden");
    ck_assert_str_eq(s_register(evil, "x/1", 777, "0011"), "Forbidden");
    ck_assert_int_eq(s_count("BRK-FORBIDDEN", "address=x/1"), 2);
    /* A second node cannot take it over either. */
    void *n3 = testutil_raw_socket(ZMQ_DEALER);
    ck_assert_str_eq(s_node(n3, "n3"), "");
    s_state(n3, "x/1", "starting", 778, "ffffffffffffffffffffffffffffffff");
    s_wait_logged("BRK-FORBIDDEN", "node=n3");
    char buf[32];
    ck_assert_int_eq(suptest_field("x/1", "node", buf, sizeof buf), 777);
    ck_assert_str_eq(buf, "n2");
    /* The node's own process registers. */
    void *actor = testutil_raw_socket(ZMQ_DEALER);
    ck_assert_str_eq(s_register(actor, "x/1", 777, claim), "");
    suptest_wait_state("x/1", "running");
    testutil_raw_close(&actor);
    testutil_raw_close(&n3);
    testutil_raw_close(&evil);
    testutil_raw_close(&n2);
}
END_TEST

/* A supervised actor that unregisters (on SIGTERM, e.g. when its node
 * restarts its group) leaves a tombstone its node may fill again: until
 * the node's STATE says, only the node's process may register it. */
START_TEST(test_unregistered_awaits_its_node)
{
    s_broker();
    void *n2 = testutil_raw_socket(ZMQ_DEALER);
    ck_assert_str_eq(s_node(n2, "n2"), "");
    const char *claim = "0123456789abcdef0123456789abcdef";
    s_state(n2, "x/5", "starting", 555, claim);
    suptest_wait_state("x/5", "starting");
    void *actor = testutil_raw_socket(ZMQ_DEALER);
    ck_assert_str_eq(s_register(actor, "x/5", 555, claim), "");
    s_send(actor, ACTORS_CMD_UNREGISTER, 0, NULL, 0, "x/5", NULL);
    suptest_wait_state("x/5", "dead");
    void *evil = testutil_raw_socket(ZMQ_DEALER);
    ck_assert_str_eq(s_register(evil, "x/5", 666, NULL), "Forbidden");
    /* The node restarts it: its process registers. */
    s_state(n2, "x/5", "restarting", 0, claim);
    suptest_wait_state("x/5", "restarting");
    ck_assert_str_eq(s_register(evil, "x/5", 666, NULL), "Forbidden");
    ck_assert_str_eq(s_register(actor, "x/5", 556, claim), "");
    suptest_wait_state("x/5", "running");
    /* Stopped for good, as the node says: the address is free. */
    s_send(actor, ACTORS_CMD_UNREGISTER, 0, NULL, 0, "x/5", NULL);
    s_state(n2, "x/5", "stopped", 556, claim);
    suptest_wait_state("x/5", "stopped");
    ck_assert_str_eq(s_register(evil, "x/5", 666, NULL), "");
    testutil_raw_close(&evil);
    testutil_raw_close(&actor);
    testutil_raw_close(&n2);
}
END_TEST

/* A node's STATE about an address no one holds places it (that is how a
 * node's config actors are placed, and any peer may REGISTER a free
 * address too); but not a tombstone whose supervised actor unregistered
 * and whose node may start it again: another node's STATE starting is
 * dropped, and the first node's process still registers it. */
START_TEST(test_state_cannot_take_awaited)
{
    s_broker();
    void *n2 = testutil_raw_socket(ZMQ_DEALER);
    ck_assert_str_eq(s_node(n2, "n2"), "");
    const char *claim = "0123456789abcdef0123456789abcdef";
    s_state(n2, "x/6", "starting", 555, claim);
    suptest_wait_state("x/6", "starting");
    void *actor = testutil_raw_socket(ZMQ_DEALER);
    ck_assert_str_eq(s_register(actor, "x/6", 555, claim), "");
    s_send(actor, ACTORS_CMD_UNREGISTER, 0, NULL, 0, "x/6", NULL);
    suptest_wait_state("x/6", "dead");
    void *n3 = testutil_raw_socket(ZMQ_DEALER);
    ck_assert_str_eq(s_node(n3, "n3"), "");
    const char *other = "ffffffffffffffffffffffffffffffff";
    s_state(n3, "x/6", "starting", 666, other);
    s_wait_logged("BRK-FORBIDDEN", "node=n3");
    void *evil = testutil_raw_socket(ZMQ_DEALER);
    ck_assert_str_eq(s_register(evil, "x/6", 666, other), "Forbidden");
    ck_assert_str_eq(s_register(actor, "x/6", 556, claim), "");
    char buf[32];
    ck_assert_int_eq(suptest_field("x/6", "node", buf, sizeof buf), 556);
    ck_assert_str_eq(buf, "n2");
    testutil_raw_close(&evil);
    testutil_raw_close(&n3);
    testutil_raw_close(&actor);
    testutil_raw_close(&n2);
}
END_TEST

/* Relayed requests: only the node a SPAWN or KILL went to answers it; a
 * second NODE cannot take a live node's name; EVENTs about another node's
 * actor are dropped. */
START_TEST(test_node_answers_and_names)
{
    s_broker();
    void *n2 = testutil_raw_socket(ZMQ_DEALER);
    ck_assert_str_eq(s_node(n2, "n2"), "");
    void *evil = testutil_raw_socket(ZMQ_DEALER);
    ck_assert_str_eq(s_node(evil, "n2"), "NameTaken");
    ck_assert_str_eq(s_node(evil, "evil"), "");

    actors_spawn_opts_t o = ACTORS_SPAWN_OPTS_INIT;
    o.service = "counter";
    o.name = "x/2";
    o.node = "n2";
    o.detached = true;
    o.timeout_ms = ITEST_WAIT_MS;
    actors_future_t *sf = NULL;
    TEST_ASSERT_OK(actors_client_spawn(g_client, &o, &sf));
    testutil_raw_msg_t m;
    ck_assert(s_recv(n2, ITEST_WAIT_MS, &m));
    ck_assert_int_eq(m.data[0][4], ACTORS_CMD_SPAWN);
    ck_assert_int_ge(m.nframes, 4);
    uint8_t tag[32];
    const uint8_t *id = NULL;
    size_t tag_len = testutil_hdr_id(m.data[0], m.len[0], &id);
    memcpy(tag, id, tag_len);
    char claim[80];
    ck_assert_uint_lt(m.len[3], sizeof claim);
    memcpy(claim, m.data[3], m.len[3]);
    claim[m.len[3]] = '\0';
    testutil_raw_msg_free(&m);

    /* The wrong node answers the SPAWN, then registers the address. */
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    s_pack_str(&pk, "address");
    s_pack_str(&pk, "x/2");
    s_pack_str(&pk, "pid");
    msgpack_pack_int(&pk, 4242);
    s_reply_body(evil, ACTORS_CMD_REPLY, tag, tag_len, &sb);
    s_wait_logged("BRK-FORBIDDEN", "answer");
    ck_assert_str_eq(s_register(evil, "x/2", 4242, NULL), "Forbidden");
    ck_assert(!actors_future_is_ready(sf));
    /* The right node answers; its process registers with the claim. */
    s_reply_body(n2, ACTORS_CMD_REPLY, tag, tag_len, &sb);
    msgpack_sbuffer_destroy(&sb);
    void *actor = testutil_raw_socket(ZMQ_DEALER);
    ck_assert_str_eq(s_register(actor, "x/2", 5151, claim), "");
    suptest_wait(sf);
    int64_t pid = 0;
    TEST_ASSERT_OK(
        actors_value_int(actors_map_get(itest_result(sf), "pid"), &pid));
    ck_assert_int_eq(pid, 5151);
    actors_future_destroy(&sf);

    /* An EVENT about n2's actor from the other node is not kept. */
    s_event(evil, "x/2", "exit");
    s_wait_logged("BRK-FORBIDDEN", "EVENT");
    actors_future_t *ev = suptest_events(0);
    ck_assert_int_eq(suptest_event_ms(itest_result(ev), "x/2", "exit", 0), -1);
    actors_future_destroy(&ev);

    /* KILL goes to n2; the other node's answer is not the client's. */
    actors_future_t *kf = NULL;
    TEST_ASSERT_OK(actors_client_kill(g_client, "x/2", false, &kf));
    ck_assert(s_recv(n2, ITEST_WAIT_MS, &m));
    ck_assert_int_eq(m.data[0][4], ACTORS_CMD_KILL);
    tag_len = testutil_hdr_id(m.data[0], m.len[0], &id);
    memcpy(tag, id, tag_len);
    testutil_raw_msg_free(&m);
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    s_pack_str(&pk, "address");
    s_pack_str(&pk, "x/2");
    s_pack_str(&pk, "cause");
    s_pack_str(&pk, "forged");
    s_reply_body(evil, ACTORS_CMD_REPLY, tag, tag_len, &sb);
    msgpack_sbuffer_destroy(&sb);
    s_wait_logged_n("BRK-FORBIDDEN", "answer", 2);
    ck_assert_int_eq(actors_future_wait(kf, 0), ACTORS_ETIMEDOUT);
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    s_pack_str(&pk, "address");
    s_pack_str(&pk, "x/2");
    s_pack_str(&pk, "cause");
    s_pack_str(&pk, "signal 9 (SIGKILL)");
    s_reply_body(n2, ACTORS_CMD_REPLY, tag, tag_len, &sb);
    msgpack_sbuffer_destroy(&sb);
    suptest_wait(kf);
    const char *p = NULL;
    size_t n = 0;
    TEST_ASSERT_OK(
        actors_value_str(actors_map_get(itest_result(kf), "cause"), &p, &n));
    ck_assert_int_eq(n, strlen("signal 9 (SIGKILL)"));
    ck_assert_int_eq(memcmp(p, "signal 9 (SIGKILL)", n), 0);
    actors_future_destroy(&kf);
    testutil_raw_close(&actor);
    testutil_raw_close(&evil);
    testutil_raw_close(&n2);
}
END_TEST

/* A call's tag (the id the actor answers with) does not let another peer
 * answer it, registered or not. */
START_TEST(test_tag_answers_only_from_its_actor)
{
    s_broker();
    void *victim = testutil_raw_socket(ZMQ_DEALER);
    ck_assert_str_eq(s_register(victim, "v/1", 1, NULL), "");
    void *evil = testutil_raw_socket(ZMQ_DEALER);
    ck_assert_str_eq(s_register(evil, "evil/1", 2, NULL), "");
    void *plain = testutil_raw_socket(ZMQ_DEALER);
    actors_future_t *f =
        itest_send(g_client, "v/1", "get", ITEST_WAIT_MS, NULL);
    testutil_raw_msg_t m;
    ck_assert(s_recv(victim, ITEST_WAIT_MS, &m));
    ck_assert_int_eq(m.data[0][4], ACTORS_CMD_CALL);
    uint8_t tag[32];
    const uint8_t *id = NULL;
    size_t tag_len = testutil_hdr_id(m.data[0], m.len[0], &id);
    memcpy(tag, id, tag_len);
    testutil_raw_msg_free(&m);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_int(&pk, -666);
    s_reply_body(evil, ACTORS_CMD_REPLY, tag, tag_len, &sb);
    s_reply_body(plain, ACTORS_CMD_REPLY, tag, tag_len, &sb);
    /* The broker has read the forged reply once it answers what followed
     * it on the same connection. */
    char type[64];
    s_send(evil, ACTORS_CMD_PING, 0, "p", 1, NULL, NULL);
    s_answer(evil, "p", type, sizeof type);
    ck_assert_str_eq(type, "");
    ck_assert(s_recv(plain, ITEST_WAIT_MS, &m));
    ck_assert(testutil_raw_error_type(&m, 0, type, sizeof type));
    ck_assert_str_eq(type, "BadRequest");
    testutil_raw_msg_free(&m);
    msgpack_sbuffer_clear(&sb);
    msgpack_pack_int(&pk, 7);
    s_reply_body(victim, ACTORS_CMD_REPLY, tag, tag_len, &sb);
    msgpack_sbuffer_destroy(&sb);
    suptest_wait(f);
    ck_assert_int_eq(itest_int(f), 7);
    actors_future_destroy(&f);
    testutil_raw_close(&plain);
    testutil_raw_close(&evil);
    testutil_raw_close(&victim);
}
END_TEST

/* The claims do not get in the way of the node's own processes: after a
 * broker restart the actor registers again by itself before its node
 * reports it (the node adopts it with the claim), and a restarted
 * process registers its held address. */
START_TEST(test_node_keeps_its_actors)
{
    s_broker();
    char endpoint[256];
    snprintf(endpoint, sizeof endpoint, "%s", testutil_endpoint());
    suptest_node("n1", "actor\n"
                       "    counter\n"
                       "        service = counter\n"
                       "        address = counter/1\n"
                       "        policy\n"
                       "            max_restarts = -1\n");
    int64_t pid = suptest_wait_running("counter/1", 0);
    testutil_proc_kill(g_broker, SIGKILL);
    ck_assert(testutil_proc_wait(g_broker, ITEST_WAIT_MS, NULL));
    s_broker_start("--bind", endpoint);
    itest_connect();
    ck_assert_int_eq(suptest_wait_running("counter/1", 0), pid);
    char node[32];
    suptest_field("counter/1", "node", node, sizeof node);
    ck_assert_str_eq(node, "n1");
    kill((pid_t)pid, SIGKILL);
    int64_t again = suptest_wait_running("counter/1", pid);
    ck_assert_int_ne(again, pid);
    actors_future_t *f = itest_call("counter/1", "increment", NULL);
    ck_assert_int_eq(itest_int(f), 1);
    actors_future_destroy(&f);
    ck_assert_int_eq(s_count("BRK-FORBIDDEN", NULL), 0);
}
END_TEST

/* A tombstone may be taken by anyone; its node then no longer speaks for
 * it. */
START_TEST(test_tombstone_taken_is_unsupervised)
{
    s_broker();
    suptest_node("n1", NULL);
    actors_spawn_opts_t o = ACTORS_SPAWN_OPTS_INIT;
    o.service = "counter";
    o.name = "x/3";
    o.detached = true;
    actors_future_t *f = NULL;
    TEST_ASSERT_OK(actors_client_spawn(g_client, &o, &f));
    suptest_wait(f);
    ck_assert_msg(actors_future_error(f) == NULL, "%s", itest_describe(f));
    actors_future_destroy(&f);
    TEST_ASSERT_OK(actors_client_stop(g_client, "x/3", &f));
    suptest_wait(f);
    actors_future_destroy(&f);
    suptest_wait_state("x/3", "stopped");
    void *other = testutil_raw_socket(ZMQ_DEALER);
    ck_assert_str_eq(s_register(other, "x/3", 4242, NULL), "");
    char node[32];
    ck_assert_int_eq(suptest_field("x/3", "node", node, sizeof node), 4242);
    ck_assert_str_eq(node, "");
    TEST_ASSERT_OK(actors_client_kill(g_client, "x/3", false, &f));
    suptest_wait(f);
    itest_assert_error(f, ACTORS_ENOACTOR, NULL, "not supervised");
    actors_future_destroy(&f);
    testutil_raw_close(&other);
}
END_TEST

/* s_register_member sends REGISTER address with "group": true and claim
 * (NULL: none); returns the answer's type ("" for REPLY). */
static const char *
s_register_member(void *sock, const char *address, const char *claim)
{
    static char type[64];
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, claim ? 4 : 3);
    s_pack_str(&pk, "service");
    s_pack_str(&pk, "counter");
    s_pack_str(&pk, "pid");
    msgpack_pack_int64(&pk, 4242);
    s_pack_str(&pk, "group");
    msgpack_pack_true(&pk);
    if (claim != NULL) {
        s_pack_str(&pk, "claim");
        s_pack_str(&pk, claim);
    }
    s_send(sock, ACTORS_CMD_REGISTER, 0, "reg", 3, address, &sb);
    msgpack_sbuffer_destroy(&sb);
    s_answer(sock, "reg", type, sizeof type);
    return type;
}

/* s_members counts the members LOOKUP lists for the group at address. */
static int
s_members(const char *address)
{
    actors_future_t *f = suptest_lookup(address);
    if (f == NULL) {
        return 0;
    }
    const msgpack_object *v =
        actors_map_get(actors_future_result(f), "members");
    int n = v != NULL && v->type == MSGPACK_OBJECT_ARRAY
                ? (int)v->via.array.size
                : 0;
    actors_future_destroy(&f);
    return n;
}

typedef struct {
    const char *address;
    int members;
} s_group_wait_t;

/* s_group_ready: the group has its members, and the broker has the
 * node's "start" of each: a node sends a member's EVENT before its STATE
 * (the placement) on one connection, so the first member's placement is
 * known once the second's start is. */
static bool
s_group_ready(void *arg)
{
    const s_group_wait_t *w = arg;
    if (s_members(w->address) != w->members) {
        return false;
    }
    actors_future_t *f = suptest_events(0);
    bool ok = suptest_event_ms(actors_future_result(f), w->address, "start",
                  w->members - 1) >= 0;
    actors_future_destroy(&f);
    return ok;
}

/* A group whose members a node placed (replicas with group = true) takes
 * only the members that show the node's claim: another peer's REGISTER
 * with "group": true is Forbidden (logged), and it gets none of the
 * group's calls. */
START_TEST(test_group_placed_needs_claim)
{
    s_broker();
    suptest_node("n1", "actor\n"
                       "    pool\n"
                       "        service = counter\n"
                       "        address = pool/c\n"
                       "        replicas = 2\n"
                       "        group = true\n"
                       "        policy\n"
                       "            max_restarts = -1\n");
    s_group_wait_t w = {"pool/c", 2};
    ck_assert_msg(testutil_wait_until(s_group_ready, &w, SUPTEST_WAIT_MS),
        "the two members of pool/c never joined");
    void *evil = testutil_raw_socket(ZMQ_DEALER);
    ck_assert_str_eq(s_register_member(evil, "pool/c", NULL), "Forbidden");
    ck_assert_str_eq(
        s_register_member(evil, "pool/c", "00112233445566778899aabbccddeeff"),
        "Forbidden");
    ck_assert_int_eq(s_count("BRK-FORBIDDEN", "address=pool/c"), 2);
    ck_assert_int_eq(s_members("pool/c"), 2);
    /* Every call goes to a member the node started (a counter counts
     * from 1; the attacker would answer -666). */
    for (int i = 0; i < 6; i++) {
        actors_future_t *f = s_call_through(evil, "pool/c", "increment", NULL);
        ck_assert_int_gt(itest_int(f), 0);
        actors_future_destroy(&f);
    }
    testutil_raw_close(&evil);
}
END_TEST

/* A group no node placed (its members started by hand) stays open to any
 * peer that may REGISTER; a node's placement of it closes it to the
 * processes it did not start, until the node goes. */
START_TEST(test_group_unplaced_stays_open)
{
    s_broker();
    void *first = testutil_raw_socket(ZMQ_DEALER);
    ck_assert_str_eq(s_register_member(first, "pool/h", NULL), "");
    void *second = testutil_raw_socket(ZMQ_DEALER);
    ck_assert_str_eq(s_register_member(second, "pool/h", NULL), "");
    ck_assert_int_eq(s_members("pool/h"), 2);
    void *n2 = testutil_raw_socket(ZMQ_DEALER);
    ck_assert_str_eq(s_node(n2, "n2"), "");
    const char *claim = "0123456789abcdef0123456789abcdef";
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 3);
    s_pack_str(&pk, "state");
    s_pack_str(&pk, "starting");
    s_pack_str(&pk, "claim");
    s_pack_str(&pk, claim);
    s_pack_str(&pk, "group");
    msgpack_pack_true(&pk);
    s_send(n2, ACTORS_CMD_STATE, 0, NULL, 0, "pool/h", &sb);
    msgpack_sbuffer_destroy(&sb);
    /* The node's own process joins; others are refused from now on. */
    void *placed = testutil_raw_socket(ZMQ_DEALER);
    ck_assert_str_eq(s_register_member(placed, "pool/h", claim), "");
    void *evil = testutil_raw_socket(ZMQ_DEALER);
    ck_assert_str_eq(s_register_member(evil, "pool/h", NULL), "Forbidden");
    ck_assert_int_eq(s_members("pool/h"), 3);
    /* The node goes: the group is open again. */
    testutil_raw_close(&n2);
    int64_t deadline = testutil_now_ms() + ITEST_WAIT_MS;
    while (strcmp(s_register_member(evil, "pool/h", NULL), "") != 0) {
        ck_assert_msg(testutil_now_ms() < deadline, "pool/h stayed closed");
        testutil_poll_pause_ms(10);
    }
    ck_assert_int_eq(s_members("pool/h"), 4);
    testutil_raw_close(&evil);
    testutil_raw_close(&placed);
    testutil_raw_close(&second);
    testutil_raw_close(&first);
}
END_TEST

/* ---- item 5, what a spawn may run ---------------------------------------- */

/* s_plain_node starts actors-supervisor --node name with config zpl and
 * nothing else (no --services: the config alone says what a spawn may
 * run), and waits until the broker accepted it. */
static testutil_proc_t *
s_plain_node(const char *name, const char *zpl)
{
    char path[128];
    snprintf(path, sizeof path, "%s/node%d.cfg", g_supdir, g_supfiles++);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(zpl, f);
    fclose(f);
    const char *argv[] = {"actors-supervisor", "--broker", testutil_endpoint(),
        "--node", name, "--config", path, NULL};
    testutil_proc_t *p = testutil_spawn(argv, TESTUTIL_CAPTURE_STDERR);
    ck_assert_ptr_nonnull(p);
    int64_t deadline = testutil_now_ms() + SUPTEST_WAIT_MS;
    while (strstr(testutil_proc_stderr(p), "SUP-NODE-REGISTERED") == NULL) {
        ck_assert_msg(testutil_proc_running(p), "supervisor exited: %s",
            testutil_proc_stderr(p));
        ck_assert_msg(
            testutil_now_ms() < deadline, "node %s not registered", name);
        testutil_poll_pause_ms(10);
    }
    return p;
}

static const char *s_node_zpl = "supervisor\n"
                                "    spawn_env = FOO\n"
                                "actor\n"
                                "    c\n"
                                "        service = counter\n"
                                "        address = counter/1\n";

/* s_spawn_service spawns service at name on n1 through the client and
 * returns the resolved future. */
static actors_future_t *
s_spawn_service(const char *service, const char *name)
{
    actors_spawn_opts_t o = ACTORS_SPAWN_OPTS_INIT;
    o.service = service;
    o.name = name;
    o.node = "n1";
    o.detached = true;
    o.timeout_ms = SUPTEST_WAIT_MS;
    actors_future_t *f = NULL;
    TEST_ASSERT_OK(actors_client_spawn(g_client, &o, &f));
    suptest_wait(f);
    return f;
}

/* The framework's own programs and services the config does not name are
 * refused, the example service it names is not. */
START_TEST(test_spawn_only_allowed_services)
{
    s_broker();
    testutil_proc_t *node = s_plain_node("n1", s_node_zpl);
    suptest_wait_running("counter/1", 0);
    const char *refused[] = {
        "actors-broker", "actors-supervisor", "actorctl", "chaos"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        char name[64];
        snprintf(name, sizeof name, "evil/%zu", i);
        actors_future_t *f = s_spawn_service(refused[i], name);
        itest_assert_error(f, ACTORS_ESPAWN, "SpawnFailed", "Forbidden");
        itest_assert_error(f, ACTORS_ESPAWN, NULL, refused[i]);
        actors_future_destroy(&f);
        char state[32];
        suptest_field(name, "state", state, sizeof state);
        ck_assert_str_eq(state, "dead");
    }
    ck_assert_ptr_nonnull(
        strstr(testutil_proc_stderr(node), "SUP-SPAWN-REFUSED"));
    actors_future_t *f = s_spawn_service("counter", "counter/2");
    ck_assert_msg(actors_future_error(f) == NULL, "%s", itest_describe(f));
    actors_future_destroy(&f);
    f = itest_call("counter/2", "increment", NULL);
    ck_assert_int_eq(itest_int(f), 1);
    actors_future_destroy(&f);

    /* What the shell shows. */
    char out[4096];
    char err[4096];
    const char *argv[] = {"actorctl", "--broker", testutil_endpoint(), "spawn",
        "actors-broker", "--node", "n1", "--name", "evil/ctl", NULL};
    int rc =
        testutil_run(argv, ITEST_WAIT_MS, out, sizeof out, err, sizeof err);
    ck_assert_int_ne(rc, 0);
    ck_assert_msg(strstr(err, "SpawnFailed: ") != NULL &&
                      strstr(err, "actors-broker") != NULL &&
                      strstr(err, "not allowed") != NULL,
        "actorctl said '%s'", err);
}
END_TEST

/* s_raw_spawn sends a SPAWN of counter at name on n1 with the env and
 * args (NULL-terminated; NULL none) from a raw client and returns the
 * answer's type ("" for REPLY) and the error message in msg. */
static const char *
s_raw_spawn(void *c, const char *name, const char *const *env,
    const char *const *args, char *msg, size_t msg_len)
{
    static char type[64];
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 6);
    s_pack_str(&pk, "service");
    s_pack_str(&pk, "counter");
    s_pack_str(&pk, "name");
    s_pack_str(&pk, name);
    s_pack_str(&pk, "node");
    s_pack_str(&pk, "n1");
    s_pack_str(&pk, "detached");
    msgpack_pack_true(&pk);
    const char *const *lists[2] = {env, args};
    const char *keys[2] = {"env", "args"};
    for (int k = 0; k < 2; k++) {
        uint32_t n = 0;
        while (lists[k] != NULL && lists[k][n] != NULL) {
            n++;
        }
        s_pack_str(&pk, keys[k]);
        msgpack_pack_array(&pk, n);
        for (uint32_t i = 0; i < n; i++) {
            s_pack_str(&pk, lists[k][i]);
        }
    }
    s_send(c, ACTORS_CMD_SPAWN, SUPTEST_WAIT_MS, "sp", 2, NULL, &sb);
    msgpack_sbuffer_destroy(&sb);
    testutil_raw_msg_t m;
    ck_assert(s_recv(c, SUPTEST_WAIT_MS + 2000, &m));
    type[0] = '\0';
    msg[0] = '\0';
    if (m.data[0][4] == ACTORS_CMD_ERROR) {
        ck_assert(testutil_raw_error_type(&m, 0, type, sizeof type));
        msgpack_unpacked up;
        msgpack_unpacked_init(&up);
        const char *p = NULL;
        size_t n = 0;
        if (msgpack_unpack_next(&up, (const char *)m.data[1], m.len[1], NULL) ==
                MSGPACK_UNPACK_SUCCESS &&
            actors_value_str(actors_map_get(&up.data, "message"), &p, &n) ==
                ACTORS_OK) {
            snprintf(msg, msg_len, "%.*s", (int)n, p);
        }
        msgpack_unpacked_destroy(&up);
    }
    testutil_raw_msg_free(&m);
    return type;
}

/* A SPAWN's env sets only what the node's config allows, never what
 * loads code or moves state; its args cannot pass for options. */
START_TEST(test_spawn_env_and_args)
{
    s_broker();
    s_plain_node("n1", s_node_zpl);
    suptest_wait_running("counter/1", 0);
    void *c = testutil_raw_socket(ZMQ_DEALER);
    char msg[512];
    static const struct {
        const char *env;  /* one entry, or NULL */
        const char *arg;  /* one constructor argument, or NULL */
        const char *name; /* what the message must name */
    } refused[] = {
        {"LD_PRELOAD=/tmp/evil.so", NULL, "LD_PRELOAD"},
        {"ACTORS_STATE_DIR=/tmp/elsewhere", NULL, "ACTORS_STATE_DIR"},
        {"PATH=/tmp", NULL, "PATH"},
        {"BAR=1", NULL, "BAR"},
        {NULL, "--broker", "--broker"},
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "env/%zu", i);
        const char *env[] = {refused[i].env, NULL};
        const char *args[] = {refused[i].arg, "tcp://127.0.0.1:1", NULL};
        const char *type = s_raw_spawn(c, name, refused[i].env ? env : NULL,
            refused[i].arg ? args : NULL, msg, sizeof msg);
        ck_assert_str_eq(type, "SpawnFailed");
        ck_assert_msg(strstr(msg, "Forbidden") != NULL &&
                          strstr(msg, refused[i].name) != NULL,
            "message '%s' lacks %s", msg, refused[i].name);
    }
    /* What the config allows. */
    const char *env[] = {"FOO=1", NULL};
    const char *args[] = {"41", NULL};
    ck_assert_str_eq(s_raw_spawn(c, "env/ok", env, args, msg, sizeof msg), "");
    actors_future_t *f = itest_call("env/ok", "increment", NULL);
    ck_assert_int_eq(itest_int(f), 42);
    actors_future_destroy(&f);
    testutil_raw_close(&c);
}
END_TEST

static Suite *
s_suite(void)
{
    Suite *s = suite_create("claims");
    TCase *tc = suptest_tcase("claims", 60);
    tcase_add_checked_fixture(tc, NULL, s_log_teardown);
    tcase_add_test(tc, test_hijack_stopped_then_register);
    tcase_add_test(tc, test_hijack_adopt_stop_register);
    tcase_add_test(tc, test_hijack_supervised);
    tcase_add_test(tc, test_register_held_needs_claim);
    tcase_add_test(tc, test_unregistered_awaits_its_node);
    tcase_add_test(tc, test_state_cannot_take_awaited);
    tcase_add_test(tc, test_node_answers_and_names);
    tcase_add_test(tc, test_tag_answers_only_from_its_actor);
    tcase_add_test(tc, test_node_keeps_its_actors);
    tcase_add_test(tc, test_tombstone_taken_is_unsupervised);
    tcase_add_test(tc, test_group_placed_needs_claim);
    tcase_add_test(tc, test_group_unplaced_stays_open);
    suite_add_tcase(s, tc);
    tc = suptest_tcase("spawn", 60);
    tcase_add_checked_fixture(tc, NULL, s_log_teardown);
    tcase_add_test(tc, test_spawn_only_allowed_services);
    tcase_add_test(tc, test_spawn_env_and_args);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return itest_run(s_suite());
}
