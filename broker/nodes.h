/* broker/nodes.h - the nodes: supervisors that said NODE.
 * SPDX-License-Identifier: MIT
 *
 * A node is a supervisor: its name (unique among live nodes), the row of
 * its connection in the broker's connection table (conn.h: the routing
 * id, the fd, the node role), its pid, and the SPAWN and KILL requests
 * relayed to it and not answered yet (slots chained through the slot
 * links). Part of the supervision extension (sup.c). There are few
 * nodes, so the table is a growing array searched linearly.
 *
 * Thread: one thread (the broker loop).
 */
#ifndef BRK_NODES_H
#define BRK_NODES_H

#include <stddef.h>
#include <stdint.h>

#include <actors/error.h>

#include "mailbox.h"

#define BRK_NODE_NAME_MAX 255 /* node name bytes */

typedef struct {
    char name[BRK_NODE_NAME_MAX + 1]; /* NUL-terminated; "" when free */
    uint32_t conn;                    /* its connection row */
    int64_t pid;                      /* supervisor's pid */
    uint32_t load;                    /* actors placed there (scratch) */
    uint8_t is_draining;              /* said DRAIN: no new placements */
    brk_mailbox_t pending;            /* relayed SPAWN/KILL slots */
} brk_node_t;

typedef struct {
    brk_node_t *v;  /* cap nodes */
    uint32_t cap;   /* allocated */
    uint32_t used;  /* nodes ever handed out */
    uint32_t count; /* live nodes */
} brk_nodes_t;

/* brk_nodes_init prepares an empty table (no allocation). */
void brk_nodes_init(brk_nodes_t *self);

/* brk_nodes_fini frees the table; pending slots are not touched. */
void brk_nodes_fini(brk_nodes_t *self);

/* brk_nodes_find_name returns the live node called name, or BRK_NONE. */
uint32_t brk_nodes_find_name(const brk_nodes_t *self, const char *name);

/* brk_nodes_find_conn returns the live node on connection row conn, or
 * BRK_NONE. */
uint32_t brk_nodes_find_conn(const brk_nodes_t *self, uint32_t conn);

/* brk_nodes_add makes a node name (1..255 bytes) on connection row conn.
 * Returns ACTORS_OK with its index in *idx, ACTORS_EINVAL for a bad
 * name, or ACTORS_ENOMEM (table unchanged). */
actors_err brk_nodes_add(
    brk_nodes_t *self, const char *name, uint32_t conn, uint32_t *idx);

/* brk_nodes_remove frees node idx (its pending list must be empty). */
void brk_nodes_remove(brk_nodes_t *self, uint32_t idx);

/* brk_nodes_pick returns the live node with the smallest load other than
 * exclude (BRK_NONE: none excluded) and other than a draining one; ties
 * go to the lowest index.
 * BRK_NONE if there is none. */
uint32_t brk_nodes_pick(const brk_nodes_t *self, uint32_t exclude);

/* brk_nodes_at returns node idx (valid until the next add). */
static inline brk_node_t *
brk_nodes_at(brk_nodes_t *self, uint32_t idx)
{
    return &self->v[idx];
}

#endif
