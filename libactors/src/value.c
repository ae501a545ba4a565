/* libactors/src/value.c - typed readers of nested values by index and by
 * key, and decoded values that own their memory (actors/value.h).
 * SPDX-License-Identifier: MIT
 *
 * The readers are thin: each finds the item (actors_args_at, actors_map_get
 * of msg.c) and hands it to the matching actors_value_* reader, so that
 * every one of them has msg.h's convention (ACTORS_EARGS, *out untouched).
 * A decoded value is a msgpack_unpacked (its zone owns the objects) plus
 * nothing else; input goes through actors__unpack_next, which refuses
 * what msgpack-c would over-allocate for or fail on.
 */
#include <actors/value.h>

#include <assert.h>
#include <math.h>

#include <actors-internal/alloc.h>
#include <actors-internal/unpack.h>
#include "msg_internal.h"

#define ACTORS_DECODED_TAG 0xac7e0011u

struct actors_decoded {
    uint32_t tag; /* ACTORS_DECODED_TAG while alive */
    msgpack_unpacked un;
};

/* ---- containers -------------------------------------------------------- */

actors_err
actors_value_array(const msgpack_object *obj, size_t *n)
{
    assert(n);
    if (obj == NULL || obj->type != MSGPACK_OBJECT_ARRAY) {
        return ACTORS_EARGS;
    }
    *n = obj->via.array.size;
    return ACTORS_OK;
}

actors_err
actors_value_map(const msgpack_object *obj, size_t *n)
{
    assert(n);
    if (obj == NULL || obj->type != MSGPACK_OBJECT_MAP) {
        return ACTORS_EARGS;
    }
    *n = obj->via.map.size;
    return ACTORS_OK;
}

actors_err
actors_value_uint(const msgpack_object *obj, uint64_t *out)
{
    assert(out);
    if (obj == NULL) {
        return ACTORS_EARGS;
    }
    if (obj->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        *out = obj->via.u64;
        return ACTORS_OK;
    }
    if (obj->type == MSGPACK_OBJECT_FLOAT32 ||
        obj->type == MSGPACK_OBJECT_FLOAT64) {
        double d = obj->via.f64;
        /* 2^64 is exactly representable; anything below it fits. */
        if (isfinite(d) && d == floor(d) && d >= 0.0 &&
            d < 18446744073709551616.0) {
            *out = (uint64_t)d;
            return ACTORS_OK;
        }
    }
    return ACTORS_EARGS;
}

/* s_typed stores obj in *out if it has type t. */
static actors_err
s_typed(const msgpack_object *obj, msgpack_object_type t,
    const msgpack_object **out)
{
    assert(out);
    if (obj == NULL || obj->type != t) {
        return ACTORS_EARGS;
    }
    *out = obj;
    return ACTORS_OK;
}

/* ---- by index ---------------------------------------------------------- */

actors_err
actors_args_array(
    const msgpack_object *args, size_t i, const msgpack_object **out)
{
    return s_typed(actors_args_at(args, i), MSGPACK_OBJECT_ARRAY, out);
}

actors_err
actors_args_map(
    const msgpack_object *args, size_t i, const msgpack_object **out)
{
    return s_typed(actors_args_at(args, i), MSGPACK_OBJECT_MAP, out);
}

actors_err
actors_args_uint(const msgpack_object *args, size_t i, uint64_t *out)
{
    return actors_value_uint(actors_args_at(args, i), out);
}

actors_err
actors_args_strdup(const msgpack_object *args, size_t i, char **out)
{
    return actors_value_strdup(actors_args_at(args, i), out);
}

/* ---- by key ------------------------------------------------------------ */

actors_err
actors_map_int(const msgpack_object *obj, const char *key, int64_t *out)
{
    return actors_value_int(actors_map_get(obj, key), out);
}

actors_err
actors_map_uint(const msgpack_object *obj, const char *key, uint64_t *out)
{
    return actors_value_uint(actors_map_get(obj, key), out);
}

actors_err
actors_map_double(const msgpack_object *obj, const char *key, double *out)
{
    return actors_value_double(actors_map_get(obj, key), out);
}

actors_err
actors_map_bool(const msgpack_object *obj, const char *key, bool *out)
{
    return actors_value_bool(actors_map_get(obj, key), out);
}

actors_err
actors_map_str(
    const msgpack_object *obj, const char *key, const char **ptr, size_t *len)
{
    return actors_value_str(actors_map_get(obj, key), ptr, len);
}

actors_err
actors_map_strdup(const msgpack_object *obj, const char *key, char **out)
{
    return actors_value_strdup(actors_map_get(obj, key), out);
}

actors_err
actors_map_array(
    const msgpack_object *obj, const char *key, const msgpack_object **out)
{
    return s_typed(actors_map_get(obj, key), MSGPACK_OBJECT_ARRAY, out);
}

actors_err
actors_map_map(
    const msgpack_object *obj, const char *key, const msgpack_object **out)
{
    return s_typed(actors_map_get(obj, key), MSGPACK_OBJECT_MAP, out);
}

actors_err
actors_map_entry(const msgpack_object *obj, size_t i,
    const msgpack_object **key, const msgpack_object **val)
{
    assert(key && val);
    if (obj == NULL || obj->type != MSGPACK_OBJECT_MAP ||
        i >= obj->via.map.size) {
        return ACTORS_EARGS;
    }
    *key = &obj->via.map.ptr[i].key;
    *val = &obj->via.map.ptr[i].val;
    return ACTORS_OK;
}

/* ---- decoded values ---------------------------------------------------- */

actors_err
actors_decoded_create(actors_decoded_t **out, const void *data, size_t len)
{
    assert(out);
    *out = NULL;
    if (data == NULL || len == 0) {
        return ACTORS_EMSGPACK;
    }
    actors_decoded_t *self = actors__zalloc(sizeof *self);
    if (self == NULL) {
        return ACTORS_ENOMEM;
    }
    self->tag = ACTORS_DECODED_TAG;
    msgpack_unpacked_init(&self->un);
    size_t off = 0;
    msgpack_unpack_return ur =
        actors__unpack_next(&self->un, (const char *)data, len, &off);
    if (ur != MSGPACK_UNPACK_SUCCESS || off != len) {
        actors_decoded_destroy(&self);
        return ur == MSGPACK_UNPACK_NOMEM_ERROR ? ACTORS_ENOMEM
                                                : ACTORS_EMSGPACK;
    }
    *out = self;
    return ACTORS_OK;
}

actors_err
actors_decoded_from_msg(actors_decoded_t **out, const actors_msg_t *msg)
{
    assert(out && msg);
    *out = NULL;
    if (actors_msg_count(msg) != 1 || !actors__msg_is_complete(msg)) {
        return ACTORS_EINVAL;
    }
    return actors_decoded_create(
        out, actors_msg_data(msg), actors_msg_size(msg));
}

const msgpack_object *
actors_decoded_root(const actors_decoded_t *self)
{
    assert(self && self->tag == ACTORS_DECODED_TAG);
    return &self->un.data;
}

void
actors_decoded_destroy(actors_decoded_t **self_p)
{
    assert(self_p);
    actors_decoded_t *self = *self_p;
    if (self == NULL) {
        return;
    }
    assert(self->tag == ACTORS_DECODED_TAG);
    msgpack_unpacked_destroy(&self->un);
    self->tag = 0xdeadbeef;
    actors__free(self);
    *self_p = NULL;
}
