/* tests/unit/libactors/test_wire.c - the ACT2 header and error bodies.
 * SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include <actors/error.h>
#include <actors/msg.h>

#include "../../testutil.h"
#include <actors-internal/alloc.h>
#include <actors-internal/wire.h>

START_TEST(test_wire_header_roundtrip)
{
    uint8_t buf[ACTORS_WIRE_HDR_MAX];
    uint8_t id[ACTORS_WIRE_ID_MAX];
    for (size_t i = 0; i < sizeof id; i++) {
        id[i] = (uint8_t)i;
    }
    size_t lens[] = {0, 8, ACTORS_WIRE_ID_MAX};
    size_t n = 0;
    for (size_t k = 0; k < 3; k++) {
        n = actors__hdr_write(buf, ACTORS_CMD_CALL, 0x01020304u, id, lens[k]);
        ck_assert_uint_eq(n, ACTORS_WIRE_HDR_MIN + lens[k]);
        ck_assert_int_eq(memcmp(buf, "ACT2", 4), 0);
        ck_assert_uint_eq(buf[4], ACTORS_CMD_CALL);
        ck_assert_uint_eq(buf[5], 0);
        ck_assert_uint_eq(buf[6], 1);
        ck_assert_uint_eq(buf[9], 4);
        ck_assert_uint_eq(buf[10], lens[k]); /* the id length byte */
        actors__hdr_t h;
        TEST_ASSERT_OK(actors__hdr_parse(buf, n, &h));
        ck_assert_uint_eq(h.cmd, ACTORS_CMD_CALL);
        ck_assert_uint_eq(h.flags, 0);
        ck_assert_uint_eq(h.timeout_ms, 0x01020304u);
        ck_assert_uint_eq(h.id_len, lens[k]);
        ck_assert(h.id == buf + ACTORS_WIRE_HDR_MIN);
        ck_assert_int_eq(memcmp(h.id, id, lens[k]), 0);
        ck_assert(h.names == buf + n);
        ck_assert_uint_eq(h.names_len, 0);
        ck_assert_ptr_null(h.address); /* a CALL without its names */
        ck_assert_ptr_null(h.method);
    }
    /* set_cmd rewrites the command byte only: the 255-byte id stays. */
    actors__hdr_set_cmd(buf, ACTORS_CMD_REPLY);
    actors__hdr_t h;
    TEST_ASSERT_OK(actors__hdr_parse(buf, n, &h));
    ck_assert_uint_eq(h.cmd, ACTORS_CMD_REPLY);
    ck_assert_uint_eq(h.timeout_ms, 0x01020304u);
    ck_assert_uint_eq(h.id_len, ACTORS_WIRE_ID_MAX);
    ck_assert_int_eq(memcmp(h.id, id, ACTORS_WIRE_ID_MAX), 0);
}
END_TEST

START_TEST(test_wire_header_rejects_malformed)
{
    uint8_t buf[ACTORS_WIRE_HDR_MAX + 1];
    memset(buf, 0, sizeof buf);
    actors__hdr_t h;
    size_t n = actors__hdr_write(buf, ACTORS_CMD_PING, 0, NULL, 0);
    ck_assert_uint_eq(n, ACTORS_WIRE_HDR_MIN);
    ck_assert_uint_eq(n, 11);
    TEST_ASSERT_OK(actors__hdr_parse(buf, n, &h));
    TEST_ASSERT_ERR(actors__hdr_parse(NULL, 0, &h), ACTORS_EBADREQ);
    TEST_ASSERT_ERR(actors__hdr_parse(buf, 3, &h), ACTORS_EBADREQ);
    /* 10 bytes: a whole ACT1 header, but no id length byte. */
    TEST_ASSERT_ERR(actors__hdr_parse(buf, n - 1, &h), ACTORS_EBADREQ);
    TEST_ASSERT_ERR(actors__hdr_parse(buf, sizeof buf, &h), ACTORS_EBADREQ);
    memcpy(buf, "ACT1", 4); /* the previous version */
    TEST_ASSERT_ERR(actors__hdr_parse(buf, n, &h), ACTORS_EVERSION);
    memcpy(buf, "ACT3", 4);
    TEST_ASSERT_ERR(actors__hdr_parse(buf, n, &h), ACTORS_EVERSION);
    memcpy(buf, "XCT2", 4);
    TEST_ASSERT_ERR(actors__hdr_parse(buf, n, &h), ACTORS_EBADREQ);
    memcpy(buf, "GET ", 4);
    TEST_ASSERT_ERR(actors__hdr_parse(buf, n, &h), ACTORS_EBADREQ);
}
END_TEST

/* The id length byte may not point past the end of the frame. */
START_TEST(test_wire_header_id_len_beyond_frame)
{
    uint8_t buf[ACTORS_WIRE_HDR_MAX];
    actors__hdr_t h;
    size_t n = actors__hdr_write(buf, ACTORS_CMD_CALL, 0, "12345678", 8);
    ck_assert_uint_eq(n, ACTORS_WIRE_HDR_MIN + 8);
    TEST_ASSERT_OK(actors__hdr_parse(buf, n, &h));
    /* The frame cut short of its id. */
    TEST_ASSERT_ERR(actors__hdr_parse(buf, n - 1, &h), ACTORS_EBADREQ);
    TEST_ASSERT_ERR(
        actors__hdr_parse(buf, ACTORS_WIRE_HDR_MIN, &h), ACTORS_EBADREQ);
    /* The length byte one more than the bytes left, then the most. */
    buf[10] = 9;
    TEST_ASSERT_ERR(actors__hdr_parse(buf, n, &h), ACTORS_EBADREQ);
    buf[10] = 255;
    TEST_ASSERT_ERR(actors__hdr_parse(buf, n, &h), ACTORS_EBADREQ);
    TEST_ASSERT_ERR(
        actors__hdr_parse(buf, ACTORS_WIRE_HDR_MIN, &h), ACTORS_EBADREQ);
    /* Every command, not only CALL. */
    actors__hdr_set_cmd(buf, ACTORS_CMD_PING);
    TEST_ASSERT_ERR(actors__hdr_parse(buf, n, &h), ACTORS_EBADREQ);
    actors__hdr_set_cmd(buf, ACTORS_CMD_REPLY);
    TEST_ASSERT_ERR(actors__hdr_parse(buf, n, &h), ACTORS_EBADREQ);
    /* A byte that fits: the id is that long, the rest follows it. */
    buf[10] = 7;
    TEST_ASSERT_OK(actors__hdr_parse(buf, n, &h));
    ck_assert_uint_eq(h.id_len, 7);
    ck_assert_int_eq(memcmp(h.id, "1234567", 7), 0);
    ck_assert(h.names == buf + ACTORS_WIRE_HDR_MIN + 7);
    ck_assert_uint_eq(h.names_len, 1);
}
END_TEST

/* s_call_hdr writes a CALL/TELL header with names; returns its length. */
static size_t
s_call_hdr(uint8_t *buf, uint8_t cmd, const void *id, size_t id_len,
    const char *address, size_t alen, const char *method, size_t mlen)
{
    size_t n = actors__hdr_write(buf, cmd, 250, id, id_len);
    return n + actors__hdr_names_write(buf + n, address, alen, method, mlen);
}

START_TEST(test_wire_call_names_parsed)
{
    uint8_t buf[ACTORS_WIRE_HDR_MAX];
    actors__hdr_t h;
    uint8_t cmds[] = {ACTORS_CMD_CALL, ACTORS_CMD_TELL};
    for (size_t k = 0; k < 2; k++) {
        size_t n =
            s_call_hdr(buf, cmds[k], "abc", 3, "account/1", 9, "deposit", 7);
        ck_assert_uint_eq(n, ACTORS_WIRE_HDR_MIN + 3 + 1 + 9 + 1 + 7);
        TEST_ASSERT_OK(actors__hdr_parse(buf, n, &h));
        ck_assert_uint_eq(h.cmd, cmds[k]);
        ck_assert_uint_eq(h.timeout_ms, 250);
        ck_assert_uint_eq(h.id_len, 3);
        ck_assert_int_eq(memcmp(h.id, "abc", 3), 0);
        ck_assert(h.names == buf + ACTORS_WIRE_HDR_MIN + 3);
        ck_assert_uint_eq(h.names_len, 1 + 9 + 1 + 7);
        /* The pointers are into the frame, after each length byte. */
        ck_assert(h.address == buf + ACTORS_WIRE_HDR_MIN + 3 + 1);
        ck_assert_uint_eq(h.address_len, 9);
        ck_assert_int_eq(memcmp(h.address, "account/1", 9), 0);
        ck_assert(h.method == buf + ACTORS_WIRE_HDR_MIN + 3 + 1 + 9 + 1);
        ck_assert_uint_eq(h.method_len, 7);
        ck_assert_int_eq(memcmp(h.method, "deposit", 7), 0);
    }

    /* An empty id: the names start right after the length byte. */
    size_t n = s_call_hdr(buf, ACTORS_CMD_TELL, NULL, 0, "a", 1, "m", 1);
    ck_assert_uint_eq(n, ACTORS_WIRE_HDR_MIN + 4);
    TEST_ASSERT_OK(actors__hdr_parse(buf, n, &h));
    ck_assert_uint_eq(h.id_len, 0);
    ck_assert(h.address == buf + ACTORS_WIRE_HDR_MIN + 1);
    ck_assert_uint_eq(h.address_len, 1);
    ck_assert(h.method == buf + ACTORS_WIRE_HDR_MIN + 3);
    ck_assert_uint_eq(h.method_len, 1);

    /* The largest header: 255-byte id, address and method. */
    uint8_t id[ACTORS_WIRE_ID_MAX];
    char addr[ACTORS_WIRE_NAME_MAX], meth[ACTORS_WIRE_NAME_MAX];
    memset(id, 0xee, sizeof id);
    memset(addr, 'a', sizeof addr);
    memset(meth, 'm', sizeof meth);
    n = s_call_hdr(buf, ACTORS_CMD_CALL, id, sizeof id, addr, sizeof addr, meth,
        sizeof meth);
    ck_assert_uint_eq(n, ACTORS_WIRE_HDR_MAX);
    TEST_ASSERT_OK(actors__hdr_parse(buf, n, &h));
    ck_assert_uint_eq(h.id_len, ACTORS_WIRE_ID_MAX);
    ck_assert_int_eq(memcmp(h.id, id, sizeof id), 0);
    ck_assert_uint_eq(h.address_len, ACTORS_WIRE_NAME_MAX);
    ck_assert_int_eq(memcmp(h.address, addr, sizeof addr), 0);
    ck_assert_uint_eq(h.method_len, ACTORS_WIRE_NAME_MAX);
    ck_assert_int_eq(memcmp(h.method, meth, sizeof meth), 0);

    /* The broker's REPLY is that header with the command rewritten: the
     * id is still found by its length byte; names are not read. */
    actors__hdr_set_cmd(buf, ACTORS_CMD_REPLY);
    TEST_ASSERT_OK(actors__hdr_parse(buf, n, &h));
    ck_assert_uint_eq(h.cmd, ACTORS_CMD_REPLY);
    ck_assert_uint_eq(h.id_len, ACTORS_WIRE_ID_MAX);
    ck_assert_int_eq(memcmp(h.id, id, sizeof id), 0);
    ck_assert_uint_eq(h.names_len, 2 + 2 * ACTORS_WIRE_NAME_MAX);
    ck_assert_ptr_null(h.address);
    ck_assert_ptr_null(h.method);
}
END_TEST

/* Names that are missing or malformed: the header parses (the id is
 * needed for the BadRequest), address and method stay NULL. */
START_TEST(test_wire_call_names_malformed)
{
    static const struct {
        const char *what;
        const char *names;
        size_t len;
    } bad[] = {
        {"no names", "", 0},
        {"address length only", "\x03", 1},
        {"empty address", "\x00\x01m", 3},
        {"address longer than the frame",
            "\x05"
            "abc",
            4},
        {"address cut before the method length",
            "\x03"
            "abc",
            4},
        {"empty method",
            "\x03"
            "abc\x00",
            5},
        {"method longer than the frame",
            "\x03"
            "abc\x04mmm",
            8},
        {"a byte after the method",
            "\x03"
            "abc\x01mX",
            7},
        {"address length byte covers everything",
            "\x06"
            "abc\x01m",
            6},
    };
    uint8_t buf[ACTORS_WIRE_HDR_MAX];
    uint8_t cmds[] = {ACTORS_CMD_CALL, ACTORS_CMD_TELL};
    for (size_t c = 0; c < 2; c++) {
        for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
            size_t n = actors__hdr_write(buf, cmds[c], 0, "id", 2);
            memcpy(buf + n, bad[k].names, bad[k].len);
            n += bad[k].len;
            actors__hdr_t h;
            TEST_ASSERT_OK(actors__hdr_parse(buf, n, &h));
            ck_assert_msg(h.address == NULL && h.method == NULL,
                "%s: names read from a malformed header", bad[k].what);
            ck_assert_uint_eq(h.address_len, 0);
            ck_assert_uint_eq(h.method_len, 0);
            ck_assert_uint_eq(h.id_len, 2);
            ck_assert_int_eq(memcmp(h.id, "id", 2), 0);
            ck_assert_uint_eq(h.names_len, bad[k].len);
        }
    }
    /* The same bytes made well-formed parse. */
    size_t n = actors__hdr_write(buf, ACTORS_CMD_CALL, 0, "id", 2);
    memcpy(buf + n,
        "\x03"
        "abc\x01m",
        6);
    actors__hdr_t h;
    TEST_ASSERT_OK(actors__hdr_parse(buf, n + 6, &h));
    ck_assert_ptr_nonnull(h.address);
    ck_assert_uint_eq(h.address_len, 3);
    ck_assert_uint_eq(h.method_len, 1);
}
END_TEST

/* In commands other than CALL and TELL, bytes after the id are ignored. */
START_TEST(test_wire_trailing_bytes_ignored)
{
    uint8_t cmds[] = {ACTORS_CMD_REPLY, ACTORS_CMD_ERROR, ACTORS_CMD_REGISTER,
        ACTORS_CMD_HEARTBEAT, ACTORS_CMD_LOOKUP, ACTORS_CMD_LIST,
        ACTORS_CMD_PING, ACTORS_CMD_KILL, 0x7f};
    uint8_t buf[ACTORS_WIRE_HDR_MAX];
    for (size_t k = 0; k < sizeof cmds; k++) {
        size_t n = actors__hdr_write(buf, cmds[k], 0, "req-1", 5);
        /* Well-formed names, junk, and a lone length byte. */
        static const struct {
            const char *bytes;
            size_t len;
        } tails[] = {{"\x03"
                      "a/1\x01m",
                         6},
            {"junk", 4}, {"\xff", 1}};
        for (size_t t = 0; t < 3; t++) {
            memcpy(buf + n, tails[t].bytes, tails[t].len);
            actors__hdr_t h;
            TEST_ASSERT_OK(actors__hdr_parse(buf, n + tails[t].len, &h));
            ck_assert_uint_eq(h.cmd, cmds[k]);
            ck_assert_uint_eq(h.id_len, 5);
            ck_assert_int_eq(memcmp(h.id, "req-1", 5), 0);
            ck_assert(h.names == buf + n);
            ck_assert_uint_eq(h.names_len, tails[t].len);
            ck_assert_ptr_null(h.address);
            ck_assert_ptr_null(h.method);
        }
    }
    /* Up to the largest header; one byte more is still refused. */
    memset(buf, 0, sizeof buf);
    size_t n = actors__hdr_write(buf, ACTORS_CMD_PING, 0, NULL, 0);
    actors__hdr_t h;
    TEST_ASSERT_OK(actors__hdr_parse(buf, ACTORS_WIRE_HDR_MAX, &h));
    ck_assert_uint_eq(h.id_len, 0);
    ck_assert_uint_eq(h.names_len, ACTORS_WIRE_HDR_MAX - n);
}
END_TEST

START_TEST(test_wire_names_write_roundtrip)
{
    uint8_t buf[ACTORS_WIRE_NAMES_MAX + 1];
    memset(buf, 0xaa, sizeof buf);
    size_t n = actors__hdr_names_write(buf, "account/1", 9, "deposit", 7);
    ck_assert_uint_eq(n, 2 + 9 + 7);
    ck_assert_uint_eq(buf[0], 9);
    ck_assert_int_eq(memcmp(buf + 1, "account/1", 9), 0);
    ck_assert_uint_eq(buf[10], 7);
    ck_assert_int_eq(memcmp(buf + 11, "deposit", 7), 0);
    ck_assert_uint_eq(buf[n], 0xaa); /* nothing written past it */

    /* Names are bytes, not strings: a NUL inside is kept. */
    n = actors__hdr_names_write(buf, "a\0b", 3, "m", 1);
    ck_assert_uint_eq(n, 6);
    ck_assert_int_eq(memcmp(buf,
                         "\x03"
                         "a\0b\x01m",
                         6),
        0);

    /* The longest names fill ACTORS_WIRE_NAMES_MAX exactly. */
    char addr[ACTORS_WIRE_NAME_MAX], meth[ACTORS_WIRE_NAME_MAX];
    memset(addr, 'x', sizeof addr);
    memset(meth, 'y', sizeof meth);
    memset(buf, 0xaa, sizeof buf);
    n = actors__hdr_names_write(buf, addr, sizeof addr, meth, sizeof meth);
    ck_assert_uint_eq(n, ACTORS_WIRE_NAMES_MAX);
    ck_assert_uint_eq(buf[ACTORS_WIRE_NAMES_MAX], 0xaa);

    /* Written after a header, they parse back to what was written. */
    uint8_t hdr[ACTORS_WIRE_HDR_MAX];
    size_t sizes[][2] = {{1, 1}, {9, 7}, {255, 1}, {1, 255}, {255, 255}};
    for (size_t k = 0; k < 5; k++) {
        size_t hl = actors__hdr_write(hdr, ACTORS_CMD_CALL, 0, "12345678", 8);
        hl += actors__hdr_names_write(
            hdr + hl, addr, sizes[k][0], meth, sizes[k][1]);
        ck_assert_uint_eq(
            hl, ACTORS_WIRE_HDR_MIN + 8 + 2 + sizes[k][0] + sizes[k][1]);
        actors__hdr_t h;
        TEST_ASSERT_OK(actors__hdr_parse(hdr, hl, &h));
        ck_assert_uint_eq(h.address_len, sizes[k][0]);
        ck_assert_int_eq(memcmp(h.address, addr, sizes[k][0]), 0);
        ck_assert_uint_eq(h.method_len, sizes[k][1]);
        ck_assert_int_eq(memcmp(h.method, meth, sizes[k][1]), 0);
        ck_assert_uint_eq(h.id_len, 8);
        ck_assert_int_eq(memcmp(h.id, "12345678", 8), 0);
    }
}
END_TEST

/* A PUBLISH header carries its topic after the id (PROTOCOL.md, PUBLISH):
 * written and found again; anything but exactly a length and that many
 * bytes is no topic. */
START_TEST(test_wire_publish_topic)
{
    char topic[ACTORS_WIRE_NAME_MAX];
    memset(topic, 't', sizeof topic);
    uint8_t hdr[ACTORS_WIRE_HDR_MAX];
    size_t lens[] = {1, 12, 255};
    for (size_t k = 0; k < 3; k++) {
        size_t hl = actors__hdr_write(hdr, ACTORS_CMD_PUBLISH, 0, "id", 2);
        size_t n = actors__hdr_topic_write(hdr + hl, topic, lens[k]);
        ck_assert_uint_eq(n, 1 + lens[k]);
        actors__hdr_t h;
        TEST_ASSERT_OK(actors__hdr_parse(hdr, hl + n, &h));
        const char *t = NULL;
        size_t tl = 0;
        ck_assert(actors__hdr_topic(&h, &t, &tl));
        ck_assert_uint_eq(tl, lens[k]);
        ck_assert_ptr_eq(t, (const char *)hdr + hl + 1);
        ck_assert_uint_eq(h.id_len, 2);
    }
    /* No bytes after the id, a zero length, a length past the end, bytes
     * after the topic. */
    const struct {
        const char *tail;
        size_t len;
    } bad[] = {{"", 0}, {"\x00", 1},
        {"\x05"
         "abcd",
            5},
        {"\x03"
         "abcd",
            5}};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        size_t hl = actors__hdr_write(hdr, ACTORS_CMD_PUBLISH, 0, NULL, 0);
        memcpy(hdr + hl, bad[k].tail, bad[k].len);
        actors__hdr_t h;
        TEST_ASSERT_OK(actors__hdr_parse(hdr, hl + bad[k].len, &h));
        const char *t = NULL;
        size_t tl = 0;
        ck_assert_msg(!actors__hdr_topic(&h, &t, &tl), "case %zu", k);
    }
}
END_TEST

START_TEST(test_wire_be32)
{
    uint8_t b[4];
    actors__put_be32(b, 0xdeadbeefu);
    ck_assert_uint_eq(b[0], 0xde);
    ck_assert_uint_eq(b[3], 0xef);
    ck_assert_uint_eq(actors__be32(b), 0xdeadbeefu);
}
END_TEST

START_TEST(test_wire_error_body_roundtrip)
{
    actors_msg_t *m = NULL;
    TEST_ASSERT_OK(actors_msg_create(&m));
    TEST_ASSERT_OK(actors__error_body(m, ACTORS_EAPP, "ValueError",
        "Can not deposit negative amount", "account/1"));
    ck_assert_uint_eq(actors_msg_count(m), 1);
    actors_error_t *e = NULL;
    TEST_ASSERT_OK(
        actors__error_parse(actors_msg_data(m), actors_msg_size(m), &e));
    ck_assert_int_eq(actors_error_code(e), ACTORS_EAPP);
    ck_assert_str_eq(actors_error_type(e), "ValueError");
    ck_assert_str_eq(
        actors_error_message(e), "Can not deposit negative amount");
    ck_assert_str_eq(actors_error_address(e), "account/1");
    actors_error_destroy(&e);

    /* Defaults: the code's wire name and text, empty address. */
    actors_msg_reset(m);
    TEST_ASSERT_OK(actors__error_body(m, ACTORS_ENOACTOR, NULL, NULL, NULL));
    TEST_ASSERT_OK(
        actors__error_parse(actors_msg_data(m), actors_msg_size(m), &e));
    ck_assert_int_eq(actors_error_code(e), ACTORS_ENOACTOR);
    ck_assert_str_eq(actors_error_type(e), "NoSuchActor");
    ck_assert_str_eq(actors_error_message(e), actors_strerror(ACTORS_ENOACTOR));
    ck_assert_str_eq(actors_error_address(e), "");
    actors_error_destroy(&e);
    actors_msg_destroy(&m);
}
END_TEST

/* An error body is valid UTF-8 whatever bytes the address, type or
 * message held: each ill-formed sequence becomes U+FFFD, so a strict
 * decoder (Python's msgpack with raw=False) reads it. */
START_TEST(test_wire_error_body_is_valid_utf8)
{
    actors_msg_t *m = NULL;
    TEST_ASSERT_OK(actors_msg_create(&m));
    TEST_ASSERT_OK(actors__error_body(m, ACTORS_ENOMETHOD, "Bad\xc0Type",
        "chaos has no method 'x\xc3('", "chaos/\xff\xfe"));
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    ck_assert_int_eq(
        msgpack_unpack_next(&up, actors_msg_data(m), actors_msg_size(m), &off),
        MSGPACK_UNPACK_SUCCESS);
    const struct {
        const char *key;
        const char *want;
    } fields[] = {
        {"type", "Bad\xef\xbf\xbdType"},
        {"message", "chaos has no method 'x\xef\xbf\xbd('"},
        {"address", "chaos/\xef\xbf\xbd\xef\xbf\xbd"},
    };
    for (size_t i = 0; i < 3; i++) {
        const msgpack_object *v = actors_map_get(&up.data, fields[i].key);
        ck_assert_ptr_nonnull(v);
        ck_assert_int_eq(v->type, MSGPACK_OBJECT_STR);
        ck_assert_msg(
            v->via.str.size == strlen(fields[i].want) &&
                memcmp(v->via.str.ptr, fields[i].want, v->via.str.size) == 0,
            "%s: '%.*s'", fields[i].key, (int)v->via.str.size, v->via.str.ptr);
    }
    msgpack_unpacked_destroy(&up);
    /* Valid text is left alone. */
    actors_msg_reset(m);
    TEST_ASSERT_OK(actors__error_body(m, ACTORS_EAPP, "ValueError",
        "caf\xc3\xa9 \xe2\x98\x83", "a/\xc3\xa9"));
    actors_error_t *e = NULL;
    TEST_ASSERT_OK(
        actors__error_parse(actors_msg_data(m), actors_msg_size(m), &e));
    ck_assert_str_eq(actors_error_message(e), "caf\xc3\xa9 \xe2\x98\x83");
    ck_assert_str_eq(actors_error_address(e), "a/\xc3\xa9");
    actors_error_destroy(&e);
    actors_msg_destroy(&m);
}
END_TEST

START_TEST(test_wire_error_parse_bad_body)
{
    actors_error_t *e = NULL;
    TEST_ASSERT_OK(actors__error_parse("\xc1", 1, &e));
    ck_assert_int_eq(actors_error_code(e), ACTORS_EMSGPACK);
    ck_assert_str_eq(actors_error_type(e), "BadMsgpack");
    actors_error_destroy(&e);
    TEST_ASSERT_OK(actors__error_parse(NULL, 0, &e));
    ck_assert_int_eq(actors_error_code(e), ACTORS_EMSGPACK);
    actors_error_destroy(&e);
    /* A map without "type" is an application error of no known type. */
    TEST_ASSERT_OK(actors__error_parse("\x80", 1, &e));
    ck_assert_int_eq(actors_error_code(e), ACTORS_EAPP);
    ck_assert_str_eq(actors_error_type(e), "ActorError");
    actors_error_destroy(&e);
}
END_TEST

START_TEST(test_wire_error_parse_survives_oom)
{
    actors_msg_t *m = NULL;
    TEST_ASSERT_OK(actors_msg_create(&m));
    TEST_ASSERT_OK(actors__error_body(m, ACTORS_EFULL, NULL, "full", "a/1"));
    for (unsigned n = 1;; n++) {
        actors_error_t *e = NULL;
        actors__alloc_fail_after(n);
        actors_err rc =
            actors__error_parse(actors_msg_data(m), actors_msg_size(m), &e);
        actors__alloc_fail_after(0);
        if (rc == ACTORS_OK) {
            ck_assert_int_eq(actors_error_code(e), ACTORS_EFULL);
            actors_error_destroy(&e);
            break;
        }
        TEST_ASSERT_ERR(rc, ACTORS_ENOMEM);
        ck_assert_ptr_null(e);
    }
    actors_msg_destroy(&m);
}
END_TEST

Suite *wire_suite(void);

Suite *
wire_suite(void)
{
    Suite *s = suite_create("wire");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_wire_header_roundtrip);
    tcase_add_test(tc, test_wire_header_rejects_malformed);
    tcase_add_test(tc, test_wire_header_id_len_beyond_frame);
    tcase_add_test(tc, test_wire_call_names_parsed);
    tcase_add_test(tc, test_wire_call_names_malformed);
    tcase_add_test(tc, test_wire_publish_topic);
    tcase_add_test(tc, test_wire_trailing_bytes_ignored);
    tcase_add_test(tc, test_wire_names_write_roundtrip);
    tcase_add_test(tc, test_wire_be32);
    tcase_add_test(tc, test_wire_error_body_roundtrip);
    tcase_add_test(tc, test_wire_error_body_is_valid_utf8);
    tcase_add_test(tc, test_wire_error_parse_bad_body);
    tcase_add_test(tc, test_wire_error_parse_survives_oom);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(wire_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
