/* broker/broker.c - the broker as shipped: the routing core with the
 * supervision and publish/subscribe
 * extensions (broker.h).
 * SPDX-License-Identifier: MIT
 *
 * The core (core.h) routes on its own; this file is where extensions are
 * chosen. It is the only file that includes both the core and an
 * extension's public header.
 */
#include "broker.h"

#include <assert.h>

#include "core.h"
#include "pubsub.h"
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
    brk_pubsub_t *ps = NULL;
    if (rc == ACTORS_OK) {
        rc = brk_pubsub_attach(*out, &ps);
    }
    if (rc != ACTORS_OK) {
        brk_broker_destroy(out);
    }
    return rc;
}
