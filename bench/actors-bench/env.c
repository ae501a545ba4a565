/* bench/actors-bench/env.c - the processes behind each system under test.
 * SPDX-License-Identifier: MIT
 *
 * ours:   actors-broker + chaos actors bench/echo/<i>
 * raw:    actors-rawbroker + raw workers (this program, --worker --connect)
 * direct: raw workers bound to their own endpoint (--worker --bind)
 * A worker counts as ready once a call to it got a good reply.
 *
 * Workers are started all at once (posix_spawn, nothing waited for), then
 * pinged together through one connection (the driver's ready), round after
 * round, until every one answered or a deadline that grows with their
 * number passed: 1000 actors on 2 CPUs start in seconds, not minutes.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <string.h>

#include "../../services/chaos/chaos.h"
#include "bench.h"

#define EP_LEN 256
#define READY_BASE_MS 15000    /* deadline for the first worker ... */
#define READY_PER_WORKER_MS 30 /* ... plus this for each one more */
#define READY_ROUND_MS 200     /* one round of pings waits this long */
#define READY_PAUSE_MS 20      /* between rounds */

struct bench_env {
    const bench_driver_t *d;   /* the system */
    bench_env_opts_t opts;     /* as given */
    char endpoint[EP_LEN];     /* broker endpoint (not direct) */
    int broker_pid;            /* -1: none */
    int nworkers;              /* started (ready ones unless an error said) */
    int cap;                   /* slots in worker_pid and worker_ep */
    int forked;                /* workers forked rather than exec'd */
    int *worker_pid;           /* their processes; -1 once gone */
    char (*worker_ep)[EP_LEN]; /* direct: where each listens */
};

static bool
s_is(const bench_env_t *self, const char *name)
{
    return strcmp(self->d->name, name) == 0;
}

/* s_bind_ep gives the endpoint to bind for a process named tag. */
static void
s_bind_ep(const bench_env_t *self, const char *tag, char *out, size_t cap)
{
    if (strcmp(self->opts.transport, "ipc") == 0) {
        snprintf(out, cap, "ipc://%s/%s-%s.ipc", self->opts.tmp_dir,
            self->d->name, tag);
    } else {
        snprintf(out, cap, "tcp://127.0.0.1:*");
    }
}

static void
s_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* s_ready pings workers [first, n) until each answered well or
 * timeout_ms passes, and fails at once if one of them exited. */
static actors_err
s_ready(bench_env_t *self, int first, int n, int timeout_ms)
{
    uint64_t deadline = bench_now_ns() + (uint64_t)timeout_ms * 1000000u;
    bool *ready = calloc((size_t)n, sizeof *ready);
    if (!ready) {
        return ACTORS_ENOMEM;
    }
    for (int i = 0; i < first; i++) {
        ready[i] = true;
    }
    bench_conn_t *c = NULL;
    actors_err rc = self->d->open(self, &c);
    int left = n - first;
    while (rc == ACTORS_OK && left > 0) {
        rc = self->d->ready(c, n, ready, READY_ROUND_MS);
        left = 0;
        for (int i = first; i < n && rc == ACTORS_OK; i++) {
            if (ready[i]) {
                continue;
            }
            left++;
            if (!bench_proc_alive(self->worker_pid[i])) {
                fprintf(stderr, "actors-bench: %s worker %d exited\n",
                    self->d->name, i);
                self->worker_pid[i] = -1;
                rc = ACTORS_EIO;
            }
        }
        if (rc == ACTORS_OK && left > 0) {
            if (bench_now_ns() >= deadline) {
                fprintf(stderr, "actors-bench: %d of %d %s workers not ready\n",
                    left, n - first, self->d->name);
                rc = ACTORS_ETIMEDOUT;
            } else {
                s_sleep_ms(READY_PAUSE_MS);
            }
        }
    }
    self->d->close(&c);
    free(ready);
    return rc;
}

actors_err
bench_env_start(const bench_driver_t *d, const bench_env_opts_t *opts,
    int nworkers, bench_env_t **out)
{
    *out = NULL;
    bench_env_t *self = calloc(1, sizeof *self);
    if (!self) {
        return ACTORS_ENOMEM;
    }
    self->d = d;
    self->opts = *opts;
    self->broker_pid = -1;
    if (!s_is(self, "direct")) {
        char path[EP_LEN];
        char bind[EP_LEN];
        snprintf(path, sizeof path, "%s/%s", opts->bin_dir,
            s_is(self, "ours") ? "actors-broker" : "actors-rawbroker");
        s_bind_ep(self, "broker", bind, sizeof bind);
        bool poll = opts->raw_poll && s_is(self, "raw");
        bool metrics = opts->metrics && s_is(self, "ours");
        char *argv[12] = {path, "--bind", bind, NULL};
        int an = 3;
        if (poll) {
            argv[an++] = "--poll";
        }
        if (opts->keys_dir != NULL && s_is(self, "ours")) {
            argv[an++] = "--keys"; /* CURVE (curve.c) */
            argv[an++] = (char *)opts->keys_dir;
            argv[an++] = "--key";
            argv[an++] = (char *)opts->key;
        }
        if (metrics) {
            argv[an++] = "--metrics-port";
            argv[an++] = "0";
        }
        actors_err rc = bench_proc_spawn(argv, self->endpoint,
            sizeof self->endpoint, 10000, !opts->verbose, &self->broker_pid);
        if (rc != ACTORS_OK) {
            free(self);
            return rc;
        }
    }
    actors_err rc = bench_env_workers(self, nworkers);
    if (rc != ACTORS_OK) {
        bench_env_stop(&self);
        return rc;
    }
    *out = self;
    return ACTORS_OK;
}

/* s_chaos_main is the chaos program's main, for workers forked from
 * this one: the same service and runtime as build/bin/chaos. */
static int
s_chaos_main(int argc, char **argv)
{
    return actors_service_main(&chaos_service, argc, argv);
}

/* s_run starts argv: forked from this program when it can (cheap, see
 * bench_proc_fork) with fn as its main and argv from argv[skip], else by
 * exec of argv[0]. */
static actors_err
s_run(bench_env_t *self, bench_main_fn fn, char **argv, int argc, int skip,
    int *fd, int *pid)
{
    bool quiet = !self->opts.verbose;
    actors_err rc =
        bench_proc_fork(fn, argc - skip, argv + skip, quiet, fd, pid);
    if (rc == ACTORS_EAGAIN) {
        rc = bench_proc_start(argv, quiet, fd, pid);
    } else {
        self->forked++;
    }
    return rc;
}

/* s_spawn_worker starts worker number i and does not wait for it. Direct
 * workers leave their stdout pipe in *fd for their ENDPOINT line. */
static actors_err
s_spawn_worker(bench_env_t *self, int i, int *fd)
{
    char tag[32];
    snprintf(tag, sizeof tag, "w%d", i);
    int *pid = &self->worker_pid[i];
    if (s_is(self, "ours")) {
        char path[EP_LEN];
        char address[64];
        char prefetch[16];
        snprintf(path, sizeof path, "%s/chaos", self->opts.bin_dir);
        snprintf(address, sizeof address, "bench/echo/%d", i);
        snprintf(prefetch, sizeof prefetch, "%d", self->opts.prefetch);
        char *argv[] = {path, "--broker", self->endpoint, "--address", address,
            "--prefetch", prefetch, NULL};
        return s_run(self, s_chaos_main, argv, 7, 0, NULL, pid);
    }
    char *exe = (char *)self->opts.self_exe;
    if (s_is(self, "raw")) {
        char *argv[] = {
            exe, "--worker", "--connect", self->endpoint, "--id", tag, NULL};
        return s_run(self, bench_worker_main, argv, 6, 2, NULL, pid);
    }
    char bind[EP_LEN];
    s_bind_ep(self, tag, bind, sizeof bind);
    char *argv[] = {exe, "--worker", "--bind", bind, NULL};
    return s_run(self, bench_worker_main, argv, 4, 2, fd, pid);
}

/* s_grow makes room for n workers. */
static actors_err
s_grow(bench_env_t *self, int n)
{
    if (n <= self->cap) {
        return ACTORS_OK;
    }
    int cap = self->cap ? self->cap : 16;
    while (cap < n) {
        cap *= 2;
    }
    int *pids = realloc(self->worker_pid, (size_t)cap * sizeof *pids);
    if (!pids) {
        return ACTORS_ENOMEM;
    }
    self->worker_pid = pids;
    if (s_is(self, "direct")) {
        char(*eps)[EP_LEN] =
            realloc(self->worker_ep, (size_t)cap * sizeof *eps);
        if (!eps) {
            return ACTORS_ENOMEM;
        }
        self->worker_ep = eps;
    }
    self->cap = cap;
    return ACTORS_OK;
}

actors_err
bench_env_workers(bench_env_t *self, int n)
{
    if (n > BENCH_MAX_WORKERS) {
        return ACTORS_EINVAL;
    }
    int first = self->nworkers;
    if (n <= first) {
        return ACTORS_OK;
    }
    if (s_grow(self, n) != ACTORS_OK) {
        return ACTORS_ENOMEM;
    }
    int *fds = NULL;
    if (s_is(self, "direct")) {
        fds = malloc((size_t)n * sizeof *fds);
        if (!fds) {
            return ACTORS_ENOMEM;
        }
    }
    actors_err rc = ACTORS_OK;
    for (int i = first; i < n && rc == ACTORS_OK; i++) {
        self->worker_pid[i] = -1;
        rc = s_spawn_worker(self, i, fds ? &fds[i] : NULL);
        self->nworkers = i + 1; /* bench_env_stop stops it, if started */
    }
    int timeout_ms = READY_BASE_MS + READY_PER_WORKER_MS * (n - first - 1);
    uint64_t deadline = bench_now_ns() + (uint64_t)timeout_ms * 1000000u;
    for (int i = first; fds && i < self->nworkers; i++) {
        if (rc == ACTORS_OK && self->worker_pid[i] > 0) {
            uint64_t now = bench_now_ns();
            int left = now < deadline ? (int)((deadline - now) / 1000000u) : 0;
            rc = bench_proc_read_endpoint(
                fds[i], self->worker_ep[i], EP_LEN, left);
            if (rc != ACTORS_OK) {
                fprintf(stderr,
                    "actors-bench: direct worker %d printed no "
                    "ENDPOINT line\n",
                    i);
            }
        }
        /* Left open on success: see bench_proc_read_endpoint. */
        if (rc != ACTORS_OK && self->worker_pid[i] > 0) {
            close(fds[i]);
        }
    }
    free(fds);
    if (rc == ACTORS_OK) {
        rc = s_ready(self, first, n, timeout_ms);
    }
    if (rc != ACTORS_OK) {
        fprintf(stderr, "actors-bench: %s: %d workers not started: %s\n",
            self->d->name, n, actors_err_name(rc));
    } else if (self->opts.verbose) {
        fprintf(stderr, "actors-bench: %s: %d workers ready, %d forked\n",
            self->d->name, n, self->forked);
    }
    return rc;
}

void
bench_env_stop(bench_env_t **self_p)
{
    bench_env_t *self = *self_p;
    if (!self) {
        return;
    }
    /* Workers first, all at once, so the broker sees them go. */
    bench_proc_stop_all(self->worker_pid, self->nworkers);
    bench_proc_stop(self->broker_pid);
    free(self->worker_pid);
    free(self->worker_ep);
    free(self);
    *self_p = NULL;
}

void
bench_env_cpu_ns(const bench_env_t *self, uint64_t out[BENCH_CPU_N])
{
    out[BENCH_CPU_CLIENT] = bench_proc_cpu_ns(0);
    out[BENCH_CPU_BROKER] =
        self->broker_pid > 0 ? bench_proc_cpu_ns(self->broker_pid) : 0;
    out[BENCH_CPU_WORKERS] = 0;
    for (int i = 0; i < self->nworkers; i++) {
        if (self->worker_pid[i] > 0) {
            out[BENCH_CPU_WORKERS] += bench_proc_cpu_ns(self->worker_pid[i]);
        }
    }
}

const char *
bench_env_endpoint(const bench_env_t *self)
{
    return self->endpoint;
}

int
bench_env_broker_pid(const bench_env_t *self)
{
    return self->broker_pid;
}

const char *
bench_env_worker_endpoint(const bench_env_t *self, int i)
{
    return self->worker_ep[i];
}

int
bench_env_nworkers(const bench_env_t *self)
{
    return self->nworkers;
}
