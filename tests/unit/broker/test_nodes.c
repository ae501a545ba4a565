/* tests/unit/broker/test_nodes.c - the node table.
 * SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "../../testutil.h"
#include "../../../broker/nodes.h"

START_TEST(test_nodes_add_find_remove)
{
    brk_nodes_t t;
    brk_nodes_init(&t);
    uint32_t a = BRK_NONE;
    uint32_t b = BRK_NONE;
    TEST_ASSERT_OK(brk_nodes_add(&t, "n1", 11, &a));
    TEST_ASSERT_OK(brk_nodes_add(&t, "n2", 12, &b));
    ck_assert_uint_ne(a, b);
    ck_assert_uint_eq(t.count, 2);
    ck_assert_uint_eq(brk_nodes_find_name(&t, "n2"), b);
    ck_assert_uint_eq(brk_nodes_find_name(&t, "n3"), BRK_NONE);
    ck_assert_uint_eq(brk_nodes_find_conn(&t, 11), a);
    ck_assert_uint_eq(brk_nodes_find_conn(&t, 12), b);
    ck_assert_uint_eq(brk_nodes_find_conn(&t, 13), BRK_NONE);
    brk_nodes_remove(&t, a);
    ck_assert_uint_eq(t.count, 1);
    ck_assert_uint_eq(brk_nodes_find_name(&t, "n1"), BRK_NONE);
    ck_assert_uint_eq(brk_nodes_find_conn(&t, 11), BRK_NONE);
    uint32_t c = BRK_NONE;
    TEST_ASSERT_OK(brk_nodes_add(&t, "n3", 13, &c));
    ck_assert_uint_eq(c, a); /* the free place is reused */
    brk_nodes_fini(&t);
}
END_TEST

START_TEST(test_nodes_bad_lengths)
{
    brk_nodes_t t;
    brk_nodes_init(&t);
    uint32_t i = 7;
    char longname[300];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    TEST_ASSERT_ERR(brk_nodes_add(&t, "", 1, &i), ACTORS_EINVAL);
    TEST_ASSERT_ERR(brk_nodes_add(&t, longname, 1, &i), ACTORS_EINVAL);
    ck_assert_uint_eq(i, 7);
    ck_assert_uint_eq(t.count, 0);
    brk_nodes_fini(&t);
}
END_TEST

/* The least-loaded live node wins, ties to the lowest index; the
 * excluded one (a lost node) is never picked. */
START_TEST(test_nodes_pick_least_loaded)
{
    brk_nodes_t t;
    brk_nodes_init(&t);
    ck_assert_uint_eq(brk_nodes_pick(&t, BRK_NONE), BRK_NONE);
    uint32_t n[3];
    TEST_ASSERT_OK(brk_nodes_add(&t, "a", 0, &n[0]));
    TEST_ASSERT_OK(brk_nodes_add(&t, "b", 1, &n[1]));
    TEST_ASSERT_OK(brk_nodes_add(&t, "c", 2, &n[2]));
    ck_assert_uint_eq(brk_nodes_pick(&t, BRK_NONE), n[0]);
    brk_nodes_at(&t, n[0])->load = 3;
    brk_nodes_at(&t, n[1])->load = 1;
    brk_nodes_at(&t, n[2])->load = 2;
    ck_assert_uint_eq(brk_nodes_pick(&t, BRK_NONE), n[1]);
    ck_assert_uint_eq(brk_nodes_pick(&t, n[1]), n[2]);
    brk_nodes_remove(&t, n[2]);
    ck_assert_uint_eq(brk_nodes_pick(&t, n[1]), n[0]);
    brk_nodes_remove(&t, n[0]);
    ck_assert_uint_eq(brk_nodes_pick(&t, n[1]), BRK_NONE);
    brk_nodes_fini(&t);
}
END_TEST

/* A draining node gets no new placement, however idle it is. */
START_TEST(test_nodes_pick_skips_draining)
{
    brk_nodes_t t;
    brk_nodes_init(&t);
    uint32_t n[2];
    TEST_ASSERT_OK(brk_nodes_add(&t, "a", 0, &n[0]));
    TEST_ASSERT_OK(brk_nodes_add(&t, "b", 1, &n[1]));
    brk_nodes_at(&t, n[1])->load = 5;
    brk_nodes_at(&t, n[0])->is_draining = 1;
    ck_assert_uint_eq(brk_nodes_pick(&t, BRK_NONE), n[1]);
    brk_nodes_at(&t, n[1])->is_draining = 1;
    ck_assert_uint_eq(brk_nodes_pick(&t, BRK_NONE), BRK_NONE);
    brk_nodes_fini(&t);
}
END_TEST

/* Allocation failure leaves the table as it was. */
START_TEST(test_nodes_add_survives_oom)
{
    for (unsigned k = 1;; k++) {
        brk_nodes_t t;
        brk_nodes_init(&t);
        uint32_t i = BRK_NONE;
        testutil_fail_alloc_after(k);
        actors_err rc = brk_nodes_add(&t, "n", 0, &i);
        testutil_fail_alloc_after(0);
        if (rc == ACTORS_OK) {
            ck_assert_uint_eq(t.count, 1);
            brk_nodes_fini(&t);
            break;
        }
        ck_assert_int_eq(rc, ACTORS_ENOMEM);
        ck_assert_uint_eq(t.count, 0);
        brk_nodes_fini(&t);
    }
}
END_TEST

Suite *nodes_suite(void);

Suite *
nodes_suite(void)
{
    Suite *s = suite_create("nodes");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_nodes_add_find_remove);
    tcase_add_test(tc, test_nodes_bad_lengths);
    tcase_add_test(tc, test_nodes_pick_least_loaded);
    tcase_add_test(tc, test_nodes_pick_skips_draining);
    tcase_add_test(tc, test_nodes_add_survives_oom);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(nodes_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
