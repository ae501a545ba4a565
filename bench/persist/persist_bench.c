/* bench/persist/persist_bench.c - persisted calls per second, per
 * durability policy and backend (persist_bench.h).
 * SPDX-License-Identifier: MIT
 *
 * Processes are started with fork/exec and PR_SET_PDEATHSIG, so they die
 * with this program whatever happens; the binaries come from bin_dir.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <actors/actors.h>

#include "persist_bench.h"

#define S_ADDR "account/bench"

/* The variables the accounts read, saved and restored around a run. */
static const char *const s_env_vars[] = {
    "ACTORS_STATE_DIR", "ACTORS_REDIS", "ACTORS_PERSIST_SYNC"};
#define S_NENV (sizeof s_env_vars / sizeof *s_env_vars)

static double
s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
s_pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int
s_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* s_spawn runs argv with stdout on a pipe (*out_fd) if out_fd; quiet:
 * stderr to /dev/null. Returns the pid, or -1. */
static pid_t
s_spawn(char *const argv[], int *out_fd, bool quiet)
{
    int p[2] = {-1, -1};
    if (out_fd != NULL && pipe(p) != 0) {
        return -1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (out_fd != NULL) {
            dup2(p[1], 1);
            close(p[0]);
            close(p[1]);
        }
        if (quiet) {
            int null = open("/dev/null", O_WRONLY);
            if (null >= 0) {
                dup2(null, 2);
                close(null);
            }
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    if (out_fd != NULL) {
        close(p[1]);
        if (pid < 0) {
            close(p[0]);
            return -1;
        }
        *out_fd = p[0];
    }
    return pid;
}

static void
s_stop(pid_t pid)
{
    if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
}

/* s_broker starts the broker and reads its endpoint into ep. */
static pid_t
s_broker(const persist_bench_opts_t *o, char *ep, size_t len)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/actors-broker", o->bin_dir);
    char *argv[] = {path, "--bind", "tcp://127.0.0.1:*", NULL};
    int fd = -1;
    pid_t pid = s_spawn(argv, &fd, o->quiet);
    if (pid < 0) {
        return -1;
    }
    FILE *f = fdopen(fd, "r");
    char line[256];
    ep[0] = '\0';
    if (f != NULL && fgets(line, sizeof line, f) != NULL &&
        sscanf(line, "ENDPOINT %255s", line) == 1) {
        snprintf(ep, len, "%s", line);
    }
    if (f != NULL) {
        fclose(f);
    } else {
        close(fd);
    }
    if (ep[0] == '\0') {
        s_stop(pid);
        return -1;
    }
    return pid;
}

/* s_measure runs one configuration: deposits per second, or -1. */
static double
s_measure(const persist_bench_opts_t *o, const char *bin_dir, const char *ep,
    const char *key)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/account", bin_dir);
    char *argv[] = {path, "--broker", (char *)ep, "--address", S_ADDR, "0", "0",
        (char *)key, NULL};
    if (key == NULL) {
        argv[7] = NULL;
    }
    pid_t acc = s_spawn(argv, NULL, o->quiet);
    actors_client_t *c = NULL;
    if (acc < 0 || actors_client_create(&c, ep) != ACTORS_OK) {
        s_stop(acc);
        return -1;
    }
    /* Ready when a balance call succeeds (10 s deadline). */
    bool ready = false;
    for (double end = s_now() + 10; !ready && s_now() < end;) {
        actors_call_opts_t co = ACTORS_CALL_OPTS_INIT;
        co.timeout_ms = 200;
        actors_future_t *f = NULL;
        if (actors_client_call_fmt(c, S_ADDR, "balance", &co, &f, "") ==
            ACTORS_OK) {
            ready = actors_future_get(f, 1000, NULL) == ACTORS_OK;
        }
        actors_future_destroy(&f);
        if (!ready) {
            s_pause_ms(20); /* poll pause between readiness probes */
        }
    }
    int window = o->window;
    double rate = -1;
    actors_future_t **fs = calloc((size_t)window, sizeof *fs);
    if (ready && fs != NULL) {
        long done = 0;
        bool ok = true;
        double start = s_now();
        double end = start + o->seconds;
        for (int i = 0; i < window && ok; i++) {
            ok = actors_client_call_fmt(
                     c, S_ADDR, "deposit", NULL, &fs[i], "i", 1) == ACTORS_OK;
        }
        for (int i = 0; ok; i = (i + 1) % window) {
            if (fs[i] == NULL) {
                break;
            }
            ok = actors_future_get(fs[i], 10000, NULL) == ACTORS_OK;
            actors_future_destroy(&fs[i]);
            done += ok;
            if (ok && s_now() < end) {
                ok = actors_client_call_fmt(c, S_ADDR, "deposit", NULL, &fs[i],
                         "i", 1) == ACTORS_OK;
            }
        }
        double took = s_now() - start;
        rate = ok || done > 0 ? (double)done / took : -1;
        for (int i = 0; i < window; i++) {
            actors_future_destroy(&fs[i]);
        }
    }
    free(fs);
    actors_client_destroy(&c);
    s_stop(acc);
    return rate;
}

static bool
s_on_path(const char *prog)
{
    const char *p = getenv("PATH");
    char path[PATH_MAX];
    for (const char *d = p != NULL ? p : "/usr/bin"; *d;) {
        size_t n = strcspn(d, ":");
        snprintf(path, sizeof path, "%.*s/%s", (int)n, d, prog);
        if (access(path, X_OK) == 0) {
            return true;
        }
        d += n + (d[n] == ':');
    }
    return false;
}

/* s_redis starts a redis-server on dir/redis.sock (sock) and waits up to
 * 10 s for its socket; -1 with out->note set if there is none. */
static pid_t
s_redis(const persist_bench_opts_t *o, const char *dir, const char *sock,
    persist_bench_result_t *out)
{
    if (!s_on_path("redis-server")) {
        snprintf(out->note, sizeof out->note,
            "no redis-server on PATH: redis rows skipped");
        return -1;
    }
    char log[PATH_MAX];
    snprintf(log, sizeof log, "%s/redis.log", dir);
    char *rargv[] = {"redis-server", "--port", "0", "--unixsocket",
        (char *)sock, "--dir", (char *)dir, "--appendonly", "yes",
        "--appendfsync", "always", "--save", "", "--logfile", log, NULL};
    pid_t redis = s_spawn(rargv, NULL, o->quiet);
    for (double end = s_now() + 10;
         redis > 0 && access(sock, F_OK) != 0 && s_now() < end;) {
        s_pause_ms(10); /* poll pause: wait for the socket */
    }
    if (redis < 0 || access(sock, F_OK) != 0) {
        s_stop(redis);
        snprintf(out->note, sizeof out->note,
            "redis-server did not start: redis rows skipped");
        return -1;
    }
    return redis;
}

/* s_row measures one configuration into the next row of out. */
static void
s_row(const persist_bench_opts_t *o, const char *ep, const char *backend,
    const char *policy, persist_bench_result_t *out)
{
    persist_bench_row_t *r = &out->rows[out->nrows++];
    r->backend = backend;
    r->policy = policy;
    char key[64];
    const char *k = NULL;
    if (strcmp(backend, "memory") == 0) {
        snprintf(r->slug, sizeof r->slug, "memory");
    } else {
        /* "group:2" -> "file_group": figure names carry no parameters */
        snprintf(r->slug, sizeof r->slug, "%s_%.*s", backend,
            (int)strcspn(policy, ":"), policy);
        snprintf(key, sizeof key, "\"bench-%s\"", r->slug);
        setenv("ACTORS_PERSIST_SYNC", policy, 1);
        k = key;
    }
    if (o->base_dir == NULL) {
        r->calls_per_s = s_measure(o, o->bin_dir, ep, k);
        return;
    }
    /* Side by side: ours, theirs, ours, theirs (one key each, so neither
     * replays the other's journal); the best of each. */
    char base_key[80];
    if (k != NULL) {
        snprintf(base_key, sizeof base_key, "\"bench-base-%s\"", r->slug);
    }
    r->calls_per_s = -1;
    r->base_calls_per_s = -1;
    for (int round = 0; round < 2; round++) {
        double v = s_measure(o, o->bin_dir, ep, k);
        r->calls_per_s = v > r->calls_per_s ? v : r->calls_per_s;
        v = s_measure(o, o->base_dir, ep, k != NULL ? base_key : NULL);
        r->base_calls_per_s = v > r->base_calls_per_s ? v : r->base_calls_per_s;
    }
}

/* s_redis_benchmark runs redis-benchmark -t rpush -c 1 [-P pipeline]
 * against sock for n requests: requests/s, or 0. */
static double
s_redis_benchmark(
    const persist_bench_opts_t *o, const char *sock, int pipeline, int n)
{
    if (!s_on_path("redis-benchmark")) {
        return 0;
    }
    char p[16];
    char ns[16];
    snprintf(p, sizeof p, "%d", pipeline);
    snprintf(ns, sizeof ns, "%d", n);
    char *argv[] = {"redis-benchmark", "-s", (char *)sock, "-t", "rpush", "-c",
        "1", "-P", p, "-n", ns, "-q", NULL};
    int fd = -1;
    pid_t pid = s_spawn(argv, &fd, o->quiet);
    if (pid < 0) {
        return 0;
    }
    /* -q prints progress lines ending in \r, then "RPUSH: 13000.00
     * requests per second, p50=...": keep the whole output, read the last */
    static char out[1 << 16];
    size_t got = 0;
    for (ssize_t r = 1; r > 0;) {
        if (got > sizeof out - 4096) { /* keep the tail: the result */
            memmove(out, out + got - 1024, 1024);
            got = 1024;
        }
        r = read(fd, out + got, sizeof out - 1 - got);
        got += r > 0 ? (size_t)r : 0;
    }
    close(fd);
    out[got] = '\0';
    double rps = 0;
    for (char *at = strstr(out, "RPUSH: "); at != NULL;
         at = strstr(at + 1, "RPUSH: ")) {
        double v = 0;
        char *end = NULL;
        v = strtod(at + 7, &end);
        if (end != NULL && strncmp(end, " requests per second", 20) == 0) {
            rps = v;
        }
    }
    waitpid(pid, NULL, 0);
    return rps;
}

actors_err
persist_bench_run(const persist_bench_opts_t *o, persist_bench_result_t *out)
{
    memset(out, 0, sizeof *out);
    if (o->bin_dir == NULL || !(o->seconds > 0) || o->window < 1 ||
        o->window > 4096) {
        return ACTORS_EINVAL;
    }
    char dir[] = "/tmp/actors-persist-bench-XXXXXX";
    if (mkdtemp(dir) == NULL) {
        return ACTORS_EIO;
    }
    char ep[256];
    pid_t broker = s_broker(o, ep, sizeof ep);
    if (broker < 0) {
        nftw(dir, s_rm, 16, FTW_DEPTH | FTW_PHYS);
        return ACTORS_EIO;
    }
    char *saved[S_NENV];
    for (size_t i = 0; i < S_NENV; i++) {
        const char *v = getenv(s_env_vars[i]);
        saved[i] = v != NULL ? strdup(v) : NULL;
    }
    char sock[PATH_MAX];
    snprintf(sock, sizeof sock, "%s/redis.sock", dir);
    pid_t redis = s_redis(o, dir, sock, out);

    s_row(o, ep, "memory", "-", out);
    char state[PATH_MAX];
    snprintf(state, sizeof state, "%s/state", dir);
    setenv("ACTORS_STATE_DIR", state, 1);
    unsetenv("ACTORS_REDIS");
    static const char *const policies[] = {"always", "group:2", "none"};
    for (int b = 0; b < 2; b++) {
        if (b == 1) {
            if (redis < 0) {
                break;
            }
            char url[PATH_MAX + 8];
            snprintf(url, sizeof url, "unix://%s", sock);
            setenv("ACTORS_REDIS", url, 1);
        }
        for (int p = 0; p < 3; p++) {
            s_row(o, ep, b == 0 ? "file" : "redis", policies[p], out);
        }
    }
    if (redis > 0) {
        out->redis_rpush = s_redis_benchmark(o, sock, 1, 20000);
        out->redis_rpush_p16 = s_redis_benchmark(o, sock, 16, 200000);
    }

    for (size_t i = 0; i < S_NENV; i++) {
        if (saved[i] != NULL) {
            setenv(s_env_vars[i], saved[i], 1);
        } else {
            unsetenv(s_env_vars[i]);
        }
        free(saved[i]);
    }
    s_stop(redis);
    s_stop(broker);
    nftw(dir, s_rm, 16, FTW_DEPTH | FTW_PHYS);
    return ACTORS_OK;
}
