/* libactors/src/pubsub_internal.h - what the client needs of pubsub.c and
 * pubsub.c of the client. Private; never installed.
 * SPDX-License-Identifier: MIT
 */
#ifndef ACTORS_PUBSUB_INTERNAL_H
#define ACTORS_PUBSUB_INTERNAL_H

#include <stdbool.h>

#include <zmq.h>

#include <actors/pubsub.h>

#include <actors-internal/wire.h>

/* actors__subs_deliver hands a PUBLICATION (header parsed in *hdr, frames
 * as the client hook gets them) to the client's subscription it names (by
 * request id and pattern). Returns false when it names none (an event for
 * an address the process serves: the actor runtime's). Owner thread. */
bool actors__subs_deliver(actors_client_t *client, const actors__hdr_t *hdr,
    zmq_msg_t *frames, int n);

/* actors__subs_renew SUBSCRIBEs again every subscription of the client
 * made on a connection older than gen (actors__client_conn_gen), but
 * those a newer one of the same pattern replaced, and marks them all as
 * made on gen. The client's pump calls it once the connection is new.
 * Owner thread. */
void actors__subs_renew(actors_client_t *client, uint64_t gen);

/* actors__subs_stream hands a message read on the broker's event stream
 * (PROTOCOL.md, "Event streams": a ticket's welcome, or an event with no
 * request id) to the client's subscriptions on the stream. Owner thread. */
void actors__subs_stream(actors_client_t *client, zmq_msg_t *frames, int n);

/* actors__client_request_flags sends command cmd with header flags and
 * frames f1, f2 (C strings; NULL: none), as actors__client_request does
 * (out NULL: untracked). */
actors_err actors__client_request_flags(actors_client_t *self, uint8_t cmd,
    uint8_t flags, const char *f1, const char *f2, actors_future_t **out);

/* actors__client_streams: the client may take events on the stream (it
 * is open and serves no actor: the runtime polls only its DEALER). */
bool actors__client_streams(const actors_client_t *self);

/* actors__client_stream gives the client's SUB on the event stream the
 * broker named ep (connected at its host when ep's is a wildcard), made on
 * first use and made again when ep changes (its subscriptions are then
 * gone: the caller makes them again), and its generation in *gen (never
 * 0). Borrowed; NULL when it cannot be made (logged). */
void *actors__client_stream(
    actors_client_t *self, const char *ep, uint64_t *gen);

/* actors__client_stream_of is the client's SUB if it is still the one of
 * generation gen (actors__client_stream), else NULL. */
void *actors__client_stream_of(actors_client_t *self, uint64_t gen);

/* actors__subs_wait_ms: how long until a welcome awaited on the stream by
 * a subscription on the list head is late (0: one is), -1: none awaited.
 * actors__subs_tick subscribes over the DEALER every subscription whose welcome
 * is late. Owner thread. */
int actors__subs_wait_ms(const actors_subscription_t *head, int64_t now);
void actors__subs_tick(actors_client_t *client, int64_t now);

/* actors__client_stream_off: the stream was not reachable; the client's
 * later subscriptions take their events over its connection. */
void actors__client_stream_off(actors_client_t *self);

/* actors__client_stream_touched: the caller subscribed or unsubscribed
 * on the SUB; the next pump reads it before waiting on its descriptor. */
void actors__client_stream_touched(actors_client_t *self);

/* actors__topic_ok: s is a topic (or, with pattern, a pattern) the
 * broker takes: its rules are broker/topic.h's; the broker checks again.
 * Thread: any. */
bool actors__topic_ok(const char *s, bool pattern);

/* actors__client_subs is the head of the client's subscription list. */
actors_subscription_t **actors__client_subs(actors_client_t *self);

/* actors__client_request sends command cmd with frames f1 and f2 (C
 * strings; NULL: none) and the values of *body_p as one frame (body_p
 * NULL: none; consumed on success), with a future in *out (NULL: no
 * request id, no answer tracked). Returns as s_request_ex: ACTORS_OK,
 * ACTORS_ECLOSED, ACTORS_EIO, ACTORS_ENOMEM. */
actors_err actors__client_request(actors_client_t *self, uint8_t cmd,
    const char *f1, const char *f2, actors_msg_t **body_p,
    actors_future_t **out);

#endif
