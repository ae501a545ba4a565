/* supervisor/supervisor.h - one node: start actors, watch them, restart.
 * SPDX-License-Identifier: MIT
 *
 * The loop waits on a signalfd (SIGCHLD, SIGTERM, SIGINT) with a timeout
 * set by the next scheduled restart: no polling of children. Each exit is
 * named (exit code or signal) and judged by the actor's policy: restart
 * after the backoff, or give up. A clean exit (status 0: the actor's own
 * actors_actor_exit, or a stop) is not restarted. Every start, exit,
 * restart and give-up is one log line with a stable msgid:
 * SUP-START, SUP-EXIT, SUP-RESTART, SUP-GIVE-UP, SUP-STOPPED.
 * Thread: one thread; SIGCHLD, SIGTERM and SIGINT must be blocked in every
 * thread before sup_create (main does it).
 */
#ifndef SUPERVISOR_SUPERVISOR_H
#define SUPERVISOR_SUPERVISOR_H

#include <stdbool.h>
#include <stdint.h>

#include <actors/error.h>

#include "config.h"

typedef struct sup sup_t;

/* sup_create prepares a node from cfg (borrowed; it must outlive the
 * supervisor). broker is the endpoint given to actors; self_dir is where
 * service binaries are looked for first.
 * Returns ACTORS_OK with *out owned by the caller (sup_destroy),
 * ACTORS_EINVAL (a service binary not found; logged), ACTORS_ENOMEM,
 * ACTORS_EIO (signalfd). */
actors_err sup_create(sup_t **out, const sup_config_t *cfg, const char *broker,
    const char *self_dir);

/* sup_set_drain chooses what SIGTERM and SIGINT do: drain (true, the
 * default: the broker is told with DRAIN, so the actors it stops are
 * re-placed on other nodes) or a full stop (false: they stay stopped).
 * SIGUSR1 is always a full stop. */
void sup_set_drain(sup_t *self, bool drain);

/* sup_set_metrics serves the node's Prometheus metrics (metrics.h) on
 * host (IPv4; NULL 127.0.0.1) and port (0: any free one). Call before
 * sup_run. Returns ACTORS_OK, ACTORS_ENOMEM, ACTORS_EINVAL or ACTORS_EIO
 * (logged). */
actors_err sup_set_metrics(sup_t *self, const char *host, uint16_t port);

/* sup_set_log_dir makes each actor's output also go to DIR/ADDRESS.log
 * (outlog.h; NULL or "": none), besides the node's stderr where every
 * line is prefixed "ADDRESS[PID]: " anyway. Call before sup_run.
 * Returns ACTORS_OK or ACTORS_ENOMEM (unchanged). */
actors_err sup_set_log_dir(sup_t *self, const char *dir);

/* sup_run starts every configured actor and supervises them until SIGTERM,
 * SIGINT or SIGUSR1, then stops them gracefully (SIGTERM, grace, SIGKILL).
 * Returns ACTORS_OK after a clean stop, ACTORS_EIO on a loop failure. */
actors_err sup_run(sup_t *self);

/* sup_destroy frees *self_p (children must be gone: sup_run ensures it). */
void sup_destroy(sup_t **self_p);

#endif
