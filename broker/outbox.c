/* broker/outbox.c - the broker's deferred sends (outbox.h).
 * SPDX-License-Identifier: MIT
 *
 * One array: held messages first (kept back by the last flush, in
 * order), then those queued since. A flush walks it once, sending or
 * dropping each, and slides what it holds back to the front. zmq_msg_t
 * values are plain structs and move by copy, as the slot slab's do.
 */
#include "outbox.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

#include <actors-internal/alloc.h>

#define OUT_MIN_CAP 256
#define OUT_BLOCKED_MAX 32 /* routing ids held in one flush, tracked */

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
brk_outbox_push(brk_outbox_t *self, zmq_msg_t **f, int n, bool ordered)
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
    m->ordered = ordered;
    return ACTORS_OK;
}

/* s_same_rid: the routing id frames a and b are equal. */
static bool
s_same_rid(zmq_msg_t *a, const void *rid, size_t len)
{
    return zmq_msg_size(a) == len && memcmp(zmq_msg_data(a), rid, len) == 0;
}

/* The routing ids whose ordered messages a flush holds back: after one
 * is held, every later ordered message to the same peer is too, or it
 * could overtake it when the peer's queue drains during the flush. Past
 * OUT_BLOCKED_MAX distinct peers, every later ordered message is held
 * (still in order). */
typedef struct {
    zmq_msg_t *rid[OUT_BLOCKED_MAX];
    int n;
    bool all;
} s_blocked_t;

static bool
s_is_blocked(const s_blocked_t *b, zmq_msg_t *rid)
{
    if (b->all) {
        return true;
    }
    for (int i = 0; i < b->n; i++) {
        if (s_same_rid(rid, zmq_msg_data(b->rid[i]), zmq_msg_size(b->rid[i]))) {
            return true;
        }
    }
    return false;
}

uint32_t
brk_outbox_flush(
    brk_outbox_t *self, void *router, brk_outbox_failed_fn *failed, void *arg)
{
    assert(self);
    s_blocked_t blocked = {.n = 0, .all = false};
    uint32_t w = 0; /* held back, slid to the front */
    for (uint32_t i = 0; i < self->n; i++) {
        brk_out_msg_t *m = &self->v[i];
        if (m->ordered && (blocked.all || blocked.n > 0) &&
            s_is_blocked(&blocked, &m->f[0])) {
            if (w != i) {
                self->v[w] = *m;
            }
            /* the rid pointers in blocked stay valid: a held message
             * only moves to a lower index, over one already processed */
            w++;
            continue;
        }
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
        if (sent == 0 && err == EAGAIN && m->ordered) {
            if (w != i) {
                self->v[w] = *m;
            }
            if (blocked.n < OUT_BLOCKED_MAX) {
                blocked.rid[blocked.n++] = &self->v[w].f[0];
            } else {
                blocked.all = true;
            }
            w++;
            continue;
        }
        if (sent == 0 && failed != NULL) {
            failed(arg, m, err);
        }
        s_close(m);
    }
    self->n = w;
    self->held = w;
    return w;
}

void
brk_outbox_forget(brk_outbox_t *self, const void *rid, size_t len)
{
    assert(self);
    uint32_t w = 0;
    for (uint32_t i = 0; i < self->n; i++) {
        brk_out_msg_t *m = &self->v[i];
        if (i < self->held && s_same_rid(&m->f[0], rid, len)) {
            s_close(m);
            continue;
        }
        if (w != i) {
            self->v[w] = *m;
        }
        w++;
    }
    self->held -= self->n - w; /* only held ones were closed */
    self->n = w;
}
