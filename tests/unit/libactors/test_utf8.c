/* tests/unit/libactors/test_utf8.c - byte strings packed as valid UTF-8.
 * SPDX-License-Identifier: MIT
 *
 * The expected outputs come from Python 3's bytes.decode("utf-8",
 * "replace"), which follows the Unicode Standard's "maximal subparts"
 * practice (its Table 3-8 example is one of the vectors): the table below
 * was generated with it, and so were the FNV-1a hashes of the outputs for
 * every input of 1, 2 and 3 bytes and for every 4-byte combination of 20
 * boundary bytes. glibc's iconv, a strict decoder, checks validity.
 */
#include <check.h>
#include <errno.h>
#include <iconv.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "../../testutil.h"
#include <actors-internal/utf8.h>

/* A packer target: a fixed buffer that holds at most cap bytes. */
typedef struct {
    char buf[256];
    size_t len;
    size_t cap;
} s_sink_t;

static void
s_sink_init(s_sink_t *s, size_t cap)
{
    s->len = 0;
    s->cap = cap < sizeof s->buf ? cap : sizeof s->buf;
}

static int
s_sink_write(void *data, const char *p, size_t n)
{
    s_sink_t *s = data;
    if (n > s->cap - s->len) {
        return -1;
    }
    memcpy(s->buf + s->len, p, n);
    s->len += n;
    return 0;
}

/* s_fix packs in[0..n) with actors__utf8_pack_str, checks that msgpack-c
 * reads back one str of actors__utf8_fixed_len bytes, and returns its
 * body (pointing into sink) and its length in *out_len. */
static const char *
s_fix(s_sink_t *sink, const void *in, size_t n, size_t *out_len)
{
    s_sink_init(sink, SIZE_MAX);
    msgpack_packer pk;
    msgpack_packer_init(&pk, sink, s_sink_write);
    TEST_ASSERT_OK(actors__utf8_pack_str(&pk, in, n));
    msgpack_zone zone;
    msgpack_zone_init(&zone, 256);
    msgpack_object obj;
    size_t off = 0;
    ck_assert_int_eq(msgpack_unpack(sink->buf, sink->len, &off, &zone, &obj),
        MSGPACK_UNPACK_SUCCESS);
    ck_assert_uint_eq(off, sink->len);
    ck_assert_int_eq(obj.type, MSGPACK_OBJECT_STR);
    ck_assert_uint_eq(obj.via.str.size, actors__utf8_fixed_len(in, n));
    size_t body = sink->len - obj.via.str.size;
    msgpack_zone_destroy(&zone);
    *out_len = sink->len - body;
    return sink->buf + body;
}

/* s_strict_valid: glibc's iconv decodes all of s[0..n) as UTF-8. */
static bool
s_strict_valid(iconv_t cd, const char *s, size_t n)
{
    char out[64];
    char *in = (char *)s;
    size_t in_left = n;
    iconv(cd, NULL, NULL, NULL, NULL);
    while (in_left > 0) {
        char *o = out;
        size_t o_left = sizeof out;
        if (iconv(cd, &in, &in_left, &o, &o_left) == (size_t)-1 &&
            errno != E2BIG) {
            return false;
        }
    }
    return true;
}

static const struct {
    const char *name;
    const char *in;
    size_t in_len;
    const char *out;
    size_t out_len;
} s_vectors[] = {
    {"ASCII", "account/1", 9, "account/1", 9},
    {"empty", "", 0, "", 0},
    {"embedded NUL",
        "a\x00"
        "b",
        3,
        "a\x00"
        "b",
        3},
    {"U+0080 and U+07FF", "\xc2\x80\xdf\xbf", 4, "\xc2\x80\xdf\xbf", 4},
    {"U+0800, U+D7FF, U+E000, U+FFFF",
        "\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf", 12,
        "\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf", 12},
    {"U+10000 and U+10FFFF", "\xf0\x90\x80\x80\xf4\x8f\xbf\xbf", 8,
        "\xf0\x90\x80\x80\xf4\x8f\xbf\xbf", 8},
    {"Unicode Table 3-8",
        "a\xf1\x80\x80\xe1\x80\xc2"
        "b\x80"
        "c\x80\xbf"
        "d",
        13,
        "a\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
        "b\xef\xbf\xbd"
        "c\xef\xbf\xbd\xef\xbf\xbd"
        "d",
        22},
    {"lone continuation bytes", "\x80\xbf\x80", 3,
        "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 9},
    {"C0/C1 overlongs", "\xc0\xaf\xc1\xbf", 4,
        "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 12},
    {"3-byte overlongs", "\xe0\x80\xaf\xe0\x9f\xbf", 6,
        "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf"
        "\xbd",
        18},
    {"4-byte overlongs", "\xf0\x80\x80\xaf\xf0\x8f\xbf\xbf", 8,
        "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf"
        "\xbd\xef\xbf\xbd\xef\xbf\xbd",
        24},
    {"surrogates", "\xed\xa0\x80\xed\xbf\xbf", 6,
        "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf"
        "\xbd",
        18},
    {"surrogate pair (CESU-8)", "\xed\xa0\xbd\xed\xb8\x80", 6,
        "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf"
        "\xbd",
        18},
    {"above U+10FFFF", "\xf4\x90\x80\x80", 4,
        "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 12},
    {"F5..F7 leads", "\xf5\x80\x80\x80\xf7\xbf\xbf\xbf", 8,
        "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf"
        "\xbd\xef\xbf\xbd\xef\xbf\xbd",
        24},
    {"5- and 6-byte forms", "\xf8\x88\x80\x80\x80\xfc\x84\x80\x80\x80\x80", 11,
        "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf"
        "\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd",
        33},
    {"FE and FF", "\xfe\xff", 2, "\xef\xbf\xbd\xef\xbf\xbd", 6},
    {"truncated at the end 2", "ab\xc2", 3, "ab\xef\xbf\xbd", 5},
    {"truncated at the end 3", "ab\xe2\x82", 4, "ab\xef\xbf\xbd", 5},
    {"truncated at the end 4", "ab\xf0\x9f\x98", 5, "ab\xef\xbf\xbd", 5},
    {"truncated in the middle",
        "\xe2\x82"
        "A\xf0\x9f\x98"
        "B\xf4\x8f"
        "C",
        10,
        "\xef\xbf\xbd"
        "A\xef\xbf\xbd"
        "B\xef\xbf\xbd"
        "C",
        12},
    {"valid after invalid", "\xff\xe2\x82\xac\xc3\xa9", 6,
        "\xef\xbf\xbd\xe2\x82\xac\xc3\xa9", 8},
    {"invalid address", "chaos/\xff\xfe", 8, "chaos/\xef\xbf\xbd\xef\xbf\xbd",
        12},
    {"Latin-1 text", "caf\xe9 cr\xe8me", 10, "caf\xef\xbf\xbd cr\xef\xbf\xbdme",
        14},
    {"E0/ED second-byte bounds",
        "\xe0\x9f\x80\xed\xa0\x80\xe0\xa0\x80\xed\x9f\x80", 12,
        "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf"
        "\xbd\xe0\xa0\x80\xed\x9f\x80",
        24},
    {"F0/F4 second-byte bounds",
        "\xf0\x8f\x80\x80\xf0\x90\x80\x80\xf4\x8f\x80\x80\xf4\x90\x80\x80", 16,
        "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xf0\x90\x80\x80\xf4"
        "\x8f\x80\x80\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd",
        32},
};

START_TEST(test_utf8_vectors)
{
    iconv_t cd = iconv_open("UTF-32LE", "UTF-8");
    ck_assert(cd != (iconv_t)-1);
    for (size_t i = 0; i < sizeof s_vectors / sizeof s_vectors[0]; i++) {
        s_sink_t sink;
        size_t n = 0;
        const char *out =
            s_fix(&sink, s_vectors[i].in, s_vectors[i].in_len, &n);
        ck_assert_msg(
            n == s_vectors[i].out_len && memcmp(out, s_vectors[i].out, n) == 0,
            "%s: wrong output", s_vectors[i].name);
        bool same =
            s_vectors[i].in_len == s_vectors[i].out_len &&
            memcmp(s_vectors[i].in, s_vectors[i].out, s_vectors[i].in_len) == 0;
        ck_assert_msg(
            actors__utf8_is_valid(s_vectors[i].in, s_vectors[i].in_len) == same,
            "%s: is_valid wrong", s_vectors[i].name);
        ck_assert_msg(
            s_strict_valid(cd, s_vectors[i].in, s_vectors[i].in_len) == same,
            "%s: iconv disagrees", s_vectors[i].name);
        ck_assert(s_strict_valid(cd, out, n));
    }
    iconv_close(cd);
}
END_TEST

/* One unit at a time: a whole sequence, or one maximal subpart. */
START_TEST(test_utf8_scan_units)
{
    static const struct {
        const char *s;
        size_t len;
        size_t unit;
        bool is_valid;
    } cases[] = {
        {"A", 1, 1, true},
        {"\xc3\xa9", 2, 2, true},
        {"\xe2\x82\xac", 3, 3, true},
        {"\xf0\x9f\x98\x80", 4, 4, true},
        {"\xf1\x80\x80\xe1", 4, 3, false}, /* 3 of 4, then a new lead */
        {"\xe1\x80\xc2", 3, 2, false},
        {"\xc2"
         "b",
            2, 1, false},
        {"\xc0\xaf", 2, 1, false},         /* C0 is never a lead */
        {"\xe0\x80\xaf", 3, 1, false},     /* E0 needs A0..BF next */
        {"\xed\xa0\x80", 3, 1, false},     /* ED needs 80..9F next */
        {"\xf0\x8f\xbf\xbf", 4, 1, false}, /* F0 needs 90..BF next */
        {"\xf4\x90\x80\x80", 4, 1, false}, /* F4 needs 80..8F next */
        {"\xf4\x8f\xbf", 3, 3, false},     /* cut short by the end */
        {"\x80", 1, 1, false},
        {"\xff", 1, 1, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bool ok = !cases[i].is_valid;
        ck_assert_uint_eq(
            actors__utf8_scan(cases[i].s, cases[i].len, &ok), cases[i].unit);
        ck_assert_msg(ok == cases[i].is_valid, "case %zu", i);
    }
}
END_TEST

static uint64_t
s_fnv(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ b[i]) * 0x100000001b3ull;
    }
    return h;
}

#define S_FNV_START 0xcbf29ce484222325ull

/* s_hash_fixed adds the fixed form of in[0..n), then 0xff (never in
 * UTF-8), to h; checks is_valid and fixed_len against the output. (No
 * ck_assert on the way: Check records each passing one, a system call,
 * and this runs 17 million times.) */
static uint64_t
s_hash_fixed(uint64_t h, const uint8_t *in, size_t n)
{
    s_sink_t sink;
    s_sink_init(&sink, SIZE_MAX);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sink, s_sink_write);
    if (actors__utf8_pack_str(&pk, in, n) != ACTORS_OK || sink.len < 1 ||
        sink.len - 1 > 31) {
        ck_abort_msg("%zu bytes: not packed as one fixstr", n);
    }
    size_t len = sink.len - 1; /* a fixstr has a one-byte header */
    bool same = len == n && memcmp(sink.buf + 1, in, n) == 0;
    if (len != actors__utf8_fixed_len(in, n) ||
        actors__utf8_is_valid(in, n) != same) {
        ck_abort_msg("%02x %02x %02x %02x (%zu bytes): lengths or validity "
                     "disagree",
            in[0], n > 1 ? in[1] : 0, n > 2 ? in[2] : 0, n > 3 ? in[3] : 0, n);
    }
    static const uint8_t sep = 0xff;
    return s_fnv(s_fnv(h, sink.buf + 1, len), &sep, 1);
}

/* Every input of 1, 2 and 3 bytes, and every 4-byte string of boundary
 * bytes, gives exactly Python's output. */
START_TEST(test_utf8_matches_python_exhaustively)
{
    uint8_t b[4];
    uint64_t h = S_FNV_START;
    for (unsigned x = 0; x < 256; x++) {
        b[0] = (uint8_t)x;
        h = s_hash_fixed(h, b, 1);
    }
    ck_assert_uint_eq(h, 0x21e45c5f9c1e4e25ull);
    h = S_FNV_START;
    for (unsigned x = 0; x < 65536; x++) {
        b[0] = (uint8_t)(x >> 8);
        b[1] = (uint8_t)x;
        h = s_hash_fixed(h, b, 2);
    }
    ck_assert_uint_eq(h, 0xe7abc117fcf74de5ull);
    h = S_FNV_START;
    for (unsigned x = 0; x < (1u << 24); x++) {
        b[0] = (uint8_t)(x >> 16);
        b[1] = (uint8_t)(x >> 8);
        b[2] = (uint8_t)x;
        h = s_hash_fixed(h, b, 3);
    }
    ck_assert_uint_eq(h, 0xcb1e49d44019a025ull);
    static const uint8_t edge[] = {0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f,
        0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5,
        0xff};
    const size_t ne = sizeof edge;
    h = S_FNV_START;
    for (size_t i = 0; i < ne * ne * ne * ne; i++) {
        b[0] = edge[i / (ne * ne * ne)];
        b[1] = edge[i / (ne * ne) % ne];
        b[2] = edge[i / ne % ne];
        b[3] = edge[i % ne];
        h = s_hash_fixed(h, b, 4);
    }
    ck_assert_uint_eq(h, 0xe93a28d2f8e09025ull);
}
END_TEST

/* Long strings take the str8/str16 headers; a valid one is unchanged. */
START_TEST(test_utf8_pack_lengths_and_errors)
{
    char in[100];
    for (size_t i = 0; i < sizeof in; i++) {
        in[i] = (char)(i % 2 ? 0xff : 'a'); /* 50 bad bytes: 150 more */
    }
    s_sink_t sink;
    size_t n = 0;
    const char *out = s_fix(&sink, in, sizeof in, &n);
    ck_assert_uint_eq(n, 200);
    ck_assert_mem_eq(out,
        "a\xef\xbf\xbd"
        "a",
        5);
    out = s_fix(&sink, "", 0, &n);
    ck_assert_uint_eq(n, 0);
    out = s_fix(&sink, NULL, 0, &n);
    ck_assert_uint_eq(n, 0);

    /* The writer failing anywhere is ENOMEM: "x\xff" "y" packs 6 bytes
     * (header, x, U+FFFD, y). */
    for (size_t cap = 0; cap <= 6; cap++) {
        s_sink_init(&sink, cap);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &sink, s_sink_write);
        actors_err rc = actors__utf8_pack_str(&pk, "x\xffy", 3);
        TEST_ASSERT_ERR(rc, cap < 6 ? ACTORS_ENOMEM : ACTORS_OK);
    }
    /* Longer than a str can be: refused before reading a byte. */
    s_sink_init(&sink, SIZE_MAX);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sink, s_sink_write);
    TEST_ASSERT_ERR(
        actors__utf8_pack_str(&pk, in, (size_t)UINT32_MAX + 1), ACTORS_ETOOBIG);
    ck_assert_uint_eq(sink.len, 0);
}
END_TEST

Suite *utf8_suite(void);

Suite *
utf8_suite(void)
{
    Suite *s = suite_create("utf8");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_utf8_vectors);
    tcase_add_test(tc, test_utf8_scan_units);
    tcase_add_test(tc, test_utf8_matches_python_exhaustively);
    tcase_add_test(tc, test_utf8_pack_lengths_and_errors);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(utf8_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
