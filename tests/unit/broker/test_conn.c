/* tests/unit/broker/test_conn.c - the table of connections.
 * SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "../../testutil.h"
#include "../../../broker/conn.h"
#include "../../../broker/slots.h"

START_TEST(test_conn_add_find_remove)
{
    brk_conns_t t;
    brk_conns_init(&t);
    uint8_t rid1[5] = {0, 0x80, 0, 0x41, 0xa7};
    uint8_t rid2[5] = {0, 0x80, 0, 0x41, 0xa8};
    uint32_t a, b;
    TEST_ASSERT_OK(brk_conns_add(&t, rid1, 5, 12, &a));
    TEST_ASSERT_OK(brk_conns_add(&t, rid2, 5, -1, &b));
    ck_assert_uint_eq(brk_conns_find(&t, rid1, 5), a);
    ck_assert_uint_eq(brk_conns_find(&t, rid2, 5), b);
    ck_assert_uint_eq(brk_conns_find(&t, rid2, 4), BRK_NONE);
    ck_assert_uint_eq(brk_conns_find(&t, rid2, 0), BRK_NONE);
    brk_conn_t *c = brk_conns_at(&t, a);
    ck_assert_int_eq(c->fd, 12);
    ck_assert_uint_eq(c->roles, 0);
    ck_assert_uint_eq(c->first_entry, BRK_NONE);
    ck_assert_uint_eq(c->ext, BRK_NONE);
    ck_assert_uint_eq(brk_conns_find_fd(&t, 12), a);
    ck_assert_uint_eq(brk_conns_find_fd(&t, -1), BRK_NONE);
    ck_assert_uint_eq(brk_conns_find_fd(&t, 13), BRK_NONE);
    brk_conns_remove(&t, a);
    ck_assert_uint_eq(brk_conns_find(&t, rid1, 5), BRK_NONE);
    ck_assert_uint_eq(brk_conns_find_fd(&t, 12), BRK_NONE);
    ck_assert_uint_eq(t.count, 1);
    uint32_t d;
    TEST_ASSERT_OK(brk_conns_add(&t, rid1, 5, 14, &d));
    ck_assert_uint_eq(d, a); /* a freed row is reused */
    ck_assert_uint_eq(brk_conns_find(&t, rid1, 5), d);
    ck_assert_uint_eq(brk_conns_find(&t, rid2, 5), b);
    brk_conns_fini(&t);
}
END_TEST

START_TEST(test_conn_bad_lengths)
{
    brk_conns_t t;
    brk_conns_init(&t);
    uint8_t big[256] = {0};
    uint32_t i = 7;
    TEST_ASSERT_ERR(brk_conns_add(&t, big, 0, -1, &i), ACTORS_EINVAL);
    TEST_ASSERT_ERR(brk_conns_add(&t, big, 256, -1, &i), ACTORS_EINVAL);
    ck_assert_uint_eq(i, 7);
    ck_assert_uint_eq(t.count, 0);
    brk_conns_fini(&t);
}
END_TEST

/* Many connections come and go: every live one is found, no gone one. */
START_TEST(test_conn_churn)
{
    brk_conns_t t;
    brk_conns_init(&t);
    enum { N = 3000 };
    static uint32_t idx[N];
    char rid[16];
    for (int i = 0; i < N; i++) {
        int n = snprintf(rid, sizeof rid, "r%d", i);
        TEST_ASSERT_OK(brk_conns_add(&t, rid, (size_t)n, i, &idx[i]));
    }
    for (int i = 0; i < N; i += 3) {
        brk_conns_remove(&t, idx[i]);
    }
    for (int i = 0; i < N; i++) {
        int n = snprintf(rid, sizeof rid, "r%d", i);
        ck_assert_uint_eq(
            brk_conns_find(&t, rid, (size_t)n), i % 3 ? idx[i] : BRK_NONE);
    }
    ck_assert_uint_eq(t.count, N - (N + 2) / 3);
    brk_conns_fini(&t);
}
END_TEST

/* Allocation failure leaves the table as it was. */
START_TEST(test_conn_add_survives_oom)
{
    for (unsigned k = 1;; k++) {
        brk_conns_t t;
        brk_conns_init(&t);
        uint32_t i = BRK_NONE;
        testutil_fail_alloc_after(k);
        actors_err rc = brk_conns_add(&t, "rid", 3, 5, &i);
        testutil_fail_alloc_after(0);
        if (rc == ACTORS_OK) {
            ck_assert_uint_eq(t.count, 1);
            ck_assert_uint_eq(brk_conns_find(&t, "rid", 3), i);
            brk_conns_fini(&t);
            break;
        }
        ck_assert_int_eq(rc, ACTORS_ENOMEM);
        ck_assert_uint_eq(t.count, 0);
        ck_assert_uint_eq(brk_conns_find(&t, "rid", 3), BRK_NONE);
        brk_conns_fini(&t);
    }
}
END_TEST

Suite *conn_suite(void);

Suite *
conn_suite(void)
{
    Suite *s = suite_create("conn");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_conn_add_find_remove);
    tcase_add_test(tc, test_conn_bad_lengths);
    tcase_add_test(tc, test_conn_churn);
    tcase_add_test(tc, test_conn_add_survives_oom);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(conn_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
