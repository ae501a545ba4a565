/* broker/slots.c - the slab of call slots, addressed by tag.
 * SPDX-License-Identifier: MIT */
#include "slots.h"

#include <assert.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <actors-internal/alloc.h>
#include <actors-internal/wire.h>

#define BRK_INLINE_MAX 33    /* libzmq keeps a frame this small inline */
#define BRK_RECV_BUFFER 8192 /* libzmq's receive buffer (in_batch_size) */

actors_err
brk_slots_init(brk_slots_t *self, uint32_t initial)
{
    assert(self);
    memset(self, 0, sizeof *self);
    self->free_head = BRK_NONE;
    uint32_t seed[2] = {0, 0};
    if (getrandom(seed, sizeof seed, GRND_NONBLOCK) != (ssize_t)sizeof seed) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        seed[0] = (uint32_t)ts.tv_nsec ^ (uint32_t)(uintptr_t)self;
        seed[1] = (uint32_t)ts.tv_sec * 2654435761u;
    }
    self->mask = seed[0];
    self->rng = seed[1] | 1u; /* xorshift state must not be 0 */
    if (initial == 0) {
        initial = 1;
    }
    self->v = actors__malloc((size_t)initial * sizeof(brk_slot_t));
    if (self->v == NULL) {
        return ACTORS_ENOMEM;
    }
    self->cap = initial;
    return ACTORS_OK;
}

void
brk_slots_fini(brk_slots_t *self)
{
    assert(self);
    for (uint32_t i = 0; i < self->used; i++) {
        if (self->v[i].state != BRK_SLOT_FREE) {
            brk_slots_free(self, i);
        }
    }
    actors__free(self->v);
    memset(self, 0, sizeof *self);
    self->free_head = BRK_NONE;
}

/* s_rand is a xorshift32 step: the first generation of each slot, so that
 * tags are not guessable from the order of requests (a peer must not be
 * able to answer for another peer's call or relayed request). */
static uint32_t
s_rand(brk_slots_t *self)
{
    uint32_t x = self->rng;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    self->rng = x;
    return x;
}

/* s_grow doubles the slab. zmq_msg_t values may be moved by realloc: they
 * are plain structs (libzmq's own zmq_msg_move copies them the same way). */
static actors_err
s_grow(brk_slots_t *self)
{
    if (self->cap >= BRK_NONE / 2) {
        return ACTORS_ENOMEM;
    }
    uint32_t cap = self->cap ? self->cap * 2 : 64;
    brk_slot_t *v = actors__realloc(self->v, (size_t)cap * sizeof *v);
    if (v == NULL) {
        return ACTORS_ENOMEM;
    }
    self->v = v;
    self->cap = cap;
    return ACTORS_OK;
}

actors_err
brk_slots_alloc(brk_slots_t *self, uint32_t *idx)
{
    assert(self);
    assert(idx);
    uint32_t i;
    if (self->free_head != BRK_NONE) {
        i = self->free_head;
        self->free_head = self->v[i].next;
    } else {
        if (self->used == self->cap && s_grow(self) != ACTORS_OK) {
            return ACTORS_ENOMEM;
        }
        i = self->used++;
        self->v[i].gen = s_rand(self);
    }
    brk_slot_t *s = &self->v[i];
    zmq_msg_init(&s->rid);
    zmq_msg_init(&s->hdr);
    zmq_msg_init(&s->args);
    zmq_msg_init(&s->key);
    s->deadline = 0;
    s->next = BRK_NONE;
    s->prev = BRK_NONE;
    s->entry = BRK_NONE;
    s->heap = BRK_NONE;
    s->relayed = BRK_NONE;
    s->seq = 0;
    s->state = BRK_SLOT_HELD;
    s->cmd = 0;
    s->delim = 0;
    s->answered = 0;
    s->kept = 0;
    s->attempts = 0;
    self->live++;
    *idx = i;
    return ACTORS_OK;
}

void
brk_slots_free(brk_slots_t *self, uint32_t idx)
{
    assert(self);
    assert(idx < self->used);
    brk_slot_t *s = &self->v[idx];
    assert(s->state != BRK_SLOT_FREE);
    zmq_msg_close(&s->rid);
    zmq_msg_close(&s->hdr);
    zmq_msg_close(&s->args);
    zmq_msg_close(&s->key);
    s->state = BRK_SLOT_FREE;
    s->gen++;
    s->next = self->free_head;
    self->free_head = idx;
    self->live--;
}

/* s_own replaces m by a private copy when it may share a receive buffer
 * (brk_slots_park). */
static void
s_own(zmq_msg_t *m)
{
    size_t n = zmq_msg_size(m);
    if (n <= BRK_INLINE_MAX || n > BRK_RECV_BUFFER) {
        return;
    }
    zmq_msg_t c;
    if (zmq_msg_init_size(&c, n) != 0) {
        return;
    }
    memcpy(zmq_msg_data(&c), zmq_msg_data(m), n);
    zmq_msg_move(m, &c); /* releases m's reference to the buffer */
    zmq_msg_close(&c);
}

void
brk_slots_park(brk_slots_t *self, uint32_t idx)
{
    assert(self);
    assert(idx < self->used);
    brk_slot_t *s = &self->v[idx];
    s->state = BRK_SLOT_QUEUED;
    s_own(&s->rid);
    s_own(&s->hdr);
    s_own(&s->args);
    s_own(&s->key);
}

void
brk_slots_tag(const brk_slots_t *self, uint32_t idx, uint8_t tag[BRK_TAG_LEN])
{
    assert(self);
    assert(idx < self->used);
    actors__put_be32(tag, idx ^ self->mask);
    actors__put_be32(tag + 4, self->v[idx].gen);
}

size_t
brk_slots_call_tag(
    const brk_slots_t *self, uint32_t idx, uint8_t tag[BRK_TAG_LEN])
{
    assert(self);
    assert(idx < self->used);
    if (idx > UINT16_MAX) {
        brk_slots_tag(self, idx, tag);
        return BRK_TAG_LEN;
    }
    uint32_t masked = (idx ^ self->mask) & UINT16_MAX;
    uint32_t gen = self->v[idx].gen & UINT16_MAX;
    actors__put_be32(tag, masked << 16 | gen);
    return BRK_TAG_SHORT;
}

/* s_find_short is brk_slots_find for a 4-byte tag. */
static uint32_t
s_find_short(const brk_slots_t *self, const uint8_t *tag)
{
    uint32_t v = actors__be32(tag);
    uint32_t idx = ((v >> 16) ^ self->mask) & UINT16_MAX;
    if (idx >= self->used) {
        return BRK_NONE;
    }
    const brk_slot_t *s = &self->v[idx];
    if (s->state != BRK_SLOT_INFLIGHT || s->cmd != ACTORS_CMD_CALL ||
        (s->gen & UINT16_MAX) != (v & UINT16_MAX)) {
        return BRK_NONE;
    }
    return idx;
}

uint32_t
brk_slots_find(const brk_slots_t *self, const void *tag, size_t len)
{
    assert(self);
    if (tag != NULL && len == BRK_TAG_SHORT) {
        return s_find_short(self, tag);
    }
    if (tag == NULL || len != BRK_TAG_LEN) {
        return BRK_NONE;
    }
    uint32_t idx = actors__be32(tag) ^ self->mask;
    if (idx >= self->used) {
        return BRK_NONE;
    }
    const brk_slot_t *s = &self->v[idx];
    if (s->state == BRK_SLOT_FREE ||
        s->gen != actors__be32((const uint8_t *)tag + 4)) {
        return BRK_NONE;
    }
    return idx;
}
