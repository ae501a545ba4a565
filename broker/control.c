/* broker/control.c - registration and the broker's own queries:
 * REGISTER, UNREGISTER, HEARTBEAT, LOOKUP, LIST, PING (control.h).
 * SPDX-License-Identifier: MIT
 */
#include "control.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <actors/log.h>
#include <actors/msg.h>

#include "auth.h"
#include "group.h"
#include "mailbox.h"
#include <actors-internal/unpack.h>

/* s_info_u32 reads an optional non-negative integer field of the
 * REGISTER info map into *out (unchanged when absent). false: bad type. */
static bool
s_info_u32(
    const msgpack_object *map, const char *key, uint32_t max, uint32_t *out)
{
    const msgpack_object *v = actors_map_get(map, key);
    if (v == NULL || v->type == MSGPACK_OBJECT_NIL) {
        return true;
    }
    if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
        return false;
    }
    *out = v->via.u64 > max ? max : (uint32_t)v->via.u64;
    return true;
}

/* The REGISTER info map, read. */
typedef struct {
    char service[256]; /* "" when absent */
    int64_t pid;       /* 0 when absent */
    uint32_t prefetch; /* 0: the default */
    uint32_t mailbox;  /* 0: the broker's --mailbox */
    bool progress;     /* the actor reports what it takes up */
    /* The node's secret for the process (PROTOCOL.md, Claims); "" none. */
    char claim[BRK_CLAIM_MAX + 1];
    bool group;    /* a member of the group at the address */
    bool has_mtr;  /* max_task_retries given */
    int32_t mtr;   /* a member's max_task_retries: -1 always */
    char node[48]; /* the member's node; "" when absent */
} s_info_t;

/* s_read_info decodes frame f into *info. Returns false if it is not the
 * map PROTOCOL.md describes. */
static bool
s_read_info(zmq_msg_t *f, s_info_t *info)
{
    memset(info, 0, sizeof *info);
    size_t ilen = zmq_msg_size(f);
    if (ilen > BRK_INFO_MAX) {
        return false;
    }
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    bool ok = actors__unpack_next(&up, zmq_msg_data(f), ilen, &off) ==
                  MSGPACK_UNPACK_SUCCESS &&
              up.data.type == MSGPACK_OBJECT_MAP;
    if (ok) {
        const msgpack_object *v = actors_map_get(&up.data, "service");
        const char *sp;
        size_t sn;
        if (v != NULL && actors_value_str(v, &sp, &sn) == ACTORS_OK) {
            snprintf(info->service, sizeof info->service, "%.*s",
                (int)(sn > 255 ? 255 : sn), sp);
        } else if (v != NULL && v->type != MSGPACK_OBJECT_NIL) {
            ok = false;
        }
        v = actors_map_get(&up.data, "pid");
        if (v != NULL && actors_value_int(v, &info->pid) != ACTORS_OK &&
            v->type != MSGPACK_OBJECT_NIL) {
            ok = false;
        }
        v = actors_map_get(&up.data, "claim");
        if (v != NULL && actors_value_str(v, &sp, &sn) == ACTORS_OK &&
            sn <= BRK_CLAIM_MAX && memchr(sp, '\0', sn) == NULL) {
            memcpy(info->claim, sp, sn);
            info->claim[sn] = '\0';
        } else if (v != NULL && v->type != MSGPACK_OBJECT_NIL) {
            ok = false;
        }
        v = actors_map_get(&up.data, "progress");
        if (v != NULL && actors_value_bool(v, &info->progress) != ACTORS_OK &&
            v->type != MSGPACK_OBJECT_NIL) {
            ok = false;
        }
        v = actors_map_get(&up.data, "group");
        if (v != NULL && actors_value_bool(v, &info->group) != ACTORS_OK &&
            v->type != MSGPACK_OBJECT_NIL) {
            ok = false;
        }
        v = actors_map_get(&up.data, "max_task_retries");
        int64_t mtr = 0;
        if (v != NULL && actors_value_int(v, &mtr) == ACTORS_OK) {
            info->has_mtr = true;
            info->mtr =
                mtr < 0 ? -1 : (mtr > INT32_MAX ? INT32_MAX : (int32_t)mtr);
        }
        v = actors_map_get(&up.data, "node");
        if (v != NULL && actors_value_str(v, &sp, &sn) == ACTORS_OK) {
            snprintf(info->node, sizeof info->node, "%.*s",
                (int)(sn >= sizeof info->node ? sizeof info->node - 1 : sn),
                sp);
        }
        ok = ok &&
             s_info_u32(
                 &up.data, "prefetch", BRK_PREFETCH_MAX, &info->prefetch) &&
             s_info_u32(&up.data, "mailbox", UINT32_MAX, &info->mailbox);
    }
    msgpack_unpacked_destroy(&up);
    return ok;
}

/* s_may_take asks the extensions whether connection ci (BRK_NONE: none
 * yet) may register entry ei, held or a tombstone; a refusal is answered
 * Forbidden and logged. */
static bool
s_may_take(brk_broker_t *self, const brk_in_t *m, uint32_t ei, uint32_t ci,
    const char *address, const s_info_t *info)
{
    for (int i = 0; i < self->n_ext; i++) {
        char why[256] = "";
        if (self->ext[i].register_check_cb != NULL &&
            !self->ext[i].register_check_cb(
                self->ext[i].self, ei, ci, info->claim, why, sizeof why)) {
            ACTORS_LOG(ACTORS_LOG_WARN, "BRK-FORBIDDEN",
                "address=%s pid=%lld refusing REGISTER: %s", address,
                (long long)info->pid, why);
            brk_core_error(self, m->rid, m->delim, m->hdr, ACTORS_EFORBIDDEN,
                address, "%s", why);
            return false;
        }
    }
    return true;
}

/* s_may_join asks the extensions whether connection ci (BRK_NONE: none
 * yet) may join the group at address; a refusal is answered Forbidden
 * and logged, as s_may_take's. */
static bool
s_may_join(brk_broker_t *self, const brk_in_t *m, uint32_t ci,
    const char *address, const s_info_t *info)
{
    for (int i = 0; i < self->n_ext; i++) {
        char why[320] = "";
        if (self->ext[i].member_check_cb != NULL &&
            !self->ext[i].member_check_cb(
                self->ext[i].self, address, ci, info->claim, why, sizeof why)) {
            ACTORS_LOG(ACTORS_LOG_WARN, "BRK-FORBIDDEN",
                "address=%s pid=%lld refusing REGISTER of a group member: %s",
                address, (long long)info->pid, why);
            brk_core_error(self, m->rid, m->delim, m->hdr, ACTORS_EFORBIDDEN,
                address, "%s", why);
            return false;
        }
    }
    return true;
}

/* s_room: connection ci may take address ei (BRK_NONE: a new one), as
 * it holds ei already (itself or, ei being a group, one of its members),
 * or fewer than BRK_ADDRESSES_PER_CONN addresses while live connections
 * hold fewer than BRK_ADDRESSES_MAX: what a peer can make the broker
 * keep is bounded, as its subscriptions are (pubsub.h). */
static bool
s_room(brk_broker_t *self, uint32_t ci, uint32_t ei)
{
    uint32_t n = 0;
    if (ci != BRK_NONE) {
        uint32_t i = brk_conns_at(&self->conns, ci)->first_entry;
        for (; i != BRK_NONE; i = brk_registry_at(&self->reg, i)->conn_next) {
            if (ei != BRK_NONE &&
                (i == ei || brk_registry_at(&self->reg, i)->group == ei)) {
                return true;
            }
            n++;
        }
    }
    return n < BRK_ADDRESSES_PER_CONN && self->running < BRK_ADDRESSES_MAX;
}

/* s_on_register handles REGISTER: claim an address for the sending
 * connection. */
static void
s_on_register(void *arg, brk_broker_t *self, const brk_in_t *m)
{
    (void)arg;
    if (m->nargs != 2) {
        brk_core_bad(self, m, "REGISTER needs frames: header address info");
        return;
    }
    size_t alen = zmq_msg_size(&m->arg[0]);
    if (alen == 0 || alen > ACTORS_WIRE_NAME_MAX ||
        memchr(zmq_msg_data(&m->arg[0]), '\0', alen) != NULL) {
        brk_core_bad(self, m, "address must be 1..255 bytes, no NUL");
        return;
    }
    char address[256];
    brk_core_frame_str(&m->arg[0], address, sizeof address);
    const char *patterns = zmq_msg_gets(m->hdr, "Addresses");
    if (!brk_auth_may_hold(patterns, address)) {
        ACTORS_LOG(ACTORS_LOG_WARN, "BRK-FORBIDDEN",
            "address=%s key=%s refusing REGISTER: its key may hold only %s",
            address, zmq_msg_gets(m->hdr, "User-Id"), patterns);
        brk_core_error(self, m->rid, m->delim, m->hdr, ACTORS_EFORBIDDEN,
            address, "this key may register only the addresses %s", patterns);
        return;
    }
    s_info_t info;
    if (!s_read_info(&m->arg[1], &info)) {
        brk_core_bad(self, m,
            "REGISTER info must be a msgpack map {service: str, pid: int, "
            "prefetch: int, mailbox: int, progress: bool, claim: str, group: "
            "bool}");
        return;
    }
    uint32_t prefetch = info.prefetch ? info.prefetch : BRK_PREFETCH_DEFAULT;
    if (prefetch > self->opts.max_queued / 2) {
        /* What its queue in ZeroMQ can hold, with room for ZeroMQ's
         * batched accounting of what the other side has read. */
        prefetch = self->opts.max_queued / 2 ? self->opts.max_queued / 2 : 1;
    }
    uint32_t mailbox = info.mailbox ? info.mailbox : self->opts.mailbox;

    brk_core_settle_fds(self);
    uint32_t ci = brk_core_sender(self, m);
    uint32_t ei = brk_registry_find(&self->reg, address, alen);
    if (ei != BRK_NONE &&
        brk_registry_at(&self->reg, ei)->state == BRK_ENTRY_RUNNING &&
        !(info.group && brk_registry_at(&self->reg, ei)->is_group) &&
        (ci == BRK_NONE || brk_registry_at(&self->reg, ei)->conn != ci)) {
        ACTORS_LOG(ACTORS_LOG_WARN, "BRK-NAME-TAKEN",
            "address=%s pid=%lld refusing: held by a live actor", address,
            (long long)info.pid);
        brk_core_error(self, m->rid, m->delim, m->hdr, ACTORS_ETAKEN, address,
            "address %s is held by a live actor", address);
        return;
    }
    if (ei != BRK_NONE &&
        brk_registry_at(&self->reg, ei)->state != BRK_ENTRY_RUNNING &&
        !s_may_take(self, m, ei, ci, address, &info)) {
        return;
    }
    if (info.group && !s_may_join(self, m, ci, address, &info)) {
        return;
    }
    if (!s_room(self, ci, ei)) {
        if (self->now - self->full_logged >= 1000) {
            self->full_logged = self->now; /* at most once a second */
            ACTORS_LOG(ACTORS_LOG_WARN, "BRK-REGISTRY-FULL",
                "address=%s pid=%lld refusing REGISTER: at most %u "
                "addresses per connection, %u in all",
                address, (long long)info.pid, BRK_ADDRESSES_PER_CONN,
                BRK_ADDRESSES_MAX);
        }
        brk_core_error(self, m->rid, m->delim, m->hdr, ACTORS_EFULL, address,
            "registry full: at most %u addresses per connection, %u in all",
            BRK_ADDRESSES_PER_CONN, BRK_ADDRESSES_MAX);
        return;
    }
    bool new_conn = ci == BRK_NONE;
    if (brk_core_conn_claim(self, m, BRK_ROLE_ACTOR, &ci) != ACTORS_OK) {
        brk_core_error(self, m->rid, m->delim, m->hdr, ACTORS_ENOMEM, address,
            "broker out of memory");
        return;
    }
    bool linked = false;
    bool fresh = false; /* a group that has just come to life */
    if (info.group) {
        actors_err grc =
            brk_group_join(self, address, alen, ci, &ei, &linked, &fresh);
        if (grc != ACTORS_OK) {
            if (new_conn) {
                brk_core_conn_release(self, ci, BRK_ROLE_ACTOR);
            }
            brk_core_error(self, m->rid, m->delim, m->hdr, grc, address,
                grc == ACTORS_ETAKEN ? "address %s is held by a live actor"
                                     : "broker out of memory",
                address);
            return;
        }
    } else if (ei == BRK_NONE) {
        if (brk_registry_add(&self->reg, address, alen, &ei) != ACTORS_OK) {
            if (new_conn) {
                brk_core_conn_release(self, ci, BRK_ROLE_ACTOR);
            }
            brk_core_error(self, m->rid, m->delim, m->hdr, ACTORS_ENOMEM,
                address, "broker out of memory");
            return;
        }
    } else if (brk_registry_at(&self->reg, ei)->state == BRK_ENTRY_DEAD) {
        brk_registry_revive(&self->reg, ei);
    } else if (brk_registry_at(&self->reg, ei)->state == BRK_ENTRY_RUNNING) {
        linked = true; /* the same connection again */
    }
    brk_entry_t *e = brk_registry_at(&self->reg, ei);
    if (!linked) {
        /* New, revived, or held (starting, restarting): the mailbox
         * flows to it from now on. */
        e->state = BRK_ENTRY_RUNNING;
        e->is_group = 0; /* a former group's address, now one actor's */
        self->running++;
        brk_conn_t *c = brk_conns_at(&self->conns, ci);
        e->conn = ci;
        e->conn_next = c->first_entry;
        c->first_entry = ei;
    }
    brk_conn_t *c = brk_conns_at(&self->conns, ci);
    c->progress = info.progress;
    (void)brk_registry_set_service(
        &self->reg, ei, info.service, strlen(info.service));
    if (info.group && info.has_mtr) {
        /* A group's retries are its members' (group.h). */
        brk_registry_at(&self->reg, ei)->redeliver = info.mtr;
        brk_registry_at(&self->reg, brk_registry_at(&self->reg, ei)->group)
            ->redeliver = info.mtr;
    }
    if (info.group) {
        (void)brk_registry_set_service(&self->reg,
            brk_registry_at(&self->reg, ei)->group, info.service,
            strlen(info.service));
    }
    e = brk_registry_at(&self->reg, ei);
    e->pid = info.pid;
    memcpy(e->claim, info.claim, sizeof e->claim);
    snprintf(e->node, sizeof e->node, "%s", info.node);
    e->prefetch = prefetch;
    e->mailbox_cap = mailbox;
    ACTORS_LOG(linked ? ACTORS_LOG_DEBUG : ACTORS_LOG_NOTICE, "BRK-REGISTER",
        "address=%s service=%s pid=%lld prefetch=%u mailbox=%u fd=%d %s",
        address, e->service, (long long)info.pid, prefetch, mailbox, c->fd,
        linked ? "registered again (same connection)" : "registered");

    msgpack_packer *pk = &self->pk;
    msgpack_pack_map(pk, 5);
    brk_core_pack_str(pk, "peer");
    msgpack_pack_bin(pk, zmq_msg_size(m->rid));
    msgpack_pack_bin_body(pk, zmq_msg_data(m->rid), zmq_msg_size(m->rid));
    brk_core_pack_str(pk, "heartbeat_ms");
    msgpack_pack_uint32(pk, self->opts.heartbeat_ms);
    brk_core_pack_str(pk, "liveness");
    msgpack_pack_uint32(pk, self->opts.liveness);
    brk_core_pack_str(pk, "max_message");
    msgpack_pack_uint64(pk, self->opts.max_message);
    /* The sequence of the connection so far: an actor reporting what it
     * takes up counts on from here (route.c). */
    brk_core_pack_str(pk, "seq");
    msgpack_pack_uint32(pk, c->seq_sent);
    brk_core_reply_packed(self, m);
    /* linked: the same connection asked again (an actor retries a
     * REGISTER that went unanswered): answered as the first, but nothing
     * changed hands, so the extensions hear nothing (no second
     * "registered" lifecycle event). */
    for (int i = 0; i < self->n_ext && !linked; i++) {
        if (self->ext[i].entry_registered_cb) {
            self->ext[i].entry_registered_cb(self->ext[i].self, ei);
            if (fresh) {
                self->ext[i].entry_registered_cb(
                    self->ext[i].self, brk_registry_at(&self->reg, ei)->group);
            }
        }
    }
    brk_core_pump(self, ei);
}

/* s_on_unregister handles UNREGISTER: a clean exit of one address. */
static void
s_on_unregister(void *arg, brk_broker_t *self, const brk_in_t *m)
{
    (void)arg;
    uint32_t ci = brk_core_sender(self, m);
    if (ci == BRK_NONE) {
        brk_core_bad(self, m, "UNREGISTER from a peer that registered nothing");
        return;
    }
    if (m->nargs != 1) {
        ACTORS_LOG(ACTORS_LOG_DEBUG, "BRK-BAD-REQUEST",
            "UNREGISTER needs frames: header address");
        return;
    }
    uint32_t ei = brk_registry_find(
        &self->reg, zmq_msg_data(&m->arg[0]), zmq_msg_size(&m->arg[0]));
    if (ei != BRK_NONE && brk_registry_at(&self->reg, ei)->is_group) {
        uint32_t mi = ei;
        for (ei = BRK_NONE, mi = brk_registry_at(&self->reg, mi)->first_member;
             mi != BRK_NONE;
             mi = brk_registry_at(&self->reg, mi)->member_next) {
            if (brk_registry_at(&self->reg, mi)->conn == ci) {
                brk_group_member_lost(self, mi, false, "unregistered");
                return;
            }
        }
    }
    if (ei == BRK_NONE ||
        brk_registry_at(&self->reg, ei)->state != BRK_ENTRY_RUNNING ||
        brk_registry_at(&self->reg, ei)->conn != ci) {
        ACTORS_LOG(ACTORS_LOG_DEBUG, "BRK-BAD-REQUEST",
            "UNREGISTER of an address this peer does not hold");
        return;
    }
    bool held = false;
    for (int i = 0; i < self->n_ext && !held; i++) {
        if (self->ext[i].entry_lost_cb) {
            held = self->ext[i].entry_lost_cb(
                self->ext[i].self, ei, false, "unregistered");
        }
    }
    if (!held) {
        brk_core_bury(self, ei, ACTORS_EDEAD, "unregistered");
    }
}

/* s_on_heartbeat: liveness is ZeroMQ's (ZMTP heartbeats), so an
 * application HEARTBEAT proves nothing the broker needs. It is echoed to
 * a REQ peer (which waits for an answer) and to an actor or node (peers
 * that still judge the broker by its HEARTBEATs); a client's is ignored. */
static void
s_on_heartbeat(void *arg, brk_broker_t *self, const brk_in_t *m)
{
    (void)arg;
    if (!m->delim && (m->nargs != 0 || brk_core_sender(self, m) == BRK_NONE)) {
        return;
    }
    zmq_msg_t *f[3];
    zmq_msg_t empty;
    zmq_msg_init(&empty);
    int n = 0;
    f[n++] = m->rid;
    if (m->delim) {
        f[n++] = &empty;
    }
    f[n++] = m->hdr;
    brk_core_send(self, f, n);
    zmq_msg_close(&empty);
}

static void
s_on_lookup(void *arg, brk_broker_t *self, const brk_in_t *m)
{
    (void)arg;
    if (m->nargs != 1) {
        brk_core_bad(self, m, "LOOKUP needs frames: header address");
        return;
    }
    char name[256];
    uint32_t ei = brk_registry_find(
        &self->reg, zmq_msg_data(&m->arg[0]), zmq_msg_size(&m->arg[0]));
    if (ei != BRK_NONE && brk_registry_at(&self->reg, ei)->group != BRK_NONE) {
        ei = BRK_NONE; /* a group member's hidden name (group.h) */
    }
    if (ei == BRK_NONE) {
        brk_core_frame_str(&m->arg[0], name, sizeof name);
        brk_core_error(self, m->rid, m->delim, m->hdr, ACTORS_ENOACTOR, name,
            "no actor at address %s", name);
        return;
    }
    brk_core_pack_entry(self, ei);
    brk_core_reply_packed(self, m);
}

static void
s_on_list(void *arg, brk_broker_t *self, const brk_in_t *m)
{
    (void)arg;
    if (m->nargs != 0) {
        brk_core_bad(self, m, "LIST takes no frames after the header");
        return;
    }
    /* A group's members are listed inside its entry (group.h). */
    uint32_t n = 0;
    for (uint32_t i = 0; i < self->reg.used; i++) {
        const brk_entry_t *e = brk_registry_at(&self->reg, i);
        n += e->state != BRK_ENTRY_FREE && e->group == BRK_NONE;
    }
    msgpack_pack_array(&self->pk, n);
    for (uint32_t i = 0; i < self->reg.used; i++) {
        const brk_entry_t *e = brk_registry_at(&self->reg, i);
        if (e->state != BRK_ENTRY_FREE && e->group == BRK_NONE) {
            brk_core_pack_entry(self, i);
        }
    }
    brk_core_reply_packed(self, m);
}

static void
s_on_ping(void *arg, brk_broker_t *self, const brk_in_t *m)
{
    (void)arg;
    if (m->nargs != 0) {
        brk_core_bad(self, m, "PING takes no frames after the header");
        return;
    }
    msgpack_packer *pk = &self->pk;
    msgpack_pack_map(pk, 9);
    brk_core_pack_str(pk, "protocol");
    brk_core_pack_str(pk, ACTORS_WIRE_SIG);
    brk_core_pack_str(pk, "version");
    brk_core_pack_str(pk, BRK_VERSION);
    brk_core_pack_str(pk, "uptime_ms");
    msgpack_pack_int64(pk, self->now - self->started);
    brk_core_pack_str(pk, "actors");
    msgpack_pack_uint32(pk, self->running);
    brk_core_pack_str(pk, "connections");
    msgpack_pack_uint32(pk, self->conns.count);
    brk_core_pack_str(pk, "undelivered");
    msgpack_pack_uint64(pk, self->n_undelivered);
    brk_core_pack_str(pk, "unroutable");
    msgpack_pack_uint64(pk, self->n_unroutable);
    brk_core_pack_str(pk, "requeued");
    msgpack_pack_uint64(pk, self->n_requeued);
    brk_core_pack_str(pk, "refused");
    msgpack_pack_uint64(pk, self->n_refused);
    brk_core_reply_packed(self, m);
}

void
control_attach(brk_broker_t *self)
{
    brk_core_set_cmd(self, ACTORS_CMD_REGISTER, s_on_register, NULL);
    brk_core_set_cmd(self, ACTORS_CMD_UNREGISTER, s_on_unregister, NULL);
    brk_core_set_cmd(self, ACTORS_CMD_HEARTBEAT, s_on_heartbeat, NULL);
    brk_core_set_cmd(self, ACTORS_CMD_LOOKUP, s_on_lookup, NULL);
    brk_core_set_cmd(self, ACTORS_CMD_LIST, s_on_list, NULL);
    brk_core_set_cmd(self, ACTORS_CMD_PING, s_on_ping, NULL);
}
