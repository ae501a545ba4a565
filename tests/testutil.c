/* tests/testutil.c - processes, ports and raw frames for the tests.
 * SPDX-License-Identifier: MIT
 *
 * A small registry of the processes a test started (s_procs). Each test
 * runs in a child forked by Check; the registry lives in that child, and
 * three things make sure nothing outlives it: testutil_stop_all() from the
 * test's checked teardown, an atexit handler (Check's child exits after a
 * failed assertion without running the teardown), and PR_SET_PDEATHSIG in
 * every started process (Check kills a timed-out child with SIGKILL).
 *
 * The broker and services are found in the bin/ directory of the build
 * this test belongs to, so a sanitized test starts sanitized binaries.
 * Lookups go over a raw DEALER socket so that this file needs nothing of
 * libactors but its error names: every unit test links it.
 */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <msgpack.h>
#include <zmq.h>

#include <actors-internal/alloc.h>

#define TESTUTIL_MAX_PROCS 32
#define TESTUTIL_MAX_ARGS 64
#define TESTUTIL_START_MS 10000 /* deadline to start a broker or service */
#define TESTUTIL_STOP_MS 5000   /* deadline after SIGTERM, before SIGKILL */

static testutil_proc_t s_procs[TESTUTIL_MAX_PROCS]; /* started here */
static int s_nprocs;          /* used entries of s_procs */
static pid_t s_owner;         /* process that filled s_procs */
static bool s_atexit_set;     /* cleanup handler installed */
static char s_endpoint[256];  /* last broker's endpoint */
static void *s_lookup;        /* raw DEALER to s_lookup_ep */
static char s_lookup_ep[256]; /* endpoint s_lookup_sock uses */
static uint32_t s_lookup_seq; /* request ids of lookups */

void
testutil_fail_alloc_after(unsigned n)
{
    actors__alloc_fail_after(n);
}

/* ---- time ---------------------------------------------------------------- */

int64_t
testutil_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
testutil_poll_pause_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) { /* poll pause */
    }
}

bool
testutil_wait_until(testutil_pred_fn pred, void *arg, int timeout_ms)
{
    int64_t deadline = testutil_now_ms() + timeout_ms;
    int pause = 1;
    for (;;) {
        if (pred(arg)) {
            return true;
        }
        if (testutil_now_ms() >= deadline) {
            return pred(arg);
        }
        testutil_poll_pause_ms(pause); /* poll backoff until the deadline */
        if (pause < 20) {
            pause *= 2;
        }
    }
}

/* ---- directories --------------------------------------------------------- */

const char *
testutil_bin_dir(void)
{
    static char dir[PATH_MAX];
    if (dir[0] != '\0') {
        return dir;
    }
    const char *env = getenv("ACTORS_BIN_DIR");
    if (env != NULL && env[0] != '\0') {
        snprintf(dir, sizeof dir, "%s", env);
        return dir;
    }
    char exe[PATH_MAX - 8];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) {
        snprintf(dir, sizeof dir, "build/bin");
        return dir;
    }
    exe[n] = '\0';
    /* $(BUILD)/tests/<kind>/.../test_x: cut at the last "/tests/". */
    char *cut = NULL;
    for (char *p = strstr(exe, "/tests/"); p != NULL;
         p = strstr(p + 1, "/tests/")) {
        cut = p;
    }
    if (cut == NULL) {
        char *slash = strrchr(exe, '/');
        cut = slash != NULL ? slash : exe;
    }
    *cut = '\0';
    snprintf(dir, sizeof dir, "%s/bin", exe);
    return dir;
}

const char *
testutil_srcdir(void)
{
    const char *env = getenv("ACTORS_SRCDIR");
    return (env != NULL && env[0] != '\0') ? env : ".";
}

/* ---- processes ----------------------------------------------------------- */

static void
s_atexit_cleanup(void)
{
    if (s_owner == getpid()) {
        testutil_stop_all();
    }
}

static void
s_reap(testutil_proc_t *p, int status)
{
    p->status = status;
    p->reaped = true;
    if (p->out_fd >= 0) {
        close(p->out_fd);
        p->out_fd = -1;
    }
}

testutil_proc_t *
testutil_spawn(const char *const *argv, int flags)
{
    if (s_owner != getpid()) {
        /* A new Check child: the parent's entries are not ours. */
        s_nprocs = 0;
        s_owner = getpid();
        s_endpoint[0] = '\0';
        s_lookup = NULL;
    }
    if (!s_atexit_set) {
        atexit(s_atexit_cleanup);
        s_atexit_set = true;
    }
    if (s_nprocs == TESTUTIL_MAX_PROCS) {
        return NULL;
    }
    char path[PATH_MAX];
    if (strchr(argv[0], '/') != NULL) {
        snprintf(path, sizeof path, "%s", argv[0]);
    } else {
        snprintf(path, sizeof path, "%s/%s", testutil_bin_dir(), argv[0]);
    }
    if (access(path, X_OK) != 0) {
        fprintf(stderr, "testutil: cannot run %s: %s\n", path, strerror(errno));
        return NULL;
    }
    testutil_proc_t *p = &s_procs[s_nprocs];
    memset(p, 0, sizeof *p);
    p->out_fd = -1;
    int out[2] = {-1, -1};
    int err_fd = -1;
    if ((flags & TESTUTIL_PIPE_STDOUT) && pipe(out) != 0) {
        return NULL;
    }
    if (flags & TESTUTIL_CAPTURE_STDERR) {
        snprintf(
            p->err_path, sizeof p->err_path, "/tmp/actors-test-err.XXXXXX");
        err_fd = mkstemp(p->err_path);
        if (err_fd < 0) {
            p->err_path[0] = '\0';
        }
    }
    pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        if (out[0] >= 0) {
            close(out[0]);
            close(out[1]);
        }
        if (err_fd >= 0) {
            close(err_fd);
            unlink(p->err_path);
        }
        return NULL;
    }
    if (pid == 0) {
        /* Only async-signal-safe calls until exec. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) {
            _exit(127);
        }
        if (out[1] >= 0) {
            dup2(out[1], STDOUT_FILENO);
            close(out[0]);
            close(out[1]);
        }
        if (err_fd >= 0) {
            dup2(err_fd, STDERR_FILENO);
            close(err_fd);
        }
        execv(path, (char *const *)argv);
        _exit(127);
    }
    if (out[1] >= 0) {
        close(out[1]);
        p->out_fd = out[0];
    }
    if (err_fd >= 0) {
        close(err_fd);
    }
    p->pid = pid;
    s_nprocs++;
    return p;
}

bool
testutil_proc_running(testutil_proc_t *p)
{
    if (p == NULL || p->reaped) {
        return false;
    }
    int status = 0;
    pid_t r = waitpid(p->pid, &status, WNOHANG);
    if (r == p->pid) {
        s_reap(p, status);
        return false;
    }
    if (r < 0 && errno == ECHILD) {
        s_reap(p, 0);
        return false;
    }
    return true;
}

static bool
s_not_running(void *arg)
{
    return !testutil_proc_running(arg);
}

bool
testutil_proc_wait(testutil_proc_t *p, int timeout_ms, int *status)
{
    if (p == NULL) {
        return false;
    }
    bool done = testutil_wait_until(s_not_running, p, timeout_ms);
    if (done && status != NULL) {
        *status = p->status;
    }
    return done;
}

int
testutil_proc_exit_code(const testutil_proc_t *p)
{
    if (p == NULL || !p->reaped || !WIFEXITED(p->status)) {
        return -1;
    }
    return WEXITSTATUS(p->status);
}

const char *
testutil_proc_stderr(const testutil_proc_t *p)
{
    static char buf[16384];
    buf[0] = '\0';
    if (p == NULL || p->err_path[0] == '\0') {
        return buf;
    }
    FILE *f = fopen(p->err_path, "r");
    if (f == NULL) {
        return buf;
    }
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

void
testutil_proc_kill(testutil_proc_t *p, int sig)
{
    if (testutil_proc_running(p)) {
        kill(p->pid, sig);
    }
}

bool
testutil_proc_stop(testutil_proc_t *p, int timeout_ms)
{
    if (!testutil_proc_running(p)) {
        return true;
    }
    kill(p->pid, SIGTERM);
    if (testutil_proc_wait(p, timeout_ms, NULL)) {
        return true;
    }
    kill(p->pid, SIGKILL);
    testutil_proc_wait(p, TESTUTIL_STOP_MS, NULL);
    return false;
}

int
testutil_run(const char *const *argv, int timeout_ms, char *out, size_t out_len,
    char *err, size_t err_len)
{
    testutil_proc_t *p =
        testutil_spawn(argv, TESTUTIL_PIPE_STDOUT | TESTUTIL_CAPTURE_STDERR);
    if (out != NULL && out_len > 0) {
        out[0] = '\0';
    }
    if (err != NULL && err_len > 0) {
        err[0] = '\0';
    }
    if (p == NULL) {
        return -1;
    }
    /* Read stdout until EOF (the pipe closes when the process exits). */
    int64_t deadline = testutil_now_ms() + timeout_ms;
    size_t used = 0;
    for (;;) {
        int64_t left = deadline - testutil_now_ms();
        if (left <= 0) {
            break;
        }
        struct pollfd pfd = {p->out_fd, POLLIN, 0};
        int r = poll(&pfd, 1, (int)left);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            break;
        }
        char buf[4096];
        ssize_t n = read(p->out_fd, buf, sizeof buf);
        if (n <= 0) {
            break;
        }
        if (out != NULL && used + 1 < out_len) {
            size_t k =
                (size_t)n < out_len - 1 - used ? (size_t)n : out_len - 1 - used;
            memcpy(out + used, buf, k);
            used += k;
            out[used] = '\0';
        }
    }
    int64_t left = deadline - testutil_now_ms();
    if (!testutil_proc_wait(p, left > 0 ? (int)left : 0, NULL)) {
        testutil_proc_stop(p, TESTUTIL_STOP_MS);
        return -1;
    }
    if (err != NULL && err_len > 0) {
        snprintf(err, err_len, "%s", testutil_proc_stderr(p));
    }
    return testutil_proc_exit_code(p);
}

static bool
s_none_running(void *arg)
{
    (void)arg;
    bool none = true;
    for (int i = 0; i < s_nprocs; i++) {
        if (testutil_proc_running(&s_procs[i])) {
            none = false;
        }
    }
    return none;
}

void
testutil_stop_all(void)
{
    if (s_owner != getpid()) {
        return;
    }
    testutil_raw_close(&s_lookup);
    /* Services first, so that they need not wait for a gone broker. */
    for (int i = s_nprocs - 1; i >= 0; i--) {
        if (testutil_proc_running(&s_procs[i])) {
            kill(s_procs[i].pid, SIGTERM);
        }
    }
    if (!testutil_wait_until(s_none_running, NULL, TESTUTIL_STOP_MS)) {
        for (int i = 0; i < s_nprocs; i++) {
            if (testutil_proc_running(&s_procs[i])) {
                fprintf(stderr, "testutil: pid %d ignored SIGTERM; killing\n",
                    (int)s_procs[i].pid);
                kill(s_procs[i].pid, SIGKILL);
            }
        }
        testutil_wait_until(s_none_running, NULL, TESTUTIL_STOP_MS);
    }
    for (int i = 0; i < s_nprocs; i++) {
        if (s_procs[i].out_fd >= 0) {
            close(s_procs[i].out_fd);
            s_procs[i].out_fd = -1;
        }
        if (s_procs[i].err_path[0] != '\0') {
            unlink(s_procs[i].err_path);
            s_procs[i].err_path[0] = '\0';
        }
    }
    s_nprocs = 0;
    s_endpoint[0] = '\0';
}

/* ---- broker -------------------------------------------------------------- */

/* s_read_line reads one line from fd into buf before deadline_ms.
 * Returns true if a full line arrived. */
static bool
s_read_line(int fd, char *buf, size_t cap, int64_t deadline_ms)
{
    size_t used = 0;
    while (used + 1 < cap) {
        int64_t left = deadline_ms - testutil_now_ms();
        if (left <= 0) {
            return false;
        }
        struct pollfd pfd = {fd, POLLIN, 0};
        int r = poll(&pfd, 1, (int)left);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            return false;
        }
        ssize_t n = read(fd, buf + used, 1);
        if (n <= 0) {
            return false;
        }
        if (buf[used] == '\n') {
            buf[used] = '\0';
            return true;
        }
        used++;
    }
    return false;
}

const char *
testutil_endpoint(void)
{
    return s_endpoint;
}

/* s_socket_inodes reads the inodes of pid's socket descriptors into v (at
 * most cap). Returns how many, or -1. */
static int
s_socket_inodes(pid_t pid, unsigned long *v, int cap)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/fd", (long)pid);
    DIR *d = opendir(path);
    if (d == NULL) {
        return -1;
    }
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL && n < cap) {
        char link[PATH_MAX];
        char target[128];
        snprintf(link, sizeof link, "%s/%s", path, de->d_name);
        ssize_t len = readlink(link, target, sizeof target - 1);
        if (len <= 0) {
            continue;
        }
        target[len] = '\0';
        unsigned long ino = 0;
        if (sscanf(target, "socket:[%lu]", &ino) == 1) {
            v[n++] = ino;
        }
    }
    closedir(d);
    return n;
}

int
testutil_tcp_conns(pid_t pid, const char *endpoint)
{
    const char *colon = strrchr(endpoint, ':');
    unsigned port = 0;
    if (colon == NULL || sscanf(colon + 1, "%u", &port) != 1 || port == 0) {
        return -1;
    }
    unsigned long inodes[1024];
    int ninodes = s_socket_inodes(pid, inodes, 1024);
    if (ninodes < 0) {
        return -1;
    }
    int count = 0;
    bool read_any = false;
    const char *tables[2] = {"tcp", "tcp6"};
    for (int t = 0; t < 2; t++) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%ld/net/%s", (long)pid, tables[t]);
        FILE *f = fopen(path, "r");
        if (f == NULL) {
            continue;
        }
        read_any = true;
        char line[512];
        while (fgets(line, sizeof line, f) != NULL) {
            /* sl local rem st tx:rx tr:when retrnsmt uid timeout inode */
            char rem[64];
            unsigned st = 0;
            unsigned long ino = 0;
            if (sscanf(line, " %*s %*s %63s %x %*s %*s %*s %*s %*s %lu", rem,
                    &st, &ino) != 3 ||
                st != 1) { /* 01: ESTABLISHED */
                continue;
            }
            char *p = strrchr(rem, ':');
            if (p == NULL || strtoul(p + 1, NULL, 16) != port) {
                continue;
            }
            for (int i = 0; i < ninodes; i++) {
                if (inodes[i] == ino) {
                    count++;
                    break;
                }
            }
        }
        fclose(f);
    }
    return read_any ? count : -1;
}

testutil_proc_t *
testutil_broker_start(const char *arg, ...)
{
    const char *argv[TESTUTIL_MAX_ARGS];
    int n = 0;
    argv[n++] = "actors-broker";
    argv[n++] = "--bind";
    argv[n++] = "tcp://127.0.0.1:*";
    va_list ap;
    va_start(ap, arg);
    for (const char *a = arg; a != NULL && n < TESTUTIL_MAX_ARGS - 1;
         a = va_arg(ap, const char *)) {
        argv[n++] = a;
    }
    va_end(ap);
    argv[n] = NULL;
    testutil_proc_t *p = testutil_spawn(argv, TESTUTIL_PIPE_STDOUT);
    ck_assert_msg(
        p != NULL, "cannot start actors-broker from %s", testutil_bin_dir());
    char line[sizeof s_endpoint - 16];
    int64_t deadline = testutil_now_ms() + TESTUTIL_START_MS;
    bool got = false;
    while (s_read_line(p->out_fd, line, sizeof line, deadline)) {
        if (strncmp(line, "ENDPOINT ", 9) == 0) {
            got = true;
            break;
        }
    }
    ck_assert_msg(got, "actors-broker printed no ENDPOINT line in %d ms",
        TESTUTIL_START_MS);
    snprintf(s_endpoint, sizeof s_endpoint, "%s", line + 9);
    ck_assert_msg(strncmp(s_endpoint, "tcp://", 6) == 0 &&
                      strstr(s_endpoint, ":*") == NULL,
        "bad endpoint line '%s'", line);
    return p;
}

/* ---- services ------------------------------------------------------------ */

static testutil_proc_t *
s_service_spawn(int flags, const char *service, const char *address,
    int prefetch, va_list ap)
{
    const char *argv[TESTUTIL_MAX_ARGS];
    char pf[16];
    int n = 0;
    argv[n++] = service;
    argv[n++] = "--broker";
    argv[n++] = s_endpoint;
    argv[n++] = "--address";
    argv[n++] = address;
    if (prefetch > 0) {
        snprintf(pf, sizeof pf, "%d", prefetch);
        argv[n++] = "--prefetch";
        argv[n++] = pf;
    }
    for (const char *a = va_arg(ap, const char *);
         a != NULL && n < TESTUTIL_MAX_ARGS - 1; a = va_arg(ap, const char *)) {
        argv[n++] = a;
    }
    argv[n] = NULL;
    return testutil_spawn(argv, flags);
}

testutil_proc_t *
testutil_service_spawn(
    int flags, const char *service, const char *address, int prefetch, ...)
{
    va_list ap;
    va_start(ap, prefetch);
    testutil_proc_t *p = s_service_spawn(flags, service, address, prefetch, ap);
    va_end(ap);
    return p;
}

typedef struct {
    testutil_proc_t *proc; /* the service starting */
    const char *address;   /* it should register */
    bool exited;           /* it exited before registering */
} s_reg_wait_t;

static bool
s_registered(void *arg)
{
    s_reg_wait_t *w = arg;
    if (!testutil_proc_running(w->proc)) {
        w->exited = true;
        return true;
    }
    char state[32];
    int64_t pid = 0;
    actors_err rc = testutil_lookup_state(
        w->address, state, sizeof state, &pid, NULL, NULL);
    return rc == ACTORS_OK && strcmp(state, "running") == 0 &&
           pid == (int64_t)w->proc->pid;
}

testutil_proc_t *
testutil_service_start(
    const char *service, const char *address, int prefetch, ...)
{
    va_list ap;
    va_start(ap, prefetch);
    testutil_proc_t *p = s_service_spawn(0, service, address, prefetch, ap);
    va_end(ap);
    ck_assert_msg(
        p != NULL, "cannot start %s from %s", service, testutil_bin_dir());
    s_reg_wait_t w = {p, address, false};
    bool ok = testutil_wait_until(s_registered, &w, TESTUTIL_START_MS);
    ck_assert_msg(!w.exited, "%s (%s) exited before registering, status %d",
        service, address, p->status);
    ck_assert_msg(ok, "%s did not register %s within %d ms", service, address,
        TESTUTIL_START_MS);
    return p;
}

/* ---- lookups over a raw DEALER ------------------------------------------- */

static void *
s_lookup_socket(void)
{
    if (s_lookup != NULL && strcmp(s_lookup_ep, s_endpoint) == 0) {
        return s_lookup;
    }
    testutil_raw_close(&s_lookup);
    s_lookup = testutil_raw_socket(ZMQ_DEALER);
    snprintf(s_lookup_ep, sizeof s_lookup_ep, "%s", s_endpoint);
    return s_lookup;
}

/* s_map_str / s_map_int read key of a msgpack map. */
static const msgpack_object *
s_map_get(const msgpack_object *map, const char *key)
{
    if (map->type != MSGPACK_OBJECT_MAP) {
        return NULL;
    }
    size_t klen = strlen(key);
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object_kv *kv = &map->via.map.ptr[i];
        if (kv->key.type == MSGPACK_OBJECT_STR &&
            kv->key.via.str.size == klen &&
            memcmp(kv->key.via.str.ptr, key, klen) == 0) {
            return &kv->val;
        }
    }
    return NULL;
}

static void
s_map_str(const msgpack_object *map, const char *key, char *buf, size_t cap)
{
    const msgpack_object *v = s_map_get(map, key);
    if (buf == NULL || cap == 0) {
        return;
    }
    buf[0] = '\0';
    if (v != NULL && v->type == MSGPACK_OBJECT_STR) {
        size_t n = v->via.str.size < cap - 1 ? v->via.str.size : cap - 1;
        memcpy(buf, v->via.str.ptr, n);
        buf[n] = '\0';
    }
}

static void
s_map_int(const msgpack_object *map, const char *key, int64_t *out)
{
    const msgpack_object *v = s_map_get(map, key);
    if (out == NULL) {
        return;
    }
    *out = -1;
    if (v != NULL && v->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        *out = (int64_t)v->via.u64;
    } else if (v != NULL && v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        *out = v->via.i64;
    }
}

actors_err
testutil_lookup_state(const char *address, char *state, size_t state_len,
    int64_t *pid, int64_t *mailbox, int64_t *inflight)
{
    void *s = s_lookup_socket();
    if (s == NULL) {
        return ACTORS_EIO;
    }
    uint8_t hdr[32];
    uint32_t seq = ++s_lookup_seq;
    size_t hlen = testutil_hdr(hdr, "ACT2", 0x09, 0, &seq, sizeof seq);
    const void *data[2] = {hdr, address};
    size_t len[2] = {hlen, strlen(address)};
    if (testutil_raw_send(s, 2, data, len) != 0) {
        return ACTORS_EIO;
    }
    int64_t deadline = testutil_now_ms() + 2000;
    for (;;) {
        int64_t left = deadline - testutil_now_ms();
        testutil_raw_msg_t m;
        if (left <= 0 || !testutil_raw_recv(s, (int)left, &m)) {
            return ACTORS_ETIMEDOUT;
        }
        /* Skip replies to earlier lookups that timed out. */
        if (m.nframes != 2 || m.len[0] < 11 + sizeof seq ||
            m.data[0][10] != sizeof seq ||
            memcmp(m.data[0] + 11, &seq, sizeof seq) != 0) {
            testutil_raw_msg_free(&m);
            continue;
        }
        actors_err rc = ACTORS_OK;
        if (m.data[0][4] == 0x04) {
            char type[64];
            rc = testutil_raw_error_type(&m, 0, type, sizeof type)
                     ? actors_err_from_name(type, strlen(type))
                     : ACTORS_EBADREQ;
        } else {
            msgpack_unpacked u;
            msgpack_unpacked_init(&u);
            if (msgpack_unpack_next(&u, (const char *)m.data[1], m.len[1],
                    NULL) == MSGPACK_UNPACK_SUCCESS) {
                s_map_str(&u.data, "state", state, state_len);
                s_map_int(&u.data, "pid", pid);
                s_map_int(&u.data, "mailbox", mailbox);
                s_map_int(&u.data, "inflight", inflight);
            } else {
                rc = ACTORS_EMSGPACK;
            }
            msgpack_unpacked_destroy(&u);
        }
        testutil_raw_msg_free(&m);
        return rc;
    }
}

typedef struct {
    const char *address; /* asked about */
    const char *state;   /* wanted */
    pid_t pid;           /* wanted if > 0 */
} s_state_wait_t;

static bool
s_in_state(void *arg)
{
    s_state_wait_t *w = arg;
    char state[32];
    int64_t pid = 0;
    if (testutil_lookup_state(
            w->address, state, sizeof state, &pid, NULL, NULL) != ACTORS_OK) {
        return false;
    }
    return strcmp(state, w->state) == 0 &&
           (w->pid <= 0 || pid == (int64_t)w->pid);
}

bool
testutil_wait_state(
    const char *address, const char *state, pid_t pid, int timeout_ms)
{
    s_state_wait_t w = {address, state, pid};
    return testutil_wait_until(s_in_state, &w, timeout_ms);
}

/* ---- raw frames ---------------------------------------------------------- */

typedef struct {
    void *ctx;  /* owned */
    void *sock; /* owned */
} s_raw_t;

void *
testutil_raw_socket(int type)
{
    void *ctx = zmq_ctx_new();
    ck_assert_ptr_nonnull(ctx);
    void *s = zmq_socket(ctx, type);
    ck_assert_ptr_nonnull(s);
    int zero = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    ck_assert_int_eq(zmq_connect(s, s_endpoint), 0);
    s_raw_t *r = calloc(1, sizeof *r);
    ck_assert_ptr_nonnull(r);
    r->ctx = ctx;
    r->sock = s;
    return r;
}

void
testutil_raw_close(void **sock_p)
{
    if (sock_p == NULL || *sock_p == NULL) {
        return;
    }
    s_raw_t *r = *sock_p;
    zmq_close(r->sock);
    zmq_ctx_term(r->ctx);
    free(r);
    *sock_p = NULL;
}

static void *
s_raw_sock(void *handle)
{
    return ((s_raw_t *)handle)->sock;
}

size_t
testutil_hdr(uint8_t *buf, const char *sig, uint8_t cmd, uint32_t timeout_ms,
    const void *id, size_t id_len)
{
    memcpy(buf, sig, 4);
    buf[4] = cmd;
    buf[5] = 0;
    buf[6] = (uint8_t)(timeout_ms >> 24);
    buf[7] = (uint8_t)(timeout_ms >> 16);
    buf[8] = (uint8_t)(timeout_ms >> 8);
    buf[9] = (uint8_t)timeout_ms;
    buf[10] = (uint8_t)id_len;
    if (id_len > 0) {
        memcpy(buf + 11, id, id_len);
    }
    return 11 + id_len;
}

size_t
testutil_call_hdr(uint8_t *buf, const char *sig, uint8_t cmd,
    uint32_t timeout_ms, const void *id, size_t id_len, const char *address,
    const char *method)
{
    size_t n = testutil_hdr(buf, sig, cmd, timeout_ms, id, id_len);
    size_t alen = strlen(address);
    size_t mlen = strlen(method);
    buf[n++] = (uint8_t)alen;
    memcpy(buf + n, address, alen);
    n += alen;
    buf[n++] = (uint8_t)mlen;
    memcpy(buf + n, method, mlen);
    return n + mlen;
}

size_t
testutil_hdr_id(const uint8_t *hdr, size_t len, const uint8_t **id)
{
    if (len < 11 || len < 11 + (size_t)hdr[10]) {
        *id = NULL;
        return 0;
    }
    *id = hdr + 11;
    return hdr[10];
}

int
testutil_raw_send(
    void *handle, int n, const void *const *data, const size_t *len)
{
    void *s = s_raw_sock(handle);
    for (int i = 0; i < n; i++) {
        int fl = i + 1 < n ? ZMQ_SNDMORE : 0;
        if (zmq_send(s, data[i], len[i], fl) < 0) {
            return -1;
        }
    }
    return 0;
}

bool
testutil_raw_recv(void *handle, int timeout_ms, testutil_raw_msg_t *m)
{
    void *s = s_raw_sock(handle);
    memset(m, 0, sizeof *m);
    zmq_pollitem_t it = {s, 0, ZMQ_POLLIN, 0};
    int64_t deadline = testutil_now_ms() + timeout_ms;
    for (;;) {
        int64_t left = deadline - testutil_now_ms();
        if (left < 0) {
            left = 0;
        }
        int r = zmq_poll(&it, 1, (long)left);
        if (r > 0) {
            break;
        }
        if (r < 0 && errno == EINTR && left > 0) {
            continue;
        }
        return false;
    }
    int more = 1;
    while (more) {
        zmq_msg_t f;
        zmq_msg_init(&f);
        if (zmq_msg_recv(&f, s, 0) < 0) {
            zmq_msg_close(&f);
            testutil_raw_msg_free(m);
            return false;
        }
        more = zmq_msg_more(&f);
        if (m->nframes < 8) {
            size_t n = zmq_msg_size(&f);
            m->data[m->nframes] = malloc(n ? n : 1);
            if (n > 0) {
                memcpy(m->data[m->nframes], zmq_msg_data(&f), n);
            }
            m->len[m->nframes] = n;
            m->nframes++;
        }
        zmq_msg_close(&f);
    }
    return true;
}

void
testutil_raw_msg_free(testutil_raw_msg_t *m)
{
    for (int i = 0; i < m->nframes && i < 8; i++) {
        free(m->data[i]);
        m->data[i] = NULL;
    }
    m->nframes = 0;
}

bool
testutil_raw_error_type(
    const testutil_raw_msg_t *m, int hdr_index, char *buf, size_t len)
{
    buf[0] = '\0';
    if (m->nframes < hdr_index + 2 || m->len[hdr_index] < 11 ||
        memcmp(m->data[hdr_index], "ACT2", 4) != 0 ||
        m->data[hdr_index][4] != 0x04) {
        return false;
    }
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    bool ok = msgpack_unpack_next(&u, (const char *)m->data[hdr_index + 1],
                  m->len[hdr_index + 1], NULL) == MSGPACK_UNPACK_SUCCESS;
    if (ok) {
        s_map_str(&u.data, "type", buf, len);
        ok = buf[0] != '\0';
    }
    msgpack_unpacked_destroy(&u);
    return ok;
}

int
testutil_count(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle)) {
        n++;
    }
    return n;
}

/* ---- redis-server -------------------------------------------------------- */

const char *
testutil_which(const char *prog)
{
    static char path[512];
    const char *p = getenv("PATH");
    const char *dirs = p != NULL ? p : "/usr/bin:/bin";
    while (*dirs) {
        size_t n = strcspn(dirs, ":");
        snprintf(path, sizeof path, "%.*s/%s", (int)n, dirs, prog);
        if (access(path, X_OK) == 0) {
            return path;
        }
        dirs += n + (dirs[n] == ':');
    }
    return NULL;
}

static bool
s_exists(void *arg)
{
    return access((const char *)arg, F_OK) == 0;
}

bool
testutil_redis_start(const char *dir)
{
    const char *bin = testutil_which("redis-server");
    if (bin == NULL) {
        fprintf(stderr, "SKIP: redis-server not on PATH\n");
        return false;
    }
    static char sock[PATH_MAX];
    char log[PATH_MAX];
    snprintf(sock, sizeof sock, "%s/redis.sock", dir);
    snprintf(log, sizeof log, "%s/redis.log", dir);
    const char *argv[] = {bin, "--port", "0", "--unixsocket", sock,
        "--unixsocketperm", "700", "--dir", dir, "--appendonly", "yes",
        "--appendfsync", "always", "--save", "", "--logfile", log, NULL};
    ck_assert_ptr_nonnull(testutil_spawn(argv, 0));
    ck_assert_msg(testutil_wait_until(s_exists, sock, 10000),
        "redis-server did not open %s", sock);
    char url[PATH_MAX + 8];
    snprintf(url, sizeof url, "unix://%s", sock);
    setenv("ACTORS_REDIS", url, 1);
    return true;
}
