/* tools/actorctl/top.h - `actorctl top`: the actors, live.
 * SPDX-License-Identifier: MIT
 *
 * Every --interval ms it asks the broker for LIST and prints one frame: a
 * line of totals (addresses running, nodes, calls/s) and a table of the
 * addresses (dead and stopped ones with --all), busiest first: ADDRESS,
 * NODE, STATE, PID, MAILBOX, INFLIGHT, CALLS/S (from two successive
 * "handled" counts), RESTARTS. On a terminal each frame replaces the
 * last; otherwise frames follow each other, separated by a blank line.
 */
#ifndef ACTORCTL_TOP_H
#define ACTORCTL_TOP_H

#include <actors/client.h>

#include "cli.h"

/* top_run shows cli->count frames (0: until interrupted) over client.
 * Returns COMMANDS_EXIT_OK, or COMMANDS_EXIT_ERROR when the broker does
 * not answer. */
int top_run(actors_client_t *client, const cli_t *cli);

#endif
