/* broker/sup.h - supervision, an extension of the routing core.
 * SPDX-License-Identifier: MIT
 *
 * The supervisor side of ACT2 (schemas/PROTOCOL.md, "Nodes and
 * lifecycle"): supervisors register as nodes (NODE), report their
 * actors' STATE and EVENTs, and are asked to SPAWN and KILL actors on a
 * client's behalf; a supervised actor that dies keeps its address and
 * mailbox while it restarts, and its calls in flight are re-delivered by
 * its max_task_retries; the actors a client owns stop when it goes. It
 * plugs into the core through ext.h and the command table and uses only
 * the core's API (core.h).
 *
 * Thread: the broker loop.
 */
#ifndef BRK_SUP_H
#define BRK_SUP_H

#include <actors/error.h>

#include "core.h"
#include "events.h"

/* A hook told of every lifecycle event the supervision records: those
 * the nodes report (EVENT: start, exit, restart, give-up, stop) and those
 * the broker sees itself (node-joined, node-lost, replaced; id 0, not in
 * EVENTS). ev is borrowed for the call. */
typedef void (*brk_sup_event_fn)(void *arg, const brk_event_t *ev);

/* brk_sup_on_event sets the event hook of the supervision attached to
 * core (fn NULL: none). */
void brk_sup_on_event(brk_broker_t *core, brk_sup_event_fn fn, void *arg);

/* brk_sup_attach adds supervision to core. Returns ACTORS_OK or
 * ACTORS_ENOMEM (core unchanged). The core frees it when destroyed. */
actors_err brk_sup_attach(brk_broker_t *core);

#endif
