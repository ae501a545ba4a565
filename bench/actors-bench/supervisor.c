/* bench/actors-bench/supervisor.c - the supervisor figures (ours only).
 * SPDX-License-Identifier: MIT
 *
 * A fresh broker and an actors-supervisor (node "bench") with a config
 * running one chaos actor, bench/sup/restart, that restarts forever and
 * at once (healthy_ms = 0: every run counts as healthy, so the policy's
 * backoff never starts). Then:
 *   - restart: get the actor's pid (chaos pid()), SIGKILL it, call pid()
 *     again and again (short deadline each, pauses of 0.5 ms) until a reply
 *     with another pid arrives; the time from the kill to that reply, over
 *     `kills` kills;
 *   - spawn: `nspawn` detached, named chaos actors through
 *     actors_client_spawn, all futures sent at once; the time until the
 *     last resolved (each resolves once its actor registered);
 *   - memory: Private_Clean + Private_Dirty of /proc/PID/smaps_rollup of
 *     each spawned (idle) actor; the median.
 * The raw broker has no supervisor: these figures have no raw column.
 */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <actors/client.h>
#include <actors/future.h>
#include <actors/msg.h>

#include "bench.h"

#define S_ADDR "bench/sup/restart"
#define S_MAX_SPAWN 256
#define S_WAIT_MS 15000

static void
s_pause_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

/* s_call_pid calls pid() on address with a deadline of timeout_ms; 0 if
 * the call failed or timed out. */
static int64_t
s_call_pid(actors_client_t *c, const char *address, int timeout_ms)
{
    actors_call_opts_t opts = ACTORS_CALL_OPTS_INIT;
    opts.timeout_ms = (uint32_t)timeout_ms;
    actors_future_t *f = NULL;
    if (actors_client_call(c, address, "pid", NULL, &opts, &f) != ACTORS_OK) {
        return 0;
    }
    const msgpack_object *r = NULL;
    int64_t pid = 0;
    if (actors_future_get(f, timeout_ms + 50, &r) == ACTORS_OK) {
        if (actors_value_int(r, &pid) != ACTORS_OK) {
            pid = 0;
        }
    }
    actors_future_destroy(&f);
    return pid;
}

/* s_wait_pid calls pid() until address answers with a pid other than
 * not_pid (0: any) or deadline_ns passes; returns it, or 0. */
static int64_t
s_wait_pid(actors_client_t *c, const char *address, int64_t not_pid,
    uint64_t deadline_ns)
{
    while (bench_now_ns() < deadline_ns) {
        int64_t pid = s_call_pid(c, address, 100);
        if (pid > 0 && pid != not_pid) {
            return pid;
        }
        s_pause_us(500);
    }
    return 0;
}

/* s_private_kib reads Private_Clean + Private_Dirty of pid in KiB; -1 if
 * it cannot. */
static double
s_private_kib(int64_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%lld/smaps_rollup", (long long)pid);
    FILE *fp = fopen(path, "r");
    if (!fp) {
        return -1;
    }
    char line[256];
    long total = 0;
    int seen = 0;
    while (fgets(line, sizeof line, fp)) {
        long kb = 0;
        if (sscanf(line, "Private_Clean: %ld kB", &kb) == 1 ||
            sscanf(line, "Private_Dirty: %ld kB", &kb) == 1) {
            total += kb;
            seen++;
        }
    }
    fclose(fp);
    return seen == 2 ? (double)total : -1;
}

static int
s_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;
    return (x > y) - (x < y);
}

/* s_restarts measures kills restarts of S_ADDR into out. */
static actors_err
s_restarts(actors_client_t *c, int kills, bench_samples_t *out)
{
    int64_t pid =
        s_wait_pid(c, S_ADDR, 0, bench_now_ns() + S_WAIT_MS * 1000000ull);
    if (pid <= 0) {
        fprintf(stderr, "actors-bench: %s never answered\n", S_ADDR);
        return ACTORS_ETIMEDOUT;
    }
    for (int i = 0; i < kills; i++) {
        uint64_t t0 = bench_now_ns();
        if (kill((pid_t)pid, SIGKILL) != 0) {
            return ACTORS_EIO;
        }
        int64_t next = s_wait_pid(c, S_ADDR, pid, t0 + S_WAIT_MS * 1000000ull);
        uint64_t t1 = bench_now_ns();
        if (next <= 0) {
            fprintf(
                stderr, "actors-bench: %s not back after kill %d\n", S_ADDR, i);
            return ACTORS_ETIMEDOUT;
        }
        actors_err rc = bench_samples_add(out, t1 - t0);
        if (rc != ACTORS_OK) {
            return rc;
        }
        pid = next;
    }
    return ACTORS_OK;
}

/* s_spawn_one spawns chaos at name; *out is the caller's future. */
static actors_err
s_spawn_one(actors_client_t *c, const char *name, actors_future_t **out)
{
    actors_spawn_opts_t o = ACTORS_SPAWN_OPTS_INIT;
    o.service = "chaos";
    o.name = name;
    o.detached = true;
    o.timeout_ms = S_WAIT_MS;
    return actors_client_spawn(c, &o, out);
}

/* s_spawn_pid is the pid in a resolved spawn future, or 0. */
static int64_t
s_spawn_pid(const actors_future_t *f)
{
    const msgpack_object *r = actors_future_result(f);
    int64_t pid = 0;
    if (r == NULL ||
        actors_value_int(actors_map_get(r, "pid"), &pid) != ACTORS_OK) {
        return 0;
    }
    return pid;
}

/* s_spawns measures nspawn pipelined spawns, then the idle memory. */
static actors_err
s_spawns(actors_client_t *c, int nspawn, bench_sup_result_t *res)
{
    /* A pilot spawn, retried until the node is known to the broker. */
    uint64_t deadline = bench_now_ns() + S_WAIT_MS * 1000000ull;
    for (;;) {
        actors_future_t *f = NULL;
        actors_err rc = s_spawn_one(c, "bench/sup/pilot", &f);
        if (rc == ACTORS_OK) {
            rc = actors_future_get(f, S_WAIT_MS, NULL);
        }
        actors_future_destroy(&f);
        if (rc == ACTORS_OK) {
            break;
        }
        if (bench_now_ns() > deadline) {
            fprintf(stderr, "actors-bench: pilot spawn failed: %s\n",
                actors_err_name(rc));
            return rc;
        }
        s_pause_us(20000);
    }
    actors_future_t *fs[S_MAX_SPAWN] = {NULL};
    actors_err rc = ACTORS_OK;
    uint64_t t0 = bench_now_ns();
    for (int i = 0; i < nspawn && rc == ACTORS_OK; i++) {
        char name[64];
        snprintf(name, sizeof name, "bench/sup/spawn/%d", i);
        rc = s_spawn_one(c, name, &fs[i]);
    }
    if (rc == ACTORS_OK) {
        rc = actors_future_wait_all(fs, (size_t)nspawn, 2 * S_WAIT_MS);
    }
    uint64_t t1 = bench_now_ns();
    int ok = 0;
    double kib[S_MAX_SPAWN];
    int nkib = 0;
    for (int i = 0; i < nspawn; i++) {
        int64_t pid = fs[i] ? s_spawn_pid(fs[i]) : 0;
        if (pid > 0) {
            ok++;
            double k = s_private_kib(pid);
            if (k >= 0) {
                kib[nkib++] = k;
            }
            if (i == 0 && getenv("ACTORS_BENCH_SMAPS")) {
                /* for docs/BENCHMARKS.md: where an idle actor's memory is */
                char cmd[128];
                snprintf(cmd, sizeof cmd, "cat /proc/%lld/smaps >&2",
                    (long long)pid);
                if (system(cmd) != 0) {
                    fprintf(stderr, "actors-bench: no smaps\n");
                }
            }
        }
        actors_future_destroy(&fs[i]);
    }
    if (rc == ACTORS_OK && ok == nspawn) {
        res->spawn_per_s = (double)nspawn / ((double)(t1 - t0) / 1e9);
    } else {
        fprintf(stderr, "actors-bench: %d of %d spawns succeeded (%s)\n", ok,
            nspawn, actors_err_name(rc));
    }
    if (nkib > 0) {
        qsort(kib, (size_t)nkib, sizeof *kib, s_cmp_double);
        res->idle_private_kib =
            nkib % 2 ? kib[nkib / 2] : (kib[nkib / 2 - 1] + kib[nkib / 2]) / 2;
    }
    /* Kill them (no restart) so the supervisor's stop is quick. */
    for (int i = 0; i < nspawn; i++) {
        char name[64];
        snprintf(name, sizeof name, "bench/sup/spawn/%d", i);
        if (actors_client_kill(c, name, false, &fs[i]) != ACTORS_OK) {
            fs[i] = NULL;
        }
    }
    actors_future_wait_all(fs, (size_t)nspawn, S_WAIT_MS);
    for (int i = 0; i < nspawn; i++) {
        actors_future_destroy(&fs[i]);
    }
    return rc;
}

/* s_write_config writes the node's config to path. */
static actors_err
s_write_config(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        return ACTORS_EIO;
    }
    fprintf(f, "supervisor\n"
               "    node = bench\n"
               "actor\n"
               "    restart\n"
               "        service = chaos\n"
               "        address = " S_ADDR "\n"
               "        policy\n"
               "            max_restarts = -1\n"
               "            intensity = 0\n"
               "            backoff_base_ms = 0\n"
               "            backoff_jitter = 0\n"
               "            healthy_ms = 0\n");
    return fclose(f) == 0 ? ACTORS_OK : ACTORS_EIO;
}

bench_sup_result_t
bench_run_supervisor(const bench_sup_opts_t *o)
{
    bench_sup_result_t res = {.restart_p50_ms = -1,
        .restart_p99_ms = -1,
        .spawn_per_s = -1,
        .idle_private_kib = -1};
    char broker[PATH_MAX];
    char sup[PATH_MAX];
    char cfg[PATH_MAX];
    char bind[PATH_MAX];
    char endpoint[256];
    snprintf(broker, sizeof broker, "%s/actors-broker", o->bin_dir);
    snprintf(sup, sizeof sup, "%s/actors-supervisor", o->bin_dir);
    snprintf(cfg, sizeof cfg, "%s/supervisor.cfg", o->tmp_dir);
    if (strcmp(o->transport, "ipc") == 0) {
        snprintf(bind, sizeof bind, "ipc://%s/sup-broker.ipc", o->tmp_dir);
    } else {
        snprintf(bind, sizeof bind, "tcp://127.0.0.1:*");
    }
    if (access(sup, X_OK) != 0 || s_write_config(cfg) != ACTORS_OK) {
        fprintf(stderr, "actors-bench: no %s or cannot write %s\n", sup, cfg);
        return res;
    }
    int broker_pid = -1;
    int sup_pid = -1;
    char *bargv[] = {broker, "--bind", bind, NULL};
    if (bench_proc_spawn(bargv, endpoint, sizeof endpoint, 10000, !o->verbose,
            &broker_pid) != ACTORS_OK) {
        return res;
    }
    char *sargv[] = {
        sup, "--broker", endpoint, "--node", "bench", "--config", cfg, NULL};
    actors_client_t *c = NULL;
    bench_samples_t samples = {0};
    if (bench_proc_spawn(sargv, NULL, 0, 0, !o->verbose, &sup_pid) !=
            ACTORS_OK ||
        actors_client_create(&c, endpoint) != ACTORS_OK) {
        goto done;
    }
    if (s_restarts(c, o->kills, &samples) == ACTORS_OK && samples.n > 0) {
        bench_samples_sort(&samples);
        res.restart_p50_ms = bench_samples_pct(&samples, 50) / 1000.0;
        res.restart_p99_ms = bench_samples_pct(&samples, 99) / 1000.0;
    }
    s_spawns(c, o->nspawn < S_MAX_SPAWN ? o->nspawn : S_MAX_SPAWN, &res);
done:
    actors_client_destroy(&c);
    bench_samples_free(&samples);
    bench_proc_stop(sup_pid);
    bench_proc_stop(broker_pid);
    unlink(cfg);
    return res;
}
