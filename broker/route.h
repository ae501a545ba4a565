/* broker/route.h - the hot path: CALL/TELL in, REPLY/ERROR back.
 * SPDX-License-Identifier: MIT
 *
 * Handlers of the message being handled (self->in, described by m), called
 * by the broker loop's dispatch. Thread: the broker loop.
 */
#ifndef BRK_ROUTE_H
#define BRK_ROUTE_H

#include "broker_int.h"

/* route_on_call handles CALL and TELL from any peer: checks the frames and
 * the header's names, finds the address, and dispatches the message to the
 * actor (it has credit and an empty mailbox) or queues it; answers the
 * caller with the error otherwise. Takes the frames it keeps. */
void route_on_call(brk_broker_t *self, const brk_in_t *m);

/* route_on_reply handles REPLY and ERROR from an actor for a dispatched
 * CALL (or a node's answer to a relayed SPAWN/KILL): the caller gets it
 * with its own header back, and the actor's mailbox is pumped. */
void route_on_reply(brk_broker_t *self, const brk_in_t *m);

#endif
