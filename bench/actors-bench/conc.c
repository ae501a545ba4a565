/* bench/actors-bench/conc.c - I/O-bound work spread over a pool and over
 * one threaded actor (issue #11's target).
 * SPDX-License-Identifier: MIT
 *
 * 40 tasks of 100 ms (sleeper.sleep(100): I/O-bound, no CPU) on:
 *   - a pool of 4 sleepers run one call at a time (actors/pool.h, Ray's
 *     ActorPool: submit 40, get_next 40);
 *   - one sleeper with max_concurrency 4 (Ray's threaded actor), the 40
 *     calls pipelined at once.
 * Ideal: 40 x 100 ms / 4 = 1 s for both; the target is <= 1.2 x that. The
 * real broker and the real sleeper binary, with a broker of their own.
 * Figures, not checks.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <actors/actors.h>

#include "bench.h"

#define CONC_TASKS 40
#define CONC_MS 100
#define CONC_WIDTH 4
#define CONC_WAIT_MS 30000

static double
s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* s_sleeper starts bin/sleeper at address with --max-concurrency n. */
static int
s_sleeper(
    const char *bin_dir, const char *ep, const char *address, int n, bool quiet)
{
    char path[4096];
    char conc[16];
    snprintf(path, sizeof path, "%s/sleeper", bin_dir);
    snprintf(conc, sizeof conc, "%d", n);
    char *argv[] = {path, "--broker", (char *)ep, "--address", (char *)address,
        "--max-concurrency", conc, NULL};
    int pid = -1;
    if (bench_proc_start(argv, quiet, NULL, &pid) != ACTORS_OK) {
        return -1;
    }
    return pid;
}

/* s_wait_running waits until the broker shows address running. */
static bool
s_wait_running(actors_client_t *c, const char *address)
{
    double end = s_now() + 10;
    while (s_now() < end) {
        actors_future_t *f = NULL;
        const msgpack_object *r = NULL;
        if (actors_client_lookup(c, address, &f) == ACTORS_OK &&
            actors_future_get(f, 1000, &r) == ACTORS_OK) {
            const char *st = NULL;
            size_t n = 0;
            if (actors_value_str(actors_map_get(r, "state"), &st, &n) ==
                    ACTORS_OK &&
                n == 7 && memcmp(st, "running", 7) == 0) {
                actors_future_destroy(&f);
                return true;
            }
        }
        actors_future_destroy(&f);
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL); /* the poll's pause, until the deadline */
    }
    return false;
}

/* s_pool_run: 40 tasks through a pool of the 4 addresses; seconds, or -1
 * if a task failed. */
static double
s_pool_run(actors_client_t *c, const char *const *members)
{
    actors_pool_t *p = NULL;
    if (actors_pool_create(&p, c, members, CONC_WIDTH, NULL) != ACTORS_OK) {
        return -1;
    }
    double t0 = s_now();
    bool ok = true;
    for (int i = 0; i < CONC_TASKS && ok; i++) {
        actors_msg_t *args = NULL;
        ok = actors_msg_build(&args, "i", CONC_MS) == ACTORS_OK &&
             actors_pool_submit(p, "sleep", &args, NULL) == ACTORS_OK;
        actors_msg_destroy(&args);
    }
    while (ok && actors_pool_has_next(p)) {
        actors_future_t *f = NULL;
        ok = actors_pool_get_next(p, CONC_WAIT_MS, 0, &f, NULL) == ACTORS_OK &&
             actors_future_error(f) == NULL;
        actors_future_destroy(&f);
    }
    double took = s_now() - t0;
    actors_pool_destroy(&p);
    return ok ? took : -1;
}

/* s_threads_run: 40 calls pipelined to one threaded sleeper. */
static double
s_threads_run(actors_client_t *c, const char *address)
{
    actors_future_t *fs[CONC_TASKS] = {NULL};
    double t0 = s_now();
    bool ok = true;
    for (int i = 0; i < CONC_TASKS && ok; i++) {
        ok = actors_client_call_fmt(
                 c, address, "sleep", NULL, &fs[i], "i", CONC_MS) == ACTORS_OK;
    }
    ok =
        ok && actors_future_wait_all(fs, CONC_TASKS, CONC_WAIT_MS) == ACTORS_OK;
    double took = s_now() - t0;
    for (int i = 0; i < CONC_TASKS; i++) {
        ok = ok && fs[i] != NULL && actors_future_error(fs[i]) == NULL;
        actors_future_destroy(&fs[i]);
    }
    return ok ? took : -1;
}

bench_conc_result_t
bench_run_conc(const char *bin_dir, bool verbose)
{
    bench_conc_result_t r = {-1, -1};
    char path[4096];
    snprintf(path, sizeof path, "%s/actors-broker", bin_dir);
    char *argv[] = {path, "--bind", "tcp://127.0.0.1:*", NULL};
    char ep[256];
    int broker = -1;
    if (bench_proc_spawn(argv, ep, sizeof ep, 10000, !verbose, &broker) !=
        ACTORS_OK) {
        return r;
    }
    const char *members[CONC_WIDTH] = {"bench-sleeper/1", "bench-sleeper/2",
        "bench-sleeper/3", "bench-sleeper/4"};
    int pids[CONC_WIDTH + 1];
    for (int i = 0; i < CONC_WIDTH; i++) {
        pids[i] = s_sleeper(bin_dir, ep, members[i], 1, !verbose);
    }
    pids[CONC_WIDTH] =
        s_sleeper(bin_dir, ep, "bench-sleeper/t", CONC_WIDTH, !verbose);
    actors_client_t *c = NULL;
    bool up = actors_client_create(&c, ep) == ACTORS_OK;
    for (int i = 0; up && i < CONC_WIDTH; i++) {
        up = pids[i] > 0 && s_wait_running(c, members[i]);
    }
    bool t_up =
        up && pids[CONC_WIDTH] > 0 && s_wait_running(c, "bench-sleeper/t");
    if (up) {
        r.pool_s = s_pool_run(c, members);
    }
    if (t_up) {
        r.threads_s = s_threads_run(c, "bench-sleeper/t");
    }
    actors_client_destroy(&c);
    for (int i = 0; i <= CONC_WIDTH; i++) {
        if (pids[i] > 0) {
            bench_proc_stop(pids[i]);
        }
    }
    bench_proc_stop(broker);
    return r;
}
