/* libactors/include/actors/pubsub.h - publishing events and subscribing
 * to them from a client.
 * SPDX-License-Identifier: MIT
 *
 * A topic is 1..255 bytes of dot-separated segments ("orders.created");
 * a pattern may use "*" for one segment and ">" as its last segment for
 * one or more ("orders.>"), as NATS subjects do. The broker routes each
 * event to every subscription whose pattern matches (schemas/PROTOCOL.md,
 * "Publish/subscribe").
 *
 * Delivery to a client is at most once: an event that finds the client's
 * connection gone or its queue full (the client does not read) is
 * dropped, and one published before the broker confirmed the SUBSCRIBE
 * may be missed. An actor that must not miss events subscribes its
 * address instead (actor.h, actors_actor_subscribe): those go through its
 * mailbox and wait while it restarts.
 *
 * The broker keeps a client's subscriptions with its connection. When
 * the connection is made again (the broker restarted, or libzmq dropped
 * a silent connection and reconnected), the client subscribes every live
 * subscription again by itself, the next time it is pumped (a pump that
 * waits wakes for it), as an actor registers again. Events published
 * while the broker was down, or before the new SUBSCRIBE reached it, are
 * lost: at most once. A re-subscription the broker refuses (its bound)
 * is not reported. An actor's address subscriptions are made again at
 * each registration by the runtime, and events wait in its mailbox.
 *
 * With a broker that has an event stream (actors-broker --stream-bind;
 * PROTOCOL.md, "Event streams"), a client that serves no actor takes its
 * subscriptions' events there: the client opens a SUB socket to the
 * stream (with its own CURVE keys), and ready resolves once the broker
 * has welcomed it there; events published after that reach it. The
 * broker sends an event once per distinct pattern however many subscribe
 * to it. A stream the client cannot reach (no welcome within 3 s) is
 * logged (CLI-STREAM-UNREACHABLE) and that client's subscriptions take
 * the broker connection from then on. The client's sockets, pumping and
 * the guarantees are the same either way.
 *
 * Events reach a client's subscriptions when the client is pumped
 * (actors_client_poll, or any wait on one of its futures), in the order
 * each publisher published them: each to a callback, or queued for
 * actors_subscription_next.
 *
 * Thread: owner (the client's thread), for every function here.
 */
#ifndef ACTORS_PUBSUB_H
#define ACTORS_PUBSUB_H

#include <stdint.h>

#include <msgpack.h>

#include <actors/client.h>
#include <actors/error.h>
#include <actors/export.h>
#include <actors/future.h>
#include <actors/msg.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ACTORS_TOPIC_MAX 255            /* bytes in a topic or pattern */
#define ACTORS_SUBSCRIPTION_QUEUE 10000 /* events queued for _next */

typedef struct actors_subscription actors_subscription_t;

/* An event handler: topic (NUL-terminated) and data (the published
 * value) are borrowed for the call. Runs inside the pump of the client;
 * it may call the client, and may destroy its own subscription. */
typedef void (*actors_event_fn)(void *arg, actors_subscription_t *sub,
    const char *topic, const msgpack_object *data);

/* actors_publish publishes the first value of *data_p (NULL or empty:
 * nil) on topic. *data_p is consumed on success (set to NULL) and left
 * to the caller on failure. With out NULL it is fire-and-forget: the
 * broker answers only a malformed publish, and that answer is dropped.
 * With out, the future's result is the number of subscriptions the event
 * was routed to (an int), or an error (BadRequest for a bad topic,
 * TooLarge). Returns ACTORS_OK, ACTORS_EINVAL (topic not valid),
 * ACTORS_ECLOSED, ACTORS_EIO, ACTORS_ENOMEM. */
ACTORS_EXPORT actors_err actors_publish(actors_client_t *client,
    const char *topic, actors_msg_t **data_p, actors_future_t **out);

/* actors_subscribe subscribes the client's connection to pattern. Each
 * matching event goes to fn(arg, ...) when fn is not NULL, else it is
 * queued (at most ACTORS_SUBSCRIPTION_QUEUE; more are counted in
 * actors_subscription_dropped) for actors_subscription_next. *out is the
 * subscription (owned by the caller: actors_unsubscribe); *ready is a
 * future resolved when the broker has the subscription (result 1, or 0
 * if this connection had that pattern already) or failed (BadRequest for
 * a bad pattern, MailboxFull at the broker's bound). ready may be NULL.
 * Subscribing to a pattern the client has a subscription to already
 * replaces the old one, which then gets no more events. Returns
 * ACTORS_OK, ACTORS_EINVAL, ACTORS_ECLOSED, ACTORS_EIO, ACTORS_ENOMEM. */
ACTORS_EXPORT actors_err actors_subscribe(actors_client_t *client,
    const char *pattern, actors_event_fn fn, void *arg,
    actors_subscription_t **out, actors_future_t **ready);

/* actors_subscription_next gives in *out a future for the next event of a
 * subscription without a handler: resolved at once if one is queued,
 * else when it comes. Its result is a map {"topic": str, "data": value}.
 * Futures are served in the order asked; one destroyed before it
 * resolved (a wait that gave up) takes no event. Returns ACTORS_OK,
 * ACTORS_EINVAL (the subscription has a handler), ACTORS_ENOMEM. */
ACTORS_EXPORT actors_err actors_subscription_next(
    actors_subscription_t *self, actors_future_t **out);

/* actors_subscription_pattern is the subscription's pattern (borrowed). */
ACTORS_EXPORT const char *actors_subscription_pattern(
    const actors_subscription_t *self);

/* actors_subscription_received counts the events it got;
 * actors_subscription_dropped those its queue had no room for. */
ACTORS_EXPORT uint64_t actors_subscription_received(
    const actors_subscription_t *self);
ACTORS_EXPORT uint64_t actors_subscription_dropped(
    const actors_subscription_t *self);

/* actors_unsubscribe ends the subscription *self_p (NULL: nothing) and
 * sets *self_p to NULL: the broker is told (UNSUBSCRIBE, not waited for;
 * events already on their way are discarded), and futures from
 * actors_subscription_next still pending fail with Closed. Safe after
 * the client was destroyed. */
ACTORS_EXPORT void actors_unsubscribe(actors_subscription_t **self_p);

#ifdef __cplusplus
}
#endif

#endif
