/* libactors/include/actors/msg.h - msgpack values: building and reading.
 * SPDX-License-Identifier: MIT
 *
 * This is the one public header that exposes a dependency type:
 * msgpack_object from msgpack-c (<msgpack.h>), the decoded form of a
 * value. Handlers receive their arguments as a msgpack_object array and
 * futures hand results back as a msgpack_object; a msgpack_object borrows
 * from the zone of whoever decoded it, so copy out what you keep.
 *
 * actors_msg_t builds a sequence of top-level values: the arguments of a
 * call (sent as one msgpack array), or the one result of a handler. Nested
 * containers are built by announcing their size (add_array, add_map) and
 * then adding that many items (twice that for a map: key, value, ...), or,
 * when the size is not known up front, between begin_array/begin_map and
 * end. Nested values are read with the typed readers of actors/value.h.
 *
 *     actors_msg_t *args = NULL;
 *     actors_err rc = actors_msg_build(&args, "sd", "EUR", 200.0);
 *
 * Thread: an actors_msg_t is used by one thread at a time (owner); the
 * reading helpers are safe from any thread on an object no one mutates.
 */
#ifndef ACTORS_MSG_H
#define ACTORS_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include <actors/error.h>
#include <actors/export.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct actors_msg actors_msg_t;

/* actors_msg_create makes an empty builder.
 * Returns ACTORS_OK with *out owned by the caller (actors_msg_destroy), or
 * ACTORS_ENOMEM with *out NULL. Thread: any. */
ACTORS_EXPORT actors_err actors_msg_create(actors_msg_t **out);

/* actors_msg_build makes a builder and adds one value per character of
 * fmt: n nil, b bool (int), i int, I int64_t, u uint64_t, d double,
 * s NUL-terminated string (NULL adds nil), S string as (const char *,
 * size_t), B binary as (const void *, size_t), o a msgpack_object copied
 * (const msgpack_object *), m an actors_msg_t whose values are appended
 * (const actors_msg_t *), [ and ] an array of the values between them,
 * { and } a map of the key/value pairs between them.
 * Returns ACTORS_OK with *out owned by the caller, ACTORS_EINVAL for a bad
 * fmt, or ACTORS_ENOMEM; *out is NULL on error. Thread: any. */
ACTORS_EXPORT actors_err actors_msg_build(
    actors_msg_t **out, const char *fmt, ...);

/* actors_msg_destroy frees *self_p and sets it to NULL; NULL is fine.
 * Thread: owner. */
ACTORS_EXPORT void actors_msg_destroy(actors_msg_t **self_p);

/* Adders. Each appends one value (add_array and add_map announce a
 * container whose items follow). Returns ACTORS_OK or ACTORS_ENOMEM; on
 * error the builder is unchanged. Thread: owner. */
ACTORS_EXPORT actors_err actors_msg_add_nil(actors_msg_t *self);
ACTORS_EXPORT actors_err actors_msg_add_bool(actors_msg_t *self, bool v);
ACTORS_EXPORT actors_err actors_msg_add_int(actors_msg_t *self, int64_t v);
ACTORS_EXPORT actors_err actors_msg_add_uint(actors_msg_t *self, uint64_t v);
ACTORS_EXPORT actors_err actors_msg_add_double(actors_msg_t *self, double v);
ACTORS_EXPORT actors_err actors_msg_add_str(actors_msg_t *self, const char *s);
ACTORS_EXPORT actors_err actors_msg_add_strn(
    actors_msg_t *self, const char *s, size_t len);
ACTORS_EXPORT actors_err actors_msg_add_bin(
    actors_msg_t *self, const void *data, size_t len);
ACTORS_EXPORT actors_err actors_msg_add_array(actors_msg_t *self, uint32_t n);
ACTORS_EXPORT actors_err actors_msg_add_map(actors_msg_t *self, uint32_t n);
/* Growing containers: actors_msg_begin_array / actors_msg_begin_map open a
 * container whose size is not known yet; every value added after it (a
 * key and a value for each map entry, nested containers counting as one)
 * is an item until actors_msg_end closes the innermost growing container
 * and writes its count (in the shortest msgpack form). Counted and growing
 * containers nest in each other freely. begin returns ACTORS_OK or
 * ACTORS_ENOMEM (builder unchanged); end returns ACTORS_OK, ACTORS_EINVAL
 * (no growing container is the innermost open one, or a map has a key
 * without a value; nothing changed) or ACTORS_ETOOBIG (over 2^32-1
 * items). A builder with a container still open cannot be sent.
 *
 *     actors_msg_begin_array(m);
 *     for (row = first; row; row = row->next) {
 *         actors_msg_add_str(m, row->name);
 *     }
 *     actors_msg_end(m);
 *
 * Thread: owner. */
ACTORS_EXPORT actors_err actors_msg_begin_array(actors_msg_t *self);
ACTORS_EXPORT actors_err actors_msg_begin_map(actors_msg_t *self);
ACTORS_EXPORT actors_err actors_msg_end(actors_msg_t *self);
/* actors_msg_add_object appends a deep copy of a decoded value. */
ACTORS_EXPORT actors_err actors_msg_add_object(
    actors_msg_t *self, const msgpack_object *obj);
/* actors_msg_add_raw appends len bytes that already are exactly one
 * msgpack value (not checked beyond being non-empty). */
ACTORS_EXPORT actors_err actors_msg_add_raw(
    actors_msg_t *self, const void *data, size_t len);

/* actors_msg_count is the number of top-level values added. Thread: owner. */
ACTORS_EXPORT size_t actors_msg_count(const actors_msg_t *self);

/* actors_msg_data and actors_msg_size give the encoded top-level values,
 * one after another (no enclosing array). Borrowed until the next add or
 * destroy. Thread: owner. */
ACTORS_EXPORT const void *actors_msg_data(const actors_msg_t *self);
ACTORS_EXPORT size_t actors_msg_size(const actors_msg_t *self);

/* actors_msg_reset empties the builder, keeping its memory. */
ACTORS_EXPORT void actors_msg_reset(actors_msg_t *self);

/* ---- reading decoded values ------------------------------------------
 * Each returns ACTORS_OK and stores the value, or ACTORS_EARGS when obj is
 * NULL or of another type (leaving *out untouched). actors_value_double
 * accepts integers too; actors_value_int accepts a double only if it is
 * integral. Strings are borrowed from obj's zone, NOT NUL-terminated.
 * Thread: any. */
ACTORS_EXPORT actors_err actors_value_int(
    const msgpack_object *obj, int64_t *out);
ACTORS_EXPORT actors_err actors_value_double(
    const msgpack_object *obj, double *out);
ACTORS_EXPORT actors_err actors_value_bool(
    const msgpack_object *obj, bool *out);
ACTORS_EXPORT actors_err actors_value_str(
    const msgpack_object *obj, const char **ptr, size_t *len);
/* actors_value_strdup copies a string value into *out (NUL-terminated,
 * caller frees with free()). ACTORS_EARGS or ACTORS_ENOMEM on error. */
ACTORS_EXPORT actors_err actors_value_strdup(
    const msgpack_object *obj, char **out);

/* Arguments of a handler are a msgpack array. actors_args_count returns
 * its length (0 if args is NULL or not an array); actors_args_at returns
 * item i or NULL. The typed getters combine the two: ACTORS_EARGS when i
 * is out of range or the type is wrong. Thread: any. */
ACTORS_EXPORT size_t actors_args_count(const msgpack_object *args);
ACTORS_EXPORT const msgpack_object *actors_args_at(
    const msgpack_object *args, size_t i);
ACTORS_EXPORT actors_err actors_args_int(
    const msgpack_object *args, size_t i, int64_t *out);
ACTORS_EXPORT actors_err actors_args_double(
    const msgpack_object *args, size_t i, double *out);
ACTORS_EXPORT actors_err actors_args_bool(
    const msgpack_object *args, size_t i, bool *out);
ACTORS_EXPORT actors_err actors_args_str(
    const msgpack_object *args, size_t i, const char **ptr, size_t *len);

/* actors_map_get finds the value of string key in a map value; NULL if
 * obj is not a map or has no such key. Thread: any. */
ACTORS_EXPORT const msgpack_object *actors_map_get(
    const msgpack_object *obj, const char *key);

#ifdef __cplusplus
}
#endif
#endif
