/* services/chaos/chaos.c - an actor that misbehaves on request.
 * SPDX-License-Identifier: MIT
 *
 * For tests and benchmarks: echo, a slow method (sleep blocks the loop), a
 * deferred one (delay answers from a timer while the loop stays free), a
 * call to another actor (relay defers and forwards the callee's outcome),
 * crashes by signal and by exit code, a clean exit (stop), an application
 * error (fail), counters, the call key the caller attached (key), and
 * reminders that publish chaos.reminder when they fire (remind),
 * run-time subscriptions of its address (subscribe, unsubscribe, events),
 * and what a benchmark needs to time a handler from outside: the
 * machine's monotonic clock (clock) and a subscription whose handler
 * publishes each event back with the time it ran (mirror).
 * Schema: schemas/chaos.json.
 *
 * A deferred reply still owed lives in a pending_t on the state's list, so
 * that fini frees what a stop leaves behind (the runtime frees the
 * deferred handles themselves after fini).
 */
#define _GNU_SOURCE
#include "chaos.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define MAX_MS (24 * 3600 * 1000) /* longest sleep or delay */

typedef struct pending pending_t;
typedef struct chaos chaos_t;

struct pending {
    pending_t *prev;       /* chaos->pending list */
    pending_t *next;       /* chaos->pending list */
    chaos_t *chaos;        /* owner */
    actors_deferred_t *d;  /* the reply owed */
    actors_msg_t *value;   /* delay: what to reply */
    int timer;             /* delay: its timer, 0 none */
    actors_future_t *call; /* relay: the call out */
};

struct chaos {
    _Atomic int64_t count; /* messages handled before the current one
                              (methods may run on worker threads:
                              --max-concurrency) */
    int64_t events;        /* events handled (subscribe) */
    char mirror[ACTORS_TOPIC_MAX + 1]; /* mirror: where events go back */
    pending_t *pending;                /* replies owed */
};

/* ---------------------------------------------------------------- pending */

static pending_t *
s_pending_new(chaos_t *c)
{
    pending_t *p = calloc(1, sizeof *p);
    if (p != NULL) {
        p->chaos = c;
        p->next = c->pending;
        if (c->pending != NULL) {
            c->pending->prev = p;
        }
        c->pending = p;
    }
    return p;
}

/* s_pending_free unlinks and frees p; p->d must be completed or NULL. */
static void
s_pending_free(pending_t *p)
{
    if (p->prev != NULL) {
        p->prev->next = p->next;
    } else {
        p->chaos->pending = p->next;
    }
    if (p->next != NULL) {
        p->next->prev = p->prev;
    }
    actors_msg_destroy(&p->value);
    actors_future_destroy(&p->call);
    free(p);
}

/* s_int reads argument i as an integer in [lo, hi]. */
static actors_err
s_int(actors_ctx_t *ctx, const msgpack_object *args, size_t i, int64_t lo,
    int64_t hi, int64_t *out)
{
    if (actors_args_int(args, i, out) != ACTORS_OK || *out < lo || *out > hi) {
        return actors_ctx_error(ctx, "WrongArguments",
            "%s: argument %zu must be an integer in %lld..%lld",
            actors_ctx_method(ctx), i + 1, (long long)lo, (long long)hi);
    }
    return ACTORS_OK;
}

/* s_nargs checks the number of arguments is in [lo, hi]. */
static actors_err
s_nargs(actors_ctx_t *ctx, const msgpack_object *args, size_t lo, size_t hi)
{
    size_t n = actors_args_count(args);
    if (n < lo || n > hi) {
        return actors_ctx_error(ctx, "WrongArguments",
            "%s takes %zu..%zu arguments, not %zu", actors_ctx_method(ctx), lo,
            hi, n);
    }
    return ACTORS_OK;
}

/* ---------------------------------------------------------------- methods */

static actors_err
s_echo(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    ((chaos_t *)state)->count++;
    actors_err rc = s_nargs(ctx, args, 1, 1);
    return rc ? rc : actors_ctx_reply_object(ctx, actors_args_at(args, 0));
}

static actors_err
s_sleep(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    ((chaos_t *)state)->count++;
    int64_t ms = 0;
    actors_err rc = s_nargs(ctx, args, 1, 1);
    if (rc == ACTORS_OK) {
        rc = s_int(ctx, args, 0, 0, MAX_MS, &ms);
    }
    if (rc != ACTORS_OK) {
        return rc;
    }
    /* Blocks the loop on purpose. The actor stays alive all the same:
     * libzmq's I/O thread answers the broker's ZMTP heartbeats. */
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0) {
    }
    return actors_ctx_reply_int(ctx, ms);
}

static void
s_delay_fire(actors_actor_t *actor, void *arg)
{
    pending_t *p = arg;
    (void)actor;
    p->timer = 0;
    actors_deferred_reply(&p->d, &p->value);
    s_pending_free(p);
}

static actors_err
s_delay(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    chaos_t *c = state;
    c->count++;
    int64_t ms = 0;
    actors_err rc = s_nargs(ctx, args, 2, 2);
    if (rc == ACTORS_OK) {
        rc = s_int(ctx, args, 0, 0, MAX_MS, &ms);
    }
    if (rc != ACTORS_OK) {
        return rc;
    }
    pending_t *p = s_pending_new(c);
    if (p == NULL) {
        return ACTORS_ENOMEM;
    }
    rc = actors_msg_build(&p->value, "o", actors_args_at(args, 1));
    if (rc == ACTORS_OK) {
        rc = actors_actor_timer_add(actors_ctx_actor(ctx), (uint32_t)ms, false,
            s_delay_fire, p, &p->timer);
    }
    if (rc == ACTORS_OK) {
        rc = actors_ctx_defer(ctx, &p->d);
        if (rc != ACTORS_OK) {
            actors_actor_timer_cancel(actors_ctx_actor(ctx), p->timer);
        }
    }
    if (rc != ACTORS_OK) {
        s_pending_free(p);
    }
    return rc;
}

static void
s_relay_done(actors_future_t *future, void *arg)
{
    pending_t *p = arg;
    actors_deferred_forward(&p->d, future);
    s_pending_free(p); /* destroys the future too */
}

/* relay(address, method, args...): call it and forward the outcome. */
static actors_err
s_relay(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    chaos_t *c = state;
    c->count++;
    const char *addr = NULL;
    const char *method = NULL;
    size_t alen = 0;
    size_t mlen = 0;
    if (actors_args_str(args, 0, &addr, &alen) != ACTORS_OK ||
        actors_args_str(args, 1, &method, &mlen) != ACTORS_OK) {
        return actors_ctx_error(ctx, "WrongArguments",
            "relay takes an address, a method and its arguments");
    }
    char a[256];
    char m[256];
    if (alen >= sizeof a || mlen >= sizeof m) {
        return actors_ctx_error(ctx, "WrongArguments",
            "relay: address and method are at most 255 bytes");
    }
    snprintf(a, sizeof a, "%.*s", (int)alen, addr);
    snprintf(m, sizeof m, "%.*s", (int)mlen, method);
    pending_t *p = s_pending_new(c);
    if (p == NULL) {
        return ACTORS_ENOMEM;
    }
    actors_msg_t *out = NULL;
    actors_err rc = actors_msg_create(&out);
    for (size_t i = 2; rc == ACTORS_OK && i < actors_args_count(args); i++) {
        rc = actors_msg_add_object(out, actors_args_at(args, i));
    }
    if (rc == ACTORS_OK) {
        rc = actors_client_call(actors_actor_client(actors_ctx_actor(ctx)), a,
            m, &out, NULL, &p->call);
    }
    actors_msg_destroy(&out);
    if (rc == ACTORS_OK) {
        rc = actors_ctx_defer(ctx, &p->d);
    }
    if (rc != ACTORS_OK) {
        s_pending_free(p);
        return actors_ctx_error(ctx, actors_err_name(rc),
            "relay to %s.%s failed: %s", a, m, actors_strerror(rc));
    }
    /* Runs at once if the call has already failed locally. */
    actors_future_on_done(p->call, s_relay_done, p);
    return ACTORS_OK;
}

static actors_err
s_crash(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    ((chaos_t *)state)->count++;
    int64_t sig = 0;
    actors_err rc = s_nargs(ctx, args, 1, 1);
    if (rc == ACTORS_OK) {
        rc = s_int(ctx, args, 0, 1, SIGRTMAX, &sig);
    }
    if (rc != ACTORS_OK) {
        return rc;
    }
    if (sig == SIGABRT) {
        abort();
    }
    raise((int)sig);
    /* A blocked or ignored signal (SIGTERM stops the actor cleanly). */
    return actors_ctx_reply_int(ctx, sig);
}

static actors_err
s_exit(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    ((chaos_t *)state)->count++;
    int64_t code = 0;
    actors_err rc = s_nargs(ctx, args, 1, 1);
    if (rc == ACTORS_OK) {
        rc = s_int(ctx, args, 0, 0, 255, &code);
    }
    if (rc != ACTORS_OK) {
        return rc;
    }
    _exit((int)code);
}

static actors_err
s_stop(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    ((chaos_t *)state)->count++;
    actors_err rc = s_nargs(ctx, args, 0, 0);
    if (rc != ACTORS_OK) {
        return rc;
    }
    actors_actor_exit(actors_ctx_actor(ctx), 0);
    return ACTORS_OK;
}

static actors_err
s_fail(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    ((chaos_t *)state)->count++;
    const char *text = "";
    size_t len = 0;
    if (actors_args_count(args) > 1 ||
        (actors_args_count(args) == 1 &&
            actors_args_str(args, 0, &text, &len) != ACTORS_OK)) {
        return actors_ctx_error(ctx, "WrongArguments",
            "fail takes one optional string: the message");
    }
    return actors_ctx_error(ctx, "ChaosError", "%.*s", (int)len, text);
}

static actors_err
s_pid(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    ((chaos_t *)state)->count++;
    actors_err rc = s_nargs(ctx, args, 0, 0);
    return rc ? rc : actors_ctx_reply_int(ctx, (int64_t)getpid());
}

/* print(text): text as one line on stdout, then "stderr: " text on
 * stderr; nil. For tests of the node's per-actor output. */
static actors_err
s_print(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    ((chaos_t *)state)->count++;
    const char *text = "";
    size_t len = 0;
    if (actors_args_count(args) != 1 ||
        actors_args_str(args, 0, &text, &len) != ACTORS_OK) {
        return actors_ctx_error(
            ctx, "WrongArguments", "print takes one string: the text");
    }
    fprintf(stdout, "%.*s\n", (int)len, text);
    fflush(stdout);
    fprintf(stderr, "stderr: %.*s\n", (int)len, text);
    return actors_ctx_reply_str(ctx, NULL); /* nil */
}

/* key(): the call's key as text, nil when it carries none. */
static actors_err
s_key(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    ((chaos_t *)state)->count++;
    actors_err rc = s_nargs(ctx, args, 0, 0);
    if (rc != ACTORS_OK) {
        return rc;
    }
    const void *key = NULL;
    size_t len = 0;
    if (!actors_ctx_call_key(ctx, &key, &len)) {
        return actors_ctx_reply_str(ctx, NULL); /* nil */
    }
    char text[ACTORS_CALL_KEY_MAX + 1];
    memcpy(text, key, len);
    text[len] = '\0';
    return actors_ctx_reply_str(ctx, text);
}

static actors_err
s_count(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    chaos_t *c = state;
    actors_err rc = s_nargs(ctx, args, 0, 0);
    return rc ? rc : actors_ctx_reply_int(ctx, c->count++);
}

/* remind(name, due_ms, period_ms): a reminder (actors/reminder.h) that,
 * when it fires, publishes chaos.reminder {address, name, pid}, even in
 * the process after a crash. */
static actors_err
s_remind(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    ((chaos_t *)state)->count++;
    const char *name = NULL;
    size_t len = 0;
    int64_t due = 0;
    int64_t period = 0;
    actors_err rc = s_nargs(ctx, args, 3, 3);
    if (rc == ACTORS_OK &&
        (actors_args_str(args, 0, &name, &len) != ACTORS_OK || len == 0 ||
            len > ACTORS_REMINDER_NAME_MAX)) {
        rc = actors_ctx_error(ctx, "WrongArguments",
            "remind: the name is a string of 1..64 bytes");
    }
    if (rc == ACTORS_OK) {
        rc = s_int(ctx, args, 1, 0, MAX_MS, &due);
    }
    if (rc == ACTORS_OK) {
        rc = s_int(ctx, args, 2, 0, MAX_MS, &period);
    }
    if (rc != ACTORS_OK) {
        return rc;
    }
    char text[ACTORS_REMINDER_NAME_MAX + 1];
    memcpy(text, name, len);
    text[len] = '\0';
    rc = actors_actor_reminder_set(
        actors_ctx_actor(ctx), text, (uint64_t)due, (uint64_t)period, NULL);
    if (rc != ACTORS_OK) {
        return actors_ctx_error(ctx, NULL, "remind: %s", actors_strerror(rc));
    }
    return actors_ctx_reply_int(
        ctx, (int64_t)actors_actor_reminder_count(actors_ctx_actor(ctx)));
}

/* unremind(name): cancels it; true if there was one. */
static actors_err
s_unremind(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    ((chaos_t *)state)->count++;
    const char *name = NULL;
    size_t len = 0;
    actors_err rc = s_nargs(ctx, args, 1, 1);
    if (rc != ACTORS_OK) {
        return rc;
    }
    if (actors_args_str(args, 0, &name, &len) != ACTORS_OK || len == 0 ||
        len > ACTORS_REMINDER_NAME_MAX) {
        return actors_ctx_error(ctx, "WrongArguments",
            "unremind: the name is a string of 1..64 bytes");
    }
    char text[ACTORS_REMINDER_NAME_MAX + 1];
    memcpy(text, name, len);
    text[len] = '\0';
    return actors_ctx_reply_bool(ctx,
        actors_actor_reminder_cancel(actors_ctx_actor(ctx), text) == ACTORS_OK);
}

/* s_on_event counts an event of a run-time subscription. */
static actors_err
s_on_event(actors_ctx_t *ctx, const msgpack_object *data, void *state)
{
    (void)ctx;
    (void)data;
    ((chaos_t *)state)->events++;
    return ACTORS_OK;
}

/* subscribe(pattern) / unsubscribe(pattern): the address's subscription
 * at run time (actors_actor_subscribe); events() counts the events. */
static actors_err
s_subscribe(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    ((chaos_t *)state)->count++;
    const char *p = NULL;
    size_t len = 0;
    actors_err rc = s_nargs(ctx, args, 1, 1);
    if (rc != ACTORS_OK) {
        return rc;
    }
    char pattern[256];
    if (actors_args_str(args, 0, &p, &len) != ACTORS_OK || len == 0 ||
        len >= sizeof pattern) {
        return actors_ctx_error(ctx, "WrongArguments", "%s takes a pattern",
            actors_ctx_method(ctx));
    }
    memcpy(pattern, p, len);
    pattern[len] = '\0';
    bool sub = strcmp(actors_ctx_method(ctx), "subscribe") == 0;
    rc =
        sub ? actors_actor_subscribe(actors_ctx_actor(ctx), pattern, s_on_event)
            : actors_actor_unsubscribe(actors_ctx_actor(ctx), pattern);
    if (rc != ACTORS_OK) {
        return actors_ctx_error(ctx, "WrongArguments", "%s: %s",
            actors_ctx_method(ctx), actors_strerror(rc));
    }
    return ACTORS_OK;
}

/* s_now_ns reads CLOCK_MONOTONIC: one clock for every process of the
 * machine, so another process may subtract its own reading from it. */
static int64_t
s_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* clock(): CLOCK_MONOTONIC in nanoseconds, read in the handler. */
static actors_err
s_clock(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    ((chaos_t *)state)->count++;
    actors_err rc = s_nargs(ctx, args, 0, 0);
    return rc ? rc : actors_ctx_reply_int(ctx, s_now_ns());
}

/* s_on_mirror publishes [data, CLOCK_MONOTONIC ns] on the mirror topic:
 * the event back, with when its handler ran. */
static actors_err
s_on_mirror(actors_ctx_t *ctx, const msgpack_object *data, void *state)
{
    chaos_t *c = state;
    int64_t now = s_now_ns();
    c->events++;
    actors_msg_t *ev = NULL;
    actors_err rc = actors_msg_build(&ev, "[oI]", data, now);
    if (rc == ACTORS_OK) {
        rc = actors_publish(
            actors_actor_client(actors_ctx_actor(ctx)), c->mirror, &ev, NULL);
    }
    actors_msg_destroy(&ev);
    return rc;
}

/* mirror(pattern, topic): subscribes the address to pattern with a
 * handler that publishes each event back on topic as [data, clock()]
 * (one mirror topic per actor: the last given). */
static actors_err
s_mirror(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    chaos_t *c = state;
    c->count++;
    const char *p = NULL;
    const char *t = NULL;
    size_t plen = 0;
    size_t tlen = 0;
    actors_err rc = s_nargs(ctx, args, 2, 2);
    if (rc != ACTORS_OK) {
        return rc;
    }
    char pattern[ACTORS_TOPIC_MAX + 1];
    if (actors_args_str(args, 0, &p, &plen) != ACTORS_OK || plen == 0 ||
        plen > ACTORS_TOPIC_MAX ||
        actors_args_str(args, 1, &t, &tlen) != ACTORS_OK || tlen == 0 ||
        tlen > ACTORS_TOPIC_MAX) {
        return actors_ctx_error(
            ctx, "WrongArguments", "mirror takes a pattern and a topic");
    }
    memcpy(pattern, p, plen);
    pattern[plen] = '\0';
    memcpy(c->mirror, t, tlen);
    c->mirror[tlen] = '\0';
    rc = actors_actor_subscribe(actors_ctx_actor(ctx), pattern, s_on_mirror);
    if (rc != ACTORS_OK) {
        return actors_ctx_error(
            ctx, "WrongArguments", "mirror: %s", actors_strerror(rc));
    }
    return ACTORS_OK;
}

static actors_err
s_events(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    ((chaos_t *)state)->count++;
    actors_err rc = s_nargs(ctx, args, 0, 0);
    return rc ? rc : actors_ctx_reply_int(ctx, ((chaos_t *)state)->events);
}

/* s_on_reminder publishes chaos.reminder {address, name, pid}. */
static actors_err
s_on_reminder(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    (void)state;
    const char *name = NULL;
    size_t len = 0;
    if (actors_args_str(args, 0, &name, &len) != ACTORS_OK) {
        return ACTORS_EARGS;
    }
    actors_actor_t *actor = actors_ctx_actor(ctx);
    actors_msg_t *ev = NULL;
    actors_err rc = actors_msg_build(&ev, "{sssSsI}", "address",
        actors_actor_address(actor), "name", name, len, "pid",
        (int64_t)getpid());
    if (rc == ACTORS_OK) {
        rc = actors_publish(
            actors_actor_client(actor), "chaos.reminder", &ev, NULL);
    }
    actors_msg_destroy(&ev);
    return rc;
}

/* ---------------------------------------------------------------- service */

static actors_err
s_init(actors_actor_t *actor, const msgpack_object *args, void **state)
{
    if (actors_args_count(args) != 0) {
        return actors_actor_error(
            actor, "WrongArguments", "chaos takes no constructor arguments");
    }
    chaos_t *c = calloc(1, sizeof *c);
    if (c == NULL) {
        return ACTORS_ENOMEM;
    }
    *state = c;
    return ACTORS_OK;
}

static void
s_fini(void *state)
{
    chaos_t *c = state;
    /* Deferred handles still owed are the runtime's to free after fini;
     * timers die with the actor. */
    while (c->pending != NULL) {
        c->pending->d = NULL;
        s_pending_free(c->pending);
    }
    free(c);
}

static const actors_method_t s_methods[] = {
    {"echo", s_echo},
    {"sleep", s_sleep},
    {"delay", s_delay},
    {"relay", s_relay},
    {"crash", s_crash},
    {"exit", s_exit},
    {"stop", s_stop},
    {"fail", s_fail},
    {"pid", s_pid},
    {"print", s_print},
    {"count", s_count},
    {"key", s_key},
    {"remind", s_remind},
    {"subscribe", s_subscribe},
    {"unsubscribe", s_subscribe},
    {"events", s_events},
    {"clock", s_clock},
    {"mirror", s_mirror},
    {"unremind", s_unremind},
    {NULL, NULL},
};

const actors_service_t chaos_service = {
    .name = "chaos",
    .methods = s_methods,
    .init = s_init,
    .fini = s_fini,
    .on_reminder = s_on_reminder,
};
