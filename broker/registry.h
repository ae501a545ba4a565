/* broker/registry.h - addresses and their entries; bounded tombstones.
 * SPDX-License-Identifier: MIT
 *
 * The registry maps an address (bytes, at most 255) to an entry: which
 * peer serves it, its credit (prefetch) and the counts of dispatched
 * messages, its mailbox and its in-flight calls, and what LOOKUP reports.
 * Entries live in an array that grows by doubling (indices are stable,
 * pointers are not across brk_registry_add); a chained hash of indices
 * finds them by address.
 *
 * An address whose actor died stays as a tombstone (state DEAD) so that
 * callers get ActorDead rather than NoSuchActor. Tombstones are kept in
 * the order they were made and at most max_tombs of them: burying one
 * more drops the oldest. A supervised address (one a node reported or
 * spawned) is STARTING until its actor registers and RESTARTING while it
 * comes back after a crash: both keep the mailbox and are not tombstones.
 *
 * Thread: one thread (the broker loop).
 */
#ifndef BRK_REGISTRY_H
#define BRK_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include <actors/error.h>

#include "mailbox.h"

typedef enum {
    BRK_ENTRY_FREE = 0,   /* unused */
    BRK_ENTRY_RUNNING,    /* a live peer serves the address */
    BRK_ENTRY_DEAD,       /* tombstone ("stopped" when is_stopped) */
    BRK_ENTRY_STARTING,   /* spawned, not registered yet; mailbox kept */
    BRK_ENTRY_RESTARTING, /* crashed, coming back; mailbox kept */
} brk_entry_state_t;

typedef struct {
    char *address;            /* NUL-terminated copy, owned */
    char *service;            /* owned; "" until REGISTER says */
    int64_t pid;              /* as registered; 0 unknown */
    int64_t full_logged;      /* last BRK-MBOX-FULL log, ms */
    uint64_t handled;         /* calls answered + tells credited */
    uint32_t address_len;     /* bytes in address */
    uint32_t peer;            /* peers index while running; BRK_NONE */
    uint32_t peer_next;       /* next entry served by the same peer */
    uint32_t prefetch;        /* most messages dispatched un-answered */
    uint32_t mailbox_cap;     /* bound of the mailbox */
    uint32_t calls_out;       /* calls dispatched, not answered */
    uint32_t tells_out;       /* tells dispatched, not credited */
    brk_mailbox_t mailbox;    /* waiting for credit */
    brk_mailbox_t inflight;   /* calls dispatched, not answered */
    uint32_t hnext;           /* hash chain; free list when FREE */
    uint32_t tnext;           /* tombstone list: newer */
    uint32_t tprev;           /* tombstone list: older */
    uint8_t state;            /* brk_entry_state_t */
    uint8_t is_stopped;       /* tombstone of a clean stop, not a death */
    uint8_t is_held;          /* inflight holds crashed calls awaiting a
                                 cause (STATE) before ActorCrashed */
    uint32_t node;            /* nodes index of its supervisor; BRK_NONE */
    uint32_t spawn_slot;      /* a client's SPAWN awaiting REGISTER */
    int32_t max_task_retries; /* re-deliveries of a call; -1 forever */
    int32_t max_restarts;     /* from the spec: 0 never, N, -1 forever */
    int32_t restarts;         /* as the node reports */
    int owner_fd;             /* owning client's fd (not detached); -1 */
    int64_t held_since;       /* ms when is_held was set */
    uint8_t *spec;            /* msgpack spec map, owned; NULL none */
    uint32_t spec_len;        /* bytes in spec */
    char cause[128];          /* last exit cause; "" none */
} brk_entry_t;

typedef struct {
    brk_entry_t *v;     /* cap entries */
    uint32_t cap;       /* allocated */
    uint32_t used;      /* entries ever handed out */
    uint32_t free_head; /* free entries through hnext */
    uint32_t *buckets;  /* nbuckets chain heads */
    uint32_t nbuckets;  /* power of two */
    uint32_t count;     /* entries not FREE */
    uint32_t tomb_head; /* oldest tombstone */
    uint32_t tomb_tail; /* newest tombstone */
    uint32_t tombs;     /* tombstones */
    uint32_t max_tombs; /* bound on tombstones */
} brk_registry_t;

/* brk_registry_init prepares an empty registry keeping at most max_tombs
 * tombstones (0: none). Returns ACTORS_OK or ACTORS_ENOMEM (fini safe). */
actors_err brk_registry_init(brk_registry_t *self, uint32_t max_tombs);

/* brk_registry_fini frees every entry. Slots on the lists are not
 * touched: the slab is freed on its own. */
void brk_registry_fini(brk_registry_t *self);

/* brk_registry_find returns the index of address (len bytes), or
 * BRK_NONE. */
uint32_t brk_registry_find(
    const brk_registry_t *self, const void *address, size_t len);

/* brk_registry_add makes an entry for address (len 1..255 bytes, not in
 * the registry) in state RUNNING, peer BRK_NONE, service "", empty lists.
 * Returns ACTORS_OK with its index in *idx, ACTORS_EINVAL for a bad len,
 * or ACTORS_ENOMEM (registry unchanged). */
actors_err brk_registry_add(
    brk_registry_t *self, const void *address, size_t len, uint32_t *idx);

/* brk_registry_set_service replaces the service name (len bytes).
 * Returns ACTORS_OK or ACTORS_ENOMEM (name unchanged). */
actors_err brk_registry_set_service(
    brk_registry_t *self, uint32_t idx, const char *service, size_t len);

/* brk_registry_set_spec replaces the stored spec with a copy of len
 * bytes. Returns ACTORS_OK or ACTORS_ENOMEM (spec unchanged). */
actors_err brk_registry_set_spec(
    brk_registry_t *self, uint32_t idx, const void *spec, size_t len);

/* brk_registry_remove frees entry idx (any state). */
void brk_registry_remove(brk_registry_t *self, uint32_t idx);

/* brk_registry_bury makes live (not DEAD) entry idx a tombstone, dropping the
 * oldest tombstone if there are more than max_tombs (possibly idx itself
 * when max_tombs is 0). Returns the index of the entry dropped, or
 * BRK_NONE. */
uint32_t brk_registry_bury(brk_registry_t *self, uint32_t idx);

/* brk_registry_revive makes tombstone idx RUNNING again (the caller may
 * then set another live state). */
void brk_registry_revive(brk_registry_t *self, uint32_t idx);

/* brk_registry_at returns entry idx (valid until the next add). */
static inline brk_entry_t *
brk_registry_at(brk_registry_t *self, uint32_t idx)
{
    return &self->v[idx];
}

#endif
