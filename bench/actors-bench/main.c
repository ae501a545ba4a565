/* bench/actors-bench/main.c - ours against the limit, in one run.
 * SPDX-License-Identifier: MIT
 *
 *   actors-bench [--quick] [--json] [--seconds S] [--rounds N] [--prefetch N]
 *                [--transports tcp,ipc] [--payloads 16,1024,65536,1048576]
 *                [--no-fan] [--samples-dir DIR] [--bin-dir DIR] [--verbose]
 *                [--persist-baseline BIN_DIR]
 *                [--systems ours,raw,direct] [--windows 1,16,256,4096]
 *                [--fanout 1,10,100,1000] [--idle-actors N] [--idle-seconds S]
 *                [--workloads seq,pipelined,tells,fan,idle,supervisor,group,
 *                             persist,metrics,conc,curve,pubsub]
 *   actors-bench --worker (--connect EP --id ID | --bind EP)
 *
 * For each transport it starts three systems (env.c): ours (actors-broker
 * + chaos), raw (actors-rawbroker + raw workers) and direct (raw workers,
 * no broker), then runs every workload on each, one system right after the
 * other so they see the same machine. Every figure is printed as ours, raw
 * broker, ratio (ours / raw), direct. With --json one JSON object goes to
 * stdout instead of the table (docs/BENCHMARKS.md describes both).
 *
 * The idle figures (idle.c: broker memory and descriptors per registered
 * actor, CPU of N idle actors) start brokers of their own, ours and raw
 * side by side, after the workloads of each transport.
 *
 * The supervisor figures (supervisor.c: restart to first reply, spawns/s,
 * an idle actor's private memory) come after them and are ours only.
 * Then the group figure (group.c): pipelined calls to a group of 4 members
 * ("ours") against the same 4 actors by their own addresses ("raw"
 * column), so its ratio is group / own addresses.
 * Last come the persisted figures (bench/persist, shared with
 * actors-persist-bench): deposits/s on the account service per backend and
 * durability policy; their "raw" is the in-memory account of that run, so
 * their ratio is persisted / in-memory. With --persist-baseline BIN_DIR
 * the account of another build is measured beside ours in the same run
 * (persist_*_baseline_calls_per_s). persist_redis_group_vs_rpush_p16 puts
 * the Redis group figure beside redis-benchmark -t rpush -c 1 -P 16 on the
 * same server (its "raw"; target ratio >= 0.3).
 * The curve figures (curve.c) run
 * ours over tcp with CURVE keys and without, in turns: their "raw" is
 * CURVE off, so their ratio is on / off. Then the events figures
 * (pubsub.c): our broker's fan-out against a raw XPUB/XSUB proxy.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <zmq.h>

#include <actors/security.h>

#include "../persist/persist_bench.h"
#include "bench.h"

#define NSYS 3
#define MAX_FIGURES 512
#define MAX_LIST 8
#define MAX_ROUNDS 16
/* The direct pair's client holds a DEALER per worker and polls them all
 * for every reply: beyond this many workers it measures zmq_poll, not a
 * limit for a broker, so bigger fan-outs show "-" for direct. */
#define DIRECT_FANOUT_MAX 100

enum { SYS_OURS, SYS_RAW, SYS_DIRECT };

static const bench_driver_t *const s_drivers[NSYS] = {
    &bench_ours_driver, &bench_raw_driver, &bench_direct_driver};

typedef struct {
    char name[96];    /* unique; tcp/16 B figures have the bare name */
    const char *unit; /* "us", "calls/s", "tells/s" */
    const char *transport;
    size_t payload;
    double v[NSYS];     /* NaN: not measured / failed */
    bool ours_only;     /* no raw or direct counterpart: shown as "-" */
    bool vs_memory;     /* persisted: v[SYS_RAW] is the in-memory account */
    bool vs_ideal;      /* conc: v[SYS_RAW] is the ideal time */
    bool vs_plain;      /* curve_*: v[SYS_RAW] is ours without CURVE */
    bool vs_own;        /* group: v[SYS_RAW] is 4 actors by own address */
    bool vs_off;        /* metrics: v[SYS_RAW] is ours with metrics off */
    bool vs_call;       /* pubsub_handler: v[SYS_RAW] is ours for a call */
    bool no_direct;     /* direct not measured on purpose: shown as "-" */
    const char *target; /* the goal, e.g. "<= 35"; NULL: none */
} s_figure_t;

typedef struct {
    bool quick;
    bool json;
    bool fan;
    bool verbose;
    bool raw_poll; /* --raw-poll: the raw broker in the real broker's loop */
    const char *persist_base; /* --persist-baseline: another build's bin */
    double seconds;
    int rounds; /* each figure: median of this many runs */
    int prefetch;
    const char *transports[MAX_LIST];
    int ntransports;
    size_t payloads[MAX_LIST];
    int npayloads;
    const char *samples_dir;
    char bin_dir[PATH_MAX];
    char self_exe[PATH_MAX];
    s_figure_t figures[MAX_FIGURES];
    int nfigures;
    long errors[NSYS];
    char failures[1024];   /* what could not run */
    bool sys_on[NSYS];     /* --systems */
    char workloads[128];   /* --workloads: ",seq,pipelined,tells,fan," */
    bool has_persist;      /* a vs_memory figure was added */
    bool has_conc;         /* a vs_ideal figure was added */
    bool has_curve;        /* a vs_plain figure was added */
    bool has_group;        /* a vs_own figure was added */
    bool has_metrics;      /* a vs_off figure was added */
    bool has_handler;      /* a vs_call figure was added */
    int windows[MAX_LIST]; /* --windows */
    int nwindows;
    int fanout[MAX_LIST]; /* --fanout, ascending */
    int nfanout;
    int idle_actors;     /* --idle-actors; 0: no idle figures */
    double idle_seconds; /* --idle-seconds */
} s_bench_t;

static const int s_windows[] = {1, 16, 256, 4096};

/* s_wants tells whether workload w (seq, pipelined, tells, fan) runs. */
static bool
s_wants(const s_bench_t *b, const char *w)
{
    char key[32];
    snprintf(key, sizeof key, ",%s,", w);
    return strstr(b->workloads, key) != NULL;
}
static const int s_fanin[] = {1, 2, 4, 8};
static const int s_fanout[] = {1, 10, 100, 1000};

/* s_figure finds or adds the figure base for transport/payload. */
static s_figure_t *
s_figure(s_bench_t *b, const char *base, const char *unit,
    const char *transport, size_t payload)
{
    char name[96];
    if (strcmp(transport, "tcp") == 0 && payload == 16) {
        snprintf(name, sizeof name, "%s", base);
    } else if (payload % (1024 * 1024) == 0) {
        snprintf(name, sizeof name, "%s@%s/%zuMiB", base, transport,
            payload / (1024 * 1024));
    } else if (payload % 1024 == 0) {
        snprintf(
            name, sizeof name, "%s@%s/%zuKiB", base, transport, payload / 1024);
    } else {
        snprintf(name, sizeof name, "%s@%s/%zuB", base, transport, payload);
    }
    for (int i = 0; i < b->nfigures; i++) {
        if (strcmp(b->figures[i].name, name) == 0) {
            return &b->figures[i];
        }
    }
    if (b->nfigures == MAX_FIGURES) {
        static s_figure_t sink;
        return &sink;
    }
    s_figure_t *f = &b->figures[b->nfigures++];
    snprintf(f->name, sizeof f->name, "%s", name);
    f->unit = unit;
    f->transport = transport;
    f->payload = payload;
    for (int s = 0; s < NSYS; s++) {
        f->v[s] = NAN;
    }
    return f;
}

static void
s_note_failure(s_bench_t *b, const char *what)
{
    size_t len = strlen(b->failures);
    if (len + strlen(what) + 3 < sizeof b->failures) {
        snprintf(b->failures + len, sizeof b->failures - len, "%s%s",
            len ? "; " : "", what);
    }
}

static void
s_progress(const s_bench_t *b, const char *sys, const char *what, double v)
{
    if (b->verbose) {
        fprintf(stderr, "actors-bench: %-6s %-34s %12.1f\n", sys, what, v);
    }
}

/* s_save_samples writes sorted latencies (us), one per line. */
static void
s_save_samples(const s_bench_t *b, const char *sys, const bench_samples_t *s)
{
    if (!b->samples_dir) {
        return;
    }
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/seq_%s.txt", b->samples_dir, sys);
    FILE *fp = fopen(path, "w");
    if (!fp) {
        return;
    }
    for (size_t i = 0; i < s->n; i++) {
        fprintf(fp, "%.3f\n", (double)s->v[i] / 1000.0);
    }
    fclose(fp);
}

/* The kinds of workload s_measure runs. */
typedef enum { S_SEQ, S_PIPELINED, S_TELLS, S_FANIN } s_kind_t;

static int
s_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;
    return (x > y) - (x < y);
}

/* s_median of the non-NaN values among v[0..n); NaN if none. */
static double
s_median(double *v, int n)
{
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (!isnan(v[i])) {
            v[k++] = v[i];
        }
    }
    if (k == 0) {
        return NAN;
    }
    qsort(v, (size_t)k, sizeof *v, s_cmp_double);
    return k % 2 ? v[k / 2] : (v[k / 2 - 1] + v[k / 2]) / 2;
}

/* s_median_ok is the median of the values >= 0 among v[0..n) (< 0: a
 * failed run), NaN if none; v is reordered. */
static double
s_median_ok(double *v, int n)
{
    for (int i = 0; i < n; i++) {
        if (v[i] < 0) {
            v[i] = NAN;
        }
    }
    return s_median(v, n);
}

/* s_measure runs one workload b->rounds times on every system, the
 * systems taking turns within each round so slow drift of a shared
 * machine hits them alike. Rates are the median over rounds; sequential
 * percentiles are over the pooled samples of all rounds (samples[s], which
 * the caller frees). */
static void
s_measure(s_bench_t *b, bench_env_t *envs[NSYS], const bench_params_t *p,
    s_kind_t kind, int arg, int ntargets, bench_result_t out[NSYS],
    bench_samples_t samples[NSYS])
{
    double rates[NSYS][MAX_ROUNDS];
    double cpu[NSYS][BENCH_CPU_N][MAX_ROUNDS];
    for (int s = 0; s < NSYS; s++) {
        out[s] = (bench_result_t){.ok = false,
            .per_s = NAN,
            .p50_us = NAN,
            .p99_us = NAN,
            .p999_us = NAN};
    }
    for (int r = 0; r < b->rounds; r++) {
        for (int s = 0; s < NSYS; s++) {
            rates[s][r] = NAN;
            for (int k = 0; k < BENCH_CPU_N; k++) {
                cpu[s][k][r] = NAN;
            }
            if (!envs[s]) {
                continue;
            }
            const bench_driver_t *d = s_drivers[s];
            bench_result_t res;
            switch (kind) {
            case S_SEQ:
                res = bench_run_seq(d, envs[s], p, &samples[s]);
                break;
            case S_PIPELINED:
                res = bench_run_pipelined(d, envs[s], p, arg, ntargets);
                break;
            case S_TELLS:
                res = bench_run_tells(d, envs[s], p);
                break;
            default:
                res = bench_run_fanin(d, envs[s], p, arg);
                break;
            }
            b->errors[s] += res.errors;
            if (res.ok) {
                rates[s][r] = res.per_s;
                for (int k = 0; k < BENCH_CPU_N && p->cpu; k++) {
                    cpu[s][k][r] = res.cpu_us[k];
                }
                out[s].ok = true;
                out[s].p50_us = res.p50_us; /* pooled so far */
                out[s].p99_us = res.p99_us;
                out[s].p999_us = res.p999_us;
            }
        }
    }
    for (int s = 0; s < NSYS; s++) {
        out[s].per_s = s_median(rates[s], b->rounds);
        for (int k = 0; k < BENCH_CPU_N; k++) {
            out[s].cpu_us[k] = s_median(cpu[s][k], b->rounds);
        }
    }
}

static void
s_run_payload(
    s_bench_t *b, bench_env_t *envs[NSYS], const char *tr, size_t payload)
{
    bench_params_t p = {.seconds = b->seconds, .payload = payload};
    bool main_cfg = strcmp(tr, "tcp") == 0 && payload == 16;
    bench_result_t r[NSYS];
    if (s_wants(b, "seq")) {
        bench_params_t ps = p;
        if (main_cfg && !b->quick) {
            ps.seconds = 2 * p.seconds; /* enough samples for p99.9 */
        }
        bench_samples_t samples[NSYS] = {{0}};
        s_measure(b, envs, &ps, S_SEQ, 0, 1, r, samples);
        for (int s = 0; s < NSYS; s++) {
            if (main_cfg) {
                s_save_samples(b, s_drivers[s]->name, &samples[s]);
            }
            bench_samples_free(&samples[s]);
            s_figure(b, "seq_p50_us", "us", tr, payload)->v[s] = r[s].p50_us;
            s_figure(b, "seq_p99_us", "us", tr, payload)->v[s] = r[s].p99_us;
            s_figure(b, "seq_p999_us", "us", tr, payload)->v[s] = r[s].p999_us;
            s_figure(b, "seq_calls_per_s", "calls/s", tr, payload)->v[s] =
                r[s].per_s;
            s_progress(b, s_drivers[s]->name, "seq_p50_us", r[s].p50_us);
        }
    }
    for (int w = 0; w < b->nwindows && s_wants(b, "pipelined"); w++) {
        int window = b->windows[w];
        if (payload != 16 && window != 256 && b->nwindows > 1) {
            continue; /* the window sweep is for 16 B only */
        }
        char base[64];
        snprintf(base, sizeof base, "pipelined_w%d_calls_per_s", window);
        bench_params_t pw = p;
        pw.cpu = window == 256 || window == 4096;
        s_measure(b, envs, &pw, S_PIPELINED, window, 1, r, NULL);
        for (int s = 0; s < NSYS; s++) {
            s_figure(b, base, "calls/s", tr, payload)->v[s] = r[s].per_s;
            if (window == 256) {
                s_figure(b, "pipelined_calls_per_s", "calls/s", tr, payload)
                    ->v[s] = r[s].per_s;
                /* CPU per call is steady on a busy machine where rates
                 * are not: the cost of each part of the path. */
                double *c = r[s].cpu_us;
                s_figure(b, "cpu_us_per_call", "us", tr, payload)->v[s] =
                    c[0] + c[1] + c[2];
                s_figure(b, "cpu_us_per_call_client", "us", tr, payload)->v[s] =
                    c[BENCH_CPU_CLIENT];
                s_figure(b, "cpu_us_per_call_broker", "us", tr, payload)->v[s] =
                    c[BENCH_CPU_BROKER];
                s_figure(b, "cpu_us_per_call_actor", "us", tr, payload)->v[s] =
                    c[BENCH_CPU_WORKERS];
            }
            if (window == 4096) {
                double *c = r[s].cpu_us;
                s_figure(b, "cpu_us_per_call_w4096_client", "us", tr, payload)
                    ->v[s] = c[BENCH_CPU_CLIENT];
                s_figure(b, "cpu_us_per_call_w4096_broker", "us", tr, payload)
                    ->v[s] = c[BENCH_CPU_BROKER];
                s_figure(b, "cpu_us_per_call_w4096_actor", "us", tr, payload)
                    ->v[s] = c[BENCH_CPU_WORKERS];
            }
            s_progress(b, s_drivers[s]->name, base, r[s].per_s);
        }
    }
    if (s_wants(b, "tells")) {
        bench_params_t pt = p;
        pt.cpu = true;
        s_measure(b, envs, &pt, S_TELLS, 0, 1, r, NULL);
        for (int s = 0; s < NSYS; s++) {
            s_figure(b, "tells_per_s", "tells/s", tr, payload)->v[s] =
                r[s].per_s;
            double *c = r[s].cpu_us;
            s_figure(b, "cpu_us_per_tell", "us", tr, payload)->v[s] =
                c[0] + c[1] + c[2];
            s_progress(b, s_drivers[s]->name, "tells_per_s", r[s].per_s);
        }
    }
}

static void
s_run_fan(s_bench_t *b, bench_env_t *envs[NSYS], const char *tr)
{
    bench_params_t p = {.seconds = b->seconds, .payload = 16};
    bench_result_t r[NSYS];
    for (size_t k = 0; k < sizeof s_fanin / sizeof *s_fanin; k++) {
        char base[64];
        snprintf(base, sizeof base, "fanin_%d_calls_per_s", s_fanin[k]);
        s_measure(b, envs, &p, S_FANIN, s_fanin[k], 1, r, NULL);
        for (int s = 0; s < NSYS; s++) {
            s_figure(b, base, "calls/s", tr, 16)->v[s] = r[s].per_s;
            s_progress(b, s_drivers[s]->name, base, r[s].per_s);
        }
    }
    for (int k = 0; k < b->nfanout; k++) {
        int n = b->fanout[k];
        char base[64];
        snprintf(base, sizeof base, "fanout_%d_calls_per_s", n);
        bench_env_t *ready[NSYS] = {NULL};
        for (int s = 0; s < NSYS; s++) {
            if (!envs[s] || (s == SYS_DIRECT && n > DIRECT_FANOUT_MAX)) {
                continue;
            }
            uint64_t t0 = bench_now_ns();
            if (bench_env_workers(envs[s], n) != ACTORS_OK) {
                char what[96];
                snprintf(what, sizeof what, "%s: cannot start %d workers",
                    s_drivers[s]->name, n);
                s_note_failure(b, what);
                continue;
            }
            s_progress(b, s_drivers[s]->name, "workers started in s",
                (double)(bench_now_ns() - t0) / 1e9);
            ready[s] = envs[s];
        }
        s_measure(b, ready, &p, S_PIPELINED, 256, n, r, NULL);
        for (int s = 0; s < NSYS; s++) {
            s_figure_t *f = s_figure(b, base, "calls/s", tr, 16);
            f->v[s] = r[s].per_s;
            f->no_direct = n > DIRECT_FANOUT_MAX;
            s_progress(b, s_drivers[s]->name, base, r[s].per_s);
        }
    }
}

/* s_idle_figure records one idle figure for ours and raw. */
static void
s_idle_figure(s_bench_t *b, const char *tr, const char *what, const char *unit,
    const char *target, double ours, double raw)
{
    char base[64];
    snprintf(base, sizeof base, "idle_%d_%s", b->idle_actors, what);
    s_figure_t *f = s_figure(b, base, unit, tr, 16);
    f->v[SYS_OURS] = ours;
    f->v[SYS_RAW] = raw;
    f->no_direct = true;
    f->target = target;
    s_progress(b, "ours", base, ours);
    s_progress(b, "raw", base, raw);
}

/* s_run_idle measures what idle registered actors cost (idle.c), ours and
 * raw side by side, with brokers of their own. The targets are the
 * issue's: at most 35 KiB of broker memory and one descriptor per actor,
 * at most 3 % of one vCPU for broker and 1000 actors together. */
static void
s_run_idle(s_bench_t *b, const bench_env_opts_t *opts, const char *tr)
{
    if (b->quick || b->idle_actors <= 0 || !s_wants(b, "idle")) {
        return;
    }
    const bench_driver_t *d[2] = {
        b->sys_on[SYS_OURS] ? s_drivers[SYS_OURS] : NULL,
        b->sys_on[SYS_RAW] ? s_drivers[SYS_RAW] : NULL};
    bench_idle_result_t r[2];
    bench_run_idle(d, opts, b->idle_actors, b->idle_seconds, r);
    for (int s = 0; s < 2; s++) {
        if (d[s] && isnan(r[s].broker_cpu_pct)) {
            char what[96];
            snprintf(what, sizeof what, "%s: idle figures over %s failed",
                s_drivers[s]->name, tr);
            s_note_failure(b, what);
        }
    }
    s_idle_figure(b, tr, "broker_kib_per_actor", "KiB", "<= 35",
        r[0].broker_kib_per_actor, r[1].broker_kib_per_actor);
    s_idle_figure(b, tr, "broker_fds_per_actor", "fds", "<= 1",
        r[0].broker_fds_per_actor, r[1].broker_fds_per_actor);
    s_idle_figure(b, tr, "broker_cpu_pct", "%cpu", NULL, r[0].broker_cpu_pct,
        r[1].broker_cpu_pct);
    s_idle_figure(b, tr, "actors_cpu_pct", "%cpu", NULL, r[0].actors_cpu_pct,
        r[1].actors_cpu_pct);
    s_idle_figure(b, tr, "total_cpu_pct", "%cpu",
        b->idle_actors == 1000 ? "<= 3" : NULL,
        r[0].broker_cpu_pct + r[0].actors_cpu_pct,
        r[1].broker_cpu_pct + r[1].actors_cpu_pct);
}

/* s_sup_figure records an ours-only figure; v < 0 is "not measured". */
static void
s_sup_figure(
    s_bench_t *b, const char *base, const char *unit, const char *tr, double v)
{
    s_figure_t *f = s_figure(b, base, unit, tr, 16);
    f->ours_only = true;
    f->v[SYS_OURS] = v < 0 ? NAN : v;
    s_progress(b, "ours", base, v);
}

/* s_run_supervisor measures the supervisor figures (supervisor.c) with a
 * broker and a supervisor of their own, so the actors and mailboxes left
 * by the workloads above do not weigh on them. Ours only. */
static void
s_run_supervisor(s_bench_t *b, const char *tr, const char *tmp)
{
    if (!b->sys_on[SYS_OURS] || !s_wants(b, "supervisor")) {
        return;
    }
    bench_sup_opts_t o = {.bin_dir = b->bin_dir,
        .transport = tr,
        .tmp_dir = tmp,
        .kills = b->quick ? 20 : 100,
        .nspawn = b->quick ? 10 : 50,
        .verbose = b->verbose};
    bench_sup_result_t r = bench_run_supervisor(&o);
    if (r.restart_p50_ms < 0 || r.spawn_per_s < 0) {
        char what[96];
        snprintf(
            what, sizeof what, "supervisor figures over %s incomplete", tr);
        s_note_failure(b, what);
    }
    s_sup_figure(b, "restart_p50_ms", "ms", tr, r.restart_p50_ms);
    s_sup_figure(b, "restart_p99_ms", "ms", tr, r.restart_p99_ms);
    s_sup_figure(b, "spawn_actors_per_s", "actors/s", tr, r.spawn_per_s);
    s_sup_figure(b, "idle_actor_private_kib", "KiB", tr, r.idle_private_kib);
}

/* s_run_group measures the group figure (group.c): its own broker, 4
 * members of bench/grp and 4 actors at bench/own/i, pipelined window 256,
 * alternating; ratio = group / own addresses, target >= 0.9. Ours only. */
static void
s_run_group(s_bench_t *b, const char *tr, const char *tmp)
{
    if (!b->sys_on[SYS_OURS] || !s_wants(b, "group")) {
        return;
    }
    bench_group_opts_t o = {.bin_dir = b->bin_dir,
        .transport = tr,
        .tmp_dir = tmp,
        .seconds = b->quick ? 0.5 : fmax(1.0, b->seconds),
        .window = 256,
        .rounds = b->quick ? 3 : (b->rounds > 3 ? b->rounds : 3),
        .verbose = b->verbose};
    bench_group_result_t r = bench_run_group(&o);
    if (r.group_per_s < 0 || r.own_per_s < 0) {
        char what[96];
        snprintf(what, sizeof what, "group figure over %s failed", tr);
        s_note_failure(b, what);
    }
    s_figure_t *f =
        s_figure(b, "group4_pipelined_calls_per_s", "calls/s", tr, 16);
    f->vs_own = true;
    f->no_direct = true;
    f->target = ">= 0.9";
    f->v[SYS_OURS] = r.group_per_s < 0 ? NAN : r.group_per_s;
    f->v[SYS_RAW] = r.own_per_s < 0 ? NAN : r.own_per_s;
    b->has_group = true;
    s_progress(b, "ours", "group4_pipelined_calls_per_s", r.group_per_s);
}

/* s_run_persist measures the persisted figures (bench/persist): acknowledged
 * deposits/s on the account service for each backend and durability
 * policy, PERSIST_BENCH_WINDOW in flight, each with v[SYS_RAW] the
 * in-memory account (no key) of the same run, so ratio = persisted /
 * in-memory. Ours only, over tcp, once per run (no rounds): 0.5 s per
 * configuration with --quick, else --seconds but at least 1 s. */
static void
s_run_persist(s_bench_t *b)
{
    if (!b->sys_on[SYS_OURS] || !s_wants(b, "persist")) {
        return;
    }
    persist_bench_opts_t o = {.bin_dir = b->bin_dir,
        .seconds = b->quick ? 0.5 : fmax(1.0, b->seconds),
        .window = PERSIST_BENCH_WINDOW,
        .quiet = !b->verbose,
        .base_dir = b->persist_base};
    persist_bench_result_t r;
    if (persist_bench_run(&o, &r) != ACTORS_OK) {
        s_note_failure(b, "persisted figures: broker did not start");
        return;
    }
    if (r.note[0]) {
        s_note_failure(b, r.note);
    }
    double mem = NAN;
    for (int i = 0; i < r.nrows; i++) {
        if (strcmp(r.rows[i].backend, "memory") == 0 &&
            r.rows[i].calls_per_s >= 0) {
            mem = r.rows[i].calls_per_s;
        }
    }
    for (int i = 0; i < r.nrows; i++) {
        const persist_bench_row_t *row = &r.rows[i];
        char base[64];
        snprintf(base, sizeof base, "persist_%s_calls_per_s", row->slug);
        if (row->calls_per_s < 0) {
            char what[96];
            snprintf(what, sizeof what, "%s failed", base);
            s_note_failure(b, what);
        }
        s_figure_t *f = s_figure(b, base, "calls/s", "tcp", 16);
        f->payload = 0; /* deposit(1): one integer argument, not 16 B */
        f->vs_memory = true;
        f->v[SYS_OURS] = row->calls_per_s < 0 ? NAN : row->calls_per_s;
        f->v[SYS_RAW] = mem;
        b->has_persist = true;
        s_progress(b, "ours", base, row->calls_per_s);
        if (b->persist_base != NULL) {
            /* The other build's account, same row, same run. */
            snprintf(base, sizeof base, "persist_%s_baseline_calls_per_s",
                row->slug);
            f = s_figure(b, base, "calls/s", "tcp", 16);
            f->payload = 0;
            f->vs_memory = true;
            f->v[SYS_OURS] =
                row->base_calls_per_s < 0 ? NAN : row->base_calls_per_s;
            f->v[SYS_RAW] = mem;
        }
    }
    /* The yardstick of Redis group commit, on the same server: raw broker
     * column = redis-benchmark -t rpush -c 1 -P 16, ratio = ours / it. */
    for (int i = 0; i < r.nrows && r.redis_rpush_p16 > 0; i++) {
        if (strcmp(r.rows[i].slug, "redis_group") == 0) {
            s_figure_t *f = s_figure(
                b, "persist_redis_group_vs_rpush_p16", "calls/s", "unix", 16);
            f->payload = 0;
            f->vs_memory = true;
            f->v[SYS_OURS] = r.rows[i].calls_per_s;
            f->v[SYS_RAW] = r.redis_rpush_p16;
            f->target = ">= 0.3";
        }
    }
    if (r.redis_rpush > 0) {
        s_figure_t *f = s_figure(
            b, "redis_benchmark_rpush_calls_per_s", "calls/s", "unix", 16);
        f->payload = 0;
        f->v[SYS_OURS] = r.redis_rpush;
        f = s_figure(
            b, "redis_benchmark_rpush_p16_calls_per_s", "calls/s", "unix", 16);
        f->payload = 0;
        f->v[SYS_OURS] = r.redis_rpush_p16;
    }
}

/* s_run_conc measures I/O-bound work spread over 4 (conc.c): a pool of 4
 * actors and one actor of max_concurrency 4, each against the ideal 1 s
 * (v[SYS_RAW]), target <= 1.2 x. Ours only, over tcp, once per run. */
static void
s_run_conc(s_bench_t *b)
{
    if (!b->sys_on[SYS_OURS] || !s_wants(b, "conc")) {
        return;
    }
    bench_conc_result_t r = bench_run_conc(b->bin_dir, b->verbose);
    const char *names[2] = {
        "conc_pool4_40x100ms_s", "conc_threads4_40x100ms_s"};
    double v[2] = {r.pool_s, r.threads_s};
    for (int i = 0; i < 2; i++) {
        if (v[i] < 0) {
            char what[96];
            snprintf(what, sizeof what, "%s failed", names[i]);
            s_note_failure(b, what);
        }
        s_figure_t *f = s_figure(b, names[i], "s", "tcp", 16);
        f->payload = 0;
        f->vs_ideal = true;
        f->v[SYS_OURS] = v[i] < 0 ? NAN : v[i];
        f->v[SYS_RAW] = 1.0;
        f->target = "ratio <= 1.2";
        b->has_conc = true;
        s_progress(b, "ours", names[i], v[i]);
    }
}

/* s_curve_figure records a CURVE on (ours column) / off (raw) figure. */
static void
s_curve_figure(
    s_bench_t *b, const char *base, const char *unit, const double v[2])
{
    s_figure_t *f = s_figure(b, base, unit, "tcp", 16);
    f->vs_plain = true;
    f->no_direct = true;
    f->v[SYS_OURS] = v[0];
    f->v[SYS_RAW] = v[1];
    b->has_curve = true;
    s_progress(b, "curve", base, v[0]);
    s_progress(b, "plain", base, v[1]);
}

/* s_run_curve measures what CURVE costs (curve.c): ours over tcp with
 * keys and without, in the same run. */
static void
s_run_curve(s_bench_t *b)
{
    if (!b->sys_on[SYS_OURS] || !s_wants(b, "curve")) {
        return;
    }
    char tmp[] = "/tmp/actors-bench-curve-XXXXXX";
    if (!mkdtemp(tmp)) {
        s_note_failure(b, "cannot make a temporary directory");
        return;
    }
    bench_env_opts_t opts = {.bin_dir = b->bin_dir,
        .self_exe = b->self_exe,
        .transport = "tcp",
        .tmp_dir = tmp,
        .prefetch = b->prefetch,
        .verbose = b->verbose};
    bench_curve_result_t r;
    if (bench_run_curve(&opts, b->seconds, b->rounds, &r) != ACTORS_OK) {
        s_note_failure(b, "curve figures: ours with CURVE did not start");
    }
    b->errors[SYS_OURS] += r.errors;
    s_curve_figure(b, "curve_seq_p50_us", "us", r.seq_p50_us);
    s_curve_figure(b, "curve_seq_p99_us", "us", r.seq_p99_us);
    s_curve_figure(
        b, "curve_pipelined_w256_calls_per_s", "calls/s", r.pipelined_w256);
    s_curve_figure(b, "curve_tells_per_s", "tells/s", r.tells);
    s_curve_figure(b, "curve_cpu_us_per_call", "us", r.cpu_us);
    s_curve_figure(b, "curve_cpu_us_per_call_broker", "us", r.cpu_broker_us);
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0) {
        fprintf(stderr, "actors-bench: could not remove %s\n", tmp);
    }
}

/* s_pubsub_figure records an events figure of ours against the raw
 * proxy (no direct column). */
static s_figure_t *
s_pubsub_figure(
    s_bench_t *b, const char *name, const char *unit, double ours, double raw)
{
    s_figure_t *f = s_figure(b, name, unit, "tcp", 16);
    f->v[SYS_OURS] = ours;
    f->v[SYS_RAW] = raw;
    f->no_direct = true;
    return f;
}

/* s_run_pubsub measures events (pubsub.c): delivered events/s from one
 * publisher to 1, 10 and 100 subscribers through our broker and through
 * a raw libzmq XPUB/XSUB proxy in the same run (target: ours >= 0.8x),
 * and publish-to-receipt latency beside the call's (seq). Over tcp, once
 * per run. */
static void
s_run_pubsub(s_bench_t *b)
{
    if (!b->sys_on[SYS_OURS] || !s_wants(b, "pubsub")) {
        return;
    }
    bench_pubsub_opts_t o = {.bin_dir = b->bin_dir,
        .seconds = b->quick ? 0.5 : fmax(1.0, b->seconds),
        .rounds = b->rounds,
        .verbose = b->verbose,
        .fanouts = {1, 10, 100}};
    bench_pubsub_result_t r;
    bench_run_pubsub(&o, &r);
    for (int k = 0; k < BENCH_PUBSUB_FANOUTS; k++) {
        double v[3];
        double cpu[3];
        for (int sys = 0; sys < 3; sys++) {
            v[sys] = s_median_ok(r.per_s[sys][k], o.rounds);
            cpu[sys] = s_median_ok(r.cpu_us[sys][k], o.rounds);
        }
        char base[64];
        snprintf(base, sizeof base, "pubsub_fan%d_events_per_s", o.fanouts[k]);
        s_figure_t *f = s_pubsub_figure(b, base, "events/s", v[0], v[1]);
        f->target = "ratio >= 0.8";
        if (isnan(v[0]) || isnan(v[1])) {
            char what[96];
            snprintf(what, sizeof what, "%s failed", base);
            s_note_failure(b, what);
        }
        s_progress(b, "ours", base, v[0]);
        s_progress(b, "raw", base, v[1]);
        /* What the broker spends on each event against the proxy. */
        snprintf(base, sizeof base, "pubsub_fan%d_cpu_us_per_event_broker",
            o.fanouts[k]);
        s_pubsub_figure(b, base, "us", cpu[0], cpu[1]);
        /* The same without the stream: each delivery a ROUTER send. */
        snprintf(base, sizeof base, "pubsub_router_fan%d_events_per_s",
            o.fanouts[k]);
        s_pubsub_figure(b, base, "events/s", v[2], v[1]);
        s_progress(b, "ours", base, v[2]);
    }
    /* The same with the table full of subscriptions that do not match. */
    s_pubsub_figure(b, "pubsub_fan1_held65536_events_per_s", "events/s",
        r.held_per_s[0] < 0 ? NAN : r.held_per_s[0],
        r.held_per_s[1] < 0 ? NAN : r.held_per_s[1]);
    s_pubsub_figure(b, "pubsub_fan1_held65536_cpu_us_per_event_broker", "us",
        r.held_cpu_us[0] < 0 ? NAN : r.held_cpu_us[0],
        r.held_cpu_us[1] < 0 ? NAN : r.held_cpu_us[1]);
    if (r.held_per_s[0] < 0 || r.held_per_s[1] < 0) {
        s_note_failure(b, "pubsub_fan1_held65536 failed");
    }
    const char *lat[2] = {"pubsub_latency_p50", "pubsub_latency_p99"};
    for (int i = 0; i < 2; i++) {
        double *v = i == 0 ? r.p50_us : r.p99_us;
        s_figure_t *f = s_figure(b, lat[i], "us", "tcp", 16);
        f->v[SYS_OURS] = v[0] < 0 ? NAN : v[0];
        f->v[SYS_RAW] = v[1] < 0 ? NAN : v[1];
        f->no_direct = true;
        s_progress(b, "ours", lat[i], v[0]);
    }
    /* To an actor's handler, beside a call to the same actor. */
    const bench_evlat_result_t *e = &r.evlat;
    const char *hname[4] = {"pubsub_handler_p50", "pubsub_handler_p99",
        "pubsub_handler_rtt_p50", "pubsub_handler_rtt_p99"};
    for (int i = 0; i < 4; i++) {
        const double *ev = i < 2 ? e->event_handler_us : e->event_rtt_us;
        const double *call = i < 2 ? e->call_handler_us : e->call_rtt_us;
        s_figure_t *f =
            s_pubsub_figure(b, hname[i], "us", ev[i % 2] < 0 ? NAN : ev[i % 2],
                call[i % 2] < 0 ? NAN : call[i % 2]);
        f->vs_call = true;
        b->has_handler = true;
        s_progress(b, "ours", hname[i], ev[i % 2]);
    }
    if (e->event_handler_us[0] < 0) {
        s_note_failure(b, "pubsub_handler failed");
    }
}

/* s_run_metrics measures what serving metrics costs the hot path:
 * pipelined w256 on two brokers of ours, one with --metrics-port 0 (every
 * call counted by address, method and outcome, and timed into its
 * method's histogram), one without, taking turns within each round.
 * v[SYS_OURS] is with metrics, v[SYS_RAW] without; ratio = on / off. */
static void
s_run_metrics(s_bench_t *b, const bench_env_opts_t *opts, const char *tr)
{
    if (!b->sys_on[SYS_OURS] || !s_wants(b, "metrics")) {
        return;
    }
    bench_env_t *env[2] = {NULL, NULL}; /* [0] on, [1] off */
    for (int k = 0; k < 2; k++) {
        bench_env_opts_t o = *opts;
        o.metrics = k == 0;
        if (bench_env_start(s_drivers[SYS_OURS], &o, 1, &env[k]) != ACTORS_OK) {
            s_note_failure(b, "metrics figure: a broker did not start");
            bench_env_stop(&env[0]);
            bench_env_stop(&env[1]);
            return;
        }
    }
    bench_params_t p = {.seconds = b->seconds, .payload = 16, .cpu = true};
    double rates[2][MAX_ROUNDS];
    double cpu[2][MAX_ROUNDS];
    for (int r = 0; r < b->rounds; r++) {
        for (int k = 0; k < 2; k++) {
            bench_result_t res =
                bench_run_pipelined(s_drivers[SYS_OURS], env[k], &p, 256, 1);
            b->errors[SYS_OURS] += res.errors;
            rates[k][r] = res.ok ? res.per_s : NAN;
            cpu[k][r] = res.ok ? res.cpu_us[BENCH_CPU_BROKER] : NAN;
        }
    }
    bench_env_stop(&env[0]);
    bench_env_stop(&env[1]);
    s_figure_t *f =
        s_figure(b, "pipelined_w256_metrics_calls_per_s", "calls/s", tr, 16);
    f->vs_off = true;
    f->target = ">= 0.97";
    f->v[SYS_OURS] = s_median(rates[0], b->rounds);
    f->v[SYS_RAW] = s_median(rates[1], b->rounds);
    /* The broker's CPU per call: steady on a busy machine where rates
     * are not. */
    f = s_figure(b, "cpu_us_per_call_broker_metrics", "us", tr, 16);
    f->vs_off = true;
    f->v[SYS_OURS] = s_median(cpu[0], b->rounds);
    f->v[SYS_RAW] = s_median(cpu[1], b->rounds);
    b->has_metrics = true;
    s_progress(b, "ours", "pipelined_w256_metrics_calls_per_s", f->v[SYS_OURS]);
}

static void
s_run_transport(s_bench_t *b, const char *tr)
{
    char tmp[] = "/tmp/actors-bench-XXXXXX";
    if (!mkdtemp(tmp)) {
        s_note_failure(b, "cannot make a temporary directory");
        return;
    }
    bench_env_opts_t opts = {.bin_dir = b->bin_dir,
        .self_exe = b->self_exe,
        .transport = tr,
        .tmp_dir = tmp,
        .prefetch = b->prefetch,
        .verbose = b->verbose,
        .raw_poll = b->raw_poll};
    bench_env_t *envs[NSYS] = {NULL};
    for (int s = 0; s < NSYS; s++) {
        if (!b->sys_on[s]) {
            continue;
        }
        if (bench_env_start(s_drivers[s], &opts, 1, &envs[s]) != ACTORS_OK) {
            char what[96];
            snprintf(what, sizeof what, "%s over %s did not start",
                s_drivers[s]->name, tr);
            s_note_failure(b, what);
            envs[s] = NULL;
        }
    }
    for (int i = 0; i < b->npayloads; i++) {
        s_run_payload(b, envs, tr, b->payloads[i]);
    }
    if (b->fan && s_wants(b, "fan")) {
        s_run_fan(b, envs, tr);
    }
    for (int s = 0; s < NSYS; s++) {
        bench_env_stop(&envs[s]);
    }
    s_run_idle(b, &opts, tr);
    s_run_supervisor(b, tr, tmp);
    s_run_group(b, tr, tmp);
    s_run_metrics(b, &opts, tr);
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0) {
        fprintf(stderr, "actors-bench: could not remove %s\n", tmp);
    }
}

/* ---- output ---------------------------------------------------------- */

/* s_digits is how many decimals a figure in unit is shown with. */
static int
s_digits(const char *unit)
{
    if (strcmp(unit, "fds") == 0 || strcmp(unit, "%cpu") == 0) {
        return 2;
    }
    if (strcmp(unit, "s") == 0) {
        return 3;
    }
    return strcmp(unit, "us") == 0 || strcmp(unit, "ms") == 0 ? 1 : 0;
}

/* s_json_num prints v with `digits` decimals, or null. */
static void
s_json_num(double v, int digits)
{
    if (isnan(v) || isinf(v)) {
        printf("null");
    } else {
        printf("%.*f", digits, v);
    }
}

static void
s_json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') {
            putchar('\\');
        }
        if ((unsigned char)*s >= 0x20) {
            putchar(*s);
        }
    }
    putchar('"');
}

static void
s_machine(char *cpu, size_t cap)
{
    snprintf(cpu, cap, "unknown");
    FILE *fp = fopen("/proc/cpuinfo", "r");
    if (!fp) {
        return;
    }
    char line[512];
    while (fgets(line, sizeof line, fp)) {
        if (strncmp(line, "model name", 10) == 0) {
            char *colon = strchr(line, ':');
            if (colon) {
                colon += 2;
                colon[strcspn(colon, "\n")] = '\0';
                snprintf(cpu, cap, "%s", colon);
            }
            break;
        }
    }
    fclose(fp);
}

static void
s_print_json(const s_bench_t *b)
{
    char cpu[256];
    s_machine(cpu, sizeof cpu);
    struct utsname u;
    uname(&u);
    int maj, min, pat;
    zmq_version(&maj, &min, &pat);
    printf("{\"tool\":\"actors-bench\",\"quick\":%s,\"seconds\":%g,"
           "\"rounds\":%d,\"prefetch\":%d,\n \"machine\":{\"cpu\":",
        b->quick ? "true" : "false", b->seconds, b->rounds, b->prefetch);
    s_json_str(cpu);
    printf(",\"cpus\":%ld,\"kernel\":", sysconf(_SC_NPROCESSORS_ONLN));
    s_json_str(u.release);
    printf(",\"libzmq\":\"%d.%d.%d\"},\n", maj, min, pat);
    printf(" \"errors\":{\"ours\":%ld,\"raw\":%ld,\"direct\":%ld},"
           "\"failures\":",
        b->errors[0], b->errors[1], b->errors[2]);
    s_json_str(b->failures);
    printf(",\n \"figures\":[\n");
    for (int i = 0; i < b->nfigures; i++) {
        const s_figure_t *f = &b->figures[i];
        printf("  {\"name\":");
        s_json_str(f->name);
        int digits = s_digits(f->unit);
        printf(",\"ours\":");
        s_json_num(f->v[SYS_OURS], digits);
        printf(",\"raw\":");
        s_json_num(f->v[SYS_RAW], digits);
        printf(",\"ratio\":");
        s_json_num(f->v[SYS_OURS] / f->v[SYS_RAW], 3);
        printf(",\"direct\":");
        s_json_num(f->no_direct ? NAN : f->v[SYS_DIRECT], digits);
        printf(",\"unit\":\"%s\",\"transport\":\"%s\",\"payload\":%zu", f->unit,
            f->transport, f->payload);
        if (f->target) {
            printf(",\"target\":");
            s_json_str(f->target);
        }
        if (f->no_direct) {
            printf(",\"no_direct\":true");
        }
        printf("%s%s%s%s%s%s%s}%s\n", f->ours_only ? ",\"ours_only\":true" : "",
            f->vs_memory ? ",\"raw_is\":\"memory\"" : "",
            f->vs_ideal ? ",\"raw_is\":\"ideal\"" : "",
            f->vs_plain ? ",\"raw_is\":\"curve_off\"" : "",
            f->vs_own ? ",\"raw_is\":\"own_addresses\"" : "",
            f->vs_off ? ",\"raw_is\":\"metrics_off\"" : "",
            f->vs_call ? ",\"raw_is\":\"call\"" : "",
            i + 1 < b->nfigures ? "," : "");
    }
    printf(" ]}\n");
}

static void
s_cell(double v, int digits, char *out, size_t cap)
{
    if (isnan(v) || isinf(v)) {
        snprintf(out, cap, "n/a");
    } else {
        snprintf(out, cap, "%.*f", digits, v);
    }
}

static void
s_print_table(const s_bench_t *b)
{
    printf("%-34s %12s %12s %7s %12s  %-8s %s\n", "figure", "ours",
        "raw broker", "ratio", "direct", "unit", "target");
    for (int i = 0; i < b->nfigures; i++) {
        const s_figure_t *f = &b->figures[i];
        int digits = s_digits(f->unit);
        char c[3][32];
        char ratio[32];
        for (int s = 0; s < NSYS; s++) {
            s_cell(f->v[s], digits, c[s], sizeof c[s]);
        }
        double r = f->v[SYS_OURS] / f->v[SYS_RAW];
        if (f->vs_memory || f->vs_ideal || f->vs_off || f->no_direct) {
            snprintf(c[SYS_DIRECT], sizeof c[SYS_DIRECT], "-");
        }
        if (f->ours_only) {
            snprintf(c[SYS_RAW], sizeof c[SYS_RAW], "-");
            snprintf(c[SYS_DIRECT], sizeof c[SYS_DIRECT], "-");
            snprintf(ratio, sizeof ratio, "-");
        } else if (isnan(r) || isinf(r)) {
            snprintf(ratio, sizeof ratio, "n/a");
        } else {
            snprintf(ratio, sizeof ratio, "%.2f", r);
        }
        printf("%-34s %12s %12s %7s %12s  %-8s %s\n", f->name, c[0], c[1],
            ratio, c[2], f->unit, f->target ? f->target : "");
    }
    if (b->has_persist) {
        printf("persist_*: raw broker column = the in-memory account "
               "(persist_memory), ratio = persisted / in-memory\n");
    }
    if (b->has_conc) {
        printf("conc_*: raw broker column = the ideal (40 x 100 ms over 4 "
               "at once = 1 s), ratio = measured / ideal\n");
    }
    if (b->has_curve) {
        printf("curve_*: ours column = CURVE on, raw broker column = the "
               "same without keys, ratio = on / off\n");
    }
    if (b->has_group) {
        printf("group4_*: ours = a group of 4 members called through the "
               "group address, raw broker column = the same 4 actors by "
               "their own addresses (same broker), ratio = group / own\n");
    }
    if (b->has_metrics) {
        printf("*_metrics: ours = metrics on, raw broker column = ours with "
               "metrics off, ratio = on / off\n");
    }
    if (b->has_handler) {
        printf("pubsub_handler_*: ours = a PUBLISH to an actor's event "
               "handler running (rtt: and its event back), raw broker column "
               "= a CALL to the same actor's handler (rtt: and its reply), "
               "one at a time, taking turns; ratio = event / call\n");
    }
    if (b->errors[SYS_OURS] > 0) {
        printf("ours: %ld error replies\n", b->errors[SYS_OURS]);
    }
    if (b->failures[0]) {
        printf("failures: %s\n", b->failures);
    }
}

/* ---- arguments --------------------------------------------------------- */

static void
s_usage(void)
{
    fprintf(stderr,
        "usage: actors-bench [--quick] [--json] [--seconds S] [--prefetch N]\n"
        "         [--transports tcp,ipc] [--payloads 16,1024,65536,1048576] "
        "[--no-fan]\n"
        "         [--rounds N]\n"
        "         [--samples-dir DIR] [--bin-dir DIR] [--verbose]\n"
        "         [--systems ours,raw,direct] [--windows 1,16,256,4096]\n"
        "         [--fanout 1,10,100,1000] [--idle-actors N] "
        "[--idle-seconds S]\n"
        "         [--workloads seq,pipelined,tells,fan,idle,supervisor,"
        "group,persist,metrics,conc,curve,pubsub] [--raw-poll]\n"
        "         [--persist-baseline BIN_DIR]\n"
        "       actors-bench --worker (--connect EP --id ID | --bind EP)\n");
}

static int
s_split(char *list, const char **out, int max)
{
    int n = 0;
    for (char *save = NULL, *t = strtok_r(list, ",", &save); t && n < max;
         t = strtok_r(NULL, ",", &save)) {
        out[n++] = t;
    }
    return n;
}

int
main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--worker") == 0) {
        return bench_worker_main(argc - 2, argv + 2);
    }
    bench_proc_cleanup_on_signals();
    /* The bench starts its own brokers and makes its own keys for the
     * curve figures (curve.c): keys from the environment do not apply. */
    unsetenv("ACTORS_KEY");
    unsetenv("ACTORS_BROKER_KEY");
    actors_security_set("", "");
    /* 1000 actors are 1000 (or 2000) connections to one broker, and a
     * direct fan-out a socket per worker here: children inherit this. */
    bench_proc_raise_nofile();
    static s_bench_t b;
    b.seconds = -1;
    b.prefetch = 4096; /* the actor default */
    b.fan = true;
    char *transports = NULL;
    char *payloads = NULL;
    char *systems = NULL;
    char *windows = NULL;
    char *workloads = NULL;
    char *fanout = NULL;
    b.idle_actors = 1000;
    b.idle_seconds = 10;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has = i + 1 < argc;
        if (strcmp(a, "--quick") == 0) {
            b.quick = true;
        } else if (strcmp(a, "--json") == 0) {
            b.json = true;
        } else if (strcmp(a, "--no-fan") == 0) {
            b.fan = false;
        } else if (strcmp(a, "--verbose") == 0) {
            b.verbose = true;
        } else if (strcmp(a, "--raw-poll") == 0) {
            b.raw_poll = true;
        } else if (strcmp(a, "--persist-baseline") == 0 && has) {
            b.persist_base = argv[++i];
        } else if (strcmp(a, "--seconds") == 0 && has) {
            b.seconds = atof(argv[++i]);
        } else if (strcmp(a, "--rounds") == 0 && has) {
            b.rounds = atoi(argv[++i]);
        } else if (strcmp(a, "--prefetch") == 0 && has) {
            b.prefetch = atoi(argv[++i]);
        } else if (strcmp(a, "--transports") == 0 && has) {
            transports = argv[++i];
        } else if (strcmp(a, "--payloads") == 0 && has) {
            payloads = argv[++i];
        } else if (strcmp(a, "--systems") == 0 && has) {
            systems = argv[++i];
        } else if (strcmp(a, "--windows") == 0 && has) {
            windows = argv[++i];
        } else if (strcmp(a, "--workloads") == 0 && has) {
            workloads = argv[++i];
        } else if (strcmp(a, "--fanout") == 0 && has) {
            fanout = argv[++i];
        } else if (strcmp(a, "--idle-actors") == 0 && has) {
            b.idle_actors = atoi(argv[++i]);
        } else if (strcmp(a, "--idle-seconds") == 0 && has) {
            b.idle_seconds = atof(argv[++i]);
        } else if (strcmp(a, "--samples-dir") == 0 && has) {
            b.samples_dir = argv[++i];
        } else if (strcmp(a, "--bin-dir") == 0 && has) {
            snprintf(b.bin_dir, sizeof b.bin_dir, "%s", argv[++i]);
        } else {
            s_usage();
            return 2;
        }
    }
    if (b.quick) {
        b.fan = false;
    }
    if (b.seconds <= 0) {
        b.seconds = b.quick ? 0.3 : 0.5;
    }
    if (b.rounds == 0) {
        b.rounds = 3;
    }
    if (b.prefetch < 1 || b.rounds < 1 || b.rounds > MAX_ROUNDS ||
        b.idle_actors < 0 || b.idle_actors > BENCH_MAX_WORKERS ||
        b.idle_seconds <= 0) {
        s_usage();
        return 2;
    }
    ssize_t len = readlink("/proc/self/exe", b.self_exe, sizeof b.self_exe - 1);
    if (len <= 0) {
        fprintf(stderr, "actors-bench: cannot find my own path\n");
        return 1;
    }
    b.self_exe[len] = '\0';
    if (!b.bin_dir[0]) {
        snprintf(b.bin_dir, sizeof b.bin_dir, "%s", b.self_exe);
        char *slash = strrchr(b.bin_dir, '/');
        if (slash) {
            *slash = '\0';
        }
    }
    char tr_default[] = "tcp,ipc";
    char tr_quick[] = "tcp";
    b.ntransports =
        s_split(transports ? transports : (b.quick ? tr_quick : tr_default),
            b.transports, MAX_LIST);
    if (payloads) {
        const char *items[MAX_LIST];
        int n = s_split(payloads, items, MAX_LIST);
        for (int i = 0; i < n; i++) {
            b.payloads[b.npayloads++] = (size_t)strtoul(items[i], NULL, 10);
        }
    } else if (b.quick) {
        b.payloads[b.npayloads++] = 16;
    } else {
        b.payloads[b.npayloads++] = 16;
        b.payloads[b.npayloads++] = 1024;
        b.payloads[b.npayloads++] = 65536;
        /* The issue judges large results at 1 MiB (sequential). */
        b.payloads[b.npayloads++] = 1048576;
    }
    const char *items[MAX_LIST];
    int nitems;
    if (systems) {
        nitems = s_split(systems, items, MAX_LIST);
        for (int i = 0; i < nitems; i++) {
            for (int s = 0; s < NSYS; s++) {
                if (strcmp(items[i], s_drivers[s]->name) == 0) {
                    b.sys_on[s] = true;
                }
            }
        }
    } else {
        for (int s = 0; s < NSYS; s++) {
            b.sys_on[s] = true;
        }
    }
    if (windows) {
        nitems = s_split(windows, items, MAX_LIST);
        for (int i = 0; i < nitems; i++) {
            int w = atoi(items[i]);
            if (w < 1 || w > 8192) {
                s_usage();
                return 2;
            }
            b.windows[b.nwindows++] = w;
        }
    } else if (b.quick) {
        b.windows[b.nwindows++] = 256;
    } else {
        for (size_t i = 0; i < sizeof s_windows / sizeof *s_windows; i++) {
            b.windows[b.nwindows++] = s_windows[i];
        }
    }
    if (fanout) {
        nitems = s_split(fanout, items, MAX_LIST);
        for (int i = 0; i < nitems; i++) {
            int n = atoi(items[i]);
            if (n < 1 || n > BENCH_MAX_WORKERS) {
                s_usage();
                return 2;
            }
            b.fanout[b.nfanout++] = n;
        }
    } else {
        for (size_t i = 0; i < sizeof s_fanout / sizeof *s_fanout; i++) {
            b.fanout[b.nfanout++] = s_fanout[i];
        }
    }
    /* Workers are only ever added: the smallest fan-out goes first. */
    for (int i = 1; i < b.nfanout; i++) {
        for (int j = i; j > 0 && b.fanout[j - 1] > b.fanout[j]; j--) {
            int t = b.fanout[j];
            b.fanout[j] = b.fanout[j - 1];
            b.fanout[j - 1] = t;
        }
    }
    snprintf(b.workloads, sizeof b.workloads, ",%s,",
        workloads ? workloads
                  : "seq,pipelined,tells,fan,idle,supervisor,group,persist,"
                    "metrics,conc,curve,pubsub");
    for (int i = 0; i < b.ntransports; i++) {
        if (strcmp(b.transports[i], "tcp") != 0 &&
            strcmp(b.transports[i], "ipc") != 0) {
            s_usage();
            return 2;
        }
    }
    for (int i = 0; i < b.ntransports; i++) {
        s_run_transport(&b, b.transports[i]);
    }
    s_run_persist(&b);
    s_run_conc(&b);
    s_run_curve(&b);
    s_run_pubsub(&b);
    if (b.json) {
        s_print_json(&b);
    } else {
        s_print_table(&b);
    }
    return 0;
}
