/* libactors/include/actors/actor.h - writing an actor service.
 * SPDX-License-Identifier: MIT
 *
 * A service is a table of named methods over private state. The runtime
 * connects to the broker, registers the address, runs the event loop,
 * decodes each call's arguments, calls the method, encodes the reply, and
 * turns a method's error into an error reply while the actor and its state
 * live on. Methods run one at a time, in arrival order, on the loop
 * thread, unless the service declares max_concurrency > 1 or concurrency
 * groups (below: then they run on worker threads the runtime owns). A
 * method that needs another actor calls it through
 * actors_actor_client() and defers its own reply; the loop keeps serving
 * (A calls B which calls A does not deadlock). SIGTERM and SIGINT stop the
 * loop cleanly: the actor unregisters and the service's fini runs.
 *
 *     static actors_err
 *     s_increment(actors_ctx_t *ctx, const msgpack_object *args, void *st)
 *     {
 *         counter_t *c = st;
 *         return actors_ctx_reply_int(ctx, ++c->n);
 *     }
 *     static const actors_method_t s_methods[] = {
 *         {"increment", s_increment}, {NULL, NULL}};
 *     static const actors_service_t s_counter = {
 *         .name = "counter", .methods = s_methods,
 *         .init = s_init, .fini = s_fini};
 *     int main(int argc, char **argv)
 *     {
 *         return actors_service_main(&s_counter, argc, argv);
 *     }
 *
 * Thread: "handler" below means only on the actor's loop thread (inside a
 * method of a single-threaded service, init, a timer, a future callback of
 * the actor's client, a function posted with actors_actor_post, an fd
 * watch callback; actors/loop.h). "method" means inside a method,
 * whichever thread runs it.
 */
#ifndef ACTORS_ACTOR_H
#define ACTORS_ACTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <actors/client.h>
#include <actors/error.h>
#include <actors/export.h>
#include <actors/msg.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct actors_actor actors_actor_t;       /* a running actor */
typedef struct actors_ctx actors_ctx_t;           /* one call being handled */
typedef struct actors_deferred actors_deferred_t; /* a reply owed */

/* A method. args is the msgpack array of arguments (borrowed for the
 * call). Return ACTORS_OK to reply with the result set on ctx (nil if
 * none), or an error code to reply with that error (message from
 * actors_ctx_error if it was called, else the code's text). */
typedef actors_err (*actors_method_fn)(
    actors_ctx_t *ctx, const msgpack_object *args, void *state);

/* Fields may be added at the end in later versions: write the table
 * with designated initializers ({.name = "get", .fn = s_get}) so that
 * code built with -Wextra -Werror keeps compiling. */
typedef struct {
    const char *name;    /* method name as called */
    actors_method_fn fn; /* NULL name ends the table */
    const char *group;   /* concurrency group (actors_service_t.groups);
                            NULL: the default group, max_concurrency */
} actors_method_t;

/* A named concurrency group (Ray's concurrency_groups): the methods tagged
 * with its name run at most max_concurrency at once, on threads of their
 * own, whatever the other groups are doing. */
typedef struct {
    const char *name;         /* NULL ends the list */
    uint32_t max_concurrency; /* >= 1 */
} actors_concurrency_group_t;

/* init builds the state from the constructor arguments (a msgpack array,
 * from the JSON on the command line). On error call actors_actor_error
 * and return the code: the process prints "Type: message" on stderr and
 * exits with status 2 before registering. If init set *state before it
 * failed, fini runs on that state (init need not undo its work). */
typedef actors_err (*actors_init_fn)(
    actors_actor_t *actor, const msgpack_object *args, void **state);
typedef void (*actors_fini_fn)(void *state);

/* An event handler of a service: pattern (a topic pattern, pubsub.h)
 * and the handler, which is an actors_method_fn whose args is the event's
 * data (any msgpack value, not an array) and whose result is dropped, as
 * a tell's; actors_ctx_topic gives the topic. */
typedef struct {
    const char *pattern; /* "orders.*", "orders.>"; NULL ends the table */
    actors_method_fn fn; /* the handler */
} actors_topic_handler_t;

typedef struct {
    const char *name;               /* service name, e.g. "account" */
    const actors_method_t *methods; /* ends with {NULL, NULL} */
    actors_init_fn init;            /* may be NULL: state is NULL */
    actors_fini_fn fini;            /* may be NULL */
    /* Concurrency (Ray's threaded actors). 0 or 1 with no groups: today's
     * single-threaded actor, every method on the loop thread, one at a
     * time. N > 1, or any group: every method runs on a worker thread the
     * runtime owns, up to N at once for the methods of no group and up to
     * each group's own limit for its methods. Calls are started in arrival
     * order (per group) and may finish in any order; the state is the
     * service's to protect (a mutex in the state, or atomics), see
     * docs/WRITING-A-SERVICE.md. A method on a worker may use the ctx
     * functions, actors_ctx_defer, actors_actor_state, actors_actor_post
     * and actors_actor_exit; the actor's client and timers are the loop's
     * (post to it). */
    uint32_t max_concurrency;                 /* 0: 1 */
    const actors_concurrency_group_t *groups; /* NULL or {NULL, 0}-ended */
    /* Events the actor's address subscribes to (NULL: none); ends with
     * {NULL, NULL}. Subscribed at every registration; see
     * actors_actor_subscribe for the delivery. */
    const actors_topic_handler_t *topics;
    /* The handler of the actor's reminders (actors/reminder.h): args is
     * [name, data]. NULL: the service uses none. */
    actors_method_fn on_reminder;
} actors_service_t;

/* Options of a running actor. */
typedef struct {
    const char *endpoint; /* broker; NULL: actors_endpoint_default */
    const char *address;  /* address to register; required */
    uint32_t prefetch;    /* calls the broker may send ahead; 0: 4096 */
    uint32_t mailbox;     /* mailbox bound asked of the broker; 0: its own */
    uint32_t max_concurrency; /* 0: the service's; else overrides it */
    bool group;               /* join the group at address as one of its
                                 members (PROTOCOL.md, "Groups"): several
                                 processes serve the address, each call goes
                                 to one of them; false: the address is this
                                 actor's alone (NameTaken if held) */
    int max_task_retries;     /* group only: re-deliveries to another member of
                                 a call whose member died with it in flight;
                                 0 none (ActorCrashed), -1 always */
} actors_actor_opts_t;
#define ACTORS_ACTOR_OPTS_INIT                                                 \
    {                                                                          \
        NULL, NULL, 0, 0, false, 0                                             \
    }

/* The exit status of a service whose address is held by a live actor
 * elsewhere (NameTaken at registration; sysexits' EX_CANTCREAT), or
 * waits for the process a node started for it (Forbidden: this one does
 * not have its claim, PROTOCOL.md). A
 * supervisor does not restart it: the address lives on, just not here
 * (an actor re-created on another node while its own node was lost). */
#define ACTORS_EXIT_NAME_TAKEN 73

/* The exit status of a service whose init failed with KeyLocked: another
 * live process holds its persistence key (actors/persist.h), so this one
 * must not write that state (sysexits' EX_NOPERM). A supervisor does not
 * restart it: the holder is an actor re-created elsewhere on the same
 * volume, or a twin configured with the same key by mistake, and a
 * restart would only meet the same lock, or, once the holder stops,
 * take the key from under the configuration that meant to own it. */
#define ACTORS_EXIT_KEY_LOCKED 77

/* actors_service_main is a whole main(): it reads
 *   SERVICE [--broker EP] --address ADDRESS [--prefetch N] [--mailbox N]
 *           [--max-concurrency N] [CTOR-ARG-JSON ...]
 * ($ACTORS_BROKER when --broker is absent), installs the stderr logger,
 * makes stdout line-buffered (a supervisor reads it through a pipe), runs
 * the actor until SIGTERM/SIGINT or actors_actor_exit, and returns the
 * exit status: 0 after a clean stop, 2 for bad arguments or a failed init,
 * ACTORS_EXIT_NAME_TAKEN when a live actor elsewhere already holds the
 * address, ACTORS_EXIT_KEY_LOCKED when init failed with KeyLocked
 * (actors_actor_error with that type; ACTORS_ELOCKED), 1 for another
 * runtime failure. Thread: the main thread. */
ACTORS_EXPORT int actors_service_main(
    const actors_service_t *service, int argc, char **argv);

/* actors_actor_run runs service at opts->address with the constructor
 * arguments ctor_args (a msgpack array; NULL: none) until stopped.
 * Returns ACTORS_OK after a clean stop, ACTORS_EINVAL for bad opts, the
 * init's error, ACTORS_ETAKEN if the address is held by a live actor,
 * ACTORS_EIO. Thread: the calling thread becomes the loop thread. */
ACTORS_EXPORT actors_err actors_actor_run(const actors_service_t *service,
    const actors_actor_opts_t *opts, const msgpack_object *ctor_args);

/* ---- inside a method --------------------------------------------------- */

/* actors_ctx_reply sets the call's result to the single value in *value_p.
 * Ownership: takes *value_p on ACTORS_OK and sets it to NULL.
 * Returns ACTORS_OK or ACTORS_EINVAL (not exactly one value). Thread:
 * handler. */
ACTORS_EXPORT actors_err actors_ctx_reply(
    actors_ctx_t *ctx, actors_msg_t **value_p);

/* Shorthands that set a scalar result. Return ACTORS_OK or ACTORS_ENOMEM.
 * Thread: handler. */
ACTORS_EXPORT actors_err actors_ctx_reply_int(actors_ctx_t *ctx, int64_t v);
ACTORS_EXPORT actors_err actors_ctx_reply_double(actors_ctx_t *ctx, double v);
ACTORS_EXPORT actors_err actors_ctx_reply_bool(actors_ctx_t *ctx, bool v);
ACTORS_EXPORT actors_err actors_ctx_reply_str(actors_ctx_t *ctx, const char *s);
/* actors_ctx_reply_object copies a decoded value as the result. */
ACTORS_EXPORT actors_err actors_ctx_reply_object(
    actors_ctx_t *ctx, const msgpack_object *v);

/* actors_ctx_error records the error the call will reply with: type is an
 * application type ("ValueError") or a wire name; NULL means "ActorError".
 * Returns ACTORS_EAPP for an application type, or the code of a wire name,
 * so a method can end with  return actors_ctx_error(ctx, ...);
 * Thread: handler. */
ACTORS_EXPORT actors_err actors_ctx_error(actors_ctx_t *ctx, const char *type,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* actors_ctx_defer takes over the reply: the runtime will not reply when
 * the method returns (it must return ACTORS_OK), and *out must later be
 * completed with actors_deferred_reply, actors_deferred_error or
 * actors_deferred_forward, from any thread (off the loop thread the reply
 * is handed to the loop, which sends it), until the service's fini
 * returns. The loop goes on serving other calls meanwhile.
 * Returns ACTORS_OK, ACTORS_EINVAL for a tell (nothing to reply to), or
 * ACTORS_ENOMEM. Thread: handler. */
ACTORS_EXPORT actors_err actors_ctx_defer(
    actors_ctx_t *ctx, actors_deferred_t **out);

/* actors_ctx_is_tell: the message is one-way; a result or error is
 * dropped (an error is logged). Thread: handler. */
ACTORS_EXPORT bool actors_ctx_is_tell(const actors_ctx_t *ctx);

/* actors_ctx_remaining_ms is what remains of the caller's deadline, in ms
 * (0: it has passed; the broker has answered Timeout), or -1 if the call
 * has none (a tell, or a call without a timeout). Calls the method makes
 * with no timeout of their own carry it (client.h). Thread: handler. */
ACTORS_EXPORT int64_t actors_ctx_remaining_ms(const actors_ctx_t *ctx);

/* The address and method of the call, borrowed for the call. Thread:
 * handler. */
ACTORS_EXPORT const char *actors_ctx_address(const actors_ctx_t *ctx);
ACTORS_EXPORT const char *actors_ctx_method(const actors_ctx_t *ctx);

/* actors_ctx_call_key gives the call key the caller attached to this call
 * (actors_call_opts_t.key): 1..255 opaque bytes that stay the same when
 * the broker re-delivers the call after a restart (max_task_retries) and
 * when the caller re-sends it. A journaled actor passes it to
 * actors_persist_lookup / actors_persist_append to apply the call once.
 * *key (borrowed for the call) and *len get the key; returns false, with
 * *key NULL and *len 0, when the call carries none. Thread: handler. */
ACTORS_EXPORT bool actors_ctx_call_key(
    const actors_ctx_t *ctx, const void **key, size_t *len);

/* actors_ctx_topic is the topic of the event being handled (borrowed
 * for the call), or NULL when the message is a call or a tell.
 * Thread: handler. */
ACTORS_EXPORT const char *actors_ctx_topic(const actors_ctx_t *ctx);

/* actors_ctx_actor returns the running actor. Thread: handler. */
ACTORS_EXPORT actors_actor_t *actors_ctx_actor(const actors_ctx_t *ctx);

/* actors_deferred_reply completes a deferred call with the single value in
 * *value_p (NULL or *value_p NULL: nil), and frees the deferred handle.
 * Ownership: takes *d_p always (sets it to NULL) and *value_p on ACTORS_OK.
 * Returns ACTORS_OK, ACTORS_EINVAL (not one value; the call is answered
 * with InternalError instead), ACTORS_ENOMEM (off the loop: the reply
 * could not be handed over; the caller gets Timeout or ActorCrashed).
 * Thread: any (see actors_ctx_defer); one thread per handle. */
ACTORS_EXPORT actors_err actors_deferred_reply(
    actors_deferred_t **d_p, actors_msg_t **value_p);

/* actors_deferred_error completes a deferred call with an error, as
 * actors_ctx_error describes type. Takes *d_p. Thread: any, as
 * actors_deferred_reply. */
ACTORS_EXPORT actors_err actors_deferred_error(
    actors_deferred_t **d_p, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* actors_deferred_forward completes a deferred call with the outcome of a
 * resolved future (its result, or its error as is). Takes *d_p.
 * Thread: any, as actors_deferred_reply (the future must not be touched by
 * another thread meanwhile). */
ACTORS_EXPORT actors_err actors_deferred_forward(
    actors_deferred_t **d_p, const actors_future_t *resolved);

/* ---- the running actor -------------------------------------------------- */

/* actors_actor_client returns the actor's own client, for calls to other
 * actors; their futures resolve on the loop. Borrowed for the actor's
 * life. Do not block on them inside a method: a wait with a timeout (a
 * blocking actors_future_get) would freeze the loop's calls and timers,
 * and is refused with ACTORS_EDEADLK (Deadlock); use actors_future_on_done
 * with a deferred reply, or actors_future_then. Thread: handler; NULL from
 * any other thread (a worker posts to the loop instead). */
ACTORS_EXPORT actors_client_t *actors_actor_client(actors_actor_t *actor);

/* actors_actor_address returns the registered address. Thread: any. */
ACTORS_EXPORT const char *actors_actor_address(const actors_actor_t *actor);

/* actors_actor_state returns the state init produced. Thread: handler or
 * method. */
ACTORS_EXPORT void *actors_actor_state(const actors_actor_t *actor);

/* actors_actor_error records the error that init failed with (type as in
 * actors_ctx_error). Returns the code that init should return. */
ACTORS_EXPORT actors_err actors_actor_error(
    actors_actor_t *actor, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- events (publish/subscribe, pubsub.h) ------------------------------ */

/* actors_actor_subscribe subscribes the actor's address to pattern with
 * handler fn (replacing the handler of an equal pattern). Events come
 * through the address's mailbox like tells: one at a time between calls,
 * in each publisher's order; while the actor restarts under a supervisor
 * they wait in the mailbox (up to its bound; what the bound refuses is
 * counted in LOOKUP's events_dropped) and the subscription lasts. It
 * ends with the address (dead for good) or actors_actor_unsubscribe. A
 * restarted process gets the events of every pattern its address
 * subscribed to: make run-time subscriptions again in init (or use the
 * service's topics table), or those events are dropped with a log line.
 * The broker is told at once when registered, else at registration; a
 * refusal is logged. Returns ACTORS_OK, ACTORS_EINVAL (not a valid
 * pattern), ACTORS_ENOMEM. Thread: handler (init included). */
ACTORS_EXPORT actors_err actors_actor_subscribe(
    actors_actor_t *actor, const char *pattern, actors_method_fn fn);

/* actors_actor_unsubscribe ends the subscription of pattern; events
 * already queued for it are still handled. Returns
 * ACTORS_OK, or ACTORS_EINVAL if there is none. Thread: handler. */
ACTORS_EXPORT actors_err actors_actor_unsubscribe(
    actors_actor_t *actor, const char *pattern);

/* A timer callback. */
typedef void (*actors_timer_fn)(actors_actor_t *actor, void *arg);

/* actors_actor_timer_add runs fn after interval_ms, and every interval_ms
 * after that if repeat. *id (may be NULL) identifies it for cancel.
 * Returns ACTORS_OK or ACTORS_ENOMEM / ACTORS_EINVAL (also from a thread
 * that is not the loop's). Thread: handler. */
ACTORS_EXPORT actors_err actors_actor_timer_add(actors_actor_t *actor,
    uint32_t interval_ms, bool repeat, actors_timer_fn fn, void *arg, int *id);

/* actors_actor_timer_cancel stops timer id. Returns ACTORS_OK or
 * ACTORS_EINVAL if there is no such timer. Thread: handler. */
ACTORS_EXPORT actors_err actors_actor_timer_cancel(
    actors_actor_t *actor, int id);

/* actors_actor_exit asks the loop to stop once the current method returns
 * (Ray's exit_actor): the actor unregisters, answers nothing more (calls
 * that reach the broker later get ActorDead), runs fini, and the process
 * exits with status code. An exit asked for this way is not a crash.
 * Methods running on worker threads are waited for, and their replies
 * sent, before the actor unregisters. Thread: handler or method (from a
 * worker it is posted to the loop). */
ACTORS_EXPORT void actors_actor_exit(actors_actor_t *actor, int code);

#ifdef __cplusplus
}
#endif
#endif
