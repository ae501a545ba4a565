/* broker/sup_place.c - where supervised actors go when their node does:
 * re-placement, home nodes, DRAIN (part of the supervision extension,
 * sup.h).
 * SPDX-License-Identifier: MIT
 *
 * No address a node's config names stays dead while a node that may run
 * it is up:
 *
 *  - A node that is lost (its connection drops) has each actor whose
 *    policy allows one more restart re-created elsewhere (sup_replace,
 *    counting a restart). A node that says DRAIN first (a graceful stop)
 *    is being taken away on purpose: each actor it stops is re-created
 *    elsewhere as soon as its STATE "stopped" comes, whatever its
 *    max_restarts, and without counting a restart. A draining node gets
 *    no new placements.
 *  - A node reports the addresses of its config with "home": true. The
 *    broker remembers that node as the address's home: a re-placement
 *    goes there first if it is up, and when the actor dies for good
 *    elsewhere (not by a client's KILL), the home node runs it again
 *    (sup_reclaim). A home node answers such a SPAWN by starting its
 *    config actor.
 *
 * The SPAWN sent carries the stored spec plus "restarts": the count so
 * far, so the new node goes on counting from there and the count agrees
 * between LIST, EVENTS and the logs.
 */
#include <stdio.h>
#include <string.h>

#include <actors/log.h>
#include <actors/msg.h>

#include "mailbox.h"
#include "sup_int.h"
#include <actors-internal/unpack.h>

/* s_pack_spec packs entry row se's spec with "restarts" set to restarts
 * (any "restarts" it had replaced) into core->pk. */
static void
s_pack_spec(sup_t *self, const sup_entry_t *se, int32_t restarts)
{
    msgpack_packer *pk = &self->core->pk;
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    bool ok = se->spec != NULL &&
              actors__unpack_next(&up, (const char *)se->spec, se->spec_len,
                  NULL) == MSGPACK_UNPACK_SUCCESS &&
              up.data.type == MSGPACK_OBJECT_MAP;
    uint32_t n = 0;
    const msgpack_object_map *map = ok ? &up.data.via.map : NULL;
    for (uint32_t i = 0; map != NULL && i < map->size; i++) {
        const msgpack_object *k = &map->ptr[i].key;
        n += !(k->type == MSGPACK_OBJECT_STR && k->via.str.size == 8 &&
               memcmp(k->via.str.ptr, "restarts", 8) == 0);
    }
    msgpack_pack_map(pk, n + 1);
    for (uint32_t i = 0; map != NULL && i < map->size; i++) {
        const msgpack_object *k = &map->ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == 8 &&
            memcmp(k->via.str.ptr, "restarts", 8) == 0) {
            continue;
        }
        msgpack_pack_object(pk, *k);
        msgpack_pack_object(pk, map->ptr[i].val);
    }
    brk_core_pack_str(pk, "restarts");
    msgpack_pack_int32(pk, restarts);
    msgpack_unpacked_destroy(&up);
}

/* s_send_spawn relays slot si as a SPAWN of entry ei (its stored spec
 * and restarts) to node ni. */
static void
s_send_spawn(sup_t *self, uint32_t si, uint32_t ei, uint32_t ni)
{
    brk_broker_t *core = self->core;
    brk_entry_t *e = brk_registry_at(&core->reg, ei);
    sup_entry_t *se = sup_peek(self, ei);
    zmq_msg_t addr;
    zmq_msg_t spec;
    brk_core_body_from(&addr, e->address, e->address_len);
    s_pack_spec(self, se, se->restarts);
    brk_core_pack_body(core, &spec);
    /* A new placement: a new secret for the process the node starts
     * (PROTOCOL.md, Claims). */
    (void)sup_claim_new(se);
    sup_relay(self, si, ni, ACTORS_CMD_SPAWN, &addr, &spec, se->claim);
    zmq_msg_close(&addr);
    zmq_msg_close(&spec);
}

/* s_usable: node ni is live, not draining and not exclude. */
static bool
s_usable(sup_t *self, uint32_t ni, uint32_t exclude)
{
    if (ni == BRK_NONE || ni == exclude || ni >= self->nodes.used) {
        return false;
    }
    const brk_node_t *n = brk_nodes_at(&self->nodes, ni);
    return n->name[0] != '\0' && !n->is_draining;
}

/* s_start_on moves entry ei to starting on node target and sends the
 * SPAWN (a slot no client waits on). Returns false when no slot could
 * be had. */
static bool
s_start_on(sup_t *self, uint32_t ei, uint32_t target, const char *why,
    const char *kind)
{
    brk_broker_t *core = self->core;
    uint32_t slot = BRK_NONE;
    if (brk_slots_alloc(&core->slots, &slot) != ACTORS_OK) {
        return false;
    }
    brk_entry_t *e = brk_registry_at(&core->reg, ei);
    sup_entry_t *se = sup_peek(self, ei);
    se->starting = 1;
    se->is_stopped = 0;
    se->node = target;
    e->pid = 0;
    snprintf(se->cause, sizeof se->cause, "%.127s", why);
    snprintf(e->cause, sizeof e->cause, "%.127s", why);
    brk_nodes_at(&self->nodes, target)->load++;
    const char *name = brk_nodes_at(&self->nodes, target)->name;
    ACTORS_LOG(ACTORS_LOG_NOTICE, "BRK-RECREATE",
        "address=%s node=%s restarts=%d cause=\"%s\" %s", e->address, name,
        se->restarts, why, kind);
    sup_event(self, kind, name, e->address, 0, se->restarts, why);
    brk_slot_t *s = brk_slots_at(&core->slots, slot);
    s->answered = 1; /* no client waits */
    s->entry = ei;
    s_send_spawn(self, slot, ei, target);
    return true;
}

bool
sup_replace(
    sup_t *self, uint32_t ei, uint32_t from, bool moving, const char *why)
{
    brk_broker_t *core = self->core;
    brk_entry_t *e = brk_registry_at(&core->reg, ei);
    sup_entry_t *se = sup_peek(self, ei);
    bool may =
        se->spec != NULL && se->spawn_slot == BRK_NONE &&
        (moving ||
            (se->max_restarts != 0 &&
                (se->max_restarts < 0 || se->restarts < se->max_restarts)));
    uint32_t target = BRK_NONE;
    if (may) {
        target = s_usable(self, se->home, from)
                     ? se->home
                     : brk_nodes_pick(&self->nodes, from);
    }
    if (target != BRK_NONE) {
        if (e->state == BRK_ENTRY_RUNNING) {
            sup_restarting(self, ei, why, true);
        } else if (se->is_held) {
            sup_settle(self, ei, why);
        }
        if (!moving) {
            sup_peek(self, ei)->restarts++;
        }
        if (s_start_on(self, ei, target, why, "re-placed")) {
            return true;
        }
    }
    se = sup_peek(self, ei);
    if (se->node != BRK_NONE) {
        snprintf(se->gone_node, sizeof se->gone_node, "%.63s",
            brk_nodes_at(&self->nodes, se->node)->name);
    }
    se->node = BRK_NONE;
    brk_core_bury(core, ei, ACTORS_EDEAD, why);
    return false;
}

bool
sup_reclaim(sup_t *self, uint32_t ei)
{
    brk_broker_t *core = self->core;
    sup_entry_t *se = sup_peek(self, ei);
    if (se == NULL || se->is_killed || se->spec == NULL ||
        se->spawn_slot != BRK_NONE ||
        brk_registry_at(&core->reg, ei)->state != BRK_ENTRY_DEAD ||
        !s_usable(self, se->home, se->node)) {
        return false;
    }
    uint32_t home = se->home;
    char why[300];
    snprintf(why, sizeof why, "back on its home node %s",
        brk_nodes_at(&self->nodes, home)->name);
    brk_entry_t *e = brk_registry_at(&core->reg, ei);
    if (brk_core_reserve(core, e->address, e->address_len, &ei) != ACTORS_OK) {
        return false;
    }
    return s_start_on(self, ei, home, why, "reclaimed");
}

void
sup_node_forget(sup_t *self, uint32_t ni)
{
    const char *name = brk_nodes_at(&self->nodes, ni)->name;
    for (uint32_t i = 0; i < self->cap; i++) {
        sup_entry_t *se = &self->v[i];
        if (!se->is_used) {
            continue;
        }
        if (se->home == ni) {
            se->home = BRK_NONE;
        }
        if (se->node == ni) {
            snprintf(se->gone_node, sizeof se->gone_node, "%.63s", name);
            se->node = BRK_NONE;
        }
    }
}

void
sup_on_drain(void *arg, brk_broker_t *core, const brk_in_t *m)
{
    sup_t *self = arg;
    uint32_t ni = sup_sender_node(self, m);
    if (ni == BRK_NONE) {
        brk_core_bad(core, m, "DRAIN is for nodes; send NODE first");
        return;
    }
    brk_node_t *node = brk_nodes_at(&self->nodes, ni);
    uint32_t n = 0;
    for (uint32_t ei = 0; ei < self->cap && ei < core->reg.used; ei++) {
        sup_entry_t *se = sup_peek(self, ei);
        uint8_t state = brk_registry_at(&core->reg, ei)->state;
        n += se != NULL && se->node == ni && state != BRK_ENTRY_FREE &&
             state != BRK_ENTRY_DEAD;
    }
    if (!node->is_draining) {
        node->is_draining = 1;
        ACTORS_LOG(ACTORS_LOG_NOTICE, "BRK-NODE-DRAIN",
            "node=%s actors=%u draining: its actors move as they stop",
            node->name, n);
        sup_event(self, "node-drain", node->name, "", node->pid, 0,
            "the node stops gracefully; its actors move");
    }
    msgpack_pack_map(&core->pk, 1);
    brk_core_pack_str(&core->pk, "actors");
    msgpack_pack_uint32(&core->pk, n);
    brk_core_reply_packed(core, m);
}
