/* tests/unit/broker/test_registry.c - addresses, entries and tombstones.
 * SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "../../testutil.h"
#include "../../../broker/registry.h"

static uint32_t
s_add(brk_registry_t *r, const char *a)
{
    uint32_t i = BRK_NONE;
    TEST_ASSERT_OK(brk_registry_add(r, a, strlen(a), &i));
    return i;
}

START_TEST(test_registry_add_find_remove)
{
    brk_registry_t r;
    TEST_ASSERT_OK(brk_registry_init(&r, 4));
    uint32_t a = s_add(&r, "account/1");
    uint32_t b = s_add(&r, "account/2");
    ck_assert_uint_eq(brk_registry_find(&r, "account/1", 9), a);
    ck_assert_uint_eq(brk_registry_find(&r, "account/2", 9), b);
    ck_assert_uint_eq(brk_registry_find(&r, "account/", 8), BRK_NONE);
    ck_assert_uint_eq(brk_registry_find(&r, "account/3", 9), BRK_NONE);
    brk_entry_t *e = brk_registry_at(&r, a);
    ck_assert_str_eq(e->address, "account/1");
    ck_assert_str_eq(e->service, "");
    ck_assert_uint_eq(e->state, BRK_ENTRY_RUNNING);
    ck_assert_uint_eq(e->conn, BRK_NONE);
    ck_assert(brk_mailbox_empty(&e->mailbox));
    TEST_ASSERT_OK(brk_registry_set_service(&r, a, "account", 7));
    ck_assert_str_eq(brk_registry_at(&r, a)->service, "account");
    ck_assert_uint_eq(r.count, 2);
    brk_registry_remove(&r, a);
    ck_assert_uint_eq(brk_registry_find(&r, "account/1", 9), BRK_NONE);
    ck_assert_uint_eq(brk_registry_find(&r, "account/2", 9), b);
    ck_assert_uint_eq(r.count, 1);
    /* The freed entry is reused. */
    ck_assert_uint_eq(s_add(&r, "x"), a);
    brk_registry_fini(&r);
}
END_TEST

START_TEST(test_registry_rejects_bad_names)
{
    brk_registry_t r;
    TEST_ASSERT_OK(brk_registry_init(&r, 4));
    uint32_t i;
    char big[300];
    memset(big, 'a', sizeof big);
    TEST_ASSERT_ERR(brk_registry_add(&r, "", 0, &i), ACTORS_EINVAL);
    TEST_ASSERT_ERR(brk_registry_add(&r, big, 256, &i), ACTORS_EINVAL);
    TEST_ASSERT_OK(brk_registry_add(&r, big, 255, &i));
    ck_assert_uint_eq(brk_registry_find(&r, big, 255), i);
    brk_registry_fini(&r);
}
END_TEST

/* A group member's entry: named by the address, a zero byte and its
 * serial, so the address finds the group's entry, not the member's, even
 * for a 255-byte address; it prints as the address. */
START_TEST(test_registry_member_names)
{
    brk_registry_t r;
    TEST_ASSERT_OK(brk_registry_init(&r, 4));
    uint32_t g;
    uint32_t m0;
    uint32_t m1;
    TEST_ASSERT_OK(brk_registry_add(&r, "pool/a", 6, &g));
    TEST_ASSERT_OK(brk_registry_add_member(&r, "pool/a", 6, 0, &m0));
    TEST_ASSERT_OK(brk_registry_add_member(&r, "pool/a", 6, 1, &m1));
    ck_assert_uint_ne(m0, g);
    ck_assert_uint_ne(m1, m0);
    ck_assert_uint_eq(brk_registry_find(&r, "pool/a", 6), g);
    ck_assert_uint_eq(brk_registry_find(&r,
                          "pool/a\0"
                          "1",
                          8),
        m1);
    ck_assert_str_eq(brk_registry_at(&r, m1)->address, "pool/a");
    ck_assert_uint_eq(brk_registry_at(&r, m1)->group, BRK_NONE);
    char big[255];
    memset(big, 'b', sizeof big);
    uint32_t mb;
    TEST_ASSERT_OK(brk_registry_add_member(&r, big, 255, 4000000000u, &mb));
    ck_assert_uint_eq(brk_registry_find(&r, big, 255), BRK_NONE);
    TEST_ASSERT_ERR(brk_registry_add_member(&r, big, 0, 1, &mb), ACTORS_EINVAL);
    brk_registry_fini(&r);
}
END_TEST

START_TEST(test_registry_many_entries_rehash)
{
    brk_registry_t r;
    TEST_ASSERT_OK(brk_registry_init(&r, 4));
    char name[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(name, sizeof name, "counter/%d", i);
        uint32_t idx = s_add(&r, name);
        ck_assert_uint_eq(idx, (uint32_t)i);
    }
    ck_assert_uint_ge(r.map.cap, 4096);
    for (int i = 0; i < 5000; i++) {
        snprintf(name, sizeof name, "counter/%d", i);
        ck_assert_uint_eq(
            brk_registry_find(&r, name, strlen(name)), (uint32_t)i);
    }
    for (int i = 0; i < 5000; i += 2) {
        brk_registry_remove(&r, (uint32_t)i);
    }
    for (int i = 0; i < 5000; i++) {
        snprintf(name, sizeof name, "counter/%d", i);
        ck_assert_uint_eq(brk_registry_find(&r, name, strlen(name)),
            i % 2 ? (uint32_t)i : BRK_NONE);
    }
    brk_registry_fini(&r);
}
END_TEST

START_TEST(test_registry_tombstones_bounded)
{
    brk_registry_t r;
    TEST_ASSERT_OK(brk_registry_init(&r, 2));
    uint32_t a = s_add(&r, "a");
    uint32_t b = s_add(&r, "b");
    uint32_t c = s_add(&r, "c");
    ck_assert_uint_eq(brk_registry_bury(&r, a), BRK_NONE);
    ck_assert_uint_eq(brk_registry_bury(&r, b), BRK_NONE);
    ck_assert_uint_eq(brk_registry_at(&r, a)->state, BRK_ENTRY_DEAD);
    ck_assert_uint_eq(r.tombs, 2);
    /* A third tombstone drops the oldest (a). */
    ck_assert_uint_eq(brk_registry_bury(&r, c), a);
    ck_assert_uint_eq(r.tombs, 2);
    ck_assert_uint_eq(brk_registry_find(&r, "a", 1), BRK_NONE);
    ck_assert_uint_eq(brk_registry_find(&r, "b", 1), b);
    /* Revive b: it leaves the tombstone list; burying d keeps c. */
    brk_registry_revive(&r, b);
    ck_assert_uint_eq(brk_registry_at(&r, b)->state, BRK_ENTRY_RUNNING);
    ck_assert_uint_eq(r.tombs, 1);
    uint32_t d = s_add(&r, "d");
    ck_assert_uint_eq(brk_registry_bury(&r, d), BRK_NONE);
    ck_assert_uint_eq(brk_registry_bury(&r, b), c);
    ck_assert_uint_eq(brk_registry_find(&r, "c", 1), BRK_NONE);
    /* Removing a tombstone directly keeps the list sound. */
    brk_registry_remove(&r, d);
    ck_assert_uint_eq(r.tombs, 1);
    ck_assert_uint_eq(r.tomb_head, b);
    ck_assert_uint_eq(r.tomb_tail, b);
    brk_registry_fini(&r);
}
END_TEST

START_TEST(test_registry_no_tombstones)
{
    brk_registry_t r;
    TEST_ASSERT_OK(brk_registry_init(&r, 0));
    uint32_t a = s_add(&r, "a");
    ck_assert_uint_eq(brk_registry_bury(&r, a), a);
    ck_assert_uint_eq(r.count, 0);
    brk_registry_fini(&r);
}
END_TEST

START_TEST(test_registry_survives_oom)
{
    for (unsigned n = 1;; n++) {
        brk_registry_t r;
        testutil_fail_alloc_after(n);
        actors_err rc = brk_registry_init(&r, 4);
        uint32_t i = BRK_NONE;
        if (rc == ACTORS_OK) {
            rc = brk_registry_add(&r, "a/1", 3, &i);
        }
        if (rc == ACTORS_OK) {
            rc = brk_registry_set_service(&r, i, "svc", 3);
        }
        testutil_fail_alloc_after(0);
        if (rc == ACTORS_OK) {
            ck_assert_uint_eq(brk_registry_find(&r, "a/1", 3), i);
            brk_registry_fini(&r);
            break;
        }
        TEST_ASSERT_ERR(rc, ACTORS_ENOMEM);
        /* A failed add leaves no trace. */
        if (i == BRK_NONE) {
            ck_assert_uint_eq(brk_registry_find(&r, "a/1", 3), BRK_NONE);
        }
        brk_registry_fini(&r);
    }
}
END_TEST

Suite *registry_suite(void);

Suite *
registry_suite(void)
{
    Suite *s = suite_create("registry");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_registry_add_find_remove);
    tcase_add_test(tc, test_registry_rejects_bad_names);
    tcase_add_test(tc, test_registry_member_names);
    tcase_add_test(tc, test_registry_many_entries_rehash);
    tcase_add_test(tc, test_registry_tombstones_bounded);
    tcase_add_test(tc, test_registry_no_tombstones);
    tcase_add_test(tc, test_registry_survives_oom);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(registry_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
