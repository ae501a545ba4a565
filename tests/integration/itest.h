/* tests/integration/itest.h - client-side helpers of the integration tests.
 * SPDX-License-Identifier: MIT
 *
 * Static inline helpers over the libactors client API, kept out of
 * tests/testutil.c so that unit tests link without the client. Each test
 * file includes this once. Every helper fails the test (ck_assert) rather
 * than return an error it cannot do anything about.
 *
 * The fixture: itest_setup/itest_teardown are a checked fixture (they run
 * in the forked test child) that owns one client; tests start the broker
 * first (testutil_broker_start), then call itest_connect().
 */
#ifndef ACTORS_ITEST_H
#define ACTORS_ITEST_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include <actors/actors.h>

#include "../testutil.h"

#define ITEST_WAIT_MS 10000 /* a call that should answer soon */

static actors_client_t *g_client; /* the test's client, or NULL */

static inline void
itest_setup(void)
{
    g_client = NULL;
}

static inline void
itest_teardown(void)
{
    actors_client_destroy(&g_client);
    testutil_stop_all();
}

/* itest_connect (re)connects g_client to testutil_endpoint(). */
static inline actors_client_t *
itest_connect(void)
{
    actors_client_destroy(&g_client);
    TEST_ASSERT_OK(actors_client_create(&g_client, testutil_endpoint()));
    ck_assert_ptr_nonnull(g_client);
    return g_client;
}

/* itest_send sends a call with arguments built from fmt (NULL or "": none)
 * and timeout_ms (0: the client's default, ACTORS_TIMEOUT_NONE: none) and
 * returns its future (not waited). */
static inline actors_future_t *
itest_vsend(actors_client_t *c, const char *address, const char *method,
    uint32_t timeout_ms, const char *fmt, va_list ap)
{
    actors_msg_t *args = NULL;
    if (fmt != NULL && fmt[0] != '\0') {
        /* Value by value: a va_list cannot be handed to actors_msg_build.
         * i int, I int64_t, d double, s string, n nil. */
        TEST_ASSERT_OK(actors_msg_create(&args));
        for (const char *p = fmt; *p != '\0'; p++) {
            switch (*p) {
            case 'i':
                TEST_ASSERT_OK(actors_msg_add_int(args, va_arg(ap, int)));
                break;
            case 'I':
                TEST_ASSERT_OK(actors_msg_add_int(args, va_arg(ap, int64_t)));
                break;
            case 'd':
                TEST_ASSERT_OK(actors_msg_add_double(args, va_arg(ap, double)));
                break;
            case 's':
                TEST_ASSERT_OK(
                    actors_msg_add_str(args, va_arg(ap, const char *)));
                break;
            case 'n':
                TEST_ASSERT_OK(actors_msg_add_nil(args));
                break;
            default:
                ck_abort_msg("itest: bad format character '%c'", *p);
            }
        }
    }
    actors_call_opts_t opts = ACTORS_CALL_OPTS_INIT;
    opts.timeout_ms = timeout_ms;
    actors_future_t *f = NULL;
    actors_err rc = actors_client_call(c, address, method, &args, &opts, &f);
    actors_msg_destroy(&args);
    TEST_ASSERT_OK(rc);
    ck_assert_ptr_nonnull(f);
    return f;
}

static inline actors_future_t *
itest_send(actors_client_t *c, const char *address, const char *method,
    uint32_t timeout_ms, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    actors_future_t *f = itest_vsend(c, address, method, timeout_ms, fmt, ap);
    va_end(ap);
    return f;
}

/* itest_call sends a call (the client's default deadline) on g_client and
 * waits for it. */
static inline actors_future_t *
itest_call(const char *address, const char *method, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    actors_future_t *f = itest_vsend(g_client, address, method, 0, fmt, ap);
    va_end(ap);
    actors_err rc = actors_future_wait(f, ITEST_WAIT_MS);
    ck_assert_msg(rc == ACTORS_OK, "%s.%s: no reply within %d ms (%s)", address,
        method, ITEST_WAIT_MS, actors_err_name(rc));
    return f;
}

/* itest_code is the outcome of a resolved future. */
static inline actors_err
itest_code(const actors_future_t *f)
{
    ck_assert_msg(actors_future_is_ready(f), "future not resolved");
    const actors_error_t *e = actors_future_error(f);
    return e == NULL ? ACTORS_OK : actors_error_code(e);
}

/* itest_describe renders a resolved future for failure messages (static
 * buffer). */
static inline const char *
itest_describe(const actors_future_t *f)
{
    static char buf[512];
    const actors_error_t *e = actors_future_error(f);
    if (e != NULL) {
        snprintf(buf, sizeof buf, "error %s: %s (address '%s')",
            actors_error_type(e), actors_error_message(e),
            actors_error_address(e));
        return buf;
    }
    const msgpack_object *r = actors_future_result(f);
    char *json = NULL;
    if (r != NULL && actors_json_dump(r, &json) == ACTORS_OK) {
        snprintf(buf, sizeof buf, "result %s", json);
        free(json);
    } else {
        snprintf(buf, sizeof buf, "result ?");
    }
    return buf;
}

/* itest_result returns the result of a future that must have succeeded. */
static inline const msgpack_object *
itest_result(const actors_future_t *f)
{
    ck_assert_msg(
        itest_code(f) == ACTORS_OK, "call failed: %s", itest_describe(f));
    const msgpack_object *r = actors_future_result(f);
    ck_assert_ptr_nonnull(r);
    return r;
}

static inline int64_t
itest_int(const actors_future_t *f)
{
    int64_t v = 0;
    ck_assert_msg(actors_value_int(itest_result(f), &v) == ACTORS_OK,
        "result is not an integer: %s", itest_describe(f));
    return v;
}

/* itest_double returns a result that must be a float (not an integer). */
static inline double
itest_double(const actors_future_t *f)
{
    const msgpack_object *r = itest_result(f);
    ck_assert_msg(
        r->type == MSGPACK_OBJECT_FLOAT64 || r->type == MSGPACK_OBJECT_FLOAT32,
        "result is not a float: %s", itest_describe(f));
    return r->via.f64;
}

/* itest_str copies a string result into a static buffer. */
static inline const char *
itest_str(const actors_future_t *f)
{
    static char buf[1024];
    const char *p = NULL;
    size_t n = 0;
    ck_assert_msg(actors_value_str(itest_result(f), &p, &n) == ACTORS_OK,
        "result is not a string: %s", itest_describe(f));
    ck_assert_uint_lt(n, sizeof buf);
    memcpy(buf, p, n);
    buf[n] = '\0';
    return buf;
}

/* itest_assert_error fails unless f failed with code and (when not NULL)
 * that type and a message containing msg_part. */
static inline void
itest_assert_error(const actors_future_t *f, actors_err code, const char *type,
    const char *msg_part)
{
    const actors_error_t *e = actors_future_error(f);
    ck_assert_msg(e != NULL, "want error %s, got %s", actors_err_name(code),
        itest_describe(f));
    ck_assert_msg(actors_error_code(e) == code, "want error %s, got %s",
        actors_err_name(code), itest_describe(f));
    if (type != NULL) {
        ck_assert_str_eq(actors_error_type(e), type);
    }
    if (msg_part != NULL) {
        ck_assert_msg(strstr(actors_error_message(e), msg_part) != NULL,
            "message '%s' lacks '%s'", actors_error_message(e), msg_part);
    }
}

/* itest_echo_ok checks that the broker still routes: address.echo(tag)
 * answers tag. */
static inline void
itest_echo_ok(const char *address, const char *tag)
{
    actors_future_t *f = itest_call(address, "echo", "s", tag);
    ck_assert_str_eq(itest_str(f), tag);
    actors_future_destroy(&f);
}

/* itest_tcase makes a test case with the checked fixture and a timeout. */
static inline TCase *
itest_tcase(const char *name, double timeout_s)
{
    TCase *tc = tcase_create(name);
    tcase_add_checked_fixture(tc, itest_setup, itest_teardown);
    tcase_set_timeout(tc, timeout_s);
    return tc;
}

/* itest_run runs suite s and returns main's exit status. */
static inline int
itest_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
