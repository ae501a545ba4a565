/* libactors/src/actor_timer.h - the timers of an actor's event loop.
 * SPDX-License-Identifier: MIT
 *
 * A binary min-heap of timers ordered by (due time, sequence number), so
 * that timers due at the same millisecond fire in the order they were
 * added. The loop asks for the next due time (its poll timeout) and pops
 * due timers one at a time; a repeating timer is put back with a fresh
 * sequence number, so that one pass never runs the same timer twice.
 * Cancelling is a linear search: an actor has few timers, and a heap with
 * an index map would cost more than it saves. Private; never installed.
 * Thread: owner (the actor's loop thread).
 */
#ifndef ACTORS_ACTOR_TIMER_H
#define ACTORS_ACTOR_TIMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <actors/actor.h>
#include <actors/error.h>

/* One timer. */
typedef struct {
    uint64_t due;       /* monotonic ms when it fires next */
    uint64_t seq;       /* order of (re)scheduling; breaks ties in due */
    int id;             /* > 0, for cancel */
    uint32_t interval;  /* ms */
    bool repeat;        /* put back after firing */
    actors_timer_fn fn; /* what to run */
    void *arg;          /* passed to fn */
} actors__timer_t;

/* The heap. Zero-initialised storage is an empty, valid heap. */
typedef struct {
    actors__timer_t *items; /* heap array */
    size_t count;           /* items in use */
    size_t cap;             /* items allocated */
    uint64_t next_seq;      /* next sequence number */
    int next_id;            /* last id handed out */
} actors__timers_t;

/* actors__timers_fini frees the heap; it is empty and reusable after. */
void actors__timers_fini(actors__timers_t *self);

/* actors__timers_add schedules fn(arg) at now + interval_ms, repeating
 * every interval_ms if repeat (a repeating timer needs interval_ms >= 1).
 * Stores its id in *id if id is not NULL.
 * Returns ACTORS_OK, ACTORS_EINVAL, or ACTORS_ENOMEM (heap unchanged). */
actors_err actors__timers_add(actors__timers_t *self, uint64_t now,
    uint32_t interval_ms, bool repeat, actors_timer_fn fn, void *arg, int *id);

/* actors__timers_cancel removes timer id.
 * Returns ACTORS_OK or ACTORS_EINVAL if there is no such timer. */
actors_err actors__timers_cancel(actors__timers_t *self, int id);

/* actors__timers_next is the due time of the earliest timer, or
 * UINT64_MAX if there is none. */
uint64_t actors__timers_next(const actors__timers_t *self);

/* actors__timers_pop takes the earliest timer if it is due at now and was
 * scheduled before sequence number before_seq (pass
 * actors__timers_seq() taken at the start of a pass), copying it to *out.
 * A repeating timer is rescheduled (after now, skipping missed periods);
 * another is removed. Returns true if a timer was taken. */
bool actors__timers_pop(actors__timers_t *self, uint64_t now,
    uint64_t before_seq, actors__timer_t *out);

/* actors__timers_seq is the sequence number the next schedule gets. */
uint64_t actors__timers_seq(const actors__timers_t *self);

/* actors__timers_count is the number of scheduled timers. */
size_t actors__timers_count(const actors__timers_t *self);

#endif
