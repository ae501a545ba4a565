/* broker/owners.h - the clients that own actors, and their liveness.
 * SPDX-License-Identifier: MIT
 *
 * An owned actor (spawned without "detached") is stopped when its owner
 * goes: when the owner's connection closes (lifecycle_conn_gone), and,
 * for an owner that heart-beats, when its heartbeats stop for liveness x
 * heartbeat (a process stopped or hung as a whole, a network that drops
 * without a TCP reset). An owner starts heart-beating by sending HEARTBEAT
 * with its routing id as the one frame, from a thread and socket of its
 * own (libactors does after its first owned spawn; schemas/PROTOCOL.md).
 * An owner that never heart-beats keeps the connection rule alone.
 *
 * The table is small (one row per owning connection) and searched
 * linearly. Thread: the broker loop.
 */
#ifndef BRK_OWNERS_H
#define BRK_OWNERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <actors/error.h>

typedef struct {
    int fd;             /* the owner's connection */
    uint8_t rid[255];   /* its routing id */
    uint8_t rid_len;    /* 1..255 */
    bool beating;       /* a HEARTBEAT naming it has come */
    int64_t last_heard; /* monotonic ms of the last one */
} brk_owner_t;

typedef struct {
    brk_owner_t *v; /* n rows, cap allocated */
    uint32_t n;
    uint32_t cap;
} brk_owners_t;

/* brk_owners_fini frees the table (a zeroed one is empty). */
void brk_owners_fini(brk_owners_t *self);

/* brk_owners_note records the owner on connection fd with routing id rid
 * (1..255 bytes) if it is not known yet. Returns ACTORS_OK or
 * ACTORS_ENOMEM (then the owner has the connection rule only). */
actors_err brk_owners_note(
    brk_owners_t *self, int fd, const void *rid, size_t rid_len);

/* brk_owners_heard marks the owner with routing id rid as heard at now.
 * Returns false if no owner has that id. */
bool brk_owners_heard(
    brk_owners_t *self, const void *rid, size_t rid_len, int64_t now);

/* brk_owners_forget drops the owner on connection fd, if any. */
void brk_owners_forget(brk_owners_t *self, int fd);

/* brk_owners_silent finds a heart-beating owner not heard since before
 * now - silence_ms, drops it from the table and returns its fd; -1 when
 * there is none. Call until it returns -1. */
int brk_owners_silent(brk_owners_t *self, int64_t now, int64_t silence_ms);

#endif
