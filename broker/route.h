/* broker/route.h - the hot path: CALL, TELL, REPLY, ERROR, CREDIT.
 * SPDX-License-Identifier: MIT
 *
 * Part of the routing core (core.h); brk_core_pump is implemented here.
 * Thread: the broker loop.
 */
#ifndef BRK_ROUTE_H
#define BRK_ROUTE_H

#include "core.h"

/* brk_route_dispatch sends slot si (on no list, or in the mailbox of
 * its entry, which is RUNNING) to the actor of its entry now, without
 * looking at credit. Returns false, the slot untouched, if the actor's
 * connection is gone or its queue is full. Used by group.c. */
bool brk_route_dispatch(brk_broker_t *self, uint32_t si);

/* route_attach puts the hot path's rows in the command table. */
void route_attach(brk_broker_t *self);

#endif
