/* bench/actors-bench/bench.h - shared parts of the benchmark program.
 * SPDX-License-Identifier: MIT
 *
 * actors-bench measures the same workloads on three systems: ours (the
 * real broker and a chaos actor, through libactors' client), the raw
 * broker (bench/actors-rawbroker: a bare ROUTER forwarding by routing id,
 * with raw DEALER workers) and a direct pair (a client DEALER talking to a
 * worker's ROUTER, no broker at all). Each system is a driver: open a
 * connection, send a call or a tell to worker number `target`, receive
 * replies. The workloads (workload.c) are written once over that interface,
 * so every system runs exactly the same loop.
 */
#ifndef BENCH_H
#define BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <actors/error.h>

/* Most workers (actors, raw workers) one environment runs: fan-out and the
 * idle figures go up to 1000. */
#define BENCH_MAX_WORKERS 4096

/* ---- drivers ------------------------------------------------------- */

typedef struct bench_conn bench_conn_t;

/* One system under test. env is the driver's own environment (endpoints,
 * number of workers). Every function is used by one thread per conn. */
typedef struct {
    const char *name; /* "ours", "raw", "direct" */
    /* open makes a new connection (one per thread). */
    actors_err (*open)(void *env, bench_conn_t **out);
    /* call sends a request whose reply recv will count. */
    actors_err (*call)(
        bench_conn_t *c, int target, const void *buf, size_t len);
    /* tell sends a one-way message. */
    actors_err (*tell)(
        bench_conn_t *c, int target, const void *buf, size_t len);
    /* recv waits up to timeout_ms for replies and stores how many arrived
     * (at least 1 on ACTORS_OK) in *n. ACTORS_ETIMEDOUT if none. */
    actors_err (*recv)(bench_conn_t *c, int timeout_ms, int *n);
    /* close frees the connection; NULL is fine. */
    void (*close)(bench_conn_t **c);
    /* errors counts error replies seen on c (ours only; 0 elsewhere). */
    long (*errors)(const bench_conn_t *c);
    /* ready pings every worker i < n whose ready[i] is false, waits up to
     * timeout_ms for the answers and sets ready[i] for each worker that
     * answered well. c must have been opened with at least n workers.
     * ACTORS_OK whether or not all answered; an error only if c broke. */
    actors_err (*ready)(bench_conn_t *c, int n, bool *ready, int timeout_ms);
} bench_driver_t;

extern const bench_driver_t bench_ours_driver;
extern const bench_driver_t bench_raw_driver;
extern const bench_driver_t bench_direct_driver;

/* ---- environments (processes under test) --------------------------- */

typedef struct bench_env bench_env_t;

/* Options that shape an environment. */
typedef struct {
    const char *bin_dir;   /* where actors-broker and chaos live */
    const char *self_exe;  /* this program, for raw workers */
    const char *transport; /* "tcp" or "ipc" */
    const char *tmp_dir;   /* for ipc sockets */
    int prefetch;          /* chaos --prefetch */
    bool verbose;          /* children's stderr kept */
    bool raw_poll;         /* actors-rawbroker --poll (experiment) */
    const char *keys_dir;  /* ours: actors-broker --keys (CURVE); NULL */
    const char *key;       /* ours: actors-broker --key */
    bool metrics;          /* actors-broker --metrics-port 0 */
} bench_env_opts_t;

/* bench_env_start starts the system's broker (not for "direct") and
 * nworkers workers (0 is fine); *out is the driver's env. ACTORS_EIO if a
 * process fails. */
actors_err bench_env_start(const bench_driver_t *d,
    const bench_env_opts_t *opts, int nworkers, bench_env_t **out);
/* bench_env_workers makes sure at least n workers (at most
 * BENCH_MAX_WORKERS) are running and ready: the new ones are started all
 * at once, then pinged together until each answered or a deadline that
 * grows with their number passed. On error the workers started stay in
 * the environment, so bench_env_stop still stops them. */
actors_err bench_env_workers(bench_env_t *self, int n);
/* bench_env_stop stops every process of the environment and frees it. */
void bench_env_stop(bench_env_t **self_p);
/* CPU time used so far, in ns, summed over every thread: [0] this
 * process (the client), [1] the broker, [2] all workers. */
enum { BENCH_CPU_CLIENT, BENCH_CPU_BROKER, BENCH_CPU_WORKERS, BENCH_CPU_N };
void bench_env_cpu_ns(const bench_env_t *self, uint64_t out[BENCH_CPU_N]);
/* accessors for drivers and the idle figures; a pid <= 0 is no process */
const char *bench_env_endpoint(const bench_env_t *self);
int bench_env_broker_pid(const bench_env_t *self);
const char *bench_env_worker_endpoint(const bench_env_t *self, int i);
int bench_env_nworkers(const bench_env_t *self);

/* ---- processes ----------------------------------------------------- */

/* bench_proc_start runs argv (argv[0] a path) without waiting for it. If
 * fd is not NULL the child's stdout is a pipe whose read end is stored in
 * *fd (for bench_proc_read_endpoint), else /dev/null. quiet: stderr to
 * /dev/null too. Returns ACTORS_OK with *pid set, ACTORS_EIO otherwise. */
actors_err bench_proc_start(char *const argv[], bool quiet, int *fd, int *pid);
/* A program's main, run in a forked child by bench_proc_fork. */
typedef int (*bench_main_fn)(int argc, char **argv);
/* bench_proc_fork runs fn(argc, argv) in a child forked from this program,
 * without exec: no dynamic linking and no mapping of some twenty shared
 * libraries again, which is most of what starting a worker costs (about
 * 7 ms of CPU by exec, on this 2-vCPU VM). fd and quiet are as for
 * bench_proc_start; the child dies with this program (PR_SET_PDEATHSIG)
 * and exits with fn's status. Only while this program has one thread:
 * fork copies the calling thread alone, and a lock another thread held
 * would stay locked in the child. Returns ACTORS_OK with *pid set,
 * ACTORS_EAGAIN if there are other threads (exec it instead), ACTORS_EIO. */
actors_err bench_proc_fork(
    bench_main_fn fn, int argc, char **argv, bool quiet, int *fd, int *pid);
/* bench_proc_read_endpoint reads lines from fd until one is "ENDPOINT x"
 * (x into endpoint, cap bytes) or timeout_ms passes. The fd stays open:
 * closing it would turn a later write to stdout into SIGPIPE for the
 * child. ACTORS_OK, ACTORS_ETIMEDOUT or ACTORS_EIO (the child closed it). */
actors_err bench_proc_read_endpoint(
    int fd, char *endpoint, size_t cap, int timeout_ms);
/* bench_proc_spawn runs argv (argv[0] a path). If endpoint is not NULL,
 * reads the child's first "ENDPOINT x" stdout line into it (cap bytes)
 * within timeout_ms. quiet: stdout/stderr to /dev/null afterwards.
 * Returns ACTORS_OK with *pid set, ACTORS_EIO otherwise. */
actors_err bench_proc_spawn(char *const argv[], char *endpoint, size_t cap,
    int timeout_ms, bool quiet, int *pid);
/* bench_proc_cpu_ns is the CPU time pid has used, all threads, in ns
 * (from /proc/PID/task/TID/schedstat); pid 0 is this process. 0 if gone. */
uint64_t bench_proc_cpu_ns(int pid);
/* bench_proc_cleanup_on_signals makes SIGTERM, SIGINT, SIGHUP and the
 * crash signals (SIGSEGV, SIGABRT, ...) kill every child still running
 * before this program dies of the signal, and exit() kill them too. */
void bench_proc_cleanup_on_signals(void);
/* bench_proc_raise_nofile raises this process's soft RLIMIT_NOFILE to its
 * hard limit, so that a broker with 1000 actors, or a client with a socket
 * per worker, has the descriptors it needs; children started afterwards
 * inherit it. Returns the new soft limit. */
long bench_proc_raise_nofile(void);
/* bench_proc_stop sends SIGTERM, waits up to 2 s, then SIGKILL. */
void bench_proc_stop(int pid);
/* bench_proc_stop_all stops n processes at once: SIGTERM to all, then one
 * shared deadline (2 s, plus a little per process) for them to exit, then
 * SIGKILL for the rest. pids[i] <= 0 are skipped; all are set to -1. */
void bench_proc_stop_all(int *pids, int n);
/* bench_proc_alive: pid has not exited. If it has, it is reaped. */
bool bench_proc_alive(int pid);
/* bench_proc_rss_kib is VmRSS of pid (/proc/PID/status); -1 if gone. */
long bench_proc_rss_kib(int pid);
/* bench_proc_nfds counts the open descriptors of pid (/proc/PID/fd); -1
 * if gone. */
long bench_proc_nfds(int pid);

/* ---- time and statistics ------------------------------------------ */

/* bench_now_ns is CLOCK_MONOTONIC in nanoseconds. */
uint64_t bench_now_ns(void);

/* A growing array of latency samples in nanoseconds. */
typedef struct {
    uint64_t *v;
    size_t n;
    size_t cap;
} bench_samples_t;

actors_err bench_samples_add(bench_samples_t *s, uint64_t ns);
/* bench_samples_sort sorts; bench_samples_pct then gives the p-th
 * percentile (0..100) in microseconds (nearest rank). */
void bench_samples_sort(bench_samples_t *s);
double bench_samples_pct(const bench_samples_t *s, double p);
void bench_samples_free(bench_samples_t *s);

/* ---- workloads (workload.c) ---------------------------------------- */

/* Outcome of one workload run. */
typedef struct {
    bool ok;       /* false: failed, figure is n/a */
    double per_s;  /* calls or tells per second */
    double p50_us; /* sequential only */
    double p99_us;
    double p999_us;
    long errors;                /* error replies seen */
    double cpu_us[BENCH_CPU_N]; /* pipelined: CPU us per call, by process */
} bench_result_t;

/* Parameters shared by the workloads. */
typedef struct {
    double seconds; /* measuring time per workload */
    size_t payload; /* bytes per message */
    bool cpu;       /* pipelined: also measure CPU per call */
} bench_params_t;

/* Sequential calls, one at a time; samples (may be NULL) gets every
 * latency. */
bench_result_t bench_run_seq(const bench_driver_t *d, void *env,
    const bench_params_t *p, bench_samples_t *samples);
/* Pipelined calls with window outstanding, spread over ntargets. */
bench_result_t bench_run_pipelined(const bench_driver_t *d, void *env,
    const bench_params_t *p, int window, int ntargets);
/* One-way tells, completion seen by a call after each batch. */
bench_result_t bench_run_tells(
    const bench_driver_t *d, void *env, const bench_params_t *p);
/* nclients threads, each with its own connection, each making sequential
 * calls to worker 0; total calls/s. */
bench_result_t bench_run_fanin(
    const bench_driver_t *d, void *env, const bench_params_t *p, int nclients);

/* ---- CURVE on against off (curve.c) --------------------------------- */

/* What CURVE costs our stack: [0] CURVE on, [1] off (NaN: failed). */
typedef struct {
    double seq_p50_us[2];
    double seq_p99_us[2];
    double pipelined_w256[2]; /* calls/s */
    double tells[2];          /* tells/s */
    double cpu_us[2];         /* w256: CPU us per call, every process */
    double cpu_broker_us[2];  /* w256: of which the broker's */
    long errors;
} bench_curve_result_t;

/* bench_run_curve starts ours twice over tcp, with keys it makes (czmq
 * certificates in opts->tmp_dir) and without, and runs the sequential,
 * pipelined (window 256) and tells workloads on each, the two taking
 * turns within each of rounds. Returns ACTORS_OK, or an error if an
 * environment did not start (figures NaN). */
actors_err bench_run_curve(const bench_env_opts_t *opts, double seconds,
    int rounds, bench_curve_result_t *out);

/* ---- the supervisor figures (supervisor.c) -------------------------- */

/* What bench_run_supervisor needs. */
typedef struct {
    const char *bin_dir;   /* actors-broker, actors-supervisor, chaos */
    const char *transport; /* "tcp" or "ipc" */
    const char *tmp_dir;   /* the config file and ipc sockets */
    int kills;             /* restarts measured */
    int nspawn;            /* actors spawned at once */
    bool verbose;          /* children's stderr kept */
} bench_sup_opts_t;

/* Its figures; a negative value: not measured (failed). */
typedef struct {
    double restart_p50_ms; /* SIGKILL to the first reply of the new run */
    double restart_p99_ms;
    double spawn_per_s;      /* pipelined spawns until registered */
    double idle_private_kib; /* median Private_Clean+Dirty, idle chaos */
} bench_sup_result_t;

/* bench_run_supervisor starts a broker and an actors-supervisor of its
 * own, measures, and stops them. */
bench_sup_result_t bench_run_supervisor(const bench_sup_opts_t *o);

/* ---- events (pubsub.c) ------------------------------------------------ */

#define BENCH_PUBSUB_FANOUTS 3 /* subscribers: 1, 10, 100 */

#define BENCH_PUBSUB_ROUNDS 16 /* at most (= MAX_ROUNDS of main.c) */

typedef struct {
    const char *bin_dir; /* where actors-broker lives */
    double seconds;      /* per figure and round */
    int rounds;          /* throughput: runs of each, alternating (1..16) */
    bool verbose;        /* children's stderr kept */
    int fanouts[BENCH_PUBSUB_FANOUTS];
} bench_pubsub_opts_t;

/* Per system ([0] ours on the event stream, [1] the raw XPUB/XSUB proxy,
 * [2] ours without the stream: latency only [0] and [1]) and round;
 * < 0: failed. */
/* Publish-to-handler against call-to-handler (evlat.c): p50 and p99 in
 * microseconds, < 0 failed. */
typedef struct {
    double event_handler_us[2]; /* PUBLISH sent to the handler running */
    double event_rtt_us[2];     /* ... and its event back, received */
    double call_handler_us[2];  /* CALL sent to the handler running */
    double call_rtt_us[2];      /* ... and its reply, received */
} bench_evlat_result_t;

/* bench_run_evlat starts bin_dir/chaos on the broker at endpoint,
 * measures for about seconds, one event or call at a time, and stops
 * it. */
bench_evlat_result_t bench_run_evlat(
    const char *bin_dir, const char *endpoint, double seconds, bool verbose);

typedef struct {
    /* events delivered per second */
    double per_s[3][BENCH_PUBSUB_FANOUTS][BENCH_PUBSUB_ROUNDS];
    /* CPU of the broker (ours) or the proxy (raw) per event published, us */
    double cpu_us[3][BENCH_PUBSUB_FANOUTS][BENCH_PUBSUB_ROUNDS];
    double p50_us[2]; /* publish to receipt */
    double p99_us[2];
    /* fan-out 1 beside 65,536 subscriptions the events do not match (the
     * broker's whole table): events/s, and CPU us per event as cpu_us */
    double held_per_s[2];
    double held_cpu_us[2];
    bench_evlat_result_t evlat; /* ours: to an actor's handler */
} bench_pubsub_result_t;

/* bench_run_pubsub starts our broker and a raw proxy of its own, measures
 * the fan-out throughput (o->rounds times, the systems alternating), the
 * latency of both and ours to an actor's handler (bench_run_evlat; its
 * bin_dir needs chaos), and stops them. */
void bench_run_pubsub(const bench_pubsub_opts_t *o, bench_pubsub_result_t *r);

/* ---- group.c: a group of 4 against the same 4 by their own addresses -- */

typedef struct {
    const char *bin_dir;   /* actors-broker, chaos */
    const char *transport; /* "tcp" or "ipc" */
    const char *tmp_dir;   /* ipc sockets */
    double seconds;        /* per run */
    int window;            /* calls in flight */
    int rounds;            /* runs of each, alternating; the median */
    bool verbose;          /* children's stderr kept */
} bench_group_opts_t;

typedef struct {
    double group_per_s; /* pipelined echo calls/s to the group; < 0 failed */
    double own_per_s;   /* the same, round robin to bench/own/0..3 */
} bench_group_result_t;

/* bench_run_group starts its own broker and 8 chaos actors, measures,
 * stops them. */
bench_group_result_t bench_run_group(const bench_group_opts_t *o);

/* ---- the idle figures (idle.c) -------------------------------------- */

/* The cost of idle registered actors to the broker, and their CPU. Per
 * system (ours, raw); NaN: not measured. */
typedef struct {
    double broker_kib_per_actor; /* (VmRSS with N - VmRSS with 0) / N */
    double broker_fds_per_actor; /* (fds with N - fds with 0) / N */
    double broker_cpu_pct;       /* % of one vCPU while idle */
    double actors_cpu_pct;       /* same, summed over the N actors */
} bench_idle_result_t;

/* bench_run_idle starts, for ours and raw (d[0], d[1]), a broker of its
 * own, reads its memory and descriptors, starts nactors idle workers,
 * reads them again, then measures the CPU of the broker and of the
 * workers over `seconds`, both systems in the same window, and stops
 * everything. */
void bench_run_idle(const bench_driver_t *const d[2],
    const bench_env_opts_t *opts, int nactors, double seconds,
    bench_idle_result_t out[2]);

/* ---- the raw worker (raw.c) ---------------------------------------- */

/* bench_worker_main runs a raw echo worker: argv after "--worker":
 * --connect EP --id ID (behind the raw broker) or --bind EP (direct).
 * Returns the exit status. */
int bench_worker_main(int argc, char **argv);

/* ---- concurrency (conc.c) ------------------------------------------ */

/* Seconds taken by 40 tasks of 100 ms on a pool of 4 one-at-a-time
 * sleepers, and on one sleeper of max_concurrency 4; -1 if not measured. */
typedef struct {
    double pool_s;
    double threads_s;
} bench_conc_result_t;

/* bench_run_conc runs both with a broker of its own (bin_dir holds
 * actors-broker and sleeper). */
bench_conc_result_t bench_run_conc(const char *bin_dir, bool verbose);

#endif
