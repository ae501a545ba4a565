/* tests/unit/broker/test_subindex.c - the subscription index against a
 * scan with brk_topic_match.
 * SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include <actors-internal/alloc.h>

#include "../../../broker/subindex.h"
#include "../../../broker/topic.h"

#define ROWS 600
#define TOPICS 400

static char s_pat[ROWS][BRK_TOPIC_MAX + 1];
static bool s_in[ROWS];
static uint32_t s_hits[ROWS];

static void
s_hit(void *arg, uint32_t row)
{
    (void)arg;
    ck_assert_uint_lt(row, ROWS);
    s_hits[row]++;
}

/* s_rand_seg writes a segment from a small alphabet (so patterns and
 * topics meet), a wildcard where allowed. */
static int
s_rand_seg(char *out, bool pattern, bool last, unsigned *seed)
{
    int r = (int)(rand_r(seed) % 10);
    if (pattern && r == 0) {
        return sprintf(out, "*");
    }
    if (pattern && last && r == 1) {
        return sprintf(out, ">");
    }
    static const char *words[] = {"a", "b", "orders", "x1", "zz"};
    return sprintf(out, "%s", words[rand_r(seed) % 5]);
}

/* s_rand writes a pattern or topic of 1..8 segments (past the index's
 * depth, so the deep rows are exercised too). */
static void
s_rand(char *out, bool pattern, unsigned *seed)
{
    int nseg = 1 + (int)(rand_r(seed) % 8);
    int n = 0;
    for (int i = 0; i < nseg; i++) {
        if (i > 0) {
            out[n++] = '.';
        }
        n += s_rand_seg(out + n, pattern, i == nseg - 1, seed);
    }
    out[n] = '\0';
}

/* s_check matches topic against the index and against every pattern in
 * it: the same rows, each once. */
static void
s_check(brk_subindex_t *ix, const char *topic)
{
    memset(s_hits, 0, sizeof s_hits);
    brk_subindex_match(ix, topic, strlen(topic), s_hit, NULL);
    for (int r = 0; r < ROWS; r++) {
        bool want = s_in[r] && brk_topic_match(s_pat[r], strlen(s_pat[r]),
                                   topic, strlen(topic));
        ck_assert_msg(s_hits[r] == (want ? 1u : 0u),
            "topic %s row %d pattern %s (in %d): %u hits", topic, r, s_pat[r],
            s_in[r], s_hits[r]);
    }
}

START_TEST(test_subindex_matches_as_a_scan)
{
    unsigned seed = 12345;
    brk_subindex_t *ix = NULL;
    ck_assert_int_eq(brk_subindex_create(&ix), ACTORS_OK);
    for (int round = 0; round < 6; round++) {
        /* Churn: add, remove, add again with other patterns. */
        for (int r = 0; r < ROWS; r++) {
            if (s_in[r] && rand_r(&seed) % 2 == 0) {
                brk_subindex_remove(ix, (uint32_t)r);
                s_in[r] = false;
            } else if (!s_in[r] && rand_r(&seed) % 3 != 0) {
                s_rand(s_pat[r], true, &seed);
                ck_assert(brk_topic_valid(s_pat[r], strlen(s_pat[r]), true));
                ck_assert_int_eq(brk_subindex_add(ix, s_pat[r],
                                     strlen(s_pat[r]), (uint32_t)r),
                    ACTORS_OK);
                s_in[r] = true;
            }
        }
        for (int k = 0; k < TOPICS; k++) {
            char topic[BRK_TOPIC_MAX + 1];
            s_rand(topic, false, &seed);
            s_check(ix, topic);
        }
    }
    /* Everything out: nothing matches; a row removed twice is no-op. */
    for (int r = 0; r < ROWS; r++) {
        brk_subindex_remove(ix, (uint32_t)r);
        brk_subindex_remove(ix, (uint32_t)r);
        s_in[r] = false;
    }
    s_check(ix, "a.b");
    s_check(ix, "orders");
    ck_assert_uint_eq(brk_subindex_nodes(ix), 1); /* all pruned */
    brk_subindex_destroy(&ix);
    ck_assert_ptr_null(ix);
}
END_TEST

/* Hand-picked cases at the depth bound: ">" right after it, a deep "*",
 * equal patterns on several rows. */
START_TEST(test_subindex_depth_and_shared_patterns)
{
    brk_subindex_t *ix = NULL;
    ck_assert_int_eq(brk_subindex_create(&ix), ACTORS_OK);
    const char *p[] = {"a.b.c.d.>", "a.b.c.d.e", "a.b.c.d.*.f", "a.*.c.d.e",
        ">", "a.b.c.d", "a.b.c.d", "*.*.*.*.*.*"};
    int n = (int)(sizeof p / sizeof p[0]);
    for (int r = 0; r < n; r++) {
        snprintf(s_pat[r], sizeof s_pat[r], "%s", p[r]);
        s_in[r] = true;
        ck_assert_int_eq(
            brk_subindex_add(ix, p[r], strlen(p[r]), (uint32_t)r), ACTORS_OK);
    }
    s_check(ix, "a.b.c.d");
    s_check(ix, "a.b.c.d.e");
    s_check(ix, "a.b.c.d.x.f");
    s_check(ix, "a.q.c.d.e");
    s_check(ix, "a.b.c.d.e.f");
    s_check(ix, "a");
    /* Shared nodes stay while a pattern still needs them. */
    brk_subindex_remove(ix, 5);
    s_in[5] = false;
    s_check(ix, "a.b.c.d");
    for (int r = 0; r < n; r++) {
        brk_subindex_remove(ix, (uint32_t)r);
        s_in[r] = false;
    }
    ck_assert_uint_eq(brk_subindex_nodes(ix), 1);
    brk_subindex_destroy(&ix);
}
END_TEST

/* Without memory, an add fails whole and leaves the index as it was. */
START_TEST(test_subindex_out_of_memory)
{
    brk_subindex_t *ix = NULL;
    ck_assert_int_eq(brk_subindex_create(&ix), ACTORS_OK);
    snprintf(s_pat[0], sizeof s_pat[0], "a.b");
    s_in[0] = true;
    ck_assert_int_eq(brk_subindex_add(ix, "a.b", 3, 0), ACTORS_OK);
    for (unsigned k = 1; k < 12; k++) {
        actors__alloc_fail_after(k);
        actors_err rc = brk_subindex_add(ix, "q.r.s.t.u.v", 11, 1);
        actors__alloc_fail_after(0);
        if (rc == ACTORS_OK) {
            brk_subindex_remove(ix, 1);
        } else {
            ck_assert_int_eq(rc, ACTORS_ENOMEM);
        }
        s_in[1] = false;
        s_check(ix, "q.r.s.t.u.v");
        s_check(ix, "a.b");
    }
    brk_subindex_remove(ix, 0);
    s_in[0] = false;
    ck_assert_uint_eq(brk_subindex_nodes(ix), 1); /* failed adds left none */
    brk_subindex_destroy(&ix);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("subindex");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_subindex_matches_as_a_scan);
    tcase_add_test(tc, test_subindex_depth_and_shared_patterns);
    tcase_add_test(tc, test_subindex_out_of_memory);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
