/* libactors/src/future_internal.h - futures as the client sees them.
 * SPDX-License-Identifier: MIT
 *
 * The struct is shared by future.c (outcome, callbacks, chains, waiting)
 * and client.c (the pending-call table and the deadline lanes and heap, whose
 * bookkeeping fields live in the future so that neither needs a node of its
 * own). Private; never installed.
 *
 * References: the caller's (dropped by actors_future_destroy), the pending
 * table's while a call is outstanding, one per continuation link that will
 * resolve it, and one per future that took its outcome (src). The future is
 * freed when the last goes. Each future also holds a reference on its
 * client, so a client outlives the futures that name it (closed, but its
 * memory still valid).
 */
#ifndef ACTORS_FUTURE_INTERNAL_H
#define ACTORS_FUTURE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <zmq.h>

#include <actors/client.h>
#include <actors/future.h>

#define ACTORS_FUTURE_TAG 0xac7e0003u

typedef enum {
    ACTORS__FUTURE_PENDING = 0,
    ACTORS__FUTURE_OK,     /* body holds the result (or src has it) */
    ACTORS__FUTURE_FAILED, /* error/code hold the error (or src has it) */
} actors__future_state_t;

typedef struct actors__link actors__link_t;

/* What a call made with no timeout of its own inherits (client.c): set
 * says there is something to inherit; then deadline (monotonic ms, 0:
 * none) is the remaining time to carry, else timeout_ms (0: no deadline).
 * A running handler gives its caller's deadline; a future's callbacks and
 * continuations give the options of the call they follow. */
typedef struct {
    bool set;
    uint32_t timeout_ms;
    int64_t deadline;
} actors__inherit_t;

struct actors_future {
    uint32_t tag;             /* ACTORS_FUTURE_TAG while alive */
    uint32_t refs;            /* see the file comment */
    uint8_t state;            /* actors__future_state_t */
    bool user_dropped;        /* actors_future_destroy was called */
    bool decoded;             /* up holds the decoded body (or failed) */
    bool checked;             /* body known to be one valid msgpack value */
    bool has_body;            /* body is initialised */
    bool cb_used;             /* on_done was set once; never again */
    actors_client_t *client;  /* referenced; NULL for a free-standing one */
    uint64_t id;              /* request id while in the pending table */
    int64_t deadline;         /* local deadline (ms, monotonic); 0: none */
    size_t heap_idx;          /* slot in the client's deadline heap */
    actors_future_t *dl_prev; /* neighbours in a deadline lane */
    actors_future_t *dl_next; /* (client.c); NULL at the ends */
    int8_t lane;              /* its lane; -1: none (heap or no deadline) */
    zmq_msg_t body;           /* the reply body, as received */
    msgpack_unpacked up;      /* body decoded on first use */
    actors_err code;          /* when FAILED */
    actors_error_t *error;    /* when FAILED; NULL only after OOM */
    actors_future_t *src;     /* the outcome is src's (chains); referenced */
    actors_future_cb cb;      /* on_done, not yet run */
    void *cb_arg;             /* its argument */
    actors__link_t *links;    /* continuations waiting for this one */
    actors__inherit_t inh;    /* what calls in its callbacks inherit */
};

#define ACTORS__NO_HEAP SIZE_MAX

/* actors__future_new makes a pending future of client (may be NULL) with
 * one reference, the caller's. Returns ACTORS_OK or ACTORS_ENOMEM. */
actors_err actors__future_new(actors_client_t *client, actors_future_t **out);

/* actors__future_ref / actors__future_unref count references; the last
 * unref frees. */
void actors__future_ref(actors_future_t *self);
void actors__future_unref(actors_future_t *self);

/* actors__future_resolve_body resolves a pending future with the reply
 * body in *body (moved; *body is left empty) and runs its callbacks. */
void actors__future_resolve_body(actors_future_t *self, zmq_msg_t *body);

/* actors__future_resolve_error resolves a pending future with err (taken;
 * NULL: made from code, type and message) and runs its callbacks. */
void actors__future_resolve_error(actors_future_t *self, actors_err code,
    actors_error_t *err, const char *message);

/* Client side, for future.c: a reference on the client, and whether it is
 * closed (waiting on its futures then returns ACTORS_ECLOSED). */
void actors__client_ref(actors_client_t *self);
void actors__client_unref(actors_client_t *self);
bool actors__client_is_closed(const actors_client_t *self);

/* actors__client_inherit makes *in what calls of self with no timeout of
 * their own inherit, and returns what it was (to put back). Owner thread. */
actors__inherit_t actors__client_inherit(
    actors_client_t *self, actors__inherit_t in);

/* Freed futures of a client are kept on a bounded free list for its next
 * calls (no allocation per call). actors__client_spare_take returns one
 * (its memory only; the caller initialises it) or NULL;
 * actors__client_spare_keep takes a dead future's memory, or returns false
 * (client closed, list full) and the caller frees it. Owner thread. */
actors_future_t *actors__client_spare_take(actors_client_t *self);
bool actors__client_spare_keep(actors_client_t *self, actors_future_t *f);

#endif
