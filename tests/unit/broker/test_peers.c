/* tests/unit/broker/test_peers.c - actor peers by routing id and fd.
 * SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "../../testutil.h"
#include "../../../broker/peers.h"
#include "../../../broker/slots.h"

START_TEST(test_peers_add_find_remove)
{
    brk_peers_t p;
    TEST_ASSERT_OK(brk_peers_init(&p));
    uint8_t rid1[5] = {0, 0x80, 0, 0x41, 0xa7};
    uint8_t rid2[5] = {0, 0x80, 0, 0x41, 0xa8};
    uint32_t a, b;
    TEST_ASSERT_OK(brk_peers_add(&p, rid1, 5, 12, 1000, &a));
    TEST_ASSERT_OK(brk_peers_add(&p, rid2, 5, -1, 2000, &b));
    ck_assert_uint_eq(brk_peers_find(&p, rid1, 5), a);
    ck_assert_uint_eq(brk_peers_find(&p, rid2, 5), b);
    ck_assert_uint_eq(brk_peers_find(&p, rid2, 4), BRK_NONE);
    ck_assert_uint_eq(brk_peers_find(&p, rid2, 0), BRK_NONE);
    brk_peer_t *pa = brk_peers_at(&p, a);
    ck_assert_int_eq(pa->fd, 12);
    ck_assert_int_eq(pa->last_recv, 1000);
    ck_assert_int_eq(pa->last_send, 1000);
    ck_assert_uint_eq(pa->first_entry, BRK_NONE);
    ck_assert_uint_eq(brk_peers_find_fd(&p, 12), a);
    ck_assert_uint_eq(brk_peers_find_fd(&p, -1), BRK_NONE);
    ck_assert_uint_eq(brk_peers_find_fd(&p, 13), BRK_NONE);
    brk_peers_remove(&p, a);
    ck_assert_uint_eq(brk_peers_find(&p, rid1, 5), BRK_NONE);
    ck_assert_uint_eq(brk_peers_find_fd(&p, 12), BRK_NONE);
    ck_assert_uint_eq(p.count, 1);
    brk_peers_fini(&p);
}
END_TEST

START_TEST(test_peers_rejects_bad_ids)
{
    brk_peers_t p;
    TEST_ASSERT_OK(brk_peers_init(&p));
    uint8_t big[256] = {0};
    uint32_t i;
    TEST_ASSERT_ERR(brk_peers_add(&p, big, 0, 1, 0, &i), ACTORS_EINVAL);
    TEST_ASSERT_ERR(brk_peers_add(&p, big, 256, 1, 0, &i), ACTORS_EINVAL);
    TEST_ASSERT_OK(brk_peers_add(&p, big, 255, 1, 0, &i));
    ck_assert_uint_eq(brk_peers_find(&p, big, 255), i);
    brk_peers_fini(&p);
}
END_TEST

START_TEST(test_peers_many)
{
    brk_peers_t p;
    TEST_ASSERT_OK(brk_peers_init(&p));
    char rid[16];
    for (int i = 0; i < 1000; i++) {
        snprintf(rid, sizeof rid, "peer%d", i);
        uint32_t idx;
        TEST_ASSERT_OK(brk_peers_add(&p, rid, strlen(rid), i, 0, &idx));
    }
    for (int i = 0; i < 1000; i++) {
        snprintf(rid, sizeof rid, "peer%d", i);
        uint32_t idx = brk_peers_find(&p, rid, strlen(rid));
        ck_assert_uint_ne(idx, BRK_NONE);
        ck_assert_int_eq(brk_peers_at(&p, idx)->fd, i);
        if (i % 2) {
            brk_peers_remove(&p, idx);
        }
    }
    ck_assert_uint_eq(p.count, 500);
    for (int i = 0; i < 1000; i++) {
        snprintf(rid, sizeof rid, "peer%d", i);
        uint32_t idx = brk_peers_find(&p, rid, strlen(rid));
        ck_assert(i % 2 ? idx == BRK_NONE : idx != BRK_NONE);
    }
    brk_peers_fini(&p);
}
END_TEST

START_TEST(test_peers_survive_oom)
{
    for (unsigned n = 1;; n++) {
        brk_peers_t p;
        testutil_fail_alloc_after(n);
        actors_err rc = brk_peers_init(&p);
        uint32_t i = BRK_NONE;
        if (rc == ACTORS_OK) {
            rc = brk_peers_add(&p, "rid", 3, 7, 0, &i);
        }
        testutil_fail_alloc_after(0);
        if (rc == ACTORS_OK) {
            ck_assert_uint_eq(brk_peers_find(&p, "rid", 3), i);
            brk_peers_fini(&p);
            break;
        }
        TEST_ASSERT_ERR(rc, ACTORS_ENOMEM);
        ck_assert_uint_eq(brk_peers_find(&p, "rid", 3), BRK_NONE);
        brk_peers_fini(&p);
    }
}
END_TEST

Suite *peers_suite(void);

Suite *
peers_suite(void)
{
    Suite *s = suite_create("peers");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_peers_add_find_remove);
    tcase_add_test(tc, test_peers_rejects_bad_ids);
    tcase_add_test(tc, test_peers_many);
    tcase_add_test(tc, test_peers_survive_oom);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(peers_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
