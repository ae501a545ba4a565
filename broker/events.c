/* broker/events.c - a ring of the last lifecycle events from all nodes.
 * SPDX-License-Identifier: MIT
 *
 * Ids grow by one per event, so the events held are ids
 * next_id - count .. next_id - 1 in ring order: the first one above
 * since is found by arithmetic, not by a search.
 */
#include "events.h"

#include <assert.h>
#include <string.h>

#include <actors-internal/alloc.h>

actors_err
brk_events_init(brk_events_t *self, uint32_t cap)
{
    assert(self);
    memset(self, 0, sizeof *self);
    self->next_id = 1;
    if (cap == 0) {
        cap = 1;
    }
    self->v = actors__zalloc((size_t)cap * sizeof *self->v);
    if (self->v == NULL) {
        return ACTORS_ENOMEM;
    }
    self->cap = cap;
    return ACTORS_OK;
}

void
brk_events_fini(brk_events_t *self)
{
    assert(self);
    actors__free(self->v);
    self->v = NULL;
    self->cap = 0;
    self->count = 0;
}

uint64_t
brk_events_push(brk_events_t *self, const brk_event_t *ev)
{
    assert(self);
    assert(ev);
    assert(self->cap > 0);
    uint32_t pos;
    if (self->count < self->cap) {
        pos = (self->head + self->count) % self->cap;
        self->count++;
    } else {
        pos = self->head;
        self->head = (self->head + 1) % self->cap;
    }
    self->v[pos] = *ev;
    self->v[pos].id = self->next_id++;
    return self->v[pos].id;
}

uint32_t
brk_events_first(const brk_events_t *self, uint64_t since)
{
    assert(self);
    uint64_t oldest = self->next_id - self->count;
    if (since < oldest) {
        return 0;
    }
    uint64_t k = since - oldest + 1;
    return k >= self->count ? self->count : (uint32_t)k;
}

const brk_event_t *
brk_events_get(const brk_events_t *self, uint32_t k)
{
    assert(self);
    assert(k < self->count);
    return &self->v[(self->head + k) % self->cap];
}
