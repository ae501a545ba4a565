/* broker/broker_int.h - the broker's state and helpers, shared with
 * lifecycle.c.
 * SPDX-License-Identifier: MIT
 *
 * broker.c owns the loop, the hot path (CALL/TELL/REPLY/CREDIT) and
 * actor registration; lifecycle.c adds nodes (supervisors), spawning,
 * killing, supervised restarts and events on the same state. Both see
 * the struct through this header; nothing outside broker/ includes it.
 *
 * Thread: the broker loop.
 */
#ifndef BRK_BROKER_INT_H
#define BRK_BROKER_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <msgpack.h>
#include <zmq.h>

#include <actors/msg.h>

#include "broker.h"
#include "deadlines.h"
#include "events.h"
#include "nodes.h"
#include "owners.h"
#include "peers.h"
#include "registry.h"
#include "slots.h"
#include "wire.h"

#define BRK_MAX_FRAMES 8          /* frames kept of one message */
#define BRK_PREFETCH_DEFAULT 256  /* REGISTER without a prefetch */
#define BRK_PREFETCH_MAX 1000000u /* the largest prefetch accepted */
#define BRK_INFO_MAX 65536        /* REGISTER info frame */
#define BRK_VERSION "0.2.0"       /* PING's version */
#define BRK_KEY_LEN 18 /* the broker's own call keys: 00 'b' nonce tag */

struct brk_broker {
    uint32_t tag;                 /* BRK_TAG while alive */
    brk_opts_t opts;              /* bind points at endpoint_req */
    char endpoint_req[256];       /* endpoint asked for */
    char endpoint[256];           /* endpoint bound (port resolved) */
    void *ctx;                    /* own zmq context */
    void *router;                 /* the one ROUTER */
    void *monitor;                /* PAIR reading the ROUTER's events */
    atomic_int stop;              /* set by brk_broker_stop */
    int64_t now;                  /* monotonic ms, read once per batch */
    int64_t started;              /* monotonic ms at create */
    int64_t next_tick;            /* next heartbeat check */
    int64_t next_check;           /* next monitor and timer check */
    int64_t tick_ms;              /* heartbeat check period */
    brk_slots_t slots;            /* CALL/TELL kept by the broker */
    brk_registry_t reg;           /* address -> entry */
    brk_peers_t peers;            /* routing id -> actor connection */
    brk_nodes_t nodes;            /* supervisors (lifecycle.c) */
    brk_events_t events;          /* their last EVENTs (lifecycle.c) */
    brk_owners_t owners;          /* clients owning actors (owners.h) */
    uint32_t rng;                 /* xorshift state: generated names */
    uint8_t nonce[8];             /* random, per broker run: its keys */
    brk_deadlines_t deadlines;    /* slots with a deadline */
    uint32_t running;             /* entries RUNNING */
    bool lost_pending;            /* some peer has lost set */
    bool pump_blocked;            /* a dispatch found a queue full */
    bool trim_due;                /* a peer left: give memory back */
    actors_msg_t *ebody;          /* builder of error bodies */
    msgpack_sbuffer sbuf;         /* LOOKUP/LIST/PING/REGISTER replies */
    msgpack_packer pk;            /* writes into sbuf */
    zmq_msg_t in[BRK_MAX_FRAMES]; /* the message being handled */
    uint64_t n_msgs;              /* messages received */
    uint64_t n_unroutable;        /* answers dropped: caller gone */
    uint64_t n_undelivered;       /* answers dropped: queue full */
    int64_t slow_logged;          /* last BRK-SLOW-CONSUMER log, ms */
    int64_t trimmed;              /* last malloc_trim, ms */
    uint64_t n_late;              /* replies after Timeout or unmatched */
    uint64_t n_bad;               /* malformed messages */
};

/* Per-peer "lost" marks live in the peer's fd field as this value: a send
 * to it failed with EHOSTUNREACH and its death is pending. */
#define BRK_FD_LOST (-2)

/* The message being handled. The frames live in the broker's receive
 * buffer; a handler may move them (zmq_msg_move) into a slot, or send
 * them, which empties them. */
typedef struct {
    zmq_msg_t *rid;    /* the sender's routing id */
    zmq_msg_t *hdr;    /* the header frame */
    zmq_msg_t *arg;    /* the frames after the header: arg[0..nargs) */
    int nargs;         /* frames after the header */
    bool delim;        /* empty delimiter after the routing id */
    actors__hdr_t h;   /* the parsed header */
} brk_in_t;

/* broker_frame_str copies a frame into buf as a C string (truncated to
 * cap - 1 bytes) and returns buf. */
const char *broker_frame_str(zmq_msg_t *m, char *buf, size_t cap);

/* broker_hdr_timeout returns the timeout_ms field of header frame hdr. */
uint32_t broker_hdr_timeout(zmq_msg_t *hdr);

/* broker_send sends n frames as one message, consuming them. Returns
 * false when the peer cannot be routed to (the answer is dropped). */
bool broker_send(brk_broker_t *self, zmq_msg_t **f, int n);

/* broker_answer sends hdr (rewritten to cmd) and body to rid, with an
 * empty delimiter first if delim. Consumes rid, hdr, body. */
void broker_answer(brk_broker_t *self, zmq_msg_t *rid, bool delim,
    zmq_msg_t *hdr, uint8_t cmd, zmq_msg_t *body);

/* broker_body_from makes a frame holding a copy of len bytes. */
void broker_body_from(zmq_msg_t *body, const void *data, size_t len);

/* broker_error answers rid with ERROR code, echoing hdr (NULL: a fresh
 * header with an empty id). Consumes rid and hdr. */
void broker_error(brk_broker_t *self, zmq_msg_t *rid, bool delim,
    zmq_msg_t *hdr, actors_err code, const char *address, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

/* broker_slot_unheap takes slot si out of the deadline heap if it is in. */
void broker_slot_unheap(brk_broker_t *self, uint32_t si);

/* broker_slot_fail answers the caller of slot si (off every list) with an
 * error unless it was answered already, and frees the slot. */
void broker_slot_fail(brk_broker_t *self, uint32_t si, actors_err code,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* broker_pump dispatches from the mailbox of entry ei while it has
 * credit. */
void broker_pump(brk_broker_t *self, uint32_t ei);

/* broker_peer_unlink takes entry ei off its peer's list. */
void broker_peer_unlink(brk_broker_t *self, uint32_t ei);

/* broker_entry_down ends live entry ei for good: in-flight calls get
 * inflight_code, waiting ones ActorDead, a waiting SPAWN SpawnFailed;
 * reason completes the messages; the address becomes a tombstone. */
void broker_entry_down(brk_broker_t *self, uint32_t ei,
    actors_err inflight_code, const char *reason);

/* broker_settle_fds handles every connection drop the socket monitor has
 * reported so far. Call it before recording the ZMQ_SRCFD of a message:
 * an earlier connection's DISCONNECTED event may still wait, and its fd
 * may be the sender's now (the event is queued before the fd is closed,
 * so once drained, the fd is the sender's alone). */
void broker_settle_fds(brk_broker_t *self);

/* broker_bad answers a malformed message with BadRequest. */
void broker_bad(brk_broker_t *self, const brk_in_t *m, const char *what);

/* broker_pack_body turns what self->pk wrote into a body frame. */
void broker_pack_body(brk_broker_t *self, zmq_msg_t *body);

/* broker_pack_str packs a C string. */
void broker_pack_str(msgpack_packer *pk, const char *s);

/* broker_reply_packed answers the current message with REPLY and the
 * packed body. */
void broker_reply_packed(brk_broker_t *self, const brk_in_t *m);

/* broker_peer_of returns the peer that sent the current message (by its
 * routing id), or BRK_NONE for a plain client. */
uint32_t broker_peer_of(brk_broker_t *self);

/* broker_peer_died ends every entry of peer pi (their callers get their
 * answers, supervised ones restart) and forgets the peer. */
void broker_peer_died(brk_broker_t *self, uint32_t pi, const char *reason);

#endif
