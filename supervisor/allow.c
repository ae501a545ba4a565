/* supervisor/allow.c - what a SPAWN from the wire may run (allow.h).
 * SPDX-License-Identifier: MIT
 *
 * A plain allowlist check; the lists come from the config (config.c). The
 * denied environment names are those glibc itself drops for set-user-id
 * programs (its UNSECURE_ENVVARS: they load code or read files named by
 * the caller) plus the framework's own: where state, the broker and
 * credentials are.
 */
#define _GNU_SOURCE
#include "allow.h"

#include <assert.h>
#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const s_tools[] = {
    "actors-broker", "actors-supervisor", "actorctl", "actors-bench"};

static const char *const s_denied[] = {"PATH", "GCONV_PATH", "GETCONF_DIR",
    "GLIBC_TUNABLES", "HOSTALIASES", "LOCALDOMAIN", "LOCPATH", "MALLOC_TRACE",
    "NIS_PATH", "NLSPATH", "RESOLV_HOST_CONF", "RES_OPTIONS", "TMPDIR", "TZDIR",
    "IFS", "ENV", "BASH_ENV", "HOME", "ACTORS_STATE_DIR", "ACTORS_REDIS",
    "ACTORS_ACCOUNT_STORE", "ACTORS_PERSIST_STORE", "ACTORS_PERSIST_SYNC",
    "ACTORS_BROKER", "ACTORS_PATH", "ACTORS_CLAIM"};

static const char *const s_denied_prefix[] = {"LD_", "MALLOC_"};

/* Parts of a name that say it carries a credential. */
static const char *const s_denied_part[] = {
    "KEY", "SECRET", "CERT", "TOKEN", "PASSWORD", "SANITIZER", "SAN_OPTIONS"};

bool
allow_is_tool(const char *service)
{
    assert(service);
    for (size_t i = 0; i < sizeof s_tools / sizeof s_tools[0]; i++) {
        if (strcmp(service, s_tools[i]) == 0) {
            return true;
        }
    }
    return strncmp(service, "actors-", 7) == 0;
}

bool
allow_env_denied(const char *name, size_t len)
{
    assert(name);
    char upper[256];
    if (len == 0 || len >= sizeof upper) {
        return true;
    }
    for (size_t i = 0; i < len; i++) {
        upper[i] = (char)toupper((unsigned char)name[i]);
    }
    upper[len] = '\0';
    for (size_t i = 0; i < sizeof s_denied / sizeof s_denied[0]; i++) {
        if (strcmp(upper, s_denied[i]) == 0) {
            return true;
        }
    }
    for (size_t i = 0; i < sizeof s_denied_prefix / sizeof s_denied_prefix[0];
         i++) {
        if (strncmp(upper, s_denied_prefix[i], strlen(s_denied_prefix[i])) ==
            0) {
            return true;
        }
    }
    for (size_t i = 0; i < sizeof s_denied_part / sizeof s_denied_part[0];
         i++) {
        if (strstr(upper, s_denied_part[i]) != NULL) {
            return true;
        }
    }
    return false;
}

/* s_listed: name is one of names[0..n). */
static bool
s_listed(char *const *names, int n, const char *name, size_t len)
{
    for (int i = 0; i < n; i++) {
        if (strlen(names[i]) == len && strncmp(names[i], name, len) == 0) {
            return true;
        }
    }
    return false;
}

/* s_service_allowed: the config names service, lists it, or its
 * service_dir holds it. */
static bool
s_service_allowed(const sup_config_t *cfg, const char *service)
{
    for (int i = 0; i < cfg->nchildren; i++) {
        if (strcmp(cfg->children[i].service, service) == 0) {
            return true;
        }
    }
    if (s_listed(cfg->services, cfg->nservices, service, strlen(service))) {
        return true;
    }
    if (cfg->service_dir != NULL) {
        char path[4096];
        int w = snprintf(path, sizeof path, "%s/%s", cfg->service_dir, service);
        return w > 0 && (size_t)w < sizeof path && access(path, X_OK) == 0;
    }
    return false;
}

/* s_valid_name: an environment variable name, [A-Za-z_][A-Za-z0-9_]*. */
static bool
s_valid_name(const char *name, size_t len)
{
    if (len == 0 || isdigit((unsigned char)name[0])) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (!isalnum((unsigned char)name[i]) && name[i] != '_') {
            return false;
        }
    }
    return true;
}

actors_err
allow_spawn(const sup_config_t *cfg, const child_spec_t *spec, char *why,
    size_t why_len)
{
    assert(cfg);
    assert(spec);
    assert(why);
    if (allow_is_tool(spec->service)) {
        snprintf(why, why_len,
            "service '%s' is not allowed on node %s: it is one of the "
            "framework's own programs",
            spec->service, cfg->node);
        return ACTORS_EFORBIDDEN;
    }
    if (!s_service_allowed(cfg, spec->service)) {
        snprintf(why, why_len,
            "service '%s' is not allowed on node %s (its config names the "
            "services a spawn may run: supervisor/services)",
            spec->service, cfg->node);
        return ACTORS_EFORBIDDEN;
    }
    for (int i = 0; i < spec->nenv; i++) {
        const char *e = spec->env[i];
        const char *eq = strchr(e, '=');
        size_t len = eq != NULL ? (size_t)(eq - e) : strlen(e);
        if (eq == NULL || !s_valid_name(e, len)) {
            snprintf(why, why_len,
                "env entry '%.64s' is not NAME=VALUE with a variable name", e);
            return ACTORS_EFORBIDDEN;
        }
        if (allow_env_denied(e, len)) {
            snprintf(why, why_len,
                "env variable %.*s may never be set by a spawn (it loads "
                "code or moves state or credentials)",
                (int)len, e);
            return ACTORS_EFORBIDDEN;
        }
        if (!s_listed(cfg->spawn_env, cfg->nspawn_env, e, len)) {
            snprintf(why, why_len,
                "env variable %.*s is not allowed on node %s (its config "
                "names those a spawn may set: supervisor/spawn_env)",
                (int)len, e, cfg->node);
            return ACTORS_EFORBIDDEN;
        }
    }
    for (int i = 0; i < spec->nargs; i++) {
        json_error_t jerr;
        json_t *v = json_loads(spec->args[i], JSON_DECODE_ANY, &jerr);
        if (v == NULL) {
            snprintf(why, why_len,
                "argument %d '%.64s' is not one JSON value (each constructor "
                "argument is JSON text, e.g. 100 or \"abc\")",
                i + 1, spec->args[i]);
            return ACTORS_EFORBIDDEN;
        }
        json_decref(v);
    }
    return ACTORS_OK;
}

actors_err
allow_add_names(char ***names, int *n, const char *list)
{
    assert(names);
    assert(n);
    const char *p = list != NULL ? list : "";
    while (*p) {
        p += strspn(p, " ,\t");
        size_t len = strcspn(p, " ,\t");
        if (len == 0) {
            break;
        }
        char **grown = realloc(*names, (size_t)(*n + 2) * sizeof *grown);
        if (grown == NULL) {
            return ACTORS_ENOMEM;
        }
        *names = grown;
        (*names)[*n] = strndup(p, len);
        (*names)[*n + 1] = NULL;
        if ((*names)[*n] == NULL) {
            return ACTORS_ENOMEM;
        }
        (*n)++;
        p += len;
    }
    return ACTORS_OK;
}
