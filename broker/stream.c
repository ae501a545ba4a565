/* broker/stream.c - the event stream's XPUB (stream.h).
 * SPDX-License-Identifier: MIT
 */
#include "stream.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <linux/tcp.h> /* struct tcp_info with tcpi_bytes_received */
#include <sys/socket.h>

#include <actors/log.h>

#include <actors-internal/alloc.h>
#include <actors-internal/wire.h>
#include <actors-internal/zmon.h>

#include "fdends.h"

/* A connection the XPUB accepted, as the monitor told it: its
 * descriptor and both its ends, so that a descriptor reused by another
 * connection since is not taken for it. */
typedef struct {
    brk_fdends_t ends;
    int64_t since; /* accepted (core->now) */
} s_conn_t;

/* An event held until the next flush: its two frames, references. */
typedef struct {
    zmq_msg_t hdr;
    zmq_msg_t body;
} s_held_t;

struct brk_stream {
    brk_broker_t *core;
    void *xpub;
    void *monitor; /* PAIR: the XPUB's accepted connections */
    char endpoint[256];
    s_conn_t *conns; /* accepted and not yet seen to end */
    size_t nconns;
    size_t conns_cap;
    uint32_t revocations; /* brk_core_revocations when last checked */
    uint32_t read_since;  /* messages read up since the last s_police */
    int64_t policed_at;   /* when (core->now) */
    uint64_t n_flooded;   /* connections closed over their budget */
    int64_t flood_logged; /* when BRK-STREAM-FLOOD was last logged */
    uint32_t nheld;       /* events held for brk_stream_flush */
    uint64_t n_failed;    /* events the XPUB refused */
    s_held_t held[BRK_STREAM_HELD];
};

static void
s_forget(brk_stream_t *self, int fd)
{
    for (size_t i = 0; i < self->nconns; i++) {
        if (self->conns[i].ends.fd == fd) {
            self->conns[i] = self->conns[--self->nconns];
            return;
        }
    }
}

static void
s_track(brk_stream_t *self, int fd)
{
    s_forget(self, fd); /* a descriptor whose end was not seen */
    if (self->nconns == self->conns_cap) {
        size_t cap = self->conns_cap ? self->conns_cap * 2 : 16;
        s_conn_t *v = actors__realloc(self->conns, cap * sizeof *v);
        if (v == NULL) {
            return; /* not closed at a revocation: logged there */
        }
        self->conns = v;
        self->conns_cap = cap;
    }
    if (brk_fdends_read(fd, &self->conns[self->nconns].ends)) {
        self->conns[self->nconns].since = self->core->now;
        self->nconns++;
    }
}

/* s_police closes each TCP connection that has sent the broker more than
 * BRK_STREAM_RECV_BUDGET bytes beyond its heartbeats: a SUB sends only
 * its subscriptions, and libzmq keeps every one (a few KiB each for a
 * long random prefix) without a bound of its own and without naming the
 * peer that sent it, so the bytes each connection sent up, counted by
 * the kernel, are what tells a flood's sender. Its peer may connect
 * again with a fresh budget; what it subscribed is given back. */
static void
s_police(brk_stream_t *self)
{
    self->read_since = 0;
    self->policed_at = self->core->now;
    const brk_opts_t *o = &self->core->opts;
    int64_t ivl = o->heartbeat_ms > 0 ? o->heartbeat_ms : 1000;
    for (size_t i = 0; i < self->nconns;) {
        s_conn_t *c = &self->conns[i];
        struct tcp_info ti;
        socklen_t len = sizeof ti;
        memset(&ti, 0, sizeof ti);
        if (getsockopt(c->ends.fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0 ||
            len < offsetof(struct tcp_info, tcpi_bytes_received) +
                      sizeof ti.tcpi_bytes_received) {
            i++; /* not TCP (ipc://), or an old kernel: no budget */
            continue;
        }
        uint64_t beats = (uint64_t)((self->core->now - c->since) / ivl + 1);
        uint64_t allowed =
            BRK_STREAM_RECV_BUDGET + beats * BRK_STREAM_BEAT_BYTES;
        if (ti.tcpi_bytes_received <= allowed) {
            i++;
            continue;
        }
        if (brk_fdends_shutdown(&c->ends)) {
            self->n_flooded++;
            if (self->core->now - self->flood_logged >= 1000 ||
                self->n_flooded == 1) {
                self->flood_logged = self->core->now;
                ACTORS_LOG(ACTORS_LOG_WARN, "BRK-STREAM-FLOOD",
                    "closed=%llu received=%llu budget=%llu an event stream "
                    "connection sent more subscriptions than any subscriber "
                    "needs; closed (logged at most once a second)",
                    (unsigned long long)self->n_flooded,
                    (unsigned long long)ti.tcpi_bytes_received,
                    (unsigned long long)allowed);
            }
        }
        *c = self->conns[--self->nconns];
    }
}

/* s_close_all closes every connection of the stream: a reload removed or
 * changed a key, and which connection was made with it cannot be told
 * (libzmq names no peer of an XPUB). The peers with keys still listed
 * connect again at once and subscribe again (their SUBs do it
 * themselves: the broker welcomes each ticket again); events published
 * meanwhile are not theirs (at most once); the others are refused. */
static void
s_close_all(brk_stream_t *self)
{
    size_t closed = 0;
    for (size_t i = 0; i < self->nconns; i++) {
        closed += brk_fdends_shutdown(&self->conns[i].ends);
    }
    self->nconns = 0;
    ACTORS_LOG(ACTORS_LOG_NOTICE, "BRK-STREAM-REVOKED",
        "closed=%zu every event stream connection closed: the allowlist "
        "lost or changed a key; listed peers connect again",
        closed);
}

actors_err
brk_stream_create(brk_stream_t **out, brk_broker_t *core, const char *bind)
{
    *out = NULL;
    brk_stream_t *self = actors__zalloc(sizeof *self);
    if (self == NULL) {
        return ACTORS_ENOMEM;
    }
    self->core = core;
    self->revocations = brk_core_revocations(core);
    self->xpub = zmq_socket(brk_core_ctx(core), ZMQ_XPUB);
    if (self->xpub == NULL) {
        actors__free(self);
        return ACTORS_EIO;
    }
    int zero = 0;
    int one = 1;
    const brk_opts_t *o = &core->opts;
    int hwm = o->max_queued > INT32_MAX ? INT32_MAX : (int)o->max_queued;
    /* A subscription is a prefix of at most BRK_STREAM_SUB_MAX bytes; a
     * frame over BRK_STREAM_FRAME_MAX (room for a CURVE handshake's
     * commands, which the limit applies to too) closes its connection. */
    int64_t maxmsg = BRK_STREAM_FRAME_MAX;
    zmq_setsockopt(self->xpub, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(self->xpub, ZMQ_XPUB_VERBOSE, &one, sizeof one);
    zmq_setsockopt(self->xpub, ZMQ_SNDHWM, &hwm, sizeof hwm);
    /* What one activation of a pipe applies before the broker sees any
     * of it (s_police bounds the rest). */
    int rcvhwm = BRK_STREAM_RCVHWM;
    zmq_setsockopt(self->xpub, ZMQ_RCVHWM, &rcvhwm, sizeof rcvhwm);
    zmq_setsockopt(self->xpub, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
    brk_core_liveness(core, self->xpub);
    char mon_ep[64];
    snprintf(
        mon_ep, sizeof mon_ep, "inproc://actors-stream-mon-%p", (void *)self);
    self->monitor = zmq_socket(brk_core_ctx(core), ZMQ_PAIR);
    if (self->monitor == NULL ||
        zmq_socket_monitor(self->xpub, mon_ep,
            ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED) != 0 ||
        zmq_setsockopt(self->monitor, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
        zmq_connect(self->monitor, mon_ep) != 0) {
        brk_stream_destroy(&self);
        return ACTORS_EIO;
    }
    if (brk_core_secure(core, self->xpub) != ACTORS_OK) {
        brk_stream_destroy(&self);
        return ACTORS_EIO;
    }
    if (zmq_bind(self->xpub, bind) != 0) {
        ACTORS_LOG(ACTORS_LOG_ERR, "BRK-BIND",
            "endpoint=%s cannot bind the event stream: %s", bind,
            zmq_strerror(errno));
        brk_stream_destroy(&self);
        return ACTORS_EIO;
    }
    size_t len = sizeof self->endpoint;
    if (zmq_getsockopt(self->xpub, ZMQ_LAST_ENDPOINT, self->endpoint, &len) !=
        0) {
        snprintf(self->endpoint, sizeof self->endpoint, "%s", bind);
    }
    /* Where it is, port resolved: clients learn it from SUBSCRIBE's
     * answer, an operator from here. */
    ACTORS_LOG(ACTORS_LOG_NOTICE, "BRK-STREAM",
        "endpoint=%s event stream bound", self->endpoint);
    *out = self;
    return ACTORS_OK;
}

void
brk_stream_destroy(brk_stream_t **self_p)
{
    brk_stream_t *self = *self_p;
    if (self == NULL) {
        return;
    }
    brk_stream_flush(self);
    if (self->xpub != NULL) {
        zmq_socket_monitor(self->xpub, NULL, 0);
        zmq_close(self->xpub);
    }
    if (self->monitor != NULL) {
        zmq_close(self->monitor);
    }
    actors__free(self->conns);
    actors__free(self);
    *self_p = NULL;
}

void *
brk_stream_socket(brk_stream_t *self, int which)
{
    return which == 0 ? self->xpub : self->monitor;
}

void
brk_stream_check(brk_stream_t *self)
{
    uint16_t event;
    uint32_t value;
    while (actors__monitor_next(self->monitor, &event, &value)) {
        if (event == ZMQ_EVENT_ACCEPTED) {
            if (!brk_core_refuse_if_full(self->core, (int)value)) {
                s_track(self, (int)value);
            }
        } else if (event == ZMQ_EVENT_DISCONNECTED) {
            s_forget(self, (int)value);
            brk_core_peer_left(self->core);
        }
    }
    uint32_t revocations = brk_core_revocations(self->core);
    if (revocations != self->revocations) {
        self->revocations = revocations;
        s_close_all(self);
    }
    /* After every batch of subscriptions read (libzmq has applied at
     * least those), else once in a while. */
    if (self->read_since > 0 ||
        self->core->now - self->policed_at >= BRK_STREAM_POLICE_MS) {
        s_police(self);
    }
}

const char *
brk_stream_endpoint(const brk_stream_t *self)
{
    return self->endpoint;
}

bool
brk_stream_recv(brk_stream_t *self, bool *on, uint8_t *buf, size_t *len)
{
    for (;;) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, self->xpub, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            return false;
        }
        self->read_since++;
        size_t n = zmq_msg_size(&m);
        const uint8_t *d = zmq_msg_data(&m);
        /* Verbose mode hands up every subscription (an unsubscription
         * when a prefix's last subscriber drops it), flag byte first;
         * anything else a peer sends comes up as it is: skipped. */
        bool ok = n >= 1 && n <= BRK_STREAM_SUB_MAX && d[0] <= 1;
        if (ok) {
            *on = d[0] == 1;
            *len = n - 1;
            memcpy(buf, d + 1, n - 1);
        }
        zmq_msg_close(&m);
        if (ok) {
            return true;
        }
    }
}

size_t
brk_stream_prefix(uint8_t *out, const char *pattern, size_t plen)
{
    size_t n = actors__hdr_write(out, ACTORS_CMD_PUBLICATION, 0, NULL, 0);
    out[n++] = (uint8_t)plen;
    memcpy(out + n, pattern, plen);
    return n + plen;
}

size_t
brk_stream_ticket_prefix(uint8_t *out, const uint8_t ticket[BRK_STREAM_TICKET])
{
    return actors__hdr_write(
        out, ACTORS_CMD_PUBLICATION, 0, ticket, BRK_STREAM_TICKET);
}

void
brk_stream_send(brk_stream_t *self, zmq_msg_t *hdr, zmq_msg_t *body)
{
    if (self->nheld == BRK_STREAM_HELD) {
        brk_stream_flush(self);
    }
    s_held_t *e = &self->held[self->nheld++];
    zmq_msg_init(&e->hdr);
    zmq_msg_init(&e->body);
    zmq_msg_copy(&e->hdr, hdr);
    zmq_msg_copy(&e->body, body);
}

void
brk_stream_flush(brk_stream_t *self)
{
    uint32_t n = self->nheld;
    self->nheld = 0;
    bool failed = false;
    for (uint32_t i = 0; i < n; i++) {
        s_held_t *e = &self->held[i];
        /* An XPUB drops for a peer whose queue is full and does not
         * block: a failure here is the socket's (ETERM). After one, the
         * rest are dropped too: a header sent without its body would
         * have the next event's header continue its message. */
        if (!failed &&
            (zmq_msg_send(&e->hdr, self->xpub, ZMQ_SNDMORE | ZMQ_DONTWAIT) <
                    0 ||
                zmq_msg_send(&e->body, self->xpub, ZMQ_DONTWAIT) < 0)) {
            failed = true;
            if (self->n_failed == 0) {
                ACTORS_LOG(ACTORS_LOG_WARN, "BRK-STREAM-SEND",
                    "the event stream refused an event: %s (logged once)",
                    zmq_strerror(errno));
            }
        }
        self->n_failed += failed;
        zmq_msg_close(&e->hdr);
        zmq_msg_close(&e->body);
    }
}
