/* libactors/src/journal.h - framed, checksummed records of the persistence
 * layer (journal events and snapshots).
 * SPDX-License-Identifier: MIT
 *
 * A record on disk (or in a Redis list element) is
 *
 *     u32 LE  length of the payload in bytes
 *     u32 LE  CRC32C of the payload (Castagnoli, as iSCSI and ext4 use)
 *     payload one msgpack value
 *
 * An event payload is the array [seq, id, event, result]: seq a uint that
 * grows by one per event, id the caller's request id (bin) or nil, event
 * any msgpack value, result the recorded reply (any value; nil if none).
 * A snapshot payload is the array ["snap", seq, state, window]: seq the
 * last event the state covers, window an array of [id, result] pairs (the
 * remembered request ids, oldest first). docs/PERSISTENCE.md has the whole
 * format.
 *
 * A scan stops at the first record that is short, fails its checksum, or
 * does not decode: everything before it is the valid prefix, everything
 * from it on is a torn tail (a write cut by a crash) and is dropped, never
 * replayed. Private; never installed. Thread: any (no shared state).
 */
#ifndef ACTORS_JOURNAL_H
#define ACTORS_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include <actors/error.h>

#define ACTORS__JOURNAL_HDR 8u /* length + crc */
/* A record's payload may not exceed this (a corrupt length field must not
 * make a reader allocate or skip gigabytes). */
#define ACTORS__JOURNAL_MAX_RECORD (64u * 1024u * 1024u)

/* actors__crc32c returns the CRC32C of data[0..len) continuing from crc
 * (0 to start). */
uint32_t actors__crc32c(uint32_t crc, const void *data, size_t len);

/* actors__journal_frame appends one record holding payload[0..len) to sb.
 * Returns ACTORS_OK, ACTORS_ETOOBIG (over the maximum) or ACTORS_ENOMEM. */
actors_err actors__journal_frame(
    msgpack_sbuffer *sb, const void *payload, size_t len);

/* actors__journal_event packs an event payload [seq, id, event, result]
 * into pk. event and result are raw msgpack values (exactly one value
 * each; result may be NULL: nil); id may be NULL (nil). Returns ACTORS_OK
 * or ACTORS_ENOMEM. */
actors_err actors__journal_event(msgpack_packer *pk, uint64_t seq,
    const void *id, size_t id_len, const void *event, size_t event_len,
    const void *result, size_t result_len);

/* One decoded record. The objects borrow from the unpacked zone. */
typedef struct {
    bool is_snapshot;             /* ["snap", ...] payload */
    uint64_t seq;                 /* event seq, or snapshot's last seq */
    const msgpack_object *id;     /* bin, or NULL (events only) */
    const msgpack_object *value;  /* event, or snapshot state */
    const msgpack_object *result; /* recorded result (events only) */
    const msgpack_object *window; /* array of [id, result] (snapshots) */
} actors__journal_rec_t;

/* actors__journal_next reads the record at data[*off..len) into *rec, its
 * objects living in *up (decoded with actors__unpack_next). Returns
 * ACTORS_OK and advances *off; ACTORS_ECLOSED at the clean end (*off ==
 * len); ACTORS_EMSGPACK for a torn or corrupt record (short, checksum
 * mismatch, bad msgpack, wrong shape), *off unchanged. */
actors_err actors__journal_next(msgpack_unpacked *up, const char *data,
    size_t len, size_t *off, actors__journal_rec_t *rec);

#endif
