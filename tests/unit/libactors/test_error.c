/* tests/unit/libactors/test_error.c - error codes, names, error values.
 * SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include <actors/error.h>

#include "../../testutil.h"
#include <actors-internal/alloc.h>

START_TEST(test_error_names_roundtrip)
{
    ck_assert_str_eq(actors_err_name(ACTORS_OK), "OK");
    ck_assert_str_eq(actors_err_name(ACTORS_ETIMEDOUT), "Timeout");
    ck_assert_str_eq(actors_err_name(ACTORS_ERR_COUNT), "Unknown");
    ck_assert_str_eq(actors_err_name((actors_err)-1), "Unknown");
    ck_assert_str_eq(actors_strerror((actors_err)999), "unknown error");
    for (int i = 1; i < ACTORS_ERR_COUNT; i++) {
        const char *name = actors_err_name((actors_err)i);
        ck_assert_int_eq(actors_err_from_name(name, strlen(name)), i);
        ck_assert_ptr_nonnull(actors_strerror((actors_err)i));
        ck_assert_str_ne(actors_strerror((actors_err)i), "");
    }
}
END_TEST

START_TEST(test_error_unknown_name_is_app_error)
{
    ck_assert_int_eq(actors_err_from_name("ValueError", 10), ACTORS_EAPP);
    ck_assert_int_eq(actors_err_from_name("Timeou", 6), ACTORS_EAPP);
    ck_assert_int_eq(actors_err_from_name("Timeout", 6), ACTORS_EAPP);
    ck_assert_int_eq(actors_err_from_name("Timeoutx", 7), ACTORS_ETIMEDOUT);
    ck_assert_int_eq(actors_err_from_name(NULL, 0), ACTORS_EAPP);
    ck_assert_int_eq(actors_err_from_name("OK", 2), ACTORS_EAPP);
}
END_TEST

START_TEST(test_error_create_defaults)
{
    actors_error_t *e = NULL;
    TEST_ASSERT_OK(actors_error_create(&e, ACTORS_EFULL, NULL, NULL, NULL));
    ck_assert_int_eq(actors_error_code(e), ACTORS_EFULL);
    ck_assert_str_eq(actors_error_type(e), "MailboxFull");
    ck_assert_str_eq(actors_error_message(e), actors_strerror(ACTORS_EFULL));
    ck_assert_str_eq(actors_error_address(e), "");
    actors_error_destroy(&e);
    ck_assert_ptr_null(e);
    actors_error_destroy(&e);

    TEST_ASSERT_OK(
        actors_error_create(&e, ACTORS_EAPP, "ValueError", "bad", "account/1"));
    ck_assert_str_eq(actors_error_type(e), "ValueError");
    ck_assert_str_eq(actors_error_message(e), "bad");
    ck_assert_str_eq(actors_error_address(e), "account/1");
    actors_error_destroy(&e);
}
END_TEST

START_TEST(test_error_create_survives_oom)
{
    for (unsigned n = 1;; n++) {
        actors_error_t *e = NULL;
        actors__alloc_fail_after(n);
        actors_err rc = actors_error_create(&e, ACTORS_EAPP, "T", "m", "a");
        actors__alloc_fail_after(0);
        if (rc == ACTORS_OK) {
            ck_assert_uint_gt(n, 3);
            actors_error_destroy(&e);
            break;
        }
        TEST_ASSERT_ERR(rc, ACTORS_ENOMEM);
        ck_assert_ptr_null(e);
    }
}
END_TEST

Suite *error_suite(void);

Suite *
error_suite(void)
{
    Suite *s = suite_create("error");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_error_names_roundtrip);
    tcase_add_test(tc, test_error_unknown_name_is_app_error);
    tcase_add_test(tc, test_error_create_defaults);
    tcase_add_test(tc, test_error_create_survives_oom);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(error_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
