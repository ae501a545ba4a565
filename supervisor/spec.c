/* supervisor/spec.c - actor specs to and from msgpack maps.
 * SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "spec.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static actors_err
s_kv_int(actors_msg_t *m, const char *k, int64_t v)
{
    actors_err rc = actors_msg_add_str(m, k);
    return rc == ACTORS_OK ? actors_msg_add_int(m, v) : rc;
}

static actors_err
s_kv_double(actors_msg_t *m, const char *k, double v)
{
    actors_err rc = actors_msg_add_str(m, k);
    return rc == ACTORS_OK ? actors_msg_add_double(m, v) : rc;
}

static actors_err
s_kv_strs(actors_msg_t *m, const char *k, char **v, int n)
{
    actors_err rc = actors_msg_add_str(m, k);
    if (rc == ACTORS_OK) {
        rc = actors_msg_add_array(m, (uint32_t)n);
    }
    for (int i = 0; rc == ACTORS_OK && i < n; i++) {
        rc = actors_msg_add_str(m, v[i]);
    }
    return rc;
}

actors_err
spec_encode(actors_msg_t *m, const child_spec_t *c)
{
    assert(m);
    assert(c);
    const policy_t *p = &c->policy;
    actors_err rc = actors_msg_add_map(m, 16);
    if (rc == ACTORS_OK) {
        rc = actors_msg_add_str(m, "service");
    }
    if (rc == ACTORS_OK) {
        rc = actors_msg_add_str(m, c->service);
    }
    if (rc == ACTORS_OK) {
        rc = s_kv_strs(m, "args", c->args, c->nargs);
    }
    if (rc == ACTORS_OK) {
        rc = s_kv_strs(m, "env", c->env, c->nenv);
    }
    struct {
        const char *k;
        int64_t v;
    } ints[] = {{"max_restarts", p->max_restarts},
        {"max_task_retries", p->max_task_retries}, {"intensity", p->intensity},
        {"period_ms", p->period_ms}, {"backoff_base_ms", p->backoff_base_ms},
        {"backoff_max_ms", p->backoff_max_ms}, {"healthy_ms", p->healthy_ms},
        {"grace_ms", p->grace_ms}, {"detached", c->detached},
        {"prefetch", c->prefetch}, {"group", c->member}};
    for (size_t i = 0; rc == ACTORS_OK && i < sizeof ints / sizeof ints[0];
         i++) {
        rc = s_kv_int(m, ints[i].k, ints[i].v);
    }
    if (rc == ACTORS_OK) {
        rc = s_kv_double(m, "backoff_factor", p->backoff_factor);
    }
    if (rc == ACTORS_OK) {
        rc = s_kv_double(m, "backoff_jitter", p->backoff_jitter);
    }
    return rc;
}

static actors_err
s_fail(char *err, size_t errlen, const char *what)
{
    if (err != NULL && errlen > 0) {
        snprintf(err, errlen, "%s", what);
    }
    return ACTORS_EARGS;
}

/* s_strs copies an array of strings; a missing key is an empty list. */
static actors_err
s_strs(const msgpack_object *v, char ***out, int *n)
{
    *out = NULL;
    *n = 0;
    if (v == NULL || v->type == MSGPACK_OBJECT_NIL) {
        return ACTORS_OK;
    }
    if (v->type != MSGPACK_OBJECT_ARRAY) {
        return ACTORS_EARGS;
    }
    *out = calloc(v->via.array.size + 1, sizeof **out);
    if (*out == NULL) {
        return ACTORS_ENOMEM;
    }
    for (uint32_t i = 0; i < v->via.array.size; i++) {
        actors_err rc = actors_value_strdup(&v->via.array.ptr[i], &(*out)[i]);
        if (rc != ACTORS_OK) {
            return rc;
        }
        (*n)++;
    }
    return ACTORS_OK;
}

actors_err
spec_decode(const msgpack_object *map, const char *address, child_spec_t *out,
    char *err, size_t errlen)
{
    assert(address);
    assert(out);
    memset(out, 0, sizeof *out);
    out->policy = (policy_t)POLICY_INIT;
    out->group = -1; /* groups come from the config only */
    if (map == NULL || map->type != MSGPACK_OBJECT_MAP) {
        return s_fail(err, errlen, "spec is not a map");
    }
    actors_err rc =
        actors_value_strdup(actors_map_get(map, "service"), &out->service);
    if (rc != ACTORS_OK) {
        return rc == ACTORS_ENOMEM ? rc
                                   : s_fail(err, errlen, "spec has no service");
    }
    if (strchr(out->service, '/') != NULL || out->service[0] == '\0' ||
        out->service[0] == '.') {
        return s_fail(err, errlen, "service must be a binary name");
    }
    out->address = strdup(address);
    out->name = strdup(address);
    if (out->address == NULL || out->name == NULL) {
        return ACTORS_ENOMEM;
    }
    rc = s_strs(actors_map_get(map, "args"), &out->args, &out->nargs);
    if (rc == ACTORS_OK) {
        rc = s_strs(actors_map_get(map, "env"), &out->env, &out->nenv);
    }
    if (rc != ACTORS_OK) {
        return rc == ACTORS_ENOMEM
                   ? rc
                   : s_fail(err, errlen, "args and env are string arrays");
    }
    policy_t *p = &out->policy;
    struct {
        const char *k;
        int *i;
        uint32_t *u;
    } ints[] = {{"max_restarts", &p->max_restarts, NULL},
        {"max_task_retries", &p->max_task_retries, NULL},
        {"intensity", &p->intensity, NULL}, {"period_ms", NULL, &p->period_ms},
        {"backoff_base_ms", NULL, &p->backoff_base_ms},
        {"backoff_max_ms", NULL, &p->backoff_max_ms},
        {"healthy_ms", NULL, &p->healthy_ms}, {"grace_ms", NULL, &p->grace_ms},
        {"detached", &out->detached, NULL}, {"prefetch", NULL, &out->prefetch},
        {"group", &out->member, NULL}};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        const msgpack_object *v = actors_map_get(map, ints[i].k);
        int64_t n = 0;
        if (v == NULL || v->type == MSGPACK_OBJECT_NIL) {
            continue;
        }
        bool b = false;
        if (actors_value_bool(v, &b) == ACTORS_OK) {
            n = b;
        } else if (actors_value_int(v, &n) != ACTORS_OK || n < -1 ||
                   n > 86400000 || (ints[i].u != NULL && n < 0)) {
            return s_fail(err, errlen, "a policy number is out of range");
        }
        if (ints[i].i != NULL) {
            *ints[i].i = (int)n;
        } else {
            *ints[i].u = (uint32_t)n;
        }
    }
    double d = 0;
    if (actors_value_double(actors_map_get(map, "backoff_factor"), &d) ==
        ACTORS_OK) {
        p->backoff_factor = d;
    }
    if (actors_value_double(actors_map_get(map, "backoff_jitter"), &d) ==
        ACTORS_OK) {
        p->backoff_jitter = d;
    }
    const char *bad = policy_validate(p);
    if (bad != NULL) {
        return s_fail(err, errlen, bad);
    }
    return ACTORS_OK;
}

void
spec_clear(child_spec_t *c)
{
    if (c == NULL) {
        return;
    }
    free(c->name);
    free(c->service);
    free(c->address);
    for (int i = 0; i < c->nargs; i++) {
        free(c->args[i]);
    }
    free(c->args);
    for (int i = 0; i < c->nenv; i++) {
        free(c->env[i]);
    }
    free(c->env);
    memset(c, 0, sizeof *c);
}
