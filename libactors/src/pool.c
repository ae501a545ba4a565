/* libactors/src/pool.c - Ray's ActorPool over a client (actors/pool.h).
 * SPDX-License-Identifier: MIT
 *
 * Tasks live in three lists: `order` (every task not yet returned, in
 * submission order: get_next takes its head), `queue` (tasks waiting for a
 * member slot; a task whose member was found dead goes back to its front)
 * and `done` (finished, not yet returned: get_next_unordered takes its
 * head). A task is sent as a call with a completion callback
 * (actors_future_on_done) that runs while the client is pumped: it frees
 * the member's slot, decides what the outcome means (evict the member,
 * re-submit the task) and dispatches queued tasks to free slots. A skipped
 * task leaves `order` at once; if its call is in flight it stays until the
 * callback frees its slot and drops its outcome.
 *
 * Members are an array that only grows: an evicted or popped member keeps
 * its slot (flags), so tasks can name their member by index.
 */
#include <actors/pool.h>

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <actors/log.h>

#include "client_internal.h"
#include "deadline.h"
#include <actors-internal/alloc.h>
#include <actors-internal/wire.h>

typedef struct {
    char *address;    /* the member's address (owned) */
    uint32_t slots;   /* calls it may have in flight */
    uint32_t busy;    /* calls in flight */
    uint32_t crashes; /* ActorCrashed in a row */
    bool group;       /* a group address: crashes do not evict it */
    bool evicted;     /* dead: never handed work again */
    bool removed;     /* popped by pop_idle */
} s_member_t;

typedef enum {
    T_QUEUED,  /* waiting for a slot */
    T_RUNNING, /* its call is in flight */
    T_DONE,    /* outcome in result, not yet returned */
} s_state_t;

typedef struct s_task s_task_t;
struct s_task {
    actors_pool_t *pool;
    uint64_t index;          /* submission number */
    char *method;            /* owned */
    actors_msg_t *args;      /* owned; copied for each call */
    actors_future_t *call;   /* the call in flight */
    actors_future_t *result; /* T_DONE: the outcome */
    size_t member;           /* T_RUNNING: its member */
    int retries;             /* re-submits left after a crash */
    uint8_t state;           /* s_state_t */
    bool skipped;            /* dropped by a get; freed when its call ends */
    bool in_order;           /* on the order list */
    s_task_t *oprev, *onext; /* order list */
    s_task_t *qnext;         /* queue */
    s_task_t *dprev, *dnext; /* done list */
    s_task_t *snext;         /* skipped list (skipped while running) */
};

struct actors_pool {
    actors_client_t *client; /* borrowed */
    actors_pool_opts_t opts;
    s_member_t *members;
    size_t nmembers;
    size_t cap;
    size_t next_member; /* round-robin start among equally loaded */
    uint64_t next_index;
    s_task_t *ohead, *otail; /* order */
    s_task_t *qhead, *qtail; /* queue */
    s_task_t *dhead, *dtail; /* done */
    s_task_t *skipped; /* skipped while running: freed when the call ends */
    size_t evicted;
    bool dispatching;              /* s_dispatch is on the stack */
    bool again;                    /* dispatch once more when it returns */
    actors_pool_ready_fn ready_fn; /* actors_pool_on_ready */
    void *ready_arg;
    bool ready;     /* an outcome became ready since the last notice */
    bool notifying; /* ready_fn is on the stack */
};

/* ---------------------------------------------------------------- lists */

static void
s_order_remove(actors_pool_t *self, s_task_t *t)
{
    if (!t->in_order) {
        return;
    }
    if (t->oprev) {
        t->oprev->onext = t->onext;
    } else {
        self->ohead = t->onext;
    }
    if (t->onext) {
        t->onext->oprev = t->oprev;
    } else {
        self->otail = t->oprev;
    }
    t->oprev = t->onext = NULL;
    t->in_order = false;
}

static void
s_done_push(actors_pool_t *self, s_task_t *t)
{
    t->dnext = NULL;
    t->dprev = self->dtail;
    if (self->dtail) {
        self->dtail->dnext = t;
    } else {
        self->dhead = t;
    }
    self->dtail = t;
}

static void
s_done_remove(actors_pool_t *self, s_task_t *t)
{
    if (t->state != T_DONE) {
        return;
    }
    if (t->dprev) {
        t->dprev->dnext = t->dnext;
    } else {
        self->dhead = t->dnext;
    }
    if (t->dnext) {
        t->dnext->dprev = t->dprev;
    } else {
        self->dtail = t->dprev;
    }
    t->dprev = t->dnext = NULL;
}

static void
s_queue_push(actors_pool_t *self, s_task_t *t, bool front)
{
    t->state = T_QUEUED;
    t->qnext = NULL;
    if (front) {
        t->qnext = self->qhead;
        self->qhead = t;
        if (self->qtail == NULL) {
            self->qtail = t;
        }
    } else if (self->qtail) {
        self->qtail->qnext = t;
        self->qtail = t;
    } else {
        self->qhead = self->qtail = t;
    }
}

static void
s_queue_remove(actors_pool_t *self, s_task_t *t)
{
    s_task_t **pp = &self->qhead;
    s_task_t *prev = NULL;
    while (*pp && *pp != t) {
        prev = *pp;
        pp = &(*pp)->qnext;
    }
    if (*pp == t) {
        *pp = t->qnext;
        if (self->qtail == t) {
            self->qtail = prev;
        }
        t->qnext = NULL;
    }
}

static void s_task_free(s_task_t *t);

/* s_drop frees a skipped task whose call has ended. */
static void
s_drop(actors_pool_t *self, s_task_t *t)
{
    s_task_t **pp = &self->skipped;
    while (*pp && *pp != t) {
        pp = &(*pp)->snext;
    }
    if (*pp == t) {
        *pp = t->snext;
    }
    s_task_free(t);
}

static void
s_task_free(s_task_t *t)
{
    actors_future_destroy(&t->call);
    actors_future_destroy(&t->result);
    actors_msg_destroy(&t->args);
    actors__free(t->method);
    actors__free(t);
}

/* ---------------------------------------------------------------- members */

static bool
s_live(const s_member_t *m)
{
    return !m->evicted && !m->removed;
}

static size_t
s_live_count(const actors_pool_t *self)
{
    size_t n = 0;
    for (size_t i = 0; i < self->nmembers; i++) {
        if (s_live(&self->members[i])) {
            n += self->members[i].group
                     ? self->members[i].slots /
                           (self->opts.per_member ? self->opts.per_member : 1)
                     : 1;
        }
    }
    return n;
}

static actors_err
s_member_add(
    actors_pool_t *self, const char *address, uint32_t count, bool group)
{
    size_t len = address ? strlen(address) : 0;
    if (len == 0 || len > ACTORS_WIRE_NAME_MAX) {
        return ACTORS_EINVAL;
    }
    uint32_t per = self->opts.per_member ? self->opts.per_member : 1;
    for (size_t i = 0; i < self->nmembers; i++) {
        s_member_t *m = &self->members[i];
        if (strcmp(m->address, address) == 0) {
            if (s_live(m)) {
                return ACTORS_EINVAL;
            }
            if (m->evicted) {
                self->evicted--;
            }
            m->evicted = m->removed = false;
            m->crashes = 0;
            m->slots = count * per;
            m->group = group;
            return ACTORS_OK;
        }
    }
    if (self->nmembers == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 8;
        s_member_t *a = actors__realloc(self->members, cap * sizeof *a);
        if (a == NULL) {
            return ACTORS_ENOMEM;
        }
        self->members = a;
        self->cap = cap;
    }
    char *copy = actors__strdup(address);
    if (copy == NULL) {
        return ACTORS_ENOMEM;
    }
    self->members[self->nmembers++] =
        (s_member_t){.address = copy, .slots = count * per, .group = group};
    return ACTORS_OK;
}

/* s_pick is the live member with a free slot and the fewest calls in
 * flight (round-robin among equals), or SIZE_MAX. */
static size_t
s_pick(actors_pool_t *self)
{
    size_t best = SIZE_MAX;
    uint64_t best_load = UINT64_MAX;
    for (size_t k = 0; k < self->nmembers; k++) {
        size_t i = (self->next_member + k) % self->nmembers;
        const s_member_t *m = &self->members[i];
        if (!s_live(m) || m->busy >= m->slots) {
            continue;
        }
        /* Load as a fraction of the slots, scaled: a group of 4 with 2
         * busy is less loaded than a plain member with 1. */
        uint64_t load = ((uint64_t)m->busy << 16) / m->slots;
        if (load < best_load) {
            best = i;
            best_load = load;
        }
    }
    if (best != SIZE_MAX) {
        self->next_member = (best + 1) % self->nmembers;
    }
    return best;
}

/* ---------------------------------------------------------------- tasks */

static void s_dispatch(actors_pool_t *self);

/* s_finish makes f the task's outcome (taken). */
static void
s_finish(actors_pool_t *self, s_task_t *t, actors_future_t *f)
{
    if (t->skipped) {
        actors_future_destroy(&f);
        s_drop(self, t);
        return;
    }
    t->result = f;
    t->state = T_DONE;
    s_done_push(self, t);
    self->ready = true;
}

/* s_notify tells the on_ready callback, once per batch of outcomes and
 * never re-entered (an outcome that comes while it runs makes it run
 * again). */
static void
s_notify(actors_pool_t *self)
{
    if (self->ready_fn == NULL || self->notifying) {
        return;
    }
    self->notifying = true;
    while (self->ready && self->ready_fn != NULL) {
        self->ready = false;
        self->ready_fn(self, self->ready_arg);
    }
    self->notifying = false;
}

/* s_fail finishes t with a local error. */
static void
s_fail(actors_pool_t *self, s_task_t *t, actors_err code, const char *message)
{
    actors_future_t *f = NULL;
    if (actors_future_failed(NULL, code, NULL, message, &f) != ACTORS_OK) {
        f = NULL; /* out of memory: the get reports OutOfMemory */
    }
    s_finish(self, t, f);
}

static void
s_evict(actors_pool_t *self, s_member_t *m, const actors_error_t *why)
{
    if (m->evicted) {
        return;
    }
    m->evicted = true;
    self->evicted++;
    ACTORS_LOG(ACTORS_LOG_WARN, "POOL-EVICT",
        "address=%s type=%s %s; the pool hands it no more work", m->address,
        why ? actors_error_type(why) : "-",
        why ? actors_error_message(why) : "");
}

/* s_on_call_done: the call of t resolved (inside a pump). */
static void
s_on_call_done(actors_future_t *f, void *arg)
{
    s_task_t *t = arg;
    actors_pool_t *self = t->pool;
    assert(t->call == f);
    t->call = NULL;
    s_member_t *m = &self->members[t->member];
    assert(m->busy > 0);
    m->busy--;
    const actors_error_t *err = actors_future_error(f);
    actors_err code = err ? actors_error_code(err) : ACTORS_OK;
    if (code == ACTORS_EDEAD || code == ACTORS_ENOACTOR) {
        /* The member is gone and the call never ran (ActorDead is "not
         * delivered"): the task goes to another member, first in line. */
        s_evict(self, m, err);
        actors_future_destroy(&f);
        if (t->skipped) {
            s_drop(self, t);
        } else {
            s_queue_push(self, t, true);
        }
    } else if (code == ACTORS_ECRASHED) {
        int limit = self->opts.max_member_crashes == 0
                        ? 1
                        : self->opts.max_member_crashes;
        m->crashes++;
        if (!m->group && limit > 0 && m->crashes >= (uint32_t)limit) {
            s_evict(self, m, err);
        }
        if (t->retries > 0 && !t->skipped) {
            t->retries--;
            actors_future_destroy(&f);
            s_queue_push(self, t, true);
        } else {
            s_finish(self, t, f);
        }
    } else {
        m->crashes = 0;
        s_finish(self, t, f);
    }
    s_dispatch(self);
    s_notify(self);
}

/* s_send sends t to member i. */
static void
s_send(actors_pool_t *self, s_task_t *t, size_t i)
{
    s_member_t *m = &self->members[i];
    actors_msg_t *args = NULL;
    actors_err rc = actors_msg_build(&args, "m", t->args);
    actors_call_opts_t o = ACTORS_CALL_OPTS_INIT;
    o.timeout_ms = self->opts.timeout_ms;
    if (rc == ACTORS_OK) {
        rc = actors_client_call(
            self->client, m->address, t->method, &args, &o, &t->call);
    }
    actors_msg_destroy(&args);
    if (rc != ACTORS_OK) {
        s_fail(self, t, rc, NULL);
        return;
    }
    t->state = T_RUNNING;
    t->member = i;
    m->busy++;
    /* Runs at once if the call already failed locally. */
    actors_future_on_done(t->call, s_on_call_done, t);
}

/* s_dispatch hands queued tasks to free slots; with no live member left,
 * fails them. Re-entered from a callback it only asks for another pass. */
static void
s_dispatch(actors_pool_t *self)
{
    if (self->dispatching) {
        self->again = true;
        return;
    }
    self->dispatching = true;
    do {
        self->again = false;
        while (self->qhead != NULL) {
            if (s_live_count(self) == 0) {
                s_task_t *t = self->qhead;
                self->qhead = t->qnext;
                if (self->qhead == NULL) {
                    self->qtail = NULL;
                }
                s_fail(
                    self, t, ACTORS_EDEAD, "the pool has no live member left");
                continue;
            }
            size_t i = s_pick(self);
            if (i == SIZE_MAX) {
                break;
            }
            s_task_t *t = self->qhead;
            self->qhead = t->qnext;
            if (self->qhead == NULL) {
                self->qtail = NULL;
            }
            s_send(self, t, i);
        }
    } while (self->again);
    self->dispatching = false;
}

/* ---------------------------------------------------------------- public */

static actors_err
s_new(actors_pool_t **out, actors_client_t *client,
    const actors_pool_opts_t *opts)
{
    if (out == NULL || client == NULL) {
        return ACTORS_EINVAL;
    }
    *out = NULL;
    actors_pool_t *self = actors__zalloc(sizeof *self);
    if (self == NULL) {
        return ACTORS_ENOMEM;
    }
    self->client = client;
    if (opts != NULL) {
        self->opts = *opts;
    }
    *out = self;
    return ACTORS_OK;
}

actors_err
actors_pool_create(actors_pool_t **out, actors_client_t *client,
    const char *const *addresses, size_t n, const actors_pool_opts_t *opts)
{
    if (addresses == NULL || n == 0) {
        return ACTORS_EINVAL;
    }
    actors_err rc = s_new(out, client, opts);
    for (size_t i = 0; rc == ACTORS_OK && i < n; i++) {
        rc = s_member_add(*out, addresses[i], 1, false);
    }
    if (rc != ACTORS_OK) {
        actors_pool_destroy(out);
    }
    return rc;
}

actors_err
actors_pool_create_group(actors_pool_t **out, actors_client_t *client,
    const char *group, const actors_pool_opts_t *opts, int timeout_ms)
{
    size_t len = group ? strlen(group) : 0;
    if (out == NULL || client == NULL || len == 0 ||
        len > ACTORS_WIRE_NAME_MAX) {
        return ACTORS_EINVAL;
    }
    actors_future_t *f = NULL;
    actors_err rc = actors_client_lookup(client, group, &f);
    const msgpack_object *info = NULL;
    if (rc == ACTORS_OK) {
        rc = actors_future_get(f, timeout_ms, &info);
    }
    uint32_t count = 1;
    bool is_group = false;
    if (rc == ACTORS_OK) {
        const msgpack_object *members = actors_map_get(info, "members");
        if (members != NULL && members->type == MSGPACK_OBJECT_ARRAY &&
            members->via.array.size > 0) {
            count = members->via.array.size;
            is_group = true;
        }
    }
    actors_future_destroy(&f);
    if (rc == ACTORS_OK) {
        rc = s_new(out, client, opts);
    }
    if (rc == ACTORS_OK) {
        rc = s_member_add(*out, group, count, is_group);
        if (rc != ACTORS_OK) {
            actors_pool_destroy(out);
        }
    }
    return rc;
}

void
actors_pool_destroy(actors_pool_t **self_p)
{
    if (self_p == NULL || *self_p == NULL) {
        return;
    }
    actors_pool_t *self = *self_p;
    *self_p = NULL;
    /* Every task is on order, or skipped while running; destroying a
     * call's future cancels its callback. */
    while (self->ohead != NULL) {
        s_task_t *t = self->ohead;
        s_order_remove(self, t);
        s_task_free(t);
    }
    while (self->skipped != NULL) {
        s_task_t *t = self->skipped;
        self->skipped = t->snext;
        s_task_free(t);
    }
    for (size_t i = 0; i < self->nmembers; i++) {
        actors__free(self->members[i].address);
    }
    actors__free(self->members);
    actors__free(self);
}

actors_err
actors_pool_submit(actors_pool_t *self, const char *method,
    actors_msg_t **args_p, uint64_t *index)
{
    assert(self);
    size_t len = method ? strlen(method) : 0;
    if (len == 0 || len > ACTORS_WIRE_NAME_MAX) {
        return ACTORS_EINVAL;
    }
    s_task_t *t = actors__zalloc(sizeof *t);
    if (t == NULL) {
        return ACTORS_ENOMEM;
    }
    t->method = actors__strdup(method);
    actors_err rc = t->method ? ACTORS_OK : ACTORS_ENOMEM;
    if (rc == ACTORS_OK) {
        if (args_p != NULL && *args_p != NULL) {
            t->args = *args_p;
        } else {
            rc = actors_msg_create(&t->args);
        }
    }
    if (rc != ACTORS_OK) {
        actors__free(t->method);
        actors__free(t);
        return rc;
    }
    if (args_p != NULL) {
        *args_p = NULL;
    }
    t->pool = self;
    t->index = self->next_index++;
    t->retries =
        self->opts.max_task_retries > 0 ? self->opts.max_task_retries : 0;
    t->in_order = true;
    t->oprev = self->otail;
    if (self->otail) {
        self->otail->onext = t;
    } else {
        self->ohead = t;
    }
    self->otail = t;
    if (index != NULL) {
        *index = t->index;
    }
    s_queue_push(self, t, false);
    s_dispatch(self);
    s_notify(self);
    return ACTORS_OK;
}

bool
actors_pool_has_next(const actors_pool_t *self)
{
    assert(self);
    return self->ohead != NULL;
}

/* s_pump waits for the client up to the deadline (ms, -1 none) once.
 * Returns ACTORS_OK, ACTORS_ETIMEDOUT, ACTORS_EDEADLK, ACTORS_ECLOSED. */
static actors_err
s_pump(actors_pool_t *self, int64_t deadline, bool first)
{
    int wait_ms = -1;
    if (deadline >= 0) {
        int64_t left = deadline - actors__now_ms();
        if (left <= 0 && !first) {
            return ACTORS_ETIMEDOUT;
        }
        wait_ms = left > 0 ? (int)left : 0;
    }
    if (actors__client_would_block(self->client, wait_ms)) {
        return ACTORS_EDEADLK;
    }
    return actors_client_poll(self->client, wait_ms);
}

static int64_t
s_deadline(int timeout_ms)
{
    return timeout_ms < 0 ? -1 : actors__now_ms() + timeout_ms;
}

/* s_take returns t's outcome to the caller and frees t. */
static actors_err
s_take(actors_pool_t *self, s_task_t *t, actors_future_t **out, uint64_t *index)
{
    s_order_remove(self, t);
    s_done_remove(self, t);
    if (index != NULL) {
        *index = t->index;
    }
    actors_err rc = ACTORS_OK;
    if (t->result == NULL) {
        rc = ACTORS_ENOMEM;
    }
    *out = t->result;
    t->result = NULL;
    s_task_free(t);
    return rc;
}

/* s_skip drops t: queued, it never runs; running, its outcome will be
 * discarded when it comes (the member's slot is freed then). */
static void
s_skip(actors_pool_t *self, s_task_t *t)
{
    s_order_remove(self, t);
    if (t->state == T_QUEUED) {
        s_queue_remove(self, t);
        s_task_free(t);
    } else if (t->state == T_DONE) {
        s_done_remove(self, t);
        s_task_free(t);
    } else {
        t->skipped = true;
        t->snext = self->skipped;
        self->skipped = t;
    }
}

/* s_get_task waits for task t. */
static actors_err
s_get_task(actors_pool_t *self, s_task_t *t, int timeout_ms, unsigned flags,
    actors_future_t **out, uint64_t *index)
{
    int64_t deadline = s_deadline(timeout_ms);
    bool first = true;
    while (t->state != T_DONE) {
        actors_err rc = s_pump(self, deadline, first);
        first = false;
        if (rc == ACTORS_ETIMEDOUT) {
            if (flags & ACTORS_POOL_SKIP_TIMEDOUT) {
                s_skip(self, t);
            }
            return rc;
        }
        if (rc != ACTORS_OK) {
            return rc;
        }
    }
    return s_take(self, t, out, index);
}

actors_err
actors_pool_get_next(actors_pool_t *self, int timeout_ms, unsigned flags,
    actors_future_t **out, uint64_t *index)
{
    assert(self && out);
    *out = NULL;
    if (self->ohead == NULL) {
        return ACTORS_EINVAL;
    }
    return s_get_task(self, self->ohead, timeout_ms, flags, out, index);
}

actors_err
actors_pool_get_next_unordered(actors_pool_t *self, int timeout_ms,
    unsigned flags, actors_future_t **out, uint64_t *index)
{
    assert(self && out);
    (void)flags;
    *out = NULL;
    if (self->ohead == NULL) {
        return ACTORS_EINVAL;
    }
    int64_t deadline = s_deadline(timeout_ms);
    bool first = true;
    while (self->dhead == NULL) {
        actors_err rc = s_pump(self, deadline, first);
        first = false;
        if (rc != ACTORS_OK) {
            return rc;
        }
    }
    return s_take(self, self->dhead, out, index);
}

/* s_map_submit submits one task per element of values; *first gets the
 * first index. */
static actors_err
s_map_submit(actors_pool_t *self, const char *method,
    const msgpack_object *values, uint64_t *first)
{
    if (values == NULL || values->type != MSGPACK_OBJECT_ARRAY) {
        return ACTORS_EINVAL;
    }
    const msgpack_object_array *a = &values->via.array;
    for (uint32_t i = 0; i < a->size; i++) {
        if (a->ptr[i].type != MSGPACK_OBJECT_ARRAY) {
            return ACTORS_EINVAL;
        }
    }
    size_t len = method ? strlen(method) : 0;
    if (len == 0 || len > ACTORS_WIRE_NAME_MAX) {
        return ACTORS_EINVAL;
    }
    *first = self->next_index;
    for (uint32_t i = 0; i < a->size; i++) {
        actors_msg_t *args = NULL;
        actors_err rc = actors_msg_create(&args);
        const msgpack_object_array *v = &a->ptr[i].via.array;
        for (uint32_t k = 0; rc == ACTORS_OK && k < v->size; k++) {
            rc = actors_msg_add_object(args, &v->ptr[k]);
        }
        if (rc == ACTORS_OK) {
            rc = actors_pool_submit(self, method, &args, NULL);
        }
        actors_msg_destroy(&args);
        if (rc != ACTORS_OK) {
            return rc;
        }
    }
    return ACTORS_OK;
}

/* s_find is the task of index i still on order, or NULL. */
static s_task_t *
s_find(actors_pool_t *self, uint64_t i)
{
    for (s_task_t *t = self->ohead; t != NULL; t = t->onext) {
        if (t->index == i) {
            return t;
        }
        if (t->index > i) {
            break;
        }
    }
    return NULL;
}

actors_err
actors_pool_map(actors_pool_t *self, const char *method,
    const msgpack_object *values, int timeout_ms, actors_pool_each_fn fn,
    void *arg)
{
    assert(self);
    uint64_t first = 0;
    actors_err rc = s_map_submit(self, method, values, &first);
    if (rc != ACTORS_OK) {
        return rc;
    }
    size_t n = values->via.array.size;
    for (size_t i = 0; i < n; i++) {
        s_task_t *t = s_find(self, first + i);
        if (t == NULL) {
            continue; /* taken by a get from inside fn */
        }
        actors_future_t *f = NULL;
        rc = s_get_task(self, t, timeout_ms, 0, &f, NULL);
        if (rc != ACTORS_OK && f == NULL) {
            return rc;
        }
        if (fn != NULL) {
            fn(i, f, arg);
        }
        actors_future_destroy(&f);
    }
    return ACTORS_OK;
}

actors_err
actors_pool_map_unordered(actors_pool_t *self, const char *method,
    const msgpack_object *values, int timeout_ms, actors_pool_each_fn fn,
    void *arg)
{
    assert(self);
    uint64_t first = 0;
    actors_err rc = s_map_submit(self, method, values, &first);
    if (rc != ACTORS_OK) {
        return rc;
    }
    uint64_t end = first + values->via.array.size;
    size_t left = values->via.array.size;
    int64_t deadline = s_deadline(timeout_ms);
    bool first_pump = true;
    while (left > 0) {
        s_task_t *t = self->dhead;
        while (t != NULL && (t->index < first || t->index >= end)) {
            t = t->dnext;
        }
        if (t == NULL) {
            if (s_find(self, first) == NULL && left > 0) {
                /* Ours may have been taken by a get inside fn: stop when
                 * none is left on the order list. */
                bool any = false;
                for (s_task_t *o = self->ohead; o && !any; o = o->onext) {
                    any = o->index >= first && o->index < end;
                }
                if (!any) {
                    return ACTORS_OK;
                }
            }
            rc = s_pump(self, deadline, first_pump);
            first_pump = false;
            if (rc != ACTORS_OK) {
                return rc;
            }
            continue;
        }
        /* Each outcome gets a fresh timeout, as each get does. */
        deadline = s_deadline(timeout_ms);
        first_pump = true;
        uint64_t i = t->index;
        actors_future_t *f = NULL;
        rc = s_take(self, t, &f, NULL);
        left--;
        if (fn != NULL) {
            fn((size_t)(i - first), f, arg);
        }
        actors_future_destroy(&f);
    }
    return ACTORS_OK;
}

actors_err
actors_pool_push(actors_pool_t *self, const char *address)
{
    assert(self);
    actors_err rc = s_member_add(self, address, 1, false);
    if (rc == ACTORS_OK) {
        s_dispatch(self);
    }
    return rc;
}

actors_err
actors_pool_pop_idle(actors_pool_t *self, char **address)
{
    assert(self && address);
    *address = NULL;
    for (size_t i = 0; i < self->nmembers; i++) {
        s_member_t *m = &self->members[i];
        if (s_live(m) && m->busy == 0) {
            char *copy = strdup(m->address);
            if (copy == NULL) {
                return ACTORS_ENOMEM;
            }
            m->removed = true;
            *address = copy;
            return ACTORS_OK;
        }
    }
    return ACTORS_EAGAIN;
}

void
actors_pool_on_ready(actors_pool_t *self, actors_pool_ready_fn fn, void *arg)
{
    assert(self);
    self->ready_fn = fn;
    self->ready_arg = arg;
    s_notify(self); /* outcomes already waiting */
}

bool
actors_pool_has_free(const actors_pool_t *self)
{
    assert(self);
    for (size_t i = 0; i < self->nmembers; i++) {
        const s_member_t *m = &self->members[i];
        if (s_live(m) && m->busy < m->slots) {
            return self->qhead == NULL;
        }
    }
    return false;
}

size_t
actors_pool_members(const actors_pool_t *self)
{
    assert(self);
    return s_live_count(self);
}

size_t
actors_pool_evicted(const actors_pool_t *self)
{
    assert(self);
    return self->evicted;
}
