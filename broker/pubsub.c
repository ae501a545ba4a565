/* broker/pubsub.c - publish/subscribe (pubsub.h).
 * SPDX-License-Identifier: MIT
 *
 * Subscriptions live in one array (grown by doubling, free rows chained);
 * a row is (owner kind, owner index, pattern), chained to its owner's
 * other rows and filed in an index by pattern (subindex.h), so that
 * neither a SUBSCRIBE nor a PUBLISH scans the table. Owners are
 * connection rows (conn.h; the connection gets role SUBSCRIBER so that
 * its row, and the conn_gone hook, exist for a plain client) and
 * registry entries (a group's is the group entry, subscribed by any of
 * its members). Events to an address become slots of command TELL whose
 * header is a PUBLICATION (pattern and topic as the names): the core
 * queues, dispatches (to one member of a group), holds across a restart
 * and credits them as tells.
 */
#include "pubsub.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include <actors/log.h>

#include <actors-internal/alloc.h>

#include "idmap.h"
#include "mailbox.h"
#include "stream.h"
#include "subindex.h"
#include "topic.h"

#define PS_COPY_MAX 8192    /* bodies copied once per publish (s_on_publish) */
#define PS_STREAM_BATCH 256 /* subscriptions read from the stream a call */
#define PS_OWN "actors."    /* topics only the broker publishes */
#define PS_OWN_LEN 7

enum { PS_FREE = 0, PS_CONN, PS_ADDR, PS_STREAM };

typedef struct {
    char pattern[BRK_TOPIC_MAX + 1];   /* NUL-terminated */
    uint16_t plen;                     /* bytes in pattern */
    uint8_t kind;                      /* PS_* */
    uint8_t id_len;                    /* PS_CONN: bytes in id */
    uint8_t id[ACTORS_WIRE_ID_MAX];    /* PS_CONN: the SUBSCRIBE's id */
    uint32_t owner;                    /* conn row or registry entry */
    uint32_t free_next;                /* free list */
    uint32_t onext;                    /* the owner's rows (ps_owner_t) */
    uint32_t oprev;                    /* the owner's rows */
    uint32_t pat;                      /* PS_STREAM: its row in pats */
    bool redeemed;                     /* PS_STREAM: its ticket was redeemed */
    uint8_t ticket[BRK_STREAM_TICKET]; /* PS_STREAM: random */
    zmq_msg_t hdr; /* PS_CONN: the PUBLICATION header of the last topic
                    * delivered (empty: none), shared by reference with
                    * every delivery on that topic (s_to_conn) */
} ps_sub_t;

/* A pattern with subscriptions on the stream: an event that matches it is
 * sent once, whatever the number of its subscribers. */
typedef struct {
    char pattern[BRK_TOPIC_MAX + 1];
    uint16_t plen;
    uint32_t refs;      /* PS_STREAM rows of it; 0: a free row */
    uint32_t redeemed;  /* of them, redeemed */
    uint32_t free_next; /* free rows */
    zmq_msg_t hdr;      /* the header of the last topic sent (as ps_sub_t) */
} ps_pat_t;

/* An owner's subscriptions: a connection's (PS_CONN and PS_STREAM
 * together, under one bound) or an address's (PS_ADDR). */
typedef struct {
    uint32_t head; /* a row, chained by onext; BRK_NONE */
    uint32_t n;    /* rows */
} ps_owner_t;

struct brk_pubsub {
    brk_broker_t *core;
    brk_stream_t *stream;   /* NULL: no event stream */
    brk_idmap_t tickets;    /* ticket -> its PS_STREAM row */
    brk_subindex_t *rows;   /* patterns of the PS_CONN and PS_ADDR rows */
    brk_subindex_t *spat;   /* patterns of the stream's rows in pats */
    ps_pat_t *pats;         /* npats rows, refs 0: free */
    uint32_t npats;         /* rows handed out */
    uint32_t pats_cap;      /* allocated */
    uint32_t pats_free;     /* free rows; BRK_NONE */
    brk_idmap_t pat_map;    /* pattern -> its row in pats */
    ps_owner_t *owners[2];  /* [0] by connection row, [1] by entry */
    uint32_t owners_cap[2]; /* allocated */
    ps_sub_t *v;            /* cap rows */
    uint32_t cap;           /* allocated */
    uint32_t used;          /* rows ever handed out */
    uint32_t free_head;     /* free rows; BRK_NONE */
    uint32_t count;         /* live rows */
    uint64_t *dropped;      /* per registry entry: events its mailbox refused */
    uint32_t dropped_cap;   /* entries in dropped */
    uint64_t n_published;   /* PUBLISH accepted */
};

/* ------------------------------------------------------------ the table */

/* s_owner_at is owner's list of rows of kind's owners, NULL when it has
 * never had one. */
static ps_owner_t *
s_owner_at(brk_pubsub_t *self, uint8_t kind, uint32_t owner)
{
    int k = kind == PS_ADDR;
    return owner < self->owners_cap[k] ? &self->owners[k][owner] : NULL;
}

/* s_owner_reserve makes room for owner's list. */
static bool
s_owner_reserve(brk_pubsub_t *self, uint8_t kind, uint32_t owner)
{
    int k = kind == PS_ADDR;
    uint32_t have = self->owners_cap[k];
    if (owner < have) {
        return true;
    }
    uint32_t cap = have ? have : 64;
    while (cap <= owner) {
        cap *= 2;
    }
    ps_owner_t *v = actors__realloc(self->owners[k], cap * sizeof *v);
    if (v == NULL) {
        return false;
    }
    for (uint32_t i = have; i < cap; i++) {
        v[i] = (ps_owner_t){.head = BRK_NONE, .n = 0};
    }
    self->owners[k] = v;
    self->owners_cap[k] = cap;
    return true;
}

/* s_find is owner's row of kind for pattern p, or BRK_NONE: a walk of
 * the owner's rows (at most BRK_PUBSUB_PER_OWNER). */
static uint32_t
s_find(brk_pubsub_t *self, uint8_t kind, uint32_t owner, const char *p,
    size_t plen)
{
    const ps_owner_t *o = s_owner_at(self, kind, owner);
    for (uint32_t i = o ? o->head : BRK_NONE; i != BRK_NONE;
         i = self->v[i].onext) {
        const ps_sub_t *s = &self->v[i];
        if (s->kind == kind && s->plen == plen &&
            memcmp(s->pattern, p, plen) == 0) {
            return i;
        }
    }
    return BRK_NONE;
}

/* s_count_of counts the subscriptions of owner: a connection's on the
 * stream and not together (one bound), an address's. */
static uint32_t
s_count_of(brk_pubsub_t *self, uint8_t kind, uint32_t owner)
{
    const ps_owner_t *o = s_owner_at(self, kind, owner);
    return o ? o->n : 0;
}

/* s_pat_key is the key of row idx in the pattern map. */
static const void *
s_pat_key(void *ctx, uint32_t idx, size_t *len)
{
    brk_pubsub_t *self = ctx;
    *len = self->pats[idx].plen;
    return self->pats[idx].pattern;
}

/* s_pat_ref takes a reference on the stream row of pattern p (made if
 * there is none) and gives its index in *out. */
static actors_err
s_pat_ref(brk_pubsub_t *self, const char *p, size_t plen, uint32_t *out)
{
    uint32_t i = brk_idmap_find(&self->pat_map, p, plen);
    if (i != BRK_IDMAP_NONE) {
        self->pats[i].refs++;
        *out = i;
        return ACTORS_OK;
    }
    i = self->pats_free;
    if (i == BRK_NONE) {
        if (self->npats == self->pats_cap) {
            uint32_t cap = self->pats_cap ? self->pats_cap * 2 : 16;
            ps_pat_t *v = actors__realloc(self->pats, cap * sizeof *v);
            if (v == NULL) {
                return ACTORS_ENOMEM;
            }
            self->pats = v;
            self->pats_cap = cap;
        }
        i = self->npats;
    }
    ps_pat_t *t = &self->pats[i];
    memcpy(t->pattern, p, plen);
    t->pattern[plen] = '\0';
    t->plen = (uint16_t)plen;
    if (brk_idmap_put(&self->pat_map, p, plen, i) != ACTORS_OK) {
        return ACTORS_ENOMEM; /* the row stays free */
    }
    if (brk_subindex_add(self->spat, p, plen, i) != ACTORS_OK) {
        brk_idmap_del(&self->pat_map, p, plen);
        return ACTORS_ENOMEM;
    }
    if (i == self->npats) {
        self->npats++;
    } else {
        self->pats_free = t->free_next;
    }
    t->refs = 1;
    t->redeemed = 0;
    zmq_msg_init(&t->hdr);
    *out = i;
    return ACTORS_OK;
}

/* s_pat_unref drops a reference taken by s_pat_ref (redeemed: the row's
 * ticket was redeemed). The last one stops the pattern's events. */
static void
s_pat_unref(brk_pubsub_t *self, uint32_t i, bool redeemed)
{
    ps_pat_t *t = &self->pats[i];
    t->redeemed -= redeemed;
    if (--t->refs == 0) {
        zmq_msg_close(&t->hdr);
        brk_subindex_remove(self->spat, i);
        brk_idmap_del(&self->pat_map, t->pattern, t->plen);
        t->free_next = self->pats_free;
        self->pats_free = i;
    }
}

static actors_err
s_add(brk_pubsub_t *self, uint8_t kind, uint32_t owner, const char *p,
    size_t plen, const brk_in_t *m, uint32_t *out)
{
    uint32_t pat = BRK_NONE;
    if (!s_owner_reserve(self, kind, owner) ||
        (kind == PS_STREAM && s_pat_ref(self, p, plen, &pat) != ACTORS_OK)) {
        return ACTORS_ENOMEM;
    }
    uint32_t i = self->free_head;
    if (i != BRK_NONE) {
        self->free_head = self->v[i].free_next;
    } else {
        if (self->used == self->cap) {
            uint32_t cap = self->cap ? self->cap * 2 : 64;
            ps_sub_t *v = actors__realloc(self->v, cap * sizeof *v);
            if (v == NULL) {
                if (pat != BRK_NONE) {
                    s_pat_unref(self, pat, false);
                }
                return ACTORS_ENOMEM;
            }
            self->v = v;
            self->cap = cap;
        }
        i = self->used++;
    }
    ps_sub_t *s = &self->v[i];
    memcpy(s->pattern, p, plen);
    s->pattern[plen] = '\0';
    s->plen = (uint16_t)plen;
    s->kind = kind;
    s->owner = owner;
    s->id_len = (uint8_t)m->h.id_len;
    memcpy(s->id, m->h.id, m->h.id_len);
    s->free_next = BRK_NONE;
    s->pat = pat;
    s->redeemed = false;
    if (kind == PS_STREAM && getrandom(s->ticket, sizeof s->ticket,
                                 GRND_NONBLOCK) != (ssize_t)sizeof s->ticket) {
        /* No entropy yet (early boot): unique, if guessable; a ticket
         * is a name, not a key (stream.h). */
        uint64_t x[2] = {(uint64_t)self->core->now_us ^ ((uint64_t)i << 40),
            self->n_published ^ ((uint64_t)self->count << 32)};
        memcpy(s->ticket, x, sizeof s->ticket);
    }
    zmq_msg_init(&s->hdr);
    self->count++;
    *out = i;
    /* Found by its ticket on the stream, else by the index. */
    actors_err rc =
        kind == PS_STREAM
            ? brk_idmap_put(&self->tickets, s->ticket, sizeof s->ticket, i)
            : brk_subindex_add(self->rows, p, plen, i);
    if (rc != ACTORS_OK) {
        zmq_msg_close(&s->hdr);
        s->kind = PS_FREE;
        s->free_next = self->free_head;
        self->free_head = i;
        self->count--;
        if (pat != BRK_NONE) {
            s_pat_unref(self, pat, false);
        }
        return ACTORS_ENOMEM;
    }
    ps_owner_t *o = s_owner_at(self, kind, owner);
    s->oprev = BRK_NONE;
    s->onext = o->head;
    if (o->head != BRK_NONE) {
        self->v[o->head].oprev = i;
    }
    o->head = i;
    o->n++;
    return ACTORS_OK;
}

/* s_ticket_key is the key of row idx in the ticket map. */
static const void *
s_ticket_key(void *ctx, uint32_t idx, size_t *len)
{
    brk_pubsub_t *self = ctx;
    *len = BRK_STREAM_TICKET;
    return self->v[idx].ticket;
}

/* s_find_ticket is the subscription on the stream holding ticket, or
 * NULL. */
static ps_sub_t *
s_find_ticket(brk_pubsub_t *self, const uint8_t *ticket)
{
    uint32_t i = brk_idmap_find(&self->tickets, ticket, BRK_STREAM_TICKET);
    return i != BRK_NONE && self->v[i].kind == PS_STREAM ? &self->v[i] : NULL;
}

static void
s_del(brk_pubsub_t *self, uint32_t i)
{
    ps_sub_t *s = &self->v[i];
    ps_owner_t *o = s_owner_at(self, s->kind, s->owner);
    if (s->oprev != BRK_NONE) {
        self->v[s->oprev].onext = s->onext;
    } else {
        o->head = s->onext;
    }
    if (s->onext != BRK_NONE) {
        self->v[s->onext].oprev = s->oprev;
    }
    o->n--;
    zmq_msg_close(&self->v[i].hdr);
    brk_subindex_remove(self->rows, i); /* nothing for a PS_STREAM row */
    if (self->v[i].kind == PS_STREAM) {
        brk_idmap_del(&self->tickets, self->v[i].ticket, BRK_STREAM_TICKET);
        s_pat_unref(self, self->v[i].pat, self->v[i].redeemed);
    }
    self->v[i].kind = PS_FREE;
    self->v[i].free_next = self->free_head;
    self->free_head = i;
    self->count--;
}

/* s_del_owner removes every subscription of owner (kind) and returns how
 * many. */
static uint32_t
s_del_owner(brk_pubsub_t *self, uint8_t kind, uint32_t owner)
{
    uint32_t n = 0;
    const ps_owner_t *o = s_owner_at(self, kind, owner);
    uint32_t i = o ? o->head : BRK_NONE;
    while (i != BRK_NONE) {
        uint32_t next = self->v[i].onext;
        if (self->v[i].kind == kind) {
            s_del(self, i);
            n++;
        }
        i = next;
    }
    return n;
}

/* s_count_dropped adds one refused event to entry ei's count. */
static void
s_count_dropped(brk_pubsub_t *self, uint32_t ei)
{
    if (ei >= self->dropped_cap) {
        uint32_t cap = self->dropped_cap ? self->dropped_cap : 64;
        while (cap <= ei) {
            cap *= 2;
        }
        uint64_t *v = actors__realloc(self->dropped, cap * sizeof *v);
        if (v == NULL) {
            return; /* the broker's own counters still say it */
        }
        memset(v + self->dropped_cap, 0, (cap - self->dropped_cap) * sizeof *v);
        self->dropped = v;
        self->dropped_cap = cap;
    }
    self->dropped[ei]++;
}

/* ------------------------------------------------------------ delivery */

/* s_header makes the PUBLICATION header: id (the SUBSCRIBE's for a
 * connection, the address for an address, none on the stream), names
 * pattern (plen bytes) and topic. */
static void
s_header(zmq_msg_t *hdr, const char *pattern, size_t plen, const void *id,
    size_t id_len, const char *topic, size_t tlen)
{
    zmq_msg_init_size(hdr, ACTORS_WIRE_HDR_MIN + id_len + 2 + plen + tlen);
    uint8_t *p = zmq_msg_data(hdr);
    size_t n = actors__hdr_write(p, ACTORS_CMD_PUBLICATION, 0, id, id_len);
    actors__hdr_names_write(p + n, pattern, plen, topic, tlen);
}

/* s_header_kept makes *kept, the header a subscription (or a pattern on
 * the stream) last sent, the one for topic. Its id and pattern are fixed,
 * so it differs only when the topic does: events on one topic share one
 * header by reference instead of each building and allocating its own
 * (docs/BENCHMARKS.md, fan-out). */
static void
s_header_kept(zmq_msg_t *kept, const char *pattern, size_t plen, const void *id,
    size_t id_len, const char *topic, size_t tlen)
{
    size_t hl = zmq_msg_size(kept);
    if (hl == ACTORS_WIRE_HDR_MIN + id_len + 2 + plen + tlen &&
        memcmp((const uint8_t *)zmq_msg_data(kept) + hl - tlen, topic, tlen) ==
            0) {
        return;
    }
    zmq_msg_close(kept);
    s_header(kept, pattern, plen, id, id_len, topic, tlen);
}

/* s_to_conn sends the event to a subscribed connection: at most once. */
static bool
s_to_conn(brk_pubsub_t *self, ps_sub_t *s, const char *topic, size_t tlen,
    zmq_msg_t *body)
{
    brk_broker_t *core = self->core;
    brk_conn_t *c = brk_conns_at(&core->conns, s->owner);
    if (c->rid_len == 0 || c->fd == BRK_FD_LOST) {
        return false;
    }
    zmq_msg_t rid;
    zmq_msg_t hdr;
    zmq_msg_t cp;
    zmq_msg_init_size(&rid, c->rid_len);
    memcpy(zmq_msg_data(&rid), c->rid, c->rid_len);
    s_header_kept(&s->hdr, s->pattern, s->plen, s->id, s->id_len, topic, tlen);
    zmq_msg_init(&hdr);
    zmq_msg_copy(&hdr, &s->hdr);
    zmq_msg_init(&cp);
    zmq_msg_copy(&cp, body);
    zmq_msg_t *f[3] = {&rid, &hdr, &cp};
    bool ok = brk_core_send_now(core, f, 3);
    zmq_msg_close(&rid);
    zmq_msg_close(&hdr);
    zmq_msg_close(&cp);
    return ok;
}

/* s_to_address queues the event in a subscribed address's mailbox as a
 * TELL-like slot; a group's goes to one member, as a TELL does. */
static bool
s_to_address(brk_pubsub_t *self, const ps_sub_t *s, const char *topic,
    size_t tlen, zmq_msg_t *body)
{
    brk_broker_t *core = self->core;
    uint32_t ei = s->owner;
    const brk_entry_t *e = brk_registry_at(&core->reg, ei);
    if (e->state == BRK_ENTRY_DEAD) {
        return false;
    }
    char address[256];
    size_t alen = e->address_len;
    memcpy(address, e->address, alen);
    uint32_t si;
    if (brk_slots_alloc(&core->slots, &si) != ACTORS_OK) {
        s_count_dropped(self, ei);
        return false;
    }
    brk_slot_t *slot = brk_slots_at(&core->slots, si);
    zmq_msg_close(&slot->hdr);
    s_header(&slot->hdr, s->pattern, s->plen, address, alen, topic, tlen);
    zmq_msg_copy(&slot->args, body);
    slot->cmd = ACTORS_CMD_TELL;
    slot->answered = 1;
    slot->entry = ei;
    if (!brk_core_accept(core, si, ei)) {
        s_count_dropped(self, ei);
        return false;
    }
    return true;
}

/* A publication being matched: what the index's callbacks need. */
typedef struct {
    brk_pubsub_t *self;
    const char *topic;
    size_t tlen;
    zmq_msg_t *body;
    uint32_t n; /* subscriptions that took it */
} ps_pub_t;

/* s_pat_hit sends the event once for stream pattern row i (stream.h):
 * to every redeemed subscription of it. */
static void
s_pat_hit(void *arg, uint32_t i)
{
    ps_pub_t *e = arg;
    ps_pat_t *t = &e->self->pats[i];
    if (t->redeemed == 0) {
        return;
    }
    /* No request id: every subscriber of the pattern gets the same
     * bytes. */
    s_header_kept(&t->hdr, t->pattern, t->plen, NULL, 0, e->topic, e->tlen);
    brk_stream_send(e->self->stream, &t->hdr, e->body);
    e->n += t->redeemed;
}

/* s_row_hit delivers the event to subscription row i. */
static void
s_row_hit(void *arg, uint32_t i)
{
    ps_pub_t *e = arg;
    ps_sub_t *s = &e->self->v[i];
    e->n += s->kind == PS_CONN
                ? s_to_conn(e->self, s, e->topic, e->tlen, e->body)
                : s_to_address(e->self, s, e->topic, e->tlen, e->body);
}

/* s_publish delivers body on topic to every matching subscription and
 * returns how many took it. The index finds them (subindex.h): the cost
 * is the subscriptions that match, not all of them. A delivery may not
 * add or remove subscriptions. */
static uint32_t
s_publish(brk_pubsub_t *self, const char *topic, size_t tlen, zmq_msg_t *body)
{
    self->n_published++;
    ps_pub_t e = {self, topic, tlen, body, 0};
    brk_subindex_match(self->rows, topic, tlen, s_row_hit, &e);
    brk_subindex_match(self->spat, topic, tlen, s_pat_hit, &e);
    return e.n;
}

uint32_t
brk_pubsub_publish(
    brk_pubsub_t *self, const char *topic, const void *body, size_t len)
{
    size_t tlen = strlen(topic);
    if (!brk_topic_valid(topic, tlen, false)) {
        return 0;
    }
    zmq_msg_t b;
    brk_core_body_from(&b, body, len);
    uint32_t n = s_publish(self, topic, tlen, &b);
    zmq_msg_close(&b);
    return n;
}

/* ------------------------------------------------------------ commands */

/* s_on_publish handles PUBLISH: header(topic) body, or header topic body.
 * Answered REPLY with the number of subscriptions that took the event
 * when it has a request id or a delimiter; a malformed one is answered
 * ERROR in every case. */
static void
s_on_publish(void *arg, brk_broker_t *core, const brk_in_t *m)
{
    brk_pubsub_t *self = arg;
    /* The topic after the header's id and one frame, the body; or the
     * topic in a frame of its own before the body (then bytes after the
     * id are ignored, as in every command without names). */
    const char *t = NULL;
    size_t tlen = 0;
    if (m->nargs == 2) {
        t = zmq_msg_data(&m->arg[0]);
        tlen = zmq_msg_size(&m->arg[0]);
    } else if (m->nargs != 1 || !actors__hdr_topic(&m->h, &t, &tlen)) {
        brk_core_bad(core, m,
            "PUBLISH needs the topic after the header's request id and one "
            "frame, the body (or frames: header topic body)");
        return;
    }
    zmq_msg_t *bf = &m->arg[m->nargs - 1];
    if (!brk_topic_valid(t, tlen, false)) {
        brk_core_bad(core, m,
            "a topic is 1..255 bytes of non-empty dot-separated segments, "
            "no space or control byte, no wildcard");
        return;
    }
    if (tlen >= PS_OWN_LEN && memcmp(t, PS_OWN, PS_OWN_LEN) == 0) {
        /* Subscribers take these for the broker's word (lifecycle
         * events): no peer may speak for it. */
        brk_core_error(core, m->rid, m->delim, m->hdr, ACTORS_EFORBIDDEN, NULL,
            "topics under actors. are the broker's own (lifecycle events); "
            "publish under another name");
        return;
    }
    size_t blen = zmq_msg_size(bf);
    if (blen == 0) {
        brk_core_bad(core, m, "the body of PUBLISH is one msgpack value");
        return;
    }
    if (blen > core->opts.max_message) {
        brk_core_error(core, m->rid, m->delim, m->hdr, ACTORS_ETOOBIG, NULL,
            "event of %zu bytes exceeds the limit of %llu", blen,
            (unsigned long long)core->opts.max_message);
        return;
    }
    char topic[BRK_TOPIC_MAX + 1];
    memcpy(topic, t, tlen);
    topic[tlen] = '\0';
    /* The body as received carries its connection's metadata (libzmq's
     * ZMTP properties, reference-counted): a copy of it per delivery
     * takes a reference here and the I/O thread drops it, one cache line
     * bounced between two cores for every subscriber. A small body gets
     * a private copy, made once, that has none (docs/BENCHMARKS.md,
     * fan-out); a large one costs more to copy than that. */
    zmq_msg_t body;
    zmq_msg_init(&body);
    if (blen <= PS_COPY_MAX) {
        zmq_msg_close(&body);
        brk_core_body_from(&body, zmq_msg_data(bf), blen);
    } else {
        zmq_msg_copy(&body, bf);
    }
    uint32_t n = s_publish(self, topic, tlen, &body);
    zmq_msg_close(&body);
    if (m->h.id_len > 0 || m->delim) {
        msgpack_sbuffer_clear(&core->sbuf);
        msgpack_pack_uint32(&core->pk, n);
        brk_core_reply_packed(core, m);
    }
}

/* s_serves: connection ci serves entry ei: it registered it, or, for a
 * group (group.h), one of its members. */
static bool
s_serves(brk_broker_t *core, uint32_t ei, uint32_t ci)
{
    const brk_entry_t *e = brk_registry_at(&core->reg, ei);
    if (e->state != BRK_ENTRY_RUNNING) {
        return false;
    }
    if (!e->is_group) {
        return e->conn == ci;
    }
    for (uint32_t mi = e->first_member; mi != BRK_NONE;
         mi = brk_registry_at(&core->reg, mi)->member_next) {
        if (brk_registry_at(&core->reg, mi)->conn == ci) {
            return true;
        }
    }
    return false;
}

/* s_owner reads SUBSCRIBE/UNSUBSCRIBE's frames: the pattern into p, and
 * the owner. Answers and returns false when they are malformed or the
 * sender may not subscribe the address it names. */
static bool
s_owner(brk_pubsub_t *self, const brk_in_t *m, const char *what, char *p,
    size_t *plen, uint8_t *kind, uint32_t *owner)
{
    brk_broker_t *core = self->core;
    if (m->delim) {
        brk_core_bad(core, m,
            "publications cannot reach a REQ socket: subscribe from a "
            "DEALER");
        return false;
    }
    if (m->nargs != 1 && m->nargs != 2) {
        char text[96];
        snprintf(text, sizeof text, "%s needs frames: header pattern [address]",
            what);
        brk_core_bad(core, m, text);
        return false;
    }
    const char *pd = zmq_msg_data(&m->arg[0]);
    *plen = zmq_msg_size(&m->arg[0]);
    if (!brk_topic_valid(pd, *plen, true)) {
        brk_core_bad(core, m,
            "a pattern is 1..255 bytes of non-empty dot-separated segments, "
            "no space or control byte; '*' is one segment, '>' the last "
            "and the rest");
        return false;
    }
    memcpy(p, pd, *plen);
    p[*plen] = '\0';
    if (m->nargs == 1) {
        *kind = (m->h.flags & ACTORS__FLAG_STREAM) && self->stream != NULL
                    ? PS_STREAM
                    : PS_CONN;
        *owner = brk_core_sender(core, m);
        return true;
    }
    size_t alen = zmq_msg_size(&m->arg[1]);
    if (alen == 0 || alen > ACTORS_WIRE_NAME_MAX) {
        char text[96];
        snprintf(text, sizeof text, "%s's address is 1..%d bytes", what,
            ACTORS_WIRE_NAME_MAX);
        brk_core_bad(core, m, text);
        return false;
    }
    uint32_t ci = brk_core_sender(core, m);
    uint32_t ei = brk_registry_find(&core->reg, zmq_msg_data(&m->arg[1]), alen);
    if (ci == BRK_NONE || ei == BRK_NONE || !s_serves(core, ei, ci)) {
        char address[256];
        brk_core_frame_str(&m->arg[1], address, sizeof address);
        brk_core_error(core, m->rid, m->delim, m->hdr, ACTORS_EFORBIDDEN,
            address,
            "only the connection that registered %s (a member, for a "
            "group) may subscribe it",
            address);
        return false;
    }
    *kind = PS_ADDR;
    *owner = ei;
    return true;
}

static void
s_reply_uint(brk_broker_t *core, const brk_in_t *m, uint32_t n)
{
    msgpack_sbuffer_clear(&core->sbuf);
    msgpack_pack_uint32(&core->pk, n);
    brk_core_reply_packed(core, m);
}

/* s_reply_new answers SUBSCRIBE for row i: n (1 new, 0 had it), and for
 * a subscription on the stream {"new": n, "stream": endpoint, "ticket":
 * the row's ticket} (PROTOCOL.md, "Event streams"). */
static void
s_reply_new(brk_pubsub_t *self, const brk_in_t *m, uint32_t i, uint32_t n)
{
    brk_broker_t *core = self->core;
    const ps_sub_t *s = &self->v[i];
    if (s->kind != PS_STREAM) {
        s_reply_uint(core, m, n);
        return;
    }
    msgpack_sbuffer_clear(&core->sbuf);
    msgpack_pack_map(&core->pk, 3);
    brk_core_pack_str(&core->pk, "new");
    msgpack_pack_uint32(&core->pk, n);
    brk_core_pack_str(&core->pk, "stream");
    brk_core_pack_str(&core->pk, brk_stream_endpoint(self->stream));
    brk_core_pack_str(&core->pk, "ticket");
    msgpack_pack_bin(&core->pk, sizeof s->ticket);
    msgpack_pack_bin_body(&core->pk, s->ticket, sizeof s->ticket);
    brk_core_reply_packed(core, m);
}

/* s_on_subscribe handles SUBSCRIBE: REPLY 1 for a new subscription, 0
 * for one the owner had already. */
static void
s_on_subscribe(void *arg, brk_broker_t *core, const brk_in_t *m)
{
    brk_pubsub_t *self = arg;
    char p[BRK_TOPIC_MAX + 1];
    size_t plen;
    uint8_t kind;
    uint32_t owner;
    if (!s_owner(self, m, "SUBSCRIBE", p, &plen, &kind, &owner)) {
        return;
    }
    uint32_t had =
        owner == BRK_NONE ? BRK_NONE : s_find(self, kind, owner, p, plen);
    /* A connection holds a pattern once: on the stream or not, as its
     * last SUBSCRIBE asked. */
    uint32_t other = kind == PS_ADDR || owner == BRK_NONE
                         ? BRK_NONE
                         : s_find(self, kind == PS_CONN ? PS_STREAM : PS_CONN,
                               owner, p, plen);
    if (had != BRK_NONE) {
        /* Already there: a connection's takes the new request id. */
        if (kind == PS_CONN) {
            ps_sub_t *s = &self->v[had];
            s->id_len = (uint8_t)m->h.id_len;
            memcpy(s->id, m->h.id, m->h.id_len);
            zmq_msg_close(&s->hdr); /* it carried the old id */
            zmq_msg_init(&s->hdr);
        }
        if (other != BRK_NONE) {
            s_del(self, other); /* never both; if so, the one asked for */
        }
        s_reply_new(self, m, had, 0);
        return;
    }
    /* The other kind's row, if any, is replaced: it does not count, and
     * it goes only once the new one is in (a refused SUBSCRIBE keeps
     * it). */
    uint32_t replaced = other != BRK_NONE;
    if ((owner != BRK_NONE &&
            s_count_of(self, kind, owner) - replaced >= BRK_PUBSUB_PER_OWNER) ||
        self->count - replaced >= BRK_PUBSUB_MAX) {
        brk_core_error(core, m->rid, m->delim, m->hdr, ACTORS_EFULL, NULL,
            "subscription table full: at most %u per subscriber, %u in all",
            BRK_PUBSUB_PER_OWNER, BRK_PUBSUB_MAX);
        return;
    }
    if (kind != PS_ADDR && brk_core_conn_claim(core, m, BRK_ROLE_SUBSCRIBER,
                               &owner) != ACTORS_OK) {
        brk_core_error(core, m->rid, m->delim, m->hdr, ACTORS_ENOMEM, NULL,
            "broker out of memory");
        return;
    }
    uint32_t i;
    if (s_add(self, kind, owner, p, plen, m, &i) != ACTORS_OK) {
        if (kind != PS_ADDR && s_count_of(self, kind, owner) == 0) {
            brk_core_conn_release(core, owner, BRK_ROLE_SUBSCRIBER);
        }
        brk_core_error(core, m->rid, m->delim, m->hdr, ACTORS_ENOMEM, NULL,
            "broker out of memory");
        return;
    }
    if (other != BRK_NONE) {
        s_del(self, other);
    }
    s_reply_new(self, m, i, other == BRK_NONE);
}

/* s_on_unsubscribe handles UNSUBSCRIBE: REPLY 1 if the subscription was
 * there, 0 if not. */
static void
s_on_unsubscribe(void *arg, brk_broker_t *core, const brk_in_t *m)
{
    brk_pubsub_t *self = arg;
    char p[BRK_TOPIC_MAX + 1];
    size_t plen;
    uint8_t kind;
    uint32_t owner;
    if (!s_owner(self, m, "UNSUBSCRIBE", p, &plen, &kind, &owner)) {
        return;
    }
    /* A connection's subscription to p ends, on the stream or not. */
    uint32_t n = 0;
    for (int k = 0; k < (kind == PS_ADDR ? 1 : 2) && owner != BRK_NONE; k++) {
        uint8_t kk = kind == PS_ADDR ? PS_ADDR : k == 0 ? PS_CONN : PS_STREAM;
        uint32_t i = s_find(self, kk, owner, p, plen);
        if (i != BRK_NONE) {
            s_del(self, i);
            n = 1;
        }
    }
    if (n && kind != PS_ADDR && s_count_of(self, kind, owner) == 0) {
        brk_core_conn_release(core, owner, BRK_ROLE_SUBSCRIBER);
    }
    s_reply_uint(core, m, n);
}

/* ------------------------------------------------------------ hooks */

static void
s_entry_buried(void *arg, uint32_t ei, const char *reason)
{
    brk_pubsub_t *self = arg;
    (void)reason;
    /* The address is not coming back: its subscriptions go (before the
     * supervision's hook publishes "buried", broker.c, so that the event
     * about its own burial is not queued to it). */
    s_del_owner(self, PS_ADDR, ei);
}

static void
s_entry_freed(void *arg, uint32_t ei)
{
    brk_pubsub_t *self = arg;
    s_del_owner(self, PS_ADDR, ei);
    if (ei < self->dropped_cap) {
        self->dropped[ei] = 0;
    }
}

static void
s_conn_gone(void *arg, uint32_t ci)
{
    brk_pubsub_t *self = arg;
    s_del_owner(self, PS_CONN, ci);
    s_del_owner(self, PS_STREAM, ci);
}

/* s_on_stream reads what the stream's peers sent up (stream.h): a
 * ticket's welcome subscribed redeems the ticket. libzmq has applied what
 * the SUB subscribed before it (its pattern's prefix) by then, so every
 * event sent after the welcome reaches that SUB; the welcome goes to the
 * SUBs that subscribed the ticket, its holder. Anything else is libzmq's
 * own business (a SUB gets what it subscribes: see stream.h). */
static void
s_on_stream(void *arg)
{
    brk_pubsub_t *self = arg;
    brk_stream_check(self->stream);
    uint8_t b[BRK_STREAM_SUB_MAX];
    size_t len;
    bool on;
    /* At most a batch a call: peers subscribing without pause must not
     * keep the loop from the ROUTER (the rest waits for the next call,
     * within BRK_CHECK_MS). */
    for (int n = 0;
         n < PS_STREAM_BATCH && brk_stream_recv(self->stream, &on, b, &len);
         n++) {
        if (len != ACTORS_WIRE_HDR_MIN + BRK_STREAM_TICKET ||
            memcmp(b, ACTORS_WIRE_SIG, ACTORS_WIRE_SIG_LEN) != 0 ||
            b[4] != ACTORS_CMD_PUBLICATION ||
            b[ACTORS_WIRE_HDR_MIN - 1] != BRK_STREAM_TICKET) {
            continue;
        }
        ps_sub_t *s = s_find_ticket(self, b + ACTORS_WIRE_HDR_MIN);
        if (s == NULL) {
            continue; /* its subscription ended, or a broker restarted */
        }
        if (!on) {
            /* The last SUB that held the ticket dropped it (it left, or
             * unsubscribed): nobody reads for this subscription until a
             * SUB redeems it again. */
            if (s->redeemed) {
                s->redeemed = false;
                self->pats[s->pat].redeemed--;
            }
            continue;
        }
        zmq_msg_t hdr;
        zmq_msg_t nil;
        zmq_msg_init_size(&hdr, len);
        memcpy(zmq_msg_data(&hdr), b, len);
        zmq_msg_init_size(&nil, 1);
        *(uint8_t *)zmq_msg_data(&nil) = 0xc0;
        brk_stream_send(self->stream, &hdr, &nil);
        zmq_msg_close(&hdr);
        zmq_msg_close(&nil);
        if (!s->redeemed) {
            s->redeemed = true;
            self->pats[s->pat].redeemed++;
        }
    }
}

/* s_tick checks the stream at every tick: a reload that revoked a key
 * closes its connections (stream.h) even with no peer stirring. */
static void
s_tick(void *arg)
{
    brk_pubsub_t *self = arg;
    if (self->stream != NULL) {
        brk_stream_check(self->stream);
    }
}

/* s_flush sends the stream's held events when the core sends its own. */
static void
s_flush(void *arg)
{
    brk_pubsub_t *self = arg;
    if (self->stream != NULL) {
        brk_stream_flush(self->stream);
    }
}

static void
s_pack_entry(void *arg, uint32_t ei, msgpack_packer *pk)
{
    brk_pubsub_t *self = arg;
    brk_core_pack_str(pk, "subscriptions");
    msgpack_pack_uint32(pk, s_count_of(self, PS_ADDR, ei));
    brk_core_pack_str(pk, "events_dropped");
    msgpack_pack_uint64(pk, ei < self->dropped_cap ? self->dropped[ei] : 0);
}

static void
s_destroy(void *arg)
{
    brk_pubsub_t *self = arg;
    for (uint32_t i = 0; i < self->used; i++) {
        if (self->v[i].kind != PS_FREE) {
            zmq_msg_close(&self->v[i].hdr);
        }
    }
    for (uint32_t i = 0; i < self->npats; i++) {
        if (self->pats[i].refs > 0) {
            zmq_msg_close(&self->pats[i].hdr);
        }
    }
    brk_stream_destroy(&self->stream);
    brk_idmap_fini(&self->tickets);
    brk_idmap_fini(&self->pat_map);
    actors__free(self->owners[0]);
    actors__free(self->owners[1]);
    brk_subindex_destroy(&self->rows);
    brk_subindex_destroy(&self->spat);
    actors__free(self->pats);
    actors__free(self->v);
    actors__free(self->dropped);
    actors__free(self);
}

actors_err
brk_pubsub_attach(brk_broker_t *core, brk_pubsub_t **out)
{
    brk_pubsub_t *self = actors__zalloc(sizeof *self);
    if (self == NULL) {
        return ACTORS_ENOMEM;
    }
    self->core = core;
    self->free_head = BRK_NONE;
    brk_idmap_init(&self->tickets, s_ticket_key, self);
    brk_idmap_init(&self->pat_map, s_pat_key, self);
    self->pats_free = BRK_NONE;
    if (brk_subindex_create(&self->rows) != ACTORS_OK ||
        brk_subindex_create(&self->spat) != ACTORS_OK) {
        s_destroy(self);
        return ACTORS_ENOMEM;
    }
    if (core->opts.stream_bind != NULL &&
        brk_stream_create(&self->stream, core, core->opts.stream_bind) !=
            ACTORS_OK) {
        s_destroy(self);
        return ACTORS_EIO;
    }
    brk_ext_t ext = {
        .self = self,
        .entry_buried_cb = s_entry_buried,
        .entry_freed_cb = s_entry_freed,
        .conn_gone_cb = s_conn_gone,
        .entry_fields = 2,
        .pack_entry_cb = s_pack_entry,
        .destroy_cb = s_destroy,
        .socks = {self->stream ? brk_stream_socket(self->stream, 0) : NULL,
            self->stream ? brk_stream_socket(self->stream, 1) : NULL},
        .sock_cb = s_on_stream,
        .tick_cb = s_tick,
        .flush_cb = s_flush,
    };
    if (brk_core_attach(core, &ext) != ACTORS_OK) {
        s_destroy(self);
        return ACTORS_ENOMEM;
    }
    brk_core_set_cmd(core, ACTORS_CMD_PUBLISH, s_on_publish, self);
    brk_core_set_cmd(core, ACTORS_CMD_SUBSCRIBE, s_on_subscribe, self);
    brk_core_set_cmd(core, ACTORS_CMD_UNSUBSCRIBE, s_on_unsubscribe, self);
    if (out != NULL) {
        *out = self;
    }
    return ACTORS_OK;
}
