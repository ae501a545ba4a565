/* libactors/src/actor_loop.h - posts, watched descriptors and worker threads
 * of an actor's loop. SPDX-License-Identifier: MIT
 *
 * actor_loop.c: the inbox (work other threads hand to the loop: posted
 * functions, deferred replies completed off the loop, methods finished by
 * workers) and the service's watched descriptors. actor_threads.c: the
 * worker threads of a service with max_concurrency > 1 or concurrency
 * groups. actor.c calls both from its loop. Private; never installed.
 *
 * The inbox is a mutex-protected FIFO plus an eventfd the loop polls; a
 * push writes the eventfd only when the FIFO was empty, and the loop looks
 * at an atomic count before taking the lock, so a loop with nothing posted
 * pays one relaxed load per turn.
 */
#ifndef ACTORS_ACTOR_LOOP_H
#define ACTORS_ACTOR_LOOP_H

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <zmq.h>

#include <actors/actor.h>
#include <actors/loop.h>

#include <actors-internal/wire.h>

struct actors__item;

typedef enum {
    ACTORS__POST_FN = 1, /* run fn(actor, arg) */
    ACTORS__POST_SEND,   /* send cmd/id/body if session is still current */
    ACTORS__POST_DONE,   /* a worker finished item: its outcome to send */
} actors__post_kind_t;

/* One piece of work for the loop. */
typedef struct actors__post {
    struct actors__post *next;
    uint8_t kind;                   /* actors__post_kind_t */
    actors_post_fn fn;              /* FN */
    void *arg;                      /* FN */
    uint64_t session;               /* SEND, DONE: the registration */
    uint8_t cmd;                    /* SEND, DONE: REPLY, ERROR; 0 none */
    uint8_t id_len;                 /* SEND: the broker's tag */
    uint8_t id[ACTORS_WIRE_ID_MAX]; /* SEND */
    zmq_msg_t body;                 /* SEND, DONE (when cmd != 0) */
    struct actors__item *item;      /* DONE: the message, owned */
} actors__post_t;

/* A watched descriptor. */
typedef struct {
    int id;          /* > 0; 0: free slot */
    int fd;          /* the service's */
    short events;    /* POLLIN | POLLOUT */
    short revents;   /* from the last poll, not yet delivered */
    actors_fd_fn fn; /* callback */
    void *arg;       /* its argument */
} actors__watch_t;

typedef struct actors__threads actors__threads_t;

/* The loop's share of an actor. Zeroed storage + actors__loop_init. */
typedef struct {
    pthread_mutex_t lock;       /* inbox, deferred list, closed */
    actors__post_t *head;       /* inbox FIFO */
    actors__post_t *tail;       /* its last */
    atomic_uint queued;         /* posts in the inbox */
    int wake_fd;                /* eventfd, readable while posts wait */
    bool closed;                /* the loop has stopped: posts refused */
    pthread_t thread;           /* the loop thread */
    actors__watch_t *watch;     /* watches, loop thread only */
    size_t nwatch;              /* slots in use (some may be free: id 0) */
    size_t watch_cap;           /* slots allocated */
    int next_watch;             /* last id handed out */
    bool watch_dirty;           /* a callback changed the list */
    struct pollfd *pfds;        /* s_wait's poll set, grown as needed */
    size_t pfd_cap;             /* its slots */
    actors__threads_t *threads; /* NULL: a single-threaded service */
} actors__loop_t;

/* actors__loop_init: the eventfd and the lock. Returns ACTORS_OK, EIO. */
actors_err actors__loop_init(actors__loop_t *self);

/* actors__loop_fini frees what is left (posts never run are dropped). */
void actors__loop_fini(actors__loop_t *self);

/* actors__loop_push hands p to the loop (any thread). Returns ACTORS_OK,
 * or ACTORS_ECLOSED (p untouched: the caller frees it). */
actors_err actors__loop_push(actors__loop_t *self, actors__post_t *p);

/* actors__loop_has_posts: something waits in the inbox (loop thread). */
bool actors__loop_has_posts(actors__loop_t *self);

/* actors__loop_run runs what is in the inbox and the callbacks of ready
 * watched descriptors (loop thread). */
void actors__loop_run(actors_actor_t *actor);

/* actors__loop_close refuses further posts, then runs what is queued. */
void actors__loop_close(actors_actor_t *actor);

/* actors__loop_pollset fills self->pfds from index first on with the wake
 * fd and the watched descriptors; returns the total count (first + n), or
 * first if it could not grow the set. */
size_t actors__loop_pollset(actors__loop_t *self, size_t first);

/* actors__loop_polled records the revents of the entries from first on
 * (after poll). */
void actors__loop_polled(actors__loop_t *self, size_t first, size_t n);

/* actors__loop_check_fds polls the watched descriptors without waiting
 * (the busy path: no poll of its own for a while). */
void actors__loop_check_fds(actors__loop_t *self);

/* actors__post_free closes p's body and frees it. */
void actors__post_free(actors__post_t *p);

/* ---- worker threads (actor_threads.c) ----------------------------------- */

/* actors__threads_start starts the workers of a service that asks for them
 * (max_concurrency > 1 or groups); self->loop.threads stays NULL for the
 * others. Returns ACTORS_OK, ACTORS_EINVAL (a bad group table), ENOMEM. */
actors_err actors__threads_start(actors_actor_t *self, uint32_t max_conc);

/* actors__threads_take takes a queued message that names method m: it
 * starts on a worker once its group has room (loop thread). */
void actors__threads_take(
    actors_actor_t *self, struct actors__item *it, const actors_method_t *m);

/* actors__threads_done handles a worker's DONE post (loop thread). */
void actors__threads_done(actors_actor_t *self, actors__post_t *p);

/* actors__threads_clear drops the messages waiting for room (a new
 * registration: the broker has answered them). */
void actors__threads_clear(actors_actor_t *self);

/* actors__threads_stop waits for the running methods and joins the
 * workers; their outcomes are in the inbox after it. */
void actors__threads_stop(actors_actor_t *self);

#endif
