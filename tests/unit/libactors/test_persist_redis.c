/* tests/unit/libactors/test_persist_redis.c - persist.c over the Redis
 * backend, against a real redis-server started by the test.
 * SPDX-License-Identifier: MIT
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <actors/persist.h>

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

/* s_which finds prog on PATH (static storage) or returns NULL. */
static const char *
s_which(const char *prog)
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

static void
s_setup(void)
{
    snprintf(s_dir, sizeof s_dir, "/tmp/actors-redis-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(s_dir));
    snprintf(s_sock, sizeof s_sock, "%s/redis.sock", s_dir);
    snprintf(s_url, sizeof s_url, "unix://%s", s_sock);
    s_redis = NULL;
    char s_log[128];
    snprintf(s_log, sizeof s_log, "%s/redis.log", s_dir);
    const char *bin = s_which("redis-server");
    if (bin == NULL) {
        return;
    }
    const char *argv[] = {bin, "--port", "0", "--unixsocket", s_sock,
        "--unixsocketperm", "700", "--dir", s_dir, "--appendonly", "yes",
        "--appendfsync", "always", "--save", "", "--loglevel", "warning",
        "--logfile", s_log, NULL};
    s_redis = testutil_spawn(argv, TESTUTIL_CAPTURE_STDERR);
    ck_assert_ptr_nonnull(s_redis);
    ck_assert_msg(testutil_wait_until(s_ping, NULL, 10000),
        "redis-server did not answer: %s", testutil_proc_stderr(s_redis));
    setenv("ACTORS_REDIS", s_url, 1);
}

static void
s_teardown(void)
{
    unsetenv("ACTORS_REDIS");
    testutil_stop_all();
    nftw(s_dir, s_rm, 16, FTW_DEPTH | FTW_PHYS);
}

#define SKIP_WITHOUT_REDIS()                                                   \
    do {                                                                       \
        if (s_redis == NULL) {                                                 \
            fprintf(stderr, "SKIP: redis-server not on PATH\n");               \
            return;                                                            \
        }                                                                      \
    } while (0)

typedef struct {
    char b[16];
    size_t n;
} s_val_t;

static s_val_t
s_int(int64_t v)
{
    s_val_t out = {{0}, 0};
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_int64(&pk, v);
    memcpy(out.b, sb.data, sb.size);
    out.n = sb.size;
    msgpack_sbuffer_destroy(&sb);
    return out;
}

typedef struct {
    int64_t sum; /* of events and the snapshot */
    int events;  /* events replayed */
} s_sum_t;

static actors_err
s_on_snapshot(void *arg, const msgpack_object *state)
{
    ((s_sum_t *)arg)->sum = state->via.i64;
    return ACTORS_OK;
}

static actors_err
s_on_event(void *arg, uint64_t seq, const msgpack_object *ev)
{
    (void)seq;
    s_sum_t *s = arg;
    s->sum += ev->via.i64;
    s->events++;
    return ACTORS_OK;
}

/* s_open opens key with the backend the environment selects. */
static actors_persist_t *
s_open(const char *key, uint32_t every, uint32_t window)
{
    actors_persist_opts_t o = ACTORS_PERSIST_OPTS_INIT;
    o.snapshot_every = every;
    o.id_window = window;
    actors_persist_t *p = NULL;
    TEST_ASSERT_OK(actors_persist_open(&p, key, &o));
    ck_assert_str_eq(actors_persist_backend(p), "redis");
    return p;
}

static s_sum_t
s_recover(actors_persist_t *p)
{
    s_sum_t s = {0, 0};
    TEST_ASSERT_OK(actors_persist_recover(p, s_on_snapshot, s_on_event, &s));
    return s;
}

static void
s_append(actors_persist_t *p, int64_t v, const char *id)
{
    s_val_t ev = s_int(v);
    s_val_t res = s_int(v * 10);
    TEST_ASSERT_OK(actors_persist_append(p, id, id ? strlen(id) : 0, ev.b, ev.n,
        id ? res.b : NULL, res.n, NULL));
}

START_TEST(test_persist_redis_save_restore_exists)
{
    SKIP_WITHOUT_REDIS();
    actors_persist_t *p = s_open("1234567", 0, 0);
    bool exists = true;
    TEST_ASSERT_OK(actors_persist_exists(p, &exists));
    ck_assert(!exists);
    actors_msg_t *m = NULL;
    TEST_ASSERT_ERR(actors_persist_restore(p, &m), ACTORS_ENOACTOR);
    actors_msg_t *state = NULL;
    TEST_ASSERT_OK(
        actors_msg_build(&state, "{sdsd}", "balance", 130.0, "minimal", 20.0));
    TEST_ASSERT_OK(
        actors_persist_save(p, actors_msg_data(state), actors_msg_size(state)));
    actors_persist_destroy(&p);
    p = s_open("1234567", 0, 0);
    TEST_ASSERT_OK(actors_persist_exists(p, &exists));
    ck_assert(exists);
    TEST_ASSERT_OK(actors_persist_restore(p, &m));
    ck_assert_uint_eq(actors_msg_size(m), actors_msg_size(state));
    ck_assert_int_eq(
        memcmp(actors_msg_data(m), actors_msg_data(state), actors_msg_size(m)),
        0);
    TEST_ASSERT_OK(actors_persist_remove(p));
    TEST_ASSERT_OK(actors_persist_exists(p, &exists));
    ck_assert(!exists);
    actors_msg_destroy(&m);
    actors_msg_destroy(&state);
    actors_persist_destroy(&p);
}
END_TEST

START_TEST(test_persist_redis_snapshot_plus_replay_equals_full_replay)
{
    SKIP_WITHOUT_REDIS();
    actors_persist_t *full = s_open("full", 1000000, 0);
    actors_persist_t *snap = s_open("snap", 7, 0);
    s_recover(full);
    s_recover(snap);
    int64_t sum = 0;
    for (int i = 1; i <= 60; i++) {
        int64_t v = (i * 37) % 11 - 5;
        sum += v;
        s_append(full, v, NULL);
        s_append(snap, v, NULL);
        if (actors_persist_snapshot_due(snap)) {
            s_val_t st = s_int(sum);
            TEST_ASSERT_OK(actors_persist_snapshot(snap, st.b, st.n));
        }
    }
    actors_persist_destroy(&full);
    actors_persist_destroy(&snap);
    full = s_open("full", 1000000, 0);
    snap = s_open("snap", 7, 0);
    s_sum_t a = s_recover(full);
    s_sum_t b = s_recover(snap);
    ck_assert_int_eq(a.sum, sum);
    ck_assert_int_eq(b.sum, sum);
    ck_assert_int_eq(a.events, 60);
    ck_assert_int_eq(b.events, 60 % 7);
    ck_assert_uint_eq(actors_persist_last_seq(snap), 60);
    actors_persist_destroy(&full);
    actors_persist_destroy(&snap);
}
END_TEST

/* A damaged last journal element (as a torn write would leave in a file)
 * is dropped and cut off; appends then follow the valid prefix. */
START_TEST(test_persist_redis_torn_tail_is_dropped)
{
    SKIP_WITHOUT_REDIS();
    actors_persist_t *p = s_open("t", 0, 0);
    s_recover(p);
    for (int i = 1; i <= 5; i++) {
        s_append(p, i, NULL);
    }
    actors_persist_destroy(&p);
    redisContext *c = redisConnectUnix(s_sock);
    ck_assert(c != NULL && !c->err);
    redisReply *r = redisCommand(c, "RPOP actors:t:journal");
    ck_assert(r != NULL && r->type == REDIS_REPLY_STRING);
    redisReply *w = redisCommand(
        c, "RPUSH actors:t:journal %b", r->str, (size_t)(r->len - 3));
    ck_assert(w != NULL && w->type == REDIS_REPLY_INTEGER);
    freeReplyObject(w);
    freeReplyObject(r);

    p = s_open("t", 0, 0);
    s_sum_t s = s_recover(p);
    ck_assert_int_eq(s.events, 4);
    ck_assert_int_eq(s.sum, 10);
    s_append(p, 100, NULL);
    actors_persist_destroy(&p);
    p = s_open("t", 0, 0);
    s = s_recover(p);
    ck_assert_int_eq(s.events, 5);
    ck_assert_int_eq(s.sum, 110);
    ck_assert_uint_eq(actors_persist_last_seq(p), 5);
    actors_persist_destroy(&p);
    redisFree(c);
}
END_TEST

START_TEST(test_persist_redis_id_window_survives_restart_and_compaction)
{
    SKIP_WITHOUT_REDIS();
    actors_persist_t *p = s_open("w", 3, 4);
    s_recover(p);
    char id[16];
    for (int i = 1; i <= 6; i++) {
        snprintf(id, sizeof id, "req-%d", i);
        s_append(p, i, id);
    }
    s_val_t st = s_int(21);
    TEST_ASSERT_OK(actors_persist_snapshot(p, st.b, st.n));
    s_append(p, 7, "req-7");
    actors_persist_destroy(&p);
    p = s_open("w", 3, 4);
    s_sum_t s = s_recover(p);
    ck_assert_int_eq(s.sum, 28);
    const void *res = NULL;
    size_t len = 0;
    for (int i = 1; i <= 7; i++) {
        snprintf(id, sizeof id, "req-%d", i);
        ck_assert_int_eq(
            actors_persist_lookup(p, id, strlen(id), &res, &len), i > 3);
    }
    s_val_t want = s_int(70);
    ck_assert(actors_persist_lookup(p, "req-7", 5, &res, &len));
    ck_assert_uint_eq(len, want.n);
    ck_assert_int_eq(memcmp(res, want.b, len), 0);
    actors_persist_destroy(&p);
}
END_TEST

START_TEST(test_persist_redis_unreachable_is_eio)
{
    SKIP_WITHOUT_REDIS();
    actors_persist_opts_t o = ACTORS_PERSIST_OPTS_INIT;
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
    /* The server goes away under an open handle: EIO, not a crash. */
    p = s_open("gone", 0, 0);
    s_recover(p);
    testutil_stop_all();
    s_val_t ev = s_int(1);
    TEST_ASSERT_ERR(
        actors_persist_append(p, NULL, 0, ev.b, ev.n, NULL, 0, NULL),
        ACTORS_EIO);
    actors_persist_destroy(&p);
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
    tcase_add_test(tc, test_persist_redis_save_restore_exists);
    tcase_add_test(
        tc, test_persist_redis_snapshot_plus_replay_equals_full_replay);
    tcase_add_test(tc, test_persist_redis_torn_tail_is_dropped);
    tcase_add_test(
        tc, test_persist_redis_id_window_survives_restart_and_compaction);
    tcase_add_test(tc, test_persist_redis_unreachable_is_eio);
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
