/* tools/actorctl/map.c - `actorctl map`: Ray's ActorPool.map from a shell.
 * SPDX-License-Identifier: MIT
 *
 *   actorctl map [--unordered] MEMBERS METHOD [ARG ...]
 *
 * MEMBERS is the pool: addresses joined by commas (sleeper/1,sleeper/2),
 * or one address, taken as a group address (its LOOKUP says how many
 * members serve it; a plain actor counts as one). Each ARG (JSON, as for
 * call) is one task, METHOD(ARG), as in
 *   pool.map(lambda a, v: a.method.remote(v), [ARG, ...]).
 * Each result is printed as one line of JSON on stdout, in the order of
 * the ARGs, or as they come with --unordered (map_unordered). A task that
 * fails prints "task I: ErrorType: message" on stderr instead, the others
 * go on, and the exit status is 1. --timeout is each task's deadline.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <actors/actors.h>

#include "commands.h"

#define MAP_MEMBERS_MAX 1024

typedef struct {
    int failed; /* tasks that failed */
} s_map_t;

static void
s_each(size_t i, const actors_future_t *f, void *arg)
{
    s_map_t *m = arg;
    const actors_error_t *e = f ? actors_future_error(f) : NULL;
    const msgpack_object *r = f ? actors_future_result(f) : NULL;
    char *text = NULL;
    if (e == NULL && r != NULL && actors_json_dump(r, &text) == ACTORS_OK) {
        puts(text);
        free(text);
        fflush(stdout);
        return;
    }
    m->failed++;
    fprintf(stderr, "task %zu: %s: %s\n", i,
        e ? actors_error_type(e) : actors_err_name(ACTORS_ENOMEM),
        e ? actors_error_message(e) : actors_strerror(ACTORS_ENOMEM));
}

/* s_pool makes the pool of cli->address. */
static actors_err
s_pool(actors_client_t *client, const cli_t *cli, actors_pool_t **out)
{
    actors_pool_opts_t o = ACTORS_POOL_OPTS_INIT;
    o.timeout_ms = cli->timeout_ms;
    if (strchr(cli->address, ',') == NULL) {
        return actors_pool_create_group(out, client, cli->address, &o,
            cli->timeout_ms ? (int)cli->timeout_ms : -1);
    }
    char *copy = strdup(cli->address);
    const char **members = calloc(MAP_MEMBERS_MAX, sizeof *members);
    actors_err rc = copy && members ? ACTORS_OK : ACTORS_ENOMEM;
    size_t n = 0;
    for (char *save = NULL, *t = copy ? strtok_r(copy, ",", &save) : NULL;
         rc == ACTORS_OK && t != NULL; t = strtok_r(NULL, ",", &save)) {
        if (n == MAP_MEMBERS_MAX) {
            rc = ACTORS_EINVAL;
        } else {
            members[n++] = t;
        }
    }
    if (rc == ACTORS_OK) {
        rc = actors_pool_create(out, client, members, n, &o);
    }
    free(members);
    free(copy);
    return rc;
}

int
commands_map(actors_client_t *client, const cli_t *cli)
{
    /* The tasks' arguments: [[ARG1], [ARG2], ...]. */
    actors_msg_t *values = NULL;
    actors_err rc = actors_msg_create(&values);
    if (rc == ACTORS_OK) {
        rc = actors_msg_add_array(values, (uint32_t)cli->nargs);
    }
    for (int i = 0; rc == ACTORS_OK && i < cli->nargs; i++) {
        char why[256] = "";
        rc = actors_msg_add_array(values, 1);
        if (rc == ACTORS_OK) {
            rc = actors_json_add(values, cli->args[i], why, sizeof why);
        }
        if (rc == ACTORS_EINVAL) {
            fprintf(stderr, "actorctl: argument %d is not JSON: %s%s%s\n",
                i + 1, cli->args[i], why[0] ? ": " : "", why);
            actors_msg_destroy(&values);
            return COMMANDS_EXIT_USAGE;
        }
    }
    actors_pool_t *pool = NULL;
    if (rc == ACTORS_OK) {
        rc = s_pool(client, cli, &pool);
    }
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    if (rc == ACTORS_OK &&
        msgpack_unpack_next(&up, actors_msg_data(values),
            actors_msg_size(values), &off) != MSGPACK_UNPACK_SUCCESS) {
        rc = ACTORS_ENOMEM;
    }
    s_map_t m = {0};
    int wait = cli->timeout_ms ? (int)cli->timeout_ms + 1000 : -1;
    if (rc == ACTORS_OK) {
        rc = cli->unordered ? actors_pool_map_unordered(
                                  pool, cli->method, &up.data, wait, s_each, &m)
                            : actors_pool_map(pool, cli->method, &up.data, wait,
                                  s_each, &m);
    }
    msgpack_unpacked_destroy(&up);
    actors_msg_destroy(&values);
    actors_pool_destroy(&pool);
    if (rc != ACTORS_OK) {
        fprintf(stderr, "%s: %s\n", actors_err_name(rc), actors_strerror(rc));
        return rc == ACTORS_EINVAL ? COMMANDS_EXIT_USAGE : COMMANDS_EXIT_ERROR;
    }
    return m.failed ? COMMANDS_EXIT_ERROR : COMMANDS_EXIT_OK;
}
