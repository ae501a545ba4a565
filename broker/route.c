/* broker/route.c - the hot path: CALL and TELL in, dispatch with credit,
 * REPLY and ERROR back, CREDIT (route.h).
 * SPDX-License-Identifier: MIT
 *
 * Every CALL and TELL becomes a slot holding its frames, moved
 * (zmq_msg_move, no copy); the slot either goes straight to the actor,
 * when the address's mailbox is empty and the actor has credit, or waits
 * in the mailbox. A dispatched message stays on the address's in-flight
 * list, in dispatch order, until the actor answers it (a CALL: REPLY or
 * ERROR) or credits it (a TELL: CREDIT), keeping only what the answer
 * needs (the caller's routing id and header) unless the entry may
 * re-deliver it. Nothing on that path mallocs once the slab is warm, and
 * no body is decoded.
 *
 * Started or not. Each message dispatched on a connection gets the next
 * sequence number of that connection (conn.h); an actor takes its
 * messages up one at a time in that order, so a REPLY to the call with
 * sequence s, or a CREDIT for the tells up to s, proves that everything
 * up to s was taken up. An actor that says so at REGISTER ("progress")
 * also reports, in CREDIT, the last message it has taken up whenever the
 * broker could not infer it (before it starts a message while an earlier
 * one is unanswered). When it dies, the message after the last known one
 * may be running; those after it never started, and go back to the front
 * of its mailbox for the restarted process (brk_core_hold), whatever the
 * prefetch. PROTOCOL.md, "When an actor dies".
 */
#include "route.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <actors/log.h>

#include "group.h"
#include "mailbox.h"

/* s_dispatch sends queued or new slot si to the actor of its entry (which
 * is RUNNING). The message goes on the in-flight list; a CALL with a
 * header carrying the slot's tag and the time left, a TELL with the
 * caller's header. It leaves at the loop's next flush; should the
 * actor's queue in ZeroMQ be full then, it is taken back into the mailbox
 * (brk_core_send_ordered). Returns false, leaving the slot untouched, if
 * the actor's connection may take no dispatch now (gone: its death is
 * then pending; its queue full: the tick pumps again). */
static bool
s_dispatch(brk_broker_t *self, uint32_t si)
{
    brk_slot_t *s = brk_slots_at(&self->slots, si);
    uint32_t ei = s->entry;
    brk_entry_t *e = brk_registry_at(&self->reg, ei);
    if (!brk_core_may_dispatch(self, e->conn)) {
        return false;
    }
    brk_conn_t *c = brk_conns_at(&self->conns, e->conn);
    zmq_msg_t rid;
    zmq_msg_init_size(&rid, c->rid_len);
    memcpy(zmq_msg_data(&rid), c->rid, c->rid_len);
    if (s->state == BRK_SLOT_QUEUED) {
        brk_mailbox_remove(&e->mailbox, &self->slots, si);
    }
    s->seq = ++c->seq_sent;
    bool keep = e->redeliver != 0 && s->cmd == ACTORS_CMD_CALL;
    zmq_msg_t hdr;
    zmq_msg_init(&hdr);
    zmq_msg_t *h = &s->hdr;
    if (s->cmd == ACTORS_CMD_CALL) {
        /* The actor's header: the broker's tag as id, the time left, and
         * the names copied from the caller's header (which stays in the
         * slot: it becomes the reply's). */
        actors__hdr_t ch;
        actors__hdr_parse(zmq_msg_data(&s->hdr), zmq_msg_size(&s->hdr), &ch);
        zmq_msg_close(&hdr);
        uint8_t tag[BRK_TAG_LEN];
        size_t tag_len = brk_slots_call_tag(&self->slots, si, tag);
        zmq_msg_init_size(&hdr, ACTORS_WIRE_HDR_MIN + tag_len + ch.names_len);
        uint32_t left = 0;
        if (s->deadline != 0) {
            int64_t d = s->deadline - self->now;
            left = d < 1 ? 1 : (d > UINT32_MAX ? UINT32_MAX : (uint32_t)d);
        }
        uint8_t *p = zmq_msg_data(&hdr);
        size_t hl = actors__hdr_write(p, ACTORS_CMD_CALL, left, tag, tag_len);
        memcpy(p + hl, ch.names, ch.names_len);
        h = &hdr;
        if (keep && zmq_msg_size(&s->key) == 0) {
            /* The call may be re-delivered and its caller gave no key:
             * give it one (0x00 'b' nonce tag), kept with the slot, so a
             * journaled actor recognises the re-delivery all the same. */
            zmq_msg_close(&s->key);
            zmq_msg_init_size(&s->key, BRK_KEY_LEN);
            uint8_t *k = zmq_msg_data(&s->key);
            k[0] = 0;
            k[1] = 'b';
            memcpy(k + 2, self->nonce, sizeof self->nonce);
            brk_slots_tag(&self->slots, si, k + 2 + sizeof self->nonce);
        }
    }
    /* In flight before it is queued: a flush (the outbox's batch bound)
     * may check it, or take it back, before this returns. */
    s->state = BRK_SLOT_INFLIGHT;
    brk_mailbox_push(&e->inflight, &self->slots, si, UINT32_MAX);
    if (s->cmd == ACTORS_CMD_CALL) {
        e->calls_out++;
    } else {
        e->tells_out++;
        brk_core_slot_unheap(self, si);
    }
    int n = zmq_msg_size(&s->key) > 0 ? 4 : 3;
    /* A message that may go again (a retry, or one the actor never took
     * up) is sent as copies (reference-counted, not duplicated) and its
     * frames stay in the slot. A TELL's header must stay for the same
     * reason, and a CALL's is the reply's. */
    bool tracked = c->progress || keep;
    if (tracked || s->cmd == ACTORS_CMD_TELL) {
        zmq_msg_t cp[3];
        zmq_msg_t *src[3] = {h, &s->args, &s->key};
        zmq_msg_t *f[4] = {&rid, &cp[0], &cp[1], &cp[2]};
        for (int i = 0; i < 3; i++) {
            zmq_msg_init(&cp[i]);
            if (i == 0 || tracked) {
                zmq_msg_copy(&cp[i], src[i]);
            } else {
                zmq_msg_move(&cp[i], src[i]);
            }
        }
        s->kept = tracked;
        brk_core_send_ordered(self, si, f, n);
        for (int i = 0; i < 3; i++) {
            zmq_msg_close(&cp[i]);
        }
    } else {
        zmq_msg_t *f[4] = {&rid, h, &s->args, &s->key};
        s->kept = 0;
        brk_core_send_ordered(self, si, f, n);
    }
    zmq_msg_close(&rid);
    zmq_msg_close(&hdr);
    return true;
}

bool
brk_route_dispatch(brk_broker_t *self, uint32_t si)
{
    return s_dispatch(self, si);
}

/* s_credit_left tells whether entry e may get one more message now. */
static bool
s_credit_left(const brk_entry_t *e)
{
    return e->state == BRK_ENTRY_RUNNING &&
           (uint64_t)e->calls_out + e->tells_out < e->prefetch;
}

void
brk_core_pump(brk_broker_t *self, uint32_t ei)
{
    if (brk_registry_at(&self->reg, ei)->group != BRK_NONE ||
        brk_registry_at(&self->reg, ei)->is_group) {
        brk_group_pump(self, ei); /* a group's member, or a group */
        return;
    }
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

/* s_accept dispatches new slot si to entry ei at once, or queues it in the
 * mailbox. Returns false if the mailbox was full: the caller has its
 * MailboxFull answer and the slot is freed. */
static bool
s_accept(brk_broker_t *self, uint32_t si, uint32_t ei)
{
    brk_entry_t *e = brk_registry_at(&self->reg, ei);
    if (brk_mailbox_empty(&e->mailbox) && s_credit_left(e)) {
        if (s_dispatch(self, si)) {
            return true;
        }
        /* The actor's connection is gone or its queue full: wait in the
         * mailbox, bound or not (the death answers it ActorDead, or the
         * next tick pumps it). */
        brk_slots_park(&self->slots, si);
        brk_mailbox_push(&e->mailbox, &self->slots, si, UINT32_MAX);
        return true;
    }
    if (brk_mailbox_push(&e->mailbox, &self->slots, si, e->mailbox_cap) !=
        ACTORS_OK) {
        if (self->now - e->full_logged >= 1000) {
            e->full_logged = self->now;
            ACTORS_LOG(ACTORS_LOG_WARN, "BRK-MBOX-FULL",
                "address=%s depth=%u rejecting (logged at most once a "
                "second)",
                e->address, e->mailbox.count);
        }
        brk_core_slot_fail(self, si, ACTORS_EFULL, "mailbox of %s is full (%u)",
            e->address, e->mailbox_cap);
        return false;
    }
    brk_slots_park(&self->slots, si);
    return true;
}

bool
brk_core_accept(brk_broker_t *self, uint32_t si, uint32_t ei)
{
    if (brk_registry_at(&self->reg, ei)->is_group) {
        return brk_group_accept(self, si, ei, NULL, false); /* one member */
    }
    return s_accept(self, si, ei);
}

/* s_refuse answers the CALL or TELL m, which cannot be accepted, with
 * ERROR code (text from fmt), unless it is a silent TELL (quiet); either
 * way the refusal is observed. */
static void s_refuse(brk_broker_t *self, const brk_in_t *m, bool quiet,
    actors_err code, const char *address, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static void
s_refuse(brk_broker_t *self, const brk_in_t *m, bool quiet, actors_err code,
    const char *address, const char *fmt, ...)
{
    if (self->observe) {
        brk_core_observe(self, BRK_NONE, m->hdr, code, 0);
    }
    if (quiet) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    brk_core_verror(self, m->rid, m->delim, m->hdr, code, address, fmt, ap);
    va_end(ap);
}

/* s_on_call handles CALL and TELL from any peer (the hot path). A TELL
 * with a request id or a delimiter is acknowledged: REPLY nil once it is
 * queued or dispatched, ERROR if refused; an id-less one never. */
static void
s_on_call(void *arg, brk_broker_t *self, const brk_in_t *m)
{
    (void)arg;
    bool is_call = m->h.cmd == ACTORS_CMD_CALL;
    bool quiet = !is_call && m->h.id_len == 0 && !m->delim;
    const char *bad = NULL;
    int nargs = m->nargs;
    const zmq_msg_t *route = NULL; /* a group's routing key (group.h) */
    if ((m->h.flags & BRK_FLAG_ROUTED) && nargs >= 2) {
        route = &m->arg[--nargs];
    }
    if (nargs != 1 && nargs != 2) {
        bad = "CALL/TELL needs frames: header args [key] [route]";
    } else if (route != NULL &&
               (zmq_msg_size((zmq_msg_t *)route) == 0 ||
                   zmq_msg_size((zmq_msg_t *)route) > ACTORS_WIRE_ID_MAX)) {
        bad = "a routing key must be 1..255 bytes";
    } else if (nargs == 2 &&
               (zmq_msg_size(&m->arg[1]) == 0 ||
                   zmq_msg_size(&m->arg[1]) > ACTORS_WIRE_ID_MAX ||
                   *(const uint8_t *)zmq_msg_data(&m->arg[1]) == 0)) {
        bad = "a call key must be 1..255 bytes and not start with a zero "
              "byte (the broker's own keys do)";
    } else if (m->h.address == NULL) {
        bad = "the header must end with the address and the method, "
              "1..255 bytes each";
    }
    if (bad != NULL) {
        if (!quiet) {
            brk_core_bad(self, m, bad);
        }
        return;
    }
    size_t alen = m->h.address_len;
    char name[256];
    memcpy(name, m->h.address, alen);
    name[alen] = '\0';
    if (zmq_msg_size(&m->arg[0]) > self->opts.max_message) {
        s_refuse(self, m, quiet, ACTORS_ETOOBIG, name,
            "arguments of %zu bytes exceed the limit of %llu",
            zmq_msg_size(&m->arg[0]),
            (unsigned long long)self->opts.max_message);
        return;
    }
    uint32_t ei = brk_registry_find(&self->reg, m->h.address, alen);
    if (ei == BRK_NONE) {
        s_refuse(self, m, quiet, ACTORS_ENOACTOR, name,
            "no actor at address %s", name);
        return;
    }
    if (brk_registry_at(&self->reg, ei)->group != BRK_NONE) {
        /* A group member's hidden name (group.h): not an address. */
        s_refuse(self, m, quiet, ACTORS_ENOACTOR, name,
            "no actor at address %s", name);
        return;
    }
    if (brk_registry_at(&self->reg, ei)->state == BRK_ENTRY_DEAD) {
        const char *cause = brk_registry_at(&self->reg, ei)->cause;
        s_refuse(self, m, quiet, ACTORS_EDEAD, name, "actor %s is dead%s%s%s",
            name, cause[0] ? " (" : "", cause, cause[0] ? ")" : "");
        return;
    }
    uint32_t si;
    if (brk_slots_alloc(&self->slots, &si) != ACTORS_OK) {
        s_refuse(self, m, quiet, ACTORS_ENOMEM, name, "broker out of memory");
        return;
    }
    /* An acknowledged TELL (a request id or a delimiter): keep what the
     * acknowledgement needs before the frames move into the slot. */
    bool ack = !is_call && !quiet;
    zmq_msg_t ack_rid;
    zmq_msg_t ack_hdr;
    zmq_msg_init(&ack_rid);
    zmq_msg_init(&ack_hdr);
    if (ack) {
        zmq_msg_copy(&ack_rid, m->rid);
        brk_core_body_from(
            &ack_hdr, zmq_msg_data(m->hdr), zmq_msg_size(m->hdr));
    }
    brk_slot_t *s = brk_slots_at(&self->slots, si);
    zmq_msg_move(&s->rid, m->rid);
    zmq_msg_move(&s->hdr, m->hdr);
    zmq_msg_move(&s->args, &m->arg[0]);
    if (nargs == 2) {
        zmq_msg_move(&s->key, &m->arg[1]);
    }
    s->cmd = m->h.cmd;
    s->delim = m->delim;
    s->t0_us = self->now_us;
    s->answered = quiet || ack;
    s->entry = ei;
    if (is_call && m->h.timeout_ms > 0 &&
        brk_core_slot_deadline(self, si, m->h.timeout_ms) != ACTORS_OK) {
        brk_core_slot_fail(self, si, ACTORS_ENOMEM, "broker out of memory");
        return;
    }
    bool accepted =
        brk_registry_at(&self->reg, ei)->is_group
            ? brk_group_accept(self, si, ei, route,
                  !is_call && (m->h.flags & BRK_FLAG_BROADCAST) != 0)
            : s_accept(self, si, ei);
    if (!accepted) {
        if (ack) {
            /* Refused: the ack frames answer with the error instead. */
            brk_entry_t *e = brk_registry_at(&self->reg, ei);
            brk_core_error(self, &ack_rid, m->delim, &ack_hdr, ACTORS_EFULL,
                e->address, "mailbox of %s is full (%u)", e->address,
                e->mailbox_cap);
        }
    } else if (ack) {
        static const uint8_t nil = 0xc0;
        zmq_msg_t body;
        brk_core_body_from(&body, &nil, 1);
        brk_core_answer(
            self, &ack_rid, m->delim, &ack_hdr, ACTORS_CMD_REPLY, &body);
        zmq_msg_close(&body);
    }
    zmq_msg_close(&ack_rid);
    zmq_msg_close(&ack_hdr);
}

/* s_known notes that the actor on connection ci has taken up the message
 * with sequence seq (and so every one before it). */
static inline void
s_known(brk_broker_t *self, uint32_t ci, uint32_t seq)
{
    brk_conn_t *c = brk_conns_at(&self->conns, ci);
    if ((int32_t)(seq - c->seq_known) > 0) {
        c->seq_known = seq;
    }
}

/* s_on_reply handles REPLY and ERROR: from an actor for a dispatched CALL
 * (the hot path's second half), or for a request an extension relayed. */
static void
s_on_reply(void *arg, brk_broker_t *self, const brk_in_t *m)
{
    (void)arg;
    uint32_t si = brk_slots_find(&self->slots, m->h.id, m->h.id_len);
    brk_slot_t *s = si == BRK_NONE ? NULL : brk_slots_at(&self->slots, si);
    if (s != NULL && s->state == BRK_SLOT_EXT) {
        for (int i = 0; i < self->n_ext; i++) {
            if (self->ext[i].slot_answer_cb) {
                self->ext[i].slot_answer_cb(self->ext[i].self, si, m);
                return;
            }
        }
    }
    brk_entry_t *e = NULL;
    uint32_t ci = brk_core_sender(self, m);
    if (s != NULL && s->state == BRK_SLOT_INFLIGHT &&
        s->cmd == ACTORS_CMD_CALL && ci != BRK_NONE) {
        e = brk_registry_at(&self->reg, s->entry);
        if (e->conn != ci) {
            e = NULL; /* not from the actor the call went to */
        }
    }
    if (e == NULL) {
        if (ci == BRK_NONE) {
            brk_core_bad(self, m, "REPLY/ERROR matches no call sent to you");
            return;
        }
        self->n_late++;
        ACTORS_LOG(ACTORS_LOG_DEBUG, "BRK-LATE-REPLY",
            "dropping a reply that matches no waiting call");
        return;
    }
    uint32_t ei = s->entry;
    s_known(self, ci, s->seq);
    brk_mailbox_remove(&e->inflight, &self->slots, si);
    e->calls_out--;
    e->handled++;
    brk_core_slot_unheap(self, si);
    if (s->answered) {
        self->n_late++;
        brk_slots_free(&self->slots, si);
    } else if (m->nargs != 1) {
        brk_core_slot_fail(self, si, ACTORS_EBADREQ,
            "actor %s sent a malformed reply", e->address);
    } else {
        brk_calls_add(&e->calls, m->h.cmd != ACTORS_CMD_REPLY,
            brk_core_age_us(self, s->t0_us));
        if (self->observe) {
            brk_core_observe(self, ei, &s->hdr,
                m->h.cmd == ACTORS_CMD_REPLY ? ACTORS_OK : ACTORS_EAPP,
                s->t0_us);
        }
        brk_core_answer(self, &s->rid, s->delim, &s->hdr, m->h.cmd, &m->arg[0]);
        brk_slots_free(&self->slots, si);
    }
    brk_core_pump(self, ei);
}

/* s_credit_tells frees up to n of entry ei's oldest tells in flight and
 * returns how many. */
static uint32_t
s_credit_tells(brk_broker_t *self, uint32_t ei, uint32_t ci, uint32_t n)
{
    brk_entry_t *e = brk_registry_at(&self->reg, ei);
    uint32_t done = 0;
    uint32_t si = e->inflight.head;
    while (si != BRK_NONE && done < n && e->tells_out > 0) {
        brk_slot_t *s = brk_slots_at(&self->slots, si);
        uint32_t next = s->next;
        if (s->cmd == ACTORS_CMD_TELL) {
            s_known(self, ci, s->seq);
            brk_mailbox_remove(&e->inflight, &self->slots, si);
            brk_slots_free(&self->slots, si);
            e->tells_out--;
            e->handled++;
            done++;
        }
        si = next;
    }
    return done;
}

/* s_on_credit handles CREDIT: n finished tells (returned to the sending
 * connection's addresses, oldest dispatch first, in address order), and
 * optionally the sequence of the last message the actor took up. */
static void
s_on_credit(void *arg, brk_broker_t *self, const brk_in_t *m)
{
    (void)arg;
    uint32_t ci = brk_core_sender(self, m);
    if (ci == BRK_NONE) {
        brk_core_bad(self, m, "CREDIT from a peer that registered nothing");
        return;
    }
    size_t len = m->nargs == 1 ? zmq_msg_size(&m->arg[0]) : 0;
    if (len != 4 && len != 8) {
        ACTORS_LOG(ACTORS_LOG_DEBUG, "BRK-BAD-REQUEST",
            "CREDIT needs frames: header count(4 bytes)[taken(4 bytes)]");
        return;
    }
    const uint8_t *p = zmq_msg_data(&m->arg[0]);
    uint32_t n = actors__be32(p);
    if (len == 8) {
        s_known(self, ci, actors__be32(p + 4));
    }
    uint32_t ei = brk_conns_at(&self->conns, ci)->first_entry;
    while (ei != BRK_NONE) {
        n -= s_credit_tells(self, ei, ci, n);
        uint32_t next = brk_registry_at(&self->reg, ei)->conn_next;
        brk_core_pump(self, ei);
        ei = next;
    }
}

void
route_attach(brk_broker_t *self)
{
    brk_core_set_cmd(self, ACTORS_CMD_CALL, s_on_call, NULL);
    brk_core_set_cmd(self, ACTORS_CMD_TELL, s_on_call, NULL);
    brk_core_set_cmd(self, ACTORS_CMD_REPLY, s_on_reply, NULL);
    brk_core_set_cmd(self, ACTORS_CMD_ERROR, s_on_reply, NULL);
    brk_core_set_cmd(self, ACTORS_CMD_CREDIT, s_on_credit, NULL);
}
