/* broker/peers.h - the actor peers: routing id -> connection facts.
 * SPDX-License-Identifier: MIT
 *
 * A peer is a ROUTER connection that registered at least one address. It
 * records the routing id, the file descriptor of its TCP connection (from
 * ZMQ_SRCFD at REGISTER, matched against the socket monitor's DISCONNECTED
 * events; -1 unknown), when the broker last heard from it and last sent
 * to it (heartbeats), and the first of the registry entries it serves
 * (chained through brk_entry_t.peer_next). Plain clients are not peers:
 * the broker keeps nothing per client.
 *
 * Peers live in a growing array (indices stable, pointers not across
 * brk_peers_add) with a chained hash on the routing id.
 *
 * Thread: one thread (the broker loop).
 */
#ifndef BRK_PEERS_H
#define BRK_PEERS_H

#include <stddef.h>
#include <stdint.h>

#include <actors/error.h>

#define BRK_RID_MAX 255 /* ZeroMQ routing ids are 1..255 bytes */

typedef struct {
    uint8_t rid[BRK_RID_MAX]; /* routing id */
    uint8_t rid_len;          /* 0: the peer slot is free */
    int fd;                   /* TCP fd at REGISTER; -1 unknown */
    int64_t last_recv;        /* ms: last message from the peer */
    int64_t last_send;        /* ms: last message to the peer */
    uint32_t first_entry;     /* registry entries served; BRK_NONE */
    uint32_t hnext;           /* hash chain; free list when free */
} brk_peer_t;

typedef struct {
    brk_peer_t *v;      /* cap peers */
    uint32_t cap;       /* allocated */
    uint32_t used;      /* peers ever handed out */
    uint32_t free_head; /* free peers through hnext */
    uint32_t count;     /* live peers */
    uint32_t *buckets;  /* nbuckets chain heads */
    uint32_t nbuckets;  /* power of two */
} brk_peers_t;

/* brk_peers_init prepares an empty table. Returns ACTORS_OK or
 * ACTORS_ENOMEM (fini safe). */
actors_err brk_peers_init(brk_peers_t *self);

/* brk_peers_fini frees the table. */
void brk_peers_fini(brk_peers_t *self);

/* brk_peers_find returns the peer with routing id rid (len bytes) or
 * BRK_NONE. */
uint32_t brk_peers_find(const brk_peers_t *self, const void *rid, size_t len);

/* brk_peers_find_fd returns a live peer whose fd is fd (>= 0), or
 * BRK_NONE. Linear: used only on connection events. */
uint32_t brk_peers_find_fd(const brk_peers_t *self, int fd);

/* brk_peers_add makes a peer for rid (1..255 bytes, not present) with fd,
 * both times set to now and no entries.
 * Returns ACTORS_OK with its index in *idx, ACTORS_EINVAL for a bad len,
 * or ACTORS_ENOMEM (table unchanged). */
actors_err brk_peers_add(brk_peers_t *self, const void *rid, size_t len, int fd,
    int64_t now, uint32_t *idx);

/* brk_peers_remove frees peer idx. */
void brk_peers_remove(brk_peers_t *self, uint32_t idx);

/* brk_peers_at returns peer idx (valid until the next add). */
static inline brk_peer_t *
brk_peers_at(brk_peers_t *self, uint32_t idx)
{
    return &self->v[idx];
}

#endif
