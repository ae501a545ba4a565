/* libactors/include/actors/future.h - the result of a call, to come.
 * SPDX-License-Identifier: MIT
 *
 * A future belongs to the client (or actor) that made it and is resolved
 * on that client's thread while the client is pumped: by
 * actors_future_wait/get, actors_client_poll, or an actor's event loop.
 * Once resolved it holds either a result (one msgpack value) or an error
 * value; it never changes again. Exactly one of the two arrives for every
 * call the library accepted (DESIGN: every request gets one reply).
 *
 * Callbacks (on_done) and continuations (then) run on the owner thread,
 * inside whatever call pumped the client; they may make new calls.
 *
 * Thread: owner, for every function here (the thread that uses the
 * client that made the future).
 */
#ifndef ACTORS_FUTURE_H
#define ACTORS_FUTURE_H

#include <stdbool.h>
#include <stddef.h>

#include <actors/error.h>
#include <actors/export.h>
#include <actors/msg.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct actors_future actors_future_t;

/* A callback that runs once when a future resolves. */
typedef void (*actors_future_cb)(actors_future_t *future, void *arg);

/* A continuation: gets the result of the future it follows and produces
 * the next step in *next: a new future (from actors_client_call, or
 * actors_future_resolved for a plain value). Returning an error resolves
 * the chained future with that error (a message set through errbuf-less
 * actors_error is the code's text). Not called when the future it follows
 * failed: the error passes down the chain unchanged. */
typedef actors_err (*actors_then_fn)(
    const msgpack_object *result, void *arg, actors_future_t **next);

/* actors_future_is_ready tells whether the future has resolved (result or
 * error). Does not pump. */
ACTORS_EXPORT bool actors_future_is_ready(const actors_future_t *self);

/* actors_future_wait pumps the owner client until the future resolves or
 * timeout_ms passes (-1: no limit; 0: just check).
 * Returns ACTORS_OK once resolved (whatever the outcome), ACTORS_ETIMEDOUT
 * if not resolved in time (the future stays pending and can be waited
 * again), ACTORS_ECLOSED if the client is being destroyed, or
 * ACTORS_EDEADLK for a future of an actor's own client (actor.h) waited
 * with a timeout other than 0 inside a handler, or from a thread that is
 * not the actor's loop: that wait would freeze the loop's calls and
 * timers (or race with it), so it is refused at once. Every wait below
 * (get, wait_all, wait_any) is refused the same way. */
ACTORS_EXPORT actors_err actors_future_wait(
    actors_future_t *self, int timeout_ms);

/* actors_future_get waits like actors_future_wait, then returns the outcome:
 * ACTORS_OK with *result (may be NULL if not wanted) pointing at the result,
 * borrowed until the future is destroyed; the error's code when the call
 * failed (details from actors_future_error); ACTORS_ETIMEDOUT when the wait
 * ran out before any reply (actors_future_error is then NULL). */
ACTORS_EXPORT actors_err actors_future_get(
    actors_future_t *self, int timeout_ms, const msgpack_object **result);

/* actors_future_error returns the error of a failed future, borrowed until
 * the future is destroyed; NULL while pending or on success. */
ACTORS_EXPORT const actors_error_t *actors_future_error(
    const actors_future_t *self);

/* actors_future_result returns the result of a succeeded future, borrowed
 * until the future is destroyed; NULL otherwise. */
ACTORS_EXPORT const msgpack_object *actors_future_result(
    const actors_future_t *self);

/* actors_future_raw gives the encoded msgpack bytes of the result (NULL and
 * 0 if not succeeded). Borrowed like actors_future_result. */
ACTORS_EXPORT const void *actors_future_raw(
    const actors_future_t *self, size_t *len);

/* actors_future_on_done registers cb to run once when the future resolves
 * (immediately, before this returns, if it already has). At most one
 * callback per future.
 * Returns ACTORS_OK (cb will run exactly once, unless the future is
 * destroyed before it resolves), or ACTORS_EINVAL if one is already set
 * (cb will never run). */
ACTORS_EXPORT actors_err actors_future_on_done(
    actors_future_t *self, actors_future_cb cb, void *arg);

/* actors_future_then chains fn after self: *out resolves with the outcome
 * of the future fn produces, or with self's error.
 * Ownership: self stays the caller's (it may be destroyed at once; the
 * chain keeps what it needs); *out is the caller's to destroy.
 * Returns ACTORS_OK, or ACTORS_EINVAL/ACTORS_ENOMEM with *out NULL. */
ACTORS_EXPORT actors_err actors_future_then(
    actors_future_t *self, actors_then_fn fn, void *arg, actors_future_t **out);

/* actors_future_resolved makes a future that already holds the values of
 * *value_p (exactly one top-level value; nil if *value_p is NULL).
 * owner_of is any future or NULL; it only ties the new future to the same
 * client for waiting. For continuations that have a value, not a call.
 * Ownership: takes *value_p on ACTORS_OK and sets it to NULL.
 * Returns ACTORS_OK, ACTORS_EINVAL (not one value), or ACTORS_ENOMEM. */
ACTORS_EXPORT actors_err actors_future_resolved(const actors_future_t *owner_of,
    actors_msg_t **value_p, actors_future_t **out);

/* actors_future_failed makes a future that already failed with code,
 * type (NULL: wire name of code) and message (NULL: its text). */
ACTORS_EXPORT actors_err actors_future_failed(const actors_future_t *owner_of,
    actors_err code, const char *type, const char *message,
    actors_future_t **out);

/* actors_future_wait_all pumps until every future in fs[0..n) resolved or
 * timeout_ms passes. Returns ACTORS_OK or ACTORS_ETIMEDOUT. All futures
 * must belong to one client. */
ACTORS_EXPORT actors_err actors_future_wait_all(
    actors_future_t *const *fs, size_t n, int timeout_ms);

/* actors_future_wait_any pumps until at least one future resolved and
 * stores the index of the first resolved one in *index (may be NULL).
 * Returns ACTORS_OK or ACTORS_ETIMEDOUT. */
ACTORS_EXPORT actors_err actors_future_wait_any(
    actors_future_t *const *fs, size_t n, int timeout_ms, size_t *index);

/* actors_future_destroy drops the caller's reference and sets *self_p to
 * NULL; NULL is fine. A pending call is not cancelled at the actor, its
 * reply is just discarded; its on_done callback will not run. */
ACTORS_EXPORT void actors_future_destroy(actors_future_t **self_p);

#ifdef __cplusplus
}
#endif
#endif
