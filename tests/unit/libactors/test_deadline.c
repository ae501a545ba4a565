/* tests/unit/libactors/test_deadline.c - which deadline a call gets
 * (deadline.c): its own, the inherited one, or the client's default.
 * SPDX-License-Identifier: MIT
 */
#include <stdlib.h>

#include <check.h>

#include <actors/client.h>

#include "deadline.h"

START_TEST(test_own_timeout_wins)
{
    actors__inherit_t cur = {true, 0, 1000}, out;
    ck_assert_uint_eq(actors__deadline_of(30000, &cur, 250, 900, &out), 250);
    ck_assert(out.set && out.timeout_ms == 250 && out.deadline == 0);
    /* NONE is no deadline on the wire, and passed on as none. */
    ck_assert_uint_eq(
        actors__deadline_of(30000, &cur, ACTORS_TIMEOUT_NONE, 900, &out), 0);
    ck_assert(out.set && out.timeout_ms == 0 && out.deadline == 0);
}
END_TEST

START_TEST(test_default_when_nothing_inherited)
{
    actors__inherit_t none = {false, 0, 0}, out;
    ck_assert_uint_eq(actors__deadline_of(30000, &none, 0, 5, &out), 30000);
    ck_assert(!out.set);
    ck_assert_uint_eq(actors__deadline_of(30000, NULL, 0, 5, &out), 30000);
    ck_assert_uint_eq(actors__deadline_of(0, NULL, 0, 5, &out), 0);
}
END_TEST

START_TEST(test_inherited_deadline_counts_down)
{
    actors__inherit_t cur = {true, 0, 10000}, out;
    ck_assert_uint_eq(actors__deadline_of(30000, &cur, 0, 7000, &out), 3000);
    ck_assert(out.set && out.deadline == 10000);
    /* Passed: 1 ms, so that the broker answers Timeout at once. */
    ck_assert_uint_eq(actors__deadline_of(30000, &cur, 0, 10000, &out), 1);
    ck_assert_uint_eq(actors__deadline_of(30000, &cur, 0, 12000, &out), 1);
    /* An inherited relative timeout (a then-chain) and an inherited none. */
    actors__inherit_t rel = {true, 4000, 0};
    ck_assert_uint_eq(actors__deadline_of(30000, &rel, 0, 50, &out), 4000);
    actors__inherit_t nodl = {true, 0, 0};
    ck_assert_uint_eq(actors__deadline_of(30000, &nodl, 0, 50, &out), 0);
    ck_assert(out.set);
}
END_TEST

static Suite *
deadline_suite(void)
{
    Suite *s = suite_create("deadline");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_own_timeout_wins);
    tcase_add_test(tc, test_default_when_nothing_inherited);
    tcase_add_test(tc, test_inherited_deadline_counts_down);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(deadline_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
