/* tests/unit/broker/test_pubsub.c - PUBLISH, SUBSCRIBE, UNSUBSCRIBE and
 * PUBLICATION against a broker in a thread, spoken to raw.
 * SPDX-License-Identifier: MIT */
#include "rawbroker.h"

#include "../../../broker/pubsub.h"

/* A PUBLICATION as a subscriber received it. */
typedef struct {
    char id[256]; /* the SUBSCRIBE's request id, or the address */
    char pattern[256];
    char topic[256];
    uint8_t body[64];
    size_t body_len;
} s_pub_t;

static s_pub_t
s_get_pub(void *sock)
{
    s_msg_t m;
    s_recv(sock, &m);
    ck_assert_int_eq(m.nframes, 2);
    actors__hdr_t ph;
    TEST_ASSERT_OK(actors__hdr_parse(m.data[0], m.len[0], &ph));
    ck_assert_uint_eq(ph.cmd, ACTORS_CMD_PUBLICATION);
    ck_assert_ptr_nonnull(ph.address);
    ck_assert_ptr_nonnull(ph.method);
    s_pub_t p;
    memset(&p, 0, sizeof p);
    snprintf(p.id, sizeof p.id, "%.*s", (int)ph.id_len, (const char *)ph.id);
    snprintf(p.pattern, sizeof p.pattern, "%.*s", (int)ph.address_len,
        (const char *)ph.address);
    snprintf(p.topic, sizeof p.topic, "%.*s", (int)ph.method_len,
        (const char *)ph.method);
    ck_assert_uint_le(m.len[1], sizeof p.body);
    memcpy(p.body, m.data[1], m.len[1]);
    p.body_len = m.len[1];
    s_msg_free(&m);
    return p;
}

/* s_none asserts that nothing but heartbeats comes within ms. */
static void
s_none(void *sock, int ms)
{
    s_msg_t m;
    int64_t end = testutil_now_ms() + ms;
    while (testutil_now_ms() < end) {
        if (s_raw_recv(sock, (int)(end - testutil_now_ms()), &m)) {
            int hb = m.len[0] >= 5 && m.data[0][4] == ACTORS_CMD_HEARTBEAT;
            s_msg_free(&m);
            ck_assert_msg(hb, "unexpected message");
        }
    }
}

/* s_publish publishes one msgpack positive fixint v on topic with id and
 * checks the REPLY says n subscriptions took it. */
static void
s_publish(void *sock, const char *topic, uint8_t v, uint8_t n)
{
    s_send(sock, ACTORS_CMD_PUBLISH, 0, "p", 2, S(topic), &v, (size_t)1);
    s_expect_reply(sock, 0, "p", &n, 1);
}

static void
s_subscribe(void *sock, uint8_t cmd, const char *pattern, const char *address,
    uint8_t expect)
{
    if (address != NULL) {
        s_send(sock, cmd, 0, "s", 2, S(pattern), S(address));
    } else {
        s_send(sock, cmd, 0, "s", 1, S(pattern));
    }
    s_expect_reply(sock, 0, "s", &expect, 1);
}

static int64_t
s_lookup(void *client, const char *address, const char *key)
{
    s_send(client, ACTORS_CMD_LOOKUP, 0, "lk", 1, S(address));
    s_msg_t m;
    s_recv(client, &m);
    ck_assert_uint_eq(m.data[0][4], ACTORS_CMD_REPLY);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    ck_assert_int_eq(
        msgpack_unpack_next(&up, (const char *)m.data[1], m.len[1], NULL),
        MSGPACK_UNPACK_SUCCESS);
    int64_t v = -1;
    TEST_ASSERT_OK(actors_value_int(actors_map_get(&up.data, key), &v));
    msgpack_unpacked_destroy(&up);
    s_msg_free(&m);
    return v;
}

/* Clients: wildcards, counts, publisher order, unsubscribe, and the
 * subscriptions of a connection going with it. */
START_TEST(test_pubsub_clients)
{
    s_start();
    void *a = s_sock(ZMQ_DEALER);
    void *b = s_sock(ZMQ_DEALER);
    void *pub = s_sock(ZMQ_DEALER);
    s_publish(pub, "orders.created", 1, 0); /* nobody yet */
    s_subscribe(a, ACTORS_CMD_SUBSCRIBE, "orders.*", NULL, 1);
    s_subscribe(a, ACTORS_CMD_SUBSCRIBE, "orders.*", NULL, 0); /* again */
    s_subscribe(b, ACTORS_CMD_SUBSCRIBE, "orders.>", NULL, 1);
    s_subscribe(b, ACTORS_CMD_SUBSCRIBE, "*.shipped", NULL, 1);
    s_publish(pub, "orders.created", 2, 2);
    s_publish(pub, "orders.created.eu", 3, 1); /* b's '>' only */
    s_publish(pub, "orders.shipped", 4, 3);    /* a once, b twice */
    s_publish(pub, "other", 5, 0);
    s_pub_t p = s_get_pub(a);
    ck_assert_str_eq(p.id, "s"); /* the SUBSCRIBE's request id */
    ck_assert_str_eq(p.pattern, "orders.*");
    ck_assert_str_eq(p.topic, "orders.created");
    ck_assert_uint_eq(p.body[0], 2);
    p = s_get_pub(a);
    ck_assert_str_eq(p.topic, "orders.shipped");
    ck_assert_uint_eq(p.body[0], 4);
    s_none(a, 50);
    p = s_get_pub(b);
    ck_assert_str_eq(p.topic, "orders.created");
    p = s_get_pub(b);
    ck_assert_str_eq(p.topic, "orders.created.eu");
    ck_assert_uint_eq(p.body[0], 3);
    p = s_get_pub(b);
    ck_assert_str_eq(p.pattern, "orders.>");
    ck_assert_uint_eq(p.body[0], 4);
    p = s_get_pub(b);
    ck_assert_str_eq(p.pattern, "*.shipped");
    ck_assert_uint_eq(p.body[0], 4);
    /* Order per publisher: 200 fire-and-forget events arrive in order. */
    for (int i = 0; i < 100; i++) {
        uint8_t v = (uint8_t)i;
        s_send(
            pub, ACTORS_CMD_PUBLISH, 0, NULL, 2, S("orders.x"), &v, (size_t)1);
    }
    for (int i = 0; i < 100; i++) {
        p = s_get_pub(a);
        ck_assert_uint_eq(p.body[0], i);
    }
    /* Unsubscribe: 1 if it was there, 0 if not. */
    s_subscribe(a, ACTORS_CMD_UNSUBSCRIBE, "orders.*", NULL, 1);
    s_subscribe(a, ACTORS_CMD_UNSUBSCRIBE, "orders.*", NULL, 0);
    s_subscribe(a, ACTORS_CMD_UNSUBSCRIBE, "never.*", NULL, 0);
    for (int i = 0; i < 100; i++) {
        ck_assert_uint_eq(s_get_pub(b).body[0], i); /* b's copies */
    }
    s_publish(pub, "orders.created", 6, 1);
    s_none(a, 50);
    (void)s_get_pub(b);
    /* b goes: its subscriptions with it. */
    zmq_close(b);
    int64_t end = testutil_now_ms() + 5000;
    uint8_t n = 1;
    while (n != 0 && testutil_now_ms() < end) {
        uint8_t v = 7;
        s_send(pub, ACTORS_CMD_PUBLISH, 0, "p", 2, S("orders.created"), &v,
            (size_t)1);
        s_msg_t m;
        s_recv(pub, &m);
        n = m.data[1][0];
        s_msg_free(&m);
    }
    ck_assert_uint_eq(n, 0);
    zmq_close(a);
    zmq_close(pub);
    s_stop();
}
END_TEST

/* Malformed PUBLISH, SUBSCRIBE and UNSUBSCRIBE are answered with errors,
 * a fire-and-forget PUBLISH's too; the broker goes on. */
START_TEST(test_pubsub_malformed)
{
    s_start();
    void *c = s_sock(ZMQ_DEALER);
    uint8_t one = 1;
    s_send(c, ACTORS_CMD_PUBLISH, 0, "e1", 1, S("a.b"));
    s_expect_error(c, 0, "e1", "BadRequest");
    s_send(c, ACTORS_CMD_PUBLISH, 0, "e2", 2, S("a..b"), &one, (size_t)1);
    s_expect_error(c, 0, "e2", "BadRequest");
    s_send(c, ACTORS_CMD_PUBLISH, 0, "e3", 2, S("a.*"), &one, (size_t)1);
    s_expect_error(c, 0, "e3", "BadRequest");
    s_send(c, ACTORS_CMD_PUBLISH, 0, "e4", 2, S("a b"), &one, (size_t)1);
    s_expect_error(c, 0, "e4", "BadRequest");
    s_send(c, ACTORS_CMD_PUBLISH, 0, "e5", 2, S("a"), "", (size_t)0);
    s_expect_error(c, 0, "e5", "BadRequest");
    char big[300];
    memset(big, 'x', sizeof big);
    s_send(c, ACTORS_CMD_PUBLISH, 0, "e6", 2, big, sizeof big, &one, (size_t)1);
    s_expect_error(c, 0, "e6", "BadRequest");
    s_send(c, ACTORS_CMD_PUBLISH, 0, NULL, 2, S(".a"), &one, (size_t)1);
    s_expect_error(c, 0, "", "BadRequest");
    s_send(c, ACTORS_CMD_SUBSCRIBE, 0, "e7", 0);
    s_expect_error(c, 0, "e7", "BadRequest");
    s_send(c, ACTORS_CMD_SUBSCRIBE, 0, "e8", 1, S("a.>.b"));
    s_expect_error(c, 0, "e8", "BadRequest");
    s_send(c, ACTORS_CMD_SUBSCRIBE, 0, "e9", 3, S("a"), S("b"), S("c"));
    s_expect_error(c, 0, "e9", "BadRequest");
    s_send(c, ACTORS_CMD_UNSUBSCRIBE, 0, "e10", 1, S(""));
    s_expect_error(c, 0, "e10", "BadRequest");
    /* An address the sender does not serve. */
    s_send(c, ACTORS_CMD_SUBSCRIBE, 0, "e11", 2, S("a"), S("nobody/1"));
    s_expect_error(c, 0, "e11", "Forbidden");
    void *other = s_sock(ZMQ_DEALER);
    s_register(other, "x/1", 0, 0);
    s_send(c, ACTORS_CMD_SUBSCRIBE, 0, "e12", 2, S("a"), S("x/1"));
    s_expect_error(c, 0, "e12", "Forbidden");
    /* A REQ socket cannot receive publications. */
    void *req = s_sock(ZMQ_REQ);
    s_send(req, ACTORS_CMD_SUBSCRIBE, 0, "e13", 1, S("a"));
    s_expect_error(req, 0, "e13", "BadRequest");
    /* A REQ socket may publish: its REPLY has the count. */
    s_send(req, ACTORS_CMD_PUBLISH, 0, "e14", 2, S("a"), &one, (size_t)1);
    uint8_t zero = 0;
    s_expect_reply(req, 0, "e14", &zero, 1);
    /* The bound of one subscriber. */
    for (int i = 0; i < BRK_PUBSUB_PER_OWNER; i++) {
        char pat[32];
        snprintf(pat, sizeof pat, "b.%d", i);
        s_subscribe(c, ACTORS_CMD_SUBSCRIBE, pat, NULL, 1);
    }
    s_send(c, ACTORS_CMD_SUBSCRIBE, 0, "e15", 1, S("b.over"));
    s_expect_error(c, 0, "e15", "MailboxFull");
    s_send(c, ACTORS_CMD_PING, 0, "pg", 0);
    s_expect_reply(c, 0, "pg", NULL, 0);
    zmq_close(req);
    zmq_close(other);
    zmq_close(c);
    s_stop();
}
END_TEST

/* An address's subscription: events through its mailbox, one at a time
 * with its credit, in publish order; what the mailbox refuses is counted
 * in LOOKUP; only its own connection may subscribe it. */
START_TEST(test_pubsub_actor_mailbox)
{
    s_start();
    void *a = s_sock(ZMQ_DEALER);
    s_register(a, "sub/1", 1, 3);
    s_subscribe(a, ACTORS_CMD_SUBSCRIBE, "orders.>", "sub/1", 1);
    s_subscribe(a, ACTORS_CMD_SUBSCRIBE, "orders.>", "sub/1", 0);
    void *pub = s_sock(ZMQ_DEALER);
    s_publish(pub, "orders.1", 0, 1); /* in flight */
    s_publish(pub, "orders.2", 1, 1); /* mailbox 1 */
    s_publish(pub, "orders.3", 2, 1); /* mailbox 2 */
    s_publish(pub, "orders.4", 3, 1); /* mailbox 3 */
    s_publish(pub, "orders.5", 4, 0); /* full: dropped and counted */
    s_publish(pub, "orders.6", 5, 0);
    ck_assert_int_eq(s_lookup(pub, "sub/1", "events_dropped"), 2);
    ck_assert_int_eq(s_lookup(pub, "sub/1", "subscriptions"), 1);
    ck_assert_int_eq(s_lookup(pub, "sub/1", "mailbox"), 3);
    for (int i = 0; i < 4; i++) {
        s_pub_t p = s_get_pub(a);
        ck_assert_str_eq(p.id, "sub/1"); /* the address */
        ck_assert_str_eq(p.pattern, "orders.>");
        char want[32];
        snprintf(want, sizeof want, "orders.%d", i + 1);
        ck_assert_str_eq(p.topic, want);
        ck_assert_uint_eq(p.body[0], i);
        s_none(a, 30); /* prefetch 1: the next after the credit */
        uint8_t cr[4] = {0, 0, 0, 1};
        s_send(a, ACTORS_CMD_CREDIT, 0, NULL, 1, cr, sizeof cr);
    }
    ck_assert_int_eq(s_lookup(pub, "sub/1", "handled"), 4);
    s_subscribe(a, ACTORS_CMD_UNSUBSCRIBE, "orders.>", "sub/1", 1);
    s_publish(pub, "orders.7", 6, 0);
    /* The actor dies unsupervised: the address is buried, its
     * subscriptions with it. */
    s_subscribe(a, ACTORS_CMD_SUBSCRIBE, "orders.>", "sub/1", 1);
    zmq_close(a);
    int64_t end = testutil_now_ms() + 5000;
    while (s_lookup(pub, "sub/1", "subscriptions") != 0 &&
           testutil_now_ms() < end) {
        s_none(pub, 10); /* poll until the broker has seen it go */
    }
    ck_assert_int_eq(s_lookup(pub, "sub/1", "subscriptions"), 0);
    s_publish(pub, "orders.8", 7, 0);
    zmq_close(pub);
    s_stop();
}
END_TEST

/* s_register_member makes sock a member of the group at address
 * (REGISTER with group: true) with prefetch. */
static void
s_register_member(void *sock, const char *address, uint32_t prefetch)
{
    actors_msg_t *info = NULL;
    TEST_ASSERT_OK(actors_msg_build(&info, "{sssisisb}", "service", "test",
        "pid", 4242, "prefetch", (int)prefetch, "group", 1));
    s_send(sock, ACTORS_CMD_REGISTER, 0, "reg", 2, S(address),
        actors_msg_data(info), actors_msg_size(info));
    actors_msg_destroy(&info);
    s_msg_t m;
    s_recv(sock, &m);
    s_check_answer(&m, 0, ACTORS_CMD_REPLY, "reg");
    s_msg_free(&m);
}

/* A group address subscribed by its members is a queue group: each event
 * goes to one member (the least loaded, as a TELL to the group), not one
 * per member; only a member's connection may subscribe it; any member
 * may unsubscribe it. */
START_TEST(test_pubsub_group_queue)
{
    s_start();
    void *m1 = s_sock(ZMQ_DEALER);
    void *m2 = s_sock(ZMQ_DEALER);
    s_register_member(m1, "wk/1", 10);
    s_register_member(m2, "wk/1", 10);
    s_subscribe(m1, ACTORS_CMD_SUBSCRIBE, "jobs.*", "wk/1", 1);
    s_subscribe(m2, ACTORS_CMD_SUBSCRIBE, "jobs.*", "wk/1", 0);
    void *pub = s_sock(ZMQ_DEALER);
    s_send(pub, ACTORS_CMD_SUBSCRIBE, 0, "f", 2, S("jobs.*"), S("wk/1"));
    s_expect_error(pub, 0, "f", "Forbidden");
    ck_assert_int_eq(s_lookup(pub, "wk/1", "subscriptions"), 1);
    /* No credit comes back: the loads alternate the members. */
    for (uint8_t i = 0; i < 6; i++) {
        s_publish(pub, "jobs.x", i, 1);
    }
    void *members[2] = {m1, m2};
    unsigned first[2] = {0, 0};
    for (int k = 0; k < 2; k++) {
        for (unsigned i = 0; i < 3; i++) {
            s_pub_t p = s_get_pub(members[k]);
            ck_assert_str_eq(p.id, "wk/1");
            ck_assert_str_eq(p.pattern, "jobs.*");
            ck_assert_str_eq(p.topic, "jobs.x");
            if (i == 0) {
                first[k] = p.body[0]; /* 0 or 1: by the member order */
            }
            ck_assert_uint_eq(p.body[0], first[k] + 2 * i);
        }
    }
    ck_assert_uint_eq(first[0] + first[1], 1); /* one each */
    s_none(m1, 30);
    s_none(m2, 30);
    s_subscribe(m2, ACTORS_CMD_UNSUBSCRIBE, "jobs.*", "wk/1", 1);
    s_publish(pub, "jobs.x", 9, 0);
    zmq_close(pub);
    zmq_close(m1);
    zmq_close(m2);
    s_stop();
}
END_TEST

Suite *pubsub_suite(void);

Suite *
pubsub_suite(void)
{
    Suite *s = suite_create("pubsub");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_pubsub_clients);
    tcase_add_test(tc, test_pubsub_malformed);
    tcase_add_test(tc, test_pubsub_actor_mailbox);
    tcase_add_test(tc, test_pubsub_group_queue);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(pubsub_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
