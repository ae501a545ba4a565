/* libactors/src/actor_loop.c - work handed back to an actor's loop.
 * SPDX-License-Identifier: MIT
 *
 * The inbox (actor_loop.h) and the watched descriptors, and the public
 * functions of actors/loop.h. A post is one small allocation; the loop
 * takes the whole FIFO under the lock at once and runs it outside the
 * lock, so a posting thread never waits for a handler.
 */
#define _GNU_SOURCE
#include <actors/loop.h>

#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <actors/log.h>

#include "actor_internal.h"
#include "actor_loop.h"
#include <actors-internal/alloc.h>

#define WATCH_MAX 4096 /* descriptors one actor may watch */

actors_err
actors__loop_init(actors__loop_t *self)
{
    self->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (self->wake_fd < 0) {
        ACTORS_LOG(ACTORS_LOG_ERR, "ACT-EVENTFD", "%s", strerror(errno));
        return ACTORS_EIO;
    }
    pthread_mutex_init(&self->lock, NULL);
    atomic_init(&self->queued, 0);
    self->thread = pthread_self();
    return ACTORS_OK;
}

void
actors__post_free(actors__post_t *p)
{
    if (p == NULL) {
        return;
    }
    if (p->kind != ACTORS__POST_FN) {
        zmq_msg_close(&p->body);
    }
    actors__free(p);
}

void
actors__loop_fini(actors__loop_t *self)
{
    if (self->wake_fd < 0) {
        return; /* never initialised */
    }
    while (self->head != NULL) {
        actors__post_t *p = self->head;
        self->head = p->next;
        actors__post_free(p);
    }
    self->tail = NULL;
    close(self->wake_fd);
    self->wake_fd = -1;
    pthread_mutex_destroy(&self->lock);
    actors__free(self->watch);
    actors__free(self->pfds);
    self->watch = NULL;
    self->pfds = NULL;
}

actors_err
actors__loop_push(actors__loop_t *self, actors__post_t *p)
{
    p->next = NULL;
    pthread_mutex_lock(&self->lock);
    if (self->closed) {
        pthread_mutex_unlock(&self->lock);
        return ACTORS_ECLOSED;
    }
    bool was_empty = self->head == NULL;
    if (self->tail != NULL) {
        self->tail->next = p;
    } else {
        self->head = p;
    }
    self->tail = p;
    atomic_fetch_add_explicit(&self->queued, 1, memory_order_release);
    if (was_empty) {
        uint64_t one = 1;
        /* Under the lock: the loop cannot have closed the fd meanwhile. A
         * full counter (EAGAIN) is readable already. */
        ssize_t n = write(self->wake_fd, &one, sizeof one);
        (void)n;
    }
    pthread_mutex_unlock(&self->lock);
    return ACTORS_OK;
}

bool
actors__loop_has_posts(actors__loop_t *self)
{
    return atomic_load_explicit(&self->queued, memory_order_relaxed) != 0;
}

/* s_run_posts runs the inbox as it is now; posts made meanwhile wait for
 * the next turn (the eventfd says so). */
static void
s_run_posts(actors_actor_t *actor)
{
    actors__loop_t *self = &actor->loop;
    if (!actors__loop_has_posts(self)) {
        return;
    }
    pthread_mutex_lock(&self->lock);
    actors__post_t *p = self->head;
    self->head = NULL;
    self->tail = NULL;
    atomic_store_explicit(&self->queued, 0, memory_order_relaxed);
    uint64_t count;
    ssize_t n = read(self->wake_fd, &count, sizeof count);
    (void)n;
    pthread_mutex_unlock(&self->lock);
    while (p != NULL) {
        actors__post_t *next = p->next;
        switch (p->kind) {
        case ACTORS__POST_FN:
            p->fn(actor, p->arg);
            break;
        case ACTORS__POST_SEND:
            actors__actor_send_post(actor, p);
            break;
        case ACTORS__POST_DONE:
            actors__threads_done(actor, p);
            break;
        default:
            break;
        }
        actors__post_free(p);
        p = next;
    }
}

/* s_run_watches calls back the watched descriptors that poll found ready.
 * A callback may add or remove watches: the list is walked by index and a
 * removed slot has id 0. */
static void
s_run_watches(actors_actor_t *actor)
{
    actors__loop_t *self = &actor->loop;
    for (size_t i = 0; i < self->nwatch; i++) {
        actors__watch_t *w = &self->watch[i];
        if (w->id == 0 || w->revents == 0) {
            continue;
        }
        short rev = w->revents;
        w->revents = 0;
        /* Copy what the call needs: the callback may grow the array. */
        actors_fd_fn fn = w->fn;
        int fd = w->fd;
        void *arg = w->arg;
        fn(actor, fd, rev, arg);
    }
    if (self->watch_dirty) {
        /* Compact: drop the slots removed meanwhile. */
        size_t j = 0;
        for (size_t i = 0; i < self->nwatch; i++) {
            if (self->watch[i].id != 0) {
                self->watch[j++] = self->watch[i];
            }
        }
        self->nwatch = j;
        self->watch_dirty = false;
    }
}

void
actors__loop_run(actors_actor_t *actor)
{
    s_run_posts(actor);
    if (actor->loop.nwatch > 0) {
        s_run_watches(actor);
    }
}

void
actors__loop_close(actors_actor_t *actor)
{
    actors__loop_t *self = &actor->loop;
    if (self->wake_fd < 0) {
        return;
    }
    pthread_mutex_lock(&self->lock);
    self->closed = true;
    pthread_mutex_unlock(&self->lock);
    s_run_posts(actor);
}

/* s_pfds_reserve grows the poll set to n entries. */
static bool
s_pfds_reserve(actors__loop_t *self, size_t n)
{
    if (n <= self->pfd_cap) {
        return true;
    }
    size_t cap = self->pfd_cap ? self->pfd_cap * 2 : 8;
    while (cap < n) {
        cap *= 2;
    }
    struct pollfd *p = actors__realloc(self->pfds, cap * sizeof *p);
    if (p == NULL) {
        return false;
    }
    self->pfds = p;
    self->pfd_cap = cap;
    return true;
}

size_t
actors__loop_pollset(actors__loop_t *self, size_t first)
{
    if (!s_pfds_reserve(self, first + 1 + self->nwatch)) {
        return first;
    }
    size_t n = first;
    self->pfds[n++] = (struct pollfd){self->wake_fd, POLLIN, 0};
    for (size_t i = 0; i < self->nwatch; i++) {
        const actors__watch_t *w = &self->watch[i];
        /* A removed slot polls fd -1, which poll ignores: indexes stay
         * aligned with the watch array. */
        self->pfds[n++] = (struct pollfd){w->id ? w->fd : -1, w->events, 0};
    }
    return n;
}

void
actors__loop_polled(actors__loop_t *self, size_t first, size_t n)
{
    /* pfds[first] is the wake fd: s_run_posts reads it. */
    for (size_t i = first + 1; i < n && i - first - 1 < self->nwatch; i++) {
        actors__watch_t *w = &self->watch[i - first - 1];
        if (w->id != 0) {
            w->revents = self->pfds[i].revents;
        }
    }
}

void
actors__loop_check_fds(actors__loop_t *self)
{
    if (self->nwatch == 0) {
        return;
    }
    size_t n = actors__loop_pollset(self, 0);
    if (n <= 1) {
        return;
    }
    if (poll(self->pfds + 1, (nfds_t)(n - 1), 0) > 0) {
        actors__loop_polled(self, 0, n);
    }
}

/* ---------------------------------------------------------------- public */

bool
actors_actor_on_loop(const actors_actor_t *actor)
{
    assert(actor && actor->tag == ACTOR_TAG);
    return pthread_equal(pthread_self(), actor->loop.thread) != 0;
}

actors_err
actors_actor_post(actors_actor_t *actor, actors_post_fn fn, void *arg)
{
    assert(actor && actor->tag == ACTOR_TAG);
    if (fn == NULL) {
        return ACTORS_EINVAL;
    }
    actors__post_t *p = actors__zalloc(sizeof *p);
    if (p == NULL) {
        return ACTORS_ENOMEM;
    }
    p->kind = ACTORS__POST_FN;
    p->fn = fn;
    p->arg = arg;
    actors_err rc = actors__loop_push(&actor->loop, p);
    if (rc != ACTORS_OK) {
        actors__free(p);
    }
    return rc;
}

actors_err
actors_actor_watch_fd(actors_actor_t *actor, int fd, short events,
    actors_fd_fn fn, void *arg, int *id)
{
    assert(actor && actor->tag == ACTOR_TAG);
    actors__loop_t *self = &actor->loop;
    events &= (short)(POLLIN | POLLOUT);
    if (fd < 0 || events == 0 || fn == NULL || !actors_actor_on_loop(actor) ||
        self->nwatch >= WATCH_MAX) {
        return ACTORS_EINVAL;
    }
    if (self->nwatch == self->watch_cap) {
        size_t cap = self->watch_cap ? self->watch_cap * 2 : 4;
        actors__watch_t *w = actors__realloc(self->watch, cap * sizeof *w);
        if (w == NULL) {
            return ACTORS_ENOMEM;
        }
        self->watch = w;
        self->watch_cap = cap;
    }
    if (++self->next_watch <= 0) {
        self->next_watch = 1;
    }
    self->watch[self->nwatch++] = (actors__watch_t){.id = self->next_watch,
        .fd = fd,
        .events = events,
        .fn = fn,
        .arg = arg};
    if (id != NULL) {
        *id = self->next_watch;
    }
    return ACTORS_OK;
}

actors_err
actors_actor_unwatch_fd(actors_actor_t *actor, int id)
{
    assert(actor && actor->tag == ACTOR_TAG);
    actors__loop_t *self = &actor->loop;
    if (id <= 0 || !actors_actor_on_loop(actor)) {
        return ACTORS_EINVAL;
    }
    for (size_t i = 0; i < self->nwatch; i++) {
        if (self->watch[i].id == id) {
            self->watch[i].id = 0;
            self->watch[i].revents = 0;
            self->watch_dirty = true;
            return ACTORS_OK;
        }
    }
    return ACTORS_EINVAL;
}
