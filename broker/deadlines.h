/* broker/deadlines.h - a binary min-heap of call deadlines.
 * SPDX-License-Identifier: MIT
 *
 * Each item is (when, id): a monotonic time in ms and a slot index. The
 * heap reports every item's position through a callback, so that the
 * owner can store it (in the slot) and remove an item in O(log n) when
 * its call is answered before the deadline.
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

typedef struct {
    brk_deadline_t *v;       /* n items of cap */
    uint32_t n;              /* items in the heap */
    uint32_t cap;            /* allocated */
    brk_deadline_pos_fn pos; /* position callback */
    void *arg;               /* its argument */
} brk_deadlines_t;

/* brk_deadlines_init prepares an empty heap (no allocation yet). */
void brk_deadlines_init(
    brk_deadlines_t *self, brk_deadline_pos_fn pos, void *arg);

/* brk_deadlines_fini frees the heap (items are dropped silently). */
void brk_deadlines_fini(brk_deadlines_t *self);

/* brk_deadlines_push adds (when, id). Returns ACTORS_OK or ACTORS_ENOMEM
 * (heap unchanged). */
actors_err brk_deadlines_push(brk_deadlines_t *self, int64_t when, uint32_t id);

/* brk_deadlines_remove takes out the item at position pos. */
void brk_deadlines_remove(brk_deadlines_t *self, uint32_t pos);

/* brk_deadlines_peek gives the earliest item; false if the heap is empty. */
bool brk_deadlines_peek(
    const brk_deadlines_t *self, int64_t *when, uint32_t *id);

#endif
