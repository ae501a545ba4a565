/* services/shipping/shipping.c - ships what orders announces: the
 * subscribing half of the event-driven example (README, "Events").
 * SPDX-License-Identifier: MIT
 *
 * Its address subscribes to orders.created in the service's topics
 * table: each event comes through the address's mailbox, one at a time
 * between calls, and waits there while the actor restarts. An order is
 * shipped once per id (a re-sent announcement is counted, not shipped
 * again) and acknowledged with a tell of ack(id) to the address in the
 * event's "from", unless the constructor's ACK is false (the example's
 * way to show orders re-sending). Methods: shipped() the number of
 * orders shipped, events() the events received, ids() the ids in the
 * order they first came.
 * Schema: schemas/shipping.json.
 */
#include "shipping.h"

#include <stdlib.h>
#include <string.h>

#define SHIPPING_IDS_MAX 100000

typedef struct {
    actors_actor_t *actor;
    bool ack;
    int64_t *ids; /* SHIPPING_IDS_MAX, in arrival order */
    size_t nids;
    uint64_t events;
} shipping_t;

static bool
s_seen(const shipping_t *self, int64_t id)
{
    for (size_t i = self->nids; i > 0; i--) {
        if (self->ids[i - 1] == id) {
            return true;
        }
    }
    return false;
}

/* s_on_created handles orders.created {id, item, qty, from}. */
static actors_err
s_on_created(actors_ctx_t *ctx, const msgpack_object *data, void *state)
{
    shipping_t *self = state;
    self->events++;
    int64_t id = 0;
    const char *from = NULL;
    size_t flen = 0;
    if (actors_value_int(actors_map_get(data, "id"), &id) != ACTORS_OK) {
        return actors_ctx_error(ctx, "WrongArguments",
            "%s: an order event needs an integer id", actors_ctx_topic(ctx));
    }
    if (!s_seen(self, id) && self->nids < SHIPPING_IDS_MAX) {
        self->ids[self->nids++] = id;
    }
    if (self->ack &&
        actors_value_str(actors_map_get(data, "from"), &from, &flen) ==
            ACTORS_OK &&
        flen > 0 && flen < 256) {
        char to[256];
        memcpy(to, from, flen);
        to[flen] = '\0';
        actors_msg_t *args = NULL;
        if (actors_msg_build(&args, "I", id) == ACTORS_OK) {
            (void)actors_client_tell(
                actors_actor_client(self->actor), to, "ack", &args);
        }
        actors_msg_destroy(&args);
    }
    return ACTORS_OK;
}

static actors_err
s_init(actors_actor_t *actor, const msgpack_object *args, void **state)
{
    bool ack = true;
    size_t argc = actors_args_count(args);
    if (argc > 1 ||
        (argc == 1 && actors_args_bool(args, 0, &ack) != ACTORS_OK)) {
        return actors_actor_error(actor, "WrongArguments",
            "shipping takes one optional boolean: acknowledge orders");
    }
    shipping_t *self = calloc(1, sizeof *self);
    if (self == NULL ||
        (self->ids = calloc(SHIPPING_IDS_MAX, sizeof *self->ids)) == NULL) {
        free(self);
        return ACTORS_ENOMEM;
    }
    self->actor = actor;
    self->ack = ack;
    *state = self;
    return ACTORS_OK;
}

static void
s_fini(void *state)
{
    shipping_t *self = state;
    if (self != NULL) {
        free(self->ids);
        free(self);
    }
}

static actors_err
s_shipped(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    (void)args;
    return actors_ctx_reply_int(ctx, (int64_t)((shipping_t *)state)->nids);
}

static actors_err
s_events(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    (void)args;
    return actors_ctx_reply_int(ctx, (int64_t)((shipping_t *)state)->events);
}

static actors_err
s_ids(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    shipping_t *self = state;
    (void)args;
    actors_msg_t *r = NULL;
    actors_err rc = actors_msg_create(&r);
    if (rc == ACTORS_OK) {
        rc = actors_msg_add_array(r, (uint32_t)self->nids);
    }
    for (size_t i = 0; rc == ACTORS_OK && i < self->nids; i++) {
        rc = actors_msg_add_int(r, self->ids[i]);
    }
    if (rc == ACTORS_OK) {
        rc = actors_ctx_reply(ctx, &r);
    }
    actors_msg_destroy(&r);
    return rc;
}

static const actors_method_t s_methods[] = {
    {"shipped", s_shipped},
    {"events", s_events},
    {"ids", s_ids},
    {NULL, NULL},
};

static const actors_topic_handler_t s_topics[] = {
    {"orders.created", s_on_created},
    {NULL, NULL},
};

const actors_service_t shipping_service = {
    .name = "shipping",
    .methods = s_methods,
    .init = s_init,
    .fini = s_fini,
    .topics = s_topics,
};
