/* libactors/src/actor_events.c - an actor's subscriptions: the service's
 * topics table and actors_actor_subscribe (actor.h), SUBSCRIBE at every
 * registration, and events handled from the actor's queue.
 * SPDX-License-Identifier: MIT
 *
 * The broker sends an event for the actor's address as a PUBLICATION
 * through the address's mailbox, with the broker's credit of a TELL
 * (schemas/PROTOCOL.md, "Publish/subscribe"). actor.c's hook queues it
 * like a tell (actors__events_item marks it and finds its handler by the
 * pattern in its header); s_handle gives it to actors__events_handle,
 * which runs the handler with the decoded data, one at a time between
 * calls, and counts it a tell done.
 */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include <actors/log.h>

#include <actors-internal/alloc.h>
#include <actors-internal/unpack.h>

#include "actor_internal.h"
#include "pubsub_internal.h"

/* s_find returns the index of pattern (len bytes) or ntopics. */
static size_t
s_find(const actors_actor_t *self, const char *p, size_t len)
{
    size_t i = 0;
    for (; i < self->ntopics; i++) {
        const char *q = self->topics[i].pattern;
        if (strlen(q) == len && memcmp(q, p, len) == 0) {
            break;
        }
    }
    return i;
}

/* s_done logs a SUBSCRIBE the broker refused, and drops the future. */
static void
s_done(actors_future_t *f, void *arg)
{
    (void)arg;
    const actors_error_t *e = actors_future_error(f);
    if (e != NULL) {
        ACTORS_LOG(ACTORS_LOG_ERR, "ACT-SUBSCRIBE", "refused: %s: %s",
            actors_error_type(e), actors_error_message(e));
    }
    actors_future_destroy(&f);
}

/* s_send tells the broker of one subscription (cmd SUBSCRIBE or
 * UNSUBSCRIBE) of the actor's address. */
static void
s_send(actors_actor_t *self, uint8_t cmd, const char *pattern)
{
    actors_future_t *f = NULL;
    actors_err rc = actors__client_request(
        self->client, cmd, pattern, self->address, NULL, &f);
    if (rc != ACTORS_OK) {
        ACTORS_LOG(ACTORS_LOG_ERR, "ACT-SUBSCRIBE",
            "address=%s pattern=%s cannot send: %s", self->address, pattern,
            actors_err_name(rc));
        return;
    }
    if (actors_future_on_done(f, s_done, NULL) != ACTORS_OK) {
        actors_future_destroy(&f);
    }
}

static actors_err
s_add(actors_actor_t *self, const char *pattern, actors_method_fn fn)
{
    if (!actors__topic_ok(pattern, true) || fn == NULL) {
        return ACTORS_EINVAL;
    }
    size_t i = s_find(self, pattern, strlen(pattern));
    if (i < self->ntopics) {
        self->topics[i].fn = fn;
        return ACTORS_OK;
    }
    if (self->ntopics == self->topics_cap) {
        size_t cap = self->topics_cap ? self->topics_cap * 2 : 8;
        actors__topic_t *v =
            actors__realloc(self->topics, cap * sizeof *self->topics);
        if (v == NULL) {
            return ACTORS_ENOMEM;
        }
        self->topics = v;
        self->topics_cap = cap;
    }
    char *p = actors__strdup(pattern);
    if (p == NULL) {
        return ACTORS_ENOMEM;
    }
    self->topics[self->ntopics].pattern = p;
    self->topics[self->ntopics].fn = fn;
    self->ntopics++;
    return ACTORS_OK;
}

actors_err
actors__events_init(actors_actor_t *self)
{
    const actors_topic_handler_t *t = self->service->topics;
    for (; t != NULL && t->pattern != NULL; t++) {
        actors_err rc = s_add(self, t->pattern, t->fn);
        if (rc != ACTORS_OK) {
            ACTORS_LOG(ACTORS_LOG_ERR, "ACT-TOPICS", "service=%s pattern=%s %s",
                self->service->name, t->pattern,
                rc == ACTORS_EINVAL ? "is not a valid topic pattern"
                                    : "out of memory");
            return rc;
        }
    }
    return ACTORS_OK;
}

void
actors__events_fini(actors_actor_t *self)
{
    for (size_t i = 0; i < self->ntopics; i++) {
        actors__free(self->topics[i].pattern);
    }
    actors__free(self->topics);
    self->topics = NULL;
    self->ntopics = 0;
    self->topics_cap = 0;
}

void
actors__events_subscribe_all(actors_actor_t *self)
{
    for (size_t i = 0; i < self->ntopics; i++) {
        s_send(self, ACTORS_CMD_SUBSCRIBE, self->topics[i].pattern);
    }
}

void
actors__events_item(
    actors_actor_t *self, actors__item_t *it, const actors__hdr_t *hdr)
{
    it->cmd = ACTORS_CMD_TELL; /* credited as one */
    it->event = true;
    size_t i = s_find(self, (const char *)hdr->address, hdr->address_len);
    it->event_fn = i < self->ntopics ? self->topics[i].fn : NULL;
    /* The names were the pattern and the topic; ctx's address is ours. */
    snprintf(it->address, sizeof it->address, "%s", self->address);
}

void
actors__events_handle(actors_actor_t *self, actors__item_t *it)
{
    if (it->event_fn == NULL) {
        ACTORS_LOG(ACTORS_LOG_WARN, "ACT-EVENT-UNHANDLED",
            "address=%s topic=%s no handler for the pattern it was sent "
            "for (subscribed by an earlier process?): dropped",
            self->address, it->method);
        return;
    }
    msgpack_object data;
    size_t off = 0;
    const char *p = zmq_msg_data(&it->args);
    size_t n = zmq_msg_size(&it->args);
    if (actors__unpack_check(p, n, &off) != MSGPACK_UNPACK_SUCCESS ||
        off != n) {
        ACTORS_LOG(ACTORS_LOG_WARN, "ACT-EVENT-BAD",
            "address=%s topic=%s the event is not one msgpack value: dropped",
            self->address, it->method);
        return;
    }
    off = 0;
    if (msgpack_unpack(p, n, &off, self->zone, &data) !=
        MSGPACK_UNPACK_SUCCESS) {
        ACTORS_LOG(ACTORS_LOG_WARN, "ACT-EVENT-BAD",
            "address=%s topic=%s cannot decode the event: dropped",
            self->address, it->method);
        return;
    }
    actors_method_t m = {it->method, it->event_fn};
    (void)actors__ctx_run(self, it, &m, &data);
}

actors_err
actors_actor_subscribe(
    actors_actor_t *actor, const char *pattern, actors_method_fn fn)
{
    assert(actor && actor->tag == ACTOR_TAG);
    size_t before = actor->ntopics;
    actors_err rc = s_add(actor, pattern, fn);
    if (rc == ACTORS_OK && actor->ntopics > before && actor->reg == REG_OK) {
        s_send(actor, ACTORS_CMD_SUBSCRIBE, pattern);
    }
    return rc;
}

actors_err
actors_actor_unsubscribe(actors_actor_t *actor, const char *pattern)
{
    assert(actor && actor->tag == ACTOR_TAG);
    size_t i = pattern == NULL ? actor->ntopics
                               : s_find(actor, pattern, strlen(pattern));
    if (i == actor->ntopics) {
        return ACTORS_EINVAL;
    }
    if (actor->reg == REG_OK) {
        s_send(actor, ACTORS_CMD_UNSUBSCRIBE, pattern);
    }
    actors__free(actor->topics[i].pattern);
    actor->topics[i] = actor->topics[--actor->ntopics];
    /* Events of that pattern already queued or on their way keep the
     * handler they were queued with, or find none (dropped, logged). */
    return ACTORS_OK;
}
