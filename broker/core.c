/* broker/core.c - the routing core: the loop, answering, deaths, timers,
 * the command table and the extension hooks (core.h).
 * SPDX-License-Identifier: MIT
 *
 * Structure. One thread runs brk_broker_run: a blocking receive on the
 * ROUTER (ZMQ_RCVTIMEO up to the next timer, at most BRK_CHECK_MS), which
 * costs no syscall while messages are queued. Every BRK_BATCH messages,
 * every BRK_CHECK_MS and whenever the socket is idle, the loop drains the
 * PAIR end of the socket monitor (connection drops) and runs the timers
 * (deadlines, the extensions' tick). The clock is read after a receive
 * that waited and every BRK_CLOCK_EVERY messages of a burst.
 *
 * A message is received into self->in[]: routing id, an optional empty
 * delimiter, the header, the frames of its command, and handed to the
 * row of the command table its header names. The hot path (CALL, TELL,
 * REPLY, CREDIT) is route.c; registration and the queries control.c.
 *
 * Liveness is ZeroMQ's: the ROUTER sends ZMTP heartbeats and closes a
 * connection that stays silent for liveness * heartbeat_ms; the monitor
 * reports it DISCONNECTED, and the connection's row (conn.h) is found by
 * its fd: its addresses are lost (the extensions may hold them), its
 * extension roles are told (conn_gone_cb), the row is freed.
 *
 * Files. This one: the loop and what every command shares. Nothing here
 * knows of supervision: sup*.c attach through ext.h.
 */
#include "core.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <actors/log.h>

#include <actors-internal/alloc.h>
#include <actors-internal/zmon.h>

#include "auth.h"
#include "control.h"
#include "group.h"
#include "mailbox.h"
#include "route.h"
#include <actors-internal/utf8.h>

#define BRK_TAG 0xb40ce001u
#define BRK_BATCH 1024        /* messages per drain before timers run */
#define BRK_OUT_BATCH 1024    /* queued sends that force a flush */
#define BRK_HELD_RETRY_MS 10  /* a full queue gets dispatches again after */
#define BRK_CLOCK_EVERY 8     /* messages of a burst per clock read */
#define BRK_CHECK_MS 10       /* longest wait; monitor and timer checks */
#define BRK_DEATH_FLUSH_MS 20 /* longest read of what a dying peer sent */
#define BRK_MONITOR_EP_FMT "inproc://actors-broker-monitor-%p"
#define BRK_FD_MARGIN 8        /* descriptors kept free of connections */
#define BRK_SLOW_QUIET_MS 1000 /* no drop that long ends an episode */
#define BRK_IDLE_MS 100        /* longest idle wait (a stop from a thread) */
#define BRK_FD_GUARD 32        /* accepts this near the limit: fd_guard */
#define BRK_FD_GUARD_MS 60000  /* fd_guard lasts this long after a refusal */

/* What the last ACCEPTED event of a descriptor decided (fd_seen). */
enum { BRK_FD_UNSEEN = 0, BRK_FD_ADMITTED = 1, BRK_FD_REFUSED = 2 };
#define BRK_ANSWER_MIN_MS 500 /* shortest wait for a ZMTP PONG */

/* ------------------------------------------------------------ helpers */

static int64_t
s_clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* s_clock_set reads the clock into now and now_us (timers and the
 * latency of the calls they fail count from it). */
static void
s_clock_set(brk_broker_t *self)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    self->now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    self->now_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

const char *
brk_core_frame_str(zmq_msg_t *m, char *buf, size_t cap)
{
    size_t n = zmq_msg_size(m);
    if (n >= cap) {
        n = cap - 1;
    }
    memcpy(buf, zmq_msg_data(m), n);
    buf[n] = '\0';
    return buf;
}

uint32_t
brk_core_hdr_timeout(zmq_msg_t *hdr)
{
    actors__hdr_t h;
    if (actors__hdr_parse(zmq_msg_data(hdr), zmq_msg_size(hdr), &h) !=
        ACTORS_OK) {
        return 0;
    }
    return h.timeout_ms;
}

/* s_dispatch_live tells whether dispatch m is still what its slot is:
 * in flight, on the same entry, from the same dispatch. */
static bool
s_dispatch_live(brk_broker_t *self, const brk_out_msg_t *m)
{
    if (!m->ordered || m->d.slot == BRK_NONE || m->d.slot >= self->slots.used) {
        return false;
    }
    const brk_slot_t *s = brk_slots_at(&self->slots, m->d.slot);
    return s->gen == m->d.gen && s->state == BRK_SLOT_INFLIGHT &&
           s->entry == m->d.entry && s->seq == m->d.seq &&
           brk_registry_at(&self->reg, m->d.entry)->conn == m->d.conn;
}

/* s_undispatch takes dispatch m back (live, not sent): off the in-flight
 * list, its credit returned, its frames back in the slot; the slot goes
 * back to the front of its mailbox after the flush (s_requeue_undone),
 * in dispatch order. */
static void
s_undispatch(brk_broker_t *self, brk_out_msg_t *m)
{
    uint32_t si = m->d.slot;
    brk_slot_t *s = brk_slots_at(&self->slots, si);
    brk_entry_t *e = brk_registry_at(&self->reg, s->entry);
    if (self->n_undone == self->cap_undone) {
        uint32_t cap = self->cap_undone ? self->cap_undone * 2 : 64;
        uint32_t *v = actors__realloc(self->undone, (size_t)cap * sizeof *v);
        if (v == NULL) {
            /* Not taken back (no memory): it stays in flight, settled
             * with the actor's death or its reply as any other. */
            return;
        }
        self->undone = v;
        self->cap_undone = cap;
    }
    brk_mailbox_remove(&e->inflight, &self->slots, si);
    /* The actor numbers what it receives (progress, PROTOCOL.md): the
     * numbers of this dispatch and of every later one on its connection
     * (all taken back too) are handed out again. */
    brk_conn_t *c = brk_conns_at(&self->conns, m->d.conn);
    if ((int32_t)(m->d.seq - 1 - c->seq_sent) < 0) {
        c->seq_sent = m->d.seq - 1;
    }
    if (s->cmd == ACTORS_CMD_CALL) {
        e->calls_out--;
    } else {
        e->tells_out--;
        if (s->deadline != 0 &&
            brk_deadlines_push(&self->deadlines, s->deadline,
                brk_core_hdr_timeout(&s->hdr), si) != ACTORS_OK) {
            s->deadline = 0;
        }
    }
    if (!s->kept && m->n > 2) {
        /* Its arguments (and key) left with it: back into the slot. A
         * CALL's header was the actor's copy; the caller's stayed. */
        zmq_msg_close(&s->args);
        zmq_msg_init(&s->args);
        zmq_msg_move(&s->args, &m->f[2]);
        if (m->n > 3) {
            zmq_msg_close(&s->key);
            zmq_msg_init(&s->key);
            zmq_msg_move(&s->key, &m->f[3]);
        }
    }
    s->kept = 0;
    s->state = BRK_SLOT_HELD; /* on no list until s_requeue_undone */
    self->undone[self->n_undone++] = si;
    self->pump_blocked = true;
    if (self->next_tick > self->now + BRK_HELD_RETRY_MS) {
        self->next_tick = self->now + BRK_HELD_RETRY_MS;
    }
}

/* s_requeue_undone puts what the flush took back at the front of the
 * mailboxes, last first, so each mailbox has them in dispatch order. */
static void
s_requeue_undone(brk_broker_t *self)
{
    while (self->n_undone > 0) {
        uint32_t si = self->undone[--self->n_undone];
        brk_slot_t *s = brk_slots_at(&self->slots, si);
        brk_entry_t *e = brk_registry_at(&self->reg, s->entry);
        brk_slots_park(&self->slots, si);
        brk_mailbox_push_front(&e->mailbox, &self->slots, si);
    }
}

/* s_conn_of is the connection dispatch m was sent to. */
static brk_conn_t *
s_conn_of(brk_broker_t *self, const brk_out_msg_t *m)
{
    return brk_conns_at(&self->conns, m->d.conn);
}

bool
brk_core_may_dispatch(brk_broker_t *self, uint32_t ci)
{
    const brk_conn_t *c = brk_conns_at(&self->conns, ci);
    return c->fd != BRK_FD_LOST && c->full_until <= self->now;
}

/* s_dispatch_ready (outbox ops): a dispatch goes unless its connection
 * may take no dispatch now (an earlier one of this flush met a full queue
 * or a vanished peer, and this one must not overtake it): then it is
 * taken back, or, no longer in flight, dropped. One no longer in flight
 * on a connection that takes dispatches still goes, as it would have,
 * sent at once, before the outbox (a CREDIT of the same burst may have
 * settled it for an earlier tell of the connection). */
static bool
s_dispatch_ready(void *arg, brk_out_msg_t *m)
{
    brk_broker_t *self = arg;
    if (brk_core_may_dispatch(self, m->d.conn)) {
        return true;
    }
    if (s_dispatch_live(self, m)) {
        s_undispatch(self, m);
    }
    return false;
}

/* s_send_failed (outbox ops) settles a message the flush could not send. */
static void
s_send_failed(void *arg, brk_out_msg_t *m, int err)
{
    brk_broker_t *self = arg;
    if (m->ordered) {
        brk_conn_t *c = s_conn_of(self, m);
        if (err == EAGAIN) {
            /* The actor's queue in ZeroMQ is full (max_queued): the
             * message waits in its mailbox; nothing goes to it for a
             * while, and the tick pumps again. */
            c->full_until = self->now + BRK_HELD_RETRY_MS;
            c->was_full = true;
        } else {
            /* Its peer is gone: the death settles its mailbox. */
            const brk_entry_t *e = brk_registry_at(&self->reg, m->d.entry);
            ACTORS_LOG(ACTORS_LOG_INFO, "BRK-PEER-LOST",
                "address=%s cannot route to its actor: %s", e->address,
                zmq_strerror(err));
            c->fd = BRK_FD_LOST;
            self->lost_pending = true;
        }
        if (s_dispatch_live(self, m)) {
            s_undispatch(self, m);
        }
    } else if (err == EAGAIN) {
        /* The peer's queue is at max_queued: it does not read (a slow
         * consumer). Its memory stays bounded; the answer is dropped and
         * counted, as NATS and Redis do with theirs (PROTOCOL.md,
         * Limits). */
        self->n_undelivered++;
        if (self->slow_last == 0) {
            /* An episode begins: logged once, and its end (no drop for
             * BRK_SLOW_QUIET_MS) once, in s_tick. */
            self->slow_from = self->n_undelivered - 1;
            ACTORS_LOG(ACTORS_LOG_WARN, "BRK-SLOW-CONSUMER",
                "undelivered=%llu max_queued=%u a peer does not read "
                "its answers; dropping them (logged once per "
                "episode; BRK-SLOW-CONSUMER-END counts them)",
                (unsigned long long)self->n_undelivered, self->opts.max_queued);
        }
        self->slow_last = self->now > 0 ? self->now : 1;
    } else {
        self->n_unroutable++;
        ACTORS_LOG(ACTORS_LOG_DEBUG, "BRK-UNROUTABLE",
            "errno=%d dropping an answer: %s", err, zmq_strerror(err));
    }
}

/* s_ext_flush has the extensions send what they held back (ext.h). */
static void
s_ext_flush(brk_broker_t *self)
{
    for (int i = 0; i < self->n_ext; i++) {
        if (self->ext[i].flush_cb) {
            self->ext[i].flush_cb(self->ext[i].self);
        }
    }
}

void
brk_core_flush(brk_broker_t *self)
{
    if (self->flushing) {
        return;
    }
    s_ext_flush(self);
    if (self->out.n == 0) {
        return;
    }
    self->flushing = true;
    if (self->cap_undone < self->out.n) {
        /* Room to take every dispatch back, before anything is sent. */
        uint32_t *v =
            actors__realloc(self->undone, (size_t)self->out.n * sizeof *v);
        if (v != NULL) {
            self->undone = v;
            self->cap_undone = self->out.n;
        }
    }
    brk_outbox_ops_t ops = {s_dispatch_ready, s_send_failed, self};
    brk_outbox_flush(&self->out, self->router, &ops);
    s_requeue_undone(self);
    self->flushing = false;
    s_ext_flush(self); /* what the flush made them hold (a death's news) */
}

/* s_queue queues a message for the next flush; on no memory, returns
 * false with the frames untouched. */
static bool
s_queue(brk_broker_t *self, zmq_msg_t **f, int n, const brk_out_dispatch_t *d)
{
    if (brk_outbox_push(&self->out, f, n, d) != ACTORS_OK) {
        return false;
    }
    if (brk_outbox_pending(&self->out) >= BRK_OUT_BATCH) {
        brk_core_flush(self);
    }
    return true;
}

static void
s_drop(zmq_msg_t **f, int n)
{
    for (int i = 0; i < n; i++) {
        zmq_msg_close(f[i]);
        zmq_msg_init(f[i]);
    }
}

bool
brk_core_send(brk_broker_t *self, zmq_msg_t **f, int n)
{
    if (!s_queue(self, f, n, NULL)) {
        self->n_unroutable++;
        s_drop(f, n);
        return false;
    }
    return true;
}

bool
brk_core_send_now(brk_broker_t *self, zmq_msg_t **f, int n)
{
    if (brk_outbox_pending(&self->out) > 0) {
        brk_core_flush(self);
    }
    for (int i = 0; i < n; i++) {
        int flags = ZMQ_DONTWAIT | (i + 1 < n ? ZMQ_SNDMORE : 0);
        if (zmq_msg_send(f[i], self->router, flags) < 0) {
            if (i == 0) {
                brk_out_msg_t m = {.n = 0, .ordered = false};
                s_send_failed(self, &m, errno);
            }
            s_drop(f + i, n - i);
            return false;
        }
    }
    return true;
}

void
brk_core_send_ordered(brk_broker_t *self, uint32_t si, zmq_msg_t **f, int n)
{
    const brk_slot_t *s = brk_slots_at(&self->slots, si);
    brk_out_dispatch_t d = {si, s->gen, s->seq, s->entry,
        brk_registry_at(&self->reg, s->entry)->conn};
    if (!s_queue(self, f, n, &d)) {
        /* Not queued (no memory): taken back at once, as if the actor's
         * queue were full. */
        brk_out_msg_t m = {.n = (uint8_t)n, .ordered = true, .d = d};
        for (int i = 0; i < n; i++) {
            zmq_msg_init(&m.f[i]);
            zmq_msg_move(&m.f[i], f[i]);
        }
        s_conn_of(self, &m)->full_until = self->now + BRK_HELD_RETRY_MS;
        s_conn_of(self, &m)->was_full = true;
        s_undispatch(self, &m);
        for (int i = 0; i < n; i++) {
            zmq_msg_close(&m.f[i]);
        }
        if (!self->flushing) {
            s_requeue_undone(self);
        }
        return;
    }
    brk_conn_t *c = brk_conns_at(&self->conns, d.conn);
    if (c->was_full) {
        /* Is it still full? Know now, not after a burst of dispatches
         * that would all come back. */
        brk_core_flush(self);
        if (c->full_until <= self->now) {
            c->was_full = false;
        }
    }
}

void
brk_core_answer(brk_broker_t *self, zmq_msg_t *rid, bool delim, zmq_msg_t *hdr,
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
    brk_core_send(self, f, n);
    zmq_msg_close(&empty);
}

void
brk_core_body_from(zmq_msg_t *body, const void *data, size_t len)
{
    if (zmq_msg_init_size(body, len) == 0) {
        memcpy(zmq_msg_data(body), data, len);
    } else {
        /* libzmq aborts on OOM itself; keep a valid empty frame anyway. */
        zmq_msg_init(body);
    }
}

void
brk_core_pack_str(msgpack_packer *pk, const char *s)
{
    /* Addresses are raw bytes on the wire; a str must be UTF-8 for strict
     * decoders (Python's msgpack, Go's): invalid bytes become U+FFFD. */
    (void)actors__utf8_pack_str(pk, s, strlen(s));
}

void
brk_core_pack_calls(msgpack_packer *pk, const brk_calls_t *c)
{
    brk_core_pack_str(pk, "errors");
    msgpack_pack_uint64(pk, c->errors);
    brk_core_pack_str(pk, "latency_us_sum");
    msgpack_pack_uint64(pk, c->sum_us);
    brk_core_pack_str(pk, "latency_hist");
    msgpack_pack_array(pk, BRK_CALLS_NB + 1);
    for (int b = 0; b <= BRK_CALLS_NB; b++) {
        msgpack_pack_uint64(pk, c->hist[b]);
    }
}

void
brk_core_pack_body(brk_broker_t *self, zmq_msg_t *body)
{
    brk_core_body_from(body, self->sbuf.data, self->sbuf.size);
    msgpack_sbuffer_clear(&self->sbuf);
}

void
brk_core_reply_packed(brk_broker_t *self, const brk_in_t *m)
{
    zmq_msg_t body;
    brk_core_pack_body(self, &body);
    brk_core_answer(self, m->rid, m->delim, m->hdr, ACTORS_CMD_REPLY, &body);
    zmq_msg_close(&body);
}

void
brk_core_error(brk_broker_t *self, zmq_msg_t *rid, bool delim, zmq_msg_t *hdr,
    actors_err code, const char *address, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    brk_core_verror(self, rid, delim, hdr, code, address, fmt, ap);
    va_end(ap);
}

void
brk_core_verror(brk_broker_t *self, zmq_msg_t *rid, bool delim, zmq_msg_t *hdr,
    actors_err code, const char *address, const char *fmt, va_list ap)
{
    char text[512];
    vsnprintf(text, sizeof text, fmt, ap);

    zmq_msg_t fresh;
    zmq_msg_init(&fresh);
    if (hdr == NULL) {
        zmq_msg_close(&fresh);
        zmq_msg_init_size(&fresh, ACTORS_WIRE_HDR_MIN);
        actors__hdr_write(zmq_msg_data(&fresh), ACTORS_CMD_ERROR, 0, NULL, 0);
        hdr = &fresh;
    }
    /* {type, message, address}: str fields, valid UTF-8 whatever bytes an
     * address arrived with (PROTOCOL.md, ERROR). */
    msgpack_sbuffer_clear(&self->sbuf);
    msgpack_pack_map(&self->pk, 3);
    brk_core_pack_str(&self->pk, "type");
    brk_core_pack_str(&self->pk, actors_err_name(code));
    brk_core_pack_str(&self->pk, "message");
    brk_core_pack_str(&self->pk, text);
    brk_core_pack_str(&self->pk, "address");
    brk_core_pack_str(&self->pk, address ? address : "");
    zmq_msg_t body;
    brk_core_pack_body(self, &body);
    brk_core_answer(self, rid, delim, hdr, ACTORS_CMD_ERROR, &body);
    zmq_msg_close(&body);
    zmq_msg_close(&fresh);
}

void
brk_core_bad(brk_broker_t *self, const brk_in_t *m, const char *what)
{
    self->n_bad++;
    ACTORS_LOG(ACTORS_LOG_DEBUG, "BRK-BAD-REQUEST", "cmd=%u %s",
        (unsigned)m->h.cmd, what);
    brk_core_error(
        self, m->rid, m->delim, m->hdr, ACTORS_EBADREQ, NULL, "%s", what);
}

/* ------------------------------------------------------------ slots */

static void
s_heap_pos(void *arg, uint32_t id, uint32_t pos)
{
    brk_broker_t *self = arg;
    brk_slots_at(&self->slots, id)->heap = pos;
}

actors_err
brk_core_slot_deadline(brk_broker_t *self, uint32_t si, uint32_t ms)
{
    brk_slot_t *s = brk_slots_at(&self->slots, si);
    s->deadline = self->now + ms;
    if (brk_deadlines_push(&self->deadlines, s->deadline, ms, si) !=
        ACTORS_OK) {
        s->deadline = 0;
        return ACTORS_ENOMEM;
    }
    return ACTORS_OK;
}

void
brk_core_slot_unheap(brk_broker_t *self, uint32_t si)
{
    uint32_t pos = brk_slots_at(&self->slots, si)->heap;
    if (pos != BRK_NONE) {
        brk_deadlines_remove(&self->deadlines, pos);
    }
}

void
brk_core_observe(brk_broker_t *self, uint32_t ei, const zmq_msg_t *hdr,
    actors_err code, int64_t t0_us)
{
    actors__hdr_t h;
    if (actors__hdr_parse(zmq_msg_data((zmq_msg_t *)hdr),
            zmq_msg_size((zmq_msg_t *)hdr), &h) != ACTORS_OK ||
        h.address == NULL || h.cmd != ACTORS_CMD_CALL) {
        return;
    }
    int64_t us = brk_core_age_us(self, t0_us);
    for (int i = 0; i < self->n_ext; i++) {
        if (self->ext[i].call_done_cb) {
            self->ext[i].call_done_cb(self->ext[i].self, ei, h.address,
                h.address_len, h.method, h.method_len, (int)code, us);
        }
    }
}

void
brk_core_slot_fail(
    brk_broker_t *self, uint32_t si, actors_err code, const char *fmt, ...)
{
    brk_core_slot_unheap(self, si);
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
        if (s->cmd == ACTORS_CMD_CALL && s->entry != BRK_NONE) {
            brk_calls_add(&brk_registry_at(&self->reg, s->entry)->calls, true,
                brk_core_age_us(self, s->t0_us));
        }
        if (self->observe && s->cmd == ACTORS_CMD_CALL) {
            brk_core_observe(self, s->entry, &s->hdr, code, s->t0_us);
        }
        brk_core_error(
            self, &s->rid, s->delim, &s->hdr, code, address, "%s", text);
    }
    brk_slots_free(&self->slots, si);
}

/* ------------------------------------------------------------ entries */

/* s_conn_unlink takes entry ei off its connection's list, and frees the
 * row when it holds nothing any more. */
static void
s_conn_unlink(brk_broker_t *self, uint32_t ei)
{
    brk_entry_t *e = brk_registry_at(&self->reg, ei);
    uint32_t ci = e->conn;
    if (ci == BRK_NONE) {
        return;
    }
    brk_conn_t *c = brk_conns_at(&self->conns, ci);
    uint32_t *link = &c->first_entry;
    while (*link != BRK_NONE && *link != ei) {
        link = &brk_registry_at(&self->reg, *link)->conn_next;
    }
    if (*link == ei) {
        *link = e->conn_next;
    }
    e->conn = BRK_NONE;
    e->conn_next = BRK_NONE;
    if (c->first_entry == BRK_NONE) {
        brk_core_conn_release(self, ci, BRK_ROLE_ACTOR);
    }
}

void
brk_core_unlink(brk_broker_t *self, uint32_t ei)
{
    s_conn_unlink(self, ei);
}

actors_err
brk_core_reserve(
    brk_broker_t *self, const void *address, size_t len, uint32_t *ei)
{
    uint32_t i = brk_registry_find(&self->reg, address, len);
    if (i == BRK_NONE) {
        actors_err rc = brk_registry_add(&self->reg, address, len, &i);
        if (rc != ACTORS_OK) {
            return rc;
        }
        brk_entry_t *e = brk_registry_at(&self->reg, i);
        e->state = BRK_ENTRY_HELD;
        e->mailbox_cap = self->opts.mailbox;
        e->prefetch = 1;
    } else if (brk_registry_at(&self->reg, i)->state == BRK_ENTRY_DEAD) {
        brk_registry_revive(&self->reg, i);
        brk_registry_at(&self->reg, i)->state = BRK_ENTRY_HELD;
    }
    *ei = i;
    return ACTORS_OK;
}

void
brk_core_fail_inflight(
    brk_broker_t *self, uint32_t ei, actors_err code, const char *cause)
{
    brk_entry_t *e = brk_registry_at(&self->reg, ei);
    char address[256];
    snprintf(address, sizeof address, "%s", e->address);
    uint32_t si;
    while ((si = brk_mailbox_pop(&e->inflight, &self->slots)) != BRK_NONE) {
        if (brk_slots_at(&self->slots, si)->cmd == ACTORS_CMD_TELL) {
            self->n_tells_lost++;
            brk_core_slot_unheap(self, si);
            brk_slots_free(&self->slots, si);
        } else if (code == ACTORS_ECRASHED) {
            brk_core_slot_fail(self, si, code,
                "actor %s died while handling the call: %s", address, cause);
        } else {
            brk_core_slot_fail(self, si, code,
                "actor %s exited while handling the call (%s)", address, cause);
        }
        e = brk_registry_at(&self->reg, ei);
    }
    e->calls_out = 0;
    e->tells_out = 0;
}

/* s_requeue_unstarted moves the messages of running entry ei that its
 * actor has not taken up (conn.h, seq) and the calls that may be
 * re-delivered back to the front of its mailbox, in order. What stays on
 * the in-flight list may have run. Returns how many went back. */
static uint32_t
s_requeue_unstarted(brk_broker_t *self, uint32_t ei)
{
    brk_entry_t *e = brk_registry_at(&self->reg, ei);
    uint32_t known = 0;
    bool tracked = false;
    if (e->conn != BRK_NONE) {
        brk_conn_t *c = brk_conns_at(&self->conns, e->conn);
        known = c->seq_known;
        tracked = c->progress;
    }
    uint32_t back = 0;
    uint32_t si = e->inflight.tail;
    while (si != BRK_NONE) {
        brk_slot_t *s = brk_slots_at(&self->slots, si);
        uint32_t prev = s->prev;
        /* Taken up for sure: seq <= known; the one after it may be
         * running. Sequences are per connection and wrap: compare by
         * difference. */
        bool not_started = tracked && (int32_t)(s->seq - known) > 1;
        bool retry = !not_started && s->cmd == ACTORS_CMD_CALL && s->kept &&
                     !s->answered &&
                     (e->redeliver < 0 || s->attempts < e->redeliver);
        if (not_started || retry) {
            brk_mailbox_remove(&e->inflight, &self->slots, si);
            if (retry) {
                s->attempts++;
            }
            brk_slots_park(&self->slots, si);
            brk_mailbox_push_front(&e->mailbox, &self->slots, si);
            back++;
        }
        si = prev;
    }
    self->n_requeued += back;
    return back;
}

void
brk_core_hold(brk_broker_t *self, uint32_t ei, const char *reason)
{
    if (brk_group_busy(self, ei)) {
        return; /* a group lives while a member does (group.h) */
    }
    brk_entry_t *e = brk_registry_at(&self->reg, ei);
    uint32_t back = 0;
    if (e->state == BRK_ENTRY_RUNNING) {
        back = s_requeue_unstarted(self, ei);
        self->running--;
    }
    /* Tells that may have run cannot be answered (they were) nor safely
     * re-sent: they are dropped and counted. */
    e = brk_registry_at(&self->reg, ei);
    uint32_t si = e->inflight.head;
    while (si != BRK_NONE) {
        brk_slot_t *s = brk_slots_at(&self->slots, si);
        uint32_t next = s->next;
        if (s->cmd == ACTORS_CMD_TELL) {
            brk_mailbox_remove(&e->inflight, &self->slots, si);
            self->n_tells_lost++;
            brk_core_slot_unheap(self, si);
            brk_slots_free(&self->slots, si);
        }
        si = next;
    }
    e = brk_registry_at(&self->reg, ei);
    e->calls_out = e->inflight.count;
    e->tells_out = 0;
    s_conn_unlink(self, ei);
    e = brk_registry_at(&self->reg, ei);
    e->state = BRK_ENTRY_HELD;
    snprintf(e->cause, sizeof e->cause, "%s", reason);
    ACTORS_LOG(ACTORS_LOG_NOTICE, "BRK-ACTOR-HELD",
        "address=%s cause=\"%s\" requeued=%u inflight=%u mailbox=%u held",
        e->address, reason, back, e->inflight.count, e->mailbox.count);
}

void
brk_core_bury(brk_broker_t *self, uint32_t ei, actors_err inflight_code,
    const char *reason)
{
    brk_entry_t *e = brk_registry_at(&self->reg, ei);
    if (e->state == BRK_ENTRY_FREE || e->state == BRK_ENTRY_DEAD ||
        brk_group_busy(self, ei)) {
        return; /* a group lives while a member does (group.h) */
    }
    if (e->state == BRK_ENTRY_RUNNING) {
        /* Messages it never took up did not run: they are told ActorDead
         * with the mailbox, not ActorCrashed. */
        uint32_t saved = e->redeliver;
        e->redeliver = 0;
        s_requeue_unstarted(self, ei);
        e = brk_registry_at(&self->reg, ei);
        e->redeliver = (int32_t)saved;
        self->running--;
        e->state = BRK_ENTRY_HELD;
    }
    char address[256];
    snprintf(address, sizeof address, "%s", e->address);
    uint32_t n_inflight = e->inflight.count;
    uint32_t n_mailbox = e->mailbox.count;
    brk_core_fail_inflight(self, ei, inflight_code, reason);
    e = brk_registry_at(&self->reg, ei);
    uint32_t si;
    while ((si = brk_mailbox_pop(&e->mailbox, &self->slots)) != BRK_NONE) {
        brk_core_slot_fail(self, si, ACTORS_EDEAD,
            "actor %s is dead (%s); the call was not delivered", address,
            reason);
        e = brk_registry_at(&self->reg, ei);
    }
    for (int i = 0; i < self->n_ext; i++) {
        if (self->ext[i].entry_buried_cb) {
            self->ext[i].entry_buried_cb(self->ext[i].self, ei, reason);
        }
    }
    e = brk_registry_at(&self->reg, ei);
    e->calls_out = 0;
    e->tells_out = 0;
    snprintf(e->cause, sizeof e->cause, "%s", reason);
    s_conn_unlink(self, ei);
    ACTORS_LOG(
        inflight_code == ACTORS_ECRASHED ? ACTORS_LOG_WARN : ACTORS_LOG_NOTICE,
        "BRK-ACTOR-DEAD",
        "address=%s cause=\"%s\" inflight=%u mailbox=%u actor is dead", address,
        reason, n_inflight, n_mailbox);
    uint32_t dropped = brk_registry_bury(&self->reg, ei);
    if (dropped != BRK_NONE) {
        for (int i = 0; i < self->n_ext; i++) {
            if (self->ext[i].entry_freed_cb) {
                self->ext[i].entry_freed_cb(self->ext[i].self, dropped);
            }
        }
        ACTORS_LOG(ACTORS_LOG_DEBUG, "BRK-TOMB-DROP",
            "tombstones=%u dropping the oldest", self->reg.tombs);
    }
}

const char *
brk_core_state_name(brk_broker_t *self, uint32_t ei)
{
    for (int i = 0; i < self->n_ext; i++) {
        if (self->ext[i].state_name_cb) {
            const char *name =
                self->ext[i].state_name_cb(self->ext[i].self, ei);
            if (name != NULL) {
                return name;
            }
        }
    }
    switch (brk_registry_at(&self->reg, ei)->state) {
    case BRK_ENTRY_RUNNING:
        return "running";
    case BRK_ENTRY_HELD:
        return "held";
    default:
        return "dead";
    }
}

void
brk_core_pack_entry(brk_broker_t *self, uint32_t ei)
{
    msgpack_packer *pk = &self->pk;
    uint32_t extra = 0;
    for (int i = 0; i < self->n_ext; i++) {
        if (self->ext[i].pack_entry_cb) {
            extra += self->ext[i].entry_fields;
        }
    }
    const brk_entry_t *e = brk_registry_at(&self->reg, ei);
    if (e->is_group) {
        brk_group_pack_entry(self, ei);
        return;
    }
    msgpack_pack_map(pk, 11 + extra);
    brk_core_pack_str(pk, "address");
    brk_core_pack_str(pk, e->address);
    brk_core_pack_str(pk, "service");
    brk_core_pack_str(pk, e->service);
    brk_core_pack_str(pk, "pid");
    msgpack_pack_int64(pk, e->pid);
    brk_core_pack_str(pk, "state");
    brk_core_pack_str(pk, brk_core_state_name(self, ei));
    e = brk_registry_at(&self->reg, ei);
    brk_core_pack_str(pk, "mailbox");
    msgpack_pack_uint32(pk, e->mailbox.count);
    brk_core_pack_str(pk, "inflight");
    msgpack_pack_uint64(pk, (uint64_t)e->calls_out + e->tells_out);
    brk_core_pack_str(pk, "handled");
    msgpack_pack_uint64(pk, e->handled);
    brk_core_pack_str(pk, "cause");
    brk_core_pack_str(pk, e->cause);
    brk_core_pack_calls(pk, &e->calls);
    for (int i = 0; i < self->n_ext; i++) {
        if (self->ext[i].pack_entry_cb) {
            self->ext[i].pack_entry_cb(self->ext[i].self, ei, pk);
        }
    }
}

/* ------------------------------------------------------------ connections */

uint32_t
brk_core_sender(brk_broker_t *self, const brk_in_t *m)
{
    return brk_conns_find(
        &self->conns, zmq_msg_data(m->rid), zmq_msg_size(m->rid));
}

actors_err
brk_core_conn_claim(
    brk_broker_t *self, const brk_in_t *m, uint8_t role, uint32_t *ci)
{
    /* The fd is recorded below: settle older drops first, or one of them
     * would be taken for this connection's (fd reuse). */
    brk_core_settle_fds(self);
    int fd = zmq_msg_get(m->hdr, ZMQ_SRCFD);
    uint32_t i = brk_core_sender(self, m);
    if (fd >= 0) {
        /* A row still holding this fd lost its connection unseen. */
        uint32_t other = brk_conns_find_fd(&self->conns, fd);
        if (other != BRK_NONE && other != i) {
            brk_conns_at(&self->conns, other)->fd = BRK_FD_LOST;
            self->lost_pending = true;
        }
    }
    if (i == BRK_NONE) {
        actors_err rc = brk_conns_add(
            &self->conns, zmq_msg_data(m->rid), zmq_msg_size(m->rid), fd, &i);
        if (rc != ACTORS_OK) {
            return rc;
        }
    } else if (fd >= 0) {
        brk_conns_at(&self->conns, i)->fd = fd;
    }
    brk_conn_t *c = brk_conns_at(&self->conns, i);
    c->roles |= role;
    if (self->auth != NULL && c->key[0] == '\0') {
        /* For the sweep at a reload that revokes it (s_close_revoked). */
        const char *key = zmq_msg_gets(m->hdr, "User-Id");
        snprintf(c->key, sizeof c->key, "%s", key != NULL ? key : "");
    }
    *ci = i;
    return ACTORS_OK;
}

void
brk_core_conn_release(brk_broker_t *self, uint32_t ci, uint8_t role)
{
    brk_conn_t *c = brk_conns_at(&self->conns, ci);
    if (c->rid_len == 0) {
        return;
    }
    c->roles &= (uint8_t)~role;
    if (c->roles == 0 && c->first_entry == BRK_NONE) {
        brk_conns_remove(&self->conns, ci);
    }
}

/* s_conn_died ends connection ci: its addresses are lost (an extension
 * may hold them), the extensions hear of it, and its row goes. */
static void
s_conn_died(brk_broker_t *self, uint32_t ci, const char *reason)
{
    /* What was queued before the death goes first (to the old peer, or,
     * a dispatch, back to its mailbox): nothing stays queued for a later
     * peer that takes its routing id. */
    brk_core_flush(self);
    brk_conn_t *dying = brk_conns_at(&self->conns, ci);
    /* Keep the row while the entries go: it is freed at the end. */
    dying->roles |= BRK_ROLE_DYING;
    for (;;) {
        uint32_t ei = brk_conns_at(&self->conns, ci)->first_entry;
        if (ei == BRK_NONE) {
            break;
        }
        if (brk_registry_at(&self->reg, ei)->group != BRK_NONE) {
            brk_group_member_lost(self, ei, true, reason);
            continue;
        }
        bool held = false;
        for (int i = 0; i < self->n_ext && !held; i++) {
            if (self->ext[i].entry_lost_cb) {
                held = self->ext[i].entry_lost_cb(
                    self->ext[i].self, ei, true, reason);
            }
        }
        if (!held) {
            brk_core_bury(self, ei, ACTORS_ECRASHED, reason);
        }
        if (brk_registry_at(&self->reg, ei)->conn == ci) {
            s_conn_unlink(self, ei); /* an extension left it linked */
        }
    }
    for (int i = 0; i < self->n_ext; i++) {
        if (self->ext[i].conn_gone_cb) {
            self->ext[i].conn_gone_cb(self->ext[i].self, ci);
        }
    }
    if (brk_conns_at(&self->conns, ci)->rid_len != 0) {
        brk_conns_remove(&self->conns, ci);
    }
}

/* s_reap_lost ends the connections a send found unreachable. */
static void
s_reap_lost(brk_broker_t *self)
{
    self->lost_pending = false;
    for (uint32_t ci = 0; ci < self->conns.used; ci++) {
        brk_conn_t *c = brk_conns_at(&self->conns, ci);
        if (c->rid_len != 0 && c->fd == BRK_FD_LOST) {
            s_conn_died(self, ci, "connection lost");
        }
    }
}

static int s_recv_handle(brk_broker_t *self, int flags);

/* s_fd_mark records what the ACCEPTED event of fd decided (state, a
 * BRK_FD_* value), for s_from_refused. Without memory the mark is lost:
 * that descriptor's messages are then handled (as before the marks). */
static void
s_fd_mark(brk_broker_t *self, int fd, uint8_t state)
{
    if (fd < 0) {
        return;
    }
    if ((size_t)fd >= self->fd_seen_len) {
        size_t len = self->fd_seen_len ? self->fd_seen_len : 256;
        while (len <= (size_t)fd) {
            len *= 2;
        }
        uint8_t *grown = actors__realloc(self->fd_seen, len);
        if (grown == NULL) {
            return;
        }
        memset(
            grown + self->fd_seen_len, BRK_FD_UNSEEN, len - self->fd_seen_len);
        self->fd_seen = grown;
        self->fd_seen_len = len;
    }
    self->fd_seen[fd] = state;
}

/* s_refuse_if_full runs for each connection libzmq accepted (fd). When
 * it took one of the last BRK_FD_MARGIN descriptors the process may
 * open (descriptors are handed out lowest first, so a high one means the
 * lower ones are all taken), the connection is refused: shut down, which
 * libzmq sees as the peer leaving and closes itself. That keeps libzmq
 * from running out: at the limit its listener retries accept() at once
 * and forever (a busy loop in its I/O thread) while every existing peer
 * waits. Logged at most once a minute. Returns true if it refused it. */
static bool
s_refuse_if_full(brk_broker_t *self, int fd)
{
    /* Read each time: the limit may be changed under a running broker
     * (prlimit), and accepting is rare next to messages. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        self->fd_limit =
            rl.rlim_cur == RLIM_INFINITY ? INT32_MAX : (int64_t)rl.rlim_cur;
    }
    bool refuse = fd >= 0 && (int64_t)fd >= self->fd_limit - BRK_FD_MARGIN;
    if (fd >= 0 && (int64_t)fd >= self->fd_limit - BRK_FD_GUARD) {
        self->fd_guard = true;
    } else if (self->fd_guard &&
               self->now - self->fd_refused_at >= BRK_FD_GUARD_MS) {
        self->fd_guard = false; /* well below the limit for a while */
    }
    if (!refuse) {
        return false;
    }
    shutdown(fd, SHUT_RDWR);
    self->n_refused++;
    self->fd_refused_at = self->now;
    if (self->fd_logged == 0 || self->now - self->fd_logged >= 60000) {
        self->fd_logged = self->now;
        ACTORS_LOG(ACTORS_LOG_WARN, "BRK-FDS-EXHAUSTED",
            "refused=%llu limit=%lld no descriptor to spare for a new "
            "connection; refusing new ones, serving the others (raise "
            "ulimit -n; logged at most once a minute)",
            (unsigned long long)self->n_refused, (long long)self->fd_limit);
    }
    return true;
}

bool
brk_core_refuse_if_full(brk_broker_t *self, int fd)
{
    return s_refuse_if_full(self, fd);
}

void
brk_core_peer_left(brk_broker_t *self)
{
    self->trim_due = true;
}

/* s_drain_monitor handles the socket monitor's events: a DISCONNECTED
 * connection that has a row ends it. With flush, the messages waiting on
 * the ROUTER are handled first, so that what a dying actor sent before
 * its connection dropped (replies) counts; without (inside a message
 * handler), drops are handled at once. */
static void
s_drain_monitor(brk_broker_t *self, bool flush)
{
    uint16_t event;
    uint32_t value;
    while (actors__monitor_next(self->monitor, &event, &value)) {
        if (event == ZMQ_EVENT_ACCEPTED) {
            bool refused = s_refuse_if_full(self, (int)value);
            s_fd_mark(
                self, (int)value, refused ? BRK_FD_REFUSED : BRK_FD_ADMITTED);
            continue;
        }
        if (event != ZMQ_EVENT_DISCONNECTED) {
            continue;
        }
        self->trim_due = true;
        uint32_t ci = brk_conns_find_fd(&self->conns, (int)value);
        if (ci == BRK_NONE) {
            continue;
        }
        if (flush) {
            /* Remember who it was: while flushing, that connection may go
             * and a new one may take a row with the same fd. */
            uint8_t rid[BRK_RID_MAX];
            size_t len = brk_conns_at(&self->conns, ci)->rid_len;
            memcpy(rid, brk_conns_at(&self->conns, ci)->rid, len);
            /* Bounded in time too: messages that cost much (a PUBLISH
             * to a full subscription table) must not hold every other
             * peer's answers for seconds per death. What is left is read
             * after the death: a reply of the dead actor's then finds
             * its call already answered (late, dropped). */
            int64_t until = s_clock_ms() + BRK_DEATH_FLUSH_MS;
            for (int k = 0; k < 16 * BRK_BATCH; k++) {
                if (s_recv_handle(self, ZMQ_DONTWAIT) != 1 ||
                    (k % BRK_CLOCK_EVERY == BRK_CLOCK_EVERY - 1 &&
                        s_clock_ms() >= until)) {
                    break;
                }
            }
            ci = brk_conns_find(&self->conns, rid, len);
            if (ci == BRK_NONE ||
                brk_conns_at(&self->conns, ci)->fd != (int)value) {
                continue;
            }
        }
        s_conn_died(self, ci, "connection lost");
    }
}

/* s_from_refused: the message in self->in[0..n) came on a connection
 * that s_refuse_if_full refused (shut down at once, but libzmq may have
 * read a message from it first). Asked only near the descriptor limit
 * (fd_guard): reading a message's descriptor is a metadata lookup, too
 * dear for every message. A connection's ACCEPTED event is queued on the
 * monitor before any of its messages can reach the ROUTER, so a
 * descriptor not marked admitted has its news waiting there: the monitor
 * is drained first. (A refused connection's last messages still queued
 * after its descriptor was reused by an admitted one pass: that needs
 * the limit raised in between.) */
static bool
s_from_refused(brk_broker_t *self, int n)
{
    int fd = n >= 2 ? zmq_msg_get(&self->in[1], ZMQ_SRCFD) : -1;
    if (fd < 0) {
        return false;
    }
    if ((size_t)fd >= self->fd_seen_len ||
        self->fd_seen[fd] != BRK_FD_ADMITTED) {
        s_drain_monitor(self, false);
    }
    return (size_t)fd < self->fd_seen_len &&
           self->fd_seen[fd] == BRK_FD_REFUSED;
}

void
brk_core_settle_fds(brk_broker_t *self)
{
    s_drain_monitor(self, false);
    if (self->lost_pending) {
        s_reap_lost(self);
    }
}

/* ------------------------------------------------------------ commands */

void
brk_core_set_cmd(brk_broker_t *self, uint8_t cmd, brk_cmd_cb fn, void *arg)
{
    assert(self && self->tag == BRK_TAG);
    self->cmds[cmd].fn = fn;
    self->cmds[cmd].arg = arg;
}

actors_err
brk_core_attach(brk_broker_t *self, const brk_ext_t *ext)
{
    assert(self && self->tag == BRK_TAG);
    assert(ext);
    if (self->n_ext == BRK_EXT_MAX) {
        return ACTORS_ENOMEM;
    }
    self->ext[self->n_ext++] = *ext;
    return ACTORS_OK;
}

/* s_handle handles the message in self->in[0..n); too_many: it had more
 * frames than kept. Frames are closed by the caller. */
static void
s_handle(brk_broker_t *self, int n, bool too_many)
{
    brk_in_t mm = {.rid = &self->in[0]};
    brk_in_t *m = &mm;
    int h = 1;
    if (n >= 2 && zmq_msg_size(&self->in[1]) == 0) {
        m->delim = true;
        h = 2;
    }
    if (h >= n) {
        self->n_bad++;
        ACTORS_LOG(ACTORS_LOG_DEBUG, "BRK-BAD-REQUEST", "no header frame");
        brk_core_error(self, m->rid, m->delim, NULL, ACTORS_EBADREQ, NULL,
            "no header frame");
        return;
    }
    m->hdr = &self->in[h];
    m->arg = &self->in[h + 1];
    m->nargs = n - h - 1;
    actors_err rc =
        actors__hdr_parse(zmq_msg_data(m->hdr), zmq_msg_size(m->hdr), &m->h);
    if (rc != ACTORS_OK) {
        self->n_bad++;
        ACTORS_LOG(ACTORS_LOG_DEBUG, "BRK-BAD-REQUEST",
            "unreadable header of %zu bytes", zmq_msg_size(m->hdr));
        brk_core_error(self, m->rid, m->delim, NULL, rc, NULL,
            rc == ACTORS_EVERSION ? "unsupported protocol version, this "
                                    "broker speaks ACT2"
                                  : "not an ACT2 header");
        return;
    }
    if (too_many) {
        brk_core_bad(self, m, "too many frames");
    } else if (self->cmds[m->h.cmd].fn != NULL) {
        /* The sender's role (auth.h) first: false means answered. */
        if (brk_auth_admit(self->auth, self, m)) {
            self->cmds[m->h.cmd].fn(self->cmds[m->h.cmd].arg, self, m);
        }
    } else {
        brk_core_bad(self, m, "unknown command");
    }
    if (m->delim && zmq_msg_size(m->rid) > 0) {
        /* A REQ socket waits for exactly one answer, and the handler sent
         * none (a command that is never answered, or one dropped as
         * malformed): answer it, so no REQ peer ever hangs. The routing
         * id frame is still full only when nothing was sent to it nor
         * kept to answer later. */
        brk_core_bad(self, m,
            "this command is not answered on success; a REQ socket cannot "
            "send it");
    }
}

static int s_wait_ms(brk_broker_t *self);

/* s_recv_handle receives one message (flags: 0 waits until the next
 * timer at most, ZMQ_DONTWAIT does not wait), reads the clock and handles
 * it. Returns 1 if one was handled, 0 if none came (timeout, EINTR), -1
 * if the socket failed (errno set). */
static int
s_recv_handle(brk_broker_t *self, int flags)
{
    zmq_msg_t *in = self->in;
    /* A message already queued is taken without waiting; only a receive
     * that may have waited needs the clock read at once (below). */
    bool waited = false;
    if (zmq_msg_recv(&in[0], self->router, ZMQ_DONTWAIT) < 0) {
        if (errno != EAGAIN || flags == ZMQ_DONTWAIT) {
            return errno == EAGAIN || errno == EINTR ? 0 : -1;
        }
        /* Nothing queued: what the burst made leaves now, together
         * (outbox.h), then wait until the next timer at most. */
        brk_core_flush(self);
        s_clock_set(self);
        int t = s_wait_ms(self);
        if (t != self->rcvtimeo) {
            zmq_setsockopt(self->router, ZMQ_RCVTIMEO, &t, sizeof t);
            self->rcvtimeo = t;
        }
        if (zmq_msg_recv(&in[0], self->router, flags) < 0) {
            return errno == EAGAIN || errno == EINTR ? 0 : -1;
        }
        waited = true;
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
    /* Deadlines and latencies start from now: read after a receive that
     * may have waited, and every BRK_CLOCK_EVERY messages of a burst (a
     * clock read is a tenth of the broker's own time per message there;
     * what it misses is the handling of the few messages since). */
    if (waited || ++self->clock_skip >= BRK_CLOCK_EVERY) {
        self->clock_skip = 0;
        s_clock_set(self);
    }
    if (self->fd_guard && s_from_refused(self, n)) {
        ACTORS_LOG(ACTORS_LOG_DEBUG, "BRK-FDS-DROPPED",
            "a message of a refused connection dropped");
    } else {
        self->n_msgs++;
        s_handle(self, n, too_many);
    }
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
 * actor's late reply, which returns the credit. Slots an extension made
 * go to it. */
static void
s_on_deadline(brk_broker_t *self, uint32_t si)
{
    brk_slot_t *s = brk_slots_at(&self->slots, si);
    if (s->state == BRK_SLOT_EXT ||
        (s->state == BRK_SLOT_HELD && s->cmd != ACTORS_CMD_CALL)) {
        for (int i = 0; i < self->n_ext; i++) {
            if (self->ext[i].slot_expired_cb) {
                self->ext[i].slot_expired_cb(self->ext[i].self, si);
                return;
            }
        }
        brk_core_slot_fail(self, si, ACTORS_ETIMEDOUT, "no answer in time");
        return;
    }
    brk_entry_t *e = brk_registry_at(&self->reg, s->entry);
    uint32_t ms = brk_core_hdr_timeout(&s->hdr);
    ACTORS_LOG(ACTORS_LOG_DEBUG, "BRK-TIMEOUT", "address=%s state=%s",
        e->address, s->state == BRK_SLOT_QUEUED ? "mailbox" : "inflight");
    if (s->state == BRK_SLOT_QUEUED) {
        brk_mailbox_remove(&e->mailbox, &self->slots, si);
        brk_core_slot_fail(self, si, ACTORS_ETIMEDOUT,
            "no reply from %s within %u ms (still in its mailbox)", e->address,
            ms);
        return;
    }
    if (!s->answered) {
        s->answered = 1;
        if (s->cmd == ACTORS_CMD_CALL) {
            brk_calls_add(&e->calls, true, brk_core_age_us(self, s->t0_us));
        }
        if (self->observe) {
            brk_core_observe(
                self, s->entry, &s->hdr, ACTORS_ETIMEDOUT, s->t0_us);
        }
        brk_core_error(self, &s->rid, s->delim, &s->hdr, ACTORS_ETIMEDOUT,
            e->address, "no reply from %s within %u ms", e->address, ms);
    }
}

/* s_close_revoked closes every connection with a row (an actor, a node,
 * a subscriber: peers that may never send again, so brk_auth_admit would
 * never see them) made with a key the allowlist's last reload removed or
 * changed. Their ends follow as any connection's (the monitor); their
 * peers are refused from now on, or take their new role. */
static void
s_close_revoked(brk_broker_t *self)
{
    brk_core_settle_fds(self); /* no fd of a connection already gone */
    uint32_t closed = 0;
    for (uint32_t i = 0; i < self->conns.used; i++) {
        brk_conn_t *c = brk_conns_at(&self->conns, i);
        if (c->rid_len != 0 && c->fd >= 0 &&
            brk_auth_revoked(self->auth, c->key)) {
            shutdown(c->fd, SHUT_RDWR);
            closed++;
        }
    }
    ACTORS_LOG(ACTORS_LOG_NOTICE, "BRK-AUTH-REVOKED",
        "closed=%u connections made with a key removed or changed by the "
        "reload",
        closed);
}

uint32_t
brk_core_revocations(const brk_broker_t *self)
{
    return brk_auth_revocations(self->auth);
}

/* s_tick runs the extensions' ticks and the core's housekeeping. */
static void
s_tick(brk_broker_t *self)
{
    brk_auth_tick(self->auth, self->now);
    if (brk_auth_revocations(self->auth) != self->revocations) {
        self->revocations = brk_auth_revocations(self->auth);
        s_close_revoked(self);
    }
    for (int i = 0; i < self->n_ext; i++) {
        if (self->ext[i].tick_cb) {
            self->ext[i].tick_cb(self->ext[i].self);
        }
    }
    if (self->lost_pending) {
        s_reap_lost(self);
    }
    if (self->pump_blocked) {
        /* Dispatches were taken back from a full queue: try again; an
         * address whose connection is still in its wait is tried at the
         * next tick. */
        self->pump_blocked = false;
        bool waiting = false;
        for (uint32_t ei = 0; ei < self->reg.used; ei++) {
            const brk_entry_t *e = brk_registry_at(&self->reg, ei);
            if (e->state != BRK_ENTRY_RUNNING) {
                continue;
            }
            brk_core_pump(self, ei);
            e = brk_registry_at(&self->reg, ei);
            waiting |=
                !e->is_group && !brk_mailbox_empty(&e->mailbox) &&
                brk_conns_at(&self->conns, e->conn)->full_until > self->now;
        }
        if (waiting) {
            self->pump_blocked = true;
            if (self->next_tick > self->now + BRK_HELD_RETRY_MS) {
                self->next_tick = self->now + BRK_HELD_RETRY_MS;
            }
        }
    }
    if (self->slow_last != 0 &&
        self->now - self->slow_last >= BRK_SLOW_QUIET_MS) {
        ACTORS_LOG(ACTORS_LOG_NOTICE, "BRK-SLOW-CONSUMER-END",
            "dropped=%llu undelivered=%llu no answer dropped for %d ms: the "
            "slow-consumer episode is over",
            (unsigned long long)(self->n_undelivered - self->slow_from),
            (unsigned long long)self->n_undelivered, BRK_SLOW_QUIET_MS);
        self->slow_last = 0;
    }
    if (self->trim_due && self->now - self->trimmed >= 5000) {
        /* What a peer that left made the broker hold (its queues, slots
         * of its calls) goes back to the system, not only to malloc. */
        self->trim_due = false;
        self->trimmed = self->now;
        malloc_trim(0);
    }
}

static void
s_timers(brk_broker_t *self)
{
    int64_t when;
    uint32_t si;
    while (
        brk_deadlines_peek(&self->deadlines, &when, &si) && when <= self->now) {
        brk_deadlines_pop(&self->deadlines);
        s_on_deadline(self, si);
    }
    if (self->now >= self->next_tick) {
        self->next_tick = self->now + self->tick_ms;
        s_tick(self);
    }
}

/* s_ext_socks lets each extension read its own socket (ext.h). */
static void
s_ext_socks(brk_broker_t *self)
{
    for (int i = 0; i < self->n_ext; i++) {
        if (self->ext[i].socks[0] != NULL && self->ext[i].sock_cb != NULL) {
            self->ext[i].sock_cb(self->ext[i].self);
        }
    }
}

/* s_wait_ms is how long the next receive may wait: until the next
 * deadline, tick or monitor check, at most BRK_CHECK_MS. */
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

/* s_idle_wait: nothing came for a whole wait, so block until a message,
 * a connection event or the next timer instead of waking every
 * BRK_CHECK_MS (an idle broker with a thousand actors should cost
 * nothing). At most BRK_IDLE_MS, so brk_broker_stop from another thread
 * is seen soon; a signal interrupts the poll at once. True when woken by
 * a message or a connection event. */
static bool
s_idle_wait(brk_broker_t *self)
{
    int64_t next = self->next_tick;
    int64_t when;
    if (brk_deadlines_peek(&self->deadlines, &when, NULL) && when < next) {
        next = when;
    }
    int64_t t = next - s_clock_ms();
    if (t <= BRK_CHECK_MS) {
        return false;
    }
    zmq_pollitem_t items[2 + BRK_EXT_MAX * BRK_EXT_SOCKS] = {
        {self->router, 0, ZMQ_POLLIN, 0},
        {self->monitor, 0, ZMQ_POLLIN, 0},
    };
    int n = 2;
    for (int i = 0; i < self->n_ext; i++) {
        for (int k = 0; k < BRK_EXT_SOCKS; k++) {
            if (self->ext[i].socks[k] != NULL) {
                items[n++] =
                    (zmq_pollitem_t){self->ext[i].socks[k], 0, ZMQ_POLLIN, 0};
            }
        }
    }
    int woken = zmq_poll(items, n, t > BRK_IDLE_MS ? BRK_IDLE_MS : (long)t);
    s_clock_set(self);
    if (woken > 0) {
        s_ext_socks(self);
    }
    return woken > 0;
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

void
brk_core_liveness(brk_broker_t *self, void *sock)
{
    const brk_opts_t *o = &self->opts;
    /* Liveness: ZMTP heartbeats, sent and answered by libzmq's I/O
     * thread, so an actor in a long method stays alive and a stopped or
     * vanished peer's connection is closed. A peer is PINGed every
     * (liveness - 1) x heartbeat_ms and must answer within heartbeat_ms,
     * so it is dropped at most liveness x heartbeat_ms after it went
     * silent. The answer window is the shorter one on purpose: libzmq
     * cancels a connection's answer timer by walking its timers in expiry
     * order, and a timer due before most PING timers is found at once;
     * the other way round (PING often, wait long) costs every answer a walk
     * over all connections, quadratic in their number (1000 idle actors:
     * 18 % of a CPU instead of 3 %). The TTL tells the peer to drop a
     * broker silent for as long. */
    int64_t hb = o->heartbeat_ms;
    int64_t every = o->liveness > 1 ? hb * (o->liveness - 1) : hb;
    /* Never less than BRK_ANSWER_MIN_MS to answer: a loaded machine may
     * delay a healthy peer's I/O thread that long. */
    int64_t answer = hb < BRK_ANSWER_MIN_MS ? BRK_ANSWER_MIN_MS : hb;
    int64_t silence = every + answer;
    int ivl = every > INT32_MAX ? INT32_MAX : (int)every;
    int tmo = answer > INT32_MAX ? INT32_MAX : (int)answer;
    int ttl = silence > 6553500 ? 6553500 : (int)silence;
    zmq_setsockopt(sock, ZMQ_HEARTBEAT_IVL, &ivl, sizeof ivl);
    zmq_setsockopt(sock, ZMQ_HEARTBEAT_TTL, &ttl, sizeof ttl);
    zmq_setsockopt(sock, ZMQ_HEARTBEAT_TIMEOUT, &tmo, sizeof tmo);
}

void *
brk_core_ctx(brk_broker_t *self)
{
    return self->ctx;
}

actors_err
brk_core_secure(brk_broker_t *self, void *sock)
{
    return brk_auth_server(self->auth, sock);
}

/* s_socket makes the ROUTER with its bounds and liveness and binds it. */
static actors_err
s_socket(brk_broker_t *self)
{
    self->router = zmq_socket(self->ctx, ZMQ_ROUTER);
    if (self->router == NULL) {
        return ACTORS_EIO;
    }
    int zero = 0;
    int one = 1;
    zmq_setsockopt(self->router, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(self->router, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
    /* Bounds: a peer's queues in ZeroMQ hold at most max_queued messages
     * each way, and a frame too large to be worth a TooLarge answer
     * closes its connection before it is buffered. */
    const brk_opts_t *o = &self->opts;
    int hwm = o->max_queued > INT32_MAX ? INT32_MAX : (int)o->max_queued;
    zmq_setsockopt(self->router, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(self->router, ZMQ_RCVHWM, &hwm, sizeof hwm);
    int64_t maxmsg =
        (int64_t)(o->max_message > 65536 ? o->max_message : 65536) +
        BRK_FRAME_SLACK;
    zmq_setsockopt(self->router, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
    brk_core_liveness(self, self->router);

    char mon_ep[64];
    snprintf(mon_ep, sizeof mon_ep, BRK_MONITOR_EP_FMT, (void *)self);
    if (zmq_socket_monitor(self->router, mon_ep,
            ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_ACCEPTED) != 0) {
        ACTORS_LOG(ACTORS_LOG_ERR, "BRK-MONITOR", "monitor failed: %s",
            zmq_strerror(errno));
        return ACTORS_EIO;
    }
    self->monitor = zmq_socket(self->ctx, ZMQ_PAIR);
    if (self->monitor == NULL) {
        return ACTORS_EIO;
    }
    zmq_setsockopt(self->monitor, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(self->monitor, ZMQ_RCVHWM, &zero, sizeof zero);
    if (zmq_connect(self->monitor, mon_ep) != 0) {
        return ACTORS_EIO;
    }
    if (brk_auth_server(self->auth, self->router) != ACTORS_OK) {
        return ACTORS_EIO;
    }
    if (zmq_bind(self->router, o->bind) != 0) {
        ACTORS_LOG(ACTORS_LOG_ERR, "BRK-BIND", "endpoint=%s cannot bind: %s",
            o->bind, zmq_strerror(errno));
        return ACTORS_EIO;
    }
    size_t len = sizeof self->endpoint;
    if (zmq_getsockopt(self->router, ZMQ_LAST_ENDPOINT, self->endpoint, &len) !=
        0) {
        snprintf(self->endpoint, sizeof self->endpoint, "%s", o->bind);
    }
    return ACTORS_OK;
}

actors_err
brk_core_create(brk_broker_t **out, const brk_opts_t *opts)
{
    assert(out);
    assert(opts);
    *out = NULL;
    if (opts->bind == NULL || strlen(opts->bind) >= 256 || opts->mailbox == 0 ||
        opts->heartbeat_ms == 0 || opts->liveness == 0 ||
        opts->max_message == 0 || opts->max_queued == 0) {
        return ACTORS_EINVAL;
    }
    brk_broker_t *self = actors__zalloc(sizeof *self);
    if (self == NULL) {
        return ACTORS_ENOMEM;
    }
    self->tag = BRK_TAG;
    struct rlimit rl;
    self->fd_limit =
        getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
            ? (int64_t)rl.rlim_cur
            : INT32_MAX;
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
    brk_outbox_init(&self->out);
    brk_conns_init(&self->conns);
    route_attach(self);
    control_attach(self);
    actors_err rc = brk_slots_init(&self->slots, 1024);
    if (rc == ACTORS_OK) {
        rc = brk_registry_init(&self->reg, opts->max_tombs);
    }
    if (rc == ACTORS_OK) {
        self->ctx = zmq_ctx_new();
        rc = self->ctx != NULL ? ACTORS_OK : ACTORS_EIO;
    }
    if (rc == ACTORS_OK) {
        rc = brk_auth_create(&self->auth, self->ctx, opts->keys_dir, opts->key);
    }
    if (rc == ACTORS_OK) {
        rc = s_socket(self);
    }
    if (rc != ACTORS_OK) {
        brk_broker_destroy(&self);
        return rc;
    }
    self->now = s_clock_ms();
    self->rcvtimeo = -2; /* not set yet */
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
        "max_message=%llu max_queued=%u broker running",
        self->endpoint, self->opts.mailbox, self->opts.heartbeat_ms,
        self->opts.liveness, (unsigned long long)self->opts.max_message,
        self->opts.max_queued);
    actors_err rc = ACTORS_OK;
    int batch = 0; /* messages since the last check */
    self->now = s_clock_ms();
    self->next_check = self->now + BRK_CHECK_MS;
    while (!atomic_load(&self->stop)) {
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
        brk_core_flush(self);
        if (self->lost_pending) {
            s_reap_lost(self);
        }
        s_clock_set(self); /* the timers answer with now_us too */
        s_drain_monitor(self, true);
        s_ext_socks(self);
        s_timers(self);
        brk_core_flush(self);
        self->next_check = self->now + BRK_CHECK_MS;
        if (r == 0 && s_idle_wait(self)) {
            /* Woken by news: connection events before messages, so that
             * a connection refused on accept (s_refuse_if_full) is shut
             * before anything it sent is read. */
            s_drain_monitor(self, true);
        }
    }
    brk_core_flush(self);
    ACTORS_LOG(ACTORS_LOG_NOTICE, "BRK-STOP",
        "messages=%llu unroutable=%llu undelivered=%llu late=%llu bad=%llu "
        "requeued=%llu tells_lost=%llu broker stopping",
        (unsigned long long)self->n_msgs,
        (unsigned long long)self->n_unroutable,
        (unsigned long long)self->n_undelivered,
        (unsigned long long)self->n_late, (unsigned long long)self->n_bad,
        (unsigned long long)self->n_requeued,
        (unsigned long long)self->n_tells_lost);
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
    for (int i = 0; i < self->n_ext; i++) {
        if (self->ext[i].destroy_cb) {
            self->ext[i].destroy_cb(self->ext[i].self);
        }
    }
    if (self->monitor) {
        zmq_close(self->monitor);
    }
    if (self->router) {
        zmq_socket_monitor(self->router, NULL, 0);
        zmq_close(self->router);
    }
    brk_auth_destroy(&self->auth);
    if (self->ctx) {
        zmq_ctx_term(self->ctx);
    }
    for (int i = 0; i < BRK_MAX_FRAMES; i++) {
        zmq_msg_close(&self->in[i]);
    }
    brk_outbox_fini(&self->out);
    actors__free(self->undone);
    brk_deadlines_fini(&self->deadlines);
    brk_slots_fini(&self->slots);
    brk_registry_fini(&self->reg);
    brk_conns_fini(&self->conns);
    msgpack_sbuffer_destroy(&self->sbuf);
    actors__free(self->fd_seen);
    self->tag = 0xdeadbeef;
    actors__free(self);
    *self_p = NULL;
}
