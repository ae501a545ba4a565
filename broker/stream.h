/* broker/stream.h - the event stream: one XPUB beside the ROUTER, through
 * which the broker sends an event once per distinct pattern and libzmq
 * copies it to every subscriber of that pattern (pubsub.h; PROTOCOL.md,
 * "Event streams").
 * SPDX-License-Identifier: MIT
 *
 * libzmq keeps each peer's subscriptions (a plain XPUB, verbose: every
 * subscription a peer sends is also handed up, brk_stream_recv, for
 * pubsub.c to see tickets redeemed). Nothing is attributed to a peer: a
 * message goes to every peer subscribed to a prefix of it. Each peer's
 * queue holds at most max_queued messages; an event that finds it full is
 * dropped for that peer (at most once, as a SUB socket is). Peers are
 * authenticated as on the ROUTER (CURVE and the same allowlist), dropped
 * when silent (the ROUTER's heartbeats), and refused near the descriptor
 * limit as the ROUTER's are (a monitor of accepted connections). The
 * stream carries only the patterns some subscription on it redeemed; any
 * authenticated peer may read them, as any may SUBSCRIBE them.
 *
 * Frames on the stream: an event is [PUBLICATION header, body] with an
 * empty request id; its header up to the end of the pattern is what a SUB
 * subscribes to (brk_stream_prefix). A ticket's welcome is [PUBLICATION
 * header whose request id is the ticket, no names; nil]: its prefix sorts
 * after every pattern's (id length 16 against 0), and a SUB that connects
 * again sends its subscriptions in that order (libzmq walks its trie), so
 * a ticket redeemed comes after the prefixes it relies on, there too.
 *
 * Thread: the broker loop.
 */
#ifndef BRK_STREAM_H
#define BRK_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <zmq.h>

#include <actors/error.h>

#include "core.h"

#define BRK_STREAM_TICKET 16 /* bytes in a ticket */
/* A subscription as a SUB sends it up: a flag byte, then a prefix: a
 * PUBLICATION header up to its pattern, or up to its ticket. */
#define BRK_STREAM_SUB_MAX (1 + ACTORS_WIRE_HDR_MIN + 1 + 255)
#define BRK_STREAM_FRAME_MAX 1024 /* larger frames close the connection */
/* Bytes a TCP connection to the stream may send up beyond its heartbeats
 * (brk_stream_check): 2048 subscriptions of the longest prefix, twice
 * what a subscriber of the 1024 patterns allowed to it sends. */
#define BRK_STREAM_RECV_BUDGET (2048u * BRK_STREAM_SUB_MAX)
#define BRK_STREAM_BEAT_BYTES 64 /* per heartbeat_ms: PONGs, boxed */
#define BRK_STREAM_RCVHWM 100    /* subscriptions queued per peer */
#define BRK_STREAM_HELD 256      /* events held before a flush is forced */
#define BRK_STREAM_POLICE_MS                                                   \
    1000 /* budgets checked this often, and                                    \
            after every batch read */

typedef struct brk_stream brk_stream_t;

/* brk_stream_create makes the XPUB in core's context, secured as the
 * ROUTER, and binds it to bind. Returns ACTORS_OK with *out owned by the
 * caller (brk_stream_destroy), ACTORS_EIO if it cannot be made or bound
 * (logged), ACTORS_ENOMEM. */
actors_err brk_stream_create(
    brk_stream_t **out, brk_broker_t *core, const char *bind);

/* brk_stream_destroy closes the XPUB and frees *self_p (NULL: nothing). */
void brk_stream_destroy(brk_stream_t **self_p);

/* brk_stream_socket is the XPUB (which 0) or its monitor (1), for the
 * loop to watch (ext.h). */
void *brk_stream_socket(brk_stream_t *self, int which);

/* brk_stream_check reads the monitor: connections accepted near the
 * descriptor limit are refused (brk_core_refuse_if_full). After a reload
 * of the allowlist that removed or changed a key (brk_core_revocations)
 * it closes every connection of the stream (logged BRK-STREAM-REVOKED):
 * libzmq names no XPUB peer, so the one made with that key cannot be
 * told; the others connect and subscribe again by themselves. A TCP
 * connection that has sent more than BRK_STREAM_RECV_BUDGET bytes
 * beyond its heartbeats (the kernel counts them: libzmq keeps every
 * subscription, unbounded, and names no sender) is closed and logged
 * BRK-STREAM-FLOOD, checked after every batch of subscriptions read
 * and every BRK_STREAM_POLICE_MS. Call it at every tick as well as when
 * its sockets are readable. */
void brk_stream_check(brk_stream_t *self);

/* brk_stream_endpoint is the endpoint bound (port resolved). */
const char *brk_stream_endpoint(const brk_stream_t *self);

/* brk_stream_recv reads one subscription message a peer sent up, without
 * waiting: *on true for subscribe, false for unsubscribe, the prefix
 * into buf (at most BRK_STREAM_SUB_MAX - 1 bytes; longer ones are read
 * and skipped) and its length into *len. Returns false when none is
 * waiting. */
bool brk_stream_recv(brk_stream_t *self, bool *on, uint8_t *buf, size_t *len);

/* brk_stream_prefix writes into out (at least ACTORS_WIRE_HDR_MIN + 1 +
 * plen bytes) the prefix a subscriber of pattern (plen bytes) subscribes
 * to, and returns its length. */
size_t brk_stream_prefix(uint8_t *out, const char *pattern, size_t plen);

/* brk_stream_ticket_prefix writes the header of ticket's welcome (its
 * welcome's prefix) into out (ACTORS_WIRE_HDR_MIN + BRK_STREAM_TICKET
 * bytes) and returns its length. */
size_t brk_stream_ticket_prefix(
    uint8_t *out, const uint8_t ticket[BRK_STREAM_TICKET]);

/* brk_stream_send takes hdr and body (references taken; both left to the
 * caller) for every peer subscribed to a prefix of hdr whose queue has
 * room. The event is held until brk_stream_flush, which the broker runs
 * when it ends a burst of received messages (ext.h, flush_cb), or until
 * BRK_STREAM_HELD events are held: sent back to back, they wake the
 * XPUB's I/O thread once instead of once each (docs/BENCHMARKS.md,
 * twelfth pass). Events leave in the order they were given; the
 * subscribers they reach are those of the moment they leave. An XPUB
 * does not refuse an event for a peer's sake, so there is nothing to
 * return. */
void brk_stream_send(brk_stream_t *self, zmq_msg_t *hdr, zmq_msg_t *body);

/* brk_stream_flush sends the events held, in order. A failure of the
 * XPUB (it is closing) is logged once and counted, and the events after
 * it are dropped (never a header without its body). */
void brk_stream_flush(brk_stream_t *self);

#endif
