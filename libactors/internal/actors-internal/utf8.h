/* libactors/internal/actors-internal/utf8.h -
 * byte strings as msgpack str that are always valid
 * UTF-8.
 * SPDX-License-Identifier: MIT
 *
 * Addresses and method names are raw bytes on the wire (PROTOCOL.md), but
 * a msgpack str is UTF-8 to most decoders (Python's msgpack with
 * raw=False, its default, fails on anything else). Whatever libactors
 * packs as a str from bytes it did not write itself (an address, a method
 * name, a message quoting them) goes through actors__utf8_pack_str, which
 * replaces each ill-formed sequence with U+FFFD.
 *
 * Replacement follows the Unicode Standard's recommended practice (the
 * "maximal subparts" rule, chapter 3, U+FFFD substitution): one U+FFFD
 * for each maximal subpart of an ill-formed subsequence, that is, for the
 * longest prefix of a well-formed sequence that is there, or else for one
 * byte. Overlong forms, surrogates (U+D800..U+DFFF) and code points above
 * U+10FFFF are ill-formed. This is what Python's bytes.decode("utf-8",
 * "replace") does, and what tests/unit/libactors/test_utf8.c checks.
 *
 * Private to libactors and to the binaries built with -Ilibactors/src
 * against libactors.a (the broker and the supervisor may call it for str
 * fields of their own); never installed. Thread: any (no state).
 */
#ifndef ACTORS_UTF8_H
#define ACTORS_UTF8_H

#include <stdbool.h>
#include <stddef.h>

#include <msgpack.h>

#include <actors/error.h>

/* actors__utf8_scan reads the unit at the start of s[0..len) (len > 0): a
 * whole well-formed sequence (*is_valid true) or one maximal subpart of an
 * ill-formed one (*is_valid false), and returns its length in bytes
 * (1..4). */
size_t actors__utf8_scan(const void *s, size_t len, bool *is_valid);

/* actors__utf8_is_valid tells whether s[0..len) is well-formed UTF-8. */
bool actors__utf8_is_valid(const void *s, size_t len);

/* actors__utf8_fixed_len is the length of s[0..len) once each maximal
 * subpart of an ill-formed sequence is replaced by U+FFFD (3 bytes):
 * the length of the str body actors__utf8_pack_str writes. */
size_t actors__utf8_fixed_len(const void *s, size_t len);

/* actors__utf8_pack_str packs s[0..len) (s may be NULL when len is 0) into
 * pk as one msgpack str, each maximal subpart of an ill-formed sequence
 * replaced by U+FFFD; valid UTF-8 is packed unchanged.
 * Returns ACTORS_OK, ACTORS_ETOOBIG (the str would exceed 2^32 - 1 bytes;
 * nothing packed) or ACTORS_ENOMEM (pk's writer failed; pk may hold part
 * of the value, which the caller discards). */
actors_err actors__utf8_pack_str(msgpack_packer *pk, const void *s, size_t len);

#endif
