/* broker/broker.h - the message broker: one ROUTER, registry, mailboxes.
 * SPDX-License-Identifier: MIT
 *
 * What main.c and the tests use. Inside, the broker is a routing core
 * (core.h) with extensions (ext.h; supervision, sup.h) attached by
 * brk_broker_create.
 *
 * The broker routes protocol ACT2 (libactors/internal/actors-internal/wire.h,
 * PROTOCOL.md) by address: CALL and TELL go to the actor registered at the
 * address within its credit (prefetch), the rest wait in its bounded mailbox;
 * REPLY and ERROR go back to the caller in the form it asked (with or without
 * an empty delimiter). It answers LOOKUP, LIST and PING itself, watches actor
 * connections (socket monitor) and heartbeats, and answers every caller
 * exactly once: with the actor's reply, or with an error (Timeout,
 * ActorCrashed, ActorDead, NoSuchActor, MailboxFull, BadRequest, ...).
 *
 * Thread: a broker is used by one thread, except brk_broker_stop (any
 * thread, and async-signal-safe).
 */
#ifndef BRK_BROKER_H
#define BRK_BROKER_H

#include <stdbool.h>
#include <stdint.h>

#include <actors/error.h>

#include <actors-internal/wire.h>

typedef struct brk_broker brk_broker_t;

typedef struct {
    const char *bind;        /* endpoint to bind; "tcp://127.0.0.1:*" ok */
    uint32_t mailbox;        /* default mailbox bound per address */
    uint32_t heartbeat_ms;   /* heartbeat interval */
    uint32_t liveness;       /* heartbeats missed before a peer is dead */
    uint64_t max_message;    /* largest args frame accepted, bytes */
    uint32_t max_tombs;      /* dead addresses remembered */
    uint32_t max_queued;     /* messages queued to or from one peer in
                                ZeroMQ (SNDHWM/RCVHWM); answers beyond are
                                dropped and counted (a slow consumer) */
    const char *keys_dir;    /* allowlist of public certificates (auth.h);
                                NULL with key NULL: no CURVE */
    const char *key;         /* the broker's secret certificate */
    const char *stream_bind; /* endpoint of the event stream (an XPUB,
                                pubsub.h); NULL: no stream */
} brk_opts_t;

#define BRK_DEFAULT_ENDPOINT "tcp://127.0.0.1:5555"
#define BRK_MAX_QUEUED_DEFAULT 10000 /* per peer, each direction */
/* A frame larger than max_message + BRK_FRAME_SLACK (or 64 KiB + slack,
 * whichever is more) closes the sender's connection before it is
 * buffered (ZMQ_MAXMSGSIZE); one up to that size is answered TooLarge. */
#define BRK_FRAME_SLACK 4096
#define BRK_OPTS_INIT                                                          \
    {                                                                          \
        BRK_DEFAULT_ENDPOINT, 10000, 2000, 5, ACTORS_WIRE_MAX_MESSAGE_DEFAULT, \
            4096, BRK_MAX_QUEUED_DEFAULT                                       \
    }

/* brk_broker_create makes a broker and binds opts->bind.
 * Returns ACTORS_OK with *out owned by the caller (brk_broker_destroy),
 * ACTORS_EINVAL for bad options, ACTORS_EIO if the endpoint cannot be
 * bound (logged with the errno text), or ACTORS_ENOMEM; *out NULL on
 * error. Thread: any. */
actors_err brk_broker_create(brk_broker_t **out, const brk_opts_t *opts);

/* brk_broker_endpoint returns the bound endpoint with the port resolved
 * ("tcp://127.0.0.1:40123"). Borrowed until destroy. Thread: owner. */
const char *brk_broker_endpoint(const brk_broker_t *self);

/* brk_broker_run serves until brk_broker_stop is called.
 * Returns ACTORS_OK after a stop, ACTORS_EIO if polling fails.
 * Thread: owner. */
actors_err brk_broker_run(brk_broker_t *self);

/* brk_broker_stop asks brk_broker_run to return (within 10 ms, at once
 * when called from a signal handler that interrupts the poll).
 * Thread: any; async-signal-safe. */
void brk_broker_stop(brk_broker_t *self);

/* brk_broker_reload reads the allowlist directory again at the next
 * tick (SIGHUP). Nothing without keys. Thread: any; async-signal-safe. */
void brk_broker_reload(brk_broker_t *self);

/* brk_broker_destroy closes the sockets, drops every waiting message and
 * frees *self_p; NULL is fine. Thread: owner. */
void brk_broker_destroy(brk_broker_t **self_p);

/* brk_broker_observe adds call tracing (trace: BRK-CALL lines at log
 * level debug) and, with http, the metrics and dashboard server on host
 * (IPv4; NULL 127.0.0.1) and port (broker/obs.h). Nothing asked: no
 * cost. Call before brk_broker_run. Returns ACTORS_OK, ACTORS_ENOMEM,
 * ACTORS_EINVAL or ACTORS_EIO (cannot listen). */
actors_err brk_broker_observe(
    brk_broker_t *self, bool trace, bool http, const char *host, uint16_t port);

#endif
