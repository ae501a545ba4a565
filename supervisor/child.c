/* supervisor/child.c - spawning actor processes and naming their exits.
 * SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "child.h"

#include <assert.h>
#include <errno.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <actors/log.h>

extern char **environ;

/* s_try_dirs looks for service in each directory of a ':'-list. */
static int
s_try_dirs(const char *list, const char *service, char *buf, size_t buflen)
{
    if (list == NULL || *list == '\0') {
        return 0;
    }
    const char *p = list;
    while (*p) {
        size_t n = strcspn(p, ":");
        if (n > 0) {
            int w = snprintf(buf, buflen, "%.*s/%s", (int)n, p, service);
            if (w > 0 && (size_t)w < buflen && access(buf, X_OK) == 0) {
                return 1;
            }
        }
        p += n;
        if (*p == ':') {
            p++;
        }
    }
    return 0;
}

actors_err
child_find_binary(const char *service, const char *self_dir, const char *path,
    char *buf, size_t buflen)
{
    assert(service);
    assert(buf);
    if (s_try_dirs(self_dir, service, buf, buflen) ||
        s_try_dirs(path, service, buf, buflen) ||
        s_try_dirs(getenv("ACTORS_PATH"), service, buf, buflen)) {
        return ACTORS_OK;
    }
    return ACTORS_EINVAL;
}

actors_err
child_claim_new(char *buf)
{
    assert(buf);
    uint8_t raw[16];
    size_t got = 0;
    buf[0] = '\0';
    while (got < sizeof raw) {
        ssize_t n = getrandom(raw + got, sizeof raw - got, 0);
        if (n < 0 && errno != EINTR) {
            return ACTORS_EIO;
        }
        got += n > 0 ? (size_t)n : 0;
    }
    for (size_t i = 0; i < sizeof raw; i++) {
        snprintf(buf + 2 * i, 3, "%02x", raw[i]);
    }
    return ACTORS_OK;
}

actors_err
child_spawn(const child_spec_t *spec, const char *binary, const char *broker,
    const char *claim, pid_t *pid)
{
    return child_spawn_out(spec, binary, broker, claim, -1, pid);
}

actors_err
child_spawn_out(const child_spec_t *spec, const char *binary,
    const char *broker, const char *claim, int out_fd, pid_t *pid)
{
    assert(spec);
    assert(binary);
    assert(broker);
    assert(pid);
    size_t argc = 11 + (size_t)spec->nargs;
    char **argv = calloc(argc + 1, sizeof *argv);
    size_t nenv = 0;
    while (environ[nenv]) {
        nenv++;
    }
    char **envp = calloc(nenv + (size_t)spec->nenv + 2, sizeof *envp);
    char claim_var[CHILD_CLAIM_MAX + 16] = "";
    if (claim != NULL && claim[0] != '\0') {
        snprintf(claim_var, sizeof claim_var, "ACTORS_CLAIM=%s", claim);
    }
    if (argv == NULL || envp == NULL) {
        free(argv);
        free(envp);
        return ACTORS_ENOMEM;
    }
    argv[0] = (char *)spec->service;
    argv[1] = "--broker";
    argv[2] = (char *)broker;
    argv[3] = "--address";
    argv[4] = spec->address;
    int a = 5;
    char prefetch[24];
    if (spec->prefetch > 0) {
        snprintf(prefetch, sizeof prefetch, "%u", (unsigned)spec->prefetch);
        argv[a++] = "--prefetch";
        argv[a++] = prefetch;
    }
    char mtr[24];
    if (spec->member) {
        /* A member of the group at the address; its calls' retries go to
         * the broker in its REGISTER (no STATE is sent for it). */
        argv[a++] = "--group";
        if (spec->policy.max_task_retries != 0) {
            snprintf(mtr, sizeof mtr, "%d", spec->policy.max_task_retries);
            argv[a++] = "--max-task-retries";
            argv[a++] = mtr;
        }
    }
    /* The end of the options: no constructor argument is taken for one
     * (a spec's "--broker" must not move the actor to another broker). */
    argv[a++] = "--";
    for (int i = 0; i < spec->nargs; i++) {
        argv[a + i] = spec->args[i];
    }
    /* The spec's entries win over inherited ones of the same name. */
    size_t k = 0;
    for (size_t i = 0; i < nenv; i++) {
        /* Never pass on a claim: only the one given here is the child's. */
        int shadowed = strncmp(environ[i], "ACTORS_CLAIM=", 13) == 0;
        for (int j = 0; j < spec->nenv && !shadowed; j++) {
            size_t klen = strcspn(spec->env[j], "=");
            shadowed = strncmp(environ[i], spec->env[j], klen + 1) == 0;
        }
        if (!shadowed) {
            envp[k++] = environ[i];
        }
    }
    for (int j = 0; j < spec->nenv; j++) {
        if (strncmp(spec->env[j], "ACTORS_CLAIM=", 13) != 0) {
            envp[k++] = spec->env[j];
        }
    }
    if (claim_var[0] != '\0') {
        envp[k++] = claim_var;
    }
    /* fork+exec rather than posix_spawn: the child asks the kernel to kill
     * it when the supervisor dies (PR_SET_PDEATHSIG), so a node that is
     * SIGKILLed leaves no orphan actors behind. Only async-signal-safe
     * calls between fork and exec. */
    pid_t parent = getpid();
    int err = 0;
    pid_t p = fork();
    if (p == 0) {
        sigset_t none;
        sigemptyset(&none);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) {
            _exit(127);
        }
        signal(SIGPIPE, SIG_DFL);
        sigprocmask(SIG_SETMASK, &none, NULL);
        if (out_fd >= 0 && (dup2(out_fd, STDOUT_FILENO) < 0 ||
                               dup2(out_fd, STDERR_FILENO) < 0)) {
            _exit(127);
        }
        execve(binary, argv, envp);
        _exit(127);
    }
    if (p < 0) {
        err = errno;
    } else {
        *pid = p;
    }
    free(argv);
    free(envp);
    if (err != 0) {
        ACTORS_LOG(ACTORS_LOG_ERR, "SUP-SPAWN-FAIL",
            "address=%s binary=%s error='%s'", spec->address, binary,
            strerror(err));
        return ACTORS_EIO;
    }
    return ACTORS_OK;
}

void
child_describe_exit(int status, char *buf, size_t buflen)
{
    assert(buf);
    if (WIFEXITED(status)) {
        snprintf(buf, buflen, "exit code %d", WEXITSTATUS(status));
    } else if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        const char *abbrev = sigabbrev_np(sig);
        snprintf(buf, buflen, "signal %d (SIG%s)%s", sig, abbrev ? abbrev : "?",
            WCOREDUMP(status) ? ", core dumped" : "");
    } else {
        snprintf(buf, buflen, "status 0x%x", (unsigned)status);
    }
}
