/* tests/unit/libactors/test_future.c - futures that need no broker:
 * resolved and failed futures, on_done, then chains, wait_any/wait_all.
 * Futures of a real client (pending, pumped) are in test_client.c.
 * SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include <actors/future.h>
#include <actors/msg.h>

#include "../../testutil.h"
#include <actors-internal/alloc.h>

/* s_int_future makes a resolved future holding v. */
static actors_future_t *
s_int_future(int64_t v)
{
    actors_msg_t *m = NULL;
    TEST_ASSERT_OK(actors_msg_build(&m, "I", v));
    actors_future_t *f = NULL;
    TEST_ASSERT_OK(actors_future_resolved(NULL, &m, &f));
    ck_assert_ptr_null(m);
    return f;
}

static int64_t
s_result_int(actors_future_t *f)
{
    const msgpack_object *r = NULL;
    TEST_ASSERT_OK(actors_future_get(f, 0, &r));
    int64_t v = 0;
    TEST_ASSERT_OK(actors_value_int(r, &v));
    return v;
}

START_TEST(test_future_resolved_holds_value)
{
    actors_future_t *f = s_int_future(42);
    ck_assert(actors_future_is_ready(f));
    TEST_ASSERT_OK(actors_future_wait(f, 0));
    TEST_ASSERT_OK(actors_future_wait(f, -1));
    ck_assert_int_eq(s_result_int(f), 42);
    ck_assert_ptr_null(actors_future_error(f));
    ck_assert_ptr_nonnull(actors_future_result(f));
    size_t len = 0;
    const uint8_t *raw = actors_future_raw(f, &len);
    ck_assert_uint_eq(len, 1);
    ck_assert_uint_eq(raw[0], 42);
    TEST_ASSERT_OK(actors_future_get(f, 0, NULL));
    actors_future_destroy(&f);
    ck_assert_ptr_null(f);
    actors_future_destroy(&f);
}
END_TEST

START_TEST(test_future_resolved_null_is_nil)
{
    actors_future_t *f = NULL;
    TEST_ASSERT_OK(actors_future_resolved(NULL, NULL, &f));
    const msgpack_object *r = NULL;
    TEST_ASSERT_OK(actors_future_get(f, 0, &r));
    ck_assert_int_eq(r->type, MSGPACK_OBJECT_NIL);
    actors_future_destroy(&f);

    actors_msg_t *none = NULL;
    TEST_ASSERT_OK(actors_future_resolved(NULL, &none, &f));
    TEST_ASSERT_OK(actors_future_get(f, 0, &r));
    ck_assert_int_eq(r->type, MSGPACK_OBJECT_NIL);
    actors_future_destroy(&f);
}
END_TEST

START_TEST(test_future_resolved_large_value)
{
    size_t n = 100000;
    char *s = malloc(n);
    ck_assert_ptr_nonnull(s);
    memset(s, 'q', n);
    actors_msg_t *m = NULL;
    TEST_ASSERT_OK(actors_msg_build(&m, "S", s, n));
    actors_future_t *f = NULL;
    TEST_ASSERT_OK(actors_future_resolved(NULL, &m, &f));
    const char *p = NULL;
    size_t len = 0;
    TEST_ASSERT_OK(actors_value_str(actors_future_result(f), &p, &len));
    ck_assert_uint_eq(len, n);
    ck_assert_int_eq(memcmp(p, s, n), 0);
    actors_future_destroy(&f);
    free(s);
}
END_TEST

START_TEST(test_future_resolved_rejects_not_one_value)
{
    actors_msg_t *m = NULL;
    actors_future_t *f = NULL;
    TEST_ASSERT_OK(actors_msg_build(&m, "ii", 1, 2));
    TEST_ASSERT_ERR(actors_future_resolved(NULL, &m, &f), ACTORS_EINVAL);
    ck_assert_ptr_nonnull(m); /* untouched */
    ck_assert_ptr_null(f);
    actors_msg_reset(m);
    TEST_ASSERT_ERR(actors_future_resolved(NULL, &m, &f), ACTORS_EINVAL);
    TEST_ASSERT_OK(actors_msg_add_array(m, 2));
    TEST_ASSERT_ERR(actors_future_resolved(NULL, &m, &f), ACTORS_EINVAL);
    actors_msg_destroy(&m);
}
END_TEST

START_TEST(test_future_resolved_survives_oom)
{
    for (unsigned n = 1;; n++) {
        actors_msg_t *m = NULL;
        TEST_ASSERT_OK(actors_msg_build(&m, "s", "value"));
        actors_future_t *f = NULL;
        actors__alloc_fail_after(n);
        actors_err rc = actors_future_resolved(NULL, &m, &f);
        actors__alloc_fail_after(0);
        if (rc == ACTORS_OK) {
            ck_assert_ptr_null(m);
            actors_future_destroy(&f);
            break;
        }
        TEST_ASSERT_ERR(rc, ACTORS_ENOMEM);
        ck_assert_ptr_null(f);
        ck_assert_ptr_nonnull(m);
        actors_msg_destroy(&m);
    }
}
END_TEST

START_TEST(test_future_failed_holds_error)
{
    actors_future_t *f = NULL;
    TEST_ASSERT_OK(actors_future_failed(NULL, ACTORS_EAPP, "ValueError",
        "Can not withdraw negative amount", &f));
    ck_assert(actors_future_is_ready(f));
    const msgpack_object *r = (const msgpack_object *)&f;
    TEST_ASSERT_ERR(actors_future_get(f, 0, &r), ACTORS_EAPP);
    ck_assert_ptr_null(actors_future_result(f));
    size_t len = 1;
    ck_assert_ptr_null(actors_future_raw(f, &len));
    ck_assert_uint_eq(len, 0);
    const actors_error_t *e = actors_future_error(f);
    ck_assert_ptr_nonnull(e);
    ck_assert_str_eq(actors_error_type(e), "ValueError");
    ck_assert_str_eq(
        actors_error_message(e), "Can not withdraw negative amount");
    actors_future_destroy(&f);

    TEST_ASSERT_OK(actors_future_failed(NULL, ACTORS_EDEAD, NULL, NULL, &f));
    TEST_ASSERT_ERR(actors_future_get(f, 0, NULL), ACTORS_EDEAD);
    ck_assert_str_eq(actors_error_type(actors_future_error(f)), "ActorDead");
    actors_future_destroy(&f);
}
END_TEST

START_TEST(test_future_failed_survives_oom)
{
    for (unsigned n = 1;; n++) {
        actors_future_t *f = NULL;
        actors__alloc_fail_after(n);
        actors_err rc = actors_future_failed(NULL, ACTORS_EFULL, NULL, "x", &f);
        actors__alloc_fail_after(0);
        if (rc == ACTORS_OK) {
            TEST_ASSERT_ERR(actors_future_get(f, 0, NULL), ACTORS_EFULL);
            actors_future_destroy(&f);
            break;
        }
        TEST_ASSERT_ERR(rc, ACTORS_ENOMEM);
        ck_assert_ptr_null(f);
    }
}
END_TEST

static void
s_count_cb(actors_future_t *f, void *arg)
{
    ck_assert(actors_future_is_ready(f));
    (*(int *)arg)++;
}

START_TEST(test_future_on_done_runs_once_at_once)
{
    actors_future_t *f = s_int_future(1);
    int calls = 0;
    TEST_ASSERT_OK(actors_future_on_done(f, s_count_cb, &calls));
    ck_assert_int_eq(calls, 1);
    TEST_ASSERT_ERR(
        actors_future_on_done(f, s_count_cb, &calls), ACTORS_EINVAL);
    ck_assert_int_eq(calls, 1);
    actors_future_destroy(&f);
    ck_assert_int_eq(calls, 1);
}
END_TEST

/* A then-function: adds arg's int to the result. */
static actors_err
s_add(const msgpack_object *result, void *arg, actors_future_t **next)
{
    int64_t v = 0;
    actors_err rc = actors_value_int(result, &v);
    if (rc != ACTORS_OK) {
        return rc;
    }
    actors_msg_t *m = NULL;
    rc = actors_msg_build(&m, "I", v + *(int *)arg);
    if (rc == ACTORS_OK) {
        rc = actors_future_resolved(NULL, &m, next);
    }
    actors_msg_destroy(&m);
    return rc;
}

static int s_fn_calls;

static actors_err
s_fail_with_args(
    const msgpack_object *result, void *arg, actors_future_t **next)
{
    (void)result;
    (void)arg;
    (void)next;
    s_fn_calls++;
    return ACTORS_EARGS;
}

static actors_err
s_no_next(const msgpack_object *result, void *arg, actors_future_t **next)
{
    (void)result;
    (void)arg;
    (void)next;
    s_fn_calls++;
    return ACTORS_OK;
}

START_TEST(test_future_then_on_resolved)
{
    actors_future_t *f = s_int_future(10);
    int five = 5;
    actors_future_t *g = NULL;
    TEST_ASSERT_OK(actors_future_then(f, s_add, &five, &g));
    ck_assert(actors_future_is_ready(g));
    ck_assert_int_eq(s_result_int(g), 15);

    /* A chain of chains; the intermediate futures dropped at once. */
    actors_future_t *h = NULL;
    TEST_ASSERT_OK(actors_future_then(g, s_add, &five, &h));
    actors_future_destroy(&g);
    actors_future_t *i = NULL;
    TEST_ASSERT_OK(actors_future_then(h, s_add, &five, &i));
    actors_future_destroy(&h);
    ck_assert_int_eq(s_result_int(i), 25);
    actors_future_destroy(&i);
    actors_future_destroy(&f);
}
END_TEST

START_TEST(test_future_then_passes_error_down)
{
    actors_future_t *f = NULL;
    TEST_ASSERT_OK(
        actors_future_failed(NULL, ACTORS_EAPP, "ChaosError", "boom", &f));
    s_fn_calls = 0;
    actors_future_t *g = NULL;
    TEST_ASSERT_OK(actors_future_then(f, s_fail_with_args, NULL, &g));
    actors_future_destroy(&f); /* g keeps what it needs */
    actors_future_t *h = NULL;
    TEST_ASSERT_OK(actors_future_then(g, s_no_next, NULL, &h));
    ck_assert_int_eq(s_fn_calls, 0);
    TEST_ASSERT_ERR(actors_future_get(h, 0, NULL), ACTORS_EAPP);
    ck_assert_str_eq(actors_error_type(actors_future_error(h)), "ChaosError");
    ck_assert_str_eq(actors_error_message(actors_future_error(h)), "boom");
    actors_future_destroy(&g);
    actors_future_destroy(&h);
}
END_TEST

START_TEST(test_future_then_fn_error_and_nil)
{
    actors_future_t *f = s_int_future(1);
    s_fn_calls = 0;
    actors_future_t *g = NULL;
    TEST_ASSERT_OK(actors_future_then(f, s_fail_with_args, NULL, &g));
    ck_assert_int_eq(s_fn_calls, 1);
    TEST_ASSERT_ERR(actors_future_get(g, 0, NULL), ACTORS_EARGS);
    ck_assert_str_eq(
        actors_error_type(actors_future_error(g)), "WrongArguments");
    actors_future_destroy(&g);

    TEST_ASSERT_OK(actors_future_then(f, s_no_next, NULL, &g));
    ck_assert_int_eq(s_fn_calls, 2);
    const msgpack_object *r = NULL;
    TEST_ASSERT_OK(actors_future_get(g, 0, &r));
    ck_assert_int_eq(r->type, MSGPACK_OBJECT_NIL);
    actors_future_destroy(&g);
    TEST_ASSERT_ERR(actors_future_then(f, NULL, NULL, &g), ACTORS_EINVAL);
    ck_assert_ptr_null(g);
    actors_future_destroy(&f);
}
END_TEST

START_TEST(test_future_then_survives_oom)
{
    actors_future_t *f = s_int_future(1);
    int one = 1;
    for (unsigned n = 1;; n++) {
        actors_future_t *g = NULL;
        actors__alloc_fail_after(n);
        actors_err rc = actors_future_then(f, s_add, &one, &g);
        actors__alloc_fail_after(0);
        if (rc == ACTORS_OK) {
            /* The fn's own allocations may have failed after then()
             * succeeded: the chained future then fails with ENOMEM. */
            actors_err grc = actors_future_get(g, 0, NULL);
            ck_assert(grc == ACTORS_OK || grc == ACTORS_ENOMEM);
            actors_future_destroy(&g);
            if (grc == ACTORS_OK) {
                break;
            }
            continue;
        }
        TEST_ASSERT_ERR(rc, ACTORS_ENOMEM);
        ck_assert_ptr_null(g);
    }
    actors_future_destroy(&f);
}
END_TEST

START_TEST(test_future_bad_body_fails_on_use)
{
    /* 0xc1 is never valid msgpack; add_raw does not check. */
    actors_msg_t *m = NULL;
    TEST_ASSERT_OK(actors_msg_create(&m));
    TEST_ASSERT_OK(actors_msg_add_raw(m, "\xc1", 1));
    actors_future_t *f = NULL;
    TEST_ASSERT_OK(actors_future_resolved(NULL, &m, &f));
    TEST_ASSERT_ERR(actors_future_get(f, 0, NULL), ACTORS_EMSGPACK);
    ck_assert_str_eq(actors_error_type(actors_future_error(f)), "BadMsgpack");
    ck_assert_ptr_null(actors_future_result(f));
    actors_future_destroy(&f);
}
END_TEST

/* s_deep_future resolves a future with [[..[1]..]], depth arrays deep
 * (added raw: the builder would not check it either). */
static actors_future_t *
s_deep_future(int depth)
{
    char buf[128];
    ck_assert_int_lt(depth, (int)sizeof buf);
    memset(buf, 0x91, (size_t)depth);
    buf[depth] = 0x01;
    actors_msg_t *m = NULL;
    TEST_ASSERT_OK(actors_msg_create(&m));
    TEST_ASSERT_OK(actors_msg_add_raw(m, buf, (size_t)depth + 1));
    actors_future_t *f = NULL;
    TEST_ASSERT_OK(actors_future_resolved(NULL, &m, &f));
    return f;
}

/* A body nested deeper than msgpack-c decodes (32) is BadMsgpack, the same
 * whether asked for the error first or for the result; 32 deep decodes. */
START_TEST(test_future_deep_body_is_bad_msgpack)
{
    int depths[] = {33, 40, 70};
    for (size_t i = 0; i < sizeof depths / sizeof depths[0]; i++) {
        actors_future_t *f = s_deep_future(depths[i]);
        const actors_error_t *e = actors_future_error(f);
        ck_assert_msg(e != NULL, "depth %d: no error", depths[i]);
        ck_assert_str_eq(actors_error_type(e), "BadMsgpack");
        TEST_ASSERT_ERR(actors_future_get(f, 0, NULL), ACTORS_EMSGPACK);
        actors_future_destroy(&f);
        f = s_deep_future(depths[i]);
        TEST_ASSERT_ERR(actors_future_get(f, 0, NULL), ACTORS_EMSGPACK);
        ck_assert_ptr_null(actors_future_result(f));
        actors_future_destroy(&f);
    }
    actors_future_t *f = s_deep_future(32);
    ck_assert_ptr_null(actors_future_error(f));
    const msgpack_object *r = NULL;
    TEST_ASSERT_OK(actors_future_get(f, 0, &r));
    for (int d = 0; d < 32; d++) {
        ck_assert_int_eq(r->type, MSGPACK_OBJECT_ARRAY);
        ck_assert_uint_eq(r->via.array.size, 1);
        r = &r->via.array.ptr[0];
    }
    ck_assert_int_eq(r->type, MSGPACK_OBJECT_POSITIVE_INTEGER);
    actors_future_destroy(&f);
}
END_TEST

START_TEST(test_future_wait_any_all_resolved)
{
    actors_future_t *fs[3];
    fs[0] = s_int_future(0);
    TEST_ASSERT_OK(
        actors_future_failed(fs[0], ACTORS_EDEAD, NULL, NULL, &fs[1]));
    fs[2] = s_int_future(2);
    TEST_ASSERT_OK(actors_future_wait_all(fs, 3, 0));
    TEST_ASSERT_OK(actors_future_wait_all(fs, 3, -1));
    TEST_ASSERT_OK(actors_future_wait_all(fs, 0, 0));
    size_t idx = 99;
    TEST_ASSERT_OK(actors_future_wait_any(fs, 3, 0, &idx));
    ck_assert_uint_eq(idx, 0);
    TEST_ASSERT_OK(actors_future_wait_any(fs + 1, 2, -1, &idx));
    ck_assert_uint_eq(idx, 0);
    TEST_ASSERT_OK(actors_future_wait_any(fs, 3, 100, NULL));
    for (int i = 0; i < 3; i++) {
        actors_future_destroy(&fs[i]);
    }
}
END_TEST

Suite *future_suite(void);

Suite *
future_suite(void)
{
    Suite *s = suite_create("future");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_future_resolved_holds_value);
    tcase_add_test(tc, test_future_resolved_null_is_nil);
    tcase_add_test(tc, test_future_resolved_large_value);
    tcase_add_test(tc, test_future_resolved_rejects_not_one_value);
    tcase_add_test(tc, test_future_resolved_survives_oom);
    tcase_add_test(tc, test_future_failed_holds_error);
    tcase_add_test(tc, test_future_failed_survives_oom);
    tcase_add_test(tc, test_future_on_done_runs_once_at_once);
    tcase_add_test(tc, test_future_then_on_resolved);
    tcase_add_test(tc, test_future_then_passes_error_down);
    tcase_add_test(tc, test_future_then_fn_error_and_nil);
    tcase_add_test(tc, test_future_then_survives_oom);
    tcase_add_test(tc, test_future_bad_body_fails_on_use);
    tcase_add_test(tc, test_future_deep_body_is_bad_msgpack);
    tcase_add_test(tc, test_future_wait_any_all_resolved);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(future_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
