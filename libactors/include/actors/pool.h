/* libactors/include/actors/pool.h - Ray's ActorPool: tasks spread over
 * several actors. SPDX-License-Identifier: MIT
 *
 * A pool is a set of members (actor addresses, or a group address counted
 * as its number of members) and a queue of tasks (a method and its
 * arguments). submit hands a task to an idle member, or queues it until
 * one is free; get_next returns the outcomes in submission order,
 * get_next_unordered as they come; map and map_unordered do both for a
 * list of argument lists. It is Ray's ray.util.ActorPool, in C:
 *
 *     pool = ActorPool([a, b])                 actors_pool_create(&p, c,
 *                                                  (const char *[]){"a", "b"},
 *                                                  2, NULL);
 *     pool.submit(lambda a, v: a.double.remote(v), 1)
 *                                              actors_pool_submit(p, "double",
 *                                                  &args, NULL);
 *     pool.has_next()                          actors_pool_has_next(p)
 *     pool.get_next(timeout=5)                 actors_pool_get_next(p, 5000,
 *                                                  0, &future);
 *     pool.get_next(timeout=5,                 ... ACTORS_POOL_SKIP_TIMEDOUT
 *                   ignore_if_timedout=True)
 *     pool.map(f, [1, 2, 3])                   actors_pool_map(p, "double",
 *                                                  [[1],[2],[3]], ...)
 *     pool.push(actor) / pool.pop_idle()       actors_pool_push / _pop_idle
 *
 * What Ray's pool got wrong and this one does not:
 *  - a member that is gone (ActorDead, NoSuchActor) is evicted at once and
 *    never handed work again; the task it had never ran, so it goes to a
 *    live member, as does every task still queued (ray-project/ray#50313:
 *    one dead actor wedged the pool). A member whose calls crash
 *    (ActorCrashed) max_member_crashes times in a row is evicted too; the
 *    crashed task is re-submitted to another member while it has
 *    max_task_retries left, else its outcome is the ActorCrashed error.
 *    When no member is left, the tasks still queued fail with ActorDead.
 *  - a get that times out leaves the pool as it was (the task stays next),
 *    or with ACTORS_POOL_SKIP_TIMEDOUT drops that task for good: its
 *    outcome, when it comes, is discarded and its member freed, and the
 *    next get returns the next task (ray-project/ray#51979).
 *
 * Every outcome is a resolved future the caller destroys: the result, or
 * the error (the method's own, Timeout, ActorCrashed, ...).
 *
 * Thread: every function here is the owner's: the thread that owns the
 * client the pool was made with (a pool is not thread-safe; one pool per
 * thread). Inside an actor, a blocking get is refused with ACTORS_EDEADLK
 * like any wait on the actor's own loop (future.h): pass timeout 0 from a
 * handler and get again from a future callback or a timer.
 */
#ifndef ACTORS_POOL_H
#define ACTORS_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <actors/client.h>
#include <actors/error.h>
#include <actors/export.h>
#include <actors/future.h>
#include <actors/msg.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct actors_pool actors_pool_t;

/* Options of a pool. */
typedef struct {
    uint32_t timeout_ms;    /* each call's deadline; 0: none */
    uint32_t per_member;    /* calls in flight per member (per member of a
                               group); 0: 1, as Ray's ActorPool */
    int max_task_retries;   /* re-submits of a task whose member crashed
                               with it (ActorCrashed); 0: none */
    int max_member_crashes; /* crashes in a row that evict a member; 0: 1;
                               -1: never (a supervised member restarts) */
} actors_pool_opts_t;
#define ACTORS_POOL_OPTS_INIT                                                  \
    {                                                                          \
        0, 0, 0, 0                                                             \
    }

/* Flags of the gets. */
#define ACTORS_POOL_SKIP_TIMEDOUT 0x1 /* Ray's ignore_if_timedout */

/* actors_pool_create makes a pool over the n addresses (copied). opts may
 * be NULL. The pool borrows client, which must outlive it.
 * Returns ACTORS_OK with *out the caller's (actors_pool_destroy),
 * ACTORS_EINVAL (no client, n 0, an address empty or over 255 bytes),
 * ACTORS_ENOMEM. Thread: owner
 * (the client's thread). */
ACTORS_EXPORT actors_err actors_pool_create(actors_pool_t **out,
    actors_client_t *client, const char *const *addresses, size_t n,
    const actors_pool_opts_t *opts);

/* actors_pool_create_group makes a pool over a group address (several
 * actor processes behind one address, PROTOCOL.md): it asks the broker
 * (LOOKUP, waiting up to timeout_ms) how many members the group has and
 * counts the address as that many members (one if the broker shows no
 * members: a plain actor). Returns as actors_pool_create, and the
 * lookup's error (NoSuchActor, Timeout, Deadlock inside a handler). Thread:
 * owner (the client's thread). */
ACTORS_EXPORT actors_err actors_pool_create_group(actors_pool_t **out,
    actors_client_t *client, const char *group, const actors_pool_opts_t *opts,
    int timeout_ms);

/* actors_pool_destroy frees the pool and sets *self_p to NULL; NULL is
 * fine. Calls in flight are not cancelled at their actors; their outcomes
 * are discarded. Thread: owner
 * (the client's thread). */
ACTORS_EXPORT void actors_pool_destroy(actors_pool_t **self_p);

/* actors_pool_submit queues method(*args_p's values) as the next task and
 * hands it to a free member if there is one. *index (may be NULL) gets the
 * task's number: 0, 1, 2, ... in submission order.
 * Ownership: takes *args_p on ACTORS_OK (args_p NULL or *args_p NULL: no
 * arguments). Returns ACTORS_OK, ACTORS_EINVAL (method empty or over 255
 * bytes), ACTORS_ENOMEM. A pool with no live member takes the task and
 * fails it with ActorDead. Thread: owner
 * (the client's thread). */
ACTORS_EXPORT actors_err actors_pool_submit(actors_pool_t *self,
    const char *method, actors_msg_t **args_p, uint64_t *index);

/* actors_pool_has_next: a task was submitted whose outcome has not been
 * returned (or skipped) yet. Thread: owner
 * (the client's thread). */
ACTORS_EXPORT bool actors_pool_has_next(const actors_pool_t *self);

/* actors_pool_get_next waits up to timeout_ms (-1: no limit) for the
 * oldest task not yet returned and gives its outcome in *out (a resolved
 * future, the caller's to destroy); *index (may be NULL) gets its number.
 * Returns ACTORS_OK (whatever the task's outcome: look at the future),
 * ACTORS_ETIMEDOUT (*out NULL; without ACTORS_POOL_SKIP_TIMEDOUT the task
 * stays the next one, with it the task is dropped), ACTORS_EINVAL (no
 * task pending: has_next is false), ACTORS_EDEADLK (inside a handler of
 * the client's actor with a timeout other than 0), ACTORS_ECLOSED. Thread:
 * owner (the client's thread). */
ACTORS_EXPORT actors_err actors_pool_get_next(actors_pool_t *self,
    int timeout_ms, unsigned flags, actors_future_t **out, uint64_t *index);

/* actors_pool_get_next_unordered is actors_pool_get_next for whichever
 * pending task finished first. A timeout changes nothing (flags are
 * accepted for symmetry; SKIP_TIMEDOUT has nothing to skip). Thread: owner
 * (the client's thread). */
ACTORS_EXPORT actors_err actors_pool_get_next_unordered(actors_pool_t *self,
    int timeout_ms, unsigned flags, actors_future_t **out, uint64_t *index);

/* Called by map for each outcome (borrowed: the pool destroys it after);
 * i is the position in values. */
typedef void (*actors_pool_each_fn)(
    size_t i, const actors_future_t *outcome, void *arg);

/* actors_pool_map submits one task of method per element of values (a
 * msgpack array whose elements are argument arrays: [[1], [2], [3]]),
 * then calls fn with each outcome in the order of values, waiting up to
 * timeout_ms for each (-1: no limit). Tasks submitted earlier stay
 * pending for the gets. Returns ACTORS_OK once fn has seen every outcome,
 * ACTORS_EINVAL (values not an array of arrays; nothing submitted), or a
 * get's error: ACTORS_ETIMEDOUT leaves the remaining tasks pending (get
 * them with actors_pool_get_next). Thread: owner
 * (the client's thread). */
ACTORS_EXPORT actors_err actors_pool_map(actors_pool_t *self,
    const char *method, const msgpack_object *values, int timeout_ms,
    actors_pool_each_fn fn, void *arg);

/* actors_pool_map_unordered is actors_pool_map with fn called as the
 * outcomes come. Thread: owner
 * (the client's thread). */
ACTORS_EXPORT actors_err actors_pool_map_unordered(actors_pool_t *self,
    const char *method, const msgpack_object *values, int timeout_ms,
    actors_pool_each_fn fn, void *arg);

/* actors_pool_push adds address as an idle member (an evicted address
 * comes back) and hands it queued work. Returns ACTORS_OK, ACTORS_EINVAL
 * (already a live member, empty or too long), ACTORS_ENOMEM. Thread: owner
 * (the client's thread). */
ACTORS_EXPORT actors_err actors_pool_push(
    actors_pool_t *self, const char *address);

/* actors_pool_pop_idle removes a member that has nothing in flight and
 * gives its address in *address (the caller frees it with free()).
 * Returns ACTORS_OK, or ACTORS_EAGAIN (NotReady: no member is idle). Thread:
 * owner (the client's thread). */
ACTORS_EXPORT actors_err actors_pool_pop_idle(
    actors_pool_t *self, char **address);

/* actors_pool_has_free: a member could take a task now. Thread: owner
 * (the client's thread). */
ACTORS_EXPORT bool actors_pool_has_free(const actors_pool_t *self);

/* Called when a task's outcome is ready. */
typedef void (*actors_pool_ready_fn)(actors_pool_t *pool, void *arg);

/* actors_pool_on_ready has fn(pool, arg) run each time a task's outcome
 * becomes ready (fn NULL: no more), so that a caller that must not block,
 * an actor's handler, takes outcomes with gets of timeout 0 as they come
 * instead of waiting:
 *
 *     static void s_ready(actors_pool_t *p, void *arg) {
 *         actors_future_t *f = NULL;
 *         while (actors_pool_get_next_unordered(p, 0, 0, &f, NULL) ==
 *                ACTORS_OK) { ...use f...; actors_future_destroy(&f); }
 *     }
 *
 * fn runs inside whatever pumps the client (in an actor: its loop, as a
 * handler), or inside submit when a task fails at once (no live member).
 * It may submit and get; it must not destroy the pool (post that to the
 * loop, actors_actor_post). Thread: owner (the client's thread). */
ACTORS_EXPORT void actors_pool_on_ready(
    actors_pool_t *self, actors_pool_ready_fn fn, void *arg);

/* actors_pool_members is the number of live members (a group counts as
 * its members); actors_pool_evicted the number of addresses evicted. Thread:
 * owner (the client's thread). */
ACTORS_EXPORT size_t actors_pool_members(const actors_pool_t *self);
ACTORS_EXPORT size_t actors_pool_evicted(const actors_pool_t *self);

#ifdef __cplusplus
}
#endif
#endif
