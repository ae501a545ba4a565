/* tests/unit/libactors/test_msg.c - the msgpack builder and the readers.
 * SPDX-License-Identifier: MIT
 *
 * Values are checked by decoding the builder's bytes with msgpack-c, so the
 * tests do not depend on the JSON module.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include <actors/msg.h>

#include "../../testutil.h"
#include <actors-internal/alloc.h>
#include "msg_internal.h"

#define MAX_VALUES 16

/* A builder's top-level values, decoded. */
typedef struct {
    msgpack_unpacked up[MAX_VALUES];
    size_t n;
} decoded_t;

static void
s_decode(const void *data, size_t len, decoded_t *d)
{
    size_t off = 0;
    d->n = 0;
    while (off < len) {
        ck_assert_uint_lt(d->n, MAX_VALUES);
        msgpack_unpacked_init(&d->up[d->n]);
        msgpack_unpack_return ur =
            msgpack_unpack_next(&d->up[d->n], data, len, &off);
        ck_assert_int_eq(ur, MSGPACK_UNPACK_SUCCESS);
        d->n++;
    }
}

static void
s_decode_msg(const actors_msg_t *m, decoded_t *d)
{
    s_decode(actors_msg_data(m), actors_msg_size(m), d);
    ck_assert_uint_eq(d->n, actors_msg_count(m));
}

static void
s_decoded_free(decoded_t *d)
{
    for (size_t i = 0; i < d->n; i++) {
        msgpack_unpacked_destroy(&d->up[i]);
    }
    d->n = 0;
}

static const msgpack_object *
s_at(decoded_t *d, size_t i)
{
    ck_assert_uint_lt(i, d->n);
    return &d->up[i].data;
}

static bool
s_str_eq(const msgpack_object *o, const char *s)
{
    return o->type == MSGPACK_OBJECT_STR && o->via.str.size == strlen(s) &&
           memcmp(o->via.str.ptr, s, o->via.str.size) == 0;
}

START_TEST(test_msg_create_empty)
{
    actors_msg_t *m = NULL;
    TEST_ASSERT_OK(actors_msg_create(&m));
    ck_assert_ptr_nonnull(m);
    ck_assert_uint_eq(actors_msg_count(m), 0);
    ck_assert_uint_eq(actors_msg_size(m), 0);
    actors_msg_destroy(&m);
    ck_assert_ptr_null(m);
    actors_msg_destroy(&m); /* idempotent */
}
END_TEST

START_TEST(test_msg_create_survives_oom)
{
    for (unsigned n = 1;; n++) {
        actors_msg_t *m = NULL;
        actors__alloc_fail_after(n);
        actors_err rc = actors_msg_create(&m);
        actors__alloc_fail_after(0);
        if (rc == ACTORS_OK) {
            actors_msg_destroy(&m);
            ck_assert_uint_gt(n, 1);
            break;
        }
        TEST_ASSERT_ERR(rc, ACTORS_ENOMEM);
        ck_assert_ptr_null(m);
    }
}
END_TEST

START_TEST(test_msg_adders_encode_each_type)
{
    actors_msg_t *m = NULL;
    TEST_ASSERT_OK(actors_msg_create(&m));
    TEST_ASSERT_OK(actors_msg_add_nil(m));
    TEST_ASSERT_OK(actors_msg_add_bool(m, true));
    TEST_ASSERT_OK(actors_msg_add_int(m, -42));
    TEST_ASSERT_OK(actors_msg_add_uint(m, UINT64_MAX));
    TEST_ASSERT_OK(actors_msg_add_double(m, 2.5));
    TEST_ASSERT_OK(actors_msg_add_str(m, "hello"));
    TEST_ASSERT_OK(actors_msg_add_str(m, NULL));
    TEST_ASSERT_OK(actors_msg_add_strn(m, "a\0b", 3));
    TEST_ASSERT_OK(actors_msg_add_bin(m, "\x01\x02", 2));
    ck_assert_uint_eq(actors_msg_count(m), 9);

    decoded_t d;
    s_decode_msg(m, &d);
    ck_assert_int_eq(s_at(&d, 0)->type, MSGPACK_OBJECT_NIL);
    ck_assert_int_eq(s_at(&d, 1)->type, MSGPACK_OBJECT_BOOLEAN);
    ck_assert(s_at(&d, 1)->via.boolean);
    ck_assert_int_eq(s_at(&d, 2)->via.i64, -42);
    ck_assert(s_at(&d, 3)->via.u64 == UINT64_MAX);
    ck_assert(s_at(&d, 4)->via.f64 == 2.5);
    ck_assert(s_str_eq(s_at(&d, 5), "hello"));
    ck_assert_int_eq(s_at(&d, 6)->type, MSGPACK_OBJECT_NIL);
    ck_assert_uint_eq(s_at(&d, 7)->via.str.size, 3);
    ck_assert_int_eq(s_at(&d, 8)->type, MSGPACK_OBJECT_BIN);
    ck_assert_uint_eq(s_at(&d, 8)->via.bin.size, 2);
    s_decoded_free(&d);
    actors_msg_destroy(&m);
}
END_TEST

START_TEST(test_msg_nested_items_do_not_count_at_top)
{
    actors_msg_t *m = NULL;
    TEST_ASSERT_OK(actors_msg_create(&m));
    TEST_ASSERT_OK(actors_msg_add_array(m, 3));
    TEST_ASSERT_OK(actors_msg_add_int(m, 1));
    TEST_ASSERT_OK(actors_msg_add_map(m, 1));
    ck_assert(!actors__msg_is_complete(m));
    TEST_ASSERT_OK(actors_msg_add_str(m, "k"));
    TEST_ASSERT_OK(actors_msg_add_array(m, 0)); /* empty: complete at once */
    TEST_ASSERT_OK(actors_msg_add_str(m, "last"));
    ck_assert(actors__msg_is_complete(m));
    ck_assert_uint_eq(actors_msg_count(m), 1);
    TEST_ASSERT_OK(actors_msg_add_int(m, 7));
    ck_assert_uint_eq(actors_msg_count(m), 2);

    decoded_t d;
    s_decode_msg(m, &d);
    const msgpack_object *a = s_at(&d, 0);
    ck_assert_int_eq(a->type, MSGPACK_OBJECT_ARRAY);
    ck_assert_uint_eq(a->via.array.size, 3);
    ck_assert_int_eq(a->via.array.ptr[1].type, MSGPACK_OBJECT_MAP);
    ck_assert(s_str_eq(&a->via.array.ptr[2], "last"));
    ck_assert_int_eq(s_at(&d, 1)->via.i64, 7);
    s_decoded_free(&d);
    actors_msg_destroy(&m);
}
END_TEST

START_TEST(test_msg_build_every_format)
{
    actors_msg_t *inner = NULL;
    TEST_ASSERT_OK(actors_msg_build(&inner, "ii", 8, 9));
    msgpack_object obj = {.type = MSGPACK_OBJECT_POSITIVE_INTEGER};
    obj.via.u64 = 77;
    actors_msg_t *m = NULL;
    TEST_ASSERT_OK(actors_msg_build(&m, "nbiIuds SB o m [is] {si}", 1, -5,
        (int64_t)INT64_MIN, (uint64_t)5, 0.25, "str", "xyz", (size_t)2, "\xff",
        (size_t)1, &obj, inner, 3, "in", "key", 4));
    /* n b i I u d s S B o m(2) [..] {..} */
    ck_assert_uint_eq(actors_msg_count(m), 14);

    decoded_t d;
    s_decode_msg(m, &d);
    ck_assert_int_eq(s_at(&d, 0)->type, MSGPACK_OBJECT_NIL);
    ck_assert(s_at(&d, 1)->via.boolean);
    ck_assert_int_eq(s_at(&d, 2)->via.i64, -5);
    ck_assert(s_at(&d, 3)->via.i64 == INT64_MIN);
    ck_assert_uint_eq(s_at(&d, 4)->via.u64, 5);
    ck_assert(s_at(&d, 5)->via.f64 == 0.25);
    ck_assert(s_str_eq(s_at(&d, 6), "str"));
    ck_assert(s_str_eq(s_at(&d, 7), "xy"));
    ck_assert_int_eq(s_at(&d, 8)->type, MSGPACK_OBJECT_BIN);
    ck_assert_uint_eq(s_at(&d, 9)->via.u64, 77);
    ck_assert_uint_eq(s_at(&d, 10)->via.u64, 8);
    ck_assert_uint_eq(s_at(&d, 11)->via.u64, 9);
    const msgpack_object *a = s_at(&d, 12);
    ck_assert_int_eq(a->type, MSGPACK_OBJECT_ARRAY);
    ck_assert_uint_eq(a->via.array.size, 2);
    ck_assert(s_str_eq(&a->via.array.ptr[1], "in"));
    ck_assert_uint_eq(actors_map_get(s_at(&d, 13), "key")->via.u64, 4);
    s_decoded_free(&d);
    actors_msg_destroy(&m);
    actors_msg_destroy(&inner);

    /* Empty and nested containers. */
    TEST_ASSERT_OK(actors_msg_build(&m, "{sis[{}[]]}", "key", 4, "arr"));
    ck_assert_uint_eq(actors_msg_count(m), 1);
    s_decode_msg(m, &d);
    const msgpack_object *map = s_at(&d, 0);
    ck_assert_int_eq(map->type, MSGPACK_OBJECT_MAP);
    ck_assert_uint_eq(map->via.map.size, 2);
    ck_assert_uint_eq(actors_args_count(actors_map_get(map, "arr")), 2);
    const msgpack_object *v = actors_map_get(map, "key");
    ck_assert_ptr_nonnull(v);
    ck_assert_uint_eq(v->via.u64, 4);
    s_decoded_free(&d);
    actors_msg_destroy(&m);
}
END_TEST

START_TEST(test_msg_build_rejects_bad_format)
{
    const char *bad[] = {"x", "[", "]", "{i}", "[i}", "i]", "{ii"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        actors_msg_t *m = (actors_msg_t *)&bad; /* must be reset to NULL */
        TEST_ASSERT_ERR(actors_msg_build(&m, bad[i], 1, "s", 2), ACTORS_EINVAL);
        ck_assert_ptr_null(m);
    }
    actors_msg_t *m = NULL;
    TEST_ASSERT_ERR(actors_msg_build(&m, NULL), ACTORS_EINVAL);
    TEST_ASSERT_OK(actors_msg_build(&m, ""));
    ck_assert_uint_eq(actors_msg_count(m), 0);
    actors_msg_destroy(&m);
}
END_TEST

START_TEST(test_msg_build_survives_oom)
{
    for (unsigned n = 1;; n++) {
        actors_msg_t *m = NULL;
        actors__alloc_fail_after(n);
        actors_err rc = actors_msg_build(&m, "s[i{sd}]", "a", 1, "b", 2.0);
        actors__alloc_fail_after(0);
        if (rc == ACTORS_OK) {
            ck_assert_uint_eq(actors_msg_count(m), 2);
            actors_msg_destroy(&m);
            break;
        }
        TEST_ASSERT_ERR(rc, ACTORS_ENOMEM);
        ck_assert_ptr_null(m);
    }
}
END_TEST

START_TEST(test_msg_failed_add_leaves_builder_unchanged)
{
    actors_msg_t *m = NULL;
    TEST_ASSERT_OK(actors_msg_create(&m));
    TEST_ASSERT_OK(actors_msg_add_int(m, 1));
    size_t size = actors_msg_size(m);
    size_t big = 1 << 20;
    char *s = malloc(big);
    ck_assert_ptr_nonnull(s);
    memset(s, 'x', big);
    actors__alloc_fail_after(1);
    TEST_ASSERT_ERR(actors_msg_add_strn(m, s, big), ACTORS_ENOMEM);
    actors__alloc_fail_after(1);
    TEST_ASSERT_ERR(actors_msg_add_bin(m, s, big), ACTORS_ENOMEM);
    actors__alloc_fail_after(0);
    ck_assert_uint_eq(actors_msg_size(m), size);
    ck_assert_uint_eq(actors_msg_count(m), 1);

    /* Deep nesting grows the stack of open containers; a failure there
     * changes nothing either. */
    for (int i = 0; i < 8; i++) {
        TEST_ASSERT_OK(actors_msg_add_array(m, 2));
    }
    size = actors_msg_size(m);
    actors__alloc_fail_after(1);
    TEST_ASSERT_ERR(actors_msg_add_array(m, 2), ACTORS_ENOMEM);
    actors__alloc_fail_after(0);
    ck_assert_uint_eq(actors_msg_size(m), size);
    for (int i = 0; i < 9; i++) { /* 2 in the innermost, 1 in the others */
        ck_assert(!actors__msg_is_complete(m));
        TEST_ASSERT_OK(actors_msg_add_str(m, "leaf"));
    }
    ck_assert(actors__msg_is_complete(m));
    ck_assert_uint_eq(actors_msg_count(m), 2);
    free(s);
    actors_msg_destroy(&m);
}
END_TEST

START_TEST(test_msg_reset_and_reuse)
{
    actors_msg_t *m = NULL;
    TEST_ASSERT_OK(actors_msg_build(&m, "[ii]s", 1, 2, "x"));
    actors_msg_reset(m);
    ck_assert_uint_eq(actors_msg_count(m), 0);
    ck_assert_uint_eq(actors_msg_size(m), 0);
    TEST_ASSERT_OK(actors_msg_add_int(m, 3));
    decoded_t d;
    s_decode_msg(m, &d);
    ck_assert_uint_eq(s_at(&d, 0)->via.u64, 3);
    s_decoded_free(&d);
    actors_msg_destroy(&m);
}
END_TEST

START_TEST(test_msg_object_and_raw_copy_values)
{
    actors_msg_t *src = NULL;
    TEST_ASSERT_OK(actors_msg_build(&src, "{s[ib]}", "k", 1, 0));
    decoded_t d;
    s_decode_msg(src, &d);
    actors_msg_t *m = NULL;
    TEST_ASSERT_OK(actors_msg_create(&m));
    TEST_ASSERT_OK(actors_msg_add_object(m, s_at(&d, 0)));
    TEST_ASSERT_OK(actors_msg_add_object(m, NULL));
    TEST_ASSERT_OK(
        actors_msg_add_raw(m, actors_msg_data(src), actors_msg_size(src)));
    TEST_ASSERT_ERR(actors_msg_add_raw(m, "", 0), ACTORS_EINVAL);
    ck_assert_uint_eq(actors_msg_count(m), 3);
    s_decoded_free(&d);

    s_decode_msg(m, &d);
    ck_assert_int_eq(s_at(&d, 0)->type, MSGPACK_OBJECT_MAP);
    ck_assert_int_eq(s_at(&d, 1)->type, MSGPACK_OBJECT_NIL);
    ck_assert_int_eq(s_at(&d, 2)->type, MSGPACK_OBJECT_MAP);
    ck_assert_uint_eq(actors_args_count(actors_map_get(s_at(&d, 2), "k")), 2);
    s_decoded_free(&d);
    actors_msg_destroy(&m);
    actors_msg_destroy(&src);
}
END_TEST

/* s_check_frame checks that frame is an array of n ints 0..n-1. */
static void
s_check_frame(zmq_msg_t *frame, size_t n)
{
    decoded_t d;
    s_decode(zmq_msg_data(frame), zmq_msg_size(frame), &d);
    ck_assert_uint_eq(d.n, 1);
    ck_assert_uint_eq(actors_args_count(s_at(&d, 0)), n);
    for (size_t i = 0; i < n; i++) {
        int64_t v = -1;
        TEST_ASSERT_OK(actors_args_int(s_at(&d, 0), i, &v));
        ck_assert_int_eq(v, (int64_t)i);
    }
    s_decoded_free(&d);
}

START_TEST(test_msg_frame_prefixes_array_header)
{
    zmq_msg_t frame;
    TEST_ASSERT_OK(actors__msg_frame(NULL, true, &frame));
    s_check_frame(&frame, 0);
    zmq_msg_close(&frame);

    /* 1-byte, 3-byte and 5-byte array headers; small frames are copies,
     * large ones take the buffer and leave the builder empty. */
    size_t sizes[] = {3, 15, 16, 300, 70000};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        actors_msg_t *m = NULL;
        TEST_ASSERT_OK(actors_msg_create(&m));
        for (size_t i = 0; i < sizes[k]; i++) {
            TEST_ASSERT_OK(actors_msg_add_int(m, (int64_t)i));
        }
        size_t size = actors_msg_size(m);
        TEST_ASSERT_OK(actors__msg_frame(m, true, &frame));
        s_check_frame(&frame, sizes[k]);
        zmq_msg_close(&frame);
        if (size + 5 >= ACTORS__MSG_STEAL_MIN) {
            ck_assert_uint_eq(actors_msg_count(m), 0);
            ck_assert_uint_eq(actors_msg_size(m), 0);
            TEST_ASSERT_OK(actors_msg_add_int(m, 0)); /* still usable */
            ck_assert_uint_eq(actors_msg_count(m), 1);
        } else {
            ck_assert_uint_eq(actors_msg_count(m), sizes[k]);
        }
        actors_msg_destroy(&m);
    }

    actors_msg_t *open = NULL;
    TEST_ASSERT_OK(actors_msg_create(&open));
    TEST_ASSERT_OK(actors_msg_add_array(open, 2));
    TEST_ASSERT_ERR(actors__msg_frame(open, true, &frame), ACTORS_EINVAL);
    actors_msg_destroy(&open);
}
END_TEST

/* A large value's buffer is lent to libzmq as the frame (no copy) and
 * comes back to its builder when libzmq is done with it, for a later
 * value (no allocation). A second buffer lent meanwhile is freed when its
 * slot is taken; a builder destroyed before libzmq is done leaves the
 * buffer to be freed then (ASan: nothing leaks, nothing is used after). */
START_TEST(test_msg_lent_buffer_comes_back)
{
    static char big[3 * ACTORS__MSG_STEAL_MIN];
    memset(big, 'x', sizeof big);
    actors_msg_t *m = NULL;
    TEST_ASSERT_OK(actors_msg_create(&m));
    TEST_ASSERT_OK(actors_msg_add_bin(m, big, sizeof big));
    const void *first = actors_msg_data(m);
    zmq_msg_t f1;
    zmq_msg_t f2;
    TEST_ASSERT_OK(actors__msg_frame(m, false, &f1));
    ck_assert_ptr_eq(zmq_msg_data(&f1), first);
    ck_assert_uint_eq(actors_msg_size(m), 0);

    /* Still libzmq's: the next value needs a buffer of its own. */
    TEST_ASSERT_OK(actors_msg_add_bin(m, big, sizeof big));
    ck_assert_ptr_ne(actors_msg_data(m), first);
    TEST_ASSERT_OK(actors__msg_frame(m, false, &f2));
    zmq_msg_close(&f1); /* back into the slot */
    zmq_msg_close(&f2); /* the slot is taken: freed */
    TEST_ASSERT_OK(actors_msg_add_bin(m, big, sizeof big));
    ck_assert_ptr_eq(actors_msg_data(m), first);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    ck_assert_int_eq(
        msgpack_unpack_next(&up, actors_msg_data(m), actors_msg_size(m), &off),
        MSGPACK_UNPACK_SUCCESS);
    ck_assert_int_eq(up.data.type, MSGPACK_OBJECT_BIN);
    ck_assert_uint_eq(up.data.via.bin.size, sizeof big);
    ck_assert(memcmp(up.data.via.bin.ptr, big, sizeof big) == 0);
    msgpack_unpacked_destroy(&up);

    /* Lent, then the builder goes first. */
    TEST_ASSERT_OK(actors__msg_frame(m, false, &f1));
    actors_msg_destroy(&m);
    ck_assert_uint_eq(zmq_msg_size(&f1), sizeof big + 3);
    ck_assert(memcmp((char *)zmq_msg_data(&f1) + 3, big, sizeof big) == 0);
    zmq_msg_close(&f1);
}
END_TEST

START_TEST(test_msg_value_readers)
{
    msgpack_object o;
    int64_t i = 0;
    double d = 0;
    bool b = false;

    o.type = MSGPACK_OBJECT_POSITIVE_INTEGER;
    o.via.u64 = 12;
    TEST_ASSERT_OK(actors_value_int(&o, &i));
    ck_assert_int_eq(i, 12);
    TEST_ASSERT_OK(actors_value_double(&o, &d));
    ck_assert(d == 12.0);
    o.via.u64 = UINT64_MAX;
    i = 5;
    TEST_ASSERT_ERR(actors_value_int(&o, &i), ACTORS_EARGS);
    ck_assert_int_eq(i, 5); /* untouched */

    o.type = MSGPACK_OBJECT_NEGATIVE_INTEGER;
    o.via.i64 = -3;
    TEST_ASSERT_OK(actors_value_int(&o, &i));
    ck_assert_int_eq(i, -3);

    o.type = MSGPACK_OBJECT_FLOAT64;
    o.via.f64 = 4.0;
    TEST_ASSERT_OK(actors_value_int(&o, &i));
    ck_assert_int_eq(i, 4);
    o.via.f64 = 4.5;
    TEST_ASSERT_ERR(actors_value_int(&o, &i), ACTORS_EARGS);
    o.via.f64 = NAN;
    TEST_ASSERT_ERR(actors_value_int(&o, &i), ACTORS_EARGS);
    o.via.f64 = 1e300;
    TEST_ASSERT_ERR(actors_value_int(&o, &i), ACTORS_EARGS);
    o.via.f64 = 4.5;
    TEST_ASSERT_OK(actors_value_double(&o, &d));
    ck_assert(d == 4.5);
    TEST_ASSERT_ERR(actors_value_bool(&o, &b), ACTORS_EARGS);

    o.type = MSGPACK_OBJECT_BOOLEAN;
    o.via.boolean = true;
    TEST_ASSERT_OK(actors_value_bool(&o, &b));
    ck_assert(b);
    TEST_ASSERT_ERR(actors_value_int(&o, &i), ACTORS_EARGS);
    TEST_ASSERT_ERR(actors_value_double(&o, &d), ACTORS_EARGS);

    const char *p = NULL;
    size_t n = 0;
    char *s = NULL;
    TEST_ASSERT_ERR(actors_value_str(&o, &p, &n), ACTORS_EARGS);
    TEST_ASSERT_ERR(actors_value_strdup(&o, &s), ACTORS_EARGS);
    o.type = MSGPACK_OBJECT_STR;
    o.via.str.ptr = "abcdef";
    o.via.str.size = 3;
    TEST_ASSERT_OK(actors_value_str(&o, &p, &n));
    ck_assert_uint_eq(n, 3);
    TEST_ASSERT_OK(actors_value_strdup(&o, &s));
    ck_assert_str_eq(s, "abc");
    free(s);
    actors__alloc_fail_after(1);
    TEST_ASSERT_ERR(actors_value_strdup(&o, &s), ACTORS_ENOMEM);
    actors__alloc_fail_after(0);

    TEST_ASSERT_ERR(actors_value_int(NULL, &i), ACTORS_EARGS);
    TEST_ASSERT_ERR(actors_value_double(NULL, &d), ACTORS_EARGS);
    TEST_ASSERT_ERR(actors_value_bool(NULL, &b), ACTORS_EARGS);
    TEST_ASSERT_ERR(actors_value_str(NULL, &p, &n), ACTORS_EARGS);
}
END_TEST

START_TEST(test_msg_args_and_map_readers)
{
    actors_msg_t *m = NULL;
    TEST_ASSERT_OK(
        actors_msg_build(&m, "[idbs{sisi}]", 7, 1.5, 1, "str", "a", 1, "b", 2));
    decoded_t d;
    s_decode_msg(m, &d);
    const msgpack_object *args = s_at(&d, 0);
    ck_assert_uint_eq(actors_args_count(args), 5);
    ck_assert_ptr_null(actors_args_at(args, 5));
    int64_t i = 0;
    double x = 0;
    bool b = false;
    const char *p = NULL;
    size_t n = 0;
    TEST_ASSERT_OK(actors_args_int(args, 0, &i));
    ck_assert_int_eq(i, 7);
    TEST_ASSERT_OK(actors_args_double(args, 1, &x));
    ck_assert(x == 1.5);
    TEST_ASSERT_OK(actors_args_bool(args, 2, &b));
    ck_assert(b);
    TEST_ASSERT_OK(actors_args_str(args, 3, &p, &n));
    ck_assert_uint_eq(n, 3);
    ck_assert_int_eq(memcmp(p, "str", 3), 0);
    TEST_ASSERT_ERR(actors_args_int(args, 3, &i), ACTORS_EARGS);
    TEST_ASSERT_ERR(actors_args_int(args, 9, &i), ACTORS_EARGS);

    const msgpack_object *map = actors_args_at(args, 4);
    ck_assert_uint_eq(actors_map_get(map, "b")->via.u64, 2);
    ck_assert_ptr_null(actors_map_get(map, "c"));
    ck_assert_ptr_null(actors_map_get(map, ""));
    ck_assert_ptr_null(actors_map_get(args, "a")); /* not a map */
    ck_assert_ptr_null(actors_map_get(NULL, "a"));
    ck_assert_uint_eq(actors_args_count(map), 0); /* not an array */
    ck_assert_uint_eq(actors_args_count(NULL), 0);
    s_decoded_free(&d);
    actors_msg_destroy(&m);
}
END_TEST

Suite *msg_suite(void);

Suite *
msg_suite(void)
{
    Suite *s = suite_create("msg");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_msg_create_empty);
    tcase_add_test(tc, test_msg_create_survives_oom);
    tcase_add_test(tc, test_msg_adders_encode_each_type);
    tcase_add_test(tc, test_msg_nested_items_do_not_count_at_top);
    tcase_add_test(tc, test_msg_build_every_format);
    tcase_add_test(tc, test_msg_build_rejects_bad_format);
    tcase_add_test(tc, test_msg_build_survives_oom);
    tcase_add_test(tc, test_msg_failed_add_leaves_builder_unchanged);
    tcase_add_test(tc, test_msg_reset_and_reuse);
    tcase_add_test(tc, test_msg_object_and_raw_copy_values);
    tcase_add_test(tc, test_msg_frame_prefixes_array_header);
    tcase_add_test(tc, test_msg_lent_buffer_comes_back);
    tcase_add_test(tc, test_msg_value_readers);
    tcase_add_test(tc, test_msg_args_and_map_readers);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(msg_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
