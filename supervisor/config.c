/* supervisor/config.c - ZPL configuration through czmq's zconfig.
 * SPDX-License-Identifier: MIT
 *
 * zconfig does the parsing; this file maps the tree onto child specs,
 * checks every number and expands replicas. Constructor args are a JSON
 * array (parsed by jansson) so they reach the service exactly as typed on
 * its command line.
 */
#define _GNU_SOURCE
#include "config.h"
#include "allow.h"
#include "spec.h"

#include <assert.h>
#include <czmq.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static actors_err
s_fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err != NULL && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return ACTORS_EINVAL;
}

/* s_get_long reads an integer at path under node into *out (left alone if
 * absent). */
static actors_err
s_get_long(zconfig_t *node, const char *path, long lo, long hi, long *out,
    const char *entry, char *err, size_t errlen)
{
    const char *v = zconfig_get(node, path, NULL);
    if (v == NULL || *v == '\0') {
        return ACTORS_OK;
    }
    char *end = NULL;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno != 0 || *end != '\0' || n < lo || n > hi) {
        return s_fail(err, errlen,
            "actor %s: %s = '%s' is not an integer "
            "in %ld..%ld",
            entry, path, v, lo, hi);
    }
    *out = n;
    return ACTORS_OK;
}

static actors_err
s_get_double(zconfig_t *node, const char *path, double *out, const char *entry,
    char *err, size_t errlen)
{
    const char *v = zconfig_get(node, path, NULL);
    if (v == NULL || *v == '\0') {
        return ACTORS_OK;
    }
    char *end = NULL;
    double d = strtod(v, &end);
    if (*end != '\0') {
        return s_fail(
            err, errlen, "actor %s: %s = '%s' is not a number", entry, path, v);
    }
    *out = d;
    return ACTORS_OK;
}

static actors_err
s_read_policy(
    zconfig_t *node, policy_t *p, const char *entry, char *err, size_t errlen)
{
    static const struct {
        const char *key;
        long lo, hi;
        size_t off;
        int is_int; /* int field, else uint32_t */
    } ints[] = {
        {"policy/max_restarts", -1, 1000000, offsetof(policy_t, max_restarts),
            1},
        {"policy/intensity", 0, POLICY_WINDOW_MAX,
            offsetof(policy_t, intensity), 1},
        {"policy/period_ms", 0, 86400000, offsetof(policy_t, period_ms), 0},
        {"policy/backoff_base_ms", 0, 3600000,
            offsetof(policy_t, backoff_base_ms), 0},
        {"policy/backoff_max_ms", 0, 3600000,
            offsetof(policy_t, backoff_max_ms), 0},
        {"policy/healthy_ms", 0, 86400000, offsetof(policy_t, healthy_ms), 0},
        {"policy/max_task_retries", -1, 1000000,
            offsetof(policy_t, max_task_retries), 1},
        {"policy/grace_ms", 0, 3600000, offsetof(policy_t, grace_ms), 0},
    };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        char *field = (char *)p + ints[i].off;
        long v = ints[i].is_int ? *(int *)field : (long)*(uint32_t *)field;
        actors_err rc = s_get_long(
            node, ints[i].key, ints[i].lo, ints[i].hi, &v, entry, err, errlen);
        if (rc != ACTORS_OK) {
            return rc;
        }
        if (ints[i].is_int) {
            *(int *)field = (int)v;
        } else {
            *(uint32_t *)field = (uint32_t)v;
        }
    }
    actors_err rc = s_get_double(
        node, "policy/backoff_factor", &p->backoff_factor, entry, err, errlen);
    if (rc == ACTORS_OK) {
        rc = s_get_double(node, "policy/backoff_jitter", &p->backoff_jitter,
            entry, err, errlen);
    }
    if (rc != ACTORS_OK) {
        return rc;
    }
    const char *bad = policy_validate(p);
    if (bad != NULL) {
        return s_fail(err, errlen, "actor %s: %s", entry, bad);
    }
    return ACTORS_OK;
}

/* s_read_args turns the JSON array text into one JSON text per element. */
static actors_err
s_read_args(const char *text, child_spec_t *c, const char *entry, char *err,
    size_t errlen)
{
    if (text == NULL || *text == '\0') {
        return ACTORS_OK;
    }
    json_error_t jerr;
    json_t *arr = json_loads(text, JSON_DECODE_ANY, &jerr);
    if (arr == NULL || !json_is_array(arr)) {
        json_decref(arr);
        return s_fail(err, errlen,
            "actor %s: args must be a JSON array, "
            "e.g. [100, 20]",
            entry);
    }
    size_t n = json_array_size(arr);
    c->args = calloc(n + 1, sizeof *c->args);
    if (c->args == NULL) {
        json_decref(arr);
        return ACTORS_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        c->args[i] =
            json_dumps(json_array_get(arr, i), JSON_ENCODE_ANY | JSON_COMPACT);
        if (c->args[i] == NULL) {
            json_decref(arr);
            return ACTORS_ENOMEM;
        }
        c->nargs++;
    }
    json_decref(arr);
    return ACTORS_OK;
}

static actors_err
s_read_env(zconfig_t *entry_node, child_spec_t *c)
{
    zconfig_t *env = zconfig_locate(entry_node, "env");
    if (env == NULL) {
        return ACTORS_OK;
    }
    int n = 0;
    for (zconfig_t *e = zconfig_child(env); e; e = zconfig_next(e)) {
        n++;
    }
    c->env = calloc((size_t)n + 1, sizeof *c->env);
    if (c->env == NULL) {
        return ACTORS_ENOMEM;
    }
    for (zconfig_t *e = zconfig_child(env); e; e = zconfig_next(e)) {
        const char *v = zconfig_value(e);
        if (asprintf(&c->env[c->nenv], "%s=%s", zconfig_name(e), v ? v : "") <
            0) {
            c->env[c->nenv] = NULL;
            return ACTORS_ENOMEM;
        }
        c->nenv++;
    }
    return ACTORS_OK;
}

/* s_address expands "{i}" (or appends "/i" when replicas > 1). */
static char *
s_address(const char *pattern, int replicas, int i)
{
    char *out = NULL;
    const char *mark = strstr(pattern, "{i}");
    int rc;
    if (mark != NULL) {
        rc = asprintf(
            &out, "%.*s%d%s", (int)(mark - pattern), pattern, i, mark + 3);
    } else if (replicas > 1) {
        rc = asprintf(&out, "%s/%d", pattern, i);
    } else {
        rc = asprintf(&out, "%s", pattern);
    }
    return rc < 0 ? NULL : out;
}

static actors_err
s_read_entry(sup_config_t *cfg, zconfig_t *node, char *err, size_t errlen)
{
    const char *entry = zconfig_name(node);
    const char *service = zconfig_get(node, "service", NULL);
    const char *address = zconfig_get(node, "address", NULL);
    if (service == NULL || *service == '\0' || strchr(service, '/')) {
        return s_fail(
            err, errlen, "actor %s: service must be a binary name", entry);
    }
    if (address == NULL || *address == '\0' || strlen(address) > 200) {
        return s_fail(err, errlen,
            "actor %s: address is required (at most "
            "200 bytes)",
            entry);
    }
    long replicas = 1;
    actors_err rc =
        s_get_long(node, "replicas", 1, 1000, &replicas, entry, err, errlen);
    if (rc != ACTORS_OK) {
        return rc;
    }
    child_spec_t proto = {0};
    long prefetch = 0;
    rc =
        s_get_long(node, "prefetch", 1, 1000000, &prefetch, entry, err, errlen);
    if (rc != ACTORS_OK) {
        return rc;
    }
    proto.prefetch = (uint32_t)prefetch;
    const char *member = zconfig_get(node, "group", "false");
    if (strcmp(member, "true") == 0 || strcmp(member, "1") == 0) {
        proto.member = 1;
    } else if (strcmp(member, "false") != 0 && strcmp(member, "0") != 0) {
        return s_fail(
            err, errlen, "actor %s: group must be true or false", entry);
    }
    if (proto.member && strstr(address, "{i}") != NULL) {
        return s_fail(err, errlen,
            "actor %s: the replicas of a group share one address: no {i}",
            entry);
    }
    proto.policy = (policy_t)POLICY_INIT;
    rc = s_read_policy(node, &proto.policy, entry, err, errlen);
    for (long r = 1; rc == ACTORS_OK && r <= replicas; r++) {
        child_spec_t *grown = realloc(
            cfg->children, (size_t)(cfg->nchildren + 1) * sizeof *grown);
        if (grown == NULL) {
            return ACTORS_ENOMEM;
        }
        cfg->children = grown;
        child_spec_t *c = &cfg->children[cfg->nchildren++];
        memset(c, 0, sizeof *c);
        c->policy = proto.policy;
        c->prefetch = proto.prefetch;
        c->detached = 1;
        c->group = -1;
        c->member = proto.member;
        c->name = strdup(entry);
        c->service = strdup(service);
        c->address =
            s_address(address, proto.member ? 1 : (int)replicas, (int)r);
        if (!c->name || !c->service || !c->address) {
            return ACTORS_ENOMEM;
        }
        rc =
            s_read_args(zconfig_get(node, "args", NULL), c, entry, err, errlen);
        if (rc == ACTORS_OK) {
            rc = s_read_env(node, c);
        }
    }
    return rc;
}

/* s_read_group reads one group: its strategy, and its members (entry
 * names, space-separated) marked in the children already read. */
static actors_err
s_read_group(sup_config_t *cfg, zconfig_t *node, char *err, size_t errlen)
{
    const char *gname = zconfig_name(node);
    const char *strategy = zconfig_get(node, "strategy", "one_for_one");
    const char *members = zconfig_get(node, "members", "");
    group_strategy_t st;
    if (strcmp(strategy, "one_for_one") == 0) {
        st = GROUP_ONE_FOR_ONE;
    } else if (strcmp(strategy, "one_for_all") == 0) {
        st = GROUP_ONE_FOR_ALL;
    } else if (strcmp(strategy, "rest_for_one") == 0) {
        st = GROUP_REST_FOR_ONE;
    } else {
        return s_fail(err, errlen,
            "group %s: strategy '%s' is not "
            "one_for_one, one_for_all or rest_for_one",
            gname, strategy);
    }
    sup_group_t *grown =
        realloc(cfg->groups, (size_t)(cfg->ngroups + 1) * sizeof *grown);
    if (grown == NULL) {
        return ACTORS_ENOMEM;
    }
    cfg->groups = grown;
    int gi = cfg->ngroups;
    cfg->groups[gi].strategy = st;
    cfg->groups[gi].name = strdup(gname);
    if (cfg->groups[gi].name == NULL) {
        return ACTORS_ENOMEM;
    }
    cfg->ngroups++;
    int pos = 0;
    const char *p = members;
    while (*p) {
        p += strspn(p, " ,\t");
        size_t n = strcspn(p, " ,\t");
        if (n == 0) {
            break;
        }
        int found = 0;
        for (int i = 0; i < cfg->nchildren; i++) {
            child_spec_t *c = &cfg->children[i];
            if (strlen(c->name) != n || strncmp(c->name, p, n) != 0) {
                continue;
            }
            if (c->group >= 0) {
                return s_fail(
                    err, errlen, "actor %s is in two groups", c->name);
            }
            c->group = gi;
            c->group_pos = pos;
            found = 1;
        }
        if (!found) {
            return s_fail(err, errlen, "group %s: no actor entry '%.*s'", gname,
                (int)n, p);
        }
        pos++;
        p += n;
    }
    if (pos == 0) {
        return s_fail(err, errlen, "group %s has no members", gname);
    }
    return ACTORS_OK;
}

/* s_read_spawn_policy reads what a SPAWN may run (allow.h). */
static actors_err
s_read_spawn_policy(
    sup_config_t *cfg, zconfig_t *root, char *err, size_t errlen)
{
    const char *services =
        root ? zconfig_get(root, "supervisor/services", NULL) : NULL;
    const char *dir =
        root ? zconfig_get(root, "supervisor/service_dir", NULL) : NULL;
    const char *env =
        root ? zconfig_get(root, "supervisor/spawn_env", NULL) : NULL;
    actors_err rc = allow_add_names(&cfg->services, &cfg->nservices, services);
    if (rc == ACTORS_OK) {
        rc = allow_add_names(&cfg->spawn_env, &cfg->nspawn_env,
            env != NULL ? env : "ACTORS_LOG_LEVEL");
    }
    if (rc == ACTORS_OK && dir != NULL && *dir != '\0') {
        if (access(dir, X_OK) != 0) {
            return s_fail(err, errlen, "supervisor/service_dir %s: %s", dir,
                strerror(errno));
        }
        cfg->service_dir = strdup(dir);
        rc = cfg->service_dir != NULL ? ACTORS_OK : ACTORS_ENOMEM;
    }
    for (int i = 0; rc == ACTORS_OK && i < cfg->nspawn_env; i++) {
        const char *name = cfg->spawn_env[i];
        if (allow_env_denied(name, strlen(name))) {
            return s_fail(err, errlen,
                "supervisor/spawn_env: %s may never be set by a spawn", name);
        }
    }
    return rc;
}

static actors_err
s_from_tree(sup_config_t **out, zconfig_t *root, char *err, size_t errlen)
{
    sup_config_t *cfg = calloc(1, sizeof *cfg);
    if (cfg == NULL) {
        return ACTORS_ENOMEM;
    }
    actors_err rc = ACTORS_OK;
    char host[256] = "local";
    gethostname(host, sizeof host - 1);
    const char *node = root ? zconfig_get(root, "supervisor/node", NULL) : NULL;
    const char *path = root ? zconfig_get(root, "supervisor/path", NULL) : NULL;
    cfg->node = strdup(node && *node ? node : host);
    cfg->path = path && *path ? strdup(path) : NULL;
    if (cfg->node == NULL || (path && *path && cfg->path == NULL)) {
        rc = ACTORS_ENOMEM;
    }
    if (rc == ACTORS_OK) {
        rc = s_read_spawn_policy(cfg, root, err, errlen);
    }
    zconfig_t *actors = root ? zconfig_locate(root, "actor") : NULL;
    for (zconfig_t *n = actors ? zconfig_child(actors) : NULL;
         n != NULL && rc == ACTORS_OK; n = zconfig_next(n)) {
        rc = s_read_entry(cfg, n, err, errlen);
    }
    zconfig_t *groups = root ? zconfig_locate(root, "group") : NULL;
    for (zconfig_t *n = groups ? zconfig_child(groups) : NULL;
         n != NULL && rc == ACTORS_OK; n = zconfig_next(n)) {
        rc = s_read_group(cfg, n, err, errlen);
    }
    for (int i = 0; rc == ACTORS_OK && i < cfg->nchildren; i++) {
        for (int j = 0; j < i; j++) {
            if (strcmp(cfg->children[i].address, cfg->children[j].address) ==
                    0 &&
                !(cfg->children[i].member && cfg->children[j].member)) {
                rc = s_fail(err, errlen, "address %s is configured twice",
                    cfg->children[i].address);
                break;
            }
        }
    }
    if (rc != ACTORS_OK) {
        config_destroy(&cfg);
        return rc;
    }
    *out = cfg;
    return ACTORS_OK;
}

actors_err
config_load(sup_config_t **out, const char *path, char *err, size_t errlen)
{
    assert(out);
    *out = NULL;
    if (path == NULL || *path == '\0') {
        return s_from_tree(out, NULL, err, errlen);
    }
    if (access(path, R_OK) != 0) {
        return s_fail(
            err, errlen, "cannot read config %s: %s", path, strerror(errno));
    }
    zconfig_t *root = zconfig_load(path);
    if (root == NULL) {
        return s_fail(err, errlen, "config %s is not valid ZPL", path);
    }
    actors_err rc = s_from_tree(out, root, err, errlen);
    zconfig_destroy(&root);
    return rc;
}

actors_err
config_parse_str(sup_config_t **out, const char *text, char *err, size_t errlen)
{
    assert(out);
    *out = NULL;
    zconfig_t *root = zconfig_str_load(text);
    if (root == NULL) {
        return s_fail(err, errlen, "config text is not valid ZPL");
    }
    actors_err rc = s_from_tree(out, root, err, errlen);
    zconfig_destroy(&root);
    return rc;
}

void
config_destroy(sup_config_t **self_p)
{
    assert(self_p);
    sup_config_t *cfg = *self_p;
    if (cfg == NULL) {
        return;
    }
    for (int i = 0; i < cfg->nchildren; i++) {
        spec_clear(&cfg->children[i]);
    }
    free(cfg->children);
    for (int i = 0; i < cfg->ngroups; i++) {
        free(cfg->groups[i].name);
    }
    free(cfg->groups);
    for (int i = 0; i < cfg->nservices; i++) {
        free(cfg->services[i]);
    }
    free(cfg->services);
    for (int i = 0; i < cfg->nspawn_env; i++) {
        free(cfg->spawn_env[i]);
    }
    free(cfg->spawn_env);
    free(cfg->service_dir);
    free(cfg->node);
    free(cfg->path);
    free(cfg);
    *self_p = NULL;
}
