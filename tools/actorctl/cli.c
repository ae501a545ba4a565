/* tools/actorctl/cli.c - actorctl's command line: parsing and usage text.
 * SPDX-License-Identifier: MIT
 *
 * The grammar is
 *   actorctl [OPTIONS] COMMAND [OPTIONS] OPERANDS...
 * Options are recognised until the first operand of the command; for call
 * and tell everything after ADDRESS METHOD is an argument, even when it
 * starts with a dash (a negative number).
 */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name; /* command word */
    cli_cmd_t cmd;    /* what it selects */
    int min_ops;      /* operands required */
    int max_ops;      /* operands allowed; -1: any */
    int fixed_ops;    /* with max_ops -1: operands before the free args */
    unsigned opts;    /* CLI_OPT_* allowed */
} s_commands[] = {
    {"call", CLI_CMD_CALL, 2, -1, 2, CLI_OPT_KEY | CLI_OPT_ROUTE},
    {"tell", CLI_CMD_TELL, 2, -1, 2, CLI_OPT_BROADCAST},
    {"ls", CLI_CMD_LS, 0, 0, 0, CLI_OPT_JSON | CLI_OPT_ALL},
    {"list", CLI_CMD_LS, 0, 0, 0, CLI_OPT_JSON | CLI_OPT_ALL},
    {"top", CLI_CMD_TOP, 0, 0, 0, CLI_OPT_TOP | CLI_OPT_ALL | CLI_OPT_COUNT},
    {"lookup", CLI_CMD_LOOKUP, 1, 1, 0, 0},
    {"ping", CLI_CMD_PING, 0, 0, 0, 0},
    {"spawn", CLI_CMD_SPAWN, 1, -1, 1, CLI_OPT_SPAWN},
    {"kill", CLI_CMD_KILL, 1, 1, 0, CLI_OPT_NO_RESTART},
    {"stop", CLI_CMD_STOP, 1, 1, 0, 0},
    {"events", CLI_CMD_EVENTS, 0, 0, 0,
        CLI_OPT_SINCE | CLI_OPT_JSON | CLI_OPT_FOLLOW | CLI_OPT_COUNT},
    {"wait", CLI_CMD_WAIT, 1, 1, 0, CLI_OPT_WAIT},
    {"map", CLI_CMD_MAP, 2, -1, 2, CLI_OPT_UNORDERED},
    {"keygen", CLI_CMD_KEYGEN, 1, 1, 0, CLI_OPT_KEYGEN},
    {"subscribe", CLI_CMD_SUBSCRIBE, 1, 1, 0, CLI_OPT_COUNT},
    {"publish", CLI_CMD_PUBLISH, 2, 2, 0, 0},
};

void
cli_usage(FILE *out)
{
    fputs("usage: actorctl [--broker EP] [--timeout MS] [--key PATH "
          "--broker-key PATH]\n"
          "                COMMAND ...\n"
          "\n"
          "commands:\n"
          "  call ADDRESS METHOD [ARG ...]  call a method, print its result"
          " as JSON\n"
          "  tell ADDRESS METHOD [ARG ...]  send a one-way message; wait\n"
          "                                 until the broker has it (an\n"
          "                                 error if it refuses it)\n"
          "  ls [--json] [--all]            list the actors the broker"
          " knows;\n"
          "                                 dead and stopped ones only with"
          " --all\n"
          "  lookup ADDRESS                 show one actor\n"
          "  ping                           check that the broker answers\n"
          "  spawn SERVICE [SPAWN-OPTIONS] [ARG ...]\n"
          "                                 start a detached actor on a "
          "node,\n"
          "                                 print its address\n"
          "  kill ADDRESS [--no-restart]    SIGKILL an actor; it comes back"
          " by\n"
          "                                 its policy unless --no-restart\n"
          "  stop ADDRESS                   stop an actor gracefully, no"
          " restart\n"
          "  events [--since N] [--json]    lifecycle events of every node,"
          " with\n"
          "                                 their time (UTC)\n"
          "  top [--interval MS] [--count N] [--all]\n"
          "                                 the actors live: state, node,"
          " mailbox,\n"
          "                                 in flight, calls/s, errors/s,"
          " errors,\n"
          "                                 p50/p99 latency, restarts;"
          " every MS\n"
          "                                 (1000), N times (0: until "
          "interrupted)\n"
          "  wait ADDRESS [--members N] [--handled N]\n"
          "                                 wait until ADDRESS answers (is\n"
          "                                 running), a group with N\n"
          "                                 members, N messages handled;\n"
          "                                 within --timeout\n"
          "  map [--unordered] MEMBERS METHOD [ARG ...]\n"
          "                                 Ray's ActorPool.map: one task\n"
          "                                 METHOD(ARG) per ARG over the\n"
          "                                 pool MEMBERS (addresses joined\n"
          "                                 by commas, or a group address);\n"
          "                                 one result per line, in ARG\n"
          "                                 order (--unordered: as they\n"
          "                                 come); --timeout bounds each task\n"
          "  keygen NAME [--role ROLE] [--dir DIR] [--addresses PATTERNS]\n"
          "                                 write a CURVE certificate pair:\n"
          "                                 DIR/NAME (public, for the\n"
          "                                 broker's --keys) and\n"
          "                                 DIR/NAME_secret (--key); ROLE:\n"
          "                                 client (default), actor, node,\n"
          "                                 admin\n"
          "  events --follow [--json] [--count N]\n"
          "                                 stream them as they happen (or\n"
          "                                 the next N)\n"
          "  subscribe PATTERN [--count N]  print one JSON line per event\n"
          "                                 on a matching topic until "
          "stopped\n"
          "                                 (or N events); '*' is one "
          "segment,\n"
          "                                 '>' the rest: orders.>\n"
          "  publish TOPIC JSON             publish an event, print how "
          "many\n"
          "                                 subscriptions it reached (JSON\n"
          "                                 may be - or @PATH, as an ARG)\n"
          "\n"
          "options:\n"
          "  --broker EP    broker endpoint (default: $ACTORS_BROKER, else\n"
          "                 tcp://127.0.0.1:5555)\n"
          "  --timeout MS   deadline of the request in ms (default 30000;"
          " 0: none);\n"
          "                 for tell, how long to wait for the broker\n"
          "  --json         (ls, events) print JSON\n"
          "  --key PATH     own secret certificate (default $ACTORS_KEY)\n"
          "  --broker-key PATH  the broker's public certificate (default\n"
          "                 $ACTORS_BROKER_KEY); with --key: CURVE\n"
          "  --call-key KEY (call) the call's key: a journaled actor applies\n"
          "                 a call once per key, so re-sending with the same\n"
          "                 KEY after an error or timeout is safe\n"
          "  --route KEY    (call) a group's routing key: every call with\n"
          "                 KEY goes to the same member\n"
          "  --broadcast    (tell) to every member of a group\n"
          "\n"
          "spawn options (before the constructor ARGs):\n"
          "  --name NAME            the address (default: SERVICE/<hex>)\n"
          "  --node NODE            the node (default: the least loaded)\n"
          "  --max-restarts N       0 never (default), N, -1 forever\n"
          "  --max-task-retries N   re-deliveries of an in-flight call\n"
          "  --get-if-exists        a taken name gives the existing actor\n"
          "  --group                one more member of the group at NAME\n"
          "  -h, --help     show this text\n"
          "\n"
          "Each ARG is a JSON value; a bare word that is not JSON is a "
          "string\n"
          "(hello == \"hello\"), and Infinity, -Infinity and NaN are "
          "those doubles\n"
          "(as printed). An ARG - is read from standard input, @PATH from\n"
          "the file PATH (a string starting with @ is given as JSON: "
          "'\"@x\"').\n"
          "The result goes to stdout as JSON. An "
          "error goes\n"
          "to stderr as \"ErrorType: message\" and the exit status is 1; "
          "a usage\n"
          "error exits with 2.\n",
        out);
}

static actors_err s_fail(char *errbuf, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* s_fail formats the reason of a usage error into errbuf. */
static actors_err
s_fail(char *errbuf, size_t errlen, const char *fmt, ...)
{
    if (errbuf != NULL && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errbuf, errlen, fmt, ap);
        va_end(ap);
    }
    return ACTORS_EINVAL;
}

/* s_parse_timeout reads a decimal number of milliseconds. */
static actors_err
s_parse_timeout(const char *text, uint32_t *out)
{
    if (text == NULL || *text < '0' || *text > '9') {
        return ACTORS_EINVAL;
    }
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v > UINT32_MAX) {
        return ACTORS_EINVAL;
    }
    *out = (uint32_t)v;
    return ACTORS_OK;
}

/* s_int reads a decimal integer in lo..hi. */
static actors_err
s_int(const char *text, long long lo, long long hi, long long *out)
{
    errno = 0;
    char *end = NULL;
    long long v = strtoll(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < lo || v > hi) {
        return ACTORS_EINVAL;
    }
    *out = v;
    return ACTORS_OK;
}

/* s_valued stores the value of one of the lifecycle options. */
static actors_err
s_valued(cli_t *self, const char *opt, const char *value, char *errbuf,
    size_t errlen)
{
    long long v = 0;
    if (strcmp(opt, "--name") == 0 || strcmp(opt, "--node") == 0) {
        if (*value == '\0' || strlen(value) > 255) {
            return s_fail(errbuf, errlen, "%s needs 1 to 255 bytes", opt);
        }
        *(opt[3] == 'a' ? &self->name : &self->node) = value;
        self->used |= CLI_OPT_SPAWN;
        return ACTORS_OK;
    }
    if (strcmp(opt, "--key") == 0 || strcmp(opt, "--broker-key") == 0) {
        if (*value == '\0') {
            return s_fail(errbuf, errlen, "%s needs a path", opt);
        }
        *(opt[2] == 'k' ? &self->cert : &self->bcert) = value;
        return ACTORS_OK;
    }
    if (strcmp(opt, "--addresses") == 0) {
        if (*value == '\0' || strlen(value) > 255) {
            return s_fail(errbuf, errlen, "--addresses needs 1 to 255 bytes");
        }
        self->addresses = value;
        self->used |= CLI_OPT_KEYGEN;
        return ACTORS_OK;
    }
    if (strcmp(opt, "--role") == 0 || strcmp(opt, "--dir") == 0) {
        if (*value == '\0') {
            return s_fail(errbuf, errlen, "%s needs a value", opt);
        }
        *(opt[2] == 'r' ? &self->role : &self->dir) = value;
        self->used |= CLI_OPT_KEYGEN;
        return ACTORS_OK;
    }
    if (strcmp(opt, "--call-key") == 0) {
        if (*value == '\0' || strlen(value) > 255) {
            return s_fail(errbuf, errlen, "--call-key needs 1 to 255 bytes");
        }
        self->key = value;
        self->used |= CLI_OPT_KEY;
        return ACTORS_OK;
    }
    if (strcmp(opt, "--route") == 0) {
        if (*value == '\0' || strlen(value) > 255) {
            return s_fail(errbuf, errlen, "--route needs 1 to 255 bytes");
        }
        self->route = value;
        self->used |= CLI_OPT_ROUTE;
        return ACTORS_OK;
    }
    if (strcmp(opt, "--interval") == 0) {
        if (s_int(value, 10, 3600000, &v) != ACTORS_OK) {
            return s_fail(errbuf, errlen, "bad %s '%s'", opt, value);
        }
        self->interval_ms = (uint32_t)v;
        self->used |= CLI_OPT_TOP;
        return ACTORS_OK;
    }
    if (strcmp(opt, "--since") == 0) {
        if (s_int(value, 0, INT64_MAX, &v) != ACTORS_OK) {
            return s_fail(errbuf, errlen, "bad --since '%s'", value);
        }
        self->since = (uint64_t)v;
        self->used |= CLI_OPT_SINCE;
        return ACTORS_OK;
    }
    if (strcmp(opt, "--members") == 0 || strcmp(opt, "--handled") == 0) {
        if (s_int(value, 1, INT64_MAX, &v) != ACTORS_OK) {
            return s_fail(
                errbuf, errlen, "bad %s '%s' (1 or more)", opt, value);
        }
        *(opt[2] == 'm' ? &self->members : &self->handled) = (uint64_t)v;
        self->used |= CLI_OPT_WAIT;
        return ACTORS_OK;
    }
    if (strcmp(opt, "--count") == 0) {
        if (s_int(value, 1, INT64_MAX, &v) != ACTORS_OK) {
            return s_fail(
                errbuf, errlen, "bad --count '%s' (1 or more)", value);
        }
        self->count = (uint64_t)v;
        self->used |= CLI_OPT_COUNT;
        return ACTORS_OK;
    }
    if (s_int(value, -1, 1000000, &v) != ACTORS_OK) {
        return s_fail(
            errbuf, errlen, "bad %s '%s' (-1, 0 or more)", opt, value);
    }
    if (strcmp(opt, "--max-restarts") == 0) {
        self->max_restarts = (int)v;
    } else {
        self->max_task_retries = (int)v;
    }
    self->used |= CLI_OPT_SPAWN;
    return ACTORS_OK;
}

/* s_option handles argv[*i] if it is an option, advancing *i past its
 * value. Returns ACTORS_OK if it was one, ACTORS_EAGAIN if argv[*i] is not
 * an option, ACTORS_EINVAL for a bad option (errbuf set). */
static actors_err
s_option(cli_t *self, int argc, char **argv, int *i, bool *is_help,
    char *errbuf, size_t errlen)
{
    const char *a = argv[*i];
    if (a[0] != '-' || a[1] == '\0') {
        return ACTORS_EAGAIN;
    }
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
        *is_help = true;
        return ACTORS_OK;
    }
    if (strcmp(a, "--json") == 0) {
        self->is_json = true;
        self->used |= CLI_OPT_JSON;
        return ACTORS_OK;
    }
    if (strcmp(a, "--all") == 0) {
        self->is_all = true;
        self->used |= CLI_OPT_ALL;
        return ACTORS_OK;
    }
    if (strcmp(a, "--get-if-exists") == 0) {
        self->get_if_exists = true;
        self->used |= CLI_OPT_SPAWN;
        return ACTORS_OK;
    }
    if (strcmp(a, "--unordered") == 0) {
        self->unordered = true;
        self->used |= CLI_OPT_UNORDERED;
        return ACTORS_OK;
    }
    if (strcmp(a, "--follow") == 0) {
        self->follow = true;
        self->used |= CLI_OPT_FOLLOW;
        return ACTORS_OK;
    }
    if (strcmp(a, "--broadcast") == 0) {
        self->broadcast = true;
        self->used |= CLI_OPT_BROADCAST;
        return ACTORS_OK;
    }
    if (strcmp(a, "--group") == 0) {
        self->group = true;
        self->used |= CLI_OPT_SPAWN;
        return ACTORS_OK;
    }
    if (strcmp(a, "--no-restart") == 0) {
        self->no_restart = true;
        self->used |= CLI_OPT_NO_RESTART;
        return ACTORS_OK;
    }
    static const char *valued[] = {"--name", "--node", "--max-restarts",
        "--max-task-retries", "--since", "--call-key", "--key", "--broker-key",
        "--role", "--dir", "--addresses", "--count", "--route", "--interval",
        "--members", "--handled"};
    for (size_t k = 0; k < sizeof valued / sizeof valued[0]; k++) {
        if (strcmp(a, valued[k]) != 0) {
            continue;
        }
        if (*i + 1 >= argc) {
            return s_fail(errbuf, errlen, "option %s needs a value", a);
        }
        return s_valued(self, a, argv[++*i], errbuf, errlen);
    }
    const char *value = NULL;
    bool is_broker = false;
    if (strcmp(a, "--broker") == 0 || strcmp(a, "--timeout") == 0) {
        if (*i + 1 >= argc) {
            return s_fail(errbuf, errlen, "option %s needs a value", a);
        }
        is_broker = a[2] == 'b';
        value = argv[++*i];
    } else if (strncmp(a, "--broker=", 9) == 0) {
        is_broker = true;
        value = a + 9;
    } else if (strncmp(a, "--timeout=", 10) == 0) {
        value = a + 10;
    } else {
        return s_fail(errbuf, errlen, "unknown option %s", a);
    }
    if (is_broker) {
        if (*value == '\0') {
            return s_fail(errbuf, errlen, "empty broker endpoint");
        }
        self->broker = value;
        return ACTORS_OK;
    }
    if (s_parse_timeout(value, &self->timeout_ms) != ACTORS_OK) {
        return s_fail(errbuf, errlen,
            "bad --timeout '%s' (milliseconds, 0 for none)", value);
    }
    return ACTORS_OK;
}

/* s_parse does the work of cli_parse; *is_help tells whether --help was
 * seen before it returned, even with an error (help then wins). */
static actors_err
s_parse(cli_t *self, int argc, char **argv, bool *is_help, char *errbuf,
    size_t errlen)
{
    int found = -1; /* index in s_commands */
    int ops = 0;    /* operands of the command seen so far */
    const char *op[2] = {NULL, NULL};
    int i = 1;
    for (; i < argc; i++) {
        bool is_free = found >= 0 && s_commands[found].max_ops < 0 &&
                       ops >= s_commands[found].fixed_ops;
        if (is_free && s_commands[found].cmd == CLI_CMD_SPAWN &&
            strncmp(argv[i], "--", 2) == 0 && argv[i][2] != '\0') {
            /* spawn's options may follow SERVICE; a JSON argument never
             * starts with "--" (a negative number has one dash). */
            actors_err rc =
                s_option(self, argc, argv, &i, is_help, errbuf, errlen);
            if (rc != ACTORS_OK) {
                return rc == ACTORS_EAGAIN ? ACTORS_EINVAL : rc;
            }
            continue;
        }
        if (is_free) {
            break; /* the rest are JSON arguments of call/tell/spawn */
        }
        if (found < 0 || ops == 0 || s_commands[found].max_ops >= 0) {
            actors_err rc =
                s_option(self, argc, argv, &i, is_help, errbuf, errlen);
            if (rc == ACTORS_OK) {
                continue;
            }
            if (rc != ACTORS_EAGAIN) {
                return rc;
            }
        }
        if (found < 0) {
            for (size_t k = 0; k < sizeof s_commands / sizeof s_commands[0];
                 k++) {
                if (strcmp(argv[i], s_commands[k].name) == 0) {
                    found = (int)k;
                }
            }
            if (found < 0) {
                return s_fail(errbuf, errlen, "unknown command '%s'", argv[i]);
            }
            continue;
        }
        if (s_commands[found].max_ops >= 0 &&
            ops >= s_commands[found].max_ops) {
            return s_fail(errbuf, errlen, "unexpected operand '%s'", argv[i]);
        }
        if (ops < 2) {
            op[ops] = argv[i];
        }
        ops++;
    }
    if (*is_help) {
        return ACTORS_OK;
    }
    if (found < 0) {
        return s_fail(errbuf, errlen, "no command given");
    }
    self->cmd = s_commands[found].cmd;
    if (ops < s_commands[found].min_ops) {
        return s_fail(
            errbuf, errlen, "%s: missing operands", s_commands[found].name);
    }
    if ((self->used & ~s_commands[found].opts) != 0) {
        return s_fail(errbuf, errlen, "an option given does not apply to %s",
            s_commands[found].name);
    }
    self->address = op[0];
    if (self->cmd == CLI_CMD_PUBLISH) {
        self->payload = op[1];
    }
    if ((self->used & CLI_OPT_COUNT) && self->cmd == CLI_CMD_EVENTS &&
        !self->follow) {
        return s_fail(errbuf, errlen, "--count goes with events --follow");
    }
    if (self->cmd == CLI_CMD_CALL || self->cmd == CLI_CMD_TELL ||
        self->cmd == CLI_CMD_MAP) {
        self->method = op[1];
        self->args = argv + i;
        self->nargs = argc - i;
    }
    if (self->cmd == CLI_CMD_SPAWN) {
        self->service = op[0];
        self->address = NULL;
        self->args = argv + i;
        self->nargs = argc - i;
        if (*self->service == '\0') {
            return s_fail(errbuf, errlen, "empty service");
        }
    }
    if (self->address != NULL && *self->address == '\0') {
        return s_fail(errbuf, errlen,
            self->cmd == CLI_CMD_PUBLISH     ? "empty topic"
            : self->cmd == CLI_CMD_SUBSCRIBE ? "empty pattern"
                                             : "empty address");
    }
    if (self->method != NULL && *self->method == '\0') {
        return s_fail(errbuf, errlen, "empty method");
    }
    return ACTORS_OK;
}

actors_err
cli_parse(cli_t *self, int argc, char **argv, char *errbuf, size_t errlen)
{
    memset(self, 0, sizeof *self);
    self->timeout_ms = CLI_TIMEOUT_DEFAULT;
    self->interval_ms = 1000;
    if (errbuf != NULL && errlen > 0) {
        errbuf[0] = '\0';
    }
    bool is_help = false;
    actors_err rc = s_parse(self, argc, argv, &is_help, errbuf, errlen);
    if (is_help) {
        /* --help wins over what else is wrong with the line. */
        self->cmd = CLI_CMD_HELP;
        if (errbuf != NULL && errlen > 0) {
            errbuf[0] = '\0';
        }
        return ACTORS_OK;
    }
    return rc;
}
