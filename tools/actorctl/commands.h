/* tools/actorctl/commands.h - actorctl's commands: call, tell, ls, lookup,
 * ping, each one request to the broker through a libactors client.
 * SPDX-License-Identifier: MIT
 */
#ifndef ACTORCTL_COMMANDS_H
#define ACTORCTL_COMMANDS_H

#include <actors/client.h>
#include <stdbool.h>

#include <msgpack.h>

#include "cli.h"

/* Exit statuses of actorctl. */
#define COMMANDS_EXIT_OK 0    /* the request succeeded */
#define COMMANDS_EXIT_ERROR 1 /* an error reply, a timeout, no broker */
#define COMMANDS_EXIT_USAGE 2 /* bad command line or bad JSON argument */

/* commands_run connects to the broker named by cli, runs cli->cmd, prints
 * the result as JSON on stdout (ls: a table unless --json) or the error
 * as "ErrorType: message" on stderr, and disconnects.
 * Returns the process exit status, COMMANDS_EXIT_*. */
int commands_run(const cli_t *cli);

/* commands_print_rc prints rc, a request the client did not send, on
 * stderr as "Type: text" (a refused CURVE key says what to check). */
void commands_print_rc(actors_err rc);

/* commands_map runs `map` (map.c): Ray's ActorPool.map from the shell.
 * Returns the exit status. */
int commands_map(actors_client_t *client, const cli_t *cli);

/* commands_is_gone tells whether a LIST map is of an address that no
 * longer runs (state dead or stopped). */
bool commands_is_gone(const msgpack_object *map);

#endif
