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
 * Messages leave in the order they were queued, and nothing stays here
 * past a flush. A message that cannot go is handed to the caller's
 * `failed` before its frames are closed. A dispatch (a CALL or TELL to an
 * actor, queued with its brk_out_dispatch_t) is first put to the caller's
 * `ready`, which may take it back instead (its actor's queue was found
 * full earlier in the flush, or it is no longer in flight): the core puts
 * such a message back in its mailbox, where it waits, in order, under its
 * deadline, as if it had never been dispatched.
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

/* Which dispatch a message is: set by the core, never read here. */
typedef struct {
    uint32_t slot;  /* its slot; BRK_NONE for none */
    uint32_t gen;   /* the slot's generation then */
    uint32_t seq;   /* its dispatch sequence on the connection */
    uint32_t entry; /* the entry it was dispatched to */
    uint32_t conn;  /* the connection it was sent on */
} brk_out_dispatch_t;

typedef struct {
    zmq_msg_t f[BRK_OUT_FRAMES]; /* f[0]: the routing id */
    uint8_t n;                   /* frames */
    bool ordered;                /* a dispatch: d says which */
    brk_out_dispatch_t d;        /* when ordered */
} brk_out_msg_t;

typedef struct {
    brk_out_msg_t *v; /* cap messages; the first n queued */
    uint32_t cap;     /* allocated */
    uint32_t n;       /* queued */
} brk_outbox_t;

/* What a flush asks of its caller. Both run on the flushing thread and
 * may move frames out of m (they are closed after). */
typedef struct {
    /* ready: may dispatch m go now? false: the caller took it back (or
     * drops it); it is not sent. */
    bool (*ready)(void *arg, brk_out_msg_t *m);
    /* failed: m could not be sent; err is errno of its routing id's send
     * (EAGAIN: the peer's queue is full; EHOSTUNREACH: no such peer). */
    void (*failed)(void *arg, brk_out_msg_t *m, int err);
    void *arg;
} brk_outbox_ops_t;

/* brk_outbox_init makes an empty outbox; brk_outbox_fini closes what it
 * still holds (unsent) and frees it. */
void brk_outbox_init(brk_outbox_t *self);
void brk_outbox_fini(brk_outbox_t *self);

/* brk_outbox_push queues n (1..BRK_OUT_FRAMES) frames as one message,
 * f[0] the routing id, moving them (each f[i] is left empty); d is the
 * dispatch it is (copied), NULL for any other message. Returns ACTORS_OK
 * or ACTORS_ENOMEM (the frames are then left as they were). */
actors_err brk_outbox_push(
    brk_outbox_t *self, zmq_msg_t **f, int n, const brk_out_dispatch_t *d);

/* brk_outbox_pending is how many messages wait for the next flush. */
static inline uint32_t
brk_outbox_pending(const brk_outbox_t *self)
{
    return self->n;
}

/* brk_outbox_flush sends what is queued on router, without waiting, in
 * order, asking ops->ready of each dispatch first and telling
 * ops->failed of each message that could not go; the outbox is empty
 * after. Messages queued by the callbacks go in the same flush. */
void brk_outbox_flush(
    brk_outbox_t *self, void *router, const brk_outbox_ops_t *ops);

#endif
