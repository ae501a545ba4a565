/* tests/unit/libactors/test_value.c - growing containers (msg.h's
 * begin/end), the nested readers of value.h and decoded values.
 * SPDX-License-Identifier: MIT
 *
 * Bytes are checked against msgpack-c's own packer: a container grown
 * without a count must encode exactly as one announced with it.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>

#include <actors/actors.h>

/* s_same checks that two builders hold the same bytes. */
static void
s_same(const actors_msg_t *a, const actors_msg_t *b)
{
    ck_assert_uint_eq(actors_msg_size(a), actors_msg_size(b));
    ck_assert_uint_eq(actors_msg_count(a), actors_msg_count(b));
    ck_assert(memcmp(actors_msg_data(a), actors_msg_data(b),
                  actors_msg_size(a)) == 0);
}

START_TEST(test_grow_matches_counted)
{
    /* n items: 0 and 15 (fixarray), 16 and 65535 (array16), 65536
     * (array32), each in an array and in a map. */
    static const uint32_t sizes[] = {0, 1, 15, 16, 300, 65535, 65536};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        uint32_t n = sizes[s];
        for (int is_map = 0; is_map <= 1; is_map++) {
            actors_msg_t *grown = NULL, *counted = NULL;
            ck_assert_int_eq(actors_msg_create(&grown), ACTORS_OK);
            ck_assert_int_eq(actors_msg_create(&counted), ACTORS_OK);
            ck_assert_int_eq(actors_msg_add_str(grown, "before"), ACTORS_OK);
            ck_assert_int_eq(actors_msg_add_str(counted, "before"), ACTORS_OK);
            ck_assert_int_eq(is_map ? actors_msg_begin_map(grown)
                                    : actors_msg_begin_array(grown),
                ACTORS_OK);
            ck_assert_int_eq(is_map ? actors_msg_add_map(counted, n)
                                    : actors_msg_add_array(counted, n),
                ACTORS_OK);
            for (uint32_t i = 0; i < n; i++) {
                for (int k = 0; k <= is_map; k++) {
                    ck_assert_int_eq(actors_msg_add_int(grown, i), ACTORS_OK);
                    ck_assert_int_eq(actors_msg_add_int(counted, i), ACTORS_OK);
                }
            }
            ck_assert_int_eq(actors_msg_end(grown), ACTORS_OK);
            ck_assert_int_eq(actors_msg_add_str(grown, "after"), ACTORS_OK);
            ck_assert_int_eq(actors_msg_add_str(counted, "after"), ACTORS_OK);
            ck_assert_uint_eq(actors_msg_count(grown), 3);
            s_same(grown, counted);
            actors_msg_destroy(&grown);
            actors_msg_destroy(&counted);
        }
    }
}
END_TEST

START_TEST(test_grow_nests_with_counted)
{
    /* [{"rows": [[1, 2], [3]], "n": 2}] built both ways. */
    actors_msg_t *g = NULL, *c = NULL;
    ck_assert_int_eq(actors_msg_create(&g), ACTORS_OK);
    ck_assert_int_eq(actors_msg_begin_array(g), ACTORS_OK);
    ck_assert_int_eq(actors_msg_begin_map(g), ACTORS_OK);
    ck_assert_int_eq(actors_msg_add_str(g, "rows"), ACTORS_OK);
    ck_assert_int_eq(actors_msg_begin_array(g), ACTORS_OK);
    ck_assert_int_eq(actors_msg_add_array(g, 2), ACTORS_OK); /* counted */
    ck_assert_int_eq(actors_msg_add_int(g, 1), ACTORS_OK);
    ck_assert_int_eq(actors_msg_add_int(g, 2), ACTORS_OK);
    ck_assert_int_eq(actors_msg_begin_array(g), ACTORS_OK);
    ck_assert_int_eq(actors_msg_add_int(g, 3), ACTORS_OK);
    ck_assert_int_eq(actors_msg_end(g), ACTORS_OK);
    ck_assert_int_eq(actors_msg_end(g), ACTORS_OK); /* rows */
    ck_assert_int_eq(actors_msg_add_str(g, "n"), ACTORS_OK);
    ck_assert_int_eq(actors_msg_add_int(g, 2), ACTORS_OK);
    ck_assert_int_eq(actors_msg_end(g), ACTORS_OK); /* map */
    ck_assert_int_eq(actors_msg_end(g), ACTORS_OK); /* outer array */
    ck_assert_int_eq(
        actors_msg_build(&c, "[{s[[ii][i]]si}]", "rows", 1, 2, 3, "n", 2),
        ACTORS_OK);
    s_same(g, c);
    actors_msg_destroy(&g);
    actors_msg_destroy(&c);
}
END_TEST

START_TEST(test_grow_end_errors)
{
    actors_msg_t *m = NULL;
    ck_assert_int_eq(actors_msg_create(&m), ACTORS_OK);
    /* Nothing open. */
    ck_assert_int_eq(actors_msg_end(m), ACTORS_EINVAL);
    /* The innermost open container is a counted one. */
    ck_assert_int_eq(actors_msg_begin_array(m), ACTORS_OK);
    ck_assert_int_eq(actors_msg_add_array(m, 2), ACTORS_OK);
    ck_assert_int_eq(actors_msg_add_int(m, 1), ACTORS_OK);
    ck_assert_int_eq(actors_msg_end(m), ACTORS_EINVAL);
    ck_assert_int_eq(actors_msg_add_int(m, 2), ACTORS_OK);
    ck_assert_int_eq(actors_msg_end(m), ACTORS_OK);
    /* A map with a key and no value: refused, and still open. */
    ck_assert_int_eq(actors_msg_begin_map(m), ACTORS_OK);
    ck_assert_int_eq(actors_msg_add_str(m, "k"), ACTORS_OK);
    ck_assert_int_eq(actors_msg_end(m), ACTORS_EINVAL);
    ck_assert_int_eq(actors_msg_add_nil(m), ACTORS_OK);
    ck_assert_int_eq(actors_msg_end(m), ACTORS_OK);
    ck_assert_uint_eq(actors_msg_count(m), 2);
    /* An open container cannot be decoded as a finished value. */
    actors_msg_t *open = NULL;
    ck_assert_int_eq(actors_msg_create(&open), ACTORS_OK);
    ck_assert_int_eq(actors_msg_begin_array(open), ACTORS_OK);
    actors_decoded_t *d = NULL;
    ck_assert_int_ne(actors_decoded_from_msg(&d, open), ACTORS_OK);
    ck_assert_ptr_null(d);
    actors_msg_destroy(&open);
    actors_msg_destroy(&m);
}
END_TEST

/* s_order decodes {"id": "o-1", "paid": true, "total": 12.5,
 * "lines": [{"sku": "a", "qty": 2}, {"sku": "b", "qty": 1}],
 * "ship": {"to": "x"}, "n": 7} */
static actors_decoded_t *
s_order(void)
{
    actors_msg_t *m = NULL;
    ck_assert_int_eq(
        actors_msg_build(&m, "{sssbsds[{sssi}{sssi}]s{ss}si}", "id", "o-1",
            "paid", 1, "total", 12.5, "lines", "sku", "a", "qty", 2, "sku", "b",
            "qty", 1, "ship", "to", "x", "n", 7),
        ACTORS_OK);
    actors_decoded_t *d = NULL;
    ck_assert_int_eq(actors_decoded_from_msg(&d, m), ACTORS_OK);
    actors_msg_destroy(&m);
    return d;
}

START_TEST(test_readers_by_key_and_index)
{
    actors_decoded_t *d = s_order();
    const msgpack_object *o = actors_decoded_root(d);
    size_t n = 0;
    ck_assert_int_eq(actors_value_map(o, &n), ACTORS_OK);
    ck_assert_uint_eq(n, 6);
    char *id = NULL;
    ck_assert_int_eq(actors_map_strdup(o, "id", &id), ACTORS_OK);
    ck_assert_str_eq(id, "o-1");
    free(id);
    bool paid = false;
    ck_assert_int_eq(actors_map_bool(o, "paid", &paid), ACTORS_OK);
    ck_assert(paid);
    double total = 0;
    ck_assert_int_eq(actors_map_double(o, "total", &total), ACTORS_OK);
    ck_assert(total == 12.5);
    uint64_t un = 0;
    ck_assert_int_eq(actors_map_uint(o, "n", &un), ACTORS_OK);
    ck_assert_uint_eq(un, 7);
    const msgpack_object *lines = NULL, *line = NULL, *ship = NULL;
    ck_assert_int_eq(actors_map_array(o, "lines", &lines), ACTORS_OK);
    ck_assert_int_eq(actors_value_array(lines, &n), ACTORS_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(actors_args_map(lines, 1, &line), ACTORS_OK);
    const char *sku = NULL;
    size_t len = 0;
    ck_assert_int_eq(actors_map_str(line, "sku", &sku, &len), ACTORS_OK);
    ck_assert_uint_eq(len, 1);
    ck_assert(sku[0] == 'b');
    int64_t qty = 0;
    ck_assert_int_eq(actors_map_int(line, "qty", &qty), ACTORS_OK);
    ck_assert_int_eq(qty, 1);
    ck_assert_int_eq(actors_map_map(o, "ship", &ship), ACTORS_OK);
    char *to = NULL;
    ck_assert_int_eq(actors_map_strdup(ship, "to", &to), ACTORS_OK);
    ck_assert_str_eq(to, "x");
    free(to);
    /* Walking a map by entry. */
    const msgpack_object *k = NULL, *v = NULL;
    size_t walked = 0;
    while (actors_map_entry(o, walked, &k, &v) == ACTORS_OK) {
        walked++;
    }
    ck_assert_uint_eq(walked, 6);
    actors_decoded_destroy(&d);
    ck_assert_ptr_null(d);
    actors_decoded_destroy(&d); /* idempotent */
}
END_TEST

START_TEST(test_readers_one_error_convention)
{
    actors_decoded_t *d = s_order();
    const msgpack_object *o = actors_decoded_root(d);
    const msgpack_object *keep = (const msgpack_object *)&keep;
    const msgpack_object *out = keep;
    int64_t i = 42;
    uint64_t u = 42;
    double x = 4.2;
    bool b = true;
    char *s = (char *)"untouched";
    size_t n = 42;
    /* Missing key, wrong type, wrong container, out of range, NULL:
     * ACTORS_EARGS, and the output is left alone. */
    ck_assert_int_eq(actors_map_int(o, "nope", &i), ACTORS_EARGS);
    ck_assert_int_eq(actors_map_int(o, "id", &i), ACTORS_EARGS);
    ck_assert_int_eq(actors_map_uint(o, "total", &u), ACTORS_EARGS);
    ck_assert_int_eq(actors_map_double(o, "id", &x), ACTORS_EARGS);
    ck_assert_int_eq(actors_map_bool(o, "n", &b), ACTORS_EARGS);
    ck_assert_int_eq(actors_map_strdup(o, "n", &s), ACTORS_EARGS);
    ck_assert_int_eq(actors_map_array(o, "ship", &out), ACTORS_EARGS);
    ck_assert_int_eq(actors_map_map(o, "lines", &out), ACTORS_EARGS);
    ck_assert_int_eq(actors_args_array(o, 0, &out), ACTORS_EARGS);
    ck_assert_int_eq(actors_value_array(o, &n), ACTORS_EARGS);
    ck_assert_int_eq(actors_map_int(NULL, "n", &i), ACTORS_EARGS);
    const msgpack_object *lines = NULL;
    ck_assert_int_eq(actors_map_array(o, "lines", &lines), ACTORS_OK);
    ck_assert_int_eq(actors_args_map(lines, 2, &out), ACTORS_EARGS);
    ck_assert_int_eq(actors_args_uint(lines, 0, &u), ACTORS_EARGS);
    ck_assert_int_eq(actors_args_strdup(lines, 0, &s), ACTORS_EARGS);
    ck_assert_int_eq(actors_value_map(lines, &n), ACTORS_EARGS);
    const msgpack_object *k = NULL;
    ck_assert_int_eq(actors_map_entry(o, 6, &k, &out), ACTORS_EARGS);
    ck_assert_ptr_eq(out, keep);
    ck_assert_int_eq(i, 42);
    ck_assert_uint_eq(u, 42);
    ck_assert(x == 4.2 && b && n == 42);
    ck_assert_str_eq(s, "untouched");
    actors_decoded_destroy(&d);
}
END_TEST

START_TEST(test_decoded_refuses_bad_bytes)
{
    actors_decoded_t *d = NULL;
    static const unsigned char truncated[] = {0x92, 0x01};
    static const unsigned char trailing[] = {0x01, 0x02};
    static const unsigned char huge[] = {0xdd, 0xff, 0xff, 0xff, 0xff};
    ck_assert_int_eq(actors_decoded_create(&d, truncated, sizeof truncated),
        ACTORS_EMSGPACK);
    ck_assert_int_eq(
        actors_decoded_create(&d, trailing, sizeof trailing), ACTORS_EMSGPACK);
    ck_assert_int_eq(
        actors_decoded_create(&d, huge, sizeof huge), ACTORS_EMSGPACK);
    ck_assert_int_eq(actors_decoded_create(&d, NULL, 0), ACTORS_EMSGPACK);
    ck_assert_ptr_null(d);
    static const unsigned char one[] = {0x2a};
    ck_assert_int_eq(actors_decoded_create(&d, one, sizeof one), ACTORS_OK);
    int64_t v = 0;
    ck_assert_int_eq(actors_value_int(actors_decoded_root(d), &v), ACTORS_OK);
    ck_assert_int_eq(v, 42);
    actors_decoded_destroy(&d);
}
END_TEST

static int
s_rm(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

START_TEST(test_persist_restore_value)
{
    char dir[64];
    snprintf(dir, sizeof dir, "/tmp/actors-value-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    actors_persist_opts_t opts = ACTORS_PERSIST_OPTS_INIT;
    opts.dir = dir;
    opts.redis = "";
    actors_persist_t *p = NULL;
    ck_assert_int_eq(actors_persist_open(&p, "acct", &opts), ACTORS_OK);
    actors_decoded_t *st = NULL;
    ck_assert_int_eq(actors_persist_restore_value(p, &st), ACTORS_ENOACTOR);
    ck_assert_ptr_null(st);
    actors_msg_t *m = NULL;
    ck_assert_int_eq(
        actors_msg_build(&m, "{sdsi}", "balance", 150.0, "n", 3), ACTORS_OK);
    ck_assert_int_eq(
        actors_persist_save(p, actors_msg_data(m), actors_msg_size(m)),
        ACTORS_OK);
    actors_msg_destroy(&m);
    ck_assert_int_eq(actors_persist_restore_value(p, &st), ACTORS_OK);
    double bal = 0;
    ck_assert_int_eq(
        actors_map_double(actors_decoded_root(st), "balance", &bal), ACTORS_OK);
    ck_assert(bal == 150.0);
    actors_decoded_destroy(&st);
    actors_persist_destroy(&p);
    nftw(dir, s_rm, 16, FTW_DEPTH | FTW_PHYS);
}
END_TEST

static Suite *
value_suite(void)
{
    Suite *s = suite_create("value");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_grow_matches_counted);
    tcase_add_test(tc, test_grow_nests_with_counted);
    tcase_add_test(tc, test_grow_end_errors);
    tcase_add_test(tc, test_readers_by_key_and_index);
    tcase_add_test(tc, test_readers_one_error_convention);
    tcase_add_test(tc, test_decoded_refuses_bad_bytes);
    tcase_add_test(tc, test_persist_restore_value);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(value_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
