/* libactors/internal/actors-internal/unpack.h -
 * msgpack decoding that cannot be made to allocate
 * more than its input justifies.
 * SPDX-License-Identifier: MIT
 *
 * msgpack-c allocates the item array of a container as soon as it reads
 * the container's header, before it knows whether the items are there: a
 * 5-byte body announcing an array of 2^32 items asks for ~100 GiB. Every
 * body that comes from outside is therefore first walked over its headers
 * (no objects made, nothing allocated) to check that each container
 * announces no more items than bytes remain, and that nesting stays within
 * ACTORS__UNPACK_MAX_DEPTH; only then does msgpack-c decode it.
 *
 * The depth limit is msgpack-c's own: its decoder keeps open containers on
 * a fixed stack of MSGPACK_EMBED_STACK_SIZE (32) entries and fails a deeper
 * value with MSGPACK_UNPACK_NOMEM_ERROR, which would read as OutOfMemory.
 * The walk refuses the same values first, as malformed (BadMsgpack). Depth
 * counts every container on the path to the deepest one, empty ones too:
 * [[1]] and [[]] are both 2 deep. tests/unit/libactors/test_unpack.c checks
 * the limit against the installed msgpack-c.
 * Private; never installed. Thread: any.
 */
#ifndef ACTORS_UNPACK_H
#define ACTORS_UNPACK_H

#include <stddef.h>

#include <msgpack.h>

/* The deepest nesting of containers accepted (schemas/PROTOCOL.md,
 * "Limits and malformed messages"). */
#define ACTORS__UNPACK_MAX_DEPTH 32

/* actors__unpack_next is msgpack_unpack_next(result, data, len, off) for
 * input from outside: MSGPACK_UNPACK_PARSE_ERROR (result untouched) when
 * the value at *off (0 if off is NULL) is truncated, malformed, nested too
 * deep, or announces more items than the input could hold. */
msgpack_unpack_return actors__unpack_next(
    msgpack_unpacked *result, const char *data, size_t len, size_t *off);

/* actors__unpack_check walks one value at data[*off..len) and returns
 * MSGPACK_UNPACK_SUCCESS (advancing *off past it),
 * MSGPACK_UNPACK_CONTINUE (truncated) or MSGPACK_UNPACK_PARSE_ERROR. */
msgpack_unpack_return actors__unpack_check(
    const char *data, size_t len, size_t *off);

/* actors__unpack_check_within is actors__unpack_check with a tighter depth
 * limit, max_depth (0..ACTORS__UNPACK_MAX_DEPTH): for a value that will be
 * stored inside ACTORS__UNPACK_MAX_DEPTH - max_depth more containers and
 * must still decode there. */
msgpack_unpack_return actors__unpack_check_within(
    const char *data, size_t len, size_t *off, int max_depth);

#endif
