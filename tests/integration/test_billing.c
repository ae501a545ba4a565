/* tests/integration/test_billing.c - the billing service as a group of
 * workers subscribed to orders.created: each event is billed by exactly
 * one member (a queue group, docs/EVENTS.md), started by hand with
 * --group or by a supervisor with replicas = 2 and group = true.
 * SPDX-License-Identifier: MIT
 *
 * Real processes: the broker, billing members, actors-supervisor. A
 * member is reached by a routing key (every call with one key goes to
 * one member while the membership is unchanged); keys are tried until
 * both members' pids have answered. A keyed call has no order with the
 * events, so the ledgers are polled, with a deadline that moves while
 * they make progress.
 */
#include "itest.h"
#include "suptest.h"

#define N_MEMBERS 2
#define N_ORDERS 20

/* s_members returns how many members LOOKUP lists for address (0 when
 * it is unknown) and its subscriptions in *subs. */
static int
s_members(const char *address, int64_t *subs)
{
    actors_future_t *f = suptest_lookup(address);
    if (f == NULL) {
        return 0;
    }
    const msgpack_object *r = itest_result(f);
    *subs = -1;
    (void)actors_value_int(actors_map_get(r, "subscriptions"), subs);
    const msgpack_object *m = actors_map_get(r, "members");
    int n = m != NULL && m->type == MSGPACK_OBJECT_ARRAY
                ? (int)m->via.array.size
                : 0;
    actors_future_destroy(&f);
    return n;
}

/* s_wait_members waits until address is a group of N_MEMBERS members
 * with one subscription (the group's, made by every member). */
static void
s_wait_members(const char *address)
{
    int64_t subs = -1;
    int64_t deadline = testutil_now_ms() + SUPTEST_WAIT_MS;
    while ((s_members(address, &subs) != N_MEMBERS || subs != 1) &&
           testutil_now_ms() < deadline) {
        testutil_poll_pause_ms(20); /* poll until the deadline */
    }
    ck_assert_int_eq(s_members(address, &subs), N_MEMBERS);
    ck_assert_int_eq(subs, 1);
}

/* s_publish publishes orders.created {id, item} and returns how many
 * subscriptions it reached. */
static int64_t
s_publish(int64_t id)
{
    actors_msg_t *ev = NULL;
    TEST_ASSERT_OK(actors_msg_build(&ev, "{sIss}", "id", id, "item", "pen"));
    actors_future_t *f = NULL;
    TEST_ASSERT_OK(actors_publish(g_client, "orders.created", &ev, &f));
    suptest_wait(f);
    int64_t n = itest_int(f);
    actors_future_destroy(&f);
    return n;
}

/* s_keyed calls method on the member of address that route reaches and
 * returns its future, resolved. */
static actors_future_t *
s_keyed(const char *address, const char *route, const char *method)
{
    actors_call_opts_t opts = ACTORS_CALL_OPTS_INIT;
    opts.route = route;
    opts.route_len = strlen(route);
    actors_future_t *f = NULL;
    TEST_ASSERT_OK(
        actors_client_call(g_client, address, method, NULL, &opts, &f));
    TEST_ASSERT_OK(actors_future_wait(f, ITEST_WAIT_MS));
    return f;
}

static int64_t
s_keyed_int(const char *address, const char *route, const char *method)
{
    actors_future_t *f = s_keyed(address, route, method);
    int64_t v = itest_int(f);
    actors_future_destroy(&f);
    return v;
}

/* s_find_members fills routes with one routing key per member of address
 * (distinct pids). */
static void
s_find_members(const char *address, char routes[N_MEMBERS][16])
{
    int64_t pids[N_MEMBERS] = {0};
    int found = 0;
    for (int k = 0; k < 1000 && found < N_MEMBERS; k++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", k);
        int64_t pid = s_keyed_int(address, key, "pid");
        bool known = false;
        for (int i = 0; i < found; i++) {
            known = known || pids[i] == pid;
        }
        if (!known) {
            pids[found] = pid;
            snprintf(routes[found], sizeof routes[found], "%s", key);
            found++;
        }
    }
    ck_assert_int_eq(found, N_MEMBERS);
}

/* s_assert_billed_once publishes orders 1..N_ORDERS to the group at
 * address and checks that every one is billed by exactly one member: the
 * members' ledgers are disjoint, together hold every id, each member
 * billed some, and the events they received add up to N_ORDERS. */
static void
s_assert_billed_once(const char *address)
{
    s_wait_members(address);
    char routes[N_MEMBERS][16];
    s_find_members(address, routes);
    for (int64_t id = 1; id <= N_ORDERS; id++) {
        /* The group is one subscription, whatever its members. */
        ck_assert_int_eq(s_publish(id), 1);
    }
    int64_t billed = -1;
    int64_t last = -1;
    int64_t deadline = testutil_now_ms() + SUPTEST_WAIT_MS;
    for (;;) {
        billed = 0;
        for (int i = 0; i < N_MEMBERS; i++) {
            billed += s_keyed_int(address, routes[i], "billed");
        }
        if (billed >= N_ORDERS || testutil_now_ms() >= deadline) {
            break;
        }
        if (billed != last) { /* slow progress is progress */
            last = billed;
            deadline = testutil_now_ms() + SUPTEST_WAIT_MS;
        }
        testutil_poll_pause_ms(20); /* poll until the deadline */
    }
    ck_assert_int_eq(billed, N_ORDERS);
    int seen[N_ORDERS + 1] = {0};
    int64_t events = 0;
    for (int i = 0; i < N_MEMBERS; i++) {
        actors_future_t *f = s_keyed(address, routes[i], "ids");
        const msgpack_object *r = itest_result(f);
        ck_assert_int_eq(r->type, MSGPACK_OBJECT_ARRAY);
        ck_assert_uint_gt(r->via.array.size, 0); /* both members work */
        for (uint32_t j = 0; j < r->via.array.size; j++) {
            int64_t id = 0;
            TEST_ASSERT_OK(actors_value_int(&r->via.array.ptr[j], &id));
            ck_assert(id >= 1 && id <= N_ORDERS);
            seen[id]++;
        }
        actors_future_destroy(&f);
        events += s_keyed_int(address, routes[i], "events");
    }
    for (int id = 1; id <= N_ORDERS; id++) {
        ck_assert_msg(seen[id] == 1, "order %d billed %d times", id, seen[id]);
    }
    ck_assert_int_eq(events, N_ORDERS); /* one delivery per event */
}

/* Two members started by hand at one address with --group. */
START_TEST(test_billing_group_bills_once)
{
    testutil_broker_start(NULL);
    itest_connect();
    for (int i = 0; i < N_MEMBERS; i++) {
        ck_assert_ptr_nonnull(testutil_service_spawn(
            0, "billing", "billing/g", 0, "--group", NULL));
    }
    s_assert_billed_once("billing/g");
}
END_TEST

/* Two replicas of a supervisor's config entry with group = true. */
START_TEST(test_billing_supervised_replicas)
{
    testutil_broker_start(NULL);
    itest_connect();
    suptest_node("n1", "actor\n"
                       "    billing\n"
                       "        service = billing\n"
                       "        address = billing/s\n"
                       "        replicas = 2\n"
                       "        group = true\n"
                       "        policy\n"
                       "            max_restarts = -1\n");
    s_assert_billed_once("billing/s");
}
END_TEST

/* A constructor argument is refused: the process exits with status 2. */
START_TEST(test_billing_refuses_arguments)
{
    testutil_broker_start(NULL);
    testutil_proc_t *p =
        testutil_service_spawn(0, "billing", "billing/x", 0, "1", NULL);
    ck_assert_ptr_nonnull(p);
    ck_assert(testutil_proc_wait(p, ITEST_WAIT_MS, NULL));
    ck_assert_int_eq(testutil_proc_exit_code(p), 2);
}
END_TEST

static Suite *
billing_suite(void)
{
    Suite *s = suite_create("billing");
    TCase *tc = itest_tcase("billing", 90);
    tcase_add_test(tc, test_billing_group_bills_once);
    tcase_add_test(tc, test_billing_refuses_arguments);
    suite_add_tcase(s, tc);
    TCase *sup = suptest_tcase("billing-supervised", 90);
    tcase_add_test(sup, test_billing_supervised_replicas);
    suite_add_tcase(s, sup);
    return s;
}

int
main(void)
{
    return itest_run(billing_suite());
}
