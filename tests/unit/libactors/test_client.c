/* tests/unit/libactors/test_client.c - the client against a fake broker.
 * SPDX-License-Identifier: MIT
 *
 * The fake broker is a ROUTER socket inside the test (a mock is allowed in
 * a unit test): it reads what the client sent and answers per wire.h. The
 * test thread drives both sides in turn: the client sends, the fake reads
 * and answers, then the client is pumped (future wait, client poll).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <check.h>
#include <zmq.h>

#include <actors/client.h>
#include <actors/future.h>
#include <actors/log.h>
#include <actors/msg.h>

#include "../../testutil.h"
#include <actors-internal/alloc.h>
#include "client_internal.h"
#include <actors-internal/wire.h>

#define FAKE_MAX_FRAMES 8

typedef struct {
    void *ctx;    /* own context */
    void *router; /* bound to ep */
    char ep[256]; /* tcp://127.0.0.1:PORT */
} fake_t;

/* A message the fake received; f[0] is the client's routing id. */
typedef struct {
    int n;
    zmq_msg_t f[FAKE_MAX_FRAMES];
} fmsg_t;

static void
fake_start(fake_t *fb)
{
    fb->ctx = zmq_ctx_new();
    ck_assert_ptr_nonnull(fb->ctx);
    fb->router = zmq_socket(fb->ctx, ZMQ_ROUTER);
    ck_assert_ptr_nonnull(fb->router);
    int zero = 0;
    zmq_setsockopt(fb->router, ZMQ_SNDHWM, &zero, sizeof zero);
    zmq_setsockopt(fb->router, ZMQ_RCVHWM, &zero, sizeof zero);
    zmq_setsockopt(fb->router, ZMQ_LINGER, &zero, sizeof zero);
    ck_assert_int_eq(zmq_bind(fb->router, "tcp://127.0.0.1:*"), 0);
    size_t len = sizeof fb->ep;
    ck_assert_int_eq(
        zmq_getsockopt(fb->router, ZMQ_LAST_ENDPOINT, fb->ep, &len), 0);
}

static void
fake_stop(fake_t *fb)
{
    zmq_close(fb->router);
    zmq_ctx_term(fb->ctx);
}

static void
fmsg_close(fmsg_t *m)
{
    for (int i = 0; i < m->n; i++) {
        zmq_msg_close(&m->f[i]);
    }
    m->n = 0;
}

/* fake_recv reads one message within timeout_ms. */
static bool
fake_recv(fake_t *fb, fmsg_t *m, int timeout_ms)
{
    zmq_pollitem_t item = {fb->router, 0, ZMQ_POLLIN, 0};
    m->n = 0;
    if (zmq_poll(&item, 1, timeout_ms) <= 0) {
        return false;
    }
    bool more = true;
    while (more) {
        ck_assert_int_lt(m->n, FAKE_MAX_FRAMES);
        zmq_msg_init(&m->f[m->n]);
        ck_assert_int_ge(zmq_msg_recv(&m->f[m->n], fb->router, 0), 0);
        more = zmq_msg_more(&m->f[m->n]);
        m->n++;
    }
    return true;
}

static void
fake_recv_ok(fake_t *fb, fmsg_t *m)
{
    ck_assert_msg(fake_recv(fb, m, 5000), "the fake broker got nothing");
}

static actors__hdr_t
fmsg_hdr(fmsg_t *m)
{
    ck_assert_int_ge(m->n, 2);
    actors__hdr_t h;
    TEST_ASSERT_OK(
        actors__hdr_parse(zmq_msg_data(&m->f[1]), zmq_msg_size(&m->f[1]), &h));
    return h;
}

static void
fake_send_frame(fake_t *fb, const void *data, size_t len, bool more)
{
    ck_assert_int_ge(
        zmq_send(fb->router, data, len, more ? ZMQ_SNDMORE : 0), 0);
}

/* fake_answer answers req (as received) with cmd and body. Like the real
 * broker, it sends the request's header back with the command rewritten:
 * a reply to a CALL carries the call's names after the request id. */
static void
fake_answer(fake_t *fb, fmsg_t *req, uint8_t cmd, const void *body, size_t len)
{
    (void)fmsg_hdr(req); /* a header the client could read back */
    uint8_t hdr[ACTORS_WIRE_HDR_MAX];
    size_t hlen = zmq_msg_size(&req->f[1]);
    ck_assert_uint_le(hlen, sizeof hdr);
    memcpy(hdr, zmq_msg_data(&req->f[1]), hlen);
    actors__hdr_set_cmd(hdr, cmd);
    fake_send_frame(
        fb, zmq_msg_data(&req->f[0]), zmq_msg_size(&req->f[0]), true);
    fake_send_frame(fb, hdr, hlen, true);
    fake_send_frame(fb, body, len, false);
}

/* fake_reply_msg answers req with REPLY and the one value of m. */
static void
fake_reply_msg(fake_t *fb, fmsg_t *req, actors_msg_t *m)
{
    ck_assert_uint_eq(actors_msg_count(m), 1);
    fake_answer(
        fb, req, ACTORS_CMD_REPLY, actors_msg_data(m), actors_msg_size(m));
}

static void
fake_reply_int(fake_t *fb, fmsg_t *req, int64_t v)
{
    actors_msg_t *m = NULL;
    TEST_ASSERT_OK(actors_msg_build(&m, "I", v));
    fake_reply_msg(fb, req, m);
    actors_msg_destroy(&m);
}

static void
fake_error(fake_t *fb, fmsg_t *req, actors_err code, const char *type,
    const char *message, const char *address)
{
    actors_msg_t *m = NULL;
    TEST_ASSERT_OK(actors_msg_create(&m));
    TEST_ASSERT_OK(actors__error_body(m, code, type, message, address));
    fake_answer(
        fb, req, ACTORS_CMD_ERROR, actors_msg_data(m), actors_msg_size(m));
    actors_msg_destroy(&m);
}

static bool
frame_eq(zmq_msg_t *f, const char *s)
{
    return zmq_msg_size(f) == strlen(s) &&
           memcmp(zmq_msg_data(f), s, zmq_msg_size(f)) == 0;
}

/* names_eq: the CALL/TELL header h carries exactly these names. */
static bool
names_eq(const actors__hdr_t *h, const char *address, const char *method)
{
    return h->address != NULL && h->address_len == strlen(address) &&
           memcmp(h->address, address, h->address_len) == 0 &&
           h->method != NULL && h->method_len == strlen(method) &&
           memcmp(h->method, method, h->method_len) == 0;
}

static int64_t
s_result_int(actors_future_t *f)
{
    const msgpack_object *r = NULL;
    TEST_ASSERT_OK(actors_future_get(f, 5000, &r));
    int64_t v = 0;
    TEST_ASSERT_OK(actors_value_int(r, &v));
    return v;
}

/* ---- tests -------------------------------------------------------------- */

START_TEST(test_client_create_rejects_bad_endpoint)
{
    actors_client_t *c = (actors_client_t *)&c;
    TEST_ASSERT_ERR(actors_client_create(&c, "nonsense"), ACTORS_EINVAL);
    ck_assert_ptr_null(c);
    TEST_ASSERT_ERR(actors_client_create(&c, "bogus://x"), ACTORS_EINVAL);
    ck_assert_ptr_null(c);
    actors_client_destroy(&c);
}
END_TEST

START_TEST(test_client_endpoint_default)
{
    ck_assert_str_eq(actors_endpoint_default("tcp://h:1"), "tcp://h:1");
    unsetenv("ACTORS_BROKER");
    ck_assert_str_eq(actors_endpoint_default(NULL), ACTORS_DEFAULT_ENDPOINT);
    setenv("ACTORS_BROKER", "", 1);
    ck_assert_str_eq(actors_endpoint_default(NULL), ACTORS_DEFAULT_ENDPOINT);
    setenv("ACTORS_BROKER", "tcp://127.0.0.1:7", 1);
    ck_assert_str_eq(actors_endpoint_default(NULL), "tcp://127.0.0.1:7");
    unsetenv("ACTORS_BROKER");
}
END_TEST

START_TEST(test_client_create_survives_oom)
{
    fake_t fb;
    fake_start(&fb);
    for (unsigned n = 1;; n++) {
        actors_client_t *c = NULL;
        actors__alloc_fail_after(n);
        actors_err rc = actors_client_create(&c, fb.ep);
        actors__alloc_fail_after(0);
        if (rc == ACTORS_OK) {
            actors_client_destroy(&c);
            ck_assert_ptr_null(c);
            break;
        }
        TEST_ASSERT_ERR(rc, ACTORS_ENOMEM);
        ck_assert_ptr_null(c);
    }
    fake_stop(&fb);
}
END_TEST

/* Request ids travel in 4 bytes while they fit in 31 bits, in 8 after;
 * a tell's mark survives both forms, and nothing else reads back. */
START_TEST(test_client_request_id_forms)
{
    const uint64_t tell = (uint64_t)1 << 63;
    const uint64_t ids[] = {1, 2, 0x7fffffffu, 0x80000000u, 0xffffffffu,
        (uint64_t)1 << 40, 1 | tell, 0x7fffffffu | tell, 0x80000000u | tell,
        ((uint64_t)1 << 62) | tell};
    const size_t lens[] = {4, 4, 4, 8, 8, 8, 4, 4, 8, 8};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        uint8_t b[8];
        size_t n = actors__client_id_write(ids[i], b);
        ck_assert_uint_eq(n, lens[i]);
        uint64_t back = 0;
        ck_assert(actors__client_id_read(b, n, &back));
        ck_assert_msg(back == ids[i], "id %zu: %llx read back as %llx", i,
            (unsigned long long)ids[i], (unsigned long long)back);
    }
    uint64_t x;
    ck_assert(!actors__client_id_read("abc", 3, &x));
    ck_assert(!actors__client_id_read("", 0, &x));
    ck_assert(!actors__client_id_read("123456789", 9, &x));
}
END_TEST

START_TEST(test_client_sends_frames_per_wire)
{
    fake_t fb;
    fake_start(&fb);
    actors_client_t *c = NULL;
    TEST_ASSERT_OK(actors_client_create(&c, fb.ep));
    fmsg_t m;

    /* CALL: header(id, timeout, address, method) args-array. */
    actors_msg_t *args = NULL;
    TEST_ASSERT_OK(actors_msg_build(&args, "is", 1, "x"));
    actors_call_opts_t opts = {1500};
    actors_future_t *f = NULL;
    TEST_ASSERT_OK(
        actors_client_call(c, "account/1", "deposit", &args, &opts, &f));
    ck_assert_ptr_null(args);
    ck_assert_uint_eq(actors_client_pending(c), 1);
    fake_recv_ok(&fb, &m);
    ck_assert_int_eq(m.n, 3);
    actors__hdr_t h = fmsg_hdr(&m);
    ck_assert_uint_eq(h.cmd, ACTORS_CMD_CALL);
    ck_assert_uint_eq(h.timeout_ms, 1500);
    ck_assert_uint_eq(h.id_len, 4);
    ck_assert(names_eq(&h, "account/1", "deposit"));
    /* The header is exactly: fixed part, id, names. */
    ck_assert_uint_eq(zmq_msg_size(&m.f[1]), ACTORS_WIRE_HDR_MIN + 4 + 1 +
                                                 strlen("account/1") + 1 +
                                                 strlen("deposit"));
    ck_assert_uint_eq(zmq_msg_size(&m.f[2]), 4);
    ck_assert_int_eq(memcmp(zmq_msg_data(&m.f[2]), "\x92\x01\xa1x", 4), 0);
    uint8_t first_id[4];
    memcpy(first_id, h.id, 4);
    fmsg_close(&m);

    /* No arguments: an empty array; a new request id; no options: the
     * client's default deadline. */
    actors_future_t *g = NULL;
    TEST_ASSERT_OK(actors_client_call(c, "a/1", "value", NULL, NULL, &g));
    fake_recv_ok(&fb, &m);
    ck_assert_int_eq(m.n, 3);
    h = fmsg_hdr(&m);
    ck_assert_uint_eq(h.timeout_ms, ACTORS_CLIENT_TIMEOUT_DEFAULT);
    ck_assert_uint_eq(h.id_len, 4);
    ck_assert_int_ne(memcmp(h.id, first_id, 4), 0);
    ck_assert(names_eq(&h, "a/1", "value"));
    ck_assert_uint_eq(zmq_msg_size(&m.f[2]), 1);
    ck_assert_uint_eq(*(uint8_t *)zmq_msg_data(&m.f[2]), 0x90);
    fmsg_close(&m);

    /* TELL: a request id (for the broker's acknowledgement), no
     * future, not pending. */
    TEST_ASSERT_OK(actors_msg_build(&args, "d", 2.0));
    size_t pending = actors_client_pending(c);
    TEST_ASSERT_OK(actors_client_tell(c, "a/1", "deposit", &args));
    ck_assert_ptr_null(args);
    ck_assert_uint_eq(actors_client_pending(c), pending);
    fake_recv_ok(&fb, &m);
    ck_assert_int_eq(m.n, 3);
    h = fmsg_hdr(&m);
    ck_assert_uint_eq(h.cmd, ACTORS_CMD_TELL);
    ck_assert_uint_eq(h.id_len, 4);
    ck_assert(names_eq(&h, "a/1", "deposit"));
    ck_assert_uint_eq(zmq_msg_size(&m.f[2]), 10); /* [2.0] */
    fmsg_close(&m);

    /* TELL, nowait: no request id at all. */
    TEST_ASSERT_OK(actors_msg_build(&args, "d", 3.0));
    TEST_ASSERT_OK(actors_client_tell_nowait(c, "a/1", "deposit", &args));
    ck_assert_ptr_null(args);
    fake_recv_ok(&fb, &m);
    ck_assert_int_eq(m.n, 3);
    h = fmsg_hdr(&m);
    ck_assert_uint_eq(h.cmd, ACTORS_CMD_TELL);
    ck_assert_uint_eq(h.id_len, 0);
    ck_assert(names_eq(&h, "a/1", "deposit"));
    fmsg_close(&m);

    /* The longest names (255 bytes each) fit the header. */
    char longest[ACTORS_WIRE_NAME_MAX + 1];
    memset(longest, 'n', ACTORS_WIRE_NAME_MAX);
    longest[ACTORS_WIRE_NAME_MAX] = '\0';
    actors_future_t *big = NULL;
    TEST_ASSERT_OK(actors_client_call(c, longest, longest, NULL, &opts, &big));
    fake_recv_ok(&fb, &m);
    ck_assert_int_eq(m.n, 3);
    ck_assert_uint_eq(zmq_msg_size(&m.f[1]), ACTORS_WIRE_HDR_MAX - 255 + 4);
    h = fmsg_hdr(&m);
    ck_assert_uint_eq(h.id_len, 4);
    ck_assert(names_eq(&h, longest, longest));
    fake_reply_int(&fb, &m, 9);
    fmsg_close(&m);
    ck_assert_int_eq(s_result_int(big), 9);
    actors_future_destroy(&big);

    /* LOOKUP: header address; LIST and PING: header. */
    actors_future_t *l = NULL, *s = NULL, *p = NULL;
    TEST_ASSERT_OK(actors_client_lookup(c, "a/1", &l));
    TEST_ASSERT_OK(actors_client_list(c, &s));
    TEST_ASSERT_OK(actors_client_ping(c, &p));
    ck_assert_uint_eq(actors_client_pending(c), 5);
    uint8_t want[] = {ACTORS_CMD_LOOKUP, ACTORS_CMD_LIST, ACTORS_CMD_PING};
    int frames[] = {3, 2, 2};
    for (int i = 0; i < 3; i++) {
        fake_recv_ok(&fb, &m);
        ck_assert_int_eq(m.n, frames[i]);
        h = fmsg_hdr(&m);
        ck_assert_uint_eq(h.cmd, want[i]);
        ck_assert_uint_eq(h.id_len, 4);
        /* No names in their headers; LOOKUP's address is a frame. */
        ck_assert_uint_eq(zmq_msg_size(&m.f[1]), ACTORS_WIRE_HDR_MIN + 4);
        if (want[i] == ACTORS_CMD_LOOKUP) {
            ck_assert(frame_eq(&m.f[2], "a/1"));
        }
        fmsg_close(&m);
    }
    ck_assert(!actors_future_is_ready(l));
    actors_future_destroy(&f);
    actors_future_destroy(&g);
    actors_future_destroy(&l);
    actors_future_destroy(&s);
    actors_future_destroy(&p);
    actors_client_destroy(&c);
    fake_stop(&fb);
}
END_TEST

/* A SPAWN spec is msgpack with str fields: a service, name or node that is
 * not UTF-8 is refused (replacing bytes would name another actor), and
 * the constructor arguments' JSON texts are made valid UTF-8. */
/* Groups: a routed call sets flag 0x02 and ends with the routing key
 * (after the call key); a broadcast is a TELL with flag 0x01 whose future
 * resolves on the broker's acknowledgement. */
START_TEST(test_client_group_frames)
{
    fake_t fb;
    fake_start(&fb);
    actors_client_t *c = NULL;
    TEST_ASSERT_OK(actors_client_create(&c, fb.ep));
    fmsg_t m;
    actors_call_opts_t opts = ACTORS_CALL_OPTS_INIT;
    opts.key = "k1";
    opts.key_len = 2;
    opts.route = "user-7";
    opts.route_len = 6;
    actors_future_t *f = NULL;
    TEST_ASSERT_OK(actors_client_call(c, "pool/1", "pid", NULL, &opts, &f));
    fake_recv_ok(&fb, &m);
    ck_assert_int_eq(m.n, 5); /* rid, header, args, key, route */
    actors__hdr_t h = fmsg_hdr(&m);
    ck_assert_uint_eq(h.cmd, ACTORS_CMD_CALL);
    ck_assert_uint_eq(h.flags, ACTORS__FLAG_ROUTED);
    ck_assert(frame_eq(&m.f[3], "k1"));
    ck_assert(frame_eq(&m.f[4], "user-7"));
    fmsg_close(&m);
    /* A route without a key. */
    opts.key = NULL;
    opts.key_len = 0;
    actors_future_t *g = NULL;
    TEST_ASSERT_OK(actors_client_call(c, "pool/1", "pid", NULL, &opts, &g));
    fake_recv_ok(&fb, &m);
    ck_assert_int_eq(m.n, 4);
    ck_assert_uint_eq(fmsg_hdr(&m).flags, ACTORS__FLAG_ROUTED);
    ck_assert(frame_eq(&m.f[3], "user-7"));
    fmsg_close(&m);
    /* A plain call has no flags. */
    actors_future_t *p = NULL;
    TEST_ASSERT_OK(actors_client_call(c, "pool/1", "pid", NULL, NULL, &p));
    fake_recv_ok(&fb, &m);
    ck_assert_int_eq(m.n, 3);
    ck_assert_uint_eq(fmsg_hdr(&m).flags, 0);
    fmsg_close(&m);
    /* A bad route. */
    opts.route = NULL;
    actors_future_t *bad = NULL;
    ck_assert_int_eq(actors_client_call(c, "pool/1", "pid", NULL, &opts, &bad),
        ACTORS_EINVAL);
    /* Broadcast with an acknowledgement. */
    actors_msg_t *args = NULL;
    TEST_ASSERT_OK(actors_msg_build(&args, "i", 1));
    actors_future_t *b = NULL;
    TEST_ASSERT_OK(actors_client_broadcast(c, "pool/1", "reset", &args, &b));
    ck_assert_ptr_null(args);
    fake_recv_ok(&fb, &m);
    ck_assert_int_eq(m.n, 3);
    h = fmsg_hdr(&m);
    ck_assert_uint_eq(h.cmd, ACTORS_CMD_TELL);
    ck_assert_uint_eq(h.flags, ACTORS__FLAG_BROADCAST);
    ck_assert_uint_eq(h.id_len, 4);
    ck_assert(names_eq(&h, "pool/1", "reset"));
    fake_answer(&fb, &m, ACTORS_CMD_REPLY, "\xc0", 1);
    fmsg_close(&m);
    TEST_ASSERT_OK(actors_future_wait(b, 5000));
    ck_assert_ptr_null(actors_future_error(b));
    actors_future_destroy(&b);
    actors_future_destroy(&f);
    actors_future_destroy(&g);
    actors_future_destroy(&p);
    actors_client_destroy(&c);
    fake_stop(&fb);
}
END_TEST

START_TEST(test_client_spawn_spec_is_valid_utf8)
{
    fake_t fb;
    fake_start(&fb);
    actors_client_t *c = NULL;
    TEST_ASSERT_OK(actors_client_create(&c, fb.ep));
    actors_future_t *f = NULL;
    actors_spawn_opts_t o = ACTORS_SPAWN_OPTS_INIT;
    o.service = "chaos";
    o.name = "chaos/\xff";
    TEST_ASSERT_ERR(actors_client_spawn(c, &o, &f), ACTORS_EINVAL);
    ck_assert_ptr_null(f);
    o.name = NULL;
    o.node = "node\xc0\xaf";
    TEST_ASSERT_ERR(actors_client_spawn(c, &o, &f), ACTORS_EINVAL);
    o.node = NULL;
    o.service = "ch\xe9os";
    TEST_ASSERT_ERR(actors_client_spawn(c, &o, &f), ACTORS_EINVAL);
    o.service = "chaos";
    o.name = "chaos/\xc3\xa9"; /* valid UTF-8 is fine */
    o.detached = true;
    actors_msg_t *args = NULL;
    TEST_ASSERT_OK(actors_msg_build(&args, "S", "x\xff", (size_t)2));
    o.args = args;
    TEST_ASSERT_OK(actors_client_spawn(c, &o, &f));
    fmsg_t m;
    fake_recv_ok(&fb, &m);
    ck_assert_int_eq(m.n, 3);
    ck_assert_uint_eq(fmsg_hdr(&m).cmd, ACTORS_CMD_SPAWN);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    ck_assert_int_eq(msgpack_unpack_next(&up, zmq_msg_data(&m.f[2]),
                         zmq_msg_size(&m.f[2]), NULL),
        MSGPACK_UNPACK_SUCCESS);
    const msgpack_object *a = actors_map_get(&up.data, "args");
    ck_assert_ptr_nonnull(a);
    ck_assert_int_eq(a->type, MSGPACK_OBJECT_ARRAY);
    ck_assert_uint_eq(a->via.array.size, 1);
    const char want[] = "\"x\xef\xbf\xbd\"";
    ck_assert_int_eq(a->via.array.ptr[0].type, MSGPACK_OBJECT_STR);
    ck_assert_uint_eq(a->via.array.ptr[0].via.str.size, sizeof want - 1);
    ck_assert_mem_eq(a->via.array.ptr[0].via.str.ptr, want, sizeof want - 1);
    const char *name = NULL;
    size_t name_len = 0;
    TEST_ASSERT_OK(
        actors_value_str(actors_map_get(&up.data, "name"), &name, &name_len));
    ck_assert_uint_eq(name_len, 8);
    ck_assert_mem_eq(name, "chaos/\xc3\xa9", 8);
    msgpack_unpacked_destroy(&up);
    fmsg_close(&m);
    actors_msg_destroy(&args);
    actors_future_destroy(&f);
    actors_client_destroy(&c);
    fake_stop(&fb);
}
END_TEST

START_TEST(test_client_call_rejects_bad_names)
{
    actors_client_t *c = NULL;
    TEST_ASSERT_OK(actors_client_create(&c, "tcp://127.0.0.1:9"));
    char longname[300];
    memset(longname, 'm', sizeof longname);
    longname[256] = '\0';
    actors_msg_t *args = NULL;
    TEST_ASSERT_OK(actors_msg_build(&args, "i", 1));
    actors_future_t *f = NULL;
    TEST_ASSERT_ERR(
        actors_client_call(c, "", "m", &args, NULL, &f), ACTORS_EINVAL);
    TEST_ASSERT_ERR(
        actors_client_call(c, NULL, "m", &args, NULL, &f), ACTORS_EINVAL);
    TEST_ASSERT_ERR(
        actors_client_call(c, "a/1", longname, &args, NULL, &f), ACTORS_EINVAL);
    TEST_ASSERT_ERR(actors_client_tell(c, longname, "m", &args), ACTORS_EINVAL);
    TEST_ASSERT_ERR(actors_client_lookup(c, "", &f), ACTORS_EINVAL);
    ck_assert_ptr_null(f);
    ck_assert_ptr_nonnull(args); /* untouched */
    ck_assert_uint_eq(actors_msg_count(args), 1);
    longname[255] = '\0'; /* 255 bytes is allowed */
    TEST_ASSERT_OK(actors_client_call(c, "a/1", longname, &args, NULL, &f));
    ck_assert_ptr_null(args);

    /* An open container is not a set of arguments. */
    TEST_ASSERT_OK(actors_msg_create(&args));
    TEST_ASSERT_OK(actors_msg_add_array(args, 2));
    actors_future_t *g = NULL;
    TEST_ASSERT_ERR(
        actors_client_call(c, "a/1", "m", &args, NULL, &g), ACTORS_EINVAL);
    ck_assert_ptr_nonnull(args);
    ck_assert_uint_eq(actors_client_pending(c), 1);
    actors_msg_destroy(&args);
    actors_future_destroy(&f);
    actors_client_destroy(&c);
}
END_TEST

START_TEST(test_client_call_survives_oom)
{
    fake_t fb;
    fake_start(&fb);
    actors_client_t *c = NULL;
    TEST_ASSERT_OK(actors_client_create(&c, fb.ep));
    for (unsigned n = 1;; n++) {
        actors_future_t *f = NULL;
        actors__alloc_fail_after(n);
        actors_err rc = actors_client_call_fmt(c, "a/1", "m", NULL, &f, "i", 1);
        actors__alloc_fail_after(0);
        if (rc == ACTORS_OK) {
            ck_assert_uint_eq(actors_client_pending(c), 1);
            actors_future_destroy(&f);
            break;
        }
        TEST_ASSERT_ERR(rc, ACTORS_ENOMEM);
        ck_assert_ptr_null(f);
        ck_assert_uint_eq(actors_client_pending(c), 0);
    }
    actors_client_destroy(&c);
    fake_stop(&fb);
}
END_TEST

static void
s_flag_cb(actors_future_t *f, void *arg)
{
    (void)f;
    (*(int *)arg)++;
}

/* s_count_hook counts the messages handed to the hook. */
static void
s_count_hook(void *arg, const actors__hdr_t *hdr, zmq_msg_t *frames, int n)
{
    (void)hdr;
    (void)frames;
    (void)n;
    (*(int *)arg)++;
}

/* Log lines captured by s_log_cb. */
typedef struct {
    int n;          /* CLI-TELL-REFUSED lines */
    char text[512]; /* the last one */
} s_logged_t;

static void
s_log_cb(
    actors_log_level_t level, const char *msgid, const char *text, void *arg)
{
    s_logged_t *l = arg;
    if (level == ACTORS_LOG_WARN && strcmp(msgid, "CLI-TELL-REFUSED") == 0) {
        l->n++;
        snprintf(l->text, sizeof l->text, "%s", text);
    }
}

/* The broker's answers to plain tells are consumed when the client is
 * pumped: REPLY silently, ERROR counted and logged with the address and
 * type (once a second at most); none is ever pending or reaches a hook. */
START_TEST(test_client_tell_answers_consumed)
{
    s_logged_t logged = {0};
    actors_log_set_handler(s_log_cb, &logged);
    fake_t fb;
    fake_start(&fb);
    actors_client_t *c = NULL;
    TEST_ASSERT_OK(actors_client_create(&c, fb.ep));
    int hooked = 0;
    actors__client_set_hook(c, s_count_hook, &hooked);
    fmsg_t m;
    TEST_ASSERT_OK(actors_client_tell(c, "a/1", "ok", NULL));
    fake_recv_ok(&fb, &m);
    fake_answer(&fb, &m, ACTORS_CMD_REPLY, "\xc0", 1);
    fmsg_close(&m);
    TEST_ASSERT_OK(actors_client_tell(c, "nobody/1", "m", NULL));
    fake_recv_ok(&fb, &m);
    fake_error(&fb, &m, ACTORS_ENOACTOR, NULL, "no actor at address nobody/1",
        "nobody/1");
    fmsg_close(&m);
    TEST_ASSERT_OK(actors_client_tell(c, "full/1", "m", NULL));
    fake_recv_ok(&fb, &m);
    fake_error(
        &fb, &m, ACTORS_EFULL, NULL, "mailbox of full/1 is full", "full/1");
    fmsg_close(&m);
    int64_t deadline = testutil_now_ms() + 5000;
    while (actors_client_tells_refused(c) < 2) {
        ck_assert(testutil_now_ms() < deadline);
        TEST_ASSERT_OK(actors_client_poll(c, 100));
    }
    ck_assert_uint_eq(actors_client_tells_refused(c), 2);
    ck_assert_uint_eq(actors_client_pending(c), 0);
    ck_assert_int_eq(hooked, 0);
    ck_assert_int_eq(logged.n, 1); /* the second within the second: counted */
    ck_assert_ptr_nonnull(strstr(logged.text, "address=nobody/1"));
    ck_assert_ptr_nonnull(strstr(logged.text, "type=NoSuchActor"));
    actors_log_set_handler(NULL, NULL);
    actors_client_destroy(&c);
    fake_stop(&fb);
}
END_TEST

/* actors_client_tell_ack: a future that resolves with nil when the broker
 * accepted the tell, or with its error; pending until then. */
START_TEST(test_client_tell_ack_future)
{
    fake_t fb;
    fake_start(&fb);
    actors_client_t *c = NULL;
    TEST_ASSERT_OK(actors_client_create(&c, fb.ep));
    actors_future_t *ok = NULL;
    actors_future_t *no = NULL;
    actors_msg_t *args = NULL;
    TEST_ASSERT_OK(actors_msg_build(&args, "i", 1));
    TEST_ASSERT_OK(actors_client_tell_ack(c, "a/1", "m", &args, &ok));
    ck_assert_ptr_null(args);
    TEST_ASSERT_OK(actors_client_tell_ack(c, "full/1", "m", NULL, &no));
    ck_assert_uint_eq(actors_client_pending(c), 2);
    fmsg_t m;
    fake_recv_ok(&fb, &m);
    actors__hdr_t h = fmsg_hdr(&m);
    ck_assert_uint_eq(h.cmd, ACTORS_CMD_TELL);
    ck_assert_uint_eq(h.id_len, 4);
    fake_answer(&fb, &m, ACTORS_CMD_REPLY, "\xc0", 1);
    fmsg_close(&m);
    fake_recv_ok(&fb, &m);
    fake_error(&fb, &m, ACTORS_EFULL, NULL, "full", "full/1");
    fmsg_close(&m);
    const msgpack_object *r = NULL;
    TEST_ASSERT_OK(actors_future_get(ok, 5000, &r));
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(r->type, MSGPACK_OBJECT_NIL);
    TEST_ASSERT_OK(actors_future_wait(no, 5000));
    const actors_error_t *e = actors_future_error(no);
    ck_assert_ptr_nonnull(e);
    ck_assert_int_eq(actors_error_code(e), ACTORS_EFULL);
    ck_assert_str_eq(actors_error_type(e), "MailboxFull");
    ck_assert_uint_eq(actors_client_pending(c), 0);
    ck_assert_uint_eq(actors_client_tells_refused(c), 0); /* not counted */
    actors_future_destroy(&ok);
    actors_future_destroy(&no);
    actors_client_destroy(&c);
    fake_stop(&fb);
}
END_TEST

/* Tells sent without the client being pumped: every 1024 the client takes
 * the acknowledgements in, so they do not pile up unread. */
START_TEST(test_client_tells_pump_acks)
{
    fake_t fb;
    fake_start(&fb);
    actors_client_t *c = NULL;
    TEST_ASSERT_OK(actors_client_create(&c, fb.ep));
    int hooked = 0;
    actors__client_set_hook(c, s_count_hook, &hooked);
    /* The fake refuses every tell; the client never polls. */
    for (int i = 0; i < 1030; i++) {
        TEST_ASSERT_OK(actors_client_tell(c, "x/1", "m", NULL));
        fmsg_t m;
        fake_recv_ok(&fb, &m);
        fake_error(&fb, &m, ACTORS_ENOACTOR, NULL, "none", "x/1");
        fmsg_close(&m);
        if (i == 1023) {
            /* Before the 1025th tell: an answer waits in the socket
             * (ZMQ_EVENTS reads nothing). */
            void *sock = actors__client_socket(c);
            int64_t deadline = testutil_now_ms() + 5000;
            for (;;) {
                int ev = 0;
                size_t len = sizeof ev;
                ck_assert_int_eq(
                    zmq_getsockopt(sock, ZMQ_EVENTS, &ev, &len), 0);
                if (ev & ZMQ_POLLIN) {
                    break;
                }
                ck_assert(testutil_now_ms() < deadline);
                testutil_poll_pause_ms(1);
            }
        }
    }
    ck_assert_uint_ge(actors_client_tells_refused(c), 1);
    ck_assert_int_eq(hooked, 0);
    actors_client_destroy(&c);
    fake_stop(&fb);
}
END_TEST

START_TEST(test_client_reply_resolves_future)
{
    fake_t fb;
    fake_start(&fb);
    actors_client_t *c = NULL;
    TEST_ASSERT_OK(actors_client_create(&c, fb.ep));
    actors_future_t *f = NULL;
    TEST_ASSERT_OK(
        actors_client_call_fmt(c, "counter/1", "increment", NULL, &f, ""));
    int calls = 0;
    TEST_ASSERT_OK(actors_future_on_done(f, s_flag_cb, &calls));
    fmsg_t m;
    fake_recv_ok(&fb, &m);
    actors_msg_t *v = NULL;
    TEST_ASSERT_OK(actors_msg_build(&v, "{sd}", "balance", 300.0));
    fake_reply_msg(&fb, &m, v);
    actors_msg_destroy(&v);
    fmsg_close(&m);

    const msgpack_object *r = NULL;
    TEST_ASSERT_OK(actors_future_get(f, 5000, &r));
    ck_assert_int_eq(calls, 1);
    double bal = 0;
    TEST_ASSERT_OK(actors_value_double(actors_map_get(r, "balance"), &bal));
    ck_assert(bal == 300.0);
    ck_assert_uint_eq(actors_client_pending(c), 0);
    size_t len = 0;
    ck_assert_ptr_nonnull(actors_future_raw(f, &len));
    ck_assert_uint_gt(len, 8);
    TEST_ASSERT_OK(actors_client_poll(c, 0));
    ck_assert_int_eq(calls, 1);
    actors_future_destroy(&f);
    actors_client_destroy(&c);
    fake_stop(&fb);
}
END_TEST

START_TEST(test_client_error_reply_fails_future)
{
    fake_t fb;
    fake_start(&fb);
    actors_client_t *c = NULL;
    TEST_ASSERT_OK(actors_client_create(&c, fb.ep));
    actors_future_t *f = NULL, *g = NULL;
    TEST_ASSERT_OK(
        actors_client_call_fmt(c, "account/1", "withdraw", NULL, &f, "i", -5));
    TEST_ASSERT_OK(actors_client_call_fmt(c, "nobody/1", "x", NULL, &g, ""));
    fmsg_t m;
    fake_recv_ok(&fb, &m);
    fake_error(&fb, &m, ACTORS_EAPP, "ValueError",
        "Can not withdraw negative amount", "account/1");
    fmsg_close(&m);
    fake_recv_ok(&fb, &m);
    fake_error(&fb, &m, ACTORS_ENOACTOR, NULL, NULL, "nobody/1");
    fmsg_close(&m);

    TEST_ASSERT_ERR(actors_future_get(f, 5000, NULL), ACTORS_EAPP);
    const actors_error_t *e = actors_future_error(f);
    ck_assert_str_eq(actors_error_type(e), "ValueError");
    ck_assert_str_eq(
        actors_error_message(e), "Can not withdraw negative amount");
    ck_assert_str_eq(actors_error_address(e), "account/1");
    ck_assert_ptr_null(actors_future_result(f));
    TEST_ASSERT_ERR(actors_future_get(g, 5000, NULL), ACTORS_ENOACTOR);
    ck_assert_str_eq(actors_error_type(actors_future_error(g)), "NoSuchActor");
    actors_future_destroy(&f);
    actors_future_destroy(&g);
    actors_client_destroy(&c);
    fake_stop(&fb);
}
END_TEST

#define PIPELINE 10000

START_TEST(test_client_pipelines_10000_calls)
{
    fake_t fb;
    fake_start(&fb);
    actors_client_t *c = NULL;
    TEST_ASSERT_OK(actors_client_create(&c, fb.ep));
    actors_future_t **fs = calloc(PIPELINE, sizeof *fs);
    fmsg_t *ms = calloc(PIPELINE, sizeof *ms);
    ck_assert_ptr_nonnull(fs);
    ck_assert_ptr_nonnull(ms);
    for (int i = 0; i < PIPELINE; i++) {
        TEST_ASSERT_OK(
            actors_client_call_fmt(c, "chaos/1", "echo", NULL, &fs[i], "i", i));
    }
    ck_assert_uint_eq(actors_client_pending(c), PIPELINE);
    for (int i = 0; i < PIPELINE; i++) {
        fake_recv_ok(&fb, &ms[i]);
    }
    /* Answer in reverse order, echoing the one argument: the client must
     * match replies by id, not by order. */
    for (int i = PIPELINE - 1; i >= 0; i--) {
        const uint8_t *a = zmq_msg_data(&ms[i].f[2]);
        ck_assert_uint_eq(a[0], 0x91);
        fake_answer(&fb, &ms[i], ACTORS_CMD_REPLY, a + 1,
            zmq_msg_size(&ms[i].f[2]) - 1);
        fmsg_close(&ms[i]);
        if (i % 1000 == 0) {
            TEST_ASSERT_OK(actors_client_poll(c, 0));
        }
    }
    TEST_ASSERT_OK(actors_future_wait_all(fs, PIPELINE, 10000));
    ck_assert_uint_eq(actors_client_pending(c), 0);
    for (int i = 0; i < PIPELINE; i++) {
        ck_assert_int_eq(s_result_int(fs[i]), i);
        actors_future_destroy(&fs[i]);
    }
    free(fs);
    free(ms);
    actors_client_destroy(&c);
    fake_stop(&fb);
}
END_TEST

/* s_rand is a small deterministic generator (xorshift). */
static uint32_t
s_rand(uint32_t *state)
{
    uint32_t x = *state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *state = x;
    return x;
}

#define SHUFFLED 3000

START_TEST(test_client_matches_replies_in_any_order)
{
    fake_t fb;
    fake_start(&fb);
    actors_client_t *c = NULL;
    TEST_ASSERT_OK(actors_client_create(&c, fb.ep));
    /* One call that is never answered sits in the table while the ids of
     * thousands of others wrap around the table's slots. */
    actors_future_t *stuck = NULL;
    TEST_ASSERT_OK(actors_client_call_fmt(c, "a/1", "m", NULL, &stuck, ""));
    fmsg_t stuck_m;
    fake_recv_ok(&fb, &stuck_m);
    actors_future_t **fs = calloc(SHUFFLED, sizeof *fs);
    fmsg_t *ms = calloc(SHUFFLED, sizeof *ms);
    int *order = calloc(SHUFFLED, sizeof *order);
    ck_assert(fs && ms && order);
    uint32_t seed = 12345;
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < SHUFFLED; i++) {
            TEST_ASSERT_OK(actors_client_call_fmt(
                c, "a/1", "echo", NULL, &fs[i], "i", i + round * SHUFFLED));
            order[i] = i;
        }
        for (int i = 0; i < SHUFFLED; i++) {
            fake_recv_ok(&fb, &ms[i]);
        }
        for (int i = SHUFFLED - 1; i > 0; i--) { /* Fisher-Yates */
            int j = (int)(s_rand(&seed) % (uint32_t)(i + 1));
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        for (int k = 0; k < SHUFFLED; k++) {
            fmsg_t *m = &ms[order[k]];
            const uint8_t *a = zmq_msg_data(&m->f[2]);
            fake_answer(
                &fb, m, ACTORS_CMD_REPLY, a + 1, zmq_msg_size(&m->f[2]) - 1);
            fmsg_close(m);
            if (k % 100 == 0) {
                TEST_ASSERT_OK(actors_client_poll(c, 0));
            }
        }
        TEST_ASSERT_OK(actors_future_wait_all(fs, SHUFFLED, 10000));
        for (int i = 0; i < SHUFFLED; i++) {
            ck_assert_int_eq(s_result_int(fs[i]), i + round * SHUFFLED);
            actors_future_destroy(&fs[i]);
        }
        ck_assert_uint_eq(actors_client_pending(c), 1);
    }
    ck_assert(!actors_future_is_ready(stuck));
    fake_reply_int(&fb, &stuck_m, -1);
    fmsg_close(&stuck_m);
    ck_assert_int_eq(s_result_int(stuck), -1);
    ck_assert_uint_eq(actors_client_pending(c), 0);
    actors_future_destroy(&stuck);
    free(fs);
    free(ms);
    free(order);
    actors_client_destroy(&c);
    fake_stop(&fb);
}
END_TEST

START_TEST(test_client_local_timeout_without_broker)
{
    fake_t fb;
    fake_start(&fb);
    actors_client_t *c = NULL;
    TEST_ASSERT_OK(actors_client_create(&c, fb.ep));
    ck_assert_int_eq(actors__client_timeout_ms(c), -1);
    actors_call_opts_t opts = {100};
    actors_future_t *f = NULL, *g = NULL;
    int64_t start = testutil_now_ms();
    TEST_ASSERT_OK(
        actors_client_call_fmt(c, "a/1", "sleep", &opts, &f, "i", 1000));
    actors_call_opts_t none = ACTORS_CALL_OPTS_INIT;
    none.timeout_ms = ACTORS_TIMEOUT_NONE;
    TEST_ASSERT_OK(actors_client_call_fmt(c, "a/1", "later", &none, &g, ""));
    int left = actors__client_timeout_ms(c);
    ck_assert_int_ge(left, 250);
    ck_assert_int_le(left, 300);
    fmsg_t m;
    fake_recv_ok(&fb, &m); /* read, never answered in time */

    TEST_ASSERT_ERR(actors_future_get(f, -1, NULL), ACTORS_ETIMEDOUT);
    int64_t took = testutil_now_ms() - start;
    ck_assert_int_ge(took, 290);
    ck_assert_int_lt(took, 3000);
    ck_assert_ptr_nonnull(actors_future_error(f));
    ck_assert_str_eq(actors_error_type(actors_future_error(f)), "Timeout");
    ck_assert_uint_eq(actors_client_pending(c), 1); /* g has no deadline */
    ck_assert_int_eq(actors__client_timeout_ms(c), -1);

    /* The late reply is for an id no longer pending: dropped. */
    fake_reply_int(&fb, &m, 5);
    fmsg_close(&m);
    fake_recv_ok(&fb, &m);
    fake_reply_int(&fb, &m, 6);
    fmsg_close(&m);
    ck_assert_int_eq(s_result_int(g), 6);
    TEST_ASSERT_ERR(actors_future_get(f, 0, NULL), ACTORS_ETIMEDOUT);
    actors_future_destroy(&f);
    actors_future_destroy(&g);
    actors_client_destroy(&c);
    fake_stop(&fb);
}
END_TEST

/* Local deadlines with more timeouts in use than the client has lanes
 * (the rest go to its heap): answered calls leave their lane or the heap
 * from anywhere in it, the others fail with Timeout in deadline order,
 * none before its deadline, and the next deadline is always the earliest.
 * Timeouts 50 ms apart; each call's local deadline is its timeout plus a
 * grace of 200 ms. */
#define S_DL_TIMEOUTS 7
#define S_DL_EACH 5
typedef struct {
    int64_t due;     /* local deadline, ms */
    int64_t at;      /* when it failed, ms */
    int order;       /* position among the failures */
    int *next_order; /* counter shared by all */
} s_dl_t;

static void
s_dl_done(actors_future_t *f, void *arg)
{
    s_dl_t *d = arg;
    ck_assert_ptr_nonnull(actors_future_error(f));
    ck_assert_str_eq(actors_error_type(actors_future_error(f)), "Timeout");
    d->at = testutil_now_ms();
    d->order = (*d->next_order)++;
}

START_TEST(test_client_deadlines_many_timeouts)
{
    fake_t fb;
    fake_start(&fb);
    actors_client_t *c = NULL;
    TEST_ASSERT_OK(actors_client_create(&c, fb.ep));
    enum { N = S_DL_TIMEOUTS * S_DL_EACH };
    actors_future_t *fs[N];
    s_dl_t d[N];
    int next_order = 0;
    int64_t t0 = testutil_now_ms();
    /* Timeouts interleaved, the longest first: 310, 10, 260, 60, ... */
    static const int tmo[S_DL_TIMEOUTS] = {310, 10, 260, 60, 210, 110, 160};
    for (int i = 0; i < N; i++) {
        actors_call_opts_t opts = ACTORS_CALL_OPTS_INIT;
        opts.timeout_ms = (uint32_t)tmo[i % S_DL_TIMEOUTS];
        int64_t now = testutil_now_ms();
        TEST_ASSERT_OK(
            actors_client_call_fmt(c, "a/1", "m", &opts, &fs[i], "i", i));
        d[i] = (s_dl_t){now + opts.timeout_ms + 200, 0, -1, &next_order};
    }
    int left = actors__client_timeout_ms(c);
    ck_assert_int_le(left, 10 + 200);
    ck_assert_int_ge(left, 10 + 200 - (int)(testutil_now_ms() - t0) - 1);
    /* Answer every third call: out of its lane, or the heap, anywhere. */
    fmsg_t m[N];
    for (int i = 0; i < N; i++) {
        fake_recv_ok(&fb, &m[i]);
    }
    for (int i = 0; i < N; i += 3) {
        fake_reply_int(&fb, &m[i], i);
    }
    for (int i = 0; i < N; i += 3) {
        ck_assert_int_eq(s_result_int(fs[i]), i);
    }
    for (int i = 0; i < N; i++) {
        if (i % 3 != 0) {
            TEST_ASSERT_OK(actors_future_on_done(fs[i], s_dl_done, &d[i]));
        }
        fmsg_close(&m[i]);
    }
    while (actors_client_pending(c) > 0) {
        TEST_ASSERT_OK(actors_client_poll(c, 1000));
    }
    ck_assert_int_eq(actors__client_timeout_ms(c), -1);
    for (int i = 0; i < N; i++) {
        if (i % 3 == 0) {
            continue;
        }
        ck_assert_int_ge(d[i].order, 0);
        ck_assert_int_ge(d[i].at, d[i].due - 1); /* ms clocks may differ */
        for (int j = 0; j < N; j++) {
            if (j % 3 != 0 && tmo[j % S_DL_TIMEOUTS] < tmo[i % S_DL_TIMEOUTS]) {
                ck_assert_msg(d[j].order < d[i].order,
                    "timeout %d ms failed before %d ms", tmo[i % S_DL_TIMEOUTS],
                    tmo[j % S_DL_TIMEOUTS]);
            }
        }
    }
    for (int i = 0; i < N; i++) {
        actors_future_destroy(&fs[i]);
    }
    actors_client_destroy(&c);
    fake_stop(&fb);
}
END_TEST

START_TEST(test_client_wait_times_out_and_retries)
{
    fake_t fb;
    fake_start(&fb);
    actors_client_t *c = NULL;
    TEST_ASSERT_OK(actors_client_create(&c, fb.ep));
    actors_future_t *f = NULL;
    TEST_ASSERT_OK(actors_client_call_fmt(c, "a/1", "m", NULL, &f, ""));
    TEST_ASSERT_ERR(actors_future_wait(f, 0), ACTORS_ETIMEDOUT);
    TEST_ASSERT_ERR(actors_future_wait(f, 30), ACTORS_ETIMEDOUT);
    TEST_ASSERT_ERR(actors_future_get(f, 30, NULL), ACTORS_ETIMEDOUT);
    ck_assert_ptr_null(actors_future_error(f));
    ck_assert(!actors_future_is_ready(f));
    fmsg_t m;
    fake_recv_ok(&fb, &m);
    fake_reply_int(&fb, &m, 9);
    fmsg_close(&m);
    ck_assert_int_eq(s_result_int(f), 9);
    actors_future_destroy(&f);
    actors_client_destroy(&c);
    fake_stop(&fb);
}
END_TEST

START_TEST(test_client_wait_any_pending)
{
    fake_t fb;
    fake_start(&fb);
    actors_client_t *c = NULL;
    TEST_ASSERT_OK(actors_client_create(&c, fb.ep));
    actors_future_t *fs[2];
    TEST_ASSERT_OK(actors_client_call_fmt(c, "a/1", "m", NULL, &fs[0], ""));
    TEST_ASSERT_OK(actors_client_call_fmt(c, "a/1", "m", NULL, &fs[1], ""));
    TEST_ASSERT_ERR(actors_future_wait_any(fs, 2, 20, NULL), ACTORS_ETIMEDOUT);
    TEST_ASSERT_ERR(actors_future_wait_all(fs, 2, 20), ACTORS_ETIMEDOUT);
    fmsg_t m0, m1;
    fake_recv_ok(&fb, &m0);
    fake_recv_ok(&fb, &m1);
    fake_reply_int(&fb, &m1, 1);
    size_t idx = 99;
    TEST_ASSERT_OK(actors_future_wait_any(fs, 2, 5000, &idx));
    ck_assert_uint_eq(idx, 1);
    fake_reply_int(&fb, &m0, 0);
    TEST_ASSERT_OK(actors_future_wait_all(fs, 2, 5000));
    fmsg_close(&m0);
    fmsg_close(&m1);
    actors_future_destroy(&fs[0]);
    actors_future_destroy(&fs[1]);
    actors_client_destroy(&c);
    fake_stop(&fb);
}
END_TEST

typedef struct {
    actors_client_t *client; /* to make the second call */
    int calls;               /* times the continuation ran */
} chain_t;

/* s_then_call makes a second call with the first result as argument. */
static actors_err
s_then_call(const msgpack_object *result, void *arg, actors_future_t **next)
{
    chain_t *ch = arg;
    ch->calls++;
    int64_t v = 0;
    actors_err rc = actors_value_int(result, &v);
    if (rc != ACTORS_OK) {
        return rc;
    }
    return actors_client_call_fmt(
        ch->client, "b/1", "double", NULL, next, "I", v);
}

START_TEST(test_client_then_chains_calls)
{
    fake_t fb;
    fake_start(&fb);
    actors_client_t *c = NULL;
    TEST_ASSERT_OK(actors_client_create(&c, fb.ep));
    chain_t ch = {c, 0};
    actors_future_t *a = NULL, *g = NULL;
    TEST_ASSERT_OK(actors_client_call_fmt(c, "a/1", "value", NULL, &a, ""));
    TEST_ASSERT_OK(actors_future_then(a, s_then_call, &ch, &g));
    actors_future_destroy(&a); /* the chain keeps it */
    int done = 0;
    TEST_ASSERT_OK(actors_future_on_done(g, s_flag_cb, &done));

    fmsg_t m;
    fake_recv_ok(&fb, &m);
    fake_reply_int(&fb, &m, 21);
    fmsg_close(&m);
    /* Pump until the continuation has sent the second call. */
    int64_t end = testutil_now_ms() + 5000;
    while (ch.calls == 0 && testutil_now_ms() < end) {
        TEST_ASSERT_OK(actors_client_poll(c, 20));
    }
    ck_assert_int_eq(ch.calls, 1);
    ck_assert(!actors_future_is_ready(g));
    fake_recv_ok(&fb, &m);
    ck_assert_int_eq(m.n, 3);
    actors__hdr_t h = fmsg_hdr(&m);
    ck_assert(names_eq(&h, "b/1", "double"));
    ck_assert_uint_eq(zmq_msg_size(&m.f[2]), 2); /* [21] */
    fake_reply_int(&fb, &m, 42);
    fmsg_close(&m);
    ck_assert_int_eq(s_result_int(g), 42);
    ck_assert_int_eq(done, 1);
    ck_assert_int_eq(ch.calls, 1);
    actors_future_destroy(&g);
    actors_client_destroy(&c);
    fake_stop(&fb);
}
END_TEST

START_TEST(test_client_then_passes_error_reply)
{
    fake_t fb;
    fake_start(&fb);
    actors_client_t *c = NULL;
    TEST_ASSERT_OK(actors_client_create(&c, fb.ep));
    chain_t ch = {c, 0};
    actors_future_t *a = NULL, *g = NULL;
    TEST_ASSERT_OK(actors_client_call_fmt(c, "a/1", "value", NULL, &a, ""));
    TEST_ASSERT_OK(actors_future_then(a, s_then_call, &ch, &g));
    fmsg_t m;
    fake_recv_ok(&fb, &m);
    fake_error(&fb, &m, ACTORS_EFULL, NULL, "full", "a/1");
    fmsg_close(&m);
    TEST_ASSERT_ERR(actors_future_get(g, 5000, NULL), ACTORS_EFULL);
    ck_assert_int_eq(ch.calls, 0);
    ck_assert_str_eq(actors_error_message(actors_future_error(g)), "full");
    ck_assert(actors_future_error(a) == actors_future_error(g));
    actors_future_destroy(&a);
    actors_future_destroy(&g);
    actors_client_destroy(&c);
    fake_stop(&fb);
}
END_TEST

START_TEST(test_client_dropped_future_discards_reply)
{
    fake_t fb;
    fake_start(&fb);
    actors_client_t *c = NULL;
    TEST_ASSERT_OK(actors_client_create(&c, fb.ep));
    actors_future_t *f = NULL;
    TEST_ASSERT_OK(actors_client_call_fmt(c, "a/1", "m", NULL, &f, ""));
    int calls = 0;
    TEST_ASSERT_OK(actors_future_on_done(f, s_flag_cb, &calls));
    actors_future_destroy(&f);
    ck_assert_uint_eq(actors_client_pending(c), 1);
    fmsg_t m;
    fake_recv_ok(&fb, &m);
    fake_reply_int(&fb, &m, 1);
    fmsg_close(&m);
    int64_t end = testutil_now_ms() + 5000;
    while (actors_client_pending(c) > 0 && testutil_now_ms() < end) {
        TEST_ASSERT_OK(actors_client_poll(c, 20));
    }
    ck_assert_uint_eq(actors_client_pending(c), 0);
    ck_assert_int_eq(calls, 0);
    actors_client_destroy(&c);
    fake_stop(&fb);
}
END_TEST

START_TEST(test_client_destroy_with_pending_calls)
{
    actors_client_t *c = NULL;
    TEST_ASSERT_OK(actors_client_create(&c, "tcp://127.0.0.1:9"));
    actors_future_t *f = NULL, *g = NULL;
    actors_call_opts_t opts = {50};
    TEST_ASSERT_OK(actors_client_call_fmt(c, "a/1", "m", &opts, &f, ""));
    TEST_ASSERT_OK(actors_future_then(f, s_then_call, NULL, &g));
    actors_client_destroy(&c);
    ck_assert_ptr_null(c);
    TEST_ASSERT_ERR(actors_future_wait(f, 100), ACTORS_ECLOSED);
    TEST_ASSERT_ERR(actors_future_get(g, -1, NULL), ACTORS_ECLOSED);
    ck_assert(!actors_future_is_ready(f));
    actors_future_destroy(&f);
    actors_future_destroy(&g);
}
END_TEST

typedef struct {
    actors_client_t *client; /* destroyed by the callback */
    actors_future_t *self;   /* the future, destroyed by its callback */
    int calls;
} reentry_t;

static void
s_destroy_all_cb(actors_future_t *f, void *arg)
{
    reentry_t *r = arg;
    ck_assert_ptr_eq(f, r->self);
    r->calls++;
    actors_future_destroy(&r->self);
    actors_client_destroy(&r->client);
}

START_TEST(test_client_callback_may_destroy_everything)
{
    fake_t fb;
    fake_start(&fb);
    reentry_t r = {0};
    TEST_ASSERT_OK(actors_client_create(&r.client, fb.ep));
    actors_future_t *other = NULL;
    TEST_ASSERT_OK(
        actors_client_call_fmt(r.client, "a/1", "m", NULL, &r.self, ""));
    TEST_ASSERT_OK(
        actors_client_call_fmt(r.client, "a/1", "m", NULL, &other, ""));
    TEST_ASSERT_OK(actors_future_on_done(r.self, s_destroy_all_cb, &r));
    fmsg_t m;
    fake_recv_ok(&fb, &m);
    fake_reply_int(&fb, &m, 1);
    fmsg_close(&m);
    fake_recv_ok(&fb, &m);
    fake_reply_int(&fb, &m, 2);
    fmsg_close(&m);
    /* The wait pumps the client; the callback destroys it under us. */
    TEST_ASSERT_ERR(actors_future_wait(other, 5000), ACTORS_ECLOSED);
    ck_assert_int_eq(r.calls, 1);
    ck_assert_ptr_null(r.client);
    ck_assert_ptr_null(r.self);
    actors_future_destroy(&other);
    fake_stop(&fb);
}
END_TEST

START_TEST(test_client_large_args_arrive_intact)
{
    fake_t fb;
    fake_start(&fb);
    actors_client_t *c = NULL;
    TEST_ASSERT_OK(actors_client_create(&c, fb.ep));
    size_t n = 200000;
    uint8_t *blob = malloc(n);
    ck_assert_ptr_nonnull(blob);
    for (size_t i = 0; i < n; i++) {
        blob[i] = (uint8_t)(i * 7);
    }
    actors_msg_t *args = NULL;
    TEST_ASSERT_OK(actors_msg_build(&args, "Bi", blob, n, 3));
    actors_future_t *f = NULL;
    TEST_ASSERT_OK(actors_client_call(c, "a/1", "put", &args, NULL, &f));
    ck_assert_ptr_null(args);
    fmsg_t m;
    fake_recv_ok(&fb, &m);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    ck_assert_int_eq(m.n, 3);
    ck_assert_int_eq(msgpack_unpack_next(&up, zmq_msg_data(&m.f[2]),
                         zmq_msg_size(&m.f[2]), &off),
        MSGPACK_UNPACK_SUCCESS);
    ck_assert_uint_eq(off, zmq_msg_size(&m.f[2]));
    ck_assert_uint_eq(actors_args_count(&up.data), 2);
    const msgpack_object *b = actors_args_at(&up.data, 0);
    ck_assert_int_eq(b->type, MSGPACK_OBJECT_BIN);
    ck_assert_uint_eq(b->via.bin.size, n);
    ck_assert_int_eq(memcmp(b->via.bin.ptr, blob, n), 0);
    /* Echo the blob back as a large reply body: the args frame is
     * 0x92, the bin value, then the 1-byte int. */
    const uint8_t *a = zmq_msg_data(&m.f[2]);
    fake_answer(&fb, &m, ACTORS_CMD_REPLY, a + 1, zmq_msg_size(&m.f[2]) - 2);
    msgpack_unpacked_destroy(&up);
    fmsg_close(&m);
    const msgpack_object *r = NULL;
    TEST_ASSERT_OK(actors_future_get(f, 5000, &r));
    ck_assert_int_eq(r->type, MSGPACK_OBJECT_BIN);
    ck_assert_uint_eq(r->via.bin.size, n);
    ck_assert_int_eq(memcmp(r->via.bin.ptr, blob, n), 0);
    actors_future_destroy(&f);

    /* A reply that is not msgpack fails the call on first use. */
    TEST_ASSERT_OK(actors_client_call(c, "a/1", "put", NULL, NULL, &f));
    fake_recv_ok(&fb, &m);
    fake_answer(&fb, &m, ACTORS_CMD_REPLY, "\xc1", 1);
    fmsg_close(&m);
    TEST_ASSERT_ERR(actors_future_get(f, 5000, NULL), ACTORS_EMSGPACK);
    actors_future_destroy(&f);
    free(blob);
    actors_client_destroy(&c);
    fake_stop(&fb);
}
END_TEST

typedef struct {
    int calls;       /* messages the hook got */
    int tells;       /* of which TELL */
    int unknown;     /* of which REPLY/ERROR with an unknown id */
    int frames_call; /* frames of the CALL */
    bool got_tag;    /* the CALL's id was the broker tag */
} hook_t;

static void
s_hook(void *arg, const actors__hdr_t *hdr, zmq_msg_t *frames, int nframes)
{
    hook_t *h = arg;
    h->calls++;
    ck_assert_ptr_eq(hdr->id,
        (const uint8_t *)zmq_msg_data(&frames[0]) + ACTORS_WIRE_HDR_MIN);
    if (hdr->cmd == ACTORS_CMD_CALL) {
        h->frames_call = nframes;
        h->got_tag = hdr->id_len == 8 && memcmp(hdr->id, "TAG45678", 8) == 0;
        ck_assert(names_eq(hdr, "me/1", "echo"));
        ck_assert(frame_eq(&frames[1], "\x91\x01"));
        /* Keeping a frame is allowed. */
        zmq_msg_t kept;
        zmq_msg_init(&kept);
        zmq_msg_move(&kept, &frames[1]);
        zmq_msg_close(&kept);
    } else if (hdr->cmd == ACTORS_CMD_TELL) {
        h->tells++;
        ck_assert(names_eq(hdr, "me/1", "echo"));
        ck_assert_int_eq(nframes, 2);
    } else if (hdr->cmd == ACTORS_CMD_REPLY || hdr->cmd == ACTORS_CMD_ERROR) {
        h->unknown++;
    }
}

START_TEST(test_client_hook_gets_other_messages)
{
    fake_t fb;
    fake_start(&fb);
    actors_client_t *c = NULL;
    TEST_ASSERT_OK(actors_client_create(&c, fb.ep));
    hook_t h = {0};
    actors__client_set_hook(c, s_hook, &h);
    ck_assert_ptr_nonnull(actors__client_socket(c));

    /* The actor's own frames (e.g. REGISTER) go out as they are. */
    zmq_msg_t out[3];
    uint8_t hdr[ACTORS_WIRE_HDR_MAX];
    size_t hlen = actors__hdr_write(hdr, ACTORS_CMD_REGISTER, 0, "R", 1);
    zmq_msg_init_size(&out[0], hlen);
    memcpy(zmq_msg_data(&out[0]), hdr, hlen);
    zmq_msg_init_size(&out[1], 4);
    memcpy(zmq_msg_data(&out[1]), "me/1", 4);
    zmq_msg_init_size(&out[2], 1);
    memcpy(zmq_msg_data(&out[2]), "\x80", 1);
    TEST_ASSERT_OK(actors__client_send_frames(c, out, 3));
    for (int i = 0; i < 3; i++) {
        zmq_msg_close(&out[i]);
    }
    fmsg_t m;
    fake_recv_ok(&fb, &m);
    ck_assert_int_eq(m.n, 4);
    ck_assert_uint_eq(fmsg_hdr(&m).cmd, ACTORS_CMD_REGISTER);

    /* The answer to REGISTER (id not in the table), a CALL and a TELL from
     * the broker, a stray ERROR, and garbage that is dropped. */
    fake_answer(&fb, &m, ACTORS_CMD_REPLY, "\x80", 1);
    const void *rid = zmq_msg_data(&m.f[0]);
    size_t ridlen = zmq_msg_size(&m.f[0]);
    hlen = actors__hdr_write(hdr, ACTORS_CMD_CALL, 500, "TAG45678", 8);
    hlen += actors__hdr_names_write(hdr + hlen, "me/1", 4, "echo", 4);
    fake_send_frame(&fb, rid, ridlen, true);
    fake_send_frame(&fb, hdr, hlen, true);
    fake_send_frame(&fb, "\x91\x01", 2, false);
    hlen = actors__hdr_write(hdr, ACTORS_CMD_TELL, 0, "TAG45679", 8);
    hlen += actors__hdr_names_write(hdr + hlen, "me/1", 4, "echo", 4);
    fake_send_frame(&fb, rid, ridlen, true);
    fake_send_frame(&fb, hdr, hlen, true);
    fake_send_frame(&fb, "\x90", 1, false);
    hlen = actors__hdr_write(hdr, ACTORS_CMD_ERROR, 0, "12345678", 8);
    fake_send_frame(&fb, rid, ridlen, true);
    fake_send_frame(&fb, hdr, hlen, true);
    fake_send_frame(&fb, "\x80", 1, false);
    fake_send_frame(&fb, rid, ridlen, true);
    fake_send_frame(&fb, "garbage", 7, false);
    hlen = actors__hdr_write(hdr, ACTORS_CMD_HEARTBEAT, 0, NULL, 0);
    fake_send_frame(&fb, rid, ridlen, true);
    fake_send_frame(&fb, hdr, hlen, false);
    fmsg_close(&m);

    int64_t end = testutil_now_ms() + 5000;
    while (h.calls < 5 && testutil_now_ms() < end) {
        TEST_ASSERT_OK(actors_client_poll(c, 20));
    }
    ck_assert_int_eq(h.calls, 5); /* REPLY, CALL, TELL, ERROR, HEARTBEAT */
    ck_assert_int_eq(h.frames_call, 2); /* header args */
    ck_assert(h.got_tag);
    ck_assert_int_eq(h.tells, 1);
    ck_assert_int_eq(h.unknown, 2);

    /* Without a hook, such messages are dropped. */
    actors__client_set_hook(c, NULL, NULL);
    actors_client_destroy(&c);
    fake_stop(&fb);
}
END_TEST

START_TEST(test_client_poll_closed_and_idle)
{
    actors_client_t *c = NULL;
    TEST_ASSERT_OK(actors_client_create(&c, "tcp://127.0.0.1:9"));
    int64_t start = testutil_now_ms();
    TEST_ASSERT_OK(actors_client_poll(c, 0));
    TEST_ASSERT_OK(actors_client_poll(c, 30));
    ck_assert_int_ge(testutil_now_ms() - start, 25);
    ck_assert_uint_eq(actors_client_pending(c), 0);
    actors_client_destroy(&c);
    actors_client_destroy(&c);
}
END_TEST

/* CLI-REFUSED lines captured by s_refused_cb. */
typedef struct {
    int n;           /* lines */
    char text[1024]; /* the first */
} s_refused_log_t;

static void
s_refused_cb(
    actors_log_level_t level, const char *msgid, const char *text, void *arg)
{
    (void)level;
    s_refused_log_t *l = arg;
    if (strcmp(msgid, "CLI-REFUSED") == 0 && l->n++ == 0) {
        snprintf(l->text, sizeof l->text, "%s", text);
    }
}

/* A listener that accepts and shuts every connection at once, as a broker
 * out of descriptors does: the client backs off (100 ms doubling, so its
 * first 6 connections are at least 3.1 s apart in all; libzmq alone takes
 * about 0.5 s), even with a call queued on each refused connection (its
 * session used to linger and go on knocking), and logs CLI-REFUSED with
 * cause=dropped, not a handshake. (One more connection is the client
 * asking the broker's greeting once, actors__conn_broker_curve: 7.) */
START_TEST(test_client_refused_backs_off)
{
    enum { KNOCKS = 7, LEAST_MS = 2000 };
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(lfd, 0);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    socklen_t sl = sizeof sa;
    ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&sa, &sl), 0);
    ck_assert_int_eq(listen(lfd, 64), 0);
    ck_assert_int_eq(fcntl(lfd, F_SETFL, O_NONBLOCK), 0);
    char ep[64];
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%u", ntohs(sa.sin_port));

    s_refused_log_t logged = {0};
    actors_log_set_handler(s_refused_cb, &logged);
    actors_log_set_level(ACTORS_LOG_INFO);
    actors_client_t *c = NULL;
    TEST_ASSERT_OK(actors_client_create(&c, ep));
    int64_t at[KNOCKS];
    int n = 0;
    int64_t deadline = testutil_now_ms() + 30000;
    while (n < KNOCKS) {
        ck_assert_msg(testutil_now_ms() < deadline, "%d connections", n);
        /* A call each round: queued on whatever connection comes. */
        actors_future_t *f = NULL;
        ck_assert_int_eq(actors_client_ping(c, &f), ACTORS_OK);
        actors_future_destroy(&f);
        TEST_ASSERT_OK(actors_client_poll(c, 10));
        int fd;
        while (n < KNOCKS && (fd = accept(lfd, NULL, NULL)) >= 0) {
            at[n++] = testutil_now_ms();
            close(fd);
        }
    }
    int64_t took = at[KNOCKS - 1] - at[0];
    ck_assert_msg(took >= LEAST_MS, "%d connections in %lld ms: no backoff",
        KNOCKS, (long long)took);
    actors_log_set_handler(NULL, NULL);
    ck_assert_int_ge(logged.n, 1);
    ck_assert_msg(strstr(logged.text, "cause=dropped") != NULL &&
                      strstr(logged.text, "descriptors") != NULL,
        "CLI-REFUSED: %s", logged.text);
    actors_client_destroy(&c);
    close(lfd);
}
END_TEST

Suite *client_suite(void);

Suite *
client_suite(void)
{
    Suite *s = suite_create("client");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_client_request_id_forms);
    tcase_add_test(tc, test_client_create_rejects_bad_endpoint);
    tcase_add_test(tc, test_client_endpoint_default);
    tcase_add_test(tc, test_client_create_survives_oom);
    tcase_add_test(tc, test_client_sends_frames_per_wire);
    tcase_add_test(tc, test_client_group_frames);
    tcase_add_test(tc, test_client_call_rejects_bad_names);
    tcase_add_test(tc, test_client_spawn_spec_is_valid_utf8);
    tcase_add_test(tc, test_client_call_survives_oom);
    tcase_add_test(tc, test_client_reply_resolves_future);
    tcase_add_test(tc, test_client_error_reply_fails_future);
    tcase_add_test(tc, test_client_pipelines_10000_calls);
    tcase_add_test(tc, test_client_matches_replies_in_any_order);
    tcase_add_test(tc, test_client_local_timeout_without_broker);
    tcase_add_test(tc, test_client_deadlines_many_timeouts);
    tcase_add_test(tc, test_client_wait_times_out_and_retries);
    tcase_add_test(tc, test_client_wait_any_pending);
    tcase_add_test(tc, test_client_then_chains_calls);
    tcase_add_test(tc, test_client_then_passes_error_reply);
    tcase_add_test(tc, test_client_dropped_future_discards_reply);
    tcase_add_test(tc, test_client_destroy_with_pending_calls);
    tcase_add_test(tc, test_client_callback_may_destroy_everything);
    tcase_add_test(tc, test_client_large_args_arrive_intact);
    tcase_add_test(tc, test_client_hook_gets_other_messages);
    tcase_add_test(tc, test_client_poll_closed_and_idle);
    tcase_add_test(tc, test_client_tell_answers_consumed);
    tcase_add_test(tc, test_client_tell_ack_future);
    tcase_add_test(tc, test_client_tells_pump_acks);
    tcase_add_test(tc, test_client_refused_backs_off);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(client_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
