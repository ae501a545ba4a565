/* examples/service/kv.c - a key-value actor, built outside the tree
 * against the installed libactors (make; see docs/WRITING-A-SERVICE.md).
 * SPDX-License-Identifier: MIT
 *
 *   ./kv --address kv/1 [--broker EP] ['{"greeting": "hello"}']
 *
 * Methods: put(key, value) -> the previous value or nil; get(key) ->
 * the value, or KeyError; keys() -> [key, ...]; all() -> {key: value}.
 * Values are any msgpack value, kept as their encoded bytes.
 */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include <stdlib.h>
#include <string.h>

#include <actors/actors.h>

typedef struct entry {
    char *key;
    actors_msg_t *value; /* one value */
    struct entry *next;
} entry_t;

typedef struct {
    entry_t *head;
} kv_t;

static entry_t *
s_find(kv_t *kv, const char *key)
{
    for (entry_t *e = kv->head; e != NULL; e = e->next) {
        if (strcmp(e->key, key) == 0) {
            return e;
        }
    }
    return NULL;
}

/* s_put stores a copy of value under key; *old_p gets the previous value
 * (or NULL), which the caller then owns. */
static actors_err
s_put(kv_t *kv, const char *key, const msgpack_object *value,
    actors_msg_t **old_p)
{
    actors_msg_t *copy = NULL;
    actors_err rc = actors_msg_create(&copy);
    if (rc == ACTORS_OK) {
        rc = actors_msg_add_object(copy, value);
    }
    if (rc != ACTORS_OK) {
        actors_msg_destroy(&copy);
        return rc;
    }
    entry_t *e = s_find(kv, key);
    if (e == NULL) {
        e = calloc(1, sizeof *e);
        if (e == NULL || (e->key = strdup(key)) == NULL) {
            free(e);
            actors_msg_destroy(&copy);
            return ACTORS_ENOMEM;
        }
        e->next = kv->head;
        kv->head = e;
    }
    *old_p = e->value;
    e->value = copy;
    return ACTORS_OK;
}

static void s_fini(void *state);

static actors_err
s_init(actors_actor_t *actor, const msgpack_object *args, void **state)
{
    kv_t *kv = calloc(1, sizeof *kv);
    if (kv == NULL) {
        return ACTORS_ENOMEM;
    }
    /* An optional map of initial entries. */
    const msgpack_object *init = NULL, *k = NULL, *v = NULL;
    actors_err rc = ACTORS_OK;
    if (actors_args_count(args) > 0 &&
        actors_args_map(args, 0, &init) != ACTORS_OK) {
        rc = actors_actor_error(
            actor, "TypeError", "the constructor takes a map of entries");
    }
    for (size_t i = 0;
         rc == ACTORS_OK && actors_map_entry(init, i, &k, &v) == ACTORS_OK;
         i++) {
        char *key = NULL;
        actors_msg_t *old = NULL;
        if (actors_value_strdup(k, &key) != ACTORS_OK) {
            rc = actors_actor_error(actor, "TypeError", "keys are strings");
            break;
        }
        rc = s_put(kv, key, v, &old);
        actors_msg_destroy(&old);
        free(key);
    }
    if (rc != ACTORS_OK) {
        s_fini(kv);
        return rc;
    }
    *state = kv;
    return ACTORS_OK;
}

static void
s_fini(void *state)
{
    kv_t *kv = state;
    while (kv != NULL && kv->head != NULL) {
        entry_t *e = kv->head;
        kv->head = e->next;
        free(e->key);
        actors_msg_destroy(&e->value);
        free(e);
    }
    free(kv);
}

static actors_err
s_method_put(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    char *key = NULL;
    if (actors_args_count(args) != 2 ||
        actors_args_strdup(args, 0, &key) != ACTORS_OK) {
        return actors_ctx_error(ctx, "TypeError", "put(key: str, value)");
    }
    actors_msg_t *old = NULL;
    actors_err rc = s_put(state, key, actors_args_at(args, 1), &old);
    free(key);
    if (rc == ACTORS_OK && old != NULL) {
        rc = actors_ctx_reply(ctx, &old);
    }
    actors_msg_destroy(&old);
    return rc;
}

static actors_err
s_method_get(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    char *key = NULL;
    if (actors_args_strdup(args, 0, &key) != ACTORS_OK) {
        return actors_ctx_error(ctx, "TypeError", "get(key: str)");
    }
    entry_t *e = s_find(state, key);
    free(key);
    if (e == NULL) {
        return actors_ctx_error(ctx, "KeyError", "no such key");
    }
    actors_msg_t *copy = NULL;
    actors_err rc = actors_msg_create(&copy);
    if (rc == ACTORS_OK) {
        rc = actors_msg_add_raw(
            copy, actors_msg_data(e->value), actors_msg_size(e->value));
    }
    if (rc == ACTORS_OK) {
        rc = actors_ctx_reply(ctx, &copy);
    }
    actors_msg_destroy(&copy);
    return rc;
}

/* keys and all grow their result without counting the entries first. */
static actors_err
s_list(actors_ctx_t *ctx, kv_t *kv, bool with_values)
{
    actors_msg_t *out = NULL;
    actors_err rc = actors_msg_create(&out);
    if (rc == ACTORS_OK) {
        rc = with_values ? actors_msg_begin_map(out)
                         : actors_msg_begin_array(out);
    }
    for (entry_t *e = kv->head; rc == ACTORS_OK && e != NULL; e = e->next) {
        rc = actors_msg_add_str(out, e->key);
        if (rc == ACTORS_OK && with_values) {
            rc = actors_msg_add_raw(
                out, actors_msg_data(e->value), actors_msg_size(e->value));
        }
    }
    if (rc == ACTORS_OK) {
        rc = actors_msg_end(out);
    }
    if (rc == ACTORS_OK) {
        rc = actors_ctx_reply(ctx, &out);
    }
    actors_msg_destroy(&out);
    return rc;
}

static actors_err
s_method_keys(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    (void)args;
    return s_list(ctx, state, false);
}

static actors_err
s_method_all(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    (void)args;
    return s_list(ctx, state, true);
}

static const actors_method_t s_methods[] = {
    {.name = "put", .fn = s_method_put},
    {.name = "get", .fn = s_method_get},
    {.name = "keys", .fn = s_method_keys},
    {.name = "all", .fn = s_method_all},
    {.name = NULL},
};

static const actors_service_t s_kv = {
    .name = "kv",
    .methods = s_methods,
    .init = s_init,
    .fini = s_fini,
};

int
main(int argc, char **argv)
{
    return actors_service_main(&s_kv, argc, argv);
}
