/* broker/slots.h - the slab of call slots, addressed by tag.
 * SPDX-License-Identifier: MIT
 *
 * A slot holds one message the broker keeps: a CALL or TELL waiting in a
 * mailbox (all its frames), or a CALL dispatched to an actor (the caller's
 * routing id and header, which becomes the header of the reply). Slots
 * live in one array that grows by doubling and never shrinks; free slots
 * are chained through `next`, so alloc and free are O(1) and the hot path
 * allocates nothing once the slab is warm.
 *
 * A slot is named on the wire by an 8-byte tag: its index masked with a
 * per-slab random word, and its generation (both uint32 big-endian). A
 * slot's first generation is random and bumped on free, so a late reply
 * to a recycled slot does not match, and a peer cannot guess the tag of
 * a request that was not sent to it.
 *
 * A CALL dispatched to an actor carries a short tag when its index is
 * under 65536: the low 16 bits of the masked index and of the generation
 * (4 bytes), so that the actor's header (11 bytes, the tag, 2 + the
 * names) stays within libzmq's 33-byte inline message for names of up
 * to 16 bytes in all, and is neither allocated by the broker's loop
 * thread nor freed by its I/O thread (docs/BENCHMARKS.md, tenth pass).
 * 16 bits of generation suffice there: a dispatched call's slot is freed
 * only by its reply or by its actor's death (core.h), and a reply is
 * taken only from the connection the call went to, so a short tag is
 * never outlived by the one connection that may answer it. It names only
 * a CALL in flight; everything else keeps the 8-byte tag.
 *
 * brk_slots_alloc may move the array: do not keep brk_slot_t pointers
 * across it; keep indices.
 *
 * Thread: one thread (the broker loop).
 */
#ifndef BRK_SLOTS_H
#define BRK_SLOTS_H

#include <stddef.h>
#include <stdint.h>

#include <zmq.h>

#include <actors/error.h>

#define BRK_NONE UINT32_MAX /* "no index" in every broker table */
#define BRK_TAG_LEN 8       /* = ACTORS_WIRE_TAG_LEN */
#define BRK_TAG_SHORT 4     /* a CALL in flight at an index under 65536 */

typedef enum {
    BRK_SLOT_FREE = 0, /* on the free list; frames not initialised */
    BRK_SLOT_QUEUED,   /* in an address's mailbox */
    BRK_SLOT_INFLIGHT, /* a CALL dispatched to the actor */
    BRK_SLOT_HELD,     /* allocated, on no list yet */
    BRK_SLOT_EXT,      /* an extension's request relayed to a peer,
                          unanswered (a SPAWN or KILL to a node) */
} brk_slot_state_t;

typedef struct {
    zmq_msg_t rid;     /* caller's routing id */
    zmq_msg_t hdr;     /* caller's header (with the call's names);
                          rewritten into the reply's */
    zmq_msg_t args;    /* args frame, until dispatched */
    zmq_msg_t key;     /* call key frame (optional; empty: none) */
    int64_t deadline;  /* monotonic ms; 0: none */
    int64_t t0_us;     /* a CALL: monotonic us when the broker took it */
    uint32_t gen;      /* generation; bumped when freed */
    uint32_t next;     /* next on its list (the free list too) */
    uint32_t prev;     /* previous on its list */
    uint32_t entry;    /* registry index of the target address */
    uint32_t heap;     /* position in the deadlines (deadlines.h); BRK_NONE */
    uint32_t relayed;  /* BRK_SLOT_EXT: whom the extension relayed it to,
                          in its own numbering (supervision: a node index) */
    uint32_t seq;      /* dispatch sequence on its connection (conn.h) */
    uint8_t state;     /* brk_slot_state_t */
    uint16_t attempts; /* re-deliveries after supervised restarts */
    uint8_t cmd;       /* ACTORS_CMD_CALL/TELL, or an extension's */
    uint8_t delim;     /* the caller sent an empty delimiter frame */
    uint8_t answered;  /* the caller already got its answer (Timeout) */
    uint8_t kept;      /* dispatched with its frames kept for a retry */
} brk_slot_t;

typedef struct {
    brk_slot_t *v;      /* cap slots */
    uint32_t cap;       /* slots allocated */
    uint32_t used;      /* slots ever handed out: v[used..cap) untouched */
    uint32_t free_head; /* free list through next; BRK_NONE if empty */
    uint32_t live;      /* slots not free */
    uint32_t mask;      /* random: XORed into the index of every tag */
    uint32_t rng;       /* xorshift state: first generations */
} brk_slots_t;

/* brk_slots_init prepares an empty slab with room for initial slots
 * (at least 1). Returns ACTORS_OK or ACTORS_ENOMEM (self left empty, and
 * brk_slots_fini is still safe). */
actors_err brk_slots_init(brk_slots_t *self, uint32_t initial);

/* brk_slots_fini closes the frames of live slots and frees the slab. */
void brk_slots_fini(brk_slots_t *self);

/* brk_slots_alloc takes a free slot, growing the slab if needed. The slot
 * comes in state BRK_SLOT_HELD with its four frames initialised empty,
 * deadline 0, heap BRK_NONE, links BRK_NONE, flags 0.
 * Returns ACTORS_OK with its index in *idx, or ACTORS_ENOMEM. */
actors_err brk_slots_alloc(brk_slots_t *self, uint32_t *idx);

/* brk_slots_free closes the slot's frames, bumps its generation and puts
 * it on the free list. The caller has taken it off any list and heap. */
void brk_slots_free(brk_slots_t *self, uint32_t idx);

/* brk_slots_park puts slot idx in state BRK_SLOT_QUEUED (the caller
 * links it into a mailbox) and gives each of its frames that may live
 * inside a receive buffer of libzmq a copy of its own. libzmq reads a
 * connection into buffers of 8 KiB and hands out the frames that fit as
 * references into them (zero-copy receive): one frame kept keeps its
 * whole buffer (with its bookkeeping, about 18 KiB) from being freed. A
 * message dispatched at once is freed at once, but one that waits in a
 * mailbox may wait for long, and a mailbox of small messages each from
 * another buffer held 30 times its size (measured under the fuzzer). So
 * a parked frame of 34 bytes (the largest libzmq stores inline is 33) to
 * 8 KiB is copied; a larger one was allocated alone. Without memory for
 * a copy the frame is kept as it is. */
void brk_slots_park(brk_slots_t *self, uint32_t idx);

/* brk_slots_at returns slot idx (valid until the next alloc). */
static inline brk_slot_t *
brk_slots_at(brk_slots_t *self, uint32_t idx)
{
    return &self->v[idx];
}

/* brk_slots_tag writes the 8-byte tag of slot idx into tag. */
void brk_slots_tag(
    const brk_slots_t *self, uint32_t idx, uint8_t tag[BRK_TAG_LEN]);

/* brk_slots_call_tag writes into tag the tag a CALL dispatched from slot
 * idx carries (short when idx < 65536, else the 8-byte one) and returns
 * its length. */
size_t brk_slots_call_tag(
    const brk_slots_t *self, uint32_t idx, uint8_t tag[BRK_TAG_LEN]);

/* brk_slots_find returns the index of the live slot named by tag (len
 * bytes), or BRK_NONE if len is neither 8 nor 4, the index is out of
 * range, the slot is free, or the generation differs; a 4-byte tag names
 * only a CALL in flight. */
uint32_t brk_slots_find(const brk_slots_t *self, const void *tag, size_t len);

#endif
