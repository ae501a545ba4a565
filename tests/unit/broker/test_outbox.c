/* tests/unit/broker/test_outbox.c - the broker's deferred sends: order,
 * what a full peer's queue does to answers and to dispatches.
 * SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <zmq.h>

#include "../../testutil.h"
#include "../../../broker/outbox.h"

#define BODY 16384 /* bytes per message: the kernel's buffers fill soon */
#define WAIT_MS 10000

/* What the callbacks saw. The test's "core": once a dispatch to a peer
 * fails, every later dispatch to it in the flush is taken back (as the
 * broker's core does), and the dispatches taken back are recorded by
 * their sequence number, in the order the outbox offered them. */
typedef struct {
    int eagain;      /* answers dropped on a full queue */
    int unreachable; /* messages to no such peer */
    int other;
    bool full;      /* "peer" met a full queue in this flush */
    uint32_t *back; /* sequence numbers of dispatches taken back */
    uint32_t nback;
    uint32_t stale; /* a dispatch to drop, by sequence number; or none */
    uint32_t dropped;
} s_fails_t;

static void
s_failed(void *arg, brk_out_msg_t *m, int err)
{
    s_fails_t *f = arg;
    ck_assert_int_gt(m->n, 0);
    if (m->ordered && err == EAGAIN) {
        f->full = true;
        f->back[f->nback++] = m->d.seq;
    } else if (err == EAGAIN) {
        f->eagain++;
    } else if (err == EHOSTUNREACH) {
        f->unreachable++;
    } else {
        f->other++;
    }
}

static bool
s_ready(void *arg, brk_out_msg_t *m)
{
    s_fails_t *f = arg;
    if (m->d.seq == f->stale) {
        f->dropped++;
        return false;
    }
    if (f->full) {
        f->back[f->nback++] = m->d.seq;
        return false;
    }
    return true;
}

/* A ROUTER as the broker's (mandatory routing, a small queue per peer)
 * and a DEALER "peer" connected to it that reads only when told. */
typedef struct {
    void *ctx;
    void *router;
    void *peer;
} s_pair_t;

static s_pair_t
s_pair(void)
{
    s_pair_t p;
    p.ctx = zmq_ctx_new();
    p.router = zmq_socket(p.ctx, ZMQ_ROUTER);
    p.peer = zmq_socket(p.ctx, ZMQ_DEALER);
    int zero = 0;
    int one = 1;
    int hwm = 5;
    int rcvbuf = 4096;
    zmq_setsockopt(p.router, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(p.router, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
    zmq_setsockopt(p.router, ZMQ_SNDHWM, &hwm, sizeof hwm);
    ck_assert_int_eq(zmq_bind(p.router, "tcp://127.0.0.1:*"), 0);
    char ep[128];
    size_t len = sizeof ep;
    zmq_getsockopt(p.router, ZMQ_LAST_ENDPOINT, ep, &len);
    zmq_setsockopt(p.peer, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(p.peer, ZMQ_ROUTING_ID, "peer", 4);
    zmq_setsockopt(p.peer, ZMQ_RCVHWM, &one, sizeof one);
    zmq_setsockopt(p.peer, ZMQ_RCVBUF, &rcvbuf, sizeof rcvbuf);
    ck_assert_int_eq(zmq_connect(p.peer, ep), 0);
    /* The ROUTER routes to the peer once it has heard from it. */
    ck_assert_int_eq(zmq_send(p.peer, "hi", 2, 0), 2);
    char buf[16];
    int timeout = WAIT_MS;
    zmq_setsockopt(p.router, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    ck_assert_int_eq(zmq_recv(p.router, buf, sizeof buf, 0), 4);
    ck_assert_int_eq(zmq_recv(p.router, buf, sizeof buf, 0), 2);
    return p;
}

static void
s_pair_close(s_pair_t *p)
{
    zmq_close(p->peer);
    zmq_close(p->router);
    zmq_ctx_term(p->ctx);
}

/* s_push queues to rid a message whose body starts with seq (a dispatch
 * numbered seq when ordered). */
static void
s_push(brk_outbox_t *o, const char *rid, uint32_t seq, bool ordered)
{
    brk_out_dispatch_t d = {0, 0, seq, 0};
    zmq_msg_t r;
    zmq_msg_t b;
    zmq_msg_init_size(&r, strlen(rid));
    memcpy(zmq_msg_data(&r), rid, strlen(rid));
    zmq_msg_init_size(&b, BODY);
    memset(zmq_msg_data(&b), 0, BODY);
    memcpy(zmq_msg_data(&b), &seq, sizeof seq);
    zmq_msg_t *f[2] = {&r, &b};
    ck_assert_int_eq(brk_outbox_push(o, f, 2, ordered ? &d : NULL), ACTORS_OK);
    ck_assert_uint_eq(zmq_msg_size(&r), 0); /* moved */
    zmq_msg_close(&r);
    zmq_msg_close(&b);
}

/* s_flush flushes with the test's callbacks. */
static void
s_flush(brk_outbox_t *o, void *router, s_fails_t *f)
{
    f->full = false;
    brk_outbox_ops_t ops = {s_ready, s_failed, f};
    brk_outbox_flush(o, router, &ops);
    ck_assert_uint_eq(brk_outbox_pending(o), 0);
}

/* Dispatches to a peer whose queue is full: those before the first that
 * meets it arrive, in order; that one and every later one are handed
 * back, in order, and none of them is sent. */
START_TEST(test_outbox_full_peer_hands_dispatches_back_in_order)
{
    s_pair_t p = s_pair();
    brk_outbox_t o;
    brk_outbox_init(&o);
    enum { N = 2000 };
    uint32_t back[N];
    s_fails_t f = {.back = back, .stale = UINT32_MAX};
    for (uint32_t i = 0; i < N; i++) {
        s_push(&o, "peer", i, true);
    }
    s_flush(&o, p.router, &f);
    ck_assert_msg(f.nback > 0, "the peer's queue never filled");
    ck_assert_int_eq(f.eagain + f.unreachable + f.other, 0);
    /* Handed back: the tail, from the first that failed, in order. */
    uint32_t first = back[0];
    ck_assert_uint_eq(f.nback, N - first);
    for (uint32_t i = 0; i < f.nback; i++) {
        ck_assert_uint_eq(back[i], first + i);
    }
    /* Sent: exactly 0 .. first - 1, in order. */
    int64_t deadline = testutil_now_ms() + WAIT_MS;
    for (uint32_t want = 0; want < first;) {
        ck_assert_msg(
            testutil_now_ms() < deadline, "got %u of %u", want, first);
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, p.peer, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            testutil_poll_pause_ms(1); /* the peer's queue refills */
            continue;
        }
        uint32_t seq;
        memcpy(&seq, zmq_msg_data(&m), sizeof seq);
        ck_assert_uint_eq(seq, want);
        want++;
        zmq_msg_close(&m);
    }
    testutil_poll_pause_ms(50); /* anything more would be here by now */
    zmq_msg_t m;
    zmq_msg_init(&m);
    ck_assert_int_lt(zmq_msg_recv(&m, p.peer, ZMQ_DONTWAIT), 0);
    zmq_msg_close(&m);
    brk_outbox_fini(&o);
    s_pair_close(&p);
}
END_TEST

/* A dispatch the core no longer wants is not sent; those around it are,
 * in order. */
START_TEST(test_outbox_unready_dispatch_not_sent)
{
    s_pair_t p = s_pair();
    brk_outbox_t o;
    brk_outbox_init(&o);
    uint32_t back[4];
    s_fails_t f = {.back = back, .stale = 1};
    for (uint32_t i = 0; i < 3; i++) {
        s_push(&o, "peer", i, true);
    }
    s_flush(&o, p.router, &f);
    ck_assert_uint_eq(f.dropped, 1);
    ck_assert_uint_eq(f.nback, 0);
    uint32_t want[2] = {0, 2};
    for (int k = 0; k < 2; k++) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        int timeout = WAIT_MS;
        zmq_setsockopt(p.peer, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
        ck_assert_int_eq(zmq_msg_recv(&m, p.peer, 0), BODY);
        uint32_t seq;
        memcpy(&seq, zmq_msg_data(&m), sizeof seq);
        ck_assert_uint_eq(seq, want[k]);
        zmq_msg_close(&m);
    }
    brk_outbox_fini(&o);
    s_pair_close(&p);
}
END_TEST

/* Answers (not dispatches) to a peer whose queue is full are dropped and
 * reported, as is a message to a peer that is not there; nothing is
 * handed back. */
START_TEST(test_outbox_answers_to_full_peer_dropped)
{
    s_pair_t p = s_pair();
    brk_outbox_t o;
    brk_outbox_init(&o);
    uint32_t back[4];
    s_fails_t f = {.back = back, .stale = UINT32_MAX};
    zmq_msg_t r;
    zmq_msg_t b;
    zmq_msg_t *fr[2] = {&r, &b};
    zmq_msg_init_size(&r, 6);
    memcpy(zmq_msg_data(&r), "nobody", 6);
    zmq_msg_init_size(&b, 3);
    memcpy(zmq_msg_data(&b), "ans", 3);
    ck_assert_int_eq(brk_outbox_push(&o, fr, 2, NULL), ACTORS_OK);
    for (uint32_t i = 0; i < 100000 && f.eagain == 0; i++) {
        s_push(&o, "peer", i, false);
        if (i % 50 == 49) {
            s_flush(&o, p.router, &f);
        }
    }
    s_flush(&o, p.router, &f);
    ck_assert_int_ge(f.eagain, 1);
    ck_assert_int_eq(f.unreachable, 1);
    ck_assert_int_eq(f.other, 0);
    ck_assert_uint_eq(f.nback, 0);
    brk_outbox_fini(&o);
    s_pair_close(&p);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("outbox");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_outbox_full_peer_hands_dispatches_back_in_order);
    tcase_add_test(tc, test_outbox_unready_dispatch_not_sent);
    tcase_add_test(tc, test_outbox_answers_to_full_peer_dropped);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
