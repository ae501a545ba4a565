/* broker/spawn.c - SPAWN and KILL from clients, relayed to nodes.
 * SPDX-License-Identifier: MIT
 *
 * A client's SPAWN reserves the address at once (entry STARTING, so two
 * clients cannot both create a name), picks the node (named, or the one
 * with the fewest actors), and is relayed to it with the slot's tag as
 * request id; the slot keeps the client's routing id and header on the
 * node's pending list. The node's REPLY moves the slot onto the entry
 * (spawn_slot) until the actor REGISTERs (spawn_answer); its ERROR
 * becomes SpawnFailed. KILL is relayed the same way and the node's answer
 * forwarded as it is. See lifecycle.c for the rest of the lifecycle.
 */
#include "spawn.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <actors/log.h>

#include "lifecycle.h"
#include "mailbox.h"

/* spawn_answer answers slot si's client with {address, node, pid,
 * existed:false} for entry ei and frees the slot. */
void
spawn_answer(brk_broker_t *self, uint32_t si, uint32_t ei)
{
    broker_slot_unheap(self, si);
    brk_slot_t *s = brk_slots_at(&self->slots, si);
    if (!s->answered) {
        brk_entry_t *e = brk_registry_at(&self->reg, ei);
        msgpack_packer *pk = &self->pk;
        bool owned = e->owner_fd >= 0;
        msgpack_pack_map(pk, owned ? 6 : 4);
        if (owned) {
            /* The owner's routing id and the heartbeat interval, for the
             * HEARTBEATs that keep its actors (owners.h). */
            broker_pack_str(pk, "owner");
            msgpack_pack_bin(pk, zmq_msg_size(&s->rid));
            msgpack_pack_bin_body(
                pk, zmq_msg_data(&s->rid), zmq_msg_size(&s->rid));
            broker_pack_str(pk, "heartbeat_ms");
            msgpack_pack_uint32(pk, self->opts.heartbeat_ms);
        }
        broker_pack_str(pk, "address");
        broker_pack_str(pk, e->address);
        broker_pack_str(pk, "node");
        const char *node = lifecycle_node_name(self, e);
        broker_pack_str(pk, node ? node : "");
        broker_pack_str(pk, "pid");
        msgpack_pack_int64(pk, e->pid);
        broker_pack_str(pk, "existed");
        msgpack_pack_false(pk);
        zmq_msg_t body;
        broker_pack_body(self, &body);
        broker_answer(
            self, &s->rid, s->delim, &s->hdr, ACTORS_CMD_REPLY, &body);
        zmq_msg_close(&body);
    }
    brk_slots_free(&self->slots, si);
}

/* ------------------------------------------------------------ SPAWN */

/* s_reply_existing answers the current SPAWN with the existing entry. */
static void
s_reply_existing(brk_broker_t *self, const brk_in_t *m, const brk_entry_t *e)
{
    msgpack_packer *pk = &self->pk;
    msgpack_pack_map(pk, 4);
    broker_pack_str(pk, "address");
    broker_pack_str(pk, e->address);
    broker_pack_str(pk, "node");
    const char *node = lifecycle_node_name(self, e);
    broker_pack_str(pk, node ? node : "");
    broker_pack_str(pk, "pid");
    msgpack_pack_int64(pk, e->pid);
    broker_pack_str(pk, "existed");
    msgpack_pack_true(pk);
    broker_reply_packed(self, m);
}

static uint32_t
s_rand(brk_broker_t *self)
{
    if (self->rng == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        self->rng = (uint32_t)ts.tv_nsec ^ (uint32_t)ts.tv_sec ^ 0x9e3779b9u;
        if (self->rng == 0) {
            self->rng = 1;
        }
    }
    uint32_t x = self->rng;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    self->rng = x;
    return x;
}

void
spawn_on_spawn(brk_broker_t *self, const brk_in_t *m)
{
    if (m->nargs != 1) {
        broker_bad(self, m, "SPAWN needs frames: header spec");
        return;
    }
    broker_settle_fds(self); /* the owner's fd is recorded below */
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    char service[256] = "";
    char name[256] = "";
    char node[BRK_NODE_NAME_MAX + 1] = "";
    bool ok = lifecycle_map(&m->arg[0], &up) &&
              lifecycle_get_str(&up.data, "service", service, sizeof service);
    bool detached = false;
    bool get_if_exists = false;
    int64_t mtr = 0;
    int64_t max_restarts = 0;
    if (ok) {
        lifecycle_get_str(&up.data, "name", name, sizeof name);
        lifecycle_get_str(&up.data, "node", node, sizeof node);
        detached = lifecycle_get_bool(&up.data, "detached");
        get_if_exists = lifecycle_get_bool(&up.data, "get_if_exists");
        mtr = lifecycle_get_int(&up.data, "max_task_retries", 0);
        max_restarts = lifecycle_get_int(&up.data, "max_restarts", 0);
    }
    msgpack_unpacked_destroy(&up);
    if (!ok || strchr(service, '/') != NULL) {
        broker_bad(self, m, "SPAWN spec must be a map with service: str");
        return;
    }
    uint32_t ei = BRK_NONE;
    if (name[0]) {
        ei = brk_registry_find(&self->reg, name, strlen(name));
        if (ei != BRK_NONE &&
            brk_registry_at(&self->reg, ei)->state != BRK_ENTRY_DEAD) {
            if (get_if_exists) {
                s_reply_existing(self, m, brk_registry_at(&self->reg, ei));
            } else {
                broker_error(self, m->rid, m->delim, m->hdr, ACTORS_ETAKEN,
                    name, "address %s is taken", name);
            }
            return;
        }
    } else {
        do {
            snprintf(name, sizeof name, "%.200s/%08x", service, s_rand(self));
        } while (brk_registry_find(&self->reg, name, strlen(name)) != BRK_NONE);
    }
    uint32_t ni;
    if (node[0]) {
        ni = brk_nodes_find_name(&self->nodes, node);
    } else {
        lifecycle_compute_loads(self);
        ni = brk_nodes_pick(&self->nodes, BRK_NONE);
    }
    if (ni == BRK_NONE) {
        broker_error(self, m->rid, m->delim, m->hdr, ACTORS_ENONODE, name,
            node[0] ? "no live node is called %s" : "no node is registered%s",
            node);
        return;
    }
    uint32_t si;
    if (brk_slots_alloc(&self->slots, &si) != ACTORS_OK) {
        broker_error(self, m->rid, m->delim, m->hdr, ACTORS_ENOMEM, name,
            "broker out of memory");
        return;
    }
    size_t alen = strlen(name);
    actors_err rc = ACTORS_OK;
    if (ei == BRK_NONE) {
        rc = brk_registry_add(&self->reg, name, alen, &ei);
    } else {
        brk_registry_revive(&self->reg, ei);
    }
    if (rc == ACTORS_OK) {
        rc = brk_registry_set_spec(
            &self->reg, ei, zmq_msg_data(&m->arg[0]), zmq_msg_size(&m->arg[0]));
        if (rc != ACTORS_OK) {
            brk_registry_remove(&self->reg, ei);
        }
    }
    if (rc != ACTORS_OK) {
        brk_slots_free(&self->slots, si);
        broker_error(self, m->rid, m->delim, m->hdr, ACTORS_ENOMEM, name,
            "broker out of memory");
        return;
    }
    brk_entry_t *e = brk_registry_at(&self->reg, ei);
    (void)brk_registry_set_service(&self->reg, ei, service, strlen(service));
    e->state = BRK_ENTRY_STARTING;
    e->is_stopped = 0;
    e->node = ni;
    e->pid = 0;
    e->restarts = 0;
    e->cause[0] = '\0';
    e->max_task_retries = lifecycle_clamp32(mtr);
    e->max_restarts = lifecycle_clamp32(max_restarts);
    e->owner_fd = detached ? -1 : zmq_msg_get(m->hdr, ZMQ_SRCFD);
    if (!detached) {
        (void)brk_owners_note(&self->owners, e->owner_fd, zmq_msg_data(m->rid),
            zmq_msg_size(m->rid));
    }
    e->mailbox_cap = self->opts.mailbox;
    if (e->prefetch == 0) {
        e->prefetch = 1;
    }

    brk_slot_t *s = brk_slots_at(&self->slots, si);
    zmq_msg_move(&s->rid, m->rid);
    zmq_msg_move(&s->hdr, m->hdr);
    s->delim = m->delim;
    s->entry = ei;
    if (m->h.timeout_ms > 0) {
        s->deadline = self->now + m->h.timeout_ms;
        if (brk_deadlines_push(&self->deadlines, s->deadline, si) !=
            ACTORS_OK) {
            s->deadline = 0;
        }
    }
    ACTORS_LOG(ACTORS_LOG_NOTICE, "BRK-SPAWN",
        "address=%s service=%s node=%s detached=%d spawning", name, service,
        brk_nodes_at(&self->nodes, ni)->name, detached);
    zmq_msg_t addr;
    broker_body_from(&addr, name, alen);
    lifecycle_relay(self, si, ni, ACTORS_CMD_SPAWN, &addr, &m->arg[0]);
    zmq_msg_close(&addr);
}

/* ------------------------------------------------------------ KILL */

void
spawn_on_kill(brk_broker_t *self, const brk_in_t *m)
{
    if (m->nargs != 2) {
        broker_bad(self, m, "KILL needs frames: header address map");
        return;
    }
    char name[256];
    broker_frame_str(&m->arg[0], name, sizeof name);
    uint32_t ei = brk_registry_find(
        &self->reg, zmq_msg_data(&m->arg[0]), zmq_msg_size(&m->arg[0]));
    if (ei == BRK_NONE ||
        brk_registry_at(&self->reg, ei)->state == BRK_ENTRY_DEAD) {
        broker_error(self, m->rid, m->delim, m->hdr, ACTORS_ENOACTOR, name,
            "no live actor at address %s", name);
        return;
    }
    uint32_t ni = brk_registry_at(&self->reg, ei)->node;
    if (ni == BRK_NONE) {
        broker_error(self, m->rid, m->delim, m->hdr, ACTORS_ENOACTOR, name,
            "actor %s is not supervised (no node runs it)", name);
        return;
    }
    uint32_t si;
    if (brk_slots_alloc(&self->slots, &si) != ACTORS_OK) {
        broker_error(self, m->rid, m->delim, m->hdr, ACTORS_ENOMEM, name,
            "broker out of memory");
        return;
    }
    brk_slot_t *s = brk_slots_at(&self->slots, si);
    zmq_msg_move(&s->rid, m->rid);
    zmq_msg_move(&s->hdr, m->hdr);
    s->delim = m->delim;
    s->entry = ei;
    ACTORS_LOG(ACTORS_LOG_NOTICE, "BRK-KILL", "address=%s node=%s relaying",
        name, brk_nodes_at(&self->nodes, ni)->name);
    lifecycle_relay(self, si, ni, ACTORS_CMD_KILL, &m->arg[0], &m->arg[1]);
}

void
spawn_on_node_answer(brk_broker_t *self, const brk_in_t *m, uint32_t si)
{
    brk_slot_t *s = brk_slots_at(&self->slots, si);
    uint32_t ei = s->entry;
    uint32_t ni = lifecycle_sender_node(self);
    /* Only the node the request was relayed to may answer it: the entry
     * may have moved to another node meanwhile, and the slot is on the
     * pending list of the node it went to. */
    if (ni == BRK_NONE || s->node != ni) {
        if (!lifecycle_node_msg(self, m)) {
            broker_bad(self, m, "REPLY/ERROR matches no call sent to you");
        }
        return;
    }
    brk_nodes_at(&self->nodes, ni)->last_recv = self->now;
    brk_mailbox_remove(
        &brk_nodes_at(&self->nodes, ni)->pending, &self->slots, si);
    s->state = BRK_SLOT_HELD;
    bool is_error = m->h.cmd == ACTORS_CMD_ERROR;
    if (s->cmd == ACTORS_CMD_KILL) {
        broker_slot_unheap(self, si);
        if (!s->answered && m->nargs == 1) {
            broker_answer(
                self, &s->rid, s->delim, &s->hdr, m->h.cmd, &m->arg[0]);
        }
        brk_slots_free(&self->slots, si);
        return;
    }
    brk_entry_t *e = brk_registry_at(&self->reg, ei);
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
        broker_slot_fail(self, si, ACTORS_ESPAWN, "%s", why);
        e = brk_registry_at(&self->reg, ei);
        if (e->state == BRK_ENTRY_STARTING && e->node == ni) {
            broker_entry_down(self, ei, ACTORS_EDEAD, why);
        }
        return;
    }
    if (e->state == BRK_ENTRY_RUNNING) {
        spawn_answer(self, si, ei);
    } else if (s->answered || e->spawn_slot != BRK_NONE ||
               e->state == BRK_ENTRY_DEAD) {
        broker_slot_unheap(self, si);
        brk_slots_free(&self->slots, si);
    } else {
        e->spawn_slot = si;
    }
}
