/* tests/unit/broker/test_deadlines.c - the deadlines: lanes and heap.
 * SPDX-License-Identifier: MIT */
#include <stdlib.h>

#include <check.h>

#include "../../testutil.h"
#include "../../../broker/deadlines.h"
#include "../../../broker/slots.h"

#define N 500

static uint32_t s_pos[N]; /* where the heap says each id sits */

static void
s_on_pos(void *arg, uint32_t id, uint32_t pos)
{
    ck_assert_ptr_eq(arg, s_pos);
    ck_assert_uint_lt(id, N);
    s_pos[id] = pos;
}

/* s_check verifies the heap property, that every lane is sorted, and
 * the reported positions. */
static void
s_check(const brk_deadlines_t *d)
{
    for (uint32_t i = 0; i < d->n; i++) {
        ck_assert_uint_eq(s_pos[d->v[i].id], i);
        if (i > 0) {
            ck_assert_int_le(d->v[(i - 1) / 2].when, d->v[i].when);
        }
    }
    uint32_t in_lanes = 0;
    for (int l = 0; l < BRK_DL_LANES; l++) {
        uint32_t prev = BRK_DL_NIL;
        for (uint32_t id = d->lane[l].head; id != BRK_DL_NIL;
             id = d->link[id].next) {
            ck_assert_uint_eq(s_pos[id], BRK_DL_LANE_BIT | id);
            ck_assert_uint_eq(d->link[id].prev, prev);
            if (prev != BRK_DL_NIL) {
                ck_assert_int_le(d->link[prev].when, d->link[id].when);
            }
            prev = id;
            in_lanes++;
        }
        ck_assert_uint_eq(d->lane[l].tail, prev);
    }
    ck_assert_uint_eq(in_lanes, d->in_lanes);
}

/* s_drain pops everything, checking the order; returns how many. */
static uint32_t
s_drain(brk_deadlines_t *d)
{
    int64_t last = -1;
    int64_t when;
    uint32_t id;
    uint32_t n = 0;
    while (brk_deadlines_peek(d, &when, &id)) {
        ck_assert_int_ge(when, last);
        ck_assert_uint_ne(s_pos[id], BRK_NONE);
        last = when;
        ck_assert(brk_deadlines_pop(d));
        ck_assert_uint_eq(s_pos[id], BRK_NONE);
        n++;
        if (n % 50 == 0) {
            s_check(d);
        }
    }
    ck_assert(!brk_deadlines_pop(d));
    return n;
}

START_TEST(test_deadlines_pop_in_order)
{
    brk_deadlines_t d;
    brk_deadlines_init(&d, s_on_pos, s_pos);
    ck_assert(!brk_deadlines_peek(&d, NULL, NULL));
    srand(7);
    for (uint32_t i = 0; i < N; i++) {
        TEST_ASSERT_OK(brk_deadlines_push(&d, rand() % 1000, i % 20, i));
    }
    s_check(&d);
    ck_assert_uint_gt(d.n, 0); /* random times: most go to the heap */
    ck_assert_uint_eq(s_drain(&d), N);
    brk_deadlines_fini(&d);
}
END_TEST

START_TEST(test_deadlines_remove_anywhere)
{
    brk_deadlines_t d;
    brk_deadlines_init(&d, s_on_pos, s_pos);
    srand(11);
    for (uint32_t i = 0; i < N; i++) {
        /* Mostly two timeouts in time order (lanes), some at random. */
        int64_t now = i / 4;
        uint32_t key = i % 5 == 4 ? 7 : (i % 2 ? 30 : 5);
        int64_t when = key == 7 ? rand() % 100 : now + key;
        TEST_ASSERT_OK(brk_deadlines_push(&d, when, key, i));
    }
    s_check(&d);
    ck_assert_uint_gt(d.in_lanes, N / 2);
    /* Remove every third id wherever it sits (answered calls). */
    for (uint32_t i = 0; i < N; i += 3) {
        brk_deadlines_remove(&d, s_pos[i]);
        ck_assert_uint_eq(s_pos[i], BRK_NONE);
        s_check(&d);
    }
    int64_t when;
    uint32_t id;
    uint32_t left = 0;
    while (brk_deadlines_peek(&d, &when, &id)) {
        ck_assert_uint_ne(id % 3, 0);
        ck_assert(brk_deadlines_pop(&d));
        left++;
    }
    ck_assert_uint_eq(left, N - (N + 2) / 3);
    brk_deadlines_fini(&d);
}
END_TEST

/* One timeout, calls answered in order: everything stays in one lane,
 * no heap, and removing the oldest is what the broker does per reply. */
START_TEST(test_deadlines_one_timeout_is_a_lane)
{
    brk_deadlines_t d;
    brk_deadlines_init(&d, s_on_pos, s_pos);
    for (uint32_t i = 0; i < N; i++) {
        TEST_ASSERT_OK(brk_deadlines_push(&d, 30000 + i / 10, 30000, i));
        ck_assert_uint_eq(s_pos[i], BRK_DL_LANE_BIT | i);
    }
    ck_assert_uint_eq(d.n, 0);
    ck_assert_uint_eq(d.in_lanes, N);
    s_check(&d);
    for (uint32_t i = 0; i < N / 2; i++) {
        brk_deadlines_remove(&d, s_pos[i]);
    }
    s_check(&d);
    /* The same id comes back (a slot reused) with a later deadline. */
    TEST_ASSERT_OK(brk_deadlines_push(&d, 40000, 30000, 0));
    ck_assert_uint_eq(s_pos[0], BRK_DL_LANE_BIT | 0);
    /* One out of order for its key's lane goes to the heap. */
    TEST_ASSERT_OK(brk_deadlines_push(&d, 1, 30000, 1));
    ck_assert_uint_eq(s_pos[1], 0);
    s_check(&d);
    ck_assert_uint_eq(s_drain(&d), N - N / 2 + 2);
    brk_deadlines_fini(&d);
}
END_TEST

START_TEST(test_deadlines_push_survives_oom)
{
    brk_deadlines_t d;
    brk_deadlines_init(&d, s_on_pos, s_pos);
    /* No memory for the links: the item goes to the heap instead. */
    testutil_fail_alloc_after(1);
    TEST_ASSERT_OK(brk_deadlines_push(&d, 5, 5, 1));
    testutil_fail_alloc_after(0);
    ck_assert_uint_eq(s_pos[1], 0);
    /* Every lane taken by another key: the next item needs the heap,
     * whose growth fails; nothing changes. */
    for (uint32_t i = 0; i < BRK_DL_LANES; i++) {
        TEST_ASSERT_OK(brk_deadlines_push(&d, 1000 - i, i, 10 + i));
    }
    for (uint32_t i = 0; i < 63; i++) {
        TEST_ASSERT_OK(brk_deadlines_push(&d, 1, 100, 100 + i));
    }
    ck_assert_uint_eq(d.n, d.cap);
    s_pos[200] = 12345;
    testutil_fail_alloc_after(1);
    TEST_ASSERT_ERR(brk_deadlines_push(&d, 2, 100, 200), ACTORS_ENOMEM);
    testutil_fail_alloc_after(0);
    ck_assert_uint_eq(s_pos[200], 12345); /* never reported */
    s_check(&d);
    TEST_ASSERT_OK(brk_deadlines_push(&d, 2, 100, 200));
    s_check(&d);
    ck_assert_uint_eq(s_drain(&d), 1 + BRK_DL_LANES + 63 + 1);
    brk_deadlines_fini(&d);
}
END_TEST

Suite *deadlines_suite(void);

Suite *
deadlines_suite(void)
{
    Suite *s = suite_create("deadlines");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_deadlines_pop_in_order);
    tcase_add_test(tc, test_deadlines_remove_anywhere);
    tcase_add_test(tc, test_deadlines_one_timeout_is_a_lane);
    tcase_add_test(tc, test_deadlines_push_survives_oom);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(deadlines_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
