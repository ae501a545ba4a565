/* tests/unit/broker/test_idmap.c - the broker's one hash table.
 * SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "../../testutil.h"
#include "../../../broker/idmap.h"

/* Keys are kept by the owner: here an array of short strings. */
#define N 5000
static char s_keys[N][16];

static const void *
s_key(void *ctx, uint32_t idx, size_t *len)
{
    (void)ctx;
    *len = strlen(s_keys[idx]);
    return s_keys[idx];
}

static void
s_fill(void)
{
    for (int i = 0; i < N; i++) {
        snprintf(s_keys[i], sizeof s_keys[i], "k/%d", i);
    }
}

START_TEST(test_idmap_put_find_del)
{
    s_fill();
    brk_idmap_t m;
    brk_idmap_init(&m, s_key, NULL);
    ck_assert_uint_eq(brk_idmap_find(&m, "k/1", 3), BRK_IDMAP_NONE);
    for (uint32_t i = 0; i < N; i++) {
        TEST_ASSERT_OK(brk_idmap_put(&m, s_keys[i], strlen(s_keys[i]), i));
    }
    ck_assert_uint_eq(m.count, N);
    ck_assert_uint_le((uint64_t)m.count * 10, (uint64_t)m.cap * 7);
    for (uint32_t i = 0; i < N; i++) {
        ck_assert_uint_eq(brk_idmap_find(&m, s_keys[i], strlen(s_keys[i])), i);
    }
    ck_assert_uint_eq(brk_idmap_find(&m, "k/", 2), BRK_IDMAP_NONE);
    ck_assert_uint_eq(brk_idmap_find(&m, "k/5000", 6), BRK_IDMAP_NONE);
    /* Deleting every other key keeps the rest findable (backward shift
     * must not break probe runs). */
    for (uint32_t i = 0; i < N; i += 2) {
        brk_idmap_del(&m, s_keys[i], strlen(s_keys[i]));
    }
    brk_idmap_del(&m, "absent", 6);
    ck_assert_uint_eq(m.count, N / 2);
    for (uint32_t i = 0; i < N; i++) {
        ck_assert_uint_eq(brk_idmap_find(&m, s_keys[i], strlen(s_keys[i])),
            i % 2 ? i : BRK_IDMAP_NONE);
    }
    /* And they can come back. */
    for (uint32_t i = 0; i < N; i += 2) {
        TEST_ASSERT_OK(brk_idmap_put(&m, s_keys[i], strlen(s_keys[i]), i));
    }
    for (uint32_t i = 0; i < N; i++) {
        ck_assert_uint_eq(brk_idmap_find(&m, s_keys[i], strlen(s_keys[i])), i);
    }
    brk_idmap_fini(&m);
}
END_TEST

/* A failed growth leaves the map as it was. */
START_TEST(test_idmap_put_survives_oom)
{
    s_fill();
    for (unsigned k = 1;; k++) {
        brk_idmap_t m;
        brk_idmap_init(&m, s_key, NULL);
        actors_err rc = ACTORS_OK;
        uint32_t i = 0;
        testutil_fail_alloc_after(k);
        for (; i < 200 && rc == ACTORS_OK; i++) {
            rc = brk_idmap_put(&m, s_keys[i], strlen(s_keys[i]), i);
        }
        testutil_fail_alloc_after(0);
        uint32_t stored = rc == ACTORS_OK ? i : i - 1;
        ck_assert_uint_eq(m.count, stored);
        for (uint32_t j = 0; j < stored; j++) {
            ck_assert_uint_eq(
                brk_idmap_find(&m, s_keys[j], strlen(s_keys[j])), j);
        }
        brk_idmap_fini(&m);
        if (rc == ACTORS_OK) {
            break;
        }
        ck_assert_int_eq(rc, ACTORS_ENOMEM);
    }
}
END_TEST

Suite *idmap_suite(void);

Suite *
idmap_suite(void)
{
    Suite *s = suite_create("idmap");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_idmap_put_find_del);
    tcase_add_test(tc, test_idmap_put_survives_oom);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(idmap_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
