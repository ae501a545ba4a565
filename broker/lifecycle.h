/* broker/lifecycle.h - nodes, spawn, kill, supervised restarts, events.
 * SPDX-License-Identifier: MIT
 *
 * The supervisor extension of ACT2 (schemas/PROTOCOL.md, "Nodes and
 * lifecycle"): supervisors register as nodes (NODE), report their
 * actors' STATE and EVENTs, and are asked to SPAWN and KILL actors on a
 * client's behalf. broker.c calls these at its integration points; they
 * work on the broker's state (broker_int.h).
 *
 * Thread: the broker loop.
 */
#ifndef BRK_LIFECYCLE_H
#define BRK_LIFECYCLE_H

#include <stdbool.h>
#include <stdint.h>

#include "broker_int.h"

/* Command handlers (frames checked inside; BadRequest to the sender). */
void lifecycle_on_node(brk_broker_t *self, const brk_in_t *m);
void lifecycle_on_state(brk_broker_t *self, const brk_in_t *m);
void lifecycle_on_event(brk_broker_t *self, const brk_in_t *m);
void lifecycle_on_events(brk_broker_t *self, const brk_in_t *m);

/* lifecycle_node_msg notes that a message (HEARTBEAT, an unmatched
 * answer) came from a node. Returns false if the sender is no node. */
bool lifecycle_node_msg(brk_broker_t *self, const brk_in_t *m);

/* lifecycle_crashed handles the connection loss of running entry ei if it
 * is supervised by a live node: state restarting, mailbox kept, in-flight
 * calls retried or held for the node's cause. Returns false (nothing
 * done) for an unsupervised entry. */
bool lifecycle_crashed(brk_broker_t *self, uint32_t ei, const char *reason);

/* lifecycle_registered runs after entry ei (was starting or restarting)
 * registered: held calls are answered, a waiting SPAWN is answered. */
void lifecycle_registered(brk_broker_t *self, uint32_t ei);

/* lifecycle_conn_gone handles a dropped connection fd: a node's (node
 * lost), or a client's that owns actors (they are killed). */
void lifecycle_conn_gone(brk_broker_t *self, int fd);

/* lifecycle_owner_gone kills (no restart) every actor owned by the client
 * on connection fd; why ("disconnected", "stopped heart-beating") goes to
 * the log. */
void lifecycle_owner_gone(brk_broker_t *self, int fd, const char *why);

/* lifecycle_spawn_expired handles the deadline of SPAWN slot si: the
 * client gets Timeout (unless answered) and the actor, if its node has
 * started it or is starting it, is killed for good. */
void lifecycle_spawn_expired(brk_broker_t *self, uint32_t si);

/* lifecycle_tick heartbeats nodes, ends silent ones, and gives held calls
 * their answer when no cause came in time. */
void lifecycle_tick(brk_broker_t *self);

/* lifecycle_pack_entry packs the LOOKUP map of entry e. */
void lifecycle_pack_entry(brk_broker_t *self, const brk_entry_t *e);

/* Shared with spawn.c. */

/* lifecycle_map decodes frame f as a msgpack map (at most 64 KiB) into
 * up (initialised by the caller). */
bool lifecycle_map(zmq_msg_t *f, msgpack_unpacked *up);

/* lifecycle_get_str copies string key of map into buf ("" if absent);
 * true if it is a non-empty string. */
bool lifecycle_get_str(
    const msgpack_object *map, const char *key, char *buf, size_t cap);

/* lifecycle_get_int is key's integer, or dflt. */
int64_t lifecycle_get_int(
    const msgpack_object *map, const char *key, int64_t dflt);

/* lifecycle_get_bool is key's boolean (or non-zero integer), else false. */
bool lifecycle_get_bool(const msgpack_object *map, const char *key);

/* lifecycle_clamp32 clamps v to -1..INT32_MAX. */
int32_t lifecycle_clamp32(int64_t v);

/* lifecycle_sender_node is the node that sent the current message, or
 * BRK_NONE. */
uint32_t lifecycle_sender_node(brk_broker_t *self);

/* lifecycle_relay sends slot si's request cmd (the slot's tag as request
 * id) with addr and body (consumed) to node ni, and puts the slot on the
 * node's pending list. */
void lifecycle_relay(brk_broker_t *self, uint32_t si, uint32_t ni, uint8_t cmd,
    zmq_msg_t *addr, zmq_msg_t *body);

/* lifecycle_compute_loads counts the live actors placed on each node. */
void lifecycle_compute_loads(brk_broker_t *self);

/* lifecycle_node_name is the name of e's node, or NULL. */
const char *lifecycle_node_name(brk_broker_t *self, const brk_entry_t *e);

#endif
