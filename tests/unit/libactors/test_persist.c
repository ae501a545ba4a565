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
#define _DEFAULT_SOURCE   /* syscall */
#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <actors/persist.h>

#include "../../testfs.h"
#include "../../testutil.h"

#define PERSIST_BACKEND "file"
#include "persist_cases.h"

static char s_dir[64];
static int s_sync_fails; /* fdatasync calls still to fail (ENOSPC) */

/* fdatasync, interposed: this definition, not libc's, is what the library
 * linked into this binary calls, so a test can make the journal's sync
 * fail the way a file system that finds no room at writeback does (NFS,
 * thin provisioning, some quotas). tmpfs never fails a sync, and the
 * file backend syncs its journal with fdatasync only. */
int
fdatasync(int fd)
{
    if (s_sync_fails > 0) {
        s_sync_fails--;
        errno = ENOSPC;
        return -1;
    }
    return (int)syscall(SYS_fdatasync, fd);
}

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
    testfs_unmount();
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
 * directory, per open file description, so even within one process). A
 * second opener gets KeyLocked, its own code: no address is involved, so
 * NameTaken would send the reader looking for the wrong thing. */
START_TEST(test_persist_file_key_has_one_holder)
{
    actors_persist_opts_t o = s_opts(ACTORS_PERSIST_SYNC_ALWAYS, 0, 0);
    actors_persist_t *a = NULL;
    actors_persist_t *b = NULL;
    TEST_ASSERT_OK(actors_persist_open(&a, "held", &o));
    TEST_ASSERT_ERR(actors_persist_open(&b, "held", &o), ACTORS_ELOCKED);
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

/* ---- a full disk -------------------------------------------------------- */

/* s_file_size is the size of a file under s_dir (-1: none). */
static long
s_file_size(const char *rel)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", s_dir, rel);
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* s_dev_full puts /dev/full at s_dir/rel (every write to it fails ENOSPC). */
static void
s_dev_full(const char *rel)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", s_dir, rel);
    (void)unlink(path);
    ck_assert_int_eq(symlink("/dev/full", path), 0);
}

/* Every write the backend makes fails ENOSPC (/dev/full as the journal and
 * as the snapshot's temporary file): DiskFull, not TransportError, and
 * nothing counted. Needs no mount, so it runs everywhere. */
START_TEST(test_persist_file_dev_full_is_disk_full)
{
    actors_persist_opts_t o = s_opts(ACTORS_PERSIST_SYNC_ALWAYS, 0, 8);
    actors_persist_t *p = s_open("df", o);
    s_recover(p);
    s_val_t st = s_int(7);
    TEST_ASSERT_OK(actors_persist_save(p, st.b, st.n));
    actors_persist_destroy(&p);
    s_dev_full("df/journal");
    s_dev_full("df/snapshot.tmp");

    p = s_open("df", o);
    s_sum_t s = s_recover(p);
    ck_assert(s.had_snapshot);
    ck_assert_int_eq(s.sum, 7);
    s_val_t ev = s_int(1);
    TEST_ASSERT_ERR(
        actors_persist_append(p, "id-1", 4, ev.b, ev.n, ev.b, ev.n, NULL),
        ACTORS_ENOSPACE);
    ck_assert_uint_eq(actors_persist_last_seq(p), 0);
    ck_assert(
        !actors_persist_lookup(p, "id-1", 4, &(const void *){0}, &(size_t){0}));
    /* A device cannot be cut back (ftruncate fails), so the backend cannot
     * tell that no fragment of the record is left: it appends nothing
     * more after it (TransportError) rather than bury a record behind
     * what recovery would take for a torn tail. */
    TEST_ASSERT_ERR(
        actors_persist_append(p, "id-1", 4, ev.b, ev.n, ev.b, ev.n, NULL),
        ACTORS_EIO);
    s_val_t st2 = s_int(8);
    TEST_ASSERT_ERR(actors_persist_save(p, st2.b, st2.n), ACTORS_ENOSPACE);
    s_dev_full("df/snapshot.tmp"); /* the failed save removed it */
    TEST_ASSERT_ERR(actors_persist_snapshot(p, st2.b, st2.n), ACTORS_ENOSPACE);
    actors_persist_destroy(&p);

    /* The snapshot that was there stands, and no temporary is left. */
    s_check_saved("df");
    p = s_open("df", o);
    s = s_recover(p);
    ck_assert_int_eq(s.sum, 7);
    ck_assert_int_eq(s.events, 0);
    actors_persist_destroy(&p);
}
END_TEST

/* A real full disk (a small tmpfs, filled): the append that does not fit
 * fails DiskFull after a short write, is cut off again (all or nothing),
 * its id is not remembered, and the handle goes on working: once space is
 * freed the same call (same id) is appended once. A snapshot that does
 * not fit fails DiskFull and leaves the previous one. */
static void
s_disk_full(actors_persist_sync sync)
{
    char fs[128];
    snprintf(fs, sizeof fs, "%s/fs", s_dir);
    if (!testfs_tmpfs(fs, 256 * 1024)) {
        return;
    }
    actors_persist_opts_t o = s_opts(sync, 0, 64);
    char root[160];
    snprintf(root, sizeof root, "%s/state", fs);
    o.dir = root;
    actors_persist_t *p = s_open("acct", o);
    s_recover(p);
    s_val_t st = s_int(1000);
    TEST_ASSERT_OK(actors_persist_snapshot(p, st.b, st.n));
    s_append(p, 1, "before");
    TEST_ASSERT_OK(actors_persist_flush(p));

    char filler[160];
    snprintf(filler, sizeof filler, "%s/filler", fs);
    ck_assert_uint_gt(testfs_fill(filler), 0);
    /* The journal's last page may still hold a few records: append until
     * one does not fit (a page is 4 KiB; a record here is < 64 bytes). */
    actors_err rc = ACTORS_OK;
    int fitted = 0;
    long size = 0;
    char id[32];
    for (int i = 0; rc == ACTORS_OK; i++) {
        ck_assert_int_lt(i, 4096 / 16);
        size = s_file_size("fs/state/acct/journal");
        snprintf(id, sizeof id, "fill-%d", i);
        s_val_t ev = s_int(1);
        rc = actors_persist_append(
            p, id, strlen(id), ev.b, ev.n, ev.b, ev.n, NULL);
        fitted += rc == ACTORS_OK;
    }
    TEST_ASSERT_ERR(rc, ACTORS_ENOSPACE);
    uint64_t last = actors_persist_last_seq(p);
    ck_assert_uint_eq(last, 1 + (uint64_t)fitted);
    /* Nothing of the record stays, and its id is not remembered. */
    ck_assert_int_eq(s_file_size("fs/state/acct/journal"), size);
    ck_assert(!actors_persist_lookup(
        p, id, strlen(id), &(const void *){0}, &(size_t){0}));
    TEST_ASSERT_OK(actors_persist_flush(p));
    s_val_t st2 = s_int(2000);
    /* A snapshot needs a new page for snapshot.tmp: it cannot fit. */
    TEST_ASSERT_ERR(actors_persist_snapshot(p, st2.b, st2.n), ACTORS_ENOSPACE);
    ck_assert_int_eq(s_file_size("fs/state/acct/snapshot.tmp"), -1);

    /* Space again: the same call goes in, once. */
    ck_assert_int_eq(unlink(filler), 0);
    s_val_t ev = s_int(1);
    TEST_ASSERT_OK(
        actors_persist_append(p, id, strlen(id), ev.b, ev.n, ev.b, ev.n, NULL));
    ck_assert_uint_eq(actors_persist_last_seq(p), last + 1);
    actors_persist_destroy(&p);

    p = s_open("acct", o);
    s_sum_t s = s_recover(p);
    ck_assert(s.had_snapshot);
    ck_assert_int_eq(s.sum, 1000 + 1 + fitted + 1);
    ck_assert_int_eq(s.events, 1 + fitted + 1);
    ck_assert(actors_persist_lookup(
        p, id, strlen(id), &(const void *){0}, &(size_t){0}));
    actors_persist_destroy(&p);
}

/* A sync that fails (ENOSPC) under ALWAYS: whether the record reached the
 * disk is unknown, so it is cut off again, durably; then nothing of it is
 * stored (DiskFull, the id forgotten) and the handle goes on. If the cut
 * cannot be made durable either, the handle is broken (TransportError on
 * every call) and the record is in doubt until a reopen recovers. */
START_TEST(test_persist_file_failed_sync_is_undone)
{
    actors_persist_opts_t o = s_opts(ACTORS_PERSIST_SYNC_ALWAYS, 0, 8);
    actors_persist_t *p = s_open("sync", o);
    s_recover(p);
    s_append(p, 1, "a");
    long size = s_file_size("sync/journal");
    s_val_t ev = s_int(2);
    s_sync_fails = 1;
    TEST_ASSERT_ERR(
        actors_persist_append(p, "b", 1, ev.b, ev.n, ev.b, ev.n, NULL),
        ACTORS_ENOSPACE);
    ck_assert_int_eq(s_file_size("sync/journal"), size);
    ck_assert_uint_eq(actors_persist_last_seq(p), 1);
    ck_assert(
        !actors_persist_lookup(p, "b", 1, &(const void *){0}, &(size_t){0}));
    s_append(p, 4, "c");

    /* The cut's own sync fails too: broken. */
    s_sync_fails = 2;
    TEST_ASSERT_ERR(
        actors_persist_append(p, "d", 1, ev.b, ev.n, ev.b, ev.n, NULL),
        ACTORS_EIO);
    TEST_ASSERT_ERR(
        actors_persist_append(p, "e", 1, ev.b, ev.n, ev.b, ev.n, NULL),
        ACTORS_EIO);
    actors_persist_destroy(&p);

    /* Whether "d" is stored is unknown to the handle; here the truncate
     * did reach the page cache (its sync is what failed), so it is not. */
    p = s_open("sync", o);
    s_sum_t s = s_recover(p);
    ck_assert_int_eq(s.sum, 1 + 4);
    ck_assert_int_eq(s.events, 2);
    actors_persist_destroy(&p);
}
END_TEST

/* A group flush that fails (ENOSPC): every event since the last flush is
 * cut off, durably, so none of them is stored (DiskFull); the owner has
 * applied them in memory, so the handle is broken and must be reopened. */
START_TEST(test_persist_file_failed_flush_is_undone)
{
    actors_persist_opts_t o = s_opts(ACTORS_PERSIST_SYNC_GROUP, 0, 8);
    actors_persist_t *p = s_open("flush", o);
    s_recover(p);
    s_append(p, 1, "a");
    TEST_ASSERT_OK(actors_persist_flush(p));
    long size = s_file_size("flush/journal");
    s_append(p, 2, "b");
    s_append(p, 4, "c");
    ck_assert_int_gt(s_file_size("flush/journal"), size);
    s_sync_fails = 1;
    TEST_ASSERT_ERR(actors_persist_flush(p), ACTORS_ENOSPACE);
    ck_assert_int_eq(s_file_size("flush/journal"), size);
    ck_assert(!actors_persist_durable(p, 2));
    s_val_t ev = s_int(8);
    TEST_ASSERT_ERR(
        actors_persist_append(p, NULL, 0, ev.b, ev.n, NULL, 0, NULL),
        ACTORS_EIO);
    TEST_ASSERT_ERR(actors_persist_flush(p), ACTORS_EIO);
    actors_persist_destroy(&p);

    p = s_open("flush", o);
    s_sum_t s = s_recover(p);
    ck_assert_int_eq(s.sum, 1);
    ck_assert_int_eq(s.events, 1);
    ck_assert(
        !actors_persist_lookup(p, "b", 1, &(const void *){0}, &(size_t){0}));
    s_append(p, 16, "d");
    actors_persist_destroy(&p);
    p = s_open("flush", o);
    ck_assert_int_eq(s_recover(p).sum, 17);
    actors_persist_destroy(&p);
}
END_TEST

START_TEST(test_persist_file_disk_full_always)
{
    s_disk_full(ACTORS_PERSIST_SYNC_ALWAYS);
}
END_TEST

START_TEST(test_persist_file_disk_full_group)
{
    s_disk_full(ACTORS_PERSIST_SYNC_GROUP);
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
    tcase_add_test(tc, test_persist_file_dev_full_is_disk_full);
    tcase_add_test(tc, test_persist_file_disk_full_always);
    tcase_add_test(tc, test_persist_file_disk_full_group);
    tcase_add_test(tc, test_persist_file_failed_sync_is_undone);
    tcase_add_test(tc, test_persist_file_failed_flush_is_undone);
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
