/* broker/route.c - the hot path: CALL and TELL in, dispatch with credit,
 * REPLY and ERROR back (route.h).
 * SPDX-License-Identifier: MIT
 *
 * See broker.c for the structure and invariants these functions keep:
 * a slot per CALL/TELL, moved frames, no malloc and no body decoding.
 */
#include "route.h"

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
#include "spawn.h"
#include "unpack.h"

/* s_dispatch sends queued or new slot si to the actor of its entry (which
 * is RUNNING). A CALL goes on the in-flight list with a header carrying
 * the slot's tag and the time left; a TELL goes with the caller's header
 * and its slot is freed. Returns false, leaving the slot untouched, if
 * the actor's connection is gone (its death is then pending). */
static bool
s_dispatch(brk_broker_t *self, uint32_t si)
{
    brk_slot_t *s = brk_slots_at(&self->slots, si);
    uint32_t ei = s->entry;
    brk_entry_t *e = brk_registry_at(&self->reg, ei);
    brk_peer_t *p = brk_peers_at(&self->peers, e->peer);
    if (p->fd == BRK_FD_LOST) {
        return false;
    }
    zmq_msg_t rid;
    zmq_msg_init_size(&rid, p->rid_len);
    memcpy(zmq_msg_data(&rid), p->rid, p->rid_len);
    if (zmq_msg_send(&rid, self->router, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&rid);
        ACTORS_LOG(ACTORS_LOG_INFO, "BRK-PEER-LOST",
            "address=%s cannot route to the actor: %s", e->address,
            zmq_strerror(errno));
        p->fd = BRK_FD_LOST;
        self->lost_pending = true;
        return false;
    }
    if (s->state == BRK_SLOT_QUEUED) {
        brk_mailbox_remove(&e->mailbox, &self->slots, si);
    }
    p->last_send = self->now;
    if (s->cmd == ACTORS_CMD_CALL) {
        /* The actor's header: the broker's tag as id, the time left, and
         * the names copied from the caller's header (which stays in the
         * slot: it becomes the reply's). */
        actors__hdr_t ch;
        actors__hdr_parse(zmq_msg_data(&s->hdr), zmq_msg_size(&s->hdr), &ch);
        zmq_msg_t hdr;
        zmq_msg_init_size(
            &hdr, ACTORS_WIRE_HDR_MIN + BRK_TAG_LEN + ch.names_len);
        uint8_t tag[BRK_TAG_LEN];
        brk_slots_tag(&self->slots, si, tag);
        uint32_t left = 0;
        if (s->deadline != 0) {
            int64_t d = s->deadline - self->now;
            left = d < 1 ? 1 : (d > UINT32_MAX ? UINT32_MAX : (uint32_t)d);
        }
        uint8_t *h = zmq_msg_data(&hdr);
        size_t hl =
            actors__hdr_write(h, ACTORS_CMD_CALL, left, tag, BRK_TAG_LEN);
        memcpy(h + hl, ch.names, ch.names_len);
        if (e->max_task_retries != 0 && zmq_msg_size(&s->key) == 0) {
            /* The call may be re-delivered and its caller gave no key:
             * give it one (0x00 'b' nonce tag), kept with the slot, so a
             * journaled actor recognises the re-delivery all the same. */
            zmq_msg_close(&s->key);
            zmq_msg_init_size(&s->key, BRK_KEY_LEN);
            uint8_t *k = zmq_msg_data(&s->key);
            k[0] = 0;
            k[1] = 'b';
            memcpy(k + 2, self->nonce, sizeof self->nonce);
            memcpy(k + 2 + sizeof self->nonce, tag, BRK_TAG_LEN);
        }
        int n = zmq_msg_size(&s->key) > 0 ? 3 : 2;
        if (e->max_task_retries != 0) {
            /* The call may be re-delivered after a restart: send copies
             * (reference-counted, not duplicated) and keep the frames,
             * the caller's key among them, so a retry carries it again. */
            zmq_msg_t c[2];
            zmq_msg_t *src[2] = {&s->args, &s->key};
            for (int i = 0; i < 2; i++) {
                zmq_msg_init(&c[i]);
                zmq_msg_copy(&c[i], src[i]);
            }
            zmq_msg_t *f[3] = {&hdr, &c[0], &c[1]};
            broker_send(self, f, n);
            for (int i = 0; i < 2; i++) {
                zmq_msg_close(&c[i]);
            }
            s->kept = 1;
        } else {
            zmq_msg_t *f[3] = {&hdr, &s->args, &s->key};
            broker_send(self, f, n);
        }
        zmq_msg_close(&hdr);
        s->state = BRK_SLOT_INFLIGHT;
        brk_mailbox_push(&e->inflight, &self->slots, si, UINT32_MAX);
        e->calls_out++;
    } else {
        /* A tell goes with the caller's header: the actor ignores its id. */
        zmq_msg_t *f[3] = {&s->hdr, &s->args, &s->key};
        broker_send(self, f, zmq_msg_size(&s->key) > 0 ? 3 : 2);
        e->tells_out++;
        broker_slot_unheap(self, si);
        brk_slots_free(&self->slots, si);
    }
    return true;
}

/* s_credit_left tells whether entry e may get one more message now. */
static bool
s_credit_left(const brk_entry_t *e)
{
    return e->state == BRK_ENTRY_RUNNING &&
           (uint64_t)e->calls_out + e->tells_out < e->prefetch;
}

/* broker_pump dispatches from the mailbox of entry ei while it has credit. */
void
broker_pump(brk_broker_t *self, uint32_t ei)
{
    for (;;) {
        brk_entry_t *e = brk_registry_at(&self->reg, ei);
        if (brk_mailbox_empty(&e->mailbox) || !s_credit_left(e)) {
            return;
        }
        if (!s_dispatch(self, e->mailbox.head)) {
            return;
        }
    }
}

/* s_tell_ack answers a TELL the broker accepted with REPLY nil. The
 * header is the TELL's up to its request id, command rewritten: the names
 * are not echoed (a REPLY's header ends with the id), so with an id of up
 * to 22 bytes (libactors' are 8) every frame fits inside its zmq_msg_t and
 * the ack allocates nothing. hdr is a copy of the TELL's header (its
 * frame may have gone to the actor). Consumes rid. */
static void
s_tell_ack(brk_broker_t *self, zmq_msg_t *rid, bool delim, const uint8_t *hdr,
    size_t id_len)
{
    size_t hl = ACTORS_WIRE_HDR_MIN + id_len;
    zmq_msg_t hf;
    zmq_msg_t body;
    zmq_msg_init_size(&hf, hl);
    memcpy(zmq_msg_data(&hf), hdr, hl);
    actors__hdr_set_cmd(zmq_msg_data(&hf), ACTORS_CMD_REPLY);
    zmq_msg_init_size(&body, 1);
    *(uint8_t *)zmq_msg_data(&body) = 0xc0; /* msgpack nil */
    zmq_msg_t empty;
    zmq_msg_init(&empty);
    zmq_msg_t *f[4];
    int n = 0;
    f[n++] = rid;
    if (delim) {
        f[n++] = &empty;
    }
    f[n++] = &hf;
    f[n++] = &body;
    broker_send(self, f, n);
    zmq_msg_close(&empty);
    zmq_msg_close(&hf);
    zmq_msg_close(&body);
}

/* route_on_call handles CALL and TELL from any peer (the hot path). A TELL
 * with a request id or a delimiter is acknowledged: REPLY nil once it is
 * queued or dispatched, ERROR if it is refused (PROTOCOL.md, TELL); one
 * with neither is never answered (quiet). */
void
route_on_call(brk_broker_t *self, const brk_in_t *m)
{
    bool is_call = m->hdr.cmd == ACTORS_CMD_CALL;
    bool quiet = !is_call && m->hdr.id_len == 0 && !m->delim;
    bool ack = !is_call && !quiet;
    if (IN_NARGS != 1 && IN_NARGS != 2) {
        if (!quiet) {
            broker_bad(self, m, "CALL/TELL needs frames: header args [key]");
        }
        return;
    }
    if (IN_NARGS == 2 && (zmq_msg_size(IN_ARG(1)) == 0 ||
                             zmq_msg_size(IN_ARG(1)) > ACTORS_WIRE_ID_MAX ||
                             *(const uint8_t *)zmq_msg_data(IN_ARG(1)) == 0)) {
        if (!quiet) {
            broker_bad(self, m,
                "a call key must be 1..255 bytes and not start with a zero "
                "byte (the broker's own keys do)");
        }
        return;
    }
    if (m->hdr.address == NULL) {
        if (!quiet) {
            broker_bad(self, m,
                "the header must end with the address and the method, "
                "1..255 bytes each");
        }
        return;
    }
    size_t alen = m->hdr.address_len;
    char name[256];
    memcpy(name, m->hdr.address, alen);
    name[alen] = '\0';
    if (zmq_msg_size(IN_ARG(0)) > self->opts.max_message) {
        if (!quiet) {
            broker_error(self, IN_RID, m->delim, IN_HDR, ACTORS_ETOOBIG, name,
                "arguments of %zu bytes exceed the limit of %llu",
                zmq_msg_size(IN_ARG(0)),
                (unsigned long long)self->opts.max_message);
        }
        return;
    }
    uint32_t ei = brk_registry_find(&self->reg, m->hdr.address, alen);
    if (ei == BRK_NONE) {
        if (!quiet) {
            broker_error(self, IN_RID, m->delim, IN_HDR, ACTORS_ENOACTOR, name,
                "no actor at address %s", name);
        }
        return;
    }
    if (brk_registry_at(&self->reg, ei)->state == BRK_ENTRY_DEAD) {
        if (!quiet) {
            const char *cause = brk_registry_at(&self->reg, ei)->cause;
            broker_error(self, IN_RID, m->delim, IN_HDR, ACTORS_EDEAD, name,
                "actor %s is dead%s%s%s", name, cause[0] ? " (" : "", cause,
                cause[0] ? ")" : "");
        }
        return;
    }
    uint32_t si;
    if (brk_slots_alloc(&self->slots, &si) != ACTORS_OK) {
        if (!quiet) {
            broker_error(self, IN_RID, m->delim, IN_HDR, ACTORS_ENOMEM, name,
                "broker out of memory");
        }
        return;
    }
    /* An acknowledged TELL keeps what its answer needs: the slot's frames
     * may be gone (dispatched) by the time it is accepted. */
    zmq_msg_t ack_rid;
    uint8_t ack_hdr[ACTORS_WIRE_HDR_MIN + ACTORS_WIRE_ID_MAX];
    size_t ack_id_len = m->hdr.id_len;
    zmq_msg_init(&ack_rid);
    if (ack) {
        zmq_msg_copy(&ack_rid, IN_RID);
        memcpy(ack_hdr, zmq_msg_data(IN_HDR), ACTORS_WIRE_HDR_MIN + ack_id_len);
    }
    brk_slot_t *s = brk_slots_at(&self->slots, si);
    zmq_msg_move(&s->rid, IN_RID);
    zmq_msg_move(&s->hdr, IN_HDR);
    zmq_msg_move(&s->args, IN_ARG(0));
    if (IN_NARGS == 2) {
        zmq_msg_move(&s->key, IN_ARG(1));
    }
    s->cmd = m->hdr.cmd;
    s->delim = m->delim;
    s->answered = quiet;
    s->entry = ei;
    if (is_call && m->hdr.timeout_ms > 0) {
        s->deadline = self->now + m->hdr.timeout_ms;
        if (brk_deadlines_push(&self->deadlines, s->deadline, si) !=
            ACTORS_OK) {
            broker_slot_fail(self, si, ACTORS_ENOMEM, "broker out of memory");
            zmq_msg_close(&ack_rid);
            return;
        }
    }
    brk_entry_t *e = brk_registry_at(&self->reg, ei);
    if (brk_mailbox_empty(&e->mailbox) && s_credit_left(e)) {
        if (s_dispatch(self, si)) {
            /* Dispatched: a TELL's slot is free already. */
            if (ack) {
                s_tell_ack(self, &ack_rid, m->delim, ack_hdr, ack_id_len);
            }
            zmq_msg_close(&ack_rid);
            return;
        }
        /* The actor's connection is gone: wait in the mailbox for the
         * death to be handled (ActorDead), bound or not. */
        s->state = BRK_SLOT_QUEUED;
        brk_mailbox_push(&e->mailbox, &self->slots, si, UINT32_MAX);
        if (ack) {
            s->answered = 1; /* accepted: the ack is its one answer */
            s_tell_ack(self, &ack_rid, m->delim, ack_hdr, ack_id_len);
        }
        zmq_msg_close(&ack_rid);
        return;
    }
    if (brk_mailbox_push(&e->mailbox, &self->slots, si, e->mailbox_cap) !=
        ACTORS_OK) {
        zmq_msg_close(&ack_rid);
        if (self->now - e->full_logged >= 1000) {
            e->full_logged = self->now;
            ACTORS_LOG(ACTORS_LOG_WARN, "BRK-MBOX-FULL",
                "address=%s depth=%u rejecting (logged at most once a "
                "second)",
                e->address, e->mailbox.count);
        }
        broker_slot_fail(self, si, ACTORS_EFULL, "mailbox of %s is full (%u)",
            e->address, e->mailbox_cap);
        return;
    }
    s->state = BRK_SLOT_QUEUED;
    if (ack) {
        s->answered = 1; /* accepted: the ack is its one answer */
        s_tell_ack(self, &ack_rid, m->delim, ack_hdr, ack_id_len);
    }
    zmq_msg_close(&ack_rid);
}

/* route_on_reply handles REPLY and ERROR from an actor for a dispatched CALL
 * (the hot path's second half). */
void
route_on_reply(brk_broker_t *self, const brk_in_t *m)
{
    uint32_t si = brk_slots_find(&self->slots, m->hdr.id, m->hdr.id_len);
    brk_slot_t *s = si == BRK_NONE ? NULL : brk_slots_at(&self->slots, si);
    brk_entry_t *e = NULL;
    brk_peer_t *p = NULL;
    if (s != NULL && s->state == BRK_SLOT_NODE) {
        spawn_on_node_answer(self, m, si);
        return;
    }
    if (s != NULL && s->state == BRK_SLOT_INFLIGHT) {
        e = brk_registry_at(&self->reg, s->entry);
        size_t len = zmq_msg_size(IN_RID);
        p = e->peer == BRK_NONE ? NULL : brk_peers_at(&self->peers, e->peer);
        if (p == NULL || len != p->rid_len ||
            memcmp(p->rid, zmq_msg_data(IN_RID), len)) {
            e = NULL; /* not from the actor the call went to */
        }
    }
    if (e == NULL) {
        uint32_t pi = broker_peer_of(self);
        if (pi == BRK_NONE && lifecycle_node_msg(self, m)) {
            return; /* a node's answer to a request nobody waits for */
        }
        if (pi == BRK_NONE) {
            broker_bad(self, m, "REPLY/ERROR matches no call sent to you");
            return;
        }
        brk_peers_at(&self->peers, pi)->last_recv = self->now;
        self->n_late++;
        ACTORS_LOG(ACTORS_LOG_DEBUG, "BRK-LATE-REPLY",
            "dropping a reply that matches no waiting call");
        return;
    }
    uint32_t ei = s->entry;
    p->last_recv = self->now;
    brk_mailbox_remove(&e->inflight, &self->slots, si);
    e->calls_out--;
    e->handled++;
    broker_slot_unheap(self, si);
    if (s->answered) {
        self->n_late++;
        brk_slots_free(&self->slots, si);
    } else if (IN_NARGS != 1) {
        broker_slot_fail(self, si, ACTORS_EBADREQ,
            "actor %s sent a malformed reply", e->address);
    } else {
        broker_answer(self, &s->rid, s->delim, &s->hdr, m->hdr.cmd, IN_ARG(0));
        brk_slots_free(&self->slots, si);
    }
    broker_pump(self, ei);
}
