/* supervisor/spec.h - an actor's spec as a msgpack map, both ways.
 * SPDX-License-Identifier: MIT
 *
 * The broker keeps the spec of every supervised actor (sent in STATE
 * "starting") so it can re-create the actor on another node, and sends
 * specs to nodes in SPAWN. Keys (schemas/PROTOCOL.md, "Nodes"):
 *   service, args (array of JSON texts), env (array of "K=V"),
 *   max_restarts, max_task_retries, intensity, period_ms, backoff_base_ms,
 *   backoff_factor, backoff_max_ms, backoff_jitter, healthy_ms, grace_ms.
 * Missing keys take POLICY_INIT's values.
 */
#ifndef SUPERVISOR_SPEC_H
#define SUPERVISOR_SPEC_H

#include <actors/error.h>
#include <actors/msg.h>

#include "config.h"

/* spec_encode appends the spec of c as one map value to m.
 * Returns ACTORS_OK or ACTORS_ENOMEM. */
actors_err spec_encode(actors_msg_t *m, const child_spec_t *c);

/* spec_decode fills *out (zeroed first) from a spec map for address.
 * The strings are copied: release with spec_clear.
 * Returns ACTORS_OK, ACTORS_EARGS (not a map, no service, a bad policy;
 * description in err), or ACTORS_ENOMEM. */
actors_err spec_decode(const msgpack_object *map, const char *address,
    child_spec_t *out, char *err, size_t errlen);

/* spec_clear frees what spec_decode (or config) allocated in c. */
void spec_clear(child_spec_t *c);

#endif
