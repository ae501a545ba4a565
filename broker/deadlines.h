/* broker/deadlines.h - the call deadlines: FIFO lanes and a min-heap.
 * SPDX-License-Identifier: MIT
 *
 * Each item is (when, id): a monotonic time in ms and a slot index. The
 * structure reports every item's position through a callback, so that
 * the owner can store it (in the slot) and remove the item when its call
 * is answered before the deadline.
 *
 * Calls mostly come with one of a few timeouts and are answered in the
 * order they came, so their deadlines arrive sorted per timeout. An item
 * goes to the FIFO lane of its key (the caller's timeout), one of
 * BRK_DL_LANES, if its last item is not later than it (a lane stays
 * sorted): push, remove and pop are O(1) there and touch no other item.
 * An item whose key has no lane and finds none empty, or that would
 * unsort its lane, goes to the binary heap (O(log n), each move
 * reported). The earliest item is the earliest of the lanes' heads and
 * the heap's root.
 *
 * Thread: one thread (the broker loop).
 */
#ifndef BRK_DEADLINES_H
#define BRK_DEADLINES_H

#include <stdbool.h>
#include <stdint.h>

#include <actors/error.h>

/* brk_deadline_pos_fn is told that item id now sits at pos (BRK_NONE:
 * it left the heap). */
typedef void (*brk_deadline_pos_fn)(void *arg, uint32_t id, uint32_t pos);

typedef struct {
    int64_t when; /* monotonic ms */
    uint32_t id;  /* slot index */
} brk_deadline_t;

#define BRK_DL_LANES 8
#define BRK_DL_NIL UINT32_MAX       /* no item */
#define BRK_DL_LANE_BIT 0x80000000u /* a position in a lane: bit | id */

/* An item's links in its lane, indexed by id. */
typedef struct {
    int64_t when;
    uint32_t prev; /* BRK_DL_NIL: the lane's head */
    uint32_t next; /* BRK_DL_NIL: the lane's tail */
    uint8_t lane;
} brk_dl_link_t;

typedef struct {
    uint32_t head; /* earliest, BRK_DL_NIL: empty */
    uint32_t tail; /* latest */
    uint32_t key;  /* its items' key, while it has items */
} brk_dl_lane_t;

typedef struct {
    brk_deadline_t *v;   /* the heap: n items of cap */
    uint32_t n;          /* items in the heap */
    uint32_t cap;        /* allocated */
    brk_dl_link_t *link; /* lane links, nlink of them */
    uint32_t nlink;      /* ids below it have a link */
    uint32_t in_lanes;   /* items in the lanes */
    uint32_t hint;       /* the lane last pushed to */
    brk_dl_lane_t lane[BRK_DL_LANES];
    brk_deadline_pos_fn pos; /* position callback */
    void *arg;               /* its argument */
} brk_deadlines_t;

/* brk_deadlines_init prepares an empty structure (no allocation yet). */
void brk_deadlines_init(
    brk_deadlines_t *self, brk_deadline_pos_fn pos, void *arg);

/* brk_deadlines_fini frees it (items are dropped silently). */
void brk_deadlines_fini(brk_deadlines_t *self);

/* brk_deadlines_push adds (when, id); id is not in it already. key
 * groups items that come in time order (when = now + key, the timeout).
 * Returns ACTORS_OK or ACTORS_ENOMEM (nothing changed). */
actors_err brk_deadlines_push(
    brk_deadlines_t *self, int64_t when, uint32_t key, uint32_t id);

/* brk_deadlines_remove takes out the item at position pos (as the
 * callback reported it). */
void brk_deadlines_remove(brk_deadlines_t *self, uint32_t pos);

/* brk_deadlines_peek gives the earliest item; false if there is none. */
bool brk_deadlines_peek(
    const brk_deadlines_t *self, int64_t *when, uint32_t *id);

/* brk_deadlines_pop takes out the earliest item (as peek gives it); false
 * if there is none. */
bool brk_deadlines_pop(brk_deadlines_t *self);

#endif
