/* broker/conn.c - the table of connections (conn.h).
 * SPDX-License-Identifier: MIT */
#include "conn.h"

#include <assert.h>
#include <string.h>

#include <actors-internal/alloc.h>
#include "slots.h"

static const void *
s_key(void *ctx, uint32_t idx, size_t *len)
{
    const brk_conns_t *self = ctx;
    *len = self->v[idx].rid_len;
    return self->v[idx].rid;
}

void
brk_conns_init(brk_conns_t *self)
{
    assert(self);
    memset(self, 0, sizeof *self);
    self->free_head = BRK_NONE;
    brk_idmap_init(&self->map, s_key, self);
}

void
brk_conns_fini(brk_conns_t *self)
{
    assert(self);
    actors__free(self->v);
    brk_idmap_fini(&self->map);
    memset(self, 0, sizeof *self);
    self->free_head = BRK_NONE;
}

uint32_t
brk_conns_find(const brk_conns_t *self, const void *rid, size_t len)
{
    assert(self);
    uint32_t i = brk_idmap_find(&self->map, rid, len);
    return i == BRK_IDMAP_NONE ? BRK_NONE : i;
}

uint32_t
brk_conns_find_fd(const brk_conns_t *self, int fd)
{
    assert(self);
    if (fd < 0) {
        return BRK_NONE;
    }
    for (uint32_t i = 0; i < self->used; i++) {
        if (self->v[i].rid_len != 0 && self->v[i].fd == fd) {
            return i;
        }
    }
    return BRK_NONE;
}

actors_err
brk_conns_add(
    brk_conns_t *self, const void *rid, size_t len, int fd, uint32_t *idx)
{
    assert(self);
    assert(idx);
    if (rid == NULL || len == 0 || len > BRK_RID_MAX) {
        return ACTORS_EINVAL;
    }
    uint32_t i;
    if (self->free_head != BRK_NONE) {
        i = self->free_head;
    } else {
        if (self->used == self->cap) {
            uint32_t cap = self->cap ? self->cap * 2 : 16;
            brk_conn_t *v = actors__realloc(self->v, (size_t)cap * sizeof *v);
            if (v == NULL) {
                return ACTORS_ENOMEM;
            }
            self->v = v;
            self->cap = cap;
        }
        i = self->used;
    }
    brk_conn_t *c = &self->v[i];
    uint32_t next_free = i == self->free_head ? c->free_next : BRK_NONE;
    memset(c, 0, sizeof *c);
    memcpy(c->rid, rid, len);
    c->rid_len = (uint8_t)len;
    c->fd = fd;
    c->first_entry = BRK_NONE;
    c->ext = BRK_NONE;
    c->free_next = BRK_NONE;
    if (brk_idmap_put(&self->map, rid, len, i) != ACTORS_OK) {
        c->rid_len = 0;
        if (i == self->free_head) {
            c->free_next = next_free;
        }
        return ACTORS_ENOMEM;
    }
    if (i == self->free_head) {
        self->free_head = next_free;
    } else {
        self->used++;
    }
    self->count++;
    *idx = i;
    return ACTORS_OK;
}

void
brk_conns_remove(brk_conns_t *self, uint32_t idx)
{
    assert(self);
    assert(idx < self->used);
    brk_conn_t *c = &self->v[idx];
    assert(c->rid_len != 0);
    brk_idmap_del(&self->map, c->rid, c->rid_len);
    c->rid_len = 0;
    c->roles = 0;
    c->free_next = self->free_head;
    self->free_head = idx;
    self->count--;
}
