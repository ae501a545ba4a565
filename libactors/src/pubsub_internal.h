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
