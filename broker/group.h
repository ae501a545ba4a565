/* broker/group.h - group addresses: several actor processes serving one
 * address (schemas/PROTOCOL.md, "Groups").
 * SPDX-License-Identifier: MIT
 *
 * Part of the routing core (core.h). A group is a registry entry with
 * is_group set and no connection of its own; each member is a registry
 * entry of its own (its connection, credit, prefetch, in-flight list and
 * a mailbox for the keyed calls it must take), named by the group's
 * address, a zero byte and its serial number, so that no peer can name
 * it (addresses carry no zero byte) and its address prints as the
 * group's. A member's entry is on its connection's list like any other:
 * credit, progress, REPLY and CREDIT need nothing new.
 *
 * Routing. An unkeyed CALL or TELL goes to the member with the fewest
 * messages outstanding (dispatched and unanswered, plus its mailbox),
 * ties to the one that has handled fewest, among those with credit; with
 * none, it waits in the group's mailbox, which the members drain as they
 * answer. A keyed call goes to the member its key ranks first by
 * rendezvous hashing (highest hash of key and member serial); it waits
 * in that member's own mailbox while the member has no credit. A
 * broadcast TELL becomes one copy per member.
 *
 * A member that goes (its connection drops, it unregisters): what it had
 * not started and the calls its group's redeliver allows go to the front
 * of the group's mailbox, then its own mailbox's calls; the calls that may
 * have run are answered ActorCrashed (ActorDead on a clean exit); the
 * rest of the group takes the mailbox. The last member going is the
 * group's loss: the extensions may hold it (entry_lost_cb), else it is
 * buried. Invariants of core.h hold, with: a member is RUNNING; a group
 * is RUNNING exactly while it has a member, and its in-flight list is
 * empty; a slot's entry is the entry whose list it is on.
 *
 * Thread: the broker loop.
 */
#ifndef BRK_GROUP_H
#define BRK_GROUP_H

#include <stdbool.h>
#include <stdint.h>

#include <zmq.h>

#include "calls.h"
#include "core.h"

/* Header flags (byte 5 of the header; wire.h) the broker reads. */
#define BRK_FLAG_BROADCAST 0x01 /* TELL: to every member of a group */
#define BRK_FLAG_ROUTED 0x02    /* CALL/TELL: last frame is a routing key */

/* brk_group_join makes the sending connection ci a member of the group at
 * address (len bytes): a new group, a tombstone or held address made a
 * group, or a running group. A member this connection already has in the
 * group is found again (*linked true: a REGISTER sent twice). Returns
 * ACTORS_OK with the member's entry in *mi and whether the group entry
 * has just become RUNNING in *fresh (the caller then links a new member
 * to ci, counts it running, and runs the registered hooks on it, and on
 * the group if fresh); ACTORS_ETAKEN if a single actor holds the address;
 * ACTORS_ENOMEM. */
actors_err brk_group_join(brk_broker_t *self, const char *address, size_t len,
    uint32_t ci, uint32_t *mi, bool *linked, bool *fresh);

/* brk_group_accept routes new slot si (its entry the group gi) to a
 * member, to a member's or the group's mailbox, or, with broadcast on a
 * TELL, copies it to every member. route (NULL: none) is the routing key.
 * Returns false if it was refused (MailboxFull answered, slot freed). */
bool brk_group_accept(brk_broker_t *self, uint32_t si, uint32_t gi,
    const zmq_msg_t *route, bool broadcast);

/* brk_group_pump dispatches what waits for member or group ei: a
 * member's own mailbox first, then the group's mailbox to the least
 * loaded members with credit. brk_core_pump calls it for such entries. */
void brk_group_pump(brk_broker_t *self, uint32_t ei);

/* brk_group_member_lost ends member mi (crashed: its connection dropped;
 * else it unregistered) as the header says, and the group with it if it
 * was the last. */
void brk_group_member_lost(
    brk_broker_t *self, uint32_t mi, bool crashed, const char *reason);

/* What a group reports as its own: its figures plus its members'. */
typedef struct {
    uint64_t mailbox;  /* the group's mailbox and the members' own */
    uint64_t inflight; /* calls and tells dispatched to members */
    uint64_t credit;   /* more messages the members may take now */
    uint64_t handled;  /* by the members, those gone included */
    brk_calls_t calls; /* errors and latency (calls.h): the group's own
                          (calls that never left its mailbox, members
                          gone) and the members' */
} brk_group_sum_t;

/* brk_group_sum fills *out for group gi (LOOKUP, LIST, /metrics and the
 * dashboard report these). */
void brk_group_sum(brk_broker_t *self, uint32_t gi, brk_group_sum_t *out);

/* brk_group_pack_entry packs the LOOKUP/LIST map of group gi: the fields
 * of any entry (brk_group_sum), the extensions' fields, group: true and
 * members: [{pid, node, serial, inflight, credit, mailbox, handled,
 * errors, latency_us_sum, latency_hist}]. */
void brk_group_pack_entry(brk_broker_t *self, uint32_t gi);

/* brk_group_busy tells whether entry ei is a group with members: an
 * extension may not hold or bury it (its members' own losses do). */
bool brk_group_busy(brk_broker_t *self, uint32_t ei);

#endif
