/* broker/broker.c - the message broker: one ROUTER, registry, mailboxes.
 * SPDX-License-Identifier: MIT
 *
 * Structure. One thread runs brk_broker_run: a blocking receive on the
 * ROUTER (ZMQ_RCVTIMEO up to the next timer, at most BRK_CHECK_MS), which
 * costs no syscall while messages are queued (zmq_poll would cost a poll
 * and a ZMQ_EVENTS check per socket each time). Every BRK_BATCH messages,
 * every BRK_CHECK_MS and whenever the socket is idle, the loop drains the
 * PAIR end of the socket monitor (connection drops) and runs the timers
 * (deadlines, heartbeats). The clock is read once per message (vDSO).
 *
 * A message is received into self->in[]: routing id, an optional empty
 * delimiter, the header, the frames of its command. Every CALL and TELL
 * becomes a slot (slots.h) holding its frames, moved (zmq_msg_move, no
 * copy); the slot either goes straight to the actor, when the address's
 * mailbox is empty and the actor has credit, or waits in the mailbox. A
 * dispatched CALL stays on the address's in-flight list keeping only the
 * caller's routing id and header; the actor's REPLY names the slot by its
 * tag, and the reply goes out as caller id + [delimiter] + the caller's
 * own header with the command byte rewritten + the actor's body frame.
 * Nothing on that path mallocs (small frames are inline in zmq_msg_t;
 * slots come from a free list) or decodes a body.
 *
 * Invariants. Every slot is on exactly one of: an entry's mailbox, an
 * entry's in-flight list, or neither only inside one function. A slot
 * with a deadline is in the heap. An entry's calls_out equals the length
 * of its in-flight list; calls_out + tells_out never exceeds prefetch
 * except transiently after a re-register lowered it. A RUNNING entry has
 * a live peer; a DEAD entry (tombstone) has empty lists.
 *
 * Errors. Every caller gets exactly one answer. Answers that cannot be
 * routed (the caller left) are dropped and counted. Input never asserts.
 *
 * Files. This one: the loop, sending and answering, deaths, timers. The
 * CALL/TELL/REPLY path is route.c, the control commands control.c, the
 * nodes, spawns, kills and supervised restarts lifecycle.c and spawn.c,
 * the owners of owned actors owners.c.
 */
#include "broker.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <msgpack.h>
#include <zmq.h>

#include <actors/log.h>
#include <actors/msg.h>

#include "alloc.h"
#include "broker_int.h"
#include "control.h"
#include "deadlines.h"
#include "lifecycle.h"
#include "mailbox.h"
#include "peers.h"
#include "registry.h"
#include "route.h"
#include "slots.h"
#include "spawn.h"
#include "unpack.h"

#define BRK_TAG 0xb40ce001u
#define BRK_BATCH 1024  /* messages per drain before timers run */
#define BRK_CHECK_MS 10 /* longest wait; monitor and timer checks */
#define BRK_MONITOR_EP_FMT "inproc://actors-broker-monitor-%p"

/* ------------------------------------------------------------ helpers */

static int64_t
s_clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* broker_frame_str copies a frame (an address) into buf as a C string,
 * truncated to cap - 1 bytes, and returns buf. */
const char *
broker_frame_str(zmq_msg_t *m, char *buf, size_t cap)
{
    size_t n = zmq_msg_size(m);
    if (n >= cap) {
        n = cap - 1;
    }
    memcpy(buf, zmq_msg_data(m), n);
    buf[n] = '\0';
    return buf;
}

/* broker_send sends n frames as one message. The frames are consumed either
 * way (left initialised and empty). Returns false when the peer cannot be
 * routed to (it left): the answer is dropped and counted. */
bool
broker_send(brk_broker_t *self, zmq_msg_t **f, int n)
{
    for (int i = 0; i < n; i++) {
        int flags = ZMQ_DONTWAIT | (i + 1 < n ? ZMQ_SNDMORE : 0);
        if (zmq_msg_send(f[i], self->router, flags) < 0) {
            if (i == 0) {
                self->n_unroutable++;
                ACTORS_LOG(ACTORS_LOG_DEBUG, "BRK-UNROUTABLE",
                    "errno=%d dropping an answer: %s", errno,
                    zmq_strerror(errno));
            }
            for (int j = i; j < n; j++) {
                zmq_msg_close(f[j]);
                zmq_msg_init(f[j]);
            }
            return false;
        }
    }
    return true;
}

/* broker_answer sends hdr (rewritten to cmd) and body back to rid, with an
 * empty delimiter first if the caller sent one. Consumes rid, hdr, body. */
void
broker_answer(brk_broker_t *self, zmq_msg_t *rid, bool delim, zmq_msg_t *hdr,
    uint8_t cmd, zmq_msg_t *body)
{
    actors__hdr_set_cmd(zmq_msg_data(hdr), cmd);
    zmq_msg_t empty;
    zmq_msg_init(&empty);
    zmq_msg_t *f[4];
    int n = 0;
    f[n++] = rid;
    if (delim) {
        f[n++] = &empty;
    }
    f[n++] = hdr;
    f[n++] = body;
    broker_send(self, f, n);
    zmq_msg_close(&empty);
}

/* broker_body_from makes a frame holding len bytes of data. */
void
broker_body_from(zmq_msg_t *body, const void *data, size_t len)
{
    if (zmq_msg_init_size(body, len) == 0) {
        memcpy(zmq_msg_data(body), data, len);
    } else {
        /* libzmq aborts on OOM itself; keep a valid empty frame anyway. */
        zmq_msg_init(body);
    }
}

/* broker_error answers rid with ERROR code. hdr is the caller's header frame
 * (echoing its request id), or NULL when it could not be read (a fresh
 * header with an empty id is made). Consumes rid and hdr. */
void broker_error(brk_broker_t *self, zmq_msg_t *rid, bool delim,
    zmq_msg_t *hdr, actors_err code, const char *address, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

void
broker_error(brk_broker_t *self, zmq_msg_t *rid, bool delim, zmq_msg_t *hdr,
    actors_err code, const char *address, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);

    zmq_msg_t fresh;
    zmq_msg_init(&fresh);
    if (hdr == NULL) {
        zmq_msg_close(&fresh);
        zmq_msg_init_size(&fresh, ACTORS_WIRE_HDR_MIN);
        actors__hdr_write(zmq_msg_data(&fresh), ACTORS_CMD_ERROR, 0, NULL, 0);
        hdr = &fresh;
    }
    zmq_msg_t body;
    actors_msg_reset(self->ebody);
    if (actors__error_body(self->ebody, code, NULL, text, address) ==
        ACTORS_OK) {
        broker_body_from(
            &body, actors_msg_data(self->ebody), actors_msg_size(self->ebody));
    } else {
        static const uint8_t nil = 0xc0;
        broker_body_from(&body, &nil, 1);
    }
    broker_answer(self, rid, delim, hdr, ACTORS_CMD_ERROR, &body);
    zmq_msg_close(&body);
    zmq_msg_close(&fresh);
}

/* ------------------------------------------------------------ slots */

static void
s_heap_pos(void *arg, uint32_t id, uint32_t pos)
{
    brk_broker_t *self = arg;
    brk_slots_at(&self->slots, id)->heap = pos;
}

/* broker_slot_unheap takes slot si out of the deadline heap if it is in. */
void
broker_slot_unheap(brk_broker_t *self, uint32_t si)
{
    uint32_t pos = brk_slots_at(&self->slots, si)->heap;
    if (pos != BRK_NONE) {
        brk_deadlines_remove(&self->deadlines, pos);
    }
}

/* broker_slot_fail answers the caller of slot si (off every list) with an
 * error, unless it needs no answer, and frees the slot. */
void broker_slot_fail(brk_broker_t *self, uint32_t si, actors_err code,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

void
broker_slot_fail(
    brk_broker_t *self, uint32_t si, actors_err code, const char *fmt, ...)
{
    broker_slot_unheap(self, si);
    brk_slot_t *s = brk_slots_at(&self->slots, si);
    if (!s->answered) {
        char text[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(text, sizeof text, fmt, ap);
        va_end(ap);
        const char *address = "";
        if (s->entry != BRK_NONE) {
            address = brk_registry_at(&self->reg, s->entry)->address;
        }
        broker_error(
            self, &s->rid, s->delim, &s->hdr, code, address, "%s", text);
    }
    brk_slots_free(&self->slots, si);
}

/* ------------------------------------------------------------ dispatch */

/* ------------------------------------------------------------ deaths */

/* broker_peer_unlink takes entry ei off its peer's list. */
void
broker_peer_unlink(brk_broker_t *self, uint32_t ei)
{
    brk_entry_t *e = brk_registry_at(&self->reg, ei);
    if (e->peer == BRK_NONE) {
        return;
    }
    brk_peer_t *p = brk_peers_at(&self->peers, e->peer);
    uint32_t *link = &p->first_entry;
    while (*link != BRK_NONE && *link != ei) {
        link = &brk_registry_at(&self->reg, *link)->peer_next;
    }
    if (*link == ei) {
        *link = e->peer_next;
    }
    e->peer = BRK_NONE;
    e->peer_next = BRK_NONE;
}

/* broker_entry_down ends the life of running entry ei: in-flight calls get
 * inflight_code (ActorCrashed, or ActorDead for a clean exit), waiting
 * messages get ActorDead, and the address becomes a tombstone. reason
 * completes the messages ("connection lost", "heartbeats missed",
 * "unregistered"). A "restarting" state would keep the mailbox here. */
void
broker_entry_down(brk_broker_t *self, uint32_t ei, actors_err inflight_code,
    const char *reason)
{
    brk_entry_t *e = brk_registry_at(&self->reg, ei);
    assert(e->state != BRK_ENTRY_FREE && e->state != BRK_ENTRY_DEAD);
    char address[256];
    snprintf(address, sizeof address, "%s", e->address);
    uint32_t n_inflight = e->inflight.count;
    uint32_t n_mailbox = e->mailbox.count;
    uint32_t si;
    while ((si = brk_mailbox_pop(&e->inflight, &self->slots)) != BRK_NONE) {
        if (inflight_code == ACTORS_ECRASHED) {
            broker_slot_fail(self, si, ACTORS_ECRASHED,
                "actor %s died while handling the call: %s", address, reason);
        } else {
            broker_slot_fail(self, si, inflight_code,
                "actor %s exited while handling the call (%s)", address,
                reason);
        }
        e = brk_registry_at(&self->reg, ei);
    }
    while ((si = brk_mailbox_pop(&e->mailbox, &self->slots)) != BRK_NONE) {
        broker_slot_fail(self, si, ACTORS_EDEAD,
            "actor %s is dead (%s); the call was not delivered", address,
            reason);
        e = brk_registry_at(&self->reg, ei);
    }
    if (e->spawn_slot != BRK_NONE) {
        uint32_t spawn = e->spawn_slot;
        e->spawn_slot = BRK_NONE;
        broker_slot_fail(self, spawn, ACTORS_ESPAWN,
            "actor %s did not start: %s", address, reason);
        e = brk_registry_at(&self->reg, ei);
    }
    e->calls_out = 0;
    e->tells_out = 0;
    e->is_held = 0;
    snprintf(e->cause, sizeof e->cause, "%s", reason);
    broker_peer_unlink(self, ei);
    if (e->state == BRK_ENTRY_RUNNING) {
        self->running--;
    }
    ACTORS_LOG(
        inflight_code == ACTORS_ECRASHED ? ACTORS_LOG_WARN : ACTORS_LOG_NOTICE,
        "BRK-ACTOR-DEAD",
        "address=%s cause=\"%s\" inflight=%u mailbox=%u actor is dead", address,
        reason, n_inflight, n_mailbox);
    uint32_t dropped = brk_registry_bury(&self->reg, ei);
    if (dropped != BRK_NONE) {
        ACTORS_LOG(ACTORS_LOG_DEBUG, "BRK-TOMB-DROP",
            "tombstones=%u dropping the oldest", self->reg.tombs);
    }
}

/* broker_peer_died ends every entry of peer pi and forgets the peer. */
void
broker_peer_died(brk_broker_t *self, uint32_t pi, const char *reason)
{
    for (;;) {
        uint32_t ei = brk_peers_at(&self->peers, pi)->first_entry;
        if (ei == BRK_NONE) {
            break;
        }
        if (!lifecycle_crashed(self, ei, reason)) {
            broker_entry_down(self, ei, ACTORS_ECRASHED, reason);
        }
    }
    brk_peers_remove(&self->peers, pi);
}

/* s_reap_lost ends the peers a send found unreachable. */
static void
s_reap_lost(brk_broker_t *self)
{
    self->lost_pending = false;
    for (uint32_t pi = 0; pi < self->peers.used; pi++) {
        brk_peer_t *p = brk_peers_at(&self->peers, pi);
        if (p->rid_len != 0 && p->fd == BRK_FD_LOST) {
            broker_peer_died(self, pi, "connection lost");
        }
    }
}

static int s_recv_handle(brk_broker_t *self, int flags);

/* s_drain_monitor handles the socket monitor's events: a DISCONNECTED
 * connection whose fd a peer registered with is that actor's death. With
 * flush, the messages waiting on the ROUTER are handled first, so that
 * what a dying actor sent before its connection dropped (replies) counts;
 * without (inside a message handler), deaths are handled at once. */
static void
s_drain_monitor(brk_broker_t *self, bool flush)
{
    for (;;) {
        zmq_msg_t ev;
        zmq_msg_init(&ev);
        if (zmq_msg_recv(&ev, self->monitor, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&ev);
            return;
        }
        uint16_t event = 0;
        uint32_t value = 0;
        if (zmq_msg_size(&ev) >= 6) {
            memcpy(&event, zmq_msg_data(&ev), 2);
            memcpy(&value, (uint8_t *)zmq_msg_data(&ev) + 2, 4);
        }
        while (zmq_msg_more(&ev)) {
            zmq_msg_close(&ev);
            zmq_msg_init(&ev);
            if (zmq_msg_recv(&ev, self->monitor, ZMQ_DONTWAIT) < 0) {
                break;
            }
        }
        zmq_msg_close(&ev);
        if (event != ZMQ_EVENT_DISCONNECTED) {
            continue;
        }
        uint32_t pi = brk_peers_find_fd(&self->peers, (int)value);
        if (pi == BRK_NONE) {
            lifecycle_conn_gone(self, (int)value);
            continue;
        }
        if (flush) {
            /* Remember who it was: while flushing, that peer may go and a
             * new connection may register with the same fd. */
            uint8_t rid[BRK_RID_MAX];
            size_t len = brk_peers_at(&self->peers, pi)->rid_len;
            memcpy(rid, brk_peers_at(&self->peers, pi)->rid, len);
            for (int k = 0; k < 16 * BRK_BATCH; k++) {
                if (s_recv_handle(self, ZMQ_DONTWAIT) != 1) {
                    break;
                }
            }
            pi = brk_peers_find(&self->peers, rid, len);
            if (pi == BRK_NONE ||
                brk_peers_at(&self->peers, pi)->fd != (int)value) {
                continue;
            }
        }
        broker_peer_died(self, pi, "connection lost");
        lifecycle_conn_gone(self, (int)value);
    }
}

/* ------------------------------------------------------------ commands */

/* broker_bad answers a malformed message: BadRequest with the caller's id. */
void
broker_bad(brk_broker_t *self, const brk_in_t *m, const char *what)
{
    self->n_bad++;
    ACTORS_LOG(ACTORS_LOG_DEBUG, "BRK-BAD-REQUEST", "cmd=%u %s",
        (unsigned)m->hdr.cmd, what);
    broker_error(
        self, IN_RID, m->delim, IN_HDR, ACTORS_EBADREQ, NULL, "%s", what);
}

/* broker_peer_of returns the peer that sent the current message, or BRK_NONE
 * for a plain client. */
uint32_t
broker_peer_of(brk_broker_t *self)
{
    return brk_peers_find(
        &self->peers, zmq_msg_data(IN_RID), zmq_msg_size(IN_RID));
}

/* broker_pack_body turns what the packer wrote into a body frame. */
void
broker_pack_body(brk_broker_t *self, zmq_msg_t *body)
{
    broker_body_from(body, self->sbuf.data, self->sbuf.size);
    msgpack_sbuffer_clear(&self->sbuf);
}

void
broker_pack_str(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

/* broker_reply_packed answers the current message with REPLY and the body the
 * packer holds. */
void
broker_reply_packed(brk_broker_t *self, const brk_in_t *m)
{
    zmq_msg_t body;
    broker_pack_body(self, &body);
    broker_answer(self, IN_RID, m->delim, IN_HDR, ACTORS_CMD_REPLY, &body);
    zmq_msg_close(&body);
}

void
broker_settle_fds(brk_broker_t *self)
{
    s_drain_monitor(self, false);
    if (self->lost_pending) {
        s_reap_lost(self);
    }
}

/* s_handle handles the message in self->in[0..n); too_many: it had more
 * frames than kept. Frames are closed by the caller. */
static void
s_handle(brk_broker_t *self, int n, bool too_many)
{
    brk_in_t mm = {.n = n, .h = 1};
    brk_in_t *m = &mm;
    if (n >= 2 && zmq_msg_size(&self->in[1]) == 0) {
        m->delim = true;
        m->h = 2;
    }
    if (m->h >= n) {
        self->n_bad++;
        ACTORS_LOG(ACTORS_LOG_DEBUG, "BRK-BAD-REQUEST", "no header frame");
        broker_error(self, IN_RID, m->delim, NULL, ACTORS_EBADREQ, NULL,
            "no header frame");
        return;
    }
    actors_err rc =
        actors__hdr_parse(zmq_msg_data(IN_HDR), zmq_msg_size(IN_HDR), &m->hdr);
    if (rc != ACTORS_OK) {
        self->n_bad++;
        ACTORS_LOG(ACTORS_LOG_DEBUG, "BRK-BAD-REQUEST",
            "unreadable header of %zu bytes", zmq_msg_size(IN_HDR));
        broker_error(self, IN_RID, m->delim, NULL, rc, NULL,
            rc == ACTORS_EVERSION ? "unsupported protocol version, this "
                                    "broker speaks ACT2"
                                  : "not an ACT2 header");
        return;
    }
    if (too_many) {
        broker_bad(self, m, "too many frames");
        return;
    }
    switch (m->hdr.cmd) {
    case ACTORS_CMD_CALL:
    case ACTORS_CMD_TELL:
        route_on_call(self, m);
        break;
    case ACTORS_CMD_REPLY:
    case ACTORS_CMD_ERROR:
        route_on_reply(self, m);
        break;
    case ACTORS_CMD_REGISTER:
        control_on_register(self, m);
        break;
    case ACTORS_CMD_UNREGISTER:
        control_on_unregister(self, m);
        break;
    case ACTORS_CMD_HEARTBEAT:
        control_on_heartbeat(self, m);
        break;
    case ACTORS_CMD_CREDIT:
        control_on_credit(self, m);
        break;
    case ACTORS_CMD_LOOKUP:
        control_on_lookup(self, m);
        break;
    case ACTORS_CMD_LIST:
        control_on_list(self, m);
        break;
    case ACTORS_CMD_PING:
        control_on_ping(self, m);
        break;
    case ACTORS_CMD_NODE:
        lifecycle_on_node(self, m);
        break;
    case ACTORS_CMD_STATE:
        lifecycle_on_state(self, m);
        break;
    case ACTORS_CMD_SPAWN:
        spawn_on_spawn(self, m);
        break;
    case ACTORS_CMD_KILL:
        spawn_on_kill(self, m);
        break;
    case ACTORS_CMD_EVENTS:
        lifecycle_on_events(self, m);
        break;
    case ACTORS_CMD_EVENT:
        lifecycle_on_event(self, m);
        break;
    default:
        broker_bad(self, m, "unknown command");
        break;
    }
}

/* s_recv_handle receives one message (flags: 0 waits up to the socket's
 * ZMQ_RCVTIMEO, ZMQ_DONTWAIT does not wait), reads the clock and handles
 * it. Returns 1 if one was handled, 0 if none came (timeout, EINTR), -1
 * if the socket failed (errno set). */
static int
s_recv_handle(brk_broker_t *self, int flags)
{
    zmq_msg_t *in = self->in;
    if (zmq_msg_recv(&in[0], self->router, flags) < 0) {
        return errno == EAGAIN || errno == EINTR ? 0 : -1;
    }
    int n = 1;
    bool too_many = false;
    bool more = zmq_msg_more(&in[0]);
    while (more) {
        /* The parts of a message arrive together: these never wait. */
        if (n < BRK_MAX_FRAMES) {
            if (zmq_msg_recv(&in[n], self->router, ZMQ_DONTWAIT) < 0) {
                break;
            }
            more = zmq_msg_more(&in[n]);
            n++;
        } else {
            zmq_msg_t extra;
            zmq_msg_init(&extra);
            if (zmq_msg_recv(&extra, self->router, ZMQ_DONTWAIT) < 0) {
                zmq_msg_close(&extra);
                break;
            }
            more = zmq_msg_more(&extra);
            zmq_msg_close(&extra);
            too_many = true;
        }
    }
    /* One clock read per message (vDSO, no syscall): the receive may have
     * waited, and deadlines start from now. */
    self->now = s_clock_ms();
    self->n_msgs++;
    s_handle(self, n, too_many);
    for (int i = 0; i < n; i++) {
        zmq_msg_close(&in[i]);
        zmq_msg_init(&in[i]);
    }
    if (self->lost_pending) {
        s_reap_lost(self);
    }
    return 1;
}

/* ------------------------------------------------------------ timers */

/* s_on_deadline answers a call whose deadline passed: removed from the
 * mailbox, or (dispatched) answered now while its slot waits for the
 * actor's late reply, which returns the credit. */
static void
s_on_deadline(brk_broker_t *self, uint32_t si)
{
    brk_slot_t *s = brk_slots_at(&self->slots, si);
    brk_entry_t *e = brk_registry_at(&self->reg, s->entry);
    uint32_t ms = actors__be32((const uint8_t *)zmq_msg_data(&s->hdr) + 6);
    ACTORS_LOG(ACTORS_LOG_DEBUG, "BRK-TIMEOUT", "address=%s state=%s",
        e->address, s->state == BRK_SLOT_QUEUED ? "mailbox" : "inflight");
    if (s->state == BRK_SLOT_QUEUED) {
        brk_mailbox_remove(&e->mailbox, &self->slots, si);
        broker_slot_fail(self, si, ACTORS_ETIMEDOUT,
            "no reply from %s within %u ms (still in its mailbox)", e->address,
            ms);
        return;
    }
    if (!s->answered) {
        s->answered = 1;
        broker_error(self, &s->rid, s->delim, &s->hdr, ACTORS_ETIMEDOUT,
            e->address, "no reply from %s within %u ms", e->address, ms);
    }
}

/* s_heartbeats heartbeats nodes and gives up on silent ones (lifecycle.c).
 * Actors and owners are not heartbeaten here: libzmq's ZMTP heartbeats on
 * the ROUTER (brk_broker_create) close a connection whose peer stops
 * answering PING, and the socket monitor reports it like any other drop. */
static void
s_heartbeats(brk_broker_t *self)
{
    lifecycle_tick(self);
    if (self->lost_pending) {
        s_reap_lost(self);
    }
}

static void
s_timers(brk_broker_t *self)
{
    int64_t when;
    uint32_t si;
    while (
        brk_deadlines_peek(&self->deadlines, &when, &si) && when <= self->now) {
        brk_deadlines_remove(&self->deadlines, 0);
        s_on_deadline(self, si);
    }
    if (self->now >= self->next_tick) {
        self->next_tick = self->now + self->tick_ms;
        s_heartbeats(self);
    }
}

/* s_wait_ms is how long the next receive may wait: until the next
 * deadline, heartbeat check or monitor check, at most BRK_CHECK_MS. */
static int
s_wait_ms(brk_broker_t *self)
{
    int64_t next = self->next_check;
    if (self->next_tick < next) {
        next = self->next_tick;
    }
    int64_t when;
    if (brk_deadlines_peek(&self->deadlines, &when, NULL) && when < next) {
        next = when;
    }
    int64_t t = next - self->now;
    if (t < 0) {
        t = 0;
    }
    return t > BRK_CHECK_MS ? BRK_CHECK_MS : (int)t;
}

/* ------------------------------------------------------------ lifecycle */

/* s_nonce fills the broker's nonce: random bytes, or (no entropy to be
 * had) the clock and the pid, which still differ between runs. */
static void
s_nonce(uint8_t nonce[8])
{
    if (getrandom(nonce, 8, GRND_NONBLOCK) == 8) {
        return;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = ((uint64_t)ts.tv_sec << 30) ^ (uint64_t)ts.tv_nsec ^
                 ((uint64_t)getpid() << 40);
    memcpy(nonce, &x, 8);
}

actors_err
brk_broker_create(brk_broker_t **out, const brk_opts_t *opts)
{
    assert(out);
    assert(opts);
    *out = NULL;
    if (opts->bind == NULL || strlen(opts->bind) >= 256 || opts->mailbox == 0 ||
        opts->heartbeat_ms == 0 || opts->liveness == 0 ||
        opts->max_message == 0) {
        return ACTORS_EINVAL;
    }
    brk_broker_t *self = actors__zalloc(sizeof *self);
    if (self == NULL) {
        return ACTORS_ENOMEM;
    }
    self->tag = BRK_TAG;
    s_nonce(self->nonce);
    self->opts = *opts;
    snprintf(self->endpoint_req, sizeof self->endpoint_req, "%s", opts->bind);
    self->opts.bind = self->endpoint_req;
    atomic_init(&self->stop, 0);
    for (int i = 0; i < BRK_MAX_FRAMES; i++) {
        zmq_msg_init(&self->in[i]);
    }
    msgpack_sbuffer_init(&self->sbuf);
    msgpack_packer_init(&self->pk, &self->sbuf, msgpack_sbuffer_write);
    brk_deadlines_init(&self->deadlines, s_heap_pos, self);
    actors_err rc = brk_slots_init(&self->slots, 1024);
    if (rc == ACTORS_OK) {
        rc = brk_registry_init(&self->reg, opts->max_tombs);
    }
    if (rc == ACTORS_OK) {
        rc = brk_peers_init(&self->peers);
    }
    if (rc == ACTORS_OK) {
        rc = actors_msg_create(&self->ebody);
    }
    brk_nodes_init(&self->nodes);
    if (rc == ACTORS_OK) {
        rc = brk_events_init(&self->events, BRK_EVENTS_DEFAULT);
    }
    if (rc != ACTORS_OK) {
        brk_broker_destroy(&self);
        return rc;
    }

    self->ctx = zmq_ctx_new();
    if (self->ctx == NULL) {
        brk_broker_destroy(&self);
        return ACTORS_EIO;
    }
    self->router = zmq_socket(self->ctx, ZMQ_ROUTER);
    int zero = 0;
    int one = 1;
    zmq_setsockopt(self->router, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(self->router, ZMQ_SNDHWM, &zero, sizeof zero);
    zmq_setsockopt(self->router, ZMQ_RCVHWM, &zero, sizeof zero);
    zmq_setsockopt(self->router, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
    /* Liveness of every connection, answered by the peers' libzmq I/O
     * threads even while their application threads are busy, and not by
     * a stopped process: a PING every heartbeat_ms; no traffic for
     * liveness x heartbeat_ms after one closes the connection (socket
     * monitor: DISCONNECTED, so the actor is dead and the owner gone),
     * and the TTL tells the peer to give up on a silent broker as soon. */
    int hb_ivl = (int)self->opts.heartbeat_ms;
    int64_t hb_span = (int64_t)self->opts.liveness * self->opts.heartbeat_ms;
    int hb_timeout = hb_span > 6553500 ? 6553500 : (int)hb_span;
    zmq_setsockopt(self->router, ZMQ_HEARTBEAT_IVL, &hb_ivl, sizeof hb_ivl);
    zmq_setsockopt(
        self->router, ZMQ_HEARTBEAT_TIMEOUT, &hb_timeout, sizeof hb_timeout);
    zmq_setsockopt(
        self->router, ZMQ_HEARTBEAT_TTL, &hb_timeout, sizeof hb_timeout);
    char mon_ep[64];
    snprintf(mon_ep, sizeof mon_ep, BRK_MONITOR_EP_FMT, (void *)self);
    if (zmq_socket_monitor(self->router, mon_ep, ZMQ_EVENT_DISCONNECTED) != 0) {
        ACTORS_LOG(ACTORS_LOG_ERR, "BRK-MONITOR", "monitor failed: %s",
            zmq_strerror(errno));
        brk_broker_destroy(&self);
        return ACTORS_EIO;
    }
    self->monitor = zmq_socket(self->ctx, ZMQ_PAIR);
    zmq_setsockopt(self->monitor, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(self->monitor, ZMQ_RCVHWM, &zero, sizeof zero);
    if (zmq_connect(self->monitor, mon_ep) != 0) {
        brk_broker_destroy(&self);
        return ACTORS_EIO;
    }
    if (zmq_bind(self->router, self->opts.bind) != 0) {
        ACTORS_LOG(ACTORS_LOG_ERR, "BRK-BIND", "endpoint=%s cannot bind: %s",
            self->opts.bind, zmq_strerror(errno));
        brk_broker_destroy(&self);
        return ACTORS_EIO;
    }
    size_t len = sizeof self->endpoint;
    if (zmq_getsockopt(self->router, ZMQ_LAST_ENDPOINT, self->endpoint, &len) !=
        0) {
        snprintf(self->endpoint, sizeof self->endpoint, "%s", self->opts.bind);
    }
    self->now = s_clock_ms();
    self->started = self->now;
    self->tick_ms = self->opts.heartbeat_ms / 4;
    if (self->tick_ms < 5) {
        self->tick_ms = 5;
    }
    self->next_tick = self->now + self->tick_ms;
    *out = self;
    return ACTORS_OK;
}

const char *
brk_broker_endpoint(const brk_broker_t *self)
{
    assert(self && self->tag == BRK_TAG);
    return self->endpoint;
}

void
brk_broker_stop(brk_broker_t *self)
{
    assert(self);
    atomic_store(&self->stop, 1);
}

actors_err
brk_broker_run(brk_broker_t *self)
{
    assert(self && self->tag == BRK_TAG);
    ACTORS_LOG(ACTORS_LOG_NOTICE, "BRK-START",
        "endpoint=%s mailbox=%u heartbeat_ms=%u liveness=%u "
        "max_message=%llu broker running",
        self->endpoint, self->opts.mailbox, self->opts.heartbeat_ms,
        self->opts.liveness, (unsigned long long)self->opts.max_message);
    actors_err rc = ACTORS_OK;
    int timeo = -2; /* ZMQ_RCVTIMEO in force */
    int batch = 0;  /* messages since the last check */
    self->now = s_clock_ms();
    self->next_check = self->now + BRK_CHECK_MS;
    while (!atomic_load(&self->stop)) {
        int t = s_wait_ms(self);
        if (t != timeo) {
            zmq_setsockopt(self->router, ZMQ_RCVTIMEO, &t, sizeof t);
            timeo = t;
        }
        int r = s_recv_handle(self, 0);
        if (r < 0) {
            ACTORS_LOG(ACTORS_LOG_ERR, "BRK-RECV", "receive failed: %s",
                zmq_strerror(errno));
            rc = ACTORS_EIO;
            break;
        }
        if (r == 1 && ++batch < BRK_BATCH && self->now < self->next_check) {
            continue;
        }
        /* Every BRK_BATCH messages, every BRK_CHECK_MS, and when idle:
         * connection events and timers. */
        batch = 0;
        self->now = s_clock_ms();
        s_drain_monitor(self, true);
        s_timers(self);
        self->next_check = self->now + BRK_CHECK_MS;
    }
    ACTORS_LOG(ACTORS_LOG_NOTICE, "BRK-STOP",
        "messages=%llu unroutable=%llu late=%llu bad=%llu broker stopping",
        (unsigned long long)self->n_msgs,
        (unsigned long long)self->n_unroutable,
        (unsigned long long)self->n_late, (unsigned long long)self->n_bad);
    return rc;
}

void
brk_broker_destroy(brk_broker_t **self_p)
{
    assert(self_p);
    brk_broker_t *self = *self_p;
    if (self == NULL) {
        return;
    }
    assert(self->tag == BRK_TAG);
    if (self->monitor) {
        zmq_close(self->monitor);
    }
    if (self->router) {
        zmq_socket_monitor(self->router, NULL, 0);
        zmq_close(self->router);
    }
    if (self->ctx) {
        zmq_ctx_term(self->ctx);
    }
    for (int i = 0; i < BRK_MAX_FRAMES; i++) {
        zmq_msg_close(&self->in[i]);
    }
    brk_deadlines_fini(&self->deadlines);
    brk_slots_fini(&self->slots);
    brk_registry_fini(&self->reg);
    brk_peers_fini(&self->peers);
    brk_nodes_fini(&self->nodes);
    brk_events_fini(&self->events);
    brk_owners_fini(&self->owners);
    actors_msg_destroy(&self->ebody);
    msgpack_sbuffer_destroy(&self->sbuf);
    self->tag = 0xdeadbeef;
    actors__free(self);
    *self_p = NULL;
}
