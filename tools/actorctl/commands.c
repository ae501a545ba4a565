/* tools/actorctl/commands.c - actorctl's commands over a libactors client.
 * SPDX-License-Identifier: MIT
 *
 * Each command makes one client, sends one request, waits for the future
 * with a bound derived from --timeout, and prints. Nothing here reads the wire
 * directly: the client library owns the protocol, so actorctl is also a smoke
 * test of the public API.
 */
#include "commands.h"
#include "keygen.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <actors/actors.h>

#include "argsrc.h"
#include "wait.h"
#include "top.h"
#include "text.h"

/* Extra time given to the client after a call's deadline: the broker
 * answers Timeout at the deadline, and the client itself shortly after
 * if the broker cannot. */
#define COMMANDS_GRACE_MS 2000

/* One row of the ls table. */
#define NCOLS 11
typedef struct {
    char *cell[NCOLS]; /* one per column of s_columns */
} row_t;

static const char *s_columns[NCOLS] = {"ADDRESS", "SERVICE", "NODE", "PID",
    "STATE", "RESTARTS", "MAILBOX", "INFLIGHT", "HANDLED", "DROPPED", "CAUSE"};
static const char *s_keys[NCOLS] = {"address", "service", "node", "pid",
    "state", "restarts", "mailbox", "inflight", "handled", "events_dropped",
    "cause"};

/* s_wait_ms is how long to wait for the reply to a request without a
 * deadline in its header: --timeout, or for ever when it is 0. */
static int
s_wait_ms(const cli_t *cli)
{
    if (cli->timeout_ms == 0 || cli->timeout_ms > (uint32_t)INT32_MAX) {
        return -1;
    }
    return (int)cli->timeout_ms;
}

void
commands_print_rc(actors_err rc)
{
    if (rc == ACTORS_EFORBIDDEN && actors_security_enabled()) {
        /* The client refuses to send once the broker refused its key. */
        fprintf(stderr,
            "%s: the broker refused this connection's key: is --key/"
            "ACTORS_KEY in its allowlist (--keys), and --broker-key/"
            "ACTORS_BROKER_KEY its public key? (it logs BRK-AUTH-REFUSED)\n",
            actors_err_name(rc));
        return;
    }
    if (rc == ACTORS_EFORBIDDEN) {
        /* A plain client the broker refused: it wants CURVE keys. */
        fprintf(stderr,
            "%s: the broker refused this connection's plain handshake: it "
            "requires CURVE keys (--key and --broker-key, or ACTORS_KEY and "
            "ACTORS_BROKER_KEY)\n",
            actors_err_name(rc));
        return;
    }
    fprintf(stderr, "%s: %s\n", actors_err_name(rc), actors_strerror(rc));
}

/* s_print_error prints the error of a failed future, or a Timeout when the
 * wait ran out first. Returns COMMANDS_EXIT_ERROR. */
static int
s_print_error(const cli_t *cli, actors_future_t *f, actors_err rc)
{
    const actors_error_t *e = f ? actors_future_error(f) : NULL;
    /* The client tells a key the broker refused (Forbidden); a wrong
     * --broker-key, or no key for a broker that wants one, is silence. */
    const char *hint =
        actors_security_enabled()
            ? ": is the broker up, and does it accept this key (--key/"
              "ACTORS_KEY; --broker-key/ACTORS_BROKER_KEY must be its public "
              "key)?"
            : ": is the broker up (and, if it uses CURVE, give --key and "
              "--broker-key)?";
    if (e != NULL && actors_error_code(e) == ACTORS_ETIMEDOUT &&
        strstr(actors_error_message(e), "the broker did not answer") != NULL) {
        /* The client's own deadline: nothing came from the broker. */
        fprintf(stderr, "%s: no answer from %s within %u ms%s\n",
            actors_error_type(e), actors_endpoint_default(cli->broker),
            (unsigned)cli->timeout_ms, hint);
    } else if (e != NULL) {
        fprintf(
            stderr, "%s: %s\n", actors_error_type(e), actors_error_message(e));
    } else if (rc == ACTORS_ETIMEDOUT) {
        fprintf(stderr, "%s: no answer from %s within %u ms%s\n",
            actors_err_name(rc), actors_endpoint_default(cli->broker),
            (unsigned)cli->timeout_ms, hint);
    } else {
        commands_print_rc(rc);
    }
    return COMMANDS_EXIT_ERROR;
}

/* s_print_json prints obj as one line of JSON on stdout. */
static int
s_print_json(const msgpack_object *obj)
{
    msgpack_object nil = {.type = MSGPACK_OBJECT_NIL};
    char *text = NULL;
    actors_err rc = actors_json_dump(obj ? obj : &nil, &text);
    if (rc != ACTORS_OK) {
        fprintf(stderr, "%s: %s\n", actors_err_name(rc), actors_strerror(rc));
        return COMMANDS_EXIT_ERROR;
    }
    puts(text);
    free(text);
    return fflush(stdout) == 0 ? COMMANDS_EXIT_OK : COMMANDS_EXIT_ERROR;
}

/* s_finish waits for f and prints its outcome. */
static int
s_finish(const cli_t *cli, actors_future_t *f, int wait_ms)
{
    const msgpack_object *result = NULL;
    actors_err rc = actors_future_get(f, wait_ms, &result);
    if (rc != ACTORS_OK) {
        return s_print_error(cli, f, rc);
    }
    return s_print_json(result);
}

/* s_add_word adds the JSON value of a command-line word to m: the word
 * itself, standard input for "-", the file PATH for "@PATH" (argsrc.h);
 * what names it in the errors. Returns COMMANDS_EXIT_OK, _USAGE (not
 * readable, not JSON) or _ERROR. */
static int
s_add_word(actors_msg_t *m, const char *word, const char *what)
{
    char why[256] = "";
    const char *text = NULL;
    char *owned = NULL;
    actors_err rc = argsrc_text(word, stdin, &text, &owned, why, sizeof why);
    if (rc == ACTORS_EIO) {
        fprintf(stderr, "actorctl: %s: %s\n", what, why);
        return COMMANDS_EXIT_USAGE;
    }
    if (rc == ACTORS_OK) {
        rc = actors_json_add(m, text, why, sizeof why);
    }
    free(owned);
    if (rc == ACTORS_EINVAL) {
        fprintf(stderr, "actorctl: %s is not JSON: %s%s%s\n", what, word,
            why[0] ? ": " : "", why);
        return COMMANDS_EXIT_USAGE;
    }
    if (rc != ACTORS_OK) {
        fprintf(stderr, "%s: %s\n", actors_err_name(rc), actors_strerror(rc));
        return COMMANDS_EXIT_ERROR;
    }
    return COMMANDS_EXIT_OK;
}

/* s_build_args turns the JSON words of the command line into arguments.
 * Returns COMMANDS_EXIT_OK with *out owned by the caller. */
static int
s_build_args(const cli_t *cli, actors_msg_t **out)
{
    actors_msg_t *args = NULL;
    int stdin_args = 0;
    for (int i = 0; i < cli->nargs; i++) {
        stdin_args += strcmp(cli->args[i], "-") == 0;
    }
    if (stdin_args > 1) {
        fprintf(stderr, "actorctl: only one argument can be - (stdin)\n");
        return COMMANDS_EXIT_USAGE;
    }
    actors_err rc = actors_msg_create(&args);
    if (rc != ACTORS_OK) {
        fprintf(stderr, "%s: %s\n", actors_err_name(rc), actors_strerror(rc));
        return COMMANDS_EXIT_ERROR;
    }
    for (int i = 0; i < cli->nargs; i++) {
        char what[32];
        snprintf(what, sizeof what, "argument %d", i + 1);
        int status = s_add_word(args, cli->args[i], what);
        if (status != COMMANDS_EXIT_OK) {
            actors_msg_destroy(&args);
            return status;
        }
    }
    *out = args;
    return COMMANDS_EXIT_OK;
}

/* s_request_failed reports a request the client refused to send. */
static int
s_request_failed(actors_err rc)
{
    commands_print_rc(rc);
    return rc == ACTORS_EINVAL ? COMMANDS_EXIT_USAGE : COMMANDS_EXIT_ERROR;
}

static int
s_call(actors_client_t *client, const cli_t *cli)
{
    actors_msg_t *args = NULL;
    int status = s_build_args(cli, &args);
    if (status != COMMANDS_EXIT_OK) {
        return status;
    }
    actors_call_opts_t opts = ACTORS_CALL_OPTS_INIT;
    opts.timeout_ms = cli->timeout_ms ? cli->timeout_ms : ACTORS_TIMEOUT_NONE;
    if (cli->route != NULL) {
        opts.route = cli->route;
        opts.route_len = strlen(cli->route);
    }
    if (cli->key != NULL) {
        opts.key = cli->key;
        opts.key_len = strlen(cli->key);
    }
    actors_future_t *f = NULL;
    actors_err rc =
        actors_client_call(client, cli->address, cli->method, &args, &opts, &f);
    actors_msg_destroy(&args);
    if (rc != ACTORS_OK) {
        return s_request_failed(rc);
    }
    int wait_ms = -1;
    if (cli->timeout_ms > 0 &&
        cli->timeout_ms < (uint32_t)(INT32_MAX - COMMANDS_GRACE_MS)) {
        wait_ms = (int)cli->timeout_ms + COMMANDS_GRACE_MS;
    }
    status = s_finish(cli, f, wait_ms);
    actors_future_destroy(&f);
    return status;
}

/* s_tell sends a one-way message and waits (up to --timeout) for the
 * broker to acknowledge it: accepted (queued or dispatched, not yet
 * handled) exits 0 and prints nothing; refused (NoSuchActor, ActorDead,
 * MailboxFull, ...) prints the error like call and exits non-zero. */
static int
s_tell(actors_client_t *client, const cli_t *cli)
{
    actors_msg_t *args = NULL;
    int status = s_build_args(cli, &args);
    if (status != COMMANDS_EXIT_OK) {
        return status;
    }
    actors_future_t *f = NULL;
    actors_err rc = cli->broadcast ? actors_client_broadcast(client,
                                         cli->address, cli->method, &args, &f)
                                   : actors_client_tell_ack(client,
                                         cli->address, cli->method, &args, &f);
    actors_msg_destroy(&args);
    if (rc != ACTORS_OK) {
        return s_request_failed(rc);
    }
    rc = actors_future_get(f, s_wait_ms(cli), NULL);
    status = rc == ACTORS_OK ? COMMANDS_EXIT_OK : s_print_error(cli, f, rc);
    actors_future_destroy(&f);
    return status;
}

/* s_cell renders the value of key in map as table text (caller frees). */
static char *
s_cell(const msgpack_object *map, const char *key)
{
    const msgpack_object *v = actors_map_get(map, key);
    char *out = NULL;
    if (v == NULL || v->type == MSGPACK_OBJECT_NIL ||
        (v->type == MSGPACK_OBJECT_STR && v->via.str.size == 0)) {
        return strdup("-");
    }
    if (v->type == MSGPACK_OBJECT_STR) {
        size_t cap = 4 * (size_t)v->via.str.size + 1;
        out = malloc(cap);
        if (out != NULL) {
            text_printable(out, cap, v->via.str.ptr, v->via.str.size);
        }
        return out;
    }
    if (actors_json_dump(v, &out) != ACTORS_OK) {
        return NULL;
    }
    return out;
}

static int
s_cmp_rows(const void *a, const void *b)
{
    const row_t *ra = a;
    const row_t *rb = b;
    return strcmp(ra->cell[0], rb->cell[0]);
}

/* s_fill_row fills row with the cells of entry, or, with member not NULL,
 * of that member of group entry. Returns COMMANDS_EXIT_OK, or
 * COMMANDS_EXIT_ERROR out of memory (cells made so far are in row). */
static int
s_fill_row(
    row_t *row, const msgpack_object *entry, const msgpack_object *member)
{
    for (int c = 0; c < NCOLS; c++) {
        const char *key = s_keys[c];
        if (member == NULL) {
            row->cell[c] = s_cell(entry, key);
        } else if (strcmp(key, "address") == 0) {
            char *a = s_cell(entry, "address");
            char *serial = s_cell(member, "serial");
            char buf[600];
            snprintf(
                buf, sizeof buf, "%s#%s", a ? a : "", serial ? serial : "");
            free(a);
            free(serial);
            row->cell[c] = strdup(buf);
        } else if (strcmp(key, "service") == 0) {
            row->cell[c] = s_cell(entry, key);
        } else if (strcmp(key, "state") == 0) {
            row->cell[c] = strdup("member");
        } else {
            row->cell[c] = s_cell(member, key);
        }
        if (row->cell[c] == NULL) {
            return COMMANDS_EXIT_ERROR;
        }
    }
    return COMMANDS_EXIT_OK;
}

/* commands_is_gone tells whether a LIST map is of an address that no
 * longer runs (dead or stopped): ls and top show them only with --all. */
bool
commands_is_gone(const msgpack_object *map)
{
    const char *s = NULL;
    size_t n = 0;
    if (actors_value_str(actors_map_get(map, "state"), &s, &n) != ACTORS_OK) {
        return false;
    }
    return (n == 4 && memcmp(s, "dead", 4) == 0) ||
           (n == 7 && memcmp(s, "stopped", 7) == 0);
}

/* s_print_table prints the LIST result as an aligned table, sorted by
 * address, a group's members under it; dead and stopped addresses only
 * when all. */
static int
s_print_table(const msgpack_object *list, bool all)
{
    if (list == NULL || list->type != MSGPACK_OBJECT_ARRAY) {
        fprintf(stderr, "BadMsgpack: the broker's list is not an array\n");
        return COMMANDS_EXIT_ERROR;
    }
    /* A group (LOOKUP "members") is a row, and each member a row under
     * it: ADDRESS "group#serial", STATE "member". */
    size_t n = 0;
    for (uint32_t i = 0; i < list->via.array.size; i++) {
        if (!all && commands_is_gone(&list->via.array.ptr[i])) {
            continue;
        }
        const msgpack_object *m =
            actors_map_get(&list->via.array.ptr[i], "members");
        n += 1 + (m != NULL && m->type == MSGPACK_OBJECT_ARRAY
                         ? m->via.array.size
                         : 0);
    }
    row_t *rows = calloc(n ? n : 1, sizeof *rows);
    if (rows == NULL) {
        fprintf(stderr, "OutOfMemory: %s\n", actors_strerror(ACTORS_ENOMEM));
        return COMMANDS_EXIT_ERROR;
    }
    int status = COMMANDS_EXIT_OK;
    size_t width[NCOLS];
    for (int c = 0; c < NCOLS; c++) {
        width[c] = strlen(s_columns[c]);
    }
    size_t at = 0;
    for (uint32_t i = 0; i < list->via.array.size && status == COMMANDS_EXIT_OK;
         i++) {
        const msgpack_object *entry = &list->via.array.ptr[i];
        if (!all && commands_is_gone(entry)) {
            continue;
        }
        const msgpack_object *members = actors_map_get(entry, "members");
        uint32_t nm = members != NULL && members->type == MSGPACK_OBJECT_ARRAY
                          ? members->via.array.size
                          : 0;
        for (uint32_t k = 0; k <= nm && status == COMMANDS_EXIT_OK; k++, at++) {
            if (k == 0) {
                status = s_fill_row(&rows[at], entry, NULL);
            } else {
                status = s_fill_row(
                    &rows[at], entry, &members->via.array.ptr[k - 1]);
            }
            for (int c = 0; c < NCOLS && status == COMMANDS_EXIT_OK; c++) {
                size_t w = strlen(rows[at].cell[c]);
                width[c] = w > width[c] ? w : width[c];
            }
        }
    }
    if (status == COMMANDS_EXIT_OK) {
        qsort(rows, n, sizeof *rows, s_cmp_rows);
        for (int c = 0; c < NCOLS - 1; c++) {
            printf("%-*s  ", (int)width[c], s_columns[c]);
        }
        printf("%s\n", s_columns[NCOLS - 1]);
        for (size_t r = 0; r < n; r++) {
            for (int c = 0; c < NCOLS; c++) {
                if (c < NCOLS - 1) {
                    printf("%-*s  ", (int)width[c], rows[r].cell[c]);
                } else {
                    printf("%s\n", rows[r].cell[c]);
                }
            }
        }
    } else {
        fprintf(stderr, "OutOfMemory: %s\n", actors_strerror(ACTORS_ENOMEM));
    }
    for (size_t r = 0; r < n; r++) {
        for (int c = 0; c < NCOLS; c++) {
            free(rows[r].cell[c]);
        }
    }
    free(rows);
    if (fflush(stdout) != 0) {
        status = COMMANDS_EXIT_ERROR;
    }
    return status;
}

static int
s_ls(actors_client_t *client, const cli_t *cli)
{
    actors_future_t *f = NULL;
    actors_err rc = actors_client_list(client, &f);
    if (rc != ACTORS_OK) {
        return s_request_failed(rc);
    }
    const msgpack_object *result = NULL;
    rc = actors_future_get(f, s_wait_ms(cli), &result);
    int status;
    if (rc != ACTORS_OK) {
        status = s_print_error(cli, f, rc);
    } else if (cli->is_json && !cli->is_all &&
               result->type == MSGPACK_OBJECT_ARRAY) {
        /* The same array less the addresses that no longer run. */
        uint32_t n = result->via.array.size;
        uint32_t kept = 0;
        msgpack_object *v = calloc(n ? n : 1, sizeof *v);
        if (v == NULL) {
            status = s_request_failed(ACTORS_ENOMEM);
        } else {
            for (uint32_t i = 0; i < n; i++) {
                if (!commands_is_gone(&result->via.array.ptr[i])) {
                    v[kept++] = result->via.array.ptr[i];
                }
            }
            msgpack_object arr = {.type = MSGPACK_OBJECT_ARRAY};
            arr.via.array.size = kept;
            arr.via.array.ptr = v;
            status = s_print_json(&arr);
            free(v);
        }
    } else if (cli->is_json) {
        status = s_print_json(result);
    } else {
        status = s_print_table(result, cli->is_all);
    }
    actors_future_destroy(&f);
    return status;
}

static int
s_lookup(actors_client_t *client, const cli_t *cli)
{
    actors_future_t *f = NULL;
    actors_err rc = actors_client_lookup(client, cli->address, &f);
    if (rc != ACTORS_OK) {
        return s_request_failed(rc);
    }
    int status = s_finish(cli, f, s_wait_ms(cli));
    actors_future_destroy(&f);
    return status;
}

static int
s_ping(actors_client_t *client, const cli_t *cli)
{
    actors_future_t *f = NULL;
    actors_err rc = actors_client_ping(client, &f);
    if (rc != ACTORS_OK) {
        return s_request_failed(rc);
    }
    int status = s_finish(cli, f, s_wait_ms(cli));
    actors_future_destroy(&f);
    return status;
}

/* s_spawn starts a detached actor (a one-shot command has no lifetime to
 * tie an actor to) and prints its address. */
static int
s_spawn(actors_client_t *client, const cli_t *cli)
{
    actors_msg_t *args = NULL;
    int status = s_build_args(cli, &args);
    if (status != COMMANDS_EXIT_OK) {
        return status;
    }
    actors_spawn_opts_t opts = ACTORS_SPAWN_OPTS_INIT;
    opts.service = cli->service;
    opts.name = cli->name;
    opts.node = cli->node;
    opts.args = args;
    opts.detached = true;
    opts.get_if_exists = cli->get_if_exists;
    opts.group = cli->group;
    opts.max_restarts = cli->max_restarts;
    opts.max_task_retries = cli->max_task_retries;
    opts.timeout_ms = cli->timeout_ms;
    actors_future_t *f = NULL;
    actors_err rc = actors_client_spawn(client, &opts, &f);
    actors_msg_destroy(&args);
    if (rc != ACTORS_OK) {
        return s_request_failed(rc);
    }
    const msgpack_object *result = NULL;
    rc = actors_future_get(f, s_wait_ms(cli), &result);
    const char *addr = NULL;
    size_t len = 0;
    if (rc != ACTORS_OK) {
        status = s_print_error(cli, f, rc);
    } else if (actors_value_str(actors_map_get(result, "address"), &addr,
                   &len) == ACTORS_OK) {
        printf("%.*s\n", (int)len, addr);
        status = fflush(stdout) == 0 ? COMMANDS_EXIT_OK : COMMANDS_EXIT_ERROR;
    } else {
        status = s_print_json(result);
    }
    actors_future_destroy(&f);
    return status;
}

/* s_kill kills (with or without restart) or stops an actor and prints the
 * broker's answer. */
static int
s_kill(actors_client_t *client, const cli_t *cli)
{
    actors_future_t *f = NULL;
    actors_err rc =
        cli->cmd == CLI_CMD_STOP
            ? actors_client_stop(client, cli->address, &f)
            : actors_client_kill(client, cli->address, !cli->no_restart, &f);
    if (rc != ACTORS_OK) {
        return s_request_failed(rc);
    }
    int status = s_finish(cli, f, s_wait_ms(cli));
    actors_future_destroy(&f);
    return status;
}

/* s_events prints one line per event (or the JSON array with --json). */
static int
s_events(actors_client_t *client, const cli_t *cli)
{
    actors_future_t *f = NULL;
    actors_err rc = actors_client_events(client, cli->since, &f);
    if (rc != ACTORS_OK) {
        return s_request_failed(rc);
    }
    const msgpack_object *result = NULL;
    rc = actors_future_get(f, s_wait_ms(cli), &result);
    int status = COMMANDS_EXIT_OK;
    if (rc != ACTORS_OK) {
        status = s_print_error(cli, f, rc);
    } else if (cli->is_json || result->type != MSGPACK_OBJECT_ARRAY) {
        status = s_print_json(result);
    } else {
        static const char *keys[] = {
            "id", "node", "kind", "address", "pid", "restarts", "cause"};
        for (uint32_t i = 0; i < result->via.array.size; i++) {
            const msgpack_object *ev = &result->via.array.ptr[i];
            /* The broker's time of the event, UTC to the millisecond. */
            int64_t ms = 0;
            actors_value_int(actors_map_get(ev, "ms"), &ms);
            time_t sec = (time_t)(ms / 1000);
            struct tm tm;
            char when[32] = "-";
            if (ms > 0 && gmtime_r(&sec, &tm) != NULL) {
                size_t w =
                    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
                snprintf(when + w, sizeof when - w, ".%03dZ", (int)(ms % 1000));
            }
            printf("%s", when);
            for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
                char *cell = s_cell(ev, keys[k]);
                printf(" %s=%s", keys[k], cell ? cell : "-");
                free(cell);
            }
            putchar('\n');
        }
        status = fflush(stdout) == 0 ? COMMANDS_EXIT_OK : COMMANDS_EXIT_ERROR;
    }
    actors_future_destroy(&f);
    return status;
}

/* s_publish publishes one JSON value and prints how many subscriptions
 * the broker routed it to. */
static int
s_publish(actors_client_t *client, const cli_t *cli)
{
    actors_msg_t *data = NULL;
    actors_err rc = actors_msg_create(&data);
    if (rc != ACTORS_OK) {
        return s_request_failed(rc);
    }
    int status = s_add_word(data, cli->payload, "the event");
    if (status != COMMANDS_EXIT_OK) {
        actors_msg_destroy(&data);
        return status;
    }
    actors_future_t *f = NULL;
    rc = actors_publish(client, cli->address, &data, &f);
    actors_msg_destroy(&data);
    if (rc != ACTORS_OK) {
        if (rc == ACTORS_EINVAL) {
            fprintf(stderr,
                "actorctl: bad topic '%s': dot-separated segments, no "
                "wildcard, no space\n",
                cli->address);
            return COMMANDS_EXIT_USAGE;
        }
        return s_request_failed(rc);
    }
    status = s_finish(cli, f, s_wait_ms(cli));
    actors_future_destroy(&f);
    return status;
}

/* s_print_lifecycle prints one lifecycle event (its data map) as a line
 * of key=value with its time in UTC. */
static int
s_print_lifecycle(const msgpack_object *ev)
{
    int64_t ms = 0;
    (void)actors_value_int(actors_map_get(ev, "ms"), &ms);
    time_t sec = (time_t)(ms / 1000);
    struct tm tm;
    char when[32] = "-";
    if (gmtime_r(&sec, &tm) != NULL) {
        size_t n = strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(when + n, sizeof when - n, ".%03dZ", (int)(ms % 1000));
    }
    printf("time=%s", when);
    static const char *keys[] = {
        "kind", "node", "address", "pid", "restarts", "cause"};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        if (actors_map_get(ev, keys[k]) == NULL) {
            continue;
        }
        char *cell = s_cell(ev, keys[k]);
        printf(" %s=%s", keys[k], cell ? cell : "-");
        free(cell);
    }
    putchar('\n');
    return fflush(stdout) == 0 ? COMMANDS_EXIT_OK : COMMANDS_EXIT_ERROR;
}

/* s_stream subscribes to pattern and prints each event as it comes: as
 * the JSON line {"topic", "data"} (lifecycle false), or, for events
 * --follow, the lifecycle event itself (JSON with --json, else a line of
 * key=value). Runs until killed, or count events. */
static int
s_stream(actors_client_t *client, const cli_t *cli, const char *pattern,
    bool lifecycle)
{
    actors_subscription_t *sub = NULL;
    actors_future_t *ready = NULL;
    actors_err rc = actors_subscribe(client, pattern, NULL, NULL, &sub, &ready);
    if (rc != ACTORS_OK) {
        if (rc == ACTORS_EINVAL) {
            fprintf(stderr,
                "actorctl: bad pattern '%s': dot-separated segments, '*' "
                "for one, '>' last for the rest\n",
                pattern);
            return COMMANDS_EXIT_USAGE;
        }
        return s_request_failed(rc);
    }
    int status = COMMANDS_EXIT_OK;
    rc = actors_future_get(ready, s_wait_ms(cli), NULL);
    if (rc != ACTORS_OK) {
        status = s_print_error(cli, ready, rc);
    }
    actors_future_destroy(&ready);
    for (uint64_t n = 0;
         status == COMMANDS_EXIT_OK && (cli->count == 0 || n < cli->count);
         n++) {
        actors_future_t *f = NULL;
        rc = actors_subscription_next(sub, &f);
        const msgpack_object *ev = NULL;
        if (rc == ACTORS_OK) {
            rc = actors_future_get(f, -1, &ev);
        }
        if (rc != ACTORS_OK) {
            status = s_print_error(cli, f, rc);
        } else if (!lifecycle) {
            status = s_print_json(ev);
        } else {
            const msgpack_object *data = actors_map_get(ev, "data");
            status =
                cli->is_json || data == NULL || data->type != MSGPACK_OBJECT_MAP
                    ? s_print_json(data)
                    : s_print_lifecycle(data);
        }
        actors_future_destroy(&f);
    }
    actors_unsubscribe(&sub);
    return status;
}

int
commands_run(const cli_t *cli)
{
    if (cli->cmd == CLI_CMD_KEYGEN) {
        return keygen_run(cli->address, cli->role, cli->dir, cli->addresses);
    }
    actors_client_t *client = NULL;
    actors_err rc = actors_client_create(&client, cli->broker);
    if (rc != ACTORS_OK) {
        fprintf(stderr, "%s: cannot connect to the broker at %s: %s\n",
            actors_err_name(rc), actors_endpoint_default(cli->broker),
            actors_strerror(rc));
        return rc == ACTORS_EINVAL ? COMMANDS_EXIT_USAGE : COMMANDS_EXIT_ERROR;
    }
    int status = COMMANDS_EXIT_USAGE;
    switch (cli->cmd) {
    case CLI_CMD_CALL:
        status = s_call(client, cli);
        break;
    case CLI_CMD_TELL:
        status = s_tell(client, cli);
        break;
    case CLI_CMD_LS:
        status = s_ls(client, cli);
        break;
    case CLI_CMD_LOOKUP:
        status = s_lookup(client, cli);
        break;
    case CLI_CMD_PING:
        status = s_ping(client, cli);
        break;
    case CLI_CMD_SPAWN:
        status = s_spawn(client, cli);
        break;
    case CLI_CMD_KILL:
    case CLI_CMD_STOP:
        status = s_kill(client, cli);
        break;
    case CLI_CMD_EVENTS:
        status = cli->follow ? s_stream(client, cli, "actors.lifecycle.>", true)
                             : s_events(client, cli);
        break;
    case CLI_CMD_SUBSCRIBE:
        status = s_stream(client, cli, cli->address, false);
        break;
    case CLI_CMD_PUBLISH:
        status = s_publish(client, cli);
        break;
    case CLI_CMD_WAIT:
        status = wait_run(client, cli);
        break;
    case CLI_CMD_MAP:
        status = commands_map(client, cli);
        break;
    case CLI_CMD_TOP:
        status = top_run(client, cli);
        break;
    case CLI_CMD_KEYGEN:
    case CLI_CMD_HELP:
        cli_usage(stdout);
        status = COMMANDS_EXIT_OK;
        break;
    }
    actors_client_destroy(&client);
    return status;
}
