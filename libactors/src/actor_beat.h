/* libactors/src/actor_beat.h - an actor's liveness thread.
 * SPDX-License-Identifier: MIT
 *
 * Private to libactors; one per client, owned by client.c
 * (actors__client_beat). An actor's loop answers the broker's heartbeats,
 * but not while a method runs, and a plain client does not poll while its
 * caller is busy: a method longer than the broker's liveness interval
 * (3 s by default) would get its actor declared dead, and a busy owner
 * would lose its owned actors, although the process is fine. This thread
 * sends HEARTBEAT with one frame, the client socket's routing id as the
 * broker reported it (the REGISTER reply's "peer", an owned spawn reply's
 * "owner"), from a DEALER socket of its own in the client's zmq context,
 * every heartbeat interval (schemas/PROTOCOL.md, HEARTBEAT). It keeps the
 * process's actors alive as long as the process runs; a process that is
 * stopped or hung as a whole still goes silent, and a call to a method
 * that never returns ends with its caller's deadline.
 *
 * Thread: actors__beat_start, _set_peer and _stop from the client's thread;
 * the beat thread touches only its socket and the shared peer (mutex).
 */
#ifndef ACTORS_ACTOR_BEAT_H
#define ACTORS_ACTOR_BEAT_H

#include <stddef.h>
#include <stdint.h>

#include <actors/error.h>

typedef struct actors__beat actors__beat_t;

/* actors__beat_start starts the thread, connected to endpoint in the zmq
 * context ctx (borrowed; it must outlive actors__beat_stop). It sends
 * nothing until actors__beat_set_peer. Returns ACTORS_OK with *out owned
 * by the caller, ACTORS_ENOMEM or ACTORS_EIO. */
actors_err actors__beat_start(
    actors__beat_t **out, void *ctx, const char *endpoint);

/* actors__beat_set_peer sets the routing id to name (1..255 bytes; len 0:
 * send nothing) and the interval (ms, > 0). */
void actors__beat_set_peer(
    actors__beat_t *self, const void *peer, size_t len, uint32_t interval_ms);

/* actors__beat_stop stops and joins the thread, closes its socket and
 * frees it; *self_p becomes NULL. NULL is a no-op. */
void actors__beat_stop(actors__beat_t **self_p);

#endif
