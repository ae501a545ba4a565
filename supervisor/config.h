/* supervisor/config.h - a node's configuration, read from a ZPL file.
 * SPDX-License-Identifier: MIT
 *
 * The file is ZPL (ZeroMQ RFC 4), parsed by czmq's zconfig:
 *
 *   supervisor
 *       node = node1                  # default: the host name
 *       path = /opt/actors/bin        # extra service search path (a:b:c)
 *       services = counter chaos      # what a SPAWN may run besides the
 *                                     # services of the actor entries
 *       service_dir = /opt/actors/svc # a SPAWN may run any binary in it
 *       spawn_env = ACTORS_LOG_LEVEL  # env names a SPAWN may set
 *                                     # (allow.h; this is the default)
 *   actor
 *       account                       # one entry per actor (any name)
 *           service = account         # binary name
 *           address = account/1       # "{i}" is the replica number
 *           args = [100, 20]          # JSON array of ctor args; quote
 *                                     # with '...' if it has " in it
 *           replicas = 1
 *           group = false             # true: the replicas are members of
 *                                     # one group address (--group)
 *           prefetch = 256            # calls handed to the actor ahead
 *                                     # (--prefetch; 1: all but the
 *                                     # running call survive a crash)
 *           env
 *               ACTORS_LOG_LEVEL = info
 *           policy
 *               max_restarts = 3      # 0 never, N, -1 forever
 *               intensity = 5         # at most 5 restarts ...
 *               period_ms = 10000     # ... within 10 s, else give up
 *               backoff_base_ms = 10
 *               backoff_factor = 2
 *               backoff_max_ms = 5000
 *               backoff_jitter = 0.1
 *               healthy_ms = 10000
 *               max_task_retries = 0
 *               grace_ms = 5000
 *
 *   group
 *       pipeline                      # actors restarted together
 *           strategy = one_for_all    # one_for_one | one_for_all |
 *                                     # rest_for_one (OTP's strategies)
 *           members = loader model    # actor entry names, in order
 *
 * Replicas > 1 expand into one child per replica; an address without
 * "{i}" then gets "/{i}" appended (numbers from 1). With "group = true"
 * in the entry, every replica registers the one address as a member of
 * its group (--group) instead. An actor belongs to at
 * most one group; one not in any group is one_for_one.
 * Thread: a config belongs to one thread.
 */
#ifndef SUPERVISOR_CONFIG_H
#define SUPERVISOR_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include <actors/error.h>

#include "policy.h"

typedef struct {
    char *name;        /* entry name in the file (replicas share it) */
    char *service;     /* binary name */
    char *address;     /* registered address, expanded */
    char **args;       /* constructor args as JSON texts */
    int nargs;         /* entries in args */
    char **env;        /* "KEY=VALUE" added to the inherited environment */
    int nenv;          /* entries in env */
    uint32_t prefetch; /* --prefetch for the service; 0: its default */
    policy_t policy;   /* restart policy */
    int detached;      /* 1: lives until killed; 0: owned by its spawner */
    int group;         /* index in sup_config_t.groups, or -1 */
    int group_pos;     /* position of its entry in the group's members */
    int member;        /* 1: "group = true": a member of the group address
                          (PROTOCOL.md, "Groups"), replicas share the
                          address; the node reports no STATE for it */
} child_spec_t;

typedef enum {
    GROUP_ONE_FOR_ONE,  /* only the crashed actor restarts */
    GROUP_ONE_FOR_ALL,  /* every member restarts */
    GROUP_REST_FOR_ONE, /* the crashed one and the members after it */
} group_strategy_t;

typedef struct {
    char *name;                /* group name in the file */
    group_strategy_t strategy; /* what a member's crash does to the rest */
} sup_group_t;

typedef struct {
    char *node;             /* node name */
    char *path;             /* extra search path, or NULL */
    child_spec_t *children; /* expanded actors */
    int nchildren;          /* entries in children */
    sup_group_t *groups;    /* restart groups */
    int ngroups;            /* entries in groups */
    char **services;        /* supervisor/services: what SPAWN may run */
    int nservices;          /* entries in services */
    char *service_dir;      /* supervisor/service_dir, or NULL */
    char **spawn_env;       /* supervisor/spawn_env: names SPAWN may set */
    int nspawn_env;         /* entries in spawn_env */
} sup_config_t;

/* config_load reads path (NULL or "": an empty configuration) into *out.
 * Returns ACTORS_OK with *out owned by the caller (config_destroy), or
 * ACTORS_EINVAL with a description in err (file missing, bad value), or
 * ACTORS_ENOMEM; *out NULL on error. */
actors_err config_load(
    sup_config_t **out, const char *path, char *err, size_t errlen);

/* config_parse_str is config_load over ZPL text in memory. */
actors_err config_parse_str(
    sup_config_t **out, const char *text, char *err, size_t errlen);

/* config_destroy frees *self_p and sets it to NULL; NULL is fine. */
void config_destroy(sup_config_t **self_p);

#endif
