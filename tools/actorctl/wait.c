/* tools/actorctl/wait.c - actorctl wait ADDRESS [--members N]
 * [--handled N].
 * SPDX-License-Identifier: MIT
 *
 * A script that starts an actor and calls it at once races its
 * registration (NoSuchActor). wait closes that gap: it polls LOOKUP
 * (schemas/PROTOCOL.md) until the broker says "running" (and, when asked,
 * the group has N members, or the address has handled N messages: tells
 * and events have no answer to wait on), within the --timeout deadline.
 */
#include "wait.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <actors/actors.h>

#include "commands.h"

#define WAIT_PAUSE_MIN_MS 10
#define WAIT_PAUSE_MAX_MS 200

/* s_ready tells whether LOOKUP answer info is what cli waits for; if not,
 * says why in last. */
static bool
s_ready(const cli_t *cli, const msgpack_object *info, char *last, size_t len)
{
    const char *state = NULL;
    size_t n = 0;
    if (actors_map_str(info, "state", &state, &n) != ACTORS_OK) {
        snprintf(last, len, "no state in LOOKUP");
        return false;
    }
    if (n != 7 || memcmp(state, "running", 7) != 0) {
        snprintf(last, len, "state %.*s", (int)n, state);
        return false;
    }
    const msgpack_object *m = actors_map_get(info, "members");
    uint64_t members =
        m != NULL && m->type == MSGPACK_OBJECT_ARRAY ? m->via.array.size : 0;
    if (members < cli->members) {
        snprintf(last, len, "%llu of %llu members", (unsigned long long)members,
            (unsigned long long)cli->members);
        return false;
    }
    int64_t handled = 0;
    (void)actors_map_int(info, "handled", &handled);
    if (cli->handled > 0 && (uint64_t)handled < cli->handled) {
        snprintf(last, len, "%lld of %llu handled", (long long)handled,
            (unsigned long long)cli->handled);
        return false;
    }
    return true;
}

static int64_t
s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
wait_run(actors_client_t *client, const cli_t *cli)
{
    int64_t deadline = cli->timeout_ms ? s_now_ms() + cli->timeout_ms : 0;
    int pause = WAIT_PAUSE_MIN_MS;
    char last[256] = "no answer from the broker";
    for (;;) {
        int64_t left = deadline ? deadline - s_now_ms() : 1000;
        if (left <= 0) {
            break;
        }
        actors_future_t *f = NULL;
        actors_err rc = actors_client_lookup(client, cli->address, &f);
        if (rc != ACTORS_OK) {
            commands_print_rc(rc);
            return COMMANDS_EXIT_ERROR;
        }
        const msgpack_object *info = NULL;
        rc = actors_future_get(f, left > 1000 ? 1000 : (int)left, &info);
        if (rc == ACTORS_OK) {
            if (s_ready(cli, info, last, sizeof last)) {
                actors_future_destroy(&f);
                return COMMANDS_EXIT_OK;
            }
        } else if (actors_future_error(f) != NULL) {
            const actors_error_t *e = actors_future_error(f);
            snprintf(last, sizeof last, "%s: %s", actors_error_type(e),
                actors_error_message(e));
        }
        actors_future_destroy(&f);
        /* Pause (bounded by the deadline), then ask again. */
        left = deadline ? deadline - s_now_ms() : pause;
        if (left <= 0) {
            break;
        }
        struct timespec ts = {
            0, (long)(left < pause ? left : pause) * 1000000L};
        nanosleep(&ts, NULL);
        pause = pause * 2 > WAIT_PAUSE_MAX_MS ? WAIT_PAUSE_MAX_MS : pause * 2;
    }
    fprintf(stderr, "Timeout: %s did not answer within %u ms (last: %s)\n",
        cli->address, (unsigned)cli->timeout_ms, last);
    return COMMANDS_EXIT_ERROR;
}
