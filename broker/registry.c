/* broker/registry.c - addresses and their entries; bounded tombstones.
 * SPDX-License-Identifier: MIT */
#include "registry.h"

#include <assert.h>
#include <string.h>

#include "alloc.h"
#include "hash.h"

#define BRK_ADDRESS_MAX 255

actors_err
brk_registry_init(brk_registry_t *self, uint32_t max_tombs)
{
    assert(self);
    memset(self, 0, sizeof *self);
    self->free_head = BRK_NONE;
    self->tomb_head = BRK_NONE;
    self->tomb_tail = BRK_NONE;
    self->max_tombs = max_tombs;
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
brk_registry_fini(brk_registry_t *self)
{
    assert(self);
    for (uint32_t i = 0; i < self->used; i++) {
        if (self->v[i].state != BRK_ENTRY_FREE) {
            actors__free(self->v[i].address);
            actors__free(self->v[i].service);
            actors__free(self->v[i].spec);
        }
    }
    actors__free(self->v);
    actors__free(self->buckets);
    memset(self, 0, sizeof *self);
}

static uint32_t
s_bucket(const brk_registry_t *self, const void *address, size_t len)
{
    return brk_hash(address, len) & (self->nbuckets - 1);
}

uint32_t
brk_registry_find(const brk_registry_t *self, const void *address, size_t len)
{
    assert(self);
    if (self->nbuckets == 0) {
        return BRK_NONE;
    }
    uint32_t i = self->buckets[s_bucket(self, address, len)];
    while (i != BRK_NONE) {
        const brk_entry_t *e = &self->v[i];
        if (e->address_len == len && memcmp(e->address, address, len) == 0) {
            return i;
        }
        i = e->hnext;
    }
    return BRK_NONE;
}

/* s_rehash doubles the bucket array once entries outnumber buckets, so
 * chains stay short. Failing to grow is harmless: chains get longer. */
static void
s_rehash(brk_registry_t *self)
{
    uint32_t n = self->nbuckets * 2;
    uint32_t *b = actors__malloc(n * sizeof(uint32_t));
    if (b == NULL) {
        return;
    }
    memset(b, 0xff, n * sizeof(uint32_t));
    for (uint32_t i = 0; i < self->used; i++) {
        brk_entry_t *e = &self->v[i];
        if (e->state == BRK_ENTRY_FREE) {
            continue;
        }
        uint32_t h = brk_hash(e->address, e->address_len) & (n - 1);
        e->hnext = b[h];
        b[h] = i;
    }
    actors__free(self->buckets);
    self->buckets = b;
    self->nbuckets = n;
}

actors_err
brk_registry_add(
    brk_registry_t *self, const void *address, size_t len, uint32_t *idx)
{
    assert(self);
    assert(idx);
    if (address == NULL || len == 0 || len > BRK_ADDRESS_MAX) {
        return ACTORS_EINVAL;
    }
    if (self->nbuckets == 0) {
        return ACTORS_ENOMEM;
    }
    char *copy = actors__strndup(address, len);
    char *service = actors__strdup("");
    if (copy == NULL || service == NULL) {
        actors__free(copy);
        actors__free(service);
        return ACTORS_ENOMEM;
    }
    uint32_t i;
    if (self->free_head != BRK_NONE) {
        i = self->free_head;
        self->free_head = self->v[i].hnext;
    } else {
        if (self->used == self->cap) {
            uint32_t cap = self->cap ? self->cap * 2 : 16;
            brk_entry_t *v = actors__realloc(self->v, (size_t)cap * sizeof *v);
            if (v == NULL) {
                actors__free(copy);
                actors__free(service);
                return ACTORS_ENOMEM;
            }
            self->v = v;
            self->cap = cap;
        }
        i = self->used++;
    }
    brk_entry_t *e = &self->v[i];
    memset(e, 0, sizeof *e);
    e->address = copy;
    e->address_len = (uint32_t)len;
    e->service = service;
    e->peer = BRK_NONE;
    e->peer_next = BRK_NONE;
    e->tnext = BRK_NONE;
    e->tprev = BRK_NONE;
    e->node = BRK_NONE;
    e->spawn_slot = BRK_NONE;
    e->owner_fd = -1;
    brk_mailbox_init(&e->mailbox);
    brk_mailbox_init(&e->inflight);
    e->state = BRK_ENTRY_RUNNING;
    uint32_t b = s_bucket(self, address, len);
    e->hnext = self->buckets[b];
    self->buckets[b] = i;
    self->count++;
    if (self->count > self->nbuckets) {
        s_rehash(self);
    }
    *idx = i;
    return ACTORS_OK;
}

actors_err
brk_registry_set_service(
    brk_registry_t *self, uint32_t idx, const char *service, size_t len)
{
    assert(self);
    assert(idx < self->used);
    char *copy = actors__strndup(service ? service : "", service ? len : 0);
    if (copy == NULL) {
        return ACTORS_ENOMEM;
    }
    actors__free(self->v[idx].service);
    self->v[idx].service = copy;
    return ACTORS_OK;
}

actors_err
brk_registry_set_spec(
    brk_registry_t *self, uint32_t idx, const void *spec, size_t len)
{
    assert(self);
    assert(idx < self->used);
    uint8_t *copy = actors__malloc(len ? len : 1);
    if (copy == NULL) {
        return ACTORS_ENOMEM;
    }
    memcpy(copy, spec, len);
    actors__free(self->v[idx].spec);
    self->v[idx].spec = copy;
    self->v[idx].spec_len = (uint32_t)len;
    return ACTORS_OK;
}

static void
s_tomb_unlink(brk_registry_t *self, uint32_t idx)
{
    brk_entry_t *e = &self->v[idx];
    if (e->tprev != BRK_NONE) {
        self->v[e->tprev].tnext = e->tnext;
    } else {
        self->tomb_head = e->tnext;
    }
    if (e->tnext != BRK_NONE) {
        self->v[e->tnext].tprev = e->tprev;
    } else {
        self->tomb_tail = e->tprev;
    }
    e->tnext = BRK_NONE;
    e->tprev = BRK_NONE;
    self->tombs--;
}

void
brk_registry_remove(brk_registry_t *self, uint32_t idx)
{
    assert(self);
    assert(idx < self->used);
    brk_entry_t *e = &self->v[idx];
    assert(e->state != BRK_ENTRY_FREE);
    if (e->state == BRK_ENTRY_DEAD) {
        s_tomb_unlink(self, idx);
    }
    uint32_t *link = &self->buckets[s_bucket(self, e->address, e->address_len)];
    while (*link != idx) {
        assert(*link != BRK_NONE);
        link = &self->v[*link].hnext;
    }
    *link = e->hnext;
    actors__free(e->address);
    actors__free(e->service);
    actors__free(e->spec);
    e->spec = NULL;
    e->spec_len = 0;
    e->address = NULL;
    e->service = NULL;
    e->state = BRK_ENTRY_FREE;
    e->hnext = self->free_head;
    self->free_head = idx;
    self->count--;
}

uint32_t
brk_registry_bury(brk_registry_t *self, uint32_t idx)
{
    assert(self);
    assert(idx < self->used);
    brk_entry_t *e = &self->v[idx];
    assert(e->state != BRK_ENTRY_FREE && e->state != BRK_ENTRY_DEAD);
    e->state = BRK_ENTRY_DEAD;
    e->peer = BRK_NONE;
    e->peer_next = BRK_NONE;
    e->tnext = BRK_NONE;
    e->tprev = self->tomb_tail;
    if (self->tomb_tail != BRK_NONE) {
        self->v[self->tomb_tail].tnext = idx;
    } else {
        self->tomb_head = idx;
    }
    self->tomb_tail = idx;
    self->tombs++;
    if (self->tombs > self->max_tombs) {
        uint32_t oldest = self->tomb_head;
        brk_registry_remove(self, oldest);
        return oldest;
    }
    return BRK_NONE;
}

void
brk_registry_revive(brk_registry_t *self, uint32_t idx)
{
    assert(self);
    assert(idx < self->used);
    assert(self->v[idx].state == BRK_ENTRY_DEAD);
    s_tomb_unlink(self, idx);
    self->v[idx].state = BRK_ENTRY_RUNNING;
}
