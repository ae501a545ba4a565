/* libactors/src/client_conn.c - a client's reconnection pace
 * (client_conn.h).
 * SPDX-License-Identifier: MIT
 */
#include "client_conn.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include <actors/log.h>

#include <actors-internal/alloc.h>

#include "deadline.h"

#define ACTORS__PARK_EP_FMT "inproc://actors-client-park-%p"
#define ACTORS__PARK_FRAMES 64 /* first size of the re-send buffer */

actors_err
actors__conn_init(
    actors__conn_t *c, void *ctx, void *sock, const char *endpoint)
{
    memset(c, 0, sizeof *c);
    c->ctx = ctx;
    c->sock = sock;
    size_t n = strlen(endpoint) + 1;
    c->endpoint = actors__zalloc(n);
    if (c->endpoint == NULL) {
        return ACTORS_ENOMEM;
    }
    memcpy(c->endpoint, endpoint, n);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    c->rng =
        (uint32_t)((uintptr_t)c ^ (uintptr_t)getpid() ^ (uintptr_t)ts.tv_nsec) |
        1u;
    return ACTORS_OK;
}

void
actors__conn_fini(actors__conn_t *c)
{
    if (c->park != NULL) {
        zmq_close(c->park);
        c->park = NULL;
    }
    actors__free(c->endpoint);
    c->endpoint = NULL;
}

/* s_rand is xorshift32: jitter needs no better. */
static uint32_t
s_rand(actors__conn_t *c)
{
    uint32_t x = c->rng;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c->rng = x;
    return x;
}

/* s_park points the socket at the parking socket (made on first use), so
 * that sends succeed while it waits. False if that failed. */
static bool
s_park(actors__conn_t *c)
{
    if (c->park == NULL) {
        snprintf(c->park_ep, sizeof c->park_ep, ACTORS__PARK_EP_FMT, (void *)c);
        void *park = zmq_socket(c->ctx, ZMQ_DEALER);
        int zero = 0;
        if (park == NULL) {
            return false;
        }
        zmq_setsockopt(park, ZMQ_RCVHWM, &zero, sizeof zero);
        zmq_setsockopt(park, ZMQ_LINGER, &zero, sizeof zero);
        if (zmq_bind(park, c->park_ep) != 0) {
            zmq_close(park);
            return false;
        }
        c->park = park;
    }
    return zmq_connect(c->sock, c->park_ep) == 0;
}

void
actors__conn_dropped(actors__conn_t *c, uint64_t received, int64_t now,
    actors__conn_cause_t cause)
{
    bool refused = received == c->rx_mark;
    c->rx_mark = received;
    if (!refused) {
        c->knock_ms = 0; /* it had served: libzmq reconnects as usual */
        return;
    }
    if (c->due != 0) {
        return; /* already waiting */
    }
    c->knock_ms = c->knock_ms == 0 ? ACTORS__KNOCK_MIN_MS : c->knock_ms * 2;
    if (c->knock_ms > ACTORS__KNOCK_MAX_MS) {
        c->knock_ms = ACTORS__KNOCK_MAX_MS;
    }
    /* Connect to the park first, so the socket always has somewhere to
     * send; then drop the broker's connection, which stops libzmq's own
     * reconnecting. */
    if (!s_park(c)) {
        return; /* no parking: libzmq keeps knocking at its pace */
    }
    /* With a linger, a session that still holds messages outlives its
     * disconnect and goes on reconnecting every 100 ms to deliver them:
     * its linger is 0 (what it held is lost, as documented). */
    int linger = 0;
    size_t len = sizeof linger;
    zmq_getsockopt(c->sock, ZMQ_LINGER, &linger, &len);
    int zero = 0;
    zmq_setsockopt(c->sock, ZMQ_LINGER, &zero, sizeof zero);
    int rc = zmq_disconnect(c->sock, c->endpoint);
    zmq_setsockopt(c->sock, ZMQ_LINGER, &linger, sizeof linger);
    if (rc != 0) {
        zmq_disconnect(c->sock, c->park_ep);
        return;
    }
    uint32_t wait = c->knock_ms + s_rand(c) % (c->knock_ms / 2 + 1);
    c->due = now + wait;
    c->n_refused++;
    /* Name what was seen: a failed handshake is a key or CURVE matter
     * (CLI-HANDSHAKE-FAILED said which), not the broker's descriptors. */
    ACTORS_LOG(ACTORS_LOG_INFO, "CLI-REFUSED",
        "endpoint=%s refused=%llu wait_ms=%u cause=%s %s; connecting again "
        "after the wait",
        c->endpoint, (unsigned long long)c->n_refused, (unsigned)wait,
        cause == ACTORS__CONN_HANDSHAKE ? "handshake" : "dropped",
        cause == ACTORS__CONN_HANDSHAKE
            ? "the broker refused the connection's handshake: it does "
              "not accept this CURVE key, or only one side has keys (see "
              "CLI-HANDSHAKE-FAILED)"
            : "the connection was refused or dropped before any reply (a "
              "broker out of descriptors refuses so; with CURVE, also a "
              "--broker-key that is not the broker's)");
}

/* s_reconnect connects to the broker again and sends what was parked. */
static void
s_reconnect(actors__conn_t *c)
{
    c->due = 0;
    /* What was parked, read before the park is dropped (the same thread
     * sent it: it is all there). */
    size_t cap = ACTORS__PARK_FRAMES;
    size_t n = 0;
    zmq_msg_t *fr = actors__zalloc(cap * sizeof *fr);
    bool ok = fr != NULL;
    for (;;) {
        if (!ok) {
            break;
        }
        if (n == cap) {
            zmq_msg_t *grown = actors__realloc(fr, 2 * cap * sizeof *fr);
            if (grown == NULL) {
                ok = false;
                break;
            }
            fr = grown;
            cap *= 2;
        }
        zmq_msg_init(&fr[n]);
        if (zmq_msg_recv(&fr[n], c->park, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&fr[n]);
            break;
        }
        n++;
    }
    zmq_disconnect(c->sock, c->park_ep);
    if (zmq_connect(c->sock, c->endpoint) != 0) {
        ACTORS_LOG(ACTORS_LOG_ERR, "CLI-RECONNECT",
            "endpoint=%s connecting again failed: %s", c->endpoint,
            zmq_strerror(zmq_errno()));
    }
    size_t sent = 0;
    for (; ok && sent < n; sent++) {
        int more = zmq_msg_more(&fr[sent]) ? ZMQ_SNDMORE : 0;
        if (zmq_msg_send(&fr[sent], c->sock, ZMQ_DONTWAIT | more) < 0) {
            break;
        }
    }
    if (sent < n || !ok) {
        ACTORS_LOG(ACTORS_LOG_WARN, "CLI-PARK-LOST",
            "endpoint=%s frames=%zu messages sent while refused were lost",
            c->endpoint, n - sent);
    }
    if (fr != NULL) {
        for (size_t i = sent; i < n; i++) {
            zmq_msg_close(&fr[i]);
        }
        actors__free(fr);
    }
}

void
actors__conn_due(actors__conn_t *c, int64_t now)
{
    if (c->due != 0 && now >= c->due) {
        s_reconnect(c);
    }
}

int
actors__conn_wait_ms(const actors__conn_t *c, int64_t now)
{
    if (c->due == 0) {
        return -1;
    }
    int64_t left = c->due - now;
    return left <= 0 ? 0 : left > INT32_MAX ? INT32_MAX : (int)left;
}

/* The start of a ZMTP 3.0 greeting (RFC 23): signature (0xFF, 8 bytes of
 * padding, 0x7F) and major version. A libzmq peer answers it with the
 * rest of its own greeting: minor version, then its mechanism, 20 bytes
 * NUL-padded, at offset 12. */
static const uint8_t s_greeting[11] = {0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 3};

bool
actors__conn_broker_curve(const actors__conn_t *c, int timeout_ms)
{
    void *s = zmq_socket(c->ctx, ZMQ_STREAM);
    if (s == NULL) {
        return false;
    }
    int zero = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(s, ZMQ_CONNECT_ROUTING_ID, "probe", 5);
    uint8_t got[32];
    size_t n = 0;
    bool sent = false;
    int64_t end = actors__now_ms() + timeout_ms;
    if (zmq_connect(s, c->endpoint) != 0) {
        zmq_close(s);
        return false;
    }
    while (n < sizeof got) {
        int64_t left = end - actors__now_ms();
        zmq_pollitem_t it = {s, 0, ZMQ_POLLIN, 0};
        if (left <= 0 || zmq_poll(&it, 1, (long)left) <= 0) {
            break;
        }
        /* [routing id][data]; empty data: connected, or closed once we
         * have sent. */
        zmq_msg_t id;
        zmq_msg_t data;
        zmq_msg_init(&id);
        zmq_msg_init(&data);
        bool ok = zmq_msg_recv(&id, s, 0) >= 0 && zmq_msg_more(&id) &&
                  zmq_msg_recv(&data, s, 0) >= 0;
        size_t len = ok ? zmq_msg_size(&data) : 0;
        if (ok && len > 0) {
            size_t take = len < sizeof got - n ? len : sizeof got - n;
            memcpy(got + n, zmq_msg_data(&data), take);
            n += take;
        }
        zmq_msg_close(&data);
        if (ok && len == 0 && !sent) {
            /* Connected: send our greeting's start to its routing id. */
            sent = zmq_msg_send(&id, s, ZMQ_SNDMORE) >= 0 &&
                   zmq_send(s, s_greeting, sizeof s_greeting, 0) >= 0;
            ok = sent;
        } else if (ok && len == 0) {
            ok = false; /* it closed */
        }
        zmq_msg_close(&id);
        if (!ok) {
            break;
        }
    }
    zmq_close(s);
    return n == sizeof got && got[0] == 0xff && got[9] == 0x7f &&
           memcmp(got + 12, "CURVE", 6) == 0;
}
