/* broker/subindex.h - which subscriptions a topic matches, without a scan.
 * SPDX-License-Identifier: MIT
 *
 * A tree of pattern segments, as NATS's sublist: one node per literal
 * segment and one per "*" under each node, for the first
 * BRK_SUBINDEX_DEPTH segments of every pattern. A pattern's row is kept
 * at the node its segments lead to: among the node's exact rows (the
 * pattern ends there), its rest rows (the pattern's next and last segment
 * is ">"), or, for a pattern longer than the tree, its deep rows (matched
 * in full by brk_topic_match when a topic reaches that node). A topic
 * walks the literal and "*" children of each node it reaches: the cost
 * is the nodes its segments lead to and the rows that match, not the
 * number of subscriptions. The depth bound keeps a pattern at most that
 * many nodes (a long pattern of one-byte segments would otherwise cost a
 * node per byte).
 *
 * Rows are the owner's numbers (below UINT32_MAX - 1); each is in the
 * index at most once. Children are found through one brk_idmap keyed by
 * (parent node, segment). Nodes left without rows or children are freed.
 *
 * Thread: one thread (the broker loop).
 */
#ifndef BRK_SUBINDEX_H
#define BRK_SUBINDEX_H

#include <stddef.h>
#include <stdint.h>

#include <actors/error.h>

#define BRK_SUBINDEX_DEPTH 4 /* segments indexed; the rest matched in full */

typedef struct brk_subindex brk_subindex_t;

/* brk_subindex_create makes an empty index in *out. Returns ACTORS_OK or
 * ACTORS_ENOMEM. */
actors_err brk_subindex_create(brk_subindex_t **out);

/* brk_subindex_destroy frees the index and sets *self_p to NULL;
 * NULL-safe. */
void brk_subindex_destroy(brk_subindex_t **self_p);

/* brk_subindex_add files row under valid pattern p (plen bytes; copied
 * where kept). row must not be in the index. Returns ACTORS_OK or
 * ACTORS_ENOMEM (index unchanged). */
actors_err brk_subindex_add(
    brk_subindex_t *self, const char *p, size_t plen, uint32_t row);

/* brk_subindex_remove takes row out of the index (nothing if absent). */
void brk_subindex_remove(brk_subindex_t *self, uint32_t row);

/* brk_subindex_nodes returns the nodes in use, the root included: 1
 * when the index is empty (what pruning leaves). */
uint32_t brk_subindex_nodes(const brk_subindex_t *self);

/* brk_subindex_fn is called with each row a topic matches. */
typedef void (*brk_subindex_fn)(void *arg, uint32_t row);

/* brk_subindex_match calls fn(arg, row) for every row whose pattern
 * matches valid topic t (tlen bytes), each once, in no promised order.
 * fn must not add or remove rows; it may match again (the walk only
 * reads). */
void brk_subindex_match(brk_subindex_t *self, const char *t, size_t tlen,
    brk_subindex_fn fn, void *arg);

#endif
