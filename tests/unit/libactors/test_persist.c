/* tests/unit/libactors/test_persist.c - persist.c over the file backend:
 * exists/save/restore, journal replay, snapshots and compaction, torn
 * tails, durability policies, the request-id window, OOM paths.
 * SPDX-License-Identifier: MIT
 *
 * The cases every backend must pass are in persist_cases.h (shared with
 * test_persist_redis.c); this file gives them the file backend's hooks
 * and adds what only concerns files. Each test works in a fresh mkdtemp()
 * directory, removed at the end.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <actors/persist.h>

#include "../../testutil.h"

#define PERSIST_BACKEND "file"
#include "persist_cases.h"

static char s_dir[64];

static int
s_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void
s_setup(void)
{
    snprintf(s_dir, sizeof s_dir, "/tmp/actors-persist-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(s_dir));
}

static void
s_teardown(void)
{
    nftw(s_dir, s_rm, 16, FTW_DEPTH | FTW_PHYS);
}

static actors_persist_opts_t
s_opts(actors_persist_sync sync, uint32_t every, uint32_t window)
{
    actors_persist_opts_t o = ACTORS_PERSIST_OPTS_INIT;
    o.dir = s_dir;
    o.redis = ""; /* files, whatever the environment says */
    o.sync = sync;
    o.snapshot_every = every;
    o.id_window = window;
    return o;
}

/* The test keys need no escaping, except in s_check_keys. */
static char *
s_journal_path(const char *key)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s/journal", s_dir, key);
    return path;
}

static size_t
s_jrn_get(const char *key, char *buf, size_t cap)
{
    FILE *f = fopen(s_journal_path(key), "rb");
    if (f == NULL) {
        return 0;
    }
    size_t n = fread(buf, 1, cap, f);
    ck_assert_msg(
        feof(f) && !ferror(f), "journal of %s over %zu bytes", key, cap);
    fclose(f);
    return n;
}

static void
s_jrn_set(const char *key, const char *buf, size_t len)
{
    FILE *f = fopen(s_journal_path(key), "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(buf, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
}

static void
s_check_saved(const char *key)
{
    /* No temp file is left behind. */
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s/%s/snapshot.tmp", s_dir, key);
    ck_assert_int_ne(access(tmp, F_OK), 0);
}

static void
s_check_keys(actors_persist_opts_t o)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%%2E.%%2Faccount%%2F1/journal", s_dir);
    ck_assert_int_eq(access(path, F_OK), 0);
    snprintf(path, sizeof path, "%s/x%%3Asnap/journal", s_dir);
    ck_assert_int_eq(access(path, F_OK), 0);
    /* The directory cannot be made: EIO, nothing leaks. */
    actors_persist_t *p = NULL;
    o.dir = "/proc/actors-no-such";
    TEST_ASSERT_ERR(actors_persist_open(&p, "k", &o), ACTORS_EIO);
    ck_assert_ptr_null(p);
}

/* The file backend holds a key for one handle at a time (flock on its
 * directory, per open file description, so even within one process). */
START_TEST(test_persist_file_key_has_one_holder)
{
    actors_persist_opts_t o = s_opts(ACTORS_PERSIST_SYNC_ALWAYS, 0, 0);
    actors_persist_t *a = NULL;
    actors_persist_t *b = NULL;
    TEST_ASSERT_OK(actors_persist_open(&a, "held", &o));
    ck_assert_int_eq(actors_persist_open(&b, "held", &o), ACTORS_ETAKEN);
    ck_assert_ptr_null(b);
    TEST_ASSERT_OK(actors_persist_open(&b, "other", &o));
    actors_persist_destroy(&b);
    actors_persist_destroy(&a);
    TEST_ASSERT_OK(actors_persist_open(&b, "held", &o));
    actors_persist_destroy(&b);
}
END_TEST

/* s_deep writes [[..[1]..]], depth arrays deep, into buf (> depth bytes)
 * and returns its length. */
static size_t
s_deep(char *buf, int depth)
{
    memset(buf, 0x91, (size_t)depth);
    buf[depth] = 0x01;
    return (size_t)depth + 1;
}

static actors_err
s_count_snapshot(void *arg, const msgpack_object *state)
{
    (void)state;
    ((int *)arg)[0]++;
    return ACTORS_OK;
}

static actors_err
s_count_event(void *arg, uint64_t seq, const msgpack_object *ev)
{
    (void)seq;
    (void)ev;
    ((int *)arg)[1]++;
    return ACTORS_OK;
}

/* A record wraps its values in more containers (an event in [seq, id,
 * event, result], a result in the snapshot's window of [id, result]
 * pairs: three), and msgpack-c decodes no more than 32 levels: what
 * would make a record too deep to read back is refused when written,
 * never dropped at recovery as if it were a torn tail. */
START_TEST(test_persist_refuses_values_too_deep_to_recover)
{
    actors_persist_opts_t o = s_opts(ACTORS_PERSIST_SYNC_ALWAYS, 0, 8);
    actors_persist_t *p = NULL;
    TEST_ASSERT_OK(actors_persist_open(&p, "deep", &o));
    int seen[2] = {0, 0};
    TEST_ASSERT_OK(
        actors_persist_recover(p, s_count_snapshot, s_count_event, seen));
    char ev[40];
    char res[40];
    size_t ev_len = s_deep(ev, 31);
    size_t res_len = s_deep(res, 29);
    TEST_ASSERT_OK(
        actors_persist_append(p, "a", 1, ev, ev_len, res, res_len, NULL));
    ev_len = s_deep(ev, 32);
    TEST_ASSERT_ERR(
        actors_persist_append(p, "b", 1, ev, ev_len, res, res_len, NULL),
        ACTORS_EINVAL);
    ev_len = s_deep(ev, 31);
    res_len = s_deep(res, 30);
    TEST_ASSERT_ERR(
        actors_persist_append(p, "c", 1, ev, ev_len, res, res_len, NULL),
        ACTORS_EINVAL);
    TEST_ASSERT_OK(
        actors_persist_append(p, NULL, 0, ev, ev_len, NULL, 0, NULL));
    ck_assert_uint_eq(actors_persist_last_seq(p), 2);
    actors_persist_destroy(&p);

    /* Both events come back. */
    TEST_ASSERT_OK(actors_persist_open(&p, "deep", &o));
    TEST_ASSERT_OK(
        actors_persist_recover(p, s_count_snapshot, s_count_event, seen));
    ck_assert_int_eq(seen[1], 2);
    const void *r = NULL;
    size_t r_len = 0;
    ck_assert(actors_persist_lookup(p, "a", 1, &r, &r_len));
    /* A snapshot holds the window (result "a" 29 deep in it): a state of
     * 31 levels fits, 32 does not. */
    char st[40];
    size_t st_len = s_deep(st, 32);
    TEST_ASSERT_ERR(actors_persist_snapshot(p, st, st_len), ACTORS_EINVAL);
    TEST_ASSERT_ERR(actors_persist_save(p, st, st_len), ACTORS_EINVAL);
    st_len = s_deep(st, 31);
    TEST_ASSERT_OK(actors_persist_snapshot(p, st, st_len));
    actors_persist_destroy(&p);

    TEST_ASSERT_OK(actors_persist_open(&p, "deep", &o));
    seen[0] = seen[1] = 0;
    TEST_ASSERT_OK(
        actors_persist_recover(p, s_count_snapshot, s_count_event, seen));
    ck_assert_int_eq(seen[0], 1);
    ck_assert_int_eq(seen[1], 0);
    ck_assert(actors_persist_lookup(p, "a", 1, &r, &r_len));
    ck_assert_uint_eq(r_len, 30);
    actors_persist_destroy(&p);
}
END_TEST

START_TEST(test_persist_opts_from_env)
{
    actors_persist_opts_t o = ACTORS_PERSIST_OPTS_INIT;
    setenv("ACTORS_PERSIST_SYNC", "group:7", 1);
    setenv("ACTORS_SNAPSHOT_EVERY", "50", 1);
    TEST_ASSERT_OK(actors_persist_opts_from_env(&o));
    ck_assert_int_eq(o.sync, ACTORS_PERSIST_SYNC_GROUP);
    ck_assert_uint_eq(o.group_ms, 7);
    ck_assert_uint_eq(o.snapshot_every, 50);
    setenv("ACTORS_PERSIST_SYNC", "none", 1);
    TEST_ASSERT_OK(actors_persist_opts_from_env(&o));
    ck_assert_int_eq(o.sync, ACTORS_PERSIST_SYNC_NONE);
    setenv("ACTORS_PERSIST_SYNC", "sometimes", 1);
    TEST_ASSERT_ERR(actors_persist_opts_from_env(&o), ACTORS_EINVAL);
    ck_assert_int_eq(o.sync, ACTORS_PERSIST_SYNC_NONE);
    setenv("ACTORS_PERSIST_SYNC", "group:x", 1);
    TEST_ASSERT_ERR(actors_persist_opts_from_env(&o), ACTORS_EINVAL);
    setenv("ACTORS_PERSIST_SYNC", "always", 1);
    setenv("ACTORS_SNAPSHOT_EVERY", "-1", 1);
    TEST_ASSERT_ERR(actors_persist_opts_from_env(&o), ACTORS_EINVAL);
    unsetenv("ACTORS_PERSIST_SYNC");
    unsetenv("ACTORS_SNAPSHOT_EVERY");
}
END_TEST

Suite *persist_suite(void);

Suite *
persist_suite(void)
{
    Suite *s = suite_create("persist");
    TCase *tc = tcase_create("file");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    persist_cases_add(tc);
    tcase_add_test(tc, test_persist_opts_from_env);
    tcase_add_test(tc, test_persist_file_key_has_one_holder);
    tcase_add_test(tc, test_persist_refuses_values_too_deep_to_recover);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(persist_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
