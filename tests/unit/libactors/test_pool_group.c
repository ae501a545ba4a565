/* tests/unit/libactors/test_pool_group.c - a pool over a group address,
 * against a fake broker that answers LOOKUP as the groups protocol does.
 * SPDX-License-Identifier: MIT
 *
 * The fake (a ROUTER on a thread of its own: the pool's LOOKUP waits)
 * answers LOOKUP of the group with "group": true and three members, and
 * keeps the CALLs it gets unanswered until the test says. The pool must
 * count the address as three slots: three calls in flight at once, a
 * fourth only after a reply. A LOOKUP without "members" (a plain actor)
 * counts as one slot.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <zmq.h>

#include <actors/actors.h>

#include "../../testutil.h"
#include <actors-internal/wire.h>

#define FRAMES_MAX 8
#define CALLS_MAX 16

typedef struct {
    int n;
    zmq_msg_t f[FRAMES_MAX];
} fmsg_t;

typedef struct {
    void *ctx;
    void *router;
    char ep[256];
    int members;       /* in the LOOKUP answer; 0: no "members" key */
    atomic_int calls;  /* CALLs received */
    atomic_int answer; /* CALLs the test wants answered */
    atomic_bool stop;  /* the thread ends */
    fmsg_t held[CALLS_MAX];
    int answered; /* thread only */
    pthread_t thread;
} fake_t;

static void
s_fmsg_close(fmsg_t *m)
{
    for (int i = 0; i < m->n; i++) {
        zmq_msg_close(&m->f[i]);
    }
    m->n = 0;
}

/* s_answer answers req (routing id, header, ...) with cmd and body. */
static void
s_answer(fake_t *fb, fmsg_t *req, uint8_t cmd, const void *body, size_t len)
{
    uint8_t hdr[ACTORS_WIRE_HDR_MAX];
    size_t hlen = zmq_msg_size(&req->f[1]);
    ck_assert_uint_le(hlen, sizeof hdr);
    memcpy(hdr, zmq_msg_data(&req->f[1]), hlen);
    actors__hdr_set_cmd(hdr, cmd);
    zmq_send(fb->router, zmq_msg_data(&req->f[0]), zmq_msg_size(&req->f[0]),
        ZMQ_SNDMORE);
    zmq_send(fb->router, hdr, hlen, ZMQ_SNDMORE);
    zmq_send(fb->router, body, len, 0);
}

static void
s_lookup_reply(fake_t *fb, fmsg_t *req)
{
    actors_msg_t *m = NULL;
    TEST_ASSERT_OK(actors_msg_create(&m));
    TEST_ASSERT_OK(actors_msg_add_map(m, fb->members > 0 ? 4 : 2));
    TEST_ASSERT_OK(actors_msg_add_str(m, "address"));
    TEST_ASSERT_OK(actors_msg_add_str(m, "work/g"));
    TEST_ASSERT_OK(actors_msg_add_str(m, "state"));
    TEST_ASSERT_OK(actors_msg_add_str(m, "running"));
    if (fb->members > 0) {
        TEST_ASSERT_OK(actors_msg_add_str(m, "group"));
        TEST_ASSERT_OK(actors_msg_add_bool(m, true));
        TEST_ASSERT_OK(actors_msg_add_str(m, "members"));
        TEST_ASSERT_OK(actors_msg_add_array(m, (uint32_t)fb->members));
        for (int i = 0; i < fb->members; i++) {
            TEST_ASSERT_OK(actors_msg_add_map(m, 1));
            TEST_ASSERT_OK(actors_msg_add_str(m, "pid"));
            TEST_ASSERT_OK(actors_msg_add_int(m, 1000 + i));
        }
    }
    s_answer(fb, req, ACTORS_CMD_REPLY, actors_msg_data(m), actors_msg_size(m));
    actors_msg_destroy(&m);
}

static void *
s_fake_main(void *arg)
{
    fake_t *fb = arg;
    while (!atomic_load(&fb->stop)) {
        /* Answer the calls the test asked for, oldest first. */
        while (fb->answered < atomic_load(&fb->answer) &&
               fb->answered < atomic_load(&fb->calls)) {
            const uint8_t nil = 0xc0;
            s_answer(fb, &fb->held[fb->answered], ACTORS_CMD_REPLY, &nil, 1);
            fb->answered++;
        }
        zmq_pollitem_t item = {fb->router, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, 10) <= 0) {
            continue; /* a poll with a short timeout: look at the flags */
        }
        fmsg_t m = {0};
        bool more = true;
        while (more && m.n < FRAMES_MAX) {
            zmq_msg_init(&m.f[m.n]);
            zmq_msg_recv(&m.f[m.n], fb->router, 0);
            more = zmq_msg_more(&m.f[m.n]);
            m.n++;
        }
        actors__hdr_t h;
        if (m.n < 2 || actors__hdr_parse(zmq_msg_data(&m.f[1]),
                           zmq_msg_size(&m.f[1]), &h) != ACTORS_OK) {
            s_fmsg_close(&m);
            continue;
        }
        if (h.cmd == ACTORS_CMD_LOOKUP) {
            s_lookup_reply(fb, &m);
            s_fmsg_close(&m);
        } else if (h.cmd == ACTORS_CMD_CALL &&
                   atomic_load(&fb->calls) < CALLS_MAX) {
            fb->held[atomic_load(&fb->calls)] = m;
            atomic_fetch_add(&fb->calls, 1);
        } else {
            s_fmsg_close(&m);
        }
    }
    for (int i = 0; i < atomic_load(&fb->calls); i++) {
        s_fmsg_close(&fb->held[i]);
    }
    return NULL;
}

static void
s_fake_start(fake_t *fb, int members)
{
    memset(fb, 0, sizeof *fb);
    fb->members = members;
    fb->ctx = zmq_ctx_new();
    fb->router = zmq_socket(fb->ctx, ZMQ_ROUTER);
    int zero = 0;
    zmq_setsockopt(fb->router, ZMQ_LINGER, &zero, sizeof zero);
    ck_assert_int_eq(zmq_bind(fb->router, "tcp://127.0.0.1:*"), 0);
    size_t len = sizeof fb->ep;
    zmq_getsockopt(fb->router, ZMQ_LAST_ENDPOINT, fb->ep, &len);
    ck_assert_int_eq(pthread_create(&fb->thread, NULL, s_fake_main, fb), 0);
}

static void
s_fake_stop(fake_t *fb)
{
    atomic_store(&fb->stop, true);
    pthread_join(fb->thread, NULL);
    zmq_close(fb->router);
    zmq_ctx_term(fb->ctx);
}

typedef struct {
    fake_t *fb;
    actors_client_t *c;
    int want;
} calls_t;

static bool
s_calls_reach(void *arg)
{
    calls_t *w = arg;
    actors_client_poll(w->c, 0);
    return atomic_load(&w->fb->calls) >= w->want;
}

static void
s_submit(actors_pool_t *p)
{
    actors_msg_t *args = NULL;
    TEST_ASSERT_OK(actors_msg_build(&args, "i", 1));
    TEST_ASSERT_OK(actors_pool_submit(p, "work", &args, NULL));
}

/* Three members: three calls in flight, the fourth after a reply. */
START_TEST(test_pool_group_counts_members)
{
    fake_t fb;
    s_fake_start(&fb, 3);
    actors_client_t *c = NULL;
    TEST_ASSERT_OK(actors_client_create(&c, fb.ep));
    actors_pool_t *p = NULL;
    TEST_ASSERT_OK(actors_pool_create_group(&p, c, "work/g", NULL, 5000));
    ck_assert_uint_eq(actors_pool_members(p), 3);
    for (int i = 0; i < 4; i++) {
        s_submit(p);
    }
    ck_assert(!actors_pool_has_free(p));
    calls_t w = {&fb, c, 3};
    ck_assert(testutil_wait_until(s_calls_reach, &w, 5000));
    ck_assert_int_eq(atomic_load(&fb.calls), 3);
    atomic_store(&fb.answer, 1);
    actors_future_t *f = NULL;
    TEST_ASSERT_OK(actors_pool_get_next(p, 5000, 0, &f, NULL));
    ck_assert_ptr_null(actors_future_error(f));
    actors_future_destroy(&f);
    w.want = 4;
    ck_assert(testutil_wait_until(s_calls_reach, &w, 5000));
    atomic_store(&fb.answer, 4);
    for (int i = 0; i < 3; i++) {
        TEST_ASSERT_OK(actors_pool_get_next(p, 5000, 0, &f, NULL));
        actors_future_destroy(&f);
    }
    ck_assert(!actors_pool_has_next(p));
    actors_pool_destroy(&p);
    actors_client_destroy(&c);
    s_fake_stop(&fb);
}
END_TEST

/* No "members" in the LOOKUP: one slot. */
START_TEST(test_pool_plain_address_is_one_member)
{
    fake_t fb;
    s_fake_start(&fb, 0);
    actors_client_t *c = NULL;
    TEST_ASSERT_OK(actors_client_create(&c, fb.ep));
    actors_pool_t *p = NULL;
    TEST_ASSERT_OK(actors_pool_create_group(&p, c, "work/g", NULL, 5000));
    ck_assert_uint_eq(actors_pool_members(p), 1);
    s_submit(p);
    s_submit(p);
    calls_t w = {&fb, c, 1};
    ck_assert(testutil_wait_until(s_calls_reach, &w, 5000));
    ck_assert(!actors_pool_has_free(p));
    atomic_store(&fb.answer, 2);
    actors_future_t *f = NULL;
    for (int i = 0; i < 2; i++) {
        TEST_ASSERT_OK(actors_pool_get_next(p, 5000, 0, &f, NULL));
        actors_future_destroy(&f);
    }
    ck_assert_int_eq(atomic_load(&fb.calls), 2);
    actors_pool_destroy(&p);
    actors_client_destroy(&c);
    s_fake_stop(&fb);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("pool_group");
    TCase *tc = tcase_create("group");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_pool_group_counts_members);
    tcase_add_test(tc, test_pool_plain_address_is_one_member);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
