/* broker/nodes.c - the nodes: supervisors that said NODE.
 * SPDX-License-Identifier: MIT
 *
 * A plain array: a free node has an empty name and is reused first. Linear
 * searches are fine for the handful of nodes a broker serves; none of
 * them is on the CALL/REPLY hot path.
 */
#include "nodes.h"

#include <assert.h>
#include <string.h>

#include <actors-internal/alloc.h>

void
brk_nodes_init(brk_nodes_t *self)
{
    assert(self);
    memset(self, 0, sizeof *self);
}

void
brk_nodes_fini(brk_nodes_t *self)
{
    assert(self);
    actors__free(self->v);
    memset(self, 0, sizeof *self);
}

uint32_t
brk_nodes_find_name(const brk_nodes_t *self, const char *name)
{
    assert(self);
    assert(name);
    for (uint32_t i = 0; i < self->used; i++) {
        if (self->v[i].name[0] != '\0' && strcmp(self->v[i].name, name) == 0) {
            return i;
        }
    }
    return BRK_NONE;
}

uint32_t
brk_nodes_find_conn(const brk_nodes_t *self, uint32_t conn)
{
    assert(self);
    for (uint32_t i = 0; i < self->used; i++) {
        if (self->v[i].name[0] != '\0' && self->v[i].conn == conn) {
            return i;
        }
    }
    return BRK_NONE;
}

actors_err
brk_nodes_add(brk_nodes_t *self, const char *name, uint32_t conn, uint32_t *idx)
{
    assert(self);
    assert(name);
    assert(idx);
    size_t nlen = strlen(name);
    if (nlen == 0 || nlen > BRK_NODE_NAME_MAX) {
        return ACTORS_EINVAL;
    }
    uint32_t i = 0;
    while (i < self->used && self->v[i].name[0] != '\0') {
        i++;
    }
    if (i == self->used) {
        if (self->used == self->cap) {
            uint32_t cap = self->cap ? self->cap * 2 : 4;
            brk_node_t *v = actors__realloc(self->v, (size_t)cap * sizeof *v);
            if (v == NULL) {
                return ACTORS_ENOMEM;
            }
            self->v = v;
            self->cap = cap;
        }
        self->used++;
    }
    brk_node_t *n = &self->v[i];
    memset(n, 0, sizeof *n);
    memcpy(n->name, name, nlen + 1);
    n->conn = conn;
    brk_mailbox_init(&n->pending);
    self->count++;
    *idx = i;
    return ACTORS_OK;
}

void
brk_nodes_remove(brk_nodes_t *self, uint32_t idx)
{
    assert(self);
    assert(idx < self->used);
    assert(self->v[idx].name[0] != '\0');
    assert(brk_mailbox_empty(&self->v[idx].pending));
    memset(&self->v[idx], 0, sizeof self->v[idx]);
    self->count--;
}

uint32_t
brk_nodes_pick(const brk_nodes_t *self, uint32_t exclude)
{
    assert(self);
    uint32_t best = BRK_NONE;
    for (uint32_t i = 0; i < self->used; i++) {
        if (self->v[i].name[0] == '\0' || i == exclude ||
            self->v[i].is_draining) {
            continue;
        }
        if (best == BRK_NONE || self->v[i].load < self->v[best].load) {
            best = i;
        }
    }
    return best;
}
