/* broker/mailbox.c - FIFO lists of slots: mailboxes and in-flight lists.
 * SPDX-License-Identifier: MIT */
#include "mailbox.h"

#include <assert.h>

void
brk_mailbox_init(brk_mailbox_t *self)
{
    assert(self);
    self->head = BRK_NONE;
    self->tail = BRK_NONE;
    self->count = 0;
}

actors_err
brk_mailbox_push(
    brk_mailbox_t *self, brk_slots_t *slots, uint32_t idx, uint32_t cap)
{
    assert(self);
    assert(slots);
    assert(idx < slots->used);
    if (self->count >= cap) {
        return ACTORS_EFULL;
    }
    brk_slot_t *s = brk_slots_at(slots, idx);
    s->next = BRK_NONE;
    s->prev = self->tail;
    if (self->tail != BRK_NONE) {
        brk_slots_at(slots, self->tail)->next = idx;
    } else {
        self->head = idx;
    }
    self->tail = idx;
    self->count++;
    return ACTORS_OK;
}

void
brk_mailbox_push_front(brk_mailbox_t *self, brk_slots_t *slots, uint32_t idx)
{
    assert(self);
    assert(slots);
    assert(idx < slots->used);
    brk_slot_t *s = brk_slots_at(slots, idx);
    s->prev = BRK_NONE;
    s->next = self->head;
    if (self->head != BRK_NONE) {
        brk_slots_at(slots, self->head)->prev = idx;
    } else {
        self->tail = idx;
    }
    self->head = idx;
    self->count++;
}

void
brk_mailbox_remove(brk_mailbox_t *self, brk_slots_t *slots, uint32_t idx)
{
    assert(self);
    assert(slots);
    assert(self->count > 0);
    brk_slot_t *s = brk_slots_at(slots, idx);
    if (s->prev != BRK_NONE) {
        brk_slots_at(slots, s->prev)->next = s->next;
    } else {
        assert(self->head == idx);
        self->head = s->next;
    }
    if (s->next != BRK_NONE) {
        brk_slots_at(slots, s->next)->prev = s->prev;
    } else {
        assert(self->tail == idx);
        self->tail = s->prev;
    }
    s->next = BRK_NONE;
    s->prev = BRK_NONE;
    self->count--;
}

uint32_t
brk_mailbox_pop(brk_mailbox_t *self, brk_slots_t *slots)
{
    assert(self);
    uint32_t idx = self->head;
    if (idx != BRK_NONE) {
        brk_mailbox_remove(self, slots, idx);
    }
    return idx;
}
