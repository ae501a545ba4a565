/* supervisor/metrics.h - a node's Prometheus metrics over HTTP.
 * SPDX-License-Identifier: MIT
 *
 * With --metrics-port the node serves /metrics (text format 0.0.4):
 *
 *   actors_node_actor_info{node,address,service,state} 1
 *   actors_node_actor_restarts{node,address}          restarts so far
 *   actors_node_exits_total{node,address,cause}       exits, by cause
 *   actors_node_starts_total{node,address}            processes started
 *   actors_node_actors{node,state}                    actors per state
 *   actors_node_broker_connected{node}                1 while NODE is
 *                                                     accepted
 *
 * The loop records (metrics_state, metrics_exit) under a mutex, rarely
 * (at a transition); the HTTP thread (libmicrohttpd) renders under it.
 *
 * Thread: create, destroy and the recorders on the supervisor's loop.
 */
#ifndef SUPERVISOR_METRICS_H
#define SUPERVISOR_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include <actors/error.h>

typedef struct metrics metrics_t;

/* metrics_create serves node's metrics on host (IPv4; NULL 127.0.0.1)
 * and port (0: any free one). Returns ACTORS_OK with *out owned by the
 * caller (metrics_destroy), ACTORS_ENOMEM, ACTORS_EINVAL (host) or
 * ACTORS_EIO (cannot listen). */
actors_err metrics_create(
    metrics_t **out, const char *node, const char *host, uint16_t port);

/* metrics_port is the port it listens on. */
uint16_t metrics_port(const metrics_t *self);

/* metrics_destroy stops the server and frees it; NULL is fine. */
void metrics_destroy(metrics_t **self_p);

/* metrics_state records address's state (as the node reports it), pid
 * and restarts; started counts a process start. self NULL: nothing. */
void metrics_state(metrics_t *self, const char *address, const char *service,
    const char *state, int pid, int restarts, bool started);

/* metrics_exit counts one exit of address with cause. self NULL:
 * nothing. */
void metrics_exit(metrics_t *self, const char *address, const char *cause);

/* metrics_connected records whether the broker accepted NODE. */
void metrics_connected(metrics_t *self, bool yes);

#endif
