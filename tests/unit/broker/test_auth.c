/* tests/unit/broker/test_auth.c - the broker's security helpers: which
 * binds count as local (no keys needed), role names, the allowlist's
 * checks at start.
 * SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <zmq.h>

#include "../../testutil.h"
#include "../../../broker/auth.h"

START_TEST(test_auth_local_endpoints)
{
    const char *local[] = {"tcp://127.0.0.1:5555", "tcp://127.0.0.1:*",
        "tcp://127.1.2.3:1", "tcp://localhost:5555", "tcp://[::1]:5555",
        "tcp://lo:5555", "ipc:///tmp/actors.ipc", "inproc://x"};
    const char *open[] = {"tcp://*:5555", "tcp://0.0.0.0:5555",
        "tcp://10.0.0.1:5555", "tcp://[::]:5555", "tcp://eth0:5555",
        "tcp://127.example.com:5555", "tcp://localhost.evil:1", "tcp://[::2]:5",
        "tcp://128.0.0.1:5", "pgm://eth0;239.1.1.1:5555", "tcp://:5",
        "tcp://nohost"};
    for (size_t i = 0; i < sizeof local / sizeof *local; i++) {
        ck_assert_msg(brk_auth_endpoint_local(local[i]), "%s", local[i]);
    }
    for (size_t i = 0; i < sizeof open / sizeof *open; i++) {
        ck_assert_msg(!brk_auth_endpoint_local(open[i]), "%s", open[i]);
    }
}
END_TEST

/* A key's "addresses" patterns: none is any address; otherwise one of
 * the patterns (spaces or commas between them) must match. */
START_TEST(test_auth_may_hold)
{
    ck_assert(brk_auth_may_hold(NULL, "account/1"));
    ck_assert(brk_auth_may_hold("", "account/1"));
    ck_assert(brk_auth_may_hold("account/*", "account/1"));
    ck_assert(brk_auth_may_hold("account/*", "account/1/x"));
    ck_assert(!brk_auth_may_hold("account/*", "counter/1"));
    ck_assert(!brk_auth_may_hold("account/*", "account"));
    ck_assert(brk_auth_may_hold("a/1, counter/[0-9]", "counter/7"));
    ck_assert(brk_auth_may_hold("a/1,counter/2 x/?", "x/y"));
    ck_assert(!brk_auth_may_hold("a/1,counter/2 x/?", "x/yy"));
    ck_assert(!brk_auth_may_hold(" , ", "a/1"));
}
END_TEST

START_TEST(test_auth_roles)
{
    ck_assert_uint_eq(brk_auth_role_parse("client"), BRK_AUTH_CLIENT);
    ck_assert_uint_eq(brk_auth_role_parse("actor"), BRK_AUTH_ACTOR);
    ck_assert_uint_eq(brk_auth_role_parse("node"), BRK_AUTH_NODE);
    ck_assert_uint_eq(brk_auth_role_parse("admin"), BRK_AUTH_ADMIN);
    ck_assert_uint_eq(brk_auth_role_parse("Admin"), 0);
    ck_assert_uint_eq(brk_auth_role_parse(""), 0);
    ck_assert_uint_eq(brk_auth_role_parse(NULL), 0);
    ck_assert_str_eq(brk_auth_role_name(BRK_AUTH_NODE), "node");
    ck_assert_str_eq(brk_auth_role_name(0), "none");
}
END_TEST

/* No keys: no authentication; half a setup or a missing key is refused. */
START_TEST(test_auth_create_checks)
{
    void *ctx = zmq_ctx_new();
    brk_auth_t *a = (brk_auth_t *)1;
    TEST_ASSERT_OK(brk_auth_create(&a, ctx, NULL, NULL));
    ck_assert_ptr_null(a);
    TEST_ASSERT_ERR(brk_auth_create(&a, ctx, "/tmp", NULL), ACTORS_EINVAL);
    ck_assert_ptr_null(a);
    TEST_ASSERT_ERR(brk_auth_create(&a, ctx, NULL, "/nonexistent/key_secret"),
        ACTORS_EINVAL);
    TEST_ASSERT_ERR(brk_auth_create(&a, ctx, "/tmp", "/nonexistent/key_secret"),
        ACTORS_EINVAL);
    ck_assert_ptr_null(a);
    brk_auth_destroy(&a);
    zmq_ctx_term(ctx);
}
END_TEST

static Suite *
auth_suite(void)
{
    Suite *s = suite_create("auth");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_auth_local_endpoints);
    tcase_add_test(tc, test_auth_roles);
    tcase_add_test(tc, test_auth_may_hold);
    tcase_add_test(tc, test_auth_create_checks);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(auth_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
