/* libactors/internal/actors-internal/client_raw.h - a client's socket
 * and frames, for the framework's own programs that speak more of ACT2
 * than calls: the supervisor's NODE link and the actor runtime.
 * SPDX-License-Identifier: MIT
 *
 * Part of the internal library (libactors/internal/README.md): for the
 * broker, the supervisor, the actor runtime and the tests; never
 * installed, not for services. Implemented in libactors/src/client.c.
 *
 * Thread: owner (the client's thread), as the client.
 */
#ifndef ACTORS_INTERNAL_CLIENT_RAW_H
#define ACTORS_INTERNAL_CLIENT_RAW_H

#include <zmq.h>

#include <actors/client.h>
#include <actors/error.h>

#include <actors-internal/wire.h>

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

/* actors__client_set_drain bounds the messages one actors_client_poll
 * reads before it returns (default 4096). A client whose hook queues what
 * it gets (the actor runtime) keeps its queue, and so its working set, in
 * the cache with a small bound. Owner thread only. */
void actors__client_set_drain(actors_client_t *self, int max);

/* actors__client_socket returns the client's zmq socket, for polling and for
 * sending the actor's own frames (REGISTER, REPLY, ...). Borrowed. */
void *actors__client_socket(actors_client_t *self);

/* actors__client_send_frames sends n frames as one message (zmq_msg_send
 * with SNDMORE on all but the last; the frames are consumed on success).
 * Returns ACTORS_OK or ACTORS_EIO. */
actors_err actors__client_send_frames(
    actors_client_t *self, zmq_msg_t *frames, int n);

#endif
