/* bench/actors-bench/pubsub.c - events: our broker's PUBLISH/SUBSCRIBE
 * against a raw libzmq XPUB/XSUB proxy doing the same fan-out.
 * SPDX-License-Identifier: MIT
 *
 * Ours: actors-broker with an event stream (--stream-bind); N
 * subscribers are DEALER connections that SUBSCRIBE "bench.>" on the
 * stream (PROTOCOL.md, "Event streams": a SUB socket each redeems its
 * ticket and reads the events there; at most once, as SUB sockets are);
 * the publisher is a DEALER sending fire-and-forget PUBLISH of a 16-byte
 * body (the topic in its header, as libactors sends it). Ours also
 * without the stream ("router": each event sent to each subscriber's
 * DEALER as a PUBLICATION). Raw: a process forked from this program runs
 * zmq_proxy(XSUB, XPUB); N SUB sockets subscribe "bench."; the publisher
 * is a PUB. High-water marks are unlimited on the raw side and the
 * broker's max_queued (10000) is above the window, so nothing is dropped
 * on either. Besides events/s, the CPU the broker (or the proxy) spent
 * per event published, read from /proc around the timed part.
 *
 * Throughput: the one thread publishes a window of W events, then reads
 * until every subscriber has all of them, and again, for `seconds`:
 * events/s delivered = N * events / time. Same loop, same thread, same
 * sockets on both systems. Latency: one subscriber, one event at a time,
 * from the send to its receipt in the same process.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <msgpack.h>
#include <zmq.h>

#include "bench.h"
#include <actors-internal/wire.h>

#define S_WINDOW 256
#define S_MAX_SUBS 128

/* s_unbounded lifts a proxy socket's high-water marks both ways: events
 * down, and subscriptions up (an XSUB or SUB drops a subscription its
 * full pipe cannot take, and thousands are sent at once). */
static void
s_unbounded(void *k)
{
    int zero = 0;
    zmq_setsockopt(k, ZMQ_SNDHWM, &zero, sizeof zero);
    zmq_setsockopt(k, ZMQ_RCVHWM, &zero, sizeof zero);
}

/* s_proxy_main is the raw system: an XSUB/XPUB proxy on loopback. */
static int
s_proxy_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    void *ctx = zmq_ctx_new();
    void *xsub = zmq_socket(ctx, ZMQ_XSUB);
    void *xpub = zmq_socket(ctx, ZMQ_XPUB);
    s_unbounded(xsub);
    s_unbounded(xpub);
    if (zmq_bind(xsub, "tcp://127.0.0.1:*") != 0 ||
        zmq_bind(xpub, "tcp://127.0.0.1:*") != 0) {
        return 1;
    }
    char a[128];
    char b[128];
    size_t n = sizeof a;
    zmq_getsockopt(xsub, ZMQ_LAST_ENDPOINT, a, &n);
    n = sizeof b;
    zmq_getsockopt(xpub, ZMQ_LAST_ENDPOINT, b, &n);
    printf("ENDPOINT %s,%s\n", a, b);
    fflush(stdout);
    zmq_proxy(xsub, xpub, NULL);
    return 0;
}

/* The proxy as a thread, when this program cannot fork (it has threads
 * already): the endpoint it bound, for the caller to poll. The thread
 * runs until the process exits. */
static pthread_mutex_t s_proxy_lock = PTHREAD_MUTEX_INITIALIZER;
static char s_proxy_ep[300];

static void *
s_proxy_thread(void *arg)
{
    (void)arg;
    void *ctx = zmq_ctx_new();
    void *xsub = zmq_socket(ctx, ZMQ_XSUB);
    void *xpub = zmq_socket(ctx, ZMQ_XPUB);
    s_unbounded(xsub);
    s_unbounded(xpub);
    if (zmq_bind(xsub, "tcp://127.0.0.1:*") != 0 ||
        zmq_bind(xpub, "tcp://127.0.0.1:*") != 0) {
        return NULL;
    }
    char a[128];
    char b[128];
    size_t n = sizeof a;
    zmq_getsockopt(xsub, ZMQ_LAST_ENDPOINT, a, &n);
    n = sizeof b;
    zmq_getsockopt(xpub, ZMQ_LAST_ENDPOINT, b, &n);
    pthread_mutex_lock(&s_proxy_lock);
    snprintf(s_proxy_ep, sizeof s_proxy_ep, "%s,%s", a, b);
    pthread_mutex_unlock(&s_proxy_lock);
    zmq_proxy(xsub, xpub, NULL);
    return NULL;
}

enum { S_STREAM = 0, S_RAW = 1, S_ROUTER = 2 };

typedef struct {
    void *ctx;
    void *pub;
    void *subs[S_MAX_SUBS]; /* where events are read */
    void *ctl[S_MAX_SUBS];  /* S_STREAM: the DEALER that subscribed */
    int nsubs;
    bool ours;
} s_sys_t;

static void *
s_sock(s_sys_t *s, int type, const char *ep)
{
    void *k = zmq_socket(s->ctx, type);
    int zero = 0;
    zmq_setsockopt(k, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(k, ZMQ_SNDHWM, &zero, sizeof zero);
    zmq_setsockopt(k, ZMQ_RCVHWM, &zero, sizeof zero);
    if (zmq_connect(k, ep) != 0) {
        zmq_close(k);
        return NULL;
    }
    return k;
}

static const uint8_t s_body[16] = {0xc4, 14}; /* msgpack bin of 14 bytes */

/* s_publish sends one event on topic. */
static int
s_publish(s_sys_t *s, const char *topic)
{
    if (s->ours) {
        uint8_t h[ACTORS_WIRE_HDR_MIN + 1 + ACTORS_WIRE_NAME_MAX];
        size_t hl = actors__hdr_write(h, ACTORS_CMD_PUBLISH, 0, NULL, 0);
        size_t tl = strlen(topic);
        hl += actors__hdr_topic_write(h + hl, topic, tl);
        if (zmq_send(s->pub, h, hl, ZMQ_SNDMORE) < 0) {
            return -1;
        }
    } else if (zmq_send(s->pub, topic, strlen(topic), ZMQ_SNDMORE) < 0) {
        return -1;
    }
    return zmq_send(s->pub, s_body, sizeof s_body, 0) < 0 ? -1 : 0;
}

/* s_drain reads every whole message waiting on sub; returns how many
 * were events (ours: PUBLICATION; raw: any). */
static int
s_drain(s_sys_t *s, void *sub)
{
    int n = 0;
    for (;;) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, sub, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            return n;
        }
        bool event = !s->ours || (zmq_msg_size(&m) >= ACTORS_WIRE_HDR_MIN &&
                                     ((const uint8_t *)zmq_msg_data(&m))[4] ==
                                         ACTORS_CMD_PUBLICATION);
        while (zmq_msg_more(&m)) {
            zmq_msg_close(&m);
            zmq_msg_init(&m);
            zmq_msg_recv(&m, sub, 0);
        }
        zmq_msg_close(&m);
        n += event;
    }
}

/* s_wait_each reads until every subscriber got `want` events (counts in
 * got[]) or timeout_ms passes. Returns true if all did. */
static bool
s_wait_each(s_sys_t *s, int *got, int want, int timeout_ms)
{
    zmq_pollitem_t items[S_MAX_SUBS];
    uint64_t end = bench_now_ns() + (uint64_t)timeout_ms * 1000000u;
    for (;;) {
        int left = 0;
        for (int i = 0; i < s->nsubs; i++) {
            left += got[i] < want;
        }
        if (left == 0) {
            return true;
        }
        uint64_t now = bench_now_ns();
        if (now >= end) {
            return false;
        }
        for (int i = 0; i < s->nsubs; i++) {
            items[i] = (zmq_pollitem_t){s->subs[i], 0, ZMQ_POLLIN, 0};
        }
        int ms = (int)((end - now) / 1000000u) + 1;
        if (zmq_poll(items, s->nsubs, ms) < 0 && errno != EINTR) {
            return false;
        }
        for (int i = 0; i < s->nsubs; i++) {
            if (items[i].revents & ZMQ_POLLIN) {
                got[i] += s_drain(s, s->subs[i]);
            }
        }
    }
}

/* s_open connects the publisher and n subscribers, and waits until the
 * subscriptions are in effect (ours: SUBSCRIBE answered; raw: a probe
 * reached every subscriber). */
/* s_redeem makes subscriber i's SUB from the answer to its SUBSCRIBE on
 * the stream (frames on ctl): connects it to the stream, subscribes the
 * pattern's prefix and the ticket's, and waits for the welcome. */
static bool
s_redeem(s_sys_t *s, int i, const char *pattern)
{
    zmq_pollitem_t it = {s->ctl[i], 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&it, 1, 5000) <= 0) {
        return false;
    }
    zmq_msg_t f[2];
    zmq_msg_init(&f[0]);
    zmq_msg_init(&f[1]);
    bool ok = zmq_msg_recv(&f[0], s->ctl[i], 0) >= 0 && zmq_msg_more(&f[0]) &&
              zmq_msg_recv(&f[1], s->ctl[i], 0) >= 0;
    char ep[256] = "";
    uint8_t ticket[64];
    size_t tlen = 0;
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    if (ok &&
        msgpack_unpack_next(&up, zmq_msg_data(&f[1]), zmq_msg_size(&f[1]),
            NULL) == MSGPACK_UNPACK_SUCCESS &&
        up.data.type == MSGPACK_OBJECT_MAP) {
        for (uint32_t k = 0; k < up.data.via.map.size; k++) {
            msgpack_object *key = &up.data.via.map.ptr[k].key;
            msgpack_object *v = &up.data.via.map.ptr[k].val;
            if (key->type != MSGPACK_OBJECT_STR) {
                continue;
            }
            if (key->via.str.size == 6 && v->type == MSGPACK_OBJECT_STR &&
                memcmp(key->via.str.ptr, "stream", 6) == 0 &&
                v->via.str.size < sizeof ep) {
                memcpy(ep, v->via.str.ptr, v->via.str.size);
                ep[v->via.str.size] = '\0';
            } else if (key->via.str.size == 6 &&
                       v->type == MSGPACK_OBJECT_BIN &&
                       memcmp(key->via.str.ptr, "ticket", 6) == 0 &&
                       v->via.bin.size <= sizeof ticket) {
                memcpy(ticket, v->via.bin.ptr, v->via.bin.size);
                tlen = v->via.bin.size;
            }
        }
    }
    msgpack_unpacked_destroy(&up);
    zmq_msg_close(&f[0]);
    zmq_msg_close(&f[1]);
    if (ep[0] == '\0' || tlen == 0) {
        return false;
    }
    s->subs[i] = s_sock(s, ZMQ_SUB, ep);
    if (s->subs[i] == NULL) {
        return false;
    }
    /* The pattern's prefix: a PUBLICATION header with no request id, up
     * to the pattern; the ticket's: a REPLY header whose id it is. */
    uint8_t pre[ACTORS_WIRE_HDR_MIN + 1 + 255];
    size_t plen = strlen(pattern);
    size_t n = actors__hdr_write(pre, ACTORS_CMD_PUBLICATION, 0, NULL, 0);
    pre[n++] = (uint8_t)plen;
    memcpy(pre + n, pattern, plen);
    zmq_setsockopt(s->subs[i], ZMQ_SUBSCRIBE, pre, n + plen);
    uint8_t th[ACTORS_WIRE_HDR_MIN + 64];
    size_t thl = actors__hdr_write(th, ACTORS_CMD_PUBLICATION, 0, ticket, tlen);
    zmq_setsockopt(s->subs[i], ZMQ_SUBSCRIBE, th, thl);
    it = (zmq_pollitem_t){s->subs[i], 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&it, 1, 5000) <= 0) {
        return false;
    }
    zmq_msg_t w;
    zmq_msg_init(&w);
    ok = zmq_msg_recv(&w, s->subs[i], 0) >= 0 && zmq_msg_size(&w) == thl &&
         memcmp(zmq_msg_data(&w), th, thl) == 0;
    while (zmq_msg_more(&w)) {
        zmq_msg_close(&w);
        zmq_msg_init(&w);
        zmq_msg_recv(&w, s->subs[i], 0);
    }
    zmq_msg_close(&w);
    return ok;
}

static bool
s_open(s_sys_t *s, int mode, const char *ep, int n)
{
    bool ours = mode != S_RAW;
    memset(s, 0, sizeof *s);
    s->ours = ours;
    s->ctx = zmq_ctx_new();
    char pub_ep[128];
    char sub_ep[128];
    snprintf(pub_ep, sizeof pub_ep, "%s", ep);
    snprintf(sub_ep, sizeof sub_ep, "%s", ep);
    char *comma = strchr(pub_ep, ',');
    if (comma != NULL) {
        *comma = '\0';
        snprintf(sub_ep, sizeof sub_ep, "%s", comma + 1);
    }
    s->pub = s_sock(s, ours ? ZMQ_DEALER : ZMQ_PUB, pub_ep);
    for (int i = 0; i < n; i++) {
        void *k = s_sock(s, ours ? ZMQ_DEALER : ZMQ_SUB, sub_ep);
        if (k == NULL) {
            return false;
        }
        if (mode == S_STREAM) {
            s->ctl[i] = k;
        } else {
            s->subs[i] = k;
        }
        s->nsubs++;
        if (ours) {
            uint8_t h[ACTORS_WIRE_HDR_MIN + 1];
            size_t hl = actors__hdr_write(h, ACTORS_CMD_SUBSCRIBE, 0, "s", 1);
            if (mode == S_STREAM) {
                h[5] |= ACTORS__FLAG_STREAM;
            }
            zmq_send(k, h, hl, ZMQ_SNDMORE);
            zmq_send(k, "bench.>", 7, 0);
            if (mode == S_STREAM && !s_redeem(s, i, "bench.>")) {
                return false;
            }
        } else {
            zmq_setsockopt(s->subs[i], ZMQ_SUBSCRIBE, "bench.", 6);
        }
    }
    if (s->pub == NULL) {
        return false;
    }
    int got[S_MAX_SUBS] = {0};
    if (mode == S_STREAM) {
        return true; /* each welcomed: every later event reaches it */
    }
    if (ours) {
        /* Each SUBSCRIBE's REPLY: read it (not an event). */
        for (int i = 0; i < n; i++) {
            zmq_pollitem_t it = {s->subs[i], 0, ZMQ_POLLIN, 0};
            if (zmq_poll(&it, 1, 5000) <= 0) {
                return false;
            }
            s_drain(s, s->subs[i]);
        }
        return true;
    }
    /* Raw: subscriptions travel to the proxy and on to the PUB: probe. */
    for (int round = 0; round < 500; round++) {
        s_publish(s, "bench.probe");
        if (s_wait_each(s, got, 1, 10)) {
            /* Let the last probes land, then forget them. */
            s_wait_each(s, got, 1 << 30, 50);
            return true;
        }
    }
    return false;
}

static void
s_close(s_sys_t *s)
{
    if (s->pub != NULL) {
        zmq_close(s->pub);
    }
    for (int i = 0; i < s->nsubs; i++) {
        if (s->subs[i] != NULL) {
            zmq_close(s->subs[i]);
        }
        if (s->ctl[i] != NULL) {
            zmq_close(s->ctl[i]);
        }
    }
    if (s->ctx != NULL) {
        zmq_ctx_term(s->ctx);
    }
    memset(s, 0, sizeof *s);
}

/* Subscriptions held by other connections that no event of the bench
 * matches: S_HELD_CONNS connections of S_HELD_PER each (the broker's
 * bound per subscriber; 65,536 in all, the broker's whole table). Ours:
 * DEALERs subscribing "s.K.I.>" over their connections; raw: SUBs
 * subscribing the prefixes "s.K.I.", which the proxy and the PUB keep. */
#define S_HELD_CONNS 64
#define S_HELD_PER 1024
#define S_HELD_WAIT_MS 60000

typedef struct {
    void *k[S_HELD_CONNS];
    int n;
} s_held_t;

/* s_held_ours sends connection k's SUBSCRIBEs and reads their answers. */
static bool
s_held_ours(void *k, int kk)
{
    uint8_t h[ACTORS_WIRE_HDR_MIN + 1];
    size_t hl = actors__hdr_write(h, ACTORS_CMD_SUBSCRIBE, 0, "d", 1);
    for (int i = 0; i < S_HELD_PER; i++) {
        char p[32];
        int pl = snprintf(p, sizeof p, "s.%d.%d.>", kk, i);
        if (zmq_send(k, h, hl, ZMQ_SNDMORE) < 0 ||
            zmq_send(k, p, (size_t)pl, 0) < 0) {
            return false;
        }
    }
    uint64_t end = bench_now_ns() + S_HELD_WAIT_MS * 1000000ull;
    for (int got = 0; got < S_HELD_PER;) {
        zmq_pollitem_t it = {k, 0, ZMQ_POLLIN, 0};
        if (bench_now_ns() >= end || zmq_poll(&it, 1, 1000) < 0) {
            return false;
        }
        zmq_msg_t m;
        zmq_msg_init(&m);
        while (zmq_msg_recv(&m, k, ZMQ_DONTWAIT) >= 0) {
            got += !zmq_msg_more(&m); /* a whole answer */
        }
        zmq_msg_close(&m);
    }
    return true;
}

/* s_held_raw waits until every SUB's subscriptions reached the PUB: each
 * subscribed "z.K." last, and a probe on it arrives once the ones before
 * it (the same pipe, in order) are in place. */
static bool
s_held_raw(s_sys_t *s, s_held_t *h)
{
    bool seen[S_HELD_CONNS] = {false};
    int left = h->n;
    uint64_t end = bench_now_ns() + S_HELD_WAIT_MS * 1000000ull;
    while (left > 0 && bench_now_ns() < end) {
        for (int kk = 0; kk < h->n; kk++) {
            char t[32];
            snprintf(t, sizeof t, "z.%d.probe", kk);
            if (!seen[kk]) {
                s_publish(s, t);
            }
        }
        zmq_pollitem_t it[S_HELD_CONNS];
        for (int kk = 0; kk < h->n; kk++) {
            it[kk] = (zmq_pollitem_t){h->k[kk], 0, ZMQ_POLLIN, 0};
        }
        zmq_poll(it, h->n, 10);
        for (int kk = 0; kk < h->n; kk++) {
            if ((it[kk].revents & ZMQ_POLLIN) && s_drain(s, h->k[kk]) > 0 &&
                !seen[kk]) {
                seen[kk] = true;
                left--;
            }
        }
    }
    if (left > 0) {
        fprintf(stderr, "actors-bench: %d of %d held SUBs not reached\n", left,
            h->n);
    }
    return left == 0;
}

/* s_held_open makes the held subscriptions beside system s (opened on
 * ep) and waits until they are in effect. */
static bool
s_held_open(s_held_t *h, s_sys_t *s, const char *ep)
{
    memset(h, 0, sizeof *h);
    char sub_ep[300];
    const char *comma = strchr(ep, ',');
    snprintf(sub_ep, sizeof sub_ep, "%.299s", comma != NULL ? comma + 1 : ep);
    for (int kk = 0; kk < S_HELD_CONNS; kk++) {
        void *k = s_sock(s, s->ours ? ZMQ_DEALER : ZMQ_SUB, sub_ep);
        if (k == NULL) {
            return false;
        }
        h->k[h->n++] = k;
        if (s->ours) {
            if (!s_held_ours(k, kk)) {
                return false;
            }
            continue;
        }
        for (int i = 0; i < S_HELD_PER; i++) {
            char p[32];
            int pl = snprintf(p, sizeof p, "s.%d.%d.", kk, i);
            zmq_setsockopt(k, ZMQ_SUBSCRIBE, p, (size_t)pl);
        }
        char z[32];
        int zl = snprintf(z, sizeof z, "z.%d.", kk);
        zmq_setsockopt(k, ZMQ_SUBSCRIBE, z, (size_t)zl);
    }
    return s->ours || s_held_raw(s, h);
}

static void
s_held_close(s_held_t *h)
{
    for (int kk = 0; kk < h->n; kk++) {
        zmq_close(h->k[kk]);
    }
    h->n = 0;
}

/* s_throughput runs the windowed fan-out loop for `seconds` and returns
 * the events delivered per second; *published: the events timed; *cpu_ns:
 * the CPU time process mid (the broker or the proxy; 0: none) spent in the
 * timed part, 0 if unknown. */
static double
s_throughput(
    s_sys_t *s, double seconds, int mid, uint64_t *published, uint64_t *cpu_ns)
{
    int got[S_MAX_SUBS] = {0};
    /* One window first, not timed, on every system: the first events
     * through fresh connections and a fresh process pay for page faults
     * and cold caches. */
    for (int i = 0; i < S_WINDOW; i++) {
        if (s_publish(s, "bench.events") != 0) {
            return -1;
        }
    }
    if (!s_wait_each(s, got, S_WINDOW, 10000)) {
        return -1;
    }
    memset(got, 0, sizeof got);
    uint64_t sent = 0;
    uint64_t c0 = mid > 0 ? bench_proc_cpu_ns(mid) : 0;
    uint64_t t0 = bench_now_ns();
    uint64_t end = t0 + (uint64_t)(seconds * 1e9);
    while (bench_now_ns() < end) {
        for (int i = 0; i < S_WINDOW; i++) {
            if (s_publish(s, "bench.events") != 0) {
                return -1;
            }
        }
        sent += S_WINDOW;
        if (!s_wait_each(s, got, (int)sent, 10000)) {
            return -1;
        }
    }
    double dt = (double)(bench_now_ns() - t0) / 1e9;
    uint64_t c1 = mid > 0 ? bench_proc_cpu_ns(mid) : 0;
    *cpu_ns = c1 > c0 && c0 > 0 ? c1 - c0 : 0;
    *published = sent;
    return (double)sent * s->nsubs / dt;
}

/* s_latency samples publish-to-receipt with one subscriber. */
static bool
s_latency(s_sys_t *s, double seconds, double *p50, double *p99)
{
    bench_samples_t sm = {0};
    int got[1] = {0};
    uint64_t end = bench_now_ns() + (uint64_t)(seconds * 1e9);
    bool ok = true;
    while (ok && bench_now_ns() < end && sm.n < 200000) {
        uint64_t t = bench_now_ns();
        int want = got[0] + 1;
        ok = s_publish(s, "bench.latency") == 0 &&
             s_wait_each(s, got, want, 5000);
        if (ok) {
            bench_samples_add(&sm, bench_now_ns() - t);
        }
    }
    if (ok && sm.n > 0) {
        bench_samples_sort(&sm);
        *p50 = bench_samples_pct(&sm, 50);
        *p99 = bench_samples_pct(&sm, 99);
    }
    bench_samples_free(&sm);
    return ok && *p50 >= 0;
}

void
bench_run_pubsub(const bench_pubsub_opts_t *o, bench_pubsub_result_t *r)
{
    int rounds = o->rounds < 1                     ? 1
                 : o->rounds > BENCH_PUBSUB_ROUNDS ? BENCH_PUBSUB_ROUNDS
                                                   : o->rounds;
    for (int k = 0; k < BENCH_PUBSUB_FANOUTS; k++) {
        for (int sys = 0; sys < 3; sys++) {
            for (int i = 0; i < BENCH_PUBSUB_ROUNDS; i++) {
                r->per_s[sys][k][i] = -1;
                r->cpu_us[sys][k][i] = -1;
            }
        }
    }
    for (int sys = 0; sys < 2; sys++) {
        r->p50_us[sys] = -1;
        r->p99_us[sys] = -1;
    }
    char ep[2][300] = {"", ""};
    int pid[2] = {-1, -1};
    char path[1024];
    snprintf(path, sizeof path, "%s/actors-broker", o->bin_dir);
    char *argv[] = {path, "--bind", "tcp://127.0.0.1:*", "--stream-bind",
        "tcp://127.0.0.1:*", NULL};
    if (bench_proc_spawn(argv, ep[0], sizeof ep[0], 10000, !o->verbose,
            &pid[0]) != ACTORS_OK) {
        pid[0] = -1;
    }
    int fd = -1;
    char *pargv[] = {"proxy", NULL};
    if (bench_proc_fork(s_proxy_main, 1, pargv, !o->verbose, &fd, &pid[1]) !=
            ACTORS_OK ||
        bench_proc_read_endpoint(fd, ep[1], sizeof ep[1], 10000) != ACTORS_OK) {
        /* Not forkable (this program has threads): a thread of ours. */
        pid[1] = -1;
        ep[1][0] = '\0';
        pthread_t th;
        if (pthread_create(&th, NULL, s_proxy_thread, NULL) == 0) {
            pthread_detach(th);
            uint64_t end = bench_now_ns() + 10000000000ull;
            while (bench_now_ns() < end) {
                pthread_mutex_lock(&s_proxy_lock);
                snprintf(ep[1], sizeof ep[1], "%s", s_proxy_ep);
                pthread_mutex_unlock(&s_proxy_lock);
                if (ep[1][0] != '\0') {
                    break;
                }
                struct timespec ts = {0, 1000000};
                nanosleep(&ts, NULL); /* poll for the thread's endpoint */
            }
        }
    }
    /* Alternate the systems per fan-out and round so they see the same
     * machine. The CPU of the process in the middle (broker or proxy) is
     * read around the timed part only. */
    for (int k = 0; k < BENCH_PUBSUB_FANOUTS; k++) {
        int n = o->fanouts[k];
        for (int i = 0; i < rounds; i++) {
            for (int sys = 0; sys < 3; sys++) {
                const char *e = ep[sys == S_RAW];
                int mid = pid[sys == S_RAW];
                s_sys_t s;
                if (e[0] != '\0' && n <= S_MAX_SUBS && s_open(&s, sys, e, n)) {
                    uint64_t sent = 0;
                    uint64_t cpu = 0;
                    double v = s_throughput(&s, o->seconds, mid, &sent, &cpu);
                    r->per_s[sys][k][i] = v;
                    if (v >= 0 && sent > 0 && cpu > 0) {
                        r->cpu_us[sys][k][i] = (double)cpu / 1e3 / (double)sent;
                    }
                }
                s_close(&s);
            }
        }
    }
    /* One subscriber, and the broker's (or the proxy's) table full of
     * subscriptions that the events do not match. */
    for (int sys = 0; sys < 2; sys++) {
        r->held_per_s[sys] = -1;
        r->held_cpu_us[sys] = -1;
        s_sys_t s;
        s_held_t h = {.n = 0};
        if (ep[sys][0] != '\0' && s_open(&s, sys, ep[sys], 1) &&
            s_held_open(&h, &s, ep[sys])) {
            uint64_t sent = 0;
            uint64_t cpu = 0;
            r->held_per_s[sys] =
                s_throughput(&s, o->seconds, pid[sys], &sent, &cpu);
            if (r->held_per_s[sys] >= 0 && sent > 0 && cpu > 0) {
                r->held_cpu_us[sys] = (double)cpu / 1e3 / (double)sent;
            }
        }
        s_held_close(&h);
        s_close(&s);
    }
    for (int sys = 0; sys < 2; sys++) {
        s_sys_t s;
        if (ep[sys][0] != '\0' && s_open(&s, sys, ep[sys], 1)) {
            s_latency(&s, o->seconds, &r->p50_us[sys], &r->p99_us[sys]);
        }
        s_close(&s);
    }
    r->evlat =
        ep[0][0] != '\0'
            ? bench_run_evlat(o->bin_dir, ep[0], o->seconds, o->verbose)
            : (bench_evlat_result_t){{-1, -1}, {-1, -1}, {-1, -1}, {-1, -1}};
    bench_proc_stop_all(pid, 2);
}
