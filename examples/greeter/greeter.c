/* examples/greeter/greeter.c - a service of your own, outside the
 * framework's tree, built into your own image (docs/DEPLOYMENT.md, "Your
 * own services in the stack").
 * SPDX-License-Identifier: MIT
 *
 *   greeter --broker EP --address ADDRESS [GREETING]
 *
 * greet(name) answers "GREETING, NAME!" (GREETING defaults to "hello")
 * and counts the greetings; count() answers how many so far. Built with
 * the SDK image's actors-cc (docker/Dockerfile, target sdk):
 *
 *   actors-cc -o greeter greeter.c
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <actors/actors.h>

typedef struct {
    char greeting[64];
    int64_t count;
} greeter_t;

static actors_err
s_init(actors_actor_t *actor, const msgpack_object *args, void **state)
{
    const char *g = "hello";
    size_t n = 5;
    size_t argc = actors_args_count(args);
    if (argc > 1 ||
        (argc == 1 && actors_args_str(args, 0, &g, &n) != ACTORS_OK)) {
        return actors_actor_error(actor, "WrongArguments",
            "greeter takes one optional string: the greeting");
    }
    greeter_t *self = calloc(1, sizeof *self);
    if (self == NULL) {
        return ACTORS_ENOMEM;
    }
    snprintf(self->greeting, sizeof self->greeting, "%.*s", (int)n, g);
    *state = self;
    return ACTORS_OK;
}

static void
s_fini(void *state)
{
    free(state);
}

static actors_err
s_greet(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    greeter_t *self = state;
    const char *name = NULL;
    size_t len = 0;
    if (actors_args_count(args) != 1 ||
        actors_args_str(args, 0, &name, &len) != ACTORS_OK) {
        return actors_ctx_error(
            ctx, "WrongArguments", "greet takes one string: a name");
    }
    char text[256];
    snprintf(text, sizeof text, "%s, %.*s!", self->greeting,
        (int)(len > 128 ? 128 : len), name);
    self->count++;
    return actors_ctx_reply_str(ctx, text);
}

static actors_err
s_count(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    greeter_t *self = state;
    if (actors_args_count(args) != 0) {
        return actors_ctx_error(
            ctx, "WrongArguments", "count takes no arguments");
    }
    return actors_ctx_reply_int(ctx, self->count);
}

static const actors_method_t s_methods[] = {
    {"greet", s_greet},
    {"count", s_count},
    {NULL, NULL},
};

static const actors_service_t s_greeter = {
    .name = "greeter",
    .methods = s_methods,
    .init = s_init,
    .fini = s_fini,
};

int
main(int argc, char **argv)
{
    return actors_service_main(&s_greeter, argc, argv);
}
