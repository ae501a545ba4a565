/* tests/unit/broker/test_events.c - the ring of lifecycle events.
 * SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "../../testutil.h"
#include "../../../broker/events.h"

static void
s_push(brk_events_t *r, const char *kind, int n)
{
    brk_event_t ev;
    memset(&ev, 0, sizeof ev);
    snprintf(ev.kind, sizeof ev.kind, "%s", kind);
    ev.pid = n;
    brk_events_push(r, &ev);
}

START_TEST(test_events_ids_and_since)
{
    brk_events_t r;
    TEST_ASSERT_OK(brk_events_init(&r, 10));
    ck_assert_uint_eq(brk_events_first(&r, 0), 0);
    ck_assert_uint_eq(r.count, 0);
    for (int i = 0; i < 4; i++) {
        s_push(&r, "start", i);
    }
    ck_assert_uint_eq(r.count, 4);
    for (uint32_t k = 0; k < 4; k++) {
        ck_assert_uint_eq(brk_events_get(&r, k)->id, k + 1);
        ck_assert_int_eq(brk_events_get(&r, k)->pid, k);
    }
    ck_assert_uint_eq(brk_events_first(&r, 0), 0);
    ck_assert_uint_eq(brk_events_first(&r, 2), 2); /* ids 3, 4 */
    ck_assert_uint_eq(brk_events_first(&r, 4), 4); /* none */
    ck_assert_uint_eq(brk_events_first(&r, 99), 4);
    brk_events_fini(&r);
}
END_TEST

/* Full: the oldest go, ids keep growing, since still works. */
START_TEST(test_events_ring_drops_oldest)
{
    brk_events_t r;
    TEST_ASSERT_OK(brk_events_init(&r, 3));
    for (int i = 0; i < 7; i++) {
        s_push(&r, "exit", i);
    }
    ck_assert_uint_eq(r.count, 3);
    ck_assert_uint_eq(brk_events_get(&r, 0)->id, 5);
    ck_assert_uint_eq(brk_events_get(&r, 2)->id, 7);
    ck_assert_uint_eq(brk_events_first(&r, 0), 0);
    ck_assert_uint_eq(brk_events_first(&r, 5), 1);
    ck_assert_uint_eq(brk_events_first(&r, 6), 2);
    ck_assert_uint_eq(brk_events_first(&r, 7), 3);
    ck_assert_str_eq(brk_events_get(&r, 1)->kind, "exit");
    brk_events_fini(&r);
}
END_TEST

START_TEST(test_events_init_survives_oom)
{
    brk_events_t r;
    testutil_fail_alloc_after(1);
    actors_err rc = brk_events_init(&r, 1000);
    testutil_fail_alloc_after(0);
    ck_assert_int_eq(rc, ACTORS_ENOMEM);
    brk_events_fini(&r);
    TEST_ASSERT_OK(brk_events_init(&r, 1000));
    ck_assert_uint_eq(r.cap, 1000);
    brk_events_fini(&r);
}
END_TEST

Suite *events_suite(void);

Suite *
events_suite(void)
{
    Suite *s = suite_create("events");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_events_ids_and_since);
    tcase_add_test(tc, test_events_ring_drops_oldest);
    tcase_add_test(tc, test_events_init_survives_oom);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(events_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
