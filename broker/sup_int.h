/* broker/sup_int.h - the supervision extension's state, shared by sup.c
 * (nodes, STATE, restarts, events, owners) and sup_spawn.c (SPAWN,
 * KILL). Nothing outside those two files includes it.
 * SPDX-License-Identifier: MIT
 *
 * Per address the extension keeps a sup_entry_t beside the core's entry
 * (same index): which node runs it, how it restarts, who owns it. The
 * core's entry is RUNNING while the actor is registered and HELD while
 * the extension waits for it (starting, restarting).
 *
 * Thread: the broker loop.
 */
#ifndef BRK_SUP_INT_H
#define BRK_SUP_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <msgpack.h>

#include "core.h"
#include "events.h"
#include "nodes.h"
#include "sup.h"

typedef struct {
    uint32_t node;        /* nodes index of its supervisor; BRK_NONE */
    uint32_t spawn_slot;  /* a client's SPAWN awaiting REGISTER */
    uint32_t owner;       /* connection row of its owner; BRK_NONE */
    uint32_t home;        /* live node whose config names it; BRK_NONE */
    int32_t max_restarts; /* from the spec: 0 never, N, -1 forever */
    int32_t restarts;     /* as the node reports */
    int64_t held_since;   /* ms when is_held was set */
    uint8_t *spec;        /* msgpack spec map, owned; NULL none */
    uint32_t spec_len;    /* bytes in spec */
    uint8_t is_used;      /* the row describes a supervised address */
    uint8_t starting;     /* HELD: starting (else restarting) */
    uint8_t is_stopped;   /* tombstone of a clean stop, not a death */
    uint8_t is_held;      /* in-flight calls wait for the node's cause */
    /* A tombstone its actor made by UNREGISTER (a SIGTERM, e.g. from its
     * node restarting its group): until the node's STATE says what comes
     * next, only the node's process (its claim) may register it. */
    uint8_t is_awaited;
    /* The last exit cause its node reported ("" none). Not the core
     * entry's cause: that one is what LIST shows and the core overwrites
     * it with its own reason ("connection lost") when it holds or buries
     * the entry, while this one stays the node's word until its next
     * STATE (held calls are answered with it). */
    char cause[128];
    char claim[BRK_CLAIM_MAX + 1]; /* the secret of the process its node
                                      starts for it (given with SPAWN, or
                                      the node's STATE); "" none */
    uint8_t is_killed;             /* a client's KILL stopped it: no reclaim */
    char gone_node[64]; /* the node it last ran on, once that node went */
} sup_entry_t;

/* A node's placement of members of a group address (sup_group.c): the
 * members it starts show claim in their REGISTER. */
typedef struct {
    char address[256];             /* the group's address */
    uint32_t node;                 /* nodes index of the placing node */
    char claim[BRK_CLAIM_MAX + 1]; /* the secret its members show */
} sup_gplace_t;

typedef struct {
    brk_broker_t *core;        /* the core it extends */
    sup_entry_t *v;            /* per registry index; cap rows */
    uint32_t cap;              /* rows allocated */
    brk_nodes_t nodes;         /* the supervisors */
    brk_events_t events;       /* their last EVENTs */
    brk_sup_event_fn event_fn; /* told of each event; NULL */
    void *event_arg;           /* its argument */
    sup_gplace_t *gplaces;     /* group placements; n_gplaces used */
    uint32_t n_gplaces;        /* rows in use */
    uint32_t cap_gplaces;      /* rows allocated */
} sup_t;

/* sup_record is the one way a lifecycle event goes out: it stamps ev
 * with the wall clock (unless ev->ms is set), records it in the EVENTS
 * ring (which numbers it: ev->id) and publishes it on
 * actors.lifecycle.<kind>.<address or node> (event_fn). Every kind, the
 * nodes' (EVENT) and the broker's own (sup_event), goes through it, so
 * `actorctl events` and the stream show the same events with the same
 * ids. */
void sup_record(sup_t *self, brk_event_t *ev);

/* sup_entry returns the row of entry ei, growing the table; NULL on
 * allocation failure. */
sup_entry_t *sup_entry(sup_t *self, uint32_t ei);

/* sup_peek returns the row of entry ei if it is supervised, else NULL. */
sup_entry_t *sup_peek(sup_t *self, uint32_t ei);

/* sup_sender_node returns the node that sent m, or BRK_NONE. */
uint32_t sup_sender_node(sup_t *self, const brk_in_t *m);

/* sup_relay sends slot si's request cmd (the slot's tag as request id)
 * with addr and body (consumed), and claim when not NULL (a frame of its
 * own, after body), to node ni, and keeps the slot on the node's pending
 * list in state BRK_SLOT_EXT. */
void sup_relay(sup_t *self, uint32_t si, uint32_t ni, uint8_t cmd,
    zmq_msg_t *addr, zmq_msg_t *body, const char *claim);

/* sup_claim_new writes a fresh claim (32 hex digits from getrandom) into
 * se->claim: the secret the process a node starts for the address must
 * show in its REGISTER. Returns false (se->claim "") when the system has
 * no randomness to give. */
bool sup_claim_new(sup_entry_t *se);

/* sup_claim_make writes a fresh claim (32 hex digits and a NUL) into buf
 * (BRK_CLAIM_MAX + 1 bytes). Returns false (buf "") without randomness. */
bool sup_claim_make(char *buf);

/* sup_forbidden logs one BRK-FORBIDDEN line: node ni (BRK_NONE: not a
 * node) sent what about address, refused because why. */
void sup_forbidden(sup_t *self, uint32_t ni, const char *what,
    const char *address, const char *why);

/* sup_kill_quiet asks entry ei's node to kill it for good (no restart),
 * with no request id: at once (SIGKILL), or graceful (SIGTERM, so that
 * the actor's fini runs, then SIGKILL after its grace_ms). */
void sup_kill_quiet(sup_t *self, uint32_t ei, bool graceful);

/* sup_compute_loads counts the live actors placed on each node. */
void sup_compute_loads(sup_t *self);

/* sup_node_name is the name of entry ei's node, or NULL. */
const char *sup_node_name(sup_t *self, uint32_t ei);

/* Reading maps of the extension's commands (at most 64 KiB). */
bool sup_map(zmq_msg_t *f, msgpack_unpacked *up);
bool sup_get_str(
    const msgpack_object *map, const char *key, char *buf, size_t cap);
int64_t sup_get_int(const msgpack_object *map, const char *key, int64_t dflt);
bool sup_get_bool(const msgpack_object *map, const char *key);
int32_t sup_clamp32(int64_t v);

/* sup_set_spec keeps a copy of spec (len bytes) for entry row se.
 * Returns ACTORS_OK or ACTORS_ENOMEM (spec unchanged). */
actors_err sup_set_spec(sup_entry_t *se, const void *spec, size_t len);

/* Command handlers of sup_spawn.c. */
void sup_on_spawn(void *arg, brk_broker_t *core, const brk_in_t *m);
void sup_on_kill(void *arg, brk_broker_t *core, const brk_in_t *m);

/* sup_spawn_answer answers slot si's client with {address, node, pid,
 * existed:false} for entry ei and frees the slot. */
void sup_spawn_answer(sup_t *self, uint32_t si, uint32_t ei);

/* sup_on_node_answer handles a node's REPLY/ERROR to relayed slot si. */
void sup_on_node_answer(sup_t *self, uint32_t si, const brk_in_t *m);

/* sup_spawn_expired handles the deadline of SPAWN slot si: the client
 * gets Timeout (unless answered) and the actor is killed for good. */
void sup_spawn_expired(sup_t *self, uint32_t si);

/* sup_restarting moves entry ei to restarting: the core holds it; the
 * calls that may have run are answered with cause when known, else held
 * for the node's cause. */
void sup_restarting(sup_t *self, uint32_t ei, const char *cause, bool known);

/* sup_settle answers entry ei's held in-flight calls: ActorCrashed. */
void sup_settle(sup_t *self, uint32_t ei, const char *cause);

/* sup_event records and publishes (sup_record) a lifecycle event the
 * broker itself saw (node-joined, node-lost, node-drain, node-gone,
 * re-placed, reclaimed, registered, buried); node and cause may be
 * NULL. */
void sup_event(sup_t *self, const char *kind, const char *node,
    const char *address, int64_t pid, int64_t restarts, const char *cause);

/* Placement (sup_place.c). */

/* sup_replace re-creates entry ei, which node from (BRK_NONE: none) no
 * longer runs, on another live node: its home node if that is up, else
 * the least loaded one that is not draining. moving (a drain) re-places
 * it whatever its max_restarts and does not count a restart; otherwise
 * (a lost node) only an actor whose policy allows one more restart is
 * re-created. Returns true if a SPAWN went out; false: entry buried with
 * ActorDead and why. */
bool sup_replace(
    sup_t *self, uint32_t ei, uint32_t from, bool moving, const char *why);

/* sup_reclaim runs entry ei, now a tombstone, again on its home node if
 * that node is up, not draining and not the one that just gave it up,
 * and no client killed it. Returns true if a SPAWN went out. */
bool sup_reclaim(sup_t *self, uint32_t ei);

/* sup_node_forget clears every entry's home that is node ni (going), and
 * the node of the tombstones it ran (their gone_node keeps its name, so
 * LIST does not show another node that takes its index later). */
void sup_node_forget(sup_t *self, uint32_t ni);

/* sup_on_drain handles a node's DRAIN: it is about to stop its actors
 * and go; they are re-placed elsewhere as they stop. */
void sup_on_drain(void *arg, brk_broker_t *core, const brk_in_t *m);

/* Group placements (sup_group.c). A group whose members a node placed
 * (STATE with "group": true, or a SPAWN of a member the broker relayed)
 * takes only members that show the claim of one of its placements; a
 * group no live node placed is open to any peer that may REGISTER. */

/* sup_group_place records that node ni places members of the group at
 * address, whose processes show claim (not ""); a placement already
 * known is kept once. Returns ACTORS_OK, or ACTORS_ENOMEM (no memory, or
 * SUP_GPLACE_MAX placements already; logged, nothing recorded). */
#define SUP_GPLACE_MAX 16384
actors_err sup_group_place(
    sup_t *self, const char *address, uint32_t ni, const char *claim);

/* sup_group_claim returns node ni's claim for members of the group at
 * address, making a placement with a fresh claim when it has none.
 * Returns NULL when none can be made (no memory, no randomness, full);
 * the pointer is valid until the next placement changes. */
const char *sup_group_claim(sup_t *self, const char *address, uint32_t ni);

/* sup_group_may_join is the core's member_check_cb: a REGISTER with
 * "group": true of address, showing claim, is allowed when no live node
 * placed that group, or claim is one of its placements'. */
bool sup_group_may_join(void *arg, const char *address, uint32_t ci,
    const char *claim, char *why, size_t why_len);

/* sup_group_placed_by tells whether node ni placed members of the group
 * at address. */
bool sup_group_placed_by(sup_t *self, const char *address, uint32_t ni);

/* sup_group_forget_node drops node ni's placements (it is going). */
void sup_group_forget_node(sup_t *self, uint32_t ni);

/* sup_group_fini frees the placements. */
void sup_group_fini(sup_t *self);

#endif
