/* tests/integration/test_deadlines.c - deadlines that travel: the client's
 * default, options along a then-chain, and a handler's caller's deadline
 * carried by the calls the handler makes (client.h, actor.h).
 * SPDX-License-Identifier: MIT
 *
 * A probe actor runs in a thread of the test against the real broker. Its
 * method "remaining" answers actors_ctx_remaining_ms: the deadline the
 * call arrived with, as the broker wrote it in the header. "relay" calls
 * another address's "remaining" with no options, from inside a method.
 */
#include <pthread.h>

#include "itest.h"

/* ---- the probe actor --------------------------------------------------- */

static actors_err
s_remaining(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    (void)args;
    (void)state;
    return actors_ctx_reply_int(ctx, actors_ctx_remaining_ms(ctx));
}

static void
s_forward(actors_future_t *f, void *arg)
{
    actors_deferred_t *d = arg;
    actors_deferred_forward(&d, f);
    actors_future_destroy(&f);
}

/* relay(address): address.remaining() with no options of its own. */
static actors_err
s_relay(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    (void)state;
    char *to = NULL;
    if (actors_args_strdup(args, 0, &to) != ACTORS_OK) {
        return ACTORS_EARGS;
    }
    actors_client_t *c = actors_actor_client(actors_ctx_actor(ctx));
    actors_future_t *f = NULL;
    actors_err rc = actors_client_call(c, to, "remaining", NULL, NULL, &f);
    free(to);
    actors_deferred_t *d = NULL;
    if (rc == ACTORS_OK) {
        rc = actors_ctx_defer(ctx, &d);
    }
    if (rc == ACTORS_OK) {
        rc = actors_future_on_done(f, s_forward, d);
    }
    if (rc != ACTORS_OK) {
        actors_future_destroy(&f);
    }
    return rc;
}

/* nap(ms) blocks the actor (a slow method). */
static actors_err
s_nap(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    (void)state;
    int64_t ms = 0;
    if (actors_args_int(args, 0, &ms) != ACTORS_OK) {
        return ACTORS_EARGS;
    }
    int64_t until = testutil_now_ms() + ms;
    while (testutil_now_ms() < until) {
        testutil_poll_pause_ms(5); /* a slow method: poll until its end */
    }
    return actors_ctx_reply_int(ctx, ms);
}

static actors_err
s_quit(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    (void)args;
    (void)state;
    actors_actor_exit(actors_ctx_actor(ctx), 0);
    return ACTORS_OK;
}

static const actors_method_t s_methods[] = {{"remaining", s_remaining},
    {"relay", s_relay}, {"nap", s_nap}, {"quit", s_quit}, {NULL, NULL}};
static const actors_service_t s_probe = {.name = "probe", .methods = s_methods};

typedef struct {
    pthread_t thread;
    char address[64];
} probe_t;

static void *
s_probe_main(void *arg)
{
    probe_t *p = arg;
    actors_actor_opts_t o = ACTORS_ACTOR_OPTS_INIT;
    o.endpoint = testutil_endpoint();
    o.address = p->address;
    actors_actor_run(&s_probe, &o, NULL);
    return NULL;
}

static void
s_probe_start(probe_t *p, const char *address)
{
    snprintf(p->address, sizeof p->address, "%s", address);
    ck_assert_int_eq(pthread_create(&p->thread, NULL, s_probe_main, p), 0);
    ck_assert(testutil_wait_state(address, "running", 0, 10000));
}

static void
s_probe_stop(probe_t *p)
{
    actors_future_t *f = itest_call(p->address, "quit", NULL);
    actors_future_wait(f, ITEST_WAIT_MS);
    actors_future_destroy(&f);
    pthread_join(p->thread, NULL);
}

/* s_int waits for f and returns its integer result. */
static int64_t
s_int(actors_future_t *f)
{
    ck_assert_int_eq(actors_future_wait(f, ITEST_WAIT_MS), ACTORS_OK);
    return itest_int(f);
}

/* s_ask calls address.method(args) with opts and returns the
 * integer result. */
static int64_t
s_ask(actors_client_t *c, const char *address, const char *method,
    const char *arg, const actors_call_opts_t *opts)
{
    actors_msg_t *args = NULL;
    if (arg != NULL) {
        TEST_ASSERT_OK(actors_msg_build(&args, "s", arg));
    }
    actors_future_t *f = NULL;
    TEST_ASSERT_OK(actors_client_call(c, address, method, &args, opts, &f));
    int64_t v = s_int(f);
    actors_future_destroy(&f);
    return v;
}

/* ---- the client's default ---------------------------------------------- */

START_TEST(test_default_deadline_is_actorctls)
{
    testutil_broker_start(NULL);
    probe_t p;
    s_probe_start(&p, "probe/d");
    actors_client_t *c = itest_connect();
    ck_assert_uint_eq(actors_client_timeout(c), 30000);
    ck_assert_uint_eq(ACTORS_CLIENT_TIMEOUT_DEFAULT, 30000);
    /* No options: the call carries 30 s. */
    int64_t left = s_ask(c, "probe/d", "remaining", NULL, NULL);
    ck_assert_int_gt(left, 25000);
    ck_assert_int_le(left, 30000);
    /* Options with timeout 0 take the default too. */
    actors_call_opts_t o = ACTORS_CALL_OPTS_INIT;
    left = s_ask(c, "probe/d", "remaining", NULL, &o);
    ck_assert_int_gt(left, 25000);
    /* An explicit timeout wins, ACTORS_TIMEOUT_NONE is none. */
    o.timeout_ms = 4000;
    left = s_ask(c, "probe/d", "remaining", NULL, &o);
    ck_assert_int_gt(left, 2000);
    ck_assert_int_le(left, 4000);
    o.timeout_ms = ACTORS_TIMEOUT_NONE;
    ck_assert_int_eq(s_ask(c, "probe/d", "remaining", NULL, &o), -1);
    /* The default is settable, to none as well. */
    actors_client_set_timeout(c, 5000);
    left = s_ask(c, "probe/d", "remaining", NULL, NULL);
    ck_assert_int_gt(left, 3000);
    ck_assert_int_le(left, 5000);
    actors_client_set_timeout(c, ACTORS_TIMEOUT_NONE);
    ck_assert_uint_eq(actors_client_timeout(c), 0);
    ck_assert_int_eq(s_ask(c, "probe/d", "remaining", NULL, NULL), -1);
    actors_client_set_timeout(c, ACTORS_CLIENT_TIMEOUT_DEFAULT);
    s_probe_stop(&p);
}
END_TEST

START_TEST(test_default_deadline_times_out)
{
    testutil_broker_start(NULL);
    probe_t p;
    s_probe_start(&p, "probe/t");
    actors_client_t *c = itest_connect();
    actors_client_set_timeout(c, 300);
    actors_msg_t *args = NULL;
    TEST_ASSERT_OK(actors_msg_build(&args, "i", 1500));
    actors_future_t *f = NULL;
    int64_t t0 = testutil_now_ms();
    TEST_ASSERT_OK(actors_client_call(c, "probe/t", "nap", &args, NULL, &f));
    ck_assert_int_eq(
        actors_future_get(f, ITEST_WAIT_MS, NULL), ACTORS_ETIMEDOUT);
    ck_assert_int_lt(testutil_now_ms() - t0, 1400);
    actors_future_destroy(&f);
    actors_client_set_timeout(c, ACTORS_CLIENT_TIMEOUT_DEFAULT);
    s_probe_stop(&p);
}
END_TEST

/* ---- then-chains -------------------------------------------------------- */

typedef struct {
    actors_client_t *c;
    const char *address;
    const actors_call_opts_t *opts; /* of the next step */
} step_t;

static actors_err
s_next_step(const msgpack_object *result, void *arg, actors_future_t **next)
{
    (void)result;
    step_t *s = arg;
    return actors_client_call(
        s->c, s->address, "remaining", NULL, s->opts, next);
}

START_TEST(test_then_chain_inherits_options)
{
    testutil_broker_start(NULL);
    probe_t p;
    s_probe_start(&p, "probe/c");
    actors_client_t *c = itest_connect();
    actors_call_opts_t first = ACTORS_CALL_OPTS_INIT;
    first.timeout_ms = 4000;
    /* a.then(b).then(c): b and c name no options, so they get 4 s. */
    step_t plain = {c, "probe/c", NULL};
    actors_future_t *a = NULL, *b = NULL, *cc = NULL;
    TEST_ASSERT_OK(
        actors_client_call(c, "probe/c", "remaining", NULL, &first, &a));
    TEST_ASSERT_OK(actors_future_then(a, s_next_step, &plain, &b));
    TEST_ASSERT_OK(actors_future_then(b, s_next_step, &plain, &cc));
    int64_t left = s_int(cc);
    ck_assert_int_gt(left, 2000);
    ck_assert_int_le(left, 4000);
    actors_future_destroy(&a);
    actors_future_destroy(&b);
    actors_future_destroy(&cc);
    /* Unless a step overrides them; then that holds further down. */
    actors_call_opts_t none = ACTORS_CALL_OPTS_INIT;
    none.timeout_ms = ACTORS_TIMEOUT_NONE;
    step_t override = {c, "probe/c", &none};
    TEST_ASSERT_OK(
        actors_client_call(c, "probe/c", "remaining", NULL, &first, &a));
    TEST_ASSERT_OK(actors_future_then(a, s_next_step, &override, &b));
    TEST_ASSERT_OK(actors_future_then(b, s_next_step, &plain, &cc));
    ck_assert_int_eq(s_int(b), -1);
    ck_assert_int_eq(s_int(cc), -1);
    actors_future_destroy(&a);
    actors_future_destroy(&b);
    actors_future_destroy(&cc);
    /* A then on a future already resolved inherits too. */
    TEST_ASSERT_OK(
        actors_client_call(c, "probe/c", "remaining", NULL, &first, &a));
    ck_assert_int_ge(s_int(a), 0);
    TEST_ASSERT_OK(actors_future_then(a, s_next_step, &plain, &b));
    left = s_int(b);
    ck_assert_int_gt(left, 2000);
    ck_assert_int_le(left, 4000);
    actors_future_destroy(&a);
    actors_future_destroy(&b);
    /* Outside the chain the default is back. */
    ck_assert_int_gt(s_ask(c, "probe/c", "remaining", NULL, NULL), 25000);
    s_probe_stop(&p);
}
END_TEST

/* ---- inside a handler ---------------------------------------------------- */

START_TEST(test_handler_carries_callers_deadline)
{
    testutil_broker_start(NULL);
    probe_t a, b;
    s_probe_start(&a, "probe/a");
    s_probe_start(&b, "probe/b");
    actors_client_t *c = itest_connect();
    actors_call_opts_t o = ACTORS_CALL_OPTS_INIT;
    /* The caller gives 3 s; probe/a's call to probe/b carries what is
     * left of them, not the actor client's 30 s default. */
    o.timeout_ms = 3000;
    int64_t left = s_ask(c, "probe/a", "relay", "probe/b", &o);
    ck_assert_int_gt(left, 1000);
    ck_assert_int_le(left, 3000);
    /* The caller gives none: neither does the relayed call. */
    o.timeout_ms = ACTORS_TIMEOUT_NONE;
    ck_assert_int_eq(s_ask(c, "probe/a", "relay", "probe/b", &o), -1);
    /* The caller's default (30 s) travels as well. */
    left = s_ask(c, "probe/a", "relay", "probe/b", NULL);
    ck_assert_int_gt(left, 25000);
    ck_assert_int_le(left, 30000);
    /* A relay whose caller's deadline is short ends in Timeout for the
     * caller while the callee naps, and the relay's own call had no more
     * time than that: probe/a answers at once (not 30 s later). */
    actors_msg_t *args = NULL;
    TEST_ASSERT_OK(actors_msg_build(&args, "i", 1000));
    actors_future_t *nap = NULL;
    o.timeout_ms = ACTORS_TIMEOUT_NONE;
    TEST_ASSERT_OK(actors_client_call(c, "probe/b", "nap", &args, &o, &nap));
    o.timeout_ms = 300;
    actors_future_t *f = NULL;
    TEST_ASSERT_OK(actors_msg_build(&args, "s", "probe/b"));
    TEST_ASSERT_OK(actors_client_call(c, "probe/a", "relay", &args, &o, &f));
    ck_assert_int_eq(
        actors_future_get(f, ITEST_WAIT_MS, NULL), ACTORS_ETIMEDOUT);
    actors_future_destroy(&f);
    ck_assert_int_eq(s_int(nap), 1000);
    actors_future_destroy(&nap);
    s_probe_stop(&a);
    s_probe_stop(&b);
}
END_TEST

static Suite *
deadlines_suite(void)
{
    Suite *s = suite_create("deadlines");
    TCase *tc = itest_tcase("deadlines", 60);
    tcase_add_test(tc, test_default_deadline_is_actorctls);
    tcase_add_test(tc, test_default_deadline_times_out);
    tcase_add_test(tc, test_then_chain_inherits_options);
    tcase_add_test(tc, test_handler_carries_callers_deadline);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return itest_run(deadlines_suite());
}
