/* libactors/src/actor_timer.c - the timer heap of an actor's loop.
 * SPDX-License-Identifier: MIT
 *
 * See actor_timer.h. The heap invariant: items[i] is not later than its
 * children items[2i+1] and items[2i+2], comparing (due, seq).
 */
#include "actor_timer.h"

#include <assert.h>
#include <limits.h>

#include <actors-internal/alloc.h>

static bool
s_before(const actors__timer_t *a, const actors__timer_t *b)
{
    return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static void
s_swap(actors__timers_t *self, size_t i, size_t j)
{
    actors__timer_t t = self->items[i];
    self->items[i] = self->items[j];
    self->items[j] = t;
}

static void
s_sift_up(actors__timers_t *self, size_t i)
{
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!s_before(&self->items[i], &self->items[parent])) {
            break;
        }
        s_swap(self, i, parent);
        i = parent;
    }
}

static void
s_sift_down(actors__timers_t *self, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1;
        size_t r = l + 1;
        size_t m = i;
        if (l < self->count && s_before(&self->items[l], &self->items[m])) {
            m = l;
        }
        if (r < self->count && s_before(&self->items[r], &self->items[m])) {
            m = r;
        }
        if (m == i) {
            break;
        }
        s_swap(self, i, m);
        i = m;
    }
}

/* s_remove_at takes item i out, keeping the heap valid. */
static void
s_remove_at(actors__timers_t *self, size_t i)
{
    assert(i < self->count);
    self->count--;
    if (i == self->count) {
        return;
    }
    self->items[i] = self->items[self->count];
    s_sift_down(self, i);
    s_sift_up(self, i);
}

void
actors__timers_fini(actors__timers_t *self)
{
    assert(self);
    actors__free(self->items);
    self->items = NULL;
    self->count = 0;
    self->cap = 0;
}

actors_err
actors__timers_add(actors__timers_t *self, uint64_t now, uint32_t interval_ms,
    bool repeat, actors_timer_fn fn, void *arg, int *id)
{
    assert(self);
    if (fn == NULL || (repeat && interval_ms == 0)) {
        return ACTORS_EINVAL;
    }
    if (self->count == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 8;
        actors__timer_t *items =
            actors__realloc(self->items, cap * sizeof *items);
        if (items == NULL) {
            return ACTORS_ENOMEM;
        }
        self->items = items;
        self->cap = cap;
    }
    /* Ids are never 0 or negative, and wrap long after any live timer. */
    self->next_id = self->next_id == INT_MAX ? 1 : self->next_id + 1;
    actors__timer_t *t = &self->items[self->count];
    t->due = now + interval_ms;
    t->seq = self->next_seq++;
    t->id = self->next_id;
    t->interval = interval_ms;
    t->repeat = repeat;
    t->fn = fn;
    t->arg = arg;
    self->count++;
    s_sift_up(self, self->count - 1);
    if (id != NULL) {
        *id = self->next_id;
    }
    return ACTORS_OK;
}

actors_err
actors__timers_cancel(actors__timers_t *self, int id)
{
    assert(self);
    for (size_t i = 0; i < self->count; i++) {
        if (self->items[i].id == id) {
            s_remove_at(self, i);
            return ACTORS_OK;
        }
    }
    return ACTORS_EINVAL;
}

uint64_t
actors__timers_next(const actors__timers_t *self)
{
    assert(self);
    return self->count > 0 ? self->items[0].due : UINT64_MAX;
}

uint64_t
actors__timers_seq(const actors__timers_t *self)
{
    assert(self);
    return self->next_seq;
}

size_t
actors__timers_count(const actors__timers_t *self)
{
    assert(self);
    return self->count;
}

bool
actors__timers_pop(actors__timers_t *self, uint64_t now, uint64_t before_seq,
    actors__timer_t *out)
{
    assert(self);
    assert(out);
    if (self->count == 0 || self->items[0].due > now ||
        self->items[0].seq >= before_seq) {
        return false;
    }
    *out = self->items[0];
    if (!out->repeat) {
        s_remove_at(self, 0);
        return true;
    }
    actors__timer_t *t = &self->items[0];
    t->due += t->interval;
    if (t->due <= now) {
        t->due = now + t->interval; /* missed periods are skipped */
    }
    t->seq = self->next_seq++;
    s_sift_down(self, 0);
    return true;
}
