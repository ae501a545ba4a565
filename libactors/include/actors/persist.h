/* libactors/include/actors/persist.h - durable actor state: snapshots and
 * an event journal, on the file system or in Redis.
 * SPDX-License-Identifier: MIT
 *
 * One actors_persist_t is the stored state of one actor key (the seed's
 * BasePersistence bound to a key). Two styles share the handle:
 *
 *  - snapshot: the whole state as one msgpack value. actors_persist_exists,
 *    actors_persist_save and actors_persist_restore are Ray's
 *    FilePersistence exists/save/restore. A save is atomic (temp file,
 *    fsync, rename, fsync of the directory) whatever the policy.
 *
 *  - event sourcing: actors_persist_append adds one msgpack event (with the
 *    caller's request id and the result it was answered with, both
 *    optional) to an append-only journal of checksummed records;
 *    actors_persist_recover replays the last snapshot and the events after
 *    it; every snapshot_every events actors_persist_snapshot_due says that
 *    the owner should call actors_persist_snapshot, which writes the state
 *    and compacts away the journal it covers. A torn last record (a crash
 *    in the middle of a write) is detected by its checksum and dropped.
 *
 * Durability is a policy (actors_persist_sync): ALWAYS syncs every append
 * before it returns; GROUP writes at once but syncs only on
 * actors_persist_flush, which the owner calls within group_ms (a timer) and
 * before acknowledging the calls whose events it covers; NONE never syncs
 * (survives a process crash, not a power loss). actors_persist_durable
 * tells whether an event is durable under the policy: reply to a call
 * only once its event is.
 *
 * Exactly-once: an event appended with a request id is remembered, with
 * its result, in a window of the last id_window ids (kept across restarts
 * and compaction). actors_persist_lookup finds a re-sent id's result so
 * that the call is answered again instead of applied twice.
 *
 * Backends are chosen by configuration, not by compiling: $ACTORS_REDIS
 * (tcp://HOST:PORT or unix:///path) selects Redis, otherwise the file
 * system under $ACTORS_STATE_DIR (default ./actors-state), one directory
 * per key. docs/PERSISTENCE.md describes formats and recovery.
 *
 * Depth: a record wraps what it stores, and a record nested deeper than
 * msgpack-c decodes (32 containers; schemas/PROTOCOL.md) could not be
 * read back. So a state or an event may nest at most 31 containers deep
 * and a result 29; deeper ones are refused with ACTORS_EINVAL.
 *
 * Errors: ACTORS_ENOSPACE (DiskFull) is a full file system or an exhausted
 * quota (ENOSPC, EDQUOT) on any file-backend path, or a Redis server that
 * refuses a write for want of room (-OOM: maxmemory reached) or because it
 * cannot persist (-MISCONF: a failed RDB save or AOF write); whatever
 * failed that way was not stored, and the same call may be made again
 * once there is room. ACTORS_EIO is any other storage or connection
 * failure.
 *
 * Like msg.h, this header exposes msgpack_object (replayed events are
 * handed over decoded). Thread: a handle is used by one thread at a time
 * (owner); handles of different keys are independent.
 */
#ifndef ACTORS_PERSIST_H
#define ACTORS_PERSIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <actors/error.h>
#include <actors/export.h>
#include <actors/msg.h>
#include <actors/value.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct actors_persist actors_persist_t;

/* When an appended event is durable. */
typedef enum {
    ACTORS_PERSIST_SYNC_ALWAYS = 0, /* fsync (Redis: reply) per append */
    ACTORS_PERSIST_SYNC_GROUP = 1,  /* fsync on actors_persist_flush */
    ACTORS_PERSIST_SYNC_NONE = 2    /* written to the OS, never synced */
} actors_persist_sync;

/* Options. Zero / NULL fields take the defaults named. */
typedef struct {
    const char *dir;          /* file backend root; NULL: $ACTORS_STATE_DIR,
                                 then ./actors-state */
    const char *redis;        /* NULL: $ACTORS_REDIS; "" or unset: files */
    actors_persist_sync sync; /* default ALWAYS */
    uint32_t group_ms;        /* GROUP: flush bound, default 5 */
    uint32_t snapshot_every;  /* events between snapshots, default 1000 */
    uint32_t id_window;       /* request ids remembered, default 1024 */
} actors_persist_opts_t;
#define ACTORS_PERSIST_OPTS_INIT                                               \
    {                                                                          \
        NULL, NULL, ACTORS_PERSIST_SYNC_ALWAYS, 0, 0, 0                        \
    }

/* actors_persist_opts_from_env fills the policy fields of *opts from
 * $ACTORS_PERSIST_SYNC ("always", "none", "group" or "group:MS") and
 * $ACTORS_SNAPSHOT_EVERY (a count), leaving the others. Returns ACTORS_OK
 * or ACTORS_EINVAL for a value it cannot read (*opts untouched).
 * Thread: any. */
ACTORS_EXPORT actors_err actors_persist_opts_from_env(
    actors_persist_opts_t *opts);

/* actors_persist_open opens the state stored under key (1..200 bytes, any
 * bytes but NUL; escaped for file names) with opts (NULL: defaults). The
 * file backend creates its directories; Redis is connected (2 s timeout).
 * The handle holds the key exclusively until destroy: the file backend
 * with a flock on its directory, Redis with a lease (actors:KEY:lock, 3 s,
 * renewed by the handle's calls and by its actor's loop; it lapses if the
 * holder dies or stops, and a holder whose lease another process took
 * gets ACTORS_ELOCKED from every later call; docs/PERSISTENCE.md). Another
 * live handle that has it open makes this return ACTORS_ELOCKED
 * (KeyLocked; logged as PST-LOCKED), on Redis after waiting up to 3.5 s
 * for a lease to lapse (a crashed holder's).
 * Returns ACTORS_OK with *out owned by the caller (actors_persist_destroy),
 * ACTORS_EINVAL (bad key or options), ACTORS_ELOCKED (held by another
 * handle), ACTORS_ENOSPACE (no room to make the key's directory
 * or journal), ACTORS_EIO (directory or server unusable; logged as
 * PST-OPEN), ACTORS_ENOMEM; *out NULL on error.
 * Thread: any; the handle then belongs to the calling thread. */
ACTORS_EXPORT actors_err actors_persist_open(
    actors_persist_t **out, const char *key, const actors_persist_opts_t *opts);

/* actors_persist_destroy flushes (GROUP), closes and frees *self_p and
 * sets it to NULL; NULL is fine. The stored state stays. Thread: owner. */
ACTORS_EXPORT void actors_persist_destroy(actors_persist_t **self_p);

/* actors_persist_keep renews the handle's hold on its key if a renewal is
 * due: Redis's lease, which lapses ACTORS_PERSIST_LEASE_MS after its last
 * renewal (every call on the handle renews it when due; a handle that may
 * sit idle for longer needs this, from a timer of its actor every
 * ACTORS_PERSIST_KEEP_MS). A no-op for files (the flock needs none).
 * Returns ACTORS_OK, ACTORS_ELOCKED (the lease lapsed and another process
 * has taken the key: every later call on the handle is ACTORS_ELOCKED too,
 * and what the owner holds in memory may be stale: stop serving it, e.g.
 * exit ACTORS_EXIT_KEY_LOCKED) or ACTORS_EIO (the server is unreachable:
 * the lease may still be ours, or lapse). Thread: owner. */
ACTORS_EXPORT actors_err actors_persist_keep(actors_persist_t *self);

/* The Redis lease's TTL, and how often an idle owner calls
 * actors_persist_keep (a renewal is made when one is due, a second after
 * the last: two renewals of margin). */
#define ACTORS_PERSIST_LEASE_MS 3000
#define ACTORS_PERSIST_KEEP_MS 500

/* actors_persist_backend names the backend in use: "file" or "redis".
 * Static storage. Thread: owner. */
ACTORS_EXPORT const char *actors_persist_backend(const actors_persist_t *self);

/* ---- snapshot style (exists / save / restore) -------------------------- */

/* actors_persist_exists sets *out to whether anything (a snapshot or an
 * event) is stored under the key. Returns ACTORS_OK, ACTORS_EIO or
 * ACTORS_ENOMEM.
 * Thread: owner. */
ACTORS_EXPORT actors_err actors_persist_exists(
    actors_persist_t *self, bool *out);

/* actors_persist_save stores data[0..len) (exactly one msgpack value) as
 * the whole state, atomically and durably, and drops the journal (the
 * state covers it). Returns ACTORS_OK, ACTORS_EINVAL (not one value, or
 * nested too deep), ACTORS_ETOOBIG (over 64 MiB), ACTORS_ENOSPACE (no
 * room for it), ACTORS_EIO, ACTORS_ENOMEM; on error the previous state is
 * still the stored one. Thread: owner. */
ACTORS_EXPORT actors_err actors_persist_save(
    actors_persist_t *self, const void *data, size_t len);

/* actors_persist_restore reads the last saved state into *out (a new
 * message holding the one value). Returns ACTORS_OK, ACTORS_ENOACTOR if
 * nothing was saved, ACTORS_EMSGPACK if the snapshot is corrupt,
 * ACTORS_EIO, ACTORS_ENOMEM; *out NULL on error.
 * Ownership: *out is the caller's (actors_msg_destroy). Thread: owner. */
ACTORS_EXPORT actors_err actors_persist_restore(
    actors_persist_t *self, actors_msg_t **out);

/* actors_persist_restore_value is actors_persist_restore handing back the
 * state decoded, to read with actors/value.h's readers:
 *     actors_decoded_t *st = NULL;
 *     if (actors_persist_restore_value(p, &st) == ACTORS_OK)
 *         actors_map_double(actors_decoded_root(st), "balance", &bal);
 * Same returns; *out is the caller's (actors_decoded_destroy), NULL on
 * error. Thread: owner. */
ACTORS_EXPORT actors_err actors_persist_restore_value(
    actors_persist_t *self, actors_decoded_t **out);

/* ---- event sourcing ----------------------------------------------------- */

/* A snapshot to start from (state borrowed for the call). */
typedef actors_err (*actors_persist_snapshot_cb)(
    void *arg, const msgpack_object *state);
/* One event to re-apply, with its seq (borrowed for the call). */
typedef actors_err (*actors_persist_event_cb)(
    void *arg, uint64_t seq, const msgpack_object *event);

/* actors_persist_recover loads the last snapshot (calls on_snapshot once if
 * there is one) and then calls on_event for every journaled event after
 * it, in order. A torn or corrupt tail is dropped (logged as PST-TORN) and
 * cut off the stored journal, so later appends follow the valid prefix.
 * Must be called once, before the first append. Either callback may be
 * NULL; a callback's error stops the recovery and is returned.
 * Returns ACTORS_OK, the callback's code, ACTORS_EMSGPACK (the snapshot is
 * corrupt), ACTORS_ENOSPACE (cutting a torn tail off found no room),
 * ACTORS_EIO, ACTORS_ENOMEM. Thread: owner. */
ACTORS_EXPORT actors_err actors_persist_recover(actors_persist_t *self,
    actors_persist_snapshot_cb on_snapshot, actors_persist_event_cb on_event,
    void *arg);

/* actors_persist_append journals one event: event[0..event_len) exactly
 * one msgpack value; id[0..id_len) the request id that caused it (NULL:
 * none; at most 255 bytes); result[0..result_len) the one msgpack value
 * the call is answered with (NULL: nil), remembered with the id.
 * ALWAYS: durable when this returns ACTORS_OK. GROUP: written, durable
 * after the next actors_persist_flush. *seq_out (may be NULL) gets the
 * event's seq. Returns ACTORS_OK, ACTORS_EINVAL (a bad or too deep
 * value, a bad id, or recover not called), ACTORS_ETOOBIG,
 * ACTORS_ENOSPACE (the storage is
 * full: the record was not written, or was cut off again when its write
 * or sync failed; it is not stored, its id is not remembered, and the
 * same call may be appended once there is room), ACTORS_EIO,
 * ACTORS_ENOMEM. On any error nothing is counted as appended and the
 * caller must not apply the change. (After a failed sync that could not
 * be undone the record is in doubt: the handle is broken, every later
 * call returns ACTORS_EIO, and a reopen's recovery decides.)
 * Thread: owner. */
ACTORS_EXPORT actors_err actors_persist_append(actors_persist_t *self,
    const void *id, size_t id_len, const void *event, size_t event_len,
    const void *result, size_t result_len, uint64_t *seq_out);

/* actors_persist_flush makes every appended event durable (GROUP: one
 * fsync for all of them). If the sync fails, the events appended since
 * the last flush are cut off again, durably, and the sync's error is
 * returned, ACTORS_ENOSPACE or ACTORS_EIO: none of them is stored; if
 * that cut fails as well, ACTORS_EIO and they are in doubt. Either way
 * the handle is then broken (every later call ACTORS_EIO): the owner
 * applied those events, so it must reopen and recover. Returns ACTORS_OK
 * or an error as said. Thread: owner. */
ACTORS_EXPORT actors_err actors_persist_flush(actors_persist_t *self);

/* actors_persist_durable tells whether event seq is durable under the
 * policy (ALWAYS and NONE: once appended; GROUP: once flushed).
 * Thread: owner. */
ACTORS_EXPORT bool actors_persist_durable(
    const actors_persist_t *self, uint64_t seq);

/* actors_persist_pending is the number of appended events not yet durable
 * (GROUP only; 0 otherwise). Thread: owner. */
ACTORS_EXPORT size_t actors_persist_pending(const actors_persist_t *self);

/* actors_persist_group_ms is the GROUP flush bound in milliseconds (the
 * owner's timer interval). Thread: owner. */
ACTORS_EXPORT uint32_t actors_persist_group_ms(const actors_persist_t *self);

/* actors_persist_last_seq is the seq of the last event recovered or
 * appended (0: none yet). Thread: owner. */
ACTORS_EXPORT uint64_t actors_persist_last_seq(const actors_persist_t *self);

/* actors_persist_snapshot_due tells whether snapshot_every events were
 * appended since the last snapshot. Thread: owner. */
ACTORS_EXPORT bool actors_persist_snapshot_due(const actors_persist_t *self);

/* actors_persist_snapshot stores state[0..len) (one msgpack value) as the
 * state after the last appended event, with the id window, atomically and
 * durably, then compacts the journal (drops the events it covers). It also
 * makes every appended event durable. Returns as actors_persist_save.
 * Thread: owner. */
ACTORS_EXPORT actors_err actors_persist_snapshot(
    actors_persist_t *self, const void *state, size_t len);

/* actors_persist_lookup looks for request id in the window. If an event
 * with that id was recorded and is still remembered, *result points to
 * its recorded result (one msgpack value; borrowed until the next call on
 * self) and *result_len to its length, and it returns true.
 * Thread: owner. */
ACTORS_EXPORT bool actors_persist_lookup(actors_persist_t *self, const void *id,
    size_t id_len, const void **result, size_t *result_len);

/* actors_persist_remove deletes everything stored under the key (for tests
 * and the store service). Returns ACTORS_OK, ACTORS_ENOSPACE or
 * ACTORS_EIO. Thread: owner. */
ACTORS_EXPORT actors_err actors_persist_remove(actors_persist_t *self);

#ifdef __cplusplus
}
#endif
#endif
