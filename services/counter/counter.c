/* services/counter/counter.c - Dask's Counter as an actor.
 * SPDX-License-Identifier: MIT
 *
 * State: one integer. Constructor: an optional start (default 0).
 * increment() adds one and returns the new count; value() returns it.
 * Schema: schemas/counter.json.
 */
#include "counter.h"

#include <stdlib.h>

typedef struct {
    int64_t n; /* the count */
} counter_t;

static actors_err
s_init(actors_actor_t *actor, const msgpack_object *args, void **state)
{
    int64_t start = 0;
    size_t argc = actors_args_count(args);
    if (argc > 1 ||
        (argc == 1 && actors_args_int(args, 0, &start) != ACTORS_OK)) {
        return actors_actor_error(actor, "WrongArguments",
            "counter takes one optional integer: the start");
    }
    counter_t *c = calloc(1, sizeof *c);
    if (c == NULL) {
        return ACTORS_ENOMEM;
    }
    c->n = start;
    *state = c;
    return ACTORS_OK;
}

static void
s_fini(void *state)
{
    free(state);
}

static actors_err
s_increment(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    counter_t *c = state;
    if (actors_args_count(args) != 0) {
        return actors_ctx_error(
            ctx, "WrongArguments", "increment takes no arguments");
    }
    return actors_ctx_reply_int(ctx, ++c->n);
}

static actors_err
s_value(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    counter_t *c = state;
    if (actors_args_count(args) != 0) {
        return actors_ctx_error(
            ctx, "WrongArguments", "value takes no arguments");
    }
    return actors_ctx_reply_int(ctx, c->n);
}

static const actors_method_t s_methods[] = {
    {"increment", s_increment},
    {"value", s_value},
    {NULL, NULL},
};

const actors_service_t counter_service = {
    .name = "counter",
    .methods = s_methods,
    .init = s_init,
    .fini = s_fini,
};
