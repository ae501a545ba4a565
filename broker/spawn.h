/* broker/spawn.h - SPAWN and KILL from clients, relayed to nodes.
 * SPDX-License-Identifier: MIT
 *
 * Part of the supervisor extension (lifecycle.h, schemas/PROTOCOL.md
 * "Nodes and lifecycle"): the broker side of spawning and killing actors
 * on a client's behalf.
 *
 * Thread: the broker loop.
 */
#ifndef BRK_SPAWN_H
#define BRK_SPAWN_H

#include <stdint.h>

#include "broker_int.h"

/* spawn_on_spawn handles a client's SPAWN {service, name, node, args,
 * detached, get_if_exists, max_restarts, max_task_retries}. */
void spawn_on_spawn(brk_broker_t *self, const brk_in_t *m);

/* spawn_on_kill handles a client's KILL address {restart, graceful}. */
void spawn_on_kill(brk_broker_t *self, const brk_in_t *m);

/* spawn_on_node_answer handles a node's REPLY/ERROR to relayed slot si
 * (state BRK_SLOT_NODE). */
void spawn_on_node_answer(brk_broker_t *self, const brk_in_t *m, uint32_t si);

/* spawn_answer answers the SPAWN of slot si with {address, node, pid,
 * existed: false} for entry ei (now running) and frees the slot. */
void spawn_answer(brk_broker_t *self, uint32_t si, uint32_t ei);

#endif
