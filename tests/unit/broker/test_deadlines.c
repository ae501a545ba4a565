/* tests/unit/broker/test_deadlines.c - the min-heap of deadlines.
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

/* s_check verifies the heap property and the reported positions. */
static void
s_check(const brk_deadlines_t *d)
{
    for (uint32_t i = 0; i < d->n; i++) {
        ck_assert_uint_eq(s_pos[d->v[i].id], i);
        if (i > 0) {
            ck_assert_int_le(d->v[(i - 1) / 2].when, d->v[i].when);
        }
    }
}

START_TEST(test_deadlines_pop_in_order)
{
    brk_deadlines_t d;
    brk_deadlines_init(&d, s_on_pos, s_pos);
    ck_assert(!brk_deadlines_peek(&d, NULL, NULL));
    srand(7);
    for (uint32_t i = 0; i < N; i++) {
        TEST_ASSERT_OK(brk_deadlines_push(&d, rand() % 1000, i));
    }
    s_check(&d);
    int64_t last = -1;
    int64_t when;
    uint32_t id;
    uint32_t n = 0;
    while (brk_deadlines_peek(&d, &when, &id)) {
        ck_assert_int_ge(when, last);
        ck_assert_uint_eq(s_pos[id], 0);
        last = when;
        brk_deadlines_remove(&d, 0);
        ck_assert_uint_eq(s_pos[id], BRK_NONE);
        n++;
    }
    ck_assert_uint_eq(n, N);
    brk_deadlines_fini(&d);
}
END_TEST

START_TEST(test_deadlines_remove_anywhere)
{
    brk_deadlines_t d;
    brk_deadlines_init(&d, s_on_pos, s_pos);
    srand(11);
    for (uint32_t i = 0; i < N; i++) {
        TEST_ASSERT_OK(brk_deadlines_push(&d, rand() % 100, i));
    }
    /* Remove every third id wherever it sits (answered calls). */
    for (uint32_t i = 0; i < N; i += 3) {
        brk_deadlines_remove(&d, s_pos[i]);
        ck_assert_uint_eq(s_pos[i], BRK_NONE);
        s_check(&d);
    }
    int64_t last = -1;
    int64_t when;
    uint32_t id;
    while (brk_deadlines_peek(&d, &when, &id)) {
        ck_assert_uint_ne(id % 3, 0);
        ck_assert_int_ge(when, last);
        last = when;
        brk_deadlines_remove(&d, 0);
    }
    brk_deadlines_fini(&d);
}
END_TEST

START_TEST(test_deadlines_push_survives_oom)
{
    brk_deadlines_t d;
    brk_deadlines_init(&d, s_on_pos, s_pos);
    testutil_fail_alloc_after(1);
    TEST_ASSERT_ERR(brk_deadlines_push(&d, 5, 1), ACTORS_ENOMEM);
    testutil_fail_alloc_after(0);
    ck_assert(!brk_deadlines_peek(&d, NULL, NULL));
    TEST_ASSERT_OK(brk_deadlines_push(&d, 5, 1));
    ck_assert_uint_eq(s_pos[1], 0);
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
