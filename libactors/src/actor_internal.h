/* libactors/src/actor_internal.h - between actor.c and actor_main.c.
 * SPDX-License-Identifier: MIT
 *
 * actor.c runs an actor; actor_main.c turns a command line into a run and
 * the run's outcome into an exit status. Private; never installed.
 */
#ifndef ACTORS_ACTOR_INTERNAL_H
#define ACTORS_ACTOR_INTERNAL_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <zmq.h>

#include <actors/actor.h>

#include "actor_loop.h"
#include "actor_timer.h"
#include <actors-internal/wire.h>

#include "deadline.h"

#define ACTOR_TAG 0xac7a0001u    /* live actors_actor_t */
#define CTX_TAG 0xac7a0002u      /* live actors_ctx_t */
#define DEFERRED_TAG 0xac7a0003u /* live actors_deferred_t */
#define DEAD_TAG 0xdeadac7au     /* destroyed */

/* One CALL or TELL waiting to be handled. */
typedef struct actors__item {
    struct actors__item *next;      /* FIFO / free list link */
    uint8_t cmd;                    /* ACTORS_CMD_CALL or ACTORS_CMD_TELL */
    uint8_t id_len;                 /* broker tag length */
    uint8_t id[ACTORS_WIRE_ID_MAX]; /* broker tag, echoed in the reply */
    uint8_t method_len;             /* bytes of method */
    char address[ACTORS_WIRE_NAME_MAX + 1]; /* from the header, NUL-ended */
    char method[ACTORS_WIRE_NAME_MAX + 1];  /* from the header, NUL-ended */
    zmq_msg_t args;                         /* frame 1 */
    zmq_msg_t key;    /* frame 2, the caller's call key; empty: none */
    uint32_t seq;     /* its place among the CALL/TELLs of this connection */
    int64_t deadline; /* the caller's (monotonic ms) as received; 0: none */
    const actors_method_t *m; /* on a worker: its method (actor_threads.c) */
    uint32_t group;           /* on a worker: its concurrency group */
    bool event; /* a PUBLICATION (cmd TELL: credited as one); method is
                   its topic (actor_events.c) */
    actors_method_fn event_fn; /* its handler; NULL: none any more */
} actors__item_t;

/* One topic pattern the actor's address subscribes to. */
typedef struct {
    char *pattern;       /* owned */
    actors_method_fn fn; /* handler */
} actors__topic_t;

typedef enum {
    REG_IDLE,    /* not asked */
    REG_PENDING, /* REGISTER sent, no answer yet */
    REG_OK,      /* answered REPLY */
    REG_FAILED,  /* answered ERROR (reg_err) */
} reg_state_t;

struct actors_actor {
    uint32_t tag;                    /* ACTOR_TAG */
    const actors_service_t *service; /* borrowed for the run */
    char *endpoint;                  /* broker endpoint (copy) */
    char *address;                   /* registered address (copy) */
    uint32_t prefetch;               /* as sent in REGISTER */
    uint32_t mailbox;                /* as sent in REGISTER; 0 default */
    bool group;                      /* REGISTER as a group member */
    int max_task_retries;            /* a group member's, in REGISTER */
    actors_client_t *client;         /* our connection */
    void *socket;                    /* the client's socket, borrowed */
    int zmq_fd;                      /* its ZMQ_FD, polled when idle */
    void *state;                     /* from the service's init */
    int sigfd;                       /* signalfd for SIGTERM, SIGINT */
    sigset_t old_mask;               /* restored at the end */
    bool mask_set;                   /* old_mask is valid */
    /* $ACTORS_CLAIM: the secret the node that started this process gave
     * it, shown in REGISTER (PROTOCOL.md, Claims); "" none. */
    char claim[65];

    uint64_t session;      /* registrations so far */
    reg_state_t reg;       /* of the current REGISTER */
    actors_err reg_err;    /* its error, if REG_FAILED */
    uint32_t reg_fails;    /* NameTaken refusals in a row (WARN: the 1st) */
    char reg_id[24];       /* its request id */
    size_t reg_id_len;     /* bytes of reg_id */
    uint32_t heartbeat_ms; /* from the broker: NameTaken retries */
    uint32_t liveness;     /* from the broker: idem */
    uint32_t max_message;  /* from the broker */
    uint32_t busy_turns;   /* loop turns without a poll */
    int mon_fd;            /* the client's connection monitor; -1 none */
    bool reconnected;      /* a new connection: REGISTER again */

    actors__item_t *head;     /* queue of waiting items */
    actors__item_t *tail;     /* last item, NULL when empty */
    actors__item_t *spare;    /* free list */
    size_t nspare;            /* items on the free list */
    uint32_t credit;          /* tells done, not yet credited */
    uint64_t tell_err_ms;     /* start of the tell-error log's second */
    uint32_t tell_errs;       /* tell errors in that second */
    uint64_t tell_errs_quiet; /* not logged since the last line */
    uint32_t credit_batch;    /* send CREDIT at this many */
    uint32_t seq_recv;        /* CALL/TELLs received on this connection */
    uint32_t informed;        /* the broker knows that every message up to
                                 this one was taken up (PROTOCOL.md, "When
                                 an actor dies") */
    uint32_t tell_done;       /* seq of the last tell handled */

    actors__timers_t timers;     /* actors_actor_timer_* */
    actors_deferred_t *deferred; /* replies owed, doubly linked */
    msgpack_zone *zone;          /* arguments of the current call */
    actors_msg_t *result;        /* reused result builder */
    actors_msg_t *body;          /* reused body builder for errors */

    /* before_call runs before each method; true: it answered the call
     * (*rc the method's code) and the method is skipped (durable.c: a
     * re-sent call key answered from the journal). NULL: none. */
    bool (*before_call)(actors_ctx_t *ctx, void *arg, actors_err *rc);
    void *before_arg; /* its arg */
    /* on_idle runs when the loop has handled every message it has and is
     * about to wait (durable.c: a group commit flushes then). NULL: none. */
    void (*on_idle)(actors_actor_t *actor, void *arg);
    void *idle_arg; /* its arg */

    bool stopping;          /* a signal arrived */
    bool exiting;           /* actors_actor_exit was called */
    int exit_code;          /* its code */
    char err_type[128];     /* actors_actor_error */
    char err_message[1024]; /* actors_actor_error */
    bool has_err;           /* err_* are set */
    actors__loop_t loop;    /* posts, watched fds, workers (actor_loop.h) */

    struct actors__reminder *reminders; /* actor_reminders.c; NULL */
    struct actors_persist *rpersist;    /* where they are kept; NULL */
    bool rstandby;        /* a group member waiting for its group's reminders */
    int rstandby_timer;   /* its next try (actor_reminders.c); 0: none */
    uint32_t rstandby_ms; /* the wait before that try (backoff) */
    int rkeep_timer;      /* renews rpersist's lease (Redis); 0: none */
    actors__topic_t *topics; /* subscriptions (actor_events.c) */
    size_t ntopics;          /* in use */
    size_t topics_cap;       /* allocated */
};

/* actors__actor_send_reply answers request id with a REPLY whose body is
 * data (one msgpack value; NULL means nil), or with TooLarge if the broker
 * would refuse it. Returns ACTORS_OK, ACTORS_ENOMEM or ACTORS_EIO. */
actors_err actors__actor_send_reply(actors_actor_t *self, const void *id,
    size_t id_len, const void *data, size_t len);

/* actors__actor_send_reply_msg is actors__actor_send_reply with the body
 * the one value in value (NULL or empty: nil). A large value's buffer is
 * handed to libzmq instead of copied: value is then left empty (as after
 * actors_msg_reset) but valid, whatever the outcome; a small one is copied
 * and value is unchanged (msg_internal.h, actors__msg_frame). */
actors_err actors__actor_send_reply_msg(
    actors_actor_t *self, const void *id, size_t id_len, actors_msg_t *value);

/* actors__actor_tell_error logs a tell (or event) that failed: nobody
 * can be answered, so the log is where it shows (WARN, ACT-TELL-ERROR).
 * At most ACTORS__TELL_ERRS_LOGGED lines a second; the next line counts
 * the ones left out, counted over the loop and the worker threads
 * together. method may be NULL. Thread: any of the actor's. */
void actors__actor_tell_error(actors_actor_t *self, const char *method,
    const char *type, const char *message);

/* actors__actor_send_error answers request id with an ERROR; address NULL
 * means the actor's own. */
actors_err actors__actor_send_error(actors_actor_t *self, const void *id,
    size_t id_len, actors_err code, const char *type, const char *message,
    const char *address);

/* actors__ctx_reply_raw sets the call's result to the one msgpack value
 * data[0..len) (trusted: not checked), copied into the actor's reused
 * builder. Returns ACTORS_OK or ACTORS_ENOMEM. Thread: handler. */
actors_err actors__ctx_reply_raw(
    actors_ctx_t *ctx, const void *data, size_t len);

/* actors__ctx_run runs method m on the queued message it with its decoded
 * arguments, and replies with the outcome unless the method deferred (or
 * the message is a tell). Returns true if it replied. actor_ctx.c. */
bool actors__ctx_run(actors_actor_t *self, const actors__item_t *it,
    const actors_method_t *m, const msgpack_object *args);

/* actors__deferred_free_all frees the deferred replies still owed, without
 * answering them (the actor is going away). actor_ctx.c. */
void actors__deferred_free_all(actors_actor_t *self);

/* actors__client_idle: the client's last read found nothing more waiting
 * (a receive returned EAGAIN), so the socket's ZMQ_FD may be polled.
 * client.c. */
bool actors__client_idle(const actors_client_t *self);

/* actors__client_received counts the messages the client has read (replies
 * to our own calls included). client.c. */
uint64_t actors__client_received(const actors_client_t *self);

/* actor_events.c: the service's topics table copied in (at creation;
 * ACTORS_EINVAL for a bad pattern), freed; SUBSCRIBE for each pattern
 * (after every successful REGISTER); a PUBLICATION made into a queued
 * item; and an event item handled (its credit is the caller's). */
actors_err actors__events_init(actors_actor_t *self);
void actors__events_fini(actors_actor_t *self);
void actors__events_subscribe_all(actors_actor_t *self);
void actors__events_item(
    actors_actor_t *self, actors__item_t *it, const actors__hdr_t *hdr);
void actors__events_handle(actors_actor_t *self, actors__item_t *it);

/* actor_reminders.c: the reminders of the address restored from its
 * storage and scheduled (before init, which may change them; a service
 * without on_reminder has none), and freed. */
void actors__reminders_restore(actors_actor_t *self);
void actors__reminders_fini(actors_actor_t *self);

/* How a run ended, beyond its return code. */
typedef struct {
    int exit_code;      /* actors_actor_exit's code; 0 otherwise */
    bool init_failed;   /* the run ended in the service's init */
    char type[128];     /* error type when the run failed */
    char message[1024]; /* error message when the run failed */
} actors__run_result_t;

/* actors__actor_run is actors_actor_run that also fills *result (may be
 * NULL). Thread: the calling thread becomes the loop thread. */
actors_err actors__actor_run(const actors_service_t *service,
    const actors_actor_opts_t *opts, const msgpack_object *ctor_args,
    actors__run_result_t *result);

/* actors__actor_parse_args reads the command line of actors_service_main
 * into *opts (whose strings point into argv) and stores the index of the
 * first constructor argument in *first_ctor (argc if none). --help sets
 * *help. Returns ACTORS_OK, or ACTORS_EINVAL with a description in errbuf
 * (errlen bytes). */
actors_err actors__actor_parse_args(int argc, char **argv,
    actors_actor_opts_t *opts, int *first_ctor, bool *help, char *errbuf,
    size_t errlen);

/* ---- for actor_loop.c and actor_threads.c ----------------------------- */

/* actors__actor_claim tells the broker, if it must, that it is about to
 * be taken up (s_claim). Loop thread. */
void actors__actor_claim(actors_actor_t *self, const actors__item_t *it);

/* actors__actor_reject answers a message that will not run with code (a
 * tell is credited). Loop thread. */
void actors__actor_reject(
    actors_actor_t *self, const actors__item_t *it, actors_err code);

/* actors__actor_item_free recycles an item. Loop thread. */
void actors__actor_item_free(actors_actor_t *self, actors__item_t *it);

/* actors__actor_informed: the broker knows message seq was taken up. */
void actors__actor_informed(actors_actor_t *self, uint32_t seq);

/* actors__actor_tell_done credits tell seq (CREDIT at the batch size). */
void actors__actor_tell_done(actors_actor_t *self, uint32_t seq);

/* actors__actor_send_post sends p's outcome (p->cmd REPLY or ERROR with
 * p->body, to p->id) if p->session is the current registration; a REPLY
 * the broker would refuse becomes TooLarge. Returns whether it was sent.
 * Loop thread. */
bool actors__actor_send_post(actors_actor_t *self, actors__post_t *p);

/* actors__ctx_run_worker runs it's method on a worker thread with the
 * worker's builders, and leaves the outcome in p (cmd 0: nothing to send,
 * a tell or a deferred reply). actor_ctx.c. */
void actors__ctx_run_worker(actors_actor_t *self, actors_msg_t *scratch,
    actors_msg_t *errbody, const actors__item_t *it, const msgpack_object *args,
    actors__post_t *p);

/* actors__post_error makes p an ERROR (type NULL: code's wire name;
 * message NULL: its text) encoded with builder body. Any thread. */
void actors__post_error(actors_actor_t *self, actors_msg_t *body,
    actors__post_t *p, actors_err code, const char *type, const char *message);

#endif
