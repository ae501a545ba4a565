/* broker/owners.c - the clients that own actors (owners.h).
 * SPDX-License-Identifier: MIT */
#include "owners.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"

void
brk_owners_fini(brk_owners_t *self)
{
    assert(self);
    actors__free(self->v);
    memset(self, 0, sizeof *self);
}

actors_err
brk_owners_note(brk_owners_t *self, int fd, const void *rid, size_t rid_len)
{
    assert(self && rid);
    if (fd < 0 || rid_len == 0 || rid_len > sizeof self->v[0].rid) {
        return ACTORS_OK; /* no way to tell it apart: connection rule only */
    }
    for (uint32_t i = 0; i < self->n; i++) {
        if (self->v[i].fd == fd) {
            return ACTORS_OK;
        }
    }
    if (self->n == self->cap) {
        uint32_t cap = self->cap ? 2 * self->cap : 8;
        brk_owner_t *v = actors__realloc(self->v, cap * sizeof *v);
        if (v == NULL) {
            return ACTORS_ENOMEM;
        }
        self->v = v;
        self->cap = cap;
    }
    brk_owner_t *o = &self->v[self->n++];
    memset(o, 0, sizeof *o);
    o->fd = fd;
    memcpy(o->rid, rid, rid_len);
    o->rid_len = (uint8_t)rid_len;
    return ACTORS_OK;
}

/* s_drop removes row i (order does not matter). */
static void
s_drop(brk_owners_t *self, uint32_t i)
{
    self->v[i] = self->v[--self->n];
}

void
brk_owners_forget(brk_owners_t *self, int fd)
{
    assert(self);
    for (uint32_t i = 0; i < self->n; i++) {
        if (self->v[i].fd == fd) {
            s_drop(self, i);
            return;
        }
    }
}
