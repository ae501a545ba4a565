/* examples/client/kvclient.c - calling an actor from a C program, built
 * outside the tree against the installed libactors (make).
 * SPDX-License-Identifier: MIT
 *
 *   ./kvclient [--broker EP] ADDRESS put KEY JSON
 *   ./kvclient [--broker EP] ADDRESS get KEY
 *   ./kvclient [--broker EP] ADDRESS keys
 *
 * Prints the result as JSON; an error as "Type: message" on stderr, exit 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <actors/actors.h>

int
main(int argc, char **argv)
{
    const char *broker = NULL; /* NULL: $ACTORS_BROKER, else the default */
    int i = 1;
    if (argc > 2 && strcmp(argv[1], "--broker") == 0) {
        broker = argv[2];
        i = 3;
    }
    if (argc - i < 2) {
        fprintf(stderr, "usage: kvclient [--broker EP] ADDRESS METHOD "
                        "[KEY [JSON]]\n");
        return 2;
    }
    const char *address = argv[i], *method = argv[i + 1];

    /* The arguments: the key as a string, a value given as JSON. */
    actors_msg_t *args = NULL;
    char err[128] = "";
    actors_err rc = actors_msg_create(&args);
    if (rc == ACTORS_OK && argc - i > 2) {
        rc = actors_msg_add_str(args, argv[i + 2]);
    }
    if (rc == ACTORS_OK && argc - i > 3) {
        rc = actors_json_add(args, argv[i + 3], err, sizeof err);
    }
    if (rc != ACTORS_OK) {
        fprintf(stderr, "%s: %s\n", actors_err_name(rc), err);
        actors_msg_destroy(&args);
        return 2;
    }

    actors_client_t *client = NULL;
    actors_future_t *f = NULL;
    actors_call_opts_t opts = ACTORS_CALL_OPTS_INIT;
    opts.timeout_ms = 5000;
    rc = actors_client_create(&client, broker);
    if (rc == ACTORS_OK) {
        rc = actors_client_call(client, address, method, &args, &opts, &f);
    }
    const msgpack_object *result = NULL;
    if (rc == ACTORS_OK) {
        rc = actors_future_get(f, -1, &result);
    }
    int status = 0;
    char *json = NULL;
    if (rc == ACTORS_OK && actors_json_dump(result, &json) == ACTORS_OK) {
        printf("%s\n", json);
    } else {
        const actors_error_t *e = f ? actors_future_error(f) : NULL;
        fprintf(stderr, "%s: %s\n",
            e ? actors_error_type(e) : actors_err_name(rc),
            e ? actors_error_message(e) : actors_strerror(rc));
        status = 1;
    }
    free(json);
    actors_future_destroy(&f);
    actors_msg_destroy(&args);
    actors_client_destroy(&client);
    return status;
}
