/* tests/unit/broker/test_slots.c - the slab of call slots and their tags.
 * SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "../../testutil.h"
#include <actors-internal/alloc.h>
#include <actors-internal/wire.h>
#include "../../../broker/slots.h"

START_TEST(test_slots_alloc_free_reuse)
{
    brk_slots_t s;
    TEST_ASSERT_OK(brk_slots_init(&s, 2));
    uint32_t a, b, c;
    TEST_ASSERT_OK(brk_slots_alloc(&s, &a));
    TEST_ASSERT_OK(brk_slots_alloc(&s, &b));
    ck_assert_uint_ne(a, b);
    ck_assert_uint_eq(s.live, 2);
    brk_slot_t *sa = brk_slots_at(&s, a);
    ck_assert_uint_eq(sa->state, BRK_SLOT_HELD);
    ck_assert_uint_eq(sa->heap, BRK_NONE);
    ck_assert_uint_eq(sa->next, BRK_NONE);
    ck_assert_int_eq(sa->deadline, 0);
    brk_slots_free(&s, a);
    ck_assert_uint_eq(s.live, 1);
    TEST_ASSERT_OK(brk_slots_alloc(&s, &c));
    ck_assert_uint_eq(c, a); /* the free list is reused first */
    brk_slots_free(&s, b);
    brk_slots_free(&s, c);
    ck_assert_uint_eq(s.live, 0);
    brk_slots_fini(&s);
}
END_TEST

START_TEST(test_slots_grow_keeps_frames)
{
    brk_slots_t s;
    TEST_ASSERT_OK(brk_slots_init(&s, 1));
    uint32_t idx[300];
    for (int i = 0; i < 300; i++) {
        TEST_ASSERT_OK(brk_slots_alloc(&s, &idx[i]));
        brk_slot_t *sl = brk_slots_at(&s, idx[i]);
        zmq_msg_close(&sl->args);
        /* Small (inline) and large (heap) frames both survive moves. */
        size_t n = i % 2 ? 8 : 200;
        ck_assert_int_eq(zmq_msg_init_size(&sl->args, n), 0);
        memset(zmq_msg_data(&sl->args), i & 0xff, n);
    }
    ck_assert_uint_ge(s.cap, 300);
    for (int i = 0; i < 300; i++) {
        brk_slot_t *sl = brk_slots_at(&s, idx[i]);
        size_t n = i % 2 ? 8 : 200;
        ck_assert_uint_eq(zmq_msg_size(&sl->args), n);
        ck_assert_uint_eq(
            ((uint8_t *)zmq_msg_data(&sl->args))[n - 1], (uint8_t)(i & 0xff));
    }
    /* fini closes the frames of live slots (no leak under ASan). */
    brk_slots_fini(&s);
}
END_TEST

START_TEST(test_slots_tags_match_generation)
{
    brk_slots_t s;
    TEST_ASSERT_OK(brk_slots_init(&s, 4));
    uint32_t a;
    TEST_ASSERT_OK(brk_slots_alloc(&s, &a));
    uint8_t tag[BRK_TAG_LEN];
    brk_slots_tag(&s, a, tag);
    ck_assert_uint_eq(brk_slots_find(&s, tag, sizeof tag), a);
    ck_assert_uint_eq(brk_slots_find(&s, tag, 7), BRK_NONE);
    ck_assert_uint_eq(brk_slots_find(&s, NULL, 8), BRK_NONE);
    brk_slots_free(&s, a);
    /* Freed: the old tag no longer matches, nor after reuse. */
    ck_assert_uint_eq(brk_slots_find(&s, tag, sizeof tag), BRK_NONE);
    uint32_t b;
    TEST_ASSERT_OK(brk_slots_alloc(&s, &b));
    ck_assert_uint_eq(b, a);
    ck_assert_uint_eq(brk_slots_find(&s, tag, sizeof tag), BRK_NONE);
    uint8_t tag2[BRK_TAG_LEN];
    brk_slots_tag(&s, b, tag2);
    ck_assert_int_ne(memcmp(tag, tag2, sizeof tag), 0);
    ck_assert_uint_eq(brk_slots_find(&s, tag2, sizeof tag2), b);
    /* An index beyond the slab is no slot. */
    uint8_t bogus[BRK_TAG_LEN] = {0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0};
    ck_assert_uint_eq(brk_slots_find(&s, bogus, sizeof bogus), BRK_NONE);
    brk_slots_free(&s, b);
    brk_slots_fini(&s);
}
END_TEST

/* A CALL in flight at an index under 65536 has a 4-byte tag, which
 * names nothing else: not the slot once freed and reused, not a queued
 * slot, not a TELL; past 65536 slots the call tag is the 8-byte one. */
START_TEST(test_slots_short_call_tags)
{
    brk_slots_t s;
    TEST_ASSERT_OK(brk_slots_init(&s, 4));
    uint32_t a;
    TEST_ASSERT_OK(brk_slots_alloc(&s, &a));
    brk_slot_t *sl = brk_slots_at(&s, a);
    sl->state = BRK_SLOT_INFLIGHT;
    sl->cmd = ACTORS_CMD_CALL;
    uint8_t tag[BRK_TAG_LEN];
    ck_assert_uint_eq(brk_slots_call_tag(&s, a, tag), BRK_TAG_SHORT);
    ck_assert_uint_eq(brk_slots_find(&s, tag, BRK_TAG_SHORT), a);
    ck_assert_uint_eq(brk_slots_find(&s, tag, 3), BRK_NONE);
    sl->state = BRK_SLOT_QUEUED;
    ck_assert_uint_eq(brk_slots_find(&s, tag, BRK_TAG_SHORT), BRK_NONE);
    sl->state = BRK_SLOT_INFLIGHT;
    sl->cmd = ACTORS_CMD_TELL;
    ck_assert_uint_eq(brk_slots_find(&s, tag, BRK_TAG_SHORT), BRK_NONE);
    /* The 8-byte tag still names it, whatever it holds. */
    uint8_t full[BRK_TAG_LEN];
    brk_slots_tag(&s, a, full);
    ck_assert_uint_eq(brk_slots_find(&s, full, sizeof full), a);
    brk_slots_free(&s, a);
    uint32_t b;
    TEST_ASSERT_OK(brk_slots_alloc(&s, &b));
    ck_assert_uint_eq(b, a);
    sl = brk_slots_at(&s, b);
    sl->state = BRK_SLOT_INFLIGHT;
    sl->cmd = ACTORS_CMD_CALL;
    ck_assert_uint_eq(brk_slots_find(&s, tag, BRK_TAG_SHORT), BRK_NONE);
    uint8_t tag2[BRK_TAG_LEN];
    brk_slots_call_tag(&s, b, tag2);
    ck_assert_uint_eq(brk_slots_find(&s, tag2, BRK_TAG_SHORT), b);
    /* Past 65536 slots. */
    uint32_t last = b;
    while (last <= UINT16_MAX) {
        TEST_ASSERT_OK(brk_slots_alloc(&s, &last));
    }
    sl = brk_slots_at(&s, last);
    sl->state = BRK_SLOT_INFLIGHT;
    sl->cmd = ACTORS_CMD_CALL;
    ck_assert_uint_eq(brk_slots_call_tag(&s, last, tag), BRK_TAG_LEN);
    ck_assert_uint_eq(brk_slots_find(&s, tag, BRK_TAG_LEN), last);
    brk_slots_fini(&s);
}
END_TEST

START_TEST(test_slots_init_survives_oom)
{
    for (unsigned n = 1;; n++) {
        brk_slots_t s;
        testutil_fail_alloc_after(n);
        actors_err rc = brk_slots_init(&s, 8);
        testutil_fail_alloc_after(0);
        if (rc == ACTORS_OK) {
            brk_slots_fini(&s);
            break;
        }
        TEST_ASSERT_ERR(rc, ACTORS_ENOMEM);
        brk_slots_fini(&s);
    }
}
END_TEST

START_TEST(test_slots_alloc_survives_oom_when_growing)
{
    brk_slots_t s;
    TEST_ASSERT_OK(brk_slots_init(&s, 1));
    uint32_t a, b;
    TEST_ASSERT_OK(brk_slots_alloc(&s, &a));
    testutil_fail_alloc_after(1);
    TEST_ASSERT_ERR(brk_slots_alloc(&s, &b), ACTORS_ENOMEM);
    testutil_fail_alloc_after(0);
    ck_assert_uint_eq(s.live, 1);
    TEST_ASSERT_OK(brk_slots_alloc(&s, &b));
    brk_slots_fini(&s);
}
END_TEST

Suite *slots_suite(void);

Suite *
slots_suite(void)
{
    Suite *s = suite_create("slots");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_slots_alloc_free_reuse);
    tcase_add_test(tc, test_slots_grow_keeps_frames);
    tcase_add_test(tc, test_slots_tags_match_generation);
    tcase_add_test(tc, test_slots_short_call_tags);
    tcase_add_test(tc, test_slots_init_survives_oom);
    tcase_add_test(tc, test_slots_alloc_survives_oom_when_growing);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(slots_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
