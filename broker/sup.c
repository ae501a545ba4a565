/* broker/sup.c - supervision: nodes, STATE, supervised restarts, owners,
 * events (sup.h).
 * SPDX-License-Identifier: MIT
 *
 * Design. A node is a supervisor's connection (nodes.h, role NODE in the
 * core's connection table). An address a node reported (STATE) or that
 * was spawned on a node is supervised: its row (sup_int.h) records the
 * node, the spec (to re-create it elsewhere), its restart policy, the
 * restarts and the node's last cause; its max_task_retries is the core
 * entry's redeliver.
 *
 * A supervised actor's death does not bury its address: entry_lost_cb
 * asks the core to hold it (brk_core_hold): the mailbox is kept, the
 * messages the actor never took up and the calls that may be retried go
 * back to its front; the calls that may have run wait ("held") for the
 * node's STATE, whose cause ("signal 9 (SIGKILL)") goes into their
 * ActorCrashed, or, when no STATE comes within liveness heartbeats,
 * "connection lost". REGISTER makes the entry RUNNING again and the
 * mailbox flows; STATE dead or stopped buries it.
 *
 * SPAWN and KILL from clients are in sup_spawn.c; they relay requests to
 * a node with sup_relay. A node's loss re-creates its restartable actors
 * elsewhere by the same relay, with slots no client waits on. The actors
 * a client owns are killed when its connection goes (conn_gone_cb).
 */
#include "sup.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <actors/log.h>
#include <actors/msg.h>

#include <actors-internal/alloc.h>
#include "mailbox.h"
#include "sup_int.h"
#include <actors-internal/unpack.h>

#define SUP_MAP_MAX 65536 /* spec, state and event maps */
#define SUP_CAUSE_LOST "connection lost"

/* ------------------------------------------------------------ helpers */

bool
sup_map(zmq_msg_t *f, msgpack_unpacked *up)
{
    size_t n = zmq_msg_size(f);
    return n <= SUP_MAP_MAX &&
           actors__unpack_next(up, zmq_msg_data(f), n, NULL) ==
               MSGPACK_UNPACK_SUCCESS &&
           up->data.type == MSGPACK_OBJECT_MAP;
}

bool
sup_get_str(const msgpack_object *map, const char *key, char *buf, size_t cap)
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
sup_get_int(const msgpack_object *map, const char *key, int64_t dflt)
{
    int64_t v = dflt;
    if (actors_value_int(actors_map_get(map, key), &v) != ACTORS_OK) {
        return dflt;
    }
    return v;
}

bool
sup_get_bool(const msgpack_object *map, const char *key)
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
sup_clamp32(int64_t v)
{
    return v < -1 ? -1 : (v > INT32_MAX ? INT32_MAX : (int32_t)v);
}

static void
s_row_init(sup_entry_t *se)
{
    memset(se, 0, sizeof *se);
    se->node = BRK_NONE;
    se->spawn_slot = BRK_NONE;
    se->owner = BRK_NONE;
    se->home = BRK_NONE;
}

sup_entry_t *
sup_entry(sup_t *self, uint32_t ei)
{
    if (ei >= self->cap) {
        uint32_t cap = self->cap ? self->cap : 16;
        while (cap <= ei) {
            cap *= 2;
        }
        sup_entry_t *v = actors__realloc(self->v, (size_t)cap * sizeof *v);
        if (v == NULL) {
            return NULL;
        }
        for (uint32_t i = self->cap; i < cap; i++) {
            s_row_init(&v[i]);
        }
        self->v = v;
        self->cap = cap;
    }
    self->v[ei].is_used = 1;
    return &self->v[ei];
}

sup_entry_t *
sup_peek(sup_t *self, uint32_t ei)
{
    return ei < self->cap && self->v[ei].is_used ? &self->v[ei] : NULL;
}

actors_err
sup_set_spec(sup_entry_t *se, const void *spec, size_t len)
{
    uint8_t *copy = actors__malloc(len ? len : 1);
    if (copy == NULL) {
        return ACTORS_ENOMEM;
    }
    memcpy(copy, spec, len);
    actors__free(se->spec);
    se->spec = copy;
    se->spec_len = (uint32_t)len;
    return ACTORS_OK;
}

uint32_t
sup_sender_node(sup_t *self, const brk_in_t *m)
{
    uint32_t ci = brk_core_sender(self->core, m);
    return ci == BRK_NONE ? BRK_NONE : brk_nodes_find_conn(&self->nodes, ci);
}

/* s_node_send sends header(cmd, id) + addr + body to node ni. addr and
 * body are consumed (either may be NULL: not sent). */
static bool
s_node_send(sup_t *self, uint32_t ni, uint8_t cmd, const void *id,
    size_t id_len, zmq_msg_t *addr, zmq_msg_t *body, zmq_msg_t *extra)
{
    brk_conn_t *c =
        brk_conns_at(&self->core->conns, brk_nodes_at(&self->nodes, ni)->conn);
    zmq_msg_t rid;
    zmq_msg_t hdr;
    zmq_msg_init_size(&rid, c->rid_len);
    memcpy(zmq_msg_data(&rid), c->rid, c->rid_len);
    zmq_msg_init_size(&hdr, ACTORS_WIRE_HDR_MIN + id_len);
    actors__hdr_write(zmq_msg_data(&hdr), cmd, 0, id, id_len);
    zmq_msg_t *f[5] = {&rid, &hdr, addr, body, extra};
    int nf = 2;
    if (addr != NULL) {
        f[nf++] = addr;
    }
    if (body != NULL) {
        f[nf++] = body;
    }
    if (extra != NULL) {
        f[nf++] = extra;
    }
    bool ok = brk_core_send(self->core, f, nf);
    zmq_msg_close(&rid);
    zmq_msg_close(&hdr);
    return ok;
}

void
sup_relay(sup_t *self, uint32_t si, uint32_t ni, uint8_t cmd, zmq_msg_t *addr,
    zmq_msg_t *body, const char *claim)
{
    brk_broker_t *core = self->core;
    uint8_t tag[BRK_TAG_LEN];
    brk_slots_tag(&core->slots, si, tag);
    brk_slot_t *s = brk_slots_at(&core->slots, si);
    s->cmd = cmd;
    s->state = BRK_SLOT_EXT;
    s->relayed = ni;
    brk_mailbox_push(
        &brk_nodes_at(&self->nodes, ni)->pending, &core->slots, si, UINT32_MAX);
    zmq_msg_t extra;
    if (claim != NULL) {
        brk_core_body_from(&extra, claim, strlen(claim));
    }
    s_node_send(self, ni, cmd, tag, BRK_TAG_LEN, addr, body,
        claim != NULL ? &extra : NULL);
    if (claim != NULL) {
        zmq_msg_close(&extra);
    }
}

bool
sup_claim_make(char *buf)
{
    uint8_t raw[16];
    size_t got = 0;
    while (got < sizeof raw) {
        ssize_t n = getrandom(raw + got, sizeof raw - got, 0);
        if (n < 0 && errno != EINTR) {
            buf[0] = '\0';
            return false;
        }
        got += n > 0 ? (size_t)n : 0;
    }
    for (size_t i = 0; i < sizeof raw; i++) {
        snprintf(buf + 2 * i, 3, "%02x", raw[i]);
    }
    return true;
}

bool
sup_claim_new(sup_entry_t *se)
{
    return sup_claim_make(se->claim);
}

void
sup_forbidden(sup_t *self, uint32_t ni, const char *what, const char *address,
    const char *why)
{
    ACTORS_LOG(ACTORS_LOG_WARN, "BRK-FORBIDDEN", "node=%s %s address=%s %s",
        ni == BRK_NONE ? "-" : brk_nodes_at(&self->nodes, ni)->name, what,
        address, why);
}

void
sup_kill_quiet(sup_t *self, uint32_t ei, bool graceful)
{
    sup_entry_t *se = sup_peek(self, ei);
    if (se == NULL || se->node == BRK_NONE) {
        return;
    }
    se->is_killed = 1;
    brk_broker_t *core = self->core;
    brk_entry_t *e = brk_registry_at(&core->reg, ei);
    msgpack_pack_map(&core->pk, 2);
    brk_core_pack_str(&core->pk, "restart");
    msgpack_pack_false(&core->pk);
    brk_core_pack_str(&core->pk, "graceful");
    if (graceful) {
        msgpack_pack_true(&core->pk);
    } else {
        msgpack_pack_false(&core->pk);
    }
    zmq_msg_t body;
    zmq_msg_t addr;
    brk_core_pack_body(core, &body);
    brk_core_body_from(&addr, e->address, e->address_len);
    /* No request id: the node's answer matches nothing and is dropped. */
    s_node_send(self, se->node, ACTORS_CMD_KILL, NULL, 0, &addr, &body, NULL);
    zmq_msg_close(&addr);
    zmq_msg_close(&body);
}

void
sup_compute_loads(sup_t *self)
{
    brk_registry_t *reg = &self->core->reg;
    for (uint32_t i = 0; i < self->nodes.used; i++) {
        brk_nodes_at(&self->nodes, i)->load = 0;
    }
    for (uint32_t i = 0; i < reg->used && i < self->cap; i++) {
        brk_entry_t *e = brk_registry_at(reg, i);
        sup_entry_t *se = sup_peek(self, i);
        if (se != NULL && se->node != BRK_NONE && e->state != BRK_ENTRY_FREE &&
            e->state != BRK_ENTRY_DEAD) {
            brk_nodes_at(&self->nodes, se->node)->load++;
        }
    }
}

const char *
sup_node_name(sup_t *self, uint32_t ei)
{
    sup_entry_t *se = sup_peek(self, ei);
    return se == NULL || se->node == BRK_NONE
               ? NULL
               : brk_nodes_at(&self->nodes, se->node)->name;
}

/* ------------------------------------------------------------ restarts */

/* s_settle answers the held in-flight calls of entry ei: ActorCrashed
 * with cause. */
void
sup_settle(sup_t *self, uint32_t ei, const char *cause)
{
    brk_core_fail_inflight(self->core, ei, ACTORS_ECRASHED, cause);
    sup_entry_t *se = sup_peek(self, ei);
    if (se != NULL) {
        se->is_held = 0;
    }
}

/* s_restarting moves entry ei to restarting: the core holds it (mailbox
 * kept, what never started and what may be retried goes back to it); the
 * calls that may have run are answered now when the cause is known, else
 * held for it. */
void
sup_restarting(sup_t *self, uint32_t ei, const char *cause, bool known)
{
    brk_broker_t *core = self->core;
    if (brk_registry_at(&core->reg, ei)->state == BRK_ENTRY_RUNNING) {
        brk_core_hold(core, ei, cause);
    }
    sup_entry_t *se = sup_peek(self, ei);
    se->starting = 0;
    if (brk_mailbox_empty(&brk_registry_at(&core->reg, ei)->inflight)) {
        return;
    }
    if (known) {
        sup_settle(self, ei, cause);
    } else {
        se->is_held = 1;
        se->held_since = core->now;
    }
}

/* s_entry_event records and publishes kind ("registered", "buried")
 * about entry ei, with the node that runs it ("" none). */
static void
s_entry_event(sup_t *self, uint32_t ei, const char *kind, const char *cause)
{
    const brk_entry_t *e = brk_registry_at(&self->core->reg, ei);
    const sup_entry_t *se = sup_peek(self, ei);
    brk_event_t ev;
    memset(&ev, 0, sizeof ev);
    if (se != NULL) {
        /* As LIST shows it: an address whose node went (buried with
         * it) names the node it ran on. */
        snprintf(ev.node, sizeof ev.node, "%.63s",
            se->node != BRK_NONE ? brk_nodes_at(&self->nodes, se->node)->name
                                 : se->gone_node);
        ev.restarts = se->restarts;
    }
    if (ev.node[0] == '\0' && e->group != BRK_NONE) {
        /* A group's member: the node it said it runs on, as LIST
         * shows it. */
        snprintf(ev.node, sizeof ev.node, "%.47s", e->node);
    }
    ev.pid = e->pid;
    snprintf(ev.kind, sizeof ev.kind, "%.15s", kind);
    snprintf(ev.address, sizeof ev.address, "%.255s", e->address);
    snprintf(ev.cause, sizeof ev.cause, "%.127s", cause);
    snprintf(ev.service, sizeof ev.service, "%.127s",
        e->service != NULL ? e->service : "");
    sup_record(self, &ev);
}

static bool
s_entry_lost(void *arg, uint32_t ei, bool crashed, const char *reason)
{
    sup_t *self = arg;
    sup_entry_t *se = sup_peek(self, ei);
    if (se != NULL && se->node != BRK_NONE && !crashed) {
        se->is_awaited = 1; /* the node may start it again: see below */
    }
    if (se == NULL || se->node == BRK_NONE) {
        return false; /* no node runs it: buried (the event: "buried") */
    }
    brk_node_t *node = brk_nodes_at(&self->nodes, se->node);
    if (node->is_draining && se->spec != NULL) {
        /* Stopped for its node's drain: held until it is re-placed. */
        char why[300];
        snprintf(why, sizeof why, "node %s draining", node->name);
        sup_restarting(self, ei, why, true);
        return true;
    }
    if (!crashed) {
        return false; /* a clean exit: buried */
    }
    sup_restarting(self, ei, reason, false);
    return true;
}

/* s_register_check: a held address (starting, restarting) is registered
 * only by the process its node started, which shows the node's claim;
 * anything else (a tombstone) may be taken. */
static bool
s_register_check(void *arg, uint32_t ei, uint32_t ci, const char *claim,
    char *why, size_t why_len)
{
    sup_t *self = arg;
    (void)ci;
    brk_entry_t *e = brk_registry_at(&self->core->reg, ei);
    sup_entry_t *se = sup_peek(self, ei);
    bool awaited = e->state == BRK_ENTRY_DEAD && se != NULL && se->is_awaited;
    if ((e->state != BRK_ENTRY_HELD && !awaited) || se == NULL ||
        se->node == BRK_NONE) {
        return true;
    }
    if (se->claim[0] != '\0' && strcmp(claim, se->claim) == 0) {
        return true;
    }
    const char *state = awaited ? "unregistered (its node may start it again)"
                                : (se->starting ? "starting" : "restarting");
    snprintf(why, why_len,
        "address %s is %s on node %s; only the process that node started "
        "may register it (%s claim)",
        e->address, state, brk_nodes_at(&self->nodes, se->node)->name,
        claim[0] ? "wrong" : "no");
    return false;
}

static void
s_entry_registered(void *arg, uint32_t ei)
{
    sup_t *self = arg;
    sup_entry_t *se = sup_peek(self, ei);
    s_entry_event(self, ei, "registered", "");
    if (se == NULL) {
        return;
    }
    brk_entry_t *e = brk_registry_at(&self->core->reg, ei);
    if (se->node != BRK_NONE &&
        (se->claim[0] == '\0' || strcmp(e->claim, se->claim) != 0)) {
        /* A tombstone taken by a process its node did not start: the
         * address is that process's now, and no node speaks for it. */
        ACTORS_LOG(ACTORS_LOG_NOTICE, "BRK-UNSUPERVISED",
            "address=%s pid=%lld registered without node %s's claim; no "
            "longer supervised",
            e->address, (long long)e->pid,
            brk_nodes_at(&self->nodes, se->node)->name);
        actors__free(se->spec);
        s_row_init(se);
        return;
    }
    se->is_awaited = 0;
    se->is_stopped = 0;
    se->is_killed = 0;
    se->starting = 0;
    if (se->is_held) {
        sup_settle(self, ei, se->cause[0] ? se->cause : SUP_CAUSE_LOST);
    }
    if (se->spawn_slot != BRK_NONE) {
        uint32_t si = se->spawn_slot;
        se->spawn_slot = BRK_NONE;
        sup_spawn_answer(self, si, ei);
    }
}

static void
s_entry_buried(void *arg, uint32_t ei, const char *reason)
{
    sup_t *self = arg;
    sup_entry_t *se = sup_peek(self, ei);
    s_entry_event(self, ei, "buried", reason);
    if (se == NULL) {
        return;
    }
    se->is_held = 0;
    se->starting = 0;
    if (se->spawn_slot != BRK_NONE) {
        uint32_t spawn = se->spawn_slot;
        se->spawn_slot = BRK_NONE;
        brk_core_slot_fail(self->core, spawn, ACTORS_ESPAWN,
            "actor %s did not start: %s",
            brk_registry_at(&self->core->reg, ei)->address, reason);
    }
}

static void
s_entry_freed(void *arg, uint32_t ei)
{
    sup_t *self = arg;
    if (ei < self->cap) {
        actors__free(self->v[ei].spec);
        s_row_init(&self->v[ei]);
    }
}

static const char *
s_state_name(void *arg, uint32_t ei)
{
    sup_t *self = arg;
    sup_entry_t *se = sup_peek(self, ei);
    uint8_t state = brk_registry_at(&self->core->reg, ei)->state;
    if (state == BRK_ENTRY_HELD) {
        return se != NULL && se->starting ? "starting" : "restarting";
    }
    if (state == BRK_ENTRY_DEAD && se != NULL && se->is_stopped) {
        return "stopped";
    }
    return NULL;
}

static void
s_pack_entry(void *arg, uint32_t ei, msgpack_packer *pk)
{
    sup_t *self = arg;
    sup_entry_t *se = sup_peek(self, ei);
    brk_core_pack_str(pk, "node");
    const char *node = sup_node_name(self, ei);
    if (node == NULL && se != NULL && se->gone_node[0] != '\0') {
        node = se->gone_node; /* a tombstone of a node that went */
    }
    if (node != NULL) {
        brk_core_pack_str(pk, node);
    } else {
        msgpack_pack_nil(pk);
    }
    brk_core_pack_str(pk, "restarts");
    msgpack_pack_int32(pk, se != NULL ? se->restarts : 0);
}

/* ------------------------------------------------------------ NODE */

static void
s_on_node(void *arg, brk_broker_t *core, const brk_in_t *m)
{
    sup_t *self = arg;
    if (m->nargs != 1) {
        brk_core_bad(core, m, "NODE needs frames: header info");
        return;
    }
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    char name[BRK_NODE_NAME_MAX + 1] = "";
    int64_t pid = 0;
    bool ok = sup_map(&m->arg[0], &up) &&
              sup_get_str(&up.data, "node", name, sizeof name);
    if (ok) {
        pid = sup_get_int(&up.data, "pid", 0);
    }
    msgpack_unpacked_destroy(&up);
    if (!ok) {
        brk_core_bad(core, m, "NODE info must be a map {node: str, pid: int}");
        return;
    }
    uint32_t ni = sup_sender_node(self, m);
    uint32_t other = brk_nodes_find_name(&self->nodes, name);
    if (other != BRK_NONE && other != ni) {
        ACTORS_LOG(ACTORS_LOG_WARN, "BRK-NODE-TAKEN",
            "node=%s pid=%lld refusing: a live node has that name", name,
            (long long)pid);
        brk_core_error(core, m->rid, m->delim, m->hdr, ACTORS_ETAKEN, NULL,
            "a live node is called %s", name);
        return;
    }
    if (ni != BRK_NONE && strcmp(brk_nodes_at(&self->nodes, ni)->name, name)) {
        brk_core_error(core, m->rid, m->delim, m->hdr, ACTORS_EBADREQ, NULL,
            "this connection is node %s already",
            brk_nodes_at(&self->nodes, ni)->name);
        return;
    }
    uint32_t ci;
    if (brk_core_conn_claim(core, m, BRK_ROLE_NODE, &ci) != ACTORS_OK ||
        (ni == BRK_NONE &&
            brk_nodes_add(&self->nodes, name, ci, &ni) != ACTORS_OK)) {
        brk_core_error(core, m->rid, m->delim, m->hdr, ACTORS_ENOMEM, NULL,
            "broker out of memory");
        return;
    }
    brk_nodes_at(&self->nodes, ni)->pid = pid;
    sup_event(self, "node-joined", name, "", pid, 0, "");
    ACTORS_LOG(ACTORS_LOG_NOTICE, "BRK-NODE",
        "node=%s pid=%lld fd=%d registered", name, (long long)pid,
        brk_conns_at(&core->conns, ci)->fd);
    msgpack_pack_map(&core->pk, 2);
    brk_core_pack_str(&core->pk, "heartbeat_ms");
    msgpack_pack_uint32(&core->pk, core->opts.heartbeat_ms);
    brk_core_pack_str(&core->pk, "liveness");
    msgpack_pack_uint32(&core->pk, core->opts.liveness);
    brk_core_reply_packed(core, m);
}

/* s_node_lost ends node ni: its pending requests fail, its actors are
 * re-created on another node when their policy allows a restart (all of
 * them when the node was draining), else their callers get ActorDead. */
static void
s_node_lost(sup_t *self, uint32_t ni, const char *reason)
{
    brk_broker_t *core = self->core;
    brk_node_t *node = brk_nodes_at(&self->nodes, ni);
    bool drained = node->is_draining;
    char why[320];
    if (drained) {
        snprintf(why, sizeof why, "node %s drained", node->name);
    } else {
        snprintf(why, sizeof why, "node %s lost (%s)", node->name, reason);
    }
    ACTORS_LOG(drained ? ACTORS_LOG_NOTICE : ACTORS_LOG_WARN,
        drained ? "BRK-NODE-GONE" : "BRK-NODE-LOST", "node=%s cause=\"%s\"",
        node->name, drained ? "drained" : reason);
    sup_event(self, drained ? "node-gone" : "node-lost", node->name, "",
        node->pid, 0, why);
    uint32_t si;
    while ((si = brk_mailbox_pop(&brk_nodes_at(&self->nodes, ni)->pending,
                &core->slots)) != BRK_NONE) {
        brk_slot_t *s = brk_slots_at(&core->slots, si);
        uint32_t ei = s->entry;
        s->state = BRK_SLOT_HELD;
        sup_entry_t *se = sup_peek(self, ei);
        if (s->cmd == ACTORS_CMD_SPAWN && se != NULL) {
            if (se->spawn_slot == BRK_NONE && !s->answered &&
                brk_registry_at(&core->reg, ei)->state == BRK_ENTRY_HELD) {
                se->spawn_slot = si; /* failed with the entry, below */
                continue;
            }
            brk_core_slot_fail(core, si, ACTORS_ESPAWN, "%s", why);
        } else {
            brk_core_slot_fail(core, si, ACTORS_EDEAD, "%s", why);
        }
    }
    sup_compute_loads(self);
    for (uint32_t ei = 0; ei < core->reg.used; ei++) {
        brk_entry_t *e = brk_registry_at(&core->reg, ei);
        sup_entry_t *se = sup_peek(self, ei);
        if (se != NULL && se->node == ni) {
            se->is_awaited = 0; /* no node will start it again */
        }
        if (se == NULL || se->node != ni || e->state == BRK_ENTRY_FREE ||
            e->state == BRK_ENTRY_DEAD) {
            continue;
        }
        sup_replace(self, ei, ni, drained, why);
    }
    sup_node_forget(self, ni);
    sup_group_forget_node(self, ni);
    brk_nodes_remove(&self->nodes, ni);
}

/* s_conn_gone: a node's connection (node lost) or an owner's (its owned
 * actors are stopped for good, gracefully: SIGTERM, their fini, SIGKILL
 * after their grace_ms, as Pykka's stop()) dropped. */
static void
s_conn_gone(void *arg, uint32_t ci)
{
    sup_t *self = arg;
    uint32_t ni = brk_nodes_find_conn(&self->nodes, ci);
    if (ni != BRK_NONE) {
        s_node_lost(self, ni, SUP_CAUSE_LOST);
    }
    brk_registry_t *reg = &self->core->reg;
    for (uint32_t ei = 0; ei < self->cap && ei < reg->used; ei++) {
        sup_entry_t *se = sup_peek(self, ei);
        if (se == NULL || se->owner != ci) {
            continue;
        }
        se->owner = BRK_NONE;
        brk_entry_t *e = brk_registry_at(reg, ei);
        if (e->state == BRK_ENTRY_FREE || e->state == BRK_ENTRY_DEAD ||
            se->node == BRK_NONE) {
            continue;
        }
        ACTORS_LOG(ACTORS_LOG_NOTICE, "BRK-OWNER-GONE",
            "address=%s node=%s its owner disconnected; stopping it",
            e->address, brk_nodes_at(&self->nodes, se->node)->name);
        se->max_restarts = 0;
        sup_kill_quiet(self, ei, true);
    }
}

/* s_tick gives held calls their answer when no cause came in time. */
static void
s_tick(void *arg)
{
    sup_t *self = arg;
    brk_broker_t *core = self->core;
    int64_t silence = (int64_t)core->opts.liveness * core->opts.heartbeat_ms;
    for (uint32_t ei = 0; ei < self->cap && ei < core->reg.used; ei++) {
        sup_entry_t *se = sup_peek(self, ei);
        if (se != NULL && se->is_held && core->now - se->held_since > silence) {
            sup_settle(self, ei, se->cause[0] ? se->cause : SUP_CAUSE_LOST);
        }
    }
}

/* ------------------------------------------------------------ STATE */

/* The STATE map, read. */
typedef struct {
    char state[32];
    char cause[128];
    int64_t pid;
    int32_t restarts;
    int64_t mtr; /* -2: absent */
    int32_t max_restarts;
    char claim[BRK_CLAIM_MAX + 1]; /* the process's secret; "" none */
    bool home;                     /* the node's config names the address */
    bool group;           /* about members of the group at the address */
    msgpack_sbuffer spec; /* the spec map re-packed; size 0 none */
} s_state_t;

static bool
s_read_state(zmq_msg_t *f, s_state_t *st)
{
    memset(st, 0, sizeof *st);
    msgpack_sbuffer_init(&st->spec);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    if (!sup_map(f, &up)) {
        msgpack_unpacked_destroy(&up);
        return false;
    }
    sup_get_str(&up.data, "state", st->state, sizeof st->state);
    sup_get_str(&up.data, "cause", st->cause, sizeof st->cause);
    sup_get_str(&up.data, "claim", st->claim, sizeof st->claim);
    st->pid = sup_get_int(&up.data, "pid", 0);
    st->restarts = sup_clamp32(sup_get_int(&up.data, "restarts", 0));
    st->home = sup_get_bool(&up.data, "home");
    st->group = sup_get_bool(&up.data, "group");
    const msgpack_object *spec = actors_map_get(&up.data, "spec");
    bool has_spec = spec != NULL && spec->type == MSGPACK_OBJECT_MAP;
    st->mtr = sup_get_int(&up.data, "max_task_retries", -2);
    if (has_spec) {
        if (st->mtr == -2) {
            st->mtr = sup_get_int(spec, "max_task_retries", 0);
        }
        st->max_restarts = sup_clamp32(sup_get_int(spec, "max_restarts", 0));
        msgpack_packer pk;
        msgpack_packer_init(&pk, &st->spec, msgpack_sbuffer_write);
        msgpack_pack_object(&pk, *spec);
    }
    msgpack_unpacked_destroy(&up);
    return true;
}

/* s_state_what names a STATE in a log line. */
static const char *
s_state_what(const s_state_t *st)
{
    static char what[48];
    snprintf(what, sizeof what, "STATE state=%s", st->state);
    return what;
}

/* s_state_live handles STATE starting/restarting of address from node
 * ni. */
static void
s_state_live(sup_t *self, uint32_t ni, const char *address, const s_state_t *st)
{
    brk_broker_t *core = self->core;
    bool starting = strcmp(st->state, "starting") == 0;
    uint32_t ei = brk_registry_find(&core->reg, address, strlen(address));
    uint8_t estate = ei == BRK_NONE ? BRK_ENTRY_FREE
                                    : brk_registry_at(&core->reg, ei)->state;
    sup_entry_t *prev = ei == BRK_NONE ? NULL : sup_peek(self, ei);
    uint32_t node = prev != NULL ? prev->node : BRK_NONE;
    if (estate == BRK_ENTRY_RUNNING) {
        if (!starting && node == ni) {
            /* The node saw the process exit before the broker saw its
             * connection drop: it is dead now. */
            sup_restarting(
                self, ei, st->cause[0] ? st->cause : SUP_CAUSE_LOST, true);
        } else if (node != ni &&
                   (node != BRK_NONE || !starting || st->claim[0] == '\0' ||
                       strcmp(brk_registry_at(&core->reg, ei)->claim,
                           st->claim) != 0)) {
            /* Someone else's actor holds the address (another node
             * placed it, or it is not the node's process). A node's own
             * process that registered before this STATE came shows the
             * node's claim: that one is adopted; a pid proves nothing
             * (LOOKUP shows it to anyone). */
            if (st->home && prev != NULL) {
                /* The node's config names it, but it runs elsewhere: the
                 * node is its home and takes it back once it is free. */
                prev->home = ni;
                return;
            }
            sup_forbidden(self, ni, s_state_what(st), address,
                "refused: a live actor the node did not start holds it");
            return;
        }
    } else if (estate == BRK_ENTRY_HELD && node != ni) {
        sup_forbidden(self, ni, s_state_what(st), address,
            "refused: another node placed it");
        return;
    } else if (estate == BRK_ENTRY_DEAD && prev != NULL && prev->is_awaited &&
               node != BRK_NONE && node != ni) {
        /* Its actor unregistered and its node may start it again (as
         * REGISTER, only with that node's claim): another node must not
         * take it in between. */
        sup_forbidden(self, ni, s_state_what(st), address,
            "refused: another node may start it again");
        return;
    } else if (estate != BRK_ENTRY_HELD) {
        if (brk_core_reserve(core, address, strlen(address), &ei) !=
            ACTORS_OK) {
            return;
        }
    }
    sup_entry_t *se = sup_entry(self, ei);
    if (se == NULL) {
        return;
    }
    if (brk_registry_at(&core->reg, ei)->state == BRK_ENTRY_HELD) {
        if (se->is_held) {
            sup_settle(self, ei,
                st->cause[0] ? st->cause
                             : (se->cause[0] ? se->cause : SUP_CAUSE_LOST));
        }
        se->starting = starting;
        if (starting) {
            brk_registry_at(&core->reg, ei)->pid = st->pid;
        }
    }
    se->is_awaited = 0;
    if (st->claim[0] != '\0' || se->node != ni) {
        /* The placing node speaks for its process's secret. */
        snprintf(se->claim, sizeof se->claim, "%s", st->claim);
    }
    se->is_stopped = 0;
    se->node = ni;
    if (st->home) {
        se->home = ni;
    }
    se->restarts = st->restarts;
    if (st->cause[0]) {
        snprintf(se->cause, sizeof se->cause, "%s", st->cause);
        snprintf(brk_registry_at(&core->reg, ei)->cause,
            sizeof brk_registry_at(&core->reg, ei)->cause, "%s", st->cause);
    }
    if (st->mtr != -2) {
        brk_registry_at(&core->reg, ei)->redeliver = sup_clamp32(st->mtr);
    }
    if (st->spec.size > 0) {
        se->max_restarts = st->max_restarts;
        (void)sup_set_spec(se, st->spec.data, st->spec.size);
    }
}

/* s_state_gone handles STATE dead/stopped of address from node ni. */
static void
s_state_gone(sup_t *self, uint32_t ni, const char *address, const s_state_t *st)
{
    brk_broker_t *core = self->core;
    uint32_t ei = brk_registry_find(&core->reg, address, strlen(address));
    sup_entry_t *se = ei == BRK_NONE ? NULL : sup_peek(self, ei);
    if (se != NULL && se->node != ni && st->home) {
        /* The node's config names it, but it runs (or ran) elsewhere:
         * the node is its home, and takes it back once it is free. */
        se->home = ni;
        if (brk_registry_at(&core->reg, ei)->state == BRK_ENTRY_DEAD) {
            sup_reclaim(self, ei);
        }
        return;
    }
    /* Only the node that placed the actor speaks for it: a node whose
     * config names an address that an actor started by hand holds must
     * not take that live actor down. */
    if (se == NULL || se->node != ni) {
        if (ei != BRK_NONE) {
            sup_forbidden(self, ni, s_state_what(st), address,
                "refused: the node did not place it");
        }
        return;
    }
    bool stopped = strcmp(st->state, "stopped") == 0;
    se->is_awaited = 0; /* the node says: gone for good */
    brk_node_t *node = brk_nodes_at(&self->nodes, ni);
    if (node->is_draining && se->spec != NULL &&
        brk_registry_at(&core->reg, ei)->state != BRK_ENTRY_DEAD) {
        /* Stopped by its node's drain: it goes on elsewhere. */
        char why[300];
        snprintf(why, sizeof why, "node %s draining", node->name);
        se->restarts = st->restarts;
        sup_compute_loads(self);
        sup_replace(self, ei, ni, true, why);
        return;
    }
    if (brk_registry_at(&core->reg, ei)->state != BRK_ENTRY_DEAD) {
        char why[160];
        snprintf(why, sizeof why, "%s", st->cause[0] ? st->cause : st->state);
        brk_core_bury(core, ei, stopped ? ACTORS_EDEAD : ACTORS_ECRASHED, why);
    }
    se = sup_peek(self, ei);
    if (se != NULL &&
        brk_registry_at(&core->reg, ei)->state == BRK_ENTRY_DEAD) {
        se->is_stopped = stopped;
        se->restarts = st->restarts;
        if (st->cause[0]) {
            snprintf(se->cause, sizeof se->cause, "%s", st->cause);
            snprintf(brk_registry_at(&core->reg, ei)->cause,
                sizeof brk_registry_at(&core->reg, ei)->cause, "%s", st->cause);
        }
        if (se->home != BRK_NONE && se->home != ni) {
            sup_reclaim(self, ei);
        }
    }
}

static void
s_on_state(void *arg, brk_broker_t *core, const brk_in_t *m)
{
    sup_t *self = arg;
    uint32_t ni = sup_sender_node(self, m);
    if (ni == BRK_NONE) {
        brk_core_bad(core, m, "STATE is for nodes; send NODE first");
        return;
    }
    if (m->nargs != 2 || zmq_msg_size(&m->arg[0]) == 0 ||
        zmq_msg_size(&m->arg[0]) > ACTORS_WIRE_NAME_MAX) {
        ACTORS_LOG(ACTORS_LOG_DEBUG, "BRK-BAD-REQUEST",
            "STATE needs frames: header address map");
        return;
    }
    char address[256];
    brk_core_frame_str(&m->arg[0], address, sizeof address);
    s_state_t st;
    if (!s_read_state(&m->arg[1], &st)) {
        msgpack_sbuffer_destroy(&st.spec);
        ACTORS_LOG(ACTORS_LOG_DEBUG, "BRK-BAD-REQUEST", "STATE map unreadable");
        return;
    }
    ACTORS_LOG(ACTORS_LOG_INFO, "BRK-STATE",
        "address=%s node=%s state=%s pid=%lld restarts=%d cause=\"%s\"",
        address, brk_nodes_at(&self->nodes, ni)->name, st.state,
        (long long)st.pid, st.restarts, st.cause);
    if (st.group) {
        /* A group's members: the node places them, nothing more; their
         * losses are the group's (PROTOCOL.md, Groups). */
        (void)sup_group_place(self, address, ni, st.claim);
    } else if (strcmp(st.state, "starting") == 0 ||
               strcmp(st.state, "restarting") == 0) {
        s_state_live(self, ni, address, &st);
    } else if (strcmp(st.state, "dead") == 0 ||
               strcmp(st.state, "stopped") == 0) {
        s_state_gone(self, ni, address, &st);
    }
    msgpack_sbuffer_destroy(&st.spec);
}

/* ------------------------------------------------------------ EVENTS */

/* s_event_allowed: a node tells the events of the actors it placed. An
 * address that is live (running or held) and placed by another node is
 * not its to tell; neither is a live actor no node placed, except the
 * "start" of the process the node is about to report (its EVENT goes
 * before its STATE, and the process may have registered already). */
static bool
s_event_allowed(sup_t *self, uint32_t ni, const brk_event_t *ev)
{
    brk_broker_t *core = self->core;
    uint32_t ei =
        brk_registry_find(&core->reg, ev->address, strlen(ev->address));
    if (ei == BRK_NONE) {
        return true;
    }
    uint8_t state = brk_registry_at(&core->reg, ei)->state;
    if (state != BRK_ENTRY_RUNNING && state != BRK_ENTRY_HELD) {
        return true;
    }
    sup_entry_t *se = sup_peek(self, ei);
    uint32_t node = se != NULL ? se->node : BRK_NONE;
    if (node == ni || (node == BRK_NONE && strcmp(ev->kind, "start") == 0)) {
        return true;
    }
    if (node == BRK_NONE && brk_registry_at(&core->reg, ei)->is_group &&
        sup_group_placed_by(self, ev->address, ni)) {
        return true; /* the node's own members of a group it placed */
    }
    sup_forbidden(self, ni, "EVENT", ev->address,
        node == BRK_NONE ? "dropped: a live actor the node did not start"
                         : "dropped: another node placed it");
    return false;
}
static void s_destroy(void *arg);
void
sup_record(sup_t *self, brk_event_t *ev)
{
    if (ev->ms == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ev->ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    }
    ev->id = brk_events_push(&self->events, ev);
    if (self->event_fn != NULL) {
        self->event_fn(self->event_arg, ev);
    }
}

void
sup_event(sup_t *self, const char *kind, const char *node, const char *address,
    int64_t pid, int64_t restarts, const char *cause)
{
    brk_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.pid = pid;
    ev.restarts = restarts;
    snprintf(ev.node, sizeof ev.node, "%.63s", node ? node : "");
    snprintf(ev.kind, sizeof ev.kind, "%.15s", kind);
    snprintf(ev.address, sizeof ev.address, "%.255s", address ? address : "");
    snprintf(ev.cause, sizeof ev.cause, "%.127s", cause ? cause : "");
    sup_record(self, &ev);
}

static void
s_on_event(void *arg, brk_broker_t *core, const brk_in_t *m)
{
    sup_t *self = arg;
    uint32_t ni = sup_sender_node(self, m);
    if (ni == BRK_NONE) {
        brk_core_bad(core, m, "EVENT is for nodes; send NODE first");
        return;
    }
    if (m->nargs != 1) {
        ACTORS_LOG(ACTORS_LOG_DEBUG, "BRK-BAD-REQUEST",
            "EVENT needs frames: header map");
        return;
    }
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    if (sup_map(&m->arg[0], &up)) {
        brk_event_t ev;
        memset(&ev, 0, sizeof ev);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ev.ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
        ev.node_id = (uint64_t)sup_get_int(&up.data, "id", 0);
        ev.pid = sup_get_int(&up.data, "pid", 0);
        ev.restarts = sup_get_int(&up.data, "restarts", 0);
        snprintf(ev.node, sizeof ev.node, "%.63s",
            brk_nodes_at(&self->nodes, ni)->name);
        sup_get_str(&up.data, "kind", ev.kind, sizeof ev.kind);
        sup_get_str(&up.data, "address", ev.address, sizeof ev.address);
        sup_get_str(&up.data, "cause", ev.cause, sizeof ev.cause);
        if (s_event_allowed(self, ni, &ev)) {
            sup_record(self, &ev);
        }
    }
    msgpack_unpacked_destroy(&up);
}

void
brk_sup_on_event(brk_broker_t *core, brk_sup_event_fn fn, void *arg)
{
    for (int i = 0; i < core->n_ext; i++) {
        if (core->ext[i].destroy_cb == s_destroy) {
            sup_t *self = core->ext[i].self;
            self->event_fn = fn;
            self->event_arg = arg;
        }
    }
}
static void s_pack_event(msgpack_packer *pk, const brk_event_t *ev);

static void
s_on_events(void *arg, brk_broker_t *core, const brk_in_t *m)
{
    sup_t *self = arg;
    if (m->nargs > 1) {
        brk_core_bad(core, m, "EVENTS needs frames: header [map]");
        return;
    }
    int64_t since = 0;
    if (m->nargs == 1) {
        msgpack_unpacked up;
        msgpack_unpacked_init(&up);
        if (sup_map(&m->arg[0], &up)) {
            since = sup_get_int(&up.data, "since", 0);
        }
        msgpack_unpacked_destroy(&up);
    }
    uint32_t first = brk_events_first(&self->events, since < 0 ? 0 : since);
    msgpack_packer *pk = &core->pk;
    msgpack_pack_array(pk, self->events.count - first);
    for (uint32_t k = first; k < self->events.count; k++) {
        s_pack_event(pk, brk_events_get(&self->events, k));
    }
    brk_core_reply_packed(core, m);
}

/* ------------------------------------------------------------ status */

#define SUP_STATUS_EVENTS 50 /* recent events in the status map */

/* s_pack_event packs event ev as the map EVENTS answers. */
static void
s_pack_event(msgpack_packer *pk, const brk_event_t *ev)
{
    msgpack_pack_map(pk, ev->service[0] ? 10 : 9);
    if (ev->service[0]) {
        brk_core_pack_str(pk, "service");
        brk_core_pack_str(pk, ev->service);
    }
    brk_core_pack_str(pk, "id");
    msgpack_pack_uint64(pk, ev->id);
    brk_core_pack_str(pk, "ms");
    msgpack_pack_int64(pk, ev->ms);
    brk_core_pack_str(pk, "node");
    brk_core_pack_str(pk, ev->node);
    brk_core_pack_str(pk, "node_id");
    msgpack_pack_uint64(pk, ev->node_id);
    brk_core_pack_str(pk, "address");
    brk_core_pack_str(pk, ev->address);
    brk_core_pack_str(pk, "kind");
    brk_core_pack_str(pk, ev->kind);
    brk_core_pack_str(pk, "pid");
    msgpack_pack_int64(pk, ev->pid);
    brk_core_pack_str(pk, "restarts");
    msgpack_pack_int64(pk, ev->restarts);
    brk_core_pack_str(pk, "cause");
    brk_core_pack_str(pk, ev->cause);
}

/* s_pack_status packs "nodes" (name, pid, draining, actors placed) and
 * "events" (the last SUP_STATUS_EVENTS, oldest first). */
static void
s_pack_status(void *arg, msgpack_packer *pk)
{
    sup_t *self = arg;
    sup_compute_loads(self);
    brk_core_pack_str(pk, "nodes");
    msgpack_pack_array(pk, self->nodes.count);
    for (uint32_t i = 0; i < self->nodes.used; i++) {
        const brk_node_t *n = brk_nodes_at(&self->nodes, i);
        if (n->name[0] == '\0') {
            continue;
        }
        msgpack_pack_map(pk, 4);
        brk_core_pack_str(pk, "name");
        brk_core_pack_str(pk, n->name);
        brk_core_pack_str(pk, "pid");
        msgpack_pack_int64(pk, n->pid);
        brk_core_pack_str(pk, "draining");
        if (n->is_draining) {
            msgpack_pack_true(pk);
        } else {
            msgpack_pack_false(pk);
        }
        brk_core_pack_str(pk, "actors");
        msgpack_pack_uint32(pk, n->load);
    }
    uint32_t count = self->events.count;
    uint32_t first = count > SUP_STATUS_EVENTS ? count - SUP_STATUS_EVENTS : 0;
    brk_core_pack_str(pk, "events");
    msgpack_pack_array(pk, count - first);
    for (uint32_t k = first; k < count; k++) {
        s_pack_event(pk, brk_events_get(&self->events, k));
    }
}

/* ------------------------------------------------------------ hooks */

static void
s_slot_answer(void *arg, uint32_t si, const brk_in_t *m)
{
    sup_on_node_answer(arg, si, m);
}

static void
s_slot_expired(void *arg, uint32_t si)
{
    sup_t *self = arg;
    brk_slot_t *s = brk_slots_at(&self->core->slots, si);
    if (s->cmd == ACTORS_CMD_SPAWN) {
        sup_spawn_expired(self, si);
        return;
    }
    if (!s->answered) {
        s->answered = 1;
        brk_core_error(self->core, &s->rid, s->delim, &s->hdr, ACTORS_ETIMEDOUT,
            NULL, "the node did not answer in time");
    }
}

static void
s_destroy(void *arg)
{
    sup_t *self = arg;
    for (uint32_t i = 0; i < self->cap; i++) {
        actors__free(self->v[i].spec);
    }
    actors__free(self->v);
    brk_nodes_fini(&self->nodes);
    brk_events_fini(&self->events);
    sup_group_fini(self);
    actors__free(self);
}

actors_err
brk_sup_attach(brk_broker_t *core)
{
    sup_t *self = actors__zalloc(sizeof *self);
    if (self == NULL) {
        return ACTORS_ENOMEM;
    }
    self->core = core;
    brk_nodes_init(&self->nodes);
    if (brk_events_init(&self->events, BRK_EVENTS_DEFAULT) != ACTORS_OK) {
        actors__free(self);
        return ACTORS_ENOMEM;
    }
    brk_ext_t ext = {
        .self = self,
        .entry_lost_cb = s_entry_lost,
        .entry_registered_cb = s_entry_registered,
        .register_check_cb = s_register_check,
        .member_check_cb = sup_group_may_join,
        .entry_buried_cb = s_entry_buried,
        .entry_freed_cb = s_entry_freed,
        .conn_gone_cb = s_conn_gone,
        .tick_cb = s_tick,
        .slot_answer_cb = s_slot_answer,
        .slot_expired_cb = s_slot_expired,
        .entry_fields = 2,
        .pack_entry_cb = s_pack_entry,
        .state_name_cb = s_state_name,
        .status_fields = 2,
        .pack_status_cb = s_pack_status,
        .destroy_cb = s_destroy,
    };
    if (brk_core_attach(core, &ext) != ACTORS_OK) {
        s_destroy(self);
        return ACTORS_ENOMEM;
    }
    brk_core_set_cmd(core, ACTORS_CMD_NODE, s_on_node, self);
    brk_core_set_cmd(core, ACTORS_CMD_STATE, s_on_state, self);
    brk_core_set_cmd(core, ACTORS_CMD_EVENT, s_on_event, self);
    brk_core_set_cmd(core, ACTORS_CMD_EVENTS, s_on_events, self);
    brk_core_set_cmd(core, ACTORS_CMD_SPAWN, sup_on_spawn, self);
    brk_core_set_cmd(core, ACTORS_CMD_KILL, sup_on_kill, self);
    brk_core_set_cmd(core, ACTORS_CMD_DRAIN, sup_on_drain, self);
    return ACTORS_OK;
}
