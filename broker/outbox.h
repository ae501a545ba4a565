/* broker/outbox.h - the broker's deferred sends.
 * SPDX-License-Identifier: MIT
 *
 * The broker's messages to its peers are queued here while it handles a
 * burst of received ones and sent back to back when the burst ends (the
 * core flushes before it waits, before its timers and deaths, and every
 * BRK_OUT_BATCH messages). Sent as they were made, one at a time between
 * receives, they reach libzmq's I/O thread one by one and wake it for
 * each; sent together, they wake it once (docs/BENCHMARKS.md, "deferred
 * sends").
 *
 * Order is kept: messages leave in the order they were queued. A message
 * whose peer's queue is full (max_queued) is dropped and reported, unless
 * it was queued "ordered" (a CALL or TELL dispatched to an actor: it has
 * been counted in flight and must arrive, in order): then it and every
 * later ordered message to the same routing id stay here, in order, and
 * go first at the next flush. Those are bounded by the actors' credit.
 *
 * Not thread-safe: the broker's loop thread only.
 */
#ifndef BRK_OUTBOX_H
#define BRK_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <zmq.h>

#include <actors/error.h>

#define BRK_OUT_FRAMES 6 /* frames of one message, routing id included */

typedef struct {
    zmq_msg_t f[BRK_OUT_FRAMES]; /* f[0]: the routing id */
    uint8_t n;                   /* frames */
    bool ordered;                /* held, not dropped, on a full queue */
} brk_out_msg_t;

typedef struct {
    brk_out_msg_t *v; /* cap messages; the first n queued */
    uint32_t cap;     /* allocated */
    uint32_t n;       /* queued, held ones first */
    uint32_t held;    /* of those, held back by the last flush */
} brk_outbox_t;

/* brk_outbox_failed_fn hears of a message that could not be sent: err is
 * errno of its routing id's send (EAGAIN: the peer's queue is full;
 * EHOSTUNREACH: no such peer). The frames are closed after it returns. */
typedef void(brk_outbox_failed_fn)(void *arg, brk_out_msg_t *m, int err);

/* brk_outbox_init makes an empty outbox; brk_outbox_fini closes what it
 * still holds (unsent) and frees it. */
void brk_outbox_init(brk_outbox_t *self);
void brk_outbox_fini(brk_outbox_t *self);

/* brk_outbox_push queues n (1..BRK_OUT_FRAMES) frames as one message,
 * f[0] the routing id, moving them (each f[i] is left empty). Returns
 * ACTORS_OK or ACTORS_ENOMEM (the frames are then left as they were). */
actors_err brk_outbox_push(
    brk_outbox_t *self, zmq_msg_t **f, int n, bool ordered);

/* brk_outbox_pending is how many messages were queued since the last
 * flush (held ones not counted). */
static inline uint32_t
brk_outbox_pending(const brk_outbox_t *self)
{
    return self->n - self->held;
}

/* brk_outbox_flush sends what is queued on router, without waiting, in
 * order; failed is told of each message that could not go. Returns how
 * many ordered messages are held back for the next flush (0: none). */
uint32_t brk_outbox_flush(
    brk_outbox_t *self, void *router, brk_outbox_failed_fn *failed, void *arg);

/* brk_outbox_forget closes the held messages to routing id rid (its
 * connection is gone: what was meant for it must not reach a later peer
 * with the same id). */
void brk_outbox_forget(brk_outbox_t *self, const void *rid, size_t len);

#endif
