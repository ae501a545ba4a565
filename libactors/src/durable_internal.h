/* libactors/src/durable_internal.h - what the durable runtime's files
 * share: the handle, and the calls between the core (durable.c) and the
 * store-actor backend (durable_store.c).
 * SPDX-License-Identifier: MIT
 *
 * Private; never installed. Thread: everything runs on the owning actor's
 * loop thread (durable.h).
 */
#ifndef ACTORS_DURABLE_INTERNAL_H
#define ACTORS_DURABLE_INTERNAL_H

#include <actors/durable.h>
#include <actors/future.h>
#include <actors/persist.h>

#include "callwin.h"

/* A reply owed until change seq is durable. */
typedef struct {
    actors_deferred_t *d; /* the deferred call */
    actors_msg_t *result; /* its result (owned) */
    uint64_t seq;         /* the change it must wait for */
} actors__durable_owed_t;

/* A save in flight to the store actor. */
typedef struct actors__durable_save {
    actors_durable_t *owner;           /* the handle */
    uint64_t seq;                      /* the change it makes durable */
    actors_future_t *f;                /* the store's reply */
    struct actors__durable_save *next; /* owner->saves list */
} actors__durable_save_t;

struct actors_durable {
    actors_actor_t *actor;           /* owner (timers, client, exit) */
    const actors_persistence_t *how; /* the service's functions */
    void *state;                     /* the service's state */
    char *key;                       /* NULL: in memory only */
    actors_persist_t *persist;       /* file or Redis; NULL: none */
    char store[256];                 /* store actor address, or "" */
    bool restored;                   /* something stored was found */
    uint64_t seq;                    /* changes made */
    uint64_t durable;                /* changes durable */
    actors_persist_sync sync;        /* the journal's policy */
    bool dirty;                      /* snapshot style: state not saved */
    actors__durable_owed_t *owed;    /* replies waiting, seq ascending */
    size_t n_owed;                   /* entries in owed */
    size_t cap_owed;                 /* capacity of owed */
    bool flush_armed;                /* the flush timer is set */
    int timer;                       /* its id */
    int keep_timer;                  /* renews persist's lease; 0: none */
    actors__durable_save_t *saves;   /* saves in flight to the store */
    actors__callwin_t *win;          /* call keys: the journal's or own */
    actors__callwin_t own;           /* the store's: sent with each save */
    msgpack_zone zone;               /* decoding events and results */
    actors_msg_t *buf;               /* reused: a change's two values */
};

/* actors__durable_on_snapshot loads a stored state into the service's
 * state (how->load) and marks the handle restored; arg is the handle.
 * Returns ACTORS_EMSGPACK if load refused it. */
actors_err actors__durable_on_snapshot(void *arg, const msgpack_object *state);

/* actors__durable_pay answers the owed replies whose change is durable,
 * in order; with failed set, answers all of them type instead (why: what
 * failed; NULL: the code's text) and exits 1. */
void actors__durable_pay(actors_durable_t *self, actors_err failed,
    const char *type, const char *why);

/* ---- the store actors (durable_store.c) ---- */

/* actors__durable_store_open selects the store actor by spec (an address,
 * or PREFIX:N, the member picked by the key) and restores the state and
 * its call keys from it. On error it has called actors_actor_error
 * (WrongArguments for a bad spec, PersistenceError) and returns the
 * code. Thread: init. */
actors_err actors__durable_store_open(actors_durable_t *self, const char *spec);

/* actors__durable_store_put saves the state now and waits for the store's
 * acknowledgment (the initial state). Returns the call's outcome.
 * Thread: init (the loop is not running yet). */
actors_err actors__durable_store_put(actors_durable_t *self);

/* actors__durable_store_save sends the state as of change self->seq to the
 * store; its acknowledgment makes that change durable and pays the owed
 * replies (a failure answers them and exits 1). Returns ACTORS_OK once
 * sent, or why it could not be. Thread: handler. */
actors_err actors__durable_store_save(actors_durable_t *self);

/* actors__durable_store_drop abandons the saves still in flight (their
 * outcome unknown). Thread: fini. */
void actors__durable_store_drop(actors_durable_t *self);

#endif
