/* tools/actorctl/wait.h - actorctl wait ADDRESS: until the address answers.
 * SPDX-License-Identifier: MIT
 */
#ifndef ACTORCTL_WAIT_H
#define ACTORCTL_WAIT_H

#include <actors/client.h>

#include "cli.h"

/* wait_run asks the broker about cli->address (LOOKUP) until its state is
 * "running" (an actor has registered it, so a call is handed over at
 * once), backing off from 10 ms to 200 ms between questions, for at most
 * cli->timeout_ms (0: for ever). Prints nothing on success; on the
 * deadline prints "Timeout: ..." with the last answer and returns
 * COMMANDS_EXIT_ERROR. Returns a COMMANDS_EXIT_* status. */
int wait_run(actors_client_t *client, const cli_t *cli);

#endif
