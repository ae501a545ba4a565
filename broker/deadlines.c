/* broker/deadlines.c - a binary min-heap of call deadlines.
 * SPDX-License-Identifier: MIT */
#include "deadlines.h"

#include <assert.h>
#include <string.h>

#include <actors-internal/alloc.h>
#include "slots.h"

void
brk_deadlines_init(brk_deadlines_t *self, brk_deadline_pos_fn pos, void *arg)
{
    assert(self);
    assert(pos);
    memset(self, 0, sizeof *self);
    self->pos = pos;
    self->arg = arg;
}

void
brk_deadlines_fini(brk_deadlines_t *self)
{
    assert(self);
    actors__free(self->v);
    self->v = NULL;
    self->n = 0;
    self->cap = 0;
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

actors_err
brk_deadlines_push(brk_deadlines_t *self, int64_t when, uint32_t id)
{
    assert(self);
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

void
brk_deadlines_remove(brk_deadlines_t *self, uint32_t pos)
{
    assert(self);
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

bool
brk_deadlines_peek(const brk_deadlines_t *self, int64_t *when, uint32_t *id)
{
    assert(self);
    if (self->n == 0) {
        return false;
    }
    if (when) {
        *when = self->v[0].when;
    }
    if (id) {
        *id = self->v[0].id;
    }
    return true;
}
