/* tests/unit/supervisor/test_policy.c - restart decisions.
 * SPDX-License-Identifier: MIT */
#include <check.h>
#include <stdlib.h>

#include "../../../supervisor/policy.h"

static policy_t
s_policy(int max_restarts)
{
    policy_t p = POLICY_INIT;
    p.max_restarts = max_restarts;
    p.backoff_jitter = 0.0;
    return p;
}

START_TEST(test_policy_never_restarts_by_default)
{
    policy_t p = POLICY_INIT;
    policy_state_t st = POLICY_STATE_INIT;
    uint32_t delay = 99;
    const char *why = NULL;
    policy_on_start(&st, 1000);
    ck_assert_int_eq(
        policy_on_exit(&p, &st, 1001, 0, &delay, &why), POLICY_GIVE_UP);
    ck_assert_str_eq(why, "max_restarts");
}
END_TEST

START_TEST(test_policy_counts_lifetime_restarts)
{
    policy_t p = s_policy(3);
    policy_state_t st = POLICY_STATE_INIT;
    uint32_t delay = 0;
    uint64_t t = 0;
    for (int i = 0; i < 3; i++) {
        policy_on_start(&st, t);
        t += 100000; /* healthy runs: each restart immediate */
        ck_assert_int_eq(
            policy_on_exit(&p, &st, t, 0, &delay, NULL), POLICY_RESTART);
        ck_assert_uint_eq(delay, 0);
    }
    policy_on_start(&st, t);
    ck_assert_int_eq(
        policy_on_exit(&p, &st, t + 100000, 0, &delay, NULL), POLICY_GIVE_UP);
    ck_assert_int_eq(st.restarts, 3);
}
END_TEST

START_TEST(test_policy_forever_keeps_restarting)
{
    policy_t p = s_policy(-1);
    p.backoff_max_ms = 50;
    policy_state_t st = POLICY_STATE_INIT;
    uint32_t delay = 0;
    for (int i = 0; i < 1000; i++) {
        policy_on_start(&st, (uint64_t)i);
        ck_assert_int_eq(policy_on_exit(&p, &st, (uint64_t)i, 0, &delay, NULL),
            POLICY_RESTART);
        ck_assert_uint_le(delay, 50);
    }
}
END_TEST

START_TEST(test_policy_backoff_grows_to_cap)
{
    policy_t p = s_policy(-1);
    p.backoff_base_ms = 10;
    p.backoff_factor = 2.0;
    p.backoff_max_ms = 100;
    p.healthy_ms = 10000;
    policy_state_t st = POLICY_STATE_INIT;
    uint32_t expect[] = {0, 10, 20, 40, 80, 100, 100};
    uint64_t t = 5;
    for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++) {
        uint32_t delay = 12345;
        policy_on_start(&st, t);
        t += 1; /* crashes right away: consecutive */
        ck_assert_int_eq(
            policy_on_exit(&p, &st, t, 0, &delay, NULL), POLICY_RESTART);
        ck_assert_uint_eq(delay, expect[i]);
    }
}
END_TEST

START_TEST(test_policy_healthy_run_resets_backoff)
{
    policy_t p = s_policy(-1);
    p.healthy_ms = 1000;
    policy_state_t st = POLICY_STATE_INIT;
    uint32_t delay = 0;
    policy_on_start(&st, 0);
    policy_on_exit(&p, &st, 1, 0, &delay, NULL);
    policy_on_start(&st, 1);
    policy_on_exit(&p, &st, 2, 0, &delay, NULL);
    ck_assert_uint_gt(delay, 0);
    policy_on_start(&st, 2);
    policy_on_exit(&p, &st, 5000, 0, &delay, NULL); /* ran 5 s: healthy */
    ck_assert_uint_eq(delay, 0);
}
END_TEST

START_TEST(test_policy_jitter_stays_within_bounds)
{
    policy_t p = s_policy(-1);
    p.backoff_base_ms = 1000;
    p.backoff_jitter = 0.5;
    for (uint32_t rnd = 0; rnd < 0xF0000000u; rnd += 0x0F000000u) {
        policy_state_t st = POLICY_STATE_INIT;
        uint32_t delay = 0;
        policy_on_start(&st, 0);
        policy_on_exit(&p, &st, 1, rnd, &delay, NULL);
        policy_on_start(&st, 1);
        policy_on_exit(&p, &st, 2, rnd, &delay, NULL);
        ck_assert_uint_ge(delay, 500);
        ck_assert_uint_le(delay, 1500);
    }
}
END_TEST

/* The numbers: a cap of 800 ms and 10% jitter gave 899 and 957
 * ms, the jitter applied after the cap. No wait may exceed the cap,
 * whatever the random draw, at any step of the sequence. */
START_TEST(test_policy_jitter_never_exceeds_cap)
{
    policy_t p = s_policy(-1);
    p.backoff_base_ms = 100;
    p.backoff_factor = 2.0;
    p.backoff_max_ms = 800;
    p.backoff_jitter = 0.1;
    uint32_t draws[] = {0u, 0x80000000u, 0xC0000000u, 0xFFFFFFFFu};
    for (size_t k = 0; k < sizeof draws / sizeof draws[0]; k++) {
        policy_state_t st = POLICY_STATE_INIT;
        uint32_t delay = 0;
        uint32_t top = 0;
        for (int i = 0; i < 8; i++) {
            policy_on_start(&st, (uint64_t)i);
            ck_assert_int_eq(policy_on_exit(&p, &st, (uint64_t)i + 1, draws[k],
                                 &delay, NULL),
                POLICY_RESTART);
            ck_assert_uint_le(delay, 800);
            top = delay > top ? delay : top;
        }
        /* The cap is reached, not undercut by the jitter's upper half. */
        if (draws[k] >= 0x80000000u) {
            ck_assert_uint_eq(top, 800);
        }
    }
}
END_TEST

START_TEST(test_policy_window_gives_up)
{
    policy_t p = s_policy(-1);
    p.intensity = 3;
    p.period_ms = 1000;
    policy_state_t st = POLICY_STATE_INIT;
    uint32_t delay = 0;
    const char *why = NULL;
    for (int i = 0; i < 3; i++) {
        policy_on_start(&st, (uint64_t)(i * 100));
        ck_assert_int_eq(
            policy_on_exit(&p, &st, (uint64_t)(i * 100 + 50), 0, &delay, &why),
            POLICY_RESTART);
    }
    policy_on_start(&st, 300);
    ck_assert_int_eq(
        policy_on_exit(&p, &st, 350, 0, &delay, &why), POLICY_GIVE_UP);
    ck_assert_str_eq(why, "intensity");
}
END_TEST

START_TEST(test_policy_window_slides)
{
    policy_t p = s_policy(-1);
    p.intensity = 2;
    p.period_ms = 1000;
    policy_state_t st = POLICY_STATE_INIT;
    uint32_t delay = 0;
    /* Two restarts per 1.5 s never hit 2 within 1 s... */
    for (int i = 0; i < 20; i++) {
        uint64_t t = (uint64_t)i * 600;
        policy_on_start(&st, t);
        ck_assert_int_eq(
            policy_on_exit(&p, &st, t + 1, 0, &delay, NULL), POLICY_RESTART);
    }
}
END_TEST

START_TEST(test_policy_validate_rejects_bad_numbers)
{
    policy_t p = POLICY_INIT;
    ck_assert_ptr_null(policy_validate(&p));
    p.max_restarts = -2;
    ck_assert_ptr_nonnull(policy_validate(&p));
    p = (policy_t)POLICY_INIT;
    p.backoff_factor = 0.5;
    ck_assert_ptr_nonnull(policy_validate(&p));
    p = (policy_t)POLICY_INIT;
    p.intensity = 3;
    p.period_ms = 0;
    ck_assert_ptr_nonnull(policy_validate(&p));
    p = (policy_t)POLICY_INIT;
    p.backoff_jitter = 1.5;
    ck_assert_ptr_nonnull(policy_validate(&p));
}
END_TEST

Suite *policy_suite(void);

Suite *
policy_suite(void)
{
    Suite *s = suite_create("policy");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_policy_never_restarts_by_default);
    tcase_add_test(tc, test_policy_counts_lifetime_restarts);
    tcase_add_test(tc, test_policy_forever_keeps_restarting);
    tcase_add_test(tc, test_policy_backoff_grows_to_cap);
    tcase_add_test(tc, test_policy_healthy_run_resets_backoff);
    tcase_add_test(tc, test_policy_jitter_stays_within_bounds);
    tcase_add_test(tc, test_policy_jitter_never_exceeds_cap);
    tcase_add_test(tc, test_policy_window_gives_up);
    tcase_add_test(tc, test_policy_window_slides);
    tcase_add_test(tc, test_policy_validate_rejects_bad_numbers);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(policy_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
