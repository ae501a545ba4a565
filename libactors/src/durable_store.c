/* libactors/src/durable_store.c - the durable runtime's store-actor
 * backend (durable_internal.h): the member picked by key, the state and
 * its call keys restored from it at open, and every change's state sent
 * with those keys as one value, durable once the store acknowledges it.
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <actors/actor.h>
#include <actors/client.h>

#include "actor_internal.h"
#include "durable_internal.h"
#include <actors-internal/alloc.h>

/* s_store_address picks the store actor from spec: an address
 * ("store/2"), or "PREFIX:N" for a pool PREFIX/1..PREFIX/N, the member
 * chosen by the FNV-1a hash of the key (one key, one member, so its saves
 * stay in order). Returns false for a malformed value. */
static bool
s_store_address(actors_durable_t *self, const char *spec)
{
    const char *colon = strrchr(spec, ':');
    if (colon == NULL) {
        return strlen(spec) < sizeof self->store &&
               snprintf(self->store, sizeof self->store, "%s", spec) > 0;
    }
    char *end = NULL;
    long n = strtol(colon + 1, &end, 10);
    if (colon == spec || *end != '\0' || n < 1 || n > 1000 ||
        (size_t)(colon - spec) > sizeof self->store - 8) {
        return false;
    }
    uint32_t h = 2166136261u;
    for (const char *k = self->key; *k; k++) {
        h = (h ^ (unsigned char)*k) * 16777619u;
    }
    snprintf(self->store, sizeof self->store, "%.*s/%ld", (int)(colon - spec),
        spec, (long)(h % (uint32_t)n) + 1);
    return true;
}

/* What the runtime sends the store actors: the state with the call keys
 * of the changes it holds, one value so that they are stored together
 * (atomically), {"actors.durable": 1, "state": STATE, "calls": [[KEY,
 * RESULT], ...]}. A stored value without the marker is a bare state (as
 * saved before the envelope, or by hand). */
#define S_MARK "actors.durable"
/* Call keys remembered through the store: the journal's default. */
#define S_STORE_WINDOW 1024

/* s_field finds key in map m (NULL: none). */
static const msgpack_object *
s_field(const msgpack_object *m, const char *key)
{
    size_t n = strlen(key);
    for (uint32_t i = 0; i < m->via.map.size; i++) {
        const msgpack_object *k = &m->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
            memcmp(k->via.str.ptr, key, n) == 0) {
            return &m->via.map.ptr[i].val;
        }
    }
    return NULL;
}

/* s_unwrap restores what the store returned: an envelope's call keys into
 * the window, and its state (or a bare state) through load. */
static actors_err
s_unwrap(actors_durable_t *self, const msgpack_object *v)
{
    if (v->type == MSGPACK_OBJECT_MAP && s_field(v, S_MARK) != NULL) {
        const msgpack_object *st = s_field(v, "state");
        const msgpack_object *calls = s_field(v, "calls");
        if (st == NULL || calls == NULL ||
            actors__callwin_load(self->win, calls) != ACTORS_OK) {
            return ACTORS_EMSGPACK;
        }
        v = st;
    }
    return actors__durable_on_snapshot(self, v);
}

/* s_store_args builds the arguments of a store save: the key, and the
 * state (save) with the window in the envelope. */
static actors_err
s_store_args(actors_durable_t *self, actors_msg_t **out)
{
    actors_msg_t *st = NULL;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    actors_err rc = self->how->save(self->state, &st);
    if (rc == ACTORS_OK) {
        int r = msgpack_pack_map(&pk, 3);
        r = r ? r : msgpack_pack_str_with_body(&pk, S_MARK, strlen(S_MARK));
        r = r ? r : msgpack_pack_int(&pk, 1);
        r = r ? r : msgpack_pack_str_with_body(&pk, "state", 5);
        r = r ? r
              : msgpack_sbuffer_write(
                    &sb, actors_msg_data(st), actors_msg_size(st));
        r = r ? r : msgpack_pack_str_with_body(&pk, "calls", 5);
        rc = r ? ACTORS_ENOMEM : actors__callwin_pack(self->win, &pk, &sb);
    }
    if (rc == ACTORS_OK) {
        rc = actors_msg_build(out, "s", self->key);
    }
    if (rc == ACTORS_OK) {
        rc = actors_msg_add_raw(*out, sb.data, sb.size);
    }
    if (rc != ACTORS_OK) {
        actors_msg_destroy(out);
    }
    actors_msg_destroy(&st);
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

/* s_store_call calls the store synchronously (init only: the loop is not
 * running yet, so nothing else waits). */
static actors_err
s_store_call(actors_durable_t *self, const char *method, actors_msg_t **args_p,
    actors_future_t **out)
{
    actors_call_opts_t o = ACTORS_CALL_OPTS_INIT;
    o.timeout_ms = 5000;
    o.route = self->key; /* a group of stores: one key, one member */
    o.route_len = strlen(self->key);
    actors_err rc = actors_client_call(
        actors_actor_client(self->actor), self->store, method, args_p, &o, out);
    if (rc == ACTORS_OK) {
        rc = actors_future_get(*out, 6000, NULL);
    }
    return rc;
}

/* s_open_store restores the state from the store actor (the seed's
 * restorestate through FilePersistence); KeyError: nothing saved yet. */
static actors_err
s_open_store(actors_durable_t *self)
{
    actors_msg_t *args = NULL;
    actors_future_t *f = NULL;
    actors_err rc = actors_msg_build(&args, "s", self->key);
    if (rc == ACTORS_OK) {
        rc = s_store_call(self, "restore", &args, &f);
    }
    actors_msg_destroy(&args);
    const actors_error_t *err = f != NULL ? actors_future_error(f) : NULL;
    if (rc == ACTORS_EAPP && err != NULL &&
        strcmp(actors_error_type(err), "KeyError") == 0) {
        rc = ACTORS_OK;
    } else if (rc == ACTORS_OK) {
        rc = s_unwrap(self, actors_future_result(f));
    }
    if (rc != ACTORS_OK) {
        rc = actors_actor_error(self->actor, "PersistenceError",
            "cannot restore %s key '%s' from %s: %s",
            self->actor->service->name, self->key, self->store,
            err != NULL ? actors_error_message(err) : actors_strerror(rc));
    }
    actors_future_destroy(&f);
    return rc;
}

actors_err
actors__durable_store_open(actors_durable_t *self, const char *spec)
{
    self->win = &self->own;
    actors_err rc = actors__callwin_init(&self->own, S_STORE_WINDOW);
    if (rc == ACTORS_OK) {
        rc = s_store_address(self, spec)
                 ? s_open_store(self)
                 : actors_actor_error(self->actor, "WrongArguments",
                       "ACTORS_PERSIST_STORE must be an address or "
                       "PREFIX:N");
    }
    return rc;
}

actors_err
actors__durable_store_put(actors_durable_t *self)
{
    actors_msg_t *args = NULL;
    actors_future_t *f = NULL;
    actors_err rc = s_store_args(self, &args);
    if (rc == ACTORS_OK) {
        rc = s_store_call(self, "save", &args, &f);
    }
    actors_msg_destroy(&args);
    actors_future_destroy(&f);
    return rc;
}

/* s_saved: the store answered a save (in order: one caller, one address). */
static void
s_saved(actors_future_t *f, void *arg)
{
    actors__durable_save_t *s = arg;
    actors_durable_t *self = s->owner;
    const actors_error_t *err = actors_future_error(f);
    actors_err rc = err == NULL ? ACTORS_OK : actors_error_code(err);
    char why[320] = "";
    if (err != NULL) {
        snprintf(why, sizeof why, "%s answered %s: %s", self->store,
            actors_error_type(err), actors_error_message(err));
    }
    if (rc == ACTORS_OK && s->seq > self->durable) {
        self->durable = s->seq;
    }
    for (actors__durable_save_t **p = &self->saves; *p != NULL;
         p = &(*p)->next) {
        if (*p == s) {
            *p = s->next;
            break;
        }
    }
    actors_future_destroy(&s->f);
    actors__free(s);
    actors__durable_pay(self, rc, "PersistenceError", why);
}

actors_err
actors__durable_store_save(actors_durable_t *self)
{
    actors__durable_save_t *s = actors__zalloc(sizeof *s);
    if (s == NULL) {
        return ACTORS_ENOMEM;
    }
    s->owner = self;
    s->seq = self->seq;
    actors_msg_t *args = NULL;
    actors_err rc = s_store_args(self, &args);
    if (rc == ACTORS_OK) {
        /* The key routes the save: to a group of stores (PROTOCOL.md,
         * "Groups") every save of one key goes to one member, in order. */
        actors_call_opts_t o = ACTORS_CALL_OPTS_INIT;
        o.route = self->key;
        o.route_len = strlen(self->key);
        rc = actors_client_call(actors_actor_client(self->actor), self->store,
            "save", &args, &o, &s->f);
    }
    actors_msg_destroy(&args);
    if (rc != ACTORS_OK) {
        actors__free(s);
        return rc;
    }
    s->next = self->saves;
    self->saves = s;
    actors_future_on_done(s->f, s_saved, s);
    return ACTORS_OK;
}

void
actors__durable_store_drop(actors_durable_t *self)
{
    while (self->saves != NULL) {
        actors__durable_save_t *s = self->saves;
        self->saves = s->next;
        actors_future_destroy(&s->f);
        actors__free(s);
    }
}
