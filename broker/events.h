/* broker/events.h - a ring of the last lifecycle events from all nodes.
 * SPDX-License-Identifier: MIT
 *
 * Supervisors report EVENTs (start, exit, restart, give-up, stop); the
 * broker numbers them with one global id (1, 2, ...; never reused) and
 * keeps the newest cap of them in a ring allocated once, so EVENTS
 * {since} can list those with a larger id. Strings are truncated to the
 * fixed field sizes.
 *
 * Thread: one thread (the broker loop).
 */
#ifndef BRK_EVENTS_H
#define BRK_EVENTS_H

#include <stdint.h>

#include <actors/error.h>

#define BRK_EVENTS_DEFAULT 1000 /* events kept */

typedef struct {
    uint64_t id;       /* global, broker-assigned */
    uint64_t node_id;  /* the node's own event number */
    int64_t ms;        /* wall clock ms (Unix epoch) when received */
    int64_t pid;       /* the actor's pid; 0 none */
    int64_t restarts;  /* restarts so far */
    char node[64];     /* node name */
    char kind[16];     /* start, exit, restart, give-up, stop */
    char address[256]; /* actor address */
    char cause[128];   /* exit cause; "" none */
    char service[128]; /* registered, buried: the actor's service; "" none */
} brk_event_t;

typedef struct {
    brk_event_t *v;   /* cap events */
    uint32_t cap;     /* ring size */
    uint32_t count;   /* events held, <= cap */
    uint32_t head;    /* index of the oldest */
    uint64_t next_id; /* id of the next event */
} brk_events_t;

/* brk_events_init allocates a ring of cap (>= 1) events.
 * Returns ACTORS_OK or ACTORS_ENOMEM (fini safe). */
actors_err brk_events_init(brk_events_t *self, uint32_t cap);

/* brk_events_fini frees the ring. */
void brk_events_fini(brk_events_t *self);

/* brk_events_push stores a copy of *ev with a new id (returned), dropping
 * the oldest when full. */
uint64_t brk_events_push(brk_events_t *self, const brk_event_t *ev);

/* brk_events_first returns the ring position of the oldest event with an
 * id above since, or count if none; brk_events_get(self, k) for
 * k = first..count-1 walks them oldest first. */
uint32_t brk_events_first(const brk_events_t *self, uint64_t since);

/* brk_events_get returns the k-th oldest event held (k < count). */
const brk_event_t *brk_events_get(const brk_events_t *self, uint32_t k);

#endif
