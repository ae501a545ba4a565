/* tests/unit/libactors/test_persist.c - persist.c over the file backend:
 * exists/save/restore, journal replay, snapshots and compaction, torn
 * tails, durability policies, the request-id window, OOM paths.
 * SPDX-License-Identifier: MIT
 *
 * The state of the test "actor" is a sum of int events; each test works
 * in a fresh mkdtemp() directory, removed at the end.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <check.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <actors/persist.h>

#include "../../testutil.h"

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

/* An int as one msgpack value. */
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

/* The replayed state. */
typedef struct {
    int64_t sum;       /* of events */
    uint64_t last;     /* last seq seen */
    int events;        /* events replayed */
    bool had_snapshot; /* on_snapshot ran */
} s_sum_t;

static actors_err
s_on_snapshot(void *arg, const msgpack_object *state)
{
    s_sum_t *s = arg;
    ck_assert(state->type == MSGPACK_OBJECT_POSITIVE_INTEGER ||
              state->type == MSGPACK_OBJECT_NEGATIVE_INTEGER);
    s->sum = state->via.i64;
    s->had_snapshot = true;
    return ACTORS_OK;
}

static actors_err
s_on_event(void *arg, uint64_t seq, const msgpack_object *ev)
{
    s_sum_t *s = arg;
    ck_assert_uint_gt(seq, s->last);
    if (s->events > 0) {
        ck_assert_uint_eq(seq, s->last + 1); /* consecutive */
    }
    s->sum += ev->via.i64;
    s->last = seq;
    s->events++;
    return ACTORS_OK;
}

static s_sum_t
s_recover(actors_persist_t *p)
{
    s_sum_t s = {0, 0, 0, false};
    TEST_ASSERT_OK(actors_persist_recover(p, s_on_snapshot, s_on_event, &s));
    return s;
}

static actors_persist_t *
s_open(const char *key, actors_persist_opts_t o)
{
    actors_persist_t *p = NULL;
    TEST_ASSERT_OK(actors_persist_open(&p, key, &o));
    ck_assert_str_eq(actors_persist_backend(p), "file");
    return p;
}

static void
s_append(actors_persist_t *p, int64_t v, const char *id)
{
    s_val_t ev = s_int(v);
    s_val_t res = s_int(v * 10);
    TEST_ASSERT_OK(actors_persist_append(p, id, id ? strlen(id) : 0, ev.b, ev.n,
        id ? res.b : NULL, res.n, NULL));
}

static char *
s_journal_path(const char *key)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s/journal", s_dir, key);
    return path;
}

static off_t
s_file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : -1;
}

/* The seed's FilePersistence: exists, save, restore. */
START_TEST(test_persist_save_restore_exists)
{
    actors_persist_t *p =
        s_open("1234567", s_opts(ACTORS_PERSIST_SYNC_ALWAYS, 0, 0));
    bool exists = true;
    TEST_ASSERT_OK(actors_persist_exists(p, &exists));
    ck_assert(!exists);
    actors_msg_t *m = NULL;
    TEST_ASSERT_ERR(actors_persist_restore(p, &m), ACTORS_ENOACTOR);
    ck_assert_ptr_null(m);

    actors_msg_t *state = NULL;
    TEST_ASSERT_OK(
        actors_msg_build(&state, "{sdsd}", "balance", 130.0, "minimal", 20.0));
    TEST_ASSERT_OK(
        actors_persist_save(p, actors_msg_data(state), actors_msg_size(state)));
    TEST_ASSERT_OK(actors_persist_exists(p, &exists));
    ck_assert(exists);
    actors_persist_destroy(&p);
    ck_assert_ptr_null(p);

    p = s_open("1234567", s_opts(ACTORS_PERSIST_SYNC_ALWAYS, 0, 0));
    TEST_ASSERT_OK(actors_persist_restore(p, &m));
    ck_assert_uint_eq(actors_msg_size(m), actors_msg_size(state));
    ck_assert_int_eq(
        memcmp(actors_msg_data(m), actors_msg_data(state), actors_msg_size(m)),
        0);
    /* No temp file is left behind. */
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s/1234567/snapshot.tmp", s_dir);
    ck_assert_int_ne(access(tmp, F_OK), 0);
    /* Not one msgpack value: refused, old state kept. */
    TEST_ASSERT_ERR(actors_persist_save(p, "\x92\x01", 2), ACTORS_EINVAL);
    TEST_ASSERT_OK(actors_persist_remove(p));
    TEST_ASSERT_OK(actors_persist_exists(p, &exists));
    ck_assert(!exists);
    actors_msg_destroy(&m);
    actors_msg_destroy(&state);
    actors_persist_destroy(&p);
    actors_persist_destroy(&p); /* idempotent */
}
END_TEST

START_TEST(test_persist_journal_replays_in_order)
{
    actors_persist_opts_t o = s_opts(ACTORS_PERSIST_SYNC_ALWAYS, 0, 0);
    actors_persist_t *p = s_open("acc", o);
    /* Append before recover is a programming order error. */
    s_val_t ev = s_int(1);
    TEST_ASSERT_ERR(
        actors_persist_append(p, NULL, 0, ev.b, ev.n, NULL, 0, NULL),
        ACTORS_EINVAL);
    s_sum_t s = s_recover(p);
    ck_assert_int_eq(s.events, 0);
    for (int i = 1; i <= 50; i++) {
        uint64_t seq = 0;
        ev = s_int(i);
        TEST_ASSERT_OK(
            actors_persist_append(p, NULL, 0, ev.b, ev.n, NULL, 0, &seq));
        ck_assert_uint_eq(seq, (uint64_t)i);
        ck_assert(actors_persist_durable(p, seq));
    }
    /* Not one msgpack value, or an id over 255 bytes. */
    TEST_ASSERT_ERR(actors_persist_append(p, NULL, 0, "\xc1", 1, NULL, 0, NULL),
        ACTORS_EINVAL);
    char id[256] = {0};
    TEST_ASSERT_ERR(
        actors_persist_append(p, id, sizeof id, ev.b, ev.n, NULL, 0, NULL),
        ACTORS_EINVAL);
    actors_persist_destroy(&p);

    p = s_open("acc", o);
    s = s_recover(p);
    ck_assert_int_eq(s.events, 50);
    ck_assert_int_eq(s.sum, 50 * 51 / 2);
    ck_assert_uint_eq(actors_persist_last_seq(p), 50);
    TEST_ASSERT_ERR(
        actors_persist_recover(p, NULL, NULL, NULL), ACTORS_EINVAL); /* once */
    actors_persist_destroy(&p);
}
END_TEST

/* Snapshot every N plus replay of the rest gives the same state as a full
 * replay, and compaction leaves only the events after the snapshot. */
START_TEST(test_persist_snapshot_plus_replay_equals_full_replay)
{
    actors_persist_t *full =
        s_open("full", s_opts(ACTORS_PERSIST_SYNC_NONE, 1000000, 0));
    actors_persist_t *snap =
        s_open("snap", s_opts(ACTORS_PERSIST_SYNC_NONE, 7, 0));
    s_recover(full);
    s_recover(snap);
    int64_t sum = 0;
    int snapshots = 0;
    for (int i = 1; i <= 100; i++) {
        int64_t v = (i * 37) % 11 - 5;
        sum += v;
        s_append(full, v, NULL);
        s_append(snap, v, NULL);
        if (actors_persist_snapshot_due(snap)) {
            s_val_t st = s_int(sum);
            TEST_ASSERT_OK(actors_persist_snapshot(snap, st.b, st.n));
            ck_assert(!actors_persist_snapshot_due(snap));
            snapshots++;
        }
    }
    ck_assert_int_eq(snapshots, 100 / 7);
    actors_persist_destroy(&full);
    actors_persist_destroy(&snap);

    full = s_open("full", s_opts(ACTORS_PERSIST_SYNC_NONE, 1000000, 0));
    snap = s_open("snap", s_opts(ACTORS_PERSIST_SYNC_NONE, 7, 0));
    s_sum_t a = s_recover(full);
    s_sum_t b = s_recover(snap);
    ck_assert_int_eq(a.sum, sum);
    ck_assert_int_eq(b.sum, sum);
    ck_assert(!a.had_snapshot);
    ck_assert(b.had_snapshot);
    ck_assert_int_eq(a.events, 100);
    ck_assert_int_eq(b.events, 100 % 7); /* only what follows the snapshot */
    ck_assert_uint_eq(actors_persist_last_seq(full), 100);
    ck_assert_uint_eq(actors_persist_last_seq(snap), 100);
    /* The compacted journal holds 2 records; the full one 100. */
    ck_assert_int_lt(s_file_size(s_journal_path("snap")) * 40,
        s_file_size(s_journal_path("full")));
    actors_persist_destroy(&full);
    actors_persist_destroy(&snap);
}
END_TEST

/* A crash after the snapshot was written but before the journal was
 * compacted: the covered events are in both, and none is applied twice. */
START_TEST(test_persist_crash_between_snapshot_and_compaction)
{
    actors_persist_opts_t o = s_opts(ACTORS_PERSIST_SYNC_ALWAYS, 0, 0);
    actors_persist_t *p = s_open("k", o);
    s_recover(p);
    for (int i = 1; i <= 5; i++) {
        s_append(p, i, NULL);
    }
    /* Keep the uncompacted journal aside. */
    char *jp = s_journal_path("k");
    FILE *f = fopen(jp, "rb");
    char old[4096];
    size_t n = fread(old, 1, sizeof old, f);
    fclose(f);
    s_val_t st = s_int(15);
    TEST_ASSERT_OK(actors_persist_snapshot(p, st.b, st.n));
    ck_assert_int_eq(s_file_size(jp), 0);
    actors_persist_destroy(&p);
    f = fopen(jp, "wb");
    ck_assert_uint_eq(fwrite(old, 1, n, f), n);
    fclose(f);

    p = s_open("k", o);
    s_sum_t s = s_recover(p);
    ck_assert_int_eq(s.sum, 15);
    ck_assert_int_eq(s.events, 0);
    s_append(p, 100, NULL);
    ck_assert_uint_eq(actors_persist_last_seq(p), 6);
    actors_persist_destroy(&p);
    p = s_open("k", o);
    s = s_recover(p);
    ck_assert_int_eq(s.sum, 115);
    actors_persist_destroy(&p);
}
END_TEST

/* Torn-write recovery: the journal cut at every byte of its last record
 * recovers the events before it, drops the torn one, and the next append
 * follows the valid prefix. */
START_TEST(test_persist_truncated_journal_recovers_valid_prefix)
{
    actors_persist_opts_t o = s_opts(ACTORS_PERSIST_SYNC_ALWAYS, 0, 0);
    actors_persist_t *p = s_open("t", o);
    s_recover(p);
    for (int i = 1; i <= 9; i++) {
        s_append(p, i, NULL);
    }
    off_t nine = s_file_size(s_journal_path("t"));
    s_append(p, 1000, NULL);
    off_t ten = s_file_size(s_journal_path("t"));
    actors_persist_destroy(&p);
    char *jp = s_journal_path("t");
    FILE *f = fopen(jp, "rb");
    char full[4096];
    size_t n = fread(full, 1, sizeof full, f);
    fclose(f);
    ck_assert_int_eq((off_t)n, ten);

    for (off_t cut = nine + 1; cut < ten; cut++) {
        f = fopen(jp, "wb");
        ck_assert_uint_eq(fwrite(full, 1, (size_t)cut, f), (size_t)cut);
        fclose(f);
        p = s_open("t", o);
        s_sum_t s = s_recover(p);
        ck_assert_int_eq(s.events, 9);
        ck_assert_int_eq(s.sum, 45);
        ck_assert_int_eq(s_file_size(jp), nine); /* tail cut off */
        s_append(p, 7, NULL);
        ck_assert_uint_eq(actors_persist_last_seq(p), 10);
        actors_persist_destroy(&p);
        p = s_open("t", o);
        s = s_recover(p);
        ck_assert_int_eq(s.events, 10);
        ck_assert_int_eq(s.sum, 52);
        actors_persist_destroy(&p);
    }
    /* Garbage (not a torn record but damage) in the middle: everything
     * from it on is dropped, never replayed as garbage. */
    f = fopen(jp, "wb");
    full[nine / 2] ^= 0x5a;
    ck_assert_uint_eq(fwrite(full, 1, n, f), n);
    fclose(f);
    p = s_open("t", o);
    s_sum_t s = s_recover(p);
    ck_assert_int_lt(s.events, 9);
    ck_assert_int_eq(s.sum, s.events * (s.events + 1) / 2);
    actors_persist_destroy(&p);
}
END_TEST

START_TEST(test_persist_group_commit_is_durable_after_flush)
{
    actors_persist_opts_t o = s_opts(ACTORS_PERSIST_SYNC_GROUP, 0, 0);
    o.group_ms = 3;
    actors_persist_t *p = s_open("g", o);
    ck_assert_uint_eq(actors_persist_group_ms(p), 3);
    s_recover(p);
    uint64_t seqs[5];
    for (int i = 0; i < 5; i++) {
        s_val_t ev = s_int(i);
        TEST_ASSERT_OK(
            actors_persist_append(p, NULL, 0, ev.b, ev.n, NULL, 0, &seqs[i]));
        ck_assert(!actors_persist_durable(p, seqs[i]));
    }
    ck_assert_uint_eq(actors_persist_pending(p), 5);
    TEST_ASSERT_OK(actors_persist_flush(p));
    ck_assert_uint_eq(actors_persist_pending(p), 0);
    for (int i = 0; i < 5; i++) {
        ck_assert(actors_persist_durable(p, seqs[i]));
    }
    TEST_ASSERT_OK(actors_persist_flush(p)); /* nothing to do */
    actors_persist_destroy(&p);

    o.sync = ACTORS_PERSIST_SYNC_ALWAYS;
    p = s_open("g", o);
    ck_assert_int_eq(s_recover(p).events, 5);
    ck_assert_uint_eq(actors_persist_pending(p), 0);
    actors_persist_destroy(&p);
}
END_TEST

/* Exactly-once: a recorded id is found with its result, across restarts
 * and compaction; the window keeps only the last id_window ids. */
START_TEST(test_persist_id_window_remembers_results)
{
    actors_persist_opts_t o = s_opts(ACTORS_PERSIST_SYNC_ALWAYS, 3, 4);
    actors_persist_t *p = s_open("w", o);
    s_recover(p);
    char id[16];
    for (int i = 1; i <= 6; i++) {
        snprintf(id, sizeof id, "req-%d", i);
        s_append(p, i, id);
    }
    const void *res = NULL;
    size_t res_len = 0;
    for (int round = 0; round < 3; round++) {
        for (int i = 1; i <= 6; i++) {
            snprintf(id, sizeof id, "req-%d", i);
            bool found =
                actors_persist_lookup(p, id, strlen(id), &res, &res_len);
            ck_assert_msg(found == (i > 2), "round %d id %s", round, id);
            if (found) {
                s_val_t want = s_int(i * 10);
                ck_assert_uint_eq(res_len, want.n);
                ck_assert_int_eq(memcmp(res, want.b, want.n), 0);
            }
        }
        ck_assert(!actors_persist_lookup(p, "nope", 4, &res, &res_len));
        if (round == 0) {
            /* Restart: the window comes back from the journal. */
            actors_persist_destroy(&p);
            p = s_open("w", o);
            s_recover(p);
        } else if (round == 1) {
            /* Compaction: the window travels in the snapshot. */
            s_val_t st = s_int(21);
            TEST_ASSERT_OK(actors_persist_snapshot(p, st.b, st.n));
            ck_assert_int_eq(s_file_size(s_journal_path("w")), 0);
            actors_persist_destroy(&p);
            p = s_open("w", o);
            s_sum_t s = s_recover(p);
            ck_assert_int_eq(s.sum, 21);
        }
    }
    /* An event without an id has nil as its remembered result. */
    s_val_t ev = s_int(1);
    TEST_ASSERT_OK(actors_persist_append(p, "x", 1, ev.b, ev.n, NULL, 0, NULL));
    ck_assert(actors_persist_lookup(p, "x", 1, &res, &res_len));
    ck_assert_uint_eq(res_len, 1);
    ck_assert_int_eq(((const unsigned char *)res)[0], 0xc0);
    actors_persist_destroy(&p);
}
END_TEST

START_TEST(test_persist_keys_are_escaped_and_validated)
{
    actors_persist_opts_t o = s_opts(ACTORS_PERSIST_SYNC_ALWAYS, 0, 0);
    actors_persist_t *p = NULL;
    TEST_ASSERT_ERR(actors_persist_open(&p, "", &o), ACTORS_EINVAL);
    ck_assert_ptr_null(p);
    char big[300];
    memset(big, 'k', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    TEST_ASSERT_ERR(actors_persist_open(&p, big, &o), ACTORS_EINVAL);
    p = s_open("../account/1", o);
    s_recover(p);
    s_append(p, 1, NULL);
    actors_persist_destroy(&p);
    char path[256];
    snprintf(path, sizeof path, "%s/%%2E.%%2Faccount%%2F1/journal", s_dir);
    ck_assert_int_eq(access(path, F_OK), 0);
    /* The directory cannot be made: EIO, nothing leaks. */
    o.dir = "/proc/actors-no-such";
    TEST_ASSERT_ERR(actors_persist_open(&p, "k", &o), ACTORS_EIO);
    ck_assert_ptr_null(p);
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

START_TEST(test_persist_open_and_recover_survive_oom)
{
    actors_persist_opts_t o = s_opts(ACTORS_PERSIST_SYNC_ALWAYS, 2, 8);
    actors_persist_t *p = s_open("oom", o);
    s_recover(p);
    for (int i = 1; i <= 5; i++) {
        s_append(p, i, i % 2 ? "odd" : "even");
        if (actors_persist_snapshot_due(p)) {
            s_val_t st = s_int(0);
            TEST_ASSERT_OK(actors_persist_snapshot(p, st.b, st.n));
        }
    }
    actors_persist_destroy(&p);
    for (unsigned n = 1;; n++) {
        testutil_fail_alloc_after(n);
        actors_err rc = actors_persist_open(&p, "oom", &o);
        s_sum_t s = {0, 0, 0, false};
        if (rc == ACTORS_OK) {
            rc = actors_persist_recover(p, s_on_snapshot, s_on_event, &s);
        }
        testutil_fail_alloc_after(0);
        if (rc == ACTORS_OK) {
            ck_assert_int_eq(s.events, 1);
            ck_assert(actors_persist_lookup(
                p, "odd", 3, &(const void *){0}, &(size_t){0}));
            actors_persist_destroy(&p);
            ck_assert_uint_gt(n, 3);
            break;
        }
        ck_assert_int_eq(rc, ACTORS_ENOMEM);
        actors_persist_destroy(&p);
    }
    /* Nothing was damaged by the failed attempts. */
    p = s_open("oom", o);
    ck_assert_int_eq(s_recover(p).events, 1);
    actors_persist_destroy(&p);
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
    tcase_add_test(tc, test_persist_save_restore_exists);
    tcase_add_test(tc, test_persist_journal_replays_in_order);
    tcase_add_test(tc, test_persist_snapshot_plus_replay_equals_full_replay);
    tcase_add_test(tc, test_persist_crash_between_snapshot_and_compaction);
    tcase_add_test(tc, test_persist_truncated_journal_recovers_valid_prefix);
    tcase_add_test(tc, test_persist_group_commit_is_durable_after_flush);
    tcase_add_test(tc, test_persist_id_window_remembers_results);
    tcase_add_test(tc, test_persist_keys_are_escaped_and_validated);
    tcase_add_test(tc, test_persist_opts_from_env);
    tcase_add_test(tc, test_persist_open_and_recover_survive_oom);
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
