/* broker/idmap.h - the broker's one hash table: byte keys -> indices.
 * SPDX-License-Identifier: MIT
 *
 * Every table of the broker that is looked up by bytes (the registry by
 * address, the connections by routing id) keeps its rows in an array of
 * its own and finds them through an idmap: an open-addressing table of
 * (hash, index) pairs with linear probing and backward-shift deletion,
 * so lookups touch one cache line in the common case and nothing is
 * allocated per key. The idmap does not copy keys: it asks the owner for
 * the key of an index (key_cb) when hashes match.
 *
 * Thread: one thread (the broker loop).
 */
#ifndef BRK_IDMAP_H
#define BRK_IDMAP_H

#include <stddef.h>
#include <stdint.h>

#include <actors/error.h>

/* brk_idmap_key_cb returns the key of row idx of the owner ctx and its
 * length in *len. */
typedef const void *(*brk_idmap_key_cb)(void *ctx, uint32_t idx, size_t *len);

typedef struct {
    uint64_t *v;             /* cap cells: hash << 32 | (idx + 1); 0 empty */
    uint32_t cap;            /* power of two, or 0 */
    uint32_t count;          /* keys held */
    brk_idmap_key_cb key_cb; /* the owner's keys */
    void *ctx;               /* passed to key_cb */
} brk_idmap_t;

/* brk_idmap_init prepares an empty map whose keys key_cb(ctx, idx) gives.
 * Allocates nothing until the first insert. Thread: owner. */
void brk_idmap_init(brk_idmap_t *self, brk_idmap_key_cb key_cb, void *ctx);

/* brk_idmap_fini frees the map; NULL-safe on a zeroed map. */
void brk_idmap_fini(brk_idmap_t *self);

/* brk_idmap_hash is the hash of len bytes (FNV-1a, 32 bits). */
uint32_t brk_idmap_hash(const void *key, size_t len);

/* brk_idmap_find returns the index stored under key (len bytes), or
 * BRK_IDMAP_NONE. */
uint32_t brk_idmap_find(const brk_idmap_t *self, const void *key, size_t len);

/* brk_idmap_put stores idx under key (len bytes; the key must not be in
 * the map, and key_cb(idx) must already return it).
 * Returns ACTORS_OK or ACTORS_ENOMEM (map unchanged). */
actors_err brk_idmap_put(
    brk_idmap_t *self, const void *key, size_t len, uint32_t idx);

/* brk_idmap_del removes key (len bytes) if present. */
void brk_idmap_del(brk_idmap_t *self, const void *key, size_t len);

#define BRK_IDMAP_NONE UINT32_MAX

#endif
