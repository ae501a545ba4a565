/* tests/unit/broker/test_outbox.c - the broker's deferred sends: order,
 * what a full peer's queue does to answers and to dispatches, forget.
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

typedef struct {
    int eagain;
    int unreachable;
    int other;
} s_fails_t;

static void
s_failed(void *arg, brk_out_msg_t *m, int err)
{
    s_fails_t *f = arg;
    ck_assert_int_gt(m->n, 0);
    if (err == EAGAIN) {
        f->eagain++;
    } else if (err == EHOSTUNREACH) {
        f->unreachable++;
    } else {
        f->other++;
    }
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

/* s_push queues to rid a message whose body starts with seq. */
static void
s_push(brk_outbox_t *o, const char *rid, uint32_t seq, bool ordered)
{
    zmq_msg_t r;
    zmq_msg_t b;
    zmq_msg_init_size(&r, strlen(rid));
    memcpy(zmq_msg_data(&r), rid, strlen(rid));
    zmq_msg_init_size(&b, BODY);
    memset(zmq_msg_data(&b), 0, BODY);
    memcpy(zmq_msg_data(&b), &seq, sizeof seq);
    zmq_msg_t *f[2] = {&r, &b};
    ck_assert_int_eq(brk_outbox_push(o, f, 2, ordered), ACTORS_OK);
    ck_assert_uint_eq(zmq_msg_size(&r), 0); /* moved */
    zmq_msg_close(&r);
    zmq_msg_close(&b);
}

/* s_read_all reads from the peer, flushing the outbox as a loop would,
 * until it has n messages; each must carry the next sequence number. */
static void
s_read_all(s_pair_t *p, brk_outbox_t *o, s_fails_t *fails, uint32_t n)
{
    int64_t deadline = testutil_now_ms() + WAIT_MS;
    for (uint32_t want = 0; want < n;) {
        ck_assert_msg(testutil_now_ms() < deadline, "got %u of %u", want, n);
        brk_outbox_flush(o, p->router, s_failed, fails);
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, p->peer, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            testutil_poll_pause_ms(1); /* the peer's queue refills */
            continue;
        }
        ck_assert_uint_eq(zmq_msg_size(&m), BODY);
        uint32_t seq;
        memcpy(&seq, zmq_msg_data(&m), sizeof seq);
        ck_assert_uint_eq(seq, want);
        want++;
        zmq_msg_close(&m);
    }
}

/* Dispatches to a peer whose queue is full wait, in order, and all
 * arrive once it reads; answers to it meanwhile are dropped and
 * reported, as are messages to a peer that is not there. */
START_TEST(test_outbox_full_peer_keeps_dispatches_in_order)
{
    s_pair_t p = s_pair();
    brk_outbox_t o;
    brk_outbox_init(&o);
    s_fails_t fails = {0, 0, 0};
    enum { N = 2000 };
    uint32_t held = 0;
    for (uint32_t i = 0; i < N; i++) {
        s_push(&o, "peer", i, true);
        if (i % 50 == 49) {
            held = brk_outbox_flush(&o, p.router, s_failed, &fails);
        }
    }
    held = brk_outbox_flush(&o, p.router, s_failed, &fails);
    ck_assert_msg(held > 0, "the peer's queue never filled");
    ck_assert_uint_eq(brk_outbox_pending(&o), 0);
    ck_assert_int_eq(fails.eagain + fails.unreachable + fails.other, 0);
    /* An answer to the full peer is dropped, not held; one to nobody
     * too; neither stops the dispatches behind them. */
    zmq_msg_t r;
    zmq_msg_t b;
    zmq_msg_init_size(&r, 4);
    memcpy(zmq_msg_data(&r), "peer", 4);
    zmq_msg_init_size(&b, 3);
    memcpy(zmq_msg_data(&b), "ans", 3);
    zmq_msg_t *f[2] = {&r, &b};
    ck_assert_int_eq(brk_outbox_push(&o, f, 2, false), ACTORS_OK);
    zmq_msg_init_size(&r, 6);
    memcpy(zmq_msg_data(&r), "nobody", 6);
    zmq_msg_init_size(&b, 3);
    memcpy(zmq_msg_data(&b), "ans", 3);
    ck_assert_int_eq(brk_outbox_push(&o, f, 2, true), ACTORS_OK);
    ck_assert_uint_eq(brk_outbox_flush(&o, p.router, s_failed, &fails), held);
    ck_assert_int_eq(fails.eagain, 1);
    ck_assert_int_eq(fails.unreachable, 1);
    ck_assert_int_eq(fails.other, 0);
    s_read_all(&p, &o, &fails, N);
    ck_assert_uint_eq(o.n, 0);
    ck_assert_uint_eq(o.held, 0);
    brk_outbox_fini(&o);
    s_pair_close(&p);
}
END_TEST

/* What is held for a peer that left is forgotten (closed), and what is
 * queued for others stays, in order. */
START_TEST(test_outbox_forget_drops_only_that_peers_held)
{
    s_pair_t p = s_pair();
    brk_outbox_t o;
    brk_outbox_init(&o);
    s_fails_t fails = {0, 0, 0};
    uint32_t i = 0;
    int64_t deadline = testutil_now_ms() + WAIT_MS;
    while (brk_outbox_flush(&o, p.router, s_failed, &fails) == 0) {
        ck_assert_msg(testutil_now_ms() < deadline, "never held");
        s_push(&o, "peer", i++, true);
    }
    uint32_t held = o.held;
    s_push(&o, "other", 0, true); /* queued since: not forgotten */
    brk_outbox_forget(&o, "peer", 4);
    ck_assert_uint_eq(o.held, 0);
    ck_assert_uint_eq(o.n, 1);
    ck_assert_uint_eq(zmq_msg_size(&o.v[0].f[0]), 5);
    ck_assert_uint_gt(held, 0);
    brk_outbox_fini(&o); /* closes the one left */
    s_pair_close(&p);
}
END_TEST

/* More peers blocked in one flush than it tracks one by one (32): every
 * later dispatch is held then, and still each peer gets all of its own,
 * in order, once it reads. */
START_TEST(test_outbox_many_full_peers_keep_order)
{
    enum { PEERS = 40, ROUNDS = 60 };
    void *ctx = zmq_ctx_new();
    void *router = zmq_socket(ctx, ZMQ_ROUTER);
    int zero = 0;
    int one = 1;
    int hwm = 5;
    int buf = 4096;
    zmq_setsockopt(router, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(router, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
    zmq_setsockopt(router, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(router, ZMQ_SNDBUF, &buf, sizeof buf);
    ck_assert_int_eq(zmq_bind(router, "tcp://127.0.0.1:*"), 0);
    char ep[128];
    size_t len = sizeof ep;
    zmq_getsockopt(router, ZMQ_LAST_ENDPOINT, ep, &len);
    void *peer[PEERS];
    char rid[PEERS][8];
    for (int k = 0; k < PEERS; k++) {
        snprintf(rid[k], sizeof rid[k], "p%d", k);
        peer[k] = zmq_socket(ctx, ZMQ_DEALER);
        zmq_setsockopt(peer[k], ZMQ_LINGER, &zero, sizeof zero);
        zmq_setsockopt(peer[k], ZMQ_ROUTING_ID, rid[k], strlen(rid[k]));
        zmq_setsockopt(peer[k], ZMQ_RCVHWM, &one, sizeof one);
        zmq_setsockopt(peer[k], ZMQ_RCVBUF, &buf, sizeof buf);
        ck_assert_int_eq(zmq_connect(peer[k], ep), 0);
        ck_assert_int_eq(zmq_send(peer[k], "hi", 2, 0), 2);
    }
    int timeout = WAIT_MS;
    zmq_setsockopt(router, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    for (int k = 0; k < 2 * PEERS; k++) {
        char b[16];
        ck_assert_int_ge(zmq_recv(router, b, sizeof b, 0), 0);
    }
    brk_outbox_t o;
    brk_outbox_init(&o);
    s_fails_t fails = {0, 0, 0};
    int most_blocked = 0;
    for (uint32_t r = 0; r < ROUNDS; r++) {
        for (int k = 0; k < PEERS; k++) {
            s_push(&o, rid[k], r, true);
        }
        brk_outbox_flush(&o, router, s_failed, &fails);
        bool seen[PEERS] = {false};
        int blocked = 0;
        for (uint32_t i = 0; i < o.held; i++) {
            char id[8] = {0};
            memcpy(id, zmq_msg_data(&o.v[i].f[0]), zmq_msg_size(&o.v[i].f[0]));
            int k = atoi(id + 1);
            ck_assert(k >= 0 && k < PEERS);
            blocked += !seen[k];
            seen[k] = true;
        }
        most_blocked = blocked > most_blocked ? blocked : most_blocked;
    }
    ck_assert_msg(
        most_blocked > 32, "at most %d peers blocked at once", most_blocked);
    uint32_t want[PEERS] = {0};
    int64_t deadline = testutil_now_ms() + WAIT_MS;
    for (int done = 0; done < PEERS;) {
        ck_assert_msg(testutil_now_ms() < deadline, "%d of %d peers got all",
            done, PEERS);
        brk_outbox_flush(&o, router, s_failed, &fails);
        bool got = false;
        for (int k = 0; k < PEERS; k++) {
            zmq_msg_t m;
            zmq_msg_init(&m);
            while (zmq_msg_recv(&m, peer[k], ZMQ_DONTWAIT) >= 0) {
                uint32_t seq;
                memcpy(&seq, zmq_msg_data(&m), sizeof seq);
                ck_assert_uint_eq(seq, want[k]);
                done += ++want[k] == ROUNDS;
                got = true;
            }
            zmq_msg_close(&m);
        }
        if (!got) {
            testutil_poll_pause_ms(1); /* the peers' queues refill */
        }
    }
    ck_assert_uint_eq(o.n, 0);
    ck_assert_int_eq(fails.eagain + fails.unreachable + fails.other, 0);
    brk_outbox_fini(&o);
    for (int k = 0; k < PEERS; k++) {
        zmq_close(peer[k]);
    }
    zmq_close(router);
    zmq_ctx_term(ctx);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("outbox");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_outbox_full_peer_keeps_dispatches_in_order);
    tcase_add_test(tc, test_outbox_forget_drops_only_that_peers_held);
    tcase_add_test(tc, test_outbox_many_full_peers_keep_order);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
