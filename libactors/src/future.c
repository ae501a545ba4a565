/* libactors/src/future.c - the result of a call: outcome, callbacks, chains.
 * SPDX-License-Identifier: MIT
 *
 * A future is pending until client.c resolves it (reply, error reply, local
 * deadline) or it is made resolved (actors_future_resolved/failed). A
 * result is kept as the zmq_msg_t it arrived in and decoded on first use
 * into the future's msgpack_unpacked; a body that does not decode turns the
 * future into a BadMsgpack failure at that point, before anyone has seen a
 * result. actors_future_error only walks the body's headers (unpack.h) to
 * find that out, without decoding: a caller that checks for an error and
 * never reads the result (a tell-like call) pays no decode or allocation.
 *
 * Resolving runs on_done first, then every continuation link. A link either
 * calls a then-function and forwards the future it produced, or (fn NULL)
 * forwards: the waiting future takes this one as its src and reads its
 * outcome from it, so nothing is copied down a chain. Links hold a reference
 * on the future they resolve, so a chain is kept alive by its first future
 * (itself held by the client's pending table) even after the caller has
 * dropped every intermediate future.
 *
 * Waiting pumps the client (actors_client_poll) until the future is ready.
 */
#include <actors/future.h>

#include <assert.h>
#include <string.h>
#include <time.h>

#include <actors-internal/alloc.h>
#include "client_internal.h"
#include "deadline.h"
#include "future_internal.h"
#include <actors-internal/unpack.h>
#include "msg_internal.h"

struct actors__link {
    actors__link_t *next; /* next link of the same future */
    actors_then_fn fn;    /* NULL: forward the outcome unchanged */
    void *arg;            /* fn's argument */
    actors_future_t *out; /* resolved by this link; referenced */
};

static const uint8_t s_nil = 0xc0;

actors_err
actors__future_new(actors_client_t *client, actors_future_t **out)
{
    assert(out);
    actors_future_t *self =
        client != NULL ? actors__client_spare_take(client) : NULL;
    if (self != NULL) {
        memset(self, 0, sizeof *self);
    } else {
        self = actors__zalloc(sizeof *self);
    }
    if (self == NULL) {
        *out = NULL;
        return ACTORS_ENOMEM;
    }
    self->tag = ACTORS_FUTURE_TAG;
    self->refs = 1;
    self->heap_idx = ACTORS__NO_HEAP;
    self->lane = -1;
    msgpack_unpacked_init(&self->up);
    if (client != NULL) {
        actors__client_ref(client);
        self->client = client;
    }
    *out = self;
    return ACTORS_OK;
}

void
actors__future_ref(actors_future_t *self)
{
    assert(self && self->tag == ACTORS_FUTURE_TAG);
    self->refs++;
}

static void
s_free_links(actors__link_t *link)
{
    while (link != NULL) {
        actors__link_t *next = link->next;
        actors__future_unref(link->out);
        actors__free(link);
        link = next;
    }
}

void
actors__future_unref(actors_future_t *self)
{
    assert(self && self->tag == ACTORS_FUTURE_TAG);
    assert(self->refs > 0);
    if (--self->refs > 0) {
        return;
    }
    self->tag = 0xdeadbeef;
    if (self->has_body) {
        zmq_msg_close(&self->body);
    }
    msgpack_unpacked_destroy(&self->up);
    actors_error_destroy(&self->error);
    actors__link_t *links = self->links;
    self->links = NULL;
    s_free_links(links);
    if (self->src != NULL) {
        actors__future_unref(self->src);
    }
    actors_client_t *client = self->client;
    if (client == NULL) {
        actors__free(self);
        return;
    }
    if (!actors__client_spare_keep(client, self)) {
        actors__free(self);
    }
    actors__client_unref(client);
}

/* s_final follows src to the future that holds the outcome. */
static actors_future_t *
s_final(const actors_future_t *self)
{
    actors_future_t *f = (actors_future_t *)self;
    while (f->src != NULL) {
        f = f->src;
    }
    return f;
}

/* s_bad_body fails a future whose body is not one msgpack value. */
static void
s_bad_body(actors_future_t *f)
{
    f->state = ACTORS__FUTURE_FAILED;
    f->code = ACTORS_EMSGPACK;
    actors_error_create(&f->error, ACTORS_EMSGPACK, NULL,
        "the reply body is not valid msgpack", NULL);
}

/* s_check finds out, without decoding (no allocation), whether a
 * successful body is valid msgpack; one that is not fails the future with
 * BadMsgpack (as s_decode would). Enough for actors_future_error, which
 * only needs to know whether the future failed. */
static void
s_check(actors_future_t *f)
{
    if (f->state != ACTORS__FUTURE_OK || f->decoded || f->checked) {
        return;
    }
    size_t off = 0;
    if (actors__unpack_check(zmq_msg_data(&f->body), zmq_msg_size(&f->body),
            &off) == MSGPACK_UNPACK_SUCCESS) {
        f->checked = true;
        return;
    }
    f->decoded = true;
    s_bad_body(f);
}

/* s_decode decodes a successful body on first use; a body that is not
 * msgpack fails the future with BadMsgpack. */
static void
s_decode(actors_future_t *f)
{
    if (f->state != ACTORS__FUTURE_OK || f->decoded) {
        return;
    }
    f->decoded = true;
    size_t off = 0;
    const char *data = zmq_msg_data(&f->body);
    size_t len = zmq_msg_size(&f->body);
    /* A checked body skips the header walk (unpack.h) the second time. */
    msgpack_unpack_return ur =
        f->checked ? msgpack_unpack_next(&f->up, data, len, &off)
                   : actors__unpack_next(&f->up, data, len, &off);
    if (ur == MSGPACK_UNPACK_SUCCESS) {
        return;
    }
    msgpack_unpacked_destroy(&f->up);
    msgpack_unpacked_init(&f->up);
    s_bad_body(f);
}

/* s_outcome decodes if needed and returns the future holding the outcome. */
static actors_future_t *
s_outcome(const actors_future_t *self)
{
    actors_future_t *f = s_final(self);
    s_decode(f);
    return f;
}

static void s_settle(actors_future_t *self);

/* s_adopt resolves out with the outcome of from (resolved). */
static void
s_adopt(actors_future_t *out, actors_future_t *from)
{
    assert(out->state == ACTORS__FUTURE_PENDING);
    actors_future_t *f = s_final(from);
    actors__future_ref(f);
    out->src = f;
    out->state = f->state;
    s_settle(out);
}

/* s_fire runs one link of self (resolved). */
static void
s_fire(actors__link_t *link, actors_future_t *self)
{
    actors_future_t *out = link->out;
    if (out->state != ACTORS__FUTURE_PENDING) {
        return;
    }
    actors_future_t *f = s_outcome(self);
    if (link->fn == NULL || f->state == ACTORS__FUTURE_FAILED) {
        s_adopt(out, f);
        return;
    }
    actors_future_t *next = NULL;
    actors_err rc = link->fn(&f->up.data, link->arg, &next);
    if (rc != ACTORS_OK) {
        actors_future_destroy(&next);
        actors__future_resolve_error(out, rc, NULL, NULL);
        return;
    }
    if (next == NULL) {
        zmq_msg_t nil;
        zmq_msg_init_size(&nil, 1);
        memcpy(zmq_msg_data(&nil), &s_nil, 1);
        actors__future_resolve_body(out, &nil);
        return;
    }
    assert(next->tag == ACTORS_FUTURE_TAG);
    if (next->inh.set) {
        /* A step that named its own options passes them on. */
        out->inh = next->inh;
    }
    if (next->state != ACTORS__FUTURE_PENDING) {
        s_adopt(out, next);
        actors_future_destroy(&next);
        return;
    }
    actors__link_t *fwd = actors__zalloc(sizeof *fwd);
    if (fwd == NULL) {
        actors_future_destroy(&next);
        actors__future_resolve_error(out, ACTORS_ENOMEM, NULL, NULL);
        return;
    }
    if (out->client == NULL && next->client != NULL) {
        actors__client_ref(next->client);
        out->client = next->client;
    }
    actors__future_ref(out);
    fwd->out = out;
    fwd->next = next->links;
    next->links = fwd;
    actors_future_destroy(&next);
}

/* s_settle runs what waits for self, which has just resolved: on_done
 * (unless the caller dropped the future), then the links. */
static void
s_settle(actors_future_t *self)
{
    actors__future_ref(self); /* callbacks may destroy it */
    /* Calls made by the callbacks inherit this call's options. */
    actors_client_t *client = self->client;
    actors__inherit_t was = {false, 0, 0};
    if (client != NULL && self->inh.set) {
        was = actors__client_inherit(client, self->inh);
    }
    if (self->cb != NULL && !self->user_dropped) {
        actors_future_cb cb = self->cb;
        self->cb = NULL;
        cb(self, self->cb_arg);
    }
    while (self->links != NULL) {
        actors__link_t *link = self->links;
        self->links = link->next;
        s_fire(link, self);
        actors__future_unref(link->out);
        actors__free(link);
    }
    if (client != NULL && self->inh.set) {
        actors__client_inherit(client, was);
    }
    actors__future_unref(self);
}

void
actors__future_resolve_body(actors_future_t *self, zmq_msg_t *body)
{
    assert(self && self->tag == ACTORS_FUTURE_TAG);
    assert(self->state == ACTORS__FUTURE_PENDING);
    zmq_msg_init(&self->body);
    zmq_msg_move(&self->body, body);
    self->has_body = true;
    self->state = ACTORS__FUTURE_OK;
    s_settle(self);
}

void
actors__future_resolve_error(actors_future_t *self, actors_err code,
    actors_error_t *err, const char *message)
{
    assert(self && self->tag == ACTORS_FUTURE_TAG);
    assert(self->state == ACTORS__FUTURE_PENDING);
    if (err == NULL) {
        /* On OOM the future still fails, with its code and no details. */
        actors_error_create(&err, code, NULL, message, NULL);
    } else {
        code = actors_error_code(err);
    }
    self->error = err;
    self->code = code;
    self->state = ACTORS__FUTURE_FAILED;
    s_settle(self);
}

/* ---- public ------------------------------------------------------------ */

bool
actors_future_is_ready(const actors_future_t *self)
{
    assert(self && self->tag == ACTORS_FUTURE_TAG);
    return self->state != ACTORS__FUTURE_PENDING;
}

actors_err
actors_future_wait(actors_future_t *self, int timeout_ms)
{
    assert(self && self->tag == ACTORS_FUTURE_TAG);
    int64_t deadline = timeout_ms > 0 ? actors__now_ms() + timeout_ms : 0;
    bool pumped = false;
    for (;;) {
        if (self->state != ACTORS__FUTURE_PENDING) {
            return ACTORS_OK;
        }
        if (self->client == NULL || actors__client_is_closed(self->client)) {
            return ACTORS_ECLOSED;
        }
        int wait_ms = -1;
        if (timeout_ms >= 0) {
            int64_t left = timeout_ms > 0 ? deadline - actors__now_ms() : 0;
            if (left <= 0 && pumped) {
                return ACTORS_ETIMEDOUT;
            }
            wait_ms = left > 0 ? (int)left : 0;
        }
        if (actors__client_would_block(self->client, wait_ms)) {
            return ACTORS_EDEADLK; /* an actor's handler: see actor.h */
        }
        if (actors_client_poll(self->client, wait_ms) == ACTORS_ECLOSED) {
            return self->state != ACTORS__FUTURE_PENDING ? ACTORS_OK
                                                         : ACTORS_ECLOSED;
        }
        pumped = true;
    }
}

actors_err
actors_future_get(
    actors_future_t *self, int timeout_ms, const msgpack_object **result)
{
    assert(self && self->tag == ACTORS_FUTURE_TAG);
    actors_err rc = actors_future_wait(self, timeout_ms);
    if (rc != ACTORS_OK) {
        return rc;
    }
    actors_future_t *f = s_outcome(self);
    if (f->state == ACTORS__FUTURE_FAILED) {
        return f->code;
    }
    if (result != NULL) {
        *result = &f->up.data;
    }
    return ACTORS_OK;
}

const actors_error_t *
actors_future_error(const actors_future_t *self)
{
    assert(self && self->tag == ACTORS_FUTURE_TAG);
    if (self->state == ACTORS__FUTURE_PENDING) {
        return NULL;
    }
    actors_future_t *f = s_final(self);
    s_check(f);
    return f->state == ACTORS__FUTURE_FAILED ? f->error : NULL;
}

const msgpack_object *
actors_future_result(const actors_future_t *self)
{
    assert(self && self->tag == ACTORS_FUTURE_TAG);
    if (self->state == ACTORS__FUTURE_PENDING) {
        return NULL;
    }
    actors_future_t *f = s_outcome(self);
    return f->state == ACTORS__FUTURE_OK ? &f->up.data : NULL;
}

const void *
actors_future_raw(const actors_future_t *self, size_t *len)
{
    assert(self && self->tag == ACTORS_FUTURE_TAG);
    assert(len);
    *len = 0;
    if (self->state == ACTORS__FUTURE_PENDING) {
        return NULL;
    }
    actors_future_t *f = s_final(self);
    if (f->state != ACTORS__FUTURE_OK) {
        return NULL;
    }
    *len = zmq_msg_size(&f->body);
    return zmq_msg_data(&f->body);
}

actors_err
actors_future_on_done(actors_future_t *self, actors_future_cb cb, void *arg)
{
    assert(self && self->tag == ACTORS_FUTURE_TAG);
    assert(cb);
    if (self->cb_used) {
        return ACTORS_EINVAL;
    }
    self->cb_used = true;
    if (self->state != ACTORS__FUTURE_PENDING) {
        cb(self, arg);
        return ACTORS_OK;
    }
    self->cb = cb;
    self->cb_arg = arg;
    return ACTORS_OK;
}

actors_err
actors_future_then(
    actors_future_t *self, actors_then_fn fn, void *arg, actors_future_t **out)
{
    assert(self && self->tag == ACTORS_FUTURE_TAG);
    assert(out);
    *out = NULL;
    if (fn == NULL) {
        return ACTORS_EINVAL;
    }
    actors__link_t *link = actors__zalloc(sizeof *link);
    if (link == NULL) {
        return ACTORS_ENOMEM;
    }
    actors_future_t *chained = NULL;
    if (actors__future_new(self->client, &chained) != ACTORS_OK) {
        actors__free(link);
        return ACTORS_ENOMEM;
    }
    actors__future_ref(chained); /* the link's */
    chained->inh = self->inh;    /* the chain keeps the options */
    link->fn = fn;
    link->arg = arg;
    link->out = chained;
    if (self->state != ACTORS__FUTURE_PENDING) {
        actors__future_ref(self);
        actors__inherit_t was = {false, 0, 0};
        if (self->client != NULL && self->inh.set) {
            was = actors__client_inherit(self->client, self->inh);
        }
        s_fire(link, self);
        if (self->client != NULL && self->inh.set) {
            actors__client_inherit(self->client, was);
        }
        actors__future_unref(link->out);
        actors__free(link);
        actors__future_unref(self);
    } else {
        /* Appended, so continuations run in the order they were added. */
        actors__link_t **tail = &self->links;
        while (*tail != NULL) {
            tail = &(*tail)->next;
        }
        *tail = link;
    }
    *out = chained;
    return ACTORS_OK;
}

/* s_owner_client is the client of owner_of, or NULL. */
static actors_client_t *
s_owner_client(const actors_future_t *owner_of)
{
    if (owner_of == NULL) {
        return NULL;
    }
    assert(owner_of->tag == ACTORS_FUTURE_TAG);
    return owner_of->client;
}

actors_err
actors_future_resolved(const actors_future_t *owner_of, actors_msg_t **value_p,
    actors_future_t **out)
{
    assert(out);
    *out = NULL;
    actors_msg_t *value = value_p ? *value_p : NULL;
    if (value != NULL &&
        (actors_msg_count(value) != 1 || !actors__msg_is_complete(value))) {
        return ACTORS_EINVAL;
    }
    actors_future_t *self = NULL;
    if (actors__future_new(s_owner_client(owner_of), &self) != ACTORS_OK) {
        return ACTORS_ENOMEM;
    }
    zmq_msg_t body;
    actors_err rc;
    if (value == NULL) {
        rc = zmq_msg_init_size(&body, 1) == 0 ? ACTORS_OK : ACTORS_ENOMEM;
        if (rc == ACTORS_OK) {
            memcpy(zmq_msg_data(&body), &s_nil, 1);
        }
    } else {
        rc = actors__msg_frame(value, false, &body);
    }
    if (rc != ACTORS_OK) {
        actors__future_unref(self);
        return rc;
    }
    actors__future_resolve_body(self, &body);
    zmq_msg_close(&body);
    if (value_p != NULL) {
        actors_msg_destroy(value_p);
    }
    *out = self;
    return ACTORS_OK;
}

actors_err
actors_future_failed(const actors_future_t *owner_of, actors_err code,
    const char *type, const char *message, actors_future_t **out)
{
    assert(out);
    *out = NULL;
    actors_error_t *err = NULL;
    actors_err rc = actors_error_create(&err, code, type, message, NULL);
    if (rc != ACTORS_OK) {
        return rc;
    }
    actors_future_t *self = NULL;
    if (actors__future_new(s_owner_client(owner_of), &self) != ACTORS_OK) {
        actors_error_destroy(&err);
        return ACTORS_ENOMEM;
    }
    actors__future_resolve_error(self, code, err, NULL);
    *out = self;
    return ACTORS_OK;
}

actors_err
actors_future_wait_all(actors_future_t *const *fs, size_t n, int timeout_ms)
{
    assert(fs || n == 0);
    int64_t deadline = timeout_ms > 0 ? actors__now_ms() + timeout_ms : 0;
    for (size_t i = 0; i < n; i++) {
        int left = timeout_ms;
        if (timeout_ms > 0) {
            int64_t l = deadline - actors__now_ms();
            left = l > 0 ? (int)l : 0;
        }
        actors_err rc = actors_future_wait(fs[i], left);
        if (rc != ACTORS_OK) {
            return rc;
        }
    }
    return ACTORS_OK;
}

actors_err
actors_future_wait_any(
    actors_future_t *const *fs, size_t n, int timeout_ms, size_t *index)
{
    assert(fs || n == 0);
    int64_t deadline = timeout_ms > 0 ? actors__now_ms() + timeout_ms : 0;
    bool pumped = false;
    for (;;) {
        actors_client_t *client = NULL;
        for (size_t i = 0; i < n; i++) {
            assert(fs[i] && fs[i]->tag == ACTORS_FUTURE_TAG);
            if (fs[i]->state != ACTORS__FUTURE_PENDING) {
                if (index != NULL) {
                    *index = i;
                }
                return ACTORS_OK;
            }
            if (client == NULL) {
                client = fs[i]->client;
            }
        }
        if (client == NULL || actors__client_is_closed(client)) {
            return n == 0 ? ACTORS_EINVAL : ACTORS_ECLOSED;
        }
        int wait_ms = -1;
        if (timeout_ms >= 0) {
            int64_t left = timeout_ms > 0 ? deadline - actors__now_ms() : 0;
            if (left <= 0 && pumped) {
                return ACTORS_ETIMEDOUT;
            }
            wait_ms = left > 0 ? (int)left : 0;
        }
        if (actors__client_would_block(client, wait_ms)) {
            return ACTORS_EDEADLK;
        }
        actors_client_poll(client, wait_ms);
        pumped = true;
    }
}

void
actors_future_destroy(actors_future_t **self_p)
{
    assert(self_p);
    actors_future_t *self = *self_p;
    if (self == NULL) {
        return;
    }
    assert(self->tag == ACTORS_FUTURE_TAG);
    assert(!self->user_dropped);
    self->user_dropped = true;
    self->cb = NULL;
    *self_p = NULL;
    actors__future_unref(self);
}
