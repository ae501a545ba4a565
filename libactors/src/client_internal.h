/* libactors/src/client_internal.h - what the actor runtime needs of a client.
 * SPDX-License-Identifier: MIT
 *
 * An actor's event loop owns one client: the client's DEALER socket is the
 * actor's connection to the broker. Replies to the actor's own calls are
 * handled by the client as usual (futures resolve, callbacks run); every
 * other message (CALL, TELL, a REPLY/ERROR to REGISTER) is handed to the
 * hook. Private; never installed.
 */
#ifndef ACTORS_CLIENT_INTERNAL_H
#define ACTORS_CLIENT_INTERNAL_H

#include <zmq.h>

#include <actors/client.h>

#include "wire.h"

/* A hook gets one message that is not a reply to a pending call of this
 * client. frames[0] is the header frame (parsed into *hdr, whose id points
 * into frames[0]), frames[1..nframes) follow. The frames belong to the
 * client and are closed after the hook returns: zmq_msg_move what you
 * keep. Runs on the owner thread, inside actors_client_poll (and so inside
 * any future wait). */
typedef void (*actors__client_hook_fn)(
    void *arg, const actors__hdr_t *hdr, zmq_msg_t *frames, int nframes);

/* actors__client_set_hook installs fn (NULL: such messages are dropped). */
void actors__client_set_hook(
    actors_client_t *self, actors__client_hook_fn fn, void *arg);

/* actors__client_socket returns the client's zmq socket, for polling and for
 * sending the actor's own frames (REGISTER, REPLY, ...). Borrowed. */
void *actors__client_socket(actors_client_t *self);

/* actors__client_watch starts watching the client's connection (a socket
 * monitor in the client's context, stopped by actors_client_destroy) and
 * stores in *fd a descriptor that becomes readable when there is news for
 * actors__client_reconnected (poll it after that returned; borrowed).
 * Returns ACTORS_OK, ACTORS_ECLOSED or ACTORS_EIO (*fd -1). */
actors_err actors__client_watch(actors_client_t *self, int *fd);

/* actors__client_reconnected reads the connection events that came since
 * the last call and tells whether the client has a new connection to the
 * broker: a handshake that followed a disconnect (libzmq reconnects by
 * itself, after a reset or a ZMTP heartbeat timeout). The broker knows the
 * new connection as a new peer, so an actor must REGISTER again. False
 * before actors__client_watch. */
bool actors__client_reconnected(actors_client_t *self);

/* actors__client_timeout_ms is how long until the next local deadline of a
 * pending call (-1: none), for the caller's poll timeout. */
int actors__client_timeout_ms(const actors_client_t *self);

/* actors__client_send_frames sends n frames as one message (zmq_msg_send
 * with SNDMORE on all but the last; the frames are consumed on success).
 * Returns ACTORS_OK or ACTORS_EIO. */
actors_err actors__client_send_frames(
    actors_client_t *self, zmq_msg_t *frames, int n);

#endif
