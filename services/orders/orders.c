/* services/orders/orders.c - takes orders and announces them: the
 * publishing half of the event-driven example (README, "Events").
 * SPDX-License-Identifier: MIT
 *
 * place(item, qty) gives the order an id, publishes
 * orders.created {id, item, qty, from} and keeps it pending until a
 * shipper calls ack(id). While orders are pending, a reminder "resend"
 * (actors/reminder.h; every resend_ms, constructor, default 2000)
 * publishes them again with resent = true; shippers deduplicate by id.
 * The pending orders are saved (actors/persist.h, key "orders/ADDRESS",
 * a snapshot per change) and the reminder is kept with them, so a crash
 * or a move loses no unacknowledged order: the restarted actor re-sends
 * them when the reminder fires. pending() lists the ids not acknowledged.
 * The handle is kept open: a timer renews its hold on the key (the Redis
 * lease; actors_persist_keep), and an actor that lost it to another
 * process exits KeyLocked rather than serve orders that may be stale.
 * Schema: schemas/orders.json.
 */
#include "orders.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <actors/log.h>
#include <actors/persist.h>

#define ORDERS_PENDING_MAX 4096

typedef struct {
    int64_t id;
    char item[64];
    int64_t qty;
} order_t;

typedef struct {
    actors_actor_t *actor;
    actors_persist_t *persist; /* the pending orders */
    int64_t next_id;
    int64_t resend_ms;
    order_t *pending; /* ORDERS_PENDING_MAX */
    size_t npending;
} orders_t;

/* s_announce publishes order o on orders.created. */
static actors_err
s_announce(orders_t *self, const order_t *o, bool resent)
{
    actors_msg_t *ev = NULL;
    actors_err rc = actors_msg_build(&ev, "{sIsssIsssb}", "id", o->id, "item",
        o->item, "qty", o->qty, "from", actors_actor_address(self->actor),
        "resent", (int)resent);
    if (rc == ACTORS_OK) {
        rc = actors_publish(
            actors_actor_client(self->actor), "orders.created", &ev, NULL);
    }
    actors_msg_destroy(&ev);
    return rc;
}

/* s_save stores next_id and the pending orders, durably. */
static actors_err
s_save(orders_t *self)
{
    actors_msg_t *m = NULL;
    actors_err rc = actors_msg_create(&m);
    if (rc == ACTORS_OK) {
        rc = actors_msg_add_map(m, 2);
    }
    if (rc == ACTORS_OK) {
        rc = actors_msg_add_str(m, "next");
    }
    if (rc == ACTORS_OK) {
        rc = actors_msg_add_int(m, self->next_id);
    }
    if (rc == ACTORS_OK) {
        rc = actors_msg_add_str(m, "pending");
    }
    if (rc == ACTORS_OK) {
        rc = actors_msg_add_array(m, (uint32_t)self->npending);
    }
    for (size_t i = 0; rc == ACTORS_OK && i < self->npending; i++) {
        const order_t *o = &self->pending[i];
        actors_msg_t *one = NULL;
        rc = actors_msg_build(&one, "[IsI]", o->id, o->item, o->qty);
        if (rc == ACTORS_OK) {
            rc = actors_msg_add_raw(
                m, actors_msg_data(one), actors_msg_size(one));
        }
        actors_msg_destroy(&one);
    }
    if (rc == ACTORS_OK) {
        rc = actors_persist_save(
            self->persist, actors_msg_data(m), actors_msg_size(m));
    }
    actors_msg_destroy(&m);
    return rc;
}

/* s_restore reads what s_save stored, if anything. */
static actors_err
s_restore(orders_t *self)
{
    actors_msg_t *m = NULL;
    actors_err rc = actors_persist_restore(self->persist, &m);
    if (rc == ACTORS_ENOACTOR) {
        return ACTORS_OK; /* a new actor */
    }
    if (rc != ACTORS_OK) {
        return rc;
    }
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    rc = ACTORS_EMSGPACK;
    if (msgpack_unpack_next(&up, actors_msg_data(m), actors_msg_size(m),
            NULL) == MSGPACK_UNPACK_SUCCESS) {
        const msgpack_object *p = actors_map_get(&up.data, "pending");
        if (actors_value_int(actors_map_get(&up.data, "next"),
                &self->next_id) == ACTORS_OK &&
            p != NULL && p->type == MSGPACK_OBJECT_ARRAY &&
            p->via.array.size <= ORDERS_PENDING_MAX) {
            rc = ACTORS_OK;
            for (uint32_t i = 0; i < p->via.array.size; i++) {
                const msgpack_object *one = &p->via.array.ptr[i];
                order_t *o = &self->pending[self->npending];
                const char *item = NULL;
                size_t len = 0;
                if (actors_args_int(one, 0, &o->id) == ACTORS_OK &&
                    actors_args_str(one, 1, &item, &len) == ACTORS_OK &&
                    len < sizeof o->item &&
                    actors_args_int(one, 2, &o->qty) == ACTORS_OK) {
                    memcpy(o->item, item, len);
                    o->item[len] = '\0';
                    self->npending++;
                }
            }
        }
    }
    msgpack_unpacked_destroy(&up);
    actors_msg_destroy(&m);
    return rc;
}

/* s_on_reminder: "resend" announces every pending order again. */
static actors_err
s_on_reminder(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    (void)ctx;
    (void)args;
    orders_t *self = state;
    for (size_t i = 0; i < self->npending; i++) {
        (void)s_announce(self, &self->pending[i], true);
    }
    if (self->npending == 0) {
        (void)actors_actor_reminder_cancel(self->actor, "resend");
    }
    return ACTORS_OK;
}

/* s_keep renews the key's lease (a timer, every ACTORS_PERSIST_KEEP_MS). */
static void
s_keep(actors_actor_t *actor, void *arg)
{
    orders_t *self = arg;
    if (self->persist != NULL &&
        actors_persist_keep(self->persist) == ACTORS_ELOCKED) {
        ACTORS_LOG(ACTORS_LOG_ERR, "ORD-LEASE-LOST",
            "address=%s another process has taken the pending orders' key "
            "(this one did not renew its lease in time); exiting",
            actors_actor_address(actor));
        actors_actor_exit(actor, ACTORS_EXIT_KEY_LOCKED);
    }
}

static actors_err
s_init(actors_actor_t *actor, const msgpack_object *args, void **state)
{
    int64_t resend = 2000;
    size_t argc = actors_args_count(args);
    if (argc > 1 ||
        (argc == 1 && (actors_args_int(args, 0, &resend) != ACTORS_OK ||
                          resend < 10 || resend > 3600000))) {
        return actors_actor_error(actor, "WrongArguments",
            "orders takes one optional integer: resend_ms, 10..3600000");
    }
    orders_t *self = calloc(1, sizeof *self);
    if (self == NULL || (self->pending = calloc(ORDERS_PENDING_MAX,
                             sizeof *self->pending)) == NULL) {
        free(self);
        return ACTORS_ENOMEM;
    }
    self->actor = actor;
    self->next_id = 1;
    self->resend_ms = resend;
    char key[300];
    snprintf(key, sizeof key, "orders/%s", actors_actor_address(actor));
    actors_persist_opts_t o = ACTORS_PERSIST_OPTS_INIT;
    (void)actors_persist_opts_from_env(&o);
    actors_err rc = actors_persist_open(&self->persist, key, &o);
    if (rc == ACTORS_OK) {
        rc = s_restore(self);
    }
    if (rc != ACTORS_OK) {
        actors_persist_destroy(&self->persist);
        free(self->pending);
        free(self);
        return actors_actor_error(actor,
            rc == ACTORS_ELOCKED ? "KeyLocked" : "PersistenceError",
            "orders: cannot restore the pending orders: %s",
            actors_strerror(rc));
    }
    /* The reminders are restored before init: a crash between storing
     * an order and setting the reminder left orders with none. */
    if (self->npending > 0 && actors_actor_reminder_count(actor) == 0) {
        (void)actors_actor_reminder_set(actor, "resend",
            (uint64_t)self->resend_ms, (uint64_t)self->resend_ms, NULL);
    }
    int keep = 0;
    if (actors_actor_timer_add(actor, ACTORS_PERSIST_KEEP_MS, true, s_keep,
            self, &keep) != ACTORS_OK) {
        actors_persist_destroy(&self->persist);
        free(self->pending);
        free(self);
        return actors_actor_error(actor, "PersistenceError",
            "orders: cannot schedule the renewal of its key's lease");
    }
    *state = self;
    return ACTORS_OK;
}

static void
s_fini(void *state)
{
    orders_t *self = state;
    if (self != NULL) {
        actors_persist_destroy(&self->persist);
        free(self->pending);
        free(self);
    }
}

static actors_err
s_place(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    orders_t *self = state;
    const char *item = NULL;
    size_t len = 0;
    int64_t qty = 0;
    if (actors_args_count(args) != 2 ||
        actors_args_str(args, 0, &item, &len) != ACTORS_OK || len == 0 ||
        len >= sizeof self->pending[0].item ||
        actors_args_int(args, 1, &qty) != ACTORS_OK || qty <= 0) {
        return actors_ctx_error(ctx, "WrongArguments",
            "place takes an item (1..63 bytes) and a quantity > 0");
    }
    if (self->npending == ORDERS_PENDING_MAX) {
        return actors_ctx_error(ctx, "Busy", "too many orders not shipped");
    }
    order_t *o = &self->pending[self->npending];
    memset(o, 0, sizeof *o);
    o->id = self->next_id;
    memcpy(o->item, item, len);
    o->qty = qty;
    self->npending++;
    self->next_id++;
    actors_err rc = s_save(self);
    if (rc == ACTORS_OK && actors_actor_reminder_count(self->actor) == 0) {
        rc = actors_actor_reminder_set(self->actor, "resend",
            (uint64_t)self->resend_ms, (uint64_t)self->resend_ms, NULL);
    }
    if (rc != ACTORS_OK) {
        self->npending--;
        self->next_id--;
        return actors_ctx_error(ctx, "PersistenceError",
            "the order was not stored: %s", actors_strerror(rc));
    }
    /* Stored first: an order announced is never forgotten. */
    (void)s_announce(self, o, false);
    return actors_ctx_reply_int(ctx, o->id);
}

static actors_err
s_ack(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    orders_t *self = state;
    int64_t id = 0;
    if (actors_args_count(args) != 1 ||
        actors_args_int(args, 0, &id) != ACTORS_OK) {
        return actors_ctx_error(ctx, "WrongArguments", "ack takes an order id");
    }
    for (size_t i = 0; i < self->npending; i++) {
        if (self->pending[i].id == id) {
            order_t gone = self->pending[i];
            self->pending[i] = self->pending[--self->npending];
            actors_err rc = s_save(self);
            if (rc != ACTORS_OK) {
                self->pending[self->npending++] = self->pending[i];
                self->pending[i] = gone;
                return actors_ctx_error(ctx, "PersistenceError",
                    "the ack was not stored: %s", actors_strerror(rc));
            }
            if (self->npending == 0) {
                (void)actors_actor_reminder_cancel(self->actor, "resend");
            }
            return actors_ctx_reply_bool(ctx, true);
        }
    }
    return actors_ctx_reply_bool(ctx, false);
}

static actors_err
s_pending(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    orders_t *self = state;
    (void)args;
    actors_msg_t *r = NULL;
    actors_err rc = actors_msg_create(&r);
    if (rc == ACTORS_OK) {
        rc = actors_msg_add_array(r, (uint32_t)self->npending);
    }
    for (size_t i = 0; rc == ACTORS_OK && i < self->npending; i++) {
        rc = actors_msg_add_int(r, self->pending[i].id);
    }
    if (rc == ACTORS_OK) {
        rc = actors_ctx_reply(ctx, &r);
    }
    actors_msg_destroy(&r);
    return rc;
}

static const actors_method_t s_methods[] = {
    {"place", s_place},
    {"ack", s_ack},
    {"pending", s_pending},
    {NULL, NULL},
};

const actors_service_t orders_service = {
    .name = "orders",
    .methods = s_methods,
    .init = s_init,
    .fini = s_fini,
    .on_reminder = s_on_reminder,
};
