/* tests/unit/broker/test_hardening.c - what a peer must never do to the
 * broker, and the bounds it answers, spoken raw to a broker in a thread.
 * SPDX-License-Identifier: MIT
 *
 * Each case is a finding of the round-2 review (issue "Broker: one table
 * of connections ... every resource bounded"): a node answering a request
 * relayed to another node, guessable tags, REQ peers left hanging, tells
 * lost without a word, a config that takes a live actor down, a spawn that
 * times out but runs on, a huge frame buffered whole, a client that never
 * reads its replies. The harness is rawbroker.h and rawnode.h. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <malloc.h>
#include <sys/mman.h>

#include <check.h>
#include <msgpack.h>
#include <zmq.h>

#include <actors/log.h>
#include <actors/msg.h>

#include "../../../broker/broker.h"
#include "../../../broker/registry.h"
#include "../../testutil.h"
#include <actors-internal/utf8.h>
#include <actors-internal/wire.h>

#include "rawbroker.h"
#include "rawnode.h"

static const uint8_t s_nil = 0xc0;

/* A node may answer only what was relayed to it: a second node that took
 * the address over (STATE with the actor's pid) and answers the first
 * node's KILL by its tag used to abort the broker (mailbox.c assertion). */
START_TEST(test_hardening_node_answers_only_its_requests)
{
    s_start();
    void *c = s_sock(ZMQ_DEALER);
    void *n1 = s_sock(ZMQ_DEALER);
    void *n2 = s_sock(ZMQ_DEALER);
    void *a = s_sock(ZMQ_DEALER);
    s_node(n1, "n1");
    s_node(n2, "n2");
    s_state(n1, "k/1", "starting", 4242, "", 0);
    s_wait_state(c, "k/1", "starting");
    s_register(a, "k/1", 1, 0);
    actors_msg_t *opts = NULL;
    MAP(opts, "{sbsb}", "restart", 0, "graceful", 0);
    s_send(c, ACTORS_CMD_KILL, 0, "kill", 2, S("k/1"), BODY(opts));
    actors_msg_destroy(&opts);
    s_req_t r = s_node_get(n1);
    ck_assert_uint_eq(r.cmd, ACTORS_CMD_KILL);
    /* n2 claims the actor (same pid), then answers n1's request. */
    s_state(n2, "k/1", "starting", 4242, "", 0);
    static const uint8_t empty_map = 0x80;
    s_reply_id(n2, ACTORS_CMD_REPLY, r.tag, 8, &empty_map, 1);
    ck_assert_int_ge(s_ping_int(n2, "uptime_ms"), 0); /* broker alive */
    /* The real node's answer still reaches the client, once. */
    s_reply_id(n1, ACTORS_CMD_REPLY, r.tag, 8, &empty_map, 1);
    s_expect_reply(c, 0, "kill", &empty_map, 1);
    ck_assert_int_ge(s_ping_int(c, "uptime_ms"), 0);
    zmq_close(a);
    zmq_close(n2);
    zmq_close(n1);
    zmq_close(c);
    s_stop();
}
END_TEST

/* s_first_tag starts a broker, makes one call and returns the tag the
 * actor saw. */
static void
s_first_tag(uint8_t tag[8])
{
    s_start();
    void *c = s_sock(ZMQ_DEALER);
    void *a = s_sock(ZMQ_DEALER);
    s_register(a, "t/1", 4, 0);
    s_call(c, "c1", "t/1", 0);
    s_got_t g = s_actor_get(a);
    memcpy(tag, g.tag, 8);
    zmq_close(a);
    zmq_close(c);
    s_stop();
}

/* Tags are not guessable: the first one is not all zeros, and two brokers
 * do not hand out the same first tag. */
START_TEST(test_hardening_tags_unguessable)
{
    uint8_t t1[8];
    uint8_t t2[8];
    static const uint8_t zeros[8] = {0};
    s_first_tag(t1);
    s_first_tag(t2);
    ck_assert_int_ne(memcmp(t1, zeros, 8), 0);
    ck_assert_int_ne(memcmp(t1, t2, 8), 0);
}
END_TEST

/* A REQ socket waits for one answer to everything it sends: commands that
 * are never answered on success (STATE, EVENT, CREDIT, UNREGISTER) get an
 * error instead of leaving it hanging. */
START_TEST(test_hardening_req_always_answered)
{
    s_start();
    static const uint8_t count[4] = {0, 0, 0, 1};
    actors_msg_t *st = NULL;
    MAP(st, "{ss}", "state", "stopped");
    struct {
        uint8_t cmd;
        int nframes;
    } cases[] = {
        {ACTORS_CMD_STATE, 2},
        {ACTORS_CMD_EVENT, 1},
        {ACTORS_CMD_CREDIT, 1},
        {ACTORS_CMD_UNREGISTER, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        void *req = s_sock(ZMQ_REQ);
        char id[16];
        snprintf(id, sizeof id, "r%zu", i);
        if (cases[i].cmd == ACTORS_CMD_STATE) {
            s_send(req, cases[i].cmd, 0, id, 2, S("x/1"), BODY(st));
        } else if (cases[i].cmd == ACTORS_CMD_EVENT) {
            s_send(req, cases[i].cmd, 0, id, 1, BODY(st));
        } else if (cases[i].cmd == ACTORS_CMD_CREDIT) {
            s_send(req, cases[i].cmd, 0, id, 1, count, sizeof count);
        } else {
            s_send(req, cases[i].cmd, 0, id, 1, S("x/1"));
        }
        s_expect_error(req, 0, id, "BadRequest");
        zmq_close(req);
    }
    actors_msg_destroy(&st);
    s_stop();
}
END_TEST

/* A TELL with a request id is acknowledged (REPLY nil) or refused (ERROR);
 * one without an id and without a delimiter is never answered; a REQ
 * socket's TELL is answered. */
START_TEST(test_hardening_tell_acknowledged)
{
    s_start();
    void *c = s_sock(ZMQ_DEALER);
    void *a = s_sock(ZMQ_DEALER);
    s_register(a, "t/1", 1, 1);
    s_send_to(c, ACTORS_CMD_TELL, 0, "t1", "t/1", "m", 1, NOARGS);
    s_expect_reply(c, 0, "t1", &s_nil, 1);
    s_got_t g = s_actor_get(a);
    ck_assert_uint_eq(g.cmd, ACTORS_CMD_TELL);
    /* The actor holds its one credit: the next waits, the one after finds
     * the mailbox (bound 1) full. */
    s_send_to(c, ACTORS_CMD_TELL, 0, "t2", "t/1", "m", 1, NOARGS);
    s_expect_reply(c, 0, "t2", &s_nil, 1);
    s_send_to(c, ACTORS_CMD_TELL, 0, "t3", "t/1", "m", 1, NOARGS);
    s_expect_error(c, 0, "t3", "MailboxFull");
    s_send_to(c, ACTORS_CMD_TELL, 0, "t4", "nobody/1", "m", 1, NOARGS);
    s_expect_error(c, 0, "t4", "NoSuchActor");
    /* Fire and forget: nothing comes back, not even for a bad address;
     * the next message on the socket is the PING's answer. */
    s_send_to(c, ACTORS_CMD_TELL, 0, NULL, "nobody/1", "m", 1, NOARGS);
    ck_assert_int_ge(s_ping_int(c, "uptime_ms"), 0);
    void *req = s_sock(ZMQ_REQ);
    s_send_to(req, ACTORS_CMD_TELL, 0, "rq", "nobody/1", "m", 1, NOARGS);
    s_expect_error(req, 0, "rq", "NoSuchActor");
    /* Even without an id: a REQ socket waits for its answer. */
    s_send_to(req, ACTORS_CMD_TELL, 0, NULL, "nobody/1", "m", 1, NOARGS);
    s_msg_t m;
    s_recv(req, &m);
    char type[64];
    ck_assert(s_error_type(&m, 0, type, sizeof type));
    ck_assert_str_eq(type, "NoSuchActor");
    s_msg_free(&m);
    zmq_close(req);
    zmq_close(a);
    zmq_close(c);
    s_stop();
}
END_TEST

/* A node whose config names an address that an actor started by hand
 * holds (the README's tour, part 2) reports it starting, then stopped
 * ("address held by a live actor elsewhere"): the live actor must go on
 * serving. */
START_TEST(test_hardening_node_config_keeps_live_actor)
{
    s_start();
    void *c = s_sock(ZMQ_DEALER);
    void *a = s_sock(ZMQ_DEALER);
    void *n = s_sock(ZMQ_DEALER);
    s_register(a, "x/1", 4, 0);
    s_node(n, "n1");
    s_state(n, "x/1", "starting", 999, "", 0);
    s_state(
        n, "x/1", "stopped", 999, "address held by a live actor elsewhere", 0);
    ck_assert_int_ge(s_ping_int(n, "uptime_ms"), 0); /* STATEs handled */
    s_send(c, ACTORS_CMD_LOOKUP, 0, "lk", 1, S("x/1"));
    msgpack_unpacked up;
    s_msg_t m;
    s_reply_map(c, "lk", &up, &m);
    ck_assert(s_str_is(&up.data, "state", "running"));
    msgpack_unpacked_destroy(&up);
    s_msg_free(&m);
    s_call(c, "c1", "x/1", 2000);
    s_got_t g = s_actor_get(a);
    s_reply_id(a, ACTORS_CMD_REPLY, g.tag, g.id_len, &s_nil, 1);
    s_expect_reply(c, 0, "c1", &s_nil, 1);
    zmq_close(n);
    zmq_close(a);
    zmq_close(c);
    s_stop();
}
END_TEST

/* A SPAWN whose deadline passes before the actor registers is answered
 * Timeout, and the actor is stopped: it must not run behind the back of
 * a client that was told it failed. */
START_TEST(test_hardening_spawn_timeout_stops_actor)
{
    s_start();
    void *c = s_sock(ZMQ_DEALER);
    void *n = s_sock(ZMQ_DEALER);
    s_node(n, "n1");
    actors_msg_t *spec = NULL;
    MAP(spec, "{ssss}", "service", "svc", "name", "sp/1");
    s_send(c, ACTORS_CMD_SPAWN, 300, "sp", 1, BODY(spec));
    actors_msg_destroy(&spec);
    s_req_t r = s_node_get(n);
    ck_assert_uint_eq(r.cmd, ACTORS_CMD_SPAWN);
    ck_assert_str_eq(r.address, "sp/1");
    actors_msg_t *ok = NULL;
    MAP(ok, "{si}", "pid", 777);
    s_reply_id(n, ACTORS_CMD_REPLY, r.tag, 8, BODY(ok));
    actors_msg_destroy(&ok);
    s_expect_error(c, 0, "sp", "Timeout");
    /* The KILL carries no request id: nobody waits for its answer. */
    s_msg_t m;
    s_recv(n, &m);
    ck_assert_int_eq(m.nframes, 3);
    ck_assert_uint_eq(m.data[0][4], ACTORS_CMD_KILL);
    ck_assert_uint_eq(m.len[1], 4);
    ck_assert_int_eq(memcmp(m.data[1], "sp/1", 4), 0);
    s_msg_free(&m);
    zmq_close(n);
    zmq_close(c);
    s_stop();
}
END_TEST

/* A frame far above max_message closes its sender's connection before it
 * is buffered (it used to be received whole, then answered TooLarge); one
 * just above the limit is answered TooLarge; the broker serves on. */
START_TEST(test_hardening_oversize_frame_not_buffered)
{
    brk_opts_t opts = BRK_OPTS_INIT;
    opts.max_message = 1 << 20;
    s_start_opts(opts);
    void *c = s_sock(ZMQ_DEALER);
    void *a = s_sock(ZMQ_DEALER);
    s_register(a, "big/1", 4, 0);
    size_t just = (1 << 20) + 1;
    uint8_t *small = calloc(1, just);
    ck_assert_ptr_nonnull(small);
    s_send_to(c, ACTORS_CMD_CALL, 0, "just", "big/1", "m", 1, small, just);
    s_expect_error(c, 0, "just", "TooLarge");
    free(small);

    /* 96 MiB of untouched anonymous memory: sending it maps zero pages
     * and costs this process no resident memory; receiving it would. */
    size_t huge = (size_t)96 << 20;
    void *buf = mmap(NULL, huge, PROT_READ | PROT_WRITE,
        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    ck_assert_ptr_ne(buf, MAP_FAILED);
    long before = s_vm_hwm_kib();
    void *h = s_sock(ZMQ_DEALER);
    uint8_t hdr[ACTORS_WIRE_HDR_MAX];
    size_t hn = testutil_call_hdr(
        hdr, ACTORS_WIRE_SIG, ACTORS_CMD_CALL, 0, "h", 1, "big/1", "m");
    ck_assert_int_ge(zmq_send(h, hdr, hn, ZMQ_SNDMORE), 0);
    zmq_msg_t f;
    ck_assert_int_eq(zmq_msg_init_data(&f, buf, huge, NULL, NULL), 0);
    ck_assert_int_ge(zmq_msg_send(&f, h, 0), 0);
    /* Wait until the broker has read the frame's size and dropped the
     * connection, or (before the bound) buffered it all and answered. */
    s_msg_t m;
    bool answered = s_raw_recv(h, 3000, &m);
    if (answered) {
        s_msg_free(&m);
    }
    long after = s_vm_hwm_kib();
    ck_assert_msg(!answered, "a 96 MiB frame was received and answered");
    ck_assert_msg(after - before < 32 * 1024,
        "peak memory grew by %ld KiB for a refused frame", after - before);
    ck_assert_int_ge(s_ping_int(c, "uptime_ms"), 0);
    zmq_close(h);
    munmap(buf, huge);
    zmq_close(a);
    zmq_close(c);
    s_stop();
}
END_TEST

/* s_unread_sock is a DEALER that reads only when told, for real: libzmq
 * would otherwise keep reading into its own queue (1000 messages by
 * default) for it, and the kernel into a large buffer. */
static void *
s_unread_sock(void)
{
    void *s = s_sock(ZMQ_DEALER);
    int one = 1;
    int rcvbuf = 4096;
    zmq_setsockopt(s, ZMQ_RCVHWM, &one, sizeof one);
    zmq_setsockopt(s, ZMQ_RCVBUF, &rcvbuf, sizeof rcvbuf);
    return s;
}

/* s_big_calls sends n calls with ids "q0".."q<n-1>" from c to address,
 * each with a body of len bytes; method "m<i>" if numbered, else "m". */
static void
s_big_calls(void *c, const char *address, int n, const uint8_t *body,
    size_t len, bool numbered)
{
    for (int i = 0; i < n; i++) {
        char id[16];
        char method[16] = "m";
        snprintf(id, sizeof id, "q%d", i);
        if (numbered) {
            snprintf(method, sizeof method, "m%d", i);
        }
        s_send_to(c, ACTORS_CMD_CALL, 0, id, address, method, 1, body, len);
    }
}

/* s_bin_body is a msgpack bin of len bytes in all (free it): a large
 * reply. */
static uint8_t *
s_bin_body(size_t len)
{
    ck_assert_uint_ge(len, 5);
    ck_assert_uint_le(len, 0xffff + 5);
    uint8_t *body = malloc(len);
    ck_assert_ptr_nonnull(body);
    body[0] = 0xc6; /* msgpack bin32 header, then the bytes */
    body[1] = 0;
    body[2] = 0;
    body[3] = (uint8_t)((len - 5) >> 8);
    body[4] = (uint8_t)(len - 5);
    memset(body + 5, 'x', len - 5);
    return body;
}

/* A client that pipelines calls and never reads its replies: the broker
 * keeps at most max_queued answers for it, drops and counts the rest
 * (PING "undelivered"), and serves everyone else. */
START_TEST(test_hardening_slow_consumer_bounded)
{
    brk_opts_t opts = BRK_OPTS_INIT;
    opts.max_queued = 50;
    s_start_opts(opts);
    void *slow = s_unread_sock();
    void *a = s_sock(ZMQ_DEALER);
    void *c = s_sock(ZMQ_DEALER);
    s_register(a, "e/1", 1000, 0);
    enum { N = 600 };
    size_t body_len = 64 * 1024;
    uint8_t *body = s_bin_body(body_len);
    for (int i = 0; i < N; i++) {
        char id[16];
        snprintf(id, sizeof id, "s%d", i);
        s_call(slow, id, "e/1", 0);
    }
    for (int i = 0; i < N; i++) {
        s_got_t g = s_actor_get(a);
        s_reply_id(a, ACTORS_CMD_REPLY, g.tag, g.id_len, body, body_len);
    }
    int64_t deadline = testutil_now_ms() + RECV_MS;
    int64_t undelivered = 0;
    while ((undelivered = s_ping_int(c, "undelivered")) < N / 3 &&
           testutil_now_ms() < deadline) {
        testutil_poll_pause_ms(10);
    }
    ck_assert_msg(undelivered >= N / 3,
        "%lld of %d unread replies counted undelivered", (long long)undelivered,
        N);
    /* Everyone else is served as before. */
    s_call(c, "ok", "e/1", 2000);
    s_got_t g = s_actor_get(a);
    s_reply_id(a, ACTORS_CMD_REPLY, g.tag, g.id_len, &s_nil, 1);
    s_expect_reply(c, 0, "ok", &s_nil, 1);
    free(body);
    zmq_close(c);
    zmq_close(a);
    zmq_close(slow);
    s_stop();
}
END_TEST

/* s_answer_index receives an answer of command cmd to one of n calls
 * with ids "q0".."q<n-1>" and returns its number. */
static int
s_answer_index(void *c, uint8_t cmd, int n)
{
    s_msg_t m;
    s_recv(c, &m);
    actors__hdr_t h;
    TEST_ASSERT_OK(actors__hdr_parse(m.data[0], m.len[0], &h));
    ck_assert_uint_eq(h.cmd, cmd);
    char id[16];
    snprintf(id, sizeof id, "%.*s", (int)h.id_len, (const char *)h.id);
    ck_assert_int_eq(id[0], 'q');
    int i = atoi(id + 1);
    ck_assert_int_ge(i, 0);
    ck_assert_int_lt(i, n);
    s_msg_free(&m);
    return i;
}

/* An actor whose queue in ZeroMQ is full (it reads slowly; max_queued
 * 20): the calls dispatched to it wait in the broker, in order, and every
 * one reaches it once, in the order sent, when it reads again; their
 * replies all come back. The broker's sends are deferred to the end of
 * a burst (outbox.h), so a full queue is found after the dispatch. */
START_TEST(test_hardening_full_actor_queue_keeps_order)
{
    brk_opts_t opts = BRK_OPTS_INIT;
    opts.max_queued = 20;
    s_start_opts(opts);
    void *a = s_unread_sock();
    void *c = s_sock(ZMQ_DEALER);
    s_register(a, "q/1", 1000, 0);
    enum { N = 600 };
    size_t body_len = 64 * 1024;
    uint8_t *body = s_bin_body(body_len);
    s_big_calls(c, "q/1", N, body, body_len, true);
    /* Answered after the calls were handled (one connection, in order):
     * by then they were all dispatched, most into a full queue. */
    ck_assert_int_ge(s_ping_int(c, "uptime_ms"), 0);
    for (int i = 0; i < N; i++) {
        s_got_t g = s_actor_get(a);
        char method[16];
        snprintf(method, sizeof method, "m%d", i);
        ck_assert_str_eq(g.method, method);
        ck_assert_uint_eq(g.args_len, body_len);
        s_reply_id(a, ACTORS_CMD_REPLY, g.tag, g.id_len, &s_nil, 1);
    }
    bool seen[N] = {false};
    for (int k = 0; k < N; k++) {
        int i = s_answer_index(c, ACTORS_CMD_REPLY, N);
        ck_assert_msg(!seen[i], "call %d answered twice", i);
        seen[i] = true;
    }
    ck_assert_int_eq(s_ping_int(c, "undelivered"), 0);
    free(body);
    zmq_close(c);
    zmq_close(a);
    s_stop();
}
END_TEST

/* The same actor leaves while calls wait in the broker for its full
 * queue: every call is answered (none is left waiting for a peer that is
 * gone, none reaches a later one). */
START_TEST(test_hardening_full_actor_queue_actor_leaves)
{
    brk_opts_t opts = BRK_OPTS_INIT;
    opts.max_queued = 20;
    s_start_opts(opts);
    void *a = s_unread_sock();
    void *c = s_sock(ZMQ_DEALER);
    s_register(a, "q/1", 1000, 0);
    enum { N = 300 };
    size_t body_len = 64 * 1024;
    uint8_t *body = s_bin_body(body_len);
    s_big_calls(c, "q/1", N, body, body_len, false);
    ck_assert_int_ge(s_ping_int(c, "uptime_ms"), 0);
    void *p = s_sock(ZMQ_DEALER); /* asks PING meanwhile */
    zmq_close(a);
    /* The ERRORs come in one burst, more than this client's queue of 20
     * holds: those that do not fit are counted undelivered (a slow
     * consumer), the rest arrive. */
    bool seen[N] = {false};
    int got = 0;
    int64_t deadline = testutil_now_ms() + 10 * RECV_MS;
    for (;;) {
        ck_assert_msg(testutil_now_ms() < deadline, "%d answered", got);
        zmq_pollitem_t it = {c, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, 100) == 1) {
            int i = s_answer_index(c, ACTORS_CMD_ERROR, N);
            ck_assert_msg(!seen[i], "call %d answered twice", i);
            seen[i] = true;
            got++;
            continue;
        }
        if (got + s_ping_int(p, "undelivered") == N) {
            break;
        }
    }
    zmq_close(p);
    free(body);
    zmq_close(c);
    s_stop();
}
END_TEST

/* One process serving NFULL addresses (prefetch 10 each, max_queued
 * 20) that does not read: its queue in ZeroMQ fills with the first
 * addresses' calls of 64 KiB (FILL_PER each, twice their credit, so
 * their mailboxes come first however the queue's room varies), and every
 * call to the last address waits. s_fill_queue registers them and sends
 * those calls; the last address is "<prefix>/<NFULL - 1>". */
enum { NFULL = 10, PER_FULL = 10, FILL_PER = 2 * PER_FULL };

static void
s_fill_queue(void *a, void *c, const char *prefix, bool progress,
    const uint8_t *body, size_t body_len)
{
    for (int k = 0; k < NFULL; k++) {
        char addr[16];
        snprintf(addr, sizeof addr, "%s/%d", prefix, k);
        s_register_ex(a, addr, PER_FULL, 0, progress);
    }
    for (int k = 0; k < NFULL - 1; k++) {
        char addr[16];
        snprintf(addr, sizeof addr, "%s/%d", prefix, k);
        for (int i = 0; i < FILL_PER; i++) {
            char id[16];
            snprintf(id, sizeof id, "f%d", k * FILL_PER + i);
            s_send_to(c, ACTORS_CMD_CALL, 0, id, addr, "m", 1, body, body_len);
        }
    }
    /* Answered after the calls were handled and sent: the queue is full
     * by then. */
    ck_assert_int_ge(s_ping_int(c, "uptime_ms"), 0);
}

/* s_read_others has the actor read and answer every call it was sent:
 * the (NFULL - 1) * FILL_PER calls to the first addresses, none to the
 * last one (prefix/NFULL-1), and nothing more. */
static void
s_read_others(void *a, const char *prefix)
{
    char last[16];
    snprintf(last, sizeof last, "%s/%d", prefix, NFULL - 1);
    for (int n = 0; n < (NFULL - 1) * FILL_PER; n++) {
        s_got_t g = s_actor_get(a);
        ck_assert_msg(strcmp(g.address, last) != 0,
            "a call to %s reached the actor after its caller was answered",
            last);
        s_reply_id(a, ACTORS_CMD_REPLY, g.tag, g.id_len, &s_nil, 1);
    }
    zmq_pollitem_t it = {a, 0, ZMQ_POLLIN, 0};
    ck_assert_int_eq(zmq_poll(&it, 1, 300), 0);
}

/* A call that meets its actor's queue full waits in the mailbox under
 * its deadline: its caller is answered Timeout, and the call never
 * reaches the actor afterwards (it was once delivered later still, its
 * header claiming the time left it had at first). */
START_TEST(test_hardening_full_queue_call_times_out_undelivered)
{
    brk_opts_t opts = BRK_OPTS_INIT;
    opts.max_queued = 20;
    s_start_opts(opts);
    void *a = s_unread_sock();
    void *c = s_sock(ZMQ_DEALER);
    size_t body_len = 64 * 1024;
    uint8_t *body = s_bin_body(body_len);
    s_fill_queue(a, c, "t", false, body, body_len);
    for (int i = 0; i < PER_FULL; i++) {
        char id[16];
        snprintf(id, sizeof id, "q%d", i);
        s_send_to(c, ACTORS_CMD_CALL, 300, id, "t/9", "m", 1, body, body_len);
    }
    bool seen[PER_FULL] = {false};
    for (int k = 0; k < PER_FULL; k++) {
        s_msg_t m;
        s_recv(c, &m);
        char type[64];
        ck_assert(s_error_type(&m, 0, type, sizeof type));
        ck_assert_str_eq(type, "Timeout");
        actors__hdr_t h;
        TEST_ASSERT_OK(actors__hdr_parse(m.data[0], m.len[0], &h));
        char id[16];
        snprintf(id, sizeof id, "%.*s", (int)h.id_len, (const char *)h.id);
        int i = atoi(id + 1);
        ck_assert(id[0] == 'q' && i >= 0 && i < PER_FULL && !seen[i]);
        seen[i] = true;
        s_msg_free(&m);
    }
    s_read_others(a, "t");
    free(body);
    zmq_close(c);
    zmq_close(a);
    s_stop();
}
END_TEST

/* The same for an address its actor unregisters while calls to it wait
 * for the full queue: the callers are answered ActorDead, "not
 * delivered", and indeed nothing reaches the actor (it once did). */
START_TEST(test_hardening_full_queue_unregister_not_delivered)
{
    brk_opts_t opts = BRK_OPTS_INIT;
    opts.max_queued = 20;
    s_start_opts(opts);
    void *a = s_unread_sock();
    void *c = s_sock(ZMQ_DEALER);
    size_t body_len = 64 * 1024;
    uint8_t *body = s_bin_body(body_len);
    s_fill_queue(a, c, "u", true, body, body_len);
    s_big_calls(c, "u/9", PER_FULL, body, body_len, false);
    ck_assert_int_ge(s_ping_int(c, "uptime_ms"), 0);
    s_send(a, ACTORS_CMD_UNREGISTER, 0, NULL, 1, S("u/9"));
    for (int k = 0; k < PER_FULL; k++) {
        s_msg_t m;
        s_recv(c, &m);
        char type[64];
        ck_assert(s_error_type(&m, 0, type, sizeof type));
        ck_assert_str_eq(type, "ActorDead");
        ck_assert_ptr_nonnull(memmem(m.data[1], m.len[1], "not delivered", 13));
        s_msg_free(&m);
    }
    s_read_others(a, "u");
    free(body);
    zmq_close(c);
    zmq_close(a);
    s_stop();
}
END_TEST

/* A progress-reporting actor serving several addresses whose queue
 * fills: dispatches to the last address are taken back, at the flush and
 * at retries, before they reach it. The actor numbers what it receives;
 * so must the broker, or its reports mean other messages. It reads
 * everything, answers the other addresses, leaves q0 unanswered (a
 * deferred reply), reports q1 taken up by its own count, and dies: q0
 * and q1 were started and must be answered ActorCrashed, never ActorDead
 * "not delivered" (found by review: every dispatch taken back left a
 * gap in the broker's numbering). */
static void s_credit_taken(void *actor, uint32_t count, uint32_t taken);

START_TEST(test_hardening_full_queue_progress_numbering)
{
    brk_opts_t opts = BRK_OPTS_INIT;
    opts.max_queued = 20;
    s_start_opts(opts);
    void *a = s_unread_sock();
    void *c = s_sock(ZMQ_DEALER);
    size_t body_len = 64 * 1024;
    uint8_t *body = s_bin_body(body_len);
    s_fill_queue(a, c, "p", true, body, body_len);
    s_big_calls(c, "p/9", PER_FULL, body, body_len, false);
    ck_assert_int_ge(s_ping_int(c, "uptime_ms"), 0);
    /* A pause (not a wait for a condition): the broker retries the full
     * queue every 10 ms meanwhile, each retry taking dispatches back. */
    testutil_poll_pause_ms(200);
    uint32_t seq = 0; /* the actor's own count: REGISTER said 0 */
    uint32_t q1_seq = 0;
    int got_q = 0;
    while (got_q < 2) {
        s_got_t g = s_actor_get(a);
        seq++;
        if (strcmp(g.address, "p/9") == 0) {
            if (++got_q == 2) {
                q1_seq = seq;
            }
            continue; /* q0: deferred; q1: started */
        }
        s_reply_id(a, ACTORS_CMD_REPLY, g.tag, g.id_len, &s_nil, 1);
    }
    s_credit_taken(a, 0, q1_seq);
    /* The broker has the CREDIT once it answers a PING sent after it
     * (the calls still coming to the actor are skipped). */
    s_send(a, ACTORS_CMD_PING, 0, "pingA", 0);
    for (bool done = false; !done;) {
        s_msg_t pm;
        s_recv(a, &pm);
        actors__hdr_t ph;
        TEST_ASSERT_OK(actors__hdr_parse(pm.data[0], pm.len[0], &ph));
        done = ph.cmd == ACTORS_CMD_REPLY && ph.id_len == 5 &&
               memcmp(ph.id, "pingA", 5) == 0;
        s_msg_free(&pm);
    }
    zmq_close(a);
    /* The caller's answers (some of the replies may have been dropped:
     * it did not read meanwhile, and its queue holds 20) until q0's and
     * q1's. */
    int crashed = 0;
    while (crashed < 2) {
        s_msg_t m;
        s_recv(c, &m);
        actors__hdr_t h;
        TEST_ASSERT_OK(actors__hdr_parse(m.data[0], m.len[0], &h));
        char id[16];
        snprintf(id, sizeof id, "%.*s", (int)h.id_len, (const char *)h.id);
        if (strcmp(id, "q0") == 0 || strcmp(id, "q1") == 0) {
            char type[64] = "";
            ck_assert(s_error_type(&m, 0, type, sizeof type));
            ck_assert_msg(strcmp(type, "ActorCrashed") == 0,
                "%s, started, was answered %s", id, type);
            crashed++;
        }
        s_msg_free(&m);
    }
    ck_assert_int_eq(crashed, 2);
    free(body);
    zmq_close(c);
    s_stop();
}
END_TEST

/* s_heap_bytes is what this process has allocated with malloc, every
 * arena together (the broker runs in one of its threads). */
static long long
s_heap_bytes(void)
{
    struct mallinfo2 mi = mallinfo2();
    return (long long)(mi.uordblks + mi.hblkhd);
}

/* Messages waiting in a mailbox do not pin libzmq's receive buffers: a
 * frame libzmq received into one of its 8 KiB buffers refers to it, so
 * one queued message, each from another buffer, held a whole buffer
 * (about 18 KiB) for its few hundred bytes. Here every queued TELL comes
 * between messages the broker drops at once (silent TELLs to nobody), so
 * each sits in a buffer of its own; 3000 of them must cost the broker
 * far less than 3000 buffers. */
START_TEST(test_hardening_queued_messages_do_not_pin_buffers)
{
    s_start();
    void *a = s_sock(ZMQ_DEALER);
    void *c = s_sock(ZMQ_DEALER);
    s_register(a, "sink/1", 1, 0); /* takes one, never answers */
    ck_assert_int_ge(s_ping_int(c, "uptime_ms"), 0);
    long long before = s_heap_bytes();
    enum { N = 3000, FILL = 30 };
    char nobody[200];
    memset(nobody, 'n', sizeof nobody - 1);
    nobody[sizeof nobody - 1] = '\0';
    uint8_t args[64] = {0x91, 0xc4, 60}; /* [bin 60] */
    for (int i = 0; i < N; i++) {
        s_send_to(c, ACTORS_CMD_TELL, 0, NULL, "sink/1", "queued", 1, args,
            sizeof args);
        for (int k = 0; k < FILL; k++) {
            s_send_to(
                c, ACTORS_CMD_TELL, 0, NULL, nobody, "m", 1, args, sizeof args);
        }
    }
    /* Handled in order: once the PING is answered, every TELL was. */
    ck_assert_int_ge(s_ping_int(c, "uptime_ms"), 0);
    long long grew = s_heap_bytes() - before;
    ck_assert_msg(grew < (long long)N * 4096,
        "%d queued tells of %zu bytes hold %lld bytes", N, sizeof args, grew);
    zmq_close(c);
    zmq_close(a);
    s_stop();
}
END_TEST

/* A parked message whose frames were copied out of the receive buffer
 * (a long method in the header, a key, args over 33 bytes) goes to the
 * actor intact when its turn comes, and its answer reaches the caller. */
START_TEST(test_hardening_parked_call_intact)
{
    s_start();
    void *a = s_sock(ZMQ_DEALER);
    void *c = s_sock(ZMQ_DEALER);
    s_register(a, "park/1", 1, 0);
    const char *method = "a-method-name-long-enough-to-be-copied";
    const char *key = "a-call-key-long-enough-to-be-copied-too";
    uint8_t args[48] = {0x91, 0xc4, 44}; /* [bin 44] */
    memset(args + 3, 'a', sizeof args - 3);
    s_send_to(c, ACTORS_CMD_CALL, 0, "first", "park/1", method, 2, args,
        sizeof args, S(key));
    s_send_to(c, ACTORS_CMD_CALL, 0, "second", "park/1", method, 2, args,
        sizeof args, S(key));
    for (int i = 0; i < 2; i++) {
        /* The second waits in the mailbox until the first is answered. */
        s_got_t g = s_actor_get(a);
        ck_assert_str_eq(g.method, method);
        ck_assert_str_eq(g.address, "park/1");
        ck_assert_uint_eq(g.args_len, sizeof args);
        ck_assert(g.has_key);
        ck_assert_str_eq(g.key, key);
        s_reply_id(a, ACTORS_CMD_REPLY, g.tag, g.id_len, &s_nil, 1);
        s_expect_reply(c, 0, i == 0 ? "first" : "second", &s_nil, 1);
    }
    zmq_close(c);
    zmq_close(a);
    s_stop();
}
END_TEST

/* Log lines by msgid, counted from the broker's thread. */
static atomic_int s_n_slow;
static atomic_int s_n_slow_end;

static void
s_count_log(
    actors_log_level_t level, const char *msgid, const char *text, void *arg)
{
    (void)level;
    (void)text;
    (void)arg;
    if (strcmp(msgid, "BRK-SLOW-CONSUMER") == 0) {
        atomic_fetch_add(&s_n_slow, 1);
    } else if (strcmp(msgid, "BRK-SLOW-CONSUMER-END") == 0) {
        atomic_fetch_add(&s_n_slow_end, 1);
    }
}

/* s_round_trip: slow calls e/1, the actor answers with body (which the
 * broker cannot hand to slow once its queue is full). */
static void
s_round_trip(void *slow, void *a, const uint8_t *body, size_t body_len)
{
    s_call(slow, "s", "e/1", 0);
    s_got_t g = s_actor_get(a);
    s_reply_id(a, ACTORS_CMD_REPLY, g.tag, g.id_len, body, body_len);
}

/* A slow consumer is logged once per episode, not once a second while
 * it lasts: BRK-SLOW-CONSUMER at the first drop, BRK-SLOW-CONSUMER-END
 * when none was dropped for a second; the next drop is a new episode. */
START_TEST(test_hardening_slow_consumer_logged_once_per_episode)
{
    atomic_store(&s_n_slow, 0);
    atomic_store(&s_n_slow_end, 0);
    actors_log_set_handler(s_count_log, NULL);
    brk_opts_t opts = BRK_OPTS_INIT;
    opts.max_queued = 20;
    s_start_opts(opts);
    void *slow = s_unread_sock();
    void *a = s_sock(ZMQ_DEALER);
    void *c = s_sock(ZMQ_DEALER);
    s_register(a, "e/1", 1000, 0);
    size_t body_len = 64 * 1024;
    uint8_t *body = s_bin_body(body_len);
    /* Until answers are dropped: the kernel's buffers fill first. */
    int64_t deadline = testutil_now_ms() + 10 * RECV_MS;
    while (s_ping_int(c, "undelivered") <= 0) {
        ck_assert_msg(testutil_now_ms() < deadline, "nothing dropped");
        s_round_trip(slow, a, body, body_len);
    }
    /* Dropping for 1.5 s on end: still the one episode, one line. */
    int64_t t0 = testutil_now_ms();
    while (testutil_now_ms() - t0 < 1500) {
        s_round_trip(slow, a, body, body_len);
    }
    ck_assert_int_ge(s_ping_int(c, "undelivered"), 2);
    int n_slow = atomic_load(&s_n_slow);
    int n_end = atomic_load(&s_n_slow_end);
    ck_assert_msg(n_slow == 1 && n_end == 0,
        "one episode logged %d BRK-SLOW-CONSUMER and %d -END lines", n_slow,
        n_end);
    /* Nothing dropped for a second: the episode's end, once. */
    deadline = testutil_now_ms() + 10 * RECV_MS;
    while (atomic_load(&s_n_slow_end) == 0) {
        ck_assert_msg(testutil_now_ms() < deadline, "no episode end");
        testutil_poll_pause_ms(20); /* poll until the deadline */
    }
    n_end = atomic_load(&s_n_slow_end);
    ck_assert_int_eq(n_end, 1);
    /* The next drop begins another episode. */
    s_round_trip(slow, a, body, body_len);
    deadline = testutil_now_ms() + 10 * RECV_MS;
    while (atomic_load(&s_n_slow) < 2) {
        ck_assert_msg(testutil_now_ms() < deadline, "no second episode");
        testutil_poll_pause_ms(20); /* poll until the deadline */
    }
    n_slow = atomic_load(&s_n_slow);
    ck_assert_int_eq(n_slow, 2);
    free(body);
    zmq_close(c);
    zmq_close(a);
    zmq_close(slow);
    s_stop();
    actors_log_set_handler(NULL, NULL);
}
END_TEST

/* s_credit_taken sends CREDIT {count, taken}: tells done, and the last
 * message taken up. */
static void
s_credit_taken(void *actor, uint32_t count, uint32_t taken)
{
    uint8_t body[8];
    actors__put_be32(body, count);
    actors__put_be32(body + 4, taken);
    s_send(actor, ACTORS_CMD_CREDIT, 0, NULL, 1, body, sizeof body);
}

/* A supervised actor that reports its progress dies with five calls
 * handed to it (prefetch 10): it answered the first and had claimed the
 * second. The second (claimed) and the third (maybe running) get
 * ActorCrashed; the fourth and fifth never started and are served by the
 * restarted actor, in order, instead of failing (with the old broker all
 * four failed, whatever the actor had started). */
START_TEST(test_hardening_unstarted_calls_redelivered)
{
    s_start();
    void *c = s_sock(ZMQ_DEALER);
    void *n = s_sock(ZMQ_DEALER);
    void *a = s_sock(ZMQ_DEALER);
    s_node(n, "n1");
    s_state(n, "r/1", "starting", 4242, "", 0);
    s_wait_state(c, "r/1", "starting");
    s_register_ex(a, "r/1", 10, 0, true);
    char id[16];
    for (int i = 1; i <= 5; i++) {
        snprintf(id, sizeof id, "c%d", i);
        s_call(c, id, "r/1", 0);
    }
    s_got_t g[5];
    for (int i = 0; i < 5; i++) {
        g[i] = s_actor_get(a);
    }
    s_reply_id(a, ACTORS_CMD_REPLY, g[0].tag, g[0].id_len, &s_nil, 1);
    s_expect_reply(c, 0, "c1", &s_nil, 1);
    s_credit_taken(a, 0, 2);
    ck_assert_int_ge(s_ping_int(a, "uptime_ms"), 0); /* CREDIT handled */
    zmq_close(a);                                    /* the process dies */
    s_state(n, "r/1", "restarting", 4242, "signal 9 (SIGKILL)", 0);
    s_expect_error(c, 0, "c2", "ActorCrashed");
    s_expect_error(c, 0, "c3", "ActorCrashed");
    void *b = s_sock(ZMQ_DEALER);
    s_register_ex(b, "r/1", 10, 0, true);
    for (int i = 4; i <= 5; i++) {
        s_got_t h = s_actor_get(b);
        s_reply_id(b, ACTORS_CMD_REPLY, h.tag, h.id_len, &s_nil, 1);
        snprintf(id, sizeof id, "c%d", i);
        s_expect_reply(c, 0, id, &s_nil, 1);
    }
    ck_assert_int_ge(s_ping_int(c, "requeued"), 2);
    zmq_close(b);
    zmq_close(n);
    zmq_close(c);
    s_stop();
}
END_TEST

/* Without a supervisor, calls an actor never took up did not run: they
 * are answered ActorDead ("not delivered"), only those that may have run
 * ActorCrashed. */
START_TEST(test_hardening_unstarted_calls_told_dead)
{
    s_start();
    void *c = s_sock(ZMQ_DEALER);
    void *a = s_sock(ZMQ_DEALER);
    s_register_ex(a, "u/1", 10, 0, true);
    s_call(c, "c1", "u/1", 0);
    s_call(c, "c2", "u/1", 0);
    s_call(c, "c3", "u/1", 0);
    for (int i = 0; i < 3; i++) {
        (void)s_actor_get(a);
    }
    zmq_close(a);
    s_expect_error(c, 0, "c1", "ActorCrashed");
    s_expect_error(c, 0, "c2", "ActorDead");
    s_expect_error(c, 0, "c3", "ActorDead");
    zmq_close(c);
    s_stop();
}
END_TEST

/* Error bodies and LOOKUP maps are valid for strict UTF-8 decoders, even
 * for an address that arrived as raw invalid bytes. */
START_TEST(test_hardening_error_bodies_utf8)
{
    s_start();
    void *c = s_sock(ZMQ_DEALER);
    void *a = s_sock(ZMQ_DEALER);
    s_register(a, "bad/\xff\xc0", 1, 0);
    s_call(c, "e1", "nobody/\xfe", 0);
    s_msg_t m;
    s_recv(c, &m);
    ck_assert_int_eq(m.nframes, 2);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    ck_assert_int_eq(
        msgpack_unpack_next(&up, (const char *)m.data[1], m.len[1], NULL),
        MSGPACK_UNPACK_SUCCESS);
    ck_assert_int_eq(up.data.type, MSGPACK_OBJECT_MAP);
    for (uint32_t i = 0; i < up.data.via.map.size; i++) {
        const msgpack_object *v = &up.data.via.map.ptr[i].val;
        ck_assert_int_eq(v->type, MSGPACK_OBJECT_STR);
        ck_assert(actors__utf8_is_valid(v->via.str.ptr, v->via.str.size));
    }
    msgpack_unpacked_destroy(&up);
    s_msg_free(&m);
    s_send(c, ACTORS_CMD_LOOKUP, 0, "lk", 1, S("bad/\xff\xc0"));
    s_reply_map(c, "lk", &up, &m);
    const msgpack_object *addr = actors_map_get(&up.data, "address");
    ck_assert_ptr_nonnull(addr);
    ck_assert_int_eq(addr->type, MSGPACK_OBJECT_STR);
    ck_assert(actors__utf8_is_valid(addr->via.str.ptr, addr->via.str.size));
    msgpack_unpacked_destroy(&up);
    s_msg_free(&m);
    zmq_close(a);
    zmq_close(c);
    s_stop();
}
END_TEST

/* One connection registering address after address grew the broker
 * without bound (100,000 REGISTERs: 65 MB, kept after it left). It holds
 * at most BRK_ADDRESSES_PER_CONN: the next is refused MailboxFull, as a
 * subscription beyond its bound is; an address it holds may still be
 * registered again, another connection is not held back, and every
 * address it has keeps being served. */
START_TEST(test_hardening_registrations_bounded)
{
    s_start();
    void *a = s_sock(ZMQ_DEALER);
    char addr[64];
    for (int i = 0; i < BRK_ADDRESSES_PER_CONN; i++) {
        snprintf(addr, sizeof addr, "many/%d", i);
        s_register(a, addr, 1, 0);
    }
    actors_msg_t *info = NULL;
    TEST_ASSERT_OK(
        actors_msg_build(&info, "{sssi}", "service", "test", "pid", 4242));
    s_send(a, ACTORS_CMD_REGISTER, 0, "over", 2, S("many/over"),
        actors_msg_data(info), actors_msg_size(info));
    s_expect_error(a, 0, "over", "MailboxFull");
    s_register(a, "many/7", 1, 0); /* held already: answered as before */
    void *b = s_sock(ZMQ_DEALER);
    s_register(b, "other/1", 1, 0);
    void *c = s_sock(ZMQ_DEALER);
    s_call(c, "c1", "many/over", 0);
    s_expect_error(c, 0, "c1", "NoSuchActor");
    s_call(c, "c2", "many/1023", 0);
    s_got_t g = s_actor_get(a);
    ck_assert_str_eq(g.address, "many/1023");
    s_reply_id(a, ACTORS_CMD_REPLY, g.tag, g.id_len, &s_nil, 1);
    s_expect_reply(c, 0, "c2", &s_nil, 1);
    actors_msg_destroy(&info);
    zmq_close(c);
    zmq_close(b);
    zmq_close(a);
    s_stop();
}
END_TEST

Suite *hardening_suite(void);

Suite *
hardening_suite(void)
{
    Suite *s = suite_create("hardening");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_hardening_node_answers_only_its_requests);
    tcase_add_test(tc, test_hardening_tags_unguessable);
    tcase_add_test(tc, test_hardening_req_always_answered);
    tcase_add_test(tc, test_hardening_tell_acknowledged);
    tcase_add_test(tc, test_hardening_node_config_keeps_live_actor);
    tcase_add_test(tc, test_hardening_spawn_timeout_stops_actor);
    tcase_add_test(tc, test_hardening_oversize_frame_not_buffered);
    tcase_add_test(tc, test_hardening_unstarted_calls_redelivered);
    tcase_add_test(tc, test_hardening_unstarted_calls_told_dead);
    tcase_add_test(tc, test_hardening_error_bodies_utf8);
    tcase_add_test(tc, test_hardening_registrations_bounded);
    suite_add_tcase(s, tc);
    /* Its own case (CK_RUN_CASE=slow runs it alone): 600 calls with
     * 64 KiB replies. */
    TCase *slow = tcase_create("slow");
    tcase_set_timeout(slow, 30);
    tcase_add_test(slow, test_hardening_slow_consumer_bounded);
    tcase_add_test(slow, test_hardening_queued_messages_do_not_pin_buffers);
    tcase_add_test(slow, test_hardening_parked_call_intact);
    tcase_add_test(slow, test_hardening_slow_consumer_logged_once_per_episode);
    tcase_add_test(slow, test_hardening_full_actor_queue_keeps_order);
    tcase_add_test(slow, test_hardening_full_actor_queue_actor_leaves);
    tcase_add_test(slow, test_hardening_full_queue_call_times_out_undelivered);
    tcase_add_test(slow, test_hardening_full_queue_unregister_not_delivered);
    tcase_add_test(slow, test_hardening_full_queue_progress_numbering);
    suite_add_tcase(s, slow);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(hardening_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
