/* tools/actorctl/cli.h - actorctl's command line: parsing and usage text.
 * SPDX-License-Identifier: MIT
 *
 * cli_parse turns argv into a cli_t without touching the network, so
 * every usage error is found before a connection is made (exit status 2).
 * Strings in a cli_t are borrowed from argv.
 */
#ifndef ACTORCTL_CLI_H
#define ACTORCTL_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <actors/error.h>

/* The default deadline of a call, in milliseconds. */
#define CLI_TIMEOUT_DEFAULT 30000u

typedef enum {
    CLI_CMD_HELP = 0,  /* --help, or no command at all with --help */
    CLI_CMD_CALL,      /* call ADDRESS METHOD [ARG ...] */
    CLI_CMD_TELL,      /* tell ADDRESS METHOD [ARG ...] */
    CLI_CMD_LS,        /* ls [--json] */
    CLI_CMD_LOOKUP,    /* lookup ADDRESS */
    CLI_CMD_PING,      /* ping */
    CLI_CMD_SPAWN,     /* spawn SERVICE [OPTIONS] [CTOR-ARG ...] */
    CLI_CMD_KILL,      /* kill ADDRESS [--no-restart] */
    CLI_CMD_STOP,      /* stop ADDRESS */
    CLI_CMD_EVENTS,    /* events [--since N] [--json] */
    CLI_CMD_WAIT,      /* wait ADDRESS (until it answers; --timeout) */
    CLI_CMD_MAP,       /* map [--unordered] MEMBERS METHOD [ARG ...] */
    CLI_CMD_KEYGEN,    /* keygen NAME [--role ROLE] [--dir DIR]
                          [--addresses PATTERNS] */
    CLI_CMD_SUBSCRIBE, /* subscribe PATTERN [--count N] */
    CLI_CMD_PUBLISH,   /* publish TOPIC JSON */
    CLI_CMD_TOP,       /* top [--interval MS] [--count N] [--all] */
} cli_cmd_t;

typedef struct {
    cli_cmd_t cmd;         /* what to do */
    const char *broker;    /* --broker; NULL: $ACTORS_BROKER or default */
    uint32_t timeout_ms;   /* --timeout; 0: no deadline */
    bool is_json;          /* ls --json */
    const char *address;   /* call, tell, lookup */
    const char *method;    /* call, tell */
    char **args;           /* JSON arguments of call/tell/spawn, borrowed */
    int nargs;             /* number of args */
    const char *service;   /* spawn: the service binary */
    const char *name;      /* spawn --name */
    const char *node;      /* spawn --node */
    int max_restarts;      /* spawn --max-restarts (-1: forever) */
    int max_task_retries;  /* spawn --max-task-retries (-1: forever) */
    bool get_if_exists;    /* spawn --get-if-exists */
    bool no_restart;       /* kill --no-restart */
    uint64_t since;        /* events --since */
    const char *key;       /* call --call-key; NULL: none */
    bool unordered;        /* map --unordered */
    const char *cert;      /* --key: own secret certificate; NULL: env */
    const char *bcert;     /* --broker-key: the broker's public one */
    const char *role;      /* keygen --role (default client) */
    const char *dir;       /* keygen --dir (default .) */
    const char *addresses; /* keygen --addresses: what an actor key may
                              REGISTER (fnmatch patterns); NULL any */
    const char *payload;   /* publish: the JSON value */
    bool follow;           /* events --follow */
    uint64_t count;        /* subscribe, events --follow, top: --count; 0:
                              no end */
    const char *route;     /* call --route: a group's routing key; NULL */
    bool broadcast;        /* tell --broadcast: every member of a group */
    bool group;            /* spawn --group: a member of a group address */
    bool is_all;           /* ls/top --all: dead and stopped ones too */
    uint32_t interval_ms;  /* top --interval (default 1000) */
    uint64_t members;      /* wait --members: a group with at least N */
    uint64_t handled;      /* wait --handled: at least N handled */
    unsigned used;         /* CLI_OPT_* seen, to check they fit the command */
} cli_t;

/* Options that belong to one command (bits of cli_t.used). */
#define CLI_OPT_JSON 0x01u
#define CLI_OPT_SPAWN 0x02u
#define CLI_OPT_NO_RESTART 0x04u
#define CLI_OPT_SINCE 0x08u
#define CLI_OPT_KEY 0x10u
#define CLI_OPT_UNORDERED 0x20u
#define CLI_OPT_KEYGEN 0x40u
#define CLI_OPT_FOLLOW 0x80u
#define CLI_OPT_COUNT 0x100u
#define CLI_OPT_ROUTE 0x200u
#define CLI_OPT_BROADCAST 0x400u
#define CLI_OPT_ALL 0x800u
#define CLI_OPT_TOP 0x1000u
#define CLI_OPT_WAIT 0x2000u

/* cli_parse reads argc/argv (argv[0] is the program name) into *self.
 * Global options (--broker EP, --timeout MS, --help) may come before the
 * command or right after it, before its first operand; after ADDRESS
 * METHOD of call/tell every word is a JSON argument, so "-5" is a number.
 * --help seen before any error makes the command CLI_CMD_HELP.
 * Returns ACTORS_OK, or ACTORS_EINVAL with a one-line reason in errbuf
 * (usage error). */
actors_err cli_parse(
    cli_t *self, int argc, char **argv, char *errbuf, size_t errlen);

/* cli_usage prints the usage text to out. */
void cli_usage(FILE *out);

#endif
