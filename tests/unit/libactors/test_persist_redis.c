/* tests/unit/libactors/test_persist_redis.c - persist.c over the Redis
 * backend, against a real redis-server started by the test.
 * SPDX-License-Identifier: MIT
 *
 * The cases every backend must pass are in persist_cases.h (shared with
 * test_persist.c); this file gives them the Redis hooks (raw journal
 * access with LRANGE / DEL + RPUSH) and adds what only concerns Redis:
 * a damaged list element, an unreachable server, reconnecting after a
 * server restart, the lease that holds a key (a twin gets KeyLocked, a
 * lost lease stops the handle, an idle one that lapsed is taken back).
 *
 * Each test starts its own redis-server (no TCP port: --port 0, a unix
 * socket in a mkdtemp() directory, appendfsync always), waits until it
 * answers PING (10 s deadline), selects it through $ACTORS_REDIS as a
 * deployment would, and stops it by pid at the end. Without a
 * redis-server on PATH the tests pass with a SKIP line on stderr
 * (scripts/install-deps.sh installs it).
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <check.h>
#include <ftw.h>
#include <hiredis.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <actors/persist.h>

#include "../../../libactors/src/persist_backend.h"

#include "../../testfs.h"
#include "../../testutil.h"

static char s_dir[64];
static char s_sock[128];
static char s_url[160];
static testutil_proc_t *s_redis;

static int
s_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static bool
s_ping(void *arg)
{
    (void)arg;
    redisContext *c = redisConnectUnix(s_sock);
    bool ok = false;
    if (c != NULL && !c->err) {
        redisReply *r = redisCommand(c, "PING");
        ok = r != NULL && r->type == REDIS_REPLY_STATUS;
        if (r != NULL) {
            freeReplyObject(r);
        }
    }
    if (c != NULL) {
        redisFree(c);
    }
    return ok;
}

/* s_redis_up: the server answers, or it has exited (then stop waiting). */
static bool
s_redis_up(void *arg)
{
    (void)arg;
    return s_ping(NULL) || !testutil_proc_running(s_redis);
}

/* s_start starts redis-server on s_sock with its data in s_dir (AOF,
 * fsync per write, so that a restart keeps every acknowledged write) and
 * waits until it answers. */
static void
s_start(void)
{
    char log[128];
    snprintf(log, sizeof log, "%s/redis.log", s_dir);
    const char *bin = testutil_which("redis-server");
    if (bin == NULL) {
        s_redis = NULL;
        return;
    }
    const char *argv[] = {bin, "--port", "0", "--unixsocket", s_sock,
        "--unixsocketperm", "700", "--dir", s_dir, "--appendonly", "yes",
        "--appendfsync", "always", "--save", "", "--loglevel", "warning",
        "--logfile", log, NULL};
    s_redis = testutil_spawn(argv, TESTUTIL_CAPTURE_STDERR);
    ck_assert_ptr_nonnull(s_redis);
    ck_assert_msg(testutil_wait_until(s_redis_up, NULL, 10000) && s_ping(NULL),
        "redis-server did not answer: %s", testutil_proc_stderr(s_redis));
}

static void
s_setup(void)
{
    snprintf(s_dir, sizeof s_dir, "/tmp/actors-redis-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(s_dir));
    snprintf(s_sock, sizeof s_sock, "%s/redis.sock", s_dir);
    snprintf(s_url, sizeof s_url, "unix://%s", s_sock);
    s_start();
    setenv("ACTORS_REDIS", s_url, 1);
}

static void
s_teardown(void)
{
    unsetenv("ACTORS_REDIS");
    testutil_stop_all();
    testfs_unmount();
    nftw(s_dir, s_rm, 16, FTW_DEPTH | FTW_PHYS);
}

#define SKIP_WITHOUT_REDIS()                                                   \
    do {                                                                       \
        if (s_redis == NULL) {                                                 \
            fprintf(stderr, "SKIP: redis-server not on PATH\n");               \
            return;                                                            \
        }                                                                      \
    } while (0)

#define PERSIST_BACKEND "redis"
#define PERSIST_CASE_SKIP() SKIP_WITHOUT_REDIS()
#include "persist_cases.h"

/* s_raw is a plain connection to the test's server (redisFree it). */
static redisContext *
s_raw(void)
{
    redisContext *c = redisConnectUnix(s_sock);
    ck_assert(c != NULL && !c->err);
    return c;
}

/* s_raw_cmd runs one command and checks the reply's type (freed). */
static long long
s_raw_cmd(int type, const char *fmt, ...)
{
    redisContext *c = s_raw();
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    ck_assert_msg(r != NULL && r->type == type, "%s: reply type %d", fmt,
        r != NULL ? r->type : -1);
    long long n = r->type == REDIS_REPLY_INTEGER ? r->integer
                  : r->type == REDIS_REPLY_ARRAY ? (long long)r->elements
                                                 : 0;
    freeReplyObject(r);
    redisFree(c);
    return n;
}

static actors_persist_opts_t
s_opts(actors_persist_sync sync, uint32_t every, uint32_t window)
{
    actors_persist_opts_t o = ACTORS_PERSIST_OPTS_INIT;
    o.redis = NULL; /* $ACTORS_REDIS, as a deployment selects it */
    o.sync = sync;
    o.snapshot_every = every;
    o.id_window = window;
    return o;
}

static size_t
s_jrn_get(const char *key, char *buf, size_t cap)
{
    redisContext *c = s_raw();
    redisReply *r = redisCommand(c, "LRANGE actors:%s:journal 0 -1", key);
    ck_assert(r != NULL && r->type == REDIS_REPLY_ARRAY);
    size_t n = 0;
    for (size_t i = 0; i < r->elements; i++) {
        ck_assert_uint_le(n + r->element[i]->len, cap);
        memcpy(buf + n, r->element[i]->str, r->element[i]->len);
        n += r->element[i]->len;
    }
    freeReplyObject(r);
    redisFree(c);
    return n;
}

/* s_jrn_set stores buf as one list element (as a rewrite would). */
static void
s_jrn_set(const char *key, const char *buf, size_t len)
{
    s_raw_cmd(REDIS_REPLY_INTEGER, "DEL actors:%s:journal", key);
    if (len > 0) {
        s_raw_cmd(
            REDIS_REPLY_INTEGER, "RPUSH actors:%s:journal %b", key, buf, len);
    }
}

static void
s_check_saved(const char *key)
{
    /* One SET: the snapshot key, and the open handle's lease (lock and
     * owner), nothing else. */
    ck_assert_int_eq(s_raw_cmd(REDIS_REPLY_ARRAY, "KEYS *"), 3);
    ck_assert_int_eq(
        s_raw_cmd(REDIS_REPLY_INTEGER, "EXISTS actors:%s:snap", key), 1);
    ck_assert_int_eq(
        s_raw_cmd(REDIS_REPLY_INTEGER, "EXISTS actors:%s:lock", key), 1);
    ck_assert_int_eq(
        s_raw_cmd(REDIS_REPLY_INTEGER, "EXISTS actors:%s:owner", key), 1);
}

static void
s_check_keys(actors_persist_opts_t o)
{
    (void)o;
    /* Redis keys are binary-safe: no escaping, KEY goes in as it is, and
     * the suffixes keep "x:snap"'s journal apart from "x"'s snapshot. */
    ck_assert_int_eq(
        s_raw_cmd(REDIS_REPLY_ARRAY, "KEYS *"), (long long)S_ODD_KEYS);
    for (size_t i = 0; i < S_ODD_KEYS; i++) {
        ck_assert_int_eq(s_raw_cmd(REDIS_REPLY_INTEGER,
                             "EXISTS actors:%s:journal", s_odd_keys[i]),
            1);
    }
}

/* Group commit on Redis: the appends of a batch are sent by the flush,
 * all in one RPUSH (one list element, one round trip, all or nothing),
 * not one command each; recovery reads them back one by one. */
START_TEST(test_persist_redis_group_is_one_rpush_per_batch)
{
    SKIP_WITHOUT_REDIS();
    actors_persist_opts_t o = s_opts(ACTORS_PERSIST_SYNC_GROUP, 0, 0);
    actors_persist_t *p = s_open("g", o);
    s_recover(p);
    for (int i = 1; i <= 10; i++) {
        s_append(p, i, NULL);
    }
    ck_assert_int_eq(
        s_raw_cmd(REDIS_REPLY_INTEGER, "LLEN actors:g:journal"), 0);
    ck_assert(!actors_persist_durable(p, 10));
    TEST_ASSERT_OK(actors_persist_flush(p));
    ck_assert(actors_persist_durable(p, 10));
    ck_assert_int_eq(
        s_raw_cmd(REDIS_REPLY_INTEGER, "LLEN actors:g:journal"), 1);
    for (int i = 11; i <= 15; i++) {
        s_append(p, i, NULL);
    }
    TEST_ASSERT_OK(actors_persist_flush(p));
    TEST_ASSERT_OK(actors_persist_flush(p)); /* nothing new: no command */
    ck_assert_int_eq(
        s_raw_cmd(REDIS_REPLY_INTEGER, "LLEN actors:g:journal"), 2);
    s_append(p, 16, NULL); /* destroy flushes what is left */
    actors_persist_destroy(&p);
    ck_assert_int_eq(
        s_raw_cmd(REDIS_REPLY_INTEGER, "LLEN actors:g:journal"), 3);
    p = s_open("g", o);
    s_sum_t s = s_recover(p);
    ck_assert_int_eq(s.events, 16);
    ck_assert_int_eq(s.sum, 136);
    actors_persist_destroy(&p);
}
END_TEST

/* A group flush that Redis refuses (-OOM): the batch's one RPUSH did not
 * run, so none of its events is stored; flush says DiskFull, the handle
 * is broken (its owner applied them and must recover), and a reopen
 * finds exactly the events flushed before. */
START_TEST(test_persist_redis_group_flush_refused_stores_none)
{
    SKIP_WITHOUT_REDIS();
    actors_persist_opts_t o = s_opts(ACTORS_PERSIST_SYNC_GROUP, 0, 8);
    actors_persist_t *p = s_open("gf", o);
    s_recover(p);
    s_append(p, 1, "a");
    TEST_ASSERT_OK(actors_persist_flush(p));
    s_append(p, 2, "b");
    s_append(p, 4, "c");
    s_raw_cmd(REDIS_REPLY_STATUS, "CONFIG SET maxmemory 1");
    TEST_ASSERT_ERR(actors_persist_flush(p), ACTORS_ENOSPACE);
    s_raw_cmd(REDIS_REPLY_STATUS, "CONFIG SET maxmemory 0");
    ck_assert_int_eq(
        s_raw_cmd(REDIS_REPLY_INTEGER, "LLEN actors:gf:journal"), 1);
    TEST_ASSERT_ERR(actors_persist_flush(p), ACTORS_EIO); /* broken */
    actors_persist_destroy(&p);
    p = s_open("gf", o);
    s_sum_t s = s_recover(p);
    ck_assert_int_eq(s.events, 1);
    ck_assert_int_eq(s.sum, 1);
    actors_persist_destroy(&p);
}
END_TEST

/* A damaged last element of a journal of several elements (as a torn
 * write would leave in a file) is dropped and cut off; appends then
 * follow the valid prefix. */
START_TEST(test_persist_redis_torn_tail_is_dropped)
{
    SKIP_WITHOUT_REDIS();
    actors_persist_opts_t o = s_opts(ACTORS_PERSIST_SYNC_ALWAYS, 0, 0);
    actors_persist_t *p = s_open("t", o);
    s_recover(p);
    for (int i = 1; i <= 5; i++) {
        s_append(p, i, NULL);
    }
    actors_persist_destroy(&p);
    redisContext *c = s_raw();
    redisReply *r = redisCommand(c, "RPOP actors:t:journal");
    ck_assert(r != NULL && r->type == REDIS_REPLY_STRING);
    redisReply *w = redisCommand(
        c, "RPUSH actors:t:journal %b", r->str, (size_t)(r->len - 3));
    ck_assert(w != NULL && w->type == REDIS_REPLY_INTEGER);
    freeReplyObject(w);
    freeReplyObject(r);
    redisFree(c);

    p = s_open("t", o);
    s_sum_t s = s_recover(p);
    ck_assert_int_eq(s.events, 4);
    ck_assert_int_eq(s.sum, 10);
    s_append(p, 100, NULL);
    actors_persist_destroy(&p);
    p = s_open("t", o);
    s = s_recover(p);
    ck_assert_int_eq(s.events, 5);
    ck_assert_int_eq(s.sum, 110);
    ck_assert_uint_eq(actors_persist_last_seq(p), 5);
    actors_persist_destroy(&p);
}
END_TEST

START_TEST(test_persist_redis_unreachable_is_eio)
{
    SKIP_WITHOUT_REDIS();
    actors_persist_opts_t o = s_opts(ACTORS_PERSIST_SYNC_ALWAYS, 0, 0);
    char url[200];
    snprintf(url, sizeof url, "unix://%s/none.sock", s_dir);
    o.redis = url;
    actors_persist_t *p = NULL;
    TEST_ASSERT_ERR(actors_persist_open(&p, "k", &o), ACTORS_EIO);
    ck_assert_ptr_null(p);
    o.redis = "tcp://127.0.0.1";
    TEST_ASSERT_ERR(actors_persist_open(&p, "k", &o), ACTORS_EINVAL);
    o.redis = "http://x";
    TEST_ASSERT_ERR(actors_persist_open(&p, "k", &o), ACTORS_EINVAL);
    /* The server goes away under an open handle: EIO (the reconnect
     * fails), not a crash, and again on the next call. */
    p = s_open("gone", s_opts(ACTORS_PERSIST_SYNC_ALWAYS, 0, 0));
    s_recover(p);
    testutil_stop_all();
    s_val_t ev = s_int(1);
    for (int i = 0; i < 2; i++) {
        TEST_ASSERT_ERR(
            actors_persist_append(p, NULL, 0, ev.b, ev.n, NULL, 0, NULL),
            ACTORS_EIO);
    }
    actors_persist_destroy(&p);
}
END_TEST

/* redis-server restarts (its AOF keeps the data) under an open handle:
 * the next calls reconnect and succeed, also after a failed call while
 * the server was down, and recovery sees every event exactly once. */
START_TEST(test_persist_redis_reconnects_after_restart)
{
    SKIP_WITHOUT_REDIS();
    actors_persist_opts_t o = s_opts(ACTORS_PERSIST_SYNC_ALWAYS, 0, 8);
    actors_persist_t *p = s_open("re", o);
    s_recover(p);
    s_append(p, 1, "req-1");
    s_append(p, 2, "req-2");

    ck_assert(testutil_proc_stop(s_redis, 10000));
    s_start();
    s_append(p, 4, "req-3"); /* the old connection is dead: reconnect */
    s_val_t st = s_int(7);
    TEST_ASSERT_OK(actors_persist_snapshot(p, st.b, st.n));
    s_append(p, 8, NULL);

    /* Down: the call fails (nothing appended); back up: it succeeds. */
    ck_assert(testutil_proc_stop(s_redis, 10000));
    s_val_t ev = s_int(1000);
    TEST_ASSERT_ERR(
        actors_persist_append(p, "req-x", 5, ev.b, ev.n, NULL, 0, NULL),
        ACTORS_EIO);
    s_start();
    s_append(p, 16, "req-4");
    ck_assert_uint_eq(actors_persist_last_seq(p), 5);
    actors_persist_destroy(&p);

    p = s_open("re", o);
    s_sum_t s = s_recover(p);
    ck_assert(s.had_snapshot);
    ck_assert_int_eq(s.sum, 1 + 2 + 4 + 8 + 16);
    ck_assert_int_eq(s.events, 2);
    ck_assert_uint_eq(actors_persist_last_seq(p), 5);
    ck_assert_int_eq(
        s_raw_cmd(REDIS_REPLY_INTEGER, "LLEN actors:re:journal"), 2);
    const void *res = NULL;
    size_t len = 0;
    ck_assert(actors_persist_lookup(p, "req-1", 5, &res, &len));
    ck_assert(actors_persist_lookup(p, "req-4", 5, &res, &len));
    ck_assert(!actors_persist_lookup(p, "req-x", 5, &res, &len));
    actors_persist_destroy(&p);
}
END_TEST

/* A Redis that is out of memory (maxmemory reached, noeviction) refuses
 * every write with -OOM: the append and the snapshot are DiskFull, not
 * TransportError, nothing is stored, and with room again the same call
 * (same id) goes in once. */
START_TEST(test_persist_redis_oom_is_disk_full)
{
    SKIP_WITHOUT_REDIS();
    actors_persist_opts_t o = s_opts(ACTORS_PERSIST_SYNC_ALWAYS, 0, 8);
    actors_persist_t *p = s_open("oom", o);
    s_recover(p);
    s_append(p, 1, "a");
    s_raw_cmd(REDIS_REPLY_STATUS, "CONFIG SET maxmemory 1");
    s_val_t ev = s_int(2);
    TEST_ASSERT_ERR(
        actors_persist_append(p, "b", 1, ev.b, ev.n, ev.b, ev.n, NULL),
        ACTORS_ENOSPACE);
    ck_assert_uint_eq(actors_persist_last_seq(p), 1);
    ck_assert(
        !actors_persist_lookup(p, "b", 1, &(const void *){0}, &(size_t){0}));
    s_val_t st = s_int(100);
    TEST_ASSERT_ERR(actors_persist_snapshot(p, st.b, st.n), ACTORS_ENOSPACE);
    ck_assert_int_eq(
        s_raw_cmd(REDIS_REPLY_INTEGER, "LLEN actors:oom:journal"), 1);

    s_raw_cmd(REDIS_REPLY_STATUS, "CONFIG SET maxmemory 0");
    TEST_ASSERT_OK(
        actors_persist_append(p, "b", 1, ev.b, ev.n, ev.b, ev.n, NULL));
    actors_persist_destroy(&p);
    p = s_open("oom", o);
    s_sum_t s = s_recover(p);
    ck_assert_int_eq(s.sum, 3);
    ck_assert_int_eq(s.events, 2);
    actors_persist_destroy(&p);
}
END_TEST

/* s_bgsave runs BGSAVE on the test's server and waits for its end;
 * returns whether it succeeded. */
static bool
s_bgsave(void)
{
    redisContext *c = s_raw();
    redisReply *r = redisCommand(c, "BGSAVE");
    ck_assert(r != NULL && r->type == REDIS_REPLY_STATUS);
    freeReplyObject(r);
    int64_t deadline = testutil_now_ms() + 10000;
    bool ok = false;
    for (;;) {
        r = redisCommand(c, "INFO persistence");
        ck_assert(r != NULL && r->type == REDIS_REPLY_STRING);
        bool done = strstr(r->str, "rdb_bgsave_in_progress:0") != NULL;
        ok = strstr(r->str, "rdb_last_bgsave_status:ok") != NULL;
        freeReplyObject(r);
        if (done) {
            break;
        }
        ck_assert_msg(testutil_now_ms() < deadline, "BGSAVE did not end");
        testutil_poll_pause_ms(10);
    }
    redisFree(c);
    return ok;
}

/* A Redis that cannot persist (its last RDB save failed for a full disk,
 * with stop-writes-on-bgsave-error) refuses writes with -MISCONF: the
 * append is DiskFull, and goes in once Redis can save again. The server
 * runs with its data directory on a small tmpfs, filled (needs root). */
START_TEST(test_persist_redis_misconf_is_disk_full)
{
    SKIP_WITHOUT_REDIS();
    char fs[128];
    snprintf(fs, sizeof fs, "%s/fs", s_dir);
    if (!testfs_tmpfs(fs, 256 * 1024)) {
        return;
    }
    ck_assert(testutil_proc_stop(s_redis, 10000));
    char log[128];
    snprintf(log, sizeof log, "%s/redis.log", s_dir);
    const char *argv[] = {testutil_which("redis-server"), "--port", "0",
        "--unixsocket", s_sock, "--unixsocketperm", "700", "--dir", fs,
        "--appendonly", "no", "--save", "3600 1",
        "--stop-writes-on-bgsave-error", "yes", "--loglevel", "warning",
        "--logfile", log, NULL};
    s_redis = testutil_spawn(argv, TESTUTIL_CAPTURE_STDERR);
    ck_assert_ptr_nonnull(s_redis);
    ck_assert_msg(testutil_wait_until(s_redis_up, NULL, 10000) && s_ping(NULL),
        "redis-server did not answer: %s", testutil_proc_stderr(s_redis));

    actors_persist_opts_t o = s_opts(ACTORS_PERSIST_SYNC_ALWAYS, 0, 8);
    actors_persist_t *p = s_open("misconf", o);
    s_recover(p);
    s_append(p, 1, "a");
    char filler[160];
    snprintf(filler, sizeof filler, "%s/filler", fs);
    ck_assert_uint_gt(testfs_fill(filler), 0);
    ck_assert(!s_bgsave());
    s_val_t ev = s_int(2);
    TEST_ASSERT_ERR(
        actors_persist_append(p, "b", 1, ev.b, ev.n, ev.b, ev.n, NULL),
        ACTORS_ENOSPACE);
    ck_assert_uint_eq(actors_persist_last_seq(p), 1);

    ck_assert_int_eq(unlink(filler), 0);
    ck_assert(s_bgsave());
    TEST_ASSERT_OK(
        actors_persist_append(p, "b", 1, ev.b, ev.n, ev.b, ev.n, NULL));
    ck_assert_int_eq(
        s_raw_cmd(REDIS_REPLY_INTEGER, "LLEN actors:misconf:journal"), 2);
    actors_persist_destroy(&p);
}
END_TEST

/* s_renewal_due waits until a handle opened (or renewed) at since has to
 * renew its lease before its next operation (persist_redis.c: one
 * second after the last renewal). */
static void
s_renewal_due(int64_t since)
{
    while (testutil_now_ms() < since + 1100) {
        testutil_poll_pause_ms(50);
    }
}

/* s_twin_open opens key in another process (a twin) while holder, the
 * handle holding it here, goes on being used (each call renews its lease
 * when due, as the owning actor's timer does) and returns what the
 * twin's open returned. */
static actors_err
s_twin_open(actors_persist_t *holder, const char *key)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        actors_persist_opts_t o = s_opts(ACTORS_PERSIST_SYNC_ALWAYS, 0, 0);
        actors_persist_t *p = NULL;
        actors_err rc = actors_persist_open(&p, key, &o);
        _exit((int)rc); /* not destroyed: the holder's connection is ours */
    }
    int status = 0;
    int64_t deadline = testutil_now_ms() + 30000;
    while (waitpid(pid, &status, WNOHANG) == 0) {
        ck_assert_msg(testutil_now_ms() < deadline, "the twin hangs");
        bool exists = false;
        TEST_ASSERT_OK(actors_persist_exists(holder, &exists));
        testutil_poll_pause_ms(100);
    }
    ck_assert(WIFEXITED(status));
    return (actors_err)WEXITSTATUS(status);
}

/* A key is held by a lease, as the file backend's flock holds it: a
 * second handle gets ACTORS_ELOCKED (after waiting one TTL for a crashed
 * holder's lease to run out), and the key is free again at once when
 * the holder closes (its lease deleted, not left to expire). */
START_TEST(test_persist_redis_key_is_leased)
{
    SKIP_WITHOUT_REDIS();
    actors_persist_opts_t o = s_opts(ACTORS_PERSIST_SYNC_ALWAYS, 0, 0);
    actors_persist_t *a = s_open("held", o);
    TEST_ASSERT_ERR(s_twin_open(a, "held"), ACTORS_ELOCKED);
    ck_assert_int_eq(s_twin_open(a, "other"), ACTORS_OK);
    s_recover(a);
    s_append(a, 1, NULL);
    ck_assert_int_eq(
        s_raw_cmd(REDIS_REPLY_INTEGER, "PTTL actors:held:lock") > 0, 1);
    actors_persist_destroy(&a);
    ck_assert_int_eq(
        s_raw_cmd(REDIS_REPLY_INTEGER, "EXISTS actors:held:lock"), 0);
    ck_assert_int_eq(
        s_raw_cmd(REDIS_REPLY_INTEGER, "EXISTS actors:held:owner"), 0);
    actors_persist_t *b = s_open("held", o);
    ck_assert_int_eq(s_recover(b).sum, 1);
    actors_persist_destroy(&b);
}
END_TEST

/* A holder whose lease lapsed and was taken by another process (it was
 * stopped past the TTL) finds that out at its next renewal: that call and
 * every later one are ACTORS_ELOCKED, nothing of them is stored, and its
 * close leaves the new holder's lease alone. */
START_TEST(test_persist_redis_lost_lease_stops_the_handle)
{
    SKIP_WITHOUT_REDIS();
    actors_persist_opts_t o = s_opts(ACTORS_PERSIST_SYNC_ALWAYS, 0, 0);
    actors_persist_t *a = s_open("lost", o);
    s_recover(a);
    s_append(a, 1, NULL);
    int64_t renewed = testutil_now_ms();
    /* The lease lapses (as if a was stopped), another process takes it. */
    s_raw_cmd(REDIS_REPLY_INTEGER, "DEL actors:lost:lock");
    actors_persist_t *b = s_open("lost", o);
    s_renewal_due(renewed);
    TEST_ASSERT_ERR(actors_persist_keep(a), ACTORS_ELOCKED);
    s_val_t ev = s_int(100);
    for (int i = 0; i < 2; i++) {
        TEST_ASSERT_ERR(
            actors_persist_append(a, NULL, 0, ev.b, ev.n, NULL, 0, NULL),
            ACTORS_ELOCKED);
    }
    actors_persist_destroy(&a);
    ck_assert_int_eq(
        s_raw_cmd(REDIS_REPLY_INTEGER, "EXISTS actors:lost:lock"), 1);
    ck_assert_int_eq(s_recover(b).sum, 1);
    s_append(b, 2, NULL);
    actors_persist_destroy(&b);
}
END_TEST

/* A write is fenced by the lease, not only preceded by a check: a
 * holder whose key another process took while no renewal was due (it
 * was stopped between its check and its write, or its write was held up
 * in the network) gets ACTORS_ELOCKED for that very write, which stores
 * nothing, and for every later one; its close leaves the other's lease
 * alone. Before that, a SCRIPT FLUSH costs the holder nothing. */
START_TEST(test_persist_redis_write_is_fenced)
{
    SKIP_WITHOUT_REDIS();
    actors_persist_opts_t o = s_opts(ACTORS_PERSIST_SYNC_ALWAYS, 0, 0);
    actors_persist_t *a = s_open("fenced", o);
    s_recover(a);
    s_append(a, 1, NULL);
    /* The fenced write is a script the server keeps by its SHA1: after
     * the server forgot it, the next write loads it again. */
    s_raw_cmd(REDIS_REPLY_STATUS, "SCRIPT FLUSH");
    s_append(a, 2, NULL);
    /* Another process has the key now; a has just renewed: no check. */
    s_raw_cmd(REDIS_REPLY_STATUS, "SET actors:fenced:lock other PX 60000");
    s_raw_cmd(REDIS_REPLY_STATUS, "SET actors:fenced:owner other");
    s_val_t ev = s_int(100);
    TEST_ASSERT_ERR(
        actors_persist_append(a, NULL, 0, ev.b, ev.n, NULL, 0, NULL),
        ACTORS_ELOCKED);
    TEST_ASSERT_ERR(actors_persist_save(a, ev.b, ev.n), ACTORS_ELOCKED);
    ck_assert_int_eq(
        s_raw_cmd(REDIS_REPLY_INTEGER, "LLEN actors:fenced:journal"), 2);
    ck_assert_int_eq(
        s_raw_cmd(REDIS_REPLY_INTEGER, "EXISTS actors:fenced:snap"), 0);
    actors_persist_destroy(&a);
    ck_assert_int_eq(
        s_raw_cmd(REDIS_REPLY_INTEGER, "EXISTS actors:fenced:lock"), 1);
}
END_TEST

/* An idle holder whose lease lapsed while nobody else took the key (the
 * owner key still holds its token) takes it back at its next call: what
 * it holds in memory is not stale, and it goes on. */
START_TEST(test_persist_redis_lapsed_lease_is_taken_back)
{
    SKIP_WITHOUT_REDIS();
    actors_persist_opts_t o = s_opts(ACTORS_PERSIST_SYNC_ALWAYS, 0, 0);
    actors_persist_t *a = s_open("idle", o);
    s_recover(a);
    int64_t renewed = testutil_now_ms();
    s_raw_cmd(REDIS_REPLY_INTEGER, "DEL actors:idle:lock");
    s_renewal_due(renewed);
    TEST_ASSERT_OK(actors_persist_keep(a));
    s_append(a, 1, NULL);
    ck_assert_int_eq(
        s_raw_cmd(REDIS_REPLY_INTEGER, "PTTL actors:idle:lock") > 0, 1);
    TEST_ASSERT_ERR(s_twin_open(a, "idle"), ACTORS_ELOCKED);
    actors_persist_destroy(&a);
}
END_TEST

/* A holder that died on this host (a crashed actor, reaped by its node)
 * leaves its lease behind until the TTL runs out; the next process of
 * this host takes the key at once instead of waiting: even a standby's
 * try-open, which never waits, gets it. While the holder lives, it is
 * refused; a token of another host is never judged dead. */
START_TEST(test_persist_redis_dead_holder_is_taken_over)
{
    SKIP_WITHOUT_REDIS();
    actors_persist_opts_t o = s_opts(ACTORS_PERSIST_SYNC_ALWAYS, 0, 0);
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        actors_persist_t *p = NULL;
        char c = actors_persist_open(&p, "dead", &o) == ACTORS_OK ? 'y' : 'n';
        if (write(fds[1], &c, 1) != 1) {
            _exit(1);
        }
        for (;;) {
            pause(); /* holding the key until SIGKILLed */
        }
    }
    char c = 0;
    ck_assert_int_eq(read(fds[0], &c, 1), 1);
    ck_assert_int_eq(c, 'y');
    close(fds[0]);
    close(fds[1]);
    actors_persist_t *q = NULL;
    TEST_ASSERT_ERR(actors__persist_try_open(&q, "dead", &o), ACTORS_ELOCKED);
    kill(pid, SIGKILL);
    ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
    ck_assert_int_gt(
        s_raw_cmd(REDIS_REPLY_INTEGER, "PTTL actors:dead:lock"), 0);
    TEST_ASSERT_OK(actors__persist_try_open(&q, "dead", &o));
    s_recover(q);
    s_append(q, 1, NULL);
    actors_persist_destroy(&q);
    /* Another host's holder (or another pid namespace's): only its TTL
     * frees the key. */
    redisContext *rc = s_raw();
    redisReply *r = redisCommand(rc, "SET actors:dead:lock %s PX 60000",
        "0123456789abcdef0123456789abcdef.0000000000000001.999999.1");
    ck_assert(r != NULL && r->type == REDIS_REPLY_STATUS);
    freeReplyObject(r);
    redisFree(rc);
    TEST_ASSERT_ERR(actors__persist_try_open(&q, "dead", &o), ACTORS_ELOCKED);
    s_raw_cmd(REDIS_REPLY_INTEGER, "DEL actors:dead:lock");
}
END_TEST

Suite *persist_redis_suite(void);

Suite *
persist_redis_suite(void)
{
    Suite *s = suite_create("persist_redis");
    TCase *tc = tcase_create("redis");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    persist_cases_add(tc);
    tcase_add_test(tc, test_persist_redis_torn_tail_is_dropped);
    tcase_add_test(tc, test_persist_redis_group_is_one_rpush_per_batch);
    tcase_add_test(tc, test_persist_redis_group_flush_refused_stores_none);
    tcase_add_test(tc, test_persist_redis_unreachable_is_eio);
    tcase_add_test(tc, test_persist_redis_reconnects_after_restart);
    tcase_add_test(tc, test_persist_redis_oom_is_disk_full);
    tcase_add_test(tc, test_persist_redis_misconf_is_disk_full);
    tcase_add_test(tc, test_persist_redis_key_is_leased);
    tcase_add_test(tc, test_persist_redis_lost_lease_stops_the_handle);
    tcase_add_test(tc, test_persist_redis_write_is_fenced);
    tcase_add_test(tc, test_persist_redis_lapsed_lease_is_taken_back);
    tcase_add_test(tc, test_persist_redis_dead_holder_is_taken_over);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(persist_redis_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
