/* bench/actors-bench/raw.c - the limit: raw libzmq drivers and the worker.
 * SPDX-License-Identifier: MIT
 *
 * raw:    client DEALER -> actors-rawbroker ROUTER -> worker DEALER.
 *         The client sends [worker-id][kind][payload] and gets
 *         [worker-id][payload] back; kind is "c" (call) or "t" (tell).
 * direct: client DEALER -> worker ROUTER, no broker: [kind][payload] and
 *         [payload] back. Fan-out uses one DEALER per worker.
 * The worker sees [peer-id][kind][payload] in both cases and echoes
 * [peer-id][payload] for a call, moving the frames without a copy. No
 * msgpack and no header anywhere: this is what the real broker, client
 * and actor runtime add their cost to.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "bench.h"

#define ID_LEN 16

struct bench_conn {
    void *ctx;             /* one context per connection (thread) */
    bool routed;           /* true: through the raw broker */
    int nsock;             /* 1 when routed; a DEALER per worker else */
    void **sock;           /* DEALERs */
    zmq_pollitem_t *items; /* for recv, one per socket */
};

static void
s_sockopts(void *sock)
{
    int zero = 0;
    zmq_setsockopt(sock, ZMQ_SNDHWM, &zero, sizeof zero);
    zmq_setsockopt(sock, ZMQ_RCVHWM, &zero, sizeof zero);
    zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero);
}

static void
s_close(bench_conn_t **c_p)
{
    bench_conn_t *c = *c_p;
    if (!c) {
        return;
    }
    for (int i = 0; i < c->nsock; i++) {
        zmq_close(c->sock[i]);
    }
    if (c->ctx) {
        zmq_ctx_term(c->ctx);
    }
    free(c->sock);
    free(c->items);
    free(c);
    *c_p = NULL;
}

static actors_err
s_open(void *env, bool routed, bench_conn_t **out)
{
    bench_env_t *e = env;
    *out = NULL;
    bench_conn_t *c = calloc(1, sizeof *c);
    if (!c) {
        return ACTORS_ENOMEM;
    }
    c->routed = routed;
    int n = routed ? 1 : bench_env_nworkers(e);
    c->ctx = zmq_ctx_new();
    c->sock = calloc((size_t)(n > 0 ? n : 1), sizeof *c->sock);
    c->items = calloc((size_t)(n > 0 ? n : 1), sizeof *c->items);
    if (!c->ctx || !c->sock || !c->items) {
        s_close(&c);
        return ACTORS_ENOMEM;
    }
    /* A direct fan-out has a DEALER per worker: more than the default
     * 1023 sockets of a context at 1000 workers. */
    zmq_ctx_set(c->ctx, ZMQ_MAX_SOCKETS, n + 64);
    for (int i = 0; i < n; i++) {
        void *s = zmq_socket(c->ctx, ZMQ_DEALER);
        if (!s) {
            s_close(&c);
            return ACTORS_EIO;
        }
        s_sockopts(s);
        c->sock[c->nsock++] = s;
        const char *ep =
            routed ? bench_env_endpoint(e) : bench_env_worker_endpoint(e, i);
        if (zmq_connect(s, ep) != 0) {
            s_close(&c);
            return ACTORS_EIO;
        }
        c->items[i] = (zmq_pollitem_t){.socket = s, .events = ZMQ_POLLIN};
    }
    *out = c;
    return ACTORS_OK;
}

static actors_err
s_open_raw(void *env, bench_conn_t **out)
{
    return s_open(env, true, out);
}

static actors_err
s_open_direct(void *env, bench_conn_t **out)
{
    return s_open(env, false, out);
}

static actors_err
s_send(
    bench_conn_t *c, int target, const char *kind, const void *buf, size_t len)
{
    void *s = c->sock[c->routed ? 0 : target % c->nsock];
    if (c->routed) {
        char id[ID_LEN];
        int n = snprintf(id, sizeof id, "w%d", target);
        if (zmq_send(s, id, (size_t)n, ZMQ_SNDMORE) < 0) {
            return ACTORS_EIO;
        }
    }
    if (zmq_send(s, kind, 1, ZMQ_SNDMORE) < 0 || zmq_send(s, buf, len, 0) < 0) {
        return ACTORS_EIO;
    }
    return ACTORS_OK;
}

static actors_err
s_call(bench_conn_t *c, int target, const void *buf, size_t len)
{
    return s_send(c, target, "c", buf, len);
}

static actors_err
s_tell(bench_conn_t *c, int target, const void *buf, size_t len)
{
    return s_send(c, target, "t", buf, len);
}

/* s_read_all reads every whole message waiting on sock; returns the count
 * or -1 on error. */
static int
s_read_all(void *sock)
{
    int count = 0;
    zmq_msg_t m;
    zmq_msg_init(&m);
    for (;;) {
        if (zmq_msg_recv(&m, sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            return zmq_errno() == EAGAIN ? count : -1;
        }
        /* the rest of a message is already there: read it blocking */
        while (zmq_msg_more(&m)) {
            if (zmq_msg_recv(&m, sock, 0) < 0) {
                zmq_msg_close(&m);
                return -1;
            }
        }
        count++;
    }
}

static actors_err
s_recv(bench_conn_t *c, int timeout_ms, int *n)
{
    *n = 0;
    int rc = zmq_poll(c->items, c->nsock, timeout_ms);
    if (rc < 0) {
        return ACTORS_EIO;
    }
    for (int i = 0; i < c->nsock; i++) {
        if (c->items[i].revents & ZMQ_POLLIN) {
            int got = s_read_all(c->sock[i]);
            if (got < 0) {
                return ACTORS_EIO;
            }
            *n += got;
        }
    }
    return *n > 0 ? ACTORS_OK : ACTORS_ETIMEDOUT;
}

static long
s_errors(const bench_conn_t *c)
{
    (void)c;
    return 0;
}

/* s_ready_reply reads the replies waiting on socket i; a routed reply
 * names its worker in its first frame ("w<N>"), a direct one comes on
 * the worker's own socket. */
static actors_err
s_ready_reply(bench_conn_t *c, int i, int n, bool *ready)
{
    zmq_msg_t m;
    zmq_msg_init(&m);
    for (;;) {
        if (zmq_msg_recv(&m, c->sock[i], ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            return zmq_errno() == EAGAIN ? ACTORS_OK : ACTORS_EIO;
        }
        int w = i;
        if (c->routed) {
            char id[ID_LEN] = "";
            size_t len = zmq_msg_size(&m);
            if (len > 1 && len < sizeof id) {
                memcpy(id, zmq_msg_data(&m), len);
                w = id[0] == 'w' ? atoi(id + 1) : -1;
            } else {
                w = -1;
            }
        }
        while (zmq_msg_more(&m)) {
            if (zmq_msg_recv(&m, c->sock[i], 0) < 0) {
                zmq_msg_close(&m);
                return ACTORS_EIO;
            }
        }
        if (w >= 0 && w < n) {
            ready[w] = true;
        }
    }
}

/* s_ready pings every worker not yet ready and collects the echoes. The
 * raw broker drops what it cannot route: a worker not yet connected just
 * stays silent until the next round. */
static actors_err
s_ready(bench_conn_t *c, int n, bool *ready, int timeout_ms)
{
    int want = 0;
    for (int i = 0; i < n; i++) {
        if (!ready[i]) {
            if (!c->routed && i >= c->nsock) {
                return ACTORS_EINVAL;
            }
            if (s_send(c, i, "c", "ping", 4) != ACTORS_OK) {
                return ACTORS_EIO;
            }
            want++;
        }
    }
    uint64_t deadline = bench_now_ns() + (uint64_t)timeout_ms * 1000000u;
    while (want > 0) {
        uint64_t now = bench_now_ns();
        if (now >= deadline) {
            break;
        }
        int left = (int)((deadline - now) / 1000000u) + 1;
        if (zmq_poll(c->items, c->nsock, left) < 0) {
            return ACTORS_EIO;
        }
        for (int i = 0; i < c->nsock; i++) {
            if ((c->items[i].revents & ZMQ_POLLIN) &&
                s_ready_reply(c, i, n, ready) != ACTORS_OK) {
                return ACTORS_EIO;
            }
        }
        want = 0;
        for (int i = 0; i < n; i++) {
            want += !ready[i];
        }
    }
    return ACTORS_OK;
}

const bench_driver_t bench_raw_driver = {
    .name = "raw",
    .open = s_open_raw,
    .call = s_call,
    .tell = s_tell,
    .recv = s_recv,
    .close = s_close,
    .errors = s_errors,
    .ready = s_ready,
};

const bench_driver_t bench_direct_driver = {
    .name = "direct",
    .open = s_open_direct,
    .call = s_call,
    .tell = s_tell,
    .recv = s_recv,
    .close = s_close,
    .errors = s_errors,
    .ready = s_ready,
};

/* ---- the worker ------------------------------------------------------ */

static volatile sig_atomic_t s_stop;

static void
s_on_signal(int sig)
{
    (void)sig;
    s_stop = 1;
}

/* s_serve echoes calls until a signal: [peer][kind][payload] in,
 * [peer][payload] out for kind "c". */
static int
s_serve(void *sock)
{
    zmq_msg_t f[8];
    while (!s_stop) {
        int n = 0;
        int more = 1;
        while (more && n < 8) {
            zmq_msg_init(&f[n]);
            if (zmq_msg_recv(&f[n], sock, 0) < 0) {
                for (int i = 0; i <= n; i++) {
                    zmq_msg_close(&f[i]);
                }
                return zmq_errno() == EINTR || s_stop ? 0 : 1;
            }
            more = zmq_msg_more(&f[n]);
            n++;
        }
        bool is_call = n == 3 && zmq_msg_size(&f[1]) == 1 &&
                       *(const char *)zmq_msg_data(&f[1]) == 'c';
        if (is_call) {
            zmq_msg_send(&f[0], sock, ZMQ_SNDMORE);
            zmq_msg_send(&f[2], sock, 0);
        }
        for (int i = 0; i < n; i++) {
            zmq_msg_close(&f[i]);
        }
        while (more) { /* too many frames: not ours, drop */
            zmq_msg_t m;
            zmq_msg_init(&m);
            if (zmq_msg_recv(&m, sock, 0) < 0) {
                zmq_msg_close(&m);
                break;
            }
            more = zmq_msg_more(&m);
            zmq_msg_close(&m);
        }
    }
    return 0;
}

int
bench_worker_main(int argc, char **argv)
{
    const char *connect = NULL;
    const char *bind = NULL;
    const char *id = NULL;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--connect") == 0 && i + 1 < argc) {
            connect = argv[++i];
        } else if (strcmp(argv[i], "--bind") == 0 && i + 1 < argc) {
            bind = argv[++i];
        } else if (strcmp(argv[i], "--id") == 0 && i + 1 < argc) {
            id = argv[++i];
        } else {
            fprintf(stderr, "usage: actors-bench --worker "
                            "(--connect EP --id ID | --bind EP)\n");
            return 2;
        }
    }
    if ((connect == NULL) == (bind == NULL) || (connect && !id)) {
        fprintf(stderr, "actors-bench --worker: need --connect EP --id ID "
                        "or --bind EP\n");
        return 2;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    void *ctx = zmq_ctx_new();
    void *sock = zmq_socket(ctx, connect ? ZMQ_DEALER : ZMQ_ROUTER);
    s_sockopts(sock);
    int rc;
    if (connect) {
        zmq_setsockopt(sock, ZMQ_ROUTING_ID, id, strlen(id));
        rc = zmq_connect(sock, connect);
        if (rc == 0) {
            zmq_send(sock, "", 0, 0); /* hello: the forwarder drops it */
        }
    } else {
        rc = zmq_bind(sock, bind);
        if (rc == 0) {
            char ep[256];
            size_t len = sizeof ep;
            zmq_getsockopt(sock, ZMQ_LAST_ENDPOINT, ep, &len);
            printf("ENDPOINT %s\n", ep);
            fflush(stdout);
        }
    }
    if (rc != 0) {
        fprintf(stderr, "actors-bench --worker: %s: %s\n",
            connect ? connect : bind, zmq_strerror(zmq_errno()));
        zmq_close(sock);
        zmq_ctx_term(ctx);
        return 1;
    }
    int status = s_serve(sock);
    zmq_close(sock);
    zmq_ctx_term(ctx);
    return status;
}
