/* tests/integration/test_fds.c - a broker out of descriptors refuses new
 * connections and serves the others.
 * SPDX-License-Identifier: MIT
 *
 * The broker's descriptor limit is lowered under it (prlimit) to 80;
 * then 120 clients connect. Those beyond what fits are refused (PING
 * "refused"), every client that got in is answered, and a client that
 * was in before is answered throughout. With the round-1 broker libzmq's
 * listener spun on EMFILE and the refusals were invisible.
 */
#define _GNU_SOURCE
#include <sys/resource.h>

#include "itest.h"
#include <actors-internal/wire.h>

#include <zmq.h>

/* s_ping sends PING on sock and returns the map's integer key, or -1 if
 * no answer came within timeout_ms. */
static int64_t
s_ping(void *sock, const char *key, int timeout_ms)
{
    uint8_t hdr[ACTORS_WIRE_HDR_MAX];
    size_t hlen = testutil_hdr(hdr, "ACT2", ACTORS_CMD_PING, 0, "p", 1);
    const void *data[1] = {hdr};
    size_t len[1] = {hlen};
    testutil_raw_send(sock, 1, data, len);
    testutil_raw_msg_t m;
    if (!testutil_raw_recv(sock, timeout_ms, &m)) {
        return -1;
    }
    int64_t v = -1;
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    if (m.nframes == 2 && msgpack_unpack_next(&up, (const char *)m.data[1],
                              m.len[1], NULL) == MSGPACK_UNPACK_SUCCESS) {
        (void)actors_value_int(actors_map_get(&up.data, key), &v);
    }
    msgpack_unpacked_destroy(&up);
    testutil_raw_msg_free(&m);
    return v;
}

START_TEST(test_fds_refused_when_exhausted)
{
    testutil_proc_t *b = testutil_broker_start(NULL);
    void *first = testutil_raw_socket(ZMQ_DEALER);
    ck_assert_int_ge(s_ping(first, "uptime_ms", ITEST_WAIT_MS), 0);
    struct rlimit rl = {80, 80};
    ck_assert_int_eq(prlimit(b->pid, RLIMIT_NOFILE, &rl, NULL), 0);
    enum { N = 120 };
    void *socks[N];
    for (int i = 0; i < N; i++) {
        socks[i] = testutil_raw_socket(ZMQ_DEALER);
    }
    int answered = 0;
    for (int i = 0; i < N; i++) {
        if (s_ping(socks[i], "uptime_ms", 200) >= 0) {
            answered++;
        }
        if (i % 20 == 0) {
            ck_assert_int_ge(s_ping(first, "uptime_ms", ITEST_WAIT_MS), 0);
        }
    }
    ck_assert_int_gt(answered, 0);
    ck_assert_int_lt(answered, N);
    ck_assert_int_gt(s_ping(first, "refused", ITEST_WAIT_MS), 0);
    ck_assert(testutil_proc_running(b));
    for (int i = 0; i < N; i++) {
        testutil_raw_close(&socks[i]);
    }
    /* Descriptors free again: a new client gets in. */
    int64_t deadline = testutil_now_ms() + ITEST_WAIT_MS;
    void *late = testutil_raw_socket(ZMQ_DEALER);
    while (s_ping(late, "uptime_ms", 200) < 0) {
        ck_assert_msg(testutil_now_ms() < deadline, "never got in again");
    }
    testutil_raw_close(&late);
    testutil_raw_close(&first);
}
END_TEST

static Suite *
fds_suite(void)
{
    Suite *s = suite_create("fds");
    TCase *tc = itest_tcase("limits", 60);
    tcase_add_test(tc, test_fds_refused_when_exhausted);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return itest_run(fds_suite());
}
