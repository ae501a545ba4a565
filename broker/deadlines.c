/* broker/deadlines.c - the call deadlines: FIFO lanes and a min-heap
 * (deadlines.h).
 * SPDX-License-Identifier: MIT */
#include "deadlines.h"

#include <assert.h>
#include <stdint.h>
#include <string.h>

#include <actors-internal/alloc.h>
#include "slots.h"

void
brk_deadlines_init(brk_deadlines_t *self, brk_deadline_pos_fn pos, void *arg)
{
    assert(self);
    assert(pos);
    memset(self, 0, sizeof *self);
    for (int i = 0; i < BRK_DL_LANES; i++) {
        self->lane[i].head = BRK_DL_NIL;
        self->lane[i].tail = BRK_DL_NIL;
    }
    self->pos = pos;
    self->arg = arg;
}

void
brk_deadlines_fini(brk_deadlines_t *self)
{
    assert(self);
    actors__free(self->v);
    actors__free(self->link);
    brk_deadlines_init(self, self->pos, self->arg);
}

static void
s_set(brk_deadlines_t *self, uint32_t pos, brk_deadline_t item)
{
    self->v[pos] = item;
    self->pos(self->arg, item.id, pos);
}

/* s_up moves the item at pos towards the root while it is earlier than
 * its parent; s_down moves it towards the leaves. */
static void
s_up(brk_deadlines_t *self, uint32_t pos)
{
    brk_deadline_t item = self->v[pos];
    while (pos > 0) {
        uint32_t parent = (pos - 1) / 2;
        if (self->v[parent].when <= item.when) {
            break;
        }
        s_set(self, pos, self->v[parent]);
        pos = parent;
    }
    s_set(self, pos, item);
}

static void
s_down(brk_deadlines_t *self, uint32_t pos)
{
    brk_deadline_t item = self->v[pos];
    for (;;) {
        uint32_t child = 2 * pos + 1;
        if (child >= self->n) {
            break;
        }
        if (child + 1 < self->n &&
            self->v[child + 1].when < self->v[child].when) {
            child++;
        }
        if (item.when <= self->v[child].when) {
            break;
        }
        s_set(self, pos, self->v[child]);
        pos = child;
    }
    s_set(self, pos, item);
}

/* s_fits: lane l can take an item of key due at when. */
static inline bool
s_fits(const brk_deadlines_t *self, uint32_t l, int64_t when, uint32_t key)
{
    const brk_dl_lane_t *lane = &self->lane[l];
    return lane->tail == BRK_DL_NIL ||
           (lane->key == key && self->link[lane->tail].when <= when);
}

/* s_lane_for is the lane an item of key due at when goes to: the last
 * one used if it fits, else the key's own, else an empty one; -1 if
 * none (the heap takes it). */
static int
s_lane_for(const brk_deadlines_t *self, int64_t when, uint32_t key)
{
    if (self->lane[self->hint].tail != BRK_DL_NIL &&
        s_fits(self, self->hint, when, key)) {
        return (int)self->hint;
    }
    int empty = -1;
    for (uint32_t i = 0; i < BRK_DL_LANES; i++) {
        if (self->lane[i].tail == BRK_DL_NIL) {
            empty = empty < 0 ? (int)i : empty;
        } else if (self->lane[i].key == key) {
            /* The key's lane: it takes the item only in order. */
            return s_fits(self, i, when, key) ? (int)i : -1;
        }
    }
    return empty;
}

/* s_links makes sure id has a link; false if out of memory. */
static bool
s_links(brk_deadlines_t *self, uint32_t id)
{
    if (id < self->nlink) {
        return true;
    }
    uint32_t n = self->nlink ? self->nlink : 64;
    while (n <= id) {
        n *= 2;
    }
    brk_dl_link_t *v = actors__realloc(self->link, (size_t)n * sizeof *v);
    if (v == NULL) {
        return false;
    }
    self->link = v;
    self->nlink = n;
    return true;
}

static actors_err
s_heap_push(brk_deadlines_t *self, int64_t when, uint32_t id)
{
    if (self->n == self->cap) {
        uint32_t cap = self->cap ? self->cap * 2 : 64;
        brk_deadline_t *v = actors__realloc(self->v, (size_t)cap * sizeof *v);
        if (v == NULL) {
            return ACTORS_ENOMEM;
        }
        self->v = v;
        self->cap = cap;
    }
    self->v[self->n] = (brk_deadline_t){when, id};
    self->n++;
    s_up(self, self->n - 1);
    return ACTORS_OK;
}

actors_err
brk_deadlines_push(
    brk_deadlines_t *self, int64_t when, uint32_t key, uint32_t id)
{
    assert(self);
    assert(id < BRK_DL_LANE_BIT);
    int l = s_links(self, id) ? s_lane_for(self, when, key) : -1;
    if (l < 0) {
        return s_heap_push(self, when, id);
    }
    brk_dl_lane_t *lane = &self->lane[l];
    lane->key = key;
    self->hint = (uint32_t)l;
    self->link[id] = (brk_dl_link_t){when, lane->tail, BRK_DL_NIL, (uint8_t)l};
    if (lane->tail == BRK_DL_NIL) {
        lane->head = id;
    } else {
        self->link[lane->tail].next = id;
    }
    lane->tail = id;
    self->in_lanes++;
    self->pos(self->arg, id, BRK_DL_LANE_BIT | id);
    return ACTORS_OK;
}

/* s_unlink takes id out of its lane. */
static void
s_unlink(brk_deadlines_t *self, uint32_t id)
{
    brk_dl_link_t *k = &self->link[id];
    brk_dl_lane_t *lane = &self->lane[k->lane];
    if (k->prev == BRK_DL_NIL) {
        lane->head = k->next;
    } else {
        self->link[k->prev].next = k->next;
    }
    if (k->next == BRK_DL_NIL) {
        lane->tail = k->prev;
    } else {
        self->link[k->next].prev = k->prev;
    }
    self->in_lanes--;
}

void
brk_deadlines_remove(brk_deadlines_t *self, uint32_t pos)
{
    assert(self);
    if (pos & BRK_DL_LANE_BIT) {
        uint32_t id = pos & ~BRK_DL_LANE_BIT;
        assert(id < self->nlink);
        s_unlink(self, id);
        self->pos(self->arg, id, BRK_NONE);
        return;
    }
    assert(pos < self->n);
    uint32_t id = self->v[pos].id;
    self->n--;
    if (pos < self->n) {
        self->v[pos] = self->v[self->n];
        if (pos > 0 && self->v[pos].when < self->v[(pos - 1) / 2].when) {
            s_up(self, pos);
        } else {
            s_down(self, pos);
        }
    }
    self->pos(self->arg, id, BRK_NONE);
}

/* s_earliest is the position of the earliest item, BRK_NONE if none. */
static uint32_t
s_earliest(const brk_deadlines_t *self, int64_t *when)
{
    uint32_t pos = BRK_NONE;
    int64_t best = INT64_MAX;
    if (self->n > 0) {
        pos = 0;
        best = self->v[0].when;
    }
    for (int i = 0; i < BRK_DL_LANES && self->in_lanes > 0; i++) {
        uint32_t h = self->lane[i].head;
        if (h != BRK_DL_NIL && (pos == BRK_NONE || self->link[h].when < best)) {
            pos = BRK_DL_LANE_BIT | h;
            best = self->link[h].when;
        }
    }
    *when = best;
    return pos;
}

bool
brk_deadlines_peek(const brk_deadlines_t *self, int64_t *when, uint32_t *id)
{
    assert(self);
    int64_t w;
    uint32_t pos = s_earliest(self, &w);
    if (pos == BRK_NONE) {
        return false;
    }
    if (when) {
        *when = w;
    }
    if (id) {
        *id = pos & BRK_DL_LANE_BIT ? pos & ~BRK_DL_LANE_BIT : self->v[0].id;
    }
    return true;
}

bool
brk_deadlines_pop(brk_deadlines_t *self)
{
    assert(self);
    int64_t w;
    uint32_t pos = s_earliest(self, &w);
    if (pos == BRK_NONE) {
        return false;
    }
    brk_deadlines_remove(self, pos);
    return true;
}
