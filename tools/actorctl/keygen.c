/* tools/actorctl/keygen.c - `actorctl keygen` (keygen.h).
 * SPDX-License-Identifier: MIT
 *
 * The certificate is czmq's (zcert_new, zcert_save): ZPL files a broker
 * and every libactors peer read with zcert_load (actors/security.h).
 */
#include "keygen.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <czmq.h>

#include "commands.h"

static bool
s_role_ok(const char *role)
{
    return strcmp(role, "client") == 0 || strcmp(role, "actor") == 0 ||
           strcmp(role, "node") == 0 || strcmp(role, "admin") == 0;
}

int
keygen_run(
    const char *name, const char *role, const char *dir, const char *addresses)
{
    role = role ? role : "client";
    dir = dir ? dir : ".";
    if (!s_role_ok(role)) {
        fprintf(stderr,
            "actorctl: keygen: bad role '%s' (client, actor, node, admin)\n",
            role);
        return COMMANDS_EXIT_USAGE;
    }
    if (name[0] == '.' || strchr(name, '/') != NULL || strlen(name) > 128) {
        fprintf(stderr,
            "actorctl: keygen: NAME '%s' must be a file name (no '/', not "
            "starting with '.', at most 128 bytes)\n",
            name);
        return COMMANDS_EXIT_USAGE;
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "actorctl: keygen: cannot make %s: %s\n", dir,
            strerror(errno));
        return COMMANDS_EXIT_ERROR;
    }
    char pub[4096];
    char sec[4096];
    if (snprintf(pub, sizeof pub, "%s/%s", dir, name) >= (int)sizeof pub ||
        snprintf(sec, sizeof sec, "%s/%s_secret", dir, name) >=
            (int)sizeof sec) {
        fprintf(stderr, "actorctl: keygen: path too long\n");
        return COMMANDS_EXIT_USAGE;
    }
    if (access(pub, F_OK) == 0 || access(sec, F_OK) == 0) {
        fprintf(stderr,
            "actorctl: keygen: %s or %s exists already; not overwritten\n", pub,
            sec);
        return COMMANDS_EXIT_ERROR;
    }
    zcert_t *cert = zcert_new();
    if (cert == NULL) {
        fprintf(stderr, "actorctl: keygen: no CURVE in libzmq\n");
        return COMMANDS_EXIT_ERROR;
    }
    zcert_set_meta(cert, "name", "%s", name);
    zcert_set_meta(cert, "role", "%s", role);
    if (addresses != NULL) {
        zcert_set_meta(cert, "addresses", "%s", addresses);
    }
    /* The secret file is written under a umask that keeps it private. */
    mode_t old = umask(077);
    int rc = zcert_save(cert, pub);
    umask(old);
    if (rc == 0) {
        chmod(pub, 0644);
    }
    int status = COMMANDS_EXIT_OK;
    if (rc != 0) {
        fprintf(stderr, "actorctl: keygen: cannot write %s: %s\n", pub,
            strerror(errno));
        status = COMMANDS_EXIT_ERROR;
    } else {
        printf("public %s\nsecret %s\nrole %s\nkey %s\n", pub, sec, role,
            zcert_public_txt(cert));
    }
    zcert_destroy(&cert);
    return status;
}
