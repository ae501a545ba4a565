/* tests/unit/broker/rawnode.h - a node (supervisor) and its answers,
 * played raw against the broker of rawbroker.h.
 * SPDX-License-Identifier: MIT
 *
 * Shared by test_lifecycle.c and test_hardening.c: NODE, STATE, the
 * SPAWN/KILL requests a node gets and its answers, and LOOKUP polling
 * with a deadline. Include after rawbroker.h.
 */
#ifndef TESTS_UNIT_BROKER_RAWNODE_H
#define TESTS_UNIT_BROKER_RAWNODE_H

#include "rawbroker.h"

/* s_reply sends REPLY with request id (len bytes) and body. */
static void
s_reply_id(void *sock, uint8_t cmd, const void *id, size_t id_len,
    const void *body, size_t len)
{
    uint8_t h[ACTORS_WIRE_HDR_MAX];
    size_t hn = actors__hdr_write(h, cmd, 0, id, id_len);
    ck_assert_int_ge(zmq_send(sock, h, hn, ZMQ_SNDMORE), 0);
    ck_assert_int_ge(zmq_send(sock, body, len, 0), 0);
}

/* s_map_msg builds a map with actors_msg_build (caller destroys). */
#define MAP(m, ...) TEST_ASSERT_OK(actors_msg_build(&(m), __VA_ARGS__))
#define BODY(m) actors_msg_data(m), actors_msg_size(m)

/* s_node makes sock the node called name. */
static void
s_node(void *sock, const char *name)
{
    actors_msg_t *info = NULL;
    MAP(info, "{sssi}", "node", name, "pid", 99);
    s_send(sock, ACTORS_CMD_NODE, 0, "node", 1, BODY(info));
    actors_msg_destroy(&info);
    s_expect_reply(sock, 0, "node", NULL, 0);
}

/* s_state sends STATE address {state, pid, restarts, cause,
 * max_task_retries, spec: {max_restarts}} from the node. */
static void
s_state(void *node, const char *address, const char *state, int pid,
    const char *cause, int mtr)
{
    actors_msg_t *m = NULL;
    if (s_claim[0] == '\0') {
        snprintf(s_claim, sizeof s_claim, "%s", "0123456789abcdef");
    }
    MAP(m, "{sssisssisisss{sssi}}", "state", state, "pid", pid, "cause", cause,
        "restarts", 0, "max_task_retries", mtr, "claim", s_claim, "spec",
        "service", "chaos", "max_restarts", -1);
    s_send(node, ACTORS_CMD_STATE, 0, NULL, 2, S(address), BODY(m));
    actors_msg_destroy(&m);
}

/* A request the node got: SPAWN or KILL with its tag and address. */
typedef struct {
    uint8_t cmd;
    uint8_t tag[8];
    char address[256];
} s_req_t;

static s_req_t
s_node_get(void *node)
{
    s_msg_t m;
    s_recv(node, &m);
    s_req_t r;
    if (m.data[0][4] == ACTORS_CMD_SPAWN) {
        /* header, address, spec, claim: the secret of the process. */
        ck_assert_int_eq(m.nframes, 4);
        ck_assert_uint_lt(m.len[3], sizeof s_claim);
        memcpy(s_claim, m.data[3], m.len[3]);
        s_claim[m.len[3]] = '\0';
    } else {
        ck_assert_int_eq(m.nframes, 3);
    }
    memset(&r, 0, sizeof r);
    r.cmd = m.data[0][4];
    /* The broker's own header: its tag as the id, no names. */
    const uint8_t *tag = NULL;
    ck_assert_uint_eq(testutil_hdr_id(m.data[0], m.len[0], &tag), 8);
    ck_assert_uint_eq(m.len[0], ACTORS_WIRE_HDR_MIN + 8);
    memcpy(r.tag, tag, 8);
    snprintf(r.address, sizeof r.address, "%.*s", (int)m.len[1],
        (const char *)m.data[1]);
    s_msg_free(&m);
    return r;
}

/* s_reply_map receives a REPLY with id and returns its body decoded into
 * up (caller destroys). */
static void
s_reply_map(void *sock, const char *id, msgpack_unpacked *up, s_msg_t *m)
{
    s_recv(sock, m);
    ck_assert_int_eq(m->nframes, 2);
    ck_assert_msg(
        m->data[0][4] == ACTORS_CMD_REPLY, "not a REPLY: %d", m->data[0][4]);
    s_check_answer(m, 0, ACTORS_CMD_REPLY, id);
    msgpack_unpacked_init(up);
    ck_assert_int_eq(
        msgpack_unpack_next(up, (const char *)m->data[1], m->len[1], NULL),
        MSGPACK_UNPACK_SUCCESS);
}

static bool
s_str_is(const msgpack_object *map, const char *key, const char *want)
{
    const char *p = NULL;
    size_t n = 0;
    return actors_value_str(actors_map_get(map, key), &p, &n) == ACTORS_OK &&
           n == strlen(want) && memcmp(p, want, n) == 0;
}

/* s_ping asks PING on sock and returns the map's integer key (-1 if the
 * key is absent). A PING reply also proves that the broker handled what
 * sock sent before it. */
static int64_t
s_ping_int(void *sock, const char *key)
{
    s_send(sock, ACTORS_CMD_PING, 0, "ping", 0);
    msgpack_unpacked up;
    s_msg_t m;
    s_reply_map(sock, "ping", &up, &m);
    int64_t v = -1;
    (void)actors_value_int(actors_map_get(&up.data, key), &v);
    msgpack_unpacked_destroy(&up);
    s_msg_free(&m);
    return v;
}

/* s_wait_state asks LOOKUP on sock until address is in state (the node's
 * STATE and other peers' messages come over different connections). */
static void
s_wait_state(void *sock, const char *address, const char *state)
{
    int64_t deadline = testutil_now_ms() + RECV_MS;
    for (;;) {
        s_send(sock, ACTORS_CMD_LOOKUP, 0, "lk", 1, S(address));
        s_msg_t m;
        s_recv(sock, &m);
        bool ok = false;
        if (m.nframes == 2 && m.data[0][4] == ACTORS_CMD_REPLY) {
            msgpack_unpacked up;
            msgpack_unpacked_init(&up);
            ok = msgpack_unpack_next(&up, (const char *)m.data[1], m.len[1],
                     NULL) == MSGPACK_UNPACK_SUCCESS &&
                 s_str_is(&up.data, "state", state);
            msgpack_unpacked_destroy(&up);
        }
        s_msg_free(&m);
        if (ok) {
            return;
        }
        ck_assert_msg(
            testutil_now_ms() < deadline, "%s never %s", address, state);
        testutil_poll_pause_ms(5);
    }
}

#endif
