/* libactors/src/persist_redis.c - the Redis backend of persist.h (hiredis).
 * SPDX-License-Identifier: MIT
 *
 * Per key two Redis keys: actors:KEY:snap (a string, the framed snapshot)
 * and actors:KEY:journal (a list; each RPUSHed element holds one or more
 * framed records, read back concatenated by LRANGE). A SET replaces the
 * snapshot atomically. Durability is the server's: an append counts as
 * done when Redis has replied, and is as durable as its appendonly /
 * appendfsync configuration makes it (appendfsync always for the ALWAYS
 * policy; docs/PERSISTENCE.md). jrn_sync is therefore a no-op. Cutting the
 * journal to a prefix (a torn tail found on recovery, which a Redis list
 * element cannot actually produce unless the data is damaged) rewrites it
 * in one MULTI/EXEC. The endpoint is tcp://HOST:PORT or unix:///PATH.
 *
 * hiredis writes with write(2): a server that went away would raise
 * SIGPIPE and kill the actor. A library must not change the process's
 * signal dispositions, so every exchange runs with SIGPIPE blocked in the
 * calling thread, and a SIGPIPE it caused is consumed before unblocking
 * (the EPIPE then surfaces as ACTORS_EIO).
 */
#include <assert.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <hiredis.h>

#include <actors/log.h>

#include "alloc.h"
#include "persist_backend.h"

typedef struct {
    redisContext *c; /* connection */
    char *snap_key;  /* actors:KEY:snap */
    char *jrn_key;   /* actors:KEY:journal */
    size_t snap_len; /* its length */
    size_t jrn_len;  /* its length */
} s_redis_t;

/* s_pipe_block blocks SIGPIPE in this thread; *was_pending says whether
 * one was already pending (then it is not ours to consume). */
static void
s_pipe_block(sigset_t *old, bool *was_pending)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    sigset_t pending;
    sigpending(&pending);
    *was_pending = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &set, old);
}

static void
s_pipe_restore(const sigset_t *old, bool was_pending)
{
    sigset_t pending;
    sigpending(&pending);
    if (!was_pending && sigismember(&pending, SIGPIPE) == 1) {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGPIPE);
        struct timespec zero = {0, 0};
        (void)sigtimedwait(&set, NULL, &zero);
    }
    pthread_sigmask(SIG_SETMASK, old, NULL);
}

/* s_cmd is redisCommand with SIGPIPE held off. */
static redisReply *
s_cmd(redisContext *c, const char *fmt, ...)
{
    sigset_t old;
    bool was = false;
    s_pipe_block(&old, &was);
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    s_pipe_restore(&old, was);
    return r;
}

static actors_err
s_fail(s_redis_t *r, redisReply *reply, const char *what)
{
    if (reply != NULL && reply->type == REDIS_REPLY_ERROR) {
        ACTORS_LOG(ACTORS_LOG_ERR, "PST-REDIS", "op=%s %s", what, reply->str);
    } else {
        ACTORS_LOG(ACTORS_LOG_ERR, "PST-REDIS", "op=%s %s", what,
            r->c != NULL && r->c->err ? r->c->errstr : "unexpected reply");
    }
    if (reply != NULL) {
        freeReplyObject(reply);
    }
    return ACTORS_EIO;
}

static void
s_close(void *be)
{
    s_redis_t *r = be;
    if (r == NULL) {
        return;
    }
    if (r->c != NULL) {
        redisFree(r->c);
    }
    actors__free(r->snap_key);
    actors__free(r->jrn_key);
    actors__free(r);
}

static char *
s_key(const char *key, const char *suffix, size_t *len)
{
    size_t n = strlen("actors:") + strlen(key) + strlen(suffix) + 1;
    char *k = actors__malloc(n);
    if (k != NULL) {
        snprintf(k, n, "actors:%s%s", key, suffix);
        *len = n - 1;
    }
    return k;
}

static actors_err
s_open(void **out, const char *key, const actors_persist_opts_t *opts)
{
    assert(out);
    assert(opts && opts->redis);
    const char *ep = opts->redis;
    s_redis_t *r = actors__zalloc(sizeof *r);
    if (r == NULL) {
        return ACTORS_ENOMEM;
    }
    r->snap_key = s_key(key, ":snap", &r->snap_len);
    r->jrn_key = s_key(key, ":journal", &r->jrn_len);
    if (r->snap_key == NULL || r->jrn_key == NULL) {
        s_close(r);
        return ACTORS_ENOMEM;
    }
    struct timeval tv = {2, 0};
    if (strncmp(ep, "unix://", 7) == 0 && ep[7] != '\0') {
        r->c = redisConnectUnixWithTimeout(ep + 7, tv);
    } else if (strncmp(ep, "tcp://", 6) == 0) {
        char host[256];
        const char *colon = strrchr(ep + 6, ':');
        size_t hl = colon != NULL ? (size_t)(colon - (ep + 6)) : 0;
        char *end = NULL;
        long port = colon != NULL ? strtol(colon + 1, &end, 10) : 0;
        if (colon == NULL || hl == 0 || hl >= sizeof host || *end != '\0' ||
            port <= 0 || port > 65535) {
            s_close(r);
            return ACTORS_EINVAL;
        }
        memcpy(host, ep + 6, hl);
        host[hl] = '\0';
        r->c = redisConnectWithTimeout(host, (int)port, tv);
    } else {
        s_close(r);
        return ACTORS_EINVAL;
    }
    if (r->c == NULL || r->c->err) {
        ACTORS_LOG(ACTORS_LOG_ERR, "PST-OPEN", "redis='%s' %s", ep,
            r->c != NULL ? r->c->errstr : "cannot connect");
        s_close(r);
        return ACTORS_EIO;
    }
    (void)redisSetTimeout(r->c, tv);
    *out = r;
    return ACTORS_OK;
}

static actors_err
s_copy(const char *src, size_t len, char **data, size_t *out_len)
{
    char *d = actors__malloc(len);
    if (d == NULL) {
        return ACTORS_ENOMEM;
    }
    memcpy(d, src, len);
    *data = d;
    *out_len = len;
    return ACTORS_OK;
}

static actors_err
s_snap_read(void *be, char **data, size_t *len)
{
    s_redis_t *r = be;
    *data = NULL;
    *len = 0;
    redisReply *reply = s_cmd(r->c, "GET %b", r->snap_key, r->snap_len);
    if (reply == NULL ||
        (reply->type != REDIS_REPLY_STRING && reply->type != REDIS_REPLY_NIL)) {
        return s_fail(r, reply, "get");
    }
    actors_err rc = ACTORS_OK;
    if (reply->type == REDIS_REPLY_STRING && reply->len > 0) {
        rc = s_copy(reply->str, reply->len, data, len);
    }
    freeReplyObject(reply);
    return rc;
}

static actors_err
s_snap_write(void *be, const char *data, size_t len)
{
    s_redis_t *r = be;
    redisReply *reply =
        s_cmd(r->c, "SET %b %b", r->snap_key, r->snap_len, data, len);
    if (reply == NULL || reply->type != REDIS_REPLY_STATUS) {
        return s_fail(r, reply, "set");
    }
    freeReplyObject(reply);
    return ACTORS_OK;
}

static actors_err
s_jrn_read(void *be, char **data, size_t *len)
{
    s_redis_t *r = be;
    *data = NULL;
    *len = 0;
    redisReply *reply = s_cmd(r->c, "LRANGE %b 0 -1", r->jrn_key, r->jrn_len);
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        return s_fail(r, reply, "lrange");
    }
    size_t total = 0;
    for (size_t i = 0; i < reply->elements; i++) {
        if (reply->element[i]->type != REDIS_REPLY_STRING) {
            return s_fail(r, reply, "lrange");
        }
        total += reply->element[i]->len;
    }
    actors_err rc = ACTORS_OK;
    if (total > 0) {
        char *buf = actors__malloc(total);
        if (buf == NULL) {
            rc = ACTORS_ENOMEM;
        } else {
            size_t at = 0;
            for (size_t i = 0; i < reply->elements; i++) {
                memcpy(
                    buf + at, reply->element[i]->str, reply->element[i]->len);
                at += reply->element[i]->len;
            }
            *data = buf;
            *len = total;
        }
    }
    freeReplyObject(reply);
    return rc;
}

static actors_err
s_jrn_append(void *be, const char *data, size_t len)
{
    s_redis_t *r = be;
    redisReply *reply =
        s_cmd(r->c, "RPUSH %b %b", r->jrn_key, r->jrn_len, data, len);
    if (reply == NULL || reply->type != REDIS_REPLY_INTEGER) {
        return s_fail(r, reply, "rpush");
    }
    freeReplyObject(reply);
    return ACTORS_OK;
}

static actors_err
s_jrn_sync(void *be)
{
    (void)be;
    return ACTORS_OK;
}

/* s_exec runs MULTI, the queued commands, EXEC, and checks every reply. */
static actors_err
s_exec(s_redis_t *r, int queued)
{
    sigset_t old;
    bool was = false;
    s_pipe_block(&old, &was);
    actors_err rc = ACTORS_OK;
    for (int i = 0; i < queued + 2; i++) {
        redisReply *reply = NULL;
        if (redisGetReply(r->c, (void **)&reply) != REDIS_OK || reply == NULL ||
            reply->type == REDIS_REPLY_ERROR ||
            (i == queued + 1 && reply->type != REDIS_REPLY_ARRAY)) {
            rc = s_fail(r, reply, "exec");
            if (reply == NULL) {
                break;
            }
            continue;
        }
        freeReplyObject(reply);
    }
    s_pipe_restore(&old, was);
    return rc;
}

static actors_err
s_jrn_truncate(void *be, size_t len)
{
    s_redis_t *r = be;
    char *data = NULL;
    size_t have = 0;
    if (len > 0) {
        actors_err rc = s_jrn_read(be, &data, &have);
        if (rc != ACTORS_OK) {
            return rc;
        }
        if (len > have) {
            len = have;
        }
    }
    int queued = 1;
    redisAppendCommand(r->c, "MULTI");
    redisAppendCommand(r->c, "DEL %b", r->jrn_key, r->jrn_len);
    if (len > 0) {
        redisAppendCommand(
            r->c, "RPUSH %b %b", r->jrn_key, r->jrn_len, data, len);
        queued++;
    }
    redisAppendCommand(r->c, "EXEC");
    actors__free(data);
    return s_exec(r, queued);
}

static actors_err
s_remove(void *be)
{
    s_redis_t *r = be;
    redisReply *reply = s_cmd(
        r->c, "DEL %b %b", r->snap_key, r->snap_len, r->jrn_key, r->jrn_len);
    if (reply == NULL || reply->type != REDIS_REPLY_INTEGER) {
        return s_fail(r, reply, "del");
    }
    freeReplyObject(reply);
    return ACTORS_OK;
}

const actors__persist_ops_t actors__persist_redis_ops = {
    .name = "redis",
    .open = s_open,
    .close = s_close,
    .snap_read = s_snap_read,
    .snap_write = s_snap_write,
    .jrn_read = s_jrn_read,
    .jrn_append = s_jrn_append,
    .jrn_sync = s_jrn_sync,
    .jrn_truncate = s_jrn_truncate,
    .remove = s_remove,
};
