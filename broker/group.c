/* broker/group.c - group addresses (group.h).
 * SPDX-License-Identifier: MIT
 */
#include "group.h"

#include <stdio.h>
#include <string.h>

#include <actors/log.h>

#include "mailbox.h"
#include "route.h"

/* s_load is what a member has outstanding: dispatched and unanswered,
 * and waiting in its own mailbox. */
static inline uint64_t
s_load(const brk_entry_t *e)
{
    return (uint64_t)e->calls_out + e->tells_out + e->mailbox.count;
}

/* s_can_take tells whether member e may be sent one more message now. */
static bool
s_can_take(brk_broker_t *self, const brk_entry_t *e)
{
    if (e->state != BRK_ENTRY_RUNNING ||
        (uint64_t)e->calls_out + e->tells_out >= e->prefetch ||
        !brk_mailbox_empty(&e->mailbox)) {
        return false;
    }
    return brk_conns_at(&self->conns, e->conn)->fd != BRK_FD_LOST;
}

/* s_least_loaded returns the member of group gi with credit and the
 * least load (ties: the fewest handled), or BRK_NONE. */
static uint32_t
s_least_loaded(brk_broker_t *self, uint32_t gi)
{
    uint32_t best = BRK_NONE;
    uint64_t best_load = UINT64_MAX;
    uint64_t best_done = UINT64_MAX;
    uint32_t mi = brk_registry_at(&self->reg, gi)->first_member;
    while (mi != BRK_NONE) {
        const brk_entry_t *e = brk_registry_at(&self->reg, mi);
        if (s_can_take(self, e)) {
            uint64_t load = s_load(e);
            if (load < best_load ||
                (load == best_load && e->handled < best_done)) {
                best = mi;
                best_load = load;
                best_done = e->handled;
            }
        }
        mi = e->member_next;
    }
    return best;
}

/* s_mix is splitmix64's finaliser. */
static inline uint64_t
s_mix(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

/* s_by_key returns the member of group gi that key (len bytes) ranks
 * first: rendezvous (highest random weight) hashing over the members'
 * serials, so a member joining or leaving moves only the keys it wins or
 * held. */
static uint32_t
s_by_key(brk_broker_t *self, uint32_t gi, const void *key, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a 64 */
    const uint8_t *p = key;
    for (size_t i = 0; i < len; i++) {
        h = (h ^ p[i]) * 0x100000001b3ULL;
    }
    uint32_t best = BRK_NONE;
    uint64_t best_w = 0;
    uint32_t mi = brk_registry_at(&self->reg, gi)->first_member;
    while (mi != BRK_NONE) {
        const brk_entry_t *e = brk_registry_at(&self->reg, mi);
        uint64_t w = s_mix(h ^ s_mix((uint64_t)e->serial + 1));
        if (best == BRK_NONE || w > best_w) {
            best = mi;
            best_w = w;
        }
        mi = e->member_next;
    }
    return best;
}

/* s_to_member hands slot si (on no list) to member mi: dispatched now
 * when it can take it, else into its mailbox (bounded unless force).
 * Returns false if the mailbox was full (the slot untouched). */
static bool
s_to_member(brk_broker_t *self, uint32_t si, uint32_t mi, bool force)
{
    brk_slot_t *s = brk_slots_at(&self->slots, si);
    brk_entry_t *e = brk_registry_at(&self->reg, mi);
    s->entry = mi;
    if (s_can_take(self, e) && brk_route_dispatch(self, si)) {
        return true;
    }
    s = brk_slots_at(&self->slots, si);
    e = brk_registry_at(&self->reg, mi);
    if (brk_mailbox_push(&e->mailbox, &self->slots, si,
            force ? UINT32_MAX : e->mailbox_cap) != ACTORS_OK) {
        return false;
    }
    brk_slots_park(&self->slots, si);
    return true;
}

/* s_distribute hands the group's mailbox, oldest first, to its least
 * loaded members while any has credit. */
static void
s_distribute(brk_broker_t *self, uint32_t gi)
{
    for (;;) {
        brk_entry_t *g = brk_registry_at(&self->reg, gi);
        if (brk_mailbox_empty(&g->mailbox) || g->state != BRK_ENTRY_RUNNING) {
            return;
        }
        uint32_t mi = s_least_loaded(self, gi);
        if (mi == BRK_NONE) {
            return;
        }
        uint32_t si = brk_mailbox_pop(&g->mailbox, &self->slots);
        brk_slot_t *s = brk_slots_at(&self->slots, si);
        s->state = BRK_SLOT_HELD;
        s->entry = mi;
        if (!brk_route_dispatch(self, si)) {
            /* Its queue is full or its connection gone: back to the
             * front; a tick or the death pumps again. */
            s = brk_slots_at(&self->slots, si);
            s->entry = gi;
            brk_slots_park(&self->slots, si);
            brk_mailbox_push_front(
                &brk_registry_at(&self->reg, gi)->mailbox, &self->slots, si);
            return;
        }
    }
}

void
brk_group_pump(brk_broker_t *self, uint32_t ei)
{
    brk_entry_t *e = brk_registry_at(&self->reg, ei);
    uint32_t gi = ei;
    if (!e->is_group) {
        gi = e->group;
        for (;;) {
            e = brk_registry_at(&self->reg, ei);
            if (brk_mailbox_empty(&e->mailbox) ||
                e->state != BRK_ENTRY_RUNNING ||
                (uint64_t)e->calls_out + e->tells_out >= e->prefetch) {
                break;
            }
            if (!brk_route_dispatch(self, e->mailbox.head)) {
                return;
            }
        }
    }
    s_distribute(self, gi);
}

/* s_copy makes a new slot with copies of slot si's frames (a broadcast's
 * copy: nothing answers it). Returns its index or BRK_NONE. */
static uint32_t
s_copy(brk_broker_t *self, uint32_t si)
{
    uint32_t ci;
    if (brk_slots_alloc(&self->slots, &ci) != ACTORS_OK) {
        return BRK_NONE;
    }
    brk_slot_t *s = brk_slots_at(&self->slots, si);
    brk_slot_t *c = brk_slots_at(&self->slots, ci);
    zmq_msg_copy(&c->rid, &s->rid);
    zmq_msg_copy(&c->hdr, &s->hdr);
    zmq_msg_copy(&c->args, &s->args);
    zmq_msg_copy(&c->key, &s->key);
    c->cmd = s->cmd;
    c->delim = s->delim;
    c->answered = 1;
    c->entry = s->entry;
    return ci;
}

/* s_refuse answers slot si MailboxFull for the mailbox of entry ei. */
static void
s_refuse(brk_broker_t *self, uint32_t si, uint32_t ei)
{
    brk_entry_t *e = brk_registry_at(&self->reg, ei);
    if (self->now - e->full_logged >= 1000) {
        e->full_logged = self->now;
        ACTORS_LOG(ACTORS_LOG_WARN, "BRK-MBOX-FULL",
            "address=%s depth=%u rejecting (group; logged at most once a "
            "second)",
            e->address, e->mailbox.count);
    }
    brk_core_slot_fail(self, si, ACTORS_EFULL, "mailbox of %s is full (%u)",
        e->address, e->mailbox_cap);
}

bool
brk_group_accept(brk_broker_t *self, uint32_t si, uint32_t gi,
    const zmq_msg_t *route, bool broadcast)
{
    brk_entry_t *g = brk_registry_at(&self->reg, gi);
    bool is_tell = brk_slots_at(&self->slots, si)->cmd == ACTORS_CMD_TELL;
    if (g->first_member != BRK_NONE && broadcast && is_tell) {
        /* One copy per member; the original goes to the first. A member
         * whose mailbox is full misses its copy (logged). */
        uint32_t first = g->first_member;
        uint32_t mi = brk_registry_at(&self->reg, first)->member_next;
        while (mi != BRK_NONE) {
            uint32_t next = brk_registry_at(&self->reg, mi)->member_next;
            uint32_t ci = s_copy(self, si);
            if (ci == BRK_NONE || !s_to_member(self, ci, mi, false)) {
                if (ci != BRK_NONE) {
                    brk_slots_free(&self->slots, ci);
                }
                ACTORS_LOG(ACTORS_LOG_WARN, "BRK-BROADCAST-MISSED",
                    "address=%s member=%u a broadcast copy was dropped "
                    "(mailbox full or no memory)",
                    brk_registry_at(&self->reg, gi)->address,
                    brk_registry_at(&self->reg, mi)->serial);
            }
            mi = next;
        }
        if (!s_to_member(self, si, first, false)) {
            s_refuse(self, si, first);
            return false;
        }
        return true;
    }
    uint32_t mi = BRK_NONE;
    if (route != NULL && g->first_member != BRK_NONE) {
        mi = s_by_key(self, gi, zmq_msg_data((zmq_msg_t *)route),
            zmq_msg_size((zmq_msg_t *)route));
        if (!s_to_member(self, si, mi, false)) {
            s_refuse(self, si, mi);
            return false;
        }
        return true;
    }
    g = brk_registry_at(&self->reg, gi);
    if (brk_mailbox_empty(&g->mailbox) && g->state == BRK_ENTRY_RUNNING) {
        mi = s_least_loaded(self, gi);
        if (mi != BRK_NONE) {
            brk_slots_at(&self->slots, si)->entry = mi;
            if (brk_route_dispatch(self, si)) {
                return true;
            }
            brk_slots_at(&self->slots, si)->entry = gi;
        }
    }
    g = brk_registry_at(&self->reg, gi);
    if (brk_mailbox_push(&g->mailbox, &self->slots, si, g->mailbox_cap) !=
        ACTORS_OK) {
        s_refuse(self, si, gi);
        return false;
    }
    brk_slots_park(&self->slots, si);
    return true;
}

/* s_find_member returns connection ci's member of group gi, or BRK_NONE. */
static uint32_t
s_find_member(brk_broker_t *self, uint32_t gi, uint32_t ci)
{
    if (ci == BRK_NONE) {
        return BRK_NONE;
    }
    uint32_t ei = brk_conns_at(&self->conns, ci)->first_entry;
    while (ei != BRK_NONE) {
        const brk_entry_t *e = brk_registry_at(&self->reg, ei);
        if (e->group == gi) {
            return ei;
        }
        ei = e->conn_next;
    }
    return BRK_NONE;
}

actors_err
brk_group_join(brk_broker_t *self, const char *address, size_t len, uint32_t ci,
    uint32_t *mi, bool *linked, bool *fresh)
{
    *linked = false;
    *fresh = false;
    uint32_t gi = brk_registry_find(&self->reg, address, len);
    bool created = false;
    if (gi != BRK_NONE) {
        brk_entry_t *g = brk_registry_at(&self->reg, gi);
        if (g->state == BRK_ENTRY_RUNNING && !g->is_group) {
            return ACTORS_ETAKEN;
        }
        uint32_t old = s_find_member(self, gi, ci);
        if (old != BRK_NONE) {
            *mi = old;
            *linked = true;
            return ACTORS_OK;
        }
    } else {
        actors_err rc = brk_registry_add(&self->reg, address, len, &gi);
        if (rc != ACTORS_OK) {
            return rc;
        }
        created = true;
        brk_entry_t *g = brk_registry_at(&self->reg, gi);
        g->state = BRK_ENTRY_HELD; /* RUNNING below, with its member */
        g->mailbox_cap = self->opts.mailbox;
    }
    uint32_t m;
    actors_err rc = brk_registry_add_member(
        &self->reg, address, len, brk_registry_at(&self->reg, gi)->serial, &m);
    if (rc != ACTORS_OK) {
        if (created) {
            brk_registry_remove(&self->reg, gi);
        }
        return rc;
    }
    brk_entry_t *g = brk_registry_at(&self->reg, gi);
    if (g->state == BRK_ENTRY_DEAD) {
        brk_registry_revive(&self->reg, gi);
        g->state = BRK_ENTRY_HELD;
    }
    if (g->state != BRK_ENTRY_RUNNING) {
        g->state = BRK_ENTRY_RUNNING;
        g->cause[0] = '\0';
        self->running++;
        *fresh = true;
    }
    g->is_group = 1;
    g->conn = BRK_NONE;
    brk_entry_t *e = brk_registry_at(&self->reg, m);
    e->state = BRK_ENTRY_HELD; /* the caller links it and makes it RUNNING */
    e->group = gi;
    e->serial = g->serial++;
    e->redeliver = g->redeliver;
    e->member_next = g->first_member;
    g->first_member = m;
    g->members++;
    *mi = m;
    return ACTORS_OK;
}

/* s_unlink_member takes member mi off its group's list. */
static void
s_unlink_member(brk_broker_t *self, uint32_t gi, uint32_t mi)
{
    brk_entry_t *g = brk_registry_at(&self->reg, gi);
    uint32_t *link = &g->first_member;
    while (*link != BRK_NONE && *link != mi) {
        link = &brk_registry_at(&self->reg, *link)->member_next;
    }
    if (*link == mi) {
        *link = brk_registry_at(&self->reg, mi)->member_next;
        g->members--;
    }
}

void
brk_group_member_lost(
    brk_broker_t *self, uint32_t mi, bool crashed, const char *reason)
{
    brk_entry_t *e = brk_registry_at(&self->reg, mi);
    uint32_t gi = e->group;
    char address[256];
    snprintf(address, sizeof address, "%s", e->address);
    int64_t pid = e->pid;
    uint32_t serial = e->serial;
    uint32_t known = 0;
    bool tracked = false;
    if (e->conn != BRK_NONE) {
        brk_conn_t *c = brk_conns_at(&self->conns, e->conn);
        known = c->seq_known;
        tracked = c->progress;
    }
    brk_entry_t *g = brk_registry_at(&self->reg, gi);
    int32_t redeliver = g->redeliver;
    uint32_t moved = 0;
    uint32_t failed = 0;
    /* Its own mailbox (keyed calls) first to the group's front, then the
     * in-flight messages that may go again in front of them: the group's
     * mailbox then starts with them, in their order. */
    uint32_t si;
    while ((si = e->mailbox.tail) != BRK_NONE) {
        brk_mailbox_remove(&e->mailbox, &self->slots, si);
        brk_slot_t *s = brk_slots_at(&self->slots, si);
        s->entry = gi;
        brk_mailbox_push_front(&g->mailbox, &self->slots, si);
        moved++;
    }
    si = e->inflight.tail;
    while (si != BRK_NONE) {
        brk_slot_t *s = brk_slots_at(&self->slots, si);
        uint32_t prev = s->prev;
        bool not_started = tracked && (int32_t)(s->seq - known) > 1;
        bool retry = !not_started && s->cmd == ACTORS_CMD_CALL && s->kept &&
                     !s->answered && (redeliver < 0 || s->attempts < redeliver);
        brk_mailbox_remove(&e->inflight, &self->slots, si);
        if (not_started || retry) {
            if (retry) {
                s->attempts++;
            }
            s->entry = gi;
            brk_slots_park(&self->slots, si);
            brk_mailbox_push_front(&g->mailbox, &self->slots, si);
            moved++;
        } else if (s->cmd == ACTORS_CMD_TELL || s->answered) {
            if (s->cmd == ACTORS_CMD_TELL) {
                self->n_tells_lost++;
            }
            brk_core_slot_unheap(self, si);
            brk_slots_free(&self->slots, si);
        } else {
            s->state = BRK_SLOT_HELD;
            failed++;
            if (crashed) {
                brk_core_slot_fail(self, si, ACTORS_ECRASHED,
                    "actor %s (group member %u, pid %lld) died while "
                    "handling the call: %s",
                    address, serial, (long long)pid, reason);
            } else {
                brk_core_slot_fail(self, si, ACTORS_EDEAD,
                    "actor %s (group member %u, pid %lld) exited while "
                    "handling the call (%s)",
                    address, serial, (long long)pid, reason);
            }
        }
        e = brk_registry_at(&self->reg, mi);
        g = brk_registry_at(&self->reg, gi);
        si = prev;
    }
    self->n_requeued += moved;
    e = brk_registry_at(&self->reg, mi);
    e->calls_out = 0;
    e->tells_out = 0;
    g = brk_registry_at(&self->reg, gi);
    g->handled += e->handled;
    brk_calls_merge(&g->calls, &e->calls);
    s_unlink_member(self, gi, mi);
    brk_core_unlink(self, mi);
    self->running--;
    brk_registry_remove(&self->reg, mi);
    for (int i = 0; i < self->n_ext; i++) {
        if (self->ext[i].entry_freed_cb) {
            self->ext[i].entry_freed_cb(self->ext[i].self, mi);
        }
    }
    g = brk_registry_at(&self->reg, gi);
    ACTORS_LOG(crashed ? ACTORS_LOG_WARN : ACTORS_LOG_NOTICE, "BRK-MEMBER-GONE",
        "address=%s member=%u pid=%lld cause=\"%s\" moved=%u failed=%u "
        "members=%u",
        address, serial, (long long)pid, reason, moved, failed, g->members);
    if (g->first_member != BRK_NONE) {
        s_distribute(self, gi);
        return;
    }
    /* The last member: the group is lost as a single actor would be. */
    bool held = false;
    for (int i = 0; i < self->n_ext && !held; i++) {
        if (self->ext[i].entry_lost_cb) {
            held = self->ext[i].entry_lost_cb(
                self->ext[i].self, gi, crashed, reason);
        }
    }
    if (!held) {
        brk_core_bury(
            self, gi, crashed ? ACTORS_ECRASHED : ACTORS_EDEAD, reason);
    }
}

bool
brk_group_busy(brk_broker_t *self, uint32_t ei)
{
    const brk_entry_t *e = brk_registry_at(&self->reg, ei);
    return e->is_group && e->first_member != BRK_NONE;
}

void
brk_group_sum(brk_broker_t *self, uint32_t gi, brk_group_sum_t *out)
{
    const brk_entry_t *g = brk_registry_at(&self->reg, gi);
    memset(out, 0, sizeof *out);
    out->mailbox = g->mailbox.count;
    out->handled = g->handled;
    out->calls = g->calls;
    for (uint32_t mi = g->first_member; mi != BRK_NONE;) {
        const brk_entry_t *e = brk_registry_at(&self->reg, mi);
        uint64_t out_n = (uint64_t)e->calls_out + e->tells_out;
        out->mailbox += e->mailbox.count;
        out->inflight += out_n;
        out->credit += out_n >= e->prefetch ? 0 : e->prefetch - out_n;
        out->handled += e->handled;
        brk_calls_merge(&out->calls, &e->calls);
        mi = e->member_next;
    }
}

void
brk_group_pack_entry(brk_broker_t *self, uint32_t gi)
{
    msgpack_packer *pk = &self->pk;
    uint32_t extra = 0;
    for (int i = 0; i < self->n_ext; i++) {
        if (self->ext[i].pack_entry_cb) {
            extra += self->ext[i].entry_fields;
        }
    }
    brk_group_sum_t sum;
    brk_group_sum(self, gi, &sum);
    const brk_entry_t *g = brk_registry_at(&self->reg, gi);
    msgpack_pack_map(pk, 13 + extra);
    brk_core_pack_str(pk, "address");
    brk_core_pack_str(pk, g->address);
    brk_core_pack_str(pk, "service");
    brk_core_pack_str(pk, g->service);
    brk_core_pack_str(pk, "pid");
    msgpack_pack_int64(pk, 0);
    brk_core_pack_str(pk, "state");
    brk_core_pack_str(pk, brk_core_state_name(self, gi));
    g = brk_registry_at(&self->reg, gi);
    brk_core_pack_str(pk, "mailbox");
    msgpack_pack_uint64(pk, sum.mailbox);
    brk_core_pack_str(pk, "inflight");
    msgpack_pack_uint64(pk, sum.inflight);
    brk_core_pack_str(pk, "handled");
    msgpack_pack_uint64(pk, sum.handled);
    brk_core_pack_str(pk, "cause");
    brk_core_pack_str(pk, g->cause);
    brk_core_pack_calls(pk, &sum.calls);
    for (int i = 0; i < self->n_ext; i++) {
        if (self->ext[i].pack_entry_cb) {
            self->ext[i].pack_entry_cb(self->ext[i].self, gi, pk);
        }
    }
    g = brk_registry_at(&self->reg, gi);
    brk_core_pack_str(pk, "group");
    msgpack_pack_true(pk);
    brk_core_pack_str(pk, "members");
    msgpack_pack_array(pk, g->members);
    for (uint32_t mi = g->first_member; mi != BRK_NONE;) {
        const brk_entry_t *e = brk_registry_at(&self->reg, mi);
        uint64_t out = (uint64_t)e->calls_out + e->tells_out;
        msgpack_pack_map(pk, 10);
        brk_core_pack_str(pk, "pid");
        msgpack_pack_int64(pk, e->pid);
        brk_core_pack_str(pk, "node");
        if (e->node[0]) {
            brk_core_pack_str(pk, e->node);
        } else {
            msgpack_pack_nil(pk);
        }
        brk_core_pack_str(pk, "serial");
        msgpack_pack_uint32(pk, e->serial);
        brk_core_pack_str(pk, "inflight");
        msgpack_pack_uint64(pk, out);
        brk_core_pack_str(pk, "credit");
        msgpack_pack_uint64(pk, out >= e->prefetch ? 0 : e->prefetch - out);
        brk_core_pack_str(pk, "mailbox");
        msgpack_pack_uint32(pk, e->mailbox.count);
        brk_core_pack_str(pk, "handled");
        msgpack_pack_uint64(pk, e->handled);
        brk_core_pack_calls(pk, &e->calls);
        mi = e->member_next;
    }
}
