/* libactors/include/actors/durable.h - persistence as a runtime feature:
 * a service says how its state is stored, the runtime does the rest.
 * SPDX-License-Identifier: MIT
 *
 * A service fills an actors_persistence_t (how a snapshot is read into its
 * state and written from it, and, for event sourcing, how one event is
 * applied) and opens an actors_durable_t in its init with the key of the
 * state. From then on the runtime does:
 *
 *  - recovery: the last snapshot is loaded and the journaled events after
 *    it applied (apply), before init goes on;
 *  - journaling: actors_durable_change records the event with the call's
 *    key and its result, then applies it; every snapshot_every events the
 *    state is snapshotted (save) and the journal compacted;
 *  - durability: the call is answered only once its change is durable
 *    under the policy ($ACTORS_PERSIST_SYNC always, none, group:MS); under
 *    group the replies wait for one flush (group commit), made as soon as
 *    the actor has handled every message at hand, and at the latest MS
 *    ms after the first change waits; a read answered with
 *    actors_durable_reply waits behind them, so no reply shows a state a
 *    crash could take back;
 *  - exactly-once: a call whose key was already applied is answered with
 *    the result recorded then, before any method runs, and not applied
 *    again (the actor's first handle with a key does this), in either
 *    style and on every backend: the key and result are stored with the
 *    change (in its journal record, or in the saved state's window);
 *  - the backend from configuration: files under $ACTORS_STATE_DIR, Redis
 *    ($ACTORS_REDIS), or the store actors ($ACTORS_PERSIST_STORE: an
 *    address or PREFIX:N, a pool; the member picked by key), where every
 *    change sends the whole new state (save, with the window of call
 *    keys) and is durable once the store acknowledges it;
 *  - errors: a full storage is DiskFull (the change not applied), a key
 *    held by another live process KeyLocked at open (the process exits
 *    ACTORS_EXIT_KEY_LOCKED, not restarted; so does one whose Redis lease
 *    another process took after it lapsed, DUR-LEASE-LOST), anything else
 *    PersistenceError; a failed group flush or store save answers the
 *    waiting calls with the error and exits 1 so that a restart recovers.
 *
 * Snapshot style (apply NULL): the service changes its state itself and
 * calls actors_durable_changed; the whole state is saved (once per group
 * flush under group), with the window of call keys, so a re-sent key is
 * answered from it as with events. docs/PERSISTENCE.md describes formats,
 * policies, backends and the guarantee per style and backend.
 *
 * Thread: a handle belongs to its actor's loop thread (init, methods,
 * timers, fini); it is not safe to share.
 */
#ifndef ACTORS_DURABLE_H
#define ACTORS_DURABLE_H

#include <stdbool.h>

#include <actors/actor.h>
#include <actors/error.h>
#include <actors/export.h>
#include <actors/msg.h>

#ifdef __cplusplus
extern "C" {
#endif

/* How a service's state is persisted. state is the pointer given to
 * actors_durable_open; msgpack objects are borrowed for the call. */
typedef struct {
    /* load reads a stored snapshot (one msgpack value) into state. */
    actors_err (*load)(void *state, const msgpack_object *snapshot);
    /* save builds the whole state as one msgpack value in a new message
     * (*out, taken over by the runtime). */
    actors_err (*save)(const void *state, actors_msg_t **out);
    /* apply applies one event to state (at recovery and on every change);
     * NULL: snapshot style. */
    actors_err (*apply)(void *state, const msgpack_object *event);
} actors_persistence_t;

typedef struct actors_durable actors_durable_t;

/* actors_durable_open opens the stored state of key (NULL: none, the state
 * lives in memory only and changes are answered at once) for the actor
 * whose state is state, from init. The backend and policy come from the
 * environment (above). If something is stored it is recovered into state
 * (load, then apply per event) and *restored is set; otherwise the service
 * sets its initial state and calls actors_durable_store. On error it has
 * called actors_actor_error (KeyLocked, DiskFull, WrongArguments for a bad
 * environment, PersistenceError) and returns the code for init to return.
 * With a key (any backend, either style) the handle also answers re-sent
 * call keys before any method of the actor runs (the first such handle of
 * an actor does). The key is 1..200 bytes.
 * Ownership: how and state are borrowed for the life of the handle; *out
 * is the caller's (actors_durable_destroy). Every handle function below
 * takes a handle from here (with or without a key). Thread: the actor's
 * init. */
ACTORS_EXPORT actors_err actors_durable_open(actors_durable_t **out,
    actors_actor_t *actor, const actors_persistence_t *how, const char *key,
    void *state, bool *restored);

/* actors_durable_store stores the whole state now, durably (the seed's
 * storestate; for the initial state of a new key). On error it has called
 * actors_actor_error and returns the code. No-op without a key.
 * Thread: the actor's init. */
ACTORS_EXPORT actors_err actors_durable_store(actors_durable_t *self);

/* actors_durable_destroy frees *self_p (flushing what is pending) and sets
 * it to NULL; NULL is fine. Deferred replies still owed are the runtime's
 * (dropped at shutdown). Thread: the actor's fini. */
ACTORS_EXPORT void actors_durable_destroy(actors_durable_t **self_p);

/* actors_durable_change records one change and answers the call. fmt (as
 * actors_msg_build) describes two values: the call's result, then the
 * event (any msgpack value), e.g. "d[sd]", balance, "deposit", 70.0. The
 * event is journaled with the call's key and the result, then applied
 * (how->apply), and the result is sent once the change is durable. On a
 * storage failure nothing is applied and the call is answered DiskFull or
 * PersistenceError ("the METHOD could not be journaled"). Returns what
 * the method should return: ACTORS_OK (answered or deferred), the error
 * answered, or ACTORS_EINVAL (fmt is not two values, or the handle has no
 * apply). Thread: handler. */
ACTORS_EXPORT actors_err actors_durable_change(
    actors_ctx_t *ctx, actors_durable_t *self, const char *fmt, ...);

/* actors_durable_changed (snapshot style) saves the state the method has
 * changed and answers the call with fmt (one value, as actors_msg_build)
 * once the state is durable; the call's key (if any) and that value are
 * saved with the state, so a re-send is answered the value and the method
 * does not run again. A failed save answers PersistenceError or DiskFull
 * and exits 1 (memory is ahead of the storage). Thread: handler. */
ACTORS_EXPORT actors_err actors_durable_changed(
    actors_ctx_t *ctx, actors_durable_t *self, const char *fmt, ...);

/* actors_durable_reply answers a read with fmt (one value, as
 * actors_msg_build), after the changes still waiting to be durable.
 * Thread: handler. */
ACTORS_EXPORT actors_err actors_durable_reply(
    actors_ctx_t *ctx, actors_durable_t *self, const char *fmt, ...);

#ifdef __cplusplus
}
#endif
#endif
