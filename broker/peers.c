/* broker/peers.c - the actor peers: routing id -> connection facts.
 * SPDX-License-Identifier: MIT */
#include "peers.h"

#include <assert.h>
#include <string.h>

#include "alloc.h"
#include "hash.h"
#include "slots.h"

actors_err
brk_peers_init(brk_peers_t *self)
{
    assert(self);
    memset(self, 0, sizeof *self);
    self->free_head = BRK_NONE;
    self->nbuckets = 64;
    self->buckets = actors__malloc(self->nbuckets * sizeof(uint32_t));
    if (self->buckets == NULL) {
        self->nbuckets = 0;
        return ACTORS_ENOMEM;
    }
    memset(self->buckets, 0xff, self->nbuckets * sizeof(uint32_t));
    return ACTORS_OK;
}

void
brk_peers_fini(brk_peers_t *self)
{
    assert(self);
    actors__free(self->v);
    actors__free(self->buckets);
    memset(self, 0, sizeof *self);
}

uint32_t
brk_peers_find(const brk_peers_t *self, const void *rid, size_t len)
{
    assert(self);
    if (self->nbuckets == 0 || len == 0 || len > BRK_RID_MAX) {
        return BRK_NONE;
    }
    uint32_t i = self->buckets[brk_hash(rid, len) & (self->nbuckets - 1)];
    while (i != BRK_NONE) {
        const brk_peer_t *p = &self->v[i];
        if (p->rid_len == len && memcmp(p->rid, rid, len) == 0) {
            return i;
        }
        i = p->hnext;
    }
    return BRK_NONE;
}

uint32_t
brk_peers_find_fd(const brk_peers_t *self, int fd)
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

static void
s_rehash(brk_peers_t *self)
{
    uint32_t n = self->nbuckets * 2;
    uint32_t *b = actors__malloc(n * sizeof(uint32_t));
    if (b == NULL) {
        return; /* longer chains, still correct */
    }
    memset(b, 0xff, n * sizeof(uint32_t));
    for (uint32_t i = 0; i < self->used; i++) {
        brk_peer_t *p = &self->v[i];
        if (p->rid_len == 0) {
            continue;
        }
        uint32_t h = brk_hash(p->rid, p->rid_len) & (n - 1);
        p->hnext = b[h];
        b[h] = i;
    }
    actors__free(self->buckets);
    self->buckets = b;
    self->nbuckets = n;
}

actors_err
brk_peers_add(brk_peers_t *self, const void *rid, size_t len, int fd,
    int64_t now, uint32_t *idx)
{
    assert(self);
    assert(idx);
    if (rid == NULL || len == 0 || len > BRK_RID_MAX) {
        return ACTORS_EINVAL;
    }
    if (self->nbuckets == 0) {
        return ACTORS_ENOMEM;
    }
    uint32_t i;
    if (self->free_head != BRK_NONE) {
        i = self->free_head;
        self->free_head = self->v[i].hnext;
    } else {
        if (self->used == self->cap) {
            uint32_t cap = self->cap ? self->cap * 2 : 16;
            brk_peer_t *v = actors__realloc(self->v, (size_t)cap * sizeof *v);
            if (v == NULL) {
                return ACTORS_ENOMEM;
            }
            self->v = v;
            self->cap = cap;
        }
        i = self->used++;
    }
    brk_peer_t *p = &self->v[i];
    memcpy(p->rid, rid, len);
    p->rid_len = (uint8_t)len;
    p->fd = fd;
    p->last_recv = now;
    p->last_send = now;
    p->first_entry = BRK_NONE;
    uint32_t b = brk_hash(rid, len) & (self->nbuckets - 1);
    p->hnext = self->buckets[b];
    self->buckets[b] = i;
    self->count++;
    if (self->count > self->nbuckets) {
        s_rehash(self);
    }
    *idx = i;
    return ACTORS_OK;
}

void
brk_peers_remove(brk_peers_t *self, uint32_t idx)
{
    assert(self);
    assert(idx < self->used);
    brk_peer_t *p = &self->v[idx];
    assert(p->rid_len != 0);
    uint32_t *link =
        &self->buckets[brk_hash(p->rid, p->rid_len) & (self->nbuckets - 1)];
    while (*link != idx) {
        assert(*link != BRK_NONE);
        link = &self->v[*link].hnext;
    }
    *link = p->hnext;
    p->rid_len = 0;
    p->fd = -1;
    p->hnext = self->free_head;
    self->free_head = idx;
    self->count--;
}
