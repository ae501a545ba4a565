/* tests/integration/test_pool.c - Ray's ActorPool (actors/pool.h) over
 * real actors. SPDX-License-Identifier: MIT
 *
 * Members are sleepers (services/sleeper) run one call at a time
 * (--max-concurrency 1), so a task's duration is under the test's control.
 * get_next keeps submission order whatever the durations, and
 * get_next_unordered does not; a member that always crashes is evicted and
 * the pool finishes every other task on the live members (with or without
 * re-submits), its queued work included (ray-project/ray#50313); a get
 * that times out leaves the task next, or with SKIP_TIMEDOUT drops it and
 * the pool goes on consistently (ray-project/ray#51979); map and
 * map_unordered; push and pop_idle; a pool whose members all died fails
 * its tasks instead of hanging; a group address with no group behind it
 * counts as one member.
 */
#include "itest.h"

#define TASK_WAIT_MS 10000

/* s_member starts a one-at-a-time sleeper at address (mode "crash" or
 * NULL). */
static void
s_member(const char *address, const char *mode)
{
    if (mode != NULL) {
        char arg[32];
        snprintf(arg, sizeof arg, "\"%s\"", mode);
        testutil_service_start(
            "sleeper", address, 0, "--max-concurrency", "1", arg, NULL);
    } else {
        testutil_service_start(
            "sleeper", address, 0, "--max-concurrency", "1", NULL);
    }
}

static void
s_submit_sleep(actors_pool_t *p, int64_t ms, uint64_t want_index)
{
    actors_msg_t *args = NULL;
    uint64_t index = 0;
    TEST_ASSERT_OK(actors_msg_build(&args, "I", ms));
    TEST_ASSERT_OK(actors_pool_submit(p, "sleep", &args, &index));
    ck_assert_ptr_null(args);
    ck_assert_uint_eq(index, want_index);
}

/* get_next: submission order, though later tasks finish first. */
START_TEST(test_pool_get_next_in_submission_order)
{
    testutil_broker_start(NULL);
    s_member("sleeper/a", NULL);
    s_member("sleeper/b", NULL);
    actors_client_t *c = itest_connect();
    actors_pool_t *p = NULL;
    const char *members[] = {"sleeper/a", "sleeper/b"};
    TEST_ASSERT_OK(actors_pool_create(&p, c, members, 2, NULL));
    ck_assert_uint_eq(actors_pool_members(p), 2);
    const int64_t ms[] = {300, 200, 100, 50, 10, 0};
    for (int i = 0; i < 6; i++) {
        s_submit_sleep(p, ms[i], (uint64_t)i);
    }
    for (int i = 0; i < 6; i++) {
        ck_assert(actors_pool_has_next(p));
        actors_future_t *f = NULL;
        uint64_t index = 99;
        TEST_ASSERT_OK(actors_pool_get_next(p, TASK_WAIT_MS, 0, &f, &index));
        ck_assert_uint_eq(index, (uint64_t)i);
        ck_assert_int_eq(itest_int(f), ms[i]);
        actors_future_destroy(&f);
    }
    ck_assert(!actors_pool_has_next(p));
    actors_future_t *f = NULL;
    ck_assert_int_eq(actors_pool_get_next(p, 0, 0, &f, NULL), ACTORS_EINVAL);
    /* Unordered: the short task first. */
    s_submit_sleep(p, 400, 6);
    s_submit_sleep(p, 0, 7);
    uint64_t index = 0;
    TEST_ASSERT_OK(
        actors_pool_get_next_unordered(p, TASK_WAIT_MS, 0, &f, &index));
    ck_assert_uint_eq(index, 7);
    actors_future_destroy(&f);
    TEST_ASSERT_OK(
        actors_pool_get_next_unordered(p, TASK_WAIT_MS, 0, &f, &index));
    ck_assert_uint_eq(index, 6);
    ck_assert_int_eq(itest_int(f), 400);
    actors_future_destroy(&f);
    actors_pool_destroy(&p);
    ck_assert_ptr_null(p);
}
END_TEST

/* s_drain_pool gets every outcome; counts successes and errors by type. */
static void
s_drain_pool(actors_pool_t *p, int *ok, int *crashed, int *other)
{
    *ok = *crashed = *other = 0;
    while (actors_pool_has_next(p)) {
        actors_future_t *f = NULL;
        TEST_ASSERT_OK(actors_pool_get_next(p, TASK_WAIT_MS, 0, &f, NULL));
        actors_err code = itest_code(f);
        if (code == ACTORS_OK) {
            (*ok)++;
        } else if (code == ACTORS_ECRASHED) {
            (*crashed)++;
        } else {
            (*other)++;
            fprintf(stderr, "unexpected outcome %s\n", itest_describe(f));
        }
        actors_future_destroy(&f);
    }
}

/* A member that crashes on every call: the pool evicts it after its
 * crash, sends its queued task (never started: ActorDead) to the live
 * members, and finishes all other work; one task, the one that crashed
 * with it, fails with ActorCrashed. */
START_TEST(test_pool_crashing_member_is_evicted)
{
    testutil_broker_start(NULL);
    s_member("sleeper/ok1", NULL);
    s_member("sleeper/bad", "crash");
    s_member("sleeper/ok2", NULL);
    actors_client_t *c = itest_connect();
    actors_pool_t *p = NULL;
    const char *members[] = {"sleeper/ok1", "sleeper/bad", "sleeper/ok2"};
    actors_pool_opts_t o = ACTORS_POOL_OPTS_INIT;
    o.per_member = 2; /* the bad member gets a second task queued */
    TEST_ASSERT_OK(actors_pool_create(&p, c, members, 3, &o));
    for (int i = 0; i < 30; i++) {
        s_submit_sleep(p, 10, (uint64_t)i);
    }
    int ok = 0;
    int crashed = 0;
    int other = 0;
    s_drain_pool(p, &ok, &crashed, &other);
    ck_assert_int_eq(other, 0);
    ck_assert_int_le(crashed, 2); /* the crash, and maybe K + 1 */
    ck_assert_int_ge(crashed, 1);
    ck_assert_int_eq(ok + crashed, 30);
    ck_assert_uint_eq(actors_pool_evicted(p), 1);
    ck_assert_uint_eq(actors_pool_members(p), 2);
    /* Later work never goes to the evicted member. */
    for (int i = 0; i < 10; i++) {
        s_submit_sleep(p, 0, 30 + (uint64_t)i);
    }
    s_drain_pool(p, &ok, &crashed, &other);
    ck_assert_int_eq(ok, 10);
    actors_pool_destroy(&p);
}
END_TEST

/* With a re-submit allowed, the crashed task runs again elsewhere: every
 * task succeeds. */
START_TEST(test_pool_crashed_task_resubmitted)
{
    testutil_broker_start(NULL);
    s_member("sleeper/bad", "crash");
    s_member("sleeper/ok1", NULL);
    actors_client_t *c = itest_connect();
    actors_pool_t *p = NULL;
    const char *members[] = {"sleeper/bad", "sleeper/ok1"};
    actors_pool_opts_t o = ACTORS_POOL_OPTS_INIT;
    o.max_task_retries = 2;
    TEST_ASSERT_OK(actors_pool_create(&p, c, members, 2, &o));
    for (int i = 0; i < 12; i++) {
        s_submit_sleep(p, 5, (uint64_t)i);
    }
    int ok = 0;
    int crashed = 0;
    int other = 0;
    s_drain_pool(p, &ok, &crashed, &other);
    ck_assert_int_eq(ok, 12);
    ck_assert_uint_eq(actors_pool_evicted(p), 1);
    actors_pool_destroy(&p);
}
END_TEST

/* Every member dead: the tasks fail (ActorCrashed, then ActorDead "no live
 * member"); nothing hangs. */
START_TEST(test_pool_no_member_left)
{
    testutil_broker_start(NULL);
    s_member("sleeper/bad", "crash");
    actors_client_t *c = itest_connect();
    actors_pool_t *p = NULL;
    const char *members[] = {"sleeper/bad"};
    TEST_ASSERT_OK(actors_pool_create(&p, c, members, 1, NULL));
    for (int i = 0; i < 5; i++) {
        s_submit_sleep(p, 5, (uint64_t)i);
    }
    actors_future_t *f = NULL;
    TEST_ASSERT_OK(actors_pool_get_next(p, TASK_WAIT_MS, 0, &f, NULL));
    itest_assert_error(f, ACTORS_ECRASHED, NULL, NULL);
    actors_future_destroy(&f);
    for (int i = 1; i < 5; i++) {
        TEST_ASSERT_OK(actors_pool_get_next(p, TASK_WAIT_MS, 0, &f, NULL));
        itest_assert_error(f, ACTORS_EDEAD, NULL, "no live member");
        actors_future_destroy(&f);
    }
    ck_assert_uint_eq(actors_pool_members(p), 0);
    actors_pool_destroy(&p);
}
END_TEST

/* A get that times out changes nothing: the task stays next. With
 * SKIP_TIMEDOUT it is dropped: the next get returns the next task, the
 * member comes back once the skipped call ends, and later tasks run. */
START_TEST(test_pool_timeout_then_skip)
{
    testutil_broker_start(NULL);
    s_member("sleeper/one", NULL);
    actors_client_t *c = itest_connect();
    actors_pool_t *p = NULL;
    const char *members[] = {"sleeper/one"};
    TEST_ASSERT_OK(actors_pool_create(&p, c, members, 1, NULL));
    s_submit_sleep(p, 800, 0);
    s_submit_sleep(p, 1, 1);
    s_submit_sleep(p, 2, 2);
    actors_future_t *f = NULL;
    uint64_t index = 0;
    ck_assert_int_eq(
        actors_pool_get_next(p, 50, 0, &f, &index), ACTORS_ETIMEDOUT);
    ck_assert_ptr_null(f);
    ck_assert(actors_pool_has_next(p));
    ck_assert_int_eq(
        actors_pool_get_next(p, 50, ACTORS_POOL_SKIP_TIMEDOUT, &f, &index),
        ACTORS_ETIMEDOUT);
    ck_assert(actors_pool_has_next(p));
    TEST_ASSERT_OK(actors_pool_get_next(p, TASK_WAIT_MS, 0, &f, &index));
    ck_assert_uint_eq(index, 1);
    ck_assert_int_eq(itest_int(f), 1);
    actors_future_destroy(&f);
    TEST_ASSERT_OK(actors_pool_get_next(p, TASK_WAIT_MS, 0, &f, &index));
    ck_assert_uint_eq(index, 2);
    ck_assert_int_eq(itest_int(f), 2);
    actors_future_destroy(&f);
    ck_assert(!actors_pool_has_next(p));
    ck_assert(actors_pool_has_free(p));
    s_submit_sleep(p, 3, 3);
    TEST_ASSERT_OK(actors_pool_get_next(p, TASK_WAIT_MS, 0, &f, &index));
    ck_assert_uint_eq(index, 3);
    ck_assert_int_eq(itest_int(f), 3);
    actors_future_destroy(&f);
    /* A running task skipped at once (timeout 0), then a queued one: the
     * queued one never runs. */
    s_submit_sleep(p, 300, 4);
    s_submit_sleep(p, 5, 5);
    s_submit_sleep(p, 6, 6);
    ck_assert_int_eq(
        actors_pool_get_next(p, 0, ACTORS_POOL_SKIP_TIMEDOUT, &f, &index),
        ACTORS_ETIMEDOUT);
    ck_assert_int_eq(
        actors_pool_get_next(p, 0, ACTORS_POOL_SKIP_TIMEDOUT, &f, &index),
        ACTORS_ETIMEDOUT);
    TEST_ASSERT_OK(actors_pool_get_next(p, TASK_WAIT_MS, 0, &f, &index));
    ck_assert_uint_eq(index, 6);
    ck_assert_int_eq(itest_int(f), 6);
    actors_future_destroy(&f);
    ck_assert(!actors_pool_has_next(p));
    /* Sleeps run: 800, 1, 2, 3, 300, 6; not 5. */
    f = itest_call("sleeper/one", "stats", NULL);
    int64_t done = 0;
    TEST_ASSERT_OK(
        actors_value_int(actors_map_get(itest_result(f), "done"), &done));
    ck_assert_int_eq(done, 6);
    actors_future_destroy(&f);
    actors_pool_destroy(&p);
}
END_TEST

typedef struct {
    size_t seen;
    size_t order[8];
    int64_t value[8];
} map_t;

static void
s_each(size_t i, const actors_future_t *f, void *arg)
{
    map_t *m = arg;
    ck_assert_uint_lt(m->seen, 8);
    m->order[m->seen] = i;
    m->value[m->seen] = itest_int(f);
    m->seen++;
}

/* map: the outcomes in the order of the values; map_unordered: as they
 * come (the short ones first). */
START_TEST(test_pool_map)
{
    testutil_broker_start(NULL);
    s_member("sleeper/m1", NULL);
    s_member("sleeper/m2", NULL);
    actors_client_t *c = itest_connect();
    actors_pool_t *p = NULL;
    const char *members[] = {"sleeper/m1", "sleeper/m2"};
    TEST_ASSERT_OK(actors_pool_create(&p, c, members, 2, NULL));
    actors_msg_t *v = NULL;
    TEST_ASSERT_OK(actors_msg_build(&v, "[[i][i][i][i]]", 900, 200, 20, 10));
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    ck_assert_int_eq(
        msgpack_unpack_next(&up, actors_msg_data(v), actors_msg_size(v), &off),
        MSGPACK_UNPACK_SUCCESS);
    map_t m = {0};
    TEST_ASSERT_OK(
        actors_pool_map(p, "sleep", &up.data, TASK_WAIT_MS, s_each, &m));
    ck_assert_uint_eq(m.seen, 4);
    const int64_t want[] = {900, 200, 20, 10};
    for (size_t i = 0; i < 4; i++) {
        ck_assert_uint_eq(m.order[i], i);
        ck_assert_int_eq(m.value[i], want[i]);
    }
    memset(&m, 0, sizeof m);
    TEST_ASSERT_OK(actors_pool_map_unordered(
        p, "sleep", &up.data, TASK_WAIT_MS, s_each, &m));
    ck_assert_uint_eq(m.seen, 4);
    /* 900 and 200 start first on the two members; 20 and 10 run after
     * 200 on its member and finish well before 900. */
    ck_assert_int_eq(m.value[3], 900);
    ck_assert(!actors_pool_has_next(p));
    /* Not an array of argument arrays: nothing submitted. */
    msgpack_object bad = {.type = MSGPACK_OBJECT_POSITIVE_INTEGER};
    ck_assert_int_eq(
        actors_pool_map(p, "sleep", &bad, 0, s_each, &m), ACTORS_EINVAL);
    ck_assert(!actors_pool_has_next(p));
    msgpack_unpacked_destroy(&up);
    actors_msg_destroy(&v);
    actors_pool_destroy(&p);
}
END_TEST

/* push and pop_idle, as Ray's. */
START_TEST(test_pool_push_pop_idle)
{
    testutil_broker_start(NULL);
    s_member("sleeper/p1", NULL);
    s_member("sleeper/p2", NULL);
    actors_client_t *c = itest_connect();
    actors_pool_t *p = NULL;
    const char *members[] = {"sleeper/p1"};
    TEST_ASSERT_OK(actors_pool_create(&p, c, members, 1, NULL));
    ck_assert_int_eq(actors_pool_push(p, "sleeper/p1"), ACTORS_EINVAL);
    TEST_ASSERT_OK(actors_pool_push(p, "sleeper/p2"));
    ck_assert_uint_eq(actors_pool_members(p), 2);
    s_submit_sleep(p, 500, 0);
    s_submit_sleep(p, 500, 1);
    char *addr = NULL;
    ck_assert_int_eq(actors_pool_pop_idle(p, &addr), ACTORS_EAGAIN);
    ck_assert_ptr_null(addr);
    actors_future_t *f = NULL;
    TEST_ASSERT_OK(actors_pool_get_next(p, TASK_WAIT_MS, 0, &f, NULL));
    actors_future_destroy(&f);
    TEST_ASSERT_OK(actors_pool_get_next(p, TASK_WAIT_MS, 0, &f, NULL));
    actors_future_destroy(&f);
    TEST_ASSERT_OK(actors_pool_pop_idle(p, &addr));
    ck_assert(
        strcmp(addr, "sleeper/p1") == 0 || strcmp(addr, "sleeper/p2") == 0);
    free(addr);
    ck_assert_uint_eq(actors_pool_members(p), 1);
    s_submit_sleep(p, 1, 2);
    TEST_ASSERT_OK(actors_pool_get_next(p, TASK_WAIT_MS, 0, &f, NULL));
    ck_assert_int_eq(itest_int(f), 1);
    actors_future_destroy(&f);
    actors_pool_destroy(&p);
}
END_TEST

/* A pool over an address that is no group counts it as one member; an
 * unknown address is refused. */
START_TEST(test_pool_group_address)
{
    testutil_broker_start(NULL);
    s_member("sleeper/g", NULL);
    actors_client_t *c = itest_connect();
    actors_pool_t *p = NULL;
    TEST_ASSERT_OK(actors_pool_create_group(&p, c, "sleeper/g", NULL, 5000));
    ck_assert_uint_eq(actors_pool_members(p), 1);
    s_submit_sleep(p, 1, 0);
    actors_future_t *f = NULL;
    TEST_ASSERT_OK(actors_pool_get_next(p, TASK_WAIT_MS, 0, &f, NULL));
    ck_assert_int_eq(itest_int(f), 1);
    actors_future_destroy(&f);
    actors_pool_destroy(&p);
    ck_assert_int_eq(actors_pool_create_group(&p, c, "nobody/1", NULL, 5000),
        ACTORS_ENOACTOR);
    ck_assert_ptr_null(p);
}
END_TEST

/* From the shell: actorctl map, ordered and unordered, and with a member
 * that crashes (the other tasks still print; exit status 1). */
START_TEST(test_pool_actorctl_map)
{
    testutil_broker_start(NULL);
    s_member("sleeper/c1", NULL);
    s_member("sleeper/c2", NULL);
    s_member("sleeper/cbad", "crash");
    static char out[4096];
    static char err[4096];
    const char *ordered[] = {"actorctl", "--broker", testutil_endpoint(), "map",
        "sleeper/c1,sleeper/c2", "sleep", "300", "200", "10", "0", NULL};
    int st =
        testutil_run(ordered, TASK_WAIT_MS, out, sizeof out, err, sizeof err);
    ck_assert_msg(st == 0, "exit %d: %s", st, err);
    ck_assert_str_eq(out, "300\n200\n10\n0\n");
    const char *unordered[] = {"actorctl", "--broker", testutil_endpoint(),
        "map", "--unordered", "sleeper/c1,sleeper/c2", "sleep", "900", "200",
        "10", "0", NULL};
    st =
        testutil_run(unordered, TASK_WAIT_MS, out, sizeof out, err, sizeof err);
    ck_assert_msg(st == 0, "exit %d: %s", st, err);
    ck_assert_str_eq(out + strlen(out) - 4, "900\n"); /* the longest last */
    /* Ray's own example: pool.map(lambda a, v: a.double.remote(v),
     * [1, 2, 3, 4]) == [2, 4, 6, 8]. */
    const char *ray[] = {"actorctl", "--broker", testutil_endpoint(), "map",
        "sleeper/c1,sleeper/c2", "double", "1", "2", "3", "4", NULL};
    st = testutil_run(ray, TASK_WAIT_MS, out, sizeof out, err, sizeof err);
    ck_assert_msg(st == 0, "exit %d: %s", st, err);
    ck_assert_str_eq(out, "2\n4\n6\n8\n");
    const char *bad[] = {"actorctl", "--broker", testutil_endpoint(), "map",
        "sleeper/c1,sleeper/cbad,sleeper/c2", "sleep", "10", "20", "30", "40",
        "50", NULL};
    st = testutil_run(bad, TASK_WAIT_MS, out, sizeof out, err, sizeof err);
    ck_assert_int_eq(st, 1);
    ck_assert_msg(strstr(err, "ActorCrashed") != NULL, "stderr: %s", err);
    int lines = 0;
    for (const char *q = out; *q; q++) {
        lines += *q == '\n';
    }
    ck_assert_int_eq(lines, 4);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("pool");
    TCase *tc = itest_tcase("pool", 60);
    tcase_add_test(tc, test_pool_get_next_in_submission_order);
    tcase_add_test(tc, test_pool_crashing_member_is_evicted);
    tcase_add_test(tc, test_pool_crashed_task_resubmitted);
    tcase_add_test(tc, test_pool_no_member_left);
    tcase_add_test(tc, test_pool_timeout_then_skip);
    tcase_add_test(tc, test_pool_map);
    tcase_add_test(tc, test_pool_push_pop_idle);
    tcase_add_test(tc, test_pool_group_address);
    tcase_add_test(tc, test_pool_actorctl_map);
    suite_add_tcase(s, tc);
    return itest_run(s);
}
