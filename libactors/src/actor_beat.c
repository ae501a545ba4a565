/* libactors/src/actor_beat.c - an actor's liveness thread (actor_beat.h).
 * SPDX-License-Identifier: MIT */
#include "actor_beat.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include <zmq.h>

#include "alloc.h"
#include "wire.h"

struct actors__beat {
    pthread_t thread;                 /* the beat thread */
    pthread_mutex_t lock;             /* guards everything below */
    pthread_cond_t wake;              /* signalled on stop and on a new peer */
    bool stop;                        /* the thread must end */
    bool changed;                     /* a new peer: beat at once */
    uint8_t peer[ACTORS_WIRE_ID_MAX]; /* routing id to name */
    size_t peer_len;                  /* 0: send nothing */
    uint32_t interval_ms;             /* between heartbeats */
    void *ctx;                        /* borrowed zmq context */
    char endpoint[256];               /* the broker */
};

/* s_deadline is now (CLOCK_MONOTONIC) plus ms. */
static struct timespec
s_deadline(uint32_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

static void *
s_run(void *arg)
{
    actors__beat_t *self = arg;
    void *sock = zmq_socket(self->ctx, ZMQ_DEALER);
    if (sock != NULL) {
        int zero = 0;
        int hwm = 4; /* a broker that is away gets no backlog */
        zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero);
        zmq_setsockopt(sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
        if (zmq_connect(sock, self->endpoint) != 0) {
            zmq_close(sock);
            sock = NULL;
        }
    }
    uint8_t hdr[ACTORS_WIRE_HDR_MIN];
    size_t hlen = actors__hdr_write(hdr, ACTORS_CMD_HEARTBEAT, 0, NULL, 0);
    uint8_t peer[ACTORS_WIRE_ID_MAX];
    pthread_mutex_lock(&self->lock);
    while (!self->stop) {
        size_t len = self->peer_len;
        memcpy(peer, self->peer, len);
        uint32_t ms = self->interval_ms;
        pthread_mutex_unlock(&self->lock);
        if (sock != NULL && len > 0) {
            /* Dropped when the pipe is full or the broker is away. */
            if (zmq_send(sock, hdr, hlen, ZMQ_SNDMORE | ZMQ_DONTWAIT) ==
                (int)hlen) {
                zmq_send(sock, peer, len, ZMQ_DONTWAIT);
            }
        }
        struct timespec until = s_deadline(ms);
        pthread_mutex_lock(&self->lock);
        while (!self->stop && !self->changed &&
               pthread_cond_timedwait(&self->wake, &self->lock, &until) !=
                   ETIMEDOUT) {
        }
        self->changed = false;
    }
    pthread_mutex_unlock(&self->lock);
    if (sock != NULL) {
        zmq_close(sock);
    }
    return NULL;
}

actors_err
actors__beat_start(actors__beat_t **out, void *ctx, const char *endpoint)
{
    assert(out && ctx && endpoint);
    *out = NULL;
    if (strlen(endpoint) >= sizeof((actors__beat_t *)0)->endpoint) {
        return ACTORS_EINVAL;
    }
    actors__beat_t *self = actors__zalloc(sizeof *self);
    if (self == NULL) {
        return ACTORS_ENOMEM;
    }
    self->ctx = ctx;
    self->interval_ms = 1000;
    strcpy(self->endpoint, endpoint);
    pthread_condattr_t ca;
    bool ok = pthread_mutex_init(&self->lock, NULL) == 0;
    if (ok && pthread_condattr_init(&ca) == 0) {
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        ok = pthread_cond_init(&self->wake, &ca) == 0;
        pthread_condattr_destroy(&ca);
        if (ok && pthread_create(&self->thread, NULL, s_run, self) != 0) {
            pthread_cond_destroy(&self->wake);
            ok = false;
        }
        if (!ok) {
            pthread_mutex_destroy(&self->lock);
        }
    } else if (ok) {
        pthread_mutex_destroy(&self->lock);
        ok = false;
    }
    if (!ok) {
        actors__free(self);
        return ACTORS_EIO;
    }
    *out = self;
    return ACTORS_OK;
}

void
actors__beat_set_peer(
    actors__beat_t *self, const void *peer, size_t len, uint32_t interval_ms)
{
    assert(self);
    assert(len <= ACTORS_WIRE_ID_MAX);
    assert(interval_ms > 0);
    pthread_mutex_lock(&self->lock);
    memcpy(self->peer, peer, len);
    self->peer_len = len;
    self->interval_ms = interval_ms;
    self->changed = true;
    pthread_cond_signal(&self->wake);
    pthread_mutex_unlock(&self->lock);
}

void
actors__beat_stop(actors__beat_t **self_p)
{
    assert(self_p);
    actors__beat_t *self = *self_p;
    if (self == NULL) {
        return;
    }
    *self_p = NULL;
    pthread_mutex_lock(&self->lock);
    self->stop = true;
    pthread_cond_signal(&self->wake);
    pthread_mutex_unlock(&self->lock);
    pthread_join(self->thread, NULL);
    pthread_cond_destroy(&self->wake);
    pthread_mutex_destroy(&self->lock);
    actors__free(self);
}
