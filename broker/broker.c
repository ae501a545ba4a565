/* broker/broker.c - the broker as shipped: the routing core with the
 * supervision extension (broker.h).
 * SPDX-License-Identifier: MIT
 *
 * The core (core.h) routes on its own; this file is where extensions are
 * chosen. It is the only file that includes both the core and an
 * extension's public header.
 */
#include "broker.h"

#include <assert.h>

#include "core.h"
#include "obs.h"
#include "sup.h"

actors_err
brk_broker_create(brk_broker_t **out, const brk_opts_t *opts)
{
    assert(out);
    assert(opts);
    actors_err rc = brk_core_create(out, opts);
    if (rc != ACTORS_OK) {
        return rc;
    }
    rc = brk_sup_attach(*out);
    if (rc != ACTORS_OK) {
        brk_broker_destroy(out);
    }
    return rc;
}

actors_err
brk_broker_observe(
    brk_broker_t *self, bool trace, bool http, const char *host, uint16_t port)
{
    assert(self);
    brk_obs_opts_t o = BRK_OBS_OPTS_INIT;
    o.trace = trace;
    o.http = http;
    o.host = host;
    o.port = port;
    return brk_obs_attach(self, &o);
}
