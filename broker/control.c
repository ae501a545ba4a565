/* broker/control.c - the broker's control commands: REGISTER, UNREGISTER,
 * HEARTBEAT, CREDIT, LOOKUP, LIST, PING (control.h).
 * SPDX-License-Identifier: MIT
 */
#include "control.h"

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <msgpack.h>
#include <zmq.h>

#include <actors/log.h>
#include <actors/msg.h>

#include "broker_int.h"
#include "deadlines.h"
#include "lifecycle.h"
#include "mailbox.h"
#include "peers.h"
#include "registry.h"
#include "slots.h"
#include "unpack.h"

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

/* control_on_register handles REGISTER: claim an address for the sending peer.
 */
void
control_on_register(brk_broker_t *self, const brk_in_t *m)
{
    broker_settle_fds(self);
    if (IN_NARGS != 2) {
        broker_bad(self, m, "REGISTER needs frames: header address info");
        return;
    }
    size_t alen = zmq_msg_size(IN_ARG(0));
    if (alen == 0 || alen > ACTORS_WIRE_NAME_MAX ||
        memchr(zmq_msg_data(IN_ARG(0)), '\0', alen) != NULL) {
        broker_bad(self, m, "address must be 1..255 bytes, no NUL");
        return;
    }
    char address[256];
    broker_frame_str(IN_ARG(0), address, sizeof address);

    /* The info map. */
    char service[256] = "";
    int64_t pid = 0;
    uint32_t prefetch = 0;
    uint32_t mailbox = 0;
    size_t ilen = zmq_msg_size(IN_ARG(1));
    if (ilen > BRK_INFO_MAX) {
        broker_bad(self, m, "REGISTER info too large");
        return;
    }
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    bool ok = actors__unpack_next(&up, zmq_msg_data(IN_ARG(1)), ilen, &off) ==
                  MSGPACK_UNPACK_SUCCESS &&
              up.data.type == MSGPACK_OBJECT_MAP;
    if (ok) {
        const msgpack_object *v = actors_map_get(&up.data, "service");
        const char *sp;
        size_t sn;
        if (v != NULL && actors_value_str(v, &sp, &sn) == ACTORS_OK) {
            snprintf(service, sizeof service, "%.*s",
                (int)(sn > 255 ? 255 : sn), sp);
        } else if (v != NULL && v->type != MSGPACK_OBJECT_NIL) {
            ok = false;
        }
        v = actors_map_get(&up.data, "pid");
        if (v != NULL && actors_value_int(v, &pid) != ACTORS_OK &&
            v->type != MSGPACK_OBJECT_NIL) {
            ok = false;
        }
        ok = ok &&
             s_info_u32(&up.data, "prefetch", BRK_PREFETCH_MAX, &prefetch) &&
             s_info_u32(&up.data, "mailbox", UINT32_MAX, &mailbox);
    }
    msgpack_unpacked_destroy(&up);
    if (!ok) {
        broker_bad(self, m,
            "REGISTER info must be a msgpack map {service: str, "
            "pid: int, prefetch: int, mailbox: int}");
        return;
    }
    if (prefetch == 0) {
        prefetch = BRK_PREFETCH_DEFAULT;
    }
    if (mailbox == 0) {
        mailbox = self->opts.mailbox;
    }

    int fd = zmq_msg_get(IN_HDR, ZMQ_SRCFD);
    uint32_t pi = broker_peer_of(self);
    if (fd >= 0) {
        /* A peer still holding this fd lost its connection unseen. */
        uint32_t other = brk_peers_find_fd(&self->peers, fd);
        if (other != BRK_NONE && other != pi) {
            broker_peer_died(self, other, "connection lost");
        }
    }
    uint32_t ei = brk_registry_find(&self->reg, address, alen);
    if (ei != BRK_NONE &&
        brk_registry_at(&self->reg, ei)->state == BRK_ENTRY_RUNNING &&
        brk_registry_at(&self->reg, ei)->peer != pi) {
        ACTORS_LOG(ACTORS_LOG_WARN, "BRK-NAME-TAKEN",
            "address=%s pid=%lld refusing: held by a live actor", address,
            (long long)pid);
        broker_error(self, IN_RID, m->delim, IN_HDR, ACTORS_ETAKEN, address,
            "address %s is held by a live actor", address);
        return;
    }
    bool new_peer = false;
    if (pi == BRK_NONE) {
        if (brk_peers_add(&self->peers, zmq_msg_data(IN_RID),
                zmq_msg_size(IN_RID), fd, self->now, &pi) != ACTORS_OK) {
            broker_error(self, IN_RID, m->delim, IN_HDR, ACTORS_ENOMEM, address,
                "broker out of memory");
            return;
        }
        new_peer = true;
    }
    brk_peer_t *p = brk_peers_at(&self->peers, pi);
    if (fd >= 0) {
        p->fd = fd;
    }
    p->last_recv = self->now;
    bool linked = false;
    if (ei == BRK_NONE) {
        if (brk_registry_add(&self->reg, address, alen, &ei) != ACTORS_OK) {
            if (new_peer) {
                brk_peers_remove(&self->peers, pi);
            }
            broker_error(self, IN_RID, m->delim, IN_HDR, ACTORS_ENOMEM, address,
                "broker out of memory");
            return;
        }
        self->running++;
    } else if (brk_registry_at(&self->reg, ei)->state == BRK_ENTRY_DEAD) {
        brk_registry_revive(&self->reg, ei);
        self->running++;
    } else if (brk_registry_at(&self->reg, ei)->state != BRK_ENTRY_RUNNING) {
        brk_registry_at(&self->reg, ei)->state = BRK_ENTRY_RUNNING;
        self->running++; /* starting or restarting: the mailbox flows */
    } else {
        linked = true; /* the same peer again */
    }
    brk_entry_t *e = brk_registry_at(&self->reg, ei);
    (void)brk_registry_set_service(&self->reg, ei, service, strlen(service));
    e->pid = pid;
    e->prefetch = prefetch;
    e->mailbox_cap = mailbox;
    if (!linked) {
        e->peer = pi;
        e->peer_next = p->first_entry;
        p->first_entry = ei;
    }
    ACTORS_LOG(ACTORS_LOG_NOTICE, "BRK-REGISTER",
        "address=%s service=%s pid=%lld prefetch=%u mailbox=%u fd=%d "
        "registered",
        address, e->service, (long long)pid, prefetch, mailbox, fd);

    msgpack_pack_map(&self->pk, 4);
    /* "peer" (the actor's routing id) is kept for older actors, which
     * named it in HEARTBEATs from a second socket; liveness is ZMTP's. */
    broker_pack_str(&self->pk, "peer");
    msgpack_pack_bin(&self->pk, zmq_msg_size(IN_RID));
    msgpack_pack_bin_body(
        &self->pk, zmq_msg_data(IN_RID), zmq_msg_size(IN_RID));
    broker_pack_str(&self->pk, "heartbeat_ms");
    msgpack_pack_uint32(&self->pk, self->opts.heartbeat_ms);
    broker_pack_str(&self->pk, "liveness");
    msgpack_pack_uint32(&self->pk, self->opts.liveness);
    broker_pack_str(&self->pk, "max_message");
    msgpack_pack_uint64(&self->pk, self->opts.max_message);
    broker_reply_packed(self, m);
    lifecycle_registered(self, ei);
    broker_pump(self, ei);
}

/* control_on_unregister handles UNREGISTER: a clean exit of one address. */
void
control_on_unregister(brk_broker_t *self, const brk_in_t *m)
{
    uint32_t pi = broker_peer_of(self);
    if (pi == BRK_NONE) {
        broker_bad(self, m, "UNREGISTER from a peer that registered nothing");
        return;
    }
    brk_peers_at(&self->peers, pi)->last_recv = self->now;
    if (IN_NARGS != 1) {
        ACTORS_LOG(ACTORS_LOG_DEBUG, "BRK-BAD-REQUEST",
            "UNREGISTER needs frames: header address");
        return;
    }
    uint32_t ei = brk_registry_find(
        &self->reg, zmq_msg_data(IN_ARG(0)), zmq_msg_size(IN_ARG(0)));
    if (ei == BRK_NONE ||
        brk_registry_at(&self->reg, ei)->state != BRK_ENTRY_RUNNING ||
        brk_registry_at(&self->reg, ei)->peer != pi) {
        ACTORS_LOG(ACTORS_LOG_DEBUG, "BRK-BAD-REQUEST",
            "UNREGISTER of an address this peer does not hold");
        return;
    }
    broker_entry_down(self, ei, ACTORS_EDEAD, "unregistered");
    if (brk_peers_at(&self->peers, pi)->first_entry == BRK_NONE) {
        brk_peers_remove(&self->peers, pi);
    }
}

/* control_on_heartbeat: actors and owners are kept alive by ZMTP
 * heartbeats (brk_broker_create), so a HEARTBEAT from them means nothing
 * (an older libactors sends one with a peer frame: ignored). A node's
 * counts for the node; a REQ client gets it back so it never hangs. */
void
control_on_heartbeat(brk_broker_t *self, const brk_in_t *m)
{
    if (IN_NARGS == 0 && lifecycle_node_msg(self, m)) {
        return;
    }
    if (m->delim) {
        zmq_msg_t *f[3];
        zmq_msg_t empty;
        zmq_msg_init(&empty);
        f[0] = IN_RID;
        f[1] = &empty;
        f[2] = IN_HDR;
        broker_send(self, f, 3);
        zmq_msg_close(&empty);
    }
}

/* control_on_credit returns credit for n finished tells to the sending actor's
 * addresses, oldest dispatch first by address order, and pumps them. */
void
control_on_credit(brk_broker_t *self, const brk_in_t *m)
{
    uint32_t pi = broker_peer_of(self);
    if (pi == BRK_NONE) {
        broker_bad(self, m, "CREDIT from a peer that registered nothing");
        return;
    }
    brk_peers_at(&self->peers, pi)->last_recv = self->now;
    if (IN_NARGS != 1 || zmq_msg_size(IN_ARG(0)) != 4) {
        ACTORS_LOG(ACTORS_LOG_DEBUG, "BRK-BAD-REQUEST",
            "CREDIT needs frames: header count(4 bytes)");
        return;
    }
    uint32_t n = actors__be32(zmq_msg_data(IN_ARG(0)));
    uint32_t ei = brk_peers_at(&self->peers, pi)->first_entry;
    while (ei != BRK_NONE) {
        brk_entry_t *e = brk_registry_at(&self->reg, ei);
        uint32_t take = n < e->tells_out ? n : e->tells_out;
        e->tells_out -= take;
        e->handled += take;
        n -= take;
        uint32_t next = e->peer_next;
        broker_pump(self, ei);
        ei = next;
    }
}

void
control_on_lookup(brk_broker_t *self, const brk_in_t *m)
{
    if (IN_NARGS != 1) {
        broker_bad(self, m, "LOOKUP needs frames: header address");
        return;
    }
    char name[256];
    uint32_t ei = brk_registry_find(
        &self->reg, zmq_msg_data(IN_ARG(0)), zmq_msg_size(IN_ARG(0)));
    if (ei == BRK_NONE) {
        broker_frame_str(IN_ARG(0), name, sizeof name);
        broker_error(self, IN_RID, m->delim, IN_HDR, ACTORS_ENOACTOR, name,
            "no actor at address %s", name);
        return;
    }
    lifecycle_pack_entry(self, brk_registry_at(&self->reg, ei));
    broker_reply_packed(self, m);
}

void
control_on_list(brk_broker_t *self, const brk_in_t *m)
{
    if (IN_NARGS != 0) {
        broker_bad(self, m, "LIST takes no frames after the header");
        return;
    }
    msgpack_pack_array(&self->pk, self->reg.count);
    for (uint32_t i = 0; i < self->reg.used; i++) {
        brk_entry_t *e = brk_registry_at(&self->reg, i);
        if (e->state != BRK_ENTRY_FREE) {
            lifecycle_pack_entry(self, e);
        }
    }
    broker_reply_packed(self, m);
}

void
control_on_ping(brk_broker_t *self, const brk_in_t *m)
{
    if (IN_NARGS != 0) {
        broker_bad(self, m, "PING takes no frames after the header");
        return;
    }
    msgpack_packer *pk = &self->pk;
    msgpack_pack_map(pk, 4);
    broker_pack_str(pk, "protocol");
    broker_pack_str(pk, ACTORS_WIRE_SIG);
    broker_pack_str(pk, "version");
    broker_pack_str(pk, BRK_VERSION);
    broker_pack_str(pk, "uptime_ms");
    msgpack_pack_int64(pk, self->now - self->started);
    broker_pack_str(pk, "actors");
    msgpack_pack_uint32(pk, self->running);
    broker_reply_packed(self, m);
}
