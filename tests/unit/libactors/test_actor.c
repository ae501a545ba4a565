/* tests/unit/libactors/test_actor.c - the actor runtime against a fake broker.
 * SPDX-License-Identifier: MIT
 *
 * The runtime (actor.c, actor_main.c, actor_timer.c) is driven without the
 * real broker: the test binds a ROUTER socket and plays the broker's part
 * frame by frame, while the actor runs on a second thread. This checks the
 * wire behaviour exactly: REGISTER and its info, replies and error types,
 * CREDIT for tells, deferred replies from timers, no traffic while idle,
 * registering again on a new connection, actors_actor_exit and SIGTERM.
 * The command line of actors_service_main and the timer heap are tested
 * directly.
 */
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <zmq.h>

#include <actors/actors.h>

#include "../../testutil.h"
#include "actor_internal.h"
#include "actor_timer.h"
#include <actors-internal/alloc.h>
#include "msg_internal.h"
#include <actors-internal/wire.h>

#define WAIT_MS 5000

#define OK(rc) ck_assert_int_eq((rc), ACTORS_OK)

/* ---- the service under test --------------------------------------------- */

typedef struct {
    int64_t tells; /* tells handled */
} svc_t;

static actors_err
s_svc_init(actors_actor_t *actor, const msgpack_object *args, void **state)
{
    int64_t refuse = 0;
    if (actors_args_int(args, 0, &refuse) == ACTORS_OK && refuse) {
        return actors_actor_error(
            actor, "ValueError", "refused %lld", (long long)refuse);
    }
    *state = calloc(1, sizeof(svc_t));
    return *state ? ACTORS_OK : ACTORS_ENOMEM;
}

static void
s_svc_fini(void *state)
{
    free(state);
}

static actors_err
s_svc_echo(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    svc_t *s = state;
    if (actors_ctx_is_tell(ctx)) {
        s->tells++;
        return ACTORS_OK;
    }
    return actors_ctx_reply_object(ctx, actors_args_at(args, 0));
}

static actors_err
s_svc_fail(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    (void)args;
    (void)state;
    return actors_ctx_error(
        ctx, "ValueError", "bad %s", actors_ctx_address(ctx));
}

static actors_err
s_svc_nothing(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    (void)ctx;
    (void)args;
    (void)state;
    return ACTORS_OK; /* nil */
}

static actors_err
s_svc_code(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    (void)ctx;
    (void)args;
    (void)state;
    return ACTORS_ENOMEM; /* no message set: the code's own text */
}

typedef struct {
    actors_deferred_t *d; /* owed */
    actors_msg_t *v;      /* value to reply */
} later_t;

static void
s_later_fire(actors_actor_t *actor, void *arg)
{
    (void)actor;
    later_t *l = arg;
    actors_deferred_reply(&l->d, &l->v);
    free(l);
}

/* later(ms, x): replies x after ms, from a timer. */
static actors_err
s_svc_later(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    (void)state;
    int64_t ms = 0;
    if (actors_args_int(args, 0, &ms) != ACTORS_OK) {
        return actors_ctx_error(ctx, "WrongArguments", "later(ms, x)");
    }
    later_t *l = calloc(1, sizeof *l);
    ck_assert_ptr_nonnull(l);
    OK(actors_msg_build(&l->v, "o", actors_args_at(args, 1)));
    OK(actors_ctx_defer(ctx, &l->d));
    OK(actors_actor_timer_add(
        actors_ctx_actor(ctx), (uint32_t)ms, false, s_later_fire, l, NULL));
    return ACTORS_OK;
}

static actors_err
s_svc_stop(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    (void)args;
    (void)state;
    actors_actor_exit(actors_ctx_actor(ctx), 7);
    return actors_ctx_reply_str(ctx, "bye");
}

static actors_err
s_svc_tells(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    (void)args;
    return actors_ctx_reply_int(ctx, ((svc_t *)state)->tells);
}

/* block(address): calls address.echo("in") and waits for it inside the
 * method, then replies what came back. */
static actors_err
s_svc_block(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    (void)args;
    (void)state;
    actors_future_t *f = NULL;
    const msgpack_object *r = NULL;
    OK(actors_client_call_fmt(actors_actor_client(actors_ctx_actor(ctx)),
        "other", "echo", NULL, &f, "s", "in"));
    actors_err rc = actors_future_get(f, WAIT_MS, &r);
    if (rc == ACTORS_OK) {
        rc = actors_ctx_reply_object(ctx, r);
    }
    actors_future_destroy(&f);
    return rc;
}

/* The gate: a method that blocks on something other than its own loop
 * (here a condition the test opens), as a slow method does. */
static pthread_mutex_t s_gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t s_gate_cond = PTHREAD_COND_INITIALIZER;
static bool s_gate_open;

static void
s_gate_set(bool open)
{
    pthread_mutex_lock(&s_gate_lock);
    s_gate_open = open;
    pthread_cond_broadcast(&s_gate_cond);
    pthread_mutex_unlock(&s_gate_lock);
}

/* gate(): waits until the test opens the gate, then replies "in".
 * Meanwhile it pumps the actor's client without waiting (allowed in a
 * handler), so that messages arriving meanwhile are queued as they come,
 * as they were while a method waited on a future. */
static actors_err
s_svc_gate(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    (void)args;
    (void)state;
    actors_client_t *c = actors_actor_client(actors_ctx_actor(ctx));
    pthread_mutex_lock(&s_gate_lock);
    while (!s_gate_open) {
        pthread_mutex_unlock(&s_gate_lock);
        OK(actors_client_poll(c, 0));
        pthread_mutex_lock(&s_gate_lock);
        if (!s_gate_open) {
            struct timespec until; /* a 2 ms poll pause, until the gate */
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += 2000000L;
            if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&s_gate_cond, &s_gate_lock, &until);
        }
    }
    pthread_mutex_unlock(&s_gate_lock);
    return actors_ctx_reply_str(ctx, "in");
}

static void
s_fwd_done(actors_future_t *f, void *arg)
{
    actors_deferred_t *d = arg;
    actors_deferred_forward(&d, f);
    actors_future_destroy(&f);
}

/* fwd(): defers, calls other.echo("out"), forwards its outcome. */
static actors_err
s_svc_fwd(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    (void)args;
    (void)state;
    actors_future_t *f = NULL;
    actors_deferred_t *d = NULL;
    OK(actors_client_call_fmt(actors_actor_client(actors_ctx_actor(ctx)),
        "other", "echo", NULL, &f, "s", "out"));
    OK(actors_ctx_defer(ctx, &d));
    OK(actors_future_on_done(f, s_fwd_done, d));
    return ACTORS_OK;
}

static const actors_method_t s_methods[] = {
    {"echo", s_svc_echo},
    {"fail", s_svc_fail},
    {"nothing", s_svc_nothing},
    {"code", s_svc_code},
    {"later", s_svc_later},
    {"stop", s_svc_stop},
    {"tells", s_svc_tells},
    {"block", s_svc_block},
    {"gate", s_svc_gate},
    {"fwd", s_svc_fwd},
    {NULL, NULL},
};

static const actors_service_t s_service = {
    .name = "testsvc",
    .methods = s_methods,
    .init = s_svc_init,
    .fini = s_svc_fini,
};

/* ---- the fake broker ---------------------------------------------------- */

typedef struct {
    void *ctx;          /* zmq context */
    void *sock;         /* ROUTER */
    char endpoint[128]; /* bound endpoint */
    uint8_t rid[256];   /* routing id of the actor's last message */
    size_t rid_len;     /* bytes of rid */
} fake_t;

/* A received message, routing id removed; frames copied. */
typedef struct {
    int n;             /* frames after the routing id */
    size_t len[8];     /* sizes */
    uint8_t *data[8];  /* contents */
    actors__hdr_t hdr; /* parsed frame 0 */
} fmsg_t;

static void
s_fake_start(fake_t *f)
{
    memset(f, 0, sizeof *f);
    f->ctx = zmq_ctx_new();
    f->sock = zmq_socket(f->ctx, ZMQ_ROUTER);
    int zero = 0;
    zmq_setsockopt(f->sock, ZMQ_LINGER, &zero, sizeof zero);
    ck_assert_int_eq(zmq_bind(f->sock, "tcp://127.0.0.1:*"), 0);
    size_t len = sizeof f->endpoint;
    zmq_getsockopt(f->sock, ZMQ_LAST_ENDPOINT, f->endpoint, &len);
}

static void
s_fake_stop(fake_t *f)
{
    zmq_close(f->sock);
    zmq_ctx_term(f->ctx);
}

static void
s_fmsg_free(fmsg_t *m)
{
    for (int i = 0; i < m->n; i++) {
        free(m->data[i]);
    }
    m->n = 0;
}

/* s_fake_recv receives one message within timeout_ms. */
static bool
s_fake_recv(fake_t *f, int timeout_ms, fmsg_t *m)
{
    zmq_pollitem_t it = {f->sock, 0, ZMQ_POLLIN, 0};
    memset(m, 0, sizeof *m);
    if (zmq_poll(&it, 1, timeout_ms) <= 0) {
        return false;
    }
    int more = 1;
    int i = -1;
    while (more) {
        zmq_msg_t fr;
        zmq_msg_init(&fr);
        ck_assert_int_ge(zmq_msg_recv(&fr, f->sock, 0), 0);
        more = zmq_msg_more(&fr);
        if (i < 0) {
            f->rid_len = zmq_msg_size(&fr);
            memcpy(f->rid, zmq_msg_data(&fr), f->rid_len);
        } else if (i < 8) {
            m->len[i] = zmq_msg_size(&fr);
            m->data[i] = malloc(m->len[i] + 1);
            memcpy(m->data[i], zmq_msg_data(&fr), m->len[i]);
            m->n = i + 1;
        }
        i++;
        zmq_msg_close(&fr);
    }
    ck_assert_int_ge(m->n, 1);
    OK(actors__hdr_parse(m->data[0], m->len[0], &m->hdr));
    return true;
}

/* s_fake_expect receives until a message with command cmd arrives,
 * skipping HEARTBEATs (unless cmd is HEARTBEAT); fails the test if none
 * comes within timeout_ms. */
static void
s_fake_expect(fake_t *f, uint8_t cmd, int timeout_ms, fmsg_t *m)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        long spent =
            (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
        ck_assert_msg(
            spent < timeout_ms, "no command %d within %d ms", cmd, timeout_ms);
        if (!s_fake_recv(f, (int)(timeout_ms - spent), m)) {
            continue;
        }
        if (m->hdr.cmd == cmd) {
            return;
        }
        ck_assert_msg(m->hdr.cmd == ACTORS_CMD_HEARTBEAT ||
                          m->hdr.cmd == ACTORS_CMD_CREDIT,
            "got command %d while waiting for %d", m->hdr.cmd, cmd);
        s_fmsg_free(m);
    }
}

/* s_fake_vsend sends a header (cmd, id, then names_len bytes of names)
 * and n body frames (data, len pairs from ap) to the actor's last routing
 * id. */
static void
s_fake_vsend(fake_t *f, uint8_t cmd, const char *id, const void *names,
    size_t names_len, int n, va_list ap)
{
    uint8_t hdr[ACTORS_WIRE_HDR_MAX];
    size_t id_len = id ? strlen(id) : 0;
    size_t hlen = actors__hdr_write(hdr, cmd, 0, id, id_len);
    ck_assert_uint_le(hlen + names_len, sizeof hdr);
    if (names_len > 0) {
        memcpy(hdr + hlen, names, names_len);
        hlen += names_len;
    }
    ck_assert_int_ge(zmq_send(f->sock, f->rid, f->rid_len, ZMQ_SNDMORE), 0);
    ck_assert_int_ge(zmq_send(f->sock, hdr, hlen, n > 0 ? ZMQ_SNDMORE : 0), 0);
    for (int i = 0; i < n; i++) {
        const void *d = va_arg(ap, const void *);
        size_t len = va_arg(ap, size_t);
        ck_assert_int_ge(
            zmq_send(f->sock, d, len, i < n - 1 ? ZMQ_SNDMORE : 0), 0);
    }
}

/* s_fake_send sends a header without names (cmd, id) and n body frames
 * (data, len pairs) to the actor's last routing id. */
static void
s_fake_send(fake_t *f, uint8_t cmd, const char *id, int n, ...)
{
    va_list ap;
    va_start(ap, n);
    s_fake_vsend(f, cmd, id, NULL, 0, n, ap);
    va_end(ap);
}

/* s_fake_send_call sends a CALL or TELL header (cmd, id, the names
 * address and method) and n body frames (data, len pairs). */
static void
s_fake_send_call(fake_t *f, uint8_t cmd, const char *id, const char *address,
    const char *method, int n, ...)
{
    uint8_t names[ACTORS_WIRE_NAMES_MAX];
    size_t names_len = actors__hdr_names_write(
        names, address, strlen(address), method, strlen(method));
    va_list ap;
    va_start(ap, n);
    s_fake_vsend(f, cmd, id, names, names_len, n, ap);
    va_end(ap);
}

/* s_fake_send_raw sends a CALL or TELL header (cmd, id) followed by
 * names_len raw bytes of names, well-formed or not, and n body frames. */
static void
s_fake_send_raw(fake_t *f, uint8_t cmd, const char *id, const void *names,
    size_t names_len, int n, ...)
{
    va_list ap;
    va_start(ap, n);
    s_fake_vsend(f, cmd, id, names, names_len, n, ap);
    va_end(ap);
}

/* s_fake_call sends CALL (or TELL) method(args...) with tag id; args are
 * built by actors_msg_build(fmt) and wrapped in an array. */
static void
s_fake_call(fake_t *f, uint8_t cmd, const char *id, const char *method,
    const char *fmt, ...)
{
    actors_msg_t *m = NULL;
    va_list ap;
    va_start(ap, fmt);
    /* actors_msg_build has no va_list form: rebuild by hand for the few
     * formats used here. */
    OK(actors_msg_create(&m));
    OK(actors_msg_add_array(m, (uint32_t)strlen(fmt)));
    for (const char *c = fmt; *c; c++) {
        if (*c == 'i') {
            OK(actors_msg_add_int(m, va_arg(ap, int)));
        } else if (*c == 's') {
            OK(actors_msg_add_str(m, va_arg(ap, const char *)));
        }
    }
    va_end(ap);
    s_fake_send_call(
        f, cmd, id, "t/1", method, 1, actors_msg_data(m), actors_msg_size(m));
    actors_msg_destroy(&m);
}

/* s_body decodes frame i of m; the caller destroys up. */
static const msgpack_object *
s_body(const fmsg_t *m, int i, msgpack_unpacked *up)
{
    msgpack_unpacked_init(up);
    size_t off = 0;
    ck_assert_int_gt(m->n, i);
    ck_assert_int_eq(
        msgpack_unpack_next(up, (const char *)m->data[i], m->len[i], &off),
        MSGPACK_UNPACK_SUCCESS);
    return &up->data;
}

static void
s_assert_id(const fmsg_t *m, const char *id)
{
    ck_assert_uint_eq(m->hdr.id_len, strlen(id));
    ck_assert(memcmp(m->hdr.id, id, m->hdr.id_len) == 0);
}

static void
s_assert_str(const msgpack_object *o, const char *want)
{
    const char *p = NULL;
    size_t n = 0;
    OK(actors_value_str(o, &p, &n));
    ck_assert_msg(n == strlen(want) && memcmp(p, want, n) == 0,
        "got '%.*s', want '%s'", (int)n, p, want);
}

/* s_expect_reply waits for REPLY id and returns its body (up). */
static const msgpack_object *
s_expect_reply(fake_t *f, const char *id, fmsg_t *m, msgpack_unpacked *up)
{
    s_fake_expect(f, ACTORS_CMD_REPLY, WAIT_MS, m);
    s_assert_id(m, id);
    ck_assert_int_eq(m->n, 2);
    return s_body(m, 1, up);
}

/* s_expect_error waits for ERROR id and checks its type (and message if
 * not NULL) and address. */
static void
s_expect_error(fake_t *f, const char *id, const char *type, const char *message)
{
    fmsg_t m;
    msgpack_unpacked up;
    s_fake_expect(f, ACTORS_CMD_ERROR, WAIT_MS, &m);
    s_assert_id(&m, id);
    const msgpack_object *b = s_body(&m, 1, &up);
    s_assert_str(actors_map_get(b, "type"), type);
    s_assert_str(actors_map_get(b, "address"), "t/1");
    if (message != NULL) {
        s_assert_str(actors_map_get(b, "message"), message);
    }
    msgpack_unpacked_destroy(&up);
    s_fmsg_free(&m);
}

/* ---- the actor thread --------------------------------------------------- */

typedef struct {
    const char *endpoint;        /* the fake broker */
    uint32_t prefetch;           /* opts */
    actors_err rc;               /* of the run */
    actors__run_result_t result; /* of the run */
    pthread_t thread;            /* running it */
} run_t;

static void *
s_actor_main(void *arg)
{
    run_t *r = arg;
    actors_actor_opts_t o = ACTORS_ACTOR_OPTS_INIT;
    o.endpoint = r->endpoint;
    o.address = "t/1";
    o.prefetch = r->prefetch;
    o.mailbox = 99;
    r->rc = actors__actor_run(&s_service, &o, NULL, &r->result);
    return NULL;
}

static void
s_actor_start(run_t *r, fake_t *f, uint32_t prefetch)
{
    memset(r, 0, sizeof *r);
    r->endpoint = f->endpoint;
    r->prefetch = prefetch;
    ck_assert_int_eq(pthread_create(&r->thread, NULL, s_actor_main, r), 0);
}

/* s_register_reply answers the REGISTER in m. */
static void
s_register_reply(fake_t *f, const fmsg_t *m, int heartbeat_ms, int liveness)
{
    char id[64];
    snprintf(id, sizeof id, "%.*s", (int)m->hdr.id_len, m->hdr.id);
    actors_msg_t *b = NULL;
    OK(actors_msg_build(&b, "{sisisi}", "heartbeat_ms", heartbeat_ms,
        "liveness", liveness, "max_message", 1 << 20));
    s_fake_send(
        f, ACTORS_CMD_REPLY, id, 1, actors_msg_data(b), actors_msg_size(b));
    actors_msg_destroy(&b);
}

/* s_accept waits for REGISTER, checks it and answers it. */
static void
s_accept(fake_t *f, int heartbeat_ms, int liveness)
{
    fmsg_t m;
    msgpack_unpacked up;
    s_fake_expect(f, ACTORS_CMD_REGISTER, WAIT_MS, &m);
    ck_assert_int_eq(m.n, 3);
    ck_assert_uint_gt(m.hdr.id_len, 0);
    ck_assert_uint_eq(m.len[1], 3);
    ck_assert(memcmp(m.data[1], "t/1", 3) == 0);
    const msgpack_object *info = s_body(&m, 2, &up);
    int64_t v = 0;
    s_assert_str(actors_map_get(info, "service"), "testsvc");
    OK(actors_value_int(actors_map_get(info, "pid"), &v));
    ck_assert_int_eq(v, getpid());
    OK(actors_value_int(actors_map_get(info, "mailbox"), &v));
    ck_assert_int_eq(v, 99);
    OK(actors_value_int(actors_map_get(info, "prefetch"), &v));
    ck_assert_int_gt(v, 0);
    bool progress = false;
    OK(actors_value_bool(actors_map_get(info, "progress"), &progress));
    ck_assert(progress);
    msgpack_unpacked_destroy(&up);
    s_register_reply(f, &m, heartbeat_ms, liveness);
    s_fmsg_free(&m);
}

/* s_stop_actor calls stop and checks the reply, UNREGISTER, exit code. */
static void
s_stop_actor(fake_t *f, run_t *r)
{
    fmsg_t m;
    msgpack_unpacked up;
    s_fake_call(f, ACTORS_CMD_CALL, "stop", "stop", "");
    s_assert_str(s_expect_reply(f, "stop", &m, &up), "bye");
    msgpack_unpacked_destroy(&up);
    s_fmsg_free(&m);
    s_fake_expect(f, ACTORS_CMD_UNREGISTER, WAIT_MS, &m);
    ck_assert_int_eq(m.n, 2);
    ck_assert(memcmp(m.data[1], "t/1", 3) == 0);
    s_fmsg_free(&m);
    pthread_join(r->thread, NULL);
    OK(r->rc);
    ck_assert_int_eq(r->result.exit_code, 7);
}

/* ---- tests: wire behaviour ---------------------------------------------- */

START_TEST(test_actor_call_reply_and_errors)
{
    fake_t f;
    run_t r;
    fmsg_t m;
    msgpack_unpacked up;
    s_fake_start(&f);
    s_actor_start(&r, &f, 0);
    s_accept(&f, 1000, 3);

    s_fake_call(&f, ACTORS_CMD_CALL, "tag-1", "echo", "s", "hi");
    s_assert_str(s_expect_reply(&f, "tag-1", &m, &up), "hi");
    msgpack_unpacked_destroy(&up);
    s_fmsg_free(&m);

    s_fake_call(&f, ACTORS_CMD_CALL, "tag-2", "nothing", "");
    ck_assert_int_eq(
        s_expect_reply(&f, "tag-2", &m, &up)->type, MSGPACK_OBJECT_NIL);
    msgpack_unpacked_destroy(&up);
    s_fmsg_free(&m);

    s_fake_call(&f, ACTORS_CMD_CALL, "tag-3", "fail", "");
    s_expect_error(&f, "tag-3", "ValueError", "bad t/1");
    s_fake_call(&f, ACTORS_CMD_CALL, "tag-4", "frobnicate", "i", 1);
    s_expect_error(&f, "tag-4", "NoSuchMethod", NULL);
    s_fake_call(&f, ACTORS_CMD_CALL, "tag-5", "code", "");
    s_expect_error(&f, "tag-5", "OutOfMemory", actors_strerror(ACTORS_ENOMEM));

    const uint8_t bad = 0xc1;  /* never valid msgpack */
    const uint8_t five = 0x05; /* valid, not an array */
    const uint8_t two[] = {0x90, 0x90};
    s_fake_send_call(
        &f, ACTORS_CMD_CALL, "tag-6", "t/1", "echo", 1, &bad, (size_t)1);
    s_expect_error(&f, "tag-6", "BadMsgpack", NULL);
    s_fake_send_call(
        &f, ACTORS_CMD_CALL, "tag-7", "t/1", "echo", 1, &five, (size_t)1);
    s_expect_error(&f, "tag-7", "WrongArguments", NULL);
    s_fake_send_call(
        &f, ACTORS_CMD_CALL, "tag-8", "t/1", "echo", 1, two, sizeof two);
    s_expect_error(&f, "tag-8", "BadMsgpack", NULL);

    /* Still serving, state kept. */
    s_fake_call(&f, ACTORS_CMD_CALL, "tag-9", "echo", "i", 42);
    int64_t v = 0;
    OK(actors_value_int(s_expect_reply(&f, "tag-9", &m, &up), &v));
    ck_assert_int_eq(v, 42);
    msgpack_unpacked_destroy(&up);
    s_fmsg_free(&m);

    s_stop_actor(&f, &r);
    s_fake_stop(&f);
}
END_TEST

/* Arguments nested deeper than msgpack-c decodes (32 containers, the args
 * array included) are BadMsgpack, not OutOfMemory, and the actor serves
 * on; the deepest accepted arguments reach the method intact. */
START_TEST(test_actor_deep_args_are_bad_msgpack)
{
    fake_t f;
    run_t r;
    fmsg_t m;
    msgpack_unpacked up;
    s_fake_start(&f);
    s_actor_start(&r, &f, 0);
    s_accept(&f, 1000, 3);
    uint8_t deep[80];
    int depths[] = {33, 40, 70};
    for (size_t i = 0; i < sizeof depths / sizeof depths[0]; i++) {
        int d = depths[i];
        memset(deep, 0x91, (size_t)d); /* [[[...[1]...]]] */
        deep[d] = 0x01;
        char id[16];
        snprintf(id, sizeof id, "deep-%d", d);
        s_fake_send_call(
            &f, ACTORS_CMD_CALL, id, "t/1", "echo", 1, deep, (size_t)d + 1);
        s_expect_error(&f, id, "BadMsgpack", NULL);
    }
    /* 32 deep: echo replies its one argument, 31 deep, unchanged. */
    memset(deep, 0x91, 32);
    deep[32] = 0x01;
    s_fake_send_call(
        &f, ACTORS_CMD_CALL, "deep-32", "t/1", "echo", 1, deep, (size_t)33);
    s_expect_reply(&f, "deep-32", &m, &up);
    ck_assert_uint_eq(m.len[1], 32);
    ck_assert_mem_eq(m.data[1], deep + 1, 32);
    msgpack_unpacked_destroy(&up);
    s_fmsg_free(&m);
    /* Still serving. */
    s_fake_call(&f, ACTORS_CMD_CALL, "after", "echo", "s", "alive");
    s_assert_str(s_expect_reply(&f, "after", &m, &up), "alive");
    msgpack_unpacked_destroy(&up);
    s_fmsg_free(&m);
    s_stop_actor(&f, &r);
    s_fake_stop(&f);
}
END_TEST

/* A method name that is not UTF-8 is quoted in the NoSuchMethod message
 * with U+FFFD for each ill-formed sequence, so the body stays valid for
 * strict decoders. */
START_TEST(test_actor_error_body_is_valid_utf8)
{
    fake_t f;
    run_t r;
    fmsg_t m;
    msgpack_unpacked up;
    s_fake_start(&f);
    s_actor_start(&r, &f, 0);
    s_accept(&f, 1000, 3);
    const uint8_t args[] = {0x90}; /* [] */
    s_fake_send_call(
        &f, ACTORS_CMD_CALL, "u-1", "t/1", "go\xc3(\xff", 1, args, sizeof args);
    s_fake_expect(&f, ACTORS_CMD_ERROR, WAIT_MS, &m);
    s_assert_id(&m, "u-1");
    const msgpack_object *b = s_body(&m, 1, &up);
    s_assert_str(actors_map_get(b, "type"), "NoSuchMethod");
    s_assert_str(actors_map_get(b, "message"),
        "testsvc has no method 'go\xef\xbf\xbd(\xef\xbf\xbd'");
    msgpack_unpacked_destroy(&up);
    s_fmsg_free(&m);
    s_stop_actor(&f, &r);
    s_fake_stop(&f);
}
END_TEST

/* A dispatch the runtime cannot read: a CALL is answered BadRequest with
 * the broker's tag, a TELL is still credited; the actor serves on. */
START_TEST(test_actor_malformed_dispatch)
{
    fake_t f;
    run_t r;
    fmsg_t m;
    msgpack_unpacked up;
    s_fake_start(&f);
    s_actor_start(&r, &f, 4);
    s_accept(&f, 1000, 3);
    const uint8_t args[] = {0x91, 0x07}; /* [7] */

    /* Names missing from the header (the ACT1 layout: names as frames). */
    s_fake_send(&f, ACTORS_CMD_CALL, "m-1", 3, "t/1", (size_t)3, "echo",
        (size_t)4, args, sizeof args);
    s_expect_error(&f, "m-1", "BadRequest", NULL);
    s_fake_send(&f, ACTORS_CMD_CALL, "m-2", 1, args, sizeof args);
    s_expect_error(&f, "m-2", "BadRequest", NULL);
    /* Malformed names: address cut short, empty method, a byte too many. */
    s_fake_send_raw(
        &f, ACTORS_CMD_CALL, "m-3", "\x09t/1", 4, 1, args, sizeof args);
    s_expect_error(&f, "m-3", "BadRequest", NULL);
    s_fake_send_raw(
        &f, ACTORS_CMD_CALL, "m-4", "\x03t/1\x00", 5, 1, args, sizeof args);
    s_expect_error(&f, "m-4", "BadRequest", NULL);
    s_fake_send_raw(&f, ACTORS_CMD_CALL, "m-5",
        "\x03t/1\x04"
        "echoX",
        10, 1, args, sizeof args);
    s_expect_error(&f, "m-5", "BadRequest", NULL);
    /* Good names, wrong frame count: no args, or args key and one more. */
    s_fake_send_call(&f, ACTORS_CMD_CALL, "m-6", "t/1", "echo", 0);
    s_expect_error(&f, "m-6", "BadRequest", NULL);
    s_fake_send_call(&f, ACTORS_CMD_CALL, "m-7", "t/1", "echo", 3, args,
        sizeof args, "key", (size_t)3, "more", (size_t)4);
    s_expect_error(&f, "m-7", "BadRequest", NULL);

    /* Malformed tells: no answer, but each one is credited. */
    s_fake_send(&f, ACTORS_CMD_TELL, "", 3, "t/1", (size_t)3, "echo", (size_t)4,
        args, sizeof args);
    s_fake_send_raw(
        &f, ACTORS_CMD_TELL, "", "\x03t/1\x00", 5, 1, args, sizeof args);
    s_fake_send_call(&f, ACTORS_CMD_TELL, "", "t/1", "echo", 0);
    uint32_t credited = 0;
    while (credited < 3) {
        s_fake_expect(&f, ACTORS_CMD_CREDIT, WAIT_MS, &m);
        ck_assert_int_eq(m.n, 2);
        ck_assert_uint_eq(m.len[1], 4);
        credited += actors__be32(m.data[1]);
        s_fmsg_free(&m);
    }
    ck_assert_uint_eq(credited, 3);

    /* A well-formed call with a key (the third frame) is served, and no
     * malformed tell was run. */
    s_fake_send_call(&f, ACTORS_CMD_CALL, "ok", "t/1", "echo", 2, args,
        sizeof args, "key-1", (size_t)5);
    int64_t v = 0;
    OK(actors_value_int(s_expect_reply(&f, "ok", &m, &up), &v));
    ck_assert_int_eq(v, 7);
    msgpack_unpacked_destroy(&up);
    s_fmsg_free(&m);
    s_fake_call(&f, ACTORS_CMD_CALL, "n", "tells", "");
    OK(actors_value_int(s_expect_reply(&f, "n", &m, &up), &v));
    ck_assert_int_eq(v, 0);
    msgpack_unpacked_destroy(&up);
    s_fmsg_free(&m);
    s_stop_actor(&f, &r);
    s_fake_stop(&f);
}
END_TEST

/* prefetch 4: CREDIT every 2 tells, and the rest before it waits. */
START_TEST(test_actor_tells_are_credited)
{
    fake_t f;
    run_t r;
    fmsg_t m;
    msgpack_unpacked up;
    s_fake_start(&f);
    s_actor_start(&r, &f, 4);
    s_accept(&f, 1000, 3);
    for (int i = 0; i < 7; i++) {
        s_fake_call(&f, ACTORS_CMD_TELL, "", "echo", "i", i);
    }
    s_fake_call(&f, ACTORS_CMD_TELL, "", "nope", ""); /* NoSuchMethod */
    uint32_t credited = 0;
    while (credited < 8) {
        s_fake_expect(&f, ACTORS_CMD_CREDIT, WAIT_MS, &m);
        ck_assert_int_eq(m.n, 2);
        /* count, and (when it claims messages ahead) the last taken up */
        ck_assert(m.len[1] == 4 || m.len[1] == 8);
        uint32_t c = actors__be32(m.data[1]);
        credited += c;
        s_fmsg_free(&m);
    }
    ck_assert_uint_eq(credited, 8);
    s_fake_call(&f, ACTORS_CMD_CALL, "n", "tells", "");
    int64_t v = 0;
    OK(actors_value_int(s_expect_reply(&f, "n", &m, &up), &v));
    ck_assert_int_eq(v, 7);
    msgpack_unpacked_destroy(&up);
    s_fmsg_free(&m);
    s_stop_actor(&f, &r);
    s_fake_stop(&f);
}
END_TEST

/* A deferred reply leaves the loop free: a later echo is answered first. */
START_TEST(test_actor_deferred_reply)
{
    fake_t f;
    run_t r;
    fmsg_t m;
    msgpack_unpacked up;
    s_fake_start(&f);
    s_actor_start(&r, &f, 0);
    s_accept(&f, 1000, 3);
    s_fake_call(&f, ACTORS_CMD_CALL, "slow", "later", "is", 200, "late");
    s_fake_call(&f, ACTORS_CMD_CALL, "fast", "echo", "s", "now");
    s_assert_str(s_expect_reply(&f, "fast", &m, &up), "now");
    msgpack_unpacked_destroy(&up);
    s_fmsg_free(&m);
    s_assert_str(s_expect_reply(&f, "slow", &m, &up), "late");
    msgpack_unpacked_destroy(&up);
    s_fmsg_free(&m);
    s_stop_actor(&f, &r);
    s_fake_stop(&f);
}
END_TEST

/* s_pattern fills buf with len bytes that differ from one offset to the
 * next (a shifted or truncated copy does not match). */
static void
s_pattern(uint8_t *buf, size_t len, unsigned seed)
{
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < len; i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (uint8_t)(x >> 16);
    }
}

/* s_call_bin sends CALL method(ms?, bin) with tag id: [bin], or [ms, bin]
 * when ms >= 0. */
static void
s_call_bin(fake_t *f, const char *id, const char *method, int ms,
    const uint8_t *buf, size_t len)
{
    actors_msg_t *m = NULL;
    if (ms >= 0) {
        OK(actors_msg_build(&m, "[iB]", ms, buf, len));
    } else {
        OK(actors_msg_build(&m, "[B]", buf, len));
    }
    s_fake_send_call(f, ACTORS_CMD_CALL, id, "t/1", method, 1,
        actors_msg_data(m), actors_msg_size(m));
    actors_msg_destroy(&m);
}

/* s_expect_bin waits for REPLY id and checks that it is exactly buf. */
static void
s_expect_bin(fake_t *f, const char *id, const uint8_t *buf, size_t len)
{
    fmsg_t m;
    msgpack_unpacked up;
    const msgpack_object *o = s_expect_reply(f, id, &m, &up);
    ck_assert_int_eq(o->type, MSGPACK_OBJECT_BIN);
    ck_assert_uint_eq(o->via.bin.size, len);
    ck_assert_msg(memcmp(o->via.bin.ptr, buf, len) == 0,
        "reply %s of %zu bytes differs from what was sent", id, len);
    msgpack_unpacked_destroy(&up);
    s_fmsg_free(&m);
}

/* Results from ACTORS__MSG_STEAL_MIN bytes on leave the actor in the
 * reply frame's own buffer (no copy): each must arrive byte for byte,
 * around the threshold, twice in a row (the reused result builder grows a
 * new buffer), then small again, from a deferred reply too, and a result
 * over max_message is still TooLarge. */
START_TEST(test_actor_large_reply_arrives_intact)
{
    fake_t f;
    run_t r;
    size_t sizes[] = {16, ACTORS__MSG_STEAL_MIN - 8, ACTORS__MSG_STEAL_MIN,
        ACTORS__MSG_STEAL_MIN + 1, 65536, 1000000, 1000000, 100, 300000};
    uint8_t *buf = malloc(1 << 20);
    ck_assert_ptr_nonnull(buf);
    s_fake_start(&f);
    s_actor_start(&r, &f, 0);
    s_accept(&f, 1000, 3);
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        char id[16];
        snprintf(id, sizeof id, "big%zu", k);
        s_pattern(buf, sizes[k], (unsigned)k);
        s_call_bin(&f, id, "echo", -1, buf, sizes[k]);
        s_expect_bin(&f, id, buf, sizes[k]);
    }
    s_pattern(buf, 200000, 99);
    s_call_bin(&f, "late", "later", 50, buf, 200000);
    s_expect_bin(&f, "late", buf, 200000);
    /* 1 MiB of bytes is 1 MiB + 5 encoded: over the limit of 1 << 20. */
    s_call_bin(&f, "over", "echo", -1, buf, 1 << 20);
    s_expect_error(&f, "over", "TooLarge", NULL);
    s_pattern(buf, 5000, 7);
    s_call_bin(&f, "after", "echo", -1, buf, 5000);
    s_expect_bin(&f, "after", buf, 5000);
    s_stop_actor(&f, &r);
    s_fake_stop(&f);
    free(buf);
}
END_TEST

/* s_expect_out waits for the actor's own CALL to other.echo and returns
 * its request id (id_len bytes in id). */
static size_t
s_expect_out(fake_t *f, uint8_t *id)
{
    fmsg_t m;
    s_fake_expect(f, ACTORS_CMD_CALL, WAIT_MS, &m);
    ck_assert_int_eq(m.n, 2); /* header (with the names) args */
    ck_assert_uint_eq(m.hdr.address_len, 5);
    ck_assert(memcmp(m.hdr.address, "other", 5) == 0);
    ck_assert_uint_eq(m.hdr.method_len, 4);
    ck_assert(memcmp(m.hdr.method, "echo", 4) == 0);
    size_t n = m.hdr.id_len;
    memcpy(id, m.hdr.id, n);
    s_fmsg_free(&m);
    return n;
}

/* s_answer_out answers the actor's own call id with REPLY body. */
static void
s_answer_out(fake_t *f, const uint8_t *id, size_t id_len, uint8_t cmd,
    const void *body, size_t len)
{
    uint8_t hdr[ACTORS_WIRE_HDR_MAX];
    size_t hlen = actors__hdr_write(hdr, cmd, 0, id, id_len);
    ck_assert_int_ge(zmq_send(f->sock, f->rid, f->rid_len, ZMQ_SNDMORE), 0);
    ck_assert_int_ge(zmq_send(f->sock, hdr, hlen, ZMQ_SNDMORE), 0);
    ck_assert_int_ge(zmq_send(f->sock, body, len, 0), 0);
}

/* A method that waits on its own loop (actors_future_get on the actor's
 * client) is refused with Deadlock at once, instead of freezing the calls
 * and timers behind it until its timeout: its caller gets the error, and a
 * CALL that arrives meanwhile is answered right after. (Before, the wait
 * held the loop for as long as the callee took, WAIT_MS here.) */
START_TEST(test_actor_wait_on_own_loop_refused)
{
    fake_t f;
    run_t r;
    fmsg_t m;
    msgpack_unpacked up;
    uint8_t id[ACTORS_WIRE_ID_MAX];
    s_fake_start(&f);
    s_actor_start(&r, &f, 0);
    s_accept(&f, 1000, 3);
    int64_t t0 = testutil_now_ms();
    s_fake_call(&f, ACTORS_CMD_CALL, "blk", "block", "");
    s_fake_call(&f, ACTORS_CMD_CALL, "mid", "echo", "s", "next");
    (void)s_expect_out(&f, id);
    s_expect_error(&f, "blk", "Deadlock", NULL);
    s_assert_str(s_expect_reply(&f, "mid", &m, &up), "next");
    msgpack_unpacked_destroy(&up);
    s_fmsg_free(&m);
    ck_assert_int_lt(testutil_now_ms() - t0, WAIT_MS / 2);
    s_stop_actor(&f, &r);
    s_fake_stop(&f);
}
END_TEST

/* Before it takes up a message while an earlier one has neither its reply
 * nor its credit sent (a tell), the actor tells the broker how far it has
 * got (CREDIT count, taken), so that what it never started can be
 * re-delivered if it dies. Here a call blocks (1) while two tells (2, 3)
 * and a call (4) queue up; after its reply, tell 2 may start unannounced
 * (the reply says 1 was taken up), but tell 3 may not: a claim up to 4
 * comes before anything of tell 3 or the call. The first call blocks on
 * a gate the test opens (not on its own loop, which is refused). */
START_TEST(test_actor_claims_what_it_takes_up)
{
    fake_t f;
    run_t r;
    fmsg_t m;
    msgpack_unpacked up;
    s_fake_start(&f);
    s_actor_start(&r, &f, 64);
    s_accept(&f, 1000, 3);
    s_gate_set(false);
    s_fake_call(&f, ACTORS_CMD_CALL, "b1", "gate", "");
    s_fake_call(&f, ACTORS_CMD_TELL, "", "echo", "i", 2);
    s_fake_call(&f, ACTORS_CMD_TELL, "", "echo", "i", 3);
    s_fake_call(&f, ACTORS_CMD_CALL, "c4", "echo", "i", 4);
    /* The actor has them queued once it answers a PING-like probe: give
     * its hook time to read them while it is blocked (a poll pause with
     * nothing expected back). */
    ck_assert(!s_fake_recv(&f, 200, &m) || m.hdr.cmd == ACTORS_CMD_HEARTBEAT);
    s_fmsg_free(&m);
    s_gate_set(true);
    s_assert_str(s_expect_reply(&f, "b1", &m, &up), "in");
    msgpack_unpacked_destroy(&up);
    s_fmsg_free(&m);
    s_fake_expect(&f, ACTORS_CMD_CREDIT, WAIT_MS, &m);
    ck_assert_int_eq(m.n, 2);
    ck_assert_uint_eq(m.len[1], 8);
    ck_assert_uint_eq(actors__be32(m.data[1]), 1);     /* tell 2 done */
    ck_assert_uint_eq(actors__be32(m.data[1] + 4), 4); /* up to the call */
    s_fmsg_free(&m);
    int64_t v = 0;
    OK(actors_value_int(s_expect_reply(&f, "c4", &m, &up), &v));
    ck_assert_int_eq(v, 4);
    msgpack_unpacked_destroy(&up);
    s_fmsg_free(&m);
    s_stop_actor(&f, &r);
    s_fake_stop(&f);
}
END_TEST

/* A deferred call forwards the outcome of the actor's own call: a result,
 * and an error with its type, message and original address. */
START_TEST(test_actor_deferred_forward)
{
    fake_t f;
    run_t r;
    fmsg_t m;
    msgpack_unpacked up;
    uint8_t id[ACTORS_WIRE_ID_MAX];
    s_fake_start(&f);
    s_actor_start(&r, &f, 0);
    s_accept(&f, 1000, 3);

    s_fake_call(&f, ACTORS_CMD_CALL, "f1", "fwd", "");
    size_t id_len = s_expect_out(&f, id);
    s_fake_call(&f, ACTORS_CMD_CALL, "e1", "echo", "i", 5);
    int64_t v = 0;
    OK(actors_value_int(s_expect_reply(&f, "e1", &m, &up), &v));
    ck_assert_int_eq(v, 5); /* the loop is free while f1 waits */
    msgpack_unpacked_destroy(&up);
    s_fmsg_free(&m);
    const uint8_t out[] = {0xa3, 'o', 'u', 't'};
    s_answer_out(&f, id, id_len, ACTORS_CMD_REPLY, out, sizeof out);
    s_assert_str(s_expect_reply(&f, "f1", &m, &up), "out");
    msgpack_unpacked_destroy(&up);
    s_fmsg_free(&m);

    s_fake_call(&f, ACTORS_CMD_CALL, "f2", "fwd", "");
    id_len = s_expect_out(&f, id);
    actors_msg_t *b = NULL;
    OK(actors_msg_build(&b, "{ssssss}", "type", "KeyError", "message",
        "far away", "address", "other"));
    s_answer_out(&f, id, id_len, ACTORS_CMD_ERROR, actors_msg_data(b),
        actors_msg_size(b));
    actors_msg_destroy(&b);
    s_fake_expect(&f, ACTORS_CMD_ERROR, WAIT_MS, &m);
    s_assert_id(&m, "f2");
    const msgpack_object *e = s_body(&m, 1, &up);
    s_assert_str(actors_map_get(e, "type"), "KeyError");
    s_assert_str(actors_map_get(e, "message"), "far away");
    s_assert_str(actors_map_get(e, "address"), "other");
    msgpack_unpacked_destroy(&up);
    s_fmsg_free(&m);

    s_stop_actor(&f, &r);
    s_fake_stop(&f);
}
END_TEST

/* s_fake_rebind closes the fake broker's socket (its connections drop) and
 * binds a new one to the same endpoint, as a restarted broker would. */
static void
s_fake_rebind(fake_t *f)
{
    zmq_close(f->sock);
    f->sock = zmq_socket(f->ctx, ZMQ_ROUTER);
    int zero = 0;
    zmq_setsockopt(f->sock, ZMQ_LINGER, &zero, sizeof zero);
    /* The old listener is closed by libzmq's I/O thread, soon. */
    int64_t deadline = testutil_now_ms() + WAIT_MS;
    while (zmq_bind(f->sock, f->endpoint) != 0) {
        ck_assert_msg(testutil_now_ms() < deadline, "cannot bind %s again: %s",
            f->endpoint, zmq_strerror(zmq_errno()));
        testutil_poll_pause_ms(10);
    }
}

/* An idle actor sends nothing: no HEARTBEAT, however short the broker's
 * heartbeat_ms (liveness is ZMTP's, answered by libzmq), and it still
 * answers afterwards. */
START_TEST(test_actor_idle_sends_nothing)
{
    fake_t f;
    run_t r;
    fmsg_t m;
    s_fake_start(&f);
    s_actor_start(&r, &f, 0);
    s_accept(&f, 50, 3);
    ck_assert_msg(
        !s_fake_recv(&f, 500, &m), "an idle actor sent command %d", m.hdr.cmd);
    s_stop_actor(&f, &r);
    s_fake_stop(&f);
}
END_TEST

/* A new connection (the broker went and came back: libzmq reconnects by
 * itself) makes the actor register again, and it serves the new one. */
START_TEST(test_actor_registers_again_on_new_connection)
{
    fake_t f;
    run_t r;
    fmsg_t m;
    msgpack_unpacked up;
    s_fake_start(&f);
    s_actor_start(&r, &f, 0);
    /* A long liveness: the news is the new connection, not a silence. */
    s_accept(&f, 1000, 60);
    s_fake_rebind(&f);
    s_accept(&f, 1000, 3);
    s_fake_call(&f, ACTORS_CMD_CALL, "c1", "echo", "i", 7);
    int64_t v = 0;
    OK(actors_value_int(s_expect_reply(&f, "c1", &m, &up), &v));
    ck_assert_int_eq(v, 7);
    msgpack_unpacked_destroy(&up);
    s_fmsg_free(&m);
    s_stop_actor(&f, &r);
    s_fake_stop(&f);
}
END_TEST

/* NameTaken at the first registration ends the run with ETAKEN. */
START_TEST(test_actor_name_taken)
{
    fake_t f;
    run_t r;
    fmsg_t m;
    s_fake_start(&f);
    s_actor_start(&r, &f, 0);
    actors_msg_t *b = NULL;
    OK(actors_msg_build(&b, "{ssssss}", "type", "NameTaken", "message", "taken",
        "address", "t/1"));
    /* Every REGISTER is refused: the actor retries for its grace (the
     * holder might be its predecessor, just dead) and then gives up. */
    int refused = 0;
    while (s_fake_recv(&f, 1500, &m)) {
        if (m.hdr.cmd == ACTORS_CMD_REGISTER) {
            char id[64];
            snprintf(id, sizeof id, "%.*s", (int)m.hdr.id_len, m.hdr.id);
            s_fake_send(&f, ACTORS_CMD_ERROR, id, 1, actors_msg_data(b),
                actors_msg_size(b));
            refused++;
        }
        s_fmsg_free(&m);
    }
    actors_msg_destroy(&b);
    ck_assert_int_ge(refused, 1);
    pthread_join(r.thread, NULL);
    ck_assert_int_eq(r.rc, ACTORS_ETAKEN);
    ck_assert_str_eq(r.result.type, "NameTaken");
    s_fake_stop(&f);
}
END_TEST

/* SIGTERM to the loop thread: UNREGISTER, fini, a clean return. */
START_TEST(test_actor_sigterm_stops_cleanly)
{
    fake_t f;
    run_t r;
    fmsg_t m;
    s_fake_start(&f);
    s_actor_start(&r, &f, 0);
    s_accept(&f, 1000, 3);
    pthread_kill(r.thread, SIGTERM);
    s_fake_expect(&f, ACTORS_CMD_UNREGISTER, WAIT_MS, &m);
    s_fmsg_free(&m);
    pthread_join(r.thread, NULL);
    OK(r.rc);
    ck_assert_int_eq(r.result.exit_code, 0);
    s_fake_stop(&f);
}
END_TEST

/* ---- tests: init, options, command line --------------------------------- */

START_TEST(test_actor_init_failure)
{
    actors_msg_t *m = NULL;
    OK(actors_msg_build(&m, "[i]", 5));
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    ck_assert_int_eq(
        msgpack_unpack_next(&up, actors_msg_data(m), actors_msg_size(m), &off),
        MSGPACK_UNPACK_SUCCESS);
    actors_actor_opts_t o = ACTORS_ACTOR_OPTS_INIT;
    o.endpoint = "tcp://127.0.0.1:1";
    o.address = "t/1";
    actors__run_result_t res;
    ck_assert_int_eq(
        actors__actor_run(&s_service, &o, &up.data, &res), ACTORS_EAPP);
    ck_assert(res.init_failed);
    ck_assert_str_eq(res.type, "ValueError");
    ck_assert_str_eq(res.message, "refused 5");
    msgpack_unpacked_destroy(&up);
    actors_msg_destroy(&m);
}
END_TEST

/* Every allocation of the start-up path may fail: the run reports
 * ENOMEM and frees what it made, until it gets as far as init. */
START_TEST(test_actor_run_survives_oom)
{
    actors_msg_t *m = NULL;
    OK(actors_msg_build(&m, "[i]", 1));
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    ck_assert_int_eq(
        msgpack_unpack_next(&up, actors_msg_data(m), actors_msg_size(m), &off),
        MSGPACK_UNPACK_SUCCESS);
    actors_actor_opts_t o = ACTORS_ACTOR_OPTS_INIT;
    o.endpoint = "tcp://127.0.0.1:1";
    o.address = "t/1";
    for (unsigned n = 1;; n++) {
        actors__run_result_t res;
        actors__alloc_fail_after(n);
        actors_err rc = actors__actor_run(&s_service, &o, &up.data, &res);
        actors__alloc_fail_after(0);
        if (rc == ACTORS_EAPP) {
            ck_assert(res.init_failed);
            break;
        }
        ck_assert_msg(
            rc == ACTORS_ENOMEM, "allocation %u: %s", n, actors_err_name(rc));
        ck_assert(!res.init_failed);
        ck_assert_uint_lt(n, 1000);
    }
    msgpack_unpacked_destroy(&up);
    actors_msg_destroy(&m);
}
END_TEST

START_TEST(test_actor_bad_opts)
{
    actors_actor_opts_t o = ACTORS_ACTOR_OPTS_INIT;
    ck_assert_int_eq(actors_actor_run(&s_service, &o, NULL), ACTORS_EINVAL);
    o.address = "";
    ck_assert_int_eq(actors_actor_run(&s_service, &o, NULL), ACTORS_EINVAL);
    ck_assert_int_eq(actors_actor_run(NULL, &o, NULL), ACTORS_EINVAL);
}
END_TEST

START_TEST(test_actor_parse_args)
{
    actors_actor_opts_t o;
    int first = 0;
    bool help = false;
    char err[256];
    char *a1[] = {"svc", "--broker", "tcp://h:1", "--address", "a/1",
        "--prefetch", "8", "--mailbox=100", "100", "-5", "x", NULL};
    OK(actors__actor_parse_args(11, a1, &o, &first, &help, err, sizeof err));
    ck_assert_str_eq(o.endpoint, "tcp://h:1");
    ck_assert_str_eq(o.address, "a/1");
    ck_assert_uint_eq(o.prefetch, 8);
    ck_assert_uint_eq(o.mailbox, 100);
    ck_assert_int_eq(first, 8);
    ck_assert(!help);

    char *a2[] = {"svc", "--address=b", NULL};
    OK(actors__actor_parse_args(2, a2, &o, &first, &help, err, sizeof err));
    ck_assert_ptr_null(o.endpoint);
    ck_assert_str_eq(o.address, "b");
    ck_assert_int_eq(first, 2);

    char *a3[] = {"svc", "10", NULL}; /* no address */
    ck_assert_int_eq(
        actors__actor_parse_args(2, a3, &o, &first, &help, err, sizeof err),
        ACTORS_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "--address"));
    char *a4[] = {"svc", "--address", "a", "--prefetch", "x", NULL};
    ck_assert_int_eq(
        actors__actor_parse_args(5, a4, &o, &first, &help, err, sizeof err),
        ACTORS_EINVAL);
    char *a5[] = {"svc", "--address", "a", "--bogus", NULL};
    ck_assert_int_eq(
        actors__actor_parse_args(4, a5, &o, &first, &help, err, sizeof err),
        ACTORS_EINVAL);
    char *a6[] = {"svc", "--address", NULL};
    ck_assert_int_eq(
        actors__actor_parse_args(2, a6, &o, &first, &help, err, sizeof err),
        ACTORS_EINVAL);
    char *a7[] = {"svc", "--address", "a", "--", "--x", NULL};
    OK(actors__actor_parse_args(5, a7, &o, &first, &help, err, sizeof err));
    ck_assert_int_eq(first, 4);
    char *a8[] = {"svc", "--help", NULL};
    OK(actors__actor_parse_args(2, a8, &o, &first, &help, err, sizeof err));
    ck_assert(help);
}
END_TEST

/* actors_service_main: exit status 2 for bad usage, bad JSON, failed init. */
START_TEST(test_actor_service_main_exit_codes)
{
    char *a1[] = {"svc", NULL};
    ck_assert_int_eq(actors_service_main(&s_service, 1, a1), 2);
    char *a2[] = {"svc", "--broker", "tcp://127.0.0.1:1", "--address", "t/1",
        "[1,", NULL};
    ck_assert_int_eq(actors_service_main(&s_service, 6, a2), 2);
    char *a3[] = {
        "svc", "--broker", "tcp://127.0.0.1:1", "--address", "t/1", "3", NULL};
    ck_assert_int_eq(actors_service_main(&s_service, 6, a3), 2);
    char *a4[] = {"svc", "--help", NULL};
    ck_assert_int_eq(actors_service_main(&s_service, 2, a4), 0);
    /* JSON 32 deep is 33 inside the constructor's argument array: more
     * than msgpack-c decodes, so a usage error, not OutOfMemory. */
    char deep[80] = "";
    for (int i = 0; i < 32; i++) {
        strcat(deep, "[");
    }
    strcat(deep, "1");
    for (int i = 0; i < 32; i++) {
        strcat(deep, "]");
    }
    char *a5[] = {
        "svc", "--broker", "tcp://127.0.0.1:1", "--address", "t/1", deep, NULL};
    ck_assert_int_eq(actors_service_main(&s_service, 6, a5), 2);
}
END_TEST

/* ---- tests: the timer heap ---------------------------------------------- */

static int s_fired[16];
static int s_nfired;

static void
s_timer_note(actors_actor_t *actor, void *arg)
{
    (void)actor;
    s_fired[s_nfired++] = (int)(intptr_t)arg;
}

START_TEST(test_actor_timer_order_and_cancel)
{
    actors__timers_t t = {0};
    int ids[5];
    OK(actors__timers_add(
        &t, 1000, 30, false, s_timer_note, (void *)1, &ids[0]));
    OK(actors__timers_add(
        &t, 1000, 10, false, s_timer_note, (void *)2, &ids[1]));
    OK(actors__timers_add(
        &t, 1000, 10, false, s_timer_note, (void *)3, &ids[2]));
    OK(actors__timers_add(
        &t, 1000, 20, true, s_timer_note, (void *)4, &ids[3]));
    OK(actors__timers_add(
        &t, 1000, 5, false, s_timer_note, (void *)5, &ids[4]));
    ck_assert_int_eq(
        actors__timers_add(&t, 1000, 0, true, s_timer_note, NULL, NULL),
        ACTORS_EINVAL);
    OK(actors__timers_cancel(&t, ids[4]));
    ck_assert_int_eq(actors__timers_cancel(&t, ids[4]), ACTORS_EINVAL);
    ck_assert_uint_eq(actors__timers_next(&t), 1010);
    s_nfired = 0;
    actors__timer_t out;
    uint64_t before = actors__timers_seq(&t);
    while (actors__timers_pop(&t, 1030, before, &out)) {
        out.fn(NULL, out.arg);
    }
    /* 2 and 3 at 1010 in order of adding, 4 at 1020, 1 at 1030; 4 again
     * not in the same pass. */
    ck_assert_int_eq(s_nfired, 4);
    ck_assert_int_eq(s_fired[0], 2);
    ck_assert_int_eq(s_fired[1], 3);
    ck_assert_int_eq(s_fired[2], 4);
    ck_assert_int_eq(s_fired[3], 1);
    ck_assert_uint_eq(actors__timers_count(&t), 1);
    ck_assert_uint_eq(actors__timers_next(&t), 1040);
    OK(actors__timers_cancel(&t, ids[3]));
    ck_assert_uint_eq(actors__timers_next(&t), UINT64_MAX);
    actors__timers_fini(&t);
}
END_TEST

START_TEST(test_actor_timer_survives_oom)
{
    actors__timers_t t = {0};
    actors__alloc_fail_after(1);
    ck_assert_int_eq(
        actors__timers_add(&t, 0, 1, false, s_timer_note, NULL, NULL),
        ACTORS_ENOMEM);
    actors__alloc_fail_after(0);
    ck_assert_uint_eq(actors__timers_count(&t), 0);
    OK(actors__timers_add(&t, 0, 1, false, s_timer_note, NULL, NULL));
    ck_assert_uint_eq(actors__timers_count(&t), 1);
    actors__timers_fini(&t);
}
END_TEST

Suite *actor_suite(void);

Suite *
actor_suite(void)
{
    Suite *s = suite_create("actor");
    TCase *tc = tcase_create("wire");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_actor_call_reply_and_errors);
    tcase_add_test(tc, test_actor_malformed_dispatch);
    tcase_add_test(tc, test_actor_deep_args_are_bad_msgpack);
    tcase_add_test(tc, test_actor_error_body_is_valid_utf8);
    tcase_add_test(tc, test_actor_tells_are_credited);
    tcase_add_test(tc, test_actor_claims_what_it_takes_up);
    tcase_add_test(tc, test_actor_deferred_reply);
    tcase_add_test(tc, test_actor_large_reply_arrives_intact);
    tcase_add_test(tc, test_actor_wait_on_own_loop_refused);
    tcase_add_test(tc, test_actor_deferred_forward);
    tcase_add_test(tc, test_actor_idle_sends_nothing);
    tcase_add_test(tc, test_actor_registers_again_on_new_connection);
    tcase_add_test(tc, test_actor_name_taken);
    tcase_add_test(tc, test_actor_sigterm_stops_cleanly);
    suite_add_tcase(s, tc);
    tc = tcase_create("local");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_actor_init_failure);
    tcase_add_test(tc, test_actor_run_survives_oom);
    tcase_add_test(tc, test_actor_bad_opts);
    tcase_add_test(tc, test_actor_parse_args);
    tcase_add_test(tc, test_actor_service_main_exit_codes);
    tcase_add_test(tc, test_actor_timer_order_and_cancel);
    tcase_add_test(tc, test_actor_timer_survives_oom);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(actor_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
