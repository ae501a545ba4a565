/* supervisor/link.h - the node's connection to the broker.
 * SPDX-License-Identifier: MIT
 *
 * A DEALER (an actors_client with a hook, as the actor runtime uses) over
 * which the node says NODE once, heartbeats, reports every actor's STATE
 * and every EVENT, and receives SPAWN and KILL requests. When the broker
 * is silent for liveness heartbeats the link reconnects and says NODE
 * again; link_tick then reports that the broker must be told every state
 * anew (it may have restarted and forgotten).
 * Thread: the supervisor's loop thread.
 */
#ifndef SUPERVISOR_LINK_H
#define SUPERVISOR_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <actors/error.h>
#include <actors/msg.h>

#include "config.h"

typedef struct link link_t;

/* A request from the broker: cmd is ACTORS_CMD_SPAWN or ACTORS_CMD_KILL;
 * id must be echoed with link_reply/link_error; address and map are
 * borrowed for the call; claim is the SPAWN's claim frame ("" none): the
 * secret the process must show in its REGISTER. */
typedef void (*link_request_fn)(void *arg, uint8_t cmd, const void *id,
    size_t id_len, const char *address, const msgpack_object *map,
    const char *claim);

/* link_create connects to endpoint as node. Returns ACTORS_OK with *out
 * owned by the caller (link_destroy), ACTORS_EINVAL, ACTORS_ENOMEM. */
actors_err link_create(link_t **out, const char *endpoint, const char *node,
    link_request_fn fn, void *arg);

/* link_destroy closes and frees; NULL is fine. */
void link_destroy(link_t **self_p);

/* link_socket is the zmq socket to poll for input. Borrowed. */
void *link_socket(link_t *self);

/* link_process handles what has arrived (replies, SPAWN, KILL). */
void link_process(link_t *self);

/* link_tick sends heartbeats and NODE (again) when due, at now_ms.
 * Returns true when the broker must be sent every STATE again (the node
 * just (re)registered). */
bool link_tick(link_t *self, uint64_t now_ms);

/* link_timeout_ms is how long the loop may sleep before link_tick is due. */
int link_timeout_ms(const link_t *self, uint64_t now_ms);

/* A barrier passed: the broker has handled everything this link sent
 * before link_barrier(token). */
typedef void (*link_barrier_fn)(void *arg, const char *token);

/* link_set_barrier_fn installs the barrier callback. */
void link_set_barrier_fn(link_t *self, link_barrier_fn fn, void *arg);

/* link_barrier sends a PING tagged with token (at most 200 bytes); its
 * answer runs the barrier callback with token. Messages on one connection
 * are handled in order, so by then the broker has seen every STATE sent
 * before. Returns false when nothing was sent (not registered): do not
 * wait then. */
bool link_barrier(link_t *self, const char *token);

/* link_is_registered: the broker accepted NODE. */
bool link_is_registered(const link_t *self);

/* link_state reports an actor's state ("starting", "running",
 * "restarting", "stopped", "dead") with its pid (0: none), restarts,
 * last exit cause (NULL: none), the claim its process shows (NULL: none),
 * whether the node's config names it
 * (home) and, for "starting", its spec. For a group's member only the
 * node's placement of the group is sent (STATE "group": true with the
 * claim), whatever the state. */
actors_err link_state(link_t *self, const child_spec_t *spec, const char *state,
    int pid, int restarts, const char *cause, const char *claim, bool home);

/* link_drain tells the broker the node is about to stop its actors and
 * go, so they are re-placed on other nodes as they stop (DRAIN). Returns
 * false when nothing was sent (not registered): do not wait then. */
bool link_drain(link_t *self);

/* link_is_drained: the broker answered DRAIN. */
bool link_is_drained(const link_t *self);

/* link_event reports one event (kind: start, exit, restart, give-up,
 * stop) of address. */
actors_err link_event(link_t *self, const char *kind, const char *address,
    int pid, int restarts, const char *cause);

/* link_reply answers a broker request with *value_p (one value; NULL:
 * an empty map). Takes *value_p. */
actors_err link_reply(
    link_t *self, const void *id, size_t id_len, actors_msg_t **value_p);

/* link_error answers a broker request with an error. */
actors_err link_error(link_t *self, const void *id, size_t id_len,
    actors_err code, const char *message);

#endif
