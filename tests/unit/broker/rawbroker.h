/* tests/unit/broker/rawbroker.h - a broker in a thread, spoken to raw.
 * SPDX-License-Identifier: MIT
 *
 * Shared by the broker's socket-level unit tests (test_broker.c,
 * test_lifecycle.c): start and stop a broker on an ephemeral endpoint in
 * a thread, raw DEALER/REQ sockets, frame builders and readers. Each test
 * file uses a subset, hence the unused-function pragma.
 *
 * Speaks ACT2 (libactors/internal/actors-internal/wire.h): a CALL's or TELL's
 * address and method travel in its header (s_send_to, s_call); other commands'
 * headers carry only the request id (s_send). Answers are checked to be
 * the request's header with the command rewritten (s_check_answer).
 */
#ifndef TESTS_UNIT_BROKER_RAWBROKER_H
#define TESTS_UNIT_BROKER_RAWBROKER_H

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <msgpack.h>
#include <zmq.h>

#include <actors/msg.h>

#include "../../../broker/broker.h"
#include "../../testutil.h"
#include <actors-internal/wire.h>

#pragma GCC diagnostic ignored "-Wunused-function"

#define RECV_MS 3000

static brk_broker_t *s_broker;
static pthread_t s_thread;
static void *s_ctx;

static void *
s_run(void *arg)
{
    (void)arg;
    brk_broker_run(s_broker);
    return NULL;
}

/* A received message: at most 8 frames, copied. */
typedef struct {
    int nframes;
    size_t len[8];
    uint8_t *data[8];
} s_msg_t;

static void
s_msg_free(s_msg_t *m)
{
    for (int i = 0; i < m->nframes; i++) {
        free(m->data[i]);
    }
    memset(m, 0, sizeof *m);
}

/* s_raw_recv receives one message within timeout_ms into *m. */
static bool
s_raw_recv(void *sock, int timeout_ms, s_msg_t *m)
{
    memset(m, 0, sizeof *m);
    zmq_pollitem_t it = {sock, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&it, 1, timeout_ms) <= 0) {
        return false;
    }
    for (;;) {
        zmq_msg_t f;
        zmq_msg_init(&f);
        if (zmq_msg_recv(&f, sock, 0) < 0) {
            zmq_msg_close(&f);
            return m->nframes > 0;
        }
        int more = zmq_msg_more(&f);
        if (m->nframes < 8) {
            size_t n = zmq_msg_size(&f);
            m->data[m->nframes] = malloc(n ? n : 1);
            memcpy(m->data[m->nframes], zmq_msg_data(&f), n);
            m->len[m->nframes] = n;
            m->nframes++;
        }
        zmq_msg_close(&f);
        if (!more) {
            return true;
        }
    }
}

/* s_error_type copies the "type" of an ERROR (header at frame h) into
 * buf; false if m is not such an ERROR. */
static bool
s_error_type(const s_msg_t *m, int h, char *buf, size_t cap)
{
    if (m->nframes != h + 2 || m->len[h] < ACTORS_WIRE_HDR_MIN ||
        m->data[h][4] != ACTORS_CMD_ERROR) {
        return false;
    }
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    bool ok = msgpack_unpack_next(&up, (const char *)m->data[h + 1],
                  m->len[h + 1], NULL) == MSGPACK_UNPACK_SUCCESS;
    const char *p = NULL;
    size_t n = 0;
    ok = ok && actors_value_str(actors_map_get(&up.data, "type"), &p, &n) ==
                   ACTORS_OK;
    if (ok) {
        snprintf(buf, cap, "%.*s", (int)n, p);
    }
    msgpack_unpacked_destroy(&up);
    return ok;
}

/* Request headers sent with a non-empty id, latest first on lookup, so
 * that an answer can be checked to be the request's header with only the
 * command rewritten (ACT2: a REPLY or ERROR to a CALL carries its names
 * after the id). A later request with the same id replaces the earlier. */
#define S_SENT_MAX 32
static struct {
    size_t len; /* 0: free */
    uint8_t hdr[ACTORS_WIRE_HDR_MAX];
} s_sent[S_SENT_MAX];
static int s_sent_next;

/* s_sent_record remembers header h (hn bytes) under its request id. */
static void
s_sent_record(const uint8_t *h, size_t hn)
{
    const uint8_t *id = NULL;
    size_t n = testutil_hdr_id(h, hn, &id);
    if (id == NULL || n == 0 || hn > ACTORS_WIRE_HDR_MAX) {
        return;
    }
    int slot = s_sent_next;
    for (int i = 0; i < S_SENT_MAX; i++) {
        const uint8_t *sid = NULL;
        size_t sn = s_sent[i].len == 0
                        ? 0
                        : testutil_hdr_id(s_sent[i].hdr, s_sent[i].len, &sid);
        if (sid != NULL && sn == n && memcmp(sid, id, n) == 0) {
            slot = i;
            break;
        }
    }
    if (slot == s_sent_next) {
        s_sent_next = (s_sent_next + 1) % S_SENT_MAX;
    }
    memcpy(s_sent[slot].hdr, h, hn);
    s_sent[slot].len = hn;
}

/* s_sent_find returns the last header sent with request id, or NULL. */
static const uint8_t *
s_sent_find(const char *id, size_t *len)
{
    for (int i = 0; i < S_SENT_MAX; i++) {
        const uint8_t *sid = NULL;
        size_t sn = s_sent[i].len == 0
                        ? 0
                        : testutil_hdr_id(s_sent[i].hdr, s_sent[i].len, &sid);
        if (sid != NULL && sn == strlen(id) && memcmp(sid, id, sn) == 0) {
            *len = s_sent[i].len;
            return s_sent[i].hdr;
        }
    }
    return NULL;
}

/* s_check_answer asserts that frame h of m is the header of an answer
 * (cmd: REPLY or ERROR) to the request with id `id`: the id is read via
 * its length byte, and the whole frame is the request's header with the
 * command rewritten. An empty id stands for a request whose header the
 * broker could not read: it answers with a fresh header without names. */
static void
s_check_answer(const s_msg_t *m, int h, uint8_t cmd, const char *id)
{
    ck_assert_int_gt(m->nframes, h);
    const uint8_t *hdr = m->data[h];
    size_t len = m->len[h];
    ck_assert_uint_ge(len, ACTORS_WIRE_HDR_MIN);
    ck_assert_int_eq(memcmp(hdr, ACTORS_WIRE_SIG, ACTORS_WIRE_SIG_LEN), 0);
    ck_assert_uint_eq(hdr[4], cmd);
    const uint8_t *got = NULL;
    size_t n = testutil_hdr_id(hdr, len, &got);
    ck_assert_ptr_nonnull(got);
    ck_assert_uint_eq(n, strlen(id));
    ck_assert_int_eq(memcmp(got, id, n), 0);
    if (n == 0) {
        ck_assert_uint_eq(len, ACTORS_WIRE_HDR_MIN);
        return;
    }
    size_t sl = 0;
    const uint8_t *sent = s_sent_find(id, &sl);
    ck_assert_msg(sent != NULL, "an answer to \"%s\", never sent", id);
    ck_assert_uint_eq(len, sl);
    ck_assert_int_eq(memcmp(hdr, sent, 4), 0);
    ck_assert_int_eq(memcmp(hdr + 5, sent + 5, len - 5), 0);
}

/* s_start runs a broker with opts (bind set here). */
static void
s_start_opts(brk_opts_t opts)
{
    opts.bind = "tcp://127.0.0.1:*";
    memset(s_sent, 0, sizeof s_sent);
    s_sent_next = 0;
    TEST_ASSERT_OK(brk_broker_create(&s_broker, &opts));
    ck_assert_int_eq(pthread_create(&s_thread, NULL, s_run, NULL), 0);
    s_ctx = zmq_ctx_new();
}

static void
s_start(void)
{
    brk_opts_t opts = BRK_OPTS_INIT;
    s_start_opts(opts);
}

static void
s_stop(void)
{
    zmq_ctx_term(s_ctx);
    brk_broker_stop(s_broker);
    pthread_join(s_thread, NULL);
    brk_broker_destroy(&s_broker);
    ck_assert_ptr_null(s_broker);
}

static void *
s_sock(int type)
{
    void *s = zmq_socket(s_ctx, type);
    int zero = 0;
    int ms = RECV_MS;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(s, ZMQ_RCVTIMEO, &ms, sizeof ms);
    ck_assert_int_eq(zmq_connect(s, brk_broker_endpoint(s_broker)), 0);
    return s;
}

/* s_hdr returns a header frame without names in a static buffer (len in
 * *n). */
static const uint8_t *
s_hdr(uint8_t cmd, uint32_t timeout, const char *id, size_t *n)
{
    static uint8_t buf[4][ACTORS_WIRE_HDR_MAX];
    static int k;
    uint8_t *b = buf[k++ % 4];
    *n = actors__hdr_write(b, cmd, timeout, id, id ? strlen(id) : 0);
    return b;
}

/* s_vsend sends header h (hn bytes) and then nframes raw frames given as
 * (const void *, size_t) pairs in ap, and records the header. */
static void
s_vsend(void *sock, const uint8_t *h, size_t hn, int nframes, va_list ap)
{
    s_sent_record(h, hn);
    ck_assert_int_ge(zmq_send(sock, h, hn, nframes > 0 ? ZMQ_SNDMORE : 0), 0);
    for (int i = 0; i < nframes; i++) {
        const void *d = va_arg(ap, const void *);
        size_t n = va_arg(ap, size_t);
        ck_assert_int_ge(
            zmq_send(sock, d, n, i + 1 < nframes ? ZMQ_SNDMORE : 0), 0);
    }
}

/* s_sendh sends the given header frame and nframes raw frames. */
static void
s_sendh(void *sock, const uint8_t *h, size_t hn, int nframes, ...)
{
    va_list ap;
    va_start(ap, nframes);
    s_vsend(sock, h, hn, nframes, ap);
    va_end(ap);
}

/* s_send sends a header without names and then nframes C strings / raw
 * frames given as (const void *, size_t) pairs. */
static void
s_send(
    void *sock, uint8_t cmd, uint32_t timeout, const char *id, int nframes, ...)
{
    size_t hn;
    const uint8_t *h = s_hdr(cmd, timeout, id, &hn);
    va_list ap;
    va_start(ap, nframes);
    s_vsend(sock, h, hn, nframes, ap);
    va_end(ap);
}

/* s_send_to sends a CALL or TELL: a header carrying address and method
 * (either may be "" to make it malformed), then nframes raw frames (args
 * and the optional key). */
static void
s_send_to(void *sock, uint8_t cmd, uint32_t timeout, const char *id,
    const char *address, const char *method, int nframes, ...)
{
    uint8_t h[ACTORS_WIRE_HDR_MAX];
    size_t hn = testutil_call_hdr(h, ACTORS_WIRE_SIG, cmd, timeout, id,
        id ? strlen(id) : 0, address, method);
    va_list ap;
    va_start(ap, nframes);
    s_vsend(sock, h, hn, nframes, ap);
    va_end(ap);
}

#define S(str) (const void *)(str), strlen(str)
static const uint8_t s_noargs[] = {0x90}; /* msgpack [] */
#define NOARGS (const void *)s_noargs, sizeof s_noargs

/* s_call sends CALL address method [] with id. */
static void
s_call(void *sock, const char *id, const char *address, uint32_t timeout)
{
    s_send_to(sock, ACTORS_CMD_CALL, timeout, id, address, "m", 1, NOARGS);
}

/* s_recv receives a message, skipping broker HEARTBEATs. */
static void
s_recv(void *sock, s_msg_t *m)
{
    for (;;) {
        ck_assert_msg(s_raw_recv(sock, RECV_MS, m), "no message");
        ck_assert_int_ge(m->nframes, 1);
        int h = m->len[0] == 0 ? 1 : 0;
        if (m->len[h] >= ACTORS_WIRE_HDR_MIN &&
            m->data[h][4] == ACTORS_CMD_HEARTBEAT) {
            s_msg_free(m);
            continue;
        }
        return;
    }
}

/* s_expect_error receives an ERROR with request id `id` and type `type`
 * (header at frame h). */
static void
s_expect_error(void *sock, int h, const char *id, const char *type)
{
    s_msg_t m;
    s_recv(sock, &m);
    char got[64];
    ck_assert_msg(s_error_type(&m, h, got, sizeof got), "not an ERROR (cmd %d)",
        m.len[h] > 4 ? m.data[h][4] : -1);
    ck_assert_str_eq(got, type);
    s_check_answer(&m, h, ACTORS_CMD_ERROR, id);
    s_msg_free(&m);
}

/* s_expect_reply receives a REPLY with request id `id`; returns nothing
 * but checks the body equals body/len when body is not NULL. */
static void
s_expect_reply(void *sock, int h, const char *id, const void *body, size_t len)
{
    s_msg_t m;
    s_recv(sock, &m);
    ck_assert_int_eq(m.nframes, h + 2);
    s_check_answer(&m, h, ACTORS_CMD_REPLY, id);
    if (body != NULL) {
        ck_assert_uint_eq(m.len[h + 1], len);
        ck_assert_int_eq(memcmp(m.data[h + 1], body, len), 0);
    }
    s_msg_free(&m);
}

/* s_register_ex makes sock the actor at address with prefetch and
 * mailbox; progress: it reports what it takes up (PROTOCOL.md). */
/* The claim REGISTER shows ("" none): what the raw node of rawnode.h got
 * with its last SPAWN, or sent with its last STATE. */
static char s_claim[65];

static void
s_register_ex(void *sock, const char *address, uint32_t prefetch,
    uint32_t mailbox, bool progress)
{
    actors_msg_t *info = NULL;
    TEST_ASSERT_OK(actors_msg_build(&info, "{sssisisisbss}", "service", "test",
        "pid", 4242, "prefetch", (int)prefetch, "mailbox", (int)mailbox,
        "progress", (int)progress, "claim", s_claim));
    s_send(sock, ACTORS_CMD_REGISTER, 0, "reg", 2, S(address),
        actors_msg_data(info), actors_msg_size(info));
    actors_msg_destroy(&info);
    s_msg_t m;
    s_recv(sock, &m);
    ck_assert_int_eq(m.nframes, 2);
    s_check_answer(&m, 0, ACTORS_CMD_REPLY, "reg");
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    ck_assert_int_eq(
        msgpack_unpack_next(&up, (const char *)m.data[1], m.len[1], NULL),
        MSGPACK_UNPACK_SUCCESS);
    int64_t hb = 0;
    TEST_ASSERT_OK(
        actors_value_int(actors_map_get(&up.data, "heartbeat_ms"), &hb));
    ck_assert_int_gt(hb, 0);
    msgpack_unpacked_destroy(&up);
    s_msg_free(&m);
}

/* s_register makes sock the actor at address with prefetch and mailbox. */
static void
s_register(void *sock, const char *address, uint32_t prefetch, uint32_t mailbox)
{
    s_register_ex(sock, address, prefetch, mailbox, false);
}

/* A CALL or TELL as the actor received it: [header with names][args]
 * [key?]. */
typedef struct {
    uint8_t cmd;       /* CALL or TELL */
    uint32_t timeout;  /* time left, as passed on */
    uint8_t tag[8];    /* CALL: the broker's tag (the header's id) */
    size_t id_len;     /* the header's id length (CALL: 4 or 8) */
    char address[256]; /* the names from the header */
    char method[256];  /* */
    size_t args_len;   /* the args frame */
    bool has_key;      /* a key frame followed the args */
    char key[256];     /* the key, NUL-terminated */
} s_got_t;

/* s_actor_get receives the next CALL/TELL at the actor. */
static s_got_t
s_actor_get(void *actor)
{
    s_msg_t m;
    s_recv(actor, &m);
    ck_assert_msg(m.nframes == 2 || m.nframes == 3, "a CALL/TELL of %d frames",
        m.nframes);
    actors__hdr_t ph;
    TEST_ASSERT_OK(actors__hdr_parse(m.data[0], m.len[0], &ph));
    s_got_t g;
    memset(&g, 0, sizeof g);
    g.cmd = ph.cmd;
    ck_assert_msg(g.cmd == ACTORS_CMD_CALL || g.cmd == ACTORS_CMD_TELL,
        "the actor got command %u", (unsigned)g.cmd);
    /* Names well-formed and ending the header exactly. */
    ck_assert_ptr_nonnull(ph.address);
    ck_assert_ptr_nonnull(ph.method);
    ck_assert_uint_eq(m.len[0],
        ACTORS_WIRE_HDR_MIN + ph.id_len + 2 + ph.address_len + ph.method_len);
    g.id_len = ph.id_len;
    if (g.cmd == ACTORS_CMD_CALL) {
        /* A short tag while the broker's slot index is under 65536. */
        ck_assert(ph.id_len == 4 || ph.id_len == 8);
        memset(g.tag, 0, sizeof g.tag);
        memcpy(g.tag, ph.id, ph.id_len);
    }
    g.timeout = ph.timeout_ms;
    snprintf(g.address, sizeof g.address, "%.*s", (int)ph.address_len,
        (const char *)ph.address);
    snprintf(g.method, sizeof g.method, "%.*s", (int)ph.method_len,
        (const char *)ph.method);
    g.args_len = m.len[1];
    if (m.nframes == 3) {
        g.has_key = true;
        snprintf(g.key, sizeof g.key, "%.*s", (int)m.len[2],
            (const char *)m.data[2]);
    }
    s_msg_free(&m);
    return g;
}

/* s_vm_hwm_kib is the peak resident size of this process (VmHWM). */
static long
s_vm_hwm_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    ck_assert_ptr_nonnull(f);
    char line[256];
    long kib = -1;
    while (fgets(line, sizeof line, f) != NULL) {
        if (sscanf(line, "VmHWM: %ld kB", &kib) == 1) {
            break;
        }
    }
    fclose(f);
    ck_assert_int_gt(kib, 0);
    return kib;
}

#endif
