/* tests/unit/libactors/test_loop.c - work handed back to an actor's loop
 * (actors/loop.h) and methods on worker threads, across threads.
 * SPDX-License-Identifier: MIT
 *
 * The actor runs in this process on a thread of its own (so that
 * ThreadSanitizer sees every thread involved) against a real broker, and
 * the test calls it with a client from the main thread. Covered: deferred
 * replies completed from other threads (result and error), functions
 * posted from another thread (all run, in order, on the loop), a pipe and
 * a subprocess watched by the loop, a wait on the actor's own loop refused
 * from a timer, a threaded service whose workers defer, post and exit,
 * and the loop-only functions refused on a worker.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include <actors/actors.h>

#include "../../testutil.h"

#define WAIT_MS 10000
#define OK(rc) TEST_ASSERT_OK(rc)

extern char **environ;

/* ---- the service -------------------------------------------------------- */

typedef struct {
    int64_t posted;  /* loop only: posts run so far */
    bool post_order; /* loop only: every post ran in order */
} svc_t;

static actors_err
s_init(actors_actor_t *actor, const msgpack_object *args, void **state)
{
    (void)actor;
    (void)args;
    *state = calloc(1, sizeof(svc_t));
    return *state ? ACTORS_OK : ACTORS_ENOMEM;
}

static void
s_fini(void *state)
{
    free(state);
}

/* s_nap_ms is the simulated work of a method or a helper thread (a
 * duration that is the point of the test, not a wait for an event). */
static void
s_nap_ms(int ms)
{
    poll(NULL, 0, ms); /* no descriptor: poll(2) as a pause of ms */
}

/* A thread that completes a deferred reply. */
typedef struct {
    actors_deferred_t *d;
    int64_t x;
    int ms;
    bool fail;
} later_t;

static void *
s_later_main(void *arg)
{
    later_t *l = arg;
    s_nap_ms(l->ms);
    if (l->fail) {
        actors_deferred_error(&l->d, "ValueError", "no %lld", (long long)l->x);
    } else {
        actors_msg_t *v = NULL;
        OK(actors_msg_build(&v, "I", l->x * 2));
        OK(actors_deferred_reply(&l->d, &v));
        ck_assert_ptr_null(v);
    }
    free(l);
    return NULL;
}

/* thread_reply(x, ms, fail): a thread of its own answers 2x (or fails)
 * after ms. */
static actors_err
s_thread_reply(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    (void)state;
    later_t *l = calloc(1, sizeof *l);
    ck_assert_ptr_nonnull(l);
    int64_t ms = 0;
    bool fail = false;
    OK(actors_args_int(args, 0, &l->x));
    OK(actors_args_int(args, 1, &ms));
    OK(actors_args_bool(args, 2, &fail));
    l->ms = (int)ms;
    l->fail = fail;
    OK(actors_ctx_defer(ctx, &l->d));
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, s_later_main, l), 0);
    pthread_detach(t);
    return ACTORS_OK;
}

/* Posts: a thread posts n steps; the last replies with the count. */
typedef struct {
    actors_deferred_t *d;
    int64_t n;
    int64_t i; /* which step this is */
} step_t;

static void
s_step(actors_actor_t *actor, void *arg)
{
    step_t *s = arg;
    svc_t *st = actors_actor_state(actor);
    ck_assert(actors_actor_on_loop(actor));
    if (s->i != st->posted) {
        st->post_order = false;
    }
    st->posted++;
    if (s->d != NULL) {
        actors_msg_t *v = NULL;
        OK(actors_msg_build(&v, "[Ib]", st->posted, st->post_order));
        OK(actors_deferred_reply(&s->d, &v));
    }
    free(s);
}

typedef struct {
    actors_actor_t *actor;
    actors_deferred_t *d;
    int64_t n;
} poster_t;

static void *
s_poster_main(void *arg)
{
    poster_t *p = arg;
    for (int64_t i = 0; i < p->n; i++) {
        step_t *s = calloc(1, sizeof *s);
        ck_assert_ptr_nonnull(s);
        s->i = i;
        s->n = p->n;
        if (i == p->n - 1) {
            s->d = p->d;
        }
        OK(actors_actor_post(p->actor, s_step, s));
    }
    free(p);
    return NULL;
}

/* post_steps(n): another thread posts n functions to the loop; the last
 * answers [posts run, all in order]. */
static actors_err
s_post_steps(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    svc_t *st = state;
    st->posted = 0;
    st->post_order = true;
    poster_t *p = calloc(1, sizeof *p);
    ck_assert_ptr_nonnull(p);
    p->actor = actors_ctx_actor(ctx);
    OK(actors_args_int(args, 0, &p->n));
    OK(actors_ctx_defer(ctx, &p->d));
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, s_poster_main, p), 0);
    pthread_detach(t);
    return ACTORS_OK;
}

/* A watched descriptor: collects what it reads until EOF, then answers. */
typedef struct {
    actors_deferred_t *d;
    int fd;
    int watch;
    pid_t child; /* a subprocess to reap, or 0 */
    char buf[256];
    size_t len;
} reader_t;

static void
s_on_readable(actors_actor_t *actor, int fd, short revents, void *arg)
{
    reader_t *r = arg;
    ck_assert(actors_actor_on_loop(actor));
    (void)revents;
    ssize_t n = read(fd, r->buf + r->len, sizeof r->buf - 1 - r->len);
    if (n > 0) {
        r->len += (size_t)n;
        return;
    }
    OK(actors_actor_unwatch_fd(actor, r->watch));
    close(fd);
    if (r->child > 0) {
        waitpid(r->child, NULL, 0);
    }
    r->buf[r->len] = '\0';
    actors_msg_t *v = NULL;
    OK(actors_msg_build(&v, "s", r->buf));
    OK(actors_deferred_reply(&r->d, &v));
    free(r);
}

typedef struct {
    int fd;
    char text[64];
} writer_t;

static void *
s_writer_main(void *arg)
{
    writer_t *w = arg;
    /* In two pieces: the callback runs for each. */
    size_t half = strlen(w->text) / 2;
    ck_assert_int_eq(write(w->fd, w->text, half), (ssize_t)half);
    s_nap_ms(20);
    size_t rest = strlen(w->text) - half;
    ck_assert_int_eq(write(w->fd, w->text + half, rest), (ssize_t)rest);
    close(w->fd);
    free(w);
    return NULL;
}

/* pipe_echo(s): a thread writes s into a pipe the loop watches; the reply
 * is what the loop read. */
static actors_err
s_pipe_echo(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    (void)state;
    int fds[2];
    ck_assert_int_eq(pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0);
    reader_t *r = calloc(1, sizeof *r);
    writer_t *w = calloc(1, sizeof *w);
    ck_assert(r != NULL && w != NULL);
    const char *s = NULL;
    size_t n = 0;
    OK(actors_args_str(args, 0, &s, &n));
    ck_assert_uint_lt(n, sizeof w->text);
    memcpy(w->text, s, n);
    w->fd = fds[1];
    r->fd = fds[0];
    OK(actors_ctx_defer(ctx, &r->d));
    OK(actors_actor_watch_fd(
        actors_ctx_actor(ctx), r->fd, POLLIN, s_on_readable, r, &r->watch));
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, s_writer_main, w), 0);
    pthread_detach(t);
    return ACTORS_OK;
}

/* run_echo(s): a subprocess (/bin/echo s) whose stdout the loop reads. */
static actors_err
s_run_echo(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    (void)state;
    char word[64];
    const char *s = NULL;
    size_t n = 0;
    OK(actors_args_str(args, 0, &s, &n));
    ck_assert_uint_lt(n, sizeof word);
    memcpy(word, s, n);
    word[n] = '\0';
    int fds[2];
    ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    char *argv[] = {"echo", word, NULL};
    reader_t *r = calloc(1, sizeof *r);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(
        posix_spawn(&r->child, "/bin/echo", &fa, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    r->fd = fds[0];
    OK(actors_ctx_defer(ctx, &r->d));
    OK(actors_actor_watch_fd(
        actors_ctx_actor(ctx), r->fd, POLLIN, s_on_readable, r, &r->watch));
    return ACTORS_OK;
}

/* A timer that waits on its own loop: refused. */
typedef struct {
    actors_deferred_t *d;
} tick_t;

static void
s_tick(actors_actor_t *actor, void *arg)
{
    tick_t *t = arg;
    actors_future_t *f = NULL;
    OK(actors_client_call_fmt(actors_actor_client(actor),
        actors_actor_address(actor), "echo", NULL, &f, "i", 1));
    actors_err rc = actors_future_get(f, 5000, NULL);
    actors_future_destroy(&f);
    actors_msg_t *v = NULL;
    OK(actors_msg_build(&v, "s", actors_err_name(rc)));
    OK(actors_deferred_reply(&t->d, &v));
    free(t);
}

/* timer_wait(): a timer calls the actor itself and waits: the wait's
 * outcome is the reply. */
static actors_err
s_timer_wait(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    (void)args;
    (void)state;
    tick_t *t = calloc(1, sizeof *t);
    ck_assert_ptr_nonnull(t);
    OK(actors_ctx_defer(ctx, &t->d));
    OK(actors_actor_timer_add(
        actors_ctx_actor(ctx), 1, false, s_tick, t, NULL));
    return ACTORS_OK;
}

/* A pool inside an actor: its member is the actor itself (the calls come
 * back through the broker to this loop, which is free: the method
 * deferred). Outcomes are taken with gets of timeout 0 from on_ready; a
 * blocking get is refused. */
typedef struct {
    actors_deferred_t *d;
    actors_pool_t *pool;
    int64_t sum;
    int64_t got;
    bool refused; /* the blocking get was refused with Deadlock */
    actors_actor_t *actor_for_free; /* where to post its freeing */
} pjob_t;

static void
s_pjob_free(actors_actor_t *actor, void *arg)
{
    (void)actor;
    pjob_t *j = arg;
    actors_pool_destroy(&j->pool);
    free(j);
}

static void
s_pool_ready(actors_pool_t *p, void *arg)
{
    pjob_t *j = arg;
    actors_future_t *f = NULL;
    while (actors_pool_get_next_unordered(p, 0, 0, &f, NULL) == ACTORS_OK) {
        int64_t v = 0;
        OK(actors_value_int(actors_future_result(f), &v));
        j->sum += v;
        j->got++;
        actors_future_destroy(&f);
    }
    if (!actors_pool_has_next(p) && j->d != NULL) {
        actors_msg_t *v = NULL;
        OK(actors_msg_build(&v, "[IIb]", j->sum, j->got, j->refused));
        OK(actors_deferred_reply(&j->d, &v));
        OK(actors_actor_post(j->actor_for_free, s_pjob_free, j));
    }
}

/* pool_echo(n): n tasks echo(i) through a pool over this actor; answers
 * [sum of i, outcomes, blocking get refused]. */
static actors_err
s_pool_echo(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    (void)state;
    int64_t n = 0;
    OK(actors_args_int(args, 0, &n));
    actors_actor_t *actor = actors_ctx_actor(ctx);
    pjob_t *j = calloc(1, sizeof *j);
    ck_assert_ptr_nonnull(j);
    j->actor_for_free = actor;
    const char *self[] = {actors_actor_address(actor)};
    actors_pool_opts_t o = ACTORS_POOL_OPTS_INIT;
    o.per_member = 4;
    OK(actors_pool_create(&j->pool, actors_actor_client(actor), self, 1, &o));
    for (int64_t i = 0; i < n; i++) {
        actors_msg_t *a = NULL;
        OK(actors_msg_build(&a, "I", i));
        OK(actors_pool_submit(j->pool, "echo", &a, NULL));
    }
    actors_future_t *f = NULL;
    j->refused =
        actors_pool_get_next(j->pool, 1000, 0, &f, NULL) == ACTORS_EDEADLK;
    OK(actors_ctx_defer(ctx, &j->d));
    actors_pool_on_ready(j->pool, s_pool_ready, j);
    return ACTORS_OK;
}

static actors_err
s_echo(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    (void)state;
    return actors_ctx_reply_object(ctx, actors_args_at(args, 0));
}

static actors_err
s_stop(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    (void)args;
    (void)state;
    actors_actor_exit(actors_ctx_actor(ctx), 0);
    return actors_ctx_reply_bool(ctx, true);
}

/* ---- the threaded service ----------------------------------------------- */

typedef struct {
    pthread_mutex_t lock;
    int running;
    int peak;
} tsvc_t;

static actors_err
s_tinit(actors_actor_t *actor, const msgpack_object *args, void **state)
{
    (void)actor;
    (void)args;
    tsvc_t *t = calloc(1, sizeof *t);
    if (t == NULL) {
        return ACTORS_ENOMEM;
    }
    pthread_mutex_init(&t->lock, NULL);
    *state = t;
    return ACTORS_OK;
}

static void
s_tfini(void *state)
{
    tsvc_t *t = state;
    pthread_mutex_destroy(&t->lock);
    free(t);
}

/* work(ms): counts itself running, naps, answers the peak so far. */
static actors_err
s_work(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    tsvc_t *t = state;
    int64_t ms = 0;
    OK(actors_args_int(args, 0, &ms));
    pthread_mutex_lock(&t->lock);
    if (++t->running > t->peak) {
        t->peak = t->running;
    }
    pthread_mutex_unlock(&t->lock);
    s_nap_ms((int)ms);
    pthread_mutex_lock(&t->lock);
    t->running--;
    int peak = t->peak;
    pthread_mutex_unlock(&t->lock);
    return actors_ctx_reply_int(ctx, peak);
}

/* worker_checks(): on a worker: the loop's functions are refused, a
 * deferred reply is completed from the worker itself, through a post. */
typedef struct {
    actors_deferred_t *d;
    bool off_loop_refused;
} wcheck_t;

static void
s_wcheck_post(actors_actor_t *actor, void *arg)
{
    wcheck_t *w = arg;
    ck_assert(actors_actor_on_loop(actor));
    ck_assert_ptr_nonnull(actors_actor_client(actor));
    actors_msg_t *v = NULL;
    OK(actors_msg_build(&v, "b", w->off_loop_refused));
    OK(actors_deferred_reply(&w->d, &v));
    free(w);
}

static actors_err
s_worker_checks(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    (void)args;
    (void)state;
    actors_actor_t *a = actors_ctx_actor(ctx);
    wcheck_t *w = calloc(1, sizeof *w);
    ck_assert_ptr_nonnull(w);
    w->off_loop_refused =
        !actors_actor_on_loop(a) && actors_actor_client(a) == NULL &&
        actors_actor_timer_add(a, 1, false, NULL, NULL, NULL) ==
            ACTORS_EINVAL &&
        actors_actor_watch_fd(a, 0, POLLIN, s_on_readable, NULL, NULL) ==
            ACTORS_EINVAL;
    OK(actors_ctx_defer(ctx, &w->d));
    OK(actors_actor_post(a, s_wcheck_post, w));
    return ACTORS_OK;
}

/* defer_here(x): a worker defers and completes at once, off the loop. */
static actors_err
s_defer_here(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    (void)state;
    actors_deferred_t *d = NULL;
    OK(actors_ctx_defer(ctx, &d));
    actors_msg_t *v = NULL;
    OK(actors_msg_build(&v, "o", actors_args_at(args, 0)));
    OK(actors_deferred_reply(&d, &v));
    return ACTORS_OK;
}

static const actors_method_t s_methods[] = {
    {"thread_reply", s_thread_reply, NULL},
    {"post_steps", s_post_steps, NULL},
    {"pipe_echo", s_pipe_echo, NULL},
    {"run_echo", s_run_echo, NULL},
    {"timer_wait", s_timer_wait, NULL},
    {"pool_echo", s_pool_echo, NULL},
    {"echo", s_echo, NULL},
    {"stop", s_stop, NULL},
    {NULL, NULL, NULL},
};

static const actors_service_t s_service = {
    .name = "looptest",
    .methods = s_methods,
    .init = s_init,
    .fini = s_fini,
};

static const actors_method_t s_tmethods[] = {
    {"work", s_work, NULL},
    {"worker_checks", s_worker_checks, NULL},
    {"defer_here", s_defer_here, NULL},
    {"stop", s_stop, NULL},
    {"solo", s_work, "solo"},
    {NULL, NULL, NULL},
};

static const actors_concurrency_group_t s_tgroups[] = {
    {"solo", 1},
    {NULL, 0},
};

static const actors_service_t s_tservice = {
    .name = "looptest",
    .methods = s_tmethods,
    .init = s_tinit,
    .fini = s_tfini,
    .max_concurrency = 3,
    .groups = s_tgroups,
};

/* ---- running it -----------------------------------------------------------
 */

typedef struct {
    const actors_service_t *service;
    const char *address;
    actors_err rc;
    pthread_t thread;
} run_t;

static void *
s_run_main(void *arg)
{
    run_t *r = arg;
    actors_actor_opts_t o = ACTORS_ACTOR_OPTS_INIT;
    o.endpoint = testutil_endpoint();
    o.address = r->address;
    r->rc = actors_actor_run(r->service, &o, NULL);
    return NULL;
}

static actors_client_t *g_client;

static void
s_start(run_t *r, const actors_service_t *svc, const char *address)
{
    testutil_broker_start(NULL);
    r->service = svc;
    r->address = address;
    ck_assert_int_eq(pthread_create(&r->thread, NULL, s_run_main, r), 0);
    ck_assert(testutil_wait_state(address, "running", 0, WAIT_MS));
    OK(actors_client_create(&g_client, testutil_endpoint()));
}

static void
s_stop_run(run_t *r)
{
    actors_future_t *f = NULL;
    OK(actors_client_call_fmt(g_client, r->address, "stop", NULL, &f, ""));
    OK(actors_future_wait(f, WAIT_MS));
    actors_future_destroy(&f);
    pthread_join(r->thread, NULL);
    OK(r->rc);
    actors_client_destroy(&g_client);
    testutil_stop_all();
}

static actors_future_t *
s_call(const char *address, const char *method, const char *fmt, ...)
{
    actors_msg_t *args = NULL;
    va_list ap;
    va_start(ap, fmt);
    actors_err rc = ACTORS_OK;
    if (fmt != NULL && *fmt) {
        /* actors_msg_build has no va_list form in the public API: build
         * the few shapes used here by hand. */
        OK(actors_msg_create(&args));
        for (const char *p = fmt; rc == ACTORS_OK && *p; p++) {
            switch (*p) {
            case 'I':
                rc = actors_msg_add_int(args, va_arg(ap, int64_t));
                break;
            case 'b':
                rc = actors_msg_add_bool(args, va_arg(ap, int) != 0);
                break;
            case 's':
                rc = actors_msg_add_str(args, va_arg(ap, const char *));
                break;
            default:
                ck_abort_msg("bad format %c", *p);
            }
        }
    }
    va_end(ap);
    OK(rc);
    actors_future_t *f = NULL;
    OK(actors_client_call(g_client, address, method, &args, NULL, &f));
    return f;
}

static int64_t
s_int(actors_future_t *f)
{
    const msgpack_object *r = NULL;
    actors_err rc = actors_future_get(f, WAIT_MS, &r);
    ck_assert_msg(rc == ACTORS_OK, "call failed: %s %s", actors_err_name(rc),
        actors_future_error(f) ? actors_error_message(actors_future_error(f))
                               : "");
    int64_t v = 0;
    OK(actors_value_int(r, &v));
    return v;
}

/* ---- tests ------------------------------------------------------------------
 */

/* 40 deferred replies completed by 40 threads, in any order; some fail. */
START_TEST(test_loop_deferred_from_threads)
{
    run_t r;
    s_start(&r, &s_service, "loop/1");
    actors_future_t *fs[40];
    for (int i = 0; i < 40; i++) {
        fs[i] = s_call("loop/1", "thread_reply", "IIb", (int64_t)i,
            (int64_t)(40 - i) % 7, i % 10 == 9);
    }
    OK(actors_future_wait_all(fs, 40, WAIT_MS));
    for (int i = 0; i < 40; i++) {
        if (i % 10 == 9) {
            const actors_error_t *e = actors_future_error(fs[i]);
            ck_assert_ptr_nonnull(e);
            ck_assert_str_eq(actors_error_type(e), "ValueError");
            ck_assert_str_eq(actors_error_address(e), "loop/1");
        } else {
            ck_assert_int_eq(s_int(fs[i]), 2 * i);
        }
        actors_future_destroy(&fs[i]);
    }
    s_stop_run(&r);
}
END_TEST

/* 1000 posts from another thread all run on the loop, in order. */
START_TEST(test_loop_posts_run_in_order)
{
    run_t r;
    s_start(&r, &s_service, "loop/2");
    actors_future_t *f = s_call("loop/2", "post_steps", "I", (int64_t)1000);
    const msgpack_object *res = NULL;
    OK(actors_future_get(f, WAIT_MS, &res));
    ck_assert_int_eq(res->type, MSGPACK_OBJECT_ARRAY);
    int64_t n = 0;
    OK(actors_value_int(&res->via.array.ptr[0], &n));
    ck_assert_int_eq(n, 1000);
    ck_assert(res->via.array.ptr[1].via.boolean);
    actors_future_destroy(&f);
    s_stop_run(&r);
}
END_TEST

/* A pipe written by another thread, and a subprocess's output, read by
 * the loop as they become readable; the loop serves calls meanwhile. */
START_TEST(test_loop_watches_fds)
{
    run_t r;
    s_start(&r, &s_service, "loop/3");
    actors_future_t *p = s_call("loop/3", "pipe_echo", "s", "through a pipe");
    actors_future_t *e = s_call("loop/3", "run_echo", "s", "subprocess");
    actors_future_t *x = s_call("loop/3", "echo", "I", (int64_t)5);
    ck_assert_int_eq(s_int(x), 5);
    const msgpack_object *res = NULL;
    OK(actors_future_get(p, WAIT_MS, &res));
    ck_assert_int_eq(res->type, MSGPACK_OBJECT_STR);
    ck_assert_int_eq(res->via.str.size, strlen("through a pipe"));
    ck_assert(
        memcmp(res->via.str.ptr, "through a pipe", res->via.str.size) == 0);
    OK(actors_future_get(e, WAIT_MS, &res));
    ck_assert_int_eq(res->via.str.size, strlen("subprocess\n"));
    ck_assert(memcmp(res->via.str.ptr, "subprocess\n", res->via.str.size) == 0);
    actors_future_destroy(&p);
    actors_future_destroy(&e);
    actors_future_destroy(&x);
    s_stop_run(&r);
}
END_TEST

/* A timer that waits on its own loop gets Deadlock at once. */
START_TEST(test_loop_timer_wait_refused)
{
    run_t r;
    s_start(&r, &s_service, "loop/4");
    int64_t t0 = testutil_now_ms();
    actors_future_t *f = s_call("loop/4", "timer_wait", "");
    const msgpack_object *res = NULL;
    OK(actors_future_get(f, WAIT_MS, &res));
    ck_assert_int_eq(res->type, MSGPACK_OBJECT_STR);
    ck_assert(memcmp(res->via.str.ptr, "Deadlock", res->via.str.size) == 0);
    ck_assert_int_lt(testutil_now_ms() - t0, 4000);
    actors_future_destroy(&f);
    s_stop_run(&r);
}
END_TEST

/* A threaded service: three at once, no more; the "solo" group one at a
 * time; a worker's deferred reply and post; the loop's functions refused
 * on a worker; a stop asked from a worker. */
START_TEST(test_loop_threaded_service)
{
    run_t r;
    s_start(&r, &s_tservice, "loop/5");
    actors_future_t *fs[9];
    for (int i = 0; i < 9; i++) {
        fs[i] = s_call("loop/5", "work", "I", (int64_t)60);
    }
    OK(actors_future_wait_all(fs, 9, WAIT_MS));
    int64_t peak = 0;
    for (int i = 0; i < 9; i++) {
        int64_t v = s_int(fs[i]);
        peak = v > peak ? v : peak;
        actors_future_destroy(&fs[i]);
    }
    ck_assert_int_eq(peak, 3);
    actors_future_t *w = s_call("loop/5", "worker_checks", "");
    const msgpack_object *res = NULL;
    OK(actors_future_get(w, WAIT_MS, &res));
    ck_assert_int_eq(res->type, MSGPACK_OBJECT_BOOLEAN);
    ck_assert(res->via.boolean);
    actors_future_destroy(&w);
    actors_future_t *d[20];
    for (int i = 0; i < 20; i++) {
        d[i] = s_call("loop/5", "defer_here", "I", (int64_t)i);
    }
    for (int i = 0; i < 20; i++) {
        ck_assert_int_eq(s_int(d[i]), i);
        actors_future_destroy(&d[i]);
    }
    s_stop_run(&r);
}
END_TEST

/* A pool used from inside an actor, without blocking. */
START_TEST(test_loop_pool_inside_an_actor)
{
    run_t r;
    s_start(&r, &s_service, "loop/6");
    actors_future_t *f = s_call("loop/6", "pool_echo", "I", (int64_t)50);
    const msgpack_object *res = NULL;
    OK(actors_future_get(f, WAIT_MS, &res));
    ck_assert_int_eq(res->type, MSGPACK_OBJECT_ARRAY);
    int64_t sum = 0;
    int64_t got = 0;
    OK(actors_value_int(&res->via.array.ptr[0], &sum));
    OK(actors_value_int(&res->via.array.ptr[1], &got));
    ck_assert_int_eq(sum, 49 * 50 / 2);
    ck_assert_int_eq(got, 50);
    ck_assert(res->via.array.ptr[2].via.boolean);
    actors_future_destroy(&f);
    s_stop_run(&r);
}
END_TEST

static Suite *
loop_suite(void)
{
    Suite *s = suite_create("loop");
    TCase *tc = tcase_create("loop");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_loop_deferred_from_threads);
    tcase_add_test(tc, test_loop_posts_run_in_order);
    tcase_add_test(tc, test_loop_watches_fds);
    tcase_add_test(tc, test_loop_timer_wait_refused);
    tcase_add_test(tc, test_loop_threaded_service);
    tcase_add_test(tc, test_loop_pool_inside_an_actor);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(loop_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
