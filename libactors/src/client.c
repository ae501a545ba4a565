/* libactors/src/client.c - one DEALER connection to the broker.
 * SPDX-License-Identifier: MIT
 *
 * A client owns a zmq context (one io thread) and a DEALER socket with
 * unlimited high-water marks (memory is bounded by the broker's mailboxes)
 * and a linger of ACTORS__LINGER_MS, so that a tell sent just before
 * destroy still leaves. DEALER peers send no empty delimiter frame.
 * Liveness is ZMTP's (schemas/PROTOCOL.md, "Heartbeating and liveness"):
 * libzmq's I/O thread answers the broker's PINGs whatever the owner thread
 * is doing, which is what keeps an actor, and the actors a client owns,
 * alive in the broker; and those PINGs carry a TTL, so a broker that goes
 * silent is dropped and reconnected by libzmq itself. The client sends no
 * PINGs of its own: a thousand idle actors pinging the broker would cost
 * it more than its own PINGs to them (libzmq cancels a connection's
 * heartbeat timer by a linear walk of all timers). The actor
 * runtime learns of a new connection through actors__client_watch (a
 * socket monitor) and registers again; a client with subscriptions
 * watches too, and its pump subscribes them again (s_renew). The same
 * monitor, started before the first connect in every client, paces
 * reconnections after a broker refused the connection (client_conn.h);
 * a waiting client polls its ZMQ_FD beside the socket's.
 *
 * Calls get a request id from a per-client counter (never reused), 4
 * bytes on the wire while it fits in 31 bits, 8 after
 * (actors__client_id_write). A plain tell gets one too, with the top bit set
 * (ACTORS__TELL_BIT) and no future: the broker acknowledges it (REPLY nil, or
 * ERROR if it refused the tell), and s_dispatch recognises the bit and consumes
 * the answer, counting and logging refusals, without the pending table. Every
 * ACTORS__TELL_PUMP tells sent without a pump, a tell pumps the client once
 * so that unread acknowledgements do not pile up in libzmq's queue.
 * The pending table maps id -> future with open addressing, Robin Hood
 * linear probing on the id itself (ids are sequential, so the live window
 * of ids spreads perfectly: nearly every entry sits at its home slot), and
 * backward-shift deletion that stops at the first entry at home. It grows
 * at half load, so 10,000s of outstanding calls stay O(1). Calls with a
 * timeout also have a local deadline (timeout + grace): if the broker
 * never answers (it is gone), the client fails the future with Timeout
 * itself. Calls with the same timeout get their deadlines in the order
 * they are made (the clock is monotonic), so each of the few timeouts in
 * use has a lane, a list in deadline order: adding at its tail and
 * removing an answered call are O(1), where a binary heap cost a sift
 * through log2(calls in flight) futures on every reply (at 4096 in
 * flight, the client's most expensive function). The earliest deadline
 * is the earliest of the lanes' heads; timeouts beyond the lanes use a
 * binary min-heap.
 *
 * The client has no thread. actors_client_poll (called by every future
 * wait) reads what has arrived, resolves futures, fires expired deadlines,
 * and hands every other message to the hook (the actor runtime). Callbacks
 * run inside it and may call back into the client: a future is removed
 * from the table and the heap before it is resolved.
 *
 * The struct is reference counted: the caller's reference and one per
 * future naming the client. actors_client_destroy closes the socket and
 * drops the table's futures at once; the memory goes when the last future
 * does, so waiting on a stale future reports ECLOSED instead of crashing.
 *
 * Futures freed while the client is open go on a bounded free list of the
 * client (linked through their src field) and are reused by its next calls,
 * so a call allocates nothing once the client has warmed up.
 */
#include <actors/client.h>
#include <actors/json.h>
#include <actors/log.h>
#include <actors/security.h>

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <actors-internal/alloc.h>
#include "actor_internal.h"
#include "client_conn.h"
#include "client_internal.h"
#include "deadline.h"
#include "future_internal.h"
#include "msg_internal.h"
#include "pubsub_internal.h"
#include <actors-internal/unpack.h>
#include <actors-internal/utf8.h>
#include <actors-internal/zmon.h>

#define ACTORS_CLIENT_TAG 0xac7e0004u
#define ACTORS__LINGER_MS 1000
#define ACTORS__ID_LEN 8         /* a request id's longest form */
#define ACTORS__ID_SHORT 4       /* ... and its short one */
#define ACTORS__MAX_FRAMES 8     /* frames kept per message; more dropped */
#define ACTORS__DRAIN_MAX 4096   /* messages handled per poll */
#define ACTORS__GRACE_MIN_MS 200 /* local deadline = timeout + grace */
#define ACTORS__SPARE_MAX 1024   /* freed futures kept for reuse */
#define ACTORS__MONITOR_EP_FMT "inproc://actors-client-monitor-%p"
#define ACTORS__TELL_BIT ((uint64_t)1 << 63) /* id of an untracked tell */
#define ACTORS__TELL_PUMP 1024               /* tells between pumps, at most */
#define ACTORS__REFUSED_LOG_MS 1000 /* CLI-TELL-REFUSED at most this often */

typedef struct {
    uint64_t id;        /* request id */
    actors_future_t *f; /* NULL: free slot */
} s_slot_t;

#define S_LANES 4 /* timeouts with a deadline lane of their own */

/* A deadline lane: the futures whose local deadline is dur_ms after they
 * were made, earliest first (s_dl_add). Empty: head NULL. */
typedef struct {
    int64_t dur_ms;
    actors_future_t *head;
    actors_future_t *tail;
} s_lane_t;

struct actors_client {
    uint32_t tag;                /* ACTORS_CLIENT_TAG while referenced */
    uint32_t refs;               /* the caller's + one per future */
    bool closed;                 /* destroy was called */
    void *ctx;                   /* own zmq context */
    void *sock;                  /* DEALER */
    uint64_t next_id;            /* next request id; never reused */
    s_slot_t *slots;             /* pending table, mask + 1 slots */
    size_t mask;                 /* table size - 1 (a power of two) */
    size_t npending;             /* futures in the table */
    s_lane_t lanes[S_LANES];     /* deadlines by timeout (s_dl_add) */
    actors_future_t **heap;      /* min-heap of the other deadlines */
    size_t nheap;                /* entries in heap */
    size_t heap_cap;             /* slots in heap */
    actors__client_hook_fn hook; /* non-reply messages; NULL: dropped */
    void *hook_arg;              /* its argument */
    int fd;                      /* the socket's ZMQ_FD; -1: unknown */
    bool idle;                   /* last drain ended in EAGAIN, no send since */
    uint64_t received;           /* messages read so far */
    actors_future_t *spare;      /* freed futures for reuse (via src) */
    size_t nspare;               /* futures on spare */
    void *monitor;               /* PAIR reading the socket's connection
                                    events (actors__client_watch); NULL */
    int monitor_fd;              /* the monitor's ZMQ_FD; -1: none */
    bool lost;                   /* a disconnect seen, no handshake since */
    uint64_t conn_gen;           /* new connections the monitor saw */
    uint64_t conn_gen_told;      /* conn_gen actors__client_reconnected
                                    last reported */
    bool handshake_ok;           /* a handshake succeeded (monitor seen) */
    bool keyed;                  /* the process has CURVE keys */
    bool refused;                /* the broker refused the handshake: its
                                    CURVE key or mechanism (no retry) */
    char refused_why[256];       /* what the refusal means, for errors */
    actors__conn_t conn;         /* reconnection pace (client_conn.h) */
    bool handshake_logged;       /* CLI-HANDSHAKE-FAILED said once */
    bool probed;                 /* asked the broker's mechanism once
                                    (actors__conn_broker_curve) */
    bool handshake_failed;       /* the broker refused a handshake, and
                                    none succeeded since: why drops are */
    uint32_t tells_unpumped;     /* tells sent since the last pump */
    int drain_max;               /* messages read per poll (set_drain) */
    uint64_t tells_refused;      /* tells the broker answered ERROR */
    int64_t refused_logged;      /* ms of the last CLI-TELL-REFUSED; 0 */
    uint32_t timeout_ms;         /* calls' default deadline; 0: none */
    actors__inherit_t inh;       /* deadline.c: what calls inherit now */
    atomic_bool guarded;         /* an actor's loop runs on guard_thread */
    pthread_t guard_thread;      /* set before guarded (actors__client_guard) */
    actors_subscription_t *subs; /* subscriptions (pubsub.c); NULL */
    char endpoint[256];          /* the broker's, as given */
    bool no_stream;              /* serves an actor: events by the ROUTER */
    void *stream;                /* SUB on the broker's event stream; NULL */
    int stream_fd;               /* its ZMQ_FD; -1: none */
    bool stream_idle;            /* its last drain ended in EAGAIN */
    char stream_ep[256];         /* the stream's endpoint as the broker
                                    named it */
    uint64_t stream_gen;         /* SUBs made so far */
};

static void s_monitor_read(actors_client_t *self);

/* ---- reference counting ------------------------------------------------ */

void
actors__client_ref(actors_client_t *self)
{
    assert(self && self->tag == ACTORS_CLIENT_TAG);
    self->refs++;
}

void
actors__client_unref(actors_client_t *self)
{
    assert(self && self->tag == ACTORS_CLIENT_TAG);
    assert(self->refs > 0);
    if (--self->refs > 0) {
        return;
    }
    assert(self->closed);
    self->tag = 0xdeadbeef;
    actors__free(self);
}

bool
actors__client_is_closed(const actors_client_t *self)
{
    assert(self && self->tag == ACTORS_CLIENT_TAG);
    return self->closed;
}

actors_future_t *
actors__client_spare_take(actors_client_t *self)
{
    assert(self && self->tag == ACTORS_CLIENT_TAG);
    actors_future_t *f = self->spare;
    if (f != NULL) {
        self->spare = f->src;
        self->nspare--;
    }
    return f;
}

bool
actors__client_spare_keep(actors_client_t *self, actors_future_t *f)
{
    assert(self && self->tag == ACTORS_CLIENT_TAG);
    if (self->closed || self->nspare >= ACTORS__SPARE_MAX) {
        return false;
    }
    f->src = self->spare;
    self->spare = f;
    self->nspare++;
    return true;
}

/* s_spare_free frees the futures kept for reuse. */
static void
s_spare_free(actors_client_t *self)
{
    while (self->spare != NULL) {
        actors_future_t *f = self->spare;
        self->spare = f->src;
        actors__free(f);
    }
    self->nspare = 0;
}

/* ---- pending table ------------------------------------------------------ */

/* s_dist is how far slot i is from the home slot of the id it holds. */
static size_t
s_dist(const s_slot_t *slots, size_t mask, size_t i)
{
    return (i - ((size_t)slots[i].id & mask)) & mask;
}

/* s_place inserts (id, f) into slots with Robin Hood probing: an entry
 * that is further from home than the resident takes the slot, and the
 * resident moves on. Runs stay sorted by home, which lets lookups and
 * deletions stop early. */
static void
s_place(s_slot_t *slots, size_t mask, uint64_t id, actors_future_t *f)
{
    s_slot_t in = {id, f};
    size_t i = (size_t)id & mask;
    size_t dist = 0;
    for (;;) {
        if (slots[i].f == NULL) {
            slots[i] = in;
            return;
        }
        size_t d = s_dist(slots, mask, i);
        if (d < dist) {
            s_slot_t out = slots[i];
            slots[i] = in;
            in = out;
            dist = d;
        }
        i = (i + 1) & mask;
        dist++;
    }
}

/* s_table_reserve makes room for one more pending call (half load). */
static actors_err
s_table_reserve(actors_client_t *self)
{
    size_t size = self->mask + 1;
    if ((self->npending + 1) * 2 <= size) {
        return ACTORS_OK;
    }
    size_t nsize = size * 2;
    s_slot_t *slots = actors__zalloc(nsize * sizeof *slots);
    if (slots == NULL) {
        return ACTORS_ENOMEM;
    }
    for (size_t i = 0; i < size; i++) {
        if (self->slots[i].f != NULL) {
            s_place(slots, nsize - 1, self->slots[i].id, self->slots[i].f);
        }
    }
    actors__free(self->slots);
    self->slots = slots;
    self->mask = nsize - 1;
    return ACTORS_OK;
}

static void
s_table_insert(actors_client_t *self, uint64_t id, actors_future_t *f)
{
    s_place(self->slots, self->mask, id, f);
    self->npending++;
}

/* s_table_find returns the slot of id, or SIZE_MAX. */
static size_t
s_table_find(const actors_client_t *self, uint64_t id)
{
    size_t i = (size_t)id & self->mask;
    for (size_t dist = 0;; dist++) {
        if (self->slots[i].f == NULL ||
            s_dist(self->slots, self->mask, i) < dist) {
            return SIZE_MAX; /* id would have been here or earlier */
        }
        if (self->slots[i].id == id) {
            return i;
        }
        i = (i + 1) & self->mask;
    }
}

/* s_table_remove empties slot i and shifts the entries after it back by
 * one until a free slot or an entry at its home (backward shift; no
 * tombstones). */
static void
s_table_remove(actors_client_t *self, size_t i)
{
    size_t mask = self->mask;
    self->npending--;
    size_t j = (i + 1) & mask;
    while (self->slots[j].f != NULL && s_dist(self->slots, mask, j) > 0) {
        self->slots[i] = self->slots[j];
        i = j;
        j = (j + 1) & mask;
    }
    self->slots[i].f = NULL;
}

/* ---- deadlines: lanes, and a heap for the rest --------------------------- */

static actors_err
s_heap_reserve(actors_client_t *self)
{
    if (self->nheap < self->heap_cap) {
        return ACTORS_OK;
    }
    size_t cap = self->heap_cap ? self->heap_cap * 2 : 64;
    actors_future_t **heap = actors__realloc(self->heap, cap * sizeof *heap);
    if (heap == NULL) {
        return ACTORS_ENOMEM;
    }
    self->heap = heap;
    self->heap_cap = cap;
    return ACTORS_OK;
}

static void
s_heap_set(actors_client_t *self, size_t i, actors_future_t *f)
{
    self->heap[i] = f;
    f->heap_idx = i;
}

static void
s_heap_up(actors_client_t *self, size_t i)
{
    actors_future_t *f = self->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (self->heap[parent]->deadline <= f->deadline) {
            break;
        }
        s_heap_set(self, i, self->heap[parent]);
        i = parent;
    }
    s_heap_set(self, i, f);
}

static void
s_heap_down(actors_client_t *self, size_t i)
{
    actors_future_t *f = self->heap[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= self->nheap) {
            break;
        }
        if (child + 1 < self->nheap &&
            self->heap[child + 1]->deadline < self->heap[child]->deadline) {
            child++;
        }
        if (f->deadline <= self->heap[child]->deadline) {
            break;
        }
        s_heap_set(self, i, self->heap[child]);
        i = child;
    }
    s_heap_set(self, i, f);
}

static void
s_heap_push(actors_client_t *self, actors_future_t *f)
{
    assert(self->nheap < self->heap_cap);
    self->heap[self->nheap] = f;
    f->heap_idx = self->nheap++;
    s_heap_up(self, f->heap_idx);
}

static void
s_heap_remove(actors_client_t *self, actors_future_t *f)
{
    size_t i = f->heap_idx;
    if (i == ACTORS__NO_HEAP) {
        return;
    }
    assert(i < self->nheap && self->heap[i] == f);
    f->heap_idx = ACTORS__NO_HEAP;
    actors_future_t *last = self->heap[--self->nheap];
    if (i == self->nheap) {
        return;
    }
    s_heap_set(self, i, last);
    if (i > 0 && self->heap[(i - 1) / 2]->deadline > last->deadline) {
        s_heap_up(self, i);
    } else {
        s_heap_down(self, i);
    }
}

/* s_dl_add gives f (deadline set) a deadline lane of duration dur_ms:
 * the lane of that duration, or an empty one, or else the heap (room
 * reserved by s_heap_reserve). */
static void
s_dl_add(actors_client_t *self, actors_future_t *f, int64_t dur_ms)
{
    int free_lane = -1;
    for (int k = 0; k < S_LANES; k++) {
        s_lane_t *l = &self->lanes[k];
        if (l->head != NULL && l->dur_ms != dur_ms) {
            continue;
        }
        if (l->head == NULL) {
            if (free_lane < 0) {
                free_lane = k;
            }
            continue;
        }
        /* Same duration: deadlines come in order (monotonic clock). */
        assert(l->tail->deadline <= f->deadline);
        f->lane = (int8_t)k;
        f->dl_prev = l->tail;
        f->dl_next = NULL;
        l->tail->dl_next = f;
        l->tail = f;
        return;
    }
    if (free_lane < 0) {
        s_heap_push(self, f);
        return;
    }
    s_lane_t *l = &self->lanes[free_lane];
    l->dur_ms = dur_ms;
    l->head = l->tail = f;
    f->lane = (int8_t)free_lane;
    f->dl_prev = f->dl_next = NULL;
}

/* s_dl_remove takes f's deadline away, wherever it is (or none). */
static void
s_dl_remove(actors_client_t *self, actors_future_t *f)
{
    if (f->lane < 0) {
        s_heap_remove(self, f);
        return;
    }
    s_lane_t *l = &self->lanes[f->lane];
    if (f->dl_prev != NULL) {
        f->dl_prev->dl_next = f->dl_next;
    } else {
        l->head = f->dl_next;
    }
    if (f->dl_next != NULL) {
        f->dl_next->dl_prev = f->dl_prev;
    } else {
        l->tail = f->dl_prev;
    }
    f->dl_prev = f->dl_next = NULL;
    f->lane = -1;
}

/* s_dl_first is the future with the earliest deadline, or NULL. */
static actors_future_t *
s_dl_first(const actors_client_t *self)
{
    actors_future_t *first = self->nheap > 0 ? self->heap[0] : NULL;
    for (int k = 0; k < S_LANES; k++) {
        actors_future_t *h = self->lanes[k].head;
        if (h != NULL && (first == NULL || h->deadline < first->deadline)) {
            first = h;
        }
    }
    return first;
}

/* s_take removes f (found at slot i) from the table and its deadline.
 * The table's reference passes to the caller. */
static void
s_take(actors_client_t *self, size_t i, actors_future_t *f)
{
    s_table_remove(self, i);
    s_dl_remove(self, f);
}

/* ---- create / destroy --------------------------------------------------- */

const char *
actors_endpoint_default(const char *endpoint)
{
    if (endpoint != NULL) {
        return endpoint;
    }
    const char *env = getenv("ACTORS_BROKER");
    if (env != NULL && env[0] != '\0') {
        return env;
    }
    return ACTORS_DEFAULT_ENDPOINT;
}

/* s_monitor_open starts the socket monitor that reads the connection's
 * events (handshakes, disconnects) into self->monitor. Returns ACTORS_OK
 * or ACTORS_EIO (no monitor). */
static actors_err
s_monitor_open(actors_client_t *self)
{
    char ep[64];
    snprintf(ep, sizeof ep, ACTORS__MONITOR_EP_FMT, (void *)self);
    if (zmq_socket_monitor(self->sock, ep,
            ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
                ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) != 0) {
        return ACTORS_EIO;
    }
    self->monitor = zmq_socket(self->ctx, ZMQ_PAIR);
    int zero = 0;
    if (self->monitor == NULL ||
        zmq_setsockopt(self->monitor, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
        zmq_connect(self->monitor, ep) != 0) {
        if (self->monitor != NULL) {
            zmq_close(self->monitor);
            self->monitor = NULL;
        }
        zmq_socket_monitor(self->sock, NULL, 0);
        return ACTORS_EIO;
    }
    return ACTORS_OK;
}

actors_err
actors_client_create(actors_client_t **out, const char *endpoint)
{
    assert(out);
    *out = NULL;
    endpoint = actors_endpoint_default(endpoint);
    actors_client_t *self = actors__zalloc(sizeof *self);
    if (self == NULL) {
        return ACTORS_ENOMEM;
    }
    self->tag = ACTORS_CLIENT_TAG;
    self->drain_max = ACTORS__DRAIN_MAX;
    self->refs = 1;
    self->next_id = 1;
    self->timeout_ms = ACTORS_CLIENT_TIMEOUT_DEFAULT;
    self->mask = 63;
    self->fd = -1;
    self->monitor_fd = -1;
    self->stream_fd = -1;
    snprintf(self->endpoint, sizeof self->endpoint, "%s", endpoint);
    self->slots = actors__zalloc((self->mask + 1) * sizeof *self->slots);
    actors_err rc = self->slots ? ACTORS_OK : ACTORS_ENOMEM;
    if (rc == ACTORS_OK) {
        self->ctx = zmq_ctx_new();
        rc = self->ctx ? ACTORS_OK : ACTORS_EIO;
    }
    if (rc == ACTORS_OK) {
        zmq_ctx_set(self->ctx, ZMQ_IO_THREADS, 1);
        self->sock = zmq_socket(self->ctx, ZMQ_DEALER);
        rc = self->sock ? ACTORS_OK : ACTORS_EIO;
    }
    if (rc == ACTORS_OK) {
        int zero = 0;
        int linger = ACTORS__LINGER_MS;
        zmq_setsockopt(self->sock, ZMQ_SNDHWM, &zero, sizeof zero);
        zmq_setsockopt(self->sock, ZMQ_RCVHWM, &zero, sizeof zero);
        zmq_setsockopt(self->sock, ZMQ_LINGER, &linger, sizeof linger);
        /* CURVE when the process has keys (security.h). A broker that
         * refuses the key is silence on the socket: the monitor, started
         * before the connection so that it sees the first handshake,
         * lets the client fail its futures at once (Forbidden). Without
         * a monitor they time out. */
        rc = actors_security_apply(self->sock);
        if (rc == ACTORS_OK) {
            rc =
                actors__conn_init(&self->conn, self->ctx, self->sock, endpoint);
        }
        if (rc == ACTORS_OK) {
            /* Connection events also pace reconnections after a refusal
             * (client_conn.h), from the first connect on; without a
             * monitor, libzmq's pace. Read to the end once: from then on
             * its ZMQ_FD signals news. */
            int mfd;
            if (actors__client_watch(self, &mfd) == ACTORS_OK) {
                self->keyed = actors_security_enabled();
                s_monitor_read(self);
            }
        }
        if (rc == ACTORS_OK && zmq_connect(self->sock, endpoint) != 0) {
            rc = errno == ENOMEM ? ACTORS_ENOMEM : ACTORS_EINVAL;
        }
        size_t fd_len = sizeof self->fd;
        if (zmq_getsockopt(self->sock, ZMQ_FD, &self->fd, &fd_len) != 0) {
            self->fd = -1;
        }
    }
    if (rc != ACTORS_OK) {
        actors_client_destroy(&self);
        return rc;
    }
    *out = self;
    return ACTORS_OK;
}

void
actors_client_destroy(actors_client_t **self_p)
{
    assert(self_p);
    actors_client_t *self = *self_p;
    if (self == NULL) {
        return;
    }
    assert(self->tag == ACTORS_CLIENT_TAG);
    assert(!self->closed);
    *self_p = NULL;
    self->closed = true;
    self->hook = NULL;
    /* Drop the table's references; futures the caller holds stay valid
     * and pending (waiting on them reports ECLOSED). */
    for (size_t i = 0; self->slots != NULL && i <= self->mask; i++) {
        actors_future_t *f = self->slots[i].f;
        if (f != NULL) {
            self->slots[i].f = NULL;
            f->heap_idx = ACTORS__NO_HEAP;
            f->lane = -1;
            f->dl_prev = f->dl_next = NULL;
            actors__future_unref(f);
        }
    }
    self->npending = 0;
    self->nheap = 0;
    memset(self->lanes, 0, sizeof self->lanes);
    s_spare_free(self);
    actors__free(self->slots);
    self->slots = NULL;
    actors__free(self->heap);
    self->heap = NULL;
    if (self->monitor != NULL) {
        zmq_socket_monitor(self->sock, NULL, 0);
        zmq_close(self->monitor);
        self->monitor = NULL;
        self->monitor_fd = -1;
    }
    actors__conn_fini(&self->conn);
    if (self->sock != NULL) {
        zmq_close(self->sock);
        self->sock = NULL;
    }
    if (self->stream != NULL) {
        zmq_close(self->stream);
        self->stream = NULL;
        self->stream_fd = -1;
    }
    if (self->ctx != NULL) {
        while (zmq_ctx_term(self->ctx) != 0 && errno == EINTR) {
        }
        self->ctx = NULL;
    }
    actors__client_unref(self);
}

/* ---- sending ------------------------------------------------------------ */

/* s_name_ok: an address or method is 1..255 bytes. */
static bool
s_name_ok(const char *s)
{
    if (s == NULL) {
        return false;
    }
    size_t n = strnlen(s, ACTORS_WIRE_NAME_MAX + 1);
    return n > 0 && n <= ACTORS_WIRE_NAME_MAX;
}

/* s_text_ok: a name that also travels as a msgpack str (a SPAWN spec's
 * service, name, node) is 1..255 bytes of valid UTF-8. Replacing bad
 * bytes (utf8.h) would silently name another actor or binary, so such a
 * name is refused instead. */
static bool
s_text_ok(const char *s)
{
    return s_name_ok(s) && actors__utf8_is_valid(s, strlen(s));
}

/* s_send_more sends one small frame with more to follow. */
static int
s_send_more(void *sock, const void *data, size_t len)
{
    return zmq_send(sock, data, len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ? -1 : 0;
}

/* s_request_ex sends one request: header (cmd, timeout, an id if out or
 * untracked), then address and method if not NULL, then the args frame if
 * has_args. With out, the future goes to the pending table (and the
 * deadline heap if timeout_ms > 0) and to *out. untracked (a tell whose
 * acknowledgement is consumed by s_dispatch) gives an id with
 * ACTORS__TELL_BIT and no future. The args builder is consumed on success
 * (destroyed), untouched on error (but see msg_internal.h: a large one
 * that was handed to libzmq is left empty if the send itself fails). */
static actors_err
s_request_fl(actors_client_t *self, uint8_t cmd, uint32_t timeout_ms,
    const char *address, const char *method, bool has_args, bool as_array,
    const void *key, size_t key_len, bool untracked, actors_msg_t **args_p,
    actors_future_t **out, uint8_t hdr_flags, const void *route,
    size_t route_len)
{
    if (self->closed) {
        return ACTORS_ECLOSED;
    }
    if (self->refused) {
        return ACTORS_EFORBIDDEN; /* nothing will reach the broker */
    }
    self->idle = false; /* a send may take the socket's wake-up */
    bool want_future = out != NULL;
    actors_future_t *f = NULL;
    if (want_future) {
        if (s_table_reserve(self) != ACTORS_OK ||
            (timeout_ms > 0 && s_heap_reserve(self) != ACTORS_OK)) {
            return ACTORS_ENOMEM;
        }
        if (actors__future_new(self, &f) != ACTORS_OK) {
            return ACTORS_ENOMEM;
        }
    }
    zmq_msg_t args;
    actors_msg_t *argmsg = args_p ? *args_p : NULL;
    if (has_args) {
        actors_err rc = actors__msg_frame(argmsg, as_array, &args);
        if (rc != ACTORS_OK) {
            if (f != NULL) {
                actors__future_unref(f);
            }
            return rc;
        }
    }
    uint64_t id = self->next_id | (untracked ? ACTORS__TELL_BIT : 0);
    uint8_t idb[ACTORS__ID_LEN];
    size_t idlen =
        want_future || untracked ? actors__client_id_write(id, idb) : 0;
    uint8_t hdr[ACTORS_WIRE_HDR_MIN + ACTORS__ID_LEN + ACTORS_WIRE_NAMES_MAX];
    size_t hlen = actors__hdr_write(hdr, cmd, timeout_ms, idb, idlen);
    hdr[5] = hdr_flags; /* PROTOCOL.md, "Groups": broadcast, routed */
    if (cmd == ACTORS_CMD_CALL || cmd == ACTORS_CMD_TELL) {
        /* A call's names travel in its header, not in frames of their
         * own: two frames fewer on every hop. */
        hlen += actors__hdr_names_write(
            hdr + hlen, address, strlen(address), method, strlen(method));
        address = NULL;
        method = NULL;
    } else if (cmd == ACTORS_CMD_PUBLISH) {
        /* So does an event's topic (PROTOCOL.md, PUBLISH). */
        hlen += actors__hdr_topic_write(hdr + hlen, address, strlen(address));
        address = NULL;
    }
    int zrc;
    bool last_is_hdr = address == NULL && !has_args;
    if (last_is_hdr) {
        zrc = zmq_send(self->sock, hdr, hlen, ZMQ_DONTWAIT) < 0 ? -1 : 0;
    } else {
        zrc = s_send_more(self->sock, hdr, hlen);
    }
    if (zrc == 0 && address != NULL) {
        int flags =
            ZMQ_DONTWAIT | (method != NULL || has_args ? ZMQ_SNDMORE : 0);
        zrc =
            zmq_send(self->sock, address, strlen(address), flags) < 0 ? -1 : 0;
    }
    if (zrc == 0 && method != NULL) {
        int flags = ZMQ_DONTWAIT | (has_args ? ZMQ_SNDMORE : 0);
        zrc = zmq_send(self->sock, method, strlen(method), flags) < 0 ? -1 : 0;
    }
    if (zrc == 0 && has_args) {
        int more = key_len > 0 || route_len > 0 ? ZMQ_SNDMORE : 0;
        zrc = zmq_msg_send(&args, self->sock, ZMQ_DONTWAIT | more) < 0 ? -1 : 0;
    }
    if (zrc == 0 && key_len > 0) {
        int more = route_len > 0 ? ZMQ_SNDMORE : 0;
        zrc = zmq_send(self->sock, key, key_len, ZMQ_DONTWAIT | more) < 0 ? -1
                                                                          : 0;
    }
    if (zrc == 0 && route_len > 0) {
        zrc = zmq_send(self->sock, route, route_len, ZMQ_DONTWAIT) < 0 ? -1 : 0;
    }
    if (has_args) {
        zmq_msg_close(&args); /* empty after a successful send */
    }
    if (zrc != 0) {
        if (f != NULL) {
            actors__future_unref(f);
        }
        return ACTORS_EIO;
    }
    self->next_id++;
    if (args_p != NULL) {
        actors_msg_destroy(args_p);
    }
    if (want_future) {
        f->id = id;
        actors__future_ref(f); /* the table's */
        s_table_insert(self, id, f);
        if (timeout_ms > 0) {
            uint32_t grace = timeout_ms / 10;
            if (grace < ACTORS__GRACE_MIN_MS) {
                grace = ACTORS__GRACE_MIN_MS;
            }
            int64_t dur = (int64_t)timeout_ms + grace;
            f->deadline = actors__now_ms() + dur;
            s_dl_add(self, f, dur);
        }
        *out = f;
    }
    return ACTORS_OK;
}

/* s_request_ex is s_request_fl with no flags and no routing key. */
static actors_err
s_request_ex(actors_client_t *self, uint8_t cmd, uint32_t timeout_ms,
    const char *address, const char *method, bool has_args, bool as_array,
    const void *key, size_t key_len, bool untracked, actors_msg_t **args_p,
    actors_future_t **out)
{
    return s_request_fl(self, cmd, timeout_ms, address, method, has_args,
        as_array, key, key_len, untracked, args_p, out, 0, NULL, 0);
}

actors_err
actors__client_request(actors_client_t *self, uint8_t cmd, const char *f1,
    const char *f2, actors_msg_t **body_p, actors_future_t **out)
{
    return s_request_ex(self, cmd, 0, f1, f2, body_p != NULL, false, NULL, 0,
        false, body_p, out);
}

actors_err
actors__client_request_flags(actors_client_t *self, uint8_t cmd, uint8_t flags,
    const char *f1, const char *f2, actors_future_t **out)
{
    return s_request_fl(self, cmd, 0, f1, f2, false, false, NULL, 0, false,
        NULL, out, flags, NULL, 0);
}

bool
actors__client_streams(const actors_client_t *self)
{
    assert(self && self->tag == ACTORS_CLIENT_TAG);
    return !self->no_stream && !self->closed;
}

/* s_stream_endpoint writes into out the endpoint to connect for the
 * stream the broker named ep: a wildcard host (0.0.0.0, *, [::]) is the
 * host of the client's own broker endpoint. */
static void
s_stream_endpoint(
    const actors_client_t *self, const char *ep, char *out, size_t cap)
{
    static const char *const wild[] = {
        "tcp://0.0.0.0:", "tcp://*:", "tcp://[::]:"};
    for (size_t i = 0; i < sizeof wild / sizeof wild[0]; i++) {
        size_t wl = strlen(wild[i]);
        if (strncmp(ep, wild[i], wl) != 0 ||
            strncmp(self->endpoint, "tcp://", 6) != 0) {
            continue;
        }
        const char *host = self->endpoint + 6;
        const char *colon = strrchr(host, ':');
        int hl = colon != NULL ? (int)(colon - host) : (int)strlen(host);
        snprintf(out, cap, "tcp://%.*s:%s", hl, host, ep + wl);
        return;
    }
    snprintf(out, cap, "%s", ep);
}

void *
actors__client_stream_of(actors_client_t *self, uint64_t gen)
{
    assert(self && self->tag == ACTORS_CLIENT_TAG);
    return gen != 0 && gen == self->stream_gen ? self->stream : NULL;
}

void *
actors__client_stream(actors_client_t *self, const char *ep, uint64_t *gen)
{
    assert(self && self->tag == ACTORS_CLIENT_TAG);
    if (self->stream != NULL && strcmp(self->stream_ep, ep) == 0) {
        *gen = self->stream_gen;
        return self->stream;
    }
    if (self->stream != NULL) {
        /* The broker's stream moved (it restarted on another port): its
         * subscriptions are made again on the new one (pubsub.c). */
        zmq_close(self->stream);
        self->stream = NULL;
        self->stream_fd = -1;
    }
    char where[300];
    s_stream_endpoint(self, ep, where, sizeof where);
    void *k = zmq_socket(self->ctx, ZMQ_SUB);
    if (k == NULL) {
        return NULL;
    }
    int zero = 0;
    int linger = 0;
    size_t fd_len = sizeof self->stream_fd;
    zmq_setsockopt(k, ZMQ_RCVHWM, &zero, sizeof zero);
    zmq_setsockopt(k, ZMQ_LINGER, &linger, sizeof linger);
    if (actors_security_apply(k) != ACTORS_OK || zmq_connect(k, where) != 0 ||
        zmq_getsockopt(k, ZMQ_FD, &self->stream_fd, &fd_len) != 0) {
        ACTORS_LOG(ACTORS_LOG_ERR, "CLI-STREAM",
            "endpoint=%s cannot connect to the event stream: %s", where,
            zmq_strerror(errno));
        zmq_close(k);
        self->stream_fd = -1;
        return NULL;
    }
    self->stream = k;
    self->stream_idle = false;
    snprintf(self->stream_ep, sizeof self->stream_ep, "%s", ep);
    *gen = ++self->stream_gen;
    return k;
}

void
actors__client_stream_off(actors_client_t *self)
{
    assert(self && self->tag == ACTORS_CLIENT_TAG);
    self->no_stream = true;
}

void
actors__client_stream_touched(actors_client_t *self)
{
    assert(self && self->tag == ACTORS_CLIENT_TAG);
    /* A subscription sent on the SUB may take its ZMQ_FD's wake-up. */
    self->stream_idle = false;
    self->idle = false;
}

actors_subscription_t **
actors__client_subs(actors_client_t *self)
{
    return &self->subs;
}

/* s_request is s_request_ex for the common case: args as one array. */
static actors_err
s_request(actors_client_t *self, uint8_t cmd, uint32_t timeout_ms,
    const char *address, const char *method, bool has_args,
    actors_msg_t **args_p, actors_future_t **out)
{
    return s_request_ex(self, cmd, timeout_ms, address, method, has_args, true,
        NULL, 0, false, args_p, out);
}

actors_err
actors_client_call(actors_client_t *self, const char *address,
    const char *method, actors_msg_t **args_p, const actors_call_opts_t *opts,
    actors_future_t **out)
{
    assert(self && self->tag == ACTORS_CLIENT_TAG);
    assert(out);
    *out = NULL;
    if (!s_name_ok(address) || !s_name_ok(method)) {
        return ACTORS_EINVAL;
    }
    if (opts != NULL &&
        (opts->key_len > ACTORS_WIRE_ID_MAX ||
            (opts->key_len > 0) != (opts->key != NULL) ||
            (opts->key_len > 0 && *(const uint8_t *)opts->key == 0) ||
            opts->route_len > ACTORS_WIRE_ID_MAX ||
            (opts->route_len > 0) != (opts->route != NULL))) {
        return ACTORS_EINVAL;
    }
    actors__inherit_t inh;
    uint32_t opt_ms = opts ? opts->timeout_ms : 0;
    /* The clock only for a deadline inherited from a handler's call. */
    int64_t now = opt_ms == 0 && self->inh.set && self->inh.deadline != 0
                      ? actors__now_ms()
                      : 0;
    uint32_t timeout =
        actors__deadline_of(self->timeout_ms, &self->inh, opt_ms, now, &inh);
    size_t route_len = opts ? opts->route_len : 0;
    actors_err rc = s_request_fl(self, ACTORS_CMD_CALL, timeout, address,
        method, true, true, opts ? opts->key : NULL, opts ? opts->key_len : 0,
        false, args_p, out, route_len > 0 ? ACTORS__FLAG_ROUTED : 0,
        route_len > 0 ? opts->route : NULL, route_len);
    if (rc == ACTORS_OK) {
        (*out)->inh = inh;
    }
    return rc;
}

void
actors_client_set_timeout(actors_client_t *self, uint32_t timeout_ms)
{
    assert(self && self->tag == ACTORS_CLIENT_TAG);
    self->timeout_ms = timeout_ms == ACTORS_TIMEOUT_NONE ? 0 : timeout_ms;
}

uint32_t
actors_client_timeout(const actors_client_t *self)
{
    assert(self && self->tag == ACTORS_CLIENT_TAG);
    return self->timeout_ms;
}

actors__inherit_t
actors__client_inherit(actors_client_t *self, actors__inherit_t in)
{
    assert(self && self->tag == ACTORS_CLIENT_TAG);
    actors__inherit_t was = self->inh;
    self->inh = in;
    return was;
}

actors_err
actors_client_call_fmt(actors_client_t *self, const char *address,
    const char *method, const actors_call_opts_t *opts, actors_future_t **out,
    const char *fmt, ...)
{
    assert(self && self->tag == ACTORS_CLIENT_TAG);
    assert(out);
    *out = NULL;
    actors_msg_t *args = NULL;
    va_list ap;
    va_start(ap, fmt);
    actors_err rc = actors__msg_vbuild(&args, fmt, ap);
    va_end(ap);
    if (rc == ACTORS_OK) {
        rc = actors_client_call(self, address, method, &args, opts, out);
    }
    actors_msg_destroy(&args);
    return rc;
}

actors_err
actors_client_tell(actors_client_t *self, const char *address,
    const char *method, actors_msg_t **args_p)
{
    assert(self && self->tag == ACTORS_CLIENT_TAG);
    if (!s_name_ok(address) || !s_name_ok(method)) {
        return ACTORS_EINVAL;
    }
    if (self->closed) {
        return ACTORS_ECLOSED;
    }
    if (self->tells_unpumped >= ACTORS__TELL_PUMP) {
        /* Take the acknowledgements in before sending more. A callback
         * may destroy the client: keep the memory until we know. */
        actors__client_ref(self);
        actors_client_poll(self, 0);
        bool closed = self->closed;
        actors__client_unref(self);
        if (closed) {
            return ACTORS_ECLOSED;
        }
    }
    actors_err rc = s_request_ex(self, ACTORS_CMD_TELL, 0, address, method,
        true, true, NULL, 0, true, args_p, NULL);
    if (rc == ACTORS_OK) {
        self->tells_unpumped++;
    }
    return rc;
}

actors_err
actors_client_tell_ack(actors_client_t *self, const char *address,
    const char *method, actors_msg_t **args_p, actors_future_t **out)
{
    assert(self && self->tag == ACTORS_CLIENT_TAG);
    assert(out);
    *out = NULL;
    if (!s_name_ok(address) || !s_name_ok(method)) {
        return ACTORS_EINVAL;
    }
    return s_request(
        self, ACTORS_CMD_TELL, 0, address, method, true, args_p, out);
}

actors_err
actors_client_broadcast(actors_client_t *self, const char *address,
    const char *method, actors_msg_t **args_p, actors_future_t **out)
{
    assert(self && self->tag == ACTORS_CLIENT_TAG);
    if (out != NULL) {
        *out = NULL;
    }
    if (!s_name_ok(address) || !s_name_ok(method)) {
        return ACTORS_EINVAL;
    }
    return s_request_fl(self, ACTORS_CMD_TELL, 0, address, method, true, true,
        NULL, 0, false, args_p, out, ACTORS__FLAG_BROADCAST, NULL, 0);
}

actors_err
actors_client_tell_nowait(actors_client_t *self, const char *address,
    const char *method, actors_msg_t **args_p)
{
    assert(self && self->tag == ACTORS_CLIENT_TAG);
    if (!s_name_ok(address) || !s_name_ok(method)) {
        return ACTORS_EINVAL;
    }
    return s_request(
        self, ACTORS_CMD_TELL, 0, address, method, true, args_p, NULL);
}

uint64_t
actors_client_tells_refused(const actors_client_t *self)
{
    assert(self && self->tag == ACTORS_CLIENT_TAG);
    return self->tells_refused;
}

actors_err
actors_client_lookup(
    actors_client_t *self, const char *address, actors_future_t **out)
{
    assert(self && self->tag == ACTORS_CLIENT_TAG);
    assert(out);
    *out = NULL;
    if (!s_name_ok(address)) {
        return ACTORS_EINVAL;
    }
    return s_request(
        self, ACTORS_CMD_LOOKUP, 0, address, NULL, false, NULL, out);
}

actors_err
actors_client_list(actors_client_t *self, actors_future_t **out)
{
    assert(self && self->tag == ACTORS_CLIENT_TAG);
    assert(out);
    *out = NULL;
    return s_request(self, ACTORS_CMD_LIST, 0, NULL, NULL, false, NULL, out);
}

actors_err
actors_client_ping(actors_client_t *self, actors_future_t **out)
{
    assert(self && self->tag == ACTORS_CLIENT_TAG);
    assert(out);
    *out = NULL;
    return s_request(self, ACTORS_CMD_PING, 0, NULL, NULL, false, NULL, out);
}

/* ---- lifecycle ------------------------------------------------------------
 */

/* s_args_as_json appends the values of args to m as an array of JSON
 * texts: the service gets them exactly as it would on its command line. */
static actors_err
s_args_as_json(actors_msg_t *m, const actors_msg_t *args)
{
    size_t n = args ? actors_msg_count(args) : 0;
    actors_err rc = actors_msg_add_array(m, (uint32_t)n);
    const char *data = args ? actors_msg_data(args) : NULL;
    size_t len = args ? actors_msg_size(args) : 0;
    size_t off = 0;
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    for (size_t i = 0; rc == ACTORS_OK && i < n; i++) {
        char *json = NULL;
        if (actors__unpack_next(&up, data, len, &off) !=
            MSGPACK_UNPACK_SUCCESS) {
            rc = ACTORS_EINVAL; /* raw bytes that are not msgpack */
            break;
        }
        rc = actors_json_dump(&up.data, &json);
        if (rc == ACTORS_OK) {
            /* A str value that is not UTF-8 is copied into the JSON text
             * as it is; the text travels as a str, so make it valid. */
            rc = actors__msg_add_utf8(m, json, strlen(json));
        }
        free(json);
    }
    msgpack_unpacked_destroy(&up);
    return rc;
}

static actors_err
s_kv_str(actors_msg_t *m, const char *k, const char *v)
{
    actors_err rc = actors_msg_add_str(m, k);
    if (rc == ACTORS_OK) {
        rc = v ? actors_msg_add_str(m, v) : actors_msg_add_nil(m);
    }
    return rc;
}

static actors_err
s_kv_int(actors_msg_t *m, const char *k, int64_t v)
{
    actors_err rc = actors_msg_add_str(m, k);
    return rc == ACTORS_OK ? actors_msg_add_int(m, v) : rc;
}

static actors_err
s_kv_bool(actors_msg_t *m, const char *k, bool v)
{
    actors_err rc = actors_msg_add_str(m, k);
    return rc == ACTORS_OK ? actors_msg_add_bool(m, v) : rc;
}

actors_err
actors_client_spawn(actors_client_t *self, const actors_spawn_opts_t *opts,
    actors_future_t **out)
{
    assert(self && self->tag == ACTORS_CLIENT_TAG);
    assert(opts);
    assert(out);
    *out = NULL;
    if (!s_text_ok(opts->service) ||
        (opts->name != NULL && !s_text_ok(opts->name)) ||
        (opts->node != NULL && !s_text_ok(opts->node)) ||
        opts->max_restarts < -1 || opts->max_task_retries < -1) {
        return ACTORS_EINVAL;
    }
    actors_msg_t *spec = NULL;
    actors_err rc = actors_msg_create(&spec);
    if (rc == ACTORS_OK) {
        rc = actors_msg_add_map(spec, opts->group ? 9 : 8);
    }
    if (rc == ACTORS_OK && opts->group) {
        rc = s_kv_bool(spec, "group", true);
    }
    if (rc == ACTORS_OK) {
        rc = s_kv_str(spec, "service", opts->service);
    }
    if (rc == ACTORS_OK) {
        rc = s_kv_str(spec, "name", opts->name);
    }
    if (rc == ACTORS_OK) {
        rc = s_kv_str(spec, "node", opts->node);
    }
    if (rc == ACTORS_OK) {
        rc = actors_msg_add_str(spec, "args");
    }
    if (rc == ACTORS_OK) {
        rc = s_args_as_json(spec, opts->args);
    }
    if (rc == ACTORS_OK) {
        rc = s_kv_bool(spec, "detached", opts->detached || opts->group);
    }
    if (rc == ACTORS_OK) {
        rc = s_kv_bool(spec, "get_if_exists", opts->get_if_exists);
    }
    if (rc == ACTORS_OK) {
        rc = s_kv_int(spec, "max_restarts", opts->max_restarts);
    }
    if (rc == ACTORS_OK) {
        rc = s_kv_int(spec, "max_task_retries", opts->max_task_retries);
    }
    if (rc == ACTORS_OK) {
        uint32_t timeout = opts->timeout_ms ? opts->timeout_ms : 10000;
        rc = s_request_ex(self, ACTORS_CMD_SPAWN, timeout, NULL, NULL, true,
            false, NULL, 0, false, &spec, out);
    }
    actors_msg_destroy(&spec);
    return rc;
}

static actors_err
s_kill(actors_client_t *self, const char *address, bool restart, bool graceful,
    actors_future_t **out)
{
    assert(self && self->tag == ACTORS_CLIENT_TAG);
    assert(out);
    *out = NULL;
    if (!s_name_ok(address)) {
        return ACTORS_EINVAL;
    }
    actors_msg_t *m = NULL;
    actors_err rc = actors_msg_build(
        &m, "{sbsb}", "restart", (int)restart, "graceful", (int)graceful);
    if (rc == ACTORS_OK) {
        rc = s_request_ex(self, ACTORS_CMD_KILL, 0, address, NULL, true, false,
            NULL, 0, false, &m, out);
    }
    actors_msg_destroy(&m);
    return rc;
}

actors_err
actors_client_kill(actors_client_t *self, const char *address, bool restart,
    actors_future_t **out)
{
    return s_kill(self, address, restart, false, out);
}

actors_err
actors_client_stop(
    actors_client_t *self, const char *address, actors_future_t **out)
{
    return s_kill(self, address, false, true, out);
}

actors_err
actors_client_events(
    actors_client_t *self, uint64_t since, actors_future_t **out)
{
    assert(self && self->tag == ACTORS_CLIENT_TAG);
    assert(out);
    *out = NULL;
    actors_msg_t *m = NULL;
    actors_err rc = actors_msg_build(&m, "{su}", "since", since);
    if (rc == ACTORS_OK) {
        rc = s_request_ex(self, ACTORS_CMD_EVENTS, 0, NULL, NULL, true, false,
            NULL, 0, false, &m, out);
    }
    actors_msg_destroy(&m);
    return rc;
}

/* ---- receiving ---------------------------------------------------------- */

/* s_tell_answer consumes the broker's answer to a plain tell: nothing to
 * do for its REPLY; its ERROR is counted and logged (at most once every
 * ACTORS__REFUSED_LOG_MS, with the count so far), never bodies. */
static void
s_tell_answer(
    actors_client_t *self, const actors__hdr_t *hdr, zmq_msg_t *frames, int n)
{
    if (hdr->cmd != ACTORS_CMD_ERROR) {
        return;
    }
    self->tells_refused++;
    int64_t now = actors__now_ms();
    if (self->refused_logged != 0 &&
        now - self->refused_logged < ACTORS__REFUSED_LOG_MS) {
        return;
    }
    self->refused_logged = now;
    if (ACTORS_LOG_WARN > actors_log_level()) {
        return;
    }
    actors_error_t *err = NULL;
    const void *data = n >= 2 ? zmq_msg_data(&frames[1]) : NULL;
    size_t len = n >= 2 ? zmq_msg_size(&frames[1]) : 0;
    if (actors__error_parse(data, len, &err) == ACTORS_OK) {
        ACTORS_LOG(ACTORS_LOG_WARN, "CLI-TELL-REFUSED",
            "address=%s type=%s refused=%llu %s", actors_error_address(err),
            actors_error_type(err), (unsigned long long)self->tells_refused,
            actors_error_message(err));
        actors_error_destroy(&err);
    } else {
        ACTORS_LOG(ACTORS_LOG_WARN, "CLI-TELL-REFUSED",
            "address=? type=? refused=%llu the broker refused a tell",
            (unsigned long long)self->tells_refused);
    }
}

size_t
actors__client_id_write(uint64_t id, uint8_t *out)
{
    uint64_t n = id & ~ACTORS__TELL_BIT;
    if (n < ((uint64_t)1 << 31)) {
        uint32_t v = (uint32_t)n | (id & ACTORS__TELL_BIT ? 1u << 31 : 0);
        memcpy(out, &v, ACTORS__ID_SHORT);
        return ACTORS__ID_SHORT;
    }
    memcpy(out, &id, ACTORS__ID_LEN);
    return ACTORS__ID_LEN;
}

bool
actors__client_id_read(const void *p, size_t len, uint64_t *id)
{
    if (len == ACTORS__ID_SHORT) {
        uint32_t v;
        memcpy(&v, p, sizeof v);
        *id = (v & ~(1u << 31)) | (v & (1u << 31) ? ACTORS__TELL_BIT : 0);
        return true;
    }
    if (len == ACTORS__ID_LEN) {
        memcpy(id, p, sizeof *id);
        return true;
    }
    return false;
}

/* s_dispatch handles one received message of n frames (n >= 1). */
static void
s_dispatch(actors_client_t *self, zmq_msg_t *frames, int n)
{
    if (n > 1 && zmq_msg_size(&frames[0]) == 0) {
        frames++; /* an empty delimiter (a peer that added one) */
        n--;
    }
    actors__hdr_t hdr;
    if (actors__hdr_parse(zmq_msg_data(&frames[0]), zmq_msg_size(&frames[0]),
            &hdr) != ACTORS_OK) {
        return; /* not ACT2: nothing sensible to do with it */
    }
    uint64_t id;
    if ((hdr.cmd == ACTORS_CMD_REPLY || hdr.cmd == ACTORS_CMD_ERROR) &&
        actors__client_id_read(hdr.id, hdr.id_len, &id)) {
        if (id & ACTORS__TELL_BIT) {
            s_tell_answer(self, &hdr, frames, n);
            return;
        }
        size_t i = s_table_find(self, id);
        if (i != SIZE_MAX) {
            actors_future_t *f = self->slots[i].f;
            s_take(self, i, f);
            if (hdr.cmd == ACTORS_CMD_REPLY) {
                if (n >= 2) {
                    actors__future_resolve_body(f, &frames[1]);
                } else {
                    actors__future_resolve_error(
                        f, ACTORS_EBADREQ, NULL, "reply without a body");
                }
            } else {
                actors_error_t *err = NULL;
                const void *data = n >= 2 ? zmq_msg_data(&frames[1]) : NULL;
                size_t len = n >= 2 ? zmq_msg_size(&frames[1]) : 0;
                actors_err rc = actors__error_parse(data, len, &err);
                actors__future_resolve_error(
                    f, rc == ACTORS_OK ? ACTORS_EAPP : rc, err, NULL);
            }
            actors__future_unref(f); /* the table's */
            return;
        }
    }
    if (hdr.cmd == ACTORS_CMD_PUBLICATION && self->subs != NULL &&
        actors__subs_deliver(self, &hdr, frames, n)) {
        return; /* an event for one of the client's subscriptions */
    }
    if (self->hook != NULL) {
        self->hook(self->hook_arg, &hdr, frames, n);
    }
}

/* s_recv_msg reads one whole message from sock without waiting into
 * frames (ACTORS__MAX_FRAMES; more are dropped), their number in *n.
 * Returns false if none was waiting. */
static bool
s_recv_msg(void *sock, zmq_msg_t *frames, int *out)
{
    zmq_msg_init(&frames[0]);
    if (zmq_msg_recv(&frames[0], sock, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&frames[0]);
        return false;
    }
    int n = 1;
    bool more = zmq_msg_more(&frames[0]);
    while (more) {
        /* The rest of a multipart message is already here (atomic). Frames
         * beyond ACTORS__MAX_FRAMES are read and dropped. */
        zmq_msg_t scratch;
        zmq_msg_t *fr = n < ACTORS__MAX_FRAMES ? &frames[n] : &scratch;
        zmq_msg_init(fr);
        if (zmq_msg_recv(fr, sock, 0) < 0) {
            zmq_msg_close(fr);
            break;
        }
        more = zmq_msg_more(fr);
        if (fr == &scratch) {
            zmq_msg_close(fr);
        } else {
            n++;
        }
    }
    *out = n;
    return true;
}

/* s_recv_one reads one whole message without waiting and handles it.
 * Returns 1 if there was one, 0 if not. */
static int
s_recv_one(actors_client_t *self)
{
    zmq_msg_t frames[ACTORS__MAX_FRAMES];
    int n;
    if (!s_recv_msg(self->sock, frames, &n)) {
        return 0;
    }
    self->received++;
    s_dispatch(self, frames, n);
    for (int i = 0; i < n; i++) {
        zmq_msg_close(&frames[i]);
    }
    return 1;
}

/* s_stream_drain hands what came on the event stream to the
 * subscriptions (pubsub.c); returns how many messages. */
static int
s_stream_drain(actors_client_t *self)
{
    int n = 0;
    while (self->stream != NULL && !self->closed && n < ACTORS__DRAIN_MAX) {
        zmq_msg_t frames[ACTORS__MAX_FRAMES];
        int k;
        if (!s_recv_msg(self->stream, frames, &k)) {
            self->stream_idle = true;
            break;
        }
        self->stream_idle = false;
        actors__subs_stream(self, frames, k);
        for (int i = 0; i < k; i++) {
            zmq_msg_close(&frames[i]);
        }
        n++;
    }
    return n;
}

static void s_monitor_read(actors_client_t *self);

/* s_fail_refused fails every pending future with Forbidden once the
 * broker refused the connection: nothing sent on it reached the broker,
 * and nothing will. */
static void
s_fail_refused(actors_client_t *self)
{
    /* From the start each time: a removal shifts entries back, and a
     * callback may change the table. */
    while (!self->closed && self->refused && self->npending > 0) {
        size_t i = 0;
        while (self->slots[i].f == NULL) {
            i++;
        }
        actors_future_t *f = self->slots[i].f;
        s_take(self, i, f);
        actors__future_resolve_error(
            f, ACTORS_EFORBIDDEN, NULL, self->refused_why);
        actors__future_unref(f); /* the table's */
    }
}

/* s_expire fails every call whose local deadline has passed. */
static void
s_expire(actors_client_t *self)
{
    if (self->subs != NULL) {
        actors__subs_tick(self, actors__now_ms()); /* welcomes late */
    }
    actors_future_t *f = s_dl_first(self);
    if (f == NULL) {
        return;
    }
    int64_t now = actors__now_ms();
    for (; !self->closed && f != NULL && f->deadline <= now;
         f = s_dl_first(self)) {
        size_t i = s_table_find(self, f->id);
        assert(i != SIZE_MAX);
        s_take(self, i, f);
        actors__future_resolve_error(f, ACTORS_ETIMEDOUT, NULL,
            "no reply before the deadline (the broker did not answer)");
        actors__future_unref(f); /* the table's */
    }
}

/* s_drain handles what has arrived; returns how many messages. */
static int
s_drain(actors_client_t *self)
{
    int n = 0;
    self->idle = false;
    while (!self->closed && n < self->drain_max) {
        if (!s_recv_one(self)) {
            self->idle = true;
            break;
        }
        n++;
    }
    n += s_stream_drain(self);
    if (self->stream != NULL && !self->stream_idle) {
        self->idle = false; /* the stream's ZMQ_FD cannot be waited on */
    }
    return n;
}

/* s_renew has the client's subscriptions made again on a new connection
 * to the broker (pubsub.c): the broker knows the new connection as a new
 * peer, with no subscription. Only with subscriptions and a monitor
 * (actors_subscribe starts it). */
static void
s_renew(actors_client_t *self)
{
    if (self->subs != NULL && self->monitor != NULL && !self->closed) {
        actors__subs_renew(self, actors__client_conn_gen(self));
    }
}

/* s_wait_fd waits up to wait_ms (-1: no limit) for a message and reads
 * what came. Only after a receive returned EAGAIN with no send since
 * (self->idle): then the socket's ZMQ_FD becomes readable when libzmq has
 * commands for the socket, a new message among them, and polling it is one
 * poll() system call, where zmq_poll first polls with a zero timeout and
 * asks ZMQ_EVENTS (more system calls) before it blocks. A wake-up that
 * brings only other commands waits again for the rest of the time. */
static void
s_wait_fd(actors_client_t *self, int wait_ms)
{
    int64_t deadline = wait_ms > 0 ? actors__now_ms() + wait_ms : 0;
    for (;;) {
        /* The connection's news too: subscriptions made again (s_renew),
         * the pace after a refusal (client_conn.h). */
        struct pollfd items[3] = {{self->fd, POLLIN, 0},
            {self->monitor_fd, POLLIN, 0}, {self->stream_fd, POLLIN, 0}};
        nfds_t n = 3;
        if (self->stream_fd < 0) {
            n = self->monitor_fd >= 0 ? 2 : 1;
        }
        if (poll(items, n, wait_ms) <= 0) {
            return; /* the time is up (or EINTR, as zmq_poll) */
        }
        if (n >= 2 && self->monitor_fd >= 0 && (items[1].revents & POLLIN)) {
            s_monitor_read(self);
            s_renew(self);
            if (actors__conn_waiting(&self->conn)) {
                return; /* the caller's wait ends at the next connect */
            }
        }
        if (s_drain(self) > 0 || !self->idle || self->closed) {
            return;
        }
        if (wait_ms == 0) {
            return;
        }
        if (wait_ms > 0) {
            int64_t left = deadline - actors__now_ms();
            if (left <= 0) {
                return;
            }
            wait_ms = (int)left;
        }
    }
}

int
actors__client_timeout_ms(const actors_client_t *self)
{
    assert(self && self->tag == ACTORS_CLIENT_TAG);
    int knock = -1;
    if (actors__conn_waiting(&self->conn)) {
        knock = actors__conn_wait_ms(&self->conn, actors__now_ms());
    }
    if (self->subs != NULL) {
        int w = actors__subs_wait_ms(self->subs, actors__now_ms());
        knock = w >= 0 && (knock < 0 || w < knock) ? w : knock;
    }
    const actors_future_t *first = s_dl_first(self);
    if (first == NULL) {
        return knock;
    }
    int64_t left = first->deadline - actors__now_ms();
    if (left <= 0) {
        return 0;
    }
    if (knock >= 0 && knock < left) {
        return knock;
    }
    return left > INT32_MAX ? INT32_MAX : (int)left;
}

actors_err
actors_client_poll(actors_client_t *self, int timeout_ms)
{
    assert(self && self->tag == ACTORS_CLIENT_TAG);
    if (self->closed) {
        return ACTORS_ECLOSED;
    }
    if (actors__client_would_block(self, timeout_ms)) {
        return ACTORS_EDEADLK;
    }
    /* A callback may destroy the client: keep the memory until we return. */
    actors__client_ref(self);
    self->tells_unpumped = 0;
    if (actors__conn_waiting(&self->conn)) {
        actors__conn_due(&self->conn, actors__now_ms());
    }
    int handled = s_drain(self);
    if (handled == 0) {
        s_renew(self); /* idle: a new connection may be why */
    }
    /* Until the first handshake, a client also watches its monitor: a
     * refused key (or keys the broker requires and this client lacks)
     * fails the futures at once, not at their deadline. */
    bool watching = self->monitor != NULL && !self->handshake_ok;
    if (watching) {
        s_monitor_read(self);
        s_fail_refused(self);
        watching = !self->handshake_ok && !self->refused;
    }
    s_expire(self);
    if (handled == 0 && timeout_ms != 0 && !self->closed) {
        int wait_ms = timeout_ms;
        int local = actors__client_timeout_ms(self);
        if (local >= 0 && (wait_ms < 0 || local < wait_ms)) {
            wait_ms = local;
        }
        if (watching) {
            zmq_pollitem_t items[3] = {{self->sock, 0, ZMQ_POLLIN, 0},
                {self->monitor, 0, ZMQ_POLLIN, 0},
                {self->stream, 0, ZMQ_POLLIN, 0}};
            if (zmq_poll(items, self->stream ? 3 : 2, wait_ms) > 0) {
                s_monitor_read(self);
                s_fail_refused(self);
                s_drain(self);
            }
        } else if (self->idle && self->fd >= 0) {
            s_wait_fd(self, wait_ms);
        } else {
            zmq_pollitem_t items[3] = {{self->sock, 0, ZMQ_POLLIN, 0},
                {self->monitor, 0, ZMQ_POLLIN, 0},
                {self->stream, 0, ZMQ_POLLIN, 0}};
            int n = self->monitor != NULL ? 2 : 1;
            if (self->stream != NULL) {
                if (n == 1) {
                    items[1] = items[2];
                }
                n++;
            }
            if (zmq_poll(items, n, wait_ms) > 0) {
                s_drain(self);
                s_monitor_read(self);
                s_renew(self);
            }
        }
        s_expire(self);
        if (actors__conn_waiting(&self->conn)) {
            actors__conn_due(&self->conn, actors__now_ms());
        }
    }
    actors_err rc = self->closed ? ACTORS_ECLOSED : ACTORS_OK;
    actors__client_unref(self);
    return rc;
}

size_t
actors_client_pending(const actors_client_t *self)
{
    assert(self && self->tag == ACTORS_CLIENT_TAG);
    return self->npending;
}

/* ---- for the actor runtime (client_internal.h) -------------------------- */

void
actors__client_set_drain(actors_client_t *self, int max)
{
    assert(self && self->tag == ACTORS_CLIENT_TAG);
    assert(max > 0);
    self->drain_max = max;
}

void
actors__client_set_hook(
    actors_client_t *self, actors__client_hook_fn fn, void *arg)
{
    assert(self && self->tag == ACTORS_CLIENT_TAG);
    self->hook = fn;
    self->hook_arg = arg;
    /* The actor runtime polls the client's one socket: the events of its
     * subscriptions come over it, not on the stream. */
    self->no_stream |= fn != NULL;
}

bool
actors__client_idle(const actors_client_t *self)
{
    assert(self && self->tag == ACTORS_CLIENT_TAG);
    return self->idle;
}

uint64_t
actors__client_received(const actors_client_t *self)
{
    assert(self && self->tag == ACTORS_CLIENT_TAG);
    return self->received;
}

void *
actors__client_socket(actors_client_t *self)
{
    assert(self && self->tag == ACTORS_CLIENT_TAG);
    return self->sock;
}

actors_err
actors__client_watch(actors_client_t *self, int *fd)
{
    assert(self && self->tag == ACTORS_CLIENT_TAG);
    assert(fd);
    *fd = -1;
    if (self->closed) {
        return ACTORS_ECLOSED;
    }
    if (self->monitor == NULL && s_monitor_open(self) != ACTORS_OK) {
        return ACTORS_EIO;
    }
    size_t len = sizeof *fd;
    if (zmq_getsockopt(self->monitor, ZMQ_FD, fd, &len) != 0) {
        *fd = -1;
        return ACTORS_EIO;
    }
    self->monitor_fd = *fd;
    return ACTORS_OK;
}

/* s_monitor_read reads the connection events that came since the last
 * read: each handshake that follows a disconnect is a new connection
 * (conn_gen); handshake_ok once one succeeded; refused when the broker
 * refused it before (AUTH: its ZAP handler said no to the key, or
 * PROTOCOL). */
static void
s_monitor_read(actors_client_t *self)
{
    uint16_t event;
    uint32_t value;
    while (self->monitor != NULL &&
           actors__monitor_next(self->monitor, &event, &value)) {
        bool auth = event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;
        bool proto = event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL;
        if (event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL && !self->keyed &&
            !self->handshake_ok && !self->refused && !self->probed) {
            /* A plain client's handshake dropped: a broker that wants
             * CURVE and saw the mismatch first, or one out of
             * descriptors. Its greeting tells which (once). */
            self->probed = true;
            proto = actors__conn_broker_curve(&self->conn, 500);
        }
        if ((auth || proto) && !self->handshake_ok) {
            /* libzmq does not try such a connection again. */
            self->refused = true;
            snprintf(self->refused_why, sizeof self->refused_why,
                "the broker refused this connection's %s handshake (%s "
                "%u): %s",
                self->keyed ? "CURVE" : "plain",
                auth ? "ZAP status" : "protocol error", (unsigned)value,
                auth ? "its allowlist (--keys) has no role for this key "
                       "(--key, ACTORS_KEY)"
                : self->keyed
                    ? "check --key/ACTORS_KEY and that --broker-key/"
                      "ACTORS_BROKER_KEY is the broker's public key"
                    : "the broker requires CURVE keys: give this client "
                      "its key pair and the broker's public key (--key "
                      "and --broker-key, or ACTORS_KEY and "
                      "ACTORS_BROKER_KEY)");
        }
        /* NO_DETAIL is a connection dropped during the handshake: a
         * CURVE matter only for a keyed client (a broker key that is not
         * the broker's); a broker out of descriptors drops a plain
         * client's so too. */
        bool no_detail = event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL;
        if ((auth || proto || (no_detail && self->keyed)) &&
            !self->handshake_logged) {
            /* With CURVE a refused key is silence to the caller: say it
             * once in the log (PROTOCOL.md, Security). */
            self->handshake_logged = true;
            ACTORS_LOG(ACTORS_LOG_ERR, "CLI-HANDSHAKE-FAILED",
                "event=0x%x value=%u the broker refused the connection's "
                "handshake: %s",
                (unsigned)event, (unsigned)value,
                event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH
                    ? "this key is not in its allowlist (--keys), or has "
                      "no role"
                : self->keyed
                    ? "check --key/ACTORS_KEY and that --broker-key/"
                      "ACTORS_BROKER_KEY is the broker's public key (and "
                      "that the broker has keys)"
                    : "this client has no keys and the broker requires "
                      "them (--key and --broker-key, or ACTORS_KEY and "
                      "ACTORS_BROKER_KEY)");
        }
        if (auth || proto) {
            /* The broker refused the handshake (its ZAP handler, or a
             * mechanism mismatch: keys on one side only); libzmq says
             * DISCONNECTED after it. Until a handshake succeeds, later
             * drops are taken for the same: when the broker sees the
             * mismatch first, it just closes (NO_DETAIL here). */
            self->handshake_failed = true;
        }
        if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
            self->handshake_ok = true;
            self->refused = false;
            self->handshake_failed = false;
        }
        if (event == ZMQ_EVENT_DISCONNECTED) {
            self->lost = true;
            actors__conn_dropped(&self->conn, self->received, actors__now_ms(),
                self->handshake_failed ? ACTORS__CONN_HANDSHAKE
                                       : ACTORS__CONN_DROPPED);
        } else if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED && self->lost) {
            /* The first handshake is no news (and may have come before
             * the monitor did); one after a disconnect is. */
            self->lost = false;
            self->conn_gen++;
        }
    }
}

bool
actors__client_connecting(const actors_client_t *self)
{
    assert(self && self->tag == ACTORS_CLIENT_TAG);
    return actors__conn_waiting(&self->conn);
}

bool
actors__client_reconnected(actors_client_t *self)
{
    assert(self && self->tag == ACTORS_CLIENT_TAG);
    s_monitor_read(self);
    bool again = self->conn_gen != self->conn_gen_told;
    self->conn_gen_told = self->conn_gen;
    return again;
}

uint64_t
actors__client_conn_gen(actors_client_t *self)
{
    assert(self && self->tag == ACTORS_CLIENT_TAG);
    s_monitor_read(self);
    return self->conn_gen;
}

actors_err
actors__client_send_frames(actors_client_t *self, zmq_msg_t *frames, int n)
{
    assert(self && self->tag == ACTORS_CLIENT_TAG);
    assert(frames && n > 0);
    if (self->closed) {
        return ACTORS_EIO;
    }
    /* libzmq processes pending commands in a send, so a message may be
     * waiting without ZMQ_FD signalling it: read before polling it again. */
    self->idle = false;
    for (int i = 0; i < n; i++) {
        int flags = ZMQ_DONTWAIT | (i < n - 1 ? ZMQ_SNDMORE : 0);
        if (zmq_msg_send(&frames[i], self->sock, flags) < 0) {
            return ACTORS_EIO;
        }
    }
    return ACTORS_OK;
}

/* ---- the actor loop's guard (client_internal.h) ------------------------ */

void
actors__client_guard(actors_client_t *self)
{
    assert(self && self->tag == ACTORS_CLIENT_TAG);
    self->guard_thread = pthread_self();
    atomic_store_explicit(&self->guarded, true, memory_order_release);
}

bool
actors__client_would_block(const actors_client_t *self, int timeout_ms)
{
    /* One relaxed load on the common (unguarded) path. */
    if (!atomic_load_explicit(&self->guarded, memory_order_acquire)) {
        return false;
    }
    bool loop = pthread_equal(pthread_self(), self->guard_thread) != 0;
    if (loop && timeout_ms == 0) {
        return false;
    }
    ACTORS_LOG(ACTORS_LOG_WARN, "CLI-DEADLOCK",
        "%s; refused (Deadlock): use actors_future_on_done and a deferred "
        "reply, or actors_actor_post from another thread",
        loop ? "a handler waited on its own actor's loop"
             : "a thread that is not the actor's loop pumped its client");
    return true;
}
