/* bench/persist/persist_bench.h - persisted calls per second, per
 * durability policy and backend (issue #6).
 * SPDX-License-Identifier: MIT
 *
 * One module, linked into two programs (see the Makefile): the
 * stand-alone actors-persist-bench and actors-bench, which reports the
 * same rows beside its in-memory figures. It is not a program of its own.
 *
 * For each backend (file in a mkdtemp() directory; Redis when a
 * redis-server is on PATH: its own, on a unix socket, appendonly yes,
 * appendfsync always) and each policy (always, group:2, none), it starts
 * the real actors-broker and an account with a key, pipelines `window`
 * deposits for `seconds` and reports acknowledged deposits per second
 * (each one durable under the policy when acknowledged), plus the
 * in-memory account (no key) as the baseline. With base_dir the account
 * of another build (the hand-written one before actors/durable.h) is
 * measured in the same run, row by row. After the Redis rows it runs
 * redis-benchmark -t rpush -c 1 (plain and -P 16) against the same
 * server, the yardstick of Redis group commit. Figures, not checks:
 * nothing here fails on a slow machine.
 */
#ifndef PERSIST_BENCH_H
#define PERSIST_BENCH_H

#include <stdbool.h>

#include <actors/error.h>

/* memory, then file and redis with 3 policies each */
enum { PERSIST_BENCH_MAX_ROWS = 7 };
/* deposits in flight by default: the account's prefetch */
enum { PERSIST_BENCH_WINDOW = 64 };

/* What persist_bench_run needs. */
typedef struct {
    const char *bin_dir;  /* where actors-broker and account live */
    double seconds;       /* measuring time per configuration, > 0 */
    int window;           /* deposits in flight, 1..4096 */
    bool quiet;           /* children's stderr to /dev/null */
    const char *base_dir; /* another build's bin dir (an older account), or
                             NULL: its account is measured beside ours,
                             alternately, two rounds each, best of each */
} persist_bench_opts_t;

/* One configuration's figure. */
typedef struct {
    const char *backend;     /* "memory", "file", "redis" (static) */
    const char *policy;      /* "-", "always", "group:2", "none" (static) */
    char slug[32];           /* "memory", "file_always", "file_group", ... */
    double calls_per_s;      /* acknowledged deposits/s; negative: failed */
    double base_calls_per_s; /* base_dir's account, same row; 0: none */
} persist_bench_row_t;

/* Every row measured, in order: memory first. */
typedef struct {
    persist_bench_row_t rows[PERSIST_BENCH_MAX_ROWS];
    int nrows;
    char note[128]; /* why rows are missing (no redis-server...); or "" */
    /* redis-benchmark -t rpush -c 1 on the same server after the redis
     * rows, requests/s: one at a time and pipelined 16 deep (0: not run,
     * no redis-benchmark on PATH) */
    double redis_rpush;
    double redis_rpush_p16;
} persist_bench_result_t;

/* persist_bench_run measures every configuration, one after the other,
 * with a broker, accounts and (if on PATH) a redis-server of its own, all
 * stopped and their files removed before it returns. It sets
 * ACTORS_STATE_DIR, ACTORS_REDIS and ACTORS_PERSIST_SYNC for the accounts
 * it starts and restores the caller's values afterwards.
 * Returns ACTORS_OK with *out filled (a failed configuration has a
 * negative calls_per_s; rows left out are explained in out->note), or
 * ACTORS_EINVAL (bad opts) / ACTORS_EIO (no temporary directory, no
 * broker) with out->nrows 0.
 * Thread: the caller's only; it changes this process's environment, so
 * no other thread may start processes or read the environment meanwhile. */
actors_err persist_bench_run(
    const persist_bench_opts_t *opts, persist_bench_result_t *out);

#endif
