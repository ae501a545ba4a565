/* broker/sup_group.c - who may join a group a node placed (sup_int.h).
 * SPDX-License-Identifier: MIT
 *
 * A group's members are not supervised addresses of their own: the core
 * keeps no sup_entry_t for them, and a node reports no restarts of them.
 * What the broker must know is only which processes a node started for
 * the group, so that no other peer joins it and takes a share of its
 * calls (PROTOCOL.md, Claims). Each placement is (address, node, claim):
 * made by the broker when it relays a SPAWN of a member (the claim goes
 * to the node with the SPAWN), or declared by a node for the members of
 * its config (STATE with "group": true and the node's claim). A placement
 * lasts as long as its node's connection; a group with none is open, as a
 * group started by hand has always been.
 *
 * The list is small (a few per node) and read on a group REGISTER or a
 * relayed SPAWN only, so it is a plain array scanned in order.
 *
 * Thread: the broker loop.
 */
#include <stdio.h>
#include <string.h>

#include <actors/log.h>

#include <actors-internal/alloc.h>
#include "sup_int.h"

/* s_find returns the index of placement (address, ni, claim) (claim NULL:
 * any of ni's), or BRK_NONE. */
static uint32_t
s_find(sup_t *self, const char *address, uint32_t ni, const char *claim)
{
    for (uint32_t i = 0; i < self->n_gplaces; i++) {
        const sup_gplace_t *p = &self->gplaces[i];
        if (p->node == ni && strcmp(p->address, address) == 0 &&
            (claim == NULL || strcmp(p->claim, claim) == 0)) {
            return i;
        }
    }
    return BRK_NONE;
}

actors_err
sup_group_place(
    sup_t *self, const char *address, uint32_t ni, const char *claim)
{
    if (claim[0] == '\0' || s_find(self, address, ni, claim) != BRK_NONE) {
        return ACTORS_OK;
    }
    if (self->n_gplaces >= SUP_GPLACE_MAX) {
        ACTORS_LOG(ACTORS_LOG_WARN, "BRK-GROUP-PLACES",
            "address=%s node=%s refusing a group placement: %u already",
            address, brk_nodes_at(&self->nodes, ni)->name, self->n_gplaces);
        return ACTORS_ENOMEM;
    }
    if (self->n_gplaces == self->cap_gplaces) {
        uint32_t cap = self->cap_gplaces ? self->cap_gplaces * 2 : 8;
        sup_gplace_t *grown =
            actors__realloc(self->gplaces, (size_t)cap * sizeof *grown);
        if (grown == NULL) {
            return ACTORS_ENOMEM;
        }
        self->gplaces = grown;
        self->cap_gplaces = cap;
    }
    sup_gplace_t *p = &self->gplaces[self->n_gplaces++];
    snprintf(p->address, sizeof p->address, "%s", address);
    snprintf(p->claim, sizeof p->claim, "%s", claim);
    p->node = ni;
    ACTORS_LOG(ACTORS_LOG_INFO, "BRK-GROUP-PLACED",
        "address=%s node=%s members need its claim", address,
        brk_nodes_at(&self->nodes, ni)->name);
    return ACTORS_OK;
}

const char *
sup_group_claim(sup_t *self, const char *address, uint32_t ni)
{
    uint32_t i = s_find(self, address, ni, NULL);
    if (i != BRK_NONE) {
        return self->gplaces[i].claim;
    }
    char claim[BRK_CLAIM_MAX + 1];
    if (!sup_claim_make(claim) ||
        sup_group_place(self, address, ni, claim) != ACTORS_OK) {
        return NULL;
    }
    return self->gplaces[self->n_gplaces - 1].claim;
}

bool
sup_group_may_join(void *arg, const char *address, uint32_t ci,
    const char *claim, char *why, size_t why_len)
{
    sup_t *self = arg;
    (void)ci;
    const char *node = NULL;
    for (uint32_t i = 0; i < self->n_gplaces; i++) {
        const sup_gplace_t *p = &self->gplaces[i];
        if (strcmp(p->address, address) != 0) {
            continue;
        }
        if (claim[0] != '\0' && strcmp(p->claim, claim) == 0) {
            return true;
        }
        node = brk_nodes_at(&self->nodes, p->node)->name;
    }
    if (node == NULL) {
        return true; /* no node placed it: open, as a group started by hand */
    }
    snprintf(why, why_len,
        "group %s is placed by node %s; only the processes a node started "
        "for it may join (%s claim)",
        address, node, claim[0] ? "wrong" : "no");
    return false;
}

bool
sup_group_placed_by(sup_t *self, const char *address, uint32_t ni)
{
    return s_find(self, address, ni, NULL) != BRK_NONE;
}

void
sup_group_forget_node(sup_t *self, uint32_t ni)
{
    uint32_t kept = 0;
    for (uint32_t i = 0; i < self->n_gplaces; i++) {
        if (self->gplaces[i].node != ni) {
            self->gplaces[kept++] = self->gplaces[i];
        }
    }
    self->n_gplaces = kept;
}

void
sup_group_fini(sup_t *self)
{
    actors__free(self->gplaces);
    self->gplaces = NULL;
    self->n_gplaces = 0;
    self->cap_gplaces = 0;
}
