/* broker/lifecycle.c - nodes, spawn, kill, supervised restarts, events.
 * SPDX-License-Identifier: MIT
 *
 * Design. A node is a supervisor's connection (nodes.h). An address a
 * node reported (STATE) or that was spawned on a node is "supervised":
 * its entry records the node, the spec (to re-create it elsewhere), its
 * max_task_retries and max_restarts, the restarts and the last cause.
 *
 * A supervised actor's death does not bury its address: the entry goes
 * to RESTARTING and keeps its mailbox. Its in-flight calls that may be
 * retried (attempts < max_task_retries, or -1) go back to the front of
 * the mailbox in their order (their frames were kept at dispatch); the
 * others wait on the in-flight list ("held") for the node's STATE, whose
 * cause ("signal 9 (SIGKILL)") goes into their ActorCrashed, or, when
 * no STATE comes within liveness heartbeats, "connection lost". REGISTER
 * makes the entry RUNNING again and the mailbox flows; STATE dead or
 * stopped buries it (callers ActorDead with the cause).
 *
 * SPAWN and KILL from clients are in spawn.c; they relay requests to a
 * node with lifecycle_relay. A node's loss re-creates its restartable
 * actors elsewhere by the same relay, with slots no client waits on.
 *
 * Owned actors remember the fd of their spawner's connection; when the
 * socket monitor reports it closed, they are killed with no restart.
 */
#include "lifecycle.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <actors/log.h>

#include "mailbox.h"
#include "spawn.h"
#include "unpack.h"

#define LC_MAP_MAX 65536 /* spec, state and event maps */
#define LC_CAUSE_LOST "connection lost"

/* ------------------------------------------------------------ helpers */

/* lifecycle_map decodes frame f as a msgpack map into up. */
bool
lifecycle_map(zmq_msg_t *f, msgpack_unpacked *up)
{
    size_t n = zmq_msg_size(f);
    return n <= LC_MAP_MAX &&
           actors__unpack_next(up, zmq_msg_data(f), n, NULL) ==
               MSGPACK_UNPACK_SUCCESS &&
           up->data.type == MSGPACK_OBJECT_MAP;
}

/* lifecycle_get_str copies string key of map into buf ("" if absent or not a
 * string). Returns whether it was a non-empty string. */
bool
lifecycle_get_str(
    const msgpack_object *map, const char *key, char *buf, size_t cap)
{
    const char *p = NULL;
    size_t n = 0;
    buf[0] = '\0';
    if (actors_value_str(actors_map_get(map, key), &p, &n) != ACTORS_OK) {
        return false;
    }
    if (n >= cap) {
        n = cap - 1;
    }
    memcpy(buf, p, n);
    buf[n] = '\0';
    return n > 0;
}

int64_t
lifecycle_get_int(const msgpack_object *map, const char *key, int64_t dflt)
{
    int64_t v = dflt;
    if (actors_value_int(actors_map_get(map, key), &v) != ACTORS_OK) {
        return dflt;
    }
    return v;
}

bool
lifecycle_get_bool(const msgpack_object *map, const char *key)
{
    bool b = false;
    const msgpack_object *v = actors_map_get(map, key);
    if (actors_value_bool(v, &b) == ACTORS_OK) {
        return b;
    }
    int64_t n = 0;
    return actors_value_int(v, &n) == ACTORS_OK && n != 0;
}

int32_t
lifecycle_clamp32(int64_t v)
{
    return v < -1 ? -1 : (v > INT32_MAX ? INT32_MAX : (int32_t)v);
}

/* lifecycle_sender_node returns the node that sent the current message. */
uint32_t
lifecycle_sender_node(brk_broker_t *self)
{
    zmq_msg_t *rid = &self->in[0];
    return brk_nodes_find_rid(
        &self->nodes, zmq_msg_data(rid), zmq_msg_size(rid));
}

/* s_node_send sends header(cmd, id) + addr + body to node ni. addr and
 * body are consumed (either may be NULL: not sent). */
static bool
s_node_send(brk_broker_t *self, uint32_t ni, uint8_t cmd, const void *id,
    size_t id_len, zmq_msg_t *addr, zmq_msg_t *body)
{
    brk_node_t *n = brk_nodes_at(&self->nodes, ni);
    zmq_msg_t rid;
    zmq_msg_t hdr;
    zmq_msg_init_size(&rid, n->rid_len);
    memcpy(zmq_msg_data(&rid), n->rid, n->rid_len);
    zmq_msg_init_size(&hdr, ACTORS_WIRE_HDR_MIN + id_len);
    actors__hdr_write(zmq_msg_data(&hdr), cmd, 0, id, id_len);
    zmq_msg_t *f[4] = {&rid, &hdr, addr, body};
    int nf = 2;
    if (addr != NULL) {
        f[nf++] = addr;
    }
    if (body != NULL) {
        f[nf++] = body;
    }
    n->last_send = self->now;
    bool ok = broker_send(self, f, nf);
    zmq_msg_close(&rid);
    zmq_msg_close(&hdr);
    return ok;
}

/* lifecycle_relay sends slot si's request (cmd, with the slot's tag as request
 * id) to node ni and puts the slot on the node's pending list. */
void
lifecycle_relay(brk_broker_t *self, uint32_t si, uint32_t ni, uint8_t cmd,
    zmq_msg_t *addr, zmq_msg_t *body)
{
    uint8_t tag[BRK_TAG_LEN];
    brk_slots_tag(&self->slots, si, tag);
    brk_slot_t *s = brk_slots_at(&self->slots, si);
    s->cmd = cmd;
    s->state = BRK_SLOT_NODE;
    s->node = ni;
    brk_mailbox_push(
        &brk_nodes_at(&self->nodes, ni)->pending, &self->slots, si, UINT32_MAX);
    s_node_send(self, ni, cmd, tag, BRK_TAG_LEN, addr, body);
}

/* s_send_spawn relays slot si as a SPAWN of entry ei (its stored spec)
 * to node ni. */
static void
s_send_spawn(brk_broker_t *self, uint32_t si, uint32_t ei, uint32_t ni)
{
    brk_entry_t *e = brk_registry_at(&self->reg, ei);
    zmq_msg_t addr;
    zmq_msg_t spec;
    broker_body_from(&addr, e->address, e->address_len);
    if (e->spec != NULL) {
        broker_body_from(&spec, e->spec, e->spec_len);
    } else {
        static const uint8_t empty_map = 0x80;
        broker_body_from(&spec, &empty_map, 1);
    }
    lifecycle_relay(self, si, ni, ACTORS_CMD_SPAWN, &addr, &spec);
    zmq_msg_close(&addr);
    zmq_msg_close(&spec);
}

/* lifecycle_compute_loads counts the live actors placed on each node. */
void
lifecycle_compute_loads(brk_broker_t *self)
{
    for (uint32_t i = 0; i < self->nodes.used; i++) {
        brk_nodes_at(&self->nodes, i)->load = 0;
    }
    for (uint32_t i = 0; i < self->reg.used; i++) {
        brk_entry_t *e = brk_registry_at(&self->reg, i);
        if (e->state != BRK_ENTRY_FREE && e->state != BRK_ENTRY_DEAD &&
            e->node != BRK_NONE) {
            brk_nodes_at(&self->nodes, e->node)->load++;
        }
    }
}

static const char *
s_state_name(const brk_entry_t *e)
{
    switch (e->state) {
    case BRK_ENTRY_RUNNING:
        return "running";
    case BRK_ENTRY_STARTING:
        return "starting";
    case BRK_ENTRY_RESTARTING:
        return "restarting";
    default:
        return e->is_stopped ? "stopped" : "dead";
    }
}

const char *
lifecycle_node_name(brk_broker_t *self, const brk_entry_t *e)
{
    return e->node == BRK_NONE ? NULL
                               : brk_nodes_at(&self->nodes, e->node)->name;
}

void
lifecycle_pack_entry(brk_broker_t *self, const brk_entry_t *e)
{
    msgpack_packer *pk = &self->pk;
    msgpack_pack_map(pk, 10);
    broker_pack_str(pk, "address");
    broker_pack_str(pk, e->address);
    broker_pack_str(pk, "service");
    broker_pack_str(pk, e->service);
    broker_pack_str(pk, "pid");
    msgpack_pack_int64(pk, e->pid);
    broker_pack_str(pk, "state");
    broker_pack_str(pk, s_state_name(e));
    broker_pack_str(pk, "mailbox");
    msgpack_pack_uint32(pk, e->mailbox.count);
    broker_pack_str(pk, "inflight");
    msgpack_pack_uint64(pk, (uint64_t)e->calls_out + e->tells_out);
    broker_pack_str(pk, "handled");
    msgpack_pack_uint64(pk, e->handled);
    broker_pack_str(pk, "node");
    const char *node = lifecycle_node_name(self, e);
    if (node != NULL) {
        broker_pack_str(pk, node);
    } else {
        msgpack_pack_nil(pk);
    }
    broker_pack_str(pk, "restarts");
    msgpack_pack_int32(pk, e->restarts);
    broker_pack_str(pk, "cause");
    broker_pack_str(pk, e->cause);
}

/* ------------------------------------------------------------ restarts */

/* s_settle answers the held in-flight calls of entry ei: ActorCrashed
 * with cause. */
static void
s_settle(brk_broker_t *self, uint32_t ei, const char *cause)
{
    brk_entry_t *e = brk_registry_at(&self->reg, ei);
    char address[256];
    snprintf(address, sizeof address, "%s", e->address);
    uint32_t si;
    while ((si = brk_mailbox_pop(&e->inflight, &self->slots)) != BRK_NONE) {
        broker_slot_fail(self, si, ACTORS_ECRASHED,
            "actor %s died while handling the call: %s", address, cause);
        e = brk_registry_at(&self->reg, ei);
    }
    e->is_held = 0;
}

/* s_restarting moves live entry ei (running or not) to RESTARTING: the
 * mailbox stays, retryable in-flight calls go back to its front in
 * order, the others are answered now when the cause is known, else held
 * for it. The entry leaves its peer. */
static void
s_restarting(brk_broker_t *self, uint32_t ei, const char *cause, bool known)
{
    brk_entry_t *e = brk_registry_at(&self->reg, ei);
    uint32_t retried = 0;
    uint32_t si = e->inflight.tail;
    while (si != BRK_NONE) {
        brk_slot_t *s = brk_slots_at(&self->slots, si);
        uint32_t prev = s->prev;
        bool kept = s->kept; /* frames kept for a retry */
        if (!s->answered && kept &&
            (e->max_task_retries < 0 || s->attempts < e->max_task_retries)) {
            brk_mailbox_remove(&e->inflight, &self->slots, si);
            s->attempts++;
            s->state = BRK_SLOT_QUEUED;
            brk_mailbox_push_front(&e->mailbox, &self->slots, si);
            retried++;
        }
        si = prev;
    }
    e->calls_out = 0;
    e->tells_out = 0;
    broker_peer_unlink(self, ei);
    if (e->state == BRK_ENTRY_RUNNING) {
        self->running--;
    }
    e->state = BRK_ENTRY_RESTARTING;
    ACTORS_LOG(ACTORS_LOG_NOTICE, "BRK-ACTOR-RESTARTING",
        "address=%s cause=\"%s\" retried=%u held=%u mailbox=%u waiting for "
        "the node",
        e->address, cause, retried, e->inflight.count, e->mailbox.count);
    if (brk_mailbox_empty(&e->inflight)) {
        return;
    }
    if (known) {
        s_settle(self, ei, cause);
    } else {
        e->is_held = 1;
        e->held_since = self->now;
    }
}

bool
lifecycle_crashed(brk_broker_t *self, uint32_t ei, const char *reason)
{
    brk_entry_t *e = brk_registry_at(&self->reg, ei);
    if (e->node == BRK_NONE || e->state != BRK_ENTRY_RUNNING) {
        return false;
    }
    s_restarting(self, ei, reason, false);
    return true;
}

void
lifecycle_registered(brk_broker_t *self, uint32_t ei)
{
    brk_entry_t *e = brk_registry_at(&self->reg, ei);
    e->is_stopped = 0;
    if (e->is_held) {
        s_settle(self, ei, e->cause[0] ? e->cause : LC_CAUSE_LOST);
        e = brk_registry_at(&self->reg, ei);
    }
    if (e->spawn_slot != BRK_NONE) {
        uint32_t si = e->spawn_slot;
        e->spawn_slot = BRK_NONE;
        spawn_answer(self, si, ei);
    }
}

static void s_kill_quiet(brk_broker_t *self, uint32_t ei);

/* s_peer_drop removes peer pi if it serves no address any more (its
 * process is gone; a late DISCONNECTED then matches nothing). */
static void
s_peer_drop(brk_broker_t *self, uint32_t pi)
{
    if (pi != BRK_NONE &&
        brk_peers_at(&self->peers, pi)->first_entry == BRK_NONE) {
        brk_peers_remove(&self->peers, pi);
    }
}

/* ------------------------------------------------------------ NODE */

void
lifecycle_on_node(brk_broker_t *self, const brk_in_t *m)
{
    if (m->nargs != 1) {
        broker_bad(self, m, "NODE needs frames: header info");
        return;
    }
    /* The node's fd is recorded below: settle older drops first, or one of
     * them would be taken for this node's (fd reuse). */
    broker_settle_fds(self);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    char name[BRK_NODE_NAME_MAX + 1] = "";
    int64_t pid = 0;
    bool ok = lifecycle_map(&m->arg[0], &up) &&
              lifecycle_get_str(&up.data, "node", name, sizeof name);
    if (ok) {
        pid = lifecycle_get_int(&up.data, "pid", 0);
    }
    msgpack_unpacked_destroy(&up);
    if (!ok) {
        broker_bad(self, m, "NODE info must be a map {node: str, pid: int}");
        return;
    }
    int fd = zmq_msg_get(m->hdr, ZMQ_SRCFD);
    uint32_t ni = lifecycle_sender_node(self);
    uint32_t other = brk_nodes_find_name(&self->nodes, name);
    if (other != BRK_NONE && other != ni) {
        ACTORS_LOG(ACTORS_LOG_WARN, "BRK-NODE-TAKEN",
            "node=%s pid=%lld refusing: a live node has that name", name,
            (long long)pid);
        broker_error(self, m->rid, m->delim, m->hdr, ACTORS_ETAKEN, NULL,
            "a live node is called %s", name);
        return;
    }
    if (ni == BRK_NONE) {
        if (brk_nodes_add(&self->nodes, name, zmq_msg_data(m->rid),
                zmq_msg_size(m->rid), fd, self->now, &ni) != ACTORS_OK) {
            broker_error(self, m->rid, m->delim, m->hdr, ACTORS_ENOMEM, NULL,
                "broker out of memory");
            return;
        }
    } else if (strcmp(brk_nodes_at(&self->nodes, ni)->name, name) != 0) {
        broker_error(self, m->rid, m->delim, m->hdr, ACTORS_EBADREQ, NULL,
            "this connection is node %s already",
            brk_nodes_at(&self->nodes, ni)->name);
        return;
    }
    brk_node_t *n = brk_nodes_at(&self->nodes, ni);
    n->pid = pid;
    n->last_recv = self->now;
    if (fd >= 0) {
        n->fd = fd;
    }
    ACTORS_LOG(ACTORS_LOG_NOTICE, "BRK-NODE",
        "node=%s pid=%lld fd=%d "
        "registered",
        name, (long long)pid, fd);
    msgpack_pack_map(&self->pk, 2);
    broker_pack_str(&self->pk, "heartbeat_ms");
    msgpack_pack_uint32(&self->pk, self->opts.heartbeat_ms);
    broker_pack_str(&self->pk, "liveness");
    msgpack_pack_uint32(&self->pk, self->opts.liveness);
    broker_reply_packed(self, m);
}

bool
lifecycle_node_msg(brk_broker_t *self, const brk_in_t *m)
{
    (void)m;
    uint32_t ni = lifecycle_sender_node(self);
    if (ni == BRK_NONE) {
        return false;
    }
    brk_nodes_at(&self->nodes, ni)->last_recv = self->now;
    return true;
}

/* s_node_lost ends node ni: its pending requests fail, its actors are
 * re-created on another node when their policy allows a restart, else
 * their callers get ActorDead. */
static void
s_node_lost(brk_broker_t *self, uint32_t ni, const char *reason)
{
    char why[320];
    snprintf(why, sizeof why, "node %s lost (%s)",
        brk_nodes_at(&self->nodes, ni)->name, reason);
    ACTORS_LOG(ACTORS_LOG_WARN, "BRK-NODE-LOST", "node=%s cause=\"%s\"",
        brk_nodes_at(&self->nodes, ni)->name, reason);
    uint32_t si;
    while ((si = brk_mailbox_pop(&brk_nodes_at(&self->nodes, ni)->pending,
                &self->slots)) != BRK_NONE) {
        brk_slot_t *s = brk_slots_at(&self->slots, si);
        uint32_t ei = s->entry;
        s->state = BRK_SLOT_HELD;
        if (s->cmd == ACTORS_CMD_SPAWN) {
            brk_entry_t *e = brk_registry_at(&self->reg, ei);
            if (e->spawn_slot == BRK_NONE && !s->answered &&
                e->state == BRK_ENTRY_STARTING) {
                e->spawn_slot = si; /* failed with the entry, below */
                continue;
            }
            broker_slot_fail(self, si, ACTORS_ESPAWN, "%s", why);
        } else {
            broker_slot_fail(self, si, ACTORS_EDEAD, "%s", why);
        }
    }
    lifecycle_compute_loads(self);
    for (uint32_t ei = 0; ei < self->reg.used; ei++) {
        brk_entry_t *e = brk_registry_at(&self->reg, ei);
        if (e->node != ni || e->state == BRK_ENTRY_FREE ||
            e->state == BRK_ENTRY_DEAD) {
            continue;
        }
        bool may = e->spec != NULL && e->spawn_slot == BRK_NONE &&
                   e->max_restarts != 0 &&
                   (e->max_restarts < 0 || e->restarts < e->max_restarts);
        uint32_t target = may ? brk_nodes_pick(&self->nodes, ni) : BRK_NONE;
        uint32_t slot = BRK_NONE;
        if (target != BRK_NONE &&
            brk_slots_alloc(&self->slots, &slot) != ACTORS_OK) {
            target = BRK_NONE;
        }
        if (target == BRK_NONE) {
            broker_entry_down(self, ei, ACTORS_EDEAD, why);
            continue;
        }
        if (e->state == BRK_ENTRY_RUNNING) {
            uint32_t pi = e->peer;
            s_restarting(self, ei, why, true);
            s_peer_drop(self, pi);
        } else if (e->is_held) {
            s_settle(self, ei, why);
        }
        e = brk_registry_at(&self->reg, ei);
        e->state = BRK_ENTRY_STARTING;
        e->node = target;
        e->restarts++;
        e->pid = 0;
        snprintf(e->cause, sizeof e->cause, "%.127s", why);
        brk_nodes_at(&self->nodes, target)->load++;
        ACTORS_LOG(ACTORS_LOG_NOTICE, "BRK-RECREATE",
            "address=%s node=%s restarts=%d re-creating on another node",
            e->address, brk_nodes_at(&self->nodes, target)->name, e->restarts);
        brk_slot_t *s = brk_slots_at(&self->slots, slot);
        s->answered = 1; /* no client waits */
        s->entry = ei;
        s_send_spawn(self, slot, ei, target);
    }
    brk_nodes_remove(&self->nodes, ni);
}

void
lifecycle_conn_gone(brk_broker_t *self, int fd)
{
    if (fd < 0) {
        return;
    }
    uint32_t ni = brk_nodes_find_fd(&self->nodes, fd);
    if (ni != BRK_NONE) {
        s_node_lost(self, ni, LC_CAUSE_LOST);
    }
    brk_owners_forget(&self->owners, fd);
    lifecycle_owner_gone(self, fd, "disconnected");
}

void
lifecycle_owner_gone(brk_broker_t *self, int fd, const char *why)
{
    for (uint32_t ei = 0; ei < self->reg.used; ei++) {
        brk_entry_t *e = brk_registry_at(&self->reg, ei);
        if (e->owner_fd != fd || e->state == BRK_ENTRY_FREE) {
            continue;
        }
        e->owner_fd = -1;
        if (e->state == BRK_ENTRY_DEAD || e->node == BRK_NONE) {
            continue;
        }
        ACTORS_LOG(ACTORS_LOG_NOTICE, "BRK-OWNER-GONE",
            "address=%s node=%s its owner %s; killing it", e->address,
            brk_nodes_at(&self->nodes, e->node)->name, why);
        s_kill_quiet(self, ei);
    }
}

void
lifecycle_spawn_expired(brk_broker_t *self, uint32_t si)
{
    brk_slot_t *s = brk_slots_at(&self->slots, si);
    uint32_t ei = s->entry;
    brk_entry_t *e = brk_registry_at(&self->reg, ei);
    uint32_t ms = broker_hdr_timeout(&s->hdr);
    if (!s->answered) {
        s->answered = 1;
        broker_error(self, &s->rid, s->delim, &s->hdr, ACTORS_ETIMEDOUT,
            e->address, "actor %s did not start within %u ms; it is stopped",
            e->address, ms);
    }
    e = brk_registry_at(&self->reg, ei);
    if (e->state == BRK_ENTRY_FREE || e->state == BRK_ENTRY_DEAD ||
        e->node == BRK_NONE) {
        return;
    }
    /* The client was told it failed: the actor must not run behind its
     * back. Callers waiting in its mailbox get ActorDead now; the node
     * stops the process and reports it stopped. */
    ACTORS_LOG(ACTORS_LOG_NOTICE, "BRK-SPAWN-TIMEOUT",
        "address=%s node=%s timeout_ms=%u stopping it", e->address,
        brk_nodes_at(&self->nodes, e->node)->name, ms);
    s_kill_quiet(self, ei);
    e = brk_registry_at(&self->reg, ei);
    if (e->spawn_slot == si) {
        e->spawn_slot = BRK_NONE;
        brk_slots_free(&self->slots, si);
    }
    e->max_restarts = 0;
}

/* s_kill_quiet asks entry ei's node to kill it for good (SIGKILL, no
 * restart) with no request id: the node's answer matches nothing. */
static void
s_kill_quiet(brk_broker_t *self, uint32_t ei)
{
    brk_entry_t *e = brk_registry_at(&self->reg, ei);
    {
        msgpack_pack_map(&self->pk, 2);
        broker_pack_str(&self->pk, "restart");
        msgpack_pack_false(&self->pk);
        broker_pack_str(&self->pk, "graceful");
        msgpack_pack_false(&self->pk);
        zmq_msg_t body;
        zmq_msg_t addr;
        broker_pack_body(self, &body);
        broker_body_from(&addr, e->address, e->address_len);
        /* No request id: the node's answer matches nothing and is dropped. */
        s_node_send(self, e->node, ACTORS_CMD_KILL, NULL, 0, &addr, &body);
        zmq_msg_close(&addr);
        zmq_msg_close(&body);
    }
}

void
lifecycle_tick(brk_broker_t *self)
{
    int64_t silence = (int64_t)self->opts.liveness * self->opts.heartbeat_ms;
    for (uint32_t ni = 0; ni < self->nodes.used; ni++) {
        brk_node_t *n = brk_nodes_at(&self->nodes, ni);
        if (n->rid_len == 0) {
            continue;
        }
        if (self->now - n->last_recv > silence) {
            s_node_lost(self, ni, "heartbeats missed");
            continue;
        }
        if (self->now - n->last_send >= self->opts.heartbeat_ms) {
            s_node_send(self, ni, ACTORS_CMD_HEARTBEAT, NULL, 0, NULL, NULL);
        }
    }
    if (self->nodes.used == 0) {
        return;
    }
    for (uint32_t ei = 0; ei < self->reg.used; ei++) {
        brk_entry_t *e = brk_registry_at(&self->reg, ei);
        if (e->is_held && self->now - e->held_since > silence) {
            s_settle(self, ei, e->cause[0] ? e->cause : LC_CAUSE_LOST);
        }
    }
}

/* ------------------------------------------------------------ STATE */

void
lifecycle_on_state(brk_broker_t *self, const brk_in_t *m)
{
    uint32_t ni = lifecycle_sender_node(self);
    if (ni == BRK_NONE) {
        broker_bad(self, m, "STATE is for nodes; send NODE first");
        return;
    }
    if (m->nargs != 2 || zmq_msg_size(&m->arg[0]) == 0 ||
        zmq_msg_size(&m->arg[0]) > ACTORS_WIRE_NAME_MAX) {
        ACTORS_LOG(ACTORS_LOG_DEBUG, "BRK-BAD-REQUEST",
            "STATE needs frames: header address map");
        return;
    }
    brk_nodes_at(&self->nodes, ni)->last_recv = self->now;
    char address[256];
    broker_frame_str(&m->arg[0], address, sizeof address);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    if (!lifecycle_map(&m->arg[1], &up)) {
        msgpack_unpacked_destroy(&up);
        ACTORS_LOG(ACTORS_LOG_DEBUG, "BRK-BAD-REQUEST", "STATE map unreadable");
        return;
    }
    char state[32];
    char cause[128];
    lifecycle_get_str(&up.data, "state", state, sizeof state);
    lifecycle_get_str(&up.data, "cause", cause, sizeof cause);
    int64_t pid = lifecycle_get_int(&up.data, "pid", 0);
    int32_t restarts =
        lifecycle_clamp32(lifecycle_get_int(&up.data, "restarts", 0));
    const msgpack_object *spec = actors_map_get(&up.data, "spec");
    bool has_spec = spec != NULL && spec->type == MSGPACK_OBJECT_MAP;
    int64_t mtr = lifecycle_get_int(&up.data, "max_task_retries", -2);
    if (mtr == -2 && has_spec) {
        mtr = lifecycle_get_int(spec, "max_task_retries", 0);
    }
    ACTORS_LOG(ACTORS_LOG_INFO, "BRK-STATE",
        "address=%s node=%s state=%s pid=%lld restarts=%d cause=\"%s\"",
        address, brk_nodes_at(&self->nodes, ni)->name, state, (long long)pid,
        restarts, cause);

    size_t alen = strlen(address);
    uint32_t ei = brk_registry_find(&self->reg, address, alen);
    bool starting = strcmp(state, "starting") == 0;
    bool restarting = strcmp(state, "restarting") == 0;
    bool gone = strcmp(state, "dead") == 0 || strcmp(state, "stopped") == 0;
    if (starting || restarting) {
        if (ei == BRK_NONE) {
            if (brk_registry_add(&self->reg, address, alen, &ei) != ACTORS_OK) {
                msgpack_unpacked_destroy(&up);
                return;
            }
            brk_registry_at(&self->reg, ei)->state = BRK_ENTRY_RESTARTING;
            brk_registry_at(&self->reg, ei)->mailbox_cap = self->opts.mailbox;
        } else if (brk_registry_at(&self->reg, ei)->state == BRK_ENTRY_DEAD) {
            brk_registry_revive(&self->reg, ei);
            brk_registry_at(&self->reg, ei)->state = BRK_ENTRY_RESTARTING;
        }
        brk_entry_t *e = brk_registry_at(&self->reg, ei);
        if (e->state == BRK_ENTRY_RUNNING) {
            if (restarting && e->node == ni) {
                /* The node saw the process exit before the broker saw
                 * its connection drop: it is dead now. */
                snprintf(e->cause, sizeof e->cause, "%s", cause);
                uint32_t pi = e->peer;
                s_restarting(self, ei, cause[0] ? cause : LC_CAUSE_LOST, true);
                s_peer_drop(self, pi);
            } else if (e->node != ni && (e->pid != pid || !starting)) {
                /* Someone else's actor holds the address (a node's own
                 * actor, registered before its STATE came, has its pid:
                 * that one is adopted). */
                msgpack_unpacked_destroy(&up);
                return;
            }
        } else {
            if (e->is_held) {
                s_settle(self, ei,
                    cause[0] ? cause
                             : (e->cause[0] ? e->cause : LC_CAUSE_LOST));
            }
            e = brk_registry_at(&self->reg, ei);
            e->state = starting ? BRK_ENTRY_STARTING : BRK_ENTRY_RESTARTING;
            if (starting) {
                e->pid = pid;
            }
        }
        e = brk_registry_at(&self->reg, ei);
        e->is_stopped = 0;
        e->node = ni;
        e->restarts = restarts;
        if (cause[0]) {
            snprintf(e->cause, sizeof e->cause, "%s", cause);
        }
        if (mtr != -2) {
            e->max_task_retries = lifecycle_clamp32(mtr);
        }
        if (has_spec) {
            e->max_restarts =
                lifecycle_clamp32(lifecycle_get_int(spec, "max_restarts", 0));
            msgpack_sbuffer sb;
            msgpack_sbuffer_init(&sb);
            msgpack_packer pk;
            msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
            msgpack_pack_object(&pk, *spec);
            (void)brk_registry_set_spec(&self->reg, ei, sb.data, sb.size);
            msgpack_sbuffer_destroy(&sb);
        }
    } else if (gone && ei != BRK_NONE) {
        brk_entry_t *e = brk_registry_at(&self->reg, ei);
        bool stopped = strcmp(state, "stopped") == 0;
        /* Only the node that placed the actor speaks for it: a node
         * whose config names an address that an actor started by hand
         * holds must not take that live actor down. */
        if (e->state != BRK_ENTRY_DEAD && e->node == ni) {
            uint32_t pi = e->peer;
            char why[160];
            snprintf(why, sizeof why, "%s", cause[0] ? cause : state);
            broker_entry_down(
                self, ei, stopped ? ACTORS_EDEAD : ACTORS_ECRASHED, why);
            s_peer_drop(self, pi);
            e = brk_registry_at(&self->reg, ei);
        }
        if (e->state == BRK_ENTRY_DEAD && e->node == ni) {
            e->is_stopped = stopped;
            e->restarts = restarts;
            if (cause[0]) {
                snprintf(e->cause, sizeof e->cause, "%s", cause);
            }
        }
    }
    msgpack_unpacked_destroy(&up);
}

/* ------------------------------------------------------------ EVENTS */

void
lifecycle_on_event(brk_broker_t *self, const brk_in_t *m)
{
    uint32_t ni = lifecycle_sender_node(self);
    if (ni == BRK_NONE) {
        broker_bad(self, m, "EVENT is for nodes; send NODE first");
        return;
    }
    if (m->nargs != 1) {
        ACTORS_LOG(ACTORS_LOG_DEBUG, "BRK-BAD-REQUEST",
            "EVENT needs frames: header map");
        return;
    }
    brk_nodes_at(&self->nodes, ni)->last_recv = self->now;
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    if (lifecycle_map(&m->arg[0], &up)) {
        brk_event_t ev;
        memset(&ev, 0, sizeof ev);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ev.ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
        ev.node_id = (uint64_t)lifecycle_get_int(&up.data, "id", 0);
        ev.pid = lifecycle_get_int(&up.data, "pid", 0);
        ev.restarts = lifecycle_get_int(&up.data, "restarts", 0);
        snprintf(ev.node, sizeof ev.node, "%.63s",
            brk_nodes_at(&self->nodes, ni)->name);
        lifecycle_get_str(&up.data, "kind", ev.kind, sizeof ev.kind);
        lifecycle_get_str(&up.data, "address", ev.address, sizeof ev.address);
        lifecycle_get_str(&up.data, "cause", ev.cause, sizeof ev.cause);
        brk_events_push(&self->events, &ev);
    }
    msgpack_unpacked_destroy(&up);
}

void
lifecycle_on_events(brk_broker_t *self, const brk_in_t *m)
{
    if (m->nargs > 1) {
        broker_bad(self, m, "EVENTS needs frames: header map");
        return;
    }
    int64_t since = 0;
    if (m->nargs == 1) {
        msgpack_unpacked up;
        msgpack_unpacked_init(&up);
        if (lifecycle_map(&m->arg[0], &up)) {
            since = lifecycle_get_int(&up.data, "since", 0);
        }
        msgpack_unpacked_destroy(&up);
    }
    uint32_t first = brk_events_first(&self->events, since < 0 ? 0 : since);
    msgpack_packer *pk = &self->pk;
    msgpack_pack_array(pk, self->events.count - first);
    for (uint32_t k = first; k < self->events.count; k++) {
        const brk_event_t *ev = brk_events_get(&self->events, k);
        msgpack_pack_map(pk, 9);
        broker_pack_str(pk, "id");
        msgpack_pack_uint64(pk, ev->id);
        broker_pack_str(pk, "ms");
        msgpack_pack_int64(pk, ev->ms);
        broker_pack_str(pk, "node");
        broker_pack_str(pk, ev->node);
        broker_pack_str(pk, "node_id");
        msgpack_pack_uint64(pk, ev->node_id);
        broker_pack_str(pk, "address");
        broker_pack_str(pk, ev->address);
        broker_pack_str(pk, "kind");
        broker_pack_str(pk, ev->kind);
        broker_pack_str(pk, "pid");
        msgpack_pack_int64(pk, ev->pid);
        broker_pack_str(pk, "restarts");
        msgpack_pack_int64(pk, ev->restarts);
        broker_pack_str(pk, "cause");
        broker_pack_str(pk, ev->cause);
    }
    broker_reply_packed(self, m);
}
