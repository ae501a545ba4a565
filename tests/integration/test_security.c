/* tests/integration/test_security.c - a broker with CURVE keys, tried as
 * an attacker would: unknown keys, a wrong broker key, plain text, and a
 * client key sending what only nodes, actors and admins may; each is
 * refused with the documented error (Forbidden), logged, and changes
 * nothing. Also: an admin spawns and kills through a node whose actors
 * get their key from it, SIGHUP adds and removes keys, and a broker
 * without keys refuses a non-loopback bind (issue 10).
 * SPDX-License-Identifier: MIT
 *
 * Keys are made with the real `actorctl keygen`; every peer is a real
 * process or a libactors client over loopback TCP.
 */
#include "itest.h"

#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <actors-internal/wire.h>
#include <czmq.h>
#include <msgpack.h>
#include <zmq.h>

#define SEC_QUIET_MS 1500 /* a refused peer gets no answer in this long */
/* A refused connection: Forbidden (libactors saw the broker refuse its
 * key), no answer, or nothing to send on. */
#define SEC_REFUSED(rc)                                                        \
    ((rc) == ACTORS_EFORBIDDEN || (rc) == ACTORS_ETIMEDOUT ||                  \
        (rc) == ACTORS_EIO)

static char s_dir[64]; /* the test's temporary directory */
static char s_ep[256]; /* the broker's endpoint */
static testutil_proc_t *s_broker;

/* s_path formats DIR/rest into a static ring of buffers. */
static const char *
s_path(const char *rest)
{
    static char ring[8][512];
    static int next;
    char *b = ring[next++ % 8];
    snprintf(b, sizeof ring[0], "%s/%s", s_dir, rest);
    return b;
}

static void
s_keygen(const char *name, const char *role, const char *dir)
{
    const char *argv[] = {
        "actorctl", "keygen", name, "--role", role, "--dir", s_path(dir), NULL};
    char out[1024];
    char err[1024];
    int rc = testutil_run(argv, 10000, out, sizeof out, err, sizeof err);
    ck_assert_msg(rc == 0, "keygen %s: %d %s", name, rc, err);
}

static void
s_setup(void)
{
    itest_setup();
    snprintf(s_dir, sizeof s_dir, "/tmp/actors-sec-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(s_dir));
    s_keygen("broker", "admin", "sec");
    s_keygen("admin", "admin", "keys");
    s_keygen("cli", "client", "keys");
    s_keygen("act", "actor", "keys");
    s_keygen("node1", "node", "keys");
    s_keygen("stranger", "admin", "other"); /* not allowlisted */
}

static void
s_teardown(void)
{
    itest_teardown();
    const char *argv[] = {"/bin/rm", "-rf", s_dir, NULL};
    testutil_run(argv, 10000, NULL, 0, NULL, 0);
}

static bool
s_file_ready(void *arg)
{
    struct stat st;
    return stat((const char *)arg, &st) == 0 && st.st_size > 0;
}

/* s_broker_start_ex runs actors-broker with CURVE on loopback (and its
 * event stream with stream), stderr captured, and reads its endpoint. */
static void
s_broker_start_ex(bool stream)
{
    const char *ep_file = s_path("endpoint");
    const char *argv[] = {"actors-broker", "--bind", "tcp://127.0.0.1:*",
        "--keys", s_path("keys"), "--key", s_path("sec/broker_secret"),
        "--endpoint-file", ep_file, stream ? "--stream-bind" : NULL,
        "tcp://127.0.0.1:*", NULL};
    s_broker = testutil_spawn(argv, TESTUTIL_CAPTURE_STDERR);
    ck_assert_ptr_nonnull(s_broker);
    ck_assert_msg(testutil_wait_until(s_file_ready, (void *)ep_file, 10000),
        "broker wrote no endpoint: %s", testutil_proc_stderr(s_broker));
    FILE *f = fopen(ep_file, "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(fgets(s_ep, sizeof s_ep, f));
    fclose(f);
    s_ep[strcspn(s_ep, "\n")] = '\0';
}

static void
s_broker_start(void)
{
    s_broker_start_ex(false);
}

/* s_client connects with key NAME (a secret file, "keys/NAME_secret" or
 * any path under the test dir) and broker key bkey. */
static actors_client_t *
s_client(const char *key, const char *bkey)
{
    TEST_ASSERT_OK(actors_security_set(s_path(key), s_path(bkey)));
    actors_client_t *c = NULL;
    TEST_ASSERT_OK(actors_client_create(&c, s_ep));
    return c;
}

/* s_wait waits for f for up to ms; returns its outcome, or ACTORS_ETIMEDOUT
 * if it did not resolve. */
static actors_err
s_wait(actors_future_t *f, int ms)
{
    if (actors_future_wait(f, ms) != ACTORS_OK || !actors_future_is_ready(f)) {
        return ACTORS_ETIMEDOUT;
    }
    return itest_code(f);
}

/* s_ping pings the broker: ACTORS_OK, an error reply's code, or, for a
 * connection the broker refused, ACTORS_EFORBIDDEN (the client saw the
 * broker refuse its key), ACTORS_ETIMEDOUT (no answer) or ACTORS_EIO (the
 * refused handshake left nothing to send on). */
static actors_err
s_ping(actors_client_t *c, int ms)
{
    actors_future_t *f = NULL;
    actors_err rc = actors_client_ping(c, &f);
    if (rc != ACTORS_OK) {
        ck_assert(rc == ACTORS_EIO || rc == ACTORS_EFORBIDDEN);
        return rc;
    }
    rc = s_wait(f, ms);
    actors_future_destroy(&f);
    return rc;
}

/* s_log_has: the broker's stderr contains text (polled with a deadline:
 * the line may be on its way). */
static bool
s_log_pred(void *arg)
{
    return strstr(testutil_proc_stderr(s_broker), (const char *)arg) != NULL;
}

static void
s_assert_log(const char *text)
{
    ck_assert_msg(testutil_wait_until(s_log_pred, (void *)text, 5000),
        "broker log lacks '%s':\n%s", text, testutil_proc_stderr(s_broker));
}

/* s_lookup returns the state of address and its pid in *pid. */
static void
s_lookup(actors_client_t *c, const char *address, char *state, size_t cap,
    int64_t *pid)
{
    actors_future_t *f = NULL;
    TEST_ASSERT_OK(actors_client_lookup(c, address, &f));
    state[0] = '\0';
    if (s_wait(f, ITEST_WAIT_MS) == ACTORS_OK) {
        const msgpack_object *m = actors_future_result(f);
        const char *p = NULL;
        size_t n = 0;
        if (actors_value_str(actors_map_get(m, "state"), &p, &n) == ACTORS_OK &&
            n < cap) {
            memcpy(state, p, n);
            state[n] = '\0';
        }
        if (pid) {
            actors_value_int(actors_map_get(m, "pid"), pid);
        }
    }
    actors_future_destroy(&f);
}

typedef struct {
    actors_client_t *c;
    const char *address;
    const char *state;
    bool other; /* any state but state */
} s_state_arg_t;

static bool
s_state_pred(void *arg)
{
    s_state_arg_t *a = arg;
    char st[32];
    s_lookup(a->c, a->address, st, sizeof st, NULL);
    return (strcmp(st, a->state) == 0) != a->other;
}

static void
s_wait_state(actors_client_t *c, const char *address, const char *state)
{
    s_state_arg_t a = {c, address, state, false};
    ck_assert_msg(testutil_wait_until(s_state_pred, &a, 15000),
        "%s never became %s", address, state);
}

/* ---- raw peers ------------------------------------------------------- */

typedef struct {
    void *ctx;
    void *sock;
} s_raw_t;

/* s_raw makes a DEALER to the broker with key/bkey (both NULL: plain). */
static s_raw_t
s_raw(const char *key, const char *bkey)
{
    s_raw_t r;
    r.ctx = zmq_ctx_new();
    r.sock = zmq_socket(r.ctx, ZMQ_DEALER);
    int zero = 0;
    zmq_setsockopt(r.sock, ZMQ_LINGER, &zero, sizeof zero);
    TEST_ASSERT_OK(actors_security_apply_keys(
        r.sock, key ? s_path(key) : NULL, bkey ? s_path(bkey) : NULL));
    ck_assert_int_eq(zmq_connect(r.sock, s_ep), 0);
    return r;
}

static void
s_raw_close(s_raw_t *r)
{
    zmq_close(r->sock);
    zmq_ctx_term(r->ctx);
}

/* s_raw_ask sends header (cmd, id "q1") plus up to two frames and
 * returns the answer's error type in type ("" if a REPLY, "-" if none in
 * ms). */
static void
s_raw_ask(s_raw_t *r, uint8_t cmd, const void *f1, size_t l1, const void *f2,
    size_t l2, int ms, char *type, size_t cap)
{
    uint8_t hdr[64];
    size_t hl = testutil_hdr(hdr, "ACT2", cmd, 0, "q1", 2);
    const void *data[3] = {hdr, f1, f2};
    size_t len[3] = {hl, l1, l2};
    int n = f1 == NULL ? 1 : (f2 == NULL ? 2 : 3);
    for (int i = 0; i < n; i++) {
        ck_assert_int_ge(
            zmq_send(r->sock, data[i], len[i], i + 1 < n ? ZMQ_SNDMORE : 0), 0);
    }
    zmq_pollitem_t it = {r->sock, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&it, 1, ms) <= 0) {
        snprintf(type, cap, "-");
        return;
    }
    testutil_raw_msg_t m;
    memset(&m, 0, sizeof m);
    bool more = true;
    while (more) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        ck_assert_int_ge(zmq_msg_recv(&part, r->sock, 0), 0);
        more = zmq_msg_more(&part);
        if (m.nframes < 8) {
            size_t sz = zmq_msg_size(&part);
            m.data[m.nframes] = malloc(sz + 1);
            memcpy(m.data[m.nframes], zmq_msg_data(&part), sz);
            m.len[m.nframes++] = sz;
        }
        zmq_msg_close(&part);
    }
    if (!testutil_raw_error_type(&m, 0, type, cap)) {
        snprintf(type, cap, "%s", "");
    }
    testutil_raw_msg_free(&m);
}

/* s_pack_map packs a map of string keys to values: "k", 's', "v",
 * "k", 'i', int or "k", 'b', bool (as int); ends at a NULL key. */
static void
s_pack_map(msgpack_sbuffer *sb, ...)
{
    msgpack_sbuffer_init(sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    va_list ap;
    va_start(ap, sb);
    int n = 0;
    va_list cp;
    va_copy(cp, ap);
    for (const char *k = va_arg(cp, const char *); k != NULL;
         k = va_arg(cp, const char *)) {
        int t = va_arg(cp, int);
        if (t == 's') {
            (void)va_arg(cp, const char *);
        } else {
            (void)va_arg(cp, int);
        }
        n++;
    }
    va_end(cp);
    msgpack_pack_map(&pk, (size_t)n);
    for (const char *k = va_arg(ap, const char *); k != NULL;
         k = va_arg(ap, const char *)) {
        msgpack_pack_str_with_body(&pk, k, strlen(k));
        int t = va_arg(ap, int);
        if (t == 's') {
            const char *v = va_arg(ap, const char *);
            msgpack_pack_str_with_body(&pk, v, strlen(v));
        } else if (t == 'b') {
            if (va_arg(ap, int)) {
                msgpack_pack_true(&pk);
            } else {
                msgpack_pack_false(&pk);
            }
        } else {
            msgpack_pack_int(&pk, va_arg(ap, int));
        }
    }
    va_end(ap);
}

/* s_start_actor runs counter at address with the actor key. */
static testutil_proc_t *
s_start_actor(const char *address)
{
    const char *argv[] = {"counter", "--broker", s_ep, "--address", address,
        "--key", s_path("keys/act_secret"), "--broker-key",
        s_path("sec/broker"), NULL};
    testutil_proc_t *p = testutil_spawn(argv, 0);
    ck_assert_ptr_nonnull(p);
    return p;
}

static int64_t
s_increment(actors_client_t *c, const char *address)
{
    actors_future_t *f = NULL;
    TEST_ASSERT_OK(actors_client_call(c, address, "increment", NULL, NULL, &f));
    ck_assert_int_eq(s_wait(f, ITEST_WAIT_MS), ACTORS_OK);
    int64_t v = itest_int(f);
    actors_future_destroy(&f);
    return v;
}

/* ---- tests ------------------------------------------------------------ */

/* A client key tries the hijack of issue 10 (NODE, STATE stopped for a
 * live actor, REGISTER its address) and SPAWN and KILL: each is answered
 * Forbidden and logged, and the actor goes on answering its callers. */
/* s_raw_subscribe has r SUBSCRIBE pattern (on the event stream with
 * stream: its endpoint into where, its ticket into ticket) and reads the
 * answer. */
static void
s_raw_subscribe(s_raw_t *r, const char *pattern, bool stream, char *where,
    size_t cap, uint8_t ticket[16])
{
    uint8_t hdr[64];
    size_t hl = testutil_hdr(hdr, "ACT2", ACTORS_CMD_SUBSCRIBE, 0, "s1", 2);
    hdr[5] = stream ? ACTORS__FLAG_STREAM : 0;
    ck_assert_int_ge(zmq_send(r->sock, hdr, hl, ZMQ_SNDMORE), 0);
    ck_assert_int_ge(zmq_send(r->sock, pattern, strlen(pattern), 0), 0);
    zmq_msg_t a[2];
    zmq_msg_init(&a[0]);
    zmq_msg_init(&a[1]);
    zmq_pollitem_t it = {r->sock, 0, ZMQ_POLLIN, 0};
    ck_assert_int_eq(zmq_poll(&it, 1, ITEST_WAIT_MS), 1);
    ck_assert_int_ge(zmq_msg_recv(&a[0], r->sock, 0), 0);
    ck_assert_int_ge(zmq_msg_recv(&a[1], r->sock, 0), 0);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    ck_assert_int_eq(msgpack_unpack_next(
                         &up, zmq_msg_data(&a[1]), zmq_msg_size(&a[1]), NULL),
        MSGPACK_UNPACK_SUCCESS);
    /* Plain: 1 (new) or 0; on the stream {new, stream, ticket}. */
    ck_assert(stream ? up.data.type == MSGPACK_OBJECT_MAP
                     : up.data.type == MSGPACK_OBJECT_POSITIVE_INTEGER);
    if (stream) {
        const msgpack_object *ep = actors_map_get(&up.data, "stream");
        const msgpack_object *tk = actors_map_get(&up.data, "ticket");
        ck_assert_ptr_nonnull(ep);
        ck_assert_ptr_nonnull(tk);
        ck_assert_uint_eq(tk->via.bin.size, 16);
        snprintf(where, cap, "%.*s", (int)ep->via.str.size, ep->via.str.ptr);
        memcpy(ticket, tk->via.bin.ptr, 16);
    }
    msgpack_unpacked_destroy(&up);
    zmq_msg_close(&a[0]);
    zmq_msg_close(&a[1]);
}

/* s_stream_sub makes a SUB to the event stream at ep with key/bkey (both
 * NULL: plain) in r's context, asking for pattern and ticket (16 bytes),
 * and with all for everything. */
static void *
s_stream_sub(s_raw_t *r, const char *ep, const char *key, const char *bkey,
    const char *pattern, const uint8_t *ticket, bool all)
{
    void *k = zmq_socket(r->ctx, ZMQ_SUB);
    int zero = 0;
    zmq_setsockopt(k, ZMQ_LINGER, &zero, sizeof zero);
    TEST_ASSERT_OK(actors_security_apply_keys(
        k, key ? s_path(key) : NULL, bkey ? s_path(bkey) : NULL));
    ck_assert_int_eq(zmq_connect(k, ep), 0);
    uint8_t b[ACTORS_WIRE_HDR_MAX];
    size_t n = testutil_hdr(b, "ACT2", ACTORS_CMD_PUBLICATION, 0, NULL, 0);
    b[n++] = (uint8_t)strlen(pattern);
    memcpy(b + n, pattern, strlen(pattern));
    zmq_setsockopt(k, ZMQ_SUBSCRIBE, b, n + strlen(pattern));
    n = testutil_hdr(
        b, "ACT2", ACTORS_CMD_PUBLICATION, 0, (const char *)ticket, 16);
    zmq_setsockopt(k, ZMQ_SUBSCRIBE, b, n);
    if (all) {
        zmq_setsockopt(k, ZMQ_SUBSCRIBE, "", 0);
    }
    return k;
}

/* s_stream_got: a message came on sub within ms. */
static bool
s_stream_got(void *sub, int ms)
{
    zmq_pollitem_t it = {sub, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&it, 1, ms) <= 0) {
        return false;
    }
    zmq_msg_t m;
    zmq_msg_init(&m);
    while (zmq_msg_recv(&m, sub, ZMQ_DONTWAIT) >= 0 && zmq_msg_more(&m)) {
    }
    zmq_msg_close(&m);
    return true;
}

/* s_subscribed subscribes c to pattern (events for next) and waits
 * until the broker has it. */
static actors_subscription_t *
s_subscribed(actors_client_t *c, const char *pattern)
{
    actors_subscription_t *sub = NULL;
    actors_future_t *ready = NULL;
    TEST_ASSERT_OK(actors_subscribe(c, pattern, NULL, NULL, &sub, &ready));
    ck_assert_int_eq(s_wait(ready, ITEST_WAIT_MS), ACTORS_OK);
    actors_future_destroy(&ready);
    return sub;
}

/* The event stream is as closed as the ROUTER: a SUB without a listed
 * key (none, or a stranger's) gets nothing, not even asking for
 * everything with a good ticket; one with a client key is welcomed and
 * gets its pattern's events (only those); a library client with its key
 * takes its events there. */
START_TEST(test_security_stream)
{
    s_broker_start_ex(true);
    s_raw_t d = s_raw("keys/cli_secret", "sec/broker");
    char where[256];
    uint8_t ticket[16];
    s_raw_subscribe(&d, "orders.*", true, where, sizeof where, ticket);

    void *plain = s_stream_sub(&d, where, NULL, NULL, "orders.*", ticket, true);
    void *stranger = s_stream_sub(&d, where, "other/stranger_secret",
        "sec/broker", "orders.*", ticket, true);
    void *good = s_stream_sub(
        &d, where, "keys/cli_secret", "sec/broker", "orders.*", ticket, false);
    ck_assert_msg(s_stream_got(good, ITEST_WAIT_MS), "no welcome: %s",
        testutil_proc_stderr(s_broker));
    actors_client_t *admin = s_client("keys/admin_secret", "sec/broker");
    actors_future_t *f = NULL;
    TEST_ASSERT_OK(actors_publish(admin, "orders.created", NULL, &f));
    ck_assert_int_eq(s_wait(f, ITEST_WAIT_MS), ACTORS_OK);
    actors_future_destroy(&f);
    ck_assert_msg(s_stream_got(good, ITEST_WAIT_MS), "no event");
    ck_assert(!s_stream_got(plain, SEC_QUIET_MS));
    ck_assert(!s_stream_got(stranger, 100));

    /* The library: a client key, its events on the stream. */
    actors_client_t *cli = s_client("keys/cli_secret", "sec/broker");
    actors_subscription_t *sub = s_subscribed(cli, "shipments.*");
    TEST_ASSERT_OK(actors_publish(admin, "shipments.sent", NULL, &f));
    ck_assert_int_eq(s_wait(f, ITEST_WAIT_MS), ACTORS_OK);
    actors_future_destroy(&f);
    ck_assert_msg(s_stream_got(good, 0) == false, "another pattern came");
    actors_future_t *ev = NULL;
    TEST_ASSERT_OK(actors_subscription_next(sub, &ev));
    ck_assert_int_eq(s_wait(ev, ITEST_WAIT_MS), ACTORS_OK);
    actors_future_destroy(&ev);
    actors_unsubscribe(&sub);
    actors_client_destroy(&cli);
    actors_client_destroy(&admin);
    zmq_close(plain);
    zmq_close(stranger);
    zmq_close(good);
    s_raw_close(&d);
}
END_TEST

START_TEST(test_security_client_key_forbidden)
{
    s_broker_start();
    testutil_proc_t *actor = s_start_actor("counter/v");
    actors_client_t *admin = s_client("keys/admin_secret", "sec/broker");
    s_wait_state(admin, "counter/v", "running");
    actors_client_t *cli = s_client("keys/cli_secret", "sec/broker");
    ck_assert_int_eq(s_increment(cli, "counter/v"), 1);

    s_raw_t r = s_raw("keys/cli_secret", "sec/broker");
    char type[64];
    msgpack_sbuffer node;
    s_pack_map(&node, "node", 's', "evil", "pid", 'i', 1, NULL);
    s_raw_ask(&r, ACTORS_CMD_NODE, node.data, node.size, NULL, 0, ITEST_WAIT_MS,
        type, sizeof type);
    ck_assert_str_eq(type, "Forbidden");
    msgpack_sbuffer state;
    s_pack_map(&state, "state", 's', "stopped", "node", 's', "evil", "pid", 'i',
        (int)actor->pid, "restarts", 'i', 0, "cause", 's', "", NULL);
    s_raw_ask(&r, ACTORS_CMD_STATE, "counter/v", 9, state.data, state.size,
        ITEST_WAIT_MS, type, sizeof type);
    ck_assert_str_eq(type, "Forbidden");
    msgpack_sbuffer info;
    s_pack_map(&info, "service", 's', "counter", "pid", 'i', 1, NULL);
    s_raw_ask(&r, ACTORS_CMD_REGISTER, "counter/v", 9, info.data, info.size,
        ITEST_WAIT_MS, type, sizeof type);
    ck_assert_str_eq(type, "Forbidden");
    msgpack_sbuffer spec;
    s_pack_map(&spec, "service", 's', "counter", "name", 's', "x/1", NULL);
    s_raw_ask(&r, ACTORS_CMD_SPAWN, spec.data, spec.size, NULL, 0,
        ITEST_WAIT_MS, type, sizeof type);
    ck_assert_str_eq(type, "Forbidden");
    msgpack_sbuffer kill;
    s_pack_map(&kill, "restart", 'i', 0, NULL);
    s_raw_ask(&r, ACTORS_CMD_KILL, "counter/v", 9, kill.data, kill.size,
        ITEST_WAIT_MS, type, sizeof type);
    ck_assert_str_eq(type, "Forbidden");
    /* A client may not answer calls either. */
    s_raw_ask(&r, ACTORS_CMD_REPLY, "\xc0", 1, NULL, 0, ITEST_WAIT_MS, type,
        sizeof type);
    ck_assert_str_eq(type, "Forbidden");

    /* The same through the library: Forbidden, with its type name. */
    actors_future_t *f = NULL;
    TEST_ASSERT_OK(actors_client_kill(cli, "counter/v", false, &f));
    ck_assert_int_eq(s_wait(f, ITEST_WAIT_MS), ACTORS_EFORBIDDEN);
    itest_assert_error(f, ACTORS_EFORBIDDEN, "Forbidden", "client may not");
    actors_future_destroy(&f);

    /* An actor key may not spawn, a node key may not register. */
    s_raw_t ra = s_raw("keys/act_secret", "sec/broker");
    s_raw_ask(&ra, ACTORS_CMD_SPAWN, spec.data, spec.size, NULL, 0,
        ITEST_WAIT_MS, type, sizeof type);
    ck_assert_str_eq(type, "Forbidden");
    s_raw_t rn = s_raw("keys/node1_secret", "sec/broker");
    s_raw_ask(&rn, ACTORS_CMD_REGISTER, "counter/v", 9, info.data, info.size,
        ITEST_WAIT_MS, type, sizeof type);
    ck_assert_str_eq(type, "Forbidden");

    /* Nothing changed: the real actor runs and answers. */
    char st[32];
    int64_t pid = 0;
    s_lookup(admin, "counter/v", st, sizeof st, &pid);
    ck_assert_str_eq(st, "running");
    ck_assert_int_eq(pid, actor->pid);
    ck_assert(testutil_proc_running(actor));
    ck_assert_int_eq(s_increment(cli, "counter/v"), 2);
    s_lookup(admin, "x/1", st, sizeof st, NULL);
    ck_assert_str_eq(st, "");
    s_assert_log("BRK-FORBIDDEN cmd=NODE role=client");
    s_assert_log("BRK-FORBIDDEN cmd=STATE role=client");
    s_assert_log("BRK-FORBIDDEN cmd=REGISTER role=client");
    s_assert_log("BRK-FORBIDDEN cmd=SPAWN role=client");
    s_assert_log("BRK-FORBIDDEN cmd=KILL role=client");
    s_assert_log("BRK-FORBIDDEN cmd=SPAWN role=actor");
    s_assert_log("BRK-FORBIDDEN cmd=REGISTER role=node");

    msgpack_sbuffer_destroy(&node);
    msgpack_sbuffer_destroy(&state);
    msgpack_sbuffer_destroy(&info);
    msgpack_sbuffer_destroy(&spec);
    msgpack_sbuffer_destroy(&kill);
    s_raw_close(&r);
    s_raw_close(&ra);
    s_raw_close(&rn);
    actors_client_destroy(&cli);
    actors_client_destroy(&admin);
}
END_TEST

typedef struct {
    actors_client_t *c;
    actors_spawn_opts_t *o;
    int64_t pid;
} s_spawn_arg_t;

/* Spawns until a node is there (NoSuchNode until the supervisor is). */
static bool
s_spawn_pred(void *arg)
{
    s_spawn_arg_t *a = arg;
    actors_future_t *f = NULL;
    TEST_ASSERT_OK(actors_client_spawn(a->c, a->o, &f));
    actors_err rc = s_wait(f, ITEST_WAIT_MS);
    if (rc == ACTORS_OK) {
        actors_value_int(
            actors_map_get(actors_future_result(f), "pid"), &a->pid);
    }
    ck_assert_msg(rc == ACTORS_OK || rc == ACTORS_ENONODE, "spawn: %s",
        itest_describe(f));
    actors_future_destroy(&f);
    return rc == ACTORS_OK;
}

/* s_read_file reads /proc/PID/NAME, NULs turned into '\n'. */
static void
s_read_proc(int64_t pid, const char *name, char *buf, size_t cap)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%lld/%s", (long long)pid, name);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(buf, 1, cap - 1, f);
    fclose(f);
    for (size_t i = 0; i < n; i++) {
        if (buf[i] == '\0') {
            buf[i] = '\n';
        }
    }
    buf[n] = '\0';
}

/* An admin spawns through a node (node key) whose actor gets the actor
 * key from it by path in its environment, not on its command line; a
 * client calls it but may not kill it; the admin kills it. */
START_TEST(test_security_admin_spawns_and_kills)
{
    s_broker_start();
    /* A node that lets a spawn run counter (supervisor/services, where
     * nodes check what a spawn may run). */
    FILE *cfg = fopen(s_path("node.zpl"), "w");
    ck_assert_ptr_nonnull(cfg);
    fputs("supervisor\n    services = counter\n", cfg);
    ck_assert_int_eq(fclose(cfg), 0);
    const char *argv[] = {"actors-supervisor", "--broker", s_ep, "--node", "n1",
        "--config", s_path("node.zpl"), "--key", s_path("keys/node1_secret"),
        "--broker-key", s_path("sec/broker"), "--actor-key",
        s_path("keys/act_secret"), NULL};
    ck_assert_ptr_nonnull(testutil_spawn(argv, 0));
    actors_client_t *admin = s_client("keys/admin_secret", "sec/broker");
    actors_spawn_opts_t o = ACTORS_SPAWN_OPTS_INIT;
    o.service = "counter";
    o.name = "counter/s";
    o.detached = true;
    s_spawn_arg_t a = {admin, &o, 0};
    ck_assert(testutil_wait_until(s_spawn_pred, &a, 15000));
    ck_assert_int_gt(a.pid, 0);

    char buf[8192];
    s_read_proc(a.pid, "cmdline", buf, sizeof buf);
    ck_assert_msg(strstr(buf, "_secret") == NULL && strstr(buf, "--key") == 0,
        "a key on the command line: %s", buf);
    s_read_proc(a.pid, "environ", buf, sizeof buf);
    char want[600];
    snprintf(want, sizeof want, "ACTORS_KEY=%s\n", s_path("keys/act_secret"));
    ck_assert_msg(strstr(buf, want) != NULL, "no actor key in its env");
    ck_assert_msg(strstr(buf, "node1_secret") == NULL, "node key leaked");

    actors_client_t *cli = s_client("keys/cli_secret", "sec/broker");
    ck_assert_int_eq(s_increment(cli, "counter/s"), 1);
    actors_future_t *f = NULL;
    TEST_ASSERT_OK(actors_client_stop(cli, "counter/s", &f));
    ck_assert_int_eq(s_wait(f, ITEST_WAIT_MS), ACTORS_EFORBIDDEN);
    actors_future_destroy(&f);
    ck_assert_int_eq(s_increment(cli, "counter/s"), 2);

    TEST_ASSERT_OK(actors_client_kill(admin, "counter/s", false, &f));
    ck_assert_msg(
        s_wait(f, ITEST_WAIT_MS) == ACTORS_OK, "kill: %s", itest_describe(f));
    actors_future_destroy(&f);
    char st[32];
    s_lookup(admin, "counter/s", st, sizeof st, NULL);
    ck_assert_msg(strcmp(st, "running") != 0, "still %s", st);
    actors_client_destroy(&cli);
    actors_client_destroy(&admin);
}
END_TEST

static bool
s_reloads_pred(void *arg)
{
    return testutil_count(testutil_proc_stderr(s_broker), "BRK-AUTH-RELOAD") >=
           *(int *)arg;
}

static void
s_sighup(int nth)
{
    testutil_proc_kill(s_broker, SIGHUP);
    ck_assert_msg(testutil_wait_until(s_reloads_pred, &nth, 10000),
        "no reload %d: %s", nth, testutil_proc_stderr(s_broker));
}

/* s_set_addresses rewrites the address patterns of the public key file
 * at rest (under the test's directory), as an operator would edit it. */
static void
s_set_addresses(const char *rest, const char *patterns)
{
    zconfig_t *cert = zconfig_load(s_path(rest));
    ck_assert_ptr_nonnull(cert);
    zconfig_put(cert, "metadata/addresses", patterns);
    ck_assert_int_eq(zconfig_save(cert, s_path(rest)), 0);
    zconfig_destroy(&cert);
}

/* An actor key made with --addresses may REGISTER only the addresses its
 * patterns match (alone or as a group's member); another actor key, made
 * without, any. The refusal is Forbidden and logged. A reload that narrows
 * its patterns closes its connection. */
START_TEST(test_security_key_address_patterns)
{
    const char *argv[] = {"actorctl", "keygen", "lim", "--role", "actor",
        "--dir", s_path("keys"), "--addresses", "counter/l*, pool/*", NULL};
    char out[1024];
    char err[1024];
    ck_assert_msg(
        testutil_run(argv, 10000, out, sizeof out, err, sizeof err) == 0,
        "keygen: %s", err);
    s_broker_start();
    msgpack_sbuffer info;
    s_pack_map(&info, "service", 's', "counter", "pid", 'i', 4242, NULL);
    msgpack_sbuffer member;
    s_pack_map(&member, "service", 's', "counter", "pid", 'i', 4243, "group",
        'b', 1, NULL);
    char type[64];
    s_raw_t lim = s_raw("keys/lim_secret", "sec/broker");
    s_raw_ask(&lim, ACTORS_CMD_REGISTER, "counter/x", 9, info.data, info.size,
        ITEST_WAIT_MS, type, sizeof type);
    ck_assert_str_eq(type, "Forbidden");
    s_assert_log("its key may hold only counter/l*, pool/*");
    s_raw_ask(&lim, ACTORS_CMD_REGISTER, "other/g", 7, member.data, member.size,
        ITEST_WAIT_MS, type, sizeof type);
    ck_assert_str_eq(type, "Forbidden");
    s_raw_ask(&lim, ACTORS_CMD_REGISTER, "counter/l1", 10, info.data, info.size,
        ITEST_WAIT_MS, type, sizeof type);
    ck_assert_str_eq(type, "");
    s_raw_ask(&lim, ACTORS_CMD_REGISTER, "pool/a", 6, member.data, member.size,
        ITEST_WAIT_MS, type, sizeof type);
    ck_assert_str_eq(type, "");
    s_raw_t act = s_raw("keys/act_secret", "sec/broker");
    s_raw_ask(&act, ACTORS_CMD_REGISTER, "counter/x", 9, info.data, info.size,
        ITEST_WAIT_MS, type, sizeof type);
    ck_assert_str_eq(type, "");
    actors_client_t *cli = s_client("keys/cli_secret", "sec/broker");
    char st[32];
    s_lookup(cli, "counter/x", st, sizeof st, NULL);
    ck_assert_str_eq(st, "running");

    /* Narrowing a key's patterns takes rights away as removing it does:
     * the reload closes its connection, and what it held goes with it
     * (its role is unchanged; the other actor is untouched). */
    s_set_addresses("keys/lim", "pool/*");
    s_sighup(1);
    s_assert_log("removed_or_changed=1 ");
    s_state_arg_t gone = {cli, "counter/l1", "running", true};
    ck_assert_msg(testutil_wait_until(s_state_pred, &gone, 15000),
        "a key whose patterns no longer allow counter/l1 still holds it");
    s_assert_log("BRK-AUTH-REVOKED closed=1 ");
    s_lookup(cli, "counter/x", st, sizeof st, NULL);
    ck_assert_str_eq(st, "running");
    actors_client_destroy(&cli);
    s_raw_close(&act);
    s_raw_close(&lim);
    msgpack_sbuffer_destroy(&member);
    msgpack_sbuffer_destroy(&info);
}
END_TEST

typedef struct {
    actors_client_t *c;
    const char *address;
} s_member_arg_t;

/* s_has_member: LOOKUP lists one member of the group at address. */
static bool
s_has_member(void *arg)
{
    s_member_arg_t *a = arg;
    actors_future_t *f = NULL;
    TEST_ASSERT_OK(actors_client_lookup(a->c, a->address, &f));
    bool ok = false;
    if (s_wait(f, ITEST_WAIT_MS) == ACTORS_OK) {
        const msgpack_object *v =
            actors_map_get(actors_future_result(f), "members");
        ok = v != NULL && v->type == MSGPACK_OBJECT_ARRAY &&
             v->via.array.size == 1;
    }
    actors_future_destroy(&f);
    return ok;
}

/* An admin spawns a member of a group on a node; another process with an
 * actor key (one the broker accepts) cannot join that group: its REGISTER
 * with "group": true shows no claim of the node's and is Forbidden, and
 * every call goes to the node's member. */
START_TEST(test_security_placed_group_needs_claim)
{
    s_broker_start();
    FILE *cfg = fopen(s_path("node.zpl"), "w");
    ck_assert_ptr_nonnull(cfg);
    fputs("supervisor\n    services = counter\n", cfg);
    ck_assert_int_eq(fclose(cfg), 0);
    const char *argv[] = {"actors-supervisor", "--broker", s_ep, "--node", "n1",
        "--config", s_path("node.zpl"), "--key", s_path("keys/node1_secret"),
        "--broker-key", s_path("sec/broker"), "--actor-key",
        s_path("keys/act_secret"), NULL};
    ck_assert_ptr_nonnull(testutil_spawn(argv, 0));
    actors_client_t *admin = s_client("keys/admin_secret", "sec/broker");
    actors_spawn_opts_t o = ACTORS_SPAWN_OPTS_INIT;
    o.service = "counter";
    o.name = "pool/k";
    o.group = true;
    s_spawn_arg_t a = {admin, &o, 0};
    ck_assert(testutil_wait_until(s_spawn_pred, &a, 15000));
    s_member_arg_t m = {admin, "pool/k"};
    ck_assert_msg(testutil_wait_until(s_has_member, &m, 15000),
        "the spawned member never joined pool/k");

    s_raw_t evil = s_raw("keys/act_secret", "sec/broker");
    msgpack_sbuffer info;
    s_pack_map(&info, "service", 's', "counter", "pid", 'i', 4242, "group", 'b',
        1, NULL);
    char type[64];
    s_raw_ask(&evil, ACTORS_CMD_REGISTER, "pool/k", 6, info.data, info.size,
        ITEST_WAIT_MS, type, sizeof type);
    ck_assert_str_eq(type, "Forbidden");
    msgpack_sbuffer_destroy(&info);
    s_assert_log("refusing REGISTER of a group member");
    ck_assert(s_has_member(&m));
    actors_client_t *cli = s_client("keys/cli_secret", "sec/broker");
    for (int i = 1; i <= 4; i++) {
        ck_assert_int_eq(s_increment(cli, "pool/k"), i);
    }
    zmq_pollitem_t it = {evil.sock, 0, ZMQ_POLLIN, 0};
    ck_assert_int_eq(zmq_poll(&it, 1, 0), 0); /* no call came to it */
    s_raw_close(&evil);
    actors_client_destroy(&cli);
    actors_client_destroy(&admin);
}
END_TEST

typedef struct {
    testutil_proc_t *p;
    const char *text;
} s_proc_log_t;

static bool
s_proc_log_pred(void *arg)
{
    s_proc_log_t *a = arg;
    return strstr(testutil_proc_stderr(a->p), a->text) != NULL;
}

/* An unknown key, the wrong broker key and plain text get nothing; the
 * broker logs the unknown key and serves the others. */
START_TEST(test_security_refused_peers)
{
    s_broker_start();
    actors_client_t *stranger = s_client("other/stranger_secret", "sec/broker");
    /* The client sees the broker refuse its key (its ZAP handler's 400)
     * and fails the call with Forbidden, saying why, long before its
     * deadline; and so every request after it. */
    actors_future_t *f = NULL;
    TEST_ASSERT_OK(actors_client_call(stranger, "c/x", "m", NULL, NULL, &f));
    ck_assert_int_eq(s_wait(f, 3 * ITEST_WAIT_MS), ACTORS_EFORBIDDEN);
    itest_assert_error(
        f, ACTORS_EFORBIDDEN, "Forbidden", "refused this connection's CURVE");
    actors_future_destroy(&f);
    ck_assert_int_eq(actors_client_ping(stranger, &f), ACTORS_EFORBIDDEN);
    ck_assert_ptr_null(f);
    s_assert_log("BRK-AUTH-REFUSED");
    actors_client_t *wrong = s_client("keys/admin_secret", "other/stranger");
    ck_assert(SEC_REFUSED(s_ping(wrong, SEC_QUIET_MS)));

    /* actorctl says what happened: a refused key, or no answer at all
     * (a broker key that is not the broker's) and what to check. */
    char out[1024];
    char err[2048];
    const char *refused[] = {"actorctl", "--broker", s_ep, "--key",
        s_path("other/stranger_secret"), "--broker-key", s_path("sec/broker"),
        "ping", NULL};
    ck_assert_int_eq(
        testutil_run(refused, 30000, out, sizeof out, err, sizeof err), 1);
    ck_assert_msg(strstr(err, "Forbidden: the broker refused this "
                              "connection's CURVE handshake") != NULL,
        "actorctl said: %s", err);
    const char *silent[] = {"actorctl", "--broker", s_ep, "--timeout", "300",
        "--key", s_path("keys/cli_secret"), "--broker-key",
        s_path("other/stranger"), "ping", NULL};
    ck_assert_int_eq(
        testutil_run(silent, 30000, out, sizeof out, err, sizeof err), 1);
    ck_assert_msg(strstr(err, "Timeout: no answer from") != NULL &&
                      strstr(err, "does it accept this key") != NULL,
        "actorctl said: %s", err);

    s_raw_t plain = s_raw(NULL, NULL);
    char type[64];
    s_raw_ask(&plain, ACTORS_CMD_PING, NULL, 0, NULL, 0, SEC_QUIET_MS, type,
        sizeof type);
    ck_assert_str_eq(type, "-");
    s_raw_close(&plain);

    /* An actor with a key the broker refuses says so in its log. */
    const char *argv[] = {"counter", "--broker", s_ep, "--address", "c/x",
        "--key", s_path("other/stranger_secret"), "--broker-key",
        s_path("sec/broker"), NULL};
    testutil_proc_t *p = testutil_spawn(argv, TESTUTIL_CAPTURE_STDERR);
    ck_assert_ptr_nonnull(p);
    s_proc_log_t pl = {p, "CLI-HANDSHAKE-FAILED"};
    ck_assert_msg(testutil_wait_until(s_proc_log_pred, &pl, 10000),
        "the refused actor logged nothing: %s", testutil_proc_stderr(p));

    actors_client_t *admin = s_client("keys/admin_secret", "sec/broker");
    ck_assert_int_eq(s_ping(admin, ITEST_WAIT_MS), ACTORS_OK);
    char st[32];
    s_lookup(admin, "c/x", st, sizeof st, NULL);
    ck_assert_str_eq(st, ""); /* never registered */
    actors_client_destroy(&stranger);
    actors_client_destroy(&wrong);
    actors_client_destroy(&admin);
}
END_TEST

/* The library's log lines, captured by s_log_line. */
typedef struct {
    bool handshake; /* CLI-HANDSHAKE-FAILED seen */
    int refused;    /* CLI-REFUSED lines after it */
    char bad[1024]; /* the first of them that does not name the handshake */
} s_log_seen_t;

static void
s_log_line(
    actors_log_level_t level, const char *msgid, const char *text, void *arg)
{
    (void)level;
    s_log_seen_t *seen = arg;
    if (strcmp(msgid, "CLI-HANDSHAKE-FAILED") == 0) {
        seen->handshake = true;
    } else if (strcmp(msgid, "CLI-REFUSED") == 0 && seen->handshake) {
        seen->refused++;
        bool named = strstr(text, "cause=handshake") != NULL &&
                     strstr(text, "CURVE") != NULL &&
                     strstr(text, "descriptors") == NULL;
        if (!named && seen->bad[0] == 0) {
            snprintf(seen->bad, sizeof seen->bad, "%s", text);
        }
    }
}

/* A plain client (no keys) against a keyed broker: its handshakes fail
 * (a mechanism mismatch), it logs CLI-HANDSHAKE-FAILED, and from then on
 * its CLI-REFUSED lines (the backoff) name that cause, not a broker out of
 * descriptors. (Which side sees the mismatch first is a race: when the
 * broker does, it just closes, and the client saw no handshake fail.) */
START_TEST(test_security_plain_client_refused_names_handshake)
{
    s_broker_start();
    s_log_seen_t seen = {false, 0, {0}};
    actors_log_set_handler(s_log_line, &seen);
    actors_log_set_level(ACTORS_LOG_INFO);
    TEST_ASSERT_OK(actors_security_set(NULL, NULL));
    actors_client_t *c = NULL;
    TEST_ASSERT_OK(actors_client_create(&c, s_ep));
    actors_future_t *f = NULL;
    actors_err rc = actors_client_ping(c, &f);
    ck_assert(rc == ACTORS_OK || rc == ACTORS_EIO || rc == ACTORS_EFORBIDDEN);
    int64_t deadline = testutil_now_ms() + 6 * ITEST_WAIT_MS;
    while (seen.refused < 2) {
        ck_assert_msg(testutil_now_ms() < deadline,
            "handshake failure seen: %d, CLI-REFUSED after it: %d",
            seen.handshake, seen.refused);
        actors_client_poll(c, 50); /* the client paces itself when pumped */
    }
    actors_log_set_handler(NULL, NULL);
    ck_assert_msg(
        seen.bad[0] == 0, "CLI-REFUSED blames the wrong cause: %s", seen.bad);
    actors_future_destroy(&f);
    actors_client_destroy(&c);
}
END_TEST

/* A plain client (no keys) against a keyed broker: its calls fail with
 * Forbidden naming the keys it lacks, at once, not with a Timeout at
 * their deadline (libzmq does not connect again after the mechanisms
 * differ, so nothing would ever arrive). */
START_TEST(test_security_plain_client_fails_fast)
{
    s_broker_start();
    TEST_ASSERT_OK(actors_security_set(NULL, NULL));
    actors_client_t *c = NULL;
    TEST_ASSERT_OK(actors_client_create(&c, s_ep));
    actors_msg_t *args = NULL;
    TEST_ASSERT_OK(actors_msg_build(&args, "s", "x"));
    actors_call_opts_t o = ACTORS_CALL_OPTS_INIT;
    o.timeout_ms = 60000;
    actors_future_t *f = NULL;
    actors_err rc = actors_client_call(c, "chaos/s", "echo", &args, &o, &f);
    actors_msg_destroy(&args);
    if (rc == ACTORS_OK) {
        actors_future_wait(f, -1);
        rc = itest_code(f);
        ck_assert_msg(rc == ACTORS_EFORBIDDEN, "%s", itest_describe(f));
        ck_assert_msg(strstr(actors_error_message(actors_future_error(f)),
                          "requires CURVE keys") != NULL,
            "%s", itest_describe(f));
    }
    ck_assert_int_eq(rc, ACTORS_EFORBIDDEN);
    actors_future_destroy(&f);
    actors_client_destroy(&c);
}
END_TEST

/* SIGHUP reads the allowlist again: a key added is accepted, a key
 * removed is refused, and its live connection's next command is
 * Forbidden. */
START_TEST(test_security_sighup_reload)
{
    s_broker_start();
    actors_client_t *cli = s_client("keys/cli_secret", "sec/broker");
    ck_assert_int_eq(s_ping(cli, ITEST_WAIT_MS), ACTORS_OK);
    s_raw_t raw = s_raw("keys/cli_secret", "sec/broker"); /* holds nothing */
    char type[64];
    s_raw_ask(&raw, ACTORS_CMD_PING, NULL, 0, NULL, 0, ITEST_WAIT_MS, type,
        sizeof type);
    ck_assert_str_eq(type, "");

    s_keygen("late", "client", "keys");
    actors_client_t *late = s_client("keys/late_secret", "sec/broker");
    ck_assert(SEC_REFUSED(s_ping(late, SEC_QUIET_MS)));
    s_sighup(1);
    s_assert_log("keys=5 removed_or_changed=0");
    /* libzmq does not retry a handshake the broker refused: the peer
     * connects again. */
    actors_client_destroy(&late);
    late = s_client("keys/late_secret", "sec/broker");
    ck_assert_int_eq(s_ping(late, ITEST_WAIT_MS), ACTORS_OK);

    ck_assert_int_eq(unlink(s_path("keys/cli")), 0);
    s_sighup(2);
    s_assert_log("keys=4 removed_or_changed=1");
    actors_future_t *f = NULL;
    TEST_ASSERT_OK(actors_client_ping(cli, &f));
    ck_assert_int_eq(s_wait(f, ITEST_WAIT_MS), ACTORS_EFORBIDDEN);
    actors_future_destroy(&f);
    s_assert_log("its key was removed from the allowlist");
    /* A connection that held nothing: its next message is answered
     * Forbidden and it is closed (libzmq's reconnection is then refused
     * in the handshake: no answer). It stayed open, every message
     * answered Forbidden. */
    s_raw_ask(&raw, ACTORS_CMD_PING, NULL, 0, NULL, 0, ITEST_WAIT_MS, type,
        sizeof type);
    ck_assert_str_eq(type, "Forbidden");
    int64_t end = testutil_now_ms() + ITEST_WAIT_MS;
    while (strcmp(type, "-") != 0 && testutil_now_ms() < end) {
        s_raw_ask(
            &raw, ACTORS_CMD_PING, NULL, 0, NULL, 0, 200, type, sizeof type);
    }
    ck_assert_msg(strcmp(type, "-") == 0,
        "a revoked connection is still open (answered '%s')", type);
    s_raw_close(&raw);
    actors_client_t *again = s_client("keys/cli_secret", "sec/broker");
    ck_assert(SEC_REFUSED(s_ping(again, SEC_QUIET_MS)));
    ck_assert_int_eq(s_ping(late, ITEST_WAIT_MS), ACTORS_OK);
    actors_client_destroy(&again);
    actors_client_destroy(&late);
    actors_client_destroy(&cli);
}
END_TEST

/* s_publish_until publishes topic from admin until sub has a message,
 * for up to ms; true if it came. */
static bool
s_publish_until(actors_client_t *admin, const char *topic, void *sub, int ms)
{
    int64_t end = testutil_now_ms() + ms;
    while (testutil_now_ms() < end) {
        actors_future_t *f = NULL;
        TEST_ASSERT_OK(actors_publish(admin, topic, NULL, &f));
        ck_assert_int_eq(s_wait(f, ITEST_WAIT_MS), ACTORS_OK);
        actors_future_destroy(&f);
        if (s_stream_got(sub, 100)) {
            return true;
        }
    }
    return false;
}

/* A reload that removes keys closes the connections made with them at
 * once, not at their next message: an actor and a subscriber that never
 * send again would otherwise keep their address and their events. The
 * event stream, whose peers the broker cannot tell apart, is closed
 * whole; a subscriber whose key is still listed is back within moments,
 * the revoked ones get nothing more. */
START_TEST(test_security_revoked_peers_cut_off)
{
    s_keygen("late", "client", "keys");
    s_broker_start_ex(true);
    actors_client_t *admin = s_client("keys/admin_secret", "sec/broker");
    testutil_proc_t *actor = s_start_actor("revoked/1");
    s_wait_state(admin, "revoked/1", "running");

    s_raw_t c = s_raw("keys/cli_secret", "sec/broker"); /* to be revoked */
    s_raw_subscribe(&c, "orders.*", false, NULL, 0, NULL);
    s_raw_t k = s_raw("keys/late_secret", "sec/broker"); /* kept */
    char where[256];
    uint8_t ticket[16];
    s_raw_subscribe(&k, "orders.*", true, where, sizeof where, ticket);
    void *ks = s_stream_sub(
        &k, where, "keys/late_secret", "sec/broker", "orders.*", ticket, false);
    void *cs = s_stream_sub(
        &c, where, "keys/cli_secret", "sec/broker", "orders.*", ticket, false);
    ck_assert_msg(s_stream_got(ks, ITEST_WAIT_MS), "no welcome");
    ck_assert_msg(s_stream_got(cs, ITEST_WAIT_MS), "no welcome");
    /* A library client with a kept key, on the stream too. */
    actors_client_t *lib = s_client("keys/late_secret", "sec/broker");
    actors_subscription_t *sub = s_subscribed(lib, "shipments.*");
    ck_assert(s_publish_until(admin, "orders.created", ks, ITEST_WAIT_MS));
    ck_assert(s_stream_got(cs, ITEST_WAIT_MS));
    ck_assert(s_stream_got(c.sock, ITEST_WAIT_MS));
    /* What else those publishes brought. */
    while (s_stream_got(cs, 200) || s_stream_got(c.sock, 200)) {
    }

    ck_assert_int_eq(unlink(s_path("keys/cli")), 0);
    ck_assert_int_eq(unlink(s_path("keys/act")), 0);
    s_sighup(1);
    s_state_arg_t gone = {admin, "revoked/1", "running", true};
    ck_assert_msg(testutil_wait_until(s_state_pred, &gone, 15000),
        "the revoked actor still holds its address");
    while (s_stream_got(ks, 0)) {
    }
    ck_assert_msg(s_publish_until(admin, "orders.created", ks, 15000),
        "the kept subscriber did not come back: %s",
        testutil_proc_stderr(s_broker));
    /* The library's SUB is back too (events published while it was away
     * are lost to it: at most once). */
    bool got = false;
    actors_future_t *ev = NULL;
    TEST_ASSERT_OK(actors_subscription_next(sub, &ev));
    for (int i = 0; i < 150 && !got; i++) {
        actors_future_t *f = NULL;
        TEST_ASSERT_OK(actors_publish(admin, "shipments.sent", NULL, &f));
        ck_assert_int_eq(s_wait(f, ITEST_WAIT_MS), ACTORS_OK);
        actors_future_destroy(&f);
        got = actors_future_wait(ev, 100) == ACTORS_OK &&
              actors_future_is_ready(ev);
    }
    actors_future_destroy(&ev);
    ck_assert_msg(got, "the library client's subscription did not come back");
    ck_assert_msg(!s_stream_got(c.sock, SEC_QUIET_MS),
        "a revoked subscriber still gets events");
    ck_assert_msg(
        !s_stream_got(cs, 100), "a revoked stream reader still gets events");
    s_assert_log("BRK-AUTH-REVOKED closed=2 ");
    s_assert_log("BRK-STREAM-REVOKED closed=3 ");

    actors_unsubscribe(&sub);
    actors_client_destroy(&lib);
    zmq_close(ks);
    zmq_close(cs);
    s_raw_close(&k);
    s_raw_close(&c);
    actors_client_destroy(&admin);
    testutil_proc_kill(actor, SIGKILL);
}
END_TEST

/* A key listed twice with two roles (the client's public file copied
 * with role admin) is refused: it cannot be told which role is meant. */
START_TEST(test_security_key_with_two_roles)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
        "sed 's/role = \"client\"/role = \"admin\"/' %s > %s",
        s_path("keys/cli"), s_path("keys/cli-as-admin"));
    const char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    ck_assert_int_eq(testutil_run(argv, 10000, NULL, 0, NULL, 0), 0);
    s_broker_start();
    s_assert_log("with different roles");
    actors_client_t *cli = s_client("keys/cli_secret", "sec/broker");
    ck_assert(SEC_REFUSED(s_ping(cli, SEC_QUIET_MS)));
    actors_client_t *admin = s_client("keys/admin_secret", "sec/broker");
    ck_assert_int_eq(s_ping(admin, ITEST_WAIT_MS), ACTORS_OK);
    actors_client_destroy(&cli);
    actors_client_destroy(&admin);
}
END_TEST

/* Without keys a bind other hosts can reach refuses to start and says
 * how to make keys; --insecure allows it; half a key setup is a usage
 * error. */
START_TEST(test_security_safe_defaults)
{
    const char *open_bind[] = {
        "actors-broker", "--bind", "tcp://0.0.0.0:*", NULL};
    char out[2048];
    char err[4096];
    int rc = testutil_run(open_bind, 10000, out, sizeof out, err, sizeof err);
    ck_assert_int_eq(rc, 1);
    ck_assert_msg(strstr(err, "actorctl keygen") != NULL, "%s", err);
    const char *half[] = {"actors-broker", "--keys", s_path("keys"), NULL};
    rc = testutil_run(half, 10000, out, sizeof out, err, sizeof err);
    ck_assert_int_eq(rc, 2);
    const char *ep_file = s_path("insecure-ep");
    const char *insecure[] = {"actors-broker", "--bind", "tcp://0.0.0.0:*",
        "--insecure", "--endpoint-file", ep_file, NULL};
    testutil_proc_t *p = testutil_spawn(insecure, TESTUTIL_CAPTURE_STDERR);
    ck_assert(testutil_wait_until(s_file_ready, (void *)ep_file, 10000));
    ck_assert(testutil_proc_stop(p, 10000));
    ck_assert(strstr(testutil_proc_stderr(p), "BRK-INSECURE") != NULL);
}
END_TEST

static Suite *
s_suite(void)
{
    Suite *s = suite_create("security");
    TCase *tc = tcase_create("security");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_security_client_key_forbidden);
    tcase_add_test(tc, test_security_admin_spawns_and_kills);
    tcase_add_test(tc, test_security_placed_group_needs_claim);
    tcase_add_test(tc, test_security_key_address_patterns);
    tcase_add_test(tc, test_security_refused_peers);
    tcase_add_test(tc, test_security_plain_client_refused_names_handshake);
    tcase_add_test(tc, test_security_plain_client_fails_fast);
    tcase_add_test(tc, test_security_sighup_reload);
    tcase_add_test(tc, test_security_revoked_peers_cut_off);
    tcase_add_test(tc, test_security_key_with_two_roles);
    tcase_add_test(tc, test_security_safe_defaults);
    tcase_add_test(tc, test_security_stream);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return itest_run(s_suite());
}
