/* broker/outbox.c - the broker's deferred sends (outbox.h).
 * SPDX-License-Identifier: MIT
 *
 * One array, in the order queued. A flush walks it once, sending each or
 * handing it back, and empties it. zmq_msg_t values are plain structs and
 * move by copy, as the slot slab's do.
 */
#include "outbox.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

#include <actors-internal/alloc.h>

#define OUT_MIN_CAP 256

void
brk_outbox_init(brk_outbox_t *self)
{
    assert(self);
    memset(self, 0, sizeof *self);
}

static void
s_close(brk_out_msg_t *m)
{
    for (int i = 0; i < m->n; i++) {
        zmq_msg_close(&m->f[i]);
    }
    m->n = 0;
}

void
brk_outbox_fini(brk_outbox_t *self)
{
    assert(self);
    for (uint32_t i = 0; i < self->n; i++) {
        s_close(&self->v[i]);
    }
    actors__free(self->v);
    memset(self, 0, sizeof *self);
}

actors_err
brk_outbox_push(
    brk_outbox_t *self, zmq_msg_t **f, int n, const brk_out_dispatch_t *d)
{
    assert(self);
    assert(f && n > 0 && n <= BRK_OUT_FRAMES);
    if (self->n == self->cap) {
        uint32_t cap = self->cap ? self->cap * 2 : OUT_MIN_CAP;
        brk_out_msg_t *v = actors__realloc(self->v, (size_t)cap * sizeof *v);
        if (v == NULL) {
            return ACTORS_ENOMEM;
        }
        self->v = v;
        self->cap = cap;
    }
    brk_out_msg_t *m = &self->v[self->n++];
    for (int i = 0; i < n; i++) {
        zmq_msg_init(&m->f[i]);
        zmq_msg_move(&m->f[i], f[i]);
    }
    m->n = (uint8_t)n;
    m->ordered = d != NULL;
    if (d != NULL) {
        m->d = *d;
    }
    return ACTORS_OK;
}

void
brk_outbox_flush(brk_outbox_t *self, void *router, const brk_outbox_ops_t *ops)
{
    assert(self && ops);
    /* A callback may queue more (an answer): index, never pointer, and
     * read n afresh. */
    for (uint32_t i = 0; i < self->n; i++) {
        brk_out_msg_t *m = &self->v[i];
        if (m->ordered && ops->ready != NULL && !ops->ready(ops->arg, m)) {
            s_close(&self->v[i]);
            continue;
        }
        m = &self->v[i];
        int sent = 0;
        for (; sent < m->n; sent++) {
            int flags = ZMQ_DONTWAIT | (sent + 1 < m->n ? ZMQ_SNDMORE : 0);
            if (zmq_msg_send(&m->f[sent], router, flags) < 0) {
                break;
            }
        }
        if (sent == m->n) {
            m->n = 0; /* every frame went (zmq_msg_send emptied them) */
            continue;
        }
        int err = errno;
        if (sent == 0 && ops->failed != NULL) {
            ops->failed(ops->arg, m, err);
        }
        s_close(&self->v[i]);
    }
    self->n = 0;
}
