/* libactors/src/actor_threads.c - methods on worker threads
 * (max_concurrency, concurrency groups). SPDX-License-Identifier: MIT
 *
 * The loop thread stays the only one that touches the connection. It
 * takes each queued message as before; one whose method belongs to a
 * group (the default group: methods with no group, up to max_concurrency)
 * waits in that group's FIFO until the group has room, then is claimed
 * (s_claim: the broker learns it may have started, PROTOCOL.md "Sequence
 * numbers") and handed to the workers through a run queue. There are as
 * many workers as the limits add up to, so a message handed over never
 * waits for a thread. A worker decodes the arguments into its own zone,
 * runs the method with its own result builder, encodes the outcome into a
 * frame and posts it back (ACTORS__POST_DONE); the loop sends it if the
 * registration it was taken under is still current, returns the group's
 * room, and credits a tell. Nothing on the single-threaded path changes:
 * a service with max_concurrency <= 1 and no groups never gets here.
 *
 * Claims and replies stay right with several calls in flight: messages
 * are claimed in arrival order within a group, and a reply to message s
 * tells the broker that everything up to s was taken up, which is true or
 * (when another group's earlier message still waits for room) an
 * overstatement, the safe side: that message then counts as maybe run.
 */
#include <assert.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <msgpack.h>

#include <actors/log.h>

#include "actor_internal.h"
#include "actor_loop.h"
#include "msg_internal.h"
#include <actors-internal/alloc.h>
#include <actors-internal/unpack.h>

#define WORKERS_MAX 1024 /* threads one actor may ask for */
#define S_STR(x) #x
#define S_XSTR(x) S_STR(x) /* a macro's value as a string literal */

typedef struct {
    const char *name;     /* NULL: the default group */
    uint32_t limit;       /* at most this many at once */
    uint32_t running;     /* handed to workers, not yet done */
    actors__item_t *head; /* waiting for room */
    actors__item_t *tail;
} s_group_t;

struct actors__threads {
    actors_actor_t *actor;
    s_group_t *groups; /* [0] is the default group */
    size_t ngroups;
    pthread_mutex_t lock;    /* the run queue, stop */
    pthread_cond_t cond;     /* signalled on a push and at stop */
    actors__post_t *rq_head; /* DONE posts whose item is to run */
    actors__post_t *rq_tail;
    bool stop;
    pthread_t *tids;
    size_t nthreads; /* started */
};

/* s_decode decodes a message's arguments as actor.c's s_handle does. */
static actors_err
s_decode(const actors__item_t *it, msgpack_zone *zone, msgpack_object *args,
    const char **why)
{
    size_t off = 0;
    zmq_msg_t *a = (zmq_msg_t *)&it->args; /* only read */
    if (actors__unpack_check(zmq_msg_data(a), zmq_msg_size(a), &off) !=
        MSGPACK_UNPACK_SUCCESS) {
        *why = "the arguments frame is not valid msgpack, or nests "
               "containers deeper than " S_XSTR(
                   ACTORS__UNPACK_MAX_DEPTH) " levels";
        return ACTORS_EMSGPACK;
    }
    off = 0;
    msgpack_unpack_return ur =
        msgpack_unpack(zmq_msg_data(a), zmq_msg_size(a), &off, zone, args);
    if (ur == MSGPACK_UNPACK_NOMEM_ERROR) {
        *why = NULL;
        return ACTORS_ENOMEM;
    }
    if (ur == MSGPACK_UNPACK_EXTRA_BYTES) {
        *why = "the arguments frame holds more than one msgpack value";
        return ACTORS_EMSGPACK;
    }
    if (ur != MSGPACK_UNPACK_SUCCESS) {
        *why = "the arguments frame is not valid msgpack";
        return ACTORS_EMSGPACK;
    }
    if (args->type != MSGPACK_OBJECT_ARRAY) {
        *why = "the arguments must be a msgpack array";
        return ACTORS_EARGS;
    }
    return ACTORS_OK;
}

static void *
s_worker(void *arg)
{
    actors__threads_t *t = arg;
    actors_actor_t *actor = t->actor;
    msgpack_zone *zone = msgpack_zone_new(MSGPACK_ZONE_CHUNK_SIZE);
    actors_msg_t *scratch = NULL;
    actors_msg_t *body = NULL;
    bool ok = zone != NULL && actors_msg_create(&scratch) == ACTORS_OK &&
              actors_msg_create(&body) == ACTORS_OK;
    for (;;) {
        pthread_mutex_lock(&t->lock);
        while (t->rq_head == NULL && !t->stop) {
            pthread_cond_wait(&t->cond, &t->lock);
        }
        actors__post_t *p = t->rq_head;
        if (p == NULL) {
            pthread_mutex_unlock(&t->lock);
            break; /* stopping, and nothing left to run */
        }
        t->rq_head = p->next;
        if (t->rq_head == NULL) {
            t->rq_tail = NULL;
        }
        pthread_mutex_unlock(&t->lock);
        const actors__item_t *it = p->item;
        msgpack_object args;
        const char *why = NULL;
        actors_err rc = ok ? s_decode(it, zone, &args, &why) : ACTORS_ENOMEM;
        if (rc == ACTORS_OK) {
            actors__ctx_run_worker(actor, scratch, body, it, &args, p);
        } else {
            actors__post_error(actor, body, p, rc, NULL, why);
        }
        if (zone != NULL) {
            msgpack_zone_clear(zone);
        }
        /* The loop closes its inbox only after joining us. */
        actors_err prc = actors__loop_push(&actor->loop, p);
        assert(prc == ACTORS_OK);
        (void)prc;
    }
    actors_msg_destroy(&scratch);
    actors_msg_destroy(&body);
    if (zone != NULL) {
        msgpack_zone_free(zone);
    }
    return NULL;
}

/* s_group_of is the index of m's group (0: the default). */
static size_t
s_group_of(const actors__threads_t *t, const actors_method_t *m)
{
    if (m->group == NULL) {
        return 0;
    }
    for (size_t g = 1; g < t->ngroups; g++) {
        if (strcmp(t->groups[g].name, m->group) == 0) {
            return g;
        }
    }
    return 0; /* checked at start: not reached */
}

actors_err
actors__threads_start(actors_actor_t *self, uint32_t max_conc)
{
    const actors_service_t *svc = self->service;
    size_t ngroups = 1;
    uint64_t total = max_conc > 1 ? max_conc : 1;
    for (const actors_concurrency_group_t *g = svc->groups; g && g->name; g++) {
        if (g->max_concurrency == 0) {
            return ACTORS_EINVAL;
        }
        ngroups++;
        total += g->max_concurrency;
    }
    if (max_conc <= 1 && ngroups == 1) {
        return ACTORS_OK; /* single-threaded: the loop runs the methods */
    }
    if (total > WORKERS_MAX) {
        return ACTORS_EINVAL;
    }
    /* Every group a method names must be declared. */
    for (const actors_method_t *m = svc->methods; m && m->name; m++) {
        bool found = m->group == NULL;
        for (const actors_concurrency_group_t *g = svc->groups;
             !found && g && g->name; g++) {
            found = strcmp(g->name, m->group) == 0;
        }
        if (!found) {
            ACTORS_LOG(ACTORS_LOG_ERR, "ACT-GROUP",
                "service=%s method=%s names the undeclared concurrency "
                "group '%s'",
                svc->name, m->name, m->group);
            return ACTORS_EINVAL;
        }
    }
    actors__threads_t *t = actors__zalloc(sizeof *t);
    if (t == NULL) {
        return ACTORS_ENOMEM;
    }
    t->actor = self;
    t->groups = actors__zalloc(ngroups * sizeof *t->groups);
    t->tids = actors__zalloc((size_t)total * sizeof *t->tids);
    if (t->groups == NULL || t->tids == NULL) {
        actors__free(t->groups);
        actors__free(t->tids);
        actors__free(t);
        return ACTORS_ENOMEM;
    }
    t->ngroups = ngroups;
    t->groups[0].limit = max_conc > 1 ? max_conc : 1;
    size_t i = 1;
    for (const actors_concurrency_group_t *g = svc->groups; g && g->name;
         g++, i++) {
        t->groups[i].name = g->name;
        t->groups[i].limit = g->max_concurrency;
    }
    pthread_mutex_init(&t->lock, NULL);
    pthread_cond_init(&t->cond, NULL);
    self->loop.threads = t;
    /* The loop thread blocks SIGTERM and SIGINT (signalfd); the workers
     * inherit that mask, so a signal never lands on one of them. */
    for (size_t k = 0; k < total; k++) {
        if (pthread_create(&t->tids[k], NULL, s_worker, t) != 0) {
            ACTORS_LOG(ACTORS_LOG_ERR, "ACT-THREADS",
                "address=%s could start only %zu of %llu worker threads",
                self->address, k, (unsigned long long)total);
            actors__threads_stop(self);
            return ACTORS_ENOMEM;
        }
        t->nthreads++;
    }
    ACTORS_LOG(ACTORS_LOG_INFO, "ACT-THREADS",
        "address=%s max_concurrency=%u groups=%zu workers=%zu", self->address,
        t->groups[0].limit, ngroups - 1, t->nthreads);
    return ACTORS_OK;
}

/* s_pump hands group g's waiting messages to the workers while it has
 * room. */
static void
s_pump(actors_actor_t *self, actors__threads_t *t, s_group_t *g)
{
    while (g->head != NULL && g->running < g->limit && !t->stop) {
        actors__item_t *it = g->head;
        g->head = it->next;
        if (g->head == NULL) {
            g->tail = NULL;
        }
        it->next = NULL;
        actors__actor_claim(self, it);
        actors__post_t *p = actors__zalloc(sizeof *p);
        if (p == NULL) {
            actors__actor_reject(self, it, ACTORS_ENOMEM);
            actors__actor_item_free(self, it);
            continue;
        }
        p->kind = ACTORS__POST_DONE;
        p->item = it;
        p->session = self->session;
        p->id_len = it->id_len;
        memcpy(p->id, it->id, it->id_len);
        zmq_msg_init(&p->body);
        g->running++;
        pthread_mutex_lock(&t->lock);
        if (t->rq_tail != NULL) {
            t->rq_tail->next = p;
        } else {
            t->rq_head = p;
        }
        t->rq_tail = p;
        pthread_cond_signal(&t->cond);
        pthread_mutex_unlock(&t->lock);
    }
}

void
actors__threads_take(
    actors_actor_t *self, actors__item_t *it, const actors_method_t *m)
{
    actors__threads_t *t = self->loop.threads;
    assert(t != NULL);
    size_t gi = s_group_of(t, m);
    s_group_t *g = &t->groups[gi];
    it->m = m;
    it->group = (uint32_t)gi;
    it->next = NULL;
    if (g->tail != NULL) {
        g->tail->next = it;
    } else {
        g->head = it;
    }
    g->tail = it;
    s_pump(self, t, g);
}

void
actors__threads_done(actors_actor_t *self, actors__post_t *p)
{
    actors__threads_t *t = self->loop.threads;
    actors__item_t *it = p->item;
    p->item = NULL;
    assert(t != NULL && it != NULL);
    s_group_t *g = &t->groups[it->group];
    assert(g->running > 0);
    g->running--;
    if (actors__actor_send_post(self, p) && it->cmd == ACTORS_CMD_CALL) {
        actors__actor_informed(self, it->seq); /* its reply tells */
    }
    if (it->cmd == ACTORS_CMD_TELL && p->session == self->session) {
        actors__actor_tell_done(self, it->seq);
    }
    actors__actor_item_free(self, it);
    s_pump(self, t, g);
}

/* s_group_clear frees the messages waiting in g. */
static void
s_group_clear(actors_actor_t *self, s_group_t *g)
{
    while (g->head != NULL) {
        actors__item_t *it = g->head;
        g->head = it->next;
        actors__actor_item_free(self, it);
    }
    g->tail = NULL;
}

void
actors__threads_clear(actors_actor_t *self)
{
    actors__threads_t *t = self->loop.threads;
    if (t == NULL) {
        return;
    }
    for (size_t i = 0; i < t->ngroups; i++) {
        s_group_clear(self, &t->groups[i]);
    }
}

void
actors__threads_stop(actors_actor_t *self)
{
    actors__threads_t *t = self->loop.threads;
    if (t == NULL) {
        return;
    }
    pthread_mutex_lock(&t->lock);
    t->stop = true;
    pthread_cond_broadcast(&t->cond);
    pthread_mutex_unlock(&t->lock);
    for (size_t k = 0; k < t->nthreads; k++) {
        pthread_join(t->tids[k], NULL);
    }
    t->nthreads = 0;
    /* Their outcomes wait in the inbox: deliver them (and return the
     * groups' room) while the registration lasts. */
    actors__loop_run(self);
    actors__threads_clear(self);
    self->loop.threads = NULL;
    pthread_mutex_destroy(&t->lock);
    pthread_cond_destroy(&t->cond);
    actors__free(t->groups);
    actors__free(t->tids);
    actors__free(t);
}
