/* tests/unit/broker/test_mailbox.c - FIFO lists of slots.
 * SPDX-License-Identifier: MIT */
#include <stdlib.h>

#include <check.h>

#include "../../testutil.h"
#include "../../../broker/mailbox.h"

static brk_slots_t s_slots;
static uint32_t s_idx[8];

static void
s_setup(void)
{
    ck_assert_int_eq(brk_slots_init(&s_slots, 8), ACTORS_OK);
    for (int i = 0; i < 8; i++) {
        ck_assert_int_eq(brk_slots_alloc(&s_slots, &s_idx[i]), ACTORS_OK);
    }
}

static void
s_teardown(void)
{
    brk_slots_fini(&s_slots);
}

START_TEST(test_mailbox_fifo_order)
{
    brk_mailbox_t mb;
    brk_mailbox_init(&mb);
    ck_assert(brk_mailbox_empty(&mb));
    ck_assert_uint_eq(brk_mailbox_pop(&mb, &s_slots), BRK_NONE);
    for (int i = 0; i < 5; i++) {
        TEST_ASSERT_OK(brk_mailbox_push(&mb, &s_slots, s_idx[i], 10));
    }
    ck_assert_uint_eq(mb.count, 5);
    for (int i = 0; i < 5; i++) {
        ck_assert_uint_eq(brk_mailbox_pop(&mb, &s_slots), s_idx[i]);
    }
    ck_assert(brk_mailbox_empty(&mb));
    ck_assert_uint_eq(mb.head, BRK_NONE);
    ck_assert_uint_eq(mb.tail, BRK_NONE);
}
END_TEST

START_TEST(test_mailbox_bounded)
{
    brk_mailbox_t mb;
    brk_mailbox_init(&mb);
    TEST_ASSERT_OK(brk_mailbox_push(&mb, &s_slots, s_idx[0], 2));
    TEST_ASSERT_OK(brk_mailbox_push(&mb, &s_slots, s_idx[1], 2));
    TEST_ASSERT_ERR(brk_mailbox_push(&mb, &s_slots, s_idx[2], 2), ACTORS_EFULL);
    ck_assert_uint_eq(mb.count, 2);
    ck_assert_uint_eq(mb.tail, s_idx[1]);
    ck_assert_uint_eq(brk_mailbox_pop(&mb, &s_slots), s_idx[0]);
    TEST_ASSERT_OK(brk_mailbox_push(&mb, &s_slots, s_idx[2], 2));
}
END_TEST

START_TEST(test_mailbox_remove_anywhere)
{
    brk_mailbox_t mb;
    brk_mailbox_init(&mb);
    for (int i = 0; i < 6; i++) {
        TEST_ASSERT_OK(brk_mailbox_push(&mb, &s_slots, s_idx[i], 100));
    }
    brk_mailbox_remove(&mb, &s_slots, s_idx[2]); /* middle */
    brk_mailbox_remove(&mb, &s_slots, s_idx[0]); /* head */
    brk_mailbox_remove(&mb, &s_slots, s_idx[5]); /* tail */
    ck_assert_uint_eq(mb.count, 3);
    ck_assert_uint_eq(brk_mailbox_pop(&mb, &s_slots), s_idx[1]);
    ck_assert_uint_eq(brk_mailbox_pop(&mb, &s_slots), s_idx[3]);
    ck_assert_uint_eq(brk_mailbox_pop(&mb, &s_slots), s_idx[4]);
    ck_assert(brk_mailbox_empty(&mb));
    /* The only element. */
    TEST_ASSERT_OK(brk_mailbox_push(&mb, &s_slots, s_idx[7], 100));
    brk_mailbox_remove(&mb, &s_slots, s_idx[7]);
    ck_assert(brk_mailbox_empty(&mb));
    ck_assert_uint_eq(mb.head, BRK_NONE);
    ck_assert_uint_eq(mb.tail, BRK_NONE);
}
END_TEST

START_TEST(test_mailbox_two_lists_share_slots)
{
    brk_mailbox_t a, b;
    brk_mailbox_init(&a);
    brk_mailbox_init(&b);
    for (int i = 0; i < 8; i++) {
        TEST_ASSERT_OK(
            brk_mailbox_push(i % 2 ? &a : &b, &s_slots, s_idx[i], 100));
    }
    /* Move everything from a to b, as dispatch moves mailbox->inflight. */
    uint32_t i;
    while ((i = brk_mailbox_pop(&a, &s_slots)) != BRK_NONE) {
        TEST_ASSERT_OK(brk_mailbox_push(&b, &s_slots, i, 100));
    }
    ck_assert_uint_eq(b.count, 8);
    int k = 0;
    while ((i = brk_mailbox_pop(&b, &s_slots)) != BRK_NONE) {
        uint32_t want = k < 4 ? s_idx[2 * k] : s_idx[2 * (k - 4) + 1];
        ck_assert_uint_eq(i, want);
        k++;
    }
}
END_TEST

/* A call coming back for a retry goes first; several keep their order
 * when pushed to the front newest first. */
START_TEST(test_mailbox_push_front_keeps_order)
{
    brk_mailbox_t mb;
    brk_mailbox_init(&mb);
    ck_assert_int_eq(brk_mailbox_push(&mb, &s_slots, s_idx[2], 8), ACTORS_OK);
    brk_mailbox_push_front(&mb, &s_slots, s_idx[1]);
    brk_mailbox_push_front(&mb, &s_slots, s_idx[0]);
    ck_assert_uint_eq(mb.count, 3);
    for (int i = 0; i < 3; i++) {
        ck_assert_uint_eq(brk_mailbox_pop(&mb, &s_slots), s_idx[i]);
    }
    ck_assert(brk_mailbox_empty(&mb));
    brk_mailbox_push_front(&mb, &s_slots, s_idx[3]);
    ck_assert_uint_eq(mb.head, s_idx[3]);
    ck_assert_uint_eq(mb.tail, s_idx[3]);
    ck_assert_uint_eq(brk_mailbox_pop(&mb, &s_slots), s_idx[3]);
}
END_TEST

Suite *mailbox_suite(void);

Suite *
mailbox_suite(void)
{
    Suite *s = suite_create("mailbox");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 10);
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_mailbox_fifo_order);
    tcase_add_test(tc, test_mailbox_bounded);
    tcase_add_test(tc, test_mailbox_remove_anywhere);
    tcase_add_test(tc, test_mailbox_two_lists_share_slots);
    tcase_add_test(tc, test_mailbox_push_front_keeps_order);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(mailbox_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
