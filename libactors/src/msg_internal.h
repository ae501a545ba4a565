/* libactors/src/msg_internal.h - handing a builder's bytes to libzmq.
 * SPDX-License-Identifier: MIT
 *
 * A builder keeps a few bytes of headroom in front of its values, so that
 * the msgpack array header that CALL/TELL args need (wire.h) can be written
 * in place and the whole frame handed to libzmq in one piece: copied when
 * small, given away without a copy (zmq_msg_init_data) when large.
 * Private; never installed.
 */
#ifndef ACTORS_MSG_INTERNAL_H
#define ACTORS_MSG_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include <zmq.h>

#include <actors/msg.h>

/* Builders whose frame is at least this many bytes give their buffer to
 * libzmq instead of copying it. Below it a copy is the cheaper of the two:
 * libzmq allocates a descriptor for every buffer it is given, and a builder
 * that gave its buffer away must allocate and grow a new one for the next
 * value, where one that copied keeps its buffer (msg.c keeps the buffers of
 * spare builders up to ACTORS__MSG_SPARE_CAP, 4 KiB, and an actor reuses
 * one builder for every result). From 4 KiB on, copying the value costs
 * more, and a builder that keeps being used gets its buffer back. */
#define ACTORS__MSG_STEAL_MIN 4096

/* actors__msg_frame initialises frame with the encoded values of self,
 * prefixed by a msgpack array header of their count when as_array (an empty
 * array for self NULL). A frame of ACTORS__MSG_STEAL_MIN bytes or more takes
 * the builder's buffer (self is left empty, as after actors_msg_reset, but
 * valid; the buffer comes back to self for a later value once libzmq has
 * released the frame, from any thread); a smaller one is a copy and self
 * is unchanged.
 * Returns ACTORS_OK, ACTORS_EINVAL (a container is still open), or
 * ACTORS_ENOMEM (frame not initialised, self unchanged). Thread: owner. */
actors_err actors__msg_frame(
    actors_msg_t *self, bool as_array, zmq_msg_t *frame);

/* actors__msg_vbuild is actors_msg_build with a va_list. */
actors_err actors__msg_vbuild(actors_msg_t **out, const char *fmt, va_list ap);

/* actors__msg_vadd adds the values of fmt (as actors_msg_build) to self,
 * a builder the caller reuses. On error self may hold part of them (reset
 * it). Thread: owner. */
actors_err actors__msg_vadd(actors_msg_t *self, const char *fmt, va_list ap);

/* actors__msg_is_complete: no container is waiting for items. */
bool actors__msg_is_complete(const actors_msg_t *self);

/* actors__msg_add_utf8 appends s[0..len) as a str that is valid UTF-8,
 * each ill-formed sequence replaced by U+FFFD (utf8.h): for bytes that
 * libactors did not write itself (addresses, method names, messages
 * quoting them). Returns ACTORS_OK, ACTORS_ETOOBIG or ACTORS_ENOMEM (self
 * unchanged). Thread: owner. */
actors_err actors__msg_add_utf8(actors_msg_t *self, const void *s, size_t len);

#endif
