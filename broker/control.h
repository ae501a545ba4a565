/* broker/control.h - the broker's control commands.
 * SPDX-License-Identifier: MIT
 *
 * REGISTER, UNREGISTER, HEARTBEAT, CREDIT, LOOKUP, LIST and PING
 * (schemas/PROTOCOL.md), for the message being handled (self->in,
 * described by m). Each answers or ignores as the protocol says; malformed
 * frames get BadRequest. Thread: the broker loop.
 */
#ifndef BRK_CONTROL_H
#define BRK_CONTROL_H

#include "broker_int.h"

void control_on_register(brk_broker_t *self, const brk_in_t *m);
void control_on_unregister(brk_broker_t *self, const brk_in_t *m);
void control_on_heartbeat(brk_broker_t *self, const brk_in_t *m);
void control_on_credit(brk_broker_t *self, const brk_in_t *m);
void control_on_lookup(brk_broker_t *self, const brk_in_t *m);
void control_on_list(brk_broker_t *self, const brk_in_t *m);
void control_on_ping(brk_broker_t *self, const brk_in_t *m);

#endif
