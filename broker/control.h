/* broker/control.h - registration and the broker's own queries:
 * REGISTER, UNREGISTER, HEARTBEAT, LOOKUP, LIST, PING.
 * SPDX-License-Identifier: MIT
 *
 * Part of the routing core (core.h). Thread: the broker loop.
 */
#ifndef BRK_CONTROL_H
#define BRK_CONTROL_H

#include "core.h"

/* control_attach puts these commands' rows in the command table. */
void control_attach(brk_broker_t *self);

#endif
