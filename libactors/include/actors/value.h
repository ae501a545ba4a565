/* libactors/include/actors/value.h - reading nested msgpack values, and
 * values that own their memory.
 * SPDX-License-Identifier: MIT
 *
 * Typed readers over a decoded msgpack_object (see msg.h for why that type
 * is public), by index into an array and by key into a map, so that a
 * method never walks obj->via.array.ptr[i] by hand. One convention for
 * all of them, the same as msg.h's actors_value_* and actors_args_*:
 * ACTORS_OK with the value stored in *out, or ACTORS_EARGS when the
 * container is NULL or of another type, the index is out of range, the key
 * is missing, or the item has another type; *out is then untouched. The
 * error code is what a method returns to answer BadArguments, so
 *
 *     const msgpack_object *order = NULL, *lines = NULL;
 *     int64_t qty;
 *     if (actors_args_map(args, 0, &order) != ACTORS_OK ||
 *         actors_map_array(order, "lines", &lines) != ACTORS_OK ||
 *         actors_map_int(actors_args_at(lines, 0), "qty", &qty) != ...)
 *         return ACTORS_EARGS;
 *
 * The actors_args_* getters of msg.h read any array, not only a method's
 * arguments: they are the by-index readers. Strings and nested objects are
 * borrowed from the zone of whoever decoded the value; strings are NOT
 * NUL-terminated (the strdup readers make a C string to keep).
 *
 * actors_decoded_t holds one decoded value together with its memory: what
 * actors_persist_restore_value hands back, or actors_decoded_create makes
 * from bytes.
 *
 * Thread: the readers are safe from any thread on a value no one mutates;
 * an actors_decoded_t is used by one thread at a time.
 */
#ifndef ACTORS_VALUE_H
#define ACTORS_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <actors/error.h>
#include <actors/export.h>
#include <actors/msg.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- containers -------------------------------------------------------- */

/* actors_value_array / actors_value_map check that obj is an array / a map
 * and store its number of items / entries in *n. */
ACTORS_EXPORT actors_err actors_value_array(
    const msgpack_object *obj, size_t *n);
ACTORS_EXPORT actors_err actors_value_map(const msgpack_object *obj, size_t *n);

/* actors_value_uint reads a non-negative integer (a double only if it is
 * integral and in range). */
ACTORS_EXPORT actors_err actors_value_uint(
    const msgpack_object *obj, uint64_t *out);

/* ---- by index (args is any array value) --------------------------------- */

/* Item i of the array args must be an array / a map; *out borrows it. */
ACTORS_EXPORT actors_err actors_args_array(
    const msgpack_object *args, size_t i, const msgpack_object **out);
ACTORS_EXPORT actors_err actors_args_map(
    const msgpack_object *args, size_t i, const msgpack_object **out);
ACTORS_EXPORT actors_err actors_args_uint(
    const msgpack_object *args, size_t i, uint64_t *out);
/* actors_args_strdup: item i as a new C string (caller frees with free());
 * ACTORS_EARGS or ACTORS_ENOMEM. */
ACTORS_EXPORT actors_err actors_args_strdup(
    const msgpack_object *args, size_t i, char **out);

/* ---- by key (obj is a map value with string keys) ----------------------- */

ACTORS_EXPORT actors_err actors_map_int(
    const msgpack_object *obj, const char *key, int64_t *out);
ACTORS_EXPORT actors_err actors_map_uint(
    const msgpack_object *obj, const char *key, uint64_t *out);
ACTORS_EXPORT actors_err actors_map_double(
    const msgpack_object *obj, const char *key, double *out);
ACTORS_EXPORT actors_err actors_map_bool(
    const msgpack_object *obj, const char *key, bool *out);
ACTORS_EXPORT actors_err actors_map_str(
    const msgpack_object *obj, const char *key, const char **ptr, size_t *len);
/* actors_map_strdup: a new C string (free()); ACTORS_EARGS, ACTORS_ENOMEM. */
ACTORS_EXPORT actors_err actors_map_strdup(
    const msgpack_object *obj, const char *key, char **out);
/* The value under key must be an array / a map; *out borrows it. */
ACTORS_EXPORT actors_err actors_map_array(
    const msgpack_object *obj, const char *key, const msgpack_object **out);
ACTORS_EXPORT actors_err actors_map_map(
    const msgpack_object *obj, const char *key, const msgpack_object **out);

/* actors_map_entry gives entry i of a map (any key type), to walk one:
 * for (i = 0; actors_map_entry(m, i, &k, &v) == ACTORS_OK; i++). */
ACTORS_EXPORT actors_err actors_map_entry(const msgpack_object *obj, size_t i,
    const msgpack_object **key, const msgpack_object **val);

/* ---- a decoded value that owns its memory ------------------------------- */

typedef struct actors_decoded actors_decoded_t;

/* actors_decoded_create decodes data[0..len), which must be exactly one
 * msgpack value (bytes are copied; data may go after the call).
 * Returns ACTORS_OK with *out the caller's (actors_decoded_destroy),
 * ACTORS_EMSGPACK (truncated, malformed, nested deeper than 32, or
 * trailing bytes), ACTORS_ENOMEM; *out NULL on error. Thread: any. */
ACTORS_EXPORT actors_err actors_decoded_create(
    actors_decoded_t **out, const void *data, size_t len);

/* actors_decoded_from_msg decodes the value of a builder that holds
 * exactly one finished value; ACTORS_EINVAL if it holds none, several, or
 * has a container still open, else as actors_decoded_create. */
ACTORS_EXPORT actors_err actors_decoded_from_msg(
    actors_decoded_t **out, const actors_msg_t *msg);

/* actors_decoded_root is the value, borrowed until destroy. Thread: owner. */
ACTORS_EXPORT const msgpack_object *actors_decoded_root(
    const actors_decoded_t *self);

/* actors_decoded_destroy frees *self_p (NULL is fine), sets it to NULL. */
ACTORS_EXPORT void actors_decoded_destroy(actors_decoded_t **self_p);

#ifdef __cplusplus
}
#endif
#endif
