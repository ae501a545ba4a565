/* tests/unit/libactors/test_unpack.c - the header walk before decoding.
 * SPDX-License-Identifier: MIT */
#include <check.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <actors/msg.h>

#include <actors-internal/unpack.h>

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

/* s_nest writes a value nested depth containers deep into buf (at least
 * 2 * depth + 1 bytes) and returns its length. Shapes: 0 [[..[1]..]],
 * 1 [[..[]..]] (the innermost container empty), 2 {"":{"":..1}} (maps
 * by value), 3 {{..{1:1}..}:1} (maps by key). */
static size_t
s_nest(char *buf, int depth, int shape)
{
    size_t n = 0;
    for (int i = 0; i < depth; i++) {
        bool last = i == depth - 1;
        switch (shape) {
        case 0:
            buf[n++] = (char)0x91;
            break;
        case 1:
            buf[n++] = (char)(last ? 0x90 : 0x91);
            break;
        case 2:
            buf[n++] = (char)0x81;
            buf[n++] = (char)0xa0; /* key "" */
            break;
        default:
            buf[n++] = (char)0x81; /* the key follows; its value after */
            break;
        }
    }
    if (shape == 1) {
        return n;
    }
    buf[n++] = 0x01;
    if (shape == 3) {
        for (int i = 0; i < depth; i++) {
            buf[n++] = 0x01; /* each map's value */
        }
    }
    return n;
}

/* The walk refuses exactly what msgpack-c itself cannot decode: with the
 * installed msgpack-c, a value nested 32 containers deep decodes and one
 * nested 33 deep fails with NOMEM_ERROR (its MSGPACK_EMBED_STACK_SIZE),
 * an empty innermost container counting as a level. */
START_TEST(test_unpack_depth_matches_msgpack_c)
{
    ck_assert_int_eq(ACTORS__UNPACK_MAX_DEPTH, 32);
    char buf[4 * 80];
    for (int shape = 0; shape < 4; shape++) {
        for (int depth = 1; depth <= 70; depth++) {
            size_t len = s_nest(buf, depth, shape);
            msgpack_unpacked up;
            msgpack_unpacked_init(&up);
            size_t off = 0;
            msgpack_unpack_return lib =
                msgpack_unpack_next(&up, buf, len, &off);
            msgpack_unpacked_destroy(&up);
            off = 0;
            msgpack_unpack_return ours = actors__unpack_check(buf, len, &off);
            bool fits = depth <= ACTORS__UNPACK_MAX_DEPTH;
            ck_assert_msg(ours == (fits ? MSGPACK_UNPACK_SUCCESS
                                        : MSGPACK_UNPACK_PARSE_ERROR),
                "shape %d depth %d: walk says %d", shape, depth, (int)ours);
            ck_assert_msg(lib == (fits ? MSGPACK_UNPACK_SUCCESS
                                       : MSGPACK_UNPACK_NOMEM_ERROR),
                "shape %d depth %d: msgpack-c says %d", shape, depth, (int)lib);
            if (fits) {
                ck_assert_uint_eq(off, len);
            }
            msgpack_unpacked_init(&up);
            off = 0;
            ck_assert_int_eq(actors__unpack_next(&up, buf, len, &off),
                fits ? MSGPACK_UNPACK_SUCCESS : MSGPACK_UNPACK_PARSE_ERROR);
            msgpack_unpacked_destroy(&up);
        }
    }
}
END_TEST

/* The deepest value accepted decodes and packs back to the same bytes. */
START_TEST(test_unpack_deepest_value_round_trips)
{
    char buf[4 * 40];
    for (int shape = 0; shape < 4; shape++) {
        size_t len = s_nest(buf, ACTORS__UNPACK_MAX_DEPTH, shape);
        msgpack_unpacked up;
        msgpack_unpacked_init(&up);
        size_t off = 0;
        ck_assert_int_eq(
            actors__unpack_next(&up, buf, len, &off), MSGPACK_UNPACK_SUCCESS);
        msgpack_sbuffer sb;
        msgpack_sbuffer_init(&sb);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        ck_assert_int_eq(msgpack_pack_object(&pk, up.data), 0);
        ck_assert_uint_eq(sb.size, len);
        ck_assert_mem_eq(sb.data, buf, len);
        msgpack_sbuffer_destroy(&sb);
        msgpack_unpacked_destroy(&up);
    }
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
    tcase_add_test(tc, test_unpack_depth_matches_msgpack_c);
    tcase_add_test(tc, test_unpack_deepest_value_round_trips);
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
