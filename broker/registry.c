/* broker/registry.c - addresses and their entries; bounded tombstones.
 * SPDX-License-Identifier: MIT */
#include "registry.h"

#include <assert.h>
#include <string.h>

#include <actors-internal/alloc.h>
#include "idmap.h"

#define BRK_ADDRESS_MAX 255
#define BRK_MEMBER_NAME_MAX (BRK_ADDRESS_MAX + 12) /* address, 0, serial */

/* s_key gives the idmap the address of entry idx. */
static const void *
s_key(void *ctx, uint32_t idx, size_t *len)
{
    const brk_registry_t *self = ctx;
    *len = self->v[idx].address_len;
    return self->v[idx].address;
}

actors_err
brk_registry_init(brk_registry_t *self, uint32_t max_tombs)
{
    assert(self);
    memset(self, 0, sizeof *self);
    self->free_head = BRK_NONE;
    self->tomb_head = BRK_NONE;
    self->tomb_tail = BRK_NONE;
    self->max_tombs = max_tombs;
    brk_idmap_init(&self->map, s_key, self);
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
        }
    }
    actors__free(self->v);
    brk_idmap_fini(&self->map);
    memset(self, 0, sizeof *self);
}

uint32_t
brk_registry_find(const brk_registry_t *self, const void *address, size_t len)
{
    assert(self);
    uint32_t i = brk_idmap_find(&self->map, address, len);
    return i == BRK_IDMAP_NONE ? BRK_NONE : i;
}

/* s_add is brk_registry_add for names of up to max bytes. */
static actors_err
s_add(brk_registry_t *self, const void *address, size_t len, size_t max,
    uint32_t *idx)
{
    assert(self);
    assert(idx);
    if (address == NULL || len == 0 || len > max) {
        return ACTORS_EINVAL;
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
        self->free_head = self->v[i].free_next;
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
    e->conn = BRK_NONE;
    e->conn_next = BRK_NONE;
    e->tnext = BRK_NONE;
    e->tprev = BRK_NONE;
    e->group = BRK_NONE;
    e->member_next = BRK_NONE;
    e->first_member = BRK_NONE;
    brk_mailbox_init(&e->mailbox);
    brk_mailbox_init(&e->inflight);
    e->state = BRK_ENTRY_RUNNING;
    if (brk_idmap_put(&self->map, copy, len, i) != ACTORS_OK) {
        actors__free(copy);
        actors__free(service);
        e->address = NULL;
        e->service = NULL;
        e->state = BRK_ENTRY_FREE;
        e->free_next = self->free_head;
        self->free_head = i;
        return ACTORS_ENOMEM;
    }
    self->count++;
    *idx = i;
    return ACTORS_OK;
}

actors_err
brk_registry_add(
    brk_registry_t *self, const void *address, size_t len, uint32_t *idx)
{
    return s_add(self, address, len, BRK_ADDRESS_MAX, idx);
}

actors_err
brk_registry_add_member(brk_registry_t *self, const void *address, size_t len,
    uint32_t serial, uint32_t *idx)
{
    if (len == 0 || len > BRK_ADDRESS_MAX) {
        return ACTORS_EINVAL;
    }
    char name[BRK_MEMBER_NAME_MAX + 1];
    memcpy(name, address, len);
    name[len] = '\0';
    int n = snprintf(name + len + 1, sizeof name - len - 1, "%u", serial);
    return s_add(self, name, len + 1 + (size_t)n, BRK_MEMBER_NAME_MAX, idx);
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
    brk_idmap_del(&self->map, e->address, e->address_len);
    actors__free(e->address);
    actors__free(e->service);
    e->address = NULL;
    e->service = NULL;
    e->state = BRK_ENTRY_FREE;
    e->free_next = self->free_head;
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
    e->conn = BRK_NONE;
    e->conn_next = BRK_NONE;
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
