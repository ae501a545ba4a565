/* broker/registry.h - addresses and their entries; bounded tombstones.
 * SPDX-License-Identifier: MIT
 *
 * The registry maps an address (bytes, at most 255) to an entry: which
 * connection serves it, its credit (prefetch) and the counts of
 * dispatched messages, its mailbox and its in-flight messages, and what
 * LOOKUP reports. Entries live in an array that grows by doubling
 * (indices are stable, pointers are not across brk_registry_add); an
 * idmap (idmap.h) finds them by address.
 *
 * An address whose actor died stays as a tombstone (state DEAD) so that
 * callers get ActorDead rather than NoSuchActor. Tombstones are kept in
 * the order they were made and at most max_tombs of them: burying one
 * more drops the oldest. An address an extension holds (HELD: a
 * supervised actor starting or restarting) keeps its mailbox and is not
 * a tombstone. The registry knows nothing of why an address is held.
 *
 * Thread: one thread (the broker loop).
 */
#ifndef BRK_REGISTRY_H
#define BRK_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include <actors/error.h>

#include "calls.h"
#include "idmap.h"
#include "mailbox.h"

#define BRK_CLAIM_MAX 64            /* bytes of a REGISTER's claim */
#define BRK_ADDRESSES_PER_CONN 1024 /* addresses one connection may hold */
#define BRK_ADDRESSES_MAX 65536     /* addresses live connections hold */

typedef enum {
    BRK_ENTRY_FREE = 0, /* unused */
    BRK_ENTRY_RUNNING,  /* a live connection serves the address */
    BRK_ENTRY_DEAD,     /* tombstone */
    BRK_ENTRY_HELD,     /* an extension holds it for an actor that is
                           not (or no longer) registered: starting,
                           restarting; the mailbox is kept and fills */
} brk_entry_state_t;

typedef struct {
    char *address;          /* NUL-terminated copy, owned */
    char *service;          /* owned; "" until REGISTER says */
    int64_t pid;            /* as registered; 0 unknown */
    int64_t full_logged;    /* last BRK-MBOX-FULL log, ms */
    uint64_t handled;       /* calls answered + tells credited */
    brk_calls_t calls;      /* errors and latency of its calls */
    uint32_t address_len;   /* bytes in address */
    uint32_t conn;          /* connection serving it while RUNNING */
    uint32_t conn_next;     /* next entry served by the same connection */
    uint32_t prefetch;      /* most messages dispatched un-answered */
    uint32_t mailbox_cap;   /* bound of the mailbox */
    uint32_t calls_out;     /* calls dispatched, not answered */
    uint32_t tells_out;     /* tells dispatched, not credited */
    brk_mailbox_t mailbox;  /* waiting for credit */
    brk_mailbox_t inflight; /* CALLs and TELLs dispatched, in order */
    uint32_t free_next;     /* free list when FREE */
    uint32_t tnext;         /* tombstone list: newer */
    uint32_t tprev;         /* tombstone list: older */
    int32_t redeliver;      /* re-deliveries a call may get after its
                               actor died with it in flight: 0 none,
                               N, -1 always (set by an extension) */
    uint8_t state;          /* brk_entry_state_t */
    uint8_t is_group;       /* a group address (group.h): no connection
                               of its own; members serve it */
    uint32_t group;         /* a group's member: the group's entry;
                               BRK_NONE otherwise (group.h) */
    uint32_t member_next;   /* a member: the next member of its group */
    uint32_t first_member;  /* a group: its first member; BRK_NONE */
    uint32_t members;       /* a group: members on the list */
    uint32_t serial;        /* a member: its number in the group; a
                               group: the next number to give */
    char node[48];          /* a member: REGISTER info "node"; "" none */
    char cause[128];        /* why it was last lost; "" none */
    char claim[BRK_CLAIM_MAX + 1]; /* the claim its REGISTER showed (the
                                      secret its node gave the process,
                                      PROTOCOL.md); "" none */
} brk_entry_t;

typedef struct {
    brk_entry_t *v;     /* cap entries */
    uint32_t cap;       /* allocated */
    uint32_t used;      /* entries ever handed out */
    uint32_t free_head; /* free entries through free_next */
    brk_idmap_t map;    /* address -> index */
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

/* brk_registry_add_member makes an entry as brk_registry_add does, for
 * member serial of the group at address (len 1..255 bytes), named by the
 * address, a zero byte and the serial in decimal (group.h): a name no
 * peer can give, printed (%s) as the address; the name must not be in
 * the registry. Returns as brk_registry_add. */
actors_err brk_registry_add_member(brk_registry_t *self, const void *address,
    size_t len, uint32_t serial, uint32_t *idx);

/* brk_registry_set_service replaces the service name (len bytes).
 * Returns ACTORS_OK or ACTORS_ENOMEM (name unchanged). */
actors_err brk_registry_set_service(
    brk_registry_t *self, uint32_t idx, const char *service, size_t len);

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
