/* libactors/src/persist.c - the persistence interface: policies, recovery,
 * snapshots, compaction and the request-id window.
 * SPDX-License-Identifier: MIT
 *
 * A handle binds one key to one backend instance (persist_backend.h) and
 * keeps: last_seq (the last event appended or recovered), durable_seq (the
 * last one durable under the policy), snap_seq (what the stored snapshot
 * covers) and the window of remembered request ids, a ring of at most
 * id_window (id, result) copies, newest last. Invariants:
 * snap_seq <= durable_seq <= last_seq; journal events have consecutive
 * seqs; replay skips every event at or below the snapshot's seq, so a
 * crash between writing a snapshot and compacting the journal replays
 * nothing twice.
 *
 * A failed sync (ENOSPC at writeback, an I/O error) leaves it unknown
 * whether the records written since the last good sync are on disk. The
 * handle tracks the journal's length (jrn_bytes) and how much of it is
 * known durable (durable_bytes), and cuts the journal back to the latter,
 * durably: once that works none of those records is stored and the sync's
 * error stands (ALWAYS: the one append failed, the handle goes on; GROUP:
 * the owner has applied the events it flushed, so the handle is broken
 * all the same). If the cut fails too the handle is "broken" with the
 * records in doubt: every later call returns ACTORS_EIO until the owner
 * reopens (and recovers).
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <actors/log.h>
#include <actors/persist.h>

#include <actors-internal/alloc.h>
#include "callwin.h"
#include "journal.h"
#include "persist_backend.h"
#include <actors-internal/unpack.h>

#define S_TAG 0x50455253u /* "PERS" */
#define S_DEFAULT_DIR "./actors-state"
#define S_MAX_KEY 200
#define S_MAX_ID 255

struct actors_persist {
    uint32_t tag;                     /* S_TAG while alive */
    const actors__persist_ops_t *ops; /* backend */
    void *be;                         /* backend instance */
    actors_persist_opts_t opts;       /* defaulted; dir/redis not kept */
    uint64_t last_seq;                /* last appended or recovered */
    uint64_t durable_seq;             /* last durable under the policy */
    uint64_t snap_seq;                /* covered by the stored snapshot */
    uint32_t since_snap;              /* events since that snapshot */
    bool recovered;                   /* recover ran: appends allowed */
    bool broken;                      /* a sync failed: all EIO */
    size_t jrn_bytes;                 /* journal length, as written */
    size_t durable_bytes;             /* its prefix known durable */
    actors__callwin_t win;            /* opts.id_window (id, result) */
    msgpack_sbuffer pay;              /* scratch: payload */
    msgpack_sbuffer rec;              /* scratch: framed record */
};

actors_err
actors_persist_opts_from_env(actors_persist_opts_t *opts)
{
    assert(opts);
    actors_persist_opts_t o = *opts;
    const char *s = getenv("ACTORS_PERSIST_SYNC");
    if (s != NULL && *s != '\0') {
        if (strcmp(s, "always") == 0) {
            o.sync = ACTORS_PERSIST_SYNC_ALWAYS;
        } else if (strcmp(s, "none") == 0) {
            o.sync = ACTORS_PERSIST_SYNC_NONE;
        } else if (strncmp(s, "group", 5) == 0 &&
                   (s[5] == '\0' || s[5] == ':')) {
            o.sync = ACTORS_PERSIST_SYNC_GROUP;
            if (s[5] == ':') {
                char *end = NULL;
                unsigned long ms = strtoul(s + 6, &end, 10);
                if (end == s + 6 || *end != '\0' || ms == 0 || ms > 60000) {
                    return ACTORS_EINVAL;
                }
                o.group_ms = (uint32_t)ms;
            }
        } else {
            return ACTORS_EINVAL;
        }
    }
    s = getenv("ACTORS_SNAPSHOT_EVERY");
    if (s != NULL && *s != '\0') {
        char *end = NULL;
        unsigned long n = strtoul(s, &end, 10);
        if (*end != '\0' || n == 0 || n > UINT32_MAX) {
            return ACTORS_EINVAL;
        }
        o.snapshot_every = (uint32_t)n;
    }
    *opts = o;
    return ACTORS_OK;
}

/* How deep a stored value may nest so that its record still decodes
 * (msgpack-c stops at ACTORS__UNPACK_MAX_DEPTH): a state or an event sits
 * in one array (the snapshot, the event record), a result in three (the
 * snapshot, its window, an [id, result] pair). */
#define S_MAX_DEPTH_VALUE (ACTORS__UNPACK_MAX_DEPTH - 1)
#define S_MAX_DEPTH_RESULT (ACTORS__UNPACK_MAX_DEPTH - 3)

/* s_one_value: data[0..len) is exactly one msgpack value nested at most
 * max_depth containers deep. */
static bool
s_one_value(const void *data, size_t len, int max_depth)
{
    size_t off = 0;
    return data != NULL && len > 0 &&
           actors__unpack_check_within(data, len, &off, max_depth) ==
               MSGPACK_UNPACK_SUCCESS &&
           off == len;
}

bool
actors_persist_lookup(actors_persist_t *self, const void *id, size_t id_len,
    const void **result, size_t *result_len)
{
    assert(self && self->tag == S_TAG);
    assert(id || id_len == 0);
    assert(result);
    assert(result_len);
    return actors__callwin_lookup(&self->win, id, id_len, result, result_len);
}

actors__callwin_t *
actors__persist_window(actors_persist_t *p)
{
    assert(p && p->tag == S_TAG);
    return &p->win;
}

/* s_open is actors_persist_open; quiet_locked as the backends' open. */
static actors_err
s_open(actors_persist_t **out, const char *key,
    const actors_persist_opts_t *opts, bool quiet_locked)
{
    assert(out);
    *out = NULL;
    actors_persist_opts_t o = ACTORS_PERSIST_OPTS_INIT;
    if (opts != NULL) {
        o = *opts;
    }
    if (key == NULL || key[0] == '\0' || strlen(key) > S_MAX_KEY ||
        (unsigned)o.sync > ACTORS_PERSIST_SYNC_NONE) {
        return ACTORS_EINVAL;
    }
    if (o.dir == NULL) {
        o.dir = getenv("ACTORS_STATE_DIR");
    }
    if (o.dir == NULL || o.dir[0] == '\0') {
        o.dir = S_DEFAULT_DIR;
    }
    if (o.redis == NULL) {
        o.redis = getenv("ACTORS_REDIS");
    }
    if (o.group_ms == 0) {
        o.group_ms = 5;
    }
    if (o.snapshot_every == 0) {
        o.snapshot_every = 1000;
    }
    if (o.id_window == 0) {
        o.id_window = 1024;
    }
    actors_persist_t *self = actors__zalloc(sizeof *self);
    if (self == NULL) {
        return ACTORS_ENOMEM;
    }
    self->tag = S_TAG;
    msgpack_sbuffer_init(&self->pay);
    msgpack_sbuffer_init(&self->rec);
    self->ops = o.redis != NULL && o.redis[0] != '\0'
                    ? &actors__persist_redis_ops
                    : &actors__persist_file_ops;
    actors_err rc = actors__callwin_init(&self->win, o.id_window);
    if (rc == ACTORS_OK) {
        rc = self->ops->open(&self->be, key, &o, quiet_locked);
    }
    if (rc != ACTORS_OK) {
        self->be = NULL;
        actors_persist_destroy(&self);
        return rc;
    }
    o.dir = NULL;
    o.redis = NULL;
    self->opts = o;
    *out = self;
    return ACTORS_OK;
}

actors_err
actors_persist_open(
    actors_persist_t **out, const char *key, const actors_persist_opts_t *opts)
{
    return s_open(out, key, opts, false);
}

actors_err
actors__persist_try_open(
    actors_persist_t **out, const char *key, const actors_persist_opts_t *opts)
{
    return s_open(out, key, opts, true);
}

void
actors_persist_destroy(actors_persist_t **self_p)
{
    assert(self_p);
    actors_persist_t *self = *self_p;
    if (self == NULL) {
        return;
    }
    assert(self->tag == S_TAG);
    if (self->be != NULL && !self->broken &&
        self->durable_seq < self->last_seq) {
        (void)self->ops->jrn_sync(self->be);
    }
    if (self->be != NULL) {
        self->ops->close(self->be);
    }
    actors__callwin_fini(&self->win);
    msgpack_sbuffer_destroy(&self->pay);
    msgpack_sbuffer_destroy(&self->rec);
    self->tag = 0xDEADBEEF;
    actors__free(self);
    *self_p = NULL;
}

actors_err
actors_persist_keep(actors_persist_t *self)
{
    assert(self && self->tag == S_TAG);
    return self->ops->keep != NULL ? self->ops->keep(self->be) : ACTORS_OK;
}

bool
actors__persist_leased(const actors_persist_t *p)
{
    assert(p && p->tag == S_TAG);
    return p->ops->keep != NULL;
}

const char *
actors_persist_backend(const actors_persist_t *self)
{
    assert(self && self->tag == S_TAG);
    return self->ops->name;
}

actors_err
actors_persist_exists(actors_persist_t *self, bool *out)
{
    assert(self && self->tag == S_TAG);
    assert(out);
    char *data = NULL;
    size_t len = 0;
    actors_err rc = self->ops->snap_read(self->be, &data, &len);
    if (rc == ACTORS_OK && data == NULL) {
        rc = self->ops->jrn_read(self->be, &data, &len);
    }
    if (rc == ACTORS_OK) {
        *out = len > 0;
    }
    actors__free(data);
    return rc;
}

/* s_snapshot_payload packs ["snap", seq, state, window] and frames it into
 * self->rec. */
static actors_err
s_snapshot_record(actors_persist_t *self, const void *state, size_t len)
{
    self->pay.size = 0;
    self->rec.size = 0;
    msgpack_packer pk;
    msgpack_packer_init(&pk, &self->pay, msgpack_sbuffer_write);
    int r = msgpack_pack_array(&pk, 4);
    r = r != 0 ? r : msgpack_pack_str_with_body(&pk, "snap", 4);
    r = r != 0 ? r : msgpack_pack_uint64(&pk, self->last_seq);
    r = r != 0 ? r : msgpack_sbuffer_write(&self->pay, state, len);
    if (r != 0 ||
        actors__callwin_pack(&self->win, &pk, &self->pay) != ACTORS_OK) {
        return ACTORS_ENOMEM;
    }
    return actors__journal_frame(&self->rec, self->pay.data, self->pay.size);
}

static actors_err
s_write_snapshot(actors_persist_t *self, const void *state, size_t len)
{
    if (self->broken) {
        return ACTORS_EIO;
    }
    if (!s_one_value(state, len, S_MAX_DEPTH_VALUE)) {
        return ACTORS_EINVAL;
    }
    actors_err rc = s_snapshot_record(self, state, len);
    if (rc == ACTORS_OK) {
        rc = self->ops->snap_write(self->be, self->rec.data, self->rec.size);
    }
    if (rc != ACTORS_OK) {
        return rc;
    }
    self->snap_seq = self->last_seq;
    self->durable_seq = self->last_seq;
    self->since_snap = 0;
    /* Compaction. If it fails the old events stay, and replay skips them
     * (their seqs are covered), so the snapshot stands; cutting back to
     * any length of them later loses nothing either. */
    if (self->ops->jrn_truncate(self->be, 0) != ACTORS_OK) {
        ACTORS_LOG(ACTORS_LOG_WARN, "PST-COMPACT",
            "seq=%llu journal not compacted; replay will skip it",
            (unsigned long long)self->last_seq);
    } else {
        self->jrn_bytes = 0;
    }
    self->durable_bytes = self->jrn_bytes;
    return ACTORS_OK;
}

actors_err
actors_persist_save(actors_persist_t *self, const void *data, size_t len)
{
    assert(self && self->tag == S_TAG);
    return s_write_snapshot(self, data, len);
}

actors_err
actors_persist_snapshot(actors_persist_t *self, const void *state, size_t len)
{
    assert(self && self->tag == S_TAG);
    return s_write_snapshot(self, state, len);
}

/* s_read_snapshot decodes the stored snapshot into *up / *rec; *found
 * false if there is none. The decoded strings point into *data_p, which
 * the caller frees (actors__free) after it is done with *rec. */
static actors_err
s_read_snapshot(actors_persist_t *self, msgpack_unpacked *up,
    actors__journal_rec_t *rec, bool *found, char **data_p)
{
    size_t len = 0;
    *found = false;
    actors_err rc = self->ops->snap_read(self->be, data_p, &len);
    char *data = *data_p;
    if (rc != ACTORS_OK || data == NULL) {
        return rc;
    }
    size_t off = 0;
    rc = actors__journal_next(up, data, len, &off, rec);
    if (rc != ACTORS_OK || !rec->is_snapshot || off != len) {
        ACTORS_LOG(ACTORS_LOG_ERR, "PST-SNAP-BAD",
            "len=%zu the stored snapshot is corrupt", len);
        rc = ACTORS_EMSGPACK;
    } else {
        *found = true;
    }
    return rc;
}

actors_err
actors_persist_restore(actors_persist_t *self, actors_msg_t **out)
{
    assert(self && self->tag == S_TAG);
    assert(out);
    *out = NULL;
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    actors__journal_rec_t rec;
    bool found = false;
    char *snap = NULL;
    actors_err rc = s_read_snapshot(self, &up, &rec, &found, &snap);
    if (rc == ACTORS_OK && !found) {
        rc = ACTORS_ENOACTOR;
    }
    actors_msg_t *m = NULL;
    if (rc == ACTORS_OK) {
        rc = actors_msg_create(&m);
    }
    if (rc == ACTORS_OK) {
        rc = actors_msg_add_object(m, rec.value);
    }
    msgpack_unpacked_destroy(&up);
    actors__free(snap);
    if (rc != ACTORS_OK) {
        actors_msg_destroy(&m);
        return rc;
    }
    *out = m;
    return ACTORS_OK;
}

actors_err
actors_persist_recover(actors_persist_t *self,
    actors_persist_snapshot_cb on_snapshot, actors_persist_event_cb on_event,
    void *arg)
{
    assert(self && self->tag == S_TAG);
    if (self->recovered || self->broken) {
        return ACTORS_EINVAL;
    }
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    actors__journal_rec_t rec;
    bool found = false;
    char *snap = NULL;
    char *data = NULL;
    size_t len = 0;
    actors_err rc = s_read_snapshot(self, &up, &rec, &found, &snap);
    if (rc == ACTORS_OK && found) {
        self->snap_seq = rec.seq;
        self->last_seq = rec.seq;
        rc = actors__callwin_load(&self->win, rec.window);
        if (rc == ACTORS_OK && on_snapshot != NULL) {
            rc = on_snapshot(arg, rec.value);
        }
    }
    if (rc == ACTORS_OK) {
        rc = self->ops->jrn_read(self->be, &data, &len);
    }
    size_t off = 0;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    while (rc == ACTORS_OK) {
        actors_err r = actors__journal_next(&up, data, len, &off, &rec);
        if (r == ACTORS_ECLOSED) {
            break;
        }
        if (r != ACTORS_OK || rec.is_snapshot ||
            (rec.seq > self->last_seq && rec.seq != self->last_seq + 1)) {
            ACTORS_LOG(ACTORS_LOG_WARN, "PST-TORN",
                "offset=%zu dropped=%zu seq=%llu torn or corrupt journal "
                "tail dropped",
                off, len - off, (unsigned long long)self->last_seq);
            rc = self->ops->jrn_truncate(self->be, off);
            break;
        }
        if (rec.seq <= self->last_seq) {
            continue; /* covered by the snapshot */
        }
        if (on_event != NULL) {
            rc = on_event(arg, rec.seq, rec.value);
        }
        if (rc == ACTORS_OK && rec.id != NULL) {
            sb.size = 0;
            msgpack_packer pk;
            msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
            rc = msgpack_pack_object(&pk, *rec.result) == 0 ? ACTORS_OK
                                                            : ACTORS_ENOMEM;
            if (rc == ACTORS_OK) {
                rc = actors__callwin_add(&self->win, rec.id->via.bin.ptr,
                    rec.id->via.bin.size, sb.data, sb.size);
            }
        }
        if (rc == ACTORS_OK) {
            self->last_seq = rec.seq;
            self->since_snap++;
        }
    }
    msgpack_sbuffer_destroy(&sb);
    msgpack_unpacked_destroy(&up);
    actors__free(data);
    actors__free(snap);
    if (rc == ACTORS_OK) {
        self->durable_seq = self->last_seq;
        self->jrn_bytes = off; /* the valid prefix; a torn tail is cut */
        self->durable_bytes = off;
        self->recovered = true;
    }
    return rc;
}

/* s_sync_failed handles a sync that failed with rc: the records written
 * since the last good one are cut off again, durably. Returns rc if that
 * worked (none of them is stored), or ACTORS_EIO with the handle broken
 * (they may or may not be). */
static actors_err
s_sync_failed(actors_persist_t *self, actors_err rc)
{
    size_t dropped = self->jrn_bytes - self->durable_bytes;
    if (self->ops->jrn_truncate(self->be, self->durable_bytes) == ACTORS_OK) {
        ACTORS_LOG(ACTORS_LOG_WARN, "PST-SYNC-UNDONE",
            "seq=%llu dropped=%zu rc=%s the journal's unsynced records were "
            "cut off",
            (unsigned long long)self->durable_seq, dropped,
            actors_err_name(rc));
        self->jrn_bytes = self->durable_bytes;
        return rc;
    }
    ACTORS_LOG(ACTORS_LOG_ERR, "PST-BROKEN",
        "seq=%llu in_doubt=%zu rc=%s a failed sync could not be undone; the "
        "handle refuses every call until reopened",
        (unsigned long long)self->durable_seq, dropped, actors_err_name(rc));
    self->broken = true;
    return ACTORS_EIO;
}

actors_err
actors_persist_append(actors_persist_t *self, const void *id, size_t id_len,
    const void *event, size_t event_len, const void *result, size_t result_len,
    uint64_t *seq_out)
{
    assert(self && self->tag == S_TAG);
    if (self->broken) {
        return ACTORS_EIO;
    }
    if (!self->recovered || !s_one_value(event, event_len, S_MAX_DEPTH_VALUE) ||
        (result != NULL &&
            !s_one_value(result, result_len, S_MAX_DEPTH_RESULT)) ||
        (id == NULL && id_len != 0) || id_len > S_MAX_ID) {
        return ACTORS_EINVAL;
    }
    uint64_t seq = self->last_seq + 1;
    self->pay.size = 0;
    self->rec.size = 0;
    msgpack_packer pk;
    msgpack_packer_init(&pk, &self->pay, msgpack_sbuffer_write);
    actors_err rc = actors__journal_event(
        &pk, seq, id, id_len, event, event_len, result, result_len);
    if (rc == ACTORS_OK) {
        rc = actors__journal_frame(&self->rec, self->pay.data, self->pay.size);
    }
    if (rc != ACTORS_OK) {
        return rc;
    }
    /* Reserve the window slot's memory before writing, so that an event on
     * disk is never missing from the window in memory. */
    if (id != NULL) {
        rc = actors__callwin_add(&self->win, id, id_len,
            result ? result : "\xc0", result ? result_len : 1);
        if (rc != ACTORS_OK) {
            return rc;
        }
    }
    rc = self->ops->jrn_append(self->be, self->rec.data, self->rec.size);
    if (rc == ACTORS_OK) {
        self->jrn_bytes += self->rec.size;
    }
    if (rc == ACTORS_OK && self->opts.sync == ACTORS_PERSIST_SYNC_ALWAYS) {
        rc = self->ops->jrn_sync(self->be);
        if (rc != ACTORS_OK) {
            /* Every record before this one is durable: the cut takes off
             * this one alone. */
            rc = s_sync_failed(self, rc);
        }
    }
    if (rc != ACTORS_OK) {
        if (id != NULL) {
            /* Forget the id again: it was not recorded. */
            actors__callwin_drop_last(&self->win);
        }
        return rc;
    }
    self->last_seq = seq;
    self->since_snap++;
    if (self->opts.sync != ACTORS_PERSIST_SYNC_GROUP) {
        self->durable_seq = seq;
        self->durable_bytes = self->jrn_bytes;
    }
    if (seq_out != NULL) {
        *seq_out = seq;
    }
    return ACTORS_OK;
}

actors_err
actors_persist_flush(actors_persist_t *self)
{
    assert(self && self->tag == S_TAG);
    if (self->broken) {
        return ACTORS_EIO;
    }
    if (self->durable_seq == self->last_seq) {
        return ACTORS_OK;
    }
    actors_err rc = self->ops->jrn_sync(self->be);
    if (rc != ACTORS_OK) {
        /* Even with the events cut off again, the owner has applied them
         * (and the window holds their ids): it must reopen and recover. */
        rc = s_sync_failed(self, rc);
        self->broken = true;
        return rc;
    }
    self->durable_seq = self->last_seq;
    self->durable_bytes = self->jrn_bytes;
    return ACTORS_OK;
}

bool
actors_persist_durable(const actors_persist_t *self, uint64_t seq)
{
    assert(self && self->tag == S_TAG);
    return seq <= self->durable_seq;
}

size_t
actors_persist_pending(const actors_persist_t *self)
{
    assert(self && self->tag == S_TAG);
    return (size_t)(self->last_seq - self->durable_seq);
}

uint32_t
actors_persist_group_ms(const actors_persist_t *self)
{
    assert(self && self->tag == S_TAG);
    return self->opts.group_ms;
}

uint64_t
actors_persist_last_seq(const actors_persist_t *self)
{
    assert(self && self->tag == S_TAG);
    return self->last_seq;
}

bool
actors_persist_snapshot_due(const actors_persist_t *self)
{
    assert(self && self->tag == S_TAG);
    return self->since_snap >= self->opts.snapshot_every;
}

actors_err
actors_persist_remove(actors_persist_t *self)
{
    assert(self && self->tag == S_TAG);
    actors_err rc = self->ops->remove(self->be);
    if (rc == ACTORS_OK) {
        actors__callwin_clear(&self->win);
        self->last_seq = self->durable_seq = self->snap_seq = 0;
        self->since_snap = 0;
        self->jrn_bytes = self->durable_bytes = 0;
    }
    return rc;
}

actors_err
actors_persist_restore_value(actors_persist_t *self, actors_decoded_t **out)
{
    assert(out);
    *out = NULL;
    actors_msg_t *m = NULL;
    actors_err rc = actors_persist_restore(self, &m);
    if (rc == ACTORS_OK) {
        rc = actors_decoded_from_msg(out, m);
    }
    actors_msg_destroy(&m);
    return rc;
}
