/* broker/mailbox.h - FIFO lists of slots: mailboxes and in-flight lists.
 * SPDX-License-Identifier: MIT
 *
 * A brk_mailbox_t is a doubly linked list threaded through the slots'
 * next/prev fields, so pushing, popping and removing from the middle (a
 * call whose deadline passed) are O(1) and allocate nothing. A slot is on
 * at most one list. The same type holds an address's mailbox (messages
 * waiting for credit, bounded by the caller) and its in-flight calls.
 *
 * Thread: one thread (the broker loop).
 */
#ifndef BRK_MAILBOX_H
#define BRK_MAILBOX_H

#include <stdbool.h>
#include <stdint.h>

#include "slots.h"

typedef struct {
    uint32_t head;  /* oldest slot; BRK_NONE when empty */
    uint32_t tail;  /* newest slot; BRK_NONE when empty */
    uint32_t count; /* slots on the list */
} brk_mailbox_t;

/* brk_mailbox_init makes an empty list. */
void brk_mailbox_init(brk_mailbox_t *self);

/* brk_mailbox_push appends slot idx (on no list) at the tail, unless the
 * list already holds cap slots.
 * Returns ACTORS_OK or ACTORS_EFULL (nothing changed). */
actors_err brk_mailbox_push(
    brk_mailbox_t *self, brk_slots_t *slots, uint32_t idx, uint32_t cap);

/* brk_mailbox_push_front puts slot idx (on no list) at the head, with no
 * bound: a call coming back for a retry goes first. */
void brk_mailbox_push_front(
    brk_mailbox_t *self, brk_slots_t *slots, uint32_t idx);

/* brk_mailbox_pop takes the head off and returns it; BRK_NONE if empty. */
uint32_t brk_mailbox_pop(brk_mailbox_t *self, brk_slots_t *slots);

/* brk_mailbox_remove unlinks slot idx, which is on this list. */
void brk_mailbox_remove(brk_mailbox_t *self, brk_slots_t *slots, uint32_t idx);

/* brk_mailbox_empty tells whether the list is empty. */
static inline bool
brk_mailbox_empty(const brk_mailbox_t *self)
{
    return self->count == 0;
}

#endif
