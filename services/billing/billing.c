/* services/billing/billing.c - bills what orders announces, as a group
 * of workers: the queue-group half of the event-driven example (README,
 * "A quick tour"; docs/EVENTS.md).
 * SPDX-License-Identifier: MIT
 *
 * Meant to run as several members of one group address (`--group`, or
 * `replicas = N` with `group = true` in a supervisor config). Its topics
 * table subscribes the address to orders.created; for a group that is
 * one subscription, and the broker hands each event to one member. Each
 * member keeps its own ledger (state is per process, never shared): the
 * ids it billed, once per id, in the order they first came. Methods, all
 * of the member that answers: billed() the number of orders it billed,
 * events() the events it received, ids() the ids it billed, pid() its
 * process id (to tell the members apart). It does not acknowledge: that
 * is shipping's part.
 * Schema: schemas/billing.json.
 */
#include "billing.h"

#include <stdlib.h>
#include <unistd.h>

#define BILLING_IDS_MAX 100000

typedef struct {
    int64_t *ids; /* BILLING_IDS_MAX, in arrival order */
    size_t nids;
    uint64_t events;
} billing_t;

static bool
s_billed(const billing_t *self, int64_t id)
{
    for (size_t i = self->nids; i > 0; i--) {
        if (self->ids[i - 1] == id) {
            return true;
        }
    }
    return false;
}

/* s_on_created handles orders.created {id, ...}: bills id once. */
static actors_err
s_on_created(actors_ctx_t *ctx, const msgpack_object *data, void *state)
{
    billing_t *self = state;
    self->events++;
    int64_t id = 0;
    if (actors_value_int(actors_map_get(data, "id"), &id) != ACTORS_OK) {
        return actors_ctx_error(ctx, "WrongArguments",
            "%s: an order event needs an integer id", actors_ctx_topic(ctx));
    }
    if (!s_billed(self, id) && self->nids < BILLING_IDS_MAX) {
        self->ids[self->nids++] = id;
    }
    return ACTORS_OK;
}

static actors_err
s_init(actors_actor_t *actor, const msgpack_object *args, void **state)
{
    if (actors_args_count(args) != 0) {
        return actors_actor_error(
            actor, "WrongArguments", "billing takes no arguments");
    }
    billing_t *self = calloc(1, sizeof *self);
    if (self == NULL ||
        (self->ids = calloc(BILLING_IDS_MAX, sizeof *self->ids)) == NULL) {
        free(self);
        return ACTORS_ENOMEM;
    }
    *state = self;
    return ACTORS_OK;
}

static void
s_fini(void *state)
{
    billing_t *self = state;
    if (self != NULL) {
        free(self->ids);
        free(self);
    }
}

static actors_err
s_billed_count(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    (void)args;
    return actors_ctx_reply_int(ctx, (int64_t)((billing_t *)state)->nids);
}

static actors_err
s_events(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    (void)args;
    return actors_ctx_reply_int(ctx, (int64_t)((billing_t *)state)->events);
}

static actors_err
s_ids(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    billing_t *self = state;
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

static actors_err
s_pid(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    (void)args;
    (void)state;
    return actors_ctx_reply_int(ctx, (int64_t)getpid());
}

static const actors_method_t s_methods[] = {
    {"billed", s_billed_count},
    {"events", s_events},
    {"ids", s_ids},
    {"pid", s_pid},
    {NULL, NULL},
};

static const actors_topic_handler_t s_topics[] = {
    {"orders.created", s_on_created},
    {NULL, NULL},
};

const actors_service_t billing_service = {
    .name = "billing",
    .methods = s_methods,
    .init = s_init,
    .fini = s_fini,
    .topics = s_topics,
};
