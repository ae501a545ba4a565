/* broker/sup_spawn.c - SPAWN and KILL from clients, relayed to nodes
 * (part of the supervision extension, sup.h).
 * SPDX-License-Identifier: MIT
 *
 * A client's SPAWN reserves the address at once (a HELD entry, starting,
 * so two clients cannot both create a name), picks the node (named, or
 * the one with the fewest actors), and is relayed to it with the slot's
 * tag as request id; the slot keeps the client's routing id and header on
 * the node's pending list. The node's REPLY moves the slot onto the
 * address's row (spawn_slot) until the actor REGISTERs (sup_spawn_answer);
 * its ERROR becomes SpawnFailed. A SPAWN whose deadline passes first is
 * answered Timeout and its actor killed. KILL is relayed the same way and
 * the node's answer forwarded as it is. Only the node a request went to
 * may answer it.
 */
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <actors/log.h>
#include <actors/msg.h>

#include "mailbox.h"
#include "sup_int.h"
#include <actors-internal/unpack.h>

/* s_pack_reply packs SPAWN's REPLY map for entry ei: {address, node, pid,
 * existed}, and for an owned actor also owner (the owner's routing id,
 * owner_rid) and heartbeat_ms. */
static void
s_pack_reply(sup_t *self, uint32_t ei, bool existed, zmq_msg_t *owner_rid)
{
    brk_broker_t *core = self->core;
    const brk_entry_t *e = brk_registry_at(&core->reg, ei);
    msgpack_packer *pk = &core->pk;
    msgpack_pack_map(pk, owner_rid != NULL ? 6 : 4);
    if (owner_rid != NULL) {
        brk_core_pack_str(pk, "owner");
        msgpack_pack_bin(pk, zmq_msg_size(owner_rid));
        msgpack_pack_bin_body(
            pk, zmq_msg_data(owner_rid), zmq_msg_size(owner_rid));
        brk_core_pack_str(pk, "heartbeat_ms");
        msgpack_pack_uint32(pk, core->opts.heartbeat_ms);
    }
    brk_core_pack_str(pk, "address");
    brk_core_pack_str(pk, e->address);
    brk_core_pack_str(pk, "node");
    const char *node = sup_node_name(self, ei);
    brk_core_pack_str(pk, node ? node : "");
    brk_core_pack_str(pk, "pid");
    msgpack_pack_int64(pk, e->pid);
    brk_core_pack_str(pk, "existed");
    if (existed) {
        msgpack_pack_true(pk);
    } else {
        msgpack_pack_false(pk);
    }
}

void
sup_spawn_answer(sup_t *self, uint32_t si, uint32_t ei)
{
    brk_broker_t *core = self->core;
    brk_core_slot_unheap(core, si);
    brk_slot_t *s = brk_slots_at(&core->slots, si);
    if (!s->answered) {
        sup_entry_t *se = sup_peek(self, ei);
        bool owned = se != NULL && se->owner != BRK_NONE;
        s_pack_reply(self, ei, false, owned ? &s->rid : NULL);
        zmq_msg_t body;
        brk_core_pack_body(core, &body);
        brk_core_answer(
            core, &s->rid, s->delim, &s->hdr, ACTORS_CMD_REPLY, &body);
        zmq_msg_close(&body);
    }
    brk_slots_free(&core->slots, si);
}

/* s_reply_existing answers the current SPAWN with the existing entry. */
static void
s_reply_existing(sup_t *self, const brk_in_t *m, uint32_t ei)
{
    s_pack_reply(self, ei, true, NULL);
    brk_core_reply_packed(self->core, m);
}

/* s_rand is 32 random bits for a generated name (SERVICE/xxxxxxxx). */
static uint32_t
s_rand(void)
{
    uint32_t x = 0;
    if (getrandom(&x, sizeof x, GRND_NONBLOCK) == (ssize_t)sizeof x) {
        return x;
    }
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint32_t)ts.tv_nsec * 2654435761u ^ (uint32_t)ts.tv_sec;
}

/* The SPAWN spec, read. */
typedef struct {
    char service[256];
    char name[256];
    char node[BRK_NODE_NAME_MAX + 1];
    bool detached;
    bool get_if_exists;
    bool group; /* a new member of the group at name */
    int64_t mtr;
    int64_t max_restarts;
} s_spec_t;

/* A SPAWN of a group member, relayed: the node's answer goes to the client
 * as it comes (the member joins by itself; the broker keeps no row for
 * it). Marks the slot's cmd after sup_relay. */
#define SUP_CMD_SPAWN_MEMBER 0xE1

static bool
s_read_spec(zmq_msg_t *f, s_spec_t *sp)
{
    memset(sp, 0, sizeof *sp);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    bool ok = sup_map(f, &up) &&
              sup_get_str(&up.data, "service", sp->service, sizeof sp->service);
    if (ok) {
        sup_get_str(&up.data, "name", sp->name, sizeof sp->name);
        sup_get_str(&up.data, "node", sp->node, sizeof sp->node);
        sp->detached = sup_get_bool(&up.data, "detached");
        sp->get_if_exists = sup_get_bool(&up.data, "get_if_exists");
        sp->group = sup_get_bool(&up.data, "group");
        sp->mtr = sup_get_int(&up.data, "max_task_retries", 0);
        sp->max_restarts = sup_get_int(&up.data, "max_restarts", 0);
    }
    msgpack_unpacked_destroy(&up);
    return ok && strchr(sp->service, '/') == NULL;
}

/* s_spawn_member relays a SPAWN of one more member of the group at
 * sp->name (a group, a tombstone, or no address yet) to the named or the
 * least loaded node. A single actor's address is NameTaken. */
static void
s_spawn_member(sup_t *self, brk_broker_t *core, const brk_in_t *m, s_spec_t *sp)
{
    char *name = sp->name;
    if (name[0] == '\0') {
        snprintf(name, sizeof sp->name, "%.200s/%08x", sp->service, s_rand());
    }
    uint32_t ei = brk_registry_find(&core->reg, name, strlen(name));
    if (ei != BRK_NONE && !brk_registry_at(&core->reg, ei)->is_group &&
        brk_registry_at(&core->reg, ei)->state != BRK_ENTRY_DEAD) {
        brk_core_error(core, m->rid, m->delim, m->hdr, ACTORS_ETAKEN, name,
            "address %s is taken by a single actor, not a group", name);
        return;
    }
    uint32_t ni;
    if (sp->node[0]) {
        ni = brk_nodes_find_name(&self->nodes, sp->node);
    } else {
        sup_compute_loads(self);
        ni = brk_nodes_pick(&self->nodes, BRK_NONE);
    }
    if (ni == BRK_NONE) {
        brk_core_error(core, m->rid, m->delim, m->hdr, ACTORS_ENONODE, name,
            sp->node[0] ? "no live node is called %s"
                        : "no node is registered%s",
            sp->node);
        return;
    }
    /* The member shows the node's claim for the group when it joins. */
    const char *claim = sup_group_claim(self, name, ni);
    uint32_t si;
    if (claim == NULL || brk_slots_alloc(&core->slots, &si) != ACTORS_OK) {
        brk_core_error(core, m->rid, m->delim, m->hdr, ACTORS_ENOMEM, name,
            "broker out of memory");
        return;
    }
    brk_slot_t *s = brk_slots_at(&core->slots, si);
    zmq_msg_move(&s->rid, m->rid);
    zmq_msg_move(&s->hdr, m->hdr);
    s->delim = m->delim;
    s->entry = BRK_NONE;
    if (m->h.timeout_ms > 0) {
        (void)brk_core_slot_deadline(core, si, m->h.timeout_ms);
    }
    ACTORS_LOG(ACTORS_LOG_NOTICE, "BRK-SPAWN",
        "address=%s service=%s node=%s group=1 spawning a member", name,
        sp->service, brk_nodes_at(&self->nodes, ni)->name);
    zmq_msg_t addr;
    brk_core_body_from(&addr, name, strlen(name));
    sup_relay(self, si, ni, ACTORS_CMD_SPAWN, &addr, &m->arg[0], claim);
    zmq_msg_close(&addr);
    brk_slots_at(&core->slots, si)->cmd = SUP_CMD_SPAWN_MEMBER;
}

void
sup_on_spawn(void *arg, brk_broker_t *core, const brk_in_t *m)
{
    sup_t *self = arg;
    if (m->nargs != 1) {
        brk_core_bad(core, m, "SPAWN needs frames: header spec");
        return;
    }
    s_spec_t sp;
    if (!s_read_spec(&m->arg[0], &sp)) {
        brk_core_bad(core, m, "SPAWN spec must be a map with service: str");
        return;
    }
    if (sp.group) {
        s_spawn_member(self, core, m, &sp);
        return;
    }
    char *name = sp.name;
    uint32_t ei = BRK_NONE;
    if (name[0]) {
        ei = brk_registry_find(&core->reg, name, strlen(name));
        if (ei != BRK_NONE &&
            brk_registry_at(&core->reg, ei)->state != BRK_ENTRY_DEAD) {
            if (sp.get_if_exists) {
                s_reply_existing(self, m, ei);
            } else {
                brk_core_error(core, m->rid, m->delim, m->hdr, ACTORS_ETAKEN,
                    name, "address %s is taken", name);
            }
            return;
        }
    } else {
        do {
            snprintf(
                sp.name, sizeof sp.name, "%.200s/%08x", sp.service, s_rand());
        } while (brk_registry_find(&core->reg, name, strlen(name)) != BRK_NONE);
    }
    uint32_t ni;
    if (sp.node[0]) {
        ni = brk_nodes_find_name(&self->nodes, sp.node);
    } else {
        sup_compute_loads(self);
        ni = brk_nodes_pick(&self->nodes, BRK_NONE);
    }
    if (ni == BRK_NONE || brk_nodes_at(&self->nodes, ni)->is_draining) {
        brk_core_error(core, m->rid, m->delim, m->hdr, ACTORS_ENONODE, name,
            ni != BRK_NONE ? "node %s is draining (stopping)"
            : sp.node[0]   ? "no live node is called %s"
                           : "no node is registered%s",
            sp.node);
        return;
    }
    /* The owner's row: its connection going kills the actor. */
    uint32_t owner = BRK_NONE;
    if (!sp.detached &&
        brk_core_conn_claim(core, m, BRK_ROLE_OWNER, &owner) != ACTORS_OK) {
        brk_core_error(core, m->rid, m->delim, m->hdr, ACTORS_ENOMEM, name,
            "broker out of memory");
        return;
    }
    uint32_t si;
    sup_entry_t *se = NULL;
    actors_err rc = brk_slots_alloc(&core->slots, &si);
    if (rc == ACTORS_OK) {
        rc = brk_core_reserve(core, name, strlen(name), &ei);
        if (rc != ACTORS_OK) {
            brk_slots_free(&core->slots, si);
        }
    }
    if (rc == ACTORS_OK && ((se = sup_entry(self, ei)) == NULL ||
                               sup_set_spec(se, zmq_msg_data(&m->arg[0]),
                                   zmq_msg_size(&m->arg[0])) != ACTORS_OK)) {
        brk_slots_free(&core->slots, si);
        rc = ACTORS_ENOMEM;
    }
    if (rc != ACTORS_OK) {
        brk_core_error(core, m->rid, m->delim, m->hdr, ACTORS_ENOMEM, name,
            "broker out of memory");
        return;
    }
    brk_entry_t *e = brk_registry_at(&core->reg, ei);
    (void)brk_registry_set_service(
        &core->reg, ei, sp.service, strlen(sp.service));
    e = brk_registry_at(&core->reg, ei);
    e->pid = 0;
    e->cause[0] = '\0';
    e->redeliver = sup_clamp32(sp.mtr);
    e->mailbox_cap = core->opts.mailbox;
    se->starting = 1;
    se->is_stopped = 0;
    se->is_killed = 0;
    se->node = ni;
    se->restarts = 0;
    se->cause[0] = '\0';
    se->max_restarts = sup_clamp32(sp.max_restarts);
    se->owner = owner;
    brk_slot_t *s = brk_slots_at(&core->slots, si);
    zmq_msg_move(&s->rid, m->rid);
    zmq_msg_move(&s->hdr, m->hdr);
    s->delim = m->delim;
    s->entry = ei;
    if (m->h.timeout_ms > 0) {
        (void)brk_core_slot_deadline(core, si, m->h.timeout_ms);
    }
    ACTORS_LOG(ACTORS_LOG_NOTICE, "BRK-SPAWN",
        "address=%s service=%s node=%s detached=%d spawning", name, sp.service,
        brk_nodes_at(&self->nodes, ni)->name, sp.detached);
    zmq_msg_t addr;
    brk_core_body_from(&addr, name, strlen(name));
    /* The secret the started process shows in its REGISTER: nobody else
     * may register the address while it is starting. */
    (void)sup_claim_new(se);
    sup_relay(self, si, ni, ACTORS_CMD_SPAWN, &addr, &m->arg[0], se->claim);
    zmq_msg_close(&addr);
}

void
sup_on_kill(void *arg, brk_broker_t *core, const brk_in_t *m)
{
    sup_t *self = arg;
    if (m->nargs != 2) {
        brk_core_bad(core, m, "KILL needs frames: header address map");
        return;
    }
    char name[256];
    brk_core_frame_str(&m->arg[0], name, sizeof name);
    uint32_t ei = brk_registry_find(
        &core->reg, zmq_msg_data(&m->arg[0]), zmq_msg_size(&m->arg[0]));
    if (ei == BRK_NONE ||
        brk_registry_at(&core->reg, ei)->state == BRK_ENTRY_DEAD) {
        brk_core_error(core, m->rid, m->delim, m->hdr, ACTORS_ENOACTOR, name,
            "no live actor at address %s", name);
        return;
    }
    sup_entry_t *se = sup_peek(self, ei);
    if (se == NULL || se->node == BRK_NONE) {
        brk_core_error(core, m->rid, m->delim, m->hdr, ACTORS_ENOACTOR, name,
            "actor %s is not supervised (no node runs it)", name);
        return;
    }
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    if (sup_map(&m->arg[1], &up)) {
        /* Killed for good (no restart, or a graceful stop): its home node
         * must not bring it back. */
        const msgpack_object *r = actors_map_get(&up.data, "restart");
        se->is_killed = (r != NULL && !sup_get_bool(&up.data, "restart")) ||
                        sup_get_bool(&up.data, "graceful");
    }
    msgpack_unpacked_destroy(&up);
    uint32_t ni = se->node;
    uint32_t si;
    if (brk_slots_alloc(&core->slots, &si) != ACTORS_OK) {
        brk_core_error(core, m->rid, m->delim, m->hdr, ACTORS_ENOMEM, name,
            "broker out of memory");
        return;
    }
    brk_slot_t *s = brk_slots_at(&core->slots, si);
    zmq_msg_move(&s->rid, m->rid);
    zmq_msg_move(&s->hdr, m->hdr);
    s->delim = m->delim;
    s->entry = ei;
    ACTORS_LOG(ACTORS_LOG_NOTICE, "BRK-KILL", "address=%s node=%s relaying",
        name, brk_nodes_at(&self->nodes, ni)->name);
    sup_relay(self, si, ni, ACTORS_CMD_KILL, &m->arg[0], &m->arg[1], NULL);
}

void
sup_on_node_answer(sup_t *self, uint32_t si, const brk_in_t *m)
{
    brk_broker_t *core = self->core;
    brk_slot_t *s = brk_slots_at(&core->slots, si);
    uint32_t ei = s->entry;
    uint32_t ni = sup_sender_node(self, m);
    /* Only the node the request was relayed to may answer it: the entry
     * may have moved to another node meanwhile, and the slot is on the
     * pending list of the node it went to. */
    if (ni == BRK_NONE || s->relayed != ni) {
        if (ni == BRK_NONE) {
            brk_core_bad(core, m, "REPLY/ERROR matches no call sent to you");
        } else {
            sup_forbidden(self, ni,
                s->cmd == ACTORS_CMD_SPAWN ? "SPAWN answer" : "KILL answer",
                brk_registry_at(&core->reg, ei)->address,
                "dropped: the request went to another node");
        }
        return;
    }
    brk_mailbox_remove(
        &brk_nodes_at(&self->nodes, ni)->pending, &core->slots, si);
    s->state = BRK_SLOT_HELD;
    bool is_error = m->h.cmd == ACTORS_CMD_ERROR;
    if (s->cmd == SUP_CMD_SPAWN_MEMBER && is_error) {
        char text[256] = "the node refused";
        actors_error_t *err = NULL;
        if (m->nargs == 1 && actors__error_parse(zmq_msg_data(&m->arg[0]),
                                 zmq_msg_size(&m->arg[0]), &err) == ACTORS_OK) {
            snprintf(text, sizeof text, "%s: %s", actors_error_type(err),
                actors_error_message(err));
            actors_error_destroy(&err);
        }
        brk_core_slot_fail(core, si, ACTORS_ESPAWN,
            "node %s could not start a group member: %s",
            brk_nodes_at(&self->nodes, ni)->name, text);
        return;
    }
    if (s->cmd == ACTORS_CMD_KILL || s->cmd == SUP_CMD_SPAWN_MEMBER) {
        brk_core_slot_unheap(core, si);
        if (!s->answered && m->nargs == 1) {
            brk_core_answer(
                core, &s->rid, s->delim, &s->hdr, m->h.cmd, &m->arg[0]);
        }
        brk_slots_free(&core->slots, si);
        return;
    }
    brk_entry_t *e = brk_registry_at(&core->reg, ei);
    sup_entry_t *se = sup_peek(self, ei);
    if (is_error) {
        char text[256] = "the node refused";
        actors_error_t *err = NULL;
        if (m->nargs == 1 && actors__error_parse(zmq_msg_data(&m->arg[0]),
                                 zmq_msg_size(&m->arg[0]), &err) == ACTORS_OK) {
            snprintf(text, sizeof text, "%s: %s", actors_error_type(err),
                actors_error_message(err));
            actors_error_destroy(&err);
        }
        ACTORS_LOG(ACTORS_LOG_WARN, "BRK-SPAWN-FAILED", "address=%s node=%s %s",
            e->address, brk_nodes_at(&self->nodes, ni)->name, text);
        char why[800];
        snprintf(why, sizeof why, "node %s could not start %s: %s",
            brk_nodes_at(&self->nodes, ni)->name, e->address, text);
        brk_core_slot_fail(core, si, ACTORS_ESPAWN, "%s", why);
        e = brk_registry_at(&core->reg, ei);
        if (e->state == BRK_ENTRY_HELD && se != NULL && se->starting &&
            se->node == ni) {
            brk_core_bury(core, ei, ACTORS_EDEAD, why);
        }
        return;
    }
    if (e->state == BRK_ENTRY_RUNNING) {
        sup_spawn_answer(self, si, ei);
    } else if (s->answered || se == NULL || se->spawn_slot != BRK_NONE ||
               e->state == BRK_ENTRY_DEAD) {
        brk_core_slot_unheap(core, si);
        brk_slots_free(&core->slots, si);
    } else {
        se->spawn_slot = si;
    }
}

void
sup_spawn_expired(sup_t *self, uint32_t si)
{
    brk_broker_t *core = self->core;
    brk_slot_t *s = brk_slots_at(&core->slots, si);
    uint32_t ei = s->entry;
    brk_entry_t *e = brk_registry_at(&core->reg, ei);
    uint32_t ms = brk_core_hdr_timeout(&s->hdr);
    if (!s->answered) {
        s->answered = 1;
        brk_core_error(core, &s->rid, s->delim, &s->hdr, ACTORS_ETIMEDOUT,
            e->address, "actor %s did not start within %u ms; it is stopped",
            e->address, ms);
    }
    sup_entry_t *se = sup_peek(self, ei);
    e = brk_registry_at(&core->reg, ei);
    if (se == NULL || e->state == BRK_ENTRY_FREE ||
        e->state == BRK_ENTRY_DEAD || se->node == BRK_NONE) {
        return;
    }
    /* The client was told it failed: the actor must not run behind its
     * back. The node stops the process and reports it stopped. */
    ACTORS_LOG(ACTORS_LOG_NOTICE, "BRK-SPAWN-TIMEOUT",
        "address=%s node=%s timeout_ms=%u stopping it", e->address,
        brk_nodes_at(&self->nodes, se->node)->name, ms);
    se->max_restarts = 0;
    sup_kill_quiet(self, ei, false);
    if (se->spawn_slot == si) {
        se->spawn_slot = BRK_NONE;
        brk_slots_free(&core->slots, si);
    }
}
