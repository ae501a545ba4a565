/* libactors/src/client_conn.h - a client's reconnection pace.
 * SPDX-License-Identifier: MIT
 *
 * libzmq reconnects a dropped connection every ZMQ_RECONNECT_IVL (100 ms)
 * forever, and lengthens the interval (ZMQ_RECONNECT_IVL_MAX) only when
 * a connect fails. A broker out of descriptors accepts a connection and
 * shuts it at once (PROTOCOL.md, "Descriptors"): its refused clients
 * would knock ten times a second each. So a connection that drops before
 * anything came over it is taken as refused (so is one whose handshake
 * the broker refused, which libzmq itself would not try again; the
 * CLI-REFUSED line names the cause seen): the socket's connection to
 * the broker is dropped (zmq_disconnect) and made again later, after
 * 100 ms doubling at each refusal up to ACTORS__KNOCK_MAX_MS, with up to
 * half as much again of jitter; a message received resets the pace.
 * While it waits, what the owner sends is parked on an inproc pipe to a
 * socket of the client's own, and sent, in order, on the new connection.
 * What libzmq had queued on the refused connection when it was dropped
 * is lost (as what it wrote to it was already): the socket's linger is 0
 * for that disconnect, else the session would go on knocking to deliver
 * it.
 *
 * All of it runs on the client's owner thread (the client has no thread):
 * the client calls actors__conn_dropped on a DISCONNECTED event and
 * actors__conn_due whenever it pumps. Private; never installed.
 */
#ifndef ACTORS_CLIENT_CONN_H
#define ACTORS_CLIENT_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include <actors/error.h>

#define ACTORS__KNOCK_MIN_MS 100  /* the first wait after a refusal */
#define ACTORS__KNOCK_MAX_MS 5000 /* the longest (before jitter) */

typedef struct {
    void *ctx;          /* the client's context (borrowed) */
    void *sock;         /* the client's DEALER (borrowed) */
    char *endpoint;     /* the broker's (owned) */
    void *park;         /* DEALER bound to park_ep; NULL until needed */
    char park_ep[64];   /* inproc endpoint of park */
    uint32_t knock_ms;  /* the current pace; 0: not refused */
    int64_t due;        /* when to connect again, ms; 0: connected */
    uint64_t rx_mark;   /* messages received at the last drop */
    uint32_t rng;       /* jitter state */
    uint64_t n_refused; /* refusals seen */
} actors__conn_t;

/* actors__conn_init starts c for sock, connected to endpoint (copied).
 * Returns ACTORS_OK or ACTORS_ENOMEM. Owner. */
actors_err actors__conn_init(
    actors__conn_t *c, void *ctx, void *sock, const char *endpoint);

/* actors__conn_fini closes the parking socket and frees c's memory (before
 * the context is terminated). Owner. */
void actors__conn_fini(actors__conn_t *c);

/* Why a connection dropped, as the client's monitor saw it: the CLI-REFUSED
 * line names it (cause=handshake / cause=dropped). */
typedef enum {
    ACTORS__CONN_DROPPED,  /* refused or dropped before any reply */
    ACTORS__CONN_HANDSHAKE /* the broker refused the handshake first
                              (ZAP, or a CURVE mechanism mismatch) */
} actors__conn_cause_t;

/* actors__conn_dropped: the connection dropped, with received messages
 * read by the client so far (now, ms), for cause. Nothing came since the
 * last drop: refused, so the socket waits at the next pace before it
 * connects again. Owner. */
void actors__conn_dropped(actors__conn_t *c, uint64_t received, int64_t now,
    actors__conn_cause_t cause);

/* actors__conn_broker_curve tells whether the broker at c's endpoint
 * speaks CURVE, from the greeting it sends on a fresh connection (ZMTP
 * 3.x: the mechanism name at offset 12), read over a ZMQ_STREAM socket
 * within timeout_ms; false if it cannot tell. A plain client whose
 * handshakes are dropped asks it: when the broker sees the mechanism
 * mismatch first it closes, and libzmq tells the client no more than a
 * broker out of descriptors would (NO_DETAIL); which side sees it first
 * is a race that some machines lose every time. Blocks. Owner. */
bool actors__conn_broker_curve(const actors__conn_t *c, int timeout_ms);

/* actors__conn_waiting: refused, waiting to connect again. Owner. */
static inline bool
actors__conn_waiting(const actors__conn_t *c)
{
    return c->due != 0;
}

/* actors__conn_due connects again, and sends what was parked, once the
 * wait is over (now, ms); nothing otherwise. Owner. */
void actors__conn_due(actors__conn_t *c, int64_t now);

/* actors__conn_wait_ms is how long until the next connect (-1: none
 * pending; 0: due). Owner. */
int actors__conn_wait_ms(const actors__conn_t *c, int64_t now);

#endif
