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
 *
 * The event stream (PROTOCOL.md, "Event streams"). A client that serves
 * no actor asks for its events there (SUBSCRIBE flag stream). A broker
 * with a stream answers a map (its endpoint and a ticket); the client's
 * SUB (client.c, actors__client_stream) subscribes the pattern's prefix
 * and the ticket's, and the subscription is ready when the broker's
 * welcome for the ticket arrives on the SUB: every event published after
 * that reaches it. Events on the stream carry no request id: they go to
 * the newest subscription of their pattern. A broker without a stream
 * answers the integer, and events come over the DEALER as before. A
 * welcome that does not come within S_WELCOME_MS (the stream's port is
 * not reachable from here) makes the client subscribe over the DEALER
 * instead, and say so once (CLI-STREAM-UNREACHABLE).
 */
#include <actors/pubsub.h>

#include <assert.h>
#include <string.h>

#include <actors/log.h>

#include <actors/value.h>

#include <actors-internal/alloc.h>
#include <actors-internal/unpack.h>

#include "client_internal.h"
#include "deadline.h"
#include "future_internal.h"
#include "pubsub_internal.h"

#define ACTORS__SUB_TAG 0xac7e5b5bu
#define S_TICKET 16       /* bytes in a stream ticket */
#define S_WELCOME_MS 3000 /* a ticket's welcome, at most this late */
#define S_PREFIX_MAX (ACTORS_WIRE_HDR_MIN + 1 + ACTORS_TOPIC_MAX)

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
    bool gone;              /* unsubscribed inside its own handler */
    int in_fn;              /* handlers of it running */
    bool replaced;          /* a newer one has its pattern: no events */
    actors_future_t *req;   /* its SUBSCRIBE while unanswered (ours) */
    actors_future_t *ready; /* the caller's, until resolved (ours too) */
    bool on_stream;         /* events come on the event stream */
    bool welcomed;          /* the broker's welcome for ticket came */
    bool has_ticket;        /* ticket is subscribed on the SUB of sock_gen */
    uint64_t sock_gen;      /* the SUB its prefixes are on; 0: none */
    uint8_t ticket[S_TICKET];
    uint32_t fresh;     /* the answer's "new", for ready */
    int64_t welcome_by; /* ms, monotonic; 0: no welcome awaited */
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

/* ---- the event stream ---------------------------------------------------- */

/* s_prefix writes the prefix a SUB subscribes for pattern's events: a
 * PUBLICATION header with no request id, up to the pattern. */
static size_t
s_prefix(uint8_t *out, const actors_subscription_t *self)
{
    size_t n = actors__hdr_write(out, ACTORS_CMD_PUBLICATION, 0, NULL, 0);
    out[n++] = (uint8_t)self->plen;
    memcpy(out + n, self->pattern, self->plen);
    return n + self->plen;
}

/* s_ticket_prefix writes the ticket's welcome header (a PUBLICATION, no
 * names, whose id is
 * the ticket). */
static size_t
s_ticket_prefix(uint8_t *out, const uint8_t *ticket)
{
    return actors__hdr_write(out, ACTORS_CMD_PUBLICATION, 0, ticket, S_TICKET);
}

/* s_stream_drop takes self's prefixes off the SUB they are on (libzmq
 * counts them: another subscription of the pattern keeps its own). */
static void
s_stream_drop(actors_subscription_t *self)
{
    void *k = actors__client_stream_of(self->client, self->sock_gen);
    if (k != NULL) {
        uint8_t b[S_PREFIX_MAX];
        zmq_setsockopt(k, ZMQ_UNSUBSCRIBE, b, s_prefix(b, self));
        if (self->has_ticket) {
            zmq_setsockopt(
                k, ZMQ_UNSUBSCRIBE, b, s_ticket_prefix(b, self->ticket));
        }
        actors__client_stream_touched(self->client);
    }
    self->sock_gen = 0;
    self->has_ticket = false;
    self->welcomed = false;
    self->welcome_by = 0;
}

static void s_free(actors_subscription_t *self);

/* s_ready_done resolves the caller's ready future: with n (f NULL) or
 * with f's error. Its callbacks may end self (actors_unsubscribe): then
 * self is freed here and false returned; the caller must not touch it. */
static bool
s_ready_done(actors_subscription_t *self, uint32_t n, actors_future_t *f)
{
    actors_future_t *r = self->ready;
    if (r == NULL) {
        return true;
    }
    self->ready = NULL;
    self->in_fn++; /* an unsubscribe in a callback waits for us */
    if (f == NULL) {
        zmq_msg_t b;
        zmq_msg_init_size(&b, 1);
        *(uint8_t *)zmq_msg_data(&b) = n ? 1 : 0; /* msgpack fixint */
        actors__future_resolve_body(r, &b);
        zmq_msg_close(&b);
    } else {
        const actors_error_t *e = actors_future_error(f);
        actors_error_t *copy = NULL;
        actors_err code = e != NULL ? actors_error_code(e) : ACTORS_EIO;
        if (e != NULL) {
            (void)actors_error_create(&copy, code, actors_error_type(e),
                actors_error_message(e), actors_error_address(e));
        }
        actors__future_resolve_error(r, code, copy, NULL);
    }
    actors__future_unref(r);
    self->in_fn--;
    if (self->gone && self->in_fn == 0) {
        s_free(self);
        return false;
    }
    return true;
}

/* s_welcome: the broker's welcome for self's ticket came (or another
 * subscription of this client, with the same ticket, had it). Returns as
 * s_ready_done. */
static bool
s_welcome(actors_subscription_t *self)
{
    self->welcomed = true;
    self->welcome_by = 0;
    return s_ready_done(self, self->fresh, NULL);
}

static void s_on_answer(actors_future_t *f, void *arg);
static void s_deliver(actors_subscription_t *self, const actors__hdr_t *hdr,
    zmq_msg_t *frames, int n);

/* s_send_subscribe sends self's SUBSCRIBE (on the stream or not); its
 * answer goes to s_on_answer. */
static actors_err
s_send_subscribe(actors_subscription_t *self, bool stream)
{
    actors_future_t *f = NULL;
    actors_err rc =
        actors__client_request_flags(self->client, ACTORS_CMD_SUBSCRIBE,
            stream ? ACTORS__FLAG_STREAM : 0, self->pattern, NULL, &f);
    if (rc != ACTORS_OK) {
        return rc;
    }
    self->id = f->id;
    actors_future_destroy(&self->req); /* an older one's answer: not ours */
    self->req = f;
    (void)actors_future_on_done(f, s_on_answer, self);
    return ACTORS_OK;
}

/* s_take_ticket reads the answer of a SUBSCRIBE on the stream ({"new",
 * "stream", "ticket"}) into self and puts its prefixes on the client's
 * SUB. Returns false when it is not such an answer or the SUB cannot be
 * had. */
static bool
s_take_ticket(actors_subscription_t *self, const msgpack_object *o)
{
    int64_t fresh = 0;
    const msgpack_object *ep = actors_map_get(o, "stream");
    const msgpack_object *tk = actors_map_get(o, "ticket");
    if (ep == NULL || ep->type != MSGPACK_OBJECT_STR || ep->via.str.size == 0 ||
        ep->via.str.size >= 256 || tk == NULL ||
        tk->type != MSGPACK_OBJECT_BIN || tk->via.bin.size != S_TICKET ||
        actors_value_int(actors_map_get(o, "new"), &fresh) != ACTORS_OK) {
        return false;
    }
    char where[256];
    memcpy(where, ep->via.str.ptr, ep->via.str.size);
    where[ep->via.str.size] = '\0';
    uint64_t gen = 0;
    void *k = actors__client_stream(self->client, where, &gen);
    if (k == NULL) {
        return false;
    }
    uint8_t b[S_PREFIX_MAX];
    if (self->sock_gen != gen) {
        self->sock_gen = gen;
        self->has_ticket = false;
        self->welcomed = false;
        zmq_setsockopt(k, ZMQ_SUBSCRIBE, b, s_prefix(b, self));
    }
    bool same = self->has_ticket &&
                memcmp(self->ticket, tk->via.bin.ptr, S_TICKET) == 0;
    if (!same) {
        if (self->has_ticket) {
            zmq_setsockopt(
                k, ZMQ_UNSUBSCRIBE, b, s_ticket_prefix(b, self->ticket));
        }
        memcpy(self->ticket, tk->via.bin.ptr, S_TICKET);
        self->has_ticket = true;
        self->welcomed = false;
        zmq_setsockopt(k, ZMQ_SUBSCRIBE, b, s_ticket_prefix(b, self->ticket));
    }
    actors__client_stream_touched(self->client);
    self->on_stream = true;
    self->fresh = fresh > 0;
    /* The SUB asks for a ticket it holds already only once: a welcome
     * another subscription of this client had counts for this one. */
    for (actors_subscription_t *o2 = *actors__client_subs(self->client);
         o2 != NULL && !self->welcomed; o2 = o2->next) {
        if (o2 != self && o2->welcomed && o2->sock_gen == gen &&
            o2->has_ticket && memcmp(o2->ticket, self->ticket, S_TICKET) == 0) {
            self->welcomed = true;
        }
    }
    if (self->welcomed) {
        (void)s_welcome(self); /* last: self may be gone */
    } else {
        self->welcome_by = actors__now_ms() + S_WELCOME_MS;
    }
    return true;
}

/* s_fall_back has self's events come over the DEALER: the broker's row
 * on the stream goes first (a welcome late, not lost, would have it
 * counted and sent), then one over the connection is asked for; its
 * answer resolves ready. */
static void
s_fall_back(actors_subscription_t *self)
{
    actors_client_t *client = self->client;
    s_stream_drop(self);
    self->on_stream = false;
    (void)actors__client_request(
        client, ACTORS_CMD_UNSUBSCRIBE, self->pattern, NULL, NULL, NULL);
    if (s_send_subscribe(self, false) != ACTORS_OK && self->ready != NULL) {
        actors_future_t *r = self->ready;
        self->ready = NULL;
        actors__future_resolve_error(
            r, ACTORS_EIO, NULL, "cannot subscribe over the broker connection");
        actors__future_unref(r);
    }
}

/* s_on_answer: the answer to self's SUBSCRIBE. */
static void
s_on_answer(actors_future_t *f, void *arg)
{
    actors_subscription_t *self = arg;
    if (self->req == f) {
        self->req = NULL;
    }
    if (!actors_future_is_ready(f) || actors_future_error(f) != NULL) {
        (void)s_ready_done(self, 0, f);
        actors_future_destroy(&f);
        return;
    }
    const msgpack_object *o = actors_future_result(f);
    if (o != NULL && o->type == MSGPACK_OBJECT_MAP) {
        if (!s_take_ticket(self, o)) {
            s_fall_back(self);
        }
    } else {
        /* A broker without a stream: events over the DEALER. */
        if (self->on_stream) {
            s_stream_drop(self);
            self->on_stream = false;
        }
        (void)s_ready_done(self,
            o != NULL && o->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
                o->via.u64 > 0,
            NULL);
    }
    actors_future_destroy(&f);
}

int
actors__subs_wait_ms(const actors_subscription_t *head, int64_t now)
{
    int64_t first = 0;
    for (const actors_subscription_t *self = head; self != NULL;
         self = self->next) {
        if (self->welcome_by != 0 && (first == 0 || self->welcome_by < first)) {
            first = self->welcome_by;
        }
    }
    if (first == 0) {
        return -1;
    }
    return first <= now ? 0 : (int)(first - now);
}

void
actors__subs_tick(actors_client_t *client, int64_t now)
{
    /* A fallback may resolve a ready whose callbacks change the list:
     * from the head again after each (a fallen back one waits no more). */
    actors_subscription_t *self = *actors__client_subs(client);
    while (self != NULL) {
        if (self->welcome_by == 0 || self->welcome_by > now) {
            self = self->next;
            continue;
        }
        if (actors__client_streams(client)) {
            ACTORS_LOG(ACTORS_LOG_WARN, "CLI-STREAM-UNREACHABLE",
                "pattern=%s no welcome from the broker's event stream in %d "
                "ms (is its port reachable from here?): this client takes "
                "its events over the broker connection from now on",
                self->pattern, S_WELCOME_MS);
            actors__client_stream_off(client);
        }
        s_fall_back(self);
        self = *actors__client_subs(client);
    }
}

void
actors__subs_stream(actors_client_t *client, zmq_msg_t *frames, int n)
{
    actors__hdr_t hdr;
    if (n < 1 || actors__hdr_parse(zmq_msg_data(&frames[0]),
                     zmq_msg_size(&frames[0]), &hdr) != ACTORS_OK) {
        return;
    }
    if (hdr.cmd == ACTORS_CMD_PUBLICATION && hdr.id_len == S_TICKET &&
        hdr.address == NULL) {
        /* Every subscription holding the ticket; a ready's callbacks may
         * change the list: from the head again after each. */
        actors_subscription_t *self = *actors__client_subs(client);
        while (self != NULL) {
            if (self->on_stream && self->has_ticket && !self->welcomed &&
                memcmp(self->ticket, hdr.id, S_TICKET) == 0) {
                (void)s_welcome(self);
                self = *actors__client_subs(client);
            } else {
                self = self->next;
            }
        }
        return;
    }
    if (hdr.cmd != ACTORS_CMD_PUBLICATION || hdr.id_len != 0 ||
        hdr.address == NULL) {
        return;
    }
    actors_subscription_t *self = *actors__client_subs(client);
    while (
        self != NULL &&
        (!self->on_stream || self->replaced || self->plen != hdr.address_len ||
            memcmp(self->pattern, hdr.address, self->plen) != 0)) {
        self = self->next;
    }
    if (self != NULL) {
        s_deliver(self, &hdr, frames, n);
    }
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
    self->tag = ACTORS__SUB_TAG;
    self->client = client;
    self->plen = strlen(pattern);
    memcpy(self->pattern, pattern, self->plen + 1);
    self->fn = fn;
    self->arg = arg;
    actors_future_t *r = NULL;
    if (ready != NULL && actors__future_new(client, &r) != ACTORS_OK) {
        actors__free(self);
        return ACTORS_ENOMEM;
    }
    rc = s_send_subscribe(self, actors__client_streams(client));
    if (rc != ACTORS_OK) {
        actors_future_destroy(&r);
        actors__free(self);
        return rc;
    }
    actors__client_ref(client);
    actors_subscription_t **head = actors__client_subs(client);
    for (actors_subscription_t *o = *head; o != NULL; o = o->next) {
        o->replaced |= o->plen == self->plen &&
                       memcmp(o->pattern, self->pattern, self->plen) == 0;
    }
    self->next = *head;
    *head = self;
    if (r != NULL) {
        actors__future_ref(r); /* ours, until s_ready resolves it */
        self->ready = r;
        *ready = r;
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
    actors_future_destroy(&self->req); /* its answer is not wanted */
    actors_future_t *r = self->ready;
    self->ready = NULL;
    if (r != NULL) {
        actors__future_resolve_error(
            r, ACTORS_ECLOSED, NULL, "the subscription was ended");
        actors__future_unref(r);
    }
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
    if (!actors__client_is_closed(self->client)) {
        s_stream_drop(self);
    }
    self->on_stream = false;
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
        /* The publications' id from now on; on the stream, a new
         * ticket (s_on_answer). */
        actors_err rc = s_send_subscribe(self, actors__client_streams(client));
        if (rc != ACTORS_OK) {
            ACTORS_LOG(ACTORS_LOG_ERR, "CLI-RESUBSCRIBE",
                "pattern=%s cannot send: %s", self->pattern,
                actors_err_name(rc));
        }
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
    uint64_t id;
    if (hdr->address == NULL ||
        !actors__client_id_read(hdr->id, hdr->id_len, &id)) {
        return false;
    }
    actors_subscription_t *self = *actors__client_subs(client);
    while (self != NULL &&
           (self->id != id || self->plen != hdr->address_len ||
               memcmp(self->pattern, hdr->address, self->plen) != 0)) {
        self = self->next;
    }
    if (self == NULL) {
        return false;
    }
    s_deliver(self, hdr, frames, n);
    return true;
}

/* s_deliver hands a PUBLICATION (header hdr, frames) to self. */
static void
s_deliver(actors_subscription_t *self, const actors__hdr_t *hdr,
    zmq_msg_t *frames, int n)
{
    if (n != 2) {
        return; /* malformed */
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
        return;
    }
    zmq_msg_t body;
    if (!s_result(&body, hdr->method, hdr->method_len, &frames[1])) {
        self->dropped++;
        return;
    }
    while (self->w_head != NULL) {
        s_waiter_t *w = self->w_head;
        self->w_head = w->next;
        if (self->w_head == NULL) {
            self->w_tail = NULL;
        }
        /* A future its caller destroyed unresolved (a wait that timed
         * out) takes no event: the next waiter, or the queue, does. */
        bool taken = !w->f->user_dropped;
        if (taken) {
            actors__future_resolve_body(w->f, &body);
            zmq_msg_close(&body);
        }
        actors__future_unref(w->f);
        actors__free(w);
        if (taken) {
            return;
        }
    }
    s_queued_t *q = NULL;
    if (self->queued >= ACTORS_SUBSCRIPTION_QUEUE ||
        (q = actors__zalloc(sizeof *q)) == NULL) {
        self->dropped++;
        zmq_msg_close(&body);
        return;
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
}
