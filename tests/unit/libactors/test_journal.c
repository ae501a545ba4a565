/* tests/unit/libactors/test_journal.c - record framing, CRC32C, torn tails.
 * SPDX-License-Identifier: MIT */
#include <check.h>
#include <string.h>

#include "journal.h"
#include "../../testutil.h"

/* s_event frames the event [seq, id, v, nil] with v an int into sb. */
static void
s_event(msgpack_sbuffer *sb, uint64_t seq, const char *id, int64_t v)
{
    msgpack_sbuffer pay;
    msgpack_sbuffer_init(&pay);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &pay, msgpack_sbuffer_write);
    char ev[9];
    msgpack_sbuffer evb = {0};
    msgpack_packer epk;
    msgpack_packer_init(&epk, &evb, msgpack_sbuffer_write);
    msgpack_pack_int64(&epk, v);
    ck_assert_uint_le(evb.size, sizeof ev);
    memcpy(ev, evb.data, evb.size);
    TEST_ASSERT_OK(actors__journal_event(
        &pk, seq, id, id != NULL ? strlen(id) : 0, ev, evb.size, NULL, 0));
    TEST_ASSERT_OK(actors__journal_frame(sb, pay.data, pay.size));
    msgpack_sbuffer_destroy(&evb);
    msgpack_sbuffer_destroy(&pay);
}

START_TEST(test_journal_crc32c_known_vector)
{
    /* The check value of CRC-32C (RFC 3720 appendix B.4 catalogue). */
    ck_assert_uint_eq(actors__crc32c(0, "123456789", 9), 0xE3069283u);
    ck_assert_uint_eq(actors__crc32c(0, "", 0), 0);
    /* Incremental equals one-shot. */
    uint32_t c = actors__crc32c(0, "1234", 4);
    ck_assert_uint_eq(actors__crc32c(c, "56789", 5), 0xE3069283u);
}
END_TEST

START_TEST(test_journal_records_round_trip)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    s_event(&sb, 1, "req-1", 10);
    s_event(&sb, 2, NULL, -20);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    actors__journal_rec_t rec;
    size_t off = 0;
    TEST_ASSERT_OK(actors__journal_next(&up, sb.data, sb.size, &off, &rec));
    ck_assert(!rec.is_snapshot);
    ck_assert_uint_eq(rec.seq, 1);
    ck_assert_ptr_nonnull(rec.id);
    ck_assert_uint_eq(rec.id->via.bin.size, 5);
    ck_assert_int_eq(memcmp(rec.id->via.bin.ptr, "req-1", 5), 0);
    ck_assert_int_eq(rec.value->via.i64, 10);
    ck_assert_int_eq(rec.result->type, MSGPACK_OBJECT_NIL);
    TEST_ASSERT_OK(actors__journal_next(&up, sb.data, sb.size, &off, &rec));
    ck_assert_uint_eq(rec.seq, 2);
    ck_assert_ptr_null(rec.id);
    ck_assert_int_eq(rec.value->via.i64, -20);
    TEST_ASSERT_ERR(actors__journal_next(&up, sb.data, sb.size, &off, &rec),
        ACTORS_ECLOSED);
    ck_assert_uint_eq(off, sb.size);
    msgpack_unpacked_destroy(&up);
    msgpack_sbuffer_destroy(&sb);
}
END_TEST

/* Every cut inside the last record, and every flipped byte in it, ends the
 * valid prefix right before that record. */
START_TEST(test_journal_torn_or_corrupt_tail_is_detected)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    s_event(&sb, 1, "a", 1);
    size_t first = sb.size;
    s_event(&sb, 2, "b", 2);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    actors__journal_rec_t rec;
    for (size_t cut = first + 1; cut < sb.size; cut++) {
        size_t off = 0;
        TEST_ASSERT_OK(actors__journal_next(&up, sb.data, cut, &off, &rec));
        ck_assert_uint_eq(off, first);
        TEST_ASSERT_ERR(actors__journal_next(&up, sb.data, cut, &off, &rec),
            ACTORS_EMSGPACK);
        ck_assert_uint_eq(off, first);
    }
    for (size_t at = first; at < sb.size; at++) {
        for (int bit = 0; bit < 8; bit++) {
            sb.data[at] ^= (char)(1 << bit);
            size_t off = first;
            TEST_ASSERT_ERR(
                actors__journal_next(&up, sb.data, sb.size, &off, &rec),
                ACTORS_EMSGPACK);
            ck_assert_uint_eq(off, first);
            sb.data[at] ^= (char)(1 << bit);
        }
    }
    msgpack_unpacked_destroy(&up);
    msgpack_sbuffer_destroy(&sb);
}
END_TEST

START_TEST(test_journal_rejects_huge_length_and_wrong_shape)
{
    /* A length field of 4 GiB - 1 must not be believed. */
    const char huge[] = "\xff\xff\xff\xff\0\0\0\0\x90";
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    actors__journal_rec_t rec;
    size_t off = 0;
    TEST_ASSERT_ERR(
        actors__journal_next(&up, huge, sizeof huge - 1, &off, &rec),
        ACTORS_EMSGPACK);
    /* A well-checksummed payload that is not [seq, id, ev, res]. */
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    TEST_ASSERT_OK(actors__journal_frame(&sb, "\x93\x01\xc0\x01", 4));
    off = 0;
    TEST_ASSERT_ERR(actors__journal_next(&up, sb.data, sb.size, &off, &rec),
        ACTORS_EMSGPACK);
    /* An array announcing more items than the payload holds. */
    sb.size = 0;
    TEST_ASSERT_OK(actors__journal_frame(&sb, "\xdd\xff\xff\xff\xff", 5));
    off = 0;
    TEST_ASSERT_ERR(actors__journal_next(&up, sb.data, sb.size, &off, &rec),
        ACTORS_EMSGPACK);
    msgpack_unpacked_destroy(&up);
    msgpack_sbuffer_destroy(&sb);
}
END_TEST

Suite *journal_suite(void);

Suite *
journal_suite(void)
{
    Suite *s = suite_create("journal");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_journal_crc32c_known_vector);
    tcase_add_test(tc, test_journal_records_round_trip);
    tcase_add_test(tc, test_journal_torn_or_corrupt_tail_is_detected);
    tcase_add_test(tc, test_journal_rejects_huge_length_and_wrong_shape);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(journal_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
