/* broker/owners.h - the clients that own actors.
 * SPDX-License-Identifier: MIT
 *
 * An owned actor (spawned without "detached") is stopped when its owner
 * goes, that is when the owner's connection closes (lifecycle_conn_gone):
 * a clean close, a TCP reset, or libzmq's ZMTP heartbeat timing out (a
 * process stopped or hung as a whole, a network that drops without a
 * reset; brk_broker_create sets the heartbeat on the ROUTER).
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
    int fd;           /* the owner's connection */
    uint8_t rid[255]; /* its routing id */
    uint8_t rid_len;  /* 1..255 */
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

/* brk_owners_forget drops the owner on connection fd, if any. */
void brk_owners_forget(brk_owners_t *self, int fd);

#endif
