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
#include <stdio.h>
#include <string.h>

#include <msgpack.h>

#include "core.h"
#include "pubsub.h"
#include "obs.h"
#include "sup.h"

/* s_sup_event publishes a lifecycle event of the supervision on
 * actors.lifecycle.<kind>.<address> (or .<node> for a node's own event;
 * without the last part when it would not make a valid topic). */
static void
s_sup_event(void *arg, const brk_event_t *ev)
{
    brk_pubsub_t *ps = arg;
    char topic[256];
    const char *who = ev->address[0] ? ev->address : ev->node;
    int n = snprintf(topic, sizeof topic, "actors.lifecycle.%s%s%s",
        ev->kind[0] ? ev->kind : "event", who[0] ? "." : "", who);
    if (n < 0 || (size_t)n >= sizeof topic || strchr(who, ' ') != NULL ||
        strstr(who, "..") != NULL || who[0] == '.' ||
        (who[0] && who[strlen(who) - 1] == '.')) {
        snprintf(topic, sizeof topic, "actors.lifecycle.%s",
            ev->kind[0] ? ev->kind : "event");
    }
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, ev->service[0] ? 9 : 8);
    if (ev->service[0]) {
        brk_core_pack_str(&pk, "service");
        brk_core_pack_str(&pk, ev->service);
    }
    brk_core_pack_str(&pk, "id");
    msgpack_pack_uint64(&pk, ev->id);
    brk_core_pack_str(&pk, "kind");
    brk_core_pack_str(&pk, ev->kind);
    brk_core_pack_str(&pk, "address");
    brk_core_pack_str(&pk, ev->address);
    brk_core_pack_str(&pk, "node");
    brk_core_pack_str(&pk, ev->node);
    brk_core_pack_str(&pk, "pid");
    msgpack_pack_int64(&pk, ev->pid);
    brk_core_pack_str(&pk, "restarts");
    msgpack_pack_int64(&pk, ev->restarts);
    brk_core_pack_str(&pk, "cause");
    brk_core_pack_str(&pk, ev->cause);
    brk_core_pack_str(&pk, "ms");
    msgpack_pack_int64(&pk, ev->ms);
    brk_pubsub_publish(ps, topic, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
}

actors_err
brk_broker_create(brk_broker_t **out, const brk_opts_t *opts)
{
    assert(out);
    assert(opts);
    actors_err rc = brk_core_create(out, opts);
    if (rc != ACTORS_OK) {
        return rc;
    }
    /* Publish/subscribe first: its hooks run before the supervision's,
     * so a buried address's subscriptions are gone before its "buried"
     * event is published. */
    brk_pubsub_t *ps = NULL;
    rc = brk_pubsub_attach(*out, &ps);
    if (rc == ACTORS_OK) {
        rc = brk_sup_attach(*out);
    }
    if (rc == ACTORS_OK) {
        brk_sup_on_event(*out, s_sup_event, ps);
    }
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
