/* libactors/src/callwin.h - the window of remembered call keys: the last
 * N (call key, result) pairs, which exactly-once rests on.
 * SPDX-License-Identifier: MIT
 *
 * A ring of at most cap copies, newest last, oldest forgotten first. The
 * journal handle (persist.c) keeps one, fed by its appends and carried in
 * its snapshots; the durable runtime (durable.c) adds the keys of
 * snapshot-style changes to that one, and keeps its own for the store
 * actors, carried in every state it sends them. Private; never installed.
 * Thread: one window is used by one thread at a time.
 */
#ifndef ACTORS_CALLWIN_H
#define ACTORS_CALLWIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include <actors/error.h>
#include <actors/persist.h>

typedef struct {
    char *id;       /* call key bytes */
    size_t id_len;  /* its length */
    char *res;      /* recorded result, one msgpack value */
    size_t res_len; /* its length */
} actors__callwin_entry_t;

typedef struct {
    actors__callwin_entry_t *e; /* ring of cap entries */
    uint32_t cap;               /* capacity; 0: remembers nothing */
    uint32_t len;               /* entries in use */
    uint32_t head;              /* index of the oldest */
} actors__callwin_t;

/* actors__callwin_init makes *w an empty window of cap entries. Returns
 * ACTORS_ENOMEM. Ownership: w's memory is the caller's; fini frees what
 * init and add allocated. */
actors_err actors__callwin_init(actors__callwin_t *w, uint32_t cap);

/* actors__callwin_fini frees the entries and the ring; w may be zeroed. */
void actors__callwin_fini(actors__callwin_t *w);

/* actors__callwin_clear forgets every entry. */
void actors__callwin_clear(actors__callwin_t *w);

/* actors__callwin_add remembers a copy of (id, res), forgetting the
 * oldest when full. Returns ACTORS_ENOMEM (nothing changed). */
actors_err actors__callwin_add(actors__callwin_t *w, const void *id,
    size_t id_len, const void *res, size_t res_len);

/* actors__callwin_drop_last forgets the newest entry (an add undone). */
void actors__callwin_drop_last(actors__callwin_t *w);

/* actors__callwin_lookup finds id, newest first; *res points into the
 * window (valid until the next add, clear or fini). */
bool actors__callwin_lookup(const actors__callwin_t *w, const void *id,
    size_t id_len, const void **res, size_t *res_len);

/* actors__callwin_pack packs the window, oldest first, as an array of
 * [bin id, result] pairs into sb (through pk, which writes to sb).
 * Returns ACTORS_ENOMEM. */
actors_err actors__callwin_pack(
    const actors__callwin_t *w, msgpack_packer *pk, msgpack_sbuffer *sb);

/* actors__callwin_load adds the pairs of a packed window (arr, as
 * actors__callwin_pack makes it) in order. Returns ACTORS_EMSGPACK for a
 * wrong shape, ACTORS_ENOMEM. */
actors_err actors__callwin_load(
    actors__callwin_t *w, const msgpack_object *arr);

/* actors__persist_window is the window of a journal handle (persist.c):
 * an id added to it is stored by the handle's next snapshot. */
actors__callwin_t *actors__persist_window(actors_persist_t *p);

#endif
