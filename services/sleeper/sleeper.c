/* services/sleeper/sleeper.c - Ray's threaded actor (the seed's
 * ThreadedActor.options(max_concurrency=3)) as an actor.
 * SPDX-License-Identifier: MIT
 *
 * Its methods sleep: I/O-bound work, where threads help. The service
 * declares max_concurrency 4 (--max-concurrency N overrides it), so up to
 * four sleeps of the default group run at once on the runtime's worker
 * threads and four sleeps of one second finish in about one second, not
 * four. Two named concurrency groups (Ray's concurrency_groups) show
 * limits of their own: "io" runs at most two io_sleep at once whatever the
 * default group does, and "admin" (one thread) answers stats even while
 * every other thread sleeps.
 *
 * How the state is protected: the methods run on several threads at once,
 * so every field they share is under the state's mutex, held only to
 * update the counters, never while sleeping. The sleep itself touches no
 * state. (A single-threaded service needs no lock: the default of
 * max_concurrency 1 runs one method at a time on the loop thread.)
 *
 * For tests of pools (actors/pool.h), the constructor argument "crash"
 * makes a member that always crashes: every sleep kills the process
 * (SIGKILL) instead of sleeping.
 *
 * Schema: schemas/sleeper.json.
 */
#include "sleeper.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <stdlib.h>
#include <time.h>

#define SLEEP_MAX_MS 600000 /* one call sleeps at most ten minutes */

typedef struct {
    uint32_t running; /* calls of the group sleeping now */
    uint32_t peak;    /* the most at once since the last reset */
} gauge_t;

typedef struct {
    pthread_mutex_t lock; /* everything below */
    gauge_t dflt;         /* the default group: sleep, computation */
    gauge_t io;           /* the "io" group: io_sleep */
    uint64_t done;        /* sleeps finished */
    bool crash;           /* "crash": every sleep kills the process */
} sleeper_t;

static actors_err
s_init(actors_actor_t *actor, const msgpack_object *args, void **state)
{
    const char *mode = NULL;
    size_t mode_len = 0;
    size_t argc = actors_args_count(args);
    if (argc > 1 ||
        (argc == 1 &&
            (actors_args_str(args, 0, &mode, &mode_len) != ACTORS_OK ||
                mode_len != 5 || memcmp(mode, "crash", 5) != 0))) {
        return actors_actor_error(actor, "WrongArguments",
            "sleeper takes no constructor argument, or \"crash\"");
    }
    sleeper_t *s = calloc(1, sizeof *s);
    if (s == NULL) {
        return ACTORS_ENOMEM;
    }
    s->crash = argc == 1;
    pthread_mutex_init(&s->lock, NULL);
    *state = s;
    return ACTORS_OK;
}

static void
s_fini(void *state)
{
    sleeper_t *s = state;
    if (s != NULL) {
        pthread_mutex_destroy(&s->lock);
        free(s);
    }
}

/* s_enter / s_leave count a sleep of gauge g in and out. */
static void
s_enter(sleeper_t *s, gauge_t *g)
{
    pthread_mutex_lock(&s->lock);
    if (++g->running > g->peak) {
        g->peak = g->running;
    }
    pthread_mutex_unlock(&s->lock);
}

static void
s_leave(sleeper_t *s, gauge_t *g)
{
    pthread_mutex_lock(&s->lock);
    g->running--;
    s->done++;
    pthread_mutex_unlock(&s->lock);
}

static void
s_sleep_ms(const sleeper_t *s, int64_t ms)
{
    if (s->crash) {
        raise(SIGKILL); /* the member that always crashes */
    }
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* s_ms reads argument i as milliseconds in 0..SLEEP_MAX_MS. */
static actors_err
s_ms(actors_ctx_t *ctx, const msgpack_object *args, size_t i, int64_t *ms)
{
    if (actors_args_int(args, i, ms) != ACTORS_OK || *ms < 0 ||
        *ms > SLEEP_MAX_MS) {
        return actors_ctx_error(ctx, "WrongArguments",
            "%s takes milliseconds from 0 to %d", actors_ctx_method(ctx),
            SLEEP_MAX_MS);
    }
    return ACTORS_OK;
}

/* sleep(ms): sleeps, returns ms. Default group. */
static actors_err
s_sleep(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    sleeper_t *s = state;
    int64_t ms = 0;
    if (actors_args_count(args) != 1) {
        return actors_ctx_error(ctx, "WrongArguments", "sleep(ms)");
    }
    actors_err rc = s_ms(ctx, args, 0, &ms);
    if (rc != ACTORS_OK) {
        return rc;
    }
    s_enter(s, &s->dflt);
    s_sleep_ms(s, ms);
    s_leave(s, &s->dflt);
    return actors_ctx_reply_int(ctx, ms);
}

/* io_sleep(ms): the same in the "io" group (at most 2 at once). */
static actors_err
s_io_sleep(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    sleeper_t *s = state;
    int64_t ms = 0;
    if (actors_args_count(args) != 1) {
        return actors_ctx_error(ctx, "WrongArguments", "io_sleep(ms)");
    }
    actors_err rc = s_ms(ctx, args, 0, &ms);
    if (rc != ACTORS_OK) {
        return rc;
    }
    s_enter(s, &s->io);
    s_sleep_ms(s, ms);
    s_leave(s, &s->io);
    return actors_ctx_reply_int(ctx, ms);
}

/* computation(num [, unit_ms]): the seed's method: "Actor waiting for num
 * sec", then num sleeps of a second (unit_ms, default 1000), logging each,
 * and returns num. */
static actors_err
s_computation(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    sleeper_t *s = state;
    int64_t num = 0;
    int64_t unit = 1000;
    size_t argc = actors_args_count(args);
    if (argc < 1 || argc > 2 || actors_args_int(args, 0, &num) != ACTORS_OK ||
        num < 0 || num > 600) {
        return actors_ctx_error(ctx, "WrongArguments",
            "computation(num [, unit_ms]): num from 0 to 600");
    }
    if (argc == 2) {
        actors_err rc = s_ms(ctx, args, 1, &unit);
        if (rc != ACTORS_OK) {
            return rc;
        }
    }
    if (num * unit > SLEEP_MAX_MS) {
        return actors_ctx_error(ctx, "WrongArguments",
            "computation may sleep at most %d ms", SLEEP_MAX_MS);
    }
    const char *addr = actors_actor_address(actors_ctx_actor(ctx));
    ACTORS_LOG(ACTORS_LOG_NOTICE, "SLEEPER-WAIT",
        "address=%s Actor waiting for %lld sec", addr, (long long)num);
    s_enter(s, &s->dflt);
    for (int64_t x = 0; x < num; x++) {
        s_sleep_ms(s, unit);
        ACTORS_LOG(ACTORS_LOG_NOTICE, "SLEEPER-SLEPT",
            "address=%s Actor slept for %lld sec", addr, (long long)x + 1);
    }
    s_leave(s, &s->dflt);
    return actors_ctx_reply_int(ctx, num);
}

/* double(v): 2 * v, the method of Ray's ActorPool examples
 * (pool.map(lambda a, v: a.double.remote(v), [1, 2, 3, 4])). Touches no
 * state. Default group. */
static actors_err
s_double(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    (void)state;
    const msgpack_object *v = actors_args_at(args, 0);
    int64_t i = 0;
    double d = 0;
    if (actors_args_count(args) == 1 && actors_value_int(v, &i) == ACTORS_OK &&
        i >= INT64_MIN / 2 && i <= INT64_MAX / 2 &&
        v->type != MSGPACK_OBJECT_FLOAT64 &&
        v->type != MSGPACK_OBJECT_FLOAT32) {
        return actors_ctx_reply_int(ctx, 2 * i);
    }
    if (actors_args_count(args) == 1 &&
        actors_value_double(v, &d) == ACTORS_OK) {
        return actors_ctx_reply_double(ctx, 2 * d);
    }
    return actors_ctx_error(ctx, "WrongArguments", "double(v): one number");
}

/* stats(): {running, peak, io_running, io_peak, done}. "admin" group. */
static actors_err
s_stats(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    sleeper_t *s = state;
    if (actors_args_count(args) != 0) {
        return actors_ctx_error(ctx, "WrongArguments", "stats()");
    }
    pthread_mutex_lock(&s->lock);
    sleeper_t copy = *s;
    pthread_mutex_unlock(&s->lock);
    actors_msg_t *m = NULL;
    actors_err rc = actors_msg_build(&m, "{sIsIsIsIsI}", "running",
        (int64_t)copy.dflt.running, "peak", (int64_t)copy.dflt.peak,
        "io_running", (int64_t)copy.io.running, "io_peak",
        (int64_t)copy.io.peak, "done", (int64_t)copy.done);
    if (rc == ACTORS_OK) {
        rc = actors_ctx_reply(ctx, &m);
    }
    actors_msg_destroy(&m);
    return rc;
}

/* reset(): the peaks start again from what runs now. "admin" group. */
static actors_err
s_reset(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    sleeper_t *s = state;
    (void)args;
    pthread_mutex_lock(&s->lock);
    s->dflt.peak = s->dflt.running;
    s->io.peak = s->io.running;
    pthread_mutex_unlock(&s->lock);
    return actors_ctx_reply_bool(ctx, true);
}

static const actors_method_t s_methods[] = {
    {"sleep", s_sleep, NULL},
    {"computation", s_computation, NULL},
    {"double", s_double, NULL},
    {"io_sleep", s_io_sleep, "io"},
    {"stats", s_stats, "admin"},
    {"reset", s_reset, "admin"},
    {NULL, NULL, NULL},
};

static const actors_concurrency_group_t s_groups[] = {
    {"io", 2},
    {"admin", 1},
    {NULL, 0},
};

const actors_service_t sleeper_service = {
    .name = "sleeper",
    .methods = s_methods,
    .init = s_init,
    .fini = s_fini,
    .max_concurrency = 4,
    .groups = s_groups,
};
