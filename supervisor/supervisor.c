/* supervisor/supervisor.c - the node's loop: spawn, reap, judge, restart.
 * SPDX-License-Identifier: MIT
 *
 * State per actor: its spec (the config's, or one that came with SPAWN),
 * its pid (0 when not running), its state (starting, running, restarting,
 * stopped, dead), the policy's counters, when a scheduled restart is due,
 * and the last exit cause. The loop is the only writer.
 *
 * The loop waits in zmq_poll on the broker link's socket and a signalfd
 * (SIGCHLD, SIGTERM, SIGINT), with a timeout set by the next scheduled
 * restart, graceful-stop deadline or heartbeat: no polling of children.
 * Children are reaped with waitpid(WNOHANG) in a loop on each SIGCHLD,
 * since signals coalesce.
 *
 * Groups (OTP's strategies): when a member of a one_for_all group crashes
 * and is to be restarted, every other running member is stopped (SIGTERM,
 * grace, SIGKILL) and restarted at once when it exits, without counting
 * against its own policy; rest_for_one does the same for the members
 * declared after it. A member that gives up takes those same members down
 * for good. Every transition is logged (one line, stable
 * msgid) and reported to the broker as STATE and EVENT, so the broker can
 * keep a restarting actor's mailbox, retry its in-flight calls, and answer
 * its callers with the real cause.
 */
#define _GNU_SOURCE
#include "supervisor.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include <actors/actor.h>
#include <actors/log.h>

#include "allow.h"
#include "child.h"
#include "link.h"
#include "metrics.h"
#include "outlog.h"
#include "spec.h"
#include <actors-internal/wire.h>

#define SUP_BARRIER_MS 200 /* longest wait for the broker before a restart */
#define SUP_DRAIN_MS 2000  /* longest wait for the broker to take a DRAIN */

typedef enum {
    CHILD_STARTING,
    CHILD_RUNNING,
    CHILD_RESTARTING,
    CHILD_STOPPED,
    CHILD_DEAD,
} child_state_t;

static const char *s_state_names[] = {
    "starting", "running", "restarting", "stopped", "dead"};

typedef struct {
    const child_spec_t *spec; /* the config's, or &own_spec */
    child_spec_t own_spec;    /* a spec from SPAWN, freed with the child */
    bool from_spawn;          /* run-time child: forgotten once gone */
    bool no_restart;          /* killed with no restart, or stopped */
    bool graceful;            /* stop: SIGTERM now, SIGKILL at kill_at_ms */
    uint64_t kill_at_ms;      /* graceful stop deadline */
    uint8_t kill_id[ACTORS_WIRE_ID_MAX]; /* KILL to answer once it exited */
    size_t kill_id_len;                  /* length of kill_id */
    bool kill_waiting;                   /* a KILL waits for the exit */
    bool group_restart;     /* stopped for its group: restart on exit */
    bool group_stop;        /* stopped for its group: do not restart */
    char binary[PATH_MAX];  /* resolved service binary */
    pid_t pid;              /* 0 when not running */
    child_state_t state;    /* see child_state_t */
    policy_state_t pstate;  /* restart counters */
    uint64_t restart_at_ms; /* due time while CHILD_RESTARTING */
    bool barrier;           /* waiting for the broker to take our STATE */
    uint64_t barrier_until; /* stop waiting then (the broker may be gone) */
    char cause[96];         /* last exit cause */
    char claim[CHILD_CLAIM_MAX + 1]; /* the secret its processes show the
                                        broker (kept across restarts) */
    outlog_t *out; /* its stdout/stderr, prefixed; NULL: none */
} child_t;

struct sup {
    const sup_config_t *cfg; /* borrowed */
    char *broker;            /* endpoint given to actors */
    char *self_dir;          /* service binaries are looked for here first */
    child_t **children;      /* config children first, then spawned ones */
    int nchildren;           /* entries in children */
    int cap;                 /* slots in children */
    link_t *link;            /* the connection to the broker */
    int sigfd;               /* signalfd: SIGCHLD SIGTERM SIGINT */
    unsigned seed;           /* jitter randomness */
    bool stopping;           /* a stop signal came */
    bool drain;              /* SIGTERM/SIGINT drain (else a full stop) */
    char *log_dir;           /* a file per actor there; NULL none */
    metrics_t *metrics;      /* /metrics server; NULL none */
    zmq_pollitem_t *items;   /* s_wait's poll set, 2 + cap entries */
    bool draining;           /* this stop is a drain */
};

static uint64_t
s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void
s_child_free(child_t **c_p)
{
    child_t *c = *c_p;
    if (c != NULL) {
        outlog_destroy(&c->out);
        spec_clear(&c->own_spec);
        free(c);
        *c_p = NULL;
    }
}

/* s_add appends a child for spec (copied into own_spec when owned). */
static actors_err
s_add(sup_t *self, const child_spec_t *spec, child_t **out)
{
    if (self->nchildren == self->cap) {
        int cap = self->cap ? self->cap * 2 : 8;
        child_t **grown = realloc(self->children, (size_t)cap * sizeof *grown);
        if (grown == NULL) {
            return ACTORS_ENOMEM;
        }
        self->children = grown;
        zmq_pollitem_t *items =
            realloc(self->items, (size_t)(cap + 2) * sizeof *items);
        if (items == NULL) {
            return ACTORS_ENOMEM;
        }
        self->items = items;
        self->cap = cap;
    }
    child_t *c = calloc(1, sizeof *c);
    if (c == NULL) {
        return ACTORS_ENOMEM;
    }
    c->spec = spec;
    c->state = CHILD_STOPPED;
    if (child_claim_new(c->claim) != ACTORS_OK) {
        free(c);
        return ACTORS_EIO;
    }
    for (int i = 0; spec->member && i < self->nchildren; i++) {
        const child_t *o = self->children[i];
        if (o->spec->member && strcmp(o->spec->address, spec->address) == 0) {
            /* The members of one group on this node show one claim: the
             * broker knows the node's placement of the group by it. */
            memcpy(c->claim, o->claim, sizeof c->claim);
            break;
        }
    }
    /* A service_dir's binaries come first (allow.h). */
    if ((self->cfg->service_dir == NULL ||
            child_find_binary(spec->service, self->cfg->service_dir, NULL,
                c->binary, sizeof c->binary) != ACTORS_OK) &&
        child_find_binary(spec->service, self->self_dir, self->cfg->path,
            c->binary, sizeof c->binary) != ACTORS_OK) {
        free(c);
        return ACTORS_EINVAL;
    }
    if (outlog_create(&c->out, spec->address, self->log_dir) != ACTORS_OK) {
        free(c);
        return ACTORS_ENOMEM;
    }
    self->children[self->nchildren++] = c;
    *out = c;
    return ACTORS_OK;
}

static void
s_remove(sup_t *self, child_t *c)
{
    for (int i = 0; i < self->nchildren; i++) {
        if (self->children[i] == c) {
            memmove(&self->children[i], &self->children[i + 1],
                (size_t)(self->nchildren - i - 1) * sizeof(child_t *));
            self->nchildren--;
            s_child_free(&c);
            return;
        }
    }
}

static child_t *
s_by_address(sup_t *self, const char *address)
{
    for (int i = 0; i < self->nchildren; i++) {
        if (strcmp(self->children[i]->spec->address, address) == 0) {
            return self->children[i];
        }
    }
    return NULL;
}

static child_t *
s_by_pid(sup_t *self, pid_t pid)
{
    for (int i = 0; i < self->nchildren; i++) {
        if (self->children[i]->pid == pid) {
            return self->children[i];
        }
    }
    return NULL;
}

static void
s_report(sup_t *self, child_t *c, const char *event)
{
    /* The event first: one connection keeps the order, so whoever sees the
     * new state at the broker also finds the event that led to it. */
    if (event != NULL) {
        link_event(self->link, event, c->spec->address, (int)c->pid,
            c->pstate.restarts, c->cause[0] ? c->cause : NULL);
    }
    link_state(self->link, c->spec, s_state_names[c->state], (int)c->pid,
        c->pstate.restarts, c->cause[0] ? c->cause : NULL, c->claim,
        !c->from_spawn);
    metrics_state(self->metrics, c->spec->address, c->spec->service,
        s_state_names[c->state], (int)c->pid, c->pstate.restarts,
        event != NULL && strcmp(event, "start") == 0);
}

static actors_err
s_start(sup_t *self, child_t *c)
{
    pid_t pid = 0;
    int out_fd = -1;
    (void)outlog_pipe(c->out, &out_fd); /* -1: the output is inherited */
    actors_err rc = child_spawn_out(
        c->spec, c->binary, self->broker, c->claim, out_fd, &pid);
    outlog_started(c->out, rc == ACTORS_OK ? pid : 0, out_fd);
    if (rc != ACTORS_OK) {
        snprintf(c->cause, sizeof c->cause, "spawn failed");
        c->pid = 0;
        c->state = CHILD_DEAD;
        s_report(self, c, "give-up");
        return rc;
    }
    c->pid = pid;
    c->state = CHILD_STARTING;
    policy_on_start(&c->pstate, s_now_ms());
    ACTORS_LOG(ACTORS_LOG_NOTICE, "SUP-START",
        "node=%s address=%s service=%s pid=%d restarts=%d", self->cfg->node,
        c->spec->address, c->spec->service, (int)pid, c->pstate.restarts);
    s_report(self, c, "start");
    return ACTORS_OK;
}

/* s_answer_kill answers a KILL that waited for the exit. */
static void
s_answer_kill(sup_t *self, child_t *c)
{
    if (!c->kill_waiting) {
        return;
    }
    c->kill_waiting = false;
    actors_msg_t *m = NULL;
    if (actors_msg_build(&m, "{ssss}", "address", c->spec->address, "cause",
            c->cause) == ACTORS_OK) {
        link_reply(self->link, c->kill_id, c->kill_id_len, &m);
    }
    actors_msg_destroy(&m);
}

/* s_barrier holds c's restart until the broker has handled the STATE just
 * sent: the new process's REGISTER travels on its own connection and could
 * overtake it, and the broker would then answer the calls the crash
 * interrupted without knowing the cause. One loopback round trip; at most
 * SUP_BARRIER_MS if the broker does not answer. */
static void
s_barrier(sup_t *self, child_t *c)
{
    if (c->spec->member) {
        return; /* no STATE was sent for a group's member (link_state) */
    }
    c->barrier = link_barrier(self->link, c->spec->address);
    c->barrier_until = s_now_ms() + SUP_BARRIER_MS;
}

static void
s_on_barrier(void *arg, const char *token)
{
    sup_t *self = arg;
    child_t *c = s_by_address(self, token);
    if (c != NULL) {
        c->barrier = false;
    }
}

/* s_group_cascade applies c's group strategy after c crashed: the members
 * it concerns are stopped, to be restarted (restart) or not. */
static void
s_group_cascade(sup_t *self, child_t *c, bool restart)
{
    int g = c->spec->group;
    if (g < 0 || self->cfg->groups[g].strategy == GROUP_ONE_FOR_ONE) {
        return;
    }
    bool rest = self->cfg->groups[g].strategy == GROUP_REST_FOR_ONE;
    for (int i = 0; i < self->nchildren; i++) {
        child_t *m = self->children[i];
        if (m == c || m->spec->group != g ||
            (rest && m->spec->group_pos <= c->spec->group_pos)) {
            continue;
        }
        if (m->pid != 0) {
            m->group_restart = restart;
            m->group_stop = !restart;
            m->kill_at_ms = s_now_ms() + m->spec->policy.grace_ms;
            kill(m->pid, SIGTERM);
        } else if (m->state == CHILD_RESTARTING && !restart) {
            m->state = CHILD_DEAD;
            s_report(self, m, "give-up");
        }
    }
}

static void
s_on_exit(sup_t *self, child_t *c, int status)
{
    child_describe_exit(status, c->cause, sizeof c->cause);
    outlog_drain(c->out); /* its last lines before its exit's */
    metrics_exit(self->metrics, c->spec->address, c->cause);
    pid_t pid = c->pid;
    c->pid = 0;
    ACTORS_LOG(ACTORS_LOG_NOTICE, "SUP-EXIT",
        "node=%s address=%s pid=%d cause='%s'", self->cfg->node,
        c->spec->address, (int)pid, c->cause);
    link_event(self->link, "exit", c->spec->address, (int)pid,
        c->pstate.restarts, c->cause);
    c->kill_at_ms = 0;
    if (!self->stopping && (c->group_restart || c->group_stop)) {
        bool again = c->group_restart;
        c->group_restart = false;
        c->group_stop = false;
        snprintf(c->cause, sizeof c->cause, "%s with its group %s",
            again ? "restarted" : "stopped",
            self->cfg->groups[c->spec->group].name);
        c->state = again ? CHILD_RESTARTING : CHILD_DEAD;
        c->restart_at_ms = s_now_ms();
        ACTORS_LOG(ACTORS_LOG_NOTICE, again ? "SUP-RESTART" : "SUP-GIVE-UP",
            "address=%s group=%s cause='%s'", c->spec->address,
            self->cfg->groups[c->spec->group].name, c->cause);
        s_report(self, c, again ? "restart" : "give-up");
        if (again) {
            s_barrier(self, c);
        }
        return;
    }
    if (!self->stopping && WIFEXITED(status) &&
        WEXITSTATUS(status) == ACTORS_EXIT_NAME_TAKEN) {
        /* A live actor elsewhere holds the address (re-created on another
         * node while this one was lost): it lives on there. Restarting
         * here would only fight it for the name. */
        snprintf(c->cause, sizeof c->cause,
            "address held by a live actor "
            "elsewhere");
        c->state = CHILD_STOPPED;
        ACTORS_LOG(ACTORS_LOG_NOTICE, "SUP-MOVED", "address=%s %s",
            c->spec->address, c->cause);
        s_report(self, c, "stop");
        s_answer_kill(self, c);
        return;
    }
    if (!self->stopping && WIFEXITED(status) &&
        WEXITSTATUS(status) == ACTORS_EXIT_KEY_LOCKED) {
        /* Another live process holds the actor's persistence key: an
         * actor re-created on another node of the same volume, or a twin
         * configured with the same key. A restart would meet the same
         * lock, or take the key once its holder stops. */
        snprintf(c->cause, sizeof c->cause,
            "KeyLocked: its persistence key is held by another live "
            "process");
        c->state = CHILD_STOPPED;
        ACTORS_LOG(ACTORS_LOG_NOTICE, "SUP-KEY-LOCKED", "address=%s %s",
            c->spec->address, c->cause);
        s_report(self, c, "stop");
        s_answer_kill(self, c);
        return;
    }
    bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (self->stopping && self->draining) {
        snprintf(
            c->cause, sizeof c->cause, "node %.60s draining", self->cfg->node);
    }
    if (self->stopping || clean || c->no_restart) {
        c->state = (clean || c->graceful || self->stopping) ? CHILD_STOPPED
                                                            : CHILD_DEAD;
        ACTORS_LOG(ACTORS_LOG_NOTICE, "SUP-STOPPED", "address=%s state=%s",
            c->spec->address, s_state_names[c->state]);
        s_report(self, c, "stop");
        s_answer_kill(self, c);
        return;
    }
    uint32_t delay = 0;
    const char *why = NULL;
    uint32_t rnd =
        (uint32_t)rand_r(&self->seed) ^ ((uint32_t)rand_r(&self->seed) << 16);
    if (policy_on_exit(&c->spec->policy, &c->pstate, s_now_ms(), rnd, &delay,
            &why) == POLICY_GIVE_UP) {
        c->state = CHILD_DEAD;
        ACTORS_LOG(ACTORS_LOG_WARN, "SUP-GIVE-UP",
            "address=%s restarts=%d limit=%s cause='%s'", c->spec->address,
            c->pstate.restarts, why, c->cause);
        s_report(self, c, "give-up");
        s_answer_kill(self, c);
        s_group_cascade(self, c, false);
        return;
    }
    c->state = CHILD_RESTARTING;
    c->restart_at_ms = s_now_ms() + delay;
    ACTORS_LOG(ACTORS_LOG_NOTICE, "SUP-RESTART",
        "address=%s restart=%d delay_ms=%u cause='%s'", c->spec->address,
        c->pstate.restarts, delay, c->cause);
    s_report(self, c, "restart");
    s_barrier(self, c);
    s_answer_kill(self, c);
    s_group_cascade(self, c, true);
}

static void
s_reap(sup_t *self)
{
    for (;;) {
        int status = 0;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid <= 0) {
            return;
        }
        child_t *c = s_by_pid(self, pid);
        if (c != NULL) {
            s_on_exit(self, c, status);
        }
    }
}

/* ---- requests from the broker ------------------------------------------ */

/* s_spawn_reply answers a SPAWN with {address, node, pid} of c. */
static void
s_spawn_reply(sup_t *self, child_t *c, const void *id, size_t id_len)
{
    actors_msg_t *m = NULL;
    if (actors_msg_build(&m, "{sssssi}", "address", c->spec->address, "node",
            self->cfg->node, "pid", (int)c->pid) == ACTORS_OK) {
        link_reply(self->link, id, id_len, &m);
    }
    actors_msg_destroy(&m);
}

/* s_reclaim starts config child c (not running) again on a SPAWN, with
 * the restarts counted so far wherever it ran. */
static void
s_reclaim(sup_t *self, child_t *c, int restarts, const void *id, size_t id_len)
{
    c->no_restart = false;
    c->graceful = false;
    c->group_restart = false;
    c->group_stop = false;
    c->kill_waiting = false;
    c->cause[0] = '\0';
    if (restarts > c->pstate.restarts) {
        c->pstate.restarts = restarts;
    }
    ACTORS_LOG(ACTORS_LOG_NOTICE, "SUP-RECLAIM",
        "node=%s address=%s restarts=%d its config actor runs here again",
        self->cfg->node, c->spec->address, c->pstate.restarts);
    if (s_start(self, c) != ACTORS_OK) {
        link_error(self->link, id, id_len, ACTORS_EIO, "spawn failed");
        return;
    }
    s_spawn_reply(self, c, id, id_len);
}

static void
s_on_spawn(sup_t *self, const void *id, size_t id_len, const char *address,
    const msgpack_object *map, const char *claim)
{
    char err[160] = "";
    if (self->stopping) {
        link_error(
            self->link, id, id_len, ACTORS_ECLOSED, "this node is stopping");
        return;
    }
    int64_t restarts = 0;
    actors_value_int(actors_map_get(map, "restarts"), &restarts);
    if (restarts < 0 || restarts > INT_MAX) {
        restarts = 0;
    }
    const msgpack_object *member = actors_map_get(map, "group");
    child_t *old = member != NULL && member->type == MSGPACK_OBJECT_BOOLEAN &&
                           member->via.boolean
                       ? NULL /* one more member of a group address */
                       : s_by_address(self, address);
    if (old != NULL && (old->pid != 0 || old->state == CHILD_RESTARTING)) {
        link_error(self->link, id, id_len, ACTORS_ETAKEN,
            "this node already runs that address");
        return;
    }
    if (old != NULL && !old->from_spawn) {
        /* Its own config actor, stopped or moved away: the broker (or a
         * client) asks for it back here. It runs by the config's spec. */
        s_reclaim(self, old, (int)restarts, id, id_len);
        return;
    }
    if (old != NULL) {
        s_remove(self, old);
    }
    child_spec_t spec;
    actors_err rc = spec_decode(map, address, &spec, err, sizeof err);
    if (rc == ACTORS_OK) {
        char why[320] = "";
        rc = allow_spawn(self->cfg, &spec, why, sizeof why);
        if (rc != ACTORS_OK) {
            ACTORS_LOG(ACTORS_LOG_WARN, "SUP-SPAWN-REFUSED",
                "node=%s address=%s %s", self->cfg->node, address, why);
            spec_clear(&spec);
            link_error(self->link, id, id_len, rc, why);
            return;
        }
    }
    if (rc != ACTORS_OK) {
        spec_clear(&spec);
        link_error(self->link, id, id_len, rc, err[0] ? err : NULL);
        return;
    }
    child_t *c = NULL;
    rc = s_add(self, &spec, &c);
    if (rc != ACTORS_OK) {
        snprintf(err, sizeof err, "no binary '%s' on node %s", spec.service,
            self->cfg->node);
        spec_clear(&spec);
        link_error(self->link, id, id_len, ACTORS_EINVAL, err);
        return;
    }
    c->own_spec = spec; /* moved: the child owns the strings now */
    c->spec = &c->own_spec;
    c->from_spawn = true;
    if (claim[0] != '\0') {
        /* The broker's: it knows the secret before our STATE comes. */
        snprintf(c->claim, sizeof c->claim, "%s", claim);
    }
    c->pstate.restarts = (int)restarts; /* counted on other nodes before */
    if (s_start(self, c) != ACTORS_OK) {
        link_error(self->link, id, id_len, ACTORS_EIO, "spawn failed");
        s_remove(self, c);
        return;
    }
    s_spawn_reply(self, c, id, id_len);
}

static void
s_on_kill(sup_t *self, const void *id, size_t id_len, const char *address,
    const msgpack_object *map)
{
    child_t *c = s_by_address(self, address);
    if (c == NULL) {
        link_error(self->link, id, id_len, ACTORS_ENOACTOR,
            "no such actor on this node");
        return;
    }
    bool restart = true;
    bool graceful = false;
    actors_value_bool(actors_map_get(map, "restart"), &restart);
    actors_value_bool(actors_map_get(map, "graceful"), &graceful);
    if (c->pid == 0) {
        if (c->state == CHILD_RESTARTING && (!restart || graceful)) {
            c->state = graceful ? CHILD_STOPPED : CHILD_DEAD;
            snprintf(c->cause, sizeof c->cause, "killed while restarting");
            s_report(self, c, "stop");
        }
        actors_msg_t *m = NULL;
        if (actors_msg_build(&m, "{ssss}", "address", address, "state",
                s_state_names[c->state]) == ACTORS_OK) {
            link_reply(self->link, id, id_len, &m);
        }
        actors_msg_destroy(&m);
        return;
    }
    c->no_restart = !restart || graceful;
    c->graceful = graceful;
    memcpy(c->kill_id, id, id_len);
    c->kill_id_len = id_len;
    c->kill_waiting = true;
    if (graceful) {
        c->kill_at_ms = s_now_ms() + c->spec->policy.grace_ms;
        kill(c->pid, SIGTERM);
    } else {
        kill(c->pid, SIGKILL);
    }
    ACTORS_LOG(ACTORS_LOG_NOTICE, "SUP-KILL-REQUEST",
        "address=%s pid=%d restart=%d graceful=%d", address, (int)c->pid,
        restart, graceful);
}

static void
s_on_request(void *arg, uint8_t cmd, const void *id, size_t id_len,
    const char *address, const msgpack_object *map, const char *claim)
{
    sup_t *self = arg;
    if (cmd == ACTORS_CMD_SPAWN) {
        s_on_spawn(self, id, id_len, address, map, claim);
    } else {
        s_on_kill(self, id, id_len, address, map);
    }
}

/* ---- life ------------------------------------------------------------------
 */

actors_err
sup_create(sup_t **out, const sup_config_t *cfg, const char *broker,
    const char *self_dir)
{
    assert(out);
    assert(cfg);
    assert(broker);
    *out = NULL;
    sup_t *self = calloc(1, sizeof *self);
    if (self == NULL) {
        return ACTORS_ENOMEM;
    }
    self->cfg = cfg;
    self->sigfd = -1;
    /* Children inherit it: a group's member names its node to the broker
     * (LOOKUP's members). */
    (void)setenv("ACTORS_NODE", cfg->node, 1);
    self->items = calloc(2, sizeof *self->items);
    if (self->items == NULL) {
        free(self);
        return ACTORS_ENOMEM;
    }
    self->seed = (unsigned)time(NULL) ^ (unsigned)getpid();
    self->drain = true;
    self->broker = strdup(broker);
    self->self_dir = strdup(self_dir ? self_dir : ".");
    if (self->broker == NULL || self->self_dir == NULL) {
        sup_destroy(&self);
        return ACTORS_ENOMEM;
    }
    for (int i = 0; i < cfg->nchildren; i++) {
        child_t *c = NULL;
        actors_err rc = s_add(self, &cfg->children[i], &c);
        if (rc != ACTORS_OK) {
            if (rc == ACTORS_EINVAL) {
                ACTORS_LOG(ACTORS_LOG_ERR, "SUP-NO-BINARY",
                    "address=%s service=%s not found beside the supervisor, "
                    "in the config path or in $ACTORS_PATH",
                    cfg->children[i].address, cfg->children[i].service);
            }
            sup_destroy(&self);
            return rc;
        }
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGUSR1);
    self->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (self->sigfd < 0) {
        ACTORS_LOG(
            ACTORS_LOG_ERR, "SUP-SIGNALFD", "error='%s'", strerror(errno));
        sup_destroy(&self);
        return ACTORS_EIO;
    }
    actors_err rc =
        link_create(&self->link, self->broker, cfg->node, s_on_request, self);
    if (rc != ACTORS_OK) {
        sup_destroy(&self);
        return rc;
    }
    link_set_barrier_fn(self->link, s_on_barrier, self);
    *out = self;
    return ACTORS_OK;
}

void
sup_destroy(sup_t **self_p)
{
    assert(self_p);
    sup_t *self = *self_p;
    if (self == NULL) {
        return;
    }
    link_destroy(&self->link);
    if (self->sigfd >= 0) {
        close(self->sigfd);
    }
    for (int i = 0; i < self->nchildren; i++) {
        s_child_free(&self->children[i]);
    }
    free(self->children);
    free(self->items);
    free(self->log_dir);
    metrics_destroy(&self->metrics);
    free(self->broker);
    free(self->self_dir);
    free(self);
    *self_p = NULL;
}

/* s_read_signals drains the signalfd; returns true if a stop was asked. */
static bool
s_read_signals(sup_t *self)
{
    struct signalfd_siginfo si;
    bool stop = false;
    while (read(self->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
            stop = true;
            self->draining = self->drain;
        } else if (si.ssi_signo == SIGUSR1) {
            stop = true; /* a full stop, asked for explicitly */
            self->draining = false;
        }
    }
    return stop;
}

static int
s_running(const sup_t *self)
{
    int n = 0;
    for (int i = 0; i < self->nchildren; i++) {
        n += self->children[i]->pid != 0;
    }
    return n;
}

/* s_wait polls the link and the signalfd for up to timeout ms; returns
 * true if a stop signal came. */
static bool
s_wait(sup_t *self, int timeout)
{
    zmq_pollitem_t *items = self->items;
    items[0] = (zmq_pollitem_t){link_socket(self->link), 0, ZMQ_POLLIN, 0};
    items[1] = (zmq_pollitem_t){NULL, self->sigfd, ZMQ_POLLIN, 0};
    int nitems = 2;
    for (int i = 0; i < self->nchildren; i++) {
        int fd = outlog_fd(self->children[i]->out);
        if (fd >= 0) {
            items[nitems++] = (zmq_pollitem_t){NULL, fd, ZMQ_POLLIN, 0};
        }
    }
    int n = zmq_poll(items, nitems, timeout);
    if (n < 0 && errno != EINTR) {
        ACTORS_LOG(ACTORS_LOG_ERR, "SUP-POLL", "error='%s'", strerror(errno));
    }
    if (n > 0) {
        /* Output first: an exit reaped below drains what is left. */
        for (int i = 0; i < self->nchildren; i++) {
            int fd = outlog_fd(self->children[i]->out);
            for (int k = 2; fd >= 0 && k < nitems; k++) {
                if (items[k].fd == fd && items[k].revents != 0) {
                    outlog_read(self->children[i]->out);
                    break;
                }
            }
        }
    }
    bool stop = false;
    if (n > 0 && (items[1].revents & ZMQ_POLLIN)) {
        stop = s_read_signals(self);
        s_reap(self);
    }
    /* Always: the socket may hold input zmq_poll did not flag as new. */
    link_process(self->link);
    return stop;
}

/* s_stop_all: SIGTERM everyone, reap until the longest grace, SIGKILL. */
static void
s_stop_all(sup_t *self)
{
    self->stopping = true;
    uint32_t grace = 0;
    for (int i = 0; i < self->nchildren; i++) {
        child_t *c = self->children[i];
        if (c->pid != 0) {
            kill(c->pid, SIGTERM);
            if (c->spec->policy.grace_ms > grace) {
                grace = c->spec->policy.grace_ms;
            }
        }
    }
    uint64_t deadline = s_now_ms() + grace;
    while (s_running(self) > 0 && s_now_ms() < deadline) {
        uint64_t left = deadline - s_now_ms();
        s_wait(self, (int)(left > 100 ? 100 : left));
        s_reap(self);
    }
    for (int i = 0; i < self->nchildren; i++) {
        child_t *c = self->children[i];
        if (c->pid != 0) {
            ACTORS_LOG(ACTORS_LOG_WARN, "SUP-KILL",
                "address=%s pid=%d grace over", c->spec->address, (int)c->pid);
            kill(c->pid, SIGKILL);
            int status = 0;
            waitpid(c->pid, &status, 0);
            s_on_exit(self, c, status);
        }
    }
}

/* s_due runs what is due at now (restarts, graceful-stop deadlines,
 * forgetting gone run-time children) and returns the ms until the next
 * thing is due, or -1. */
static int
s_due(sup_t *self, uint64_t now)
{
    int timeout = -1;
    for (int i = 0; i < self->nchildren; i++) {
        child_t *c = self->children[i];
        uint64_t at = 0;
        if (c->state == CHILD_RESTARTING && c->barrier &&
            now < c->barrier_until) {
            at = c->barrier_until;
        } else if (c->state == CHILD_RESTARTING) {
            c->barrier = false;
            if (c->restart_at_ms <= now) {
                s_start(self, c);
                continue;
            }
            at = c->restart_at_ms;
        } else if (c->pid != 0 && c->kill_at_ms != 0) {
            if (c->kill_at_ms <= now) {
                kill(c->pid, SIGKILL);
                c->kill_at_ms = 0;
                continue;
            }
            at = c->kill_at_ms;
        } else if (c->from_spawn && c->pid == 0 &&
                   (c->state == CHILD_STOPPED || c->state == CHILD_DEAD)) {
            s_remove(self, c);
            i--;
            continue;
        } else {
            continue;
        }
        int left = (int)(at - now);
        if (timeout < 0 || left < timeout) {
            timeout = left;
        }
    }
    return timeout;
}

/* s_drain tells the broker the node drains and waits (SUP_DRAIN_MS at
 * most) until it has taken it: the actors' UNREGISTERs travel on their
 * own connections and must not overtake it. */
static void
s_drain(sup_t *self)
{
    self->stopping = true; /* no SPAWN accepted from now on */
    ACTORS_LOG(ACTORS_LOG_NOTICE, "SUP-DRAIN",
        "node=%s actors=%d draining: they move to other nodes", self->cfg->node,
        s_running(self));
    if (!link_drain(self->link)) {
        return; /* not registered: the broker will find the node lost */
    }
    uint64_t deadline = s_now_ms() + SUP_DRAIN_MS;
    while (!link_is_drained(self->link) && s_now_ms() < deadline) {
        uint64_t left = deadline - s_now_ms();
        s_wait(self, (int)(left > 100 ? 100 : left));
    }
}

actors_err
sup_set_log_dir(sup_t *self, const char *dir)
{
    assert(self);
    char *copy = NULL;
    if (dir != NULL && dir[0] != '\0' && (copy = strdup(dir)) == NULL) {
        return ACTORS_ENOMEM;
    }
    free(self->log_dir);
    self->log_dir = copy;
    for (int i = 0; i < self->nchildren; i++) {
        child_t *c = self->children[i];
        outlog_t *o = NULL;
        if (c->pid == 0 &&
            outlog_create(&o, c->spec->address, self->log_dir) == ACTORS_OK) {
            outlog_destroy(&c->out);
            c->out = o;
        }
    }
    return ACTORS_OK;
}

actors_err
sup_set_metrics(sup_t *self, const char *host, uint16_t port)
{
    assert(self);
    metrics_destroy(&self->metrics);
    actors_err rc = metrics_create(&self->metrics, self->cfg->node, host, port);
    if (rc != ACTORS_OK) {
        ACTORS_LOG(ACTORS_LOG_ERR, "SUP-METRICS-FAILED",
            "host=%s port=%u cannot serve metrics: %s",
            host ? host : "127.0.0.1", (unsigned)port, actors_strerror(rc));
        return rc;
    }
    ACTORS_LOG(ACTORS_LOG_NOTICE, "SUP-METRICS",
        "node=%s url=http://%s:%u/metrics serving", self->cfg->node,
        host ? host : "127.0.0.1", (unsigned)metrics_port(self->metrics));
    return ACTORS_OK;
}

void
sup_set_drain(sup_t *self, bool drain)
{
    assert(self);
    self->drain = drain;
}

actors_err
sup_run(sup_t *self)
{
    assert(self);
    ACTORS_LOG(ACTORS_LOG_NOTICE, "SUP-READY", "node=%s actors=%d broker=%s",
        self->cfg->node, self->nchildren, self->broker);
    for (int i = 0; i < self->nchildren; i++) {
        s_start(self, self->children[i]);
    }
    for (;;) {
        uint64_t now = s_now_ms();
        metrics_connected(self->metrics, link_is_registered(self->link));
        if (link_tick(self->link, now)) {
            /* Just (re)registered: the broker learns every state anew. */
            for (int i = 0; i < self->nchildren; i++) {
                s_report(self, self->children[i], NULL);
            }
        }
        int timeout = s_due(self, now);
        int hb = link_timeout_ms(self->link, s_now_ms());
        if (timeout < 0 || hb < timeout) {
            timeout = hb;
        }
        if (s_wait(self, timeout)) {
            break;
        }
    }
    if (self->draining) {
        s_drain(self);
    } else {
        ACTORS_LOG(ACTORS_LOG_NOTICE, "SUP-STOP-ALL",
            "node=%s stopping its actors for good (no drain)", self->cfg->node);
    }
    s_stop_all(self);
    ACTORS_LOG(ACTORS_LOG_NOTICE, "SUP-NODE-EXIT", "node=%s", self->cfg->node);
    return ACTORS_OK;
}
