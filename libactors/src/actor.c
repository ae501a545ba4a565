/* libactors/src/actor.c - the actor runtime: register, loop, dispatch.
 * SPDX-License-Identifier: MIT
 *
 * One actor is one event loop on the calling thread, around one client
 * (client.c) whose DEALER socket is the actor's connection to the broker.
 * The client resolves the actor's own calls (futures, callbacks); every
 * other message reaches s_hook, which only queues: CALL and TELL become
 * items of a FIFO, the REGISTER answer updates state. The loop alone
 * handles queued items, one at a time, in arrival order. So a method
 * blocked in actors_future_get (which pumps the client) never sees another
 * method run inside it: messages that arrive meanwhile wait in the queue.
 *
 * The loop, per turn: handle the queue (running due timers between items,
 * and a CREDIT every prefetch/2 tells), read what has arrived meanwhile
 * and, only if nothing has, send the CREDIT for the rest and poll the
 * socket's ZMQ_FD, the client's connection monitor and a signalfd (SIGTERM
 * and SIGINT are blocked and read from it) until the next timer or client
 * deadline, for ever when there is none (s_wait): an idle actor does not
 * wake up.
 *
 * Liveness is the connection's: the client's socket has ZMTP heartbeats
 * on, which libzmq's I/O thread answers even while a method runs, so the
 * broker keeps the actor while the process lives, and drops the
 * connection of a process stopped or hung as a whole. Either side may
 * drop it (a silent broker times out here too); libzmq then reconnects by
 * itself, the broker sees a new peer, and the monitor's news of a new
 * connection (actors__client_reconnected) makes the actor register again.
 * Items and deferred replies of the old session are dropped, as the broker
 * has already answered their callers.
 *
 * Replies are encoded into a reused builder and become one zmq frame:
 * copied when small, so the builder keeps its buffer for the next reply;
 * from ACTORS__MSG_STEAL_MIN bytes on the buffer itself is handed to
 * libzmq (zmq_msg_init_data), saving a copy of the whole result, and comes
 * back to the builder once libzmq has sent it (msg.c). Queue items are
 * recycled through a free list, arguments are decoded into one msgpack
 * zone cleared after each call. A deferred reply costs one small
 * allocation.
 *
 * Invariants: every CALL dispatched to this actor in the current session
 * gets exactly one REPLY or ERROR (deferred ones when the service completes
 * them); every TELL is counted in exactly one CREDIT.
 */
#define _GNU_SOURCE
#include <actors/actor.h>

#include <assert.h>
#include <pthread.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <poll.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include <actors/log.h>

#include "actor_internal.h"
#include <actors/loop.h>
#include <actors-internal/unpack.h>
#include <actors-internal/alloc.h>
#include "client_internal.h"
#include "msg_internal.h"

#define S_STR(x) #x
#define S_XSTR(x) S_STR(x) /* a macro's value as a string literal */
#define S_BAD_ARGS_TEXT                                                        \
    "the arguments frame is not valid msgpack, or nests containers deeper "    \
    "than " S_XSTR(ACTORS__UNPACK_MAX_DEPTH) " levels"

#define PREFETCH_DEFAULT 4096  /* opts->prefetch 0 */
#define HEARTBEAT_DEFAULT 1000 /* ms, until the broker tells its own */
#define LIVENESS_DEFAULT 3     /* heartbeats, idem */
#define REGISTER_RETRY_MS 3000 /* no answer to REGISTER: send it again */
#define TAKEN_GRACE_MS 1000    /* NameTaken may be a predecessor's ... */
#define TAKEN_RETRY_MS 50      /* ... that just died: retry this often */
#define CLAIM_AHEAD 31         /* messages claimed beyond the one started */
#define EXIT_LINGER_MS 2000    /* time given to last replies at exit */
#define ITEMS_KEPT 256         /* free list bound */
#define READ_BATCH 64          /* messages queued per read of the socket */
#define SIGNAL_CHECK_TURNS 64  /* busy loop turns between signalfd reads */

/* ---------------------------------------------------------------- helpers */

static uint64_t
s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* s_send_frames sends a header (cmd, id) followed by the nbodies frames of
 * bodies (at most 2), which it takes: they are sent or closed, whatever
 * the outcome. Returns ACTORS_OK, ACTORS_ENOMEM or ACTORS_EIO. */
static actors_err
s_send_frames(actors_actor_t *self, uint8_t cmd, const void *id, size_t id_len,
    zmq_msg_t *bodies, int nbodies)
{
    assert(nbodies >= 0 && nbodies <= 2);
    zmq_msg_t frames[3];
    actors_err rc = ACTORS_OK;
    if (zmq_msg_init_size(&frames[0], ACTORS_WIRE_HDR_MIN + id_len) != 0) {
        rc = ACTORS_ENOMEM;
        zmq_msg_init(&frames[0]);
    } else {
        actors__hdr_write(zmq_msg_data(&frames[0]), cmd, 0, id, id_len);
    }
    for (int i = 0; i < nbodies; i++) {
        zmq_msg_init(&frames[1 + i]);
        zmq_msg_move(&frames[1 + i], &bodies[i]);
    }
    if (rc == ACTORS_OK) {
        rc = actors__client_send_frames(self->client, frames, 1 + nbodies);
    }
    /* Sent frames are empty already; the rest (and a body given away to
     * libzmq by actors__msg_frame) are released here. */
    for (int i = 0; i < 1 + nbodies; i++) {
        zmq_msg_close(&frames[i]);
    }
    return rc;
}

/* s_send sends a header followed by nbodies (0 to 2) body frames, copied
 * from b1 (n1 bytes) and b2 (n2 bytes). */
static actors_err
s_send(actors_actor_t *self, uint8_t cmd, const void *id, size_t id_len,
    const void *b1, size_t n1, const void *b2, size_t n2, int nbodies)
{
    zmq_msg_t bodies[2];
    const void *src[2] = {b1, b2};
    size_t len[2] = {n1, n2};
    for (int i = 0; i < nbodies; i++) {
        if (zmq_msg_init_size(&bodies[i], len[i]) != 0) {
            for (int j = 0; j < i; j++) {
                zmq_msg_close(&bodies[j]);
            }
            return ACTORS_ENOMEM;
        }
        if (len[i] > 0) {
            memcpy(zmq_msg_data(&bodies[i]), src[i], len[i]);
        }
    }
    return s_send_frames(self, cmd, id, id_len, bodies, nbodies);
}

/* s_send_msg sends a header and the values of body as one frame: copied
 * when small, the builder's buffer handed to libzmq when large (then body
 * is left empty; see actors__msg_frame). */
static actors_err
s_send_msg(actors_actor_t *self, uint8_t cmd, const void *id, size_t id_len,
    actors_msg_t *body)
{
    zmq_msg_t frame;
    actors_err rc = actors__msg_frame(body, false, &frame);
    if (rc != ACTORS_OK) {
        return rc;
    }
    return s_send_frames(self, cmd, id, id_len, &frame, 1);
}

actors_err
actors__actor_send_error(actors_actor_t *self, const void *id, size_t id_len,
    actors_err code, const char *type, const char *message, const char *address)
{
    actors_msg_reset(self->body);
    actors_err rc = actors__error_body(
        self->body, code, type, message, address ? address : self->address);
    if (rc != ACTORS_OK) {
        return rc;
    }
    return s_send_msg(self, ACTORS_CMD_ERROR, id, id_len, self->body);
}

/* s_too_big: a result of len bytes is more than the broker takes. */
static bool
s_too_big(const actors_actor_t *self, size_t len)
{
    return self->max_message > 0 && len > self->max_message;
}

/* s_send_too_big answers request id with TooLarge for a result of len
 * bytes. */
static actors_err
s_send_too_big(actors_actor_t *self, const void *id, size_t id_len, size_t len)
{
    char text[128];
    snprintf(text, sizeof text,
        "the result of %zu bytes exceeds the limit of %u bytes", len,
        self->max_message);
    return actors__actor_send_error(
        self, id, id_len, ACTORS_ETOOBIG, NULL, text, NULL);
}

actors_err
actors__actor_send_reply(actors_actor_t *self, const void *id, size_t id_len,
    const void *data, size_t len)
{
    static const uint8_t nil = 0xc0;
    if (data == NULL || len == 0) {
        data = &nil;
        len = 1;
    }
    if (s_too_big(self, len)) {
        return s_send_too_big(self, id, id_len, len);
    }
    return s_send(self, ACTORS_CMD_REPLY, id, id_len, data, len, NULL, 0, 1);
}

actors_err
actors__actor_send_reply_msg(
    actors_actor_t *self, const void *id, size_t id_len, actors_msg_t *value)
{
    if (value == NULL || actors_msg_size(value) == 0) {
        return actors__actor_send_reply(self, id, id_len, NULL, 0);
    }
    if (s_too_big(self, actors_msg_size(value))) {
        return s_send_too_big(self, id, id_len, actors_msg_size(value));
    }
    return s_send_msg(self, ACTORS_CMD_REPLY, id, id_len, value);
}

/* s_informed notes that the broker now knows message seq was taken up. */
static void
s_informed(actors_actor_t *self, uint32_t seq)
{
    if ((int32_t)(seq - self->informed) > 0) {
        self->informed = seq;
    }
}

/* s_claim tells the broker, before message it is taken up, which
 * messages may have run should this process die: it, and the next few
 * already queued (one CREDIT for a batch). The broker re-delivers the
 * messages after them to the restarted actor instead of failing them.
 * Needed only when the broker cannot infer it: an earlier message has
 * neither its reply nor its credit sent (a tell, a deferred reply). */
static void
s_claim(actors_actor_t *self, const actors__item_t *it)
{
    if ((int32_t)(it->seq - self->informed) <= 1) {
        return;
    }
    uint32_t upto = it->seq + CLAIM_AHEAD;
    if (self->tail != NULL && (int32_t)(self->tail->seq - upto) < 0) {
        upto = self->tail->seq;
    }
    if ((int32_t)(upto - it->seq) < 0) {
        upto = it->seq;
    }
    uint8_t body[8];
    actors__put_be32(body, self->credit);
    actors__put_be32(body + 4, upto);
    if (s_send(self, ACTORS_CMD_CREDIT, NULL, 0, body, 8, NULL, 0, 1) ==
        ACTORS_OK) {
        self->credit = 0;
        self->informed = upto;
    }
}

static void
s_send_credit(actors_actor_t *self)
{
    if (self->credit == 0) {
        return;
    }
    uint8_t count[4];
    actors__put_be32(count, self->credit);
    if (s_send(self, ACTORS_CMD_CREDIT, NULL, 0, count, 4, NULL, 0, 1) ==
        ACTORS_OK) {
        self->credit = 0;
        s_informed(self, self->tell_done);
    }
}

/* ---------------------------------------------------------------- queue */

static actors__item_t *
s_item_new(actors_actor_t *self)
{
    actors__item_t *it = self->spare;
    if (it != NULL) {
        self->spare = it->next;
        self->nspare--;
    } else {
        it = actors__malloc(sizeof *it);
        if (it == NULL) {
            return NULL;
        }
    }
    it->next = NULL;
    it->event = false;
    it->event_fn = NULL;
    zmq_msg_init(&it->args);
    zmq_msg_init(&it->key);
    return it;
}

static void
s_item_free(actors_actor_t *self, actors__item_t *it)
{
    zmq_msg_close(&it->args);
    zmq_msg_close(&it->key);
    if (self->nspare < ITEMS_KEPT) {
        it->next = self->spare;
        self->spare = it;
        self->nspare++;
    } else {
        actors__free(it);
    }
}

static void
s_queue_clear(actors_actor_t *self)
{
    while (self->head != NULL) {
        actors__item_t *it = self->head;
        self->head = it->next;
        s_item_free(self, it);
    }
    self->tail = NULL;
}

/* ---------------------------------------------------------------- hook */

/* s_on_register reads the broker's answer to our REGISTER. */
static void
s_on_register(actors_actor_t *self, const actors__hdr_t *hdr, zmq_msg_t *frames,
    int nframes)
{
    if (hdr->cmd == ACTORS_CMD_ERROR) {
        actors_error_t *err = NULL;
        self->reg_err = ACTORS_EIO;
        if (nframes >= 2 && actors__error_parse(zmq_msg_data(&frames[1]),
                                zmq_msg_size(&frames[1]), &err) == ACTORS_OK) {
            self->reg_err = actors_error_code(err);
            /* A NameTaken is retried for a while (s_register): the first
             * refusal says so, the repeats are not news. */
            bool again =
                self->reg_err == ACTORS_ETAKEN && self->reg_fails++ > 0;
            ACTORS_LOG(again ? ACTORS_LOG_DEBUG : ACTORS_LOG_WARN,
                "ACT-REG-FAIL", "address=%s type=%s %s", self->address,
                actors_error_type(err), actors_error_message(err));
            actors_error_destroy(&err);
        }
        self->reg = REG_FAILED;
        return;
    }
    if (nframes >= 2) {
        msgpack_unpacked up;
        msgpack_unpacked_init(&up);
        size_t off = 0;
        if (actors__unpack_next(&up, zmq_msg_data(&frames[1]),
                zmq_msg_size(&frames[1]), &off) == MSGPACK_UNPACK_SUCCESS) {
            int64_t v = 0;
            if (actors_value_int(actors_map_get(&up.data, "heartbeat_ms"),
                    &v) == ACTORS_OK &&
                v > 0 && v <= 3600000) {
                self->heartbeat_ms = (uint32_t)v;
            }
            if (actors_value_int(actors_map_get(&up.data, "liveness"), &v) ==
                    ACTORS_OK &&
                v > 0 && v <= 1000) {
                self->liveness = (uint32_t)v;
            }
            if (actors_value_int(actors_map_get(&up.data, "max_message"), &v) ==
                    ACTORS_OK &&
                v > 0 && v <= UINT32_MAX) {
                self->max_message = (uint32_t)v;
            }
            if (actors_value_int(actors_map_get(&up.data, "seq"), &v) ==
                    ACTORS_OK &&
                v >= 0 && v <= UINT32_MAX) {
                self->seq_recv = (uint32_t)v;
                self->informed = (uint32_t)v;
                self->tell_done = (uint32_t)v;
            }
        }
        msgpack_unpacked_destroy(&up);
    }
    self->reg = REG_OK;
    self->reg_fails = 0;
    actors__events_subscribe_all(self);
}

/* s_hook gets every message that is not a reply to one of our own calls.
 * It may run inside a method (through a future wait), so it only queues
 * and records; it never runs a method. */
static void
s_hook(void *arg, const actors__hdr_t *hdr, zmq_msg_t *frames, int nframes)
{
    actors_actor_t *self = arg;
    assert(self->tag == ACTOR_TAG);
    switch (hdr->cmd) {
    case ACTORS_CMD_CALL:
    case ACTORS_CMD_TELL:
    case ACTORS_CMD_PUBLICATION: {
        /* Every CALL and TELL the broker dispatched on this connection has
         * the next sequence number, malformed or not (route.c). */
        uint32_t seq = ++self->seq_recv;
        if ((nframes != 2 && nframes != 3) || hdr->address == NULL) {
            /* Keep the credit right even for a malformed dispatch. */
            if (hdr->cmd == ACTORS_CMD_CALL) {
                actors__actor_send_error(self, hdr->id, hdr->id_len,
                    ACTORS_EBADREQ, NULL,
                    "CALL needs names in its header and an args frame", NULL);
            } else {
                self->credit++;
                self->tell_done = seq;
            }
            return;
        }
        actors__item_t *it = s_item_new(self);
        if (it == NULL) {
            if (hdr->cmd == ACTORS_CMD_CALL) {
                actors__actor_send_error(self, hdr->id, hdr->id_len,
                    ACTORS_ENOMEM, NULL, NULL, NULL);
            } else {
                self->credit++;
                self->tell_done = seq;
            }
            return;
        }
        it->seq = seq;
        it->cmd = hdr->cmd;
        it->deadline = hdr->cmd == ACTORS_CMD_CALL && hdr->timeout_ms > 0
                           ? actors__now_ms() + hdr->timeout_ms
                           : 0;
        it->id_len = (uint8_t)hdr->id_len;
        memcpy(it->id, hdr->id, hdr->id_len);
        memcpy(it->address, hdr->address, hdr->address_len);
        it->address[hdr->address_len] = '\0';
        memcpy(it->method, hdr->method, hdr->method_len);
        it->method[hdr->method_len] = '\0';
        it->method_len = (uint8_t)hdr->method_len;
        zmq_msg_move(&it->args, &frames[1]);
        if (nframes == 3) {
            zmq_msg_move(&it->key, &frames[2]);
        }
        if (hdr->cmd == ACTORS_CMD_PUBLICATION) {
            actors__events_item(self, it, hdr); /* a tell to the broker */
        }
        if (self->tail != NULL) {
            self->tail->next = it;
        } else {
            self->head = it;
        }
        self->tail = it;
        break;
    }
    case ACTORS_CMD_REPLY:
    case ACTORS_CMD_ERROR:
        if (self->reg == REG_PENDING && hdr->id_len == self->reg_id_len &&
            memcmp(hdr->id, self->reg_id, hdr->id_len) == 0) {
            s_on_register(self, hdr, frames, nframes);
        }
        break;
    default:
        break; /* HEARTBEAT (from an older broker): nothing to do */
    }
}

/* ---------------------------------------------------------------- actor API */

actors_client_t *
actors_actor_client(actors_actor_t *actor)
{
    assert(actor);
    assert(actor->tag == ACTOR_TAG);
    if (!actors_actor_on_loop(actor)) {
        return NULL; /* the client is the loop's (actors/loop.h) */
    }
    return actor->client;
}

const char *
actors_actor_address(const actors_actor_t *actor)
{
    assert(actor);
    assert(actor->tag == ACTOR_TAG);
    return actor->address;
}

void *
actors_actor_state(const actors_actor_t *actor)
{
    assert(actor);
    assert(actor->tag == ACTOR_TAG);
    return actor->state;
}

actors_err
actors_actor_timer_add(actors_actor_t *actor, uint32_t interval_ms, bool repeat,
    actors_timer_fn fn, void *arg, int *id)
{
    assert(actor);
    assert(actor->tag == ACTOR_TAG);
    if (!actors_actor_on_loop(actor)) {
        return ACTORS_EINVAL; /* the timers are the loop's: post to it */
    }
    return actors__timers_add(
        &actor->timers, s_now(), interval_ms, repeat, fn, arg, id);
}

actors_err
actors_actor_timer_cancel(actors_actor_t *actor, int id)
{
    assert(actor);
    assert(actor->tag == ACTOR_TAG);
    if (!actors_actor_on_loop(actor)) {
        return ACTORS_EINVAL;
    }
    return actors__timers_cancel(&actor->timers, id);
}

/* s_exit_posted is actors_actor_exit asked on a worker thread. */
static void
s_exit_posted(actors_actor_t *actor, void *arg)
{
    actors_actor_exit(actor, (int)(intptr_t)arg);
}

void
actors_actor_exit(actors_actor_t *actor, int code)
{
    assert(actor);
    assert(actor->tag == ACTOR_TAG);
    if (!actors_actor_on_loop(actor)) {
        if (actors_actor_post(actor, s_exit_posted, (void *)(intptr_t)code) !=
            ACTORS_OK) {
            ACTORS_LOG(ACTORS_LOG_ERR, "ACT-EXIT",
                "address=%s actors_actor_exit from a worker was lost",
                actor->address);
        }
        return;
    }
    if (!actor->exiting) {
        actor->exiting = true;
        actor->exit_code = code;
    }
}

/* ---------------------------------------------------------------- dispatch */

static const actors_method_t *
s_find_method(const actors_service_t *service, const void *name, size_t len)
{
    for (const actors_method_t *m = service->methods; m && m->name; m++) {
        if (strlen(m->name) == len && memcmp(m->name, name, len) == 0) {
            return m;
        }
    }
    return NULL;
}

/* s_reject answers a message that never reached a method. */
static void
s_reject(actors_actor_t *self, const actors__item_t *it, actors_err code,
    const char *message)
{
    if (it->cmd == ACTORS_CMD_CALL) {
        actors__actor_send_error(
            self, it->id, it->id_len, code, NULL, message, NULL);
    } else {
        actors__actor_tell_error(self, NULL, actors_err_name(code), message);
    }
}

#define ACTORS__TELL_ERRS_LOGGED 10 /* lines a second, then counted */

void
actors__actor_tell_error(actors_actor_t *self, const char *method,
    const char *type, const char *message)
{
    /* The loop and the worker threads (max_concurrency) count in the
     * same second; errors are rare, so one lock for the process. */
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    uint64_t now = s_now();
    pthread_mutex_lock(&lock);
    if (now - self->tell_err_ms >= 1000) {
        self->tell_err_ms = now;
        self->tell_errs = 0;
    }
    if (++self->tell_errs > ACTORS__TELL_ERRS_LOGGED) {
        self->tell_errs_quiet++;
        pthread_mutex_unlock(&lock);
        return;
    }
    char more[64] = "";
    if (self->tell_errs_quiet > 0) {
        snprintf(more, sizeof more, " (and %llu more not logged)",
            (unsigned long long)self->tell_errs_quiet);
        self->tell_errs_quiet = 0;
    }
    pthread_mutex_unlock(&lock);
    ACTORS_LOG(ACTORS_LOG_WARN, "ACT-TELL-ERROR", "address=%s%s%s type=%s %s%s",
        self->address, method != NULL ? " method=" : "",
        method != NULL ? method : "", type, message, more);
}

static void
s_handle(actors_actor_t *self, actors__item_t *it)
{
    if (it->event) {
        actors__events_handle(self, it);
        msgpack_zone_clear(self->zone);
        self->credit++;
        self->tell_done = it->seq;
        return;
    }
    char text[ACTORS_WIRE_NAME_MAX + 64];
    msgpack_object args;
    size_t off = 0;
    /* Walk the headers first: msgpack-c would allocate whatever a
     * container header announces (unpack.h). */
    msgpack_unpack_return ur =
        actors__unpack_check(zmq_msg_data(&it->args), zmq_msg_size(&it->args),
            &off) == MSGPACK_UNPACK_SUCCESS
            ? MSGPACK_UNPACK_SUCCESS
            : MSGPACK_UNPACK_PARSE_ERROR;
    off = 0;
    if (ur == MSGPACK_UNPACK_SUCCESS) {
        ur = msgpack_unpack(zmq_msg_data(&it->args), zmq_msg_size(&it->args),
            &off, self->zone, &args);
    }
    const actors_method_t *m = NULL;
    if (ur != MSGPACK_UNPACK_SUCCESS) {
        s_reject(self, it,
            ur == MSGPACK_UNPACK_NOMEM_ERROR ? ACTORS_ENOMEM : ACTORS_EMSGPACK,
            ur == MSGPACK_UNPACK_EXTRA_BYTES
                ? "the arguments frame holds more than one msgpack value"
                : S_BAD_ARGS_TEXT);
    } else if (args.type != MSGPACK_OBJECT_ARRAY) {
        s_reject(
            self, it, ACTORS_EARGS, "the arguments must be a msgpack array");
    } else if ((m = s_find_method(self->service, it->method, it->method_len)) ==
               NULL) {
        snprintf(text, sizeof text, "%s has no method '%s'",
            self->service->name, it->method);
        s_reject(self, it, ACTORS_ENOMETHOD, text);
    } else if (actors__ctx_run(self, it, m, &args)) {
        s_informed(self, it->seq); /* its reply tells the broker */
    }
    if (m == NULL && it->cmd == ACTORS_CMD_CALL) {
        s_informed(self, it->seq); /* rejected: the error was sent */
    }
    msgpack_zone_clear(self->zone);
    if (it->cmd == ACTORS_CMD_TELL) {
        self->credit++;
        self->tell_done = it->seq;
    }
}

/* ---------------------------------------------------------------- loop */

/* s_run_timers_at runs the timers due at now (the caller's clock). */
static void
s_run_timers_at(actors_actor_t *self, uint64_t now)
{
    if (actors__timers_next(&self->timers) > now) {
        return;
    }
    uint64_t before = actors__timers_seq(&self->timers);
    actors__timer_t t;
    while (
        !self->exiting && actors__timers_pop(&self->timers, now, before, &t)) {
        t.fn(self, t.arg);
    }
}

static void
s_run_timers(actors_actor_t *self)
{
    s_run_timers_at(self, s_now());
}

/* s_drain handles the queue; timers are not starved. */
static void
s_drain(actors_actor_t *self)
{
    while (self->head != NULL && !self->exiting && !self->stopping) {
        actors__item_t *it = self->head;
        self->head = it->next;
        if (self->head == NULL) {
            self->tail = NULL;
        }
        if (self->loop.threads != NULL) {
            /* max_concurrency: its group's workers run it (actor_threads.c);
             * an unknown method is rejected below as always. */
            const actors_method_t *m =
                s_find_method(self->service, it->method, it->method_len);
            if (m != NULL) {
                actors__threads_take(self, it, m);
                continue;
            }
        }
        s_claim(self, it);
        s_handle(self, it);
        s_item_free(self, it);
        if (self->credit >= self->credit_batch) {
            s_send_credit(self);
        }
        if (actors__timers_count(&self->timers) > 0) {
            s_run_timers_at(self, s_now()); /* no clock read without */
        }
    }
}

/* s_read_signals drains the signalfd; any SIGTERM/SIGINT means stop. */
static void
s_read_signals(actors_actor_t *self)
{
    struct signalfd_siginfo si;
    while (read(self->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
        ACTORS_LOG(ACTORS_LOG_NOTICE, "ACT-SIGNAL",
            "address=%s signal=%u stopping", self->address, si.ssi_signo);
        self->stopping = true;
    }
}

/* s_check_conn reads the client's connection news: a new connection (the
 * old one dropped, libzmq reconnected) means the broker must hear REGISTER
 * again (self->reconnected). */
static void
s_check_conn(actors_actor_t *self)
{
    if (actors__client_reconnected(self->client)) {
        self->reconnected = true;
    }
}

/* s_wait reads what has arrived and, only if nothing has, waits up to
 * timeout_ms (-1: no limit) for the socket, the connection monitor or the
 * signal fd. Messages that are already queued are read without a poll: a
 * poll (zmq_poll is a poll() system call and a ZMQ_EVENTS check per pass)
 * is paid only when the loop is about to block. The wait itself polls the
 * socket's ZMQ_FD, which is the documented way once a receive has
 * returned EAGAIN, the monitor's ZMQ_FD and the signalfd. While messages
 * keep coming the signalfd and the monitor are read every
 * SIGNAL_CHECK_TURNS turns. Returns ACTORS_OK or ACTORS_EIO. */
static actors_err
s_wait(actors_actor_t *self, long timeout_ms)
{
    uint64_t seen = actors__client_received(self->client);
    if (actors_client_poll(self->client, 0) == ACTORS_ECLOSED) {
        return ACTORS_EIO;
    }
    if (actors__client_received(self->client) != seen ||
        !actors__client_idle(self->client)) {
        /* Work arrived (or more is waiting): handle it first. */
        if (++self->busy_turns >= SIGNAL_CHECK_TURNS) {
            self->busy_turns = 0;
            s_read_signals(self);
            s_check_conn(self);
            actors__loop_check_fds(&self->loop);
        }
        return ACTORS_OK;
    }
    self->busy_turns = 0;
    if (timeout_ms != 0 && self->credit > 0) {
        /* About to block: the broker gets the credit for the tells done.
         * The send may process libzmq's commands (and so take the wake-up
         * of a message that just came): read once more before blocking. */
        s_send_credit(self);
        if (actors_client_poll(self->client, 0) == ACTORS_ECLOSED) {
            return ACTORS_EIO;
        }
        if (actors__client_received(self->client) != seen ||
            !actors__client_idle(self->client)) {
            return ACTORS_OK;
        }
    }
    /* Connection news that came meanwhile, before the monitor's ZMQ_FD is
     * polled (it signals only after a read found nothing more). */
    s_check_conn(self);
    if (self->reconnected) {
        return ACTORS_OK;
    }
    /* The loop's inbox (actors/loop.h posts) and the service's watched
     * descriptors follow these (actor_loop.c). */
    struct pollfd local[3];
    size_t nfix = self->mon_fd >= 0 ? 3 : 2;
    size_t nall = actors__loop_pollset(&self->loop, nfix);
    struct pollfd *items = nall > nfix ? self->loop.pfds : local;
    items[0] = (struct pollfd){self->zmq_fd, POLLIN, 0};
    items[1] = (struct pollfd){self->sigfd, POLLIN, 0};
    items[2] = (struct pollfd){self->mon_fd, POLLIN, 0};
    int nitems = (int)nfix;
    int n = poll(items, nall > nfix ? (nfds_t)nall : (nfds_t)nfix,
        timeout_ms < 0 ? -1 : (int)timeout_ms);
    if (n > 0 && nall > nfix) {
        actors__loop_polled(&self->loop, nfix, nall);
    }
    if (n < 0) {
        if (errno == EINTR) {
            return ACTORS_OK;
        }
        ACTORS_LOG(ACTORS_LOG_ERR, "ACT-POLL", "address=%s %s", self->address,
            strerror(errno));
        return ACTORS_EIO;
    }
    if (items[1].revents & POLLIN) {
        s_read_signals(self);
    }
    if (nitems == 3 && items[2].revents != 0) {
        s_check_conn(self);
    }
    /* ZMQ_FD readable means commands are pending, not that a message is:
     * the client reads what there is. It also expires its calls' local
     * deadlines when pumped. */
    if (items[0].revents != 0 || actors__client_timeout_ms(self->client) == 0) {
        if (actors_client_poll(self->client, 0) == ACTORS_ECLOSED) {
            return ACTORS_EIO;
        }
    }
    return ACTORS_OK;
}

/* s_send_register sends REGISTER with a new request id (none while the
 * client waits to connect again). */
static actors_err
s_send_register(actors_actor_t *self)
{
    if (actors__client_connecting(self->client)) {
        /* Refused, the client waits to connect again (client_conn.h): a
         * REGISTER now would be parked and sent on the new connection,
         * whose handshake makes the actor register anyway. */
        self->reg = REG_PENDING;
        return ACTORS_OK;
    }
    self->session++;
    self->reg_id_len = (size_t)snprintf(self->reg_id, sizeof self->reg_id,
        "reg-%llu", (unsigned long long)self->session);
    self->reg = REG_PENDING;
    actors_msg_reset(self->body);
    actors_msg_t *m = self->body;
    bool has_claim = self->claim[0] != '\0';
    /* A group member says so, and names its node when its supervisor
     * told it (ACTORS_NODE), for LOOKUP's list of members. */
    const char *node = self->group ? getenv("ACTORS_NODE") : NULL;
    bool has_node = node != NULL && *node != '\0' && strlen(node) < 48;
    actors_err rc = actors_msg_add_map(m,
        5 + (has_claim ? 1 : 0) + (self->group ? 2 : 0) + (has_node ? 1 : 0));
    if (rc == ACTORS_OK && has_claim) {
        rc = actors_msg_add_str(m, "claim");
        if (rc == ACTORS_OK) {
            rc = actors_msg_add_str(m, self->claim);
        }
    }
    if (rc == ACTORS_OK && self->group) {
        rc = actors_msg_add_str(m, "group");
        if (rc == ACTORS_OK) {
            rc = actors_msg_add_bool(m, true);
        }
        if (rc == ACTORS_OK) {
            rc = actors_msg_add_str(m, "max_task_retries");
        }
        if (rc == ACTORS_OK) {
            rc = actors_msg_add_int(m, self->max_task_retries);
        }
    }
    if (rc == ACTORS_OK && has_node) {
        rc = actors_msg_add_str(m, "node");
        if (rc == ACTORS_OK) {
            rc = actors__msg_add_utf8(m, node, strlen(node));
        }
    }
    if (rc == ACTORS_OK) {
        rc = actors_msg_add_str(m, "service");
    }
    if (rc == ACTORS_OK) {
        rc = actors__msg_add_utf8(
            m, self->service->name, strlen(self->service->name));
    }
    if (rc == ACTORS_OK) {
        rc = actors_msg_add_str(m, "pid");
    }
    if (rc == ACTORS_OK) {
        rc = actors_msg_add_int(m, (int64_t)getpid());
    }
    if (rc == ACTORS_OK) {
        rc = actors_msg_add_str(m, "prefetch");
    }
    if (rc == ACTORS_OK) {
        rc = actors_msg_add_uint(m, self->prefetch);
    }
    if (rc == ACTORS_OK) {
        rc = actors_msg_add_str(m, "mailbox");
    }
    if (rc == ACTORS_OK) {
        rc = actors_msg_add_uint(m, self->mailbox);
    }
    if (rc == ACTORS_OK) {
        /* This runtime reports what it takes up (s_claim), so what it
         * never started is re-delivered after a crash. */
        rc = actors_msg_add_str(m, "progress");
    }
    if (rc == ACTORS_OK) {
        rc = actors_msg_add_bool(m, true);
    }
    if (rc == ACTORS_OK) {
        rc = s_send(self, ACTORS_CMD_REGISTER, self->reg_id, self->reg_id_len,
            self->address, strlen(self->address), actors_msg_data(m),
            actors_msg_size(m), 2);
    }
    return rc;
}

/* s_register registers the address, sending REGISTER again while the
 * broker does not answer and at once on a new connection. NameTaken at
 * the very first attempt is final (another live actor has the address);
 * after a new connection it may mean the broker has not yet seen our old
 * connection go, so we try again for a while.
 * Returns ACTORS_OK, ACTORS_ECLOSED if a signal came first, or the
 * broker's error. */
static actors_err
s_register(actors_actor_t *self, bool first)
{
    /* What was dispatched in the old session has been answered by the
     * broker (ActorCrashed); its tags mean nothing to a new session. */
    s_queue_clear(self);
    actors__threads_clear(self);
    self->credit = 0;
    self->seq_recv = 0; /* a new connection: the REGISTER reply says */
    self->informed = 0;
    self->tell_done = 0;
    self->reconnected = false;
    actors_err rc = s_send_register(self);
    if (rc != ACTORS_OK) {
        return rc;
    }
    /* NameTaken may be about our own previous connection until the broker
     * sees it go; after this long it is another live actor's. */
    bool ours_maybe = !first;
    uint64_t give_up = s_now() + REGISTER_RETRY_MS +
                       2 * (uint64_t)self->liveness * self->heartbeat_ms;
    /* Even at the first attempt, NameTaken may come from the previous
     * holder of the address whose process has just died (a restart) but
     * whose connection the broker has not seen close yet: for a short
     * while it is retried, then it is final. */
    uint64_t grace = s_now() + TAKEN_GRACE_MS;
    uint64_t deadline = s_now() + REGISTER_RETRY_MS;
    for (;;) {
        uint64_t now = s_now();
        long wait = deadline > now ? (long)(deadline - now) : 0;
        /* Or until the client connects again after a refusal. */
        int knock = actors__client_timeout_ms(self->client);
        if (knock >= 0 && knock < wait) {
            wait = knock;
        }
        rc = s_wait(self, wait);
        if (rc != ACTORS_OK) {
            return rc;
        }
        actors__loop_run(self);
        now = s_now();
        if (self->reg == REG_OK && !self->stopping && !self->reconnected) {
            ACTORS_LOG(ACTORS_LOG_INFO, "ACT-REGISTERED",
                "address=%s service=%s pid=%ld session=%llu", self->address,
                self->service->name, (long)getpid(),
                (unsigned long long)self->session);
            return ACTORS_OK;
        }
        if (self->stopping) {
            return ACTORS_ECLOSED;
        }
        if (self->reconnected) {
            /* The REGISTER (or its answer) may have gone with the old
             * connection; the new one is a new peer in any case. */
            self->reconnected = false;
            ours_maybe = true;
            self->reg = REG_IDLE;
            deadline = now;
        }
        if (self->reg == REG_FAILED) {
            bool in_grace = now < grace;
            if (self->reg_err != ACTORS_ETAKEN || (!ours_maybe && !in_grace) ||
                now >= give_up) {
                return self->reg_err;
            }
            /* Retry: the broker will notice the old connection is gone
             * (ours after a reconnection: within a heartbeat). */
            self->reg = REG_IDLE;
            deadline = now + (ours_maybe ? self->heartbeat_ms : TAKEN_RETRY_MS);
        }
        if (now >= deadline) {
            if (self->reg == REG_PENDING) {
                /* Refused, the client holds what is sent until it
                 * connects again (client_conn.h): say so. */
                bool held = actors__client_connecting(self->client);
                ACTORS_LOG(ACTORS_LOG_WARN, "ACT-REG-RETRY",
                    "address=%s endpoint=%s no answer to REGISTER; %s",
                    self->address, self->endpoint,
                    held ? "the broker refused the connection: it goes "
                           "again when the client connects again"
                         : "sending it again");
            }
            rc = s_send_register(self);
            if (rc != ACTORS_OK) {
                return rc;
            }
            deadline = now + REGISTER_RETRY_MS;
        }
    }
}

/* s_timeout is the poll timeout of the loop, in ms (-1: none): the next
 * timer or client deadline. */
static long
s_timeout(actors_actor_t *self, uint64_t now)
{
    if (self->head != NULL || self->reconnected ||
        actors__loop_has_posts(&self->loop)) {
        return 0;
    }
    long wait = -1;
    uint64_t t = actors__timers_next(&self->timers);
    if (t != UINT64_MAX) {
        wait = t > now ? (long)(t - now) : 0;
    }
    int c = actors__client_timeout_ms(self->client);
    if (c >= 0 && (wait < 0 || c < wait)) {
        wait = c;
    }
    return wait;
}

static actors_err
s_loop(actors_actor_t *self)
{
    while (!self->stopping && !self->exiting) {
        s_drain(self);
        if (!self->stopping && !self->exiting && self->on_idle != NULL) {
            self->on_idle(self, self->idle_arg);
        }
        if (self->stopping || self->exiting) {
            break;
        }
        actors_err rc = s_wait(self, s_timeout(self, s_now()));
        if (rc != ACTORS_OK) {
            return rc;
        }
        actors__loop_run(self);
        s_run_timers(self);
        if (!self->stopping && !self->exiting && self->reconnected) {
            ACTORS_LOG(ACTORS_LOG_NOTICE, "ACT-RECONNECTED",
                "address=%s endpoint=%s a new connection to the broker; "
                "registering again",
                self->address, self->endpoint);
            rc = s_register(self, false);
            if (rc == ACTORS_ECLOSED) {
                break;
            }
            if (rc != ACTORS_OK) {
                return rc;
            }
        }
    }
    return ACTORS_OK;
}

/* ---------------------------------------------------------------- run */

static void
s_actor_destroy(actors_actor_t **self_p)
{
    actors_actor_t *self = *self_p;
    if (self == NULL) {
        return;
    }
    *self_p = NULL;
    s_queue_clear(self);
    while (self->spare != NULL) {
        actors__item_t *it = self->spare;
        self->spare = it->next;
        actors__free(it);
    }
    actors__deferred_free_all(self);
    actors__loop_fini(&self->loop);
    actors__timers_fini(&self->timers);
    actors__events_fini(self);
    actors__reminders_fini(self);
    if (self->client != NULL) {
        int linger = EXIT_LINGER_MS;
        zmq_setsockopt(self->socket, ZMQ_LINGER, &linger, sizeof linger);
        actors_client_destroy(&self->client);
    }
    if (self->sigfd >= 0) {
        /* A stop signal that came after the loop is consumed here, not
         * delivered (and fatal) when the mask is restored. */
        struct signalfd_siginfo si;
        while (read(self->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
        }
        close(self->sigfd);
    }
    if (self->mask_set) {
        pthread_sigmask(SIG_SETMASK, &self->old_mask, NULL);
    }
    if (self->zone != NULL) {
        msgpack_zone_free(self->zone);
    }
    actors_msg_destroy(&self->result);
    actors_msg_destroy(&self->body);
    actors__free(self->endpoint);
    actors__free(self->address);
    self->tag = DEAD_TAG;
    actors__free(self);
}

static actors_err
s_actor_new(actors_actor_t **out, const actors_service_t *service,
    const actors_actor_opts_t *opts)
{
    actors_actor_t *self = actors__zalloc(sizeof *self);
    if (self == NULL) {
        return ACTORS_ENOMEM;
    }
    self->tag = ACTOR_TAG;
    self->sigfd = -1;
    self->mon_fd = -1;
    self->loop.wake_fd = -1;
    self->service = service;
    self->prefetch = opts->prefetch ? opts->prefetch : PREFETCH_DEFAULT;
    self->mailbox = opts->mailbox;
    self->group = opts->group;
    self->max_task_retries = opts->max_task_retries;
    self->credit_batch = self->prefetch / 2 ? self->prefetch / 2 : 1;
    self->heartbeat_ms = HEARTBEAT_DEFAULT;
    self->liveness = LIVENESS_DEFAULT;
    self->max_message = ACTORS_WIRE_MAX_MESSAGE_DEFAULT;
    self->zone = msgpack_zone_new(MSGPACK_ZONE_CHUNK_SIZE);
    self->endpoint = actors__strdup(actors_endpoint_default(opts->endpoint));
    self->address = actors__strdup(opts->address);
    /* A node that starts the process gives it a secret to show when it
     * registers (PROTOCOL.md, REGISTER): the proof that it is the process
     * the node placed, which nobody who reads LOOKUP can forge. */
    const char *claim = getenv("ACTORS_CLAIM");
    if (claim != NULL && strlen(claim) < sizeof self->claim) {
        memcpy(self->claim, claim, strlen(claim) + 1);
    }
    actors_err rc = ACTORS_OK;
    if (self->zone == NULL || self->endpoint == NULL || self->address == NULL) {
        rc = ACTORS_ENOMEM;
    }
    if (rc == ACTORS_OK) {
        rc = actors_msg_create(&self->result);
    }
    if (rc == ACTORS_OK) {
        rc = actors_msg_create(&self->body);
    }
    if (rc == ACTORS_OK) {
        rc = actors__loop_init(&self->loop);
        if (rc == ACTORS_OK) {
            rc = actors__events_init(self);
        }
    }
    if (rc != ACTORS_OK) {
        s_actor_destroy(&self);
        return rc;
    }
    *out = self;
    return ACTORS_OK;
}

/* s_block_signals routes SIGTERM and SIGINT to a signalfd. */
static actors_err
s_block_signals(actors_actor_t *self)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    if (pthread_sigmask(SIG_BLOCK, &set, &self->old_mask) != 0) {
        return ACTORS_EIO;
    }
    self->mask_set = true;
    self->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (self->sigfd < 0) {
        ACTORS_LOG(ACTORS_LOG_ERR, "ACT-SIGNALFD", "%s", strerror(errno));
        return ACTORS_EIO;
    }
    return ACTORS_OK;
}

/* s_fail records a failed run's error in *result. */
static void
s_fail(actors__run_result_t *result, actors_err rc, const char *type,
    const char *message)
{
    if (result == NULL) {
        return;
    }
    snprintf(result->type, sizeof result->type, "%s",
        type ? type : actors_err_name(rc));
    snprintf(result->message, sizeof result->message, "%s",
        message ? message : actors_strerror(rc));
}

static bool
s_valid(const actors_service_t *service, const actors_actor_opts_t *opts)
{
    if (service == NULL || service->name == NULL || opts == NULL ||
        opts->address == NULL) {
        return false;
    }
    size_t n = strlen(opts->address);
    return n > 0 && n <= ACTORS_WIRE_NAME_MAX;
}

actors_err
actors__actor_run(const actors_service_t *service,
    const actors_actor_opts_t *opts, const msgpack_object *ctor_args,
    actors__run_result_t *result)
{
    static const msgpack_object s_no_args = {
        .type = MSGPACK_OBJECT_ARRAY, .via.array = {0, NULL}};
    if (result != NULL) {
        memset(result, 0, sizeof *result);
    }
    if (!s_valid(service, opts)) {
        s_fail(result, ACTORS_EINVAL, NULL,
            "a service with a name and an address of 1..255 bytes is needed");
        return ACTORS_EINVAL;
    }
    actors_actor_t *self = NULL;
    actors_err rc = s_actor_new(&self, service, opts);
    if (rc == ACTORS_OK) {
        rc = s_block_signals(self);
    }
    if (rc == ACTORS_OK) {
        rc = actors_client_create(&self->client, self->endpoint);
    }
    if (rc != ACTORS_OK) {
        s_fail(result, rc, NULL, NULL);
        s_actor_destroy(&self);
        return rc;
    }
    self->socket = actors__client_socket(self->client);
    size_t fd_len = sizeof self->zmq_fd;
    if (zmq_getsockopt(self->socket, ZMQ_FD, &self->zmq_fd, &fd_len) != 0) {
        s_fail(result, ACTORS_EIO, NULL, NULL);
        s_actor_destroy(&self);
        return ACTORS_EIO;
    }
    if (actors__client_watch(self->client, &self->mon_fd) != ACTORS_OK) {
        /* Not fatal while the first connection lasts; after a lost one
         * the actor would not know to register again. */
        ACTORS_LOG(ACTORS_LOG_WARN, "ACT-MONITOR",
            "address=%s cannot watch the connection: %s", self->address,
            zmq_strerror(zmq_errno()));
        self->mon_fd = -1;
    }
    actors__client_set_hook(self->client, s_hook, self);
    /* Read a few dozen messages, handle them, read again: the items (from
     * the free list) and the frames stay in the cache. Reading all that
     * waits at a deep window (thousands) and handling them after cost the
     * actor a quarter more CPU per call (docs/BENCHMARKS.md, eleventh
     * pass). */
    actors__client_set_drain(self->client, READ_BATCH);

    /* Before init, so that init sees (and may change) the reminders. */
    actors__reminders_restore(self);
    if (service->init != NULL) {
        rc = service->init(
            self, ctor_args ? ctor_args : &s_no_args, &self->state);
        if (rc != ACTORS_OK) {
            if (result != NULL) {
                result->init_failed = true;
            }
            s_fail(result, rc, self->has_err ? self->err_type : NULL,
                self->has_err ? self->err_message : NULL);
            if (self->state != NULL && service->fini != NULL) {
                service->fini(self->state); /* what init had made */
            }
            actors__client_set_hook(self->client, NULL, NULL);
            s_actor_destroy(&self);
            return rc;
        }
    }

    /* From here on a handler may not block on the loop (Deadlock). */
    actors__client_guard(self->client);
    bool threads_ok = true;
    rc = actors__threads_start(self, opts->max_concurrency
                                         ? opts->max_concurrency
                                         : service->max_concurrency);
    if (rc != ACTORS_OK) {
        threads_ok = false;
        s_fail(result, rc, NULL,
            "the service's concurrency (max_concurrency, groups) is invalid "
            "or its worker threads could not start");
    } else {
        rc = s_register(self, true);
    }
    if (!threads_ok) {
        /* reported above; nothing was registered */
    } else if (rc == ACTORS_OK) {
        rc = s_loop(self);
    } else if (rc == ACTORS_ECLOSED) {
        rc = ACTORS_OK; /* a signal during registration: a clean stop */
    } else if (rc == ACTORS_ETAKEN) {
        char text[ACTORS_WIRE_NAME_MAX + 64];
        snprintf(text, sizeof text, "the address %s is held by a live actor",
            self->address);
        s_fail(result, rc, NULL, text);
    } else {
        s_fail(result, rc, NULL, NULL);
    }
    /* Methods still running on workers finish and are answered while the
     * address is ours; then posts are refused and the queued ones run. */
    actors__threads_stop(self);
    actors__loop_close(self);
    /* A REGISTER still unanswered may yet succeed: unregister then too. */
    if (self->reg == REG_OK || self->reg == REG_PENDING) {
        s_send(self, ACTORS_CMD_UNREGISTER, NULL, 0, self->address,
            strlen(self->address), NULL, 0, 1);
        self->reg = REG_IDLE;
    }
    ACTORS_LOG(ACTORS_LOG_INFO, "ACT-STOP", "address=%s exit=%d rc=%s",
        self->address, self->exit_code, actors_err_name(rc));
    if (service->fini != NULL) {
        service->fini(self->state);
    }
    self->state = NULL;
    if (result != NULL) {
        result->exit_code = self->exit_code;
    }
    actors__client_set_hook(self->client, NULL, NULL);
    s_actor_destroy(&self);
    return rc;
}

actors_err
actors_actor_run(const actors_service_t *service,
    const actors_actor_opts_t *opts, const msgpack_object *ctor_args)
{
    return actors__actor_run(service, opts, ctor_args, NULL);
}

/* ---------------------------------------------------------------- for the
 * loop's helpers (actor_internal.h) */

/* On a worker the claim names the message itself, not the ones queued
 * after it: those may wait long for room in their group, and a claim ahead
 * would turn their ActorDead (never started, re-deliverable) into
 * ActorCrashed should the process die meanwhile. */
void
actors__actor_claim(actors_actor_t *self, const actors__item_t *it)
{
    if ((int32_t)(it->seq - self->informed) <= 1) {
        return;
    }
    uint8_t body[8];
    actors__put_be32(body, self->credit);
    actors__put_be32(body + 4, it->seq);
    if (s_send(self, ACTORS_CMD_CREDIT, NULL, 0, body, 8, NULL, 0, 1) ==
        ACTORS_OK) {
        self->credit = 0;
        self->informed = it->seq;
    }
}

void
actors__actor_reject(
    actors_actor_t *self, const actors__item_t *it, actors_err code)
{
    s_reject(self, it, code, actors_strerror(code));
    if (it->cmd == ACTORS_CMD_CALL) {
        s_informed(self, it->seq);
    } else {
        actors__actor_tell_done(self, it->seq);
    }
}

void
actors__actor_item_free(actors_actor_t *self, actors__item_t *it)
{
    s_item_free(self, it);
}

void
actors__actor_informed(actors_actor_t *self, uint32_t seq)
{
    s_informed(self, seq);
}

void
actors__actor_tell_done(actors_actor_t *self, uint32_t seq)
{
    self->credit++;
    if ((int32_t)(seq - self->tell_done) > 0) {
        self->tell_done = seq;
    }
    if (self->credit >= self->credit_batch) {
        s_send_credit(self);
    }
}

bool
actors__actor_send_post(actors_actor_t *self, actors__post_t *p)
{
    if (p->cmd == 0 || p->session != self->session || self->reg != REG_OK) {
        return false;
    }
    if (p->cmd == ACTORS_CMD_REPLY && s_too_big(self, zmq_msg_size(&p->body))) {
        s_send_too_big(self, p->id, p->id_len, zmq_msg_size(&p->body));
        return true;
    }
    s_send_frames(self, p->cmd, p->id, p->id_len, &p->body, 1);
    zmq_msg_init(&p->body); /* moved out (and closed) by s_send_frames */
    return true;
}
