/* tests/integration/suptest.h - helpers of the supervisor and lifecycle
 * integration tests: config files in a mkdtemp directory, supervisors
 * (actors-supervisor) started against the test's broker, waiting for an
 * address to run with a new pid, events.
 * SPDX-License-Identifier: MIT
 *
 * Include after itest.h, once per test file. The directory is made by
 * suptest_setup and removed (with its files) by suptest_teardown; use
 * them as a checked fixture after itest's.
 */
#ifndef ACTORS_SUPTEST_H
#define ACTORS_SUPTEST_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "itest.h"

#define SUPTEST_WAIT_MS 15000 /* a restart or spawn should be done by then */
#define SUPTEST_SERVICES "account chaos counter store" /* --services */

static char g_supdir[64]; /* mkdtemp directory of the test */
static int g_supfiles;    /* config files written */

static inline void
suptest_setup(void)
{
    itest_setup();
    /* Under AddressSanitizer a SIGSEGV would become "exit code 1"; the
     * tests want the signal the supervisor reports. */
    const char *asan = getenv("ASAN_OPTIONS");
    char opts[1024];
    snprintf(opts, sizeof opts, "%s%shandle_segv=0", asan ? asan : "",
        asan && asan[0] ? ":" : "");
    setenv("ASAN_OPTIONS", opts, 1);
    snprintf(g_supdir, sizeof g_supdir, "/tmp/actors-sup-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(g_supdir));
    g_supfiles = 0;
}

static inline void
suptest_teardown(void)
{
    itest_teardown();
    for (int i = 0; i < g_supfiles; i++) {
        char path[128];
        snprintf(path, sizeof path, "%s/node%d.cfg", g_supdir, i);
        unlink(path);
    }
    rmdir(g_supdir);
}

/* suptest_tcase is itest_tcase with the directory fixture. */
static inline TCase *
suptest_tcase(const char *name, double timeout_s)
{
    TCase *tc = tcase_create(name);
    tcase_add_checked_fixture(tc, suptest_setup, suptest_teardown);
    tcase_set_timeout(tc, timeout_s);
    return tc;
}

/* suptest_node starts actors-supervisor --node node with a config of the
 * given ZPL text (NULL: none), and waits until the broker accepts it:
 * a spawn pinned to the node no longer fails with NoSuchNode is too
 * costly, so it waits for the node's log line instead. */
static inline testutil_proc_t *
suptest_node(const char *node, const char *zpl)
{
    char path[128] = "";
    if (zpl != NULL) {
        snprintf(path, sizeof path, "%s/node%d.cfg", g_supdir, g_supfiles++);
        FILE *f = fopen(path, "w");
        ck_assert_ptr_nonnull(f);
        fputs(zpl, f);
        fclose(f);
    }
    /* The example services may be spawned on the tests' nodes (a node
     * runs for a SPAWN only what it allows: docs/SUPERVISOR.md). */
    const char *argv[] = {"actors-supervisor", "--broker", testutil_endpoint(),
        "--node", node, "--services", SUPTEST_SERVICES, zpl ? "--config" : NULL,
        path, NULL};
    testutil_proc_t *p = testutil_spawn(argv, TESTUTIL_CAPTURE_STDERR);
    ck_assert_ptr_nonnull(p);
    int64_t deadline = testutil_now_ms() + SUPTEST_WAIT_MS;
    while (strstr(testutil_proc_stderr(p), "SUP-NODE-REGISTERED") == NULL) {
        ck_assert_msg(testutil_proc_running(p), "supervisor exited: %s",
            testutil_proc_stderr(p));
        ck_assert_msg(testutil_now_ms() < deadline,
            "node %s not registered: %s", node, testutil_proc_stderr(p));
        testutil_poll_pause_ms(10);
    }
    return p;
}

/* suptest_lookup returns the LOOKUP map of address on g_client (a future
 * the caller destroys), or NULL for NoSuchActor. */
static inline actors_future_t *
suptest_lookup(const char *address)
{
    actors_future_t *f = NULL;
    TEST_ASSERT_OK(actors_client_lookup(g_client, address, &f));
    TEST_ASSERT_OK(actors_future_wait(f, ITEST_WAIT_MS));
    if (actors_future_error(f) != NULL) {
        actors_future_destroy(&f);
        return NULL;
    }
    return f;
}

/* suptest_field copies string field key of the LOOKUP of address into
 * buf ("" if absent); returns the pid (0 if unknown). */
static inline int64_t
suptest_field(const char *address, const char *key, char *buf, size_t len)
{
    buf[0] = '\0';
    actors_future_t *f = suptest_lookup(address);
    if (f == NULL) {
        return 0;
    }
    const msgpack_object *r = actors_future_result(f);
    const char *p = NULL;
    size_t n = 0;
    if (actors_value_str(actors_map_get(r, key), &p, &n) == ACTORS_OK &&
        n < len) {
        memcpy(buf, p, n);
        buf[n] = '\0';
    }
    int64_t pid = 0;
    actors_value_int(actors_map_get(r, "pid"), &pid);
    actors_future_destroy(&f);
    return pid;
}

/* suptest_wait_running waits until address is running with a pid other
 * than not_pid (0: any), and the broker knows which node runs it, and
 * returns that pid. (An actor's REGISTER may reach the broker before its
 * node's STATE does; killed in between, it would be taken for an actor
 * no node supervises.) */
static inline int64_t
suptest_wait_running(const char *address, int64_t not_pid)
{
    int64_t deadline = testutil_now_ms() + SUPTEST_WAIT_MS;
    for (;;) {
        char state[32];
        char node[64];
        int64_t pid = suptest_field(address, "state", state, sizeof state);
        suptest_field(address, "node", node, sizeof node);
        if (strcmp(state, "running") == 0 && pid > 0 && pid != not_pid &&
            node[0] != '\0') {
            return pid;
        }
        ck_assert_msg(testutil_now_ms() < deadline,
            "%s not running with a new pid (state '%s' pid %lld)", address,
            state, (long long)pid);
        testutil_poll_pause_ms(10);
    }
}

/* suptest_wait_state waits until address is in state. */
static inline void
suptest_wait_state(const char *address, const char *want)
{
    int64_t deadline = testutil_now_ms() + SUPTEST_WAIT_MS;
    for (;;) {
        char state[32];
        suptest_field(address, "state", state, sizeof state);
        if (strcmp(state, want) == 0) {
            return;
        }
        ck_assert_msg(testutil_now_ms() < deadline, "%s not %s (state '%s')",
            address, want, state);
        testutil_poll_pause_ms(10);
    }
}

/* suptest_wait resolves f (SUPTEST_WAIT_MS). */
static inline void
suptest_wait(actors_future_t *f)
{
    actors_err rc = actors_future_wait(f, SUPTEST_WAIT_MS);
    ck_assert_msg(rc == ACTORS_OK, "no answer within %d ms (%s)",
        SUPTEST_WAIT_MS, actors_err_name(rc));
}

/* suptest_events returns the events (array) with an id above since. */
static inline actors_future_t *
suptest_events(uint64_t since)
{
    actors_future_t *f = NULL;
    TEST_ASSERT_OK(actors_client_events(g_client, since, &f));
    suptest_wait(f);
    const msgpack_object *r = itest_result(f);
    ck_assert_int_eq(r->type, MSGPACK_OBJECT_ARRAY);
    return f;
}

/* suptest_event_ms finds the n-th (from 0) event of kind for address in
 * the array r and returns its ms, or -1. */
static inline int64_t
suptest_event_ms(
    const msgpack_object *r, const char *address, const char *kind, int n)
{
    for (uint32_t i = 0; i < r->via.array.size; i++) {
        const msgpack_object *ev = &r->via.array.ptr[i];
        const char *a = NULL;
        const char *k = NULL;
        size_t an = 0;
        size_t kn = 0;
        if (actors_value_str(actors_map_get(ev, "address"), &a, &an) !=
                ACTORS_OK ||
            actors_value_str(actors_map_get(ev, "kind"), &k, &kn) !=
                ACTORS_OK) {
            continue;
        }
        if (an == strlen(address) && memcmp(a, address, an) == 0 &&
            kn == strlen(kind) && memcmp(k, kind, kn) == 0 && n-- == 0) {
            int64_t ms = -1;
            actors_value_int(actors_map_get(ev, "ms"), &ms);
            return ms;
        }
    }
    return -1;
}

#endif
