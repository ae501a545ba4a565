/* broker/stream.c - the event stream's XPUB (stream.h).
 * SPDX-License-Identifier: MIT
 */
#include "stream.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <actors/log.h>

#include <actors-internal/alloc.h>
#include <actors-internal/wire.h>

struct brk_stream {
    void *xpub;
    char endpoint[256];
};

actors_err
brk_stream_create(brk_stream_t **out, brk_broker_t *core, const char *bind)
{
    *out = NULL;
    brk_stream_t *self = actors__zalloc(sizeof *self);
    if (self == NULL) {
        return ACTORS_ENOMEM;
    }
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
    zmq_setsockopt(self->xpub, ZMQ_XPUB_MANUAL, &one, sizeof one);
    zmq_setsockopt(self->xpub, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(self->xpub, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(self->xpub, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
    brk_core_liveness(core, self->xpub);
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
    if (self->xpub != NULL) {
        zmq_close(self->xpub);
    }
    actors__free(self);
    *self_p = NULL;
}

void *
brk_stream_socket(brk_stream_t *self)
{
    return self->xpub;
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
        size_t n = zmq_msg_size(&m);
        const uint8_t *d = zmq_msg_data(&m);
        /* Manual mode hands up every (un)subscription, flag byte first;
         * anything else a peer sends is dropped by libzmq. */
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

void
brk_stream_grant(brk_stream_t *self, const void *prefix, size_t len, bool on)
{
    zmq_setsockopt(
        self->xpub, on ? ZMQ_SUBSCRIBE : ZMQ_UNSUBSCRIBE, prefix, len);
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
        out, ACTORS_CMD_REPLY, 0, ticket, BRK_STREAM_TICKET);
}

bool
brk_stream_send(brk_stream_t *self, zmq_msg_t *hdr, zmq_msg_t *body)
{
    zmq_msg_t h;
    zmq_msg_t b;
    zmq_msg_init(&h);
    zmq_msg_init(&b);
    zmq_msg_copy(&h, hdr);
    zmq_msg_copy(&b, body);
    bool ok = zmq_msg_send(&h, self->xpub, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0 &&
              zmq_msg_send(&b, self->xpub, ZMQ_DONTWAIT) >= 0;
    zmq_msg_close(&h);
    zmq_msg_close(&b);
    return ok;
}
