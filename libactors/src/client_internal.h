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

#include <actors-internal/client_raw.h>
#include <actors-internal/wire.h>

/* actors__client_id_write writes request id into out (at least 8 bytes)
 * and returns its length on the wire: 4 bytes while the id fits in 31
 * bits (ACTORS__TELL_BIT then travels as bit 31), 8 after. The short
 * form keeps a CALL's header within libzmq's 33-byte inline message for
 * names of up to 16 bytes in all, so that it is not allocated on the
 * heap (docs/BENCHMARKS.md). Pure function; any thread. */
size_t actors__client_id_write(uint64_t id, uint8_t *out);

/* actors__client_id_read reads back an id written by
 * actors__client_id_write (len bytes at p) into *id; false if len is
 * neither form. Pure function; any thread. */
bool actors__client_id_read(const void *p, size_t len, uint64_t *id);

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

/* actors__client_conn_gen reads the connection events that came since the
 * last read and returns how many new connections (a handshake after a
 * disconnect) the client has had since actors__client_watch: a reader of
 * its own (pubsub.c) compares it with the value it saw last, without
 * taking actors__client_reconnected's news from the actor runtime. */
uint64_t actors__client_conn_gen(actors_client_t *self);

/* actors__client_connecting: the broker refused the connection and the
 * client waits to connect again (client_conn.h); what is sent meanwhile
 * is parked. Owner. */
bool actors__client_connecting(const actors_client_t *self);

/* actors__client_timeout_ms is how long until the next local deadline of a
 * pending call or the next connect after a refusal (-1: none), for the
 * caller's poll timeout. */
int actors__client_timeout_ms(const actors_client_t *self);

/* actors__client_guard marks the client as an actor's, whose loop runs on
 * the calling thread: from then on a wait that would block that loop (a
 * pump with a timeout other than 0 on the loop thread, inside a handler) or
 * any pump from another thread is refused with ACTORS_EDEADLK
 * (actors__client_would_block). The actor runtime calls it once init has
 * returned (init may still wait: the loop does not run yet). Owner. */
void actors__client_guard(actors_client_t *self);

/* actors__client_would_block: a pump of timeout_ms from this thread must be
 * refused (and is logged, CLI-DEADLOCK). Thread: any. */
bool actors__client_would_block(const actors_client_t *self, int timeout_ms);

#endif
