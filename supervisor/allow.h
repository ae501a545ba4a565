/* supervisor/allow.h - what a SPAWN from the wire may run on this node.
 * SPDX-License-Identifier: MIT
 *
 * The actors of a node's own config are the operator's; a SPAWN comes
 * from whoever reached the broker. For a SPAWN the node runs only:
 *
 *   - a service its config's actor entries name, one listed in
 *     supervisor/services (or --services), or an executable found in
 *     supervisor/service_dir; never one of the framework's own tools
 *     (actors-broker, actors-supervisor, actorctl, actors-bench, and any
 *     name that starts with "actors-"), whatever the config says;
 *   - env entries "NAME=VALUE" whose NAME is in supervisor/spawn_env
 *     (default: ACTORS_LOG_LEVEL alone) and is not one of the names that
 *     load code or move state or credentials (LD_*, PATH,
 *     ACTORS_STATE_DIR, ...: allow_env_denied), whatever the config says;
 *   - args that are each one JSON text (so none can pass as an option of
 *     the service, such as --broker).
 *
 * docs/SUPERVISOR.md ("What a SPAWN may run") is the user's reference.
 * Thread: any (no state of its own).
 */
#ifndef SUPERVISOR_ALLOW_H
#define SUPERVISOR_ALLOW_H

#include <stdbool.h>
#include <stddef.h>

#include <actors/error.h>

#include "config.h"

/* allow_spawn checks spec, decoded from a SPAWN, against cfg (borrowed).
 * Returns ACTORS_OK, or ACTORS_EFORBIDDEN with a sentence that names what
 * was refused in why (why_len bytes). */
actors_err allow_spawn(const sup_config_t *cfg, const child_spec_t *spec,
    char *why, size_t why_len);

/* allow_is_tool: service is one of the framework's own binaries, which
 * no SPAWN may start. */
bool allow_is_tool(const char *service);

/* allow_env_denied: the variable name (len bytes) is never taken from a
 * SPAWN: it makes the dynamic loader or libc load code (LD_*, GCONV_PATH,
 * ...), changes where programs are found (PATH), or where an actor keeps
 * its state or finds its broker and credentials (ACTORS_STATE_DIR,
 * ACTORS_BROKER, ACTORS_CLAIM, ACTORS_*KEY*, ...). */
bool allow_env_denied(const char *name, size_t len);

/* allow_add_names appends the names of list (separated by spaces, tabs or
 * commas) to *names (*n entries; both grow). Returns ACTORS_OK or
 * ACTORS_ENOMEM (what was appended stays, *n counts it). */
actors_err allow_add_names(char ***names, int *n, const char *list);

#endif
