/* tests/unit/libactors/test_unpack.c - the header walk before decoding.
 * SPDX-License-Identifier: MIT */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <actors/msg.h>

#include "unpack.h"

/* Every type the packer makes is accepted, and the walk ends exactly where
 * msgpack-c's decode ends. */
START_TEST(test_unpack_accepts_what_the_packer_makes)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 12);
    msgpack_pack_nil(&pk);
    msgpack_pack_true(&pk);
    msgpack_pack_int64(&pk, -5);
    msgpack_pack_int64(&pk, -70000);
    msgpack_pack_uint64(&pk, 1ull << 40);
    msgpack_pack_double(&pk, 2.5);
    msgpack_pack_float(&pk, 1.5f);
    msgpack_pack_str_with_body(&pk, "hello", 5);
    char big[70000];
    memset(big, 'x', sizeof big);
    msgpack_pack_bin_with_body(&pk, big, sizeof big);
    msgpack_pack_map(&pk, 1);
    msgpack_pack_str_with_body(&pk, "k", 1);
    msgpack_pack_array(&pk, 0);
    msgpack_pack_ext_with_body(&pk, "abcd", 4, 7);
    msgpack_pack_str_with_body(&pk, big, 300);
    size_t off = 0;
    ck_assert_int_eq(
        actors__unpack_check(sb.data, sb.size, &off), MSGPACK_UNPACK_SUCCESS);
    ck_assert_uint_eq(off, sb.size);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    off = 0;
    ck_assert_int_eq(actors__unpack_next(&up, sb.data, sb.size, &off),
        MSGPACK_UNPACK_SUCCESS);
    ck_assert_int_eq(up.data.type, MSGPACK_OBJECT_ARRAY);
    ck_assert_uint_eq(up.data.via.array.size, 12);
    msgpack_unpacked_destroy(&up);
    msgpack_sbuffer_destroy(&sb);
}
END_TEST

START_TEST(test_unpack_rejects_announced_items_that_are_not_there)
{
    /* array32 of 2^32-1 items, map32 of 2^31 pairs, array16 of 3 with 2. */
    const char a32[] = "\xdd\xff\xff\xff\xff\x01";
    const char m32[] = "\xdf\x80\x00\x00\x00\x01\x01";
    const char a16[] = "\xdc\x00\x03\x01\x02";
    const char nested[] = "\x91\xdd\x10\x00\x00\x00";
    size_t off = 0;
    ck_assert_int_eq(actors__unpack_check(a32, sizeof a32 - 1, &off),
        MSGPACK_UNPACK_PARSE_ERROR);
    off = 0;
    ck_assert_int_eq(actors__unpack_check(m32, sizeof m32 - 1, &off),
        MSGPACK_UNPACK_PARSE_ERROR);
    off = 0;
    ck_assert_int_eq(actors__unpack_check(a16, sizeof a16 - 1, &off),
        MSGPACK_UNPACK_PARSE_ERROR);
    off = 0;
    ck_assert_int_eq(actors__unpack_check(nested, sizeof nested - 1, &off),
        MSGPACK_UNPACK_PARSE_ERROR);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    off = 0;
    ck_assert_int_eq(actors__unpack_next(&up, a32, sizeof a32 - 1, &off),
        MSGPACK_UNPACK_PARSE_ERROR);
    msgpack_unpacked_destroy(&up);
}
END_TEST

START_TEST(test_unpack_reports_truncation_and_bad_bytes)
{
    size_t off = 0;
    ck_assert_int_eq(actors__unpack_check("\xcb\x00\x00", 3, &off),
        MSGPACK_UNPACK_CONTINUE); /* float64 cut short */
    off = 0;
    ck_assert_int_eq(actors__unpack_check("\xa5hel", 4, &off),
        MSGPACK_UNPACK_CONTINUE); /* str of 5 with 3 */
    off = 0;
    ck_assert_int_eq(actors__unpack_check("\xc1", 1, &off),
        MSGPACK_UNPACK_PARSE_ERROR); /* never used */
    off = 0;
    ck_assert_int_eq(
        actors__unpack_check("", 0, &off), MSGPACK_UNPACK_CONTINUE);
    off = 0;
    ck_assert_int_eq(actors__unpack_check("\xdb\xff\xff\xff\xff", 5, &off),
        MSGPACK_UNPACK_CONTINUE); /* a str32 claim is only a length */
}
END_TEST

START_TEST(test_unpack_limits_nesting)
{
    char deep[ACTORS__UNPACK_MAX_DEPTH + 2];
    memset(deep, 0x91, sizeof deep); /* [[[[...]]]] */
    deep[sizeof deep - 1] = 0x01;
    size_t off = 0;
    ck_assert_int_eq(actors__unpack_check(deep, sizeof deep, &off),
        MSGPACK_UNPACK_PARSE_ERROR);
    char ok[ACTORS__UNPACK_MAX_DEPTH + 1];
    memset(ok, 0x91, sizeof ok);
    ok[sizeof ok - 1] = 0x01;
    off = 0;
    ck_assert_int_eq(
        actors__unpack_check(ok, sizeof ok, &off), MSGPACK_UNPACK_SUCCESS);
}
END_TEST

START_TEST(test_unpack_walks_consecutive_values)
{
    const char two[] = "\x01\x92\x02\x03";
    size_t off = 0;
    ck_assert_int_eq(
        actors__unpack_check(two, 4, &off), MSGPACK_UNPACK_SUCCESS);
    ck_assert_uint_eq(off, 1);
    ck_assert_int_eq(
        actors__unpack_check(two, 4, &off), MSGPACK_UNPACK_SUCCESS);
    ck_assert_uint_eq(off, 4);
}
END_TEST

Suite *unpack_suite(void);

Suite *
unpack_suite(void)
{
    Suite *s = suite_create("unpack");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_unpack_accepts_what_the_packer_makes);
    tcase_add_test(tc, test_unpack_rejects_announced_items_that_are_not_there);
    tcase_add_test(tc, test_unpack_reports_truncation_and_bad_bytes);
    tcase_add_test(tc, test_unpack_limits_nesting);
    tcase_add_test(tc, test_unpack_walks_consecutive_values);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(unpack_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
