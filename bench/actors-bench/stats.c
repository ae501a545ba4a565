/* bench/actors-bench/stats.c - clock and latency percentiles.
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <stdlib.h>
#include <time.h>

#include "bench.h"

uint64_t
bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

actors_err
bench_samples_add(bench_samples_t *s, uint64_t ns)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 4096;
        uint64_t *v = realloc(s->v, cap * sizeof *v);
        if (!v) {
            return ACTORS_ENOMEM;
        }
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = ns;
    return ACTORS_OK;
}

static int
s_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a;
    uint64_t y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

void
bench_samples_sort(bench_samples_t *s)
{
    if (s->n > 1) {
        qsort(s->v, s->n, sizeof *s->v, s_cmp);
    }
}

double
bench_samples_pct(const bench_samples_t *s, double p)
{
    if (s->n == 0) {
        return NAN;
    }
    /* nearest rank: the smallest value with at least p% at or below it */
    size_t rank = (size_t)ceil(p / 100.0 * (double)s->n);
    if (rank < 1) {
        rank = 1;
    }
    if (rank > s->n) {
        rank = s->n;
    }
    return (double)s->v[rank - 1] / 1000.0;
}

void
bench_samples_free(bench_samples_t *s)
{
    free(s->v);
    s->v = NULL;
    s->n = s->cap = 0;
}
