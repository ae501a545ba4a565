/* supervisor/link.c - NODE, STATE, EVENT out; SPAWN, KILL in.
 * SPDX-License-Identifier: MIT
 *
 * Built on the library's client with a hook (client_internal.h), like the
 * actor runtime: the client's socket is polled by the supervisor's loop.
 * The NODE request carries its own request id; its REPLY (not a pending
 * call of the client) reaches the hook and marks the link registered.
 */
#define _GNU_SOURCE
#include "link.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include <actors/client.h>
#include <actors/log.h>
#include <actors/security.h>

#include <actors-internal/client_raw.h>
#include "child.h"
#include "spec.h"
#include <actors-internal/unpack.h>
#include <actors-internal/wire.h>

#define LINK_HEARTBEAT_MS 1000 /* until the broker says otherwise */
#define LINK_LIVENESS 3
#define LINK_NODE_ID "node"
#define LINK_DRAIN_ID "drain"
#define LINK_BACKLOG 256 /* events kept while the broker is not there */

struct link {
    actors_client_t *client;    /* the connection */
    char *endpoint;             /* broker */
    char *node;                 /* node name */
    link_request_fn fn;         /* SPAWN / KILL handler */
    link_barrier_fn barrier_fn; /* PING answers of link_barrier */
    void *barrier_arg;          /* its argument */
    void *arg;                  /* its argument */
    bool registered;            /* NODE answered with REPLY */
    bool drained;               /* DRAIN answered */
    bool resync;                /* tell link_tick's caller to resend states */
    uint32_t heartbeat_ms;      /* from the NODE reply */
    uint32_t liveness;          /* from the NODE reply */
    uint64_t last_heard_ms;     /* anything from the broker */
    uint64_t last_sent_ms;      /* our last heartbeat or NODE */
    uint64_t node_sent_ms;      /* when NODE was last sent */
    uint64_t event_id;          /* per-node event counter */
    actors_msg_t *backlog[LINK_BACKLOG]; /* events not sent yet, oldest
                                            first; the oldest are dropped */
    int nbacklog;                        /* entries in backlog */
};

static void s_flush(link_t *self);

static uint64_t
s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* s_send sends header(cmd, id) and up to two more frames. */
static actors_err
s_send(link_t *self, uint8_t cmd, const void *id, size_t id_len, const void *a,
    size_t alen, const void *b, size_t blen, int nextra)
{
    zmq_msg_t frames[3];
    uint8_t hdr[ACTORS_WIRE_HDR_MAX];
    size_t hlen = actors__hdr_write(hdr, cmd, 0, id, id_len);
    zmq_msg_init_size(&frames[0], hlen);
    memcpy(zmq_msg_data(&frames[0]), hdr, hlen);
    int n = 1;
    if (nextra >= 1) {
        zmq_msg_init_size(&frames[n], alen);
        if (alen > 0) {
            memcpy(zmq_msg_data(&frames[n]), a, alen);
        }
        n++;
    }
    if (nextra >= 2) {
        zmq_msg_init_size(&frames[n], blen);
        if (blen > 0) {
            memcpy(zmq_msg_data(&frames[n]), b, blen);
        }
        n++;
    }
    actors_err rc = actors__client_send_frames(self->client, frames, n);
    if (rc != ACTORS_OK) {
        for (int i = 0; i < n; i++) {
            zmq_msg_close(&frames[i]);
        }
    }
    self->last_sent_ms = s_now_ms();
    return rc;
}

static void
s_on_node_answer(
    link_t *self, const actors__hdr_t *hdr, zmq_msg_t *frames, int nframes)
{
    if (hdr->cmd == ACTORS_CMD_ERROR) {
        actors_error_t *e = NULL;
        if (nframes >= 2 && actors__error_parse(zmq_msg_data(&frames[1]),
                                zmq_msg_size(&frames[1]), &e) == ACTORS_OK) {
            ACTORS_LOG(ACTORS_LOG_ERR, "SUP-NODE-REFUSED", "node=%s %s: %s",
                self->node, actors_error_type(e), actors_error_message(e));
            actors_error_destroy(&e);
        }
        return;
    }
    if (nframes >= 2) {
        msgpack_unpacked up;
        msgpack_unpacked_init(&up);
        if (actors__unpack_next(&up, zmq_msg_data(&frames[1]),
                zmq_msg_size(&frames[1]), NULL) == MSGPACK_UNPACK_SUCCESS) {
            int64_t v = 0;
            if (actors_value_int(actors_map_get(&up.data, "heartbeat_ms"),
                    &v) == ACTORS_OK &&
                v > 0 && v < 3600000) {
                self->heartbeat_ms = (uint32_t)v;
            }
            if (actors_value_int(actors_map_get(&up.data, "liveness"), &v) ==
                    ACTORS_OK &&
                v > 0 && v < 1000) {
                self->liveness = (uint32_t)v;
            }
        }
        msgpack_unpacked_destroy(&up);
    }
    self->registered = true;
    self->resync = true;
    s_flush(self);
    ACTORS_LOG(ACTORS_LOG_NOTICE, "SUP-NODE-REGISTERED",
        "node=%s broker=%s heartbeat_ms=%u", self->node, self->endpoint,
        self->heartbeat_ms);
}

static void
s_hook(void *arg, const actors__hdr_t *hdr, zmq_msg_t *frames, int nframes)
{
    link_t *self = arg;
    self->last_heard_ms = s_now_ms();
    if ((hdr->cmd == ACTORS_CMD_REPLY || hdr->cmd == ACTORS_CMD_ERROR) &&
        hdr->id_len == strlen(LINK_NODE_ID) &&
        memcmp(hdr->id, LINK_NODE_ID, hdr->id_len) == 0) {
        s_on_node_answer(self, hdr, frames, nframes);
        return;
    }
    if ((hdr->cmd == ACTORS_CMD_REPLY || hdr->cmd == ACTORS_CMD_ERROR) &&
        hdr->id_len == strlen(LINK_DRAIN_ID) &&
        memcmp(hdr->id, LINK_DRAIN_ID, hdr->id_len) == 0) {
        self->drained = true; /* an ERROR: an older broker; go on */
        return;
    }
    if (hdr->cmd == ACTORS_CMD_REPLY && hdr->id_len > 2 &&
        memcmp(hdr->id, "b:", 2) == 0) {
        char token[ACTORS_WIRE_ID_MAX + 1];
        memcpy(token, hdr->id + 2, hdr->id_len - 2);
        token[hdr->id_len - 2] = '\0';
        if (self->barrier_fn != NULL) {
            self->barrier_fn(self->barrier_arg, token);
        }
        return;
    }
    if (hdr->cmd != ACTORS_CMD_SPAWN && hdr->cmd != ACTORS_CMD_KILL) {
        return; /* HEARTBEAT, or answers nobody waits for */
    }
    if (nframes < 3 || zmq_msg_size(&frames[1]) == 0 ||
        zmq_msg_size(&frames[1]) > ACTORS_WIRE_NAME_MAX) {
        link_error(self, hdr->id, hdr->id_len, ACTORS_EBADREQ,
            "SPAWN/KILL needs an address and a map");
        return;
    }
    char address[ACTORS_WIRE_NAME_MAX + 1];
    size_t alen = zmq_msg_size(&frames[1]);
    memcpy(address, zmq_msg_data(&frames[1]), alen);
    address[alen] = '\0';
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    if (actors__unpack_next(&up, zmq_msg_data(&frames[2]),
            zmq_msg_size(&frames[2]), NULL) != MSGPACK_UNPACK_SUCCESS) {
        msgpack_unpacked_destroy(&up);
        link_error(self, hdr->id, hdr->id_len, ACTORS_EMSGPACK,
            "the map is not msgpack");
        return;
    }
    char claim[CHILD_CLAIM_MAX + 1] = "";
    if (hdr->cmd == ACTORS_CMD_SPAWN && nframes >= 4 &&
        zmq_msg_size(&frames[3]) <= CHILD_CLAIM_MAX) {
        memcpy(claim, zmq_msg_data(&frames[3]), zmq_msg_size(&frames[3]));
        claim[zmq_msg_size(&frames[3])] = '\0';
    }
    self->fn(
        self->arg, hdr->cmd, hdr->id, hdr->id_len, address, &up.data, claim);
    msgpack_unpacked_destroy(&up);
}

/* s_flush sends the events kept while the node was not registered. */
static void
s_flush(link_t *self)
{
    for (int i = 0; i < self->nbacklog; i++) {
        s_send(self, ACTORS_CMD_EVENT, NULL, 0,
            actors_msg_data(self->backlog[i]),
            actors_msg_size(self->backlog[i]), NULL, 0, 1);
        actors_msg_destroy(&self->backlog[i]);
    }
    self->nbacklog = 0;
}

static actors_err
s_send_node(link_t *self)
{
    actors_msg_t *info = NULL;
    actors_err rc = actors_msg_build(
        &info, "{sssi}", "node", self->node, "pid", (int)getpid());
    if (rc == ACTORS_OK) {
        rc = s_send(self, ACTORS_CMD_NODE, LINK_NODE_ID, strlen(LINK_NODE_ID),
            actors_msg_data(info), actors_msg_size(info), NULL, 0, 1);
    }
    actors_msg_destroy(&info);
    self->node_sent_ms = s_now_ms();
    return rc;
}

static actors_err
s_connect(link_t *self)
{
    if (self->client != NULL) {
        /* The old socket's queue (NODEs sent while the broker could not
         * be reached, e.g. its name did not resolve yet) must not reach
         * the broker later: it would register this node on a connection
         * that is about to vanish, and the broker would refuse the name
         * to the new one. */
        int zero = 0;
        zmq_setsockopt(actors__client_socket(self->client), ZMQ_LINGER, &zero,
            sizeof zero);
    }
    actors_client_destroy(&self->client);
    actors_err rc = actors_client_create(&self->client, self->endpoint);
    if (rc != ACTORS_OK) {
        return rc;
    }
    actors__client_set_hook(self->client, s_hook, self);
    self->registered = false;
    self->last_heard_ms = s_now_ms();
    return s_send_node(self);
}

actors_err
link_create(link_t **out, const char *endpoint, const char *node,
    link_request_fn fn, void *arg)
{
    assert(out);
    assert(endpoint);
    assert(node);
    assert(fn);
    *out = NULL;
    link_t *self = calloc(1, sizeof *self);
    if (self == NULL) {
        return ACTORS_ENOMEM;
    }
    self->endpoint = strdup(endpoint);
    self->node = strdup(node);
    self->fn = fn;
    self->arg = arg;
    self->heartbeat_ms = LINK_HEARTBEAT_MS;
    self->liveness = LINK_LIVENESS;
    actors_err rc =
        (self->endpoint && self->node) ? s_connect(self) : ACTORS_ENOMEM;
    if (rc != ACTORS_OK) {
        link_destroy(&self);
        return rc;
    }
    *out = self;
    return ACTORS_OK;
}

void
link_destroy(link_t **self_p)
{
    assert(self_p);
    link_t *self = *self_p;
    if (self == NULL) {
        return;
    }
    actors_client_destroy(&self->client);
    for (int i = 0; i < self->nbacklog; i++) {
        actors_msg_destroy(&self->backlog[i]);
    }
    free(self->endpoint);
    free(self->node);
    free(self);
    *self_p = NULL;
}

void *
link_socket(link_t *self)
{
    assert(self);
    return actors__client_socket(self->client);
}

void
link_process(link_t *self)
{
    assert(self);
    actors_client_poll(self->client, 0);
}

bool
link_tick(link_t *self, uint64_t now_ms)
{
    assert(self);
    uint64_t silence = (uint64_t)self->heartbeat_ms * self->liveness;
    if (now_ms - self->last_heard_ms > silence) {
        ACTORS_LOG(ACTORS_LOG_WARN, "SUP-BROKER-SILENT",
            "node=%s broker=%s silent for %llu ms; reconnecting%s", self->node,
            self->endpoint, (unsigned long long)(now_ms - self->last_heard_ms),
            actors_security_enabled()
                ? " (with CURVE: is this node's key in the broker's "
                  "allowlist, and --broker-key its public key?)"
                : "");
        s_connect(self);
    } else if (!self->registered &&
               now_ms - self->node_sent_ms >= self->heartbeat_ms) {
        s_send_node(self);
    } else if (now_ms - self->last_sent_ms >= self->heartbeat_ms) {
        s_send(self, ACTORS_CMD_HEARTBEAT, NULL, 0, NULL, 0, NULL, 0, 0);
    }
    bool resync = self->resync;
    self->resync = false;
    return resync;
}

int
link_timeout_ms(const link_t *self, uint64_t now_ms)
{
    assert(self);
    uint64_t due = self->last_sent_ms + self->heartbeat_ms;
    return due <= now_ms ? 0 : (int)(due - now_ms);
}

void
link_set_barrier_fn(link_t *self, link_barrier_fn fn, void *arg)
{
    assert(self);
    self->barrier_fn = fn;
    self->barrier_arg = arg;
}

bool
link_barrier(link_t *self, const char *token)
{
    assert(self);
    assert(token);
    size_t n = strlen(token);
    if (!self->registered || n == 0 || n > 200) {
        return false;
    }
    char id[2 + 200];
    memcpy(id, "b:", 2);
    memcpy(id + 2, token, n);
    return s_send(self, ACTORS_CMD_PING, id, n + 2, NULL, 0, NULL, 0, 0) ==
           ACTORS_OK;
}

bool
link_drain(link_t *self)
{
    assert(self);
    if (!self->registered) {
        return false;
    }
    return s_send(self, ACTORS_CMD_DRAIN, LINK_DRAIN_ID, strlen(LINK_DRAIN_ID),
               NULL, 0, NULL, 0, 0) == ACTORS_OK;
}

bool
link_is_drained(const link_t *self)
{
    assert(self);
    return self->drained;
}

bool
link_is_registered(const link_t *self)
{
    assert(self);
    return self->registered;
}

/* s_group_state tells the broker that this node places members of the
 * group at spec's address, which show claim (STATE with "group": true). */
static actors_err
s_group_state(link_t *self, const child_spec_t *spec, const char *claim)
{
    actors_msg_t *m = NULL;
    actors_err rc = actors_msg_create(&m);
    if (rc == ACTORS_OK) {
        rc = actors_msg_add_map(m, 4);
    }
    const char *keys[] = {"state", "node", "claim"};
    const char *vals[] = {"starting", self->node, claim ? claim : ""};
    for (int i = 0; rc == ACTORS_OK && i < 3; i++) {
        rc = actors_msg_add_str(m, keys[i]);
        if (rc == ACTORS_OK) {
            rc = actors_msg_add_str(m, vals[i]);
        }
    }
    if (rc == ACTORS_OK) {
        rc = actors_msg_add_str(m, "group");
    }
    if (rc == ACTORS_OK) {
        rc = actors_msg_add_bool(m, true);
    }
    if (rc == ACTORS_OK) {
        rc = s_send(self, ACTORS_CMD_STATE, NULL, 0, spec->address,
            strlen(spec->address), actors_msg_data(m), actors_msg_size(m), 2);
    }
    actors_msg_destroy(&m);
    return rc;
}

actors_err
link_state(link_t *self, const child_spec_t *spec, const char *state, int pid,
    int restarts, const char *cause, const char *claim, bool home)
{
    assert(self);
    assert(spec);
    assert(state);
    if (!self->registered) {
        return ACTORS_OK; /* all states are sent again on registration */
    }
    if (spec->member) {
        /* A group's member is not the address's only process: its losses
         * are the group's (PROTOCOL.md, "Groups"), not a restart of the
         * address. The broker learns only that this node places members
         * of the group, and the claim they show. */
        return s_group_state(self, spec, claim);
    }
    bool with_spec = strcmp(state, "starting") == 0;
    actors_msg_t *m = NULL;
    actors_err rc = actors_msg_create(&m);
    if (rc == ACTORS_OK) {
        rc = actors_msg_add_map(m, home ? 9 : 8);
    }
    const char *skeys[] = {"state", "node", "cause", "claim"};
    const char *svals[] = {
        state, self->node, cause ? cause : "", claim ? claim : ""};
    for (int i = 0; rc == ACTORS_OK && i < 4; i++) {
        rc = actors_msg_add_str(m, skeys[i]);
        if (rc == ACTORS_OK) {
            rc = actors_msg_add_str(m, svals[i]);
        }
    }
    const char *ikeys[] = {"pid", "restarts", "max_task_retries"};
    int64_t ivals[] = {pid, restarts, spec->policy.max_task_retries};
    for (int i = 0; rc == ACTORS_OK && i < 3; i++) {
        rc = actors_msg_add_str(m, ikeys[i]);
        if (rc == ACTORS_OK) {
            rc = actors_msg_add_int(m, ivals[i]);
        }
    }
    if (rc == ACTORS_OK && home) {
        rc = actors_msg_add_str(m, "home");
        if (rc == ACTORS_OK) {
            rc = actors_msg_add_bool(m, true);
        }
    }
    if (rc == ACTORS_OK) {
        rc = actors_msg_add_str(m, "spec");
    }
    if (rc == ACTORS_OK) {
        rc = with_spec ? spec_encode(m, spec) : actors_msg_add_nil(m);
    }
    if (rc == ACTORS_OK) {
        rc = s_send(self, ACTORS_CMD_STATE, NULL, 0, spec->address,
            strlen(spec->address), actors_msg_data(m), actors_msg_size(m), 2);
    }
    actors_msg_destroy(&m);
    return rc;
}

actors_err
link_event(link_t *self, const char *kind, const char *address, int pid,
    int restarts, const char *cause)
{
    assert(self);
    actors_msg_t *m = NULL;
    actors_err rc = actors_msg_build(&m, "{sIsssssssisiss}", "id",
        (int64_t)++self->event_id, "node", self->node, "kind", kind, "address",
        address, "pid", pid, "restarts", restarts, "cause", cause ? cause : "");
    if (rc == ACTORS_OK && !self->registered) {
        /* Kept for the broker, which will want the node's whole story. */
        if (self->nbacklog == LINK_BACKLOG) {
            actors_msg_destroy(&self->backlog[0]);
            memmove(&self->backlog[0], &self->backlog[1],
                (LINK_BACKLOG - 1) * sizeof self->backlog[0]);
            self->nbacklog--;
        }
        self->backlog[self->nbacklog++] = m;
        return ACTORS_OK;
    }
    if (rc == ACTORS_OK) {
        rc = s_send(self, ACTORS_CMD_EVENT, NULL, 0, actors_msg_data(m),
            actors_msg_size(m), NULL, 0, 1);
    }
    actors_msg_destroy(&m);
    return rc;
}

actors_err
link_reply(link_t *self, const void *id, size_t id_len, actors_msg_t **value_p)
{
    assert(self);
    actors_msg_t *empty = NULL;
    const actors_msg_t *v = value_p ? *value_p : NULL;
    if (v == NULL) {
        actors_err rc = actors_msg_build(&empty, "{}");
        if (rc != ACTORS_OK) {
            return rc;
        }
        v = empty;
    }
    actors_err rc = s_send(self, ACTORS_CMD_REPLY, id, id_len,
        actors_msg_data(v), actors_msg_size(v), NULL, 0, 1);
    actors_msg_destroy(&empty);
    if (value_p != NULL) {
        actors_msg_destroy(value_p);
    }
    return rc;
}

actors_err
link_error(link_t *self, const void *id, size_t id_len, actors_err code,
    const char *message)
{
    assert(self);
    actors_msg_t *m = NULL;
    actors_err rc = actors_msg_create(&m);
    if (rc == ACTORS_OK) {
        rc = actors__error_body(m, code, NULL, message, NULL);
    }
    if (rc == ACTORS_OK) {
        rc = s_send(self, ACTORS_CMD_ERROR, id, id_len, actors_msg_data(m),
            actors_msg_size(m), NULL, 0, 1);
    }
    actors_msg_destroy(&m);
    return rc;
}
