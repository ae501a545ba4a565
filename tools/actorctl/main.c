/* tools/actorctl/main.c - actorctl: call, tell, list and look up actors
 * from a shell.
 * SPDX-License-Identifier: MIT
 *
 *   actorctl [--broker EP] [--timeout MS] call ADDRESS METHOD [ARG ...]
 *   actorctl keygen NAME [--role ROLE] [--dir DIR]
 *
 * main() parses the command line (cli.c) and runs the command
 * (commands.c). Exit status: 0 success, 1 error reply or no broker,
 * 2 usage error.
 */
#include <stdio.h>
#include <stdlib.h>

#include <actors/log.h>
#include <actors/security.h>

#include "cli.h"
#include "commands.h"

int
main(int argc, char **argv)
{
    cli_t cli;
    char why[256];
    if (cli_parse(&cli, argc, argv, why, sizeof why) != ACTORS_OK) {
        fprintf(stderr, "actorctl: %s\n", why);
        cli_usage(stderr);
        return COMMANDS_EXIT_USAGE;
    }
    if (cli.cmd == CLI_CMD_HELP) {
        cli_usage(stdout);
        return COMMANDS_EXIT_OK;
    }
    /* stderr carries "ErrorType: message" for scripts; library notices
     * would get in the way, so only errors are logged unless asked. */
    actors_log_init_from_env("actorctl");
    if (getenv("ACTORS_LOG_LEVEL") == NULL) {
        actors_log_set_level(ACTORS_LOG_ERR);
    }
    if (actors_security_set(cli.cert, cli.bcert) != ACTORS_OK) {
        fprintf(stderr, "actorctl: out of memory\n");
        return COMMANDS_EXIT_ERROR;
    }
    return commands_run(&cli);
}
