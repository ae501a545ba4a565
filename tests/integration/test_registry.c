/* tests/integration/test_registry.c - lookup, list, ping, clean stops and
 * taken names.
 * SPDX-License-Identifier: MIT
 */
#include "itest.h"

#include <signal.h>
#include <sys/wait.h>

/* s_map_str checks that map[key] is the string want. */
static void
s_assert_map_str(const msgpack_object *map, const char *key, const char *want)
{
    const msgpack_object *v = actors_map_get(map, key);
    ck_assert_msg(v != NULL, "no key '%s'", key);
    const char *p = NULL;
    size_t n = 0;
    TEST_ASSERT_OK(actors_value_str(v, &p, &n));
    ck_assert_msg(n == strlen(want) && memcmp(p, want, n) == 0,
        "%s is '%.*s', want '%s'", key, (int)n, p, want);
}

static int64_t
s_map_int(const msgpack_object *map, const char *key)
{
    int64_t v = -1;
    TEST_ASSERT_OK(actors_value_int(actors_map_get(map, key), &v));
    return v;
}

START_TEST(test_registry_lookup)
{
    testutil_broker_start(NULL);
    testutil_proc_t *p =
        testutil_service_start("counter", "counter/l", 0, NULL);
    actors_client_t *c = itest_connect();
    actors_future_t *f = NULL;
    TEST_ASSERT_OK(actors_client_lookup(c, "counter/l", &f));
    TEST_ASSERT_OK(actors_future_wait(f, ITEST_WAIT_MS));
    const msgpack_object *m = itest_result(f);
    ck_assert_int_eq(m->type, MSGPACK_OBJECT_MAP);
    s_assert_map_str(m, "address", "counter/l");
    s_assert_map_str(m, "service", "counter");
    s_assert_map_str(m, "state", "running");
    ck_assert_int_eq(s_map_int(m, "pid"), p->pid);
    ck_assert_int_eq(s_map_int(m, "inflight"), 0);
    ck_assert_int_eq(s_map_int(m, "mailbox"), 0);
    ck_assert_int_ge(s_map_int(m, "handled"), 0);
    actors_future_destroy(&f);

    TEST_ASSERT_OK(actors_client_lookup(c, "counter/none", &f));
    TEST_ASSERT_OK(actors_future_wait(f, ITEST_WAIT_MS));
    itest_assert_error(f, ACTORS_ENOACTOR, "NoSuchActor", NULL);
    actors_future_destroy(&f);
}
END_TEST

START_TEST(test_registry_list_and_ping)
{
    testutil_broker_start(NULL);
    testutil_service_start("counter", "counter/1", 0, NULL);
    testutil_service_start("chaos", "chaos/1", 0, NULL);
    actors_client_t *c = itest_connect();
    actors_future_t *f = NULL;
    TEST_ASSERT_OK(actors_client_list(c, &f));
    TEST_ASSERT_OK(actors_future_wait(f, ITEST_WAIT_MS));
    const msgpack_object *a = itest_result(f);
    ck_assert_int_eq(a->type, MSGPACK_OBJECT_ARRAY);
    ck_assert_uint_eq(a->via.array.size, 2);
    bool seen_counter = false;
    bool seen_chaos = false;
    for (uint32_t i = 0; i < a->via.array.size; i++) {
        const msgpack_object *e = &a->via.array.ptr[i];
        const char *addr = NULL;
        size_t n = 0;
        TEST_ASSERT_OK(
            actors_value_str(actors_map_get(e, "address"), &addr, &n));
        if (n == 9 && memcmp(addr, "counter/1", 9) == 0) {
            seen_counter = true;
            s_assert_map_str(e, "service", "counter");
        } else if (n == 7 && memcmp(addr, "chaos/1", 7) == 0) {
            seen_chaos = true;
            s_assert_map_str(e, "service", "chaos");
        }
        s_assert_map_str(e, "state", "running");
    }
    ck_assert(seen_counter && seen_chaos);
    actors_future_destroy(&f);

    TEST_ASSERT_OK(actors_client_ping(c, &f));
    TEST_ASSERT_OK(actors_future_wait(f, ITEST_WAIT_MS));
    const msgpack_object *pm = itest_result(f);
    s_assert_map_str(pm, "protocol", "ACT2");
    ck_assert_int_eq(s_map_int(pm, "actors"), 2);
    ck_assert_int_ge(s_map_int(pm, "uptime_ms"), 0);
    actors_future_destroy(&f);
}
END_TEST

/* SIGTERM: the actor unregisters and exits 0; later calls get ActorDead. */
START_TEST(test_registry_sigterm_unregisters)
{
    testutil_broker_start(NULL);
    testutil_proc_t *p = testutil_service_start("chaos", "chaos/term", 0, NULL);
    itest_connect();
    itest_echo_ok("chaos/term", "before");
    testutil_proc_kill(p, SIGTERM);
    int status = 0;
    ck_assert(testutil_proc_wait(p, ITEST_WAIT_MS, &status));
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
        "SIGTERM: status 0x%x", status);
    ck_assert(testutil_wait_state("chaos/term", "dead", 0, ITEST_WAIT_MS));
    actors_future_t *f = itest_call("chaos/term", "echo", "i", 1);
    itest_assert_error(f, ACTORS_EDEAD, "ActorDead", NULL);
    actors_future_destroy(&f);
}
END_TEST

/* stop(): replies, then exits 0 (Ray's exit_actor). */
START_TEST(test_registry_stop_from_inside)
{
    testutil_broker_start(NULL);
    testutil_proc_t *p = testutil_service_start("chaos", "chaos/stop", 0, NULL);
    itest_connect();
    actors_future_t *f = itest_call("chaos/stop", "stop", NULL);
    ck_assert_int_eq(itest_code(f), ACTORS_OK);
    actors_future_destroy(&f);
    int status = 0;
    ck_assert(testutil_proc_wait(p, ITEST_WAIT_MS, &status));
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
        "stop(): status 0x%x", status);
    ck_assert(testutil_wait_state("chaos/stop", "dead", 0, ITEST_WAIT_MS));
    f = itest_call("chaos/stop", "echo", "i", 1);
    itest_assert_error(f, ACTORS_EDEAD, "ActorDead", NULL);
    actors_future_destroy(&f);
}
END_TEST

/* A second actor at a live address is refused and exits non-zero; the
 * first keeps the address. */
START_TEST(test_registry_name_taken)
{
    testutil_broker_start(NULL);
    testutil_proc_t *first =
        testutil_service_start("chaos", "chaos/one", 0, NULL);
    itest_connect();
    testutil_proc_t *second = testutil_service_spawn(
        TESTUTIL_CAPTURE_STDERR, "chaos", "chaos/one", 0, NULL);
    ck_assert_ptr_nonnull(second);
    int status = 0;
    ck_assert_msg(testutil_proc_wait(second, ITEST_WAIT_MS, &status),
        "second actor at a taken address did not exit");
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) != 0,
        "second actor: status 0x%x, stderr '%s'", status,
        testutil_proc_stderr(second));
    ck_assert(testutil_proc_running(first));
    ck_assert(testutil_wait_state("chaos/one", "running", first->pid, 1000));
    itest_echo_ok("chaos/one", "still mine");
}
END_TEST

/* The broker stops cleanly on SIGTERM (exit 0: under ASan, also no leak)
 * after it has routed traffic. */
START_TEST(test_registry_broker_sigterm_exits_0)
{
    testutil_proc_t *b = testutil_broker_start(NULL);
    testutil_service_start("chaos", "chaos/b", 0, NULL);
    actors_client_t *c = itest_connect();
    itest_echo_ok("chaos/b", "traffic");
    actors_future_t *f = itest_send(c, "nobody", "echo", 0, "i", 1);
    TEST_ASSERT_OK(actors_future_wait(f, ITEST_WAIT_MS));
    actors_future_destroy(&f);
    /* A call left pending in the actor when the broker stops. */
    f = itest_send(c, "chaos/b", "sleep", 0, "i", 300);
    actors_client_poll(c, 0);
    testutil_proc_kill(b, SIGTERM);
    int status = 0;
    ck_assert_msg(testutil_proc_wait(b, ITEST_WAIT_MS, &status),
        "broker ignored SIGTERM");
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
        "broker SIGTERM: status 0x%x", status);
    actors_future_destroy(&f);
}
END_TEST

static Suite *
registry_suite(void)
{
    Suite *s = suite_create("registry");
    TCase *tc = itest_tcase("registry", 60);
    tcase_add_test(tc, test_registry_lookup);
    tcase_add_test(tc, test_registry_list_and_ping);
    tcase_add_test(tc, test_registry_sigterm_unregisters);
    tcase_add_test(tc, test_registry_stop_from_inside);
    tcase_add_test(tc, test_registry_name_taken);
    tcase_add_test(tc, test_registry_broker_sigterm_exits_0);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return itest_run(registry_suite());
}
