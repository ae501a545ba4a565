/* libactors/include/actors/client.h - talking to actors through the broker.
 * SPDX-License-Identifier: MIT
 *
 * A client is one DEALER connection to the broker. It has no thread of its
 * own: replies are read, futures resolved and callbacks run when the owner
 * thread pumps it (actors_future_wait/get, actors_client_poll). That keeps
 * a call at one hop of latency, with no lock. Use one client per thread.
 * The connection has ZMTP heartbeats on: libzmq's I/O thread answers the
 * broker's PINGs whether or not the owner pumps, which keeps the actors it
 * owns (and an actor's own registration) alive while the process lives,
 * and a broker that stops answering is dropped and reconnected by libzmq.
 *
 * Thread: owner, for every function here except where stated.
 */
#ifndef ACTORS_CLIENT_H
#define ACTORS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <actors/error.h>
#include <actors/export.h>
#include <actors/future.h>
#include <actors/msg.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct actors_client actors_client_t;

/* The default broker endpoint when neither an argument nor $ACTORS_BROKER
 * gives one. */
#define ACTORS_DEFAULT_ENDPOINT "tcp://127.0.0.1:5555"

/* The deadline of a call whose options name none (timeout_ms 0), unless
 * actors_client_set_timeout changes it: the same as actorctl's --timeout
 * default. */
#define ACTORS_CLIENT_TIMEOUT_DEFAULT 30000u
/* timeout_ms of a call that must have no deadline at all. */
#define ACTORS_TIMEOUT_NONE UINT32_MAX

/* Options of one call. timeout_ms is the call's deadline in ms: the broker
 * answers Timeout when it passes, and the client resolves the future with
 * Timeout itself shortly after if the broker cannot (it is gone).
 * ACTORS_TIMEOUT_NONE means no deadline. 0 (or NULL options) means "not
 * said", and the call inherits one, as gRPC propagates deadlines:
 *  - inside a method of an actor (actor.h), what remains of the method's
 *    caller's deadline (none if it had none; actors_ctx_remaining_ms);
 *  - in a callback or continuation of a future (actors_future_on_done,
 *    actors_future_then), the timeout of the call that future followed,
 *    as it was given or inherited, so options given to the first call of
 *    a then-chain hold for the whole chain unless a step overrides them;
 *  - anywhere else, the client's default (actors_client_set_timeout).
 * (The broker re-sends a dispatched call's remaining time to the actor in
 * its header: schemas/PROTOCOL.md, "Deadlines".)
 * key (key_len 1..255 bytes, copied when the call is sent) names the call
 * for exactly-once effects: the broker hands it to the actor unchanged,
 * on every re-delivery too (max_task_retries), and a journaled actor
 * answers a call whose key it has applied from its record instead of
 * applying it again (docs/PERSISTENCE.md). Re-sending a call that failed
 * or timed out with the same key is then safe. Keys must be unique per
 * logical call, for example a random client prefix and a counter, and
 * must not start with a zero byte (the broker's own keys do: it gives a
 * call without one a key when the actor's policy re-delivers calls). */
typedef struct {
    uint32_t timeout_ms; /* 0: inherited or default; ACTORS_TIMEOUT_NONE */
    const void *key;     /* call key; NULL: none */
    size_t key_len;      /* its length: 0 with NULL, else 1..255 */
    const void *route;   /* routing key for a group address (PROTOCOL.md,
                            "Groups"): every call with the same route goes
                            to the same member while the membership is
                            unchanged; ignored by a single actor. NULL:
                            none (the least loaded member) */
    size_t route_len;    /* its length: 0 with NULL, else 1..255 */
} actors_call_opts_t;
#define ACTORS_CALL_KEY_MAX 255 /* bytes of a call key */
#define ACTORS_CALL_OPTS_INIT                                                  \
    {                                                                          \
        0                                                                      \
    }

/* actors_endpoint_default returns endpoint if not NULL, else
 * $ACTORS_BROKER if set and not empty, else ACTORS_DEFAULT_ENDPOINT.
 * Borrowed. Thread: any. */
ACTORS_EXPORT const char *actors_endpoint_default(const char *endpoint);

/* actors_client_create connects to the broker at endpoint (NULL: see
 * actors_endpoint_default). Connecting is asynchronous: calls made before
 * the broker is up are sent when it is. With CURVE credentials in force
 * (actors/security.h: --key/$ACTORS_KEY and --broker-key/
 * $ACTORS_BROKER_KEY) the connection is a CURVE client. A broker that
 * refuses the key (not in its allowlist) never answers on the socket,
 * but the client sees the refused handshake: from then on its pending
 * futures fail with ACTORS_EFORBIDDEN ("the broker refused this
 * connection's CURVE handshake ...", at the next poll or wait) and every
 * request returns ACTORS_EFORBIDDEN at once; nothing sent reached the
 * broker. A handshake the broker drops (a wrong broker key) is retried
 * by libzmq: calls then time out.
 * Returns ACTORS_OK with *out owned by the caller (actors_client_destroy),
 * ACTORS_EINVAL for a bad endpoint or unreadable keys, ACTORS_ENOMEM; *out
 * NULL on error.
 * Thread: any (the calling thread becomes the owner). */
ACTORS_EXPORT actors_err actors_client_create(
    actors_client_t **out, const char *endpoint);

/* actors_client_set_timeout sets the deadline of calls that name none
 * and inherit none (default ACTORS_CLIENT_TIMEOUT_DEFAULT, 30 s; 0 or
 * ACTORS_TIMEOUT_NONE: no deadline). actors_client_timeout reads it (0:
 * none). Thread: owner. */
ACTORS_EXPORT void actors_client_set_timeout(
    actors_client_t *self, uint32_t timeout_ms);
ACTORS_EXPORT uint32_t actors_client_timeout(const actors_client_t *self);

/* actors_client_destroy closes the connection and frees the client; NULL
 * is fine. Futures still held by the caller stay valid (pending ones never
 * resolve; destroy them too). */
ACTORS_EXPORT void actors_client_destroy(actors_client_t **self_p);

/* actors_client_call sends method with the values of *args_p as its
 * arguments (args_p NULL or *args_p NULL: no arguments) to address.
 * opts may be NULL.
 * Ownership: on ACTORS_OK the client takes *args_p and sets it to NULL;
 * on error *args_p is untouched. *out is the caller's to destroy.
 * Returns ACTORS_OK (the future will resolve exactly once), ACTORS_EINVAL
 * (address or method empty or longer than 255 bytes), ACTORS_ETOOBIG,
 * ACTORS_ENOMEM, ACTORS_EIO. */
ACTORS_EXPORT actors_err actors_client_call(actors_client_t *self,
    const char *address, const char *method, actors_msg_t **args_p,
    const actors_call_opts_t *opts, actors_future_t **out);

/* actors_client_call_fmt is actors_client_call with the arguments built
 * from fmt as by actors_msg_build. */
ACTORS_EXPORT actors_err actors_client_call_fmt(actors_client_t *self,
    const char *address, const char *method, const actors_call_opts_t *opts,
    actors_future_t **out, const char *fmt, ...);

/* actors_client_tell sends a one-way message and returns at once: no
 * reply, no future. It carries a request id, so the broker acknowledges
 * it; the acknowledgement is consumed when the client is pumped
 * (actors_client_poll, a future wait) and never counts as pending. A tell
 * the broker refuses (NoSuchActor, ActorDead, MailboxFull, TooLarge,
 * BadRequest) is counted (actors_client_tells_refused) and logged: WARN,
 * msgid CLI-TELL-REFUSED, address= type= refused= (at most once a second).
 * After 1024 tells sent without the client being pumped, a tell pumps it
 * first (as actors_client_poll(self, 0)), so that acknowledgements do not
 * pile up: futures may resolve and their callbacks run inside it then.
 * Order with calls and tells from this client to the same address is
 * kept. To know the outcome use actors_client_tell_ack; for a tell that
 * nothing answers, actors_client_tell_nowait.
 * Ownership as actors_client_call.
 * Returns ACTORS_OK, ACTORS_EINVAL (address or method empty or longer than
 * 255 bytes), ACTORS_ETOOBIG, ACTORS_ENOMEM, ACTORS_EIO, ACTORS_ECLOSED
 * (the client is closed, or a callback run by the pump destroyed it).
 * Thread: owner. */
ACTORS_EXPORT actors_err actors_client_tell(actors_client_t *self,
    const char *address, const char *method, actors_msg_t **args_p);

/* actors_client_tell_ack sends a tell as actors_client_tell does, with a
 * future in *out that resolves once the broker has it: with nil when the
 * broker accepted it (dispatched to the actor or queued in its mailbox;
 * not handled yet), or with the broker's error (NoSuchActor, ActorDead,
 * MailboxFull, TooLarge, BadRequest). The broker sets no deadline on a
 * tell: wait on the future with a timeout of your own. The future is
 * pending in the client until then, and counts in actors_client_pending.
 * Order with calls and tells from this client to the same address is
 * kept.
 * Ownership: as actors_client_call; *out is the caller's to destroy.
 * Returns as actors_client_call (the future resolves exactly once after
 * ACTORS_OK). Thread: owner. */
ACTORS_EXPORT actors_err actors_client_tell_ack(actors_client_t *self,
    const char *address, const char *method, actors_msg_t **args_p,
    actors_future_t **out);

/* actors_client_broadcast sends a tell to every member of the group at
 * address (PROTOCOL.md, "Groups"); to a single actor it is a plain tell.
 * With out not NULL, the future resolves as actors_client_tell_ack's
 * (nil once the broker has handed out the copies); with NULL, nothing
 * answers it. Each member gets the broadcasts in the order the broker
 * received them, among this client's other messages to that member.
 * Ownership and Returns as actors_client_call. Thread: owner. */
ACTORS_EXPORT actors_err actors_client_broadcast(actors_client_t *self,
    const char *address, const char *method, actors_msg_t **args_p,
    actors_future_t **out);

/* actors_client_tell_nowait sends a tell without a request id: fire and
 * forget. The broker never answers it, not even when it refuses it (an
 * unknown address, a full mailbox): such a tell is lost without a trace.
 * Use it where an answer per message costs too much. Order with calls and
 * tells from this client to the same address is kept.
 * Ownership and Returns as actors_client_call. Thread: owner. */
ACTORS_EXPORT actors_err actors_client_tell_nowait(actors_client_t *self,
    const char *address, const char *method, actors_msg_t **args_p);

/* actors_client_tells_refused is the number of actors_client_tell tells
 * the broker has refused so far (as far as the client has been pumped).
 * Thread: owner. */
ACTORS_EXPORT uint64_t actors_client_tells_refused(const actors_client_t *self);

/* actors_client_lookup asks the broker about address. The future's result
 * is a map (schemas/PROTOCOL.md, LOOKUP), or NoSuchActor. */
ACTORS_EXPORT actors_err actors_client_lookup(
    actors_client_t *self, const char *address, actors_future_t **out);

/* actors_client_list asks the broker for every actor: the result is an
 * array of maps (PROTOCOL.md, LIST). */
ACTORS_EXPORT actors_err actors_client_list(
    actors_client_t *self, actors_future_t **out);

/* actors_client_ping asks the broker for its status map (PROTOCOL.md,
 * PING); a health check. */
ACTORS_EXPORT actors_err actors_client_ping(
    actors_client_t *self, actors_future_t **out);

/* ---- lifecycle: spawning and stopping actors on nodes ---------------------
 * These go to the broker, which picks a node (a supervisor) and relays;
 * see schemas/PROTOCOL.md, "Nodes". */

/* Options of a spawn. */
typedef struct {
    const char *service;      /* service binary name; required */
    const char *name;         /* address; NULL: "<service>/<8 hex digits>" */
    const actors_msg_t *args; /* constructor args (each value is given to
                                 the service as JSON text); NULL: none */
    const char *node;         /* NULL: the node with the fewest actors */
    bool detached;            /* false: owned (Ray's handle scope): stopped
                                 when this client's connection goes: it is
                                 destroyed, its process exits, or the
                                 process stops or hangs as a whole (its
                                 ZMTP heartbeats go unanswered);
                                 gracefully: SIGTERM, fini, SIGKILL after
                                 the actor's grace_ms */
    bool get_if_exists;       /* name taken: the existing actor, no error */
    int max_restarts;         /* 0 never (default), N, -1 forever */
    int max_task_retries;     /* re-deliveries of an in-flight call */
    uint32_t timeout_ms;      /* until the actor is ready; 0: 10000 */
    bool group;               /* a new member of the group at name (made if
                                 need be; PROTOCOL.md, "Groups"): always
                                 detached; resolves once the node has
                                 started the process, which then joins */
} actors_spawn_opts_t;
#define ACTORS_SPAWN_OPTS_INIT                                                 \
    {                                                                          \
        NULL, NULL, NULL, NULL, false, false, 0, 0, 0, false                   \
    }

/* actors_client_spawn starts an actor of opts->service on a node. The
 * future resolves once the actor has registered, with a map {address,
 * node, pid, existed} (owned: also owner, heartbeat_ms), or fails with
 * NameTaken, NoSuchNode, SpawnFailed, Timeout. Owned actors stay while the
 * client's connection does, whether or not the caller polls.
 * Returns ACTORS_OK, ACTORS_EINVAL (no service; a service, name or node
 * over 255 bytes or not valid UTF-8, as the spec carries them as msgpack
 * str), ACTORS_ENOMEM, ACTORS_EIO. Thread: the client's. */
ACTORS_EXPORT actors_err actors_client_spawn(actors_client_t *self,
    const actors_spawn_opts_t *opts, actors_future_t **out);

/* actors_client_kill kills the actor at address at once (SIGKILL). With
 * restart it comes back by its policy (Ray's ray.kill(no_restart=False));
 * without, it is gone for good and its callers get ActorDead. The future
 * resolves once the process has exited, with a map {address, cause}. */
ACTORS_EXPORT actors_err actors_client_kill(actors_client_t *self,
    const char *address, bool restart, actors_future_t **out);

/* actors_client_stop stops the actor gracefully (SIGTERM, its grace
 * period, then SIGKILL) and does not restart it. */
ACTORS_EXPORT actors_err actors_client_stop(
    actors_client_t *self, const char *address, actors_future_t **out);

/* actors_client_events asks for the lifecycle events (start, exit,
 * restart, give-up, stop) with an id above since: an array of maps
 * {id, node, kind, address, pid, restarts, cause}. */
ACTORS_EXPORT actors_err actors_client_events(
    actors_client_t *self, uint64_t since, actors_future_t **out);

/* actors_client_poll reads and handles what has arrived, waiting up to
 * timeout_ms (-1: until something arrives; 0: not at all) for the first
 * message. Resolves futures and runs their callbacks.
 * Returns ACTORS_OK (something or nothing happened), ACTORS_ECLOSED, or
 * ACTORS_EDEADLK for an actor's own client pumped with a timeout other
 * than 0 inside a handler, or from another thread (future.h). */
ACTORS_EXPORT actors_err actors_client_poll(
    actors_client_t *self, int timeout_ms);

/* actors_client_pending is the number of requests whose future awaits an
 * answer: calls, lookups, spawns, ... and actors_client_tell_ack tells;
 * not actors_client_tell's acknowledgements, which have no future.
 * Thread: owner. */
ACTORS_EXPORT size_t actors_client_pending(const actors_client_t *self);

#ifdef __cplusplus
}
#endif
#endif
