/* bench/actors-bench/proc.c - starting and stopping the processes under test.
 * SPDX-License-Identifier: MIT
 *
 * Brokers and workers print "ENDPOINT <ep>" once bound; we read that line
 * from a pipe with a deadline (poll). Children without an ENDPOINT line
 * get /dev/null as stdout.
 *
 * Every child is remembered until it is reaped, so that whatever way this
 * program ends (a signal, a crash, exit() on an error path) takes them
 * down by pid: a fan-out of 1000 actors must not outlive a failed run.
 */
#define _GNU_SOURCE /* pipe2 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

extern char **environ;

/* Every child still running, so that a signal to this program can take
 * them down with it (s_on_fatal_signal). Slots are written only by the
 * main thread; the handler only reads them. Room for two systems' worth
 * of BENCH_MAX_WORKERS plus brokers. */
#define MAX_CHILDREN (2 * BENCH_MAX_WORKERS + 64)
static volatile sig_atomic_t s_children[MAX_CHILDREN];
static int s_child_hint; /* where s_child_add starts looking */

static void
s_child_add(int pid)
{
    for (int k = 0; k < MAX_CHILDREN; k++) {
        int i = (s_child_hint + k) % MAX_CHILDREN;
        if (s_children[i] == 0) {
            s_children[i] = pid;
            s_child_hint = (i + 1) % MAX_CHILDREN;
            return;
        }
    }
}

static void
s_child_remove(int pid)
{
    for (int i = 0; i < MAX_CHILDREN; i++) {
        if (s_children[i] == pid) {
            s_children[i] = 0;
        }
    }
}

/* s_kill_children SIGKILLs every child still listed (async-signal-safe). */
static void
s_kill_children(void)
{
    for (int i = 0; i < MAX_CHILDREN; i++) {
        if (s_children[i] > 0) {
            kill((pid_t)s_children[i], SIGKILL);
        }
    }
}

static void
s_on_fatal_signal(int sig)
{
    s_kill_children();
    signal(sig, SIG_DFL);
    raise(sig);
}

/* s_at_exit: an exit() on an error path leaves no child behind. */
static void
s_at_exit(void)
{
    s_kill_children();
    for (int i = 0; i < MAX_CHILDREN; i++) {
        if (s_children[i] > 0) {
            waitpid((pid_t)s_children[i], NULL, 0);
            s_children[i] = 0;
        }
    }
}

void
bench_proc_cleanup_on_signals(void)
{
    static const int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGSEGV,
        SIGBUS, SIGFPE, SIGILL, SIGABRT};
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_fatal_signal;
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) {
        sigaction(sigs[i], &sa, NULL);
    }
    atexit(s_at_exit);
}

long
bench_proc_raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        return -1;
    }
    if (rl.rlim_cur < rl.rlim_max) {
        struct rlimit want = rl;
        want.rlim_cur = rl.rlim_max;
        /* An unlimited hard limit is still capped by fs.nr_open. */
        while (setrlimit(RLIMIT_NOFILE, &want) != 0 &&
               want.rlim_cur / 2 > rl.rlim_cur) {
            want.rlim_cur /= 2;
        }
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    return rl.rlim_cur == RLIM_INFINITY ? -1 : (long)rl.rlim_cur;
}

actors_err
bench_proc_read_endpoint(int fd, char *endpoint, size_t cap, int timeout_ms)
{
    char buf[1024];
    size_t len = 0;
    uint64_t deadline = bench_now_ns() + (uint64_t)timeout_ms * 1000000u;
    for (;;) {
        char *nl = memchr(buf, '\n', len);
        while (nl) {
            *nl = '\0';
            if (strncmp(buf, "ENDPOINT ", 9) == 0) {
                snprintf(endpoint, cap, "%s", buf + 9);
                return ACTORS_OK;
            }
            size_t used = (size_t)(nl - buf) + 1;
            memmove(buf, nl + 1, len - used);
            len -= used;
            nl = memchr(buf, '\n', len);
        }
        uint64_t now = bench_now_ns();
        if (now >= deadline || len == sizeof buf) {
            return ACTORS_ETIMEDOUT;
        }
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int left = (int)((deadline - now) / 1000000u) + 1;
        int rc = poll(&pfd, 1, left);
        if (rc < 0 && errno != EINTR) {
            return ACTORS_EIO;
        }
        if (rc > 0) {
            ssize_t got = read(fd, buf + len, sizeof buf - len);
            if (got <= 0) {
                return ACTORS_EIO; /* the child died or closed stdout */
            }
            len += (size_t)got;
        }
    }
}

actors_err
bench_proc_start(char *const argv[], bool quiet, int *fd, int *pid)
{
    int fds[2] = {-1, -1};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    if (fd) {
        /* Close-on-exec: later children must not inherit this pipe. */
        if (pipe2(fds, O_CLOEXEC) != 0) {
            posix_spawn_file_actions_destroy(&fa);
            return ACTORS_EIO;
        }
        posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    } else {
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    }
    if (quiet) {
        posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    }
    pid_t child;
    int rc = posix_spawn(&child, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (fds[1] >= 0) {
        close(fds[1]);
    }
    if (rc != 0) {
        fprintf(
            stderr, "actors-bench: cannot run %s: %s\n", argv[0], strerror(rc));
        if (fds[0] >= 0) {
            close(fds[0]);
        }
        return ACTORS_EIO;
    }
    *pid = (int)child;
    s_child_add(*pid);
    if (fd) {
        *fd = fds[0];
    }
    return ACTORS_OK;
}

/* s_nthreads is how many threads this process has; 0 if unknown. */
static int
s_nthreads(void)
{
    FILE *fp = fopen("/proc/self/status", "r");
    if (!fp) {
        return 0;
    }
    char line[256];
    int n = 0;
    while (fgets(line, sizeof line, fp)) {
        if (sscanf(line, "Threads: %d", &n) == 1) {
            break;
        }
    }
    fclose(fp);
    return n;
}

/* s_child_setup makes a forked child its own program: no inherited
 * cleanup duties, default signals, killed with the bench, stdout to out
 * (or /dev/null), stderr to /dev/null if quiet, no other descriptors. */
static void
s_child_setup(pid_t parent, int out, bool quiet)
{
    /* The parent's children are not this one's to kill (atexit, signals). */
    for (int i = 0; i < MAX_CHILDREN; i++) {
        s_children[i] = 0;
    }
    for (int sig = 1; sig < NSIG; sig++) {
        signal(sig, SIG_DFL); /* fails harmlessly for SIGKILL, SIGSTOP */
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) {
        _exit(1); /* the bench is already gone */
    }
    int null = open("/dev/null", O_RDWR);
    dup2(out >= 0 ? out : null, 1);
    if (quiet) {
        dup2(null, 2);
    }
    close_range(3, ~0u, 0);
}

actors_err
bench_proc_fork(
    bench_main_fn fn, int argc, char **argv, bool quiet, int *fd, int *pid)
{
    if (s_nthreads() != 1) {
        return ACTORS_EAGAIN;
    }
    int fds[2] = {-1, -1};
    if (fd && pipe2(fds, O_CLOEXEC) != 0) {
        return ACTORS_EIO;
    }
    fflush(NULL); /* nothing buffered may be written twice */
    pid_t parent = getpid();
    pid_t child = fork();
    if (child == 0) {
        s_child_setup(parent, fds[1], quiet);
        int status = fn(argc, argv);
        fflush(NULL);
        _exit(status);
    }
    if (fds[1] >= 0) {
        close(fds[1]);
    }
    if (child < 0) {
        fprintf(stderr, "actors-bench: fork: %s\n", strerror(errno));
        if (fds[0] >= 0) {
            close(fds[0]);
        }
        return ACTORS_EIO;
    }
    *pid = (int)child;
    s_child_add(*pid);
    if (fd) {
        *fd = fds[0];
    }
    return ACTORS_OK;
}

actors_err
bench_proc_spawn(char *const argv[], char *endpoint, size_t cap, int timeout_ms,
    bool quiet, int *pid)
{
    int fd = -1;
    actors_err err = bench_proc_start(argv, quiet, endpoint ? &fd : NULL, pid);
    if (err != ACTORS_OK || !endpoint) {
        return err;
    }
    err = bench_proc_read_endpoint(fd, endpoint, cap, timeout_ms);
    if (err != ACTORS_OK) {
        close(fd);
        fprintf(stderr, "actors-bench: %s printed no ENDPOINT line\n", argv[0]);
        bench_proc_stop(*pid);
        *pid = -1;
    }
    return err;
}

uint64_t
bench_proc_cpu_ns(int pid)
{
    char path[64];
    if (pid > 0) {
        snprintf(path, sizeof path, "/proc/%d/task", pid);
    } else {
        snprintf(path, sizeof path, "/proc/self/task");
    }
    DIR *dir = opendir(path);
    if (!dir) {
        return 0;
    }
    uint64_t total = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        if (e->d_name[0] == '.') {
            continue;
        }
        char file[600];
        snprintf(file, sizeof file, "%s/%s/schedstat", path, e->d_name);
        FILE *fp = fopen(file, "r");
        if (!fp) {
            continue;
        }
        unsigned long long ns = 0;
        if (fscanf(fp, "%llu", &ns) == 1) {
            total += ns;
        }
        fclose(fp);
    }
    closedir(dir);
    return total;
}

void
bench_proc_stop(int pid)
{
    bench_proc_stop_all(&pid, 1);
}

void
bench_proc_stop_all(int *pids, int n)
{
    int left = 0;
    for (int i = 0; i < n; i++) {
        if (pids[i] > 0) {
            kill((pid_t)pids[i], SIGTERM);
            left++;
        }
    }
    /* They exit in parallel; on 2 CPUs 1000 of them need a moment more. */
    uint64_t deadline =
        bench_now_ns() + 2000000000u + (uint64_t)left * 5000000u;
    while (left > 0 && bench_now_ns() < deadline) {
        for (int i = 0; i < n; i++) {
            if (pids[i] > 0 && !bench_proc_alive(pids[i])) {
                pids[i] = -1;
                left--;
            }
        }
        if (left > 0) {
            struct timespec ts = {0, 2000000};
            nanosleep(&ts, NULL);
        }
    }
    for (int i = 0; i < n; i++) {
        if (pids[i] > 0) {
            kill((pid_t)pids[i], SIGKILL);
            waitpid((pid_t)pids[i], NULL, 0);
            s_child_remove(pids[i]);
        }
        pids[i] = -1;
    }
}

bool
bench_proc_alive(int pid)
{
    if (pid <= 0) {
        return false;
    }
    pid_t r = waitpid((pid_t)pid, NULL, WNOHANG);
    if (r == 0) {
        return true;
    }
    if (r == (pid_t)pid || (r < 0 && errno == ECHILD)) {
        s_child_remove(pid);
        return false;
    }
    return true; /* EINTR: ask again later */
}

long
bench_proc_rss_kib(int pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *fp = fopen(path, "r");
    if (!fp) {
        return -1;
    }
    char line[256];
    long kib = -1;
    while (fgets(line, sizeof line, fp)) {
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1) {
            break;
        }
    }
    fclose(fp);
    return kib;
}

long
bench_proc_nfds(int pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", pid);
    DIR *dir = opendir(path);
    if (!dir) {
        return -1;
    }
    long n = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        if (e->d_name[0] != '.') {
            n++;
        }
    }
    closedir(dir);
    return n;
}
