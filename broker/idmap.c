/* broker/idmap.c - open addressing, linear probing, backward-shift
 * deletion (idmap.h).
 * SPDX-License-Identifier: MIT
 *
 * A cell packs the key's 32-bit hash and idx + 1 (0 marks an empty cell),
 * so a probe compares hashes without calling back for the key. The table
 * doubles at 70 % load; deletion shifts the following cells of the run
 * back, so there are no tombstones and probe runs stay short.
 */
#include "idmap.h"

#include <assert.h>
#include <string.h>

#include <actors-internal/alloc.h>

#define CELL_HASH(c) ((uint32_t)((c) >> 32))
#define CELL_IDX(c) ((uint32_t)(c)-1u)

void
brk_idmap_init(brk_idmap_t *self, brk_idmap_key_cb key_cb, void *ctx)
{
    assert(self);
    assert(key_cb);
    memset(self, 0, sizeof *self);
    self->key_cb = key_cb;
    self->ctx = ctx;
}

void
brk_idmap_fini(brk_idmap_t *self)
{
    assert(self);
    actors__free(self->v);
    self->v = NULL;
    self->cap = 0;
    self->count = 0;
}

uint32_t
brk_idmap_hash(const void *key, size_t len)
{
    const uint8_t *p = key;
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 16777619u;
    }
    return h;
}

/* s_same tells whether cell c holds key. */
static int
s_same(const brk_idmap_t *self, uint64_t c, uint32_t h, const void *key,
    size_t len)
{
    if (CELL_HASH(c) != h) {
        return 0;
    }
    size_t klen = 0;
    const void *k = self->key_cb(self->ctx, CELL_IDX(c), &klen);
    return klen == len && memcmp(k, key, len) == 0;
}

uint32_t
brk_idmap_find(const brk_idmap_t *self, const void *key, size_t len)
{
    assert(self);
    if (self->count == 0) {
        return BRK_IDMAP_NONE;
    }
    uint32_t h = brk_idmap_hash(key, len);
    uint32_t mask = self->cap - 1;
    for (uint32_t i = h & mask;; i = (i + 1) & mask) {
        uint64_t c = self->v[i];
        if (c == 0) {
            return BRK_IDMAP_NONE;
        }
        if (s_same(self, c, h, key, len)) {
            return CELL_IDX(c);
        }
    }
}

/* s_place puts cell c into v (cap slots, not full). */
static void
s_place(uint64_t *v, uint32_t cap, uint64_t c)
{
    uint32_t mask = cap - 1;
    uint32_t i = CELL_HASH(c) & mask;
    while (v[i] != 0) {
        i = (i + 1) & mask;
    }
    v[i] = c;
}

static actors_err
s_grow(brk_idmap_t *self)
{
    uint32_t cap = self->cap ? self->cap * 2 : 64;
    if (cap == 0 || cap > (1u << 30)) {
        return ACTORS_ENOMEM;
    }
    uint64_t *v = actors__zalloc((size_t)cap * sizeof *v);
    if (v == NULL) {
        return ACTORS_ENOMEM;
    }
    for (uint32_t i = 0; i < self->cap; i++) {
        if (self->v[i] != 0) {
            s_place(v, cap, self->v[i]);
        }
    }
    actors__free(self->v);
    self->v = v;
    self->cap = cap;
    return ACTORS_OK;
}

actors_err
brk_idmap_put(brk_idmap_t *self, const void *key, size_t len, uint32_t idx)
{
    assert(self);
    assert(idx != BRK_IDMAP_NONE);
    if ((uint64_t)(self->count + 1) * 10 > (uint64_t)self->cap * 7) {
        actors_err rc = s_grow(self);
        if (rc != ACTORS_OK) {
            return rc;
        }
    }
    uint64_t c = (uint64_t)brk_idmap_hash(key, len) << 32 | (uint64_t)(idx + 1);
    s_place(self->v, self->cap, c);
    self->count++;
    return ACTORS_OK;
}

void
brk_idmap_del(brk_idmap_t *self, const void *key, size_t len)
{
    assert(self);
    if (self->count == 0) {
        return;
    }
    uint32_t h = brk_idmap_hash(key, len);
    uint32_t mask = self->cap - 1;
    uint32_t i = h & mask;
    for (;; i = (i + 1) & mask) {
        if (self->v[i] == 0) {
            return;
        }
        if (s_same(self, self->v[i], h, key, len)) {
            break;
        }
    }
    /* Backward shift: move each following cell of the run into the hole
     * when the hole lies between its home and its place. */
    uint32_t hole = i;
    for (uint32_t j = (i + 1) & mask; self->v[j] != 0; j = (j + 1) & mask) {
        uint32_t home = CELL_HASH(self->v[j]) & mask;
        if (((j - home) & mask) >= ((j - hole) & mask)) {
            self->v[hole] = self->v[j];
            hole = j;
        }
    }
    self->v[hole] = 0;
    self->count--;
}
