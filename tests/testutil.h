/* tests/testutil.h - helpers shared by the unit and integration tests.
 * SPDX-License-Identifier: MIT
 *
 * Linked into every test binary (the Makefile links every tests/NAME.c). Two
 * parts:
 *
 *  - assertions on actors_err (TEST_ASSERT_OK prints the error's name);
 *  - processes and ports for integration tests: find the build's bin/
 *    directory, start the real broker on an ephemeral port and read its
 *    endpoint back, start services and wait until they are registered,
 *    stop everything by pid, with a deadline. No fixed sleeps, no fixed
 *    ports.
 *
 * Cleanup: every process started here is recorded. testutil_stop_all()
 * (call it from a checked teardown) stops them; an atexit handler in the
 * process that started them does the same when a Check test fails (the
 * forked test child exits), and the children get PR_SET_PDEATHSIG so a
 * test child killed by Check's timeout does not leave them behind.
 *
 * testutil.c needs only libzmq, msgpack-c, Check and libactors' error and
 * alloc modules, so that every unit test links even while other modules
 * are missing. Helpers built on the client API are in
 * tests/integration/itest.h.
 *
 * Thread: one test thread; nothing here is thread-safe.
 */
#ifndef ACTORS_TESTUTIL_H
#define ACTORS_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <check.h>

#include <actors/error.h>

#ifndef TEST_ASSERT_OK
/* TEST_ASSERT_OK fails the test with the error's name unless rc is
 * ACTORS_OK. */
#define TEST_ASSERT_OK(rc)                                                     \
    do {                                                                       \
        actors_err test_rc_ = (rc);                                            \
        ck_assert_msg(test_rc_ == ACTORS_OK, "%s returned %s (%d)", #rc,       \
            actors_err_name(test_rc_), (int)test_rc_);                         \
    } while (0)
#endif

#ifndef TEST_ASSERT_ERR
/* TEST_ASSERT_ERR fails the test unless rc is exactly want. */
#define TEST_ASSERT_ERR(rc, want)                                              \
    do {                                                                       \
        actors_err test_rc_ = (rc);                                            \
        actors_err test_want_ = (want);                                        \
        ck_assert_msg(test_rc_ == test_want_, "%s returned %s, want %s", #rc,  \
            actors_err_name(test_rc_), actors_err_name(test_want_));           \
    } while (0)
#endif

/* testutil_fail_alloc_after makes the n-th libactors allocation from now
 * fail (0: never), for OOM loops. */
void testutil_fail_alloc_after(unsigned n);

/* ---- time and polling ---------------------------------------------------- */

/* testutil_now_ms is a monotonic clock in milliseconds. */
int64_t testutil_now_ms(void);

/* testutil_poll_pause_ms pauses ms milliseconds between two polls of a
 * condition that has a deadline (never use it as a fixed wait). */
void testutil_poll_pause_ms(int ms);

/* A condition to wait for. */
typedef bool (*testutil_pred_fn)(void *arg);

/* testutil_wait_until polls pred(arg) (at first every millisecond, backing
 * off to every 20 ms) until it returns true or timeout_ms passes.
 * Returns true if pred became true in time. */
bool testutil_wait_until(testutil_pred_fn pred, void *arg, int timeout_ms);

/* ---- processes ----------------------------------------------------------- */

/* testutil_bin_dir returns the directory of the binaries built with this
 * test ($(BUILD)/bin, found from /proc/self/exe; $ACTORS_BIN_DIR
 * overrides). Static storage. */
const char *testutil_bin_dir(void);

/* testutil_srcdir returns the source tree: $ACTORS_SRCDIR or ".". */
const char *testutil_srcdir(void);

/* A started process. */
typedef struct {
    pid_t pid;         /* 0 once reaped */
    int status;        /* wait status once reaped */
    bool reaped;       /* status is valid */
    int out_fd;        /* read end of its stdout pipe, or -1 */
    char err_path[64]; /* file holding its stderr, or "" (inherited) */
} testutil_proc_t;

/* testutil_count counts the occurrences of needle in text (a log). */
int testutil_count(const char *text, const char *needle);

/* testutil_which finds prog on PATH (static storage) or returns NULL. */
const char *testutil_which(const char *prog);

/* testutil_redis_start starts a redis-server of the test's own on the
 * unix socket dir/redis.sock (AOF, fsync per write; its log in dir; it is
 * stopped with every process the test started), waits until the socket
 * exists, and selects it with ACTORS_REDIS for the processes started
 * after. Returns false, printing SKIP, if no redis-server is on PATH;
 * fails the test if it does not start. */
bool testutil_redis_start(const char *dir);

/* Flags of testutil_spawn. */
#define TESTUTIL_PIPE_STDOUT 0x1    /* stdout to a pipe (proc->out_fd) */
#define TESTUTIL_CAPTURE_STDERR 0x2 /* stderr to a temp file */

/* testutil_spawn starts argv[0] (a name in testutil_bin_dir, or a path
 * containing '/') with argv (NULL-terminated) and records it for cleanup.
 * Returns the process (owned by the registry; valid until
 * testutil_stop_all), or NULL if it could not be started. */
testutil_proc_t *testutil_spawn(const char *const *argv, int flags);

/* testutil_proc_running tells whether the process has not exited yet
 * (reaps it if it has). */
bool testutil_proc_running(testutil_proc_t *p);

/* testutil_proc_wait waits up to timeout_ms for the process to exit.
 * Returns true and stores its wait status in *status (may be NULL) if it
 * exited in time. */
bool testutil_proc_wait(testutil_proc_t *p, int timeout_ms, int *status);

/* testutil_proc_exit_code is the exit status of a reaped process that
 * exited normally, or -1 (not reaped, or killed by a signal). */
int testutil_proc_exit_code(const testutil_proc_t *p);

/* testutil_proc_stderr reads the captured stderr into a static buffer
 * (NUL-terminated; "" if nothing was captured). */
const char *testutil_proc_stderr(const testutil_proc_t *p);

/* testutil_proc_kill sends sig to the process (if it still runs). */
void testutil_proc_kill(testutil_proc_t *p, int sig);

/* testutil_proc_stop sends SIGTERM, waits up to timeout_ms, then SIGKILL.
 * Returns true if it exited after SIGTERM (before the deadline). */
bool testutil_proc_stop(testutil_proc_t *p, int timeout_ms);

/* testutil_run runs argv (as testutil_spawn) to completion within
 * timeout_ms (killed after it), with its stdout copied into out (out_len
 * bytes, NUL-terminated; may be NULL) and its stderr into err (idem).
 * Returns its exit status, or -1 if it could not run, timed out or died
 * of a signal. */
int testutil_run(const char *const *argv, int timeout_ms, char *out,
    size_t out_len, char *err, size_t err_len);

/* testutil_stop_all stops every recorded process (SIGTERM, a shared
 * deadline, SIGKILL) and forgets them. Safe to call twice. */
void testutil_stop_all(void);

/* ---- broker and services ------------------------------------------------- */

/* testutil_broker_start starts actors-broker with --bind
 * tcp://127.0.0.1:* plus the extra arguments (NULL-terminated list after
 * the last one; e.g. "--mailbox", "2", NULL) and reads its ENDPOINT line
 * (10 s deadline). Returns the process or NULL; the endpoint is then
 * testutil_endpoint(). Fails the test on error. */
testutil_proc_t *testutil_broker_start(const char *arg, ...);

/* testutil_endpoint is the endpoint of the last broker started
 * ("" if none). Static storage. */
const char *testutil_endpoint(void);

/* testutil_service_start starts bin/<service> --broker <endpoint>
 * --address <address> [--prefetch N when prefetch > 0] and the extra
 * arguments (NULL-terminated), then waits (10 s) until the broker lists
 * the address as running with this pid. Fails the test (ck_abort) if the
 * process exits or the deadline passes. */
testutil_proc_t *testutil_service_start(
    const char *service, const char *address, int prefetch, ...);

/* testutil_service_spawn starts the service like testutil_service_start
 * but does not wait for registration (flags as testutil_spawn). */
testutil_proc_t *testutil_service_spawn(
    int flags, const char *service, const char *address, int prefetch, ...);

/* testutil_lookup_state asks the broker of testutil_endpoint() about
 * address and copies its state ("running", "dead") into state, and its
 * pid, mailbox and inflight (each may be NULL). Returns the call's
 * outcome (ACTORS_ENOACTOR for an unknown address). */
actors_err testutil_lookup_state(const char *address, char *state,
    size_t state_len, int64_t *pid, int64_t *mailbox, int64_t *inflight);

/* testutil_wait_state waits up to timeout_ms until the lookup of address
 * reports state (and, if pid > 0, that pid). */
bool testutil_wait_state(
    const char *address, const char *state, pid_t pid, int timeout_ms);

/* testutil_tcp_conns counts the established TCP connections that process
 * pid holds to the port of endpoint ("tcp://HOST:PORT"): its socket
 * descriptors (/proc/PID/fd) matched by inode against the system's
 * connection table (/proc/PID/net/tcp and tcp6). Returns -1 if the
 * endpoint has no port or /proc cannot be read. */
int testutil_tcp_conns(pid_t pid, const char *endpoint);

/* ---- raw zmq for malformed traffic --------------------------------------- */

/* testutil_raw_socket makes a zmq socket of type (ZMQ_DEALER, ZMQ_REQ)
 * connected to testutil_endpoint(), in a context of its own. Destroy with
 * testutil_raw_close. */
void *testutil_raw_socket(int type);
void testutil_raw_close(void **sock_p);

/* testutil_hdr writes an ACT2-style header without names (sig: 4 bytes,
 * e.g. "ACT2" or "ACT9") into buf (>= 11 + id_len bytes) and returns its
 * length. */
size_t testutil_hdr(uint8_t *buf, const char *sig, uint8_t cmd,
    uint32_t timeout_ms, const void *id, size_t id_len);

/* testutil_call_hdr writes the header of a CALL or TELL: testutil_hdr's
 * followed by the length-prefixed address and method (buf >= 13 + id_len
 * + both lengths). Returns its length. */
size_t testutil_call_hdr(uint8_t *buf, const char *sig, uint8_t cmd,
    uint32_t timeout_ms, const void *id, size_t id_len, const char *address,
    const char *method);

/* testutil_hdr_id finds the request id of a header frame (ACT2 layout):
 * sets *id (NULL if the frame is too short) and returns its length. */
size_t testutil_hdr_id(const uint8_t *hdr, size_t len, const uint8_t **id);

/* testutil_raw_send sends n frames (data[i], len[i]) as one message.
 * Returns 0 or -1. */
int testutil_raw_send(
    void *sock, int n, const void *const *data, const size_t *len);

/* A received message: at most 8 frames, copied. */
typedef struct {
    int nframes;
    size_t len[8];
    uint8_t *data[8];
} testutil_raw_msg_t;

/* testutil_raw_recv receives one message within timeout_ms into *m (free
 * with testutil_raw_msg_free). Returns true if one arrived. */
bool testutil_raw_recv(void *sock, int timeout_ms, testutil_raw_msg_t *m);
void testutil_raw_msg_free(testutil_raw_msg_t *m);

/* testutil_raw_error_type extracts the "type" of an ERROR reply whose
 * header is frame hdr_index and body frame hdr_index + 1 into buf.
 * Returns false if m is not an ERROR of that shape. */
bool testutil_raw_error_type(
    const testutil_raw_msg_t *m, int hdr_index, char *buf, size_t len);

#endif
