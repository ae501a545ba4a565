/* bench/actors-bench/env.c - the processes behind each system under test.
 * SPDX-License-Identifier: MIT
 *
 * ours:   actors-broker + chaos actors bench/echo/<i>
 * raw:    actors-rawbroker + raw workers (this program, --worker --connect)
 * direct: raw workers bound to their own endpoint (--worker --bind)
 * A worker counts as ready once a call to it got a good reply.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>

#include "bench.h"

#define MAX_WORKERS 64
#define EP_LEN 256

struct bench_env {
    const bench_driver_t *d;             /* the system */
    bench_env_opts_t opts;               /* as given */
    char endpoint[EP_LEN];               /* broker endpoint (not direct) */
    int broker_pid;                      /* -1: none */
    int nworkers;                        /* running and ready */
    int worker_pid[MAX_WORKERS];         /* their processes */
    char worker_ep[MAX_WORKERS][EP_LEN]; /* direct: where each listens */
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

/* s_ready calls worker i until it answers well or timeout_ms passes. */
static actors_err
s_ready(bench_env_t *self, int i, int timeout_ms)
{
    uint64_t deadline = bench_now_ns() + (uint64_t)timeout_ms * 1000000u;
    bench_conn_t *c = NULL;
    actors_err rc = self->d->open(self, &c);
    if (rc != ACTORS_OK) {
        return rc;
    }
    rc = ACTORS_ETIMEDOUT;
    while (bench_now_ns() < deadline) {
        long before = self->d->errors(c);
        if (self->d->call(c, i, "ping", 4) != ACTORS_OK) {
            rc = ACTORS_EIO;
            break;
        }
        int n = 0;
        if (self->d->recv(c, 200, &n) == ACTORS_OK &&
            self->d->errors(c) == before) {
            rc = ACTORS_OK;
            break;
        }
        struct timespec ts = {0, 20000000};
        nanosleep(&ts, NULL);
    }
    self->d->close(&c);
    return rc;
}

actors_err
bench_env_start(
    const bench_driver_t *d, const bench_env_opts_t *opts, bench_env_t **out)
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
        char *argv[] = {path, "--bind", bind, poll ? "--poll" : NULL, NULL};
        actors_err rc = bench_proc_spawn(argv, self->endpoint,
            sizeof self->endpoint, 10000, !opts->verbose, &self->broker_pid);
        if (rc != ACTORS_OK) {
            free(self);
            return rc;
        }
    }
    actors_err rc = bench_env_workers(self, 1);
    if (rc != ACTORS_OK) {
        bench_env_stop(&self);
        return rc;
    }
    *out = self;
    return ACTORS_OK;
}

/* s_spawn_worker starts worker number i (not yet checked ready). */
static actors_err
s_spawn_worker(bench_env_t *self, int i)
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
        return bench_proc_spawn(argv, NULL, 0, 0, !self->opts.verbose, pid);
    }
    char *exe = (char *)self->opts.self_exe;
    if (s_is(self, "raw")) {
        char *argv[] = {
            exe, "--worker", "--connect", self->endpoint, "--id", tag, NULL};
        return bench_proc_spawn(argv, NULL, 0, 0, !self->opts.verbose, pid);
    }
    char bind[EP_LEN];
    s_bind_ep(self, tag, bind, sizeof bind);
    char *argv[] = {exe, "--worker", "--bind", bind, NULL};
    return bench_proc_spawn(
        argv, self->worker_ep[i], EP_LEN, 10000, !self->opts.verbose, pid);
}

actors_err
bench_env_workers(bench_env_t *self, int n)
{
    if (n > MAX_WORKERS) {
        return ACTORS_EINVAL;
    }
    int first = self->nworkers;
    for (int i = first; i < n; i++) {
        actors_err rc = s_spawn_worker(self, i);
        if (rc != ACTORS_OK) {
            self->nworkers = i;
            return rc;
        }
    }
    self->nworkers = n;
    for (int i = first; i < n; i++) {
        actors_err rc = s_ready(self, i, 15000);
        if (rc != ACTORS_OK) {
            fprintf(stderr, "actors-bench: %s worker %d not ready: %s\n",
                self->d->name, i, actors_err_name(rc));
            return rc;
        }
    }
    return ACTORS_OK;
}

void
bench_env_stop(bench_env_t **self_p)
{
    bench_env_t *self = *self_p;
    if (!self) {
        return;
    }
    /* SIGTERM to all first, so 64 workers exit in parallel. */
    for (int i = 0; i < self->nworkers; i++) {
        if (self->worker_pid[i] > 0) {
            kill((pid_t)self->worker_pid[i], SIGTERM);
        }
    }
    for (int i = 0; i < self->nworkers; i++) {
        bench_proc_stop(self->worker_pid[i]);
    }
    bench_proc_stop(self->broker_pid);
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
        out[BENCH_CPU_WORKERS] += bench_proc_cpu_ns(self->worker_pid[i]);
    }
}

const char *
bench_env_endpoint(const bench_env_t *self)
{
    return self->endpoint;
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
