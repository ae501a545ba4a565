/* libactors/src/durable.c - persistence as a runtime feature (durable.h).
 * SPDX-License-Identifier: MIT
 *
 * The machinery a persistent actor used to carry itself: recovery through
 * the service's load/apply, the journal append with the call's key and
 * result, the owed-reply queue answered in order once the change is
 * durable (at once under always/none; under group after one flush, made
 * at the actor loop's idle point (on_idle) or by the group_ms timer,
 * whichever comes first; on the store's acknowledgment through the store
 * actors), the call-key replay before any method (before_call), periodic
 * snapshots, and the error mapping. The store actors as a backend are
 * durable_store.c; the handle is in durable_internal.h. One handle per
 * actor (the hooks go to the first that needs them); everything runs on
 * the actor's loop thread.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <actors/durable.h>
#include <actors/log.h>
#include <actors/persist.h>

#include "actor_internal.h"
#include "callwin.h"
#include "durable_internal.h"
#include "msg_internal.h"
#include "persist_backend.h"
#include <actors-internal/alloc.h>
#include <actors-internal/unpack.h>

/* s_failure_type names a storage failure for a caller: DiskFull when the
 * storage is full (nothing of the change is stored), else
 * PersistenceError. */
static const char *
s_failure_type(actors_err rc)
{
    return rc == ACTORS_ENOSPACE ? actors_err_name(rc) : "PersistenceError";
}

static const char *
s_service(const actors_durable_t *self)
{
    return self->actor->service->name;
}

static bool s_replayed(actors_ctx_t *ctx, void *arg, actors_err *rc);
static void s_idle(actors_actor_t *actor, void *arg);

/* ---------------------------------------------------------------- recovery */

actors_err
actors__durable_on_snapshot(void *arg, const msgpack_object *state)
{
    actors_durable_t *self = arg;
    actors_err rc = self->how->load(self->state, state);
    self->restored = true;
    return rc == ACTORS_OK ? ACTORS_OK : ACTORS_EMSGPACK;
}

static actors_err
s_on_event(void *arg, uint64_t seq, const msgpack_object *ev)
{
    (void)seq;
    actors_durable_t *self = arg;
    actors_err rc = self->how->apply(self->state, ev);
    self->restored = true;
    return rc == ACTORS_OK ? ACTORS_OK : ACTORS_EMSGPACK;
}

/* s_keep renews the journal's lease (Redis; the keep timer). A lost
 * lease means another process has the key and writes it now: this one's
 * state is stale and it must not answer from it, so it exits as a
 * KeyLocked process does (not restarted). */
static void
s_keep(actors_actor_t *actor, void *arg)
{
    actors_durable_t *self = arg;
    if (self->persist != NULL &&
        actors_persist_keep(self->persist) == ACTORS_ELOCKED) {
        ACTORS_LOG(ACTORS_LOG_ERR, "DUR-LEASE-LOST",
            "%s key '%s': another process has taken the key (this one did "
            "not renew its lease in time); exiting",
            s_service(self), self->key);
        (void)actors_actor_timer_cancel(actor, self->keep_timer);
        self->keep_timer = 0;
        actors_actor_exit(actor, ACTORS_EXIT_KEY_LOCKED);
    }
}

static actors_err
s_open_journal(actors_durable_t *self)
{
    actors_persist_opts_t o = ACTORS_PERSIST_OPTS_INIT;
    if (actors_persist_opts_from_env(&o) != ACTORS_OK) {
        return actors_actor_error(self->actor, "WrongArguments",
            "ACTORS_PERSIST_SYNC must be always, none, group or group:MS, "
            "ACTORS_SNAPSHOT_EVERY a positive count");
    }
    self->sync = o.sync;
    actors_err rc = actors_persist_open(&self->persist, self->key, &o);
    if (rc == ACTORS_ELOCKED) {
        /* Another live process writes this key: this one must not. As
         * KeyLocked the process exits ACTORS_EXIT_KEY_LOCKED and its
         * supervisor does not restart it. */
        return actors_actor_error(self->actor, "KeyLocked",
            "the state of %s key '%s' is held by another live process "
            "(its directory is locked, or its Redis lease is renewed; see "
            "PST-LOCKED); not starting",
            s_service(self), self->key);
    }
    if (rc != ACTORS_OK) {
        return actors_actor_error(self->actor, s_failure_type(rc),
            "cannot open the state of %s key '%s': %s", s_service(self),
            self->key, actors_strerror(rc));
    }
    if (actors__persist_leased(self->persist) &&
        actors_actor_timer_add(self->actor, ACTORS_PERSIST_KEEP_MS, true,
            s_keep, self, &self->keep_timer) != ACTORS_OK) {
        self->keep_timer = 0;
        return actors_actor_error(self->actor, "PersistenceError",
            "cannot schedule the renewal of the %s key '%s''s lease",
            s_service(self), self->key);
    }
    rc = actors_persist_recover(self->persist, actors__durable_on_snapshot,
        self->how->apply != NULL ? s_on_event : NULL, self);
    if (rc != ACTORS_OK) {
        return actors_actor_error(self->actor, s_failure_type(rc),
            "cannot recover the state of %s key '%s': %s", s_service(self),
            self->key, actors_strerror(rc));
    }
    return ACTORS_OK;
}

actors_err
actors_durable_open(actors_durable_t **out, actors_actor_t *actor,
    const actors_persistence_t *how, const char *key, void *state,
    bool *restored)
{
    *out = NULL;
    *restored = false;
    actors_durable_t *self = actors__zalloc(sizeof *self);
    if (self == NULL || !msgpack_zone_init(&self->zone, 1024)) {
        actors__free(self);
        return ACTORS_ENOMEM;
    }
    if (actors_msg_create(&self->buf) != ACTORS_OK) {
        msgpack_zone_destroy(&self->zone);
        actors__free(self);
        return ACTORS_ENOMEM;
    }
    self->actor = actor;
    self->how = how;
    self->state = state;
    actors_err rc = ACTORS_OK;
    if (key != NULL && (key[0] == '\0' || strlen(key) > 200)) {
        rc = actors_actor_error(actor, "WrongArguments",
            "the %s key must be a string of 1..200 bytes",
            actor->service->name);
    } else if (key != NULL) {
        self->key = actors__strdup(key);
        const char *spec = getenv("ACTORS_PERSIST_STORE");
        if (spec == NULL || spec[0] == '\0') {
            spec = getenv("ACTORS_ACCOUNT_STORE"); /* its first name */
        }
        if (self->key == NULL) {
            rc = ACTORS_ENOMEM;
        } else if (spec != NULL && spec[0] != '\0') {
            rc = actors__durable_store_open(self, spec);
        } else {
            rc = s_open_journal(self);
            if (self->persist != NULL) {
                self->win = actors__persist_window(self->persist);
            }
        }
    }
    if (rc != ACTORS_OK) {
        actors_durable_destroy(&self);
        return rc;
    }
    if (self->win != NULL && actor->before_call == NULL) {
        actor->before_call = s_replayed;
        actor->before_arg = self;
    }
    if (self->sync == ACTORS_PERSIST_SYNC_GROUP && self->persist != NULL &&
        actor->on_idle == NULL) {
        actor->on_idle = s_idle;
        actor->idle_arg = self;
    }
    *restored = self->restored;
    *out = self;
    return ACTORS_OK;
}

actors_err
actors_durable_store(actors_durable_t *self)
{
    if (self->key == NULL) {
        return ACTORS_OK;
    }
    actors_err rc = ACTORS_OK;
    if (self->persist != NULL) {
        actors_msg_t *st = NULL;
        rc = self->how->save(self->state, &st);
        if (rc == ACTORS_OK) {
            rc = actors_persist_snapshot(
                self->persist, actors_msg_data(st), actors_msg_size(st));
        }
        actors_msg_destroy(&st);
    } else {
        rc = actors__durable_store_put(self);
    }
    if (rc != ACTORS_OK) {
        rc = actors_actor_error(self->actor,
            self->persist != NULL ? s_failure_type(rc) : "PersistenceError",
            "cannot store the state of %s key '%s': %s", s_service(self),
            self->key, actors_strerror(rc));
    }
    return rc;
}

void
actors_durable_destroy(actors_durable_t **self_p)
{
    actors_durable_t *self = self_p ? *self_p : NULL;
    if (self == NULL) {
        return;
    }
    *self_p = NULL;
    if (self->actor->before_arg == self) {
        self->actor->before_call = NULL;
        self->actor->before_arg = NULL;
    }
    if (self->actor->idle_arg == self) {
        self->actor->on_idle = NULL;
        self->actor->idle_arg = NULL;
    }
    /* Owed deferred replies belong to the runtime, which drops them at
     * shutdown; only their results are ours. Saves in flight are
     * abandoned (unacknowledged: stored or not). */
    for (size_t i = 0; i < self->n_owed; i++) {
        actors_msg_destroy(&self->owed[i].result);
    }
    actors__durable_store_drop(self);
    if (self->flush_armed) {
        (void)actors_actor_timer_cancel(self->actor, self->timer);
    }
    if (self->keep_timer != 0) {
        (void)actors_actor_timer_cancel(self->actor, self->keep_timer);
    }
    if (self->dirty && self->persist != NULL) {
        /* Snapshot style under group: the changes since the last flush
         * (the journal's are flushed by actors_persist_destroy). */
        actors_msg_t *st = NULL;
        if (self->how->save(self->state, &st) == ACTORS_OK) {
            (void)actors_persist_save(
                self->persist, actors_msg_data(st), actors_msg_size(st));
        }
        actors_msg_destroy(&st);
    }
    actors_persist_destroy(&self->persist);
    actors__callwin_fini(&self->own);
    msgpack_zone_destroy(&self->zone);
    actors_msg_destroy(&self->buf);
    actors__free(self->key);
    actors__free(self->owed);
    actors__free(self);
}

/* ---------------------------------------------------------------- replies */

/* s_pay answers the owed replies whose change is durable, in order; with
 * failed set, answers all of them type instead (why: what failed; NULL:
 * the code's text) and exits 1: memory holds changes the storage may
 * not, so a restart recovers the durable state. */
void
actors__durable_pay(actors_durable_t *self, actors_err failed, const char *type,
    const char *why)
{
    size_t i = 0;
    for (; i < self->n_owed &&
           (failed != ACTORS_OK || self->owed[i].seq <= self->durable);
         i++) {
        actors__durable_owed_t *o = &self->owed[i];
        if (failed != ACTORS_OK) {
            actors_deferred_error(&o->d, type,
                "the change could not be made durable: %s",
                why != NULL ? why : actors_strerror(failed));
        } else {
            actors_deferred_reply(&o->d, &o->result);
        }
        actors_msg_destroy(&o->result);
    }
    memmove(
        self->owed, self->owed + i, (self->n_owed - i) * sizeof *self->owed);
    self->n_owed -= i;
    if (failed != ACTORS_OK) {
        actors_actor_exit(self->actor, 1);
    }
}

/* s_flush syncs the journal (or saves the state, snapshot style) and pays
 * every owed reply (the group timer). */
static void
s_flush(actors_actor_t *actor, void *arg)
{
    (void)actor;
    actors_durable_t *self = arg;
    self->flush_armed = false;
    actors_err rc = ACTORS_OK;
    if (self->dirty) {
        actors_msg_t *st = NULL;
        rc = self->how->save(self->state, &st);
        if (rc == ACTORS_OK) {
            rc = actors_persist_save(
                self->persist, actors_msg_data(st), actors_msg_size(st));
        }
        actors_msg_destroy(&st);
        self->dirty = false;
    } else {
        rc = actors_persist_flush(self->persist);
    }
    if (rc == ACTORS_OK) {
        self->durable = self->seq;
    }
    actors__durable_pay(self, rc, s_failure_type(rc), NULL);
}

/* s_idle (the actor's on_idle, group policy): every message at hand has
 * been handled, so the batch is complete: flush it now rather than wait
 * for the timer (which bounds the wait while messages keep coming). */
static void
s_idle(actors_actor_t *actor, void *arg)
{
    actors_durable_t *self = arg;
    if (self->flush_armed) {
        (void)actors_actor_timer_cancel(actor, self->timer);
        s_flush(actor, self);
    }
}

/* s_arm sets the flush timer (group_ms) if changes wait for a flush of
 * the journal or a save of the state and it is not set yet. */
static actors_err
s_arm(actors_durable_t *self)
{
    if (self->persist == NULL || self->flush_armed ||
        self->durable >= self->seq) {
        return ACTORS_OK;
    }
    actors_err rc = actors_actor_timer_add(self->actor,
        actors_persist_group_ms(self->persist), false, s_flush, self,
        &self->timer);
    self->flush_armed = rc == ACTORS_OK;
    return rc;
}

/* s_raw_msg makes a message holding the one value data[0..len). */
static actors_err
s_raw_msg(actors_msg_t **out, const void *data, size_t len)
{
    actors_err rc = actors_msg_create(out);
    if (rc == ACTORS_OK) {
        rc = actors_msg_add_raw(*out, data, len);
    }
    if (rc != ACTORS_OK) {
        actors_msg_destroy(out);
    }
    return rc;
}

/* s_answer answers the call with the one value raw[0..len) once every
 * change so far is durable: at once, or deferred behind the owed replies
 * (replies keep their order; none overtakes one still owed). */
static actors_err
s_answer(actors_ctx_t *ctx, actors_durable_t *self, const void *raw, size_t len)
{
    if ((self->durable >= self->seq && self->n_owed == 0) ||
        actors_ctx_is_tell(ctx)) {
        return actors__ctx_reply_raw(ctx, raw, len); /* no allocation */
    }
    actors_msg_t *m = NULL;
    actors_err rc = s_raw_msg(&m, raw, len);
    if (rc != ACTORS_OK) {
        return rc;
    }
    if (self->n_owed == self->cap_owed) {
        size_t cap = self->cap_owed ? 2 * self->cap_owed : 16;
        actors__durable_owed_t *o =
            actors__realloc(self->owed, cap * sizeof *o);
        if (o == NULL) {
            rc = ACTORS_ENOMEM;
        } else {
            self->owed = o;
            self->cap_owed = cap;
        }
    }
    if (rc == ACTORS_OK) {
        rc = s_arm(self);
    }
    actors_deferred_t *d = NULL;
    if (rc == ACTORS_OK) {
        rc = actors_ctx_defer(ctx, &d);
    }
    if (rc != ACTORS_OK) {
        actors_msg_destroy(&m);
        return rc;
    }
    self->owed[self->n_owed].d = d;
    self->owed[self->n_owed].result = m;
    self->owed[self->n_owed].seq = self->seq;
    self->n_owed++;
    return ACTORS_OK;
}

/* s_replayed (the actor's before_call): a call whose key names a change
 * already journaled is answered with the result recorded then, once that
 * record is durable, and not run: no method applies it twice. */
static bool
s_replayed(actors_ctx_t *ctx, void *arg, actors_err *rc)
{
    actors_durable_t *self = arg;
    const void *key = NULL;
    size_t key_len = 0;
    const void *res = NULL;
    size_t res_len = 0;
    if (!actors_ctx_call_key(ctx, &key, &key_len) ||
        !actors__callwin_lookup(self->win, key, key_len, &res, &res_len)) {
        return false;
    }
    ACTORS_LOG(ACTORS_LOG_DEBUG, "DUR-REPLAYED",
        "%s already applied; answered from the journal",
        actors_ctx_method(ctx));
    /* The record may still wait for its group flush: s_answer waits for
     * every change so far, which includes it. */
    *rc = s_answer(ctx, self, res, res_len);
    return true;
}

/* s_stored makes the change just applied (self->seq) durable by the
 * backend's means: a store save, a snapshot when one is due, or nothing
 * more (in memory; the journal's policy decided at the append). A
 * failure here comes after the change was applied, so it exits 1 after
 * the caller is answered. */
static actors_err
s_stored(actors_ctx_t *ctx, actors_durable_t *self)
{
    actors_err rc = ACTORS_OK;
    if (self->store[0] != '\0') {
        rc = actors__durable_store_save(self);
        if (rc != ACTORS_OK) {
            actors_actor_exit(self->actor, 1);
            return actors_ctx_error(ctx, "PersistenceError",
                "the %s could not be sent to %s: %s", actors_ctx_method(ctx),
                self->store, actors_strerror(rc));
        }
    } else if (self->persist == NULL) {
        self->durable = self->seq;
    } else if (actors_persist_snapshot_due(self->persist)) {
        /* A failed snapshot is not the caller's problem: the journal
         * still has everything. */
        actors_msg_t *st = NULL;
        rc = self->how->save(self->state, &st);
        if (rc == ACTORS_OK) {
            rc = actors_persist_snapshot(
                self->persist, actors_msg_data(st), actors_msg_size(st));
        }
        actors_msg_destroy(&st);
        if (rc != ACTORS_OK) {
            ACTORS_LOG(ACTORS_LOG_WARN, "DUR-SNAPSHOT",
                "%s key '%s': snapshot failed (%s); the journal keeps growing",
                s_service(self), self->key, actors_err_name(rc));
        } else {
            self->durable = self->seq;
        }
    }
    return ACTORS_OK;
}

/* ---------------------------------------------------------------- changes */

/* s_remember adds the call's key (if it carries one) with its result
 * raw[0..len) to the window, where the next save of the state (snapshot,
 * store) stores it together with the change: the journal's appends do
 * this themselves. Returns ACTORS_ENOMEM. */
static actors_err
s_remember(
    actors_ctx_t *ctx, actors_durable_t *self, const void *raw, size_t len)
{
    const void *key = NULL;
    size_t key_len = 0;
    if (self->win == NULL || !actors_ctx_call_key(ctx, &key, &key_len)) {
        return ACTORS_OK;
    }
    return actors__callwin_add(self->win, key, key_len, raw, len);
}

/* s_decode decodes the value at data[*off..len) into *obj (in the
 * handle's zone) and advances *off. */
static bool
s_decode(actors_durable_t *self, const char *data, size_t len, size_t *off,
    msgpack_object *obj)
{
    msgpack_unpack_return r = msgpack_unpack(data, len, off, &self->zone, obj);
    return r == MSGPACK_UNPACK_SUCCESS || r == MSGPACK_UNPACK_EXTRA_BYTES;
}

/* s_build builds fmt's values into the handle's reused builder: ACTORS_OK
 * if there are n. */
static actors_err
s_build(actors_durable_t *self, size_t n, const char *fmt, va_list ap)
{
    actors_msg_reset(self->buf);
    actors_err rc = actors__msg_vadd(self->buf, fmt, ap);
    if (rc == ACTORS_OK && actors_msg_count(self->buf) != n) {
        rc = ACTORS_EINVAL;
    }
    return rc;
}

actors_err
actors_durable_change(
    actors_ctx_t *ctx, actors_durable_t *self, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    actors_err rc = s_build(self, 2, fmt, ap);
    va_end(ap);
    const char *data = actors_msg_data(self->buf);
    size_t len = actors_msg_size(self->buf);
    size_t split = 0;
    msgpack_object ev;
    if (rc == ACTORS_OK &&
        (self->how->apply == NULL || actors__unpack_check(data, len, &split) !=
                                         MSGPACK_UNPACK_SUCCESS)) {
        rc = ACTORS_EINVAL;
    }
    size_t off = split;
    if (rc == ACTORS_OK && !s_decode(self, data, len, &off, &ev)) {
        rc = ACTORS_EINVAL;
    }
    if (rc == ACTORS_OK && self->persist != NULL) {
        const void *key = NULL;
        size_t key_len = 0;
        (void)actors_ctx_call_key(ctx, &key, &key_len);
        rc = actors_persist_append(self->persist, key, key_len, data + split,
            len - split, data, split, NULL);
        if (rc != ACTORS_OK) {
            /* Not applied, and (DiskFull) provably not stored: the caller
             * may send it again, with the same key, once there is room. */
            msgpack_zone_clear(&self->zone);
            return actors_ctx_error(ctx, s_failure_type(rc),
                "the %s could not be journaled: %s; nothing was applied",
                actors_ctx_method(ctx), actors_strerror(rc));
        }
    }
    if (rc == ACTORS_OK) {
        rc = self->how->apply(self->state, &ev);
        if (rc != ACTORS_OK && self->persist != NULL) {
            /* Journaled but not applied: memory is behind the journal,
             * and a restart's recovery decides. */
            ACTORS_LOG(ACTORS_LOG_ERR, "DUR-APPLY",
                "%s key '%s': a journaled %s was not applied (%s); exiting",
                s_service(self), self->key, actors_ctx_method(ctx),
                actors_err_name(rc));
            actors_actor_exit(self->actor, 1);
        }
    }
    if (rc == ACTORS_OK && self->store[0] != '\0') {
        rc = s_remember(ctx, self, data, split);
        if (rc != ACTORS_OK) { /* applied, and cannot be stored */
            actors_actor_exit(self->actor, 1);
        }
    }
    if (rc == ACTORS_OK) {
        self->seq++;
        if (self->persist != NULL &&
            actors_persist_durable(
                self->persist, actors_persist_last_seq(self->persist))) {
            self->durable = self->seq;
        }
        rc = s_stored(ctx, self);
        if (rc == ACTORS_OK) {
            rc = s_arm(self); /* a tell's change is flushed all the same */
        }
        if (rc == ACTORS_OK) {
            rc = s_answer(ctx, self, data, split);
        }
    }
    msgpack_zone_clear(&self->zone);
    return rc;
}

/* s_answer_fmt answers with the one value of fmt (s_answer). */
static actors_err
s_answer_fmt(
    actors_ctx_t *ctx, actors_durable_t *self, const char *fmt, va_list ap)
{
    actors_err rc = s_build(self, 1, fmt, ap);
    if (rc == ACTORS_OK) {
        rc = s_answer(
            ctx, self, actors_msg_data(self->buf), actors_msg_size(self->buf));
    }
    return rc;
}

actors_err
actors_durable_changed(
    actors_ctx_t *ctx, actors_durable_t *self, const char *fmt, ...)
{
    /* The result first: its call key is stored with the state. */
    va_list ap;
    va_start(ap, fmt);
    actors_err rc = s_build(self, 1, fmt, ap);
    va_end(ap);
    if (rc != ACTORS_OK) {
        return rc;
    }
    const char *res = actors_msg_data(self->buf);
    size_t res_len = actors_msg_size(self->buf);
    rc = s_remember(ctx, self, res, res_len);
    self->seq++;
    if (rc != ACTORS_OK) {
        /* The state in memory is ahead of what can be stored. */
        actors_actor_exit(self->actor, 1);
        return actors_ctx_error(ctx, "PersistenceError",
            "the %s could not be saved: %s", actors_ctx_method(ctx),
            actors_strerror(rc));
    }
    if (self->store[0] != '\0') {
        rc = s_stored(ctx, self);
    } else if (self->persist == NULL) {
        self->durable = self->seq;
    } else if (self->sync == ACTORS_PERSIST_SYNC_GROUP) {
        self->dirty = true; /* saved once, by the next flush */
        rc = s_arm(self);
    } else {
        actors_msg_t *st = NULL;
        rc = self->how->save(self->state, &st);
        if (rc == ACTORS_OK) {
            rc = actors_persist_save(
                self->persist, actors_msg_data(st), actors_msg_size(st));
        }
        actors_msg_destroy(&st);
        if (rc != ACTORS_OK) {
            /* The state in memory is ahead of the stored one. */
            actors_actor_exit(self->actor, 1);
            return actors_ctx_error(ctx, s_failure_type(rc),
                "the %s could not be saved: %s", actors_ctx_method(ctx),
                actors_strerror(rc));
        }
        self->durable = self->seq;
    }
    if (rc != ACTORS_OK) {
        return rc;
    }
    return s_answer(ctx, self, res, res_len);
}

actors_err
actors_durable_reply(
    actors_ctx_t *ctx, actors_durable_t *self, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    actors_err rc = s_answer_fmt(ctx, self, fmt, ap);
    va_end(ap);
    return rc;
}
