/* tests/integration/test_raw_actor.c - the broker's side of the actor
 * conversation, seen from a raw DEALER that plays the actor.
 * SPDX-License-Identifier: MIT
 *
 *   actor = A:REGISTER ( B:REPLY / B:ERROR ) *( B:CALL A:(REPLY/ERROR) /
 *           B:TELL / A:CREDIT ) [A:UNREGISTER]
 *
 * The test registers a raw socket, makes calls and tells through the
 * libactors client, and checks the frames the broker sends on: the 8-byte
 * tag, the remaining deadline, prefetch credit, dropped late replies,
 * errors passed through, UNREGISTER. The raw actor never sends HEARTBEAT:
 * its libzmq answers the broker's ZMTP PINGs, which is all liveness is.
 */
#include "itest.h"
#include <actors-internal/wire.h>

#include <unistd.h>
#include <zmq.h>

#define CMD_CALL 0x01
#define CMD_TELL 0x02
#define CMD_REPLY 0x03
#define CMD_ERROR 0x04
#define CMD_REGISTER 0x05
#define CMD_UNREGISTER 0x06
#define CMD_HEARTBEAT 0x07
#define CMD_CREDIT 0x08

static void
s_pack_str(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str(pk, strlen(s));
    msgpack_pack_str_body(pk, s, strlen(s));
}

/* s_register registers address on raw socket a with prefetch; returns the
 * REPLY's heartbeat_ms. */
static int64_t
s_register(void *a, const char *address, int prefetch)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 4);
    s_pack_str(&pk, "service");
    s_pack_str(&pk, "raw");
    s_pack_str(&pk, "pid");
    msgpack_pack_int64(&pk, getpid());
    s_pack_str(&pk, "prefetch");
    msgpack_pack_int(&pk, prefetch);
    s_pack_str(&pk, "mailbox");
    msgpack_pack_int(&pk, 0);
    uint8_t hdr[ACTORS_WIRE_HDR_MAX];
    size_t hlen = testutil_hdr(hdr, "ACT2", CMD_REGISTER, 0, "reg", 3);
    const void *data[3] = {hdr, address, sb.data};
    size_t len[3] = {hlen, strlen(address), sb.size};
    ck_assert_int_eq(testutil_raw_send(a, 3, data, len), 0);
    msgpack_sbuffer_destroy(&sb);

    testutil_raw_msg_t m;
    for (;;) {
        ck_assert_msg(
            testutil_raw_recv(a, ITEST_WAIT_MS, &m), "no answer to REGISTER");
        if (m.len[0] >= ACTORS_WIRE_HDR_MIN && m.data[0][4] != CMD_HEARTBEAT) {
            break;
        }
        testutil_raw_msg_free(&m);
    }
    ck_assert_int_eq(m.nframes, 2);
    ck_assert_mem_eq(m.data[0], "ACT2", 4);
    ck_assert_int_eq(m.data[0][4], CMD_REPLY);
    const uint8_t *id = NULL;
    ck_assert_uint_eq(testutil_hdr_id(m.data[0], m.len[0], &id), 3);
    ck_assert_mem_eq(id, "reg", 3);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    ck_assert_int_eq(
        msgpack_unpack_next(&u, (const char *)m.data[1], m.len[1], NULL),
        MSGPACK_UNPACK_SUCCESS);
    int64_t hb = -1;
    int64_t liveness = -1;
    int64_t maxmsg = -1;
    TEST_ASSERT_OK(
        actors_value_int(actors_map_get(&u.data, "heartbeat_ms"), &hb));
    TEST_ASSERT_OK(
        actors_value_int(actors_map_get(&u.data, "liveness"), &liveness));
    TEST_ASSERT_OK(
        actors_value_int(actors_map_get(&u.data, "max_message"), &maxmsg));
    ck_assert_int_gt(hb, 0);
    ck_assert_int_gt(liveness, 0);
    ck_assert_int_gt(maxmsg, 0);
    msgpack_unpacked_destroy(&u);
    testutil_raw_msg_free(&m);
    return hb;
}

/* s_actor_recv waits for the next message that is not a HEARTBEAT (an
 * older broker's). Returns false if none came within timeout_ms. */
static bool
s_actor_recv(void *a, int timeout_ms, testutil_raw_msg_t *m)
{
    int64_t deadline = testutil_now_ms() + timeout_ms;
    for (;;) {
        int64_t left = deadline - testutil_now_ms();
        if (left < 0) {
            left = 0;
        }
        if (!testutil_raw_recv(a, left > 100 ? 100 : (int)left, m)) {
            if (left == 0) {
                return false;
            }
            continue;
        }
        if (m->nframes >= 1 && m->len[0] >= ACTORS_WIRE_HDR_MIN &&
            m->data[0][4] == CMD_HEARTBEAT) {
            testutil_raw_msg_free(m);
            continue;
        }
        return true;
    }
}

/* s_actor_answer answers the CALL in m with body (msgpack bytes): a
 * header with the broker's tag (4 or 8 bytes) as id and no names. */
static void
s_actor_answer(void *a, const testutil_raw_msg_t *m, uint8_t cmd,
    const void *body, size_t body_len)
{
    uint8_t hdr[ACTORS_WIRE_HDR_MAX];
    const uint8_t *tag = NULL;
    size_t tag_len = testutil_hdr_id(m->data[0], m->len[0], &tag);
    ck_assert(tag_len == 4 || tag_len == 8);
    size_t hlen = testutil_hdr(hdr, "ACT2", cmd, 0, tag, tag_len);
    const void *data[2] = {hdr, body};
    size_t len[2] = {hlen, body_len};
    ck_assert_int_eq(testutil_raw_send(a, 2, data, len), 0);
}

/* s_actor_echo_answer answers the CALL in m the lazy way: its own header
 * sent back with the command rewritten, names included (bytes after the
 * id of a REPLY or ERROR are ignored). */
static void
s_actor_echo_answer(void *a, const testutil_raw_msg_t *m, uint8_t cmd,
    const void *body, size_t body_len)
{
    uint8_t hdr[ACTORS_WIRE_HDR_MAX];
    ck_assert_uint_le(m->len[0], sizeof hdr);
    memcpy(hdr, m->data[0], m->len[0]);
    hdr[4] = cmd;
    const void *data[2] = {hdr, body};
    size_t len[2] = {m->len[0], body_len};
    ck_assert_int_eq(testutil_raw_send(a, 2, data, len), 0);
}

/* s_expect receives a CALL (or TELL) of method with the given args: the
 * header carries the id and then exactly the names, one frame of args
 * follows (and no key). */
static void
s_expect(void *a, uint8_t cmd, const char *address, const char *method,
    const void *args, size_t args_len, testutil_raw_msg_t *m)
{
    ck_assert_msg(s_actor_recv(a, ITEST_WAIT_MS, m), "actor got nothing");
    ck_assert_int_eq(m->nframes, 2);
    ck_assert_mem_eq(m->data[0], "ACT2", 4);
    ck_assert_int_eq(m->data[0][4], cmd);
    const uint8_t *id = NULL;
    size_t id_len = testutil_hdr_id(m->data[0], m->len[0], &id);
    ck_assert_ptr_nonnull(id);
    if (cmd == CMD_CALL) {
        /* The broker's tag: short (4 bytes) while it holds fewer than
         * 65536 calls, so that this header fits libzmq's inline size. */
        ck_assert_uint_eq(id_len, 4);
    } else {
        /* A TELL is never answered: its id is not the actor's business
         * (PROTOCOL.md says tag, the broker sends none; either is fine). */
        ck_assert_uint_le(id_len, 8);
    }
    const uint8_t *n = id + id_len;
    size_t left = m->len[0] - ACTORS_WIRE_HDR_MIN - id_len;
    size_t alen = strlen(address);
    size_t mlen = strlen(method);
    ck_assert_uint_eq(left, 2 + alen + mlen);
    ck_assert_uint_eq(n[0], alen);
    ck_assert_mem_eq(n + 1, address, alen);
    ck_assert_uint_eq(n[1 + alen], mlen);
    ck_assert_mem_eq(n + 2 + alen, method, mlen);
    ck_assert_uint_eq(m->len[1], args_len);
    ck_assert_mem_eq(m->data[1], args, args_len);
}

static uint32_t
s_timeout_of(const testutil_raw_msg_t *m)
{
    const uint8_t *h = m->data[0];
    return (uint32_t)h[6] << 24 | (uint32_t)h[7] << 16 | (uint32_t)h[8] << 8 |
           h[9];
}

static const uint8_t s_args_7[] = {0x91, 0x07}; /* [7] */
static const uint8_t s_val_7[] = {0x07};        /* 7 */

START_TEST(test_raw_actor_call_round_trip)
{
    testutil_broker_start(NULL);
    void *a = testutil_raw_socket(ZMQ_DEALER);
    s_register(a, "raw/1", 4);
    actors_client_t *c = itest_connect();

    actors_future_t *f = itest_send(c, "raw/1", "seven", 5000, "i", 7);
    testutil_raw_msg_t m;
    s_expect(a, CMD_CALL, "raw/1", "seven", s_args_7, sizeof s_args_7, &m);
    uint32_t left = s_timeout_of(&m);
    ck_assert_msg(left > 0 && left <= 5000, "deadline passed on as %u", left);
    s_actor_answer(a, &m, CMD_REPLY, s_val_7, sizeof s_val_7);
    testutil_raw_msg_free(&m);
    TEST_ASSERT_OK(actors_future_wait(f, ITEST_WAIT_MS));
    ck_assert_int_eq(itest_int(f), 7);
    actors_future_destroy(&f);

    /* No deadline: timeout 0 is passed on as 0. The answer echoes the
     * CALL's header, names and all. */
    f = itest_send(c, "raw/1", "seven", ACTORS_TIMEOUT_NONE, "i", 7);
    s_expect(a, CMD_CALL, "raw/1", "seven", s_args_7, sizeof s_args_7, &m);
    ck_assert_uint_eq(s_timeout_of(&m), 0);
    s_actor_echo_answer(a, &m, CMD_REPLY, s_val_7, sizeof s_val_7);
    testutil_raw_msg_free(&m);
    TEST_ASSERT_OK(actors_future_wait(f, ITEST_WAIT_MS));
    ck_assert_int_eq(itest_int(f), 7);
    actors_future_destroy(&f);

    /* The lookup shows the raw actor. */
    char state[32];
    int64_t pid = 0;
    TEST_ASSERT_OK(
        testutil_lookup_state("raw/1", state, sizeof state, &pid, NULL, NULL));
    ck_assert_str_eq(state, "running");
    ck_assert_int_eq(pid, getpid());
    testutil_raw_close(&a);
}
END_TEST

/* An ERROR from the actor reaches the caller with its type and message. */
START_TEST(test_raw_actor_error_passes_through)
{
    testutil_broker_start(NULL);
    void *a = testutil_raw_socket(ZMQ_DEALER);
    s_register(a, "raw/e", 1);
    actors_client_t *c = itest_connect();
    actors_future_t *f = itest_send(c, "raw/e", "seven", 0, "i", 7);
    testutil_raw_msg_t m;
    s_expect(a, CMD_CALL, "raw/e", "seven", s_args_7, sizeof s_args_7, &m);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 3);
    s_pack_str(&pk, "type");
    s_pack_str(&pk, "KeyError");
    s_pack_str(&pk, "message");
    s_pack_str(&pk, "no such key: 7");
    s_pack_str(&pk, "address");
    s_pack_str(&pk, "raw/e");
    s_actor_answer(a, &m, CMD_ERROR, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
    testutil_raw_msg_free(&m);
    TEST_ASSERT_OK(actors_future_wait(f, ITEST_WAIT_MS));
    itest_assert_error(f, ACTORS_EAPP, "KeyError", "no such key: 7");
    ck_assert_str_eq(actors_error_address(actors_future_error(f)), "raw/e");
    actors_future_destroy(&f);
    testutil_raw_close(&a);
}
END_TEST

/* Prefetch 1: the second call waits in the broker until the first is
 * answered; a reply after the caller's deadline is dropped but returns
 * the credit. */
START_TEST(test_raw_actor_prefetch_and_late_reply)
{
    testutil_broker_start(NULL);
    void *a = testutil_raw_socket(ZMQ_DEALER);
    s_register(a, "raw/p", 1);
    actors_client_t *c = itest_connect();

    actors_future_t *f1 = itest_send(c, "raw/p", "seven", 300, "i", 7);
    actors_future_t *f2 = itest_send(c, "raw/p", "eight", 0, "i", 7);
    testutil_raw_msg_t m1;
    s_expect(a, CMD_CALL, "raw/p", "seven", s_args_7, sizeof s_args_7, &m1);
    /* f1 times out in the actor. */
    TEST_ASSERT_OK(actors_future_wait(f1, ITEST_WAIT_MS));
    itest_assert_error(f1, ACTORS_ETIMEDOUT, "Timeout", NULL);
    /* Nothing else was dispatched meanwhile (prefetch 1). */
    testutil_raw_msg_t m2;
    ck_assert_msg(
        !s_actor_recv(a, 200, &m2), "broker dispatched beyond the prefetch");
    /* The late reply is dropped, and its credit lets f2 through. */
    const uint8_t late[] = {0xa4, 'l', 'a', 't', 'e'};
    s_actor_answer(a, &m1, CMD_REPLY, late, sizeof late);
    testutil_raw_msg_free(&m1);
    s_expect(a, CMD_CALL, "raw/p", "eight", s_args_7, sizeof s_args_7, &m2);
    s_actor_answer(a, &m2, CMD_REPLY, s_val_7, sizeof s_val_7);
    testutil_raw_msg_free(&m2);
    TEST_ASSERT_OK(actors_future_wait(f2, ITEST_WAIT_MS));
    ck_assert_int_eq(itest_int(f2), 7);
    actors_future_destroy(&f1);
    actors_future_destroy(&f2);
    testutil_raw_close(&a);
}
END_TEST

/* Tells take credit too; CREDIT gives it back. */
START_TEST(test_raw_actor_tell_credit)
{
    testutil_broker_start(NULL);
    void *a = testutil_raw_socket(ZMQ_DEALER);
    s_register(a, "raw/t", 1);
    actors_client_t *c = itest_connect();
    for (int i = 0; i < 2; i++) {
        actors_msg_t *args = NULL;
        TEST_ASSERT_OK(actors_msg_build(&args, "i", 7));
        TEST_ASSERT_OK(actors_client_tell(c, "raw/t", "seven", &args));
        actors_msg_destroy(&args);
    }
    actors_client_poll(c, 0);
    testutil_raw_msg_t m;
    s_expect(a, CMD_TELL, "raw/t", "seven", s_args_7, sizeof s_args_7, &m);
    testutil_raw_msg_free(&m);
    ck_assert_msg(
        !s_actor_recv(a, 300, &m), "second tell dispatched without credit");
    uint8_t hdr[ACTORS_WIRE_HDR_MAX];
    size_t hlen = testutil_hdr(hdr, "ACT2", CMD_CREDIT, 0, NULL, 0);
    const uint8_t one[4] = {0, 0, 0, 1};
    const void *data[2] = {hdr, one};
    size_t len[2] = {hlen, sizeof one};
    ck_assert_int_eq(testutil_raw_send(a, 2, data, len), 0);
    s_expect(a, CMD_TELL, "raw/t", "seven", s_args_7, sizeof s_args_7, &m);
    testutil_raw_msg_free(&m);
    testutil_raw_close(&a);
}
END_TEST

/* REGISTER again from the same peer is fine; UNREGISTER makes the address
 * dead. */
START_TEST(test_raw_actor_reregister_and_unregister)
{
    testutil_broker_start(NULL);
    void *a = testutil_raw_socket(ZMQ_DEALER);
    s_register(a, "raw/u", 1);
    s_register(a, "raw/u", 1);
    itest_connect();
    uint8_t hdr[ACTORS_WIRE_HDR_MAX];
    size_t hlen = testutil_hdr(hdr, "ACT2", CMD_UNREGISTER, 0, NULL, 0);
    const void *data[2] = {hdr, "raw/u"};
    size_t len[2] = {hlen, 5};
    ck_assert_int_eq(testutil_raw_send(a, 2, data, len), 0);
    ck_assert(testutil_wait_state("raw/u", "dead", 0, ITEST_WAIT_MS));
    actors_future_t *f = itest_call("raw/u", "seven", "i", 7);
    itest_assert_error(f, ACTORS_EDEAD, "ActorDead", NULL);
    actors_future_destroy(&f);
    testutil_raw_close(&a);
}
END_TEST

/* An idle raw actor that never sends HEARTBEAT stays registered well past
 * liveness x heartbeat, and the broker sends it nothing meanwhile. */
START_TEST(test_raw_actor_needs_no_heartbeats)
{
    testutil_broker_start("--heartbeat", "100", "--liveness", "3", NULL);
    void *a = testutil_raw_socket(ZMQ_DEALER);
    int64_t hb = s_register(a, "raw/h", 1);
    ck_assert_int_eq(hb, 100);
    testutil_raw_msg_t m;
    bool got = testutil_raw_recv(a, 1000, &m);
    if (got) {
        int cmd = m.len[0] > 4 ? m.data[0][4] : -1;
        testutil_raw_msg_free(&m);
        ck_abort_msg("the broker sent an idle actor command %d", cmd);
    }
    char state[32];
    TEST_ASSERT_OK(
        testutil_lookup_state("raw/h", state, sizeof state, NULL, NULL, NULL));
    ck_assert_str_eq(state, "running");
    testutil_raw_close(&a);
}
END_TEST

static Suite *
raw_actor_suite(void)
{
    Suite *s = suite_create("raw_actor");
    TCase *tc = itest_tcase("actor", 60);
    tcase_add_test(tc, test_raw_actor_call_round_trip);
    tcase_add_test(tc, test_raw_actor_error_passes_through);
    tcase_add_test(tc, test_raw_actor_prefetch_and_late_reply);
    tcase_add_test(tc, test_raw_actor_tell_credit);
    tcase_add_test(tc, test_raw_actor_reregister_and_unregister);
    tcase_add_test(tc, test_raw_actor_needs_no_heartbeats);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return itest_run(raw_actor_suite());
}
