/* bench/actors-bench/proc.c - starting and stopping the processes under test.
 * SPDX-License-Identifier: MIT
 *
 * Brokers and workers print "ENDPOINT <ep>" once bound; we read that line
 * from a pipe with a deadline (poll). Children without an ENDPOINT line
 * get /dev/null as stdout.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

extern char **environ;

/* Every child still running, so that a signal to this program can take
 * them down with it (s_on_fatal_signal). Slots are written only by the
 * main thread; the handler only reads them. */
#define MAX_CHILDREN 256
static volatile sig_atomic_t s_children[MAX_CHILDREN];

static void
s_child_add(int pid)
{
    for (int i = 0; i < MAX_CHILDREN; i++) {
        if (s_children[i] == 0) {
            s_children[i] = pid;
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

static void
s_on_fatal_signal(int sig)
{
    for (int i = 0; i < MAX_CHILDREN; i++) {
        if (s_children[i] > 0) {
            kill((pid_t)s_children[i], SIGKILL);
        }
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

void
bench_proc_cleanup_on_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_fatal_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

/* s_read_endpoint reads lines from fd until one starts with "ENDPOINT ". */
static actors_err
s_read_endpoint(int fd, char *endpoint, size_t cap, int timeout_ms)
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
bench_proc_spawn(char *const argv[], char *endpoint, size_t cap, int timeout_ms,
    bool quiet, int *pid)
{
    int fds[2] = {-1, -1};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    if (endpoint) {
        if (pipe(fds) != 0) {
            posix_spawn_file_actions_destroy(&fa);
            return ACTORS_EIO;
        }
        posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
        posix_spawn_file_actions_addclose(&fa, fds[0]);
        posix_spawn_file_actions_addclose(&fa, fds[1]);
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
    if (!endpoint) {
        return ACTORS_OK;
    }
    actors_err err = s_read_endpoint(fds[0], endpoint, cap, timeout_ms);
    /* The read end stays open until this program exits: closing it would
     * turn a later write to stdout into SIGPIPE for the child. The
     * programs we run print that one line and log to stderr. */
    if (err != ACTORS_OK) {
        close(fds[0]);
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
    if (pid <= 0) {
        return;
    }
    s_child_remove(pid);
    kill((pid_t)pid, SIGTERM);
    uint64_t deadline = bench_now_ns() + 2000000000u;
    for (;;) {
        pid_t r = waitpid((pid_t)pid, NULL, WNOHANG);
        if (r == (pid_t)pid || (r < 0 && errno == ECHILD)) {
            return;
        }
        if (bench_now_ns() >= deadline) {
            break;
        }
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, NULL);
    }
    kill((pid_t)pid, SIGKILL);
    waitpid((pid_t)pid, NULL, 0);
}
