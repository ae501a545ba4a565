/* tests/integration/test_errors.c - every error type, and a broker that
 * keeps routing after malformed traffic.
 * SPDX-License-Identifier: MIT
 *
 * Normal calls go through the libactors client. Malformed traffic is sent
 * with raw zmq sockets from the test (DEALER, and REQ to check that a REQ
 * client never hangs). After each kind of malformed traffic a correct
 * call must still be routed, on the same raw socket and through the
 * client.
 */
#include "itest.h"
#include <actors-internal/wire.h>

#include <errno.h>
#include <iconv.h>
#include <stdbool.h>

#include <zmq.h>

#define CMD_CALL 0x01
#define CMD_REPLY 0x03
#define CMD_ERROR 0x04
#define CMD_TELL 0x02
#define CMD_LOOKUP 0x09
#define CMD_PING 0x0B

/* msgpack ["hi"] and "hi". */
static const uint8_t s_args_hi[] = {0x91, 0xa2, 'h', 'i'};
static const uint8_t s_val_hi[] = {0xa2, 'h', 'i'};

/* s_send sends n frames given as (const void *data, size_t len) pairs. */
static void
s_send(void *sock, int n, ...)
{
    const void *data[8];
    size_t len[8];
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n && i < 8; i++) {
        data[i] = va_arg(ap, const void *);
        len[i] = va_arg(ap, size_t);
    }
    va_end(ap);
    ck_assert_int_eq(testutil_raw_send(sock, n, data, len), 0);
}

/* s_expect_id checks that header frame (hdr, len) carries exactly the
 * request id (id, id_len), read through its length byte. */
static void
s_expect_id(const uint8_t *hdr, size_t len, const void *id, size_t id_len)
{
    const uint8_t *got = NULL;
    size_t got_len = testutil_hdr_id(hdr, len, &got);
    ck_assert_msg(got != NULL, "header of %zu bytes has no readable id", len);
    ck_assert_uint_eq(got_len, id_len);
    if (id_len > 0) {
        ck_assert_mem_eq(got, id, id_len);
    }
}

/* s_expect_error receives one message and checks it is ERROR type with
 * request id (id, id_len); returns nothing, fails the test otherwise. */
static void
s_expect_error(void *sock, const char *type, const void *id, size_t id_len)
{
    testutil_raw_msg_t m;
    ck_assert_msg(testutil_raw_recv(sock, ITEST_WAIT_MS, &m),
        "no reply (want %s) within %d ms", type, ITEST_WAIT_MS);
    char got[64];
    ck_assert_msg(testutil_raw_error_type(&m, 0, got, sizeof got),
        "reply is not an ERROR (%d frames, command %d)", m.nframes,
        m.nframes > 0 && m.len[0] > 4 ? m.data[0][4] : -1);
    ck_assert_str_eq(got, type);
    ck_assert_int_eq(m.nframes, 2);
    s_expect_id(m.data[0], m.len[0], id, id_len);
    testutil_raw_msg_free(&m);
}

/* s_raw_echo_ok makes a correct CALL of address.echo("hi") on sock. */
static void
s_raw_echo_ok(void *sock, const char *address)
{
    uint8_t hdr[ACTORS_WIRE_HDR_MAX];
    size_t hlen =
        testutil_call_hdr(hdr, "ACT2", CMD_CALL, 0, "ok", 2, address, "echo");
    s_send(sock, 2, hdr, hlen, s_args_hi, sizeof s_args_hi);
    testutil_raw_msg_t m;
    ck_assert_msg(testutil_raw_recv(sock, ITEST_WAIT_MS, &m),
        "no reply to a correct call after malformed traffic");
    ck_assert_int_eq(m.nframes, 2);
    ck_assert_uint_ge(m.len[0], ACTORS_WIRE_HDR_MIN);
    ck_assert_mem_eq(m.data[0], "ACT2", 4);
    ck_assert_int_eq(m.data[0][4], CMD_REPLY);
    s_expect_id(m.data[0], m.len[0], "ok", 2);
    ck_assert_uint_eq(m.len[1], sizeof s_val_hi);
    ck_assert_mem_eq(m.data[1], s_val_hi, sizeof s_val_hi);
    testutil_raw_msg_free(&m);
}

static void
s_start(const char *extra_arg, const char *extra_val, int prefetch)
{
    testutil_broker_start(extra_arg, extra_val, NULL);
    testutil_service_start("chaos", "chaos/e", prefetch, NULL);
    itest_connect();
}

/* ---- errors from the broker and the runtime, through the client ---------- */

START_TEST(test_errors_no_such_actor)
{
    s_start(NULL, NULL, 0);
    actors_future_t *f = itest_call("nobody/here", "echo", "s", "x");
    itest_assert_error(f, ACTORS_ENOACTOR, "NoSuchActor", NULL);
    actors_future_destroy(&f);
    itest_echo_ok("chaos/e", "after NoSuchActor");
}
END_TEST

START_TEST(test_errors_no_such_method)
{
    s_start(NULL, NULL, 0);
    actors_future_t *f = itest_call("chaos/e", "frobnicate", "i", 1);
    itest_assert_error(f, ACTORS_ENOMETHOD, "NoSuchMethod", NULL);
    ck_assert_str_eq(actors_error_address(actors_future_error(f)), "chaos/e");
    actors_future_destroy(&f);
    itest_echo_ok("chaos/e", "after NoSuchMethod");
}
END_TEST

START_TEST(test_errors_wrong_arguments)
{
    s_start(NULL, NULL, 0);
    actors_future_t *f = itest_call("chaos/e", "sleep", "s", "long");
    itest_assert_error(f, ACTORS_EARGS, "WrongArguments", NULL);
    actors_future_destroy(&f);
    f = itest_call("chaos/e", "sleep", NULL);
    itest_assert_error(f, ACTORS_EARGS, "WrongArguments", NULL);
    actors_future_destroy(&f);

    /* Valid msgpack that is not an array of arguments. */
    void *s = testutil_raw_socket(ZMQ_DEALER);
    uint8_t hdr[ACTORS_WIRE_HDR_MAX];
    size_t hlen =
        testutil_call_hdr(hdr, "ACT2", CMD_CALL, 0, "w1", 2, "chaos/e", "echo");
    const uint8_t five = 0x05;
    s_send(s, 2, hdr, hlen, &five, (size_t)1);
    s_expect_error(s, "WrongArguments", "w1", 2);
    s_raw_echo_ok(s, "chaos/e");
    testutil_raw_close(&s);
    itest_echo_ok("chaos/e", "after WrongArguments");
}
END_TEST

START_TEST(test_errors_application_error)
{
    s_start(NULL, NULL, 0);
    actors_future_t *f = itest_call("chaos/e", "fail", "s", "boom");
    itest_assert_error(f, ACTORS_EAPP, "ChaosError", "boom");
    actors_future_destroy(&f);
    itest_echo_ok("chaos/e", "after ChaosError");
}
END_TEST

/* s_start_captured starts the broker and chaos/t with its stderr kept
 * (with --max-concurrency concurrency unless NULL), and connects the
 * test's client. */
static testutil_proc_t *
s_start_captured(const char *concurrency)
{
    testutil_broker_start(NULL);
    testutil_proc_t *p =
        testutil_service_spawn(TESTUTIL_CAPTURE_STDERR, "chaos", "chaos/t", 0,
            concurrency ? "--max-concurrency" : NULL, concurrency, NULL);
    ck_assert_ptr_nonnull(p);
    ck_assert(testutil_wait_state("chaos/t", "running", p->pid, 10000));
    itest_connect();
    return p;
}

/* A tell whose method fails, or that names no method, has no caller to
 * answer: the actor logs it at WARN, which the default level shows, so
 * whoever reads its log sees why a tell did nothing (at INFO it went
 * unseen). */
START_TEST(test_errors_failed_tell_is_logged)
{
    testutil_proc_t *p = s_start_captured(NULL);
    actors_msg_t *args = NULL;
    TEST_ASSERT_OK(actors_msg_build(&args, "s", "boom"));
    TEST_ASSERT_OK(actors_client_tell(g_client, "chaos/t", "fail", &args));
    TEST_ASSERT_OK(actors_msg_build(&args, "i", 1));
    TEST_ASSERT_OK(
        actors_client_tell(g_client, "chaos/t", "frobnicate", &args));
    /* Messages are taken up in order: once the echo is answered, both
     * tells were handled. */
    itest_echo_ok("chaos/t", "after the tells");
    const char *err = testutil_proc_stderr(p);
    ck_assert_msg(strstr(err, " W chaos[") != NULL &&
                      strstr(err, "ACT-TELL-ERROR address=chaos/t "
                                  "method=fail type=ChaosError boom") != NULL,
        "stderr: %s", err);
    ck_assert_msg(strstr(err, "ACT-TELL-ERROR address=chaos/t "
                              "type=NoSuchMethod") != NULL,
        "stderr: %s", err);
}
END_TEST

static bool
s_logged_late(void *arg)
{
    return strstr(testutil_proc_stderr(arg), "type=ChaosError late") != NULL;
}

/* s_failed_tells_rate_limited floods chaos/t (concurrency as
 * s_start_captured's) with failing tells: at most ten lines a second,
 * and the next line, a second later, says how many were left out. */
static void
s_failed_tells_rate_limited(const char *concurrency)
{
    testutil_proc_t *p = s_start_captured(concurrency);
    for (int i = 0; i < 200; i++) {
        actors_msg_t *args = NULL;
        TEST_ASSERT_OK(actors_msg_build(&args, "s", "boom"));
        TEST_ASSERT_OK(actors_client_tell(g_client, "chaos/t", "fail", &args));
    }
    itest_echo_ok("chaos/t", "after the tells");
    /* With worker threads the echo may overtake tells: wait until the
     * actor has taken and credited every one (slow under sanitizers). */
    int64_t deadline = testutil_now_ms() + 30000;
    for (;;) {
        int64_t mailbox = -1;
        int64_t inflight = -1;
        if (testutil_lookup_state(
                "chaos/t", NULL, 0, NULL, &mailbox, &inflight) == ACTORS_OK &&
            mailbox == 0 && inflight == 0) {
            break;
        }
        ck_assert_msg(testutil_now_ms() < deadline,
            "the tells are not all handled: mailbox %lld, in flight %lld",
            (long long)mailbox, (long long)inflight);
        testutil_poll_pause_ms(20);
    }
    int64_t t = testutil_now_ms();
    while (testutil_now_ms() < t + 1100) {
        testutil_poll_pause_ms(50); /* the log's window is a second */
    }
    actors_msg_t *args = NULL;
    TEST_ASSERT_OK(actors_msg_build(&args, "s", "late"));
    TEST_ASSERT_OK(actors_client_tell(g_client, "chaos/t", "fail", &args));
    /* (Only the first 16 KiB of stderr are read: far more than twenty
     * lines, but not the 200 the flood would make without the limit.) */
    ck_assert_msg(testutil_wait_until(s_logged_late, p, 10000),
        "the late tell's failure is not in the log's first 16 KiB (%d "
        "ACT-TELL-ERROR lines there)",
        testutil_count(testutil_proc_stderr(p), "ACT-TELL-ERROR"));
    const char *err = testutil_proc_stderr(p);
    int lines = testutil_count(err, "ACT-TELL-ERROR");
    /* Ten a second: a flood that lasts a few seconds (sanitizers) may
     * log a few tens; without the limit it is all 200 (and the late one
     * falls outside the first 16 KiB). */
    ck_assert_msg(lines >= 2 && lines < 100, "%d lines", lines);
    ck_assert_msg(strstr(err, "more not logged)") != NULL, "stderr: %s", err);
}

/* A flood of failing tells does not become a flood of log lines. */
START_TEST(test_errors_failed_tells_are_rate_limited)
{
    s_failed_tells_rate_limited(NULL);
}
END_TEST

/* Nor from an actor whose tells run on worker threads (max_concurrency):
 * they count in the same second as the loop's. */
START_TEST(test_errors_failed_tells_rate_limited_across_threads)
{
    s_failed_tells_rate_limited("4");
}
END_TEST

/* s_strict_utf8: glibc's iconv, a strict decoder, reads all of s[0..n)
 * as UTF-8 (no overlongs, surrogates or code points above U+10FFFF). */
static bool
s_strict_utf8(const char *s, size_t n)
{
    iconv_t cd = iconv_open("UTF-32LE", "UTF-8");
    ck_assert(cd != (iconv_t)-1);
    char *in = (char *)s;
    size_t left = n;
    bool ok = true;
    while (ok && left > 0) {
        char out[256];
        char *o = out;
        size_t o_left = sizeof out;
        ok = iconv(cd, &in, &left, &o, &o_left) != (size_t)-1 || errno == E2BIG;
    }
    iconv_close(cd);
    return ok;
}

/* An actor whose address is not UTF-8, asked for a method whose name is
 * not either: its ERROR body is still one a strict decoder reads, the bad
 * bytes shown as U+FFFD. */
START_TEST(test_errors_body_is_utf8_for_any_address)
{
    const char *address = "chaos/\xff\xc0";
    testutil_broker_start(NULL);
    testutil_service_start("chaos", address, 0, NULL);
    void *s = testutil_raw_socket(ZMQ_DEALER);
    uint8_t hdr[ACTORS_WIRE_HDR_MAX];
    size_t hlen = testutil_call_hdr(
        hdr, "ACT2", CMD_CALL, 0, "u8", 2, address, "ech\xf0\x9f\x98o");
    const uint8_t no_args[] = {0x90};
    s_send(s, 2, hdr, hlen, no_args, sizeof no_args);
    testutil_raw_msg_t m;
    ck_assert_msg(testutil_raw_recv(s, ITEST_WAIT_MS, &m), "no reply");
    char type[64];
    ck_assert(testutil_raw_error_type(&m, 0, type, sizeof type));
    ck_assert_str_eq(type, "NoSuchMethod");
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    ck_assert_int_eq(
        msgpack_unpack_next(&up, (const char *)m.data[1], m.len[1], NULL),
        MSGPACK_UNPACK_SUCCESS);
    ck_assert_int_eq(up.data.type, MSGPACK_OBJECT_MAP);
    for (uint32_t i = 0; i < up.data.via.map.size; i++) {
        const msgpack_object *k = &up.data.via.map.ptr[i].key;
        const msgpack_object *v = &up.data.via.map.ptr[i].val;
        ck_assert_int_eq(k->type, MSGPACK_OBJECT_STR);
        ck_assert_int_eq(v->type, MSGPACK_OBJECT_STR);
        ck_assert_msg(s_strict_utf8(v->via.str.ptr, v->via.str.size),
            "field %.*s is not UTF-8: '%.*s'", (int)k->via.str.size,
            k->via.str.ptr, (int)v->via.str.size, v->via.str.ptr);
    }
    const msgpack_object *a = actors_map_get(&up.data, "address");
    ck_assert_ptr_nonnull(a);
    ck_assert_uint_eq(a->via.str.size, 12);
    ck_assert_mem_eq(a->via.str.ptr, "chaos/\xef\xbf\xbd\xef\xbf\xbd", 12);
    const msgpack_object *msg = actors_map_get(&up.data, "message");
    ck_assert_ptr_nonnull(msg);
    const char want[] = "chaos has no method 'ech\xef\xbf\xbdo'";
    ck_assert_uint_eq(msg->via.str.size, sizeof want - 1);
    ck_assert_mem_eq(msg->via.str.ptr, want, sizeof want - 1);
    msgpack_unpacked_destroy(&up);
    testutil_raw_msg_free(&m);
    testutil_raw_close(&s);

    /* The same through the client, and the actor still answers. */
    itest_connect();
    actors_future_t *f = itest_call(address, "nosuch\xed\xa0\x80", NULL);
    itest_assert_error(f, ACTORS_ENOMETHOD, "NoSuchMethod", NULL);
    const actors_error_t *e = actors_future_error(f);
    ck_assert(s_strict_utf8(
        actors_error_message(e), strlen(actors_error_message(e))));
    ck_assert_str_eq(actors_error_address(e), "chaos/\xef\xbf\xbd\xef\xbf\xbd");
    actors_future_destroy(&f);
    itest_echo_ok(address, "still here");
}
END_TEST

/* ---- malformed traffic over raw sockets ---------------------------------- */

START_TEST(test_errors_bad_msgpack)
{
    s_start(NULL, NULL, 0);
    void *s = testutil_raw_socket(ZMQ_DEALER);
    uint8_t hdr[ACTORS_WIRE_HDR_MAX];
    /* 0xc1 is never used in msgpack. */
    const uint8_t never = 0xc1;
    size_t hlen =
        testutil_call_hdr(hdr, "ACT2", CMD_CALL, 0, "m1", 2, "chaos/e", "echo");
    s_send(s, 2, hdr, hlen, &never, (size_t)1);
    s_expect_error(s, "BadMsgpack", "m1", 2);
    /* A truncated array: two items announced, one present. */
    const uint8_t cut[] = {0x92, 0x01};
    hlen =
        testutil_call_hdr(hdr, "ACT2", CMD_CALL, 0, "m2", 2, "chaos/e", "echo");
    s_send(s, 2, hdr, hlen, cut, sizeof cut);
    s_expect_error(s, "BadMsgpack", "m2", 2);
    s_raw_echo_ok(s, "chaos/e");
    testutil_raw_close(&s);
    itest_echo_ok("chaos/e", "after BadMsgpack");
}
END_TEST

/* s_call_deep calls chaos/e.echo with one argument nested depth - 1
 * arrays deep (so the args frame is depth containers deep) and waits. */
static actors_future_t *
s_call_deep(int depth)
{
    uint8_t v[128];
    ck_assert_int_lt(depth, (int)sizeof v);
    memset(v, 0x91, (size_t)depth - 1);
    v[depth - 1] = 0x01;
    actors_msg_t *args = NULL;
    TEST_ASSERT_OK(actors_msg_create(&args));
    TEST_ASSERT_OK(actors_msg_add_raw(args, v, (size_t)depth));
    actors_future_t *f = NULL;
    actors_err rc =
        actors_client_call(g_client, "chaos/e", "echo", &args, NULL, &f);
    actors_msg_destroy(&args);
    TEST_ASSERT_OK(rc);
    TEST_ASSERT_OK(actors_future_wait(f, ITEST_WAIT_MS));
    return f;
}

/* Arguments nested deeper than msgpack-c decodes are BadMsgpack from the
 * actor (not OutOfMemory), and it lives on; the deepest accepted
 * arguments (32 containers, the args array included) round-trip. */
START_TEST(test_errors_deep_args)
{
    s_start(NULL, NULL, 0);
    int depths[] = {33, 40, 70};
    for (size_t i = 0; i < sizeof depths / sizeof depths[0]; i++) {
        actors_future_t *f = s_call_deep(depths[i]);
        itest_assert_error(f, ACTORS_EMSGPACK, "BadMsgpack", NULL);
        ck_assert_str_eq(
            actors_error_address(actors_future_error(f)), "chaos/e");
        actors_future_destroy(&f);
        itest_echo_ok("chaos/e", "after deep args");
    }
    actors_future_t *f = s_call_deep(32);
    const msgpack_object *r = itest_result(f);
    for (int d = 0; d < 31; d++) {
        ck_assert_int_eq(r->type, MSGPACK_OBJECT_ARRAY);
        ck_assert_uint_eq(r->via.array.size, 1);
        r = &r->via.array.ptr[0];
    }
    ck_assert_int_eq(r->type, MSGPACK_OBJECT_POSITIVE_INTEGER);
    ck_assert_uint_eq(r->via.u64, 1);
    actors_future_destroy(&f);
}
END_TEST

START_TEST(test_errors_bad_request_garbage_header)
{
    s_start(NULL, NULL, 0);
    void *s = testutil_raw_socket(ZMQ_DEALER);
    /* Not a header at all: answered with an empty request id. */
    s_send(s, 1, "hello world", (size_t)11);
    s_expect_error(s, "BadRequest", NULL, 0);
    s_send(s, 2, "AC", (size_t)2, s_args_hi, sizeof s_args_hi);
    s_expect_error(s, "BadRequest", NULL, 0);
    /* An ACT2 header cut before its id length byte (an ACT1-sized one),
     * and one whose id length runs past the end of the frame: the id
     * cannot be read, so the answer has an empty one. */
    uint8_t hdr[ACTORS_WIRE_HDR_MAX];
    size_t hlen = testutil_hdr(hdr, "ACT2", CMD_PING, 0, NULL, 0);
    s_send(s, 1, hdr, hlen - 1);
    s_expect_error(s, "BadRequest", NULL, 0);
    hlen = testutil_hdr(hdr, "ACT2", CMD_PING, 0, "id", 2);
    hdr[10] = 5;
    s_send(s, 1, hdr, hlen);
    s_expect_error(s, "BadRequest", NULL, 0);
    s_raw_echo_ok(s, "chaos/e");
    testutil_raw_close(&s);
    itest_echo_ok("chaos/e", "after garbage");
}
END_TEST

START_TEST(test_errors_bad_request_frame_count)
{
    s_start(NULL, NULL, 0);
    void *s = testutil_raw_socket(ZMQ_DEALER);
    uint8_t hdr[ACTORS_WIRE_HDR_MAX];
    /* CALL without its args frame. */
    size_t hlen =
        testutil_call_hdr(hdr, "ACT2", CMD_CALL, 0, "f1", 2, "chaos/e", "echo");
    s_send(s, 1, hdr, hlen);
    s_expect_error(s, "BadRequest", "f1", 2);
    /* CALL with one frame too many (the third, the key, is optional). */
    hlen =
        testutil_call_hdr(hdr, "ACT2", CMD_CALL, 0, "f2", 2, "chaos/e", "echo");
    s_send(s, 4, hdr, hlen, s_args_hi, sizeof s_args_hi, "x", (size_t)1, "y",
        (size_t)1);
    s_expect_error(s, "BadRequest", "f2", 2);
    /* CALL with the names in the header and, as in ACT1, in frames too:
     * address method args is one frame too many. */
    hlen =
        testutil_call_hdr(hdr, "ACT2", CMD_CALL, 0, "f5", 2, "chaos/e", "echo");
    s_send(s, 4, hdr, hlen, "chaos/e", (size_t)7, "echo", (size_t)4, s_args_hi,
        sizeof s_args_hi);
    s_expect_error(s, "BadRequest", "f5", 2);
    /* A key frame of 0 or 256 bytes. */
    static const char long_key[256] = {'k'};
    hlen =
        testutil_call_hdr(hdr, "ACT2", CMD_CALL, 0, "k0", 2, "chaos/e", "echo");
    s_send(s, 3, hdr, hlen, s_args_hi, sizeof s_args_hi, "", (size_t)0);
    s_expect_error(s, "BadRequest", "k0", 2);
    hlen =
        testutil_call_hdr(hdr, "ACT2", CMD_CALL, 0, "k1", 2, "chaos/e", "echo");
    s_send(s, 3, hdr, hlen, s_args_hi, sizeof s_args_hi, long_key,
        sizeof long_key);
    s_expect_error(s, "BadRequest", "k1", 2);
    /* A key that starts with a zero byte is the broker's kind. */
    hlen =
        testutil_call_hdr(hdr, "ACT2", CMD_CALL, 0, "k2", 2, "chaos/e", "echo");
    s_send(
        s, 3, hdr, hlen, s_args_hi, sizeof s_args_hi, "\0b-forged", (size_t)9);
    s_expect_error(s, "BadRequest", "k2", 2);
    /* LOOKUP without its address. */
    hlen = testutil_hdr(hdr, "ACT2", CMD_LOOKUP, 0, "f3", 2);
    s_send(s, 1, hdr, hlen);
    s_expect_error(s, "BadRequest", "f3", 2);
    /* An unknown command. */
    hlen = testutil_hdr(hdr, "ACT2", 0x7f, 0, "f4", 2);
    s_send(s, 1, hdr, hlen);
    s_expect_error(s, "BadRequest", "f4", 2);
    s_raw_echo_ok(s, "chaos/e");
    testutil_raw_close(&s);
    itest_echo_ok("chaos/e", "after wrong frame counts");
    /* A valid key reaches the actor unchanged; no key is no key. */
    actors_call_opts_t opts = ACTORS_CALL_OPTS_INIT;
    opts.key = "call-7f3a";
    opts.key_len = 9;
    actors_future_t *f = NULL;
    TEST_ASSERT_OK(
        actors_client_call(g_client, "chaos/e", "key", NULL, &opts, &f));
    ck_assert_int_eq(actors_future_wait(f, ITEST_WAIT_MS), ACTORS_OK);
    ck_assert_str_eq(itest_str(f), "call-7f3a");
    actors_future_destroy(&f);
    f = itest_call("chaos/e", "key", NULL);
    ck_assert_int_eq(actors_future_result(f)->type, MSGPACK_OBJECT_NIL);
    actors_future_destroy(&f);
    /* A key of 256 bytes never leaves the client. */
    opts.key = s_args_hi;
    opts.key_len = 256;
    ck_assert_int_eq(
        actors_client_call(g_client, "chaos/e", "key", NULL, &opts, &f),
        ACTORS_EINVAL);
    /* Nor does one that starts with a zero byte. */
    opts.key = "\0abc";
    opts.key_len = 4;
    ck_assert_int_eq(
        actors_client_call(g_client, "chaos/e", "key", NULL, &opts, &f),
        ACTORS_EINVAL);
}
END_TEST

/* s_expect_ping_reply pings with id "p" and checks that the very next
 * message is its REPLY (so nothing was sent before it). */
static void
s_expect_ping_reply(void *sock)
{
    uint8_t hdr[ACTORS_WIRE_HDR_MAX];
    size_t hlen = testutil_hdr(hdr, "ACT2", CMD_PING, 0, "p", 1);
    s_send(sock, 1, hdr, hlen);
    testutil_raw_msg_t m;
    ck_assert(testutil_raw_recv(sock, ITEST_WAIT_MS, &m));
    ck_assert_int_eq(m.nframes, 2);
    ck_assert_uint_ge(m.len[0], ACTORS_WIRE_HDR_MIN);
    ck_assert_int_eq(m.data[0][4], CMD_REPLY);
    s_expect_id(m.data[0], m.len[0], "p", 1);
    testutil_raw_msg_free(&m);
}

/* S_NAMES gives a string literal of raw name bytes and its length. */
#define S_NAMES(lit) lit, sizeof(lit) - 1

/* s_names_hdr writes a CALL or TELL header with request id (id, id_len)
 * followed by the n raw bytes of names, well-formed or not. */
static size_t
s_names_hdr(uint8_t *buf, uint8_t cmd, const char *id, size_t id_len,
    const void *names, size_t n)
{
    size_t hlen = testutil_hdr(buf, "ACT2", cmd, 0, id, id_len);
    memcpy(buf + hlen, names, n);
    return hlen + n;
}

/* Names in a CALL header that cannot be read: BadRequest with the
 * caller's request id, and the broker goes on serving. */
START_TEST(test_errors_bad_request_call_names)
{
    s_start(NULL, NULL, 0);
    void *s = testutil_raw_socket(ZMQ_DEALER);
    uint8_t hdr[ACTORS_WIRE_HDR_MAX];
    static const struct {
        const char *id; /* request id, also the case's name */
        const char *names;
        size_t n;
    } bad[] = {
        /* Octal escapes: the length bytes (a letter ends each one). */
        {"no-names", S_NAMES("")},
        {"alen-0", S_NAMES("\0\4echo")},
        {"alen-0-only", S_NAMES("\0")},
        {"no-method", S_NAMES("\7chaos/e")},
        {"mlen-0", S_NAMES("\7chaos/e\0")},
        {"alen-past-end", S_NAMES("\40chaos/e\4echo")},
        {"mlen-past-end", S_NAMES("\7chaos/e\11echo")},
        {"trailing", S_NAMES("\7chaos/e\4echoxx")},
        {"trailing-0", S_NAMES("\7chaos/e\4echo\0")},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t hlen = s_names_hdr(hdr, CMD_CALL, bad[i].id, strlen(bad[i].id),
            bad[i].names, bad[i].n);
        s_send(s, 2, hdr, hlen, s_args_hi, sizeof s_args_hi);
        s_expect_error(s, "BadRequest", bad[i].id, strlen(bad[i].id));
        /* The same with a key frame: still the names that are wrong. */
        s_send(s, 3, hdr, hlen, s_args_hi, sizeof s_args_hi, "key", (size_t)3);
        s_expect_error(s, "BadRequest", bad[i].id, strlen(bad[i].id));
    }
    /* A TELL with such names and a request id is answered too; without
     * an id it is dropped in silence (the ping's reply comes first). */
    size_t hlen = /* bad[1]: "alen-0" */
        s_names_hdr(hdr, CMD_TELL, "tell", 4, bad[1].names, bad[1].n);
    s_send(s, 2, hdr, hlen, s_args_hi, sizeof s_args_hi);
    s_expect_error(s, "BadRequest", "tell", 4);
    hlen = /* bad[7]: "trailing" */
        s_names_hdr(hdr, CMD_TELL, NULL, 0, bad[7].names, bad[7].n);
    s_send(s, 2, hdr, hlen, s_args_hi, sizeof s_args_hi);
    s_expect_ping_reply(s);
    s_raw_echo_ok(s, "chaos/e");
    testutil_raw_close(&s);
    itest_echo_ok("chaos/e", "after malformed names");
    /* Nothing malformed reached the actor: count() (messages handled
     * before it) sees the two echoes only. */
    actors_future_t *f = itest_call("chaos/e", "count", NULL);
    ck_assert_int_eq(itest_int(f), 2);
    actors_future_destroy(&f);
}
END_TEST

START_TEST(test_errors_bad_version)
{
    s_start(NULL, NULL, 0);
    void *s = testutil_raw_socket(ZMQ_DEALER);
    uint8_t hdr[ACTORS_WIRE_HDR_MAX];
    size_t hlen =
        testutil_call_hdr(hdr, "ACT9", CMD_CALL, 0, "v9", 2, "chaos/e", "echo");
    s_send(s, 2, hdr, hlen, s_args_hi, sizeof s_args_hi);
    testutil_raw_msg_t m;
    ck_assert(testutil_raw_recv(s, ITEST_WAIT_MS, &m));
    char got[64];
    ck_assert_msg(testutil_raw_error_type(&m, 0, got, sizeof got),
        "reply to ACT9 is not an ACT2 ERROR");
    ck_assert_str_eq(got, "BadVersion");
    testutil_raw_msg_free(&m);
    s_raw_echo_ok(s, "chaos/e");
    testutil_raw_close(&s);
    itest_echo_ok("chaos/e", "after ACT9");
}
END_TEST

/* A REQ client gets an answer to garbage (so it never hangs) and can make
 * a call. */
START_TEST(test_errors_req_socket)
{
    s_start(NULL, NULL, 0);
    void *s = testutil_raw_socket(ZMQ_REQ);
    s_send(s, 1, "garbage", (size_t)7);
    s_expect_error(s, "BadRequest", NULL, 0);
    s_raw_echo_ok(s, "chaos/e");
    testutil_raw_close(&s);
}
END_TEST

/* s_expect_ack receives the broker's acknowledgement of an accepted TELL
 * with request id (id, id_len): REPLY nil. */
static void
s_expect_ack(void *sock, const void *id, size_t id_len)
{
    testutil_raw_msg_t m;
    ck_assert_msg(testutil_raw_recv(sock, ITEST_WAIT_MS, &m),
        "no acknowledgement of a TELL within %d ms", ITEST_WAIT_MS);
    ck_assert_int_eq(m.nframes, 2);
    ck_assert_uint_ge(m.len[0], ACTORS_WIRE_HDR_MIN);
    ck_assert_int_eq(m.data[0][4], CMD_REPLY);
    s_expect_id(m.data[0], m.len[0], id, id_len);
    ck_assert_uint_eq(m.len[1], 1);
    ck_assert_uint_eq(m.data[1][0], 0xc0);
    testutil_raw_msg_free(&m);
}

/* A TELL with a request id is answered: ERROR when it cannot be delivered,
 * REPLY nil once the broker has it. Without one it gets nothing. */
START_TEST(test_errors_tell_delivery)
{
    s_start(NULL, NULL, 0);
    void *s = testutil_raw_socket(ZMQ_DEALER);
    uint8_t hdr[ACTORS_WIRE_HDR_MAX];
    size_t hlen =
        testutil_call_hdr(hdr, "ACT2", CMD_TELL, 0, "t1", 2, "nobody", "echo");
    s_send(s, 2, hdr, hlen, s_args_hi, sizeof s_args_hi);
    s_expect_error(s, "NoSuchActor", "t1", 2);
    hlen =
        testutil_call_hdr(hdr, "ACT2", CMD_TELL, 0, NULL, 0, "nobody", "echo");
    s_send(s, 2, hdr, hlen, s_args_hi, sizeof s_args_hi);
    s_expect_ping_reply(s);
    hlen =
        testutil_call_hdr(hdr, "ACT2", CMD_TELL, 0, "t2", 2, "chaos/e", "echo");
    s_send(s, 2, hdr, hlen, s_args_hi, sizeof s_args_hi);
    s_expect_ack(s, "t2", 2);
    hlen =
        testutil_call_hdr(hdr, "ACT2", CMD_TELL, 0, NULL, 0, "chaos/e", "echo");
    s_send(s, 2, hdr, hlen, s_args_hi, sizeof s_args_hi);
    s_expect_ping_reply(s);
    s_raw_echo_ok(s, "chaos/e");
    testutil_raw_close(&s);
    /* The tells were handled: count() sees them (and maybe itself). */
    actors_future_t *f = itest_call("chaos/e", "count", NULL);
    ck_assert_int_ge(itest_int(f), 3);
    actors_future_destroy(&f);
}
END_TEST

/* s_refused_reach pumps the client and tells whether it has counted
 * *arg refused tells. */
static bool
s_refused_reach(void *arg)
{
    TEST_ASSERT_OK(actors_client_poll(g_client, 0));
    return actors_client_tells_refused(g_client) >= *(uint64_t *)arg;
}

/* The client's three tells: tell_ack's future resolves with nil when the
 * broker has the tell and with the broker's error when it refuses it;
 * a plain tell's refusal is counted (and logged); a nowait tell gets
 * nothing back, not even its refusal. None of them stays pending. */
START_TEST(test_errors_client_tells)
{
    s_start(NULL, NULL, 0);
    actors_future_t *ok = NULL;
    actors_future_t *no = NULL;
    TEST_ASSERT_OK(
        actors_client_tell_ack(g_client, "chaos/e", "echo", NULL, &ok));
    TEST_ASSERT_OK(
        actors_client_tell_ack(g_client, "nobody/t", "echo", NULL, &no));
    TEST_ASSERT_OK(actors_future_wait(ok, ITEST_WAIT_MS));
    ck_assert_int_eq(itest_result(ok)->type, MSGPACK_OBJECT_NIL);
    TEST_ASSERT_OK(actors_future_wait(no, ITEST_WAIT_MS));
    itest_assert_error(no, ACTORS_ENOACTOR, "NoSuchActor", "nobody/t");
    actors_future_destroy(&ok);
    actors_future_destroy(&no);

    TEST_ASSERT_OK(actors_client_tell(g_client, "nobody/t", "echo", NULL));
    TEST_ASSERT_OK(actors_client_tell(g_client, "chaos/e", "echo", NULL));
    uint64_t one = 1;
    ck_assert(testutil_wait_until(s_refused_reach, &one, ITEST_WAIT_MS));

    TEST_ASSERT_OK(
        actors_client_tell_nowait(g_client, "nobody/t", "echo", NULL));
    TEST_ASSERT_OK(
        actors_client_tell_nowait(g_client, "chaos/e", "echo", NULL));
    /* A call after them: answered after anything the broker would have
     * said about the tells (one connection, in order). */
    itest_echo_ok("chaos/e", "after the tells");
    TEST_ASSERT_OK(actors_client_poll(g_client, 0));
    ck_assert_uint_eq(actors_client_tells_refused(g_client), 1);
    ck_assert_uint_eq(actors_client_pending(g_client), 0);
    actors_future_t *f = itest_call("chaos/e", "count", NULL);
    ck_assert_int_ge(itest_int(f), 3); /* the three delivered tells */
    actors_future_destroy(&f);
}
END_TEST

/* A REQ socket may send TELL: it gets REPLY nil once the broker has it
 * (or the ERROR), so it never hangs. */
START_TEST(test_errors_req_tell_is_answered)
{
    s_start(NULL, NULL, 0);
    void *s = testutil_raw_socket(ZMQ_REQ);
    uint8_t hdr[ACTORS_WIRE_HDR_MAX];
    size_t hlen =
        testutil_call_hdr(hdr, "ACT2", CMD_TELL, 0, NULL, 0, "chaos/e", "echo");
    s_send(s, 2, hdr, hlen, s_args_hi, sizeof s_args_hi);
    s_expect_ack(s, NULL, 0);
    hlen =
        testutil_call_hdr(hdr, "ACT2", CMD_TELL, 0, "r", 1, "nobody", "echo");
    s_send(s, 2, hdr, hlen, s_args_hi, sizeof s_args_hi);
    s_expect_error(s, "NoSuchActor", "r", 1);
    s_raw_echo_ok(s, "chaos/e");
    testutil_raw_close(&s);
}
END_TEST

/* Containers that announce billions of items in a few bytes: refused as
 * bad msgpack, without trying to allocate room for them first. */
START_TEST(test_errors_huge_declared_sizes)
{
    testutil_proc_t *b = testutil_broker_start(NULL);
    testutil_proc_t *a = testutil_service_start("chaos", "chaos/e", 0, NULL);
    itest_connect();
    void *s = testutil_raw_socket(ZMQ_DEALER);
    uint8_t hdr[ACTORS_WIRE_HDR_MAX];
    const uint8_t arr32[] = {0xdd, 0xff, 0xff, 0xff, 0xff};
    const uint8_t map32[] = {0x91, 0xdf, 0xff, 0xff, 0xff, 0xff};
    /* To the actor, as call arguments. */
    size_t hlen =
        testutil_call_hdr(hdr, "ACT2", CMD_CALL, 0, "h1", 2, "chaos/e", "echo");
    s_send(s, 2, hdr, hlen, arr32, sizeof arr32);
    s_expect_error(s, "BadMsgpack", "h1", 2);
    hlen =
        testutil_call_hdr(hdr, "ACT2", CMD_CALL, 0, "h2", 2, "chaos/e", "echo");
    s_send(s, 2, hdr, hlen, map32, sizeof map32);
    s_expect_error(s, "BadMsgpack", "h2", 2);
    ck_assert_msg(testutil_proc_running(a), "the actor died");
    /* To the broker, as REGISTER info. */
    void *r = testutil_raw_socket(ZMQ_DEALER);
    hlen = testutil_hdr(hdr, "ACT2", 0x05, 0, "h3", 2);
    s_send(r, 3, hdr, hlen, "huge/1", (size_t)6, arr32, sizeof arr32);
    testutil_raw_msg_t m;
    ck_assert_msg(testutil_raw_recv(r, ITEST_WAIT_MS, &m),
        "no answer to a REGISTER with a huge info array");
    char type[64];
    ck_assert(testutil_raw_error_type(&m, 0, type, sizeof type));
    ck_assert_msg(
        strcmp(type, "BadRequest") == 0 || strcmp(type, "BadMsgpack") == 0,
        "REGISTER with bad info: %s", type);
    testutil_raw_msg_free(&m);
    testutil_raw_close(&r);
    ck_assert_msg(testutil_proc_running(b), "the broker died");
    s_raw_echo_ok(s, "chaos/e");
    testutil_raw_close(&s);
}
END_TEST

/* A caller that goes away before its reply: the broker drops the reply
 * and goes on. */
START_TEST(test_errors_caller_gone)
{
    s_start(NULL, NULL, 0);
    void *s = testutil_raw_socket(ZMQ_DEALER);
    uint8_t hdr[ACTORS_WIRE_HDR_MAX];
    const uint8_t args[] = {0x91, 0xcd, 0x03, 0xe8}; /* [1000] */
    size_t hlen = testutil_call_hdr(
        hdr, "ACT2", CMD_CALL, 0, "g1", 2, "chaos/e", "sleep");
    s_send(s, 2, hdr, hlen, args, sizeof args);
    s_expect_ping_reply(s); /* the broker has the call */
    testutil_raw_close(&s);
    /* Served after the orphan reply came back and was dropped. */
    itest_echo_ok("chaos/e", "after the caller left");
}
END_TEST

/* s_rand is a small deterministic generator (xorshift32). */
static uint32_t
s_rand(uint32_t *st)
{
    uint32_t x = *st;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *st = x;
    return x;
}

/* Hundreds of random messages, some with a valid signature and command,
 * some with the names of a real address and method in the header: the
 * broker and the actor survive, and route a correct call. */
START_TEST(test_errors_random_frames)
{
    testutil_proc_t *b = testutil_broker_start(NULL);
    testutil_proc_t *a = testutil_service_start("chaos", "chaos/e", 0, NULL);
    itest_connect();
    void *s = testutil_raw_socket(ZMQ_DEALER);
    uint32_t seed = 0x2545f491u;
    for (int i = 0; i < 500; i++) {
        uint8_t buf[5][64];
        uint8_t id[8];
        const void *data[5];
        size_t len[5];
        int n = 1 + (int)(s_rand(&seed) % 5);
        for (int k = 0; k < n; k++) {
            len[k] = s_rand(&seed) % sizeof buf[k];
            for (size_t j = 0; j < len[k]; j++) {
                buf[k][j] = (uint8_t)s_rand(&seed);
            }
            data[k] = buf[k];
        }
        uint32_t kind = s_rand(&seed) % 4;
        if (kind > 0) {
            /* A readable header with any command (REGISTER, UNREGISTER
             * and CREDIT included) and a random id. */
            uint8_t cmd = (uint8_t)(s_rand(&seed) % 13);
            uint32_t timeout = s_rand(&seed) % 50;
            size_t idl = s_rand(&seed) % 9;
            for (size_t j = 0; j < idl; j++) {
                id[j] = (uint8_t)s_rand(&seed);
            }
            if (kind == 3) {
                /* Well-formed names of a real actor. */
                const char *methods[] = {"echo", "count", "sleep", "nosuch"};
                len[0] = testutil_call_hdr(buf[0], "ACT2", cmd, timeout, id,
                    idl, "chaos/e", methods[s_rand(&seed) % 4]);
            } else {
                len[0] = testutil_hdr(buf[0], "ACT2", cmd, timeout, id, idl);
            }
            if (kind == 2) {
                /* Random bytes where the names go. */
                size_t extra = s_rand(&seed) % 16;
                for (size_t j = 0; j < extra; j++) {
                    buf[0][len[0]++] = (uint8_t)s_rand(&seed);
                }
            }
        }
        ck_assert_int_eq(testutil_raw_send(s, n, data, len), 0);
    }
    /* Drain until the ping that follows them all is answered. */
    uint8_t hdr[ACTORS_WIRE_HDR_MAX];
    size_t hlen = testutil_hdr(hdr, "ACT2", CMD_PING, 0, "end-of-fuzz", 11);
    s_send(s, 1, hdr, hlen);
    int64_t deadline = testutil_now_ms() + 20000;
    bool done = false;
    while (!done && testutil_now_ms() < deadline) {
        testutil_raw_msg_t m;
        if (!testutil_raw_recv(s, 1000, &m)) {
            continue;
        }
        const uint8_t *id = NULL;
        size_t idl =
            m.nframes == 2 ? testutil_hdr_id(m.data[0], m.len[0], &id) : 0;
        done = id != NULL && m.data[0][4] == CMD_REPLY && idl == 11 &&
               memcmp(id, "end-of-fuzz", 11) == 0;
        testutil_raw_msg_free(&m);
    }
    ck_assert_msg(done, "no answer to the ping after the random frames");
    testutil_raw_close(&s);
    ck_assert_msg(testutil_proc_running(b), "the broker died");
    ck_assert_msg(testutil_proc_running(a), "the actor died");
    itest_echo_ok("chaos/e", "after random frames");
}
END_TEST

START_TEST(test_errors_too_large)
{
    s_start("--max-message", "1024", 0);
    char big[4097];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    actors_future_t *f = itest_call("chaos/e", "echo", "s", big);
    itest_assert_error(f, ACTORS_ETOOBIG, "TooLarge", NULL);
    actors_future_destroy(&f);
    itest_echo_ok("chaos/e", "after TooLarge");
}
END_TEST

/* --mailbox 2 and a prefetch of 1: one call in the actor (blocked in
 * sleep), two in the mailbox, the fourth is refused at once. */
START_TEST(test_errors_mailbox_full)
{
    s_start("--mailbox", "2", 1);
    actors_client_t *c = g_client;
    actors_future_t *f1 = itest_send(c, "chaos/e", "sleep", 0, "i", 1500);
    actors_future_t *f2 = itest_send(c, "chaos/e", "echo", 0, "i", 2);
    actors_future_t *f3 = itest_send(c, "chaos/e", "echo", 0, "i", 3);
    int64_t t0 = testutil_now_ms();
    actors_future_t *f4 = itest_send(c, "chaos/e", "echo", 0, "i", 4);
    TEST_ASSERT_OK(actors_future_wait(f4, 1000));
    ck_assert_msg(testutil_now_ms() - t0 < 1000, "MailboxFull was not at once");
    itest_assert_error(f4, ACTORS_EFULL, "MailboxFull", NULL);
    ck_assert(!actors_future_is_ready(f1));
    actors_future_t *fs[3] = {f1, f2, f3};
    TEST_ASSERT_OK(actors_future_wait_all(fs, 3, ITEST_WAIT_MS));
    ck_assert_int_eq(itest_int(f1), 1500);
    ck_assert_int_eq(itest_int(f2), 2);
    ck_assert_int_eq(itest_int(f3), 3);
    for (int i = 0; i < 3; i++) {
        actors_future_destroy(&fs[i]);
    }
    actors_future_destroy(&f4);
    itest_echo_ok("chaos/e", "after MailboxFull");
}
END_TEST

/* The actor's own --mailbox bound (asked at REGISTER) beats the broker's
 * default. */
START_TEST(test_errors_actor_mailbox_bound)
{
    testutil_broker_start(NULL);
    testutil_service_start("chaos", "chaos/m", 1, "--mailbox", "1", NULL);
    actors_client_t *c = itest_connect();
    actors_future_t *f1 = itest_send(c, "chaos/m", "sleep", 0, "i", 1000);
    actors_future_t *f2 = itest_send(c, "chaos/m", "echo", 0, "i", 2);
    actors_future_t *f3 = itest_send(c, "chaos/m", "echo", 0, "i", 3);
    TEST_ASSERT_OK(actors_future_wait(f3, 900));
    itest_assert_error(f3, ACTORS_EFULL, "MailboxFull", NULL);
    actors_future_t *fs[2] = {f1, f2};
    TEST_ASSERT_OK(actors_future_wait_all(fs, 2, ITEST_WAIT_MS));
    ck_assert_int_eq(itest_int(f1), 1000);
    ck_assert_int_eq(itest_int(f2), 2);
    actors_future_destroy(&f1);
    actors_future_destroy(&f2);
    actors_future_destroy(&f3);
}
END_TEST

/* A call in the actor past its deadline: the broker answers Timeout; the
 * late reply is dropped and its credit comes back (prefetch 1: the next
 * call is served). */
START_TEST(test_errors_timeout_in_flight)
{
    s_start(NULL, NULL, 1);
    int64_t t0 = testutil_now_ms();
    actors_future_t *f =
        itest_send(g_client, "chaos/e", "sleep", 200, "i", 2000);
    TEST_ASSERT_OK(actors_future_wait(f, ITEST_WAIT_MS));
    int64_t took = testutil_now_ms() - t0;
    itest_assert_error(f, ACTORS_ETIMEDOUT, "Timeout", NULL);
    ck_assert_msg(
        took >= 150 && took < 1500, "Timeout after %lld ms", (long long)took);
    actors_future_destroy(&f);
    /* Served once the sleep is over: the credit came back. */
    itest_echo_ok("chaos/e", "after Timeout");
}
END_TEST

/* The Timeout comes from the broker (a raw DEALER has no local timer). */
START_TEST(test_errors_timeout_from_broker)
{
    s_start(NULL, NULL, 1);
    void *s = testutil_raw_socket(ZMQ_DEALER);
    uint8_t hdr[ACTORS_WIRE_HDR_MAX];
    const uint8_t args[] = {0x91, 0xcd, 0x07, 0xd0}; /* [2000] */
    size_t hlen = testutil_call_hdr(
        hdr, "ACT2", CMD_CALL, 200, "t1", 2, "chaos/e", "sleep");
    int64_t t0 = testutil_now_ms();
    s_send(s, 2, hdr, hlen, args, sizeof args);
    /* A call queued behind it in the mailbox times out there. */
    hlen = testutil_call_hdr(
        hdr, "ACT2", CMD_CALL, 300, "t2", 2, "chaos/e", "echo");
    s_send(s, 2, hdr, hlen, s_args_hi, sizeof s_args_hi);
    s_expect_error(s, "Timeout", "t1", 2);
    s_expect_error(s, "Timeout", "t2", 2);
    int64_t took = testutil_now_ms() - t0;
    ck_assert_msg(took < 1500, "Timeouts after %lld ms", (long long)took);
    /* The late reply to t1 is dropped: the next message is ours. */
    s_raw_echo_ok(s, "chaos/e");
    testutil_raw_close(&s);
}
END_TEST

static Suite *
errors_suite(void)
{
    Suite *s = suite_create("errors");
    TCase *tc = itest_tcase("client", 60);
    tcase_add_test(tc, test_errors_no_such_actor);
    tcase_add_test(tc, test_errors_no_such_method);
    tcase_add_test(tc, test_errors_wrong_arguments);
    tcase_add_test(tc, test_errors_application_error);
    tcase_add_test(tc, test_errors_failed_tell_is_logged);
    tcase_add_test(tc, test_errors_failed_tells_are_rate_limited);
    tcase_add_test(tc, test_errors_failed_tells_rate_limited_across_threads);
    tcase_add_test(tc, test_errors_body_is_utf8_for_any_address);
    suite_add_tcase(s, tc);
    tc = itest_tcase("malformed", 60);
    tcase_add_test(tc, test_errors_bad_msgpack);
    tcase_add_test(tc, test_errors_deep_args);
    tcase_add_test(tc, test_errors_bad_request_garbage_header);
    tcase_add_test(tc, test_errors_bad_request_frame_count);
    tcase_add_test(tc, test_errors_bad_request_call_names);
    tcase_add_test(tc, test_errors_bad_version);
    tcase_add_test(tc, test_errors_req_socket);
    tcase_add_test(tc, test_errors_tell_delivery);
    tcase_add_test(tc, test_errors_req_tell_is_answered);
    tcase_add_test(tc, test_errors_client_tells);
    tcase_add_test(tc, test_errors_caller_gone);
    tcase_add_test(tc, test_errors_huge_declared_sizes);
    tcase_add_test(tc, test_errors_random_frames);
    suite_add_tcase(s, tc);
    tc = itest_tcase("limits", 60);
    tcase_add_test(tc, test_errors_too_large);
    tcase_add_test(tc, test_errors_mailbox_full);
    tcase_add_test(tc, test_errors_actor_mailbox_bound);
    tcase_add_test(tc, test_errors_timeout_in_flight);
    tcase_add_test(tc, test_errors_timeout_from_broker);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return itest_run(errors_suite());
}
