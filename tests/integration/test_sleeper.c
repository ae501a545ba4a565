/* tests/integration/test_sleeper.c - threaded actors (max_concurrency,
 * concurrency groups) through the real broker.
 * SPDX-License-Identifier: MIT
 *
 * The sleeper service (services/sleeper, Ray's ThreadedActor): N sleeps
 * finish in the time of one; never more than N run at once; a named group
 * keeps its own limit while the default group is full, and a group of its
 * own answers while every other thread sleeps; --max-concurrency 1 runs
 * them one at a time; tells on workers are credited; and a process killed
 * with calls running on its workers fails exactly those (ActorCrashed)
 * while the calls it never started get ActorDead: its progress claims
 * stay exact with several calls in flight.
 */
#include <signal.h>

#include <zmq.h>

#include "itest.h"
#include <actors-internal/wire.h>

#define SLEEPER "sleeper"

/* s_stat reads one field of sleeper.stats(). */
static int64_t
s_stat(const char *address, const char *field)
{
    actors_future_t *f = itest_call(address, "stats", NULL);
    int64_t v = -1;
    ck_assert_int_eq(
        actors_value_int(actors_map_get(itest_result(f), field), &v),
        ACTORS_OK);
    actors_future_destroy(&f);
    return v;
}

/* s_send_n sends n method(ms) calls and returns their futures. */
static actors_future_t **
s_send_n(const char *address, const char *method, int n, int64_t ms)
{
    actors_future_t **fs = calloc((size_t)n, sizeof *fs);
    ck_assert_ptr_nonnull(fs);
    for (int i = 0; i < n; i++) {
        fs[i] = itest_send(g_client, address, method, 0, "I", ms);
    }
    return fs;
}

static void
s_free_n(actors_future_t **fs, int n)
{
    for (int i = 0; i < n; i++) {
        actors_future_destroy(&fs[i]);
    }
    free(fs);
}

/* Four sleeps of 500 ms on a sleeper of max_concurrency 4 take about
 * 500 ms, not 2 s; all four ran at once. */
START_TEST(test_sleeper_n_sleeps_in_the_time_of_one)
{
    testutil_broker_start(NULL);
    testutil_service_start(SLEEPER, "sleeper/1", 0, NULL);
    itest_connect();
    int64_t t0 = testutil_now_ms();
    actors_future_t **fs = s_send_n("sleeper/1", "sleep", 4, 500);
    TEST_ASSERT_OK(actors_future_wait_all(fs, 4, ITEST_WAIT_MS));
    int64_t took = testutil_now_ms() - t0;
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(itest_int(fs[i]), 500);
    }
    s_free_n(fs, 4);
    ck_assert_msg(
        took < 1500, "4 sleeps of 500 ms took %lld ms", (long long)took);
    ck_assert_int_eq(s_stat("sleeper/1", "peak"), 4);
}
END_TEST

/* Ten sleeps on max_concurrency 4: never more than four at once, so they
 * take three rounds; every call is answered once. */
START_TEST(test_sleeper_never_more_than_n)
{
    testutil_broker_start(NULL);
    testutil_service_start(SLEEPER, "sleeper/2", 0, NULL);
    itest_connect();
    int64_t t0 = testutil_now_ms();
    actors_future_t **fs = s_send_n("sleeper/2", "sleep", 10, 200);
    TEST_ASSERT_OK(actors_future_wait_all(fs, 10, ITEST_WAIT_MS));
    int64_t took = testutil_now_ms() - t0;
    for (int i = 0; i < 10; i++) {
        ck_assert_int_eq(itest_int(fs[i]), 200);
    }
    s_free_n(fs, 10);
    ck_assert_int_ge(took, 3 * 200 - 20);
    ck_assert_int_eq(s_stat("sleeper/2", "peak"), 4);
    ck_assert_int_eq(s_stat("sleeper/2", "running"), 0);
    ck_assert_int_eq(s_stat("sleeper/2", "done"), 10);
}
END_TEST

/* The "io" group runs at most 2 at once while the default group runs its
 * 4, and the "admin" group's stats answers while all six threads sleep. */
START_TEST(test_sleeper_group_limits)
{
    testutil_broker_start(NULL);
    testutil_service_start(SLEEPER, "sleeper/3", 0, NULL);
    itest_connect();
    actors_future_t **io = s_send_n("sleeper/3", "io_sleep", 6, 800);
    actors_future_t **df = s_send_n("sleeper/3", "sleep", 6, 800);
    /* While they sleep: stats answers at once (its own group), and shows
     * the limits reached, not passed. */
    int64_t deadline = testutil_now_ms() + ITEST_WAIT_MS;
    int64_t running = 0;
    int64_t io_running = 0;
    while (testutil_now_ms() < deadline) {
        running = s_stat("sleeper/3", "running");
        io_running = s_stat("sleeper/3", "io_running");
        ck_assert_int_le(running, 4);
        ck_assert_int_le(io_running, 2);
        if (running == 4 && io_running == 2) {
            break;
        }
        testutil_poll_pause_ms(5);
    }
    ck_assert_int_eq(running, 4);
    ck_assert_int_eq(io_running, 2);
    TEST_ASSERT_OK(actors_future_wait_all(io, 6, ITEST_WAIT_MS));
    TEST_ASSERT_OK(actors_future_wait_all(df, 6, ITEST_WAIT_MS));
    for (int i = 0; i < 6; i++) {
        ck_assert_int_eq(itest_int(io[i]), 800);
        ck_assert_int_eq(itest_int(df[i]), 800);
    }
    s_free_n(io, 6);
    s_free_n(df, 6);
    ck_assert_int_eq(s_stat("sleeper/3", "io_peak"), 2);
    ck_assert_int_eq(s_stat("sleeper/3", "peak"), 4);
}
END_TEST

/* --max-concurrency 1: one sleep at a time (Ray's default). */
START_TEST(test_sleeper_max_concurrency_one)
{
    testutil_broker_start(NULL);
    testutil_service_start(
        SLEEPER, "sleeper/4", 0, "--max-concurrency", "1", NULL);
    itest_connect();
    int64_t t0 = testutil_now_ms();
    actors_future_t **fs = s_send_n("sleeper/4", "sleep", 3, 200);
    TEST_ASSERT_OK(actors_future_wait_all(fs, 3, ITEST_WAIT_MS));
    int64_t took = testutil_now_ms() - t0;
    s_free_n(fs, 3);
    ck_assert_int_ge(took, 3 * 200 - 20);
    ck_assert_int_eq(s_stat("sleeper/4", "peak"), 1);
}
END_TEST

static bool
s_idle(void *arg)
{
    int64_t inflight = -1;
    int64_t mailbox = -1;
    char state[32];
    return testutil_lookup_state(arg, state, sizeof state, NULL, &mailbox,
               &inflight) == ACTORS_OK &&
           inflight == 0 && mailbox == 0;
}

/* Tells handled on workers are credited: once they are done the broker
 * has nothing in flight for the address. */
START_TEST(test_sleeper_tells_credited)
{
    testutil_broker_start(NULL);
    testutil_service_start(SLEEPER, "sleeper/5", 0, NULL);
    actors_client_t *c = itest_connect();
    for (int i = 0; i < 40; i++) {
        actors_msg_t *args = NULL;
        TEST_ASSERT_OK(actors_msg_build(&args, "I", (int64_t)5));
        TEST_ASSERT_OK(actors_client_tell(c, "sleeper/5", "sleep", &args));
    }
    int64_t deadline = testutil_now_ms() + ITEST_WAIT_MS;
    while (s_stat("sleeper/5", "done") < 40 && testutil_now_ms() < deadline) {
        testutil_poll_pause_ms(5);
    }
    ck_assert_int_eq(s_stat("sleeper/5", "done"), 40);
    ck_assert(testutil_wait_until(s_idle, "sleeper/5", ITEST_WAIT_MS));
}
END_TEST

/* s_four_waiting: the sleeper's stderr shows four computations started
 * ("Actor waiting for"). Its log, not a stats call: a reply from another
 * group would tell the broker that the calls before it were taken up
 * (PROTOCOL.md, "Concurrency inside an actor"). */
static bool
s_four_waiting(void *arg)
{
    const char *err = testutil_proc_stderr(arg);
    int n = 0;
    for (const char *q = err; (q = strstr(q, "Actor waiting for")) != NULL;
         q++) {
        n++;
    }
    return n >= 4;
}

/* Killed with four calls running on its workers and four waiting for
 * room: the running ones get ActorCrashed; of the waiting ones, the first
 * may count as started (the protocol's K + 1), the others never started
 * and get ActorDead. */
START_TEST(test_sleeper_killed_with_calls_in_flight)
{
    testutil_broker_start(NULL);
    testutil_proc_t *p = testutil_service_spawn(
        TESTUTIL_CAPTURE_STDERR, SLEEPER, "sleeper/6", 0, NULL);
    ck_assert(testutil_wait_state("sleeper/6", "running", p->pid, 10000));
    itest_connect();
    actors_future_t **fs = calloc(8, sizeof *fs);
    ck_assert_ptr_nonnull(fs);
    for (int i = 0; i < 8; i++) {
        fs[i] =
            itest_send(g_client, "sleeper/6", "computation", 0, "ii", 5, 1000);
    }
    ck_assert(testutil_wait_until(s_four_waiting, p, ITEST_WAIT_MS));
    testutil_proc_kill(p, SIGKILL);
    TEST_ASSERT_OK(actors_future_wait_all(fs, 8, ITEST_WAIT_MS));
    for (int i = 0; i < 4; i++) {
        itest_assert_error(fs[i], ACTORS_ECRASHED, NULL, NULL);
    }
    ck_assert(itest_code(fs[4]) == ACTORS_ECRASHED ||
              itest_code(fs[4]) == ACTORS_EDEAD);
    for (int i = 5; i < 8; i++) {
        itest_assert_error(fs[i], ACTORS_EDEAD, NULL, NULL);
    }
    s_free_n(fs, 8);
}
END_TEST

/* s_raw_call sends a CALL with a raw arguments frame and returns the
 * error type of the answer ("" for a REPLY). */
static const char *
s_raw_call(void *s, const char *method, const void *args, size_t len)
{
    static char type[64];
    uint8_t hdr[ACTORS_WIRE_HDR_MAX];
    size_t hlen =
        testutil_call_hdr(hdr, "ACT2", 0x01, 0, "r1", 2, "sleeper/7", method);
    const void *data[2] = {hdr, args};
    size_t lens[2] = {hlen, len};
    ck_assert_int_eq(testutil_raw_send(s, 2, data, lens), 0);
    testutil_raw_msg_t m;
    ck_assert_msg(testutil_raw_recv(s, ITEST_WAIT_MS, &m), "no answer");
    type[0] = '\0';
    if (!testutil_raw_error_type(&m, 0, type, sizeof type)) {
        type[0] = '\0';
    }
    testutil_raw_msg_free(&m);
    return type;
}

/* Malformed calls to a threaded actor are answered by the worker (or the
 * loop) with the runtime's error types, and it goes on. */
START_TEST(test_sleeper_malformed_calls)
{
    testutil_broker_start(NULL);
    testutil_service_start(SLEEPER, "sleeper/7", 0, NULL);
    void *s = testutil_raw_socket(ZMQ_DEALER);
    const uint8_t not_msgpack[] = {0xc1};
    const uint8_t a_map[] = {0x80};
    const uint8_t two_values[] = {0x90, 0x90};
    const uint8_t ok_args[] = {0x91, 0x05};
    ck_assert_str_eq(
        s_raw_call(s, "sleep", not_msgpack, sizeof not_msgpack), "BadMsgpack");
    ck_assert_str_eq(
        s_raw_call(s, "sleep", two_values, sizeof two_values), "BadMsgpack");
    ck_assert_str_eq(
        s_raw_call(s, "sleep", a_map, sizeof a_map), "WrongArguments");
    ck_assert_str_eq(
        s_raw_call(s, "nosuch", ok_args, sizeof ok_args), "NoSuchMethod");
    ck_assert_str_eq(s_raw_call(s, "sleep", ok_args, sizeof ok_args), "");
    testutil_raw_close(&s);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("sleeper");
    TCase *tc = itest_tcase("threaded", 60);
    tcase_add_test(tc, test_sleeper_n_sleeps_in_the_time_of_one);
    tcase_add_test(tc, test_sleeper_never_more_than_n);
    tcase_add_test(tc, test_sleeper_group_limits);
    tcase_add_test(tc, test_sleeper_max_concurrency_one);
    tcase_add_test(tc, test_sleeper_tells_credited);
    tcase_add_test(tc, test_sleeper_killed_with_calls_in_flight);
    tcase_add_test(tc, test_sleeper_malformed_calls);
    suite_add_tcase(s, tc);
    return itest_run(s);
}
