/* tests/unit/broker/test_broker.c - the broker core over real sockets.
 * SPDX-License-Identifier: MIT
 *
 * Each test runs a broker in a thread of its own, bound to an ephemeral
 * loopback port, and talks to it with raw DEALER and REQ sockets: one
 * plays the actor (REGISTER, answers CALLs with REPLY + tag), others the
 * clients. Every wait has a deadline (the sockets' receive timeout). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <check.h>
#include <msgpack.h>
#include <zmq.h>

#include <actors/msg.h>

#include "../../../broker/broker.h"
#include "../../testutil.h"
#include <actors-internal/wire.h>

#include "rawbroker.h"
#include "rawnode.h"

/* s_nothing asserts that no message (but heartbeats) comes within ms. */
static void
s_nothing(void *sock, int ms)
{
    s_msg_t m;
    int64_t end = testutil_now_ms() + ms;
    while (testutil_now_ms() < end) {
        if (s_raw_recv(sock, (int)(end - testutil_now_ms()), &m)) {
            int is_hb = m.len[0] >= 5 && m.data[0][4] == ACTORS_CMD_HEARTBEAT;
            s_msg_free(&m);
            ck_assert_msg(is_hb, "unexpected message");
        }
    }
}

/* s_lookup returns field key (an int) or state (as 1 running / 0 dead)
 * of address. */
static int64_t
s_lookup(void *client, const char *address, const char *key)
{
    s_send(client, ACTORS_CMD_LOOKUP, 0, "lk", 1, S(address));
    msgpack_unpacked up;
    s_msg_t m;
    s_reply_map(client, "lk", &up, &m);
    int64_t v = -1;
    if (strcmp(key, "state") == 0) {
        v = s_str_is(&up.data, "state", "running");
    } else {
        TEST_ASSERT_OK(actors_value_int(actors_map_get(&up.data, key), &v));
    }
    msgpack_unpacked_destroy(&up);
    s_msg_free(&m);
    return v;
}

/* ------------------------------------------------------------ tests */

START_TEST(test_broker_ping_and_malformed)
{
    s_start();
    void *c = s_sock(ZMQ_DEALER);
    s_send(c, ACTORS_CMD_PING, 0, "p1", 0);
    s_msg_t m;
    s_recv(c, &m);
    ck_assert_uint_eq(m.data[0][4], ACTORS_CMD_REPLY);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    ck_assert_int_eq(
        msgpack_unpack_next(&up, (const char *)m.data[1], m.len[1], NULL),
        MSGPACK_UNPACK_SUCCESS);
    const char *p;
    size_t n;
    TEST_ASSERT_OK(
        actors_value_str(actors_map_get(&up.data, "protocol"), &p, &n));
    ck_assert_uint_eq(n, 4);
    ck_assert_int_eq(memcmp(p, "ACT2", 4), 0);
    msgpack_unpacked_destroy(&up);
    s_msg_free(&m);

    s_call(c, "c1", "nobody/1", 0);
    s_expect_error(c, 0, "c1", "NoSuchActor");
    zmq_send(c, "GET / HTTP/1.0", 14, 0);
    s_expect_error(c, 0, "", "BadRequest");
    /* The previous version (an ACT1 PING) and a later one: BadVersion. */
    zmq_send(c, "ACT1\x01\x00\x00\x00\x00\x00", 10, 0);
    s_expect_error(c, 0, "", "BadVersion");
    zmq_send(c, "ACT3\x01\x00\x00\x00\x00\x00\x00", 11, 0);
    s_expect_error(c, 0, "", "BadVersion");
    /* ACT2 but short of the id length byte, or an id running past the
     * end of the frame: unreadable. */
    zmq_send(c, "ACT2\x01\x00\x00\x00\x00\x00", 10, 0);
    s_expect_error(c, 0, "", "BadRequest");
    zmq_send(c,
        "ACT2\x01\x00\x00\x00\x00\x00\x05"
        "abc",
        14, 0);
    s_expect_error(c, 0, "", "BadRequest");
    s_send(c, 0x7f, 0, "u1", 0);
    s_expect_error(c, 0, "u1", "BadRequest");
    /* CALL is [header with names][args][key?]: no args... */
    s_send_to(c, ACTORS_CMD_CALL, 0, "f1", "a/1", "m", 0);
    s_expect_error(c, 0, "f1", "BadRequest");
    /* ...the ACT1 layout (names as frames, none in the header)... */
    s_send(c, ACTORS_CMD_CALL, 0, "f1b", 3, S("a/1"), S("m"), NOARGS);
    s_expect_error(c, 0, "f1b", "BadRequest");
    /* ...no names in the header, or an empty address or method... */
    s_send(c, ACTORS_CMD_CALL, 0, "f1c", 1, NOARGS);
    s_expect_error(c, 0, "f1c", "BadRequest");
    s_send_to(c, ACTORS_CMD_CALL, 0, "f2", "", "m", 1, NOARGS);
    s_expect_error(c, 0, "f2", "BadRequest");
    s_send_to(c, ACTORS_CMD_CALL, 0, "f2b", "a/1", "", 1, NOARGS);
    s_expect_error(c, 0, "f2b", "BadRequest");
    /* ...names that do not end the header exactly: a byte too many, an
     * address length past the end, a method length past the end... */
    uint8_t bh[ACTORS_WIRE_HDR_MAX];
    size_t bn = testutil_call_hdr(
        bh, ACTORS_WIRE_SIG, ACTORS_CMD_CALL, 0, "f2c", 3, "a/1", "m");
    bh[bn++] = 'x';
    s_sendh(c, bh, bn, 1, NOARGS);
    s_expect_error(c, 0, "f2c", "BadRequest");
    bn = testutil_hdr(bh, ACTORS_WIRE_SIG, ACTORS_CMD_CALL, 0, "f2d", 3);
    bh[bn++] = 9;
    memcpy(bh + bn, "a/1\x01m", 5);
    s_sendh(c, bh, bn + 5, 1, NOARGS);
    s_expect_error(c, 0, "f2d", "BadRequest");
    bn = testutil_call_hdr(
        bh, ACTORS_WIRE_SIG, ACTORS_CMD_CALL, 0, "f2e", 3, "a/1", "m");
    bh[bn - 2] = 2; /* method length 2, one byte left */
    s_sendh(c, bh, bn, 1, NOARGS);
    s_expect_error(c, 0, "f2e", "BadRequest");
    /* ...a key that is empty or longer than 255 bytes (checked before
     * the address is looked up). */
    s_send_to(c, ACTORS_CMD_CALL, 0, "f2f", "nobody/1", "m", 2, NOARGS,
        (const void *)"", (size_t)0);
    s_expect_error(c, 0, "f2f", "BadRequest");
    char longkey[256];
    memset(longkey, 'k', sizeof longkey);
    s_send_to(c, ACTORS_CMD_CALL, 0, "f2g", "nobody/1", "m", 2, NOARGS,
        (const void *)longkey, sizeof longkey);
    s_expect_error(c, 0, "f2g", "BadRequest");
    s_send_to(c, ACTORS_CMD_CALL, 0, "f2h", "nobody/1", "m", 2, NOARGS,
        (const void *)longkey, sizeof longkey - 1);
    s_expect_error(c, 0, "f2h", "NoSuchActor"); /* 255 bytes: a key */
    s_send(c, ACTORS_CMD_PING, 0, "f3", 9, S("1"), S("2"), S("3"), S("4"),
        S("5"), S("6"), S("7"), S("8"), S("9"));
    s_expect_error(c, 0, "f3", "BadRequest");
    s_send(c, ACTORS_CMD_REPLY, 0, "12345678", 1, NOARGS);
    s_expect_error(c, 0, "12345678", "BadRequest");
    s_send(c, ACTORS_CMD_CREDIT, 0, "cr", 1, "\0\0\0\1", (size_t)4);
    s_expect_error(c, 0, "cr", "BadRequest");
    /* A TELL that fails with an empty id gets no answer, malformed or
     * not... */
    s_send_to(c, ACTORS_CMD_TELL, 0, NULL, "nobody/1", "m", 1, NOARGS);
    s_send(c, ACTORS_CMD_TELL, 0, NULL, 3, S("nobody/1"), S("m"), NOARGS);
    s_nothing(c, 100);
    /* ...with an id it does (and an accepted one gets REPLY nil). */
    s_send_to(c, ACTORS_CMD_TELL, 0, "t1", "nobody/1", "m", 1, NOARGS);
    s_expect_error(c, 0, "t1", "NoSuchActor");
    s_send(c, ACTORS_CMD_TELL, 0, "t2", 3, S("nobody/1"), S("m"), NOARGS);
    s_expect_error(c, 0, "t2", "BadRequest");

    /* A REQ client always gets an answer, in REQ form. */
    void *r = s_sock(ZMQ_REQ);
    zmq_send(r, "x", 1, 0);
    s_expect_error(r, 0, "", "BadRequest");
    s_send(r, ACTORS_CMD_HEARTBEAT, 0, "hb", 0);
    ck_assert(s_raw_recv(r, RECV_MS, &m)); /* echoed */
    ck_assert_uint_eq(m.data[0][4], ACTORS_CMD_HEARTBEAT);
    s_msg_free(&m);
    zmq_close(r);
    zmq_close(c);
    s_stop();
}
END_TEST

START_TEST(test_broker_too_large)
{
    brk_opts_t opts = BRK_OPTS_INIT;
    opts.max_message = 16;
    s_start_opts(opts);
    void *a = s_sock(ZMQ_DEALER);
    s_register(a, "big/1", 0, 0);
    void *c = s_sock(ZMQ_DEALER);
    char args[17];
    memset(args, 0x90, sizeof args);
    s_send_to(c, ACTORS_CMD_CALL, 0, "big", "big/1", "m", 1, (const void *)args,
        sizeof args);
    s_expect_error(c, 0, "big", "TooLarge");
    s_send_to(c, ACTORS_CMD_CALL, 0, "ok", "big/1", "m", 1, (const void *)args,
        (size_t)16);
    s_got_t g = s_actor_get(a);
    ck_assert_uint_eq(g.args_len, 16);
    s_reply_id(a, ACTORS_CMD_REPLY, g.tag, g.id_len, "\xc0", 1);
    s_expect_reply(c, 0, "ok", "\xc0", 1);
    zmq_close(a);
    zmq_close(c);
    s_stop();
}
END_TEST

START_TEST(test_broker_call_reply_dealer_and_req)
{
    s_start();
    void *a = s_sock(ZMQ_DEALER);
    s_register(a, "echo/1", 0, 0);
    void *c = s_sock(ZMQ_DEALER);
    void *r = s_sock(ZMQ_REQ);

    s_call(c, "dealer-1", "echo/1", 5000);
    s_got_t g = s_actor_get(a);
    ck_assert_uint_eq(g.cmd, ACTORS_CMD_CALL);
    ck_assert_str_eq(g.address, "echo/1");
    ck_assert_str_eq(g.method, "m");
    ck_assert(!g.has_key);
    ck_assert_uint_gt(g.timeout, 0);
    ck_assert_uint_le(g.timeout, 5000);
    s_reply_id(a, ACTORS_CMD_REPLY, g.tag, g.id_len, "\xa2ok", 3);
    s_expect_reply(c, 0, "dealer-1", "\xa2ok", 3);

    s_call(r, "req-1", "echo/1", 0);
    g = s_actor_get(a);
    ck_assert_uint_eq(g.timeout, 0);
    s_reply_id(a, ACTORS_CMD_REPLY, g.tag, g.id_len, "\x07", 1);
    s_expect_reply(r, 0, "req-1", "\x07", 1); /* REQ strips the delimiter */

    /* A call's key reaches the actor after the args; its reply is the
     * caller's header (names included) with the command rewritten. */
    s_send_to(
        c, ACTORS_CMD_CALL, 0, "keyed", "echo/1", "put", 2, NOARGS, S("key-1"));
    g = s_actor_get(a);
    ck_assert_str_eq(g.method, "put");
    ck_assert(g.has_key);
    ck_assert_str_eq(g.key, "key-1");
    s_reply_id(a, ACTORS_CMD_REPLY, g.tag, g.id_len, "\x06", 1);
    s_expect_reply(c, 0, "keyed", "\x06", 1);

    /* A late second reply to the same tag matches nothing: dropped. */
    s_reply_id(a, ACTORS_CMD_REPLY, g.tag, g.id_len, "\x08", 1);
    s_nothing(c, 100);

    /* An actor may call itself (as a client on the same socket). */
    s_call(a, "self", "echo/1", 0);
    g = s_actor_get(a);
    s_reply_id(a, ACTORS_CMD_REPLY, g.tag, g.id_len, "\x09", 1);
    s_expect_reply(a, 0, "self", "\x09", 1);

    ck_assert_int_eq(s_lookup(c, "echo/1", "handled"), 4);
    ck_assert_int_eq(s_lookup(c, "echo/1", "pid"), 4242);
    zmq_close(a);
    zmq_close(c);
    zmq_close(r);
    s_stop();
}
END_TEST

START_TEST(test_broker_credit_mailbox_order)
{
    s_start();
    void *a = s_sock(ZMQ_DEALER);
    s_register(a, "slow/1", 1, 2);
    void *c = s_sock(ZMQ_DEALER);
    s_call(c, "k0", "slow/1", 0);
    s_call(c, "k1", "slow/1", 0);
    s_call(c, "k2", "slow/1", 0);
    s_call(c, "k3", "slow/1", 0); /* 1 in flight + 2 waiting: full */
    s_expect_error(c, 0, "k3", "MailboxFull");
    s_got_t g0 = s_actor_get(a);
    s_nothing(a, 100); /* prefetch 1: nothing more until answered */
    ck_assert_int_eq(s_lookup(c, "slow/1", "mailbox"), 2);
    ck_assert_int_eq(s_lookup(c, "slow/1", "inflight"), 1);
    for (int i = 0; i < 3; i++) {
        char id[4];
        snprintf(id, sizeof id, "k%d", i);
        s_got_t g = i == 0 ? g0 : s_actor_get(a);
        uint8_t body = (uint8_t)i;
        s_reply_id(a, ACTORS_CMD_REPLY, g.tag, g.id_len, &body, 1);
        s_expect_reply(c, 0, id, &body, 1); /* in order */
    }
    zmq_close(a);
    zmq_close(c);
    s_stop();
}
END_TEST

/* s_expect_ack receives the broker's acknowledgement of a TELL with id:
 * REPLY nil, its header the TELL's (header at frame h). */
static void
s_expect_ack(void *sock, int h, const char *id)
{
    s_msg_t m;
    s_recv(sock, &m);
    ck_assert_int_eq(m.nframes, h + 2);
    size_t n = strlen(id);
    /* The TELL's own header, command rewritten (its names follow the id:
     * PROTOCOL.md, "The HEADER frame"). */
    ck_assert_uint_ge(m.len[h], ACTORS_WIRE_HDR_MIN + n);
    ck_assert_int_eq(memcmp(m.data[h], "ACT2", 4), 0);
    ck_assert_uint_eq(m.data[h][4], ACTORS_CMD_REPLY);
    ck_assert_uint_eq(m.data[h][ACTORS_WIRE_HDR_MIN - 1], n);
    ck_assert_int_eq(memcmp(m.data[h] + ACTORS_WIRE_HDR_MIN, id, n), 0);
    ck_assert_uint_eq(m.len[h + 1], 1);
    ck_assert_uint_eq(m.data[h + 1][0], 0xc0);
    s_msg_free(&m);
}

/* A TELL with a request id is acknowledged once accepted, dispatched or
 * queued (REPLY nil), refused when the mailbox is full (MailboxFull), and
 * answered only once: an accepted tell that later dies in the mailbox
 * gets nothing more. Without an id: nothing. A REQ socket's TELL (with its
 * delimiter, any id) gets its REPLY in REQ form. */
START_TEST(test_broker_tell_acks)
{
    s_start();
    void *a = s_sock(ZMQ_DEALER);
    s_register(a, "t/1", 1, 2);
    void *c = s_sock(ZMQ_DEALER);
    s_send_to(c, ACTORS_CMD_TELL, 0, "a1", "t/1", "m", 1, NOARGS);
    s_expect_ack(c, 0, "a1"); /* dispatched */
    s_got_t g = s_actor_get(a);
    ck_assert_uint_eq(g.cmd, ACTORS_CMD_TELL);
    s_send_to(c, ACTORS_CMD_TELL, 0, "a2", "t/1", "m", 1, NOARGS);
    s_expect_ack(c, 0, "a2"); /* queued */
    s_send_to(c, ACTORS_CMD_TELL, 0, NULL, "t/1", "m", 1, NOARGS);
    s_nothing(c, 100); /* queued, no id: never answered */
    s_send_to(c, ACTORS_CMD_TELL, 0, "a3", "t/1", "m", 1, NOARGS);
    s_expect_error(c, 0, "a3", "MailboxFull");
    s_send_to(c, ACTORS_CMD_TELL, 0, "a4", "t/9", "m", 1, NOARGS);
    s_expect_error(c, 0, "a4", "NoSuchActor");

    void *r = s_sock(ZMQ_REQ);
    void *b = s_sock(ZMQ_DEALER);
    s_register(b, "t/2", 1, 0);
    s_send_to(r, ACTORS_CMD_TELL, 0, NULL, "t/2", "m", 1, NOARGS);
    s_expect_ack(r, 0, "");
    s_send_to(r, ACTORS_CMD_TELL, 0, NULL, "t/9", "m", 1, NOARGS);
    s_msg_t m;
    s_recv(r, &m);
    char type[64];
    ck_assert(s_error_type(&m, 0, type, sizeof type));
    ck_assert_str_eq(type, "NoSuchActor");
    s_msg_free(&m);

    /* The actor dies with a2 in its mailbox: acked already, no ActorDead. */
    zmq_close(a);
    int64_t deadline = testutil_now_ms() + RECV_MS;
    while (s_lookup(c, "t/1", "state") != 0) {
        ck_assert(testutil_now_ms() < deadline);
        testutil_poll_pause_ms(10);
    }
    s_nothing(c, 100);
    zmq_close(b);
    zmq_close(r);
    zmq_close(c);
    s_stop();
}
END_TEST

START_TEST(test_broker_tells_and_credit)
{
    s_start();
    void *a = s_sock(ZMQ_DEALER);
    s_register(a, "t/1", 1, 0);
    void *c = s_sock(ZMQ_DEALER);
    s_send_to(c, ACTORS_CMD_TELL, 0, NULL, "t/1", "first", 1, NOARGS);
    s_send_to(c, ACTORS_CMD_TELL, 0, NULL, "t/1", "second", 1, NOARGS);
    s_got_t g = s_actor_get(a);
    ck_assert_uint_eq(g.cmd, ACTORS_CMD_TELL);
    ck_assert_uint_eq(g.id_len, 0); /* the caller's header, unchanged */
    ck_assert_str_eq(g.address, "t/1");
    ck_assert_str_eq(g.method, "first");
    s_nothing(a, 100);
    s_send(a, ACTORS_CMD_CREDIT, 0, NULL, 1, "\0\0\0\1", (size_t)4);
    g = s_actor_get(a);
    ck_assert_str_eq(g.method, "second");
    s_send(a, ACTORS_CMD_CREDIT, 0, NULL, 1, "\0\0\0\1", (size_t)4);
    /* Credits are counted as handled. */
    ck_assert_int_eq(s_lookup(c, "t/1", "handled"), 2);
    ck_assert_int_eq(s_lookup(c, "t/1", "inflight"), 0);
    zmq_close(a);
    zmq_close(c);
    s_stop();
}
END_TEST

START_TEST(test_broker_timeouts)
{
    s_start();
    void *a = s_sock(ZMQ_DEALER);
    s_register(a, "slow/1", 1, 0);
    void *c = s_sock(ZMQ_DEALER);
    s_call(c, "busy", "slow/1", 0);
    s_got_t busy = s_actor_get(a);
    /* Waiting in the mailbox past its deadline: Timeout, removed. */
    s_call(c, "queued", "slow/1", 50);
    s_expect_error(c, 0, "queued", "Timeout");
    ck_assert_int_eq(s_lookup(c, "slow/1", "mailbox"), 0);
    s_reply_id(a, ACTORS_CMD_REPLY, busy.tag, busy.id_len, "\xc0", 1);
    s_expect_reply(c, 0, "busy", "\xc0", 1);
    /* Dispatched, not answered in time: Timeout; the late reply is
     * dropped but its credit comes back. */
    s_call(c, "inflight", "slow/1", 50);
    s_got_t g = s_actor_get(a);
    ck_assert_uint_le(g.timeout, 50);
    s_expect_error(c, 0, "inflight", "Timeout");
    s_call(c, "next", "slow/1", 0);
    s_nothing(a, 50); /* no credit yet */
    s_reply_id(a, ACTORS_CMD_REPLY, g.tag, g.id_len, "\xc0", 1);
    g = s_actor_get(a);
    s_reply_id(a, ACTORS_CMD_REPLY, g.tag, g.id_len, "\x01", 1);
    s_expect_reply(c, 0, "next", "\x01", 1);
    zmq_close(a);
    zmq_close(c);
    s_stop();
}
END_TEST

START_TEST(test_broker_actor_crash)
{
    s_start();
    void *a = s_sock(ZMQ_DEALER);
    s_register(a, "crash/1", 1, 0);
    void *c = s_sock(ZMQ_DEALER);
    s_call(c, "x1", "crash/1", 0);
    s_call(c, "x2", "crash/1", 0);
    (void)s_actor_get(a);
    zmq_close(a); /* the connection drops: the monitor sees it */
    s_expect_error(c, 0, "x1", "ActorCrashed");
    s_expect_error(c, 0, "x2", "ActorDead");
    ck_assert_int_eq(s_lookup(c, "crash/1", "state"), 0);
    s_call(c, "x3", "crash/1", 0);
    s_expect_error(c, 0, "x3", "ActorDead");
    /* The address can be registered again. */
    a = s_sock(ZMQ_DEALER);
    s_register(a, "crash/1", 1, 0);
    ck_assert_int_eq(s_lookup(c, "crash/1", "state"), 1);
    s_call(c, "x4", "crash/1", 0);
    s_got_t g = s_actor_get(a);
    s_reply_id(a, ACTORS_CMD_REPLY, g.tag, g.id_len, "\xc3", 1);
    s_expect_reply(c, 0, "x4", "\xc3", 1);
    zmq_close(a);
    zmq_close(c);
    s_stop();
}
END_TEST

START_TEST(test_broker_unregister)
{
    s_start();
    void *a = s_sock(ZMQ_DEALER);
    s_register(a, "bye/1", 1, 0);
    void *c = s_sock(ZMQ_DEALER);
    s_call(c, "y1", "bye/1", 0);
    s_call(c, "y2", "bye/1", 0);
    (void)s_actor_get(a);
    s_send(a, ACTORS_CMD_UNREGISTER, 0, NULL, 1, S("bye/1"));
    s_expect_error(c, 0, "y1", "ActorDead");
    s_expect_error(c, 0, "y2", "ActorDead");
    ck_assert_int_eq(s_lookup(c, "bye/1", "state"), 0);
    /* The LIST shows the tombstone. */
    s_send(c, ACTORS_CMD_LIST, 0, "ls", 0);
    s_msg_t m;
    s_recv(c, &m);
    ck_assert_uint_eq(m.data[0][4], ACTORS_CMD_REPLY);
    ck_assert_uint_eq(m.data[1][0], 0x91); /* array of one map */
    s_msg_free(&m);
    zmq_close(a);
    zmq_close(c);
    s_stop();
}
END_TEST

START_TEST(test_broker_name_taken)
{
    s_start();
    void *a = s_sock(ZMQ_DEALER);
    s_register(a, "one/1", 0, 0);
    s_register(a, "one/1", 0, 0); /* the same peer again: fine */
    void *b = s_sock(ZMQ_DEALER);
    s_send(b, ACTORS_CMD_REGISTER, 0, "r", 2, S("one/1"), "\x80", (size_t)1);
    s_expect_error(b, 0, "r", "NameTaken");
    s_send(b, ACTORS_CMD_REGISTER, 0, "r2", 2, S("two/1"), "\x01", (size_t)1);
    s_expect_error(b, 0, "r2", "BadRequest"); /* info not a map */
    /* A map header announcing 2^32 - 1 entries must not allocate them. */
    s_send(b, ACTORS_CMD_REGISTER, 0, "r3", 2, S("two/1"),
        "\xdf\xff\xff\xff\xff", (size_t)5);
    s_expect_error(b, 0, "r3", "BadRequest");
    zmq_close(a);
    zmq_close(b);
    s_stop();
}
END_TEST

/* s_zmtp_actor opens a plain TCP connection to the broker, speaks just
 * enough ZMTP 3.0 to be a DEALER (greeting, READY) and registers address,
 * then goes silent: it never reads, so it never answers the broker's ZMTP
 * PINGs, as a stopped (SIGSTOP) or vanished process would not. Returns
 * the socket. */
static int
s_zmtp_actor(const char *address)
{
    const char *ep = brk_broker_endpoint(s_broker);
    int port = atoi(strrchr(ep, ':') + 1);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in sa = {
        .sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    uint8_t out[512];
    size_t n = 0;
    /* Greeting: signature, version 3.0, mechanism NULL, as-server 0. */
    memset(out, 0, 64);
    out[0] = 0xff;
    out[9] = 0x7f;
    out[10] = 3;
    out[11] = 1;
    memcpy(out + 12, "NULL", 4);
    ck_assert_int_eq(write(fd, out, 64), 64);
    /* libzmq wants the greetings exchanged before anything else comes. */
    size_t got = 0;
    while (got < 64) {
        ssize_t r = read(fd, out, 64 - got);
        ck_assert_int_gt(r, 0);
        got += (size_t)r;
    }
    n = 0;
    /* READY with Socket-Type DEALER: a short command frame. */
    static const uint8_t ready[] = {0x04, 28, 5, 'R', 'E', 'A', 'D', 'Y', 11,
        'S', 'o', 'c', 'k', 'e', 't', '-', 'T', 'y', 'p', 'e', 0, 0, 0, 6, 'D',
        'E', 'A', 'L', 'E', 'R'};
    memcpy(out + n, ready, sizeof ready);
    n += sizeof ready;
    /* REGISTER: header, address, info {} as three short frames. */
    uint8_t h[ACTORS_WIRE_HDR_MAX];
    size_t hn = actors__hdr_write(h, ACTORS_CMD_REGISTER, 0, "r", 1);
    out[n++] = 0x01;
    out[n++] = (uint8_t)hn;
    memcpy(out + n, h, hn);
    n += hn;
    out[n++] = 0x01;
    out[n++] = (uint8_t)strlen(address);
    memcpy(out + n, address, strlen(address));
    n += strlen(address);
    out[n++] = 0x00;
    out[n++] = 1;
    out[n++] = 0x80;
    ck_assert_int_eq(write(fd, out, n), (ssize_t)n);
    return fd;
}

/* Liveness is ZeroMQ's: an actor in a long method keeps its connection
 * (libzmq's I/O thread answers the ZMTP PINGs; here a DEALER that does
 * not poll), a peer that answers nothing is cut off after liveness
 * intervals and its call in flight answered ActorCrashed. A HEARTBEAT
 * from an actor is echoed (peers that judge the broker by them). */
START_TEST(test_broker_heartbeats)
{
    brk_opts_t opts = BRK_OPTS_INIT;
    opts.heartbeat_ms = 50;
    opts.liveness = 3;
    s_start_opts(opts);
    void *a = s_sock(ZMQ_DEALER);
    s_register(a, "busy/1", 0, 0);
    s_send(a, ACTORS_CMD_HEARTBEAT, 0, NULL, 0);
    s_msg_t m;
    ck_assert(s_raw_recv(a, RECV_MS, &m));
    ck_assert_uint_eq(m.data[0][4], ACTORS_CMD_HEARTBEAT);
    s_msg_free(&m);
    void *c = s_sock(ZMQ_DEALER);
    int fd = s_zmtp_actor("mute/1");
    s_wait_state(c, "mute/1", "running");
    s_call(c, "h1", "mute/1", 0);
    s_expect_error(c, 0, "h1", "ActorCrashed");
    ck_assert_int_eq(s_lookup(c, "mute/1", "state"), 0);
    /* busy/1 never polled all that time (many liveness intervals): its
     * libzmq answered for it. */
    ck_assert_int_eq(s_lookup(c, "busy/1", "state"), 1);
    close(fd);
    zmq_close(a);
    zmq_close(c);
    s_stop();
}
END_TEST

/* An idle actor hears nothing from the broker and stays alive without
 * sending anything, far beyond liveness x heartbeat: liveness is libzmq's
 * ZMTP heartbeat, answered by the actor socket's I/O thread. */
START_TEST(test_broker_idle_actor_needs_no_heartbeats)
{
    brk_opts_t opts = BRK_OPTS_INIT;
    opts.heartbeat_ms = 50;
    opts.liveness = 3;
    s_start_opts(opts);
    void *a = s_sock(ZMQ_DEALER);
    s_register(a, "quiet/1", 0, 0);
    s_msg_t m;
    ck_assert_msg(!s_raw_recv(a, 500, &m), "the broker sent command %d",
        m.len[0] > 4 ? m.data[0][4] : -1);
    void *c = s_sock(ZMQ_DEALER);
    ck_assert_int_eq(s_lookup(c, "quiet/1", "state"), 1);
    zmq_close(a);
    zmq_close(c);
    s_stop();
}
END_TEST

/* ---- a peer that speaks ZMTP 3.1 by hand (RFC 37), without libzmq ----- */

/* s_zmtp_read reads exactly n bytes from fd within the deadline (ms,
 * testutil_now_ms clock). Returns false on timeout or end of stream. */
static bool
s_zmtp_read(int fd, void *buf, size_t n, int64_t deadline)
{
    size_t got = 0;
    while (got < n) {
        int64_t left = deadline - testutil_now_ms();
        struct pollfd p = {fd, POLLIN, 0};
        if (left <= 0 || poll(&p, 1, (int)left) <= 0) {
            return false;
        }
        ssize_t r = read(fd, (uint8_t *)buf + got, n - got);
        if (r <= 0) {
            return false;
        }
        got += (size_t)r;
    }
    return true;
}

static void
s_zmtp_write(int fd, const void *buf, size_t n)
{
    ck_assert_int_eq(write(fd, buf, n), (ssize_t)n);
}

/* s_zmtp_frame writes one frame or command (flags: 1 more, 4 command). */
static void
s_zmtp_frame(int fd, uint8_t flags, const void *body, size_t n)
{
    ck_assert_uint_lt(n, 256); /* short frames only */
    uint8_t h[2] = {flags, (uint8_t)n};
    s_zmtp_write(fd, h, 2);
    s_zmtp_write(fd, body, n);
}

/* s_zmtp_next reads one frame or command into buf (cap bytes); sets
 * *flags and returns its size, or -1 if none started before the deadline
 * or the stream ended. A frame once started is read whole (its bytes
 * come together), whatever the deadline. */
static long
s_zmtp_next(int fd, uint8_t *flags, uint8_t *buf, size_t cap, int64_t deadline)
{
    uint8_t f;
    if (!s_zmtp_read(fd, &f, 1, deadline)) {
        return -1;
    }
    deadline = testutil_now_ms() + RECV_MS;
    uint64_t n = 0;
    if (f & 0x02) {
        uint8_t b[8];
        if (!s_zmtp_read(fd, b, 8, deadline)) {
            return -1;
        }
        for (int i = 0; i < 8; i++) {
            n = n << 8 | b[i];
        }
    } else {
        uint8_t b;
        if (!s_zmtp_read(fd, &b, 1, deadline)) {
            return -1;
        }
        n = b;
    }
    ck_assert_uint_le(n, cap);
    if (!s_zmtp_read(fd, buf, (size_t)n, deadline)) {
        return -1;
    }
    *flags = f;
    return (long)n;
}

/* s_zmtp_connect connects to the broker, does the NULL handshake as a
 * DEALER and returns the descriptor. */
static int
s_zmtp_connect(void)
{
    const char *ep = brk_broker_endpoint(s_broker);
    const char *colon = strrchr(ep, ':');
    ck_assert_ptr_nonnull(colon);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_port = htons((uint16_t)atoi(colon + 1));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    /* Greeting: signature, version 3.1, mechanism NULL, as-server 0. */
    uint8_t g[64] = {
        0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 3, 1, 'N', 'U', 'L', 'L'};
    s_zmtp_write(fd, g, sizeof g);
    uint8_t theirs[64];
    int64_t deadline = testutil_now_ms() + RECV_MS;
    ck_assert(s_zmtp_read(fd, theirs, sizeof theirs, deadline));
    ck_assert_uint_eq(theirs[0], 0xff);
    ck_assert_uint_eq(theirs[10], 3);
    static const uint8_t ready[] = {5, 'R', 'E', 'A', 'D', 'Y', 11, 'S', 'o',
        'c', 'k', 'e', 't', '-', 'T', 'y', 'p', 'e', 0, 0, 0, 6, 'D', 'E', 'A',
        'L', 'E', 'R'};
    s_zmtp_frame(fd, 0x04, ready, sizeof ready);
    uint8_t flags;
    uint8_t buf[256];
    long n = s_zmtp_next(fd, &flags, buf, sizeof buf, deadline);
    ck_assert_int_ge(n, 6);
    ck_assert_uint_eq(flags & 0x04, 0x04);
    ck_assert_int_eq(memcmp(buf, "\x05READY", 6), 0);
    return fd;
}

/* s_zmtp_serve reads what the broker sends for ms, answering every PING
 * with PONG (its context echoed) if pong; returns the messages' frames
 * seen that were not commands. */
static int
s_zmtp_serve(int fd, int ms, bool pong, int *pings)
{
    int frames = 0;
    int64_t end = testutil_now_ms() + ms;
    for (;;) {
        uint8_t flags;
        uint8_t buf[1024];
        long n = s_zmtp_next(fd, &flags, buf, sizeof buf, end);
        if (n < 0) {
            return frames;
        }
        if (!(flags & 0x04)) {
            frames++;
            continue;
        }
        /* A command: name length, name, then its data. PING: TTL (2
         * bytes) and a context the PONG echoes. */
        if (n >= 7 && memcmp(buf, "\x04PING", 5) == 0) {
            (*pings)++;
            if (pong) {
                uint8_t out[32] = {4, 'P', 'O', 'N', 'G'};
                size_t ctx = (size_t)n - 7;
                ck_assert_uint_le(ctx, 16);
                memcpy(out + 5, buf + 7, ctx);
                s_zmtp_frame(fd, 0x04, out, 5 + ctx);
            }
        }
    }
}

/* A peer that is not libzmq registers over ZMTP 3.1 and stays alive as
 * long as it answers the broker's PINGs with PONGs, sending nothing else;
 * once it stops answering, the broker drops its connection and the call
 * in flight gets ActorCrashed. */
START_TEST(test_broker_zmtp_peer_must_pong)
{
    brk_opts_t opts = BRK_OPTS_INIT;
    opts.heartbeat_ms = 50;
    opts.liveness = 3;
    s_start_opts(opts);
    int fd = s_zmtp_connect();
    actors_msg_t *info = NULL;
    TEST_ASSERT_OK(actors_msg_build(&info, "{sssisisi}", "service", "test",
        "pid", 4242, "prefetch", 1, "mailbox", 0));
    size_t hn;
    const uint8_t *h = s_hdr(ACTORS_CMD_REGISTER, 0, "reg", &hn);
    s_zmtp_frame(fd, 0x01, h, hn);
    s_zmtp_frame(fd, 0x01, "raw/1", 5);
    s_zmtp_frame(fd, 0x00, actors_msg_data(info), actors_msg_size(info));
    actors_msg_destroy(&info);
    int pings = 0;
    /* The REGISTER reply (2 frames), then liveness x 3 of PONGs only. */
    ck_assert_int_eq(s_zmtp_serve(fd, 500, true, &pings), 2);
    ck_assert_int_ge(pings, 3);
    void *c = s_sock(ZMQ_DEALER);
    ck_assert_int_eq(s_lookup(c, "raw/1", "state"), 1);
    /* Silent from now on: the call goes out, no PONG comes back. */
    s_call(c, "c1", "raw/1", 0);
    int64_t t0 = testutil_now_ms();
    pings = 0;
    s_zmtp_serve(fd, 100, false, &pings);
    s_expect_error(c, 0, "c1", "ActorCrashed");
    ck_assert_int_lt(testutil_now_ms() - t0, 2000);
    ck_assert_int_eq(s_lookup(c, "raw/1", "state"), 0);
    close(fd);
    zmq_close(c);
    s_stop();
}
END_TEST

START_TEST(test_broker_reply_then_disconnect)
{
    s_start();
    void *c = s_sock(ZMQ_DEALER);
    for (int i = 0; i < 20; i++) {
        void *a = s_sock(ZMQ_DEALER);
        s_register(a, "brief/1", 0, 0);
        s_call(c, "last", "brief/1", 0);
        s_got_t g = s_actor_get(a);
        s_reply_id(a, ACTORS_CMD_REPLY, g.tag, g.id_len, "\x2a", 1);
        int linger = 1000; /* flush the reply, then drop the connection */
        zmq_setsockopt(a, ZMQ_LINGER, &linger, sizeof linger);
        zmq_close(a);
        s_expect_reply(c, 0, "last", "\x2a", 1);
        /* Wait for the death to be seen before the next registration. */
        int64_t end = testutil_now_ms() + RECV_MS;
        while (s_lookup(c, "brief/1", "state") != 0) {
            ck_assert_int_lt(testutil_now_ms(), end);
            testutil_poll_pause_ms(5);
        }
    }
    zmq_close(c);
    s_stop();
}
END_TEST

START_TEST(test_broker_garbage_never_kills)
{
    s_start();
    void *c = s_sock(ZMQ_DEALER);
    srand(3);
    uint8_t buf[64];
    for (int i = 0; i < 2000; i++) {
        int frames = 1 + rand() % 6;
        for (int f = 0; f < frames; f++) {
            size_t n = (size_t)(rand() % (int)sizeof buf);
            for (size_t k = 0; k < n; k++) {
                buf[k] = (uint8_t)rand();
            }
            if (f == 0 && n >= 5 && rand() % 2) {
                memcpy(buf, ACTORS_WIRE_SIG, ACTORS_WIRE_SIG_LEN);
                buf[4] = (uint8_t)(rand() % 14);
                if (n > ACTORS_WIRE_HDR_MIN && rand() % 2) {
                    /* An id that fits: the names (or what follows the
                     * id) get parsed too. */
                    buf[10] = (uint8_t)(rand() % (int)(n - 10));
                }
            }
            zmq_send(c, buf, n, f + 1 < frames ? ZMQ_SNDMORE : 0);
        }
    }
    /* Still serving: the PING answer comes after the garbage's. */
    s_send(c, ACTORS_CMD_PING, 0, "alive", 0);
    s_msg_t m;
    for (;;) {
        s_recv(c, &m);
        const uint8_t *id = NULL;
        size_t n = testutil_hdr_id(m.data[0], m.len[0], &id);
        bool done = m.len[0] == ACTORS_WIRE_HDR_MIN + 5 &&
                    m.data[0][4] == ACTORS_CMD_REPLY && id != NULL && n == 5 &&
                    memcmp(id, "alive", 5) == 0;
        s_msg_free(&m);
        if (done) {
            break;
        }
    }
    zmq_close(c);
    s_stop();
}
END_TEST

START_TEST(test_broker_create_survives_oom)
{
    for (unsigned n = 1;; n++) {
        brk_opts_t opts = BRK_OPTS_INIT;
        opts.bind = "tcp://127.0.0.1:*";
        brk_broker_t *b = NULL;
        testutil_fail_alloc_after(n);
        actors_err rc = brk_broker_create(&b, &opts);
        testutil_fail_alloc_after(0);
        if (rc == ACTORS_OK) {
            ck_assert_ptr_nonnull(b);
            brk_broker_destroy(&b);
            break;
        }
        TEST_ASSERT_ERR(rc, ACTORS_ENOMEM);
        ck_assert_ptr_null(b);
    }
}
END_TEST

START_TEST(test_broker_create_rejects_bad_options)
{
    brk_opts_t opts = BRK_OPTS_INIT;
    brk_broker_t *b = NULL;
    opts.bind = "bogus://nowhere";
    TEST_ASSERT_ERR(brk_broker_create(&b, &opts), ACTORS_EIO);
    ck_assert_ptr_null(b);
    opts.bind = "tcp://127.0.0.1:*";
    opts.mailbox = 0;
    TEST_ASSERT_ERR(brk_broker_create(&b, &opts), ACTORS_EINVAL);
    brk_broker_destroy(&b); /* NULL is fine */
}
END_TEST

Suite *broker_suite(void);

Suite *
broker_suite(void)
{
    Suite *s = suite_create("broker");
    TCase *tc = tcase_create("protocol");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_broker_ping_and_malformed);
    tcase_add_test(tc, test_broker_too_large);
    tcase_add_test(tc, test_broker_call_reply_dealer_and_req);
    tcase_add_test(tc, test_broker_credit_mailbox_order);
    tcase_add_test(tc, test_broker_tells_and_credit);
    tcase_add_test(tc, test_broker_tell_acks);
    tcase_add_test(tc, test_broker_timeouts);
    tcase_add_test(tc, test_broker_actor_crash);
    tcase_add_test(tc, test_broker_unregister);
    tcase_add_test(tc, test_broker_name_taken);
    tcase_add_test(tc, test_broker_heartbeats);
    tcase_add_test(tc, test_broker_idle_actor_needs_no_heartbeats);
    tcase_add_test(tc, test_broker_zmtp_peer_must_pong);
    tcase_add_test(tc, test_broker_reply_then_disconnect);
    tcase_add_test(tc, test_broker_garbage_never_kills);
    suite_add_tcase(s, tc);
    TCase *lc = tcase_create("lifecycle");
    tcase_set_timeout(lc, 30);
    tcase_add_test(lc, test_broker_create_survives_oom);
    tcase_add_test(lc, test_broker_create_rejects_bad_options);
    suite_add_tcase(s, lc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(broker_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
