/* libactors/include/actors/loop.h - work handed back to an actor's loop.
 * SPDX-License-Identifier: MIT
 *
 * An actor's loop thread owns its connection, its client, its timers and
 * its single-threaded state. Other threads (the service's own, or the
 * runtime's workers when max_concurrency > 1) hand work to it:
 *
 *   - actors_actor_post runs a function on the loop, soon, in post order;
 *   - a deferred reply (actor.h) may be completed from any thread;
 *   - the loop watches the service's own file descriptors (a pipe, a
 *     socket, a subprocess's stdout) and calls back when they are ready,
 *     so asynchronous I/O needs no thread of its own.
 *
 *     static void s_on_line(actors_actor_t *a, int fd, short revents,
 *         void *arg)
 *     {
 *         char buf[512];
 *         ssize_t n = read(fd, buf, sizeof buf);   // ready: does not block
 *         if (n <= 0) {
 *             actors_actor_unwatch_fd(a, ((job_t *)arg)->watch);
 *             ...complete the job's deferred reply...
 *         }
 *     }
 *
 * A handler never blocks on its own loop: a wait on a future of the
 * actor's client inside a handler is refused with ACTORS_EDEADLK
 * (future.h), instead of freezing the calls and timers behind it.
 */
#ifndef ACTORS_LOOP_H
#define ACTORS_LOOP_H

#include <actors/actor.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A function run on the loop thread. */
typedef void (*actors_post_fn)(actors_actor_t *actor, void *arg);

/* actors_actor_post has the loop run fn(actor, arg) soon, as a handler
 * (it may reply to deferred calls, make calls, add timers). Posts from one
 * thread run in the order posted. The loop runs the posts still queued
 * when it stops before the service's fini, so that arg can always be
 * freed by fn.
 * Ownership: arg stays the caller's business (fn gets it).
 * Returns ACTORS_OK (fn will run exactly once), ACTORS_ENOMEM, or
 * ACTORS_ECLOSED once the actor has stopped (fn will not run).
 * Thread: any, from init until fini returns. */
ACTORS_EXPORT actors_err actors_actor_post(
    actors_actor_t *actor, actors_post_fn fn, void *arg);

/* A callback of a watched descriptor: revents as poll(2) reports them
 * (POLLIN, POLLOUT, POLLHUP, POLLERR, POLLNVAL). */
typedef void (*actors_fd_fn)(
    actors_actor_t *actor, int fd, short revents, void *arg);

/* actors_actor_watch_fd has the loop call fn whenever fd is ready for
 * events (POLLIN and/or POLLOUT; hang-ups and errors are always
 * reported), level-triggered as poll(2): until fn reads (or writes) what
 * is ready, or unwatches, it is called again on every loop turn. While
 * calls keep arriving, descriptors are checked at least every 64 turns.
 * *id (may be NULL) names the watch for actors_actor_unwatch_fd. The fd
 * stays the caller's: unwatch it before closing it.
 * Returns ACTORS_OK, ACTORS_EINVAL (fd < 0, no events, no fn, or not
 * called on the loop thread), ACTORS_ENOMEM. Thread: handler. */
ACTORS_EXPORT actors_err actors_actor_watch_fd(actors_actor_t *actor, int fd,
    short events, actors_fd_fn fn, void *arg, int *id);

/* actors_actor_unwatch_fd stops watch id (also from inside its own
 * callback). Returns ACTORS_OK or ACTORS_EINVAL (no such watch, not the
 * loop thread). Thread: handler. */
ACTORS_EXPORT actors_err actors_actor_unwatch_fd(actors_actor_t *actor, int id);

/* actors_actor_on_loop: the calling thread is the actor's loop thread
 * (a handler may call the loop-only functions). Thread: any. */
ACTORS_EXPORT bool actors_actor_on_loop(const actors_actor_t *actor);

#ifdef __cplusplus
}
#endif
#endif
