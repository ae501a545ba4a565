/* services/store/store.c - the seed's FilePersistence as an actor.
 * SPDX-License-Identifier: MIT
 *
 * Methods exists(key), save(key, data), restore(key) and delete(key) over
 * actors/persist.h in snapshot style: save stores data (any msgpack value)
 * atomically and durably under key before it replies, restore returns it.
 * The backend is the one the environment selects (ACTORS_STATE_DIR or
 * ACTORS_REDIS), so the store can itself sit on Redis. The store keeps no
 * state between calls (each call opens the key, acts, closes it), so any
 * number of store processes may serve the same directory: run it as a
 * pool (store/1, store/2, store/3) and pick the member by key,
 * store/(crc32c(key) % 3 + 1) in docs/PERSISTENCE.md, so that one key's
 * saves stay ordered in one mailbox. Two members saving one key race
 * safely (atomic replace, never a mix): on files the one that finds the
 * key's lock held by the other is answered KeyLocked and writes nothing.
 * A full storage is answered DiskFull (a save then stored nothing: the
 * previous state stays), any other storage failure PersistenceError.
 * Schema: schemas/store.json.
 */
#include "store.h"

#include <string.h>

#include <actors/persist.h>

/* s_failure_type names a storage failure for the caller: DiskFull when
 * the storage is full, KeyLocked when another process holds the key (a
 * live account journaling it, or another member saving it this moment),
 * else PersistenceError. */
static const char *
s_failure_type(actors_err rc)
{
    return rc == ACTORS_ENOSPACE || rc == ACTORS_ELOCKED ? actors_err_name(rc)
                                                         : "PersistenceError";
}

/* s_open reads the key argument (arg 0 of n) and opens its state. */
static actors_err
s_open(actors_ctx_t *ctx, const msgpack_object *args, size_t n,
    actors_persist_t **out)
{
    const char *key = NULL;
    size_t len = 0;
    char buf[201];
    if (actors_args_count(args) != n ||
        actors_args_str(args, 0, &key, &len) != ACTORS_OK || len == 0 ||
        len >= sizeof buf || memchr(key, '\0', len) != NULL) {
        return actors_ctx_error(ctx, "WrongArguments",
            "%s takes a key (a string of 1..200 bytes)%s",
            actors_ctx_method(ctx), n == 2 ? " and the data" : "");
    }
    memcpy(buf, key, len);
    buf[len] = '\0';
    actors_persist_opts_t o = ACTORS_PERSIST_OPTS_INIT;
    actors_err rc = actors_persist_open(out, buf, &o);
    if (rc != ACTORS_OK) {
        return actors_ctx_error(ctx, s_failure_type(rc),
            "cannot open the state of key '%s': %s", buf, actors_strerror(rc));
    }
    return ACTORS_OK;
}

static actors_err
s_exists(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    (void)state;
    actors_persist_t *p = NULL;
    actors_err rc = s_open(ctx, args, 1, &p);
    if (rc != ACTORS_OK) {
        return rc;
    }
    bool exists = false;
    rc = actors_persist_exists(p, &exists);
    actors_persist_destroy(&p);
    if (rc != ACTORS_OK) {
        return actors_ctx_error(
            ctx, s_failure_type(rc), "exists failed: %s", actors_strerror(rc));
    }
    return actors_ctx_reply_bool(ctx, exists);
}

static actors_err
s_save(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    (void)state;
    actors_persist_t *p = NULL;
    actors_err rc = s_open(ctx, args, 2, &p);
    if (rc != ACTORS_OK) {
        return rc;
    }
    actors_msg_t *data = NULL;
    rc = actors_msg_create(&data);
    if (rc == ACTORS_OK) {
        rc = actors_msg_add_object(data, actors_args_at(args, 1));
    }
    if (rc == ACTORS_OK) {
        rc = actors_persist_save(
            p, actors_msg_data(data), actors_msg_size(data));
    }
    actors_msg_destroy(&data);
    actors_persist_destroy(&p);
    if (rc != ACTORS_OK) {
        return actors_ctx_error(
            ctx, s_failure_type(rc), "save failed: %s", actors_strerror(rc));
    }
    return ACTORS_OK; /* nil, once durable */
}

static actors_err
s_restore(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    (void)state;
    actors_persist_t *p = NULL;
    actors_err rc = s_open(ctx, args, 1, &p);
    if (rc != ACTORS_OK) {
        return rc;
    }
    actors_msg_t *data = NULL;
    rc = actors_persist_restore(p, &data);
    actors_persist_destroy(&p);
    if (rc == ACTORS_ENOACTOR) {
        return actors_ctx_error(
            ctx, "KeyError", "nothing is saved under this key");
    }
    if (rc == ACTORS_OK) {
        rc = actors_ctx_reply(ctx, &data);
    }
    actors_msg_destroy(&data);
    if (rc != ACTORS_OK) {
        return actors_ctx_error(
            ctx, s_failure_type(rc), "restore failed: %s", actors_strerror(rc));
    }
    return ACTORS_OK;
}

static actors_err
s_delete(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    (void)state;
    actors_persist_t *p = NULL;
    actors_err rc = s_open(ctx, args, 1, &p);
    if (rc != ACTORS_OK) {
        return rc;
    }
    rc = actors_persist_remove(p);
    actors_persist_destroy(&p);
    if (rc != ACTORS_OK) {
        return actors_ctx_error(
            ctx, s_failure_type(rc), "delete failed: %s", actors_strerror(rc));
    }
    return ACTORS_OK;
}

static actors_err
s_init(actors_actor_t *actor, const msgpack_object *args, void **state)
{
    *state = NULL;
    if (actors_args_count(args) != 0) {
        return actors_actor_error(
            actor, "WrongArguments", "store takes no arguments");
    }
    return ACTORS_OK;
}

static const actors_method_t s_methods[] = {
    {"exists", s_exists},
    {"save", s_save},
    {"restore", s_restore},
    {"delete", s_delete},
    {NULL, NULL},
};

const actors_service_t store_service = {
    .name = "store",
    .methods = s_methods,
    .init = s_init,
};
