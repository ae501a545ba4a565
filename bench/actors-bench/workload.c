/* bench/actors-bench/workload.c - the workloads, once for every system.
 * SPDX-License-Identifier: MIT
 *
 * Every workload warms up for a tenth of its time (at least 0.1 s), then
 * counts what completes during p->seconds. Throughput is completions over
 * the measured time; work still outstanding at the end is drained and not
 * counted. Bytes in flight are capped (MAX_INFLIGHT_BYTES) so 4096 x 64 KiB
 * does not turn into a memory test.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#define MAX_INFLIGHT_BYTES (64u * 1024u * 1024u)
#define REPLY_WAIT_MS 10000 /* a reply slower than this is a failure */
#define TELL_BATCHES 4      /* tell batches in flight */

static bench_result_t
s_failed(void)
{
    bench_result_t r = {.ok = false,
        .per_s = NAN,
        .p50_us = NAN,
        .p99_us = NAN,
        .p999_us = NAN,
        .cpu_us = {NAN, NAN, NAN}};
    return r;
}

static uint64_t
s_warmup_ns(const bench_params_t *p)
{
    double w = p->seconds / 10.0;
    if (w < 0.1) {
        w = 0.1;
    }
    return (uint64_t)(w * 1e9);
}

static char *
s_payload(size_t len)
{
    char *buf = malloc(len ? len : 1);
    if (buf) {
        for (size_t i = 0; i < len; i++) {
            buf[i] = (char)('a' + i % 26);
        }
    }
    return buf;
}

/* s_drain waits for outstanding replies so the next workload starts
 * clean. */
static void
s_drain(const bench_driver_t *d, bench_conn_t *c, long outstanding)
{
    while (outstanding > 0) {
        int n = 0;
        if (d->recv(c, REPLY_WAIT_MS, &n) != ACTORS_OK) {
            return;
        }
        outstanding -= n;
    }
}

/* s_seq_loop makes sequential calls to target 0 until end_ns; records
 * latencies after warm_ns into samples (if any) and counts them. */
static actors_err
s_seq_loop(const bench_driver_t *d, bench_conn_t *c, const char *buf,
    size_t len, uint64_t warm_ns, uint64_t end_ns, bench_samples_t *samples,
    long *count)
{
    *count = 0;
    for (;;) {
        uint64_t t0 = bench_now_ns();
        if (t0 >= end_ns) {
            return ACTORS_OK;
        }
        actors_err rc = d->call(c, 0, buf, len);
        int n = 0;
        if (rc == ACTORS_OK) {
            rc = d->recv(c, REPLY_WAIT_MS, &n);
        }
        if (rc != ACTORS_OK) {
            return rc;
        }
        uint64_t t1 = bench_now_ns();
        if (t0 >= warm_ns) {
            (*count)++;
            if (samples && bench_samples_add(samples, t1 - t0) != ACTORS_OK) {
                return ACTORS_ENOMEM;
            }
        }
    }
}

bench_result_t
bench_run_seq(const bench_driver_t *d, void *env, const bench_params_t *p,
    bench_samples_t *samples)
{
    bench_samples_t own = {0};
    bench_samples_t *s = samples ? samples : &own;
    bench_conn_t *c = NULL;
    char *buf = s_payload(p->payload);
    if (!buf || d->open(env, &c) != ACTORS_OK) {
        free(buf);
        return s_failed();
    }
    uint64_t start = bench_now_ns();
    uint64_t warm = start + s_warmup_ns(p);
    uint64_t end = warm + (uint64_t)(p->seconds * 1e9);
    long count = 0;
    actors_err rc = s_seq_loop(d, c, buf, p->payload, warm, end, s, &count);
    bench_result_t r = s_failed();
    if (rc == ACTORS_OK && count > 0) {
        bench_samples_sort(s);
        r.ok = true;
        r.per_s = (double)count / p->seconds;
        r.p50_us = bench_samples_pct(s, 50.0);
        r.p99_us = bench_samples_pct(s, 99.0);
        r.p999_us = bench_samples_pct(s, 99.9);
    }
    r.errors = d->errors(c);
    d->close(&c);
    free(buf);
    bench_samples_free(&own);
    return r;
}

bench_result_t
bench_run_pipelined(const bench_driver_t *d, void *env, const bench_params_t *p,
    int window, int ntargets)
{
    if (p->payload > 0 && (size_t)window * p->payload > MAX_INFLIGHT_BYTES) {
        window = (int)(MAX_INFLIGHT_BYTES / p->payload);
    }
    bench_conn_t *c = NULL;
    char *buf = s_payload(p->payload);
    if (!buf || d->open(env, &c) != ACTORS_OK) {
        free(buf);
        return s_failed();
    }
    uint64_t start = bench_now_ns();
    uint64_t warm = start + s_warmup_ns(p);
    uint64_t end = warm + (uint64_t)(p->seconds * 1e9);
    long outstanding = 0;
    long done = 0;
    long done_at_warm = -1;
    long sent = 0;
    uint64_t t_warm = 0;
    uint64_t t_end = 0;
    uint64_t cpu_warm[BENCH_CPU_N] = {0};
    uint64_t cpu_end[BENCH_CPU_N] = {0};
    actors_err rc = ACTORS_OK;
    for (;;) {
        while (outstanding < window) {
            rc = d->call(c, (int)(sent % ntargets), buf, p->payload);
            if (rc != ACTORS_OK) {
                break;
            }
            sent++;
            outstanding++;
        }
        int n = 0;
        if (rc == ACTORS_OK) {
            rc = d->recv(c, REPLY_WAIT_MS, &n);
        }
        if (rc != ACTORS_OK) {
            break;
        }
        outstanding -= n;
        done += n;
        uint64_t now = bench_now_ns();
        if (done_at_warm < 0 && now >= warm) {
            done_at_warm = done;
            t_warm = now;
            if (p->cpu) {
                bench_env_cpu_ns(env, cpu_warm);
            }
        }
        if (now >= end) {
            t_end = now;
            if (p->cpu) {
                bench_env_cpu_ns(env, cpu_end);
            }
            break;
        }
    }
    bench_result_t r = s_failed();
    if (rc == ACTORS_OK && done_at_warm >= 0 && t_end > t_warm) {
        r.ok = true;
        long calls = done - done_at_warm;
        r.per_s = (double)calls / ((double)(t_end - t_warm) / 1e9);
        for (int k = 0; k < BENCH_CPU_N && p->cpu && calls > 0; k++) {
            r.cpu_us[k] =
                (double)(cpu_end[k] - cpu_warm[k]) / 1000.0 / (double)calls;
        }
        s_drain(d, c, outstanding);
    }
    r.errors = d->errors(c);
    d->close(&c);
    free(buf);
    return r;
}

bench_result_t
bench_run_tells(const bench_driver_t *d, void *env, const bench_params_t *p)
{
    size_t batch = 1000;
    if (p->payload > 0 && batch * p->payload > MAX_INFLIGHT_BYTES / 16) {
        batch = MAX_INFLIGHT_BYTES / 16 / p->payload;
    }
    if (batch < 16) {
        batch = 16;
    }
    bench_conn_t *c = NULL;
    char *buf = s_payload(p->payload);
    if (!buf || d->open(env, &c) != ACTORS_OK) {
        free(buf);
        return s_failed();
    }
    uint64_t start = bench_now_ns();
    uint64_t warm = start + s_warmup_ns(p);
    uint64_t end = warm + (uint64_t)(p->seconds * 1e9);
    long markers = 0; /* batches whose closing call is outstanding */
    long batches_done = 0;
    long done_at_warm = -1;
    uint64_t t_warm = 0;
    uint64_t t_end = 0;
    uint64_t cpu_warm[BENCH_CPU_N] = {0};
    uint64_t cpu_end[BENCH_CPU_N] = {0};
    actors_err rc = ACTORS_OK;
    for (;;) {
        while (markers < TELL_BATCHES && rc == ACTORS_OK) {
            for (size_t i = 0; i < batch && rc == ACTORS_OK; i++) {
                rc = d->tell(c, 0, buf, p->payload);
            }
            if (rc == ACTORS_OK) {
                rc = d->call(c, 0, "", 0);
            }
            markers++;
        }
        int n = 0;
        if (rc == ACTORS_OK) {
            rc = d->recv(c, REPLY_WAIT_MS, &n);
        }
        if (rc != ACTORS_OK) {
            break;
        }
        markers -= n;
        batches_done += n;
        uint64_t now = bench_now_ns();
        if (done_at_warm < 0 && now >= warm) {
            done_at_warm = batches_done;
            t_warm = now;
            if (p->cpu) {
                bench_env_cpu_ns(env, cpu_warm);
            }
        }
        if (now >= end) {
            t_end = now;
            if (p->cpu) {
                bench_env_cpu_ns(env, cpu_end);
            }
            break;
        }
    }
    bench_result_t r = s_failed();
    if (rc == ACTORS_OK && done_at_warm >= 0 && t_end > t_warm) {
        r.ok = true;
        double tells = (double)(batches_done - done_at_warm) * (double)batch;
        r.per_s = tells / ((double)(t_end - t_warm) / 1e9);
        for (int k = 0; k < BENCH_CPU_N && p->cpu && tells > 0; k++) {
            r.cpu_us[k] = (double)(cpu_end[k] - cpu_warm[k]) / 1000.0 / tells;
        }
        s_drain(d, c, markers);
    }
    r.errors = d->errors(c);
    d->close(&c);
    free(buf);
    return r;
}

/* One fan-in client thread. */
typedef struct {
    const bench_driver_t *d;
    void *env;
    const bench_params_t *p;
    pthread_barrier_t *barrier;
    uint64_t warm; /* set by the last thread through the barrier */
    uint64_t *warm_p;
    long count; /* calls completed in the measured time */
    long errors;
    actors_err rc;
} s_fanin_t;

static void *
s_fanin_thread(void *arg)
{
    s_fanin_t *t = arg;
    bench_conn_t *c = NULL;
    char *buf = s_payload(t->p->payload);
    t->rc = buf ? t->d->open(t->env, &c) : ACTORS_ENOMEM;
    /* Everyone waits for everyone, even after a failure. */
    int b = pthread_barrier_wait(t->barrier);
    if (b == PTHREAD_BARRIER_SERIAL_THREAD) {
        *t->warm_p = bench_now_ns() + s_warmup_ns(t->p);
    }
    pthread_barrier_wait(t->barrier);
    if (t->rc == ACTORS_OK) {
        uint64_t warm = *t->warm_p;
        uint64_t end = warm + (uint64_t)(t->p->seconds * 1e9);
        t->rc =
            s_seq_loop(t->d, c, buf, t->p->payload, warm, end, NULL, &t->count);
        t->errors = t->d->errors(c);
    }
    if (c) {
        t->d->close(&c);
    }
    free(buf);
    return NULL;
}

bench_result_t
bench_run_fanin(
    const bench_driver_t *d, void *env, const bench_params_t *p, int nclients)
{
    s_fanin_t *ts = calloc((size_t)nclients, sizeof *ts);
    pthread_t *tids = calloc((size_t)nclients, sizeof *tids);
    pthread_barrier_t barrier;
    uint64_t warm = 0;
    bench_result_t r = s_failed();
    if (!ts || !tids ||
        pthread_barrier_init(&barrier, NULL, (unsigned)nclients) != 0) {
        free(ts);
        free(tids);
        return r;
    }
    int started = 0;
    for (int i = 0; i < nclients; i++) {
        ts[i] = (s_fanin_t){
            .d = d, .env = env, .p = p, .barrier = &barrier, .warm_p = &warm};
        if (pthread_create(&tids[i], NULL, s_fanin_thread, &ts[i]) != 0) {
            break;
        }
        started++;
    }
    if (started < nclients) {
        /* Threads already started wait at the barrier forever; this only
         * happens when the system is out of threads: give up loudly. */
        fprintf(stderr, "actors-bench: cannot start threads\n");
        exit(1);
    }
    long total = 0;
    bool ok = true;
    for (int i = 0; i < nclients; i++) {
        pthread_join(tids[i], NULL);
        total += ts[i].count;
        r.errors += ts[i].errors;
        ok = ok && ts[i].rc == ACTORS_OK;
    }
    pthread_barrier_destroy(&barrier);
    if (ok && total > 0) {
        r.ok = true;
        r.per_s = (double)total / p->seconds;
    }
    free(ts);
    free(tids);
    return r;
}
