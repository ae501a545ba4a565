/* tests/unit/broker/test_lifecycle.c - nodes, spawn, kill, supervised
 * restarts and events, spoken raw to a broker in a thread.
 * SPDX-License-Identifier: MIT
 *
 * Raw DEALER sockets play a node (NODE, STATE, EVENT; answers SPAWN and
 * KILL), the actors it starts (REGISTER, answers CALLs) and clients, so
 * the exact frames and the exactly-once answers are checked without any
 * process timing. The harness is rawbroker.h. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <msgpack.h>
#include <zmq.h>

#include <actors/msg.h>

#include "../../../broker/broker.h"
#include "../../testutil.h"
#include <actors-internal/wire.h>

#include "rawbroker.h"

#include "rawnode.h"

START_TEST(test_lifecycle_node_names_unique)
{
    s_start();
    void *n1 = s_sock(ZMQ_DEALER);
    void *n2 = s_sock(ZMQ_DEALER);
    s_node(n1, "n1");
    actors_msg_t *info = NULL;
    MAP(info, "{sssi}", "node", "n1", "pid", 7);
    s_send(n2, ACTORS_CMD_NODE, 0, "node", 1, BODY(info));
    actors_msg_destroy(&info);
    s_expect_error(n2, 0, "node", "NameTaken");
    s_send(n2, ACTORS_CMD_NODE, 0, "bad", 1, S("not a map"));
    s_expect_error(n2, 0, "bad", "BadRequest");
    zmq_close(n1);
    zmq_close(n2);
    s_stop();
}
END_TEST

/* SPAWN: NoSuchNode without nodes; relayed with a tag; the client's REPLY
 * comes once the actor registers; NameTaken and get_if_exists; a node's
 * ERROR becomes SpawnFailed. */
START_TEST(test_lifecycle_spawn_relayed)
{
    s_start();
    void *c = s_sock(ZMQ_DEALER);
    void *node = s_sock(ZMQ_DEALER);
    void *actor = s_sock(ZMQ_DEALER);
    actors_msg_t *spec = NULL;
    MAP(spec, "{sssssb}", "service", "chaos", "name", "chaos/s", "detached", 1);
    s_send(c, ACTORS_CMD_SPAWN, 5000, "sp", 1, BODY(spec));
    s_expect_error(c, 0, "sp", "NoSuchNode");
    s_node(node, "n1");
    s_send(c, ACTORS_CMD_SPAWN, 5000, "sp", 1, BODY(spec));
    s_req_t r = s_node_get(node);
    ck_assert_uint_eq(r.cmd, ACTORS_CMD_SPAWN);
    ck_assert_str_eq(r.address, "chaos/s");
    /* The name is reserved at once. */
    s_send(c, ACTORS_CMD_SPAWN, 5000, "again", 1, BODY(spec));
    s_expect_error(c, 0, "again", "NameTaken");
    actors_msg_t *ok = NULL;
    MAP(ok, "{si}", "pid", 4242);
    s_reply_id(node, ACTORS_CMD_REPLY, r.tag, 8, BODY(ok));
    actors_msg_destroy(&ok);
    s_register(actor, "chaos/s", 1, 0);
    msgpack_unpacked up;
    s_msg_t m;
    s_reply_map(c, "sp", &up, &m);
    ck_assert(s_str_is(&up.data, "address", "chaos/s"));
    ck_assert(s_str_is(&up.data, "node", "n1"));
    bool existed = true;
    TEST_ASSERT_OK(
        actors_value_bool(actors_map_get(&up.data, "existed"), &existed));
    ck_assert(!existed);
    msgpack_unpacked_destroy(&up);
    s_msg_free(&m);
    actors_msg_destroy(&spec);

    MAP(spec, "{sssssb}", "service", "chaos", "name", "chaos/s",
        "get_if_exists", 1);
    s_send(c, ACTORS_CMD_SPAWN, 5000, "gie", 1, BODY(spec));
    s_reply_map(c, "gie", &up, &m);
    TEST_ASSERT_OK(
        actors_value_bool(actors_map_get(&up.data, "existed"), &existed));
    ck_assert(existed);
    msgpack_unpacked_destroy(&up);
    s_msg_free(&m);
    actors_msg_destroy(&spec);

    /* No name: SERVICE/8 hex; the node refuses: SpawnFailed. */
    MAP(spec, "{ss}", "service", "chaos");
    s_send(c, ACTORS_CMD_SPAWN, 5000, "gen", 1, BODY(spec));
    r = s_node_get(node);
    ck_assert_uint_eq(strlen(r.address), strlen("chaos/") + 8);
    ck_assert_int_eq(strncmp(r.address, "chaos/", 6), 0);
    actors_msg_t *err = NULL;
    MAP(err, "{ssss}", "type", "InvalidArgument", "message", "no binary");
    s_reply_id(node, ACTORS_CMD_ERROR, r.tag, 8, BODY(err));
    actors_msg_destroy(&err);
    s_expect_error(c, 0, "gen", "SpawnFailed");
    actors_msg_destroy(&spec);
    zmq_close(c);
    zmq_close(node);
    zmq_close(actor);
    s_stop();
}
END_TEST

/* max_task_retries 1: the node reports the crash while the actor's
 * connection still looks alive; the in-flight call goes back to the
 * mailbox and reaches the restarted actor, and the client gets exactly
 * one reply. With retries 0 the call gets ActorCrashed with the cause. */
START_TEST(test_lifecycle_retry_exactly_once)
{
    s_start();
    void *c = s_sock(ZMQ_DEALER);
    void *node = s_sock(ZMQ_DEALER);
    void *a1 = s_sock(ZMQ_DEALER);
    s_node(node, "n1");
    s_state(node, "x/1", "starting", 4242, "", 1);
    s_wait_state(c, "x/1", "starting");
    s_register(a1, "x/1", 1, 0);
    s_call(c, "one", "x/1", 0);
    s_call(c, "two", "x/1", 0); /* waits: prefetch 1 */
    s_got_t g = s_actor_get(a1);
    ck_assert_uint_eq(g.cmd, ACTORS_CMD_CALL);
    s_state(node, "x/1", "restarting", 0, "signal 9 (SIGKILL)", 1);
    void *a2 = s_sock(ZMQ_DEALER);
    s_state(node, "x/1", "starting", 4343, "signal 9 (SIGKILL)", 1);
    s_wait_state(c, "x/1", "starting");
    s_register(a2, "x/1", 1, 0);
    /* "one" again first, then "two". */
    for (int i = 0; i < 2; i++) {
        g = s_actor_get(a2);
        ck_assert_uint_eq(g.cmd, ACTORS_CMD_CALL);
        static const uint8_t nil = 0xc0;
        s_reply_id(a2, ACTORS_CMD_REPLY, g.tag, g.id_len, &nil, 1);
    }
    s_expect_reply(c, 0, "one", NULL, 0);
    s_expect_reply(c, 0, "two", NULL, 0);
    s_msg_t m;
    ck_assert(!s_raw_recv(c, 300, &m)); /* nothing more */
    zmq_close(a1);

    /* Retries 0 now: ActorCrashed naming the cause. */
    s_state(node, "x/1", "starting", 4343, "", 0);
    s_call(c, "three", "x/1", 0);
    g = s_actor_get(a2);
    s_state(node, "x/1", "restarting", 0, "signal 11 (SIGSEGV)", 0);
    s_recv(c, &m);
    char type[64];
    ck_assert(s_error_type(&m, 0, type, sizeof type));
    ck_assert_str_eq(type, "ActorCrashed");
    ck_assert(memmem(m.data[1], m.len[1], "SIGSEGV", 7) != NULL);
    s_msg_free(&m);
    /* Dead: waiting calls get ActorDead, LOOKUP says dead. */
    s_call(c, "four", "x/1", 0);
    s_state(node, "x/1", "dead", 0, "signal 11 (SIGSEGV)", 0);
    s_expect_error(c, 0, "four", "ActorDead");
    s_call(c, "five", "x/1", 0);
    s_expect_error(c, 0, "five", "ActorDead");
    zmq_close(a2);
    zmq_close(c);
    zmq_close(node);
    s_stop();
}
END_TEST

/* KILL is relayed and the node's answer forwarded; unknown and
 * unsupervised addresses get NoSuchActor. EVENTs are listed by EVENTS. */
START_TEST(test_lifecycle_kill_and_events)
{
    s_start();
    void *c = s_sock(ZMQ_DEALER);
    void *node = s_sock(ZMQ_DEALER);
    void *a = s_sock(ZMQ_DEALER);
    void *plain = s_sock(ZMQ_DEALER);
    s_node(node, "n1");
    s_state(node, "k/1", "starting", 4242, "", 0);
    s_wait_state(c, "k/1", "starting");
    s_register(a, "k/1", 1, 0);
    s_register(plain, "plain/1", 1, 0);
    /* The same REGISTER again on the same connection (an actor retries
     * when its first one went unanswered): answered, but nothing new
     * happened, so no second "registered" event. */
    s_register(plain, "plain/1", 1, 0);
    actors_msg_t *opts = NULL;
    MAP(opts, "{sbsb}", "restart", 0, "graceful", 0);
    s_send(c, ACTORS_CMD_KILL, 0, "k", 2, S("k/1"), BODY(opts));
    s_req_t r = s_node_get(node);
    ck_assert_uint_eq(r.cmd, ACTORS_CMD_KILL);
    ck_assert_str_eq(r.address, "k/1");
    static const uint8_t empty_map = 0x80;
    s_reply_id(node, ACTORS_CMD_REPLY, r.tag, 8, &empty_map, 1);
    s_expect_reply(c, 0, "k", &empty_map, 1);
    s_send(c, ACTORS_CMD_KILL, 0, "none", 2, S("nobody"), BODY(opts));
    s_expect_error(c, 0, "none", "NoSuchActor");
    s_send(c, ACTORS_CMD_KILL, 0, "plain", 2, S("plain/1"), BODY(opts));
    s_expect_error(c, 0, "plain", "NoSuchActor");
    actors_msg_destroy(&opts);

    for (int i = 0; i < 3; i++) {
        actors_msg_t *ev = NULL;
        MAP(ev, "{sisssssi}", "id", i + 1, "kind", "start", "address", "k/1",
            "pid", 100 + i);
        s_send(node, ACTORS_CMD_EVENT, 0, NULL, 1, BODY(ev));
        actors_msg_destroy(&ev);
    }
    /* EVENT has no answer and comes over another connection: ask until
     * all three are in (with a deadline). Events 1 to 3 are the broker's
     * own: n1 joined, k/1 registered, plain/1 (which no node runs, an
     * actor started by hand) registered; the node's three are 4, 5, 6. */
    msgpack_unpacked up;
    s_msg_t m;
    int64_t deadline = testutil_now_ms() + RECV_MS;
    for (;;) {
        actors_msg_t *q = NULL;
        MAP(q, "{si}", "since", 3);
        s_send(c, ACTORS_CMD_EVENTS, 0, "ev", 1, BODY(q));
        actors_msg_destroy(&q);
        s_reply_map(c, "ev", &up, &m);
        ck_assert_int_eq(up.data.type, MSGPACK_OBJECT_ARRAY);
        if (up.data.via.array.size == 3 || testutil_now_ms() > deadline) {
            break;
        }
        msgpack_unpacked_destroy(&up);
        s_msg_free(&m);
        testutil_poll_pause_ms(5);
    }
    ck_assert_uint_eq(up.data.via.array.size, 3);
    const msgpack_object *e0 = &up.data.via.array.ptr[0];
    int64_t id = 0;
    TEST_ASSERT_OK(actors_value_int(actors_map_get(e0, "id"), &id));
    ck_assert_int_eq(id, 4);
    ck_assert(s_str_is(e0, "node", "n1"));
    ck_assert(s_str_is(e0, "kind", "start"));
    msgpack_unpacked_destroy(&up);
    s_msg_free(&m);
    s_send(c, ACTORS_CMD_EVENTS, 0, "ev0", 0);
    s_reply_map(c, "ev0", &up, &m);
    ck_assert_int_eq(up.data.type, MSGPACK_OBJECT_ARRAY);
    ck_assert_uint_eq(up.data.via.array.size, 6);
    e0 = &up.data.via.array.ptr[0];
    ck_assert(s_str_is(e0, "kind", "node-joined"));
    ck_assert(s_str_is(e0, "node", "n1"));
    e0 = &up.data.via.array.ptr[1];
    ck_assert(s_str_is(e0, "kind", "registered"));
    ck_assert(s_str_is(e0, "address", "k/1"));
    ck_assert(s_str_is(e0, "node", "n1"));
    e0 = &up.data.via.array.ptr[2];
    ck_assert(s_str_is(e0, "kind", "registered"));
    ck_assert(s_str_is(e0, "address", "plain/1"));
    ck_assert(s_str_is(e0, "node", ""));
    msgpack_unpacked_destroy(&up);
    s_msg_free(&m);
    zmq_close(a);
    zmq_close(plain);
    zmq_close(c);
    zmq_close(node);
    s_stop();
}
END_TEST

/* A group's member registered by a node's process: its "registered"
 * event names the node it said it runs on, as LIST does (it said ""). */
START_TEST(test_lifecycle_member_event_names_node)
{
    s_start();
    void *c = s_sock(ZMQ_DEALER);
    void *m1 = s_sock(ZMQ_DEALER);
    actors_msg_t *info = NULL;
    TEST_ASSERT_OK(actors_msg_build(&info, "{sssisbss}", "service", "test",
        "pid", 4243, "group", 1, "node", "n7"));
    s_send(m1, ACTORS_CMD_REGISTER, 0, "reg", 2, S("grp/1"),
        actors_msg_data(info), actors_msg_size(info));
    actors_msg_destroy(&info);
    s_msg_t r;
    s_recv(m1, &r);
    s_check_answer(&r, 0, ACTORS_CMD_REPLY, "reg");
    s_msg_free(&r);
    s_send(c, ACTORS_CMD_EVENTS, 0, "ev", 0);
    msgpack_unpacked up;
    s_msg_t m;
    s_reply_map(c, "ev", &up, &m);
    ck_assert_int_eq(up.data.type, MSGPACK_OBJECT_ARRAY);
    bool member = false;
    for (uint32_t i = 0; i < up.data.via.array.size; i++) {
        const msgpack_object *e = &up.data.via.array.ptr[i];
        member |= s_str_is(e, "kind", "registered") &&
                  s_str_is(e, "address", "grp/1") && s_str_is(e, "node", "n7");
    }
    ck_assert_msg(member, "no registered event of grp/1 names node n7");
    msgpack_unpacked_destroy(&up);
    s_msg_free(&m);
    zmq_close(m1);
    zmq_close(c);
    s_stop();
}
END_TEST

Suite *lifecycle_suite(void);

Suite *
lifecycle_suite(void)
{
    Suite *s = suite_create("lifecycle");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_lifecycle_node_names_unique);
    tcase_add_test(tc, test_lifecycle_spawn_relayed);
    tcase_add_test(tc, test_lifecycle_retry_exactly_once);
    tcase_add_test(tc, test_lifecycle_kill_and_events);
    tcase_add_test(tc, test_lifecycle_member_event_names_node);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(lifecycle_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
