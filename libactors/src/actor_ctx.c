/* libactors/src/actor_ctx.c - inside a method: results, errors, deferred
 * replies. SPDX-License-Identifier: MIT
 *
 * actor.c decodes a queued message and calls actors__ctx_run, which builds
 * the call's context on the stack, runs the method, and turns what the
 * method left in the context (a result, an error, or a deferral) into the
 * reply. A scalar result is encoded into the actor's reused builder; a
 * result the method built itself is taken over. A deferred reply is a
 * small heap object on the actor's list, carrying the broker's tag and the
 * session it belongs to: completing it after a re-registration (the
 * broker has answered that caller already) or after the actor unregistered
 * only frees it.
 *
 * On a worker thread (actor_threads.c) a method gets a context whose
 * scratch builder is the worker's, and its outcome is encoded into a frame
 * the loop sends (actors__ctx_run_worker). A deferred reply completed off
 * the loop thread is encoded the same way and posted (ACTORS__POST_SEND);
 * the loop checks its session when it sends it. The list of deferred
 * replies is under the loop's lock, as handles are made and completed on
 * any thread.
 */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <actors/log.h>

#include "actor_internal.h"
#include "msg_internal.h"
#include <actors-internal/alloc.h>

struct actors_ctx {
    uint32_t tag;               /* CTX_TAG */
    actors_actor_t *actor;      /* the running actor */
    const actors__item_t *item; /* the message being handled */
    const char *method;         /* the method's name (table) */
    const char *address;        /* target address, borrowed from the item */
    actors_msg_t *result;       /* NULL: nil */
    actors_msg_t *scratch;      /* reused builder: the actor's or a worker's */
    bool result_owned;          /* result is not actor->result */
    bool deferred;              /* actors_ctx_defer was called */
    bool has_error;             /* actors_ctx_error was called */
    uint64_t session;           /* the registration the call came in */
    char type[128];             /* error type */
    char message[1024];         /* error message */
};

struct actors_deferred {
    uint32_t tag;                   /* DEFERRED_TAG */
    actors_actor_t *actor;          /* owner */
    actors_deferred_t *prev;        /* actor->deferred list */
    actors_deferred_t *next;        /* actor->deferred list */
    uint64_t session;               /* stale after a re-registration */
    uint8_t id_len;                 /* broker tag length */
    uint8_t id[ACTORS_WIRE_ID_MAX]; /* broker tag */
};

static void
s_ctx_drop_result(actors_ctx_t *ctx)
{
    if (ctx->result_owned) {
        actors_msg_destroy(&ctx->result);
    }
    ctx->result = NULL;
    ctx->result_owned = false;
}

/* s_ctx_scratch returns the empty reused builder as the call's result. */
static actors_msg_t *
s_ctx_scratch(actors_ctx_t *ctx)
{
    assert(ctx);
    assert(ctx->tag == CTX_TAG);
    s_ctx_drop_result(ctx);
    actors_msg_reset(ctx->scratch);
    ctx->result = ctx->scratch;
    return ctx->result;
}

/* s_ctx_tell: the message is a tell, whose result nobody reads (s_finish
 * drops it), so the reply shorthands skip encoding it. */
static bool
s_ctx_tell(const actors_ctx_t *ctx)
{
    assert(ctx);
    assert(ctx->tag == CTX_TAG);
    return ctx->item->cmd == ACTORS_CMD_TELL;
}

/* s_ctx_check leaves the result nil when a shorthand failed. */
static actors_err
s_ctx_check(actors_ctx_t *ctx, actors_err rc)
{
    if (rc != ACTORS_OK) {
        s_ctx_drop_result(ctx);
    }
    return rc;
}

actors_err
actors_ctx_reply(actors_ctx_t *ctx, actors_msg_t **value_p)
{
    assert(ctx);
    assert(ctx->tag == CTX_TAG);
    assert(value_p);
    if (*value_p == NULL || actors_msg_count(*value_p) != 1) {
        return ACTORS_EINVAL;
    }
    if (s_ctx_tell(ctx)) {
        actors_msg_destroy(value_p);
        return ACTORS_OK;
    }
    s_ctx_drop_result(ctx);
    ctx->result = *value_p;
    ctx->result_owned = true;
    *value_p = NULL;
    return ACTORS_OK;
}

actors_err
actors_ctx_reply_int(actors_ctx_t *ctx, int64_t v)
{
    if (s_ctx_tell(ctx)) {
        return ACTORS_OK;
    }
    return s_ctx_check(ctx, actors_msg_add_int(s_ctx_scratch(ctx), v));
}

actors_err
actors_ctx_reply_double(actors_ctx_t *ctx, double v)
{
    if (s_ctx_tell(ctx)) {
        return ACTORS_OK;
    }
    return s_ctx_check(ctx, actors_msg_add_double(s_ctx_scratch(ctx), v));
}

actors_err
actors_ctx_reply_bool(actors_ctx_t *ctx, bool v)
{
    if (s_ctx_tell(ctx)) {
        return ACTORS_OK;
    }
    return s_ctx_check(ctx, actors_msg_add_bool(s_ctx_scratch(ctx), v));
}

actors_err
actors_ctx_reply_str(actors_ctx_t *ctx, const char *s)
{
    if (s_ctx_tell(ctx)) {
        return ACTORS_OK;
    }
    actors_msg_t *m = s_ctx_scratch(ctx);
    return s_ctx_check(
        ctx, s ? actors_msg_add_str(m, s) : actors_msg_add_nil(m));
}

actors_err
actors_ctx_reply_object(actors_ctx_t *ctx, const msgpack_object *v)
{
    if (s_ctx_tell(ctx)) {
        return ACTORS_OK;
    }
    actors_msg_t *m = s_ctx_scratch(ctx);
    return s_ctx_check(
        ctx, v ? actors_msg_add_object(m, v) : actors_msg_add_nil(m));
}

actors_err
actors__ctx_reply_raw(actors_ctx_t *ctx, const void *data, size_t len)
{
    if (s_ctx_tell(ctx)) {
        return ACTORS_OK;
    }
    return s_ctx_check(ctx, actors_msg_add_raw(s_ctx_scratch(ctx), data, len));
}

/* s_error_code is what actors_ctx_error returns for type. */
static actors_err
s_error_code(const char *type)
{
    return type ? actors_err_from_name(type, strlen(type)) : ACTORS_EAPP;
}

actors_err
actors_ctx_error(actors_ctx_t *ctx, const char *type, const char *fmt, ...)
{
    assert(ctx);
    assert(ctx->tag == CTX_TAG);
    snprintf(ctx->type, sizeof ctx->type, "%s",
        type ? type : actors_err_name(ACTORS_EAPP));
    ctx->message[0] = '\0';
    if (fmt != NULL) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ctx->message, sizeof ctx->message, fmt, ap);
        va_end(ap);
    }
    ctx->has_error = true;
    return s_error_code(type);
}

bool
actors_ctx_is_tell(const actors_ctx_t *ctx)
{
    assert(ctx);
    assert(ctx->tag == CTX_TAG);
    return ctx->item->cmd == ACTORS_CMD_TELL;
}

const char *
actors_ctx_topic(const actors_ctx_t *ctx)
{
    assert(ctx);
    assert(ctx->tag == CTX_TAG);
    return ctx->item->event ? ctx->item->method : NULL;
}

bool
actors_ctx_call_key(const actors_ctx_t *ctx, const void **key, size_t *len)
{
    assert(ctx);
    assert(ctx->tag == CTX_TAG);
    assert(key && len);
    /* zmq_msg_size and zmq_msg_data only read the frame. */
    zmq_msg_t *k = (zmq_msg_t *)&ctx->item->key;
    *len = zmq_msg_size(k);
    *key = *len > 0 ? zmq_msg_data(k) : NULL;
    return *len > 0;
}

const char *
actors_ctx_address(const actors_ctx_t *ctx)
{
    assert(ctx);
    assert(ctx->tag == CTX_TAG);
    return ctx->address;
}

const char *
actors_ctx_method(const actors_ctx_t *ctx)
{
    assert(ctx);
    assert(ctx->tag == CTX_TAG);
    return ctx->method;
}

actors_actor_t *
actors_ctx_actor(const actors_ctx_t *ctx)
{
    assert(ctx);
    assert(ctx->tag == CTX_TAG);
    return ctx->actor;
}

/* ---------------------------------------------------------------- deferred */

actors_err
actors_ctx_defer(actors_ctx_t *ctx, actors_deferred_t **out)
{
    assert(ctx);
    assert(ctx->tag == CTX_TAG);
    assert(out);
    *out = NULL;
    if (ctx->item->cmd != ACTORS_CMD_CALL || ctx->deferred) {
        return ACTORS_EINVAL;
    }
    actors_deferred_t *d = actors__zalloc(sizeof *d);
    if (d == NULL) {
        return ACTORS_ENOMEM;
    }
    actors_actor_t *a = ctx->actor;
    d->tag = DEFERRED_TAG;
    d->actor = a;
    d->session = ctx->session;
    d->id_len = ctx->item->id_len;
    memcpy(d->id, ctx->item->id, ctx->item->id_len);
    pthread_mutex_lock(&a->loop.lock);
    d->next = a->deferred;
    if (a->deferred != NULL) {
        a->deferred->prev = d;
    }
    a->deferred = d;
    pthread_mutex_unlock(&a->loop.lock);
    ctx->deferred = true;
    *out = d;
    return ACTORS_OK;
}

/* s_deferred_take unlinks *d_p and sets it to NULL. The caller frees it. */
static actors_deferred_t *
s_deferred_take(actors_deferred_t **d_p)
{
    assert(d_p);
    actors_deferred_t *d = *d_p;
    assert(d);
    assert(d->tag == DEFERRED_TAG);
    *d_p = NULL;
    actors_actor_t *a = d->actor;
    pthread_mutex_lock(&a->loop.lock);
    if (d->prev != NULL) {
        d->prev->next = d->next;
    } else {
        a->deferred = d->next;
    }
    if (d->next != NULL) {
        d->next->prev = d->prev;
    }
    d->prev = NULL;
    d->next = NULL;
    pthread_mutex_unlock(&a->loop.lock);
    return d;
}

static void
s_deferred_free(actors_deferred_t *d)
{
    d->tag = DEAD_TAG;
    actors__free(d);
}

/* s_deferred_live: the call is still the broker's to answer (same
 * session, actor not gone). */
static bool
s_deferred_live(const actors_deferred_t *d)
{
    const actors_actor_t *a = d->actor;
    return d->session == a->session && a->reg == REG_OK;
}

/* s_post_new makes a SEND post for d's call (off the loop thread). */
static actors__post_t *
s_post_new(const actors_deferred_t *d)
{
    actors__post_t *p = actors__zalloc(sizeof *p);
    if (p == NULL) {
        ACTORS_LOG(ACTORS_LOG_ERR, "ACT-DEFER-OOM",
            "address=%s a deferred reply was lost (out of memory)",
            d->actor->address);
        return NULL;
    }
    p->kind = ACTORS__POST_SEND;
    p->session = d->session;
    p->id_len = d->id_len;
    memcpy(p->id, d->id, d->id_len);
    zmq_msg_init(&p->body);
    return p;
}

/* s_post_push hands p to the loop and frees d. A post refused (the actor
 * has stopped: the broker answered the call) is dropped. */
static actors_err
s_post_push(actors_deferred_t *d, actors__post_t *p, actors_err rc)
{
    actors_actor_t *a = d->actor;
    s_deferred_free(d);
    if (p == NULL) {
        return ACTORS_ENOMEM;
    }
    if (actors__loop_push(&a->loop, p) != ACTORS_OK) {
        actors__post_free(p);
    }
    return rc;
}

void
actors__post_error(actors_actor_t *self, actors_msg_t *body, actors__post_t *p,
    actors_err code, const char *type, const char *message)
{
    zmq_msg_close(&p->body);
    zmq_msg_init(&p->body);
    p->cmd = 0;
    actors_msg_reset(body);
    if (actors__error_body(body, code, type, message, self->address) ==
            ACTORS_OK &&
        actors__msg_frame(body, false, &p->body) == ACTORS_OK) {
        p->cmd = ACTORS_CMD_ERROR;
    } else {
        zmq_msg_init(&p->body);
        ACTORS_LOG(ACTORS_LOG_ERR, "ACT-REPLY-OOM",
            "address=%s a reply was lost (out of memory)", self->address);
    }
}

/* s_post_value makes p a REPLY of the one value in v (NULL or empty:
 * nil). */
static actors_err
s_post_value(actors__post_t *p, actors_msg_t *v)
{
    static const uint8_t nil = 0xc0;
    zmq_msg_close(&p->body);
    actors_err rc;
    if (v == NULL || actors_msg_count(v) == 0) {
        rc = zmq_msg_init_size(&p->body, 1) == 0 ? ACTORS_OK : ACTORS_ENOMEM;
        if (rc == ACTORS_OK) {
            memcpy(zmq_msg_data(&p->body), &nil, 1);
        }
    } else {
        rc = actors__msg_frame(v, false, &p->body);
    }
    if (rc != ACTORS_OK) {
        zmq_msg_init(&p->body);
        p->cmd = 0;
        return rc;
    }
    p->cmd = ACTORS_CMD_REPLY;
    return ACTORS_OK;
}

/* s_post_raw makes p a REPLY of len encoded bytes. */
static actors_err
s_post_raw(actors__post_t *p, const void *raw, size_t len)
{
    zmq_msg_close(&p->body);
    if (zmq_msg_init_size(&p->body, len) != 0) {
        zmq_msg_init(&p->body);
        p->cmd = 0;
        return ACTORS_ENOMEM;
    }
    memcpy(zmq_msg_data(&p->body), raw, len);
    p->cmd = ACTORS_CMD_REPLY;
    return ACTORS_OK;
}

/* s_off_error completes d off the loop with an error. */
static actors_err
s_off_error(actors_deferred_t *d, actors_err code, const char *type,
    const char *message, const char *address, actors_err rc)
{
    actors__post_t *p = s_post_new(d);
    actors_msg_t *body = NULL;
    if (p != NULL && actors_msg_create(&body) == ACTORS_OK) {
        actors__post_error(d->actor, body, p, code, type, message);
        if (address != NULL && p->cmd != 0) {
            /* A forwarded error keeps the address it came from. */
            actors_msg_reset(body);
            zmq_msg_close(&p->body);
            zmq_msg_init(&p->body);
            p->cmd = 0;
            if (actors__error_body(body, code, type, message, address) ==
                    ACTORS_OK &&
                actors__msg_frame(body, false, &p->body) == ACTORS_OK) {
                p->cmd = ACTORS_CMD_ERROR;
            }
        }
    }
    actors_msg_destroy(&body);
    return s_post_push(d, p, rc);
}

actors_err
actors_deferred_reply(actors_deferred_t **d_p, actors_msg_t **value_p)
{
    actors_deferred_t *d = s_deferred_take(d_p);
    if (!actors_actor_on_loop(d->actor)) {
        actors_msg_t *v = value_p ? *value_p : NULL;
        if (v != NULL && actors_msg_count(v) != 1) {
            return s_off_error(d, ACTORS_EINTERNAL, NULL,
                "the deferred reply was not exactly one value", NULL,
                ACTORS_EINVAL);
        }
        actors__post_t *p = s_post_new(d);
        actors_err rc = p ? s_post_value(p, v) : ACTORS_ENOMEM;
        if (rc == ACTORS_OK && v != NULL) {
            actors_msg_destroy(value_p);
        }
        return s_post_push(d, p, rc);
    }
    actors_actor_t *a = d->actor;
    actors_err rc = ACTORS_OK;
    actors_msg_t *v = value_p ? *value_p : NULL;
    if (v != NULL && actors_msg_count(v) != 1) {
        rc = ACTORS_EINVAL;
    }
    if (s_deferred_live(d)) {
        if (rc != ACTORS_OK) {
            actors__actor_send_error(a, d->id, d->id_len, ACTORS_EINTERNAL,
                NULL, "the deferred reply was not exactly one value", NULL);
        } else {
            actors__actor_send_reply_msg(a, d->id, d->id_len, v);
        }
    }
    if (rc == ACTORS_OK && v != NULL) {
        actors_msg_destroy(value_p);
    }
    s_deferred_free(d);
    return rc;
}

actors_err
actors_deferred_error(
    actors_deferred_t **d_p, const char *type, const char *fmt, ...)
{
    actors_deferred_t *d = s_deferred_take(d_p);
    char message[1024];
    message[0] = '\0';
    if (fmt != NULL) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(message, sizeof message, fmt, ap);
        va_end(ap);
    }
    actors_err code = s_error_code(type);
    if (!actors_actor_on_loop(d->actor)) {
        return s_off_error(d, code, type ? type : actors_err_name(ACTORS_EAPP),
            message, NULL, ACTORS_OK);
    }
    if (s_deferred_live(d)) {
        actors__actor_send_error(d->actor, d->id, d->id_len, code,
            type ? type : actors_err_name(ACTORS_EAPP), message, NULL);
    }
    s_deferred_free(d);
    return ACTORS_OK;
}

actors_err
actors_deferred_forward(
    actors_deferred_t **d_p, const actors_future_t *resolved)
{
    actors_deferred_t *d = s_deferred_take(d_p);
    actors_actor_t *a = d->actor;
    actors_err rc = ACTORS_OK;
    const actors_error_t *err = resolved ? actors_future_error(resolved) : NULL;
    size_t len = 0;
    const void *raw =
        resolved && err == NULL ? actors_future_raw(resolved, &len) : NULL;
    if (!actors_actor_on_loop(a)) {
        if (err != NULL) {
            return s_off_error(d, actors_error_code(err),
                actors_error_type(err), actors_error_message(err),
                actors_error_address(err), ACTORS_OK);
        }
        if (raw == NULL) {
            return s_off_error(d, ACTORS_EINTERNAL, NULL,
                "forwarded a future that has not resolved", NULL,
                ACTORS_EINVAL);
        }
        actors__post_t *p = s_post_new(d);
        return s_post_push(d, p, p ? s_post_raw(p, raw, len) : ACTORS_ENOMEM);
    }
    bool live = s_deferred_live(d);
    if (err != NULL) {
        if (live) {
            actors__actor_send_error(a, d->id, d->id_len,
                actors_error_code(err), actors_error_type(err),
                actors_error_message(err), actors_error_address(err));
        }
    } else if (raw != NULL) {
        if (live) {
            actors__actor_send_reply(a, d->id, d->id_len, raw, len);
        }
    } else {
        rc = ACTORS_EINVAL;
        if (live) {
            actors__actor_send_error(a, d->id, d->id_len, ACTORS_EINTERNAL,
                NULL, "forwarded a future that has not resolved", NULL);
        }
    }
    s_deferred_free(d);
    return rc;
}

actors_err
actors_actor_error(
    actors_actor_t *actor, const char *type, const char *fmt, ...)
{
    assert(actor);
    assert(actor->tag == ACTOR_TAG);
    snprintf(actor->err_type, sizeof actor->err_type, "%s",
        type ? type : actors_err_name(ACTORS_EAPP));
    actor->err_message[0] = '\0';
    if (fmt != NULL) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(actor->err_message, sizeof actor->err_message, fmt, ap);
        va_end(ap);
    }
    actor->has_err = true;
    return s_error_code(type);
}

/* s_finish sends the outcome of a method (or drops it for a tell). */
static void
s_finish(actors_actor_t *self, actors_ctx_t *ctx, actors_err rc)
{
    const actors__item_t *it = ctx->item;
    bool tell = it->cmd == ACTORS_CMD_TELL;
    if (ctx->deferred) {
        if (rc != ACTORS_OK) {
            ACTORS_LOG(ACTORS_LOG_WARN, "ACT-DEFER-RC",
                "address=%s method=%s rc=%s the method deferred and then "
                "failed; the deferred reply still decides",
                self->address, ctx->method, actors_err_name(rc));
        }
        return;
    }
    if (rc == ACTORS_OK) {
        if (!tell) {
            actors_msg_t *r = ctx->result;
            if (r != NULL && actors_msg_count(r) == 1) {
                actors__actor_send_reply_msg(self, it->id, it->id_len, r);
            } else if (r != NULL && actors_msg_count(r) != 0) {
                actors__actor_send_error(self, it->id, it->id_len,
                    ACTORS_EINTERNAL, NULL,
                    "the method's result was not exactly one value", NULL);
            } else {
                actors__actor_send_reply(self, it->id, it->id_len, NULL, 0);
            }
        }
        return;
    }
    const char *type = ctx->has_error ? ctx->type : actors_err_name(rc);
    const char *message = ctx->has_error ? ctx->message : actors_strerror(rc);
    if (tell) {
        actors__actor_tell_error(self, ctx->method, type, message);
        return;
    }
    actors__actor_send_error(self, it->id, it->id_len, rc, type, message, NULL);
}

bool
actors__ctx_run(actors_actor_t *self, const actors__item_t *it,
    const actors_method_t *m, const msgpack_object *args)
{
    actors_ctx_t ctx;
    ctx.tag = CTX_TAG;
    ctx.actor = self;
    ctx.item = it;
    ctx.method = m->name;
    ctx.address = it->address;
    ctx.result = NULL;
    ctx.scratch = self->result;
    ctx.result_owned = false;
    ctx.deferred = false;
    ctx.has_error = false;
    ctx.session = self->session;
    /* Calls the method makes carry what remains of its caller's deadline
     * unless they name their own (deadline.c). */
    actors__inherit_t was = actors__client_inherit(
        self->client, (actors__inherit_t){true, 0, it->deadline});
    actors_err rc = ACTORS_OK;
    if (self->before_call == NULL ||
        !self->before_call(&ctx, self->before_arg, &rc)) {
        rc = m->fn(&ctx, args, self->state);
    }
    actors__client_inherit(self->client, was);
    s_finish(self, &ctx, rc);
    s_ctx_drop_result(&ctx);
    ctx.tag = DEAD_TAG;
    return !ctx.deferred && it->cmd == ACTORS_CMD_CALL;
}

int64_t
actors_ctx_remaining_ms(const actors_ctx_t *ctx)
{
    assert(ctx && ctx->tag == CTX_TAG);
    if (ctx->item->deadline == 0) {
        return -1;
    }
    int64_t left = ctx->item->deadline - actors__now_ms();
    return left > 0 ? left : 0;
}

void
actors__ctx_run_worker(actors_actor_t *self, actors_msg_t *scratch,
    actors_msg_t *errbody, const actors__item_t *it, const msgpack_object *args,
    actors__post_t *p)
{
    actors_ctx_t ctx;
    ctx.tag = CTX_TAG;
    ctx.actor = self;
    ctx.item = it;
    ctx.method = it->m->name;
    ctx.address = it->address;
    ctx.result = NULL;
    ctx.scratch = scratch;
    ctx.result_owned = false;
    ctx.deferred = false;
    ctx.has_error = false;
    ctx.session = p->session;
    actors_err rc = it->m->fn(&ctx, args, self->state);
    p->cmd = 0;
    bool tell = it->cmd == ACTORS_CMD_TELL;
    if (ctx.deferred) {
        if (rc != ACTORS_OK) {
            ACTORS_LOG(ACTORS_LOG_WARN, "ACT-DEFER-RC",
                "address=%s method=%s rc=%s the method deferred and then "
                "failed; the deferred reply still decides",
                self->address, ctx.method, actors_err_name(rc));
        }
    } else if (rc == ACTORS_OK) {
        actors_msg_t *r = ctx.result;
        if (tell) {
            /* nothing to send */
        } else if (r != NULL && actors_msg_count(r) > 1) {
            actors__post_error(self, errbody, p, ACTORS_EINTERNAL, NULL,
                "the method's result was not exactly one value");
        } else if (s_post_value(p, r) != ACTORS_OK) {
            actors__post_error(self, errbody, p, ACTORS_ENOMEM, NULL, NULL);
        }
    } else {
        const char *type = ctx.has_error ? ctx.type : actors_err_name(rc);
        const char *message = ctx.has_error ? ctx.message : actors_strerror(rc);
        if (tell) {
            actors__actor_tell_error(self, ctx.method, type, message);
        } else {
            actors__post_error(self, errbody, p, rc, type, message);
        }
    }
    s_ctx_drop_result(&ctx);
    ctx.tag = DEAD_TAG;
}

void
actors__deferred_free_all(actors_actor_t *self)
{
    while (self->deferred != NULL) {
        actors_deferred_t *d = self->deferred;
        s_deferred_free(s_deferred_take(&d));
    }
}
