/* libactors/src/persist_backend.h - the interface a storage backend of
 * actors/persist.h implements (file system, Redis).
 * SPDX-License-Identifier: MIT
 *
 * A backend stores, per key, two byte strings: the snapshot (replaced
 * atomically as a whole) and the journal (appended to, read back whole,
 * cut to a prefix). It knows nothing of records, checksums or policies:
 * persist.c frames the bytes (journal.h) and decides when to sync. Buffers
 * returned by reads come from actors__malloc; the caller frees them with
 * actors__free. Private; never installed. Thread: one instance is used by
 * one thread at a time.
 */
#ifndef ACTORS_PERSIST_BACKEND_H
#define ACTORS_PERSIST_BACKEND_H

#include <stdbool.h>
#include <stddef.h>

#include <actors/persist.h>

typedef struct {
    const char *name; /* "file", "redis" */
    /* open makes an instance for key (options already defaulted). With
     * quiet_locked, a key held by another process is ACTORS_ELOCKED
     * without a log line (the caller expects it and says what it means). */
    actors_err (*open)(void **out, const char *key,
        const actors_persist_opts_t *opts, bool quiet_locked);
    void (*close)(void *be);
    /* snap_read: *data NULL and *len 0 when there is no snapshot. */
    actors_err (*snap_read)(void *be, char **data, size_t *len);
    /* snap_write replaces the snapshot atomically and durably. */
    actors_err (*snap_write)(void *be, const char *data, size_t len);
    /* jrn_read: the whole journal (NULL, 0 when empty). */
    actors_err (*jrn_read)(void *be, char **data, size_t *len);
    /* jrn_append writes all of data or nothing (on error). */
    actors_err (*jrn_append)(void *be, const char *data, size_t len);
    /* jrn_sync makes every append so far durable. */
    actors_err (*jrn_sync)(void *be);
    /* jrn_truncate cuts the journal to its first len bytes, durably. */
    actors_err (*jrn_truncate)(void *be, size_t len);
    /* remove deletes the snapshot and empties the journal. */
    actors_err (*remove)(void *be);
    /* keep renews the instance's hold on its key if that is due (NULL: a
     * hold that needs no renewing, the file backend's flock). Returns
     * ACTORS_OK, ACTORS_ELOCKED (the hold is lost: another process has
     * the key; every later call is ACTORS_ELOCKED too) or ACTORS_EIO. */
    actors_err (*keep)(void *be);
} actors__persist_ops_t;

/* The Redis backend's lease on a key (persist_redis.c): it expires
 * ACTORS_PERSIST_LEASE_MS (persist.h) after its last renewal; its holder
 * renews it once ACTORS__PERSIST_LEASE_RENEW_MS have passed since the
 * last one, before its next operation or on actors_persist_keep, which an
 * owner that may sit idle calls every ACTORS_PERSIST_KEEP_MS (a timer of
 * its actor). So a holder that dies or stops loses the key after at most
 * the TTL, and a live one keeps it with two renewals of margin. */
#define ACTORS__PERSIST_LEASE_RENEW_MS 1000

/* actors__persist_try_open is actors_persist_open for a caller that
 * expects the key to be held by another process and retries (a group
 * member standing by for its group's reminders): ACTORS_ELOCKED is not
 * logged (PST-LOCKED); every other outcome is as actors_persist_open's.
 * Thread: any; the handle then belongs to the calling thread. */
actors_err actors__persist_try_open(
    actors_persist_t **out, const char *key, const actors_persist_opts_t *opts);

/* actors__persist_leased tells whether the handle's hold on its key must
 * be renewed (actors_persist_keep) while it is idle. Thread: owner. */
bool actors__persist_leased(const actors_persist_t *p);

extern const actors__persist_ops_t actors__persist_file_ops;
extern const actors__persist_ops_t actors__persist_redis_ops;

#endif
