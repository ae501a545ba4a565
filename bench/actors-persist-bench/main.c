/* bench/actors-persist-bench/main.c - persisted calls per second, per
 * durability policy and backend (issue #6).
 * SPDX-License-Identifier: MIT
 *
 *   actors-persist-bench [--seconds S] [--window W] [--json]
 *
 * For each backend (file in a mkdtemp() directory; Redis when a
 * redis-server is on PATH: its own, on a unix socket, appendonly yes,
 * appendfsync always) and each policy (always, group:2, none), it starts
 * the real actors-broker and an account with a key, pipelines W deposits
 * (64 by default, the actor's prefetch) for S seconds (default 1) and reports
 * acknowledged deposits per second (each one durable under the policy when
 * acknowledged), plus the in-memory account (no key) as the baseline.
 * Binaries are taken from the directory of this executable. Figures, not
 * checks: nothing here fails on a slow machine.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <actors/actors.h>

#define S_ADDR "account/bench"

static char s_bin[PATH_MAX];

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

/* s_spawn runs argv with stdout on a pipe (*out_fd) if out_fd. */
static pid_t
s_spawn(char *const argv[], int *out_fd)
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
        execvp(argv[0], argv);
        _exit(127);
    }
    if (out_fd != NULL) {
        close(p[1]);
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
s_broker(char *ep, size_t len)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/actors-broker", s_bin);
    char *argv[] = {path, "--bind", "tcp://127.0.0.1:*", NULL};
    int fd = -1;
    pid_t pid = s_spawn(argv, &fd);
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
    }
    if (ep[0] == '\0') {
        s_stop(pid);
        return -1;
    }
    return pid;
}

/* s_measure runs one configuration: deposits per second, or -1. */
static double
s_measure(const char *ep, const char *key, double seconds, int window)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/account", s_bin);
    char *argv[] = {path, "--broker", (char *)ep, "--address", S_ADDR, "0", "0",
        (char *)key, NULL};
    if (key == NULL) {
        argv[7] = NULL;
    }
    pid_t acc = s_spawn(argv, NULL);
    actors_client_t *c = NULL;
    if (acc < 0 || actors_client_create(&c, ep) != ACTORS_OK) {
        s_stop(acc);
        return -1;
    }
    /* Ready when a balance call succeeds (10 s deadline). */
    bool ready = false;
    for (double end = s_now() + 10; !ready && s_now() < end;) {
        actors_call_opts_t o = ACTORS_CALL_OPTS_INIT;
        o.timeout_ms = 200;
        actors_future_t *f = NULL;
        if (actors_client_call_fmt(c, S_ADDR, "balance", &o, &f, "") ==
            ACTORS_OK) {
            ready = actors_future_get(f, 1000, NULL) == ACTORS_OK;
        }
        actors_future_destroy(&f);
        if (!ready) {
            s_pause_ms(20); /* poll pause between readiness probes */
        }
    }
    double rate = -1;
    actors_future_t **fs = calloc((size_t)window, sizeof *fs);
    if (ready && fs != NULL) {
        long done = 0;
        bool ok = true;
        double start = s_now();
        double end = start + seconds;
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

int
main(int argc, char **argv)
{
    double seconds = 1;
    int window = 64;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            seconds = atof(argv[++i]);
        } else if (strcmp(argv[i], "--window") == 0 && i + 1 < argc) {
            window = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else {
            fprintf(stderr,
                "usage: actors-persist-bench [--seconds S] [--window W] "
                "[--json]\n");
            return 2;
        }
    }
    if (seconds <= 0 || window <= 0 || window > 4096) {
        fprintf(stderr, "actors-persist-bench: bad --seconds or --window\n");
        return 2;
    }
    ssize_t n = readlink("/proc/self/exe", s_bin, sizeof s_bin - 1);
    if (n <= 0) {
        return 1;
    }
    s_bin[n] = '\0';
    *strrchr(s_bin, '/') = '\0';
    char dir[] = "/tmp/actors-persist-bench-XXXXXX";
    if (mkdtemp(dir) == NULL) {
        return 1;
    }
    char ep[256];
    pid_t broker = s_broker(ep, sizeof ep);
    if (broker < 0) {
        fprintf(stderr, "actors-persist-bench: cannot start the broker\n");
        return 1;
    }
    const char *policies[] = {"always", "group:2", "none"};
    const char *backends[] = {"file", "redis"};
    pid_t redis = -1;
    char sock[128];
    snprintf(sock, sizeof sock, "%s/redis.sock", dir);
    if (s_on_path("redis-server")) {
        char log[128];
        snprintf(log, sizeof log, "%s/redis.log", dir);
        char *rargv[] = {"redis-server", "--port", "0", "--unixsocket", sock,
            "--dir", dir, "--appendonly", "yes", "--appendfsync", "always",
            "--save", "", "--logfile", log, NULL};
        redis = s_spawn(rargv, NULL);
        for (double end = s_now() + 10;
             access(sock, F_OK) != 0 && s_now() < end;) {
            s_pause_ms(10); /* poll pause: wait for the socket */
        }
    }
    if (!json) {
        printf(
            "persisted deposits/s (window %d, %.1f s each)\n", window, seconds);
        printf("%-8s %-10s %12s\n", "backend", "policy", "calls/s");
    } else {
        printf("[");
    }
    double mem = s_measure(ep, NULL, seconds, window);
    if (json) {
        printf("{\"backend\":\"memory\",\"policy\":\"-\",\"calls_per_s\":%.0f}",
            mem);
    } else {
        printf("%-8s %-10s %12.0f\n", "memory", "-", mem);
    }
    char state[128];
    snprintf(state, sizeof state, "%s/state", dir);
    setenv("ACTORS_STATE_DIR", state, 1);
    for (int b = 0; b < 2; b++) {
        if (b == 1) {
            if (redis < 0) {
                fprintf(stderr, "actors-persist-bench: no redis-server\n");
                break;
            }
            char url[160];
            snprintf(url, sizeof url, "unix://%s", sock);
            setenv("ACTORS_REDIS", url, 1);
        }
        for (int p = 0; p < 3; p++) {
            setenv("ACTORS_PERSIST_SYNC", policies[p], 1);
            char key[64];
            snprintf(key, sizeof key, "\"bench-%s-%d\"", backends[b], p);
            double r = s_measure(ep, key, seconds, window);
            if (json) {
                printf(",{\"backend\":\"%s\",\"policy\":\"%s\","
                       "\"calls_per_s\":%.0f}",
                    backends[b], policies[p], r);
            } else {
                printf("%-8s %-10s %12.0f\n", backends[b], policies[p], r);
            }
            fflush(stdout);
        }
    }
    if (json) {
        printf("]\n");
    }
    s_stop(redis);
    s_stop(broker);
    nftw(dir, s_rm, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}
