/* libactors/src/pubsub.c - publishing and client subscriptions (pubsub.h).
 * SPDX-License-Identifier: MIT
 *
 * A subscription is a SUBSCRIBE sent with a request id; the broker puts
 * that id in every PUBLICATION for it, so the client finds the
 * subscription by id and pattern (client.c's dispatch asks
 * actors__subs_deliver before the actor runtime's hook). The client keeps
 * its subscriptions on a list; each holds a reference on the client, so
 * destroying the client first leaves them safe to unsubscribe.
 *
 * The broker forgets a connection's subscriptions with the connection: a
 * broker that restarted, or a connection libzmq made again, knows the
 * client as a new peer. So subscribing starts the client's connection
 * monitor (actors__client_watch), each subscription remembers the
 * connection generation its SUBSCRIBE went on, and the client's pump
 * calls actors__subs_renew, which SUBSCRIBEs again (a new request id)
 * every subscription made on an older connection, as the actor runtime
 * REGISTERs again. Events published in between are lost (at most once).
 */
#include <actors/pubsub.h>

#include <assert.h>
#include <string.h>

#include <actors/log.h>

#include <actors-internal/alloc.h>
#include <actors-internal/unpack.h>

#include "client_internal.h"
#include "future_internal.h"
#include "pubsub_internal.h"

#define ACTORS__SUB_TAG 0xac7e5b5bu

typedef struct s_waiter {
    actors_future_t *f;
    struct s_waiter *next;
} s_waiter_t;

typedef struct s_queued {
    zmq_msg_t body; /* {"topic", "data"} as the future's result */
    struct s_queued *next;
} s_queued_t;

struct actors_subscription {
    uint32_t tag;
    actors_client_t *client; /* referenced */
    actors_subscription_t *next;
    char pattern[ACTORS_TOPIC_MAX + 1];
    size_t plen;
    uint64_t id;  /* the SUBSCRIBE's request id */
    uint64_t gen; /* the connection it went on (actors__client_conn_gen) */
    actors_event_fn fn;
    void *arg;
    s_waiter_t *w_head, *w_tail; /* futures waiting, oldest first */
    s_queued_t *q_head, *q_tail; /* events waiting, oldest first */
    size_t queued;
    uint64_t received;
    uint64_t dropped;
    bool gone; /* unsubscribed inside its own handler */
    int in_fn; /* handlers of it running */
};

bool
actors__topic_ok(const char *s, bool pattern)
{
    size_t len = s == NULL ? 0 : strlen(s);
    if (len == 0 || len > ACTORS_TOPIC_MAX) {
        return false;
    }
    size_t seg = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || s[i] == '.') {
            if (seg == 0) {
                return false;
            }
            bool wild = seg == 1 && (s[i - 1] == '*' || s[i - 1] == '>');
            if (wild && (!pattern || (s[i - 1] == '>' && i != len))) {
                return false;
            }
            seg = 0;
            continue;
        }
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c == 0x7f) {
            return false;
        }
        seg++;
    }
    return true;
}

actors_err
actors_publish(actors_client_t *client, const char *topic,
    actors_msg_t **data_p, actors_future_t **out)
{
    assert(client);
    if (out != NULL) {
        *out = NULL;
    }
    if (!actors__topic_ok(topic, false)) {
        return ACTORS_EINVAL;
    }
    actors_msg_t *nil = NULL;
    actors_msg_t **body_p = data_p;
    if (data_p == NULL || *data_p == NULL || actors_msg_count(*data_p) == 0) {
        if (actors_msg_create(&nil) != ACTORS_OK ||
            actors_msg_add_nil(nil) != ACTORS_OK) {
            actors_msg_destroy(&nil);
            return ACTORS_ENOMEM;
        }
        body_p = &nil;
    } else if (actors_msg_count(*data_p) != 1) {
        return ACTORS_EINVAL;
    }
    actors_err rc = actors__client_request(
        client, ACTORS_CMD_PUBLISH, topic, NULL, body_p, out);
    actors_msg_destroy(&nil);
    if (rc == ACTORS_OK && data_p != NULL) {
        actors_msg_destroy(data_p);
    }
    return rc;
}

actors_err
actors_subscribe(actors_client_t *client, const char *pattern,
    actors_event_fn fn, void *arg, actors_subscription_t **out,
    actors_future_t **ready)
{
    assert(client);
    assert(out);
    *out = NULL;
    if (ready != NULL) {
        *ready = NULL;
    }
    if (!actors__topic_ok(pattern, true)) {
        return ACTORS_EINVAL;
    }
    /* The connection's news, to subscribe again on a new one. */
    int fd = -1;
    actors_err rc = actors__client_watch(client, &fd);
    if (rc != ACTORS_OK) {
        return rc;
    }
    actors_subscription_t *self = actors__zalloc(sizeof *self);
    if (self == NULL) {
        return ACTORS_ENOMEM;
    }
    self->gen = actors__client_conn_gen(client);
    actors_future_t *f = NULL;
    rc = actors__client_request(
        client, ACTORS_CMD_SUBSCRIBE, pattern, NULL, NULL, &f);
    if (rc != ACTORS_OK) {
        actors__free(self);
        return rc;
    }
    self->tag = ACTORS__SUB_TAG;
    self->client = client;
    actors__client_ref(client);
    self->plen = strlen(pattern);
    memcpy(self->pattern, pattern, self->plen + 1);
    self->id = f->id;
    self->fn = fn;
    self->arg = arg;
    actors_subscription_t **head = actors__client_subs(client);
    self->next = *head;
    *head = self;
    if (ready != NULL) {
        *ready = f;
    } else {
        actors_future_destroy(&f);
    }
    *out = self;
    return ACTORS_OK;
}

const char *
actors_subscription_pattern(const actors_subscription_t *self)
{
    assert(self && self->tag == ACTORS__SUB_TAG);
    return self->pattern;
}

uint64_t
actors_subscription_received(const actors_subscription_t *self)
{
    assert(self && self->tag == ACTORS__SUB_TAG);
    return self->received;
}

uint64_t
actors_subscription_dropped(const actors_subscription_t *self)
{
    assert(self && self->tag == ACTORS__SUB_TAG);
    return self->dropped;
}

actors_err
actors_subscription_next(actors_subscription_t *self, actors_future_t **out)
{
    assert(self && self->tag == ACTORS__SUB_TAG);
    assert(out);
    *out = NULL;
    if (self->fn != NULL) {
        return ACTORS_EINVAL;
    }
    actors_future_t *f = NULL;
    if (actors__future_new(self->client, &f) != ACTORS_OK) {
        return ACTORS_ENOMEM;
    }
    if (self->q_head != NULL) {
        s_queued_t *q = self->q_head;
        self->q_head = q->next;
        if (self->q_head == NULL) {
            self->q_tail = NULL;
        }
        self->queued--;
        actors__future_resolve_body(f, &q->body);
        zmq_msg_close(&q->body);
        actors__free(q);
        *out = f;
        return ACTORS_OK;
    }
    s_waiter_t *w = actors__zalloc(sizeof *w);
    if (w == NULL) {
        actors_future_destroy(&f);
        return ACTORS_ENOMEM;
    }
    actors__future_ref(f); /* the waiter's */
    w->f = f;
    if (self->w_tail != NULL) {
        self->w_tail->next = w;
    } else {
        self->w_head = w;
    }
    self->w_tail = w;
    *out = f;
    return ACTORS_OK;
}

/* s_free ends a subscription already off the client's list. */
static void
s_free(actors_subscription_t *self)
{
    s_waiter_t *w = self->w_head;
    while (w != NULL) {
        s_waiter_t *next = w->next;
        actors__future_resolve_error(
            w->f, ACTORS_ECLOSED, NULL, "the subscription was ended");
        actors__future_unref(w->f);
        actors__free(w);
        w = next;
    }
    s_queued_t *q = self->q_head;
    while (q != NULL) {
        s_queued_t *next = q->next;
        zmq_msg_close(&q->body);
        actors__free(q);
        q = next;
    }
    actors__client_unref(self->client);
    self->tag = 0;
    actors__free(self);
}

void
actors_unsubscribe(actors_subscription_t **self_p)
{
    assert(self_p);
    actors_subscription_t *self = *self_p;
    if (self == NULL) {
        return;
    }
    assert(self->tag == ACTORS__SUB_TAG);
    *self_p = NULL;
    actors_subscription_t **pp = actors__client_subs(self->client);
    while (*pp != NULL && *pp != self) {
        pp = &(*pp)->next;
    }
    if (*pp == self) {
        *pp = self->next;
    }
    /* Another subscription of the same pattern (a later SUBSCRIBE) owns
     * the broker's row now: keep it. */
    bool shared = false;
    for (actors_subscription_t *o = *actors__client_subs(self->client);
         o != NULL; o = o->next) {
        shared |= o->plen == self->plen &&
                  memcmp(o->pattern, self->pattern, self->plen) == 0;
    }
    if (!shared && !actors__client_is_closed(self->client)) {
        (void)actors__client_request(self->client, ACTORS_CMD_UNSUBSCRIBE,
            self->pattern, NULL, NULL, NULL);
    }
    if (self->in_fn > 0) {
        self->gone = true; /* freed when its handler returns */
        return;
    }
    s_free(self);
}

/* s_replaced: a subscription newer than self (before it on the list) has
 * its pattern, and so the broker's row. */
static bool
s_replaced(const actors_subscription_t *head, const actors_subscription_t *self)
{
    for (const actors_subscription_t *o = head; o != self; o = o->next) {
        if (o->plen == self->plen &&
            memcmp(o->pattern, self->pattern, self->plen) == 0) {
            return true;
        }
    }
    return false;
}

void
actors__subs_renew(actors_client_t *client, uint64_t gen)
{
    actors_subscription_t *head = *actors__client_subs(client);
    for (actors_subscription_t *self = head; self != NULL; self = self->next) {
        if (self->gen == gen) {
            continue;
        }
        self->gen = gen;
        if (s_replaced(head, self)) {
            continue; /* it gets no more events (actors_subscribe) */
        }
        actors_future_t *f = NULL;
        actors_err rc = actors__client_request(
            client, ACTORS_CMD_SUBSCRIBE, self->pattern, NULL, NULL, &f);
        if (rc != ACTORS_OK) {
            ACTORS_LOG(ACTORS_LOG_ERR, "CLI-RESUBSCRIBE",
                "pattern=%s cannot send: %s", self->pattern,
                actors_err_name(rc));
            continue;
        }
        /* The publications' id from now on; the answer is dropped, as
         * actors_subscribe's without ready. */
        self->id = f->id;
        actors_future_destroy(&f);
    }
}

/* s_result builds the {"topic", "data"} body a future resolves with. */
static bool
s_result(zmq_msg_t *out, const uint8_t *topic, size_t tlen, zmq_msg_t *data)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    msgpack_pack_str(&pk, 5);
    msgpack_pack_str_body(&pk, "topic", 5);
    msgpack_pack_str(&pk, tlen);
    msgpack_pack_str_body(&pk, topic, tlen);
    msgpack_pack_str(&pk, 4);
    msgpack_pack_str_body(&pk, "data", 4);
    msgpack_sbuffer_write(&sb, zmq_msg_data(data), zmq_msg_size(data));
    bool ok = sb.data != NULL && zmq_msg_init_size(out, sb.size) == 0;
    if (ok) {
        memcpy(zmq_msg_data(out), sb.data, sb.size);
    }
    msgpack_sbuffer_destroy(&sb);
    return ok;
}

bool
actors__subs_deliver(
    actors_client_t *client, const actors__hdr_t *hdr, zmq_msg_t *frames, int n)
{
    if (hdr->id_len != sizeof(uint64_t) || hdr->address == NULL) {
        return false;
    }
    uint64_t id;
    memcpy(&id, hdr->id, sizeof id);
    actors_subscription_t *self = *actors__client_subs(client);
    while (self != NULL &&
           (self->id != id || self->plen != hdr->address_len ||
               memcmp(self->pattern, hdr->address, self->plen) != 0)) {
        self = self->next;
    }
    if (self == NULL) {
        return false;
    }
    if (n != 2) {
        return true; /* malformed: not ours to pass on either */
    }
    self->received++;
    if (self->fn != NULL) {
        char topic[ACTORS_TOPIC_MAX + 1];
        memcpy(topic, hdr->method, hdr->method_len);
        topic[hdr->method_len] = '\0';
        msgpack_unpacked up;
        msgpack_unpacked_init(&up);
        if (actors__unpack_next(&up, zmq_msg_data(&frames[1]),
                zmq_msg_size(&frames[1]), NULL) == MSGPACK_UNPACK_SUCCESS) {
            self->in_fn++;
            self->fn(self->arg, self, topic, &up.data);
            self->in_fn--;
        } else {
            ACTORS_LOG(ACTORS_LOG_WARN, "CLI-BAD-EVENT",
                "topic=%s an event whose data is not msgpack: dropped", topic);
        }
        msgpack_unpacked_destroy(&up);
        if (self->gone && self->in_fn == 0) {
            s_free(self);
        }
        return true;
    }
    zmq_msg_t body;
    if (!s_result(&body, hdr->method, hdr->method_len, &frames[1])) {
        self->dropped++;
        return true;
    }
    if (self->w_head != NULL) {
        s_waiter_t *w = self->w_head;
        self->w_head = w->next;
        if (self->w_head == NULL) {
            self->w_tail = NULL;
        }
        actors__future_resolve_body(w->f, &body);
        zmq_msg_close(&body);
        actors__future_unref(w->f);
        actors__free(w);
        return true;
    }
    s_queued_t *q = NULL;
    if (self->queued >= ACTORS_SUBSCRIPTION_QUEUE ||
        (q = actors__zalloc(sizeof *q)) == NULL) {
        self->dropped++;
        zmq_msg_close(&body);
        return true;
    }
    zmq_msg_init(&q->body);
    zmq_msg_move(&q->body, &body);
    zmq_msg_close(&body);
    if (self->q_tail != NULL) {
        self->q_tail->next = q;
    } else {
        self->q_head = q;
    }
    self->q_tail = q;
    self->queued++;
    return true;
}
