/* tests/unit/libactors/persist_cases.h - the persistence test cases that
 * every backend must pass, shared by test_persist.c (files) and
 * test_persist_redis.c (Redis).
 * SPDX-License-Identifier: MIT
 *
 * Included once by each suite's .c, after it has defined:
 *
 *   PERSIST_BACKEND        the backend name persist.h must report
 *   PERSIST_CASE_SKIP()    (optional) a statement that returns from a
 *                          test when the backend is not available
 *
 * and before it defines the hooks declared below: the options selecting
 * the backend, and raw access to a key's stored journal (read it, replace
 * it) to simulate a crash or a torn write the way that backend stores it.
 * persist_cases_add() adds every case to a test case with that suite's
 * fixture. The state of the test "actor" is a sum of int events.
 */
#ifndef PERSIST_CASES_H
#define PERSIST_CASES_H

#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <actors/persist.h>

#include "../../testutil.h"

#ifndef PERSIST_CASE_SKIP
#define PERSIST_CASE_SKIP() ((void)0)
#endif

/* ---- hooks: defined by the including suite ------------------------------ */

/* s_opts: options that select the backend under test. */
static actors_persist_opts_t s_opts(
    actors_persist_sync sync, uint32_t every, uint32_t window);
/* s_jrn_get copies key's stored journal into buf (cap bytes; fails the
 * test if it does not fit) and returns its length (0: empty or none). */
static size_t s_jrn_get(const char *key, char *buf, size_t cap);
/* s_jrn_set replaces key's stored journal with buf[0..len). */
static void s_jrn_set(const char *key, const char *buf, size_t len);
/* s_check_saved checks what a save of key left in the store (no temporary
 * leftovers). */
static void s_check_saved(const char *key);
/* s_check_keys checks how the backend stored the keys of
 * test_persist_keys_are_escaped_and_validated (names, escaping) and its
 * unusable-storage case; o are the options the test used. */
static void s_check_keys(actors_persist_opts_t o);

/* ---- helpers ------------------------------------------------------------ */

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
    ck_assert_str_eq(actors_persist_backend(p), PERSIST_BACKEND);
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

/* s_jrn_size is the length of key's stored journal. */
static size_t
s_jrn_size(const char *key)
{
    static char buf[65536];
    return s_jrn_get(key, buf, sizeof buf);
}

/* ---- cases -------------------------------------------------------------- */

/* The seed's FilePersistence: exists, save, restore. */
START_TEST(test_persist_save_restore_exists)
{
    PERSIST_CASE_SKIP();
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
    s_check_saved("1234567");
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
    PERSIST_CASE_SKIP();
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
    PERSIST_CASE_SKIP();
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
    ck_assert_uint_lt(s_jrn_size("snap") * 40, s_jrn_size("full"));
    actors_persist_destroy(&full);
    actors_persist_destroy(&snap);
}
END_TEST

/* A crash after the snapshot was written but before the journal was
 * compacted: the covered events are in both, and none is applied twice. */
START_TEST(test_persist_crash_between_snapshot_and_compaction)
{
    PERSIST_CASE_SKIP();
    actors_persist_opts_t o = s_opts(ACTORS_PERSIST_SYNC_ALWAYS, 0, 0);
    actors_persist_t *p = s_open("k", o);
    s_recover(p);
    for (int i = 1; i <= 5; i++) {
        s_append(p, i, NULL);
    }
    /* Keep the uncompacted journal aside. */
    char old[4096];
    size_t n = s_jrn_get("k", old, sizeof old);
    ck_assert_uint_gt(n, 0);
    s_val_t st = s_int(15);
    TEST_ASSERT_OK(actors_persist_snapshot(p, st.b, st.n));
    ck_assert_uint_eq(s_jrn_size("k"), 0);
    actors_persist_destroy(&p);
    s_jrn_set("k", old, n);

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
    ck_assert_int_eq(s.events, 1);
    actors_persist_destroy(&p);
}
END_TEST

/* Torn-write recovery: the journal cut at every byte of its last record
 * recovers the events before it, drops the torn one, and the next append
 * follows the valid prefix. */
START_TEST(test_persist_truncated_journal_recovers_valid_prefix)
{
    PERSIST_CASE_SKIP();
    actors_persist_opts_t o = s_opts(ACTORS_PERSIST_SYNC_ALWAYS, 0, 0);
    actors_persist_t *p = s_open("t", o);
    s_recover(p);
    for (int i = 1; i <= 9; i++) {
        s_append(p, i, NULL);
    }
    size_t nine = s_jrn_size("t");
    s_append(p, 1000, NULL);
    size_t ten = s_jrn_size("t");
    actors_persist_destroy(&p);
    char full[4096];
    size_t n = s_jrn_get("t", full, sizeof full);
    ck_assert_uint_eq(n, ten);

    for (size_t cut = nine + 1; cut < ten; cut++) {
        s_jrn_set("t", full, cut);
        p = s_open("t", o);
        s_sum_t s = s_recover(p);
        ck_assert_int_eq(s.events, 9);
        ck_assert_int_eq(s.sum, 45);
        ck_assert_uint_eq(s_jrn_size("t"), nine); /* tail cut off */
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
    full[nine / 2] ^= 0x5a;
    s_jrn_set("t", full, n);
    p = s_open("t", o);
    s_sum_t s = s_recover(p);
    ck_assert_int_lt(s.events, 9);
    ck_assert_int_eq(s.sum, s.events * (s.events + 1) / 2);
    actors_persist_destroy(&p);
}
END_TEST

START_TEST(test_persist_group_commit_is_durable_after_flush)
{
    PERSIST_CASE_SKIP();
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
    PERSIST_CASE_SKIP();
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
            ck_assert_uint_eq(s_jrn_size("w"), 0);
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

/* Keys the backend must keep apart: a path escape, separators, suffixes
 * that look like the backend's own names, control and non-ASCII bytes. */
static const char *const s_odd_keys[] = {"../account/1", "x", "x:snap",
    "x:journal", "x/journal", "a b\n\xff%2F", "."};
#define S_ODD_KEYS (sizeof s_odd_keys / sizeof s_odd_keys[0])

START_TEST(test_persist_keys_are_escaped_and_validated)
{
    PERSIST_CASE_SKIP();
    actors_persist_opts_t o = s_opts(ACTORS_PERSIST_SYNC_ALWAYS, 0, 0);
    actors_persist_t *p = NULL;
    TEST_ASSERT_ERR(actors_persist_open(&p, "", &o), ACTORS_EINVAL);
    ck_assert_ptr_null(p);
    char big[202];
    memset(big, 'k', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    TEST_ASSERT_ERR(actors_persist_open(&p, big, &o), ACTORS_EINVAL);
    ck_assert_ptr_null(p);
    big[200] = '\0'; /* the longest key is fine */
    p = s_open(big, o);
    actors_persist_destroy(&p);
    /* Each key stores its own state: nothing leaks between them. */
    for (size_t i = 0; i < S_ODD_KEYS; i++) {
        p = s_open(s_odd_keys[i], o);
        s_recover(p);
        s_append(p, (int64_t)i + 1, NULL);
        actors_persist_destroy(&p);
    }
    for (size_t i = 0; i < S_ODD_KEYS; i++) {
        p = s_open(s_odd_keys[i], o);
        s_sum_t s = s_recover(p);
        ck_assert_int_eq(s.events, 1);
        ck_assert_int_eq(s.sum, (int64_t)i + 1);
        actors_persist_destroy(&p);
    }
    s_check_keys(o);
}
END_TEST

START_TEST(test_persist_open_and_recover_survive_oom)
{
    PERSIST_CASE_SKIP();
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

/* persist_cases_add adds every shared case to tc. */
static void
persist_cases_add(TCase *tc)
{
    tcase_add_test(tc, test_persist_save_restore_exists);
    tcase_add_test(tc, test_persist_journal_replays_in_order);
    tcase_add_test(tc, test_persist_snapshot_plus_replay_equals_full_replay);
    tcase_add_test(tc, test_persist_crash_between_snapshot_and_compaction);
    tcase_add_test(tc, test_persist_truncated_journal_recovers_valid_prefix);
    tcase_add_test(tc, test_persist_group_commit_is_durable_after_flush);
    tcase_add_test(tc, test_persist_id_window_remembers_results);
    tcase_add_test(tc, test_persist_keys_are_escaped_and_validated);
    tcase_add_test(tc, test_persist_open_and_recover_survive_oom);
}

#endif
