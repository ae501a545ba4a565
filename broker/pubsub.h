/* broker/pubsub.h - publish/subscribe, an extension of the routing core.
 * SPDX-License-Identifier: MIT
 *
 * PUBLISH, SUBSCRIBE and UNSUBSCRIBE (schemas/PROTOCOL.md,
 * "Publish/subscribe"). A subscription is a pattern (topic.h) held by
 * one of two owners:
 *
 *   - a connection (a client): each matching event is sent to it at once
 *     as a PUBLICATION; one it cannot take (its queue is full, it is
 *     gone) is dropped and counted: at most once. The subscription goes
 *     with the connection.
 *   - an address (a registered actor, SUBSCRIBE naming the address it
 *     serves): each matching event goes through the address's mailbox
 *     like a TELL (brk_core_accept), so it waits while the actor
 *     restarts, keeps the publisher's order, and is handed over between
 *     calls; one that finds the mailbox full is dropped and counted per
 *     address ("events_dropped" in LOOKUP and LIST). The subscription
 *     belongs to the address, not to its connection: it lasts until the
 *     address is buried (a tombstone) or it is unsubscribed.
 *
 * A connection's subscription may instead be on the event stream (a
 * SUBSCRIBE with flag stream, when the broker has one: opts.stream_bind;
 * stream.h): answered with a ticket that the client's SUB redeems by
 * subscribing it after the pattern's prefix; each matching event is
 * then sent once per distinct pattern on the XPUB, and libzmq copies it
 * to every SUB subscribed to that pattern.
 *
 * A group address (group.h) is subscribed by any of its members'
 * connections, and the subscription is the group's: each event goes to
 * one member, the least loaded, as an unkeyed TELL does (a queue group,
 * as in NATS), and lasts while the group is held or has members.
 *
 * Matching walks an index of the patterns' segments (subindex.h): a
 * publication costs the subscriptions it matches, not all of them (at
 * most BRK_PUBSUB_MAX); it is one header per matching subscription and a
 * reference-counted copy of the body (never decoded).
 *
 * The broker publishes its own lifecycle events through
 * brk_pubsub_publish on topics under "actors.lifecycle." (PROTOCOL.md).
 *
 * Thread: the broker loop.
 */
#ifndef BRK_PUBSUB_H
#define BRK_PUBSUB_H

#include <stddef.h>

#include <actors/error.h>

#include "core.h"

#define BRK_PUBSUB_PER_OWNER 1024 /* subscriptions of one owner */
#define BRK_PUBSUB_MAX 65536      /* subscriptions in all */

typedef struct brk_pubsub brk_pubsub_t;

/* brk_pubsub_attach adds publish/subscribe to core and returns it in
 * *out (owned by the core, freed when it is destroyed); with
 * core->opts.stream_bind it binds the event stream there. Returns
 * ACTORS_OK, ACTORS_EIO (the stream cannot be bound: logged) or
 * ACTORS_ENOMEM (core unchanged). */
actors_err brk_pubsub_attach(brk_broker_t *core, brk_pubsub_t **out);

/* brk_pubsub_publish publishes body (len bytes, one msgpack value,
 * copied) on topic (a valid topic, NUL-terminated) from the broker
 * itself. Returns how many subscriptions took it. */
uint32_t brk_pubsub_publish(
    brk_pubsub_t *self, const char *topic, const void *body, size_t len);

#endif
