/* supervisor/outlog.c - an actor's output, line by line, with its address
 * and pid (outlog.h).
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include "outlog.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <actors/log.h>

struct outlog {
    char *address;              /* whose output */
    char *path;                 /* per-actor file, or NULL */
    FILE *file;                 /* opened at the first line */
    int fd;                     /* read end, or -1 */
    pid_t pid;                  /* writer */
    size_t len;                 /* bytes in line */
    char line[OUTLOG_LINE_MAX]; /* the partial line */
};

actors_err
outlog_create(outlog_t **out, const char *address, const char *dir)
{
    assert(out);
    assert(address);
    *out = NULL;
    outlog_t *self = calloc(1, sizeof *self);
    if (self == NULL) {
        return ACTORS_ENOMEM;
    }
    self->fd = -1;
    self->address = strdup(address);
    if (self->address == NULL) {
        free(self);
        return ACTORS_ENOMEM;
    }
    if (dir != NULL && dir[0] != '\0') {
        if (asprintf(&self->path, "%s/%s.log", dir, address) < 0) {
            self->path = NULL;
            outlog_destroy(&self);
            return ACTORS_ENOMEM;
        }
        /* The file name is the address with '/' as '_'. */
        for (char *p = self->path + strlen(dir) + 1; *p; p++) {
            if (*p == '/') {
                *p = '_';
            }
        }
    }
    *out = self;
    return ACTORS_OK;
}

static void
s_close(outlog_t *self)
{
    if (self->fd >= 0) {
        close(self->fd);
        self->fd = -1;
    }
}

void
outlog_destroy(outlog_t **self_p)
{
    assert(self_p);
    outlog_t *self = *self_p;
    if (self == NULL) {
        return;
    }
    outlog_drain(self);
    if (self->file != NULL) {
        fclose(self->file);
    }
    free(self->path);
    free(self->address);
    free(self);
    *self_p = NULL;
}

/* s_emit writes line (n bytes, no newline) of the current process. */
static void
s_emit(outlog_t *self, const char *line, size_t n)
{
    fprintf(
        stderr, "%s[%d]: %.*s\n", self->address, (int)self->pid, (int)n, line);
    if (self->path == NULL) {
        return;
    }
    if (self->file == NULL) {
        self->file = fopen(self->path, "ae");
        if (self->file == NULL) {
            ACTORS_LOG(ACTORS_LOG_WARN, "SUP-LOG-FILE",
                "address=%s file=%s error='%s' writing to stderr only",
                self->address, self->path, strerror(errno));
            free(self->path);
            self->path = NULL;
            return;
        }
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[32];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    fprintf(self->file, "%s.%03ldZ %d %.*s\n", when, ts.tv_nsec / 1000000L,
        (int)self->pid, (int)n, line);
    fflush(self->file);
}

/* s_take appends n bytes read to the line, writing each complete one. */
static void
s_take(outlog_t *self, const char *buf, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (buf[i] == '\n') {
            s_emit(self, self->line, self->len);
            self->len = 0;
            continue;
        }
        if (self->len == sizeof self->line) {
            s_emit(self, self->line, self->len);
            self->len = 0;
        }
        self->line[self->len++] = buf[i];
    }
}

static void
s_flush_partial(outlog_t *self)
{
    if (self->len > 0) {
        s_emit(self, self->line, self->len);
        self->len = 0;
    }
}

/* s_pump reads until the pipe would block (false) or ends (true). */
static bool
s_pump(outlog_t *self)
{
    char buf[4096];
    for (;;) {
        ssize_t n = read(self->fd, buf, sizeof buf);
        if (n > 0) {
            s_take(self, buf, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        return n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
    }
}

void
outlog_read(outlog_t *self)
{
    assert(self);
    if (self->fd >= 0 && s_pump(self)) {
        s_flush_partial(self);
        s_close(self);
    }
}

void
outlog_drain(outlog_t *self)
{
    assert(self);
    if (self->fd >= 0) {
        s_pump(self);
        s_close(self);
    }
    s_flush_partial(self);
}

actors_err
outlog_pipe(outlog_t *self, int *child_fd)
{
    assert(self);
    assert(child_fd);
    *child_fd = -1;
    outlog_drain(self);
    int p[2];
    if (pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0) {
        ACTORS_LOG(ACTORS_LOG_WARN, "SUP-LOG-PIPE",
            "address=%s error='%s' its output goes to the node's stderr "
            "unprefixed",
            self->address, strerror(errno));
        return ACTORS_EIO;
    }
    /* The child's end blocks: an actor that writes faster than the node
     * reads waits, it does not lose lines. */
    int fl = fcntl(p[1], F_GETFL);
    if (fl >= 0) {
        fcntl(p[1], F_SETFL, fl & ~O_NONBLOCK);
    }
    self->fd = p[0];
    *child_fd = p[1];
    return ACTORS_OK;
}

void
outlog_started(outlog_t *self, pid_t pid, int child_fd)
{
    assert(self);
    self->pid = pid;
    if (child_fd >= 0) {
        close(child_fd);
    }
}

int
outlog_fd(const outlog_t *self)
{
    assert(self);
    return self->fd;
}
