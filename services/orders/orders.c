/* services/orders/orders.c - takes orders and announces them: the
 * publishing half of the event-driven example (README, "Events").
 * SPDX-License-Identifier: MIT
 *
 * place(item, qty) gives the order an id, publishes
 * orders.created {id, item, qty, from} and keeps it pending until a
 * shipper calls ack(id). An order left unacknowledged for resend_ms
 * (constructor, default 2000) is published again, with resent = true,
 * by a periodic timer: shippers deduplicate by id. pending() lists the
 * ids not acknowledged. The state is not persistent: this is an example
 * of events, not of persistence (docs/PERSISTENCE.md).
 * Schema: schemas/orders.json.
 */
#include "orders.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ORDERS_PENDING_MAX 4096

typedef struct {
    int64_t id;
    char item[64];
    int64_t qty;
    int64_t sent_ms;
} order_t;

typedef struct {
    actors_actor_t *actor;
    int64_t next_id;
    int64_t resend_ms;
    order_t *pending; /* ORDERS_PENDING_MAX */
    size_t npending;
    uint64_t resent;
} orders_t;

static int64_t
s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

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

/* s_resend runs every resend_ms / 2: orders still pending after
 * resend_ms are announced again. */
static void
s_resend(actors_actor_t *actor, void *arg)
{
    (void)actor;
    orders_t *self = arg;
    int64_t now = s_now_ms();
    for (size_t i = 0; i < self->npending; i++) {
        order_t *o = &self->pending[i];
        if (now - o->sent_ms >= self->resend_ms &&
            s_announce(self, o, true) == ACTORS_OK) {
            o->sent_ms = now;
            self->resent++;
        }
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
    actors_err rc = actors_actor_timer_add(
        actor, (uint32_t)(resend / 2), true, s_resend, self, NULL);
    if (rc != ACTORS_OK) {
        free(self->pending);
        free(self);
        return rc;
    }
    *state = self;
    return ACTORS_OK;
}

static void
s_fini(void *state)
{
    orders_t *self = state;
    if (self != NULL) {
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
    o->sent_ms = s_now_ms();
    actors_err rc = s_announce(self, o, false);
    if (rc != ACTORS_OK) {
        return rc;
    }
    self->npending++;
    self->next_id++;
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
            self->pending[i] = self->pending[--self->npending];
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
};
