/* bench/actors-persist-bench/main.c - persisted calls per second, per
 * durability policy and backend (issue #6).
 * SPDX-License-Identifier: MIT
 *
 *   actors-persist-bench [--seconds S] [--window W] [--baseline BIN_DIR]
 *                        [--json]
 *
 * Prints the rows of bench/persist (persist_bench.h): acknowledged
 * deposits per second on the account service for the in-memory account
 * and for file and Redis (if a redis-server is on PATH) under the
 * policies always, group:2 and none, W deposits in flight (64 by default,
 * the actor's prefetch) for S seconds each (default 1). actors-bench
 * reports the same rows as its persist_* figures. Binaries are taken from
 * the directory of this executable. --baseline measures the account of
 * another build (BIN_DIR/account, e.g. one built from an older commit)
 * beside it in the same run, row by row (column "baseline", and "ratio"
 * = ours / baseline). The Redis rows are followed by redis-benchmark -t
 * rpush -c 1, plain and pipelined 16 deep, on the same server, and the
 * ratio of the Redis group row to the pipelined figure.
 */
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../persist/persist_bench.h"

int
main(int argc, char **argv)
{
    static char bin[PATH_MAX];
    persist_bench_opts_t o = {
        .bin_dir = bin, .seconds = 1, .window = PERSIST_BENCH_WINDOW};
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            o.seconds = atof(argv[++i]);
        } else if (strcmp(argv[i], "--window") == 0 && i + 1 < argc) {
            o.window = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--baseline") == 0 && i + 1 < argc) {
            o.base_dir = argv[++i];
        } else if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else {
            fprintf(stderr,
                "usage: actors-persist-bench [--seconds S] [--window W] "
                "[--baseline BIN_DIR] [--json]\n");
            return 2;
        }
    }
    if (o.seconds <= 0 || o.window <= 0 || o.window > 4096) {
        fprintf(stderr, "actors-persist-bench: bad --seconds or --window\n");
        return 2;
    }
    ssize_t n = readlink("/proc/self/exe", bin, sizeof bin - 1);
    if (n <= 0) {
        return 1;
    }
    bin[n] = '\0';
    *strrchr(bin, '/') = '\0';
    persist_bench_result_t r;
    if (persist_bench_run(&o, &r) != ACTORS_OK) {
        fprintf(stderr, "actors-persist-bench: cannot start the broker\n");
        return 1;
    }
    if (r.note[0]) {
        fprintf(stderr, "actors-persist-bench: %s\n", r.note);
    }
    bool base = o.base_dir != NULL;
    if (!json) {
        printf("persisted deposits/s (window %d, %.1f s each)\n", o.window,
            o.seconds);
        printf("%-8s %-10s %12s%s\n", "backend", "policy", "calls/s",
            base ? "     baseline  ratio" : "");
    } else {
        printf("{\"rows\":[");
    }
    double group = 0;
    for (int i = 0; i < r.nrows; i++) {
        const persist_bench_row_t *row = &r.rows[i];
        if (strcmp(row->slug, "redis_group") == 0) {
            group = row->calls_per_s;
        }
        double ratio = base && row->base_calls_per_s > 0
                           ? row->calls_per_s / row->base_calls_per_s
                           : 0;
        if (json) {
            printf("%s{\"backend\":\"%s\",\"policy\":\"%s\","
                   "\"calls_per_s\":%.0f,\"baseline_calls_per_s\":%.0f}",
                i ? "," : "", row->backend, row->policy, row->calls_per_s,
                row->base_calls_per_s);
        } else if (base) {
            printf("%-8s %-10s %12.0f %12.0f %6.2f\n", row->backend,
                row->policy, row->calls_per_s, row->base_calls_per_s, ratio);
        } else {
            printf("%-8s %-10s %12.0f\n", row->backend, row->policy,
                row->calls_per_s);
        }
    }
    if (json) {
        printf("],\"redis_benchmark_rpush\":%.0f,"
               "\"redis_benchmark_rpush_p16\":%.0f}\n",
            r.redis_rpush, r.redis_rpush_p16);
    } else if (r.redis_rpush_p16 > 0) {
        printf("redis-benchmark -t rpush -c 1: %.0f/s, -P 16: %.0f/s; "
               "redis group / pipelined = %.2f\n",
            r.redis_rpush, r.redis_rpush_p16, group / r.redis_rpush_p16);
    }
    return 0;
}
