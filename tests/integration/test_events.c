/* tests/integration/test_events.c - publish/subscribe with real
 * processes: the shipping service subscribed by its address, a client's
 * subscriptions, the broker's lifecycle stream.
 * SPDX-License-Identifier: MIT
 *
 * The broker, actors-supervisor with a config in a mkdtemp directory, the
 * shipping service (services/shipping: it records the ids of the
 * orders.created events it gets, in order, and does not acknowledge them
 * when started with false).
 */
#include <dirent.h>

#include "suptest.h"

#include <poll.h>
#include <time.h>

#define P(line) "            " line "\n"

static const char *
s_config(const char *address, const char *policy)
{
    static char text[2048];
    snprintf(text, sizeof text,
        "supervisor\n"
        "    node = n1\n"
        "actor\n"
        "    shipping\n"
        "        service = shipping\n"
        "        address = %s\n"
        "        args = [false]\n"
        "        policy\n"
        "%s",
        address, policy);
    return text;
}

/* s_publish publishes orders.created {id} from c and returns how many
 * subscriptions the broker routed it to. */
static int64_t
s_publish(actors_client_t *c, int64_t id)
{
    actors_msg_t *ev = NULL;
    TEST_ASSERT_OK(actors_msg_build(&ev, "{sI}", "id", id));
    actors_future_t *f = NULL;
    TEST_ASSERT_OK(actors_publish(c, "orders.created", &ev, &f));
    ck_assert_ptr_null(ev);
    suptest_wait(f);
    int64_t n = itest_int(f);
    actors_future_destroy(&f);
    return n;
}

static int64_t
s_int_call(const char *address, const char *method)
{
    actors_future_t *f = itest_call(address, method, NULL);
    int64_t v = itest_int(f);
    actors_future_destroy(&f);
    return v;
}

/* s_wait_shipped polls address's shipped() until it is n: fails only
 * when no progress is made for SUPTEST_WAIT_MS (a slow machine makes
 * slow progress; a lost event makes none). */
static void
s_wait_shipped(const char *address, int64_t n)
{
    int64_t deadline = testutil_now_ms() + SUPTEST_WAIT_MS;
    int64_t got = -1;
    int64_t last = -1;
    while ((got = s_int_call(address, "shipped")) != n &&
           testutil_now_ms() < deadline) {
        if (got != last) {
            last = got;
            deadline = testutil_now_ms() + SUPTEST_WAIT_MS;
        }
        testutil_poll_pause_ms(20);
    }
    ck_assert_int_eq(got, n);
}

/* s_assert_ids checks that address got ids first..first+n-1 in order. */
static void
s_assert_ids(const char *address, int64_t first, int64_t n)
{
    actors_future_t *f = itest_call(address, "ids", NULL);
    const msgpack_object *r = itest_result(f);
    ck_assert_int_eq(r->type, MSGPACK_OBJECT_ARRAY);
    ck_assert_uint_eq(r->via.array.size, (uint32_t)n);
    for (uint32_t i = 0; i < r->via.array.size; i++) {
        ck_assert_int_eq(r->via.array.ptr[i].via.i64, first + i);
    }
    actors_future_destroy(&f);
}

/* s_lookup_int returns integer field key of the LOOKUP of address. */
static int64_t
s_lookup_int(const char *address, const char *key)
{
    actors_future_t *f = suptest_lookup(address);
    ck_assert_ptr_nonnull(f);
    int64_t v = -1;
    TEST_ASSERT_OK(actors_value_int(actors_map_get(itest_result(f), key), &v));
    actors_future_destroy(&f);
    return v;
}

/* s_wait_subscribed waits until address has a subscription: a service
 * subscribes after its REGISTER is answered, so "running" comes first. */
static bool
s_subscribed(void *arg)
{
    return s_lookup_int(arg, "subscriptions") >= 1;
}

static void
s_wait_subscribed(const char *address)
{
    ck_assert_msg(
        testutil_wait_until(s_subscribed, (void *)address, SUPTEST_WAIT_MS),
        "%s did not subscribe", address);
}

/* s_children counts the processes whose parent is pid (/proc). */
static int
s_children(pid_t pid)
{
    int n = 0;
    DIR *d = opendir("/proc");
    ck_assert_ptr_nonnull(d);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        char path[300];
        char stat[512];
        snprintf(path, sizeof path, "/proc/%s/stat", de->d_name);
        FILE *f = de->d_name[0] >= '1' && de->d_name[0] <= '9'
                      ? fopen(path, "r")
                      : NULL;
        if (f == NULL) {
            continue;
        }
        size_t len = fread(stat, 1, sizeof stat - 1, f);
        fclose(f);
        stat[len] = '\0';
        /* "pid (comm) state ppid ...": comm may hold spaces and ')'. */
        const char *rp = strrchr(stat, ')');
        char st = 0;
        int ppid = 0;
        if (rp != NULL && sscanf(rp + 1, " %c %d", &st, &ppid) == 2 &&
            ppid == (int)pid) {
            n++;
        }
    }
    closedir(d);
    return n;
}

/* s_hold_restarting kills the actor until its node waits out a backoff
 * before restarting it, then stops the node (SIGSTOP) inside that wait:
 * the address stays "restarting", for as long as the test needs, however
 * slow the machine. Returns the pid the actor had; s_release resumes the
 * node, whose overdue timer then restarts the actor. The broker must run
 * with a heartbeat long enough not to take the stopped node for lost. */
static int64_t
s_hold_restarting(const char *address, testutil_proc_t *node)
{
    int64_t pid = suptest_wait_running(address, 0);
    kill((pid_t)pid, SIGKILL); /* back at once: the next waits a backoff */
    for (int attempt = 0; attempt < 5; attempt++) {
        pid = suptest_wait_running(address, pid);
        kill((pid_t)pid, SIGKILL);
        suptest_wait_state(address, "restarting");
        kill(node->pid, SIGSTOP);
        char state[32];
        suptest_field(address, "state", state, sizeof state);
        /* No child of the stopped node: nothing can register the address
         * until it resumes. */
        if (strcmp(state, "restarting") == 0 && s_children(node->pid) == 0) {
            return pid;
        }
        kill(node->pid, SIGCONT); /* it restarted first; once more */
    }
    ck_abort_msg("%s: never caught restarting", address);
    return 0;
}

static void
s_release(testutil_proc_t *node)
{
    kill(node->pid, SIGCONT);
}

/* A stopped node stays registered for liveness (5) x heartbeat: 50 s. */
#define S_BROKER_ARGS "--heartbeat", "10000"

#define S_POLICY                                                               \
    P("max_restarts = -1")                                                     \
    P("backoff_base_ms = 1500")                                                \
    P("backoff_jitter = 0")                                                    \
    P("healthy_ms = "                                                          \
      "60000")

/* A subscriber killed and restarting keeps its subscription: what is
 * published meanwhile waits in its mailbox and reaches the new process,
 * in order, none lost. */
START_TEST(test_events_subscriber_restarted)
{
    testutil_broker_start(S_BROKER_ARGS, NULL);
    actors_client_t *c = itest_connect();
    testutil_proc_t *node =
        suptest_node("n1", s_config("shipping/r", S_POLICY));
    int64_t pid = s_hold_restarting("shipping/r", node);
    for (int64_t id = 1; id <= 5; id++) {
        ck_assert_int_eq(s_publish(c, id), 1);
    }
    ck_assert_int_eq(s_lookup_int("shipping/r", "mailbox"), 5);
    ck_assert_int_eq(s_lookup_int("shipping/r", "subscriptions"), 1);
    s_release(node);
    ck_assert_int_ne(suptest_wait_running("shipping/r", pid), pid);
    s_wait_shipped("shipping/r", 5);
    s_assert_ids("shipping/r", 1, 5);
    ck_assert_int_eq(s_lookup_int("shipping/r", "events_dropped"), 0);
}
END_TEST

/* Past the mailbox bound, events are refused, counted per address in
 * LOOKUP (and ls) and not routed (the publish's count says 0); those
 * within the bound arrive. */
START_TEST(test_events_overflow_counted)
{
    testutil_broker_start("--mailbox", "4", S_BROKER_ARGS, NULL);
    actors_client_t *c = itest_connect();
    testutil_proc_t *node =
        suptest_node("n1", s_config("shipping/o", S_POLICY));
    int64_t pid = s_hold_restarting("shipping/o", node);
    for (int64_t id = 1; id <= 7; id++) {
        ck_assert_int_eq(s_publish(c, id), id <= 4 ? 1 : 0);
    }
    ck_assert_int_eq(s_lookup_int("shipping/o", "events_dropped"), 3);
    s_release(node);
    suptest_wait_running("shipping/o", pid);
    s_wait_shipped("shipping/o", 4);
    s_assert_ids("shipping/o", 1, 4);
    actors_future_t *f = NULL;
    TEST_ASSERT_OK(actors_client_list(c, &f));
    suptest_wait(f);
    const msgpack_object *list = itest_result(f);
    int64_t dropped = -1;
    for (uint32_t i = 0; i < list->via.array.size; i++) {
        (void)actors_value_int(
            actors_map_get(&list->via.array.ptr[i], "events_dropped"),
            &dropped);
    }
    ck_assert_int_eq(dropped, 3);
    actors_future_destroy(&f);
}
END_TEST

/* One publisher's events reach a subscriber in the order published,
 * fire-and-forget or not; an unsubscribed address gets no more. */
START_TEST(test_events_order_and_unsubscribe)
{
    testutil_broker_start(NULL);
    actors_client_t *c = itest_connect();
    testutil_service_start("shipping", "shipping/a", 0, "false", NULL);
    testutil_service_start("shipping", "shipping/b", 0, "false", NULL);
    s_wait_subscribed("shipping/a");
    s_wait_subscribed("shipping/b");
    for (int64_t id = 1; id <= 2000; id++) {
        actors_msg_t *ev = NULL;
        TEST_ASSERT_OK(actors_msg_build(&ev, "{sI}", "id", id));
        TEST_ASSERT_OK(actors_publish(c, "orders.created", &ev, NULL));
    }
    ck_assert_int_eq(s_publish(c, 2001), 2);
    s_wait_shipped("shipping/a", 2001);
    s_wait_shipped("shipping/b", 2001);
    s_assert_ids("shipping/a", 1, 2001);
    s_assert_ids("shipping/b", 1, 2001);
    /* A topic no pattern matches, and a malformed one. */
    actors_msg_t *ev = NULL;
    actors_future_t *f = NULL;
    TEST_ASSERT_OK(actors_publish(c, "orders.created.eu", NULL, &f));
    suptest_wait(f);
    ck_assert_int_eq(itest_int(f), 0);
    actors_future_destroy(&f);
    ck_assert_int_eq(actors_publish(c, "orders.*", &ev, &f), ACTORS_EINVAL);
}
END_TEST

/* An actor subscribes and unsubscribes its address at run time
 * (actors_actor_subscribe; chaos's subscribe/unsubscribe). */
START_TEST(test_events_actor_runtime_subscribe)
{
    testutil_broker_start(NULL);
    actors_client_t *c = itest_connect();
    testutil_service_start("chaos", "chaos/e", 0, NULL);
    actors_future_t *f = itest_call("chaos/e", "subscribe", "s", "t.*");
    itest_result(f);
    actors_future_destroy(&f);
    /* The SUBSCRIBE went out before the reply: the broker has it. */
    actors_future_t *p = NULL;
    TEST_ASSERT_OK(actors_publish(c, "t.x", NULL, &p));
    suptest_wait(p);
    ck_assert_int_eq(itest_int(p), 1);
    actors_future_destroy(&p);
    int64_t deadline = testutil_now_ms() + ITEST_WAIT_MS;
    while (
        s_int_call("chaos/e", "events") != 1 && testutil_now_ms() < deadline) {
        testutil_poll_pause_ms(10);
    }
    ck_assert_int_eq(s_int_call("chaos/e", "events"), 1);
    f = itest_call("chaos/e", "unsubscribe", "s", "t.*");
    itest_result(f);
    actors_future_destroy(&f);
    TEST_ASSERT_OK(actors_publish(c, "t.x", NULL, &p));
    suptest_wait(p);
    ck_assert_int_eq(itest_int(p), 0);
    actors_future_destroy(&p);
    f = itest_call("chaos/e", "unsubscribe", "s", "t.*");
    itest_assert_error(f, ACTORS_EARGS, "WrongArguments", NULL);
    actors_future_destroy(&f);
    f = itest_call("chaos/e", "subscribe", "s", "t..x");
    itest_assert_error(f, ACTORS_EARGS, "WrongArguments", NULL);
    actors_future_destroy(&f);
}
END_TEST

/* chaos's clock() reads the machine's monotonic clock in the handler and
 * mirror(pattern, topic) publishes each event back as [data, clock()]:
 * what actors-bench times publish-to-handler with. Both readings fall
 * between the caller's own before and after. */
START_TEST(test_events_chaos_mirror_and_clock)
{
    testutil_broker_start(NULL);
    actors_client_t *c = itest_connect();
    testutil_service_start("chaos", "chaos/m", 0, NULL);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t before = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    int64_t th = s_int_call("chaos/m", "clock");
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t after = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    ck_assert(before <= th && th <= after);
    actors_subscription_t *q = NULL;
    actors_future_t *r = NULL;
    TEST_ASSERT_OK(actors_subscribe(c, "m.out", NULL, NULL, &q, &r));
    TEST_ASSERT_OK(actors_future_wait(r, ITEST_WAIT_MS));
    actors_future_destroy(&r);
    actors_future_t *f = itest_call("chaos/m", "mirror", "ss", "m.in", "m.out");
    itest_result(f);
    actors_future_destroy(&f);
    actors_msg_t *ev = NULL;
    TEST_ASSERT_OK(actors_msg_build(&ev, "s", "hello"));
    clock_gettime(CLOCK_MONOTONIC, &ts);
    before = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    TEST_ASSERT_OK(actors_publish(c, "m.in", &ev, &f));
    suptest_wait(f);
    ck_assert_int_eq(itest_int(f), 1); /* the actor's subscription */
    actors_future_destroy(&f);
    actors_future_t *e = NULL;
    TEST_ASSERT_OK(actors_subscription_next(q, &e));
    TEST_ASSERT_OK(actors_future_wait(e, ITEST_WAIT_MS));
    clock_gettime(CLOCK_MONOTONIC, &ts);
    after = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    const msgpack_object *d = actors_map_get(itest_result(e), "data");
    ck_assert_ptr_nonnull(d);
    ck_assert_int_eq(d->type, MSGPACK_OBJECT_ARRAY);
    ck_assert_uint_eq(d->via.array.size, 2);
    const char *text = NULL;
    size_t len = 0;
    TEST_ASSERT_OK(actors_value_str(&d->via.array.ptr[0], &text, &len));
    ck_assert_int_eq(len, 5);
    ck_assert_int_eq(memcmp(text, "hello", 5), 0);
    TEST_ASSERT_OK(actors_value_int(&d->via.array.ptr[1], &th));
    ck_assert(before <= th && th <= after);
    actors_future_destroy(&e);
    ck_assert_int_eq(s_int_call("chaos/m", "events"), 1);
    actors_unsubscribe(&q);
    f = itest_call("chaos/m", "mirror", "s", "m.in");
    itest_assert_error(f, ACTORS_EARGS, "WrongArguments", NULL);
    actors_future_destroy(&f);
}
END_TEST

typedef struct {
    int n;
    int64_t last;
    char topic[64];
} s_seen_t;

static void
s_on_event(void *arg, actors_subscription_t *sub, const char *topic,
    const msgpack_object *data)
{
    (void)sub;
    s_seen_t *seen = arg;
    seen->n++;
    snprintf(seen->topic, sizeof seen->topic, "%s", topic);
    (void)actors_value_int(actors_map_get(data, "id"), &seen->last);
}

/* s_broker_start starts a broker: with its event stream (PROTOCOL.md,
 * "Event streams") when stream, then the client's subscriptions take
 * their events there; else over the client's connection. */
static testutil_proc_t *
s_broker_start(bool stream, const char *endpoint)
{
    const char *bind = endpoint != NULL ? endpoint : "tcp://127.0.0.1:*";
    if (stream) {
        return testutil_broker_start(
            "--bind", bind, "--stream-bind", "tcp://127.0.0.1:*", NULL);
    }
    return testutil_broker_start("--bind", bind, NULL);
}

/* A client subscribes with a callback and with futures; unsubscribing
 * stops the events; the broker answers a bad pattern. Twice: over the
 * client's connection (_i 0) and on the broker's event stream (_i 1). */
START_TEST(test_events_client_subscriptions)
{
    s_broker_start(_i == 1, NULL);
    actors_client_t *pub = itest_connect();
    actors_client_t *sub = NULL;
    TEST_ASSERT_OK(actors_client_create(&sub, testutil_endpoint()));
    s_seen_t seen = {0};
    actors_subscription_t *cb = NULL;
    actors_subscription_t *q = NULL;
    actors_future_t *r1 = NULL;
    actors_future_t *r2 = NULL;
    TEST_ASSERT_OK(
        actors_subscribe(sub, "orders.*", s_on_event, &seen, &cb, &r1));
    TEST_ASSERT_OK(actors_subscribe(sub, "*.created", NULL, NULL, &q, &r2));
    TEST_ASSERT_OK(actors_future_wait(r1, ITEST_WAIT_MS));
    TEST_ASSERT_OK(actors_future_wait(r2, ITEST_WAIT_MS));
    ck_assert_int_eq(itest_int(r1), 1);
    actors_future_destroy(&r1);
    actors_future_destroy(&r2);
    ck_assert_int_eq(s_publish(pub, 7), 2);
    ck_assert_int_eq(s_publish(pub, 8), 2);
    actors_future_t *e1 = NULL;
    actors_future_t *e2 = NULL;
    TEST_ASSERT_OK(actors_subscription_next(q, &e1));
    TEST_ASSERT_OK(actors_subscription_next(q, &e2));
    TEST_ASSERT_OK(actors_future_wait(e2, ITEST_WAIT_MS));
    ck_assert(actors_future_is_ready(e1));
    int64_t id = 0;
    TEST_ASSERT_OK(actors_value_int(
        actors_map_get(actors_map_get(itest_result(e1), "data"), "id"), &id));
    ck_assert_int_eq(id, 7);
    TEST_ASSERT_OK(actors_value_int(
        actors_map_get(actors_map_get(itest_result(e2), "data"), "id"), &id));
    ck_assert_int_eq(id, 8);
    const char *t = NULL;
    size_t tl = 0;
    TEST_ASSERT_OK(
        actors_value_str(actors_map_get(itest_result(e2), "topic"), &t, &tl));
    ck_assert_int_eq(memcmp(t, "orders.created", tl), 0);
    actors_future_destroy(&e1);
    actors_future_destroy(&e2);
    ck_assert_int_eq(seen.n, 2); /* the pump above ran the callback too */
    ck_assert_int_eq(seen.last, 8);
    ck_assert_str_eq(seen.topic, "orders.created");
    ck_assert_uint_eq(actors_subscription_received(q), 2);
    actors_unsubscribe(&cb);
    ck_assert_ptr_null(cb);
    /* The UNSUBSCRIBE goes before the PING: once answered, it is done. */
    actors_future_t *pg = NULL;
    TEST_ASSERT_OK(actors_client_ping(sub, &pg));
    TEST_ASSERT_OK(actors_future_wait(pg, ITEST_WAIT_MS));
    actors_future_destroy(&pg);
    ck_assert_int_eq(s_publish(pub, 9), 1);
    TEST_ASSERT_OK(actors_subscription_next(q, &e1));
    TEST_ASSERT_OK(actors_future_wait(e1, ITEST_WAIT_MS));
    actors_future_destroy(&e1);
    ck_assert_int_eq(seen.n, 2);
    /* A next its caller gave up on (destroyed unresolved) takes no
     * event: the one after it gets it. */
    TEST_ASSERT_OK(actors_subscription_next(q, &e1));
    actors_future_destroy(&e1);
    ck_assert_int_eq(s_publish(pub, 11), 1);
    TEST_ASSERT_OK(actors_subscription_next(q, &e1));
    TEST_ASSERT_OK(actors_future_wait(e1, ITEST_WAIT_MS));
    ck_assert(actors_future_is_ready(e1));
    TEST_ASSERT_OK(actors_value_int(
        actors_map_get(actors_map_get(itest_result(e1), "data"), "id"), &id));
    ck_assert_int_eq(id, 11);
    actors_future_destroy(&e1);
    /* A pending next fails Closed when the subscription ends. */
    TEST_ASSERT_OK(actors_subscription_next(q, &e1));
    actors_unsubscribe(&q);
    ck_assert_int_eq(actors_future_wait(e1, 0), ACTORS_OK);
    itest_assert_error(e1, ACTORS_ECLOSED, "Closed", NULL);
    actors_future_destroy(&e1);
    /* The library refuses a bad pattern; the broker too (raw PUBLISH and
     * SUBSCRIBE are in tests/unit/broker/test_pubsub.c). */
    ck_assert_int_eq(
        actors_subscribe(sub, "a..b", NULL, NULL, &q, NULL), ACTORS_EINVAL);
    actors_client_destroy(&sub);
    /* Its connection gone, the broker routes to nobody. */
    int64_t deadline = testutil_now_ms() + ITEST_WAIT_MS;
    while (s_publish(pub, 10) != 0 && testutil_now_ms() < deadline) {
        testutil_poll_pause_ms(20);
    }
    ck_assert_int_eq(s_publish(pub, 10), 0);
}
END_TEST

static void
s_unsubscribe_on_ready(actors_future_t *ready, void *arg)
{
    (void)ready;
    actors_unsubscribe((actors_subscription_t **)arg);
}

/* A subscription may be ended by a callback of its own ready future (the
 * client must not touch it afterwards); both ways (_i 1: the stream). */
START_TEST(test_events_unsubscribe_from_ready)
{
    s_broker_start(_i == 1, NULL);
    actors_client_t *sub = NULL;
    TEST_ASSERT_OK(actors_client_create(&sub, testutil_endpoint()));
    actors_subscription_t *s1 = NULL;
    actors_subscription_t *s2 = NULL;
    actors_future_t *r1 = NULL;
    actors_future_t *r2 = NULL;
    TEST_ASSERT_OK(actors_subscribe(sub, "a.*", NULL, NULL, &s1, &r1));
    TEST_ASSERT_OK(actors_subscribe(sub, "a.*", NULL, NULL, &s2, &r2));
    TEST_ASSERT_OK(actors_future_on_done(r1, s_unsubscribe_on_ready, &s1));
    TEST_ASSERT_OK(actors_future_on_done(r2, s_unsubscribe_on_ready, &s2));
    TEST_ASSERT_OK(actors_future_wait(r2, ITEST_WAIT_MS));
    TEST_ASSERT_OK(actors_future_wait(r1, ITEST_WAIT_MS));
    ck_assert_ptr_null(s1);
    ck_assert_ptr_null(s2);
    actors_future_destroy(&r1);
    actors_future_destroy(&r2);
    TEST_ASSERT_OK(actors_client_poll(sub, 50));
    actors_client_destroy(&sub);
}
END_TEST

/* A broker whose event stream this client cannot reach (an ipc socket
 * removed): the subscription waits for the welcome a few seconds, then
 * takes its events over the client's connection, and so do the client's
 * later ones, at once. */
START_TEST(test_events_client_stream_unreachable)
{
    char dir[] = "/tmp/actors-stream-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[64];
    char ep[80];
    snprintf(path, sizeof path, "%s/stream", dir);
    snprintf(ep, sizeof ep, "ipc://%s", path);
    testutil_broker_start("--stream-bind", ep, NULL);
    ck_assert_int_eq(unlink(path), 0);
    actors_client_t *pub = itest_connect();
    actors_client_t *sub = NULL;
    TEST_ASSERT_OK(actors_client_create(&sub, testutil_endpoint()));
    s_seen_t seen = {0};
    actors_subscription_t *cb = NULL;
    actors_future_t *r = NULL;
    int64_t t0 = testutil_now_ms();
    TEST_ASSERT_OK(
        actors_subscribe(sub, "orders.*", s_on_event, &seen, &cb, &r));
    TEST_ASSERT_OK(actors_future_wait(r, ITEST_WAIT_MS));
    ck_assert_int_eq(itest_int(r), 1);
    ck_assert_int_ge(testutil_now_ms() - t0, 2000); /* it waited first */
    actors_future_destroy(&r);
    ck_assert_int_eq(s_publish(pub, 5), 1);
    int64_t deadline = testutil_now_ms() + ITEST_WAIT_MS;
    while (seen.last != 5 && testutil_now_ms() < deadline) {
        TEST_ASSERT_OK(actors_client_poll(sub, 50));
    }
    ck_assert_int_eq(seen.last, 5);
    /* The next subscription does not wait. */
    actors_subscription_t *q = NULL;
    t0 = testutil_now_ms();
    TEST_ASSERT_OK(actors_subscribe(sub, "*.created", NULL, NULL, &q, &r));
    TEST_ASSERT_OK(actors_future_wait(r, ITEST_WAIT_MS));
    ck_assert_int_lt(testutil_now_ms() - t0, 2000);
    actors_future_destroy(&r);
    ck_assert_int_eq(s_publish(pub, 6), 2);
    actors_unsubscribe(&cb);
    actors_unsubscribe(&q);
    actors_client_destroy(&sub);
    rmdir(dir);
}
END_TEST

/* s_read_lines appends to out (cap bytes, NUL-terminated) what is
 * written to fd until out has n lines, or the writer closes it, or the
 * deadline (ms) passes; returns the lines out has. */
static int
s_read_lines(int fd, char *out, size_t cap, int n, int64_t deadline)
{
    size_t len = strlen(out);
    int lines = 0;
    for (size_t i = 0; i < len; i++) {
        lines += out[i] == '\n';
    }
    while (lines < n && len + 1 < cap) {
        int64_t left = deadline - testutil_now_ms();
        struct pollfd p = {fd, POLLIN, 0};
        if (left <= 0 || poll(&p, 1, (int)left) <= 0) {
            break;
        }
        ssize_t r = read(fd, out + len, cap - 1 - len);
        if (r <= 0) {
            break;
        }
        for (ssize_t i = 0; i < r; i++) {
            lines += out[len + (size_t)i] == '\n';
        }
        len += (size_t)r;
        out[len] = '\0';
    }
    return lines;
}

/* A client's subscriptions outlive a broker restart: once its connection
 * is made again the client subscribes again by itself, and the events
 * published after that arrive (those published before are lost: at most
 * once). Both a client the test pumps and actorctl subscribe, blocked
 * waiting for its next event. Over the client's connection (_i 0) and on
 * the broker's event stream (_i 1). */
START_TEST(test_events_client_resubscribes_after_broker_restart)
{
    /* On the stream (_i 1) the broker's comes back on another port. */
    testutil_proc_t *broker = s_broker_start(_i == 1, NULL);
    char endpoint[256];
    snprintf(endpoint, sizeof endpoint, "%s", testutil_endpoint());
    actors_client_t *pub = itest_connect();
    actors_client_t *sub = NULL;
    TEST_ASSERT_OK(actors_client_create(&sub, endpoint));
    s_seen_t seen = {0};
    actors_subscription_t *cb = NULL;
    actors_future_t *r = NULL;
    TEST_ASSERT_OK(
        actors_subscribe(sub, "orders.*", s_on_event, &seen, &cb, &r));
    TEST_ASSERT_OK(actors_future_wait(r, ITEST_WAIT_MS));
    actors_future_destroy(&r);
    const char *argv[] = {"actorctl", "--broker", endpoint, "subscribe",
        "orders.>", "--count", "2", NULL};
    testutil_proc_t *ctl = testutil_spawn(argv, TESTUTIL_PIPE_STDOUT);
    ck_assert_ptr_nonnull(ctl);
    int out_fd = dup(ctl->out_fd); /* reaping closes the proc's own */
    ck_assert_int_ge(out_fd, 0);
    /* actorctl has subscribed once an event reaches both (it has that
     * one of its two then). */
    int64_t deadline = testutil_now_ms() + ITEST_WAIT_MS;
    int64_t n = 0;
    while ((n = s_publish(pub, 1)) != 2 && testutil_now_ms() < deadline) {
        testutil_poll_pause_ms(20);
    }
    ck_assert_int_eq(n, 2);
    /* It has printed it (the broker might die with it still queued). */
    char out[1024] = "";
    ck_assert_int_eq(s_read_lines(out_fd, out, sizeof out, 1,
                         testutil_now_ms() + ITEST_WAIT_MS),
        1);
    ck_assert_msg(
        strstr(out, "\"data\":{\"id\":1}") != NULL, "actorctl: %s", out);
    testutil_proc_kill(broker, SIGKILL);
    ck_assert(testutil_proc_wait(broker, ITEST_WAIT_MS, NULL));
    s_broker_start(_i == 1, endpoint);
    pub = itest_connect();
    /* The test's client is pumped between publishes; actorctl pumps
     * itself. Both are back when an event reaches each. */
    deadline = testutil_now_ms() + ITEST_WAIT_MS;
    seen.last = 0;
    while ((seen.last != 2 || testutil_proc_running(ctl)) &&
           testutil_now_ms() < deadline) {
        s_publish(pub, 2);
        TEST_ASSERT_OK(actors_client_poll(sub, 0));
        testutil_poll_pause_ms(20);
    }
    ck_assert_int_eq(seen.last, 2);
    int status = -1;
    ck_assert(testutil_proc_wait(ctl, ITEST_WAIT_MS, &status));
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ck_assert_int_eq(s_read_lines(out_fd, out, sizeof out, 2,
                         testutil_now_ms() + ITEST_WAIT_MS),
        2);
    close(out_fd);
    ck_assert_msg(
        strstr(out, "\"data\":{\"id\":2}") != NULL, "actorctl: %s", out);
    actors_unsubscribe(&cb);
    actors_client_destroy(&sub);
}
END_TEST

/* s_members reads the LOOKUP of group address: its subscriptions and
 * each member's handled count (at most 2) into handled; returns how many
 * members (0 if there is no such address yet). */
static int
s_members(const char *address, int64_t *subs, int64_t handled[2])
{
    actors_future_t *f = suptest_lookup(address);
    if (f == NULL) {
        return 0;
    }
    const msgpack_object *r = itest_result(f);
    *subs = -1;
    (void)actors_value_int(actors_map_get(r, "subscriptions"), subs);
    const msgpack_object *v = actors_map_get(r, "members");
    int n = 0;
    for (uint32_t i = 0; v != NULL && v->type == MSGPACK_OBJECT_ARRAY &&
                         i < v->via.array.size && n < 2;
         i++) {
        handled[n] = -1;
        (void)actors_value_int(
            actors_map_get(&v->via.array.ptr[i], "handled"), &handled[n]);
        n++;
    }
    actors_future_destroy(&f);
    return n;
}

/* A group of shipping workers subscribed (each member's topics table
 * subscribes the group address) is a queue group: each event reaches
 * one member, N events are N deliveries in all, spread over both. */
START_TEST(test_events_group_queue)
{
    testutil_broker_start(NULL);
    actors_client_t *c = itest_connect();
    for (int i = 0; i < 2; i++) {
        ck_assert_ptr_nonnull(testutil_service_spawn(
            0, "shipping", "shipping/g", 0, "--group", "false", NULL));
    }
    int64_t subs = -1;
    int64_t before[2] = {0, 0};
    int64_t deadline = testutil_now_ms() + ITEST_WAIT_MS;
    while ((s_members("shipping/g", &subs, before) != 2 || subs != 1) &&
           testutil_now_ms() < deadline) {
        testutil_poll_pause_ms(20);
    }
    ck_assert_int_eq(s_members("shipping/g", &subs, before), 2);
    ck_assert_int_eq(subs, 1); /* the group's one, made by both members */
    enum { N = 20 };
    for (int64_t id = 1; id <= N; id++) {
        ck_assert_int_eq(s_publish(c, id), 1);
    }
    int64_t after[2] = {0, 0};
    deadline = testutil_now_ms() + ITEST_WAIT_MS;
    while (s_members("shipping/g", &subs, after) == 2 &&
           after[0] + after[1] - before[0] - before[1] < N &&
           testutil_now_ms() < deadline) {
        testutil_poll_pause_ms(20);
    }
    ck_assert_int_eq(after[0] + after[1] - before[0] - before[1], N);
    ck_assert_int_gt(after[0] - before[0], 0);
    ck_assert_int_gt(after[1] - before[1], 0);
    ck_assert_int_eq(s_lookup_int("shipping/g", "events_dropped"), 0);
}
END_TEST

/* The broker's registrations are a stream: a client subscribed to
 * actors.lifecycle.> hears an actor register and, unsupervised, die. */
START_TEST(test_events_lifecycle_stream)
{
    testutil_broker_start(NULL);
    actors_client_t *c = itest_connect();
    actors_subscription_t *q = NULL;
    actors_future_t *r = NULL;
    TEST_ASSERT_OK(
        actors_subscribe(c, "actors.lifecycle.>", NULL, NULL, &q, &r));
    suptest_wait(r);
    actors_future_destroy(&r);
    testutil_proc_t *p =
        testutil_service_start("shipping", "shipping/l", 0, NULL);
    actors_future_t *e = NULL;
    TEST_ASSERT_OK(actors_subscription_next(q, &e));
    suptest_wait(e);
    const msgpack_object *ev = itest_result(e);
    const char *s = NULL;
    size_t n = 0;
    TEST_ASSERT_OK(actors_value_str(actors_map_get(ev, "topic"), &s, &n));
    ck_assert_int_eq(
        strncmp(s, "actors.lifecycle.registered.shipping/l", n), 0);
    const msgpack_object *data = actors_map_get(ev, "data");
    TEST_ASSERT_OK(actors_value_str(actors_map_get(data, "kind"), &s, &n));
    ck_assert_int_eq(strncmp(s, "registered", n), 0);
    TEST_ASSERT_OK(actors_value_str(actors_map_get(data, "service"), &s, &n));
    ck_assert_int_eq(n, strlen("shipping"));
    ck_assert_int_eq(memcmp(s, "shipping", n), 0);
    int64_t ms = 0;
    TEST_ASSERT_OK(actors_value_int(actors_map_get(data, "ms"), &ms));
    ck_assert_int_gt(ms, 1700000000000LL);
    actors_future_destroy(&e);
    testutil_proc_kill(p, SIGKILL);
    TEST_ASSERT_OK(actors_subscription_next(q, &e));
    suptest_wait(e);
    TEST_ASSERT_OK(actors_value_str(
        actors_map_get(actors_map_get(itest_result(e), "data"), "kind"), &s,
        &n));
    ck_assert_int_eq(strncmp(s, "buried", n), 0);
    actors_future_destroy(&e);
    actors_unsubscribe(&q);
}
END_TEST

/* s_next_kind waits for the next event of q and copies its kind and
 * address. */
static void
s_next_kind(actors_subscription_t *q, char *kind, char *address)
{
    actors_future_t *e = NULL;
    TEST_ASSERT_OK(actors_subscription_next(q, &e));
    suptest_wait(e);
    const msgpack_object *data = actors_map_get(itest_result(e), "data");
    const char *s = NULL;
    size_t n = 0;
    TEST_ASSERT_OK(actors_value_str(actors_map_get(data, "kind"), &s, &n));
    snprintf(kind, 32, "%.*s", (int)n, s);
    TEST_ASSERT_OK(actors_value_str(actors_map_get(data, "address"), &s, &n));
    snprintf(address, 64, "%.*s", (int)n, s);
    actors_future_destroy(&e);
}

/* The supervision's events are on the stream too: a node joining, an
 * actor starting, exiting and restarting, a node lost. Nothing polled. */
START_TEST(test_events_lifecycle_supervised)
{
    testutil_broker_start(NULL);
    actors_client_t *c = itest_connect();
    actors_subscription_t *q = NULL;
    actors_future_t *r = NULL;
    TEST_ASSERT_OK(
        actors_subscribe(c, "actors.lifecycle.>", NULL, NULL, &q, &r));
    suptest_wait(r);
    actors_future_destroy(&r);
    testutil_proc_t *node =
        suptest_node("n1", s_config("shipping/s", P("max_restarts = -1")));
    int64_t pid = suptest_wait_running("shipping/s", 0);
    kill((pid_t)pid, SIGKILL);
    suptest_wait_running("shipping/s", pid);
    testutil_proc_kill(node, SIGKILL);
    const char *want[] = {
        "node-joined", "start", "registered", "exit", "restart", "node-lost"};
    bool seen[6] = {false};
    int left = 6;
    int64_t deadline = testutil_now_ms() + SUPTEST_WAIT_MS;
    while (left > 0 && testutil_now_ms() < deadline) {
        char kind[32];
        char address[64];
        s_next_kind(q, kind, address);
        for (int i = 0; i < 6; i++) {
            if (!seen[i] && strcmp(kind, want[i]) == 0) {
                seen[i] = true;
                left--;
            }
        }
    }
    for (int i = 0; i < 6; i++) {
        ck_assert_msg(seen[i], "no %s event", want[i]);
    }
    actors_unsubscribe(&q);
}
END_TEST

/* A lifecycle event as the stream delivered it. */
typedef struct {
    int64_t id;
    char kind[32];
    char address[64];
    char node[64];
    int64_t restarts;
} streamed_t;

static void
s_next_event(actors_subscription_t *q, streamed_t *out)
{
    actors_future_t *e = NULL;
    TEST_ASSERT_OK(actors_subscription_next(q, &e));
    suptest_wait(e);
    const msgpack_object *data = actors_map_get(itest_result(e), "data");
    const char *s = NULL;
    size_t n = 0;
    out->id = -1;
    TEST_ASSERT_OK(actors_value_int(actors_map_get(data, "id"), &out->id));
    TEST_ASSERT_OK(actors_value_str(actors_map_get(data, "kind"), &s, &n));
    snprintf(out->kind, sizeof out->kind, "%.*s", (int)n, s);
    TEST_ASSERT_OK(actors_value_str(actors_map_get(data, "address"), &s, &n));
    snprintf(out->address, sizeof out->address, "%.*s", (int)n, s);
    TEST_ASSERT_OK(actors_value_str(actors_map_get(data, "node"), &s, &n));
    snprintf(out->node, sizeof out->node, "%.*s", (int)n, s);
    TEST_ASSERT_OK(
        actors_value_int(actors_map_get(data, "restarts"), &out->restarts));
    actors_future_destroy(&e);
}

/* Every kind of lifecycle event, the nodes' and the broker's own, is
 * both recorded (EVENTS, `actorctl events`) and published on
 * actors.lifecycle.>, as one event with one id. Before: node-joined,
 * registered and buried were published only (id 0), and the broker's
 * events about actors started by hand recorded only. */
START_TEST(test_events_every_kind_recorded_and_published)
{
    static const char *zpl = "actor\n"
                             "    k\n"
                             "        service = chaos\n"
                             "        address = chaos/k\n"
                             "        policy\n"
                             "            max_restarts = -1\n"
                             "    g\n"
                             "        service = chaos\n"
                             "        address = chaos/g\n";
    testutil_broker_start(NULL);
    actors_client_t *c = itest_connect();
    actors_subscription_t *q = NULL;
    actors_future_t *r = NULL;
    TEST_ASSERT_OK(
        actors_subscribe(c, "actors.lifecycle.>", NULL, NULL, &q, &r));
    suptest_wait(r);
    actors_future_destroy(&r);
    testutil_proc_t *n1 = suptest_node("n1", zpl);
    testutil_proc_t *n2 = suptest_node("n2", NULL);
    int64_t k = suptest_wait_running("chaos/k", 0);
    int64_t g = suptest_wait_running("chaos/g", 0);
    testutil_proc_t *h = testutil_service_start("chaos", "chaos/h", 0, NULL);
    suptest_wait_state("chaos/h", "running");
    kill((pid_t)k, SIGKILL); /* exit, restart, start, registered */
    k = suptest_wait_running("chaos/k", k);
    kill((pid_t)g, SIGKILL); /* exit, give-up, buried */
    suptest_wait_state("chaos/g", "dead");
    testutil_proc_kill(h, SIGKILL); /* buried (no node runs it) */
    suptest_wait_state("chaos/h", "dead");
    testutil_proc_kill(n1, SIGKILL); /* node-lost, re-placed */
    suptest_wait_running("chaos/k", k);

    static const char *want[] = {"node-joined", "start", "registered", "exit",
        "restart", "give-up", "buried", "node-lost", "re-placed"};
    enum { NWANT = sizeof want / sizeof want[0], NMAX = 256 };
    bool seen[NWANT] = {false};
    size_t left = NWANT;
    static streamed_t got[NMAX];
    size_t ngot = 0;
    int64_t deadline = testutil_now_ms() + SUPTEST_WAIT_MS;
    while (left > 0 && ngot < NMAX && testutil_now_ms() < deadline) {
        streamed_t *ev = &got[ngot++];
        s_next_event(q, ev);
        for (size_t i = 0; i < NWANT; i++) {
            if (!seen[i] && strcmp(ev->kind, want[i]) == 0) {
                seen[i] = true;
                left--;
            }
        }
    }
    for (size_t i = 0; i < NWANT; i++) {
        ck_assert_msg(seen[i], "no %s event on the stream", want[i]);
    }
    /* The last node goes: chaos/k, nowhere to go, is buried, and the
     * event says where it ran and how often it restarted (it said
     * node "" and restarts 0: the node was forgotten first). */
    testutil_proc_kill(n2, SIGKILL);
    bool buried = false;
    while (!buried && ngot < NMAX && testutil_now_ms() < deadline) {
        streamed_t *ev = &got[ngot++];
        s_next_event(q, ev);
        if (strcmp(ev->kind, "buried") == 0 &&
            strcmp(ev->address, "chaos/k") == 0) {
            buried = true;
            ck_assert_str_eq(ev->node, "n2");
            ck_assert_int_ge(ev->restarts, 1);
        }
    }
    ck_assert_msg(buried, "chaos/k was not buried when its last node went");
    actors_unsubscribe(&q);

    /* Each streamed event is in the history, with the same id. */
    actors_future_t *f = suptest_events(0);
    const msgpack_object *hist = itest_result(f);
    for (size_t i = 0; i < ngot; i++) {
        bool found = false;
        for (uint32_t j = 0; j < hist->via.array.size && !found; j++) {
            const msgpack_object *ev = &hist->via.array.ptr[j];
            int64_t id = 0;
            const char *kind = NULL;
            const char *address = NULL;
            size_t kn = 0;
            size_t an = 0;
            actors_value_int(actors_map_get(ev, "id"), &id);
            actors_value_str(actors_map_get(ev, "kind"), &kind, &kn);
            actors_value_str(actors_map_get(ev, "address"), &address, &an);
            found = id == got[i].id && kn == strlen(got[i].kind) &&
                    memcmp(kind, got[i].kind, kn) == 0 &&
                    an == strlen(got[i].address) &&
                    memcmp(address, got[i].address, an) == 0;
        }
        ck_assert_msg(found,
            "streamed event id=%lld kind=%s address=%s is not "
            "in the history",
            (long long)got[i].id, got[i].kind, got[i].address);
    }
    actors_future_destroy(&f);
}
END_TEST

static Suite *
events_suite(void)
{
    Suite *s = suite_create("events");
    TCase *tc = suptest_tcase("events", 90);
    tcase_add_test(tc, test_events_subscriber_restarted);
    tcase_add_test(tc, test_events_overflow_counted);
    tcase_add_test(tc, test_events_order_and_unsubscribe);
    tcase_add_loop_test(tc, test_events_client_subscriptions, 0, 2);
    tcase_add_loop_test(
        tc, test_events_client_resubscribes_after_broker_restart, 0, 2);
    tcase_add_test(tc, test_events_client_stream_unreachable);
    tcase_add_loop_test(tc, test_events_unsubscribe_from_ready, 0, 2);
    tcase_add_test(tc, test_events_group_queue);
    tcase_add_test(tc, test_events_lifecycle_stream);
    tcase_add_test(tc, test_events_lifecycle_supervised);
    tcase_add_test(tc, test_events_every_kind_recorded_and_published);
    tcase_add_test(tc, test_events_actor_runtime_subscribe);
    tcase_add_test(tc, test_events_chaos_mirror_and_clock);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return itest_run(events_suite());
}
