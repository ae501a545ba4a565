/* broker/core.h - the routing core: its state and the API its files and
 * its extensions use.
 * SPDX-License-Identifier: MIT
 *
 * The core owns the connections (conn.h), the registry of addresses
 * (registry.h), the slots of the messages it keeps (slots.h), their
 * mailboxes and in-flight lists (mailbox.h), credit and deadlines; only
 * the core's files (core.c, route.c, control.c) change their invariants.
 * Commands are dispatched from a table (brk_core_set_cmd): the core's
 * own rows are CALL, TELL, REPLY, ERROR, CREDIT, REGISTER, UNREGISTER,
 * HEARTBEAT, LOOKUP, LIST and PING. An extension (ext.h) adds rows and is
 * told of losses, registrations, departures and ticks through hooks; it
 * asks the core for what it needs through the functions below. The core
 * never includes or calls an extension by name.
 *
 * Invariants. Every slot is on exactly one of: an entry's mailbox, an
 * entry's in-flight list, a list an extension keeps, or none only inside
 * one function. A slot with a deadline is in the heap. An entry's
 * calls_out + tells_out is the length of its in-flight list and never
 * exceeds prefetch except transiently after a re-register lowered it. A
 * RUNNING entry has a live connection; a DEAD one (tombstone) and a HELD
 * one have none; a DEAD one has empty lists.
 *
 * Errors. Every caller gets exactly one answer; answers that cannot be
 * routed are dropped and counted. Input never reaches an assert.
 *
 * Thread: the broker loop, except brk_broker_stop.
 */
#ifndef BRK_CORE_H
#define BRK_CORE_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <msgpack.h>
#include <zmq.h>

#include <actors/error.h>

#include "broker.h"
#include "conn.h"
#include "deadlines.h"
#include "ext.h"
#include "outbox.h"
#include "registry.h"
#include "slots.h"
#include <actors-internal/wire.h>

#define BRK_MAX_FRAMES 8          /* frames kept of one message */
#define BRK_PREFETCH_DEFAULT 4096 /* REGISTER without a prefetch */
#define BRK_PREFETCH_MAX 1000000u /* the largest prefetch accepted */
#define BRK_INFO_MAX 65536        /* REGISTER info frame */
#define BRK_VERSION "0.3.0"       /* PING's version */
#define BRK_KEY_LEN 18 /* the broker's own call keys: 00 'b' nonce tag */
#define BRK_EXT_MAX 4  /* extensions attached at once */

/* The message being handled. The frames live in the core's receive
 * buffer; a handler may move them (zmq_msg_move) into a slot, or send
 * them, which empties them. */
struct brk_in {
    zmq_msg_t *rid;  /* the sender's routing id */
    zmq_msg_t *hdr;  /* the header frame */
    zmq_msg_t *arg;  /* the frames after the header: arg[0..nargs) */
    int nargs;       /* frames after the header */
    bool delim;      /* empty delimiter after the routing id */
    actors__hdr_t h; /* the parsed header */
};

/* A command handler: m is the message (its frames may be moved). */
typedef void (*brk_cmd_cb)(void *arg, brk_broker_t *core, const brk_in_t *m);

typedef struct {
    brk_cmd_cb fn; /* NULL: unknown command (BadRequest) */
    void *arg;     /* passed to fn */
} brk_cmd_t;

struct brk_broker {
    uint32_t tag;                 /* BRK_TAG while alive */
    brk_opts_t opts;              /* bind points at endpoint_req */
    char endpoint_req[256];       /* endpoint asked for */
    char endpoint[256];           /* endpoint bound (port resolved) */
    void *ctx;                    /* own zmq context */
    void *router;                 /* the one ROUTER */
    void *monitor;                /* PAIR reading the ROUTER's events */
    atomic_int stop;              /* set by brk_broker_stop */
    int64_t now;                  /* monotonic ms, read once per message */
    int64_t now_us;               /* the same read, in us */
    unsigned clock_skip;          /* messages handled since that read */
    int rcvtimeo;                 /* the ROUTER's ZMQ_RCVTIMEO (-2: unset) */
    bool observe;                 /* call_done_cb wanted (ext.h) */
    int64_t started;              /* monotonic ms at create */
    int64_t next_tick;            /* next tick of the extensions */
    int64_t next_check;           /* next monitor and timer check */
    int64_t tick_ms;              /* tick period */
    int64_t trimmed;              /* last malloc_trim, ms */
    int64_t slow_last;            /* last drop of a slow-consumer episode */
    uint64_t slow_from;           /* n_undelivered when it began */
    brk_slots_t slots;            /* CALL/TELL kept by the broker */
    brk_registry_t reg;           /* address -> entry */
    brk_conns_t conns;            /* routing id -> connection */
    brk_deadlines_t deadlines;    /* slots with a deadline */
    brk_cmd_t cmds[256];          /* the command table */
    brk_ext_t ext[BRK_EXT_MAX];   /* attached extensions */
    int n_ext;                    /* how many */
    uint8_t nonce[8];             /* random, per broker run: its keys */
    uint32_t running;             /* entries RUNNING */
    bool lost_pending;            /* some connection has fd LOST */
    brk_outbox_t out;             /* sends deferred to a flush */
    bool flushing;                /* in brk_core_flush */
    bool pump_blocked;            /* a dispatch met a full queue: the
                                     tick pumps every mailbox again */
    uint32_t *undone;             /* dispatches a flush took back, in
                                     order, to go back to their mailboxes */
    uint32_t n_undone;            /* of them */
    uint32_t cap_undone;          /* allocated */
    bool trim_due;                /* a peer left: give memory back */
    uint32_t revocations;         /* brk_auth_revocations last swept */
    msgpack_sbuffer sbuf;         /* bodies the broker builds */
    msgpack_packer pk;            /* writes into sbuf */
    zmq_msg_t in[BRK_MAX_FRAMES]; /* the message being received */
    uint64_t n_msgs;              /* messages received */
    uint64_t n_unroutable;        /* answers dropped: peer gone */
    uint64_t n_undelivered;       /* answers dropped: its queue full */
    uint64_t n_late;              /* replies after Timeout or unmatched */
    uint64_t n_bad;               /* malformed messages */
    uint64_t n_requeued;          /* not-started messages re-queued */
    uint64_t n_tells_lost;        /* tells in flight when an actor died */
    uint64_t n_refused;           /* connections refused: no descriptor */
    int64_t fd_logged;            /* last BRK-FDS-EXHAUSTED log, ms */
    int64_t full_logged;          /* last BRK-REGISTRY-FULL log, ms */
    int64_t fd_limit;             /* RLIMIT_NOFILE soft limit at create */
    uint8_t *fd_seen;             /* per fd: what its last ACCEPTED got */
    size_t fd_seen_len;           /* entries in fd_seen */
    bool fd_guard;                /* near the limit: check each sender */
    int64_t fd_refused_at;        /* last refusal, ms; 0: none */
    struct brk_auth *auth;        /* CURVE and roles (auth.h); NULL: off */
};

/* ---- assembling ------------------------------------------------------- */

/* brk_core_create makes a core with no extension and binds opts->bind.
 * Returns as brk_broker_create (broker.h). */
actors_err brk_core_create(brk_broker_t **out, const brk_opts_t *opts);

/* brk_core_set_cmd routes command cmd to fn(arg, core, m), replacing what
 * was there. */
void brk_core_set_cmd(
    brk_broker_t *self, uint8_t cmd, brk_cmd_cb fn, void *arg);

/* brk_core_attach adds extension ext (copied). Returns ACTORS_OK or
 * ACTORS_ENOMEM when BRK_EXT_MAX are attached. */
actors_err brk_core_attach(brk_broker_t *self, const brk_ext_t *ext);

/* brk_core_ctx is the core's ZeroMQ context, for an extension's own
 * socket (ext.h, sock). */
void *brk_core_ctx(brk_broker_t *self);

/* brk_core_liveness sets sock's ZMTP heartbeats as the ROUTER's: a peer
 * silent for liveness x heartbeat_ms is dropped. */
void brk_core_liveness(brk_broker_t *self, void *sock);

/* brk_core_refuse_if_full: libzmq accepted a connection on fd (a socket
 * monitor's ZMQ_EVENT_ACCEPTED) on an extension's own socket. Near the
 * descriptor limit it is shut down (and counted, and logged) as the
 * ROUTER's are, so that no listener runs out of descriptors. Returns true
 * if it was. */
bool brk_core_refuse_if_full(brk_broker_t *self, int fd);

/* brk_core_revocations counts the allowlist reloads that removed or
 * changed a key (auth.h; 0 without keys). The core closes its own
 * connections made with such a key when it changes; an extension with
 * its own socket, whose peers it cannot tell apart, closes its own. */
uint32_t brk_core_revocations(const brk_broker_t *self);

/* brk_core_peer_left: a peer of an extension's own socket left; what
 * it held (libzmq's memory for it) is given back to the system soon, as
 * for the ROUTER's peers. */
void brk_core_peer_left(brk_broker_t *self);

/* brk_core_secure makes sock a CURVE server with the broker's key, its
 * peers checked by the same ZAP handler as the ROUTER's (auth.h); nothing
 * without keys. Call before binding. Returns ACTORS_OK or ACTORS_EIO
 * (logged). */
actors_err brk_core_secure(brk_broker_t *self, void *sock);

/* ---- answering -------------------------------------------------------- */

/* brk_core_frame_str copies a frame into buf as a C string (truncated to
 * cap - 1 bytes) and returns buf. */
const char *brk_core_frame_str(zmq_msg_t *m, char *buf, size_t cap);

/* brk_core_send queues n frames (f[0] the routing id, n at most
 * BRK_OUT_FRAMES) as one message, consuming them; they leave at the
 * loop's next flush (brk_core_flush), in the order queued. An answer
 * whose peer is gone then, or whose queue is full (max_queued: a slow
 * consumer), is dropped and counted. Returns false only when it could
 * not be queued (out of memory: dropped). */
bool brk_core_send(brk_broker_t *self, zmq_msg_t **f, int n);

/* brk_core_send_ordered is brk_core_send for the dispatch of slot si
 * (a CALL or TELL, already in flight on its entry's in-flight list). If
 * at the flush the actor's queue in ZeroMQ is full, or its peer is gone,
 * or an earlier dispatch of the same flush to it met either, the
 * dispatch is taken back (brk_core_undispatch): the message waits in the
 * mailbox again, in order, and the connection gets no dispatch for
 * BRK_HELD_RETRY_MS (a full queue) or is marked lost (a peer gone). A
 * dispatch no longer in flight by then (its caller answered, its actor
 * gone, the slot re-dispatched) is not sent. */
void brk_core_send_ordered(
    brk_broker_t *self, uint32_t si, zmq_msg_t **f, int n);

/* brk_core_may_dispatch tells whether connection ci may be sent a
 * dispatch now (not lost, its queue not found full just before). */
bool brk_core_may_dispatch(brk_broker_t *self, uint32_t ci);

/* brk_core_send_now is brk_core_send without the wait: what is queued
 * goes first, then these frames. For a burst made at once (an event's
 * deliveries), which the outbox would only copy. Returns false when the
 * message was dropped (its peer gone or its queue full; counted). */
bool brk_core_send_now(brk_broker_t *self, zmq_msg_t **f, int n);

/* brk_core_flush sends what was queued since the last flush. The loop
 * flushes before it waits, before its timers, deaths and connection
 * events, and every BRK_OUT_BATCH messages. */
void brk_core_flush(brk_broker_t *self);

/* brk_core_answer sends hdr (rewritten to cmd) and body to rid, with an
 * empty delimiter first if delim. Consumes rid, hdr, body. */
void brk_core_answer(brk_broker_t *self, zmq_msg_t *rid, bool delim,
    zmq_msg_t *hdr, uint8_t cmd, zmq_msg_t *body);

/* brk_core_age_us is how long ago (us, by the loop's clock) a slot
 * stamped t0_us was accepted; 0 for a slot never stamped. */
static inline int64_t
brk_core_age_us(const brk_broker_t *self, int64_t t0_us)
{
    int64_t us = t0_us > 0 ? self->now_us - t0_us : 0;
    return us < 0 ? 0 : us;
}

/* brk_core_body_from makes a frame holding a copy of len bytes. */
void brk_core_body_from(zmq_msg_t *body, const void *data, size_t len);

/* brk_core_error answers rid with ERROR code, echoing hdr (NULL: a fresh
 * header with an empty id). Consumes rid and hdr. */
void brk_core_error(brk_broker_t *self, zmq_msg_t *rid, bool delim,
    zmq_msg_t *hdr, actors_err code, const char *address, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

/* brk_core_verror is brk_core_error with a va_list. */
void brk_core_verror(brk_broker_t *self, zmq_msg_t *rid, bool delim,
    zmq_msg_t *hdr, actors_err code, const char *address, const char *fmt,
    va_list ap) __attribute__((format(printf, 7, 0)));

/* brk_core_bad answers a malformed message with BadRequest. */
void brk_core_bad(brk_broker_t *self, const brk_in_t *m, const char *what);

/* brk_core_pack_str packs a C string as msgpack str (valid UTF-8: bytes
 * that are not are replaced). */
void brk_core_pack_str(msgpack_packer *pk, const char *s);

/* brk_core_pack_calls packs the LOOKUP fields errors, latency_us_sum and
 * latency_hist of c (three keys and values of a map). */
void brk_core_pack_calls(msgpack_packer *pk, const brk_calls_t *c);

/* brk_core_pack_body turns what self->pk wrote into a body frame. */
void brk_core_pack_body(brk_broker_t *self, zmq_msg_t *body);

/* brk_core_observe tells the extensions (call_done_cb) that a CALL with
 * the caller's header hdr, to entry ei (BRK_NONE: none), ended with code
 * (ACTORS_OK: the actor's REPLY; ACTORS_EAPP: the actor's ERROR; else
 * the broker's answer) t0_us after the broker took it (0: refused at
 * once). Callers check self->observe first, so it costs nothing when no
 * extension observes calls. */
void brk_core_observe(brk_broker_t *self, uint32_t ei, const zmq_msg_t *hdr,
    actors_err code, int64_t t0_us);

/* brk_core_reply_packed answers m with REPLY and the packed body. */
void brk_core_reply_packed(brk_broker_t *self, const brk_in_t *m);

/* brk_core_hdr_timeout returns the timeout_ms field of a kept header. */
uint32_t brk_core_hdr_timeout(zmq_msg_t *hdr);

/* ---- slots ------------------------------------------------------------ */

/* brk_core_slot_deadline puts slot si in the deadline heap, due at
 * now + ms. Returns ACTORS_OK or ACTORS_ENOMEM (no deadline). */
actors_err brk_core_slot_deadline(brk_broker_t *self, uint32_t si, uint32_t ms);

/* brk_core_slot_unheap takes slot si out of the deadline heap if in. */
void brk_core_slot_unheap(brk_broker_t *self, uint32_t si);

/* brk_core_slot_fail answers the caller of slot si (off every list) with
 * an error unless it was answered already, and frees the slot. */
void brk_core_slot_fail(brk_broker_t *self, uint32_t si, actors_err code,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* ---- entries ---------------------------------------------------------- */

/* brk_core_reserve makes address (len bytes) HELD for an actor that is
 * to register: a new entry, or a tombstone brought back (its mailbox
 * then fills until the actor registers). An entry that is RUNNING or
 * HELD already is left as it is. Returns ACTORS_OK with the index in
 * *ei, ACTORS_EINVAL, ACTORS_ENOMEM. */
actors_err brk_core_reserve(
    brk_broker_t *self, const void *address, size_t len, uint32_t *ei);

/* brk_core_hold makes running entry ei HELD: it leaves its connection,
 * keeps its mailbox, and puts back at the front of the mailbox, in their
 * order, every message in flight the actor had not taken up, and every
 * call that may have run whose attempts allow a re-delivery (redeliver).
 * The calls that may have run and may not be re-delivered stay on the
 * in-flight list for brk_core_fail_inflight; tells that may have run are
 * dropped (counted). reason goes to the log. */
void brk_core_hold(brk_broker_t *self, uint32_t ei, const char *reason);

/* brk_core_fail_inflight answers every call on entry ei's in-flight list
 * with code and the message "actor ADDRESS died while handling the call:
 * cause". */
void brk_core_fail_inflight(
    brk_broker_t *self, uint32_t ei, actors_err code, const char *cause);

/* brk_core_bury ends entry ei (running or held) for good: calls that may
 * have run get inflight_code, the others ActorDead; reason completes the
 * messages; the address becomes a tombstone. */
void brk_core_bury(brk_broker_t *self, uint32_t ei, actors_err inflight_code,
    const char *reason);

/* brk_core_accept gives new slot si (state HELD, entry ei, frames and
 * cmd set; cmd TELL for anything the actor credits as a tell) to entry
 * ei as route.c does a TELL: dispatched at once when the mailbox is empty
 * and the actor has credit, else queued; to a group, as an unkeyed TELL
 * to one member (group.h). Returns false when the mailbox is full: the
 * slot is then answered MailboxFull (unless answered) and freed. */
bool brk_core_accept(brk_broker_t *self, uint32_t si, uint32_t ei);

/* brk_core_unlink takes entry ei off its connection's list of entries,
 * and frees the connection's row when it serves nothing any more. */
void brk_core_unlink(brk_broker_t *self, uint32_t ei);

/* brk_core_pump dispatches from entry ei's mailbox while it has credit. */
void brk_core_pump(brk_broker_t *self, uint32_t ei);

/* brk_core_state_name is the LOOKUP state of entry ei. */
const char *brk_core_state_name(brk_broker_t *self, uint32_t ei);

/* brk_core_pack_entry packs the LOOKUP map of entry ei. */
void brk_core_pack_entry(brk_broker_t *self, uint32_t ei);

/* ---- connections ------------------------------------------------------ */

/* brk_core_settle_fds handles every connection drop the socket monitor
 * has reported so far. Call it before recording the ZMQ_SRCFD of a
 * message: an earlier connection's drop may still wait, and its fd may be
 * the sender's now. */
void brk_core_settle_fds(brk_broker_t *self);

/* brk_core_sender returns the connection row of m's sender, or BRK_NONE
 * for a plain client. */
uint32_t brk_core_sender(brk_broker_t *self, const brk_in_t *m);

/* brk_core_conn_claim gives m's sender role (BRK_ROLE_*), making its row
 * if it has none (fd from the message). Returns ACTORS_OK with the row in
 * *ci, or ACTORS_ENOMEM. */
actors_err brk_core_conn_claim(
    brk_broker_t *self, const brk_in_t *m, uint8_t role, uint32_t *ci);

/* brk_core_conn_release takes role from row ci and frees the row when it
 * has no role and no address left. */
void brk_core_conn_release(brk_broker_t *self, uint32_t ci, uint8_t role);

#endif
