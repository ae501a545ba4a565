/* broker/hash.h - the byte-string hash shared by the registry and peers.
 * SPDX-License-Identifier: MIT */
#ifndef BRK_HASH_H
#define BRK_HASH_H

#include <stddef.h>
#include <stdint.h>

/* brk_hash is 32-bit FNV-1a over len bytes: short keys (addresses and
 * routing ids of a few bytes) hash in a handful of cycles. */
static inline uint32_t
brk_hash(const void *data, size_t len)
{
    const uint8_t *p = data;
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 16777619u;
    }
    return h;
}

#endif
