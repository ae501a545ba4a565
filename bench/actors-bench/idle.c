/* bench/actors-bench/idle.c - what idle registered actors cost.
 * SPDX-License-Identifier: MIT
 *
 * For ours (actors-broker + chaos) and raw (actors-rawbroker + raw
 * workers), each with a broker of its own so that nothing the workloads
 * left behind weighs on it:
 *
 *   1. the broker alone: VmRSS and open descriptors (/proc/PID/status,
 *      /proc/PID/fd);
 *   2. N workers started and answering (env.c), then a settling pause, so
 *      that the pings' client has gone and heartbeats are steady; VmRSS and
 *      descriptors again: (with N - with 0) / N is the cost of one actor;
 *   3. CPU of the broker and of the N workers over `seconds`, both systems
 *      in the same window. CPU time comes from every thread's
 *      /proc/PID/task/TID/schedstat (exact nanoseconds), not from the
 *      utime+stime ticks of /proc/PID/stat: 1000 processes that each use
 *      less than a tick would round to noise.
 *
 * The raw workers never heartbeat, so their CPU is the floor: what 1000
 * idle connections cost with nothing on them.
 */
#include <math.h>
#include <stdio.h>
#include <time.h>

#include "bench.h"

#define SETTLE_MS 2000 /* after the workers are ready, before reading */

static void
s_sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - floor(s)) * 1e9)};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

void
bench_run_idle(const bench_driver_t *const d[2], const bench_env_opts_t *opts,
    int nactors, double seconds, bench_idle_result_t out[2])
{
    bench_env_t *env[2] = {NULL, NULL};
    long rss0[2];
    long fds0[2];
    for (int s = 0; s < 2; s++) {
        out[s] = (bench_idle_result_t){NAN, NAN, NAN, NAN};
        if (d[s] && bench_env_start(d[s], opts, 0, &env[s]) != ACTORS_OK) {
            env[s] = NULL;
        }
    }
    s_sleep_s(0.2);
    for (int s = 0; s < 2; s++) {
        int pid = env[s] ? bench_env_broker_pid(env[s]) : -1;
        rss0[s] = pid > 0 ? bench_proc_rss_kib(pid) : -1;
        fds0[s] = pid > 0 ? bench_proc_nfds(pid) : -1;
    }
    for (int s = 0; s < 2; s++) {
        if (env[s] && bench_env_workers(env[s], nactors) != ACTORS_OK) {
            bench_env_stop(&env[s]);
        }
    }
    s_sleep_s(SETTLE_MS / 1000.0);
    uint64_t cpu0[2][BENCH_CPU_N];
    for (int s = 0; s < 2; s++) {
        if (!env[s]) {
            continue;
        }
        int pid = bench_env_broker_pid(env[s]);
        long rss = bench_proc_rss_kib(pid);
        long fds = bench_proc_nfds(pid);
        if (rss0[s] > 0 && rss > 0) {
            out[s].broker_kib_per_actor =
                (double)(rss - rss0[s]) / (double)nactors;
        }
        if (fds0[s] > 0 && fds > 0) {
            out[s].broker_fds_per_actor =
                (double)(fds - fds0[s]) / (double)nactors;
        }
    }
    uint64_t t0[2] = {0, 0};
    for (int s = 0; s < 2; s++) {
        if (env[s]) {
            bench_env_cpu_ns(env[s], cpu0[s]);
            t0[s] = bench_now_ns();
        }
    }
    s_sleep_s(seconds);
    for (int s = 0; s < 2; s++) {
        if (!env[s]) {
            continue;
        }
        uint64_t cpu1[BENCH_CPU_N];
        uint64_t t1 = bench_now_ns();
        bench_env_cpu_ns(env[s], cpu1);
        double ns = (double)(t1 - t0[s]);
        out[s].broker_cpu_pct =
            100.0 *
            (double)(cpu1[BENCH_CPU_BROKER] - cpu0[s][BENCH_CPU_BROKER]) / ns;
        out[s].actors_cpu_pct =
            100.0 *
            (double)(cpu1[BENCH_CPU_WORKERS] - cpu0[s][BENCH_CPU_WORKERS]) / ns;
    }
    for (int s = 0; s < 2; s++) {
        bench_env_stop(&env[s]);
    }
}
