/* broker/obs.h - watching the broker: calls traced at debug level,
 * Prometheus metrics and the dashboard over HTTP. An extension of the
 * routing core.
 * SPDX-License-Identifier: MIT
 *
 * Every CALL the broker answers is seen once (ext.h call_done_cb, only
 * while this extension is attached with something to do): at log level
 * debug it is one line, BRK-CALL address= method= outcome= us=; with a
 * metrics port, it is counted by address, method and outcome, and its
 * latency goes into a histogram of its method. The HTTP server
 * (libmicrohttpd, its own thread) serves
 *
 *   /metrics      Prometheus text format 0.0.4 (docs/OBSERVING.md)
 *   /api/state    the dashboard's JSON: actors, nodes, recent events
 *   /             the dashboard, a page that polls /api/state
 *
 * The counters live on the broker's loop and are never locked: the HTTP
 * thread asks for a snapshot, which the loop renders at its next tick
 * (heartbeat_ms / 4) and hands over under a mutex.
 *
 * Thread: attach on the broker's thread before brk_broker_run.
 */
#ifndef BRK_OBS_H
#define BRK_OBS_H

#include <stdbool.h>
#include <stdint.h>

#include <actors/error.h>

#include "core.h"

typedef struct {
    bool trace;       /* BRK-CALL lines (at log level debug) */
    bool http;        /* serve /metrics, /api/state and / */
    const char *host; /* HTTP listen address (IPv4); NULL: 127.0.0.1 */
    uint16_t port;    /* HTTP port; 0: any free one (logged) */
} brk_obs_opts_t;

#define BRK_OBS_OPTS_INIT                                                      \
    {                                                                          \
        false, false, NULL, 0                                                  \
    }

/* brk_obs_attach adds observation to core, unless opts asks for nothing
 * (then core is left as it is and ACTORS_OK returned). Returns ACTORS_OK,
 * ACTORS_ENOMEM, ACTORS_EINVAL (host) or ACTORS_EIO (cannot listen; the
 * log says why); core unchanged on error. The core frees it. */
actors_err brk_obs_attach(brk_broker_t *core, const brk_obs_opts_t *opts);

#endif
