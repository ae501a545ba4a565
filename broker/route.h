/* broker/route.h - the hot path: CALL, TELL, REPLY, ERROR, CREDIT.
 * SPDX-License-Identifier: MIT
 *
 * Part of the routing core (core.h); brk_core_pump is implemented here.
 * Thread: the broker loop.
 */
#ifndef BRK_ROUTE_H
#define BRK_ROUTE_H

#include "core.h"

/* route_attach puts the hot path's rows in the command table. */
void route_attach(brk_broker_t *self);

#endif
