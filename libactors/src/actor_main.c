/* libactors/src/actor_main.c - actors_service_main: a service's whole main().
 * SPDX-License-Identifier: MIT
 *
 * Reads the command line, turns the constructor arguments (JSON, one per
 * word) into the msgpack array init gets, runs the actor, and maps the
 * outcome to an exit status: 0 clean stop (or actors_actor_exit's code),
 * 2 bad arguments or failed init, 1 anything else. This is the only place
 * in libactors that writes to stderr itself: a failed init must print
 * "Type: message" whatever the log level.
 */
#include <actors/actor.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <actors/json.h>
#include <actors/log.h>
#include <actors/security.h>

#include "actor_internal.h"
#include <actors-internal/unpack.h>

#define USAGE                                                                  \
    "usage: %s [--broker EP] --address ADDRESS [--prefetch N] "                \
    "[--mailbox N] [--max-concurrency N] [--group [--max-task-retries N]]\n"   \
    "       [--key PATH --broker-key PATH] [CTOR-ARG-JSON ...]\n"

/* s_parse_u32 reads a decimal uint32 of the whole text. */
static bool
s_parse_u32(const char *text, uint32_t *out)
{
    if (text == NULL || *text < '0' || *text > '9') {
        return false;
    }
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0' || v > UINT32_MAX) {
        return false;
    }
    *out = (uint32_t)v;
    return true;
}

/* s_option matches "--name VALUE" and "--name=VALUE" at argv[*i]; on a
 * match stores the value (NULL if missing) and advances *i past it. */
static bool
s_option(int argc, char **argv, int *i, const char *name, const char **value)
{
    size_t n = strlen(name);
    const char *arg = argv[*i];
    if (strncmp(arg, name, n) != 0) {
        return false;
    }
    if (arg[n] == '=') {
        *value = arg + n + 1;
        return true;
    }
    if (arg[n] != '\0') {
        return false;
    }
    *value = *i + 1 < argc ? argv[*i + 1] : NULL;
    if (*value != NULL) {
        (*i)++;
    }
    return true;
}

actors_err
actors__actor_parse_args(int argc, char **argv, actors_actor_opts_t *opts,
    int *first_ctor, bool *help, char *errbuf, size_t errlen)
{
    actors_actor_opts_t o = ACTORS_ACTOR_OPTS_INIT;
    *help = false;
    int i = 1;
    for (; i < argc; i++) {
        const char *v = NULL;
        const char *arg = argv[i];
        if (strcmp(arg, "--") == 0) {
            i++;
            break;
        }
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            *help = true;
            continue;
        }
        if (strcmp(arg, "--group") == 0) {
            o.group = true; /* a member of the group at --address */
            continue;
        }
        if (s_option(argc, argv, &i, "--broker", &v)) {
            if (v == NULL || *v == '\0') {
                snprintf(errbuf, errlen, "--broker needs an endpoint");
                return ACTORS_EINVAL;
            }
            o.endpoint = v;
        } else if (s_option(argc, argv, &i, "--address", &v)) {
            if (v == NULL || *v == '\0' || strlen(v) > 255) {
                snprintf(errbuf, errlen,
                    "--address needs an address of 1..255 bytes");
                return ACTORS_EINVAL;
            }
            o.address = v;
        } else if (s_option(argc, argv, &i, "--prefetch", &v)) {
            if (!s_parse_u32(v, &o.prefetch)) {
                snprintf(errbuf, errlen, "--prefetch needs a number, not '%s'",
                    v ? v : "");
                return ACTORS_EINVAL;
            }
        } else if (s_option(argc, argv, &i, "--max-task-retries", &v)) {
            uint32_t n = 0;
            if (v != NULL && strcmp(v, "-1") == 0) {
                o.max_task_retries = -1;
            } else if (s_parse_u32(v, &n) && n <= 1000000) {
                o.max_task_retries = (int)n;
            } else {
                snprintf(errbuf, errlen,
                    "--max-task-retries needs -1 or a number, not '%s'",
                    v ? v : "");
                return ACTORS_EINVAL;
            }
        } else if (s_option(argc, argv, &i, "--mailbox", &v)) {
            if (!s_parse_u32(v, &o.mailbox)) {
                snprintf(errbuf, errlen, "--mailbox needs a number, not '%s'",
                    v ? v : "");
                return ACTORS_EINVAL;
            }
        } else if (s_option(argc, argv, &i, "--max-concurrency", &v)) {
            if (!s_parse_u32(v, &o.max_concurrency) || o.max_concurrency == 0) {
                snprintf(errbuf, errlen,
                    "--max-concurrency needs a number from 1, not '%s'",
                    v ? v : "");
                return ACTORS_EINVAL;
            }
        } else if (s_option(argc, argv, &i, "--key", &v) ||
                   s_option(argc, argv, &i, "--broker-key", &v)) {
            /* CURVE credentials of the process (actors/security.h). */
            if (v == NULL || *v == '\0') {
                snprintf(errbuf, errlen, "%s needs a path", arg);
                return ACTORS_EINVAL;
            }
            bool mine = strncmp(arg, "--key", 5) == 0;
            if (actors_security_set(mine ? v : NULL, mine ? NULL : v) !=
                ACTORS_OK) {
                snprintf(errbuf, errlen, "out of memory");
                return ACTORS_ENOMEM;
            }
        } else if (strncmp(arg, "--", 2) == 0) {
            snprintf(errbuf, errlen, "unknown option '%s'", arg);
            return ACTORS_EINVAL;
        } else {
            break; /* the first constructor argument */
        }
    }
    /* Options may not follow constructor arguments: a JSON value such as
     * "--x" would be ambiguous. */
    *first_ctor = i;
    if (o.address == NULL && !*help) {
        snprintf(errbuf, errlen, "--address is required");
        return ACTORS_EINVAL;
    }
    *opts = o;
    return ACTORS_OK;
}

/* s_ctor_args encodes argv[first..argc) as one msgpack array in *sbuf. */
static actors_err
s_ctor_args(int argc, char **argv, int first, msgpack_sbuffer *sbuf,
    char *errbuf, size_t errlen)
{
    actors_msg_t *values = NULL;
    actors_err rc = actors_msg_create(&values);
    for (int i = first; rc == ACTORS_OK && i < argc; i++) {
        char why[256] = "";
        rc = actors_json_add(values, argv[i], why, sizeof why);
        if (rc == ACTORS_EINVAL) {
            snprintf(errbuf, errlen, "constructor argument %d '%s': %s",
                i - first + 1, argv[i], why);
        }
    }
    if (rc == ACTORS_OK) {
        msgpack_packer pk;
        msgpack_packer_init(&pk, sbuf, msgpack_sbuffer_write);
        if (msgpack_pack_array(&pk, (size_t)(argc - first)) != 0 ||
            msgpack_sbuffer_write(
                sbuf, actors_msg_data(values), actors_msg_size(values)) != 0) {
            rc = ACTORS_ENOMEM;
        }
    }
    actors_msg_destroy(&values);
    return rc;
}

int
actors_service_main(const actors_service_t *service, int argc, char **argv)
{
    const char *prog = service && service->name ? service->name
                       : argc > 0               ? argv[0]
                                                : "actor";
    actors_log_init_from_env(prog);
    /* Line by line: under a supervisor stdout is a pipe (each line gets
     * the actor's address there), which stdio would otherwise fill in
     * blocks, holding a method's printf until the buffer is full. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    actors_actor_opts_t opts = ACTORS_ACTOR_OPTS_INIT;
    int first = argc;
    bool help = false;
    char err[512] = "";
    if (actors__actor_parse_args(
            argc, argv, &opts, &first, &help, err, sizeof err) != ACTORS_OK) {
        fprintf(stderr, "%s: %s\n" USAGE, prog, err, prog);
        return 2;
    }
    if (help) {
        printf(USAGE, prog);
        return 0;
    }
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init(&sbuf);
    actors_err rc = s_ctor_args(argc, argv, first, &sbuf, err, sizeof err);
    if (rc != ACTORS_OK) {
        msgpack_sbuffer_destroy(&sbuf);
        if (rc == ACTORS_EINVAL) {
            fprintf(stderr, "%s: %s\n", prog, err);
            return 2;
        }
        fprintf(stderr, "%s: %s\n", actors_err_name(rc), actors_strerror(rc));
        return 1;
    }
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    msgpack_unpack_return ur =
        actors__unpack_next(&up, sbuf.data, sbuf.size, &off);
    if (ur != MSGPACK_UNPACK_SUCCESS) {
        msgpack_unpacked_destroy(&up);
        msgpack_sbuffer_destroy(&sbuf);
        if (ur == MSGPACK_UNPACK_NOMEM_ERROR) {
            fprintf(stderr, "%s: %s\n", actors_err_name(ACTORS_ENOMEM),
                actors_strerror(ACTORS_ENOMEM));
            return 1;
        }
        /* What JSON made is valid msgpack: only its depth can fail. */
        fprintf(stderr,
            "%s: the constructor arguments nest deeper than %d levels (the "
            "argument list counts as one)\n",
            actors_err_name(ACTORS_EMSGPACK), ACTORS__UNPACK_MAX_DEPTH);
        return 2;
    }
    actors__run_result_t result;
    rc = actors__actor_run(service, &opts, &up.data, &result);
    msgpack_unpacked_destroy(&up);
    msgpack_sbuffer_destroy(&sbuf);
    if (rc == ACTORS_OK) {
        return result.exit_code;
    }
    fprintf(stderr, "%s: %s\n", result.type, result.message);
    if (rc == ACTORS_ETAKEN || rc == ACTORS_EFORBIDDEN) {
        /* Forbidden: the address waits for another node's process. */
        return ACTORS_EXIT_NAME_TAKEN;
    }
    if (rc == ACTORS_ELOCKED) {
        return ACTORS_EXIT_KEY_LOCKED;
    }
    return result.init_failed || rc == ACTORS_EINVAL ? 2 : 1;
}
