/* libactors/src/actor_reminders.c - reminders (actors/reminder.h).
 * SPDX-License-Identifier: MIT
 *
 * The reminders of an address are one snapshot under the persistence key
 * "reminders/ADDRESS" (actors/persist.h): an array of maps {name, due,
 * period, data}, due in wall-clock milliseconds since the Unix epoch so
 * that it means the same in the next process, on another host. Every
 * change saves the whole array (atomic and durable, whatever the sync
 * policy); an actor has at most ACTORS_REMINDERS_MAX of them.
 *
 * In the process each reminder is a one-shot timer of the actor's loop.
 * When it fires, on_reminder runs with [name, data] as a tell would (a
 * ctx whose result is dropped); then a periodic reminder is due a period
 * from now and a one-shot one is removed, and the array is saved. A
 * reminder restored with its due time past fires at once (once, however
 * many periods were missed).
 *
 * A group (several processes registered under one address with --group)
 * has one set of reminders, the address's, and exactly one member holds
 * and fires them: the one that holds the storage's lock (the file
 * backend's flock on the key, which the kernel drops when the holder
 * exits, SIGKILL included). The others stand by (one INFO line,
 * ACT-REMINDER-STANDBY) and try to take the lock again with a backoff
 * (S_STANDBY_FIRST_MS doubling up to S_STANDBY_MAX_MS), quietly; the one
 * that gets it loads the stored reminders (ACT-REMINDER-TAKEOVER) and
 * fires them from then on, a due one at once. A standing-by member has no
 * reminders: set and cancel try to take them over first and return
 * ACTORS_ELOCKED when the holder is still there.
 *
 * On Redis the lock is a lease (persist_redis.c) that lapses unless
 * renewed: the holder renews it from a repeating timer of its loop
 * (ACTORS_PERSIST_KEEP_MS) and checks it before each firing (a
 * renewal is then made if one is due). A holder that finds its lease
 * taken by another member (it was stopped, or its loop stalled, for
 * longer than the TTL) drops its reminders without firing them
 * (ACT-REMINDER-LOST) and stands by like the others.
 */
#include <actors/reminder.h>

#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <actors/log.h>
#include <actors/persist.h>

#include <actors-internal/alloc.h>

#include "actor_internal.h"
#include "persist_backend.h"

#define S_KEY_PREFIX "reminders/"
#define S_PERIOD_MIN 10
#define S_STANDBY_FIRST_MS 100 /* a standing-by member's first retry */
#define S_STANDBY_MAX_MS 1000  /* and its longest wait between two */

struct actors__reminder {
    struct actors__reminder *next;
    char name[ACTORS_REMINDER_NAME_MAX + 1];
    int64_t due;          /* wall-clock ms */
    int64_t period;       /* ms; 0: once */
    actors_msg_t *data;   /* one value */
    int timer;            /* its timer; 0: none */
    uint32_t gen;         /* bumped by every set */
    bool firing;          /* its handler runs */
    bool gone;            /* cancelled while firing: freed after */
    actors_actor_t *self; /* owner */
};
typedef struct actors__reminder s_rem_t;

static int64_t
s_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
s_free(s_rem_t *r)
{
    actors_msg_destroy(&r->data);
    actors__free(r);
}

static s_rem_t *
s_find(actors_actor_t *self, const char *name)
{
    for (s_rem_t *r = self->reminders; r != NULL; r = r->next) {
        if (strcmp(r->name, name) == 0) {
            return r;
        }
    }
    return NULL;
}

static size_t
s_count(const actors_actor_t *self)
{
    size_t n = 0;
    for (const s_rem_t *r = self->reminders; r != NULL; r = r->next) {
        n++;
    }
    return n;
}

static void
s_unlink(actors_actor_t *self, s_rem_t *r)
{
    s_rem_t **pp = &self->reminders;
    while (*pp != NULL && *pp != r) {
        pp = &(*pp)->next;
    }
    if (*pp == r) {
        *pp = r->next;
    }
    if (r->timer != 0) {
        (void)actors_actor_timer_cancel(self, r->timer);
        r->timer = 0;
    }
}

/* s_save writes every reminder of the actor, durably. */
static actors_err
s_save(actors_actor_t *self)
{
    if (self->rpersist == NULL) {
        return ACTORS_EIO;
    }
    actors_msg_t *m = NULL;
    actors_err rc = actors_msg_create(&m);
    if (rc == ACTORS_OK) {
        rc = actors_msg_add_array(m, (uint32_t)s_count(self));
    }
    for (s_rem_t *r = self->reminders; rc == ACTORS_OK && r != NULL;
         r = r->next) {
        rc = actors_msg_add_map(m, 4);
        if (rc == ACTORS_OK) {
            rc = actors_msg_add_str(m, "name");
        }
        if (rc == ACTORS_OK) {
            rc = actors_msg_add_str(m, r->name);
        }
        if (rc == ACTORS_OK) {
            rc = actors_msg_add_str(m, "due");
        }
        if (rc == ACTORS_OK) {
            rc = actors_msg_add_int(m, r->due);
        }
        if (rc == ACTORS_OK) {
            rc = actors_msg_add_str(m, "period");
        }
        if (rc == ACTORS_OK) {
            rc = actors_msg_add_int(m, r->period);
        }
        if (rc == ACTORS_OK) {
            rc = actors_msg_add_str(m, "data");
        }
        if (rc == ACTORS_OK) {
            rc = actors_msg_add_raw(
                m, actors_msg_data(r->data), actors_msg_size(r->data));
        }
    }
    if (rc == ACTORS_OK) {
        rc = actors_persist_save(
            self->rpersist, actors_msg_data(m), actors_msg_size(m));
    }
    actors_msg_destroy(&m);
    if (rc != ACTORS_OK && rc != ACTORS_ELOCKED) {
        /* (KeyLocked: another process took the key between two renewals
         * and the write was fenced off; the caller drops the reminders,
         * ACT-REMINDER-LOST.) */
        ACTORS_LOG(ACTORS_LOG_ERR, "ACT-REMINDER-SAVE",
            "address=%s cannot save the reminders: %s", self->address,
            actors_err_name(rc));
    }
    return rc;
}

static void s_fire(actors_actor_t *actor, void *arg);
static void s_standby_arm(actors_actor_t *self);

/* s_lost drops the reminders of a holder whose lease another process has
 * taken: they are that one's now, and firing them here would fire them
 * twice. A group member stands by again. */
static void
s_lost(actors_actor_t *self)
{
    ACTORS_LOG(ACTORS_LOG_WARN, "ACT-REMINDER-LOST",
        "address=%s reminders=%zu another process has taken the reminders' "
        "key (this one did not renew its lease in time): this one stops "
        "firing them",
        self->address, s_count(self));
    if (self->rkeep_timer != 0) {
        (void)actors_actor_timer_cancel(self, self->rkeep_timer);
        self->rkeep_timer = 0;
    }
    while (self->reminders != NULL) {
        s_rem_t *r = self->reminders;
        s_unlink(self, r);
        if (r->firing) {
            r->gone = true; /* s_fire frees it */
        } else {
            s_free(r);
        }
    }
    actors_persist_destroy(&self->rpersist);
    if (self->group && !self->rstandby) {
        self->rstandby = true;
        self->rstandby_ms = S_STANDBY_FIRST_MS;
        s_standby_arm(self);
    }
}

/* s_keep_tick renews the holder's lease (the keep timer). */
static void
s_keep_tick(actors_actor_t *actor, void *arg)
{
    (void)arg;
    if (actor->rpersist != NULL &&
        actors_persist_keep(actor->rpersist) == ACTORS_ELOCKED) {
        s_lost(actor);
    }
}

/* s_keep_arm starts the keep timer of a lease that needs renewing. */
static void
s_keep_arm(actors_actor_t *self)
{
    if (self->rkeep_timer != 0 || self->rpersist == NULL ||
        !actors__persist_leased(self->rpersist)) {
        return;
    }
    if (actors_actor_timer_add(self, ACTORS_PERSIST_KEEP_MS, true, s_keep_tick,
            NULL, &self->rkeep_timer) != ACTORS_OK) {
        self->rkeep_timer = 0;
        ACTORS_LOG(ACTORS_LOG_ERR, "ACT-REMINDER",
            "address=%s cannot schedule the lease's renewal: it is renewed "
            "only when a reminder fires or changes",
            self->address);
    }
}

/* s_schedule arms r's timer for its due time (at once if past). */
static actors_err
s_schedule(actors_actor_t *self, s_rem_t *r)
{
    if (r->timer != 0) {
        (void)actors_actor_timer_cancel(self, r->timer);
        r->timer = 0;
    }
    int64_t wait = r->due - s_wall_ms();
    if (wait < 0) {
        wait = 0;
    }
    if (wait > UINT32_MAX) {
        wait = UINT32_MAX; /* re-armed when it fires early, below */
    }
    return actors_actor_timer_add(
        self, (uint32_t)wait, false, s_fire, r, &r->timer);
}

/* s_run runs on_reminder with [name, data] as a tell. */
static void
s_run(actors_actor_t *self, s_rem_t *r)
{
    actors_msg_t *args = NULL;
    if (actors_msg_create(&args) != ACTORS_OK ||
        actors_msg_add_array(args, 2) != ACTORS_OK ||
        actors_msg_add_str(args, r->name) != ACTORS_OK ||
        actors_msg_add_raw(args, actors_msg_data(r->data),
            actors_msg_size(r->data)) != ACTORS_OK) {
        actors_msg_destroy(&args);
        ACTORS_LOG(ACTORS_LOG_ERR, "ACT-REMINDER",
            "address=%s name=%s out "
            "of memory: not run",
            self->address, r->name);
        return;
    }
    msgpack_object obj;
    size_t off = 0;
    msgpack_zone *zone = msgpack_zone_new(1024);
    if (zone != NULL &&
        msgpack_unpack(actors_msg_data(args), actors_msg_size(args), &off, zone,
            &obj) == MSGPACK_UNPACK_SUCCESS) {
        actors__item_t it;
        memset(&it, 0, sizeof it);
        it.cmd = ACTORS_CMD_TELL;
        snprintf(it.address, sizeof it.address, "%s", self->address);
        snprintf(it.method, sizeof it.method, "%s", r->name);
        it.method_len = (uint8_t)strlen(it.method);
        zmq_msg_init(&it.args);
        zmq_msg_init(&it.key);
        actors_method_t m = {r->name, self->service->on_reminder};
        (void)actors__ctx_run(self, &it, &m, &obj);
        zmq_msg_close(&it.args);
        zmq_msg_close(&it.key);
    }
    if (zone != NULL) {
        msgpack_zone_free(zone);
    }
    actors_msg_destroy(&args);
}

static void
s_fire(actors_actor_t *actor, void *arg)
{
    s_rem_t *r = arg;
    r->timer = 0;
    int64_t now = s_wall_ms();
    if (r->due > now) {
        (void)s_schedule(actor, r); /* a wait longer than a timer holds */
        return;
    }
    if (actor->rpersist != NULL &&
        actors_persist_keep(actor->rpersist) == ACTORS_ELOCKED) {
        s_lost(actor); /* frees r */
        return;
    }
    uint32_t gen = r->gen;
    r->firing = true;
    s_run(actor, r);
    r->firing = false;
    if (r->gone) {
        s_free(r); /* cancelled by its own handler (saved then) */
        return;
    }
    if (r->gen != gen) {
        return; /* set again by its handler: scheduled and saved then */
    }
    if (r->period > 0) {
        r->due = s_wall_ms() + r->period;
        (void)s_schedule(actor, r);
    } else {
        s_unlink(actor, r);
        s_free(r);
    }
    if (s_save(actor) == ACTORS_ELOCKED) {
        s_lost(actor); /* the lease went while it fired (fenced write) */
    }
}

/* s_restore_one adds one stored reminder {name, due, period, data}. */
static void
s_restore_one(actors_actor_t *self, const msgpack_object *o)
{
    const char *name = NULL;
    size_t len = 0;
    int64_t due = 0;
    int64_t period = 0;
    const msgpack_object *data = actors_map_get(o, "data");
    if (actors_value_str(actors_map_get(o, "name"), &name, &len) != ACTORS_OK ||
        len == 0 || len > ACTORS_REMINDER_NAME_MAX ||
        actors_value_int(actors_map_get(o, "due"), &due) != ACTORS_OK ||
        actors_value_int(actors_map_get(o, "period"), &period) != ACTORS_OK ||
        period < 0 || data == NULL) {
        ACTORS_LOG(ACTORS_LOG_WARN, "ACT-REMINDER-BAD",
            "address=%s a stored reminder is malformed: skipped",
            self->address);
        return;
    }
    s_rem_t *r = actors__zalloc(sizeof *r);
    if (r == NULL || actors_msg_create(&r->data) != ACTORS_OK ||
        actors_msg_add_object(r->data, data) != ACTORS_OK) {
        if (r != NULL) {
            s_free(r);
        }
        return;
    }
    memcpy(r->name, name, len);
    r->due = due;
    r->period = period;
    r->self = self;
    r->next = self->reminders;
    self->reminders = r;
    if (s_schedule(self, r) != ACTORS_OK) {
        s_unlink(self, r);
        s_free(r);
        return;
    }
    ACTORS_LOG(ACTORS_LOG_INFO, "ACT-REMINDER-RESTORE",
        "address=%s name=%s due_in_ms=%lld period_ms=%lld", self->address,
        r->name, (long long)(due - s_wall_ms()), (long long)period);
}

static actors_err
s_on_snapshot(void *arg, const msgpack_object *state)
{
    actors_actor_t *self = arg;
    if (state->type != MSGPACK_OBJECT_ARRAY) {
        return ACTORS_EMSGPACK;
    }
    for (uint32_t i = 0; i < state->via.array.size; i++) {
        s_restore_one(self, &state->via.array.ptr[i]);
    }
    return ACTORS_OK;
}

/* s_take opens the actor's reminder storage, if it is not open, and
 * loads the stored reminders (the list is empty until then). A group
 * member opens it quietly: another member holding it is expected.
 * Returns the open's error with the storage still closed (ACTORS_ELOCKED:
 * another process holds it), or the recovery's with it open (logged). */
static actors_err
s_take(actors_actor_t *self)
{
    if (self->rpersist != NULL) {
        return ACTORS_OK;
    }
    char key[256];
    int n = snprintf(key, sizeof key, S_KEY_PREFIX "%s", self->address);
    if (n < 0 || (size_t)n >= sizeof key) {
        return ACTORS_EINVAL;
    }
    actors_persist_opts_t o = ACTORS_PERSIST_OPTS_INIT;
    (void)actors_persist_opts_from_env(&o);
    o.sync = ACTORS_PERSIST_SYNC_ALWAYS;
    actors_err rc = self->group
                        ? actors__persist_try_open(&self->rpersist, key, &o)
                        : actors_persist_open(&self->rpersist, key, &o);
    if (rc != ACTORS_OK) {
        return rc;
    }
    s_keep_arm(self);
    rc = actors_persist_recover(self->rpersist, s_on_snapshot, NULL, self);
    if (rc != ACTORS_OK) {
        ACTORS_LOG(ACTORS_LOG_ERR, "ACT-REMINDER-RESTORE",
            "address=%s cannot restore the reminders: %s", self->address,
            actors_err_name(rc));
    }
    return rc;
}

static void s_standby_tick(actors_actor_t *actor, void *arg);

/* s_standby_arm schedules a standing-by member's next try. */
static void
s_standby_arm(actors_actor_t *self)
{
    uint32_t wait = self->rstandby_ms;
    self->rstandby_ms =
        wait >= S_STANDBY_MAX_MS / 2 ? S_STANDBY_MAX_MS : wait * 2;
    if (actors_actor_timer_add(self, wait, false, s_standby_tick, NULL,
            &self->rstandby_timer) != ACTORS_OK) {
        self->rstandby_timer = 0;
        ACTORS_LOG(ACTORS_LOG_ERR, "ACT-REMINDER-STANDBY",
            "address=%s cannot schedule the next try: this member takes the "
            "group's reminders over only when one is set or cancelled here",
            self->address);
    }
}

/* s_claim gets the reminders for the actor: a standing-by member takes
 * them over if their holder is gone. Returns ACTORS_OK (held now),
 * ACTORS_ELOCKED (another process holds them) or s_take's error. */
static actors_err
s_claim(actors_actor_t *self)
{
    actors_err rc = s_take(self);
    if (self->rstandby && self->rpersist != NULL) {
        self->rstandby = false;
        if (self->rstandby_timer != 0) {
            (void)actors_actor_timer_cancel(self, self->rstandby_timer);
            self->rstandby_timer = 0;
        }
        ACTORS_LOG(ACTORS_LOG_INFO, "ACT-REMINDER-TAKEOVER",
            "address=%s reminders=%zu this member of the group now holds "
            "and fires its reminders",
            self->address, s_count(self));
    }
    return rc;
}

static void
s_standby_tick(actors_actor_t *actor, void *arg)
{
    (void)arg;
    actor->rstandby_timer = 0;
    actors_err rc = s_claim(actor);
    if (!actor->rstandby) {
        return; /* taken over (a failed recovery was logged) */
    }
    if (rc != ACTORS_ELOCKED) {
        ACTORS_LOG(ACTORS_LOG_WARN, "ACT-REMINDER-STANDBY",
            "address=%s cannot open the group's reminders (%s): tries again",
            actor->address, actors_err_name(rc));
    }
    s_standby_arm(actor);
}

void
actors__reminders_restore(actors_actor_t *self)
{
    if (self->service->on_reminder == NULL) {
        return;
    }
    actors_err rc = s_take(self);
    if (rc == ACTORS_ELOCKED && self->group) {
        self->rstandby = true;
        self->rstandby_ms = S_STANDBY_FIRST_MS;
        ACTORS_LOG(ACTORS_LOG_INFO, "ACT-REMINDER-STANDBY",
            "address=%s another member of the group holds its reminders: "
            "this one stands by and takes them over when that one stops",
            self->address);
        s_standby_arm(self);
    } else if (rc != ACTORS_OK && self->rpersist == NULL) {
        ACTORS_LOG(ACTORS_LOG_ERR, "ACT-REMINDER-RESTORE",
            "address=%s cannot restore the reminders: %s", self->address,
            actors_err_name(rc));
    }
}

void
actors__reminders_fini(actors_actor_t *self)
{
    while (self->reminders != NULL) {
        s_rem_t *r = self->reminders;
        self->reminders = r->next;
        s_free(r); /* the timers went with the actor's */
    }
    actors_persist_destroy(&self->rpersist);
}

actors_err
actors_actor_reminder_set(actors_actor_t *actor, const char *name,
    uint64_t due_ms, uint64_t period_ms, actors_msg_t **data_p)
{
    assert(actor && actor->tag == ACTOR_TAG);
    size_t len = name == NULL ? 0 : strlen(name);
    if (actor->service->on_reminder == NULL || len == 0 ||
        len > ACTORS_REMINDER_NAME_MAX ||
        (period_ms > 0 && period_ms < S_PERIOD_MIN) ||
        due_ms > (uint64_t)INT64_MAX / 2 ||
        period_ms > (uint64_t)INT64_MAX / 2 ||
        (data_p != NULL && *data_p != NULL && actors_msg_count(*data_p) > 1)) {
        return ACTORS_EINVAL;
    }
    actors_err rc = s_claim(actor);
    if (actor->rpersist == NULL) {
        return rc; /* ACTORS_ELOCKED: another member holds them */
    }
    s_rem_t *r = s_find(actor, name);
    bool fresh = r == NULL;
    if (fresh && s_count(actor) >= ACTORS_REMINDERS_MAX) {
        return ACTORS_EFULL;
    }
    actors_msg_t *data = NULL;
    if (actors_msg_create(&data) != ACTORS_OK) {
        return ACTORS_ENOMEM;
    }
    if (data_p != NULL && *data_p != NULL && actors_msg_count(*data_p) == 1) {
        rc = actors_msg_add_raw(
            data, actors_msg_data(*data_p), actors_msg_size(*data_p));
    } else {
        rc = actors_msg_add_nil(data);
    }
    if (rc == ACTORS_OK && fresh) {
        r = actors__zalloc(sizeof *r);
        rc = r == NULL ? ACTORS_ENOMEM : ACTORS_OK;
    }
    if (rc != ACTORS_OK) {
        actors_msg_destroy(&data);
        return rc;
    }
    /* Keep the old values until the save succeeds. */
    s_rem_t old = *r;
    if (fresh) {
        memcpy(r->name, name, len);
        r->self = actor;
        r->next = actor->reminders;
        actor->reminders = r;
    }
    r->due = s_wall_ms() + (int64_t)due_ms;
    r->period = (int64_t)period_ms;
    r->data = data;
    rc = s_save(actor);
    if (rc != ACTORS_OK) {
        if (fresh) {
            s_unlink(actor, r);
            s_free(r);
        } else {
            actors_msg_destroy(&r->data);
            r->due = old.due;
            r->period = old.period;
            r->data = old.data;
        }
        return rc;
    }
    actors_msg_destroy(&old.data);
    r->gen++;
    rc = s_schedule(actor, r);
    if (rc != ACTORS_OK) {
        ACTORS_LOG(ACTORS_LOG_ERR, "ACT-REMINDER",
            "address=%s name=%s saved but not scheduled (%s): it fires "
            "after the next restart",
            actor->address, r->name, actors_err_name(rc));
    }
    if (data_p != NULL) {
        actors_msg_destroy(data_p);
    }
    return ACTORS_OK;
}

actors_err
actors_actor_reminder_cancel(actors_actor_t *actor, const char *name)
{
    assert(actor && actor->tag == ACTOR_TAG);
    if (actor->rstandby && s_claim(actor) == ACTORS_ELOCKED) {
        return ACTORS_ELOCKED; /* another member holds them */
    }
    s_rem_t *r = name == NULL ? NULL : s_find(actor, name);
    if (r == NULL) {
        return ACTORS_EINVAL;
    }
    s_unlink(actor, r);
    if (r->firing) {
        r->gone = true; /* s_fire frees it */
    } else {
        s_free(r);
    }
    return s_save(actor);
}

size_t
actors_actor_reminder_count(const actors_actor_t *actor)
{
    assert(actor && actor->tag == ACTOR_TAG);
    return s_count(actor);
}
