/* broker/conn.h - the broker's one table of connections.
 * SPDX-License-Identifier: MIT
 *
 * One row per ROUTER connection that holds anything in the broker: its
 * routing id, the descriptor of its TCP connection (ZMQ_SRCFD, matched
 * against the socket monitor's DISCONNECTED events: one lookup when a
 * connection goes), its role bits, the addresses it serves (registry
 * entries chained through brk_entry_t.conn_next), the dispatch sequence
 * of the messages it was sent (started-call tracking, route.c) and one
 * word an extension may use (supervision keeps its node row there).
 *
 * A plain client that only calls has no row: the broker keeps nothing
 * for it. A connection gets a row when it takes a role beyond client
 * (REGISTER: actor; NODE: node; an owned SPAWN: owner) and loses it when
 * it holds none any more or its connection drops. Liveness is ZeroMQ's
 * (ZMTP heartbeats on the ROUTER close a silent connection), so there is
 * one liveness loop for every role: the monitor's DISCONNECTED.
 *
 * Rows live in a growing array (indices stable, pointers not across
 * brk_conns_add) found by routing id through an idmap.
 *
 * Thread: one thread (the broker loop).
 */
#ifndef BRK_CONN_H
#define BRK_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <actors/error.h>

#include "idmap.h"

#define BRK_RID_MAX 255  /* ZeroMQ routing ids are 1..255 bytes */
#define BRK_FD_LOST (-2) /* a send found it unroutable: death pending */

/* Role bits of a connection. */
enum {
    BRK_ROLE_ACTOR = 1u << 0,      /* serves registered addresses */
    BRK_ROLE_NODE = 1u << 1,       /* a supervisor (extension) */
    BRK_ROLE_OWNER = 1u << 2,      /* owns actors it spawned (extension) */
    BRK_ROLE_SUBSCRIBER = 1u << 6, /* has topic subscriptions (pubsub) */
    BRK_ROLE_DYING = 1u << 7,      /* its connection is being ended */
};

typedef struct {
    uint8_t rid[BRK_RID_MAX]; /* routing id */
    uint8_t rid_len;          /* 0: the row is free */
    uint8_t roles;            /* BRK_ROLE_* bits */
    int fd;                   /* TCP fd; -1 unknown; BRK_FD_LOST */
    uint32_t first_entry;     /* registry entries served; BRK_NONE */
    uint32_t ext;             /* the extension's word; BRK_NONE */
    uint32_t seq_sent;        /* CALL/TELL dispatched on it so far */
    uint32_t seq_known;       /* of those, the last known taken up */
    int64_t full_until;       /* its queue in ZeroMQ was full: no
                                 dispatch to it before (monotonic ms) */
    bool was_full;            /* ... and has not taken one since: each
                                 dispatch is flushed at once, so a queue
                                 still full costs one dispatch a retry */
    bool progress;            /* the actor reports what it takes up
                                 (REGISTER "progress"): messages after
                                 seq_known + 1 did not start */
    uint32_t free_next;       /* free list when free */
    char key[41];             /* its CURVE key (Z85); "" without keys */
} brk_conn_t;

typedef struct {
    brk_conn_t *v;      /* cap rows */
    uint32_t cap;       /* allocated */
    uint32_t used;      /* rows ever handed out */
    uint32_t free_head; /* free rows through free_next */
    uint32_t count;     /* live rows */
    brk_idmap_t map;    /* routing id -> row */
} brk_conns_t;

/* brk_conns_init prepares an empty table (allocates nothing). */
void brk_conns_init(brk_conns_t *self);

/* brk_conns_fini frees the table. */
void brk_conns_fini(brk_conns_t *self);

/* brk_conns_find returns the row of routing id rid (len bytes), or
 * BRK_NONE. */
uint32_t brk_conns_find(const brk_conns_t *self, const void *rid, size_t len);

/* brk_conns_find_fd returns a live row whose fd is fd (>= 0), or
 * BRK_NONE. Linear: used only when a connection goes. */
uint32_t brk_conns_find_fd(const brk_conns_t *self, int fd);

/* brk_conns_add makes a row for rid (1..255 bytes, not present) with fd,
 * no roles, no entries. Returns ACTORS_OK with its index in *idx,
 * ACTORS_EINVAL for a bad len, or ACTORS_ENOMEM (table unchanged). */
actors_err brk_conns_add(
    brk_conns_t *self, const void *rid, size_t len, int fd, uint32_t *idx);

/* brk_conns_remove frees row idx. */
void brk_conns_remove(brk_conns_t *self, uint32_t idx);

/* brk_conns_at returns row idx (valid until the next add). */
static inline brk_conn_t *
brk_conns_at(brk_conns_t *self, uint32_t idx)
{
    return &self->v[idx];
}

#endif
