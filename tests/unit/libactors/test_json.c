/* tests/unit/libactors/test_json.c - JSON text <-> msgpack values.
 * SPDX-License-Identifier: MIT */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include <actors/json.h>
#include <actors/msg.h>

#include "../../testutil.h"
#include <actors-internal/alloc.h>

/* s_roundtrip parses text with actors_json_add and dumps the value back;
 * the caller frees the result. */
static char *
s_roundtrip(const char *text)
{
    actors_msg_t *m = NULL;
    TEST_ASSERT_OK(actors_msg_create(&m));
    TEST_ASSERT_OK(actors_json_add(m, text, NULL, 0));
    ck_assert_uint_eq(actors_msg_count(m), 1);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    ck_assert_int_eq(
        msgpack_unpack_next(&up, actors_msg_data(m), actors_msg_size(m), &off),
        MSGPACK_UNPACK_SUCCESS);
    ck_assert_uint_eq(off, actors_msg_size(m));
    char *out = NULL;
    TEST_ASSERT_OK(actors_json_dump(&up.data, &out));
    msgpack_unpacked_destroy(&up);
    actors_msg_destroy(&m);
    return out;
}

static void
s_check_roundtrip(const char *text, const char *want)
{
    char *out = s_roundtrip(text);
    ck_assert_str_eq(out, want);
    free(out);
}

/* s_dump_msg dumps the first value of m. */
static char *
s_dump_msg(const actors_msg_t *m)
{
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    ck_assert_int_eq(
        msgpack_unpack_next(&up, actors_msg_data(m), actors_msg_size(m), &off),
        MSGPACK_UNPACK_SUCCESS);
    char *out = NULL;
    TEST_ASSERT_OK(actors_json_dump(&up.data, &out));
    msgpack_unpacked_destroy(&up);
    return out;
}

START_TEST(test_json_scalars_roundtrip)
{
    s_check_roundtrip("42", "42");
    s_check_roundtrip("-7", "-7");
    s_check_roundtrip("300.0", "300.0");
    s_check_roundtrip("300", "300");
    s_check_roundtrip("0.1", "0.1");
    s_check_roundtrip("2.5e-8", "2.5e-08");
    s_check_roundtrip("1e300", "1e+300");
    s_check_roundtrip("1e15", "1000000000000000.0");
    s_check_roundtrip("1e16", "1e+16");
    s_check_roundtrip("0.0001", "0.0001");
    s_check_roundtrip("0.00001", "1e-05");
    s_check_roundtrip("123456.789", "123456.789");
    s_check_roundtrip("-0.5", "-0.5");
    s_check_roundtrip("0.30000000000000004", "0.30000000000000004");
    s_check_roundtrip("true", "true");
    s_check_roundtrip("false", "false");
    s_check_roundtrip("null", "null");
    s_check_roundtrip("\"hi there\"", "\"hi there\"");
    s_check_roundtrip("  12  ", "12");
}
END_TEST

START_TEST(test_json_containers_roundtrip)
{
    s_check_roundtrip("[1, 2.5, \"x\", [], {}]", "[1,2.5,\"x\",[],{}]");
    s_check_roundtrip("{\"a\": {\"b\": [true, null]}, \"c\": -1}",
        "{\"a\":{\"b\":[true,null]},\"c\":-1}");
}
END_TEST

START_TEST(test_json_bare_word_is_string)
{
    s_check_roundtrip("hello", "\"hello\"");
    s_check_roundtrip("account/1", "\"account/1\"");
    s_check_roundtrip("12abc", "\"12abc\"");
    s_check_roundtrip("", "\"\"");
    s_check_roundtrip("-", "\"-\"");
}
END_TEST

START_TEST(test_json_big_integers)
{
    s_check_roundtrip("9223372036854775807", "9223372036854775807");
    s_check_roundtrip("-9223372036854775808", "-9223372036854775808");
    s_check_roundtrip("18446744073709551615", "18446744073709551615");
    actors_msg_t *m = NULL;
    TEST_ASSERT_OK(actors_msg_create(&m));
    char err[128] = "";
    TEST_ASSERT_ERR(actors_json_add(m, "18446744073709551616", err, sizeof err),
        ACTORS_EINVAL);
    ck_assert_str_ne(err, "");
    TEST_ASSERT_ERR(
        actors_json_add(m, "-9223372036854775809", NULL, 0), ACTORS_EINVAL);
    ck_assert_uint_eq(actors_msg_count(m), 0);
    actors_msg_destroy(&m);
}
END_TEST

/* Doubles that are not finite print as Python's json module prints them,
 * never as null; the same three words, as a whole argument, read back as
 * those doubles. Inside an array or object they are not JSON (jansson is
 * strict), and a number too large for a double is refused, not made a
 * string or an infinity. */
START_TEST(test_json_non_finite_numbers)
{
    actors_msg_t *m = NULL;
    TEST_ASSERT_OK(actors_msg_build(&m, "[ddd]", INFINITY, -INFINITY, NAN));
    char *out = s_dump_msg(m);
    ck_assert_str_eq(out, "[Infinity,-Infinity,NaN]");
    free(out);
    actors_msg_destroy(&m);
    msgpack_object f32 = {.type = MSGPACK_OBJECT_FLOAT32};
    f32.via.f64 = (float)-INFINITY;
    TEST_ASSERT_OK(actors_json_dump(&f32, &out));
    ck_assert_str_eq(out, "-Infinity");
    free(out);

    s_check_roundtrip("Infinity", "Infinity");
    s_check_roundtrip("-Infinity", "-Infinity");
    s_check_roundtrip("NaN", "NaN");
    s_check_roundtrip(" Infinity ", "Infinity");
    /* Other spellings stay bare words. */
    s_check_roundtrip("inf", "\"inf\"");
    s_check_roundtrip("nan", "\"nan\"");
    s_check_roundtrip("-infinity", "\"-infinity\"");
    TEST_ASSERT_OK(actors_msg_create(&m));
    TEST_ASSERT_OK(actors_json_add(m, "Infinity", NULL, 0));
    TEST_ASSERT_OK(actors_json_add(m, "NaN", NULL, 0));
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    ck_assert_int_eq(
        msgpack_unpack_next(&up, actors_msg_data(m), actors_msg_size(m), &off),
        MSGPACK_UNPACK_SUCCESS);
    ck_assert_int_eq(up.data.type, MSGPACK_OBJECT_FLOAT64);
    ck_assert(isinf(up.data.via.f64) && up.data.via.f64 > 0);
    ck_assert_int_eq(
        msgpack_unpack_next(&up, actors_msg_data(m), actors_msg_size(m), &off),
        MSGPACK_UNPACK_SUCCESS);
    ck_assert_int_eq(up.data.type, MSGPACK_OBJECT_FLOAT64);
    ck_assert(isnan(up.data.via.f64));
    msgpack_unpacked_destroy(&up);
    actors_msg_reset(m);

    const char *bad[] = {"1e999", "-1e999", "[Infinity]", "{\"a\": NaN}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[128] = "";
        TEST_ASSERT_ERR(
            actors_json_add(m, bad[i], err, sizeof err), ACTORS_EINVAL);
        ck_assert_msg(err[0] != '\0', "%s: no reason given", bad[i]);
        ck_assert_uint_eq(actors_msg_count(m), 0);
    }
    char err[128] = "";
    TEST_ASSERT_ERR(
        actors_json_add(m, "1e999", err, sizeof err), ACTORS_EINVAL);
    ck_assert_msg(strstr(err, "out of range") != NULL, "reason '%s'", err);
    actors_msg_destroy(&m);
}
END_TEST

START_TEST(test_json_invalid_text_leaves_msg_unchanged)
{
    const char *bad[] = {"{bad", "[1,", "\"open", "{\"a\" 1}", " [}"};
    actors_msg_t *m = NULL;
    TEST_ASSERT_OK(actors_msg_create(&m));
    TEST_ASSERT_OK(actors_msg_add_int(m, 1));
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[128] = "unset";
        TEST_ASSERT_ERR(
            actors_json_add(m, bad[i], err, sizeof err), ACTORS_EINVAL);
        ck_assert_str_ne(err, "unset");
        ck_assert_str_ne(err, "");
        TEST_ASSERT_ERR(actors_json_add(m, bad[i], NULL, 0), ACTORS_EINVAL);
        ck_assert_uint_eq(actors_msg_count(m), 1);
        ck_assert_uint_eq(actors_msg_size(m), 1);
    }
    actors_msg_destroy(&m);
}
END_TEST

START_TEST(test_json_add_survives_oom)
{
    actors_msg_t *m = NULL;
    TEST_ASSERT_OK(actors_msg_create(&m));
    for (unsigned n = 1;; n++) {
        actors__alloc_fail_after(n);
        actors_err rc =
            actors_json_add(m, "{\"a\":[1,2,{\"b\":\"c\"}]}", NULL, 0);
        actors__alloc_fail_after(0);
        if (rc == ACTORS_OK) {
            break;
        }
        TEST_ASSERT_ERR(rc, ACTORS_ENOMEM);
        ck_assert_uint_eq(actors_msg_count(m), 0);
        ck_assert_uint_eq(actors_msg_size(m), 0);
    }
    ck_assert_uint_eq(actors_msg_count(m), 1);
    char *out = s_dump_msg(m);
    ck_assert_str_eq(out, "{\"a\":[1,2,{\"b\":\"c\"}]}");
    free(out);
    actors_msg_destroy(&m);
}
END_TEST

START_TEST(test_json_dump_escapes_strings)
{
    actors_msg_t *m = NULL;
    TEST_ASSERT_OK(actors_msg_create(&m));
    TEST_ASSERT_OK(actors_msg_add_strn(m, "a\"b\\c\n\t\x01\0z", 10));
    char *out = s_dump_msg(m);
    ck_assert_str_eq(out, "\"a\\\"b\\\\c\\n\\t\\u0001\\u0000z\"");
    free(out);
    actors_msg_destroy(&m);
    s_check_roundtrip("\"caf\\u00e9 \\u2603\"", "\"caf\xc3\xa9 \xe2\x98\x83\"");
}
END_TEST

START_TEST(test_json_dump_non_json_types)
{
    actors_msg_t *m = NULL;
    TEST_ASSERT_OK(actors_msg_build(&m, "[B{iisn}udd]", "\x01\xab", (size_t)2,
        1, 2, "k", (uint64_t)UINT64_MAX, NAN, -INFINITY));
    char *out = s_dump_msg(m);
    ck_assert_str_eq(out, "[{\"$bin\":\"01ab\"},{\"1\":2,\"k\":null},"
                          "18446744073709551615,NaN,-Infinity]");
    free(out);
    actors_msg_destroy(&m);

    out = NULL;
    TEST_ASSERT_OK(actors_json_dump(NULL, &out));
    ck_assert_str_eq(out, "null");
    free(out);

    msgpack_object f32 = {.type = MSGPACK_OBJECT_FLOAT32};
    f32.via.f64 = (float)0.1;
    TEST_ASSERT_OK(actors_json_dump(&f32, &out));
    ck_assert_str_eq(out, "0.1");
    free(out);
}
END_TEST

/* s_dump_raw decodes raw msgpack bytes and dumps them. */
static char *
s_dump_raw(const char *data, size_t len)
{
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    ck_assert_int_eq(
        msgpack_unpack_next(&up, data, len, &off), MSGPACK_UNPACK_SUCCESS);
    ck_assert_uint_eq(off, len);
    char *out = NULL;
    TEST_ASSERT_OK(actors_json_dump(&up.data, &out));
    msgpack_unpacked_destroy(&up);
    return out;
}

/* s_key_chain writes {{..{1: nil}..}: nil}, depth maps each the key of the
 * next, into buf (2 * depth + 1 bytes) and returns its length. */
static size_t
s_key_chain(char *buf, int depth)
{
    size_t n = 0;
    for (int i = 0; i < depth; i++) {
        buf[n++] = (char)0x81; /* fixmap of one pair: its key comes next */
    }
    buf[n++] = 0x01; /* the innermost key */
    for (int i = 0; i < depth; i++) {
        buf[n++] = (char)0xc0; /* each map's value, innermost first */
    }
    return n;
}

/* A key that is not a string is shown as one JSON string holding the key's
 * compact JSON text, in which keys that are not strings appear as their
 * text, unquoted: every key is escaped once, so the output grows with the
 * input and not with 2^depth (a 49-byte reply nested 24 deep used to print
 * 33 MB). */
START_TEST(test_json_dump_non_string_keys_are_linear)
{
    char buf[80];
    char *out = s_dump_raw(buf, s_key_chain(buf, 1));
    ck_assert_str_eq(out, "{\"1\":null}");
    free(out);
    out = s_dump_raw(buf, s_key_chain(buf, 2));
    ck_assert_str_eq(out, "{\"{1:null}\":null}");
    free(out);
    out = s_dump_raw(buf, s_key_chain(buf, 3));
    ck_assert_str_eq(out, "{\"{{1:null}:null}\":null}");
    free(out);
    /* Strings inside a key keep their quotes, escaped once with the key. */
    const char skey[] = "\x81\x91\xa3"
                        "a\"b\x02";
    out = s_dump_raw(skey, sizeof skey - 1);
    ck_assert_str_eq(out, "{\"[\\\"a\\\\\\\"b\\\"]\":2}");
    free(out);
    const char mkey[] = "\x81\x81\xa1k\x81\x02\x03\xc0";
    out = s_dump_raw(mkey, sizeof mkey - 1);
    ck_assert_str_eq(out, "{\"{\\\"k\\\":{2:3}}\":null}");
    free(out);
    for (int depth = 1; depth <= 32; depth++) {
        size_t len = s_key_chain(buf, depth);
        out = s_dump_raw(buf, len);
        ck_assert_msg(strlen(out) <= 8 * len + 16,
            "depth %d: %zu bytes of msgpack gave %zu of JSON", depth, len,
            strlen(out));
        free(out);
    }
    ck_assert_uint_eq(s_key_chain(buf, 24), 49);
}
END_TEST

START_TEST(test_json_dump_survives_oom)
{
    actors_msg_t *m = NULL;
    TEST_ASSERT_OK(actors_msg_build(&m, "{s[ids]i{}}", "key", 1, 2.5,
        "a long enough string to need the buffer to grow more than once", 3));
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    ck_assert_int_eq(
        msgpack_unpack_next(&up, actors_msg_data(m), actors_msg_size(m), &off),
        MSGPACK_UNPACK_SUCCESS);
    for (unsigned n = 1;; n++) {
        char *out = (char *)"sentinel";
        actors__alloc_fail_after(n);
        actors_err rc = actors_json_dump(&up.data, &out);
        actors__alloc_fail_after(0);
        if (rc == ACTORS_OK) {
            ck_assert_ptr_nonnull(strstr(out, "\"key\":[1,2.5,"));
            free(out);
            break;
        }
        TEST_ASSERT_ERR(rc, ACTORS_ENOMEM);
        ck_assert_ptr_null(out);
    }
    msgpack_unpacked_destroy(&up);
    actors_msg_destroy(&m);
}
END_TEST

Suite *json_suite(void);

Suite *
json_suite(void)
{
    Suite *s = suite_create("json");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_json_scalars_roundtrip);
    tcase_add_test(tc, test_json_containers_roundtrip);
    tcase_add_test(tc, test_json_bare_word_is_string);
    tcase_add_test(tc, test_json_big_integers);
    tcase_add_test(tc, test_json_non_finite_numbers);
    tcase_add_test(tc, test_json_invalid_text_leaves_msg_unchanged);
    tcase_add_test(tc, test_json_add_survives_oom);
    tcase_add_test(tc, test_json_dump_escapes_strings);
    tcase_add_test(tc, test_json_dump_non_json_types);
    tcase_add_test(tc, test_json_dump_non_string_keys_are_linear);
    tcase_add_test(tc, test_json_dump_survives_oom);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(json_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
