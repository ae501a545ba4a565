/* broker/subindex.c - which subscriptions a topic matches (subindex.h).
 * SPDX-License-Identifier: MIT
 */
#include "subindex.h"

#include <assert.h>
#include <stdbool.h>
#include <string.h>

#include <actors-internal/alloc.h>

#include "idmap.h"
#include "topic.h"

#define NONE UINT32_MAX
#define KEY_MAX (4 + BRK_TOPIC_MAX) /* parent node + segment */

enum { L_EXACT, L_REST, L_DEEP, L_N };

typedef struct {
    uint32_t *v;
    uint32_t n;
    uint32_t cap;
} s_list_t;

typedef struct {
    uint32_t parent;    /* NONE: the root, or a free node */
    uint32_t star;      /* the child for "*", NONE */
    uint32_t kids;      /* literal children */
    uint8_t *key;       /* parent + segment, its key in edges; NULL: root,
                           a "*" child, or free */
    uint16_t klen;      /* bytes in key */
    uint32_t free_next; /* free list */
    s_list_t list[L_N]; /* rows by how they end here */
} s_node_t;

/* Where a row is kept. */
typedef struct {
    uint32_t node; /* NONE: not in the index */
    uint32_t pos;  /* in node's list */
    uint8_t list;  /* L_* */
    uint16_t dlen; /* L_DEEP: bytes in deep */
    char *deep;    /* L_DEEP: the whole pattern, for brk_topic_match */
} s_where_t;

struct brk_subindex {
    s_node_t *nodes; /* [0] the root */
    uint32_t nnodes; /* handed out */
    uint32_t cap;    /* allocated */
    uint32_t free_head;
    uint32_t live;     /* nodes in use, the root included */
    uint32_t walking;  /* matches under way: no add or remove then */
    brk_idmap_t edges; /* (parent, segment) -> child */
    s_where_t *where;  /* by row */
    uint32_t wcap;     /* rows in where */
};

static const void *
s_edge_key(void *ctx, uint32_t idx, size_t *len)
{
    brk_subindex_t *self = ctx;
    *len = self->nodes[idx].klen;
    return self->nodes[idx].key;
}

/* s_key writes the edge key of (parent, segment) into out and returns its
 * length. */
static size_t
s_key(uint8_t out[KEY_MAX], uint32_t parent, const char *seg, size_t n)
{
    memcpy(out, &parent, 4);
    memcpy(out + 4, seg, n);
    return 4 + n;
}

actors_err
brk_subindex_create(brk_subindex_t **out)
{
    brk_subindex_t *self = actors__zalloc(sizeof *self);
    if (self == NULL) {
        return ACTORS_ENOMEM;
    }
    self->nodes = actors__zalloc(16 * sizeof *self->nodes);
    if (self->nodes == NULL) {
        actors__free(self);
        return ACTORS_ENOMEM;
    }
    self->cap = 16;
    self->nnodes = 1;
    self->live = 1;
    self->nodes[0].parent = NONE;
    self->nodes[0].star = NONE;
    self->free_head = NONE;
    brk_idmap_init(&self->edges, s_edge_key, self);
    *out = self;
    return ACTORS_OK;
}

void
brk_subindex_destroy(brk_subindex_t **self_p)
{
    brk_subindex_t *self = *self_p;
    if (self == NULL) {
        return;
    }
    for (uint32_t i = 0; i < self->nnodes; i++) {
        actors__free(self->nodes[i].key);
        for (int l = 0; l < L_N; l++) {
            actors__free(self->nodes[i].list[l].v);
        }
    }
    for (uint32_t r = 0; r < self->wcap; r++) {
        actors__free(self->where[r].deep);
    }
    brk_idmap_fini(&self->edges);
    actors__free(self->nodes);
    actors__free(self->where);
    actors__free(self);
    *self_p = NULL;
}

/* s_node_new hands out a node under parent (key: its edge key, taken;
 * NULL for a "*" child) and returns it, or NONE without memory. */
static uint32_t
s_node_new(brk_subindex_t *self, uint32_t parent, uint8_t *key, size_t klen)
{
    uint32_t i = self->free_head;
    if (i != NONE) {
        self->free_head = self->nodes[i].free_next;
    } else {
        if (self->nnodes == self->cap) {
            uint32_t cap = self->cap * 2;
            s_node_t *v = actors__realloc(self->nodes, cap * sizeof *v);
            if (v == NULL) {
                return NONE;
            }
            self->nodes = v;
            self->cap = cap;
        }
        i = self->nnodes++;
    }
    s_node_t *n = &self->nodes[i];
    memset(n, 0, sizeof *n);
    n->parent = parent;
    n->star = NONE;
    n->key = key;
    n->klen = (uint16_t)klen;
    if (key != NULL && brk_idmap_put(&self->edges, key, klen, i) != ACTORS_OK) {
        n->key = NULL;
        n->parent = NONE;
        n->free_next = self->free_head;
        self->free_head = i;
        return NONE;
    }
    if (key != NULL) {
        self->nodes[parent].kids++;
    } else {
        self->nodes[parent].star = i;
    }
    self->live++;
    return i;
}

/* s_prune frees node and its ancestors while they hold nothing. */
static void
s_prune(brk_subindex_t *self, uint32_t i)
{
    while (i != 0) {
        s_node_t *n = &self->nodes[i];
        if (n->kids > 0 || n->star != NONE || n->list[L_EXACT].n > 0 ||
            n->list[L_REST].n > 0 || n->list[L_DEEP].n > 0) {
            return;
        }
        uint32_t parent = n->parent;
        if (n->key != NULL) {
            brk_idmap_del(&self->edges, n->key, n->klen);
            actors__free(n->key);
            self->nodes[parent].kids--;
        } else {
            self->nodes[parent].star = NONE;
        }
        for (int l = 0; l < L_N; l++) {
            actors__free(n->list[l].v);
        }
        memset(n, 0, sizeof *n);
        n->parent = NONE;
        n->star = NONE;
        n->free_next = self->free_head;
        self->free_head = i;
        self->live--;
        i = parent;
    }
}

/* s_child returns node's child for segment (n bytes), made if make and
 * there is none; NONE if there is none (or no memory). */
static uint32_t
s_child(
    brk_subindex_t *self, uint32_t node, const char *seg, size_t n, bool make)
{
    if (n == 1 && seg[0] == '*') {
        uint32_t star = self->nodes[node].star;
        return star != NONE || !make ? star : s_node_new(self, node, NULL, 0);
    }
    uint8_t key[KEY_MAX];
    size_t klen = s_key(key, node, seg, n);
    uint32_t c = brk_idmap_find(&self->edges, key, klen);
    if (c != BRK_IDMAP_NONE || !make) {
        return c == BRK_IDMAP_NONE ? NONE : c;
    }
    uint8_t *k = actors__malloc(klen);
    if (k == NULL) {
        return NONE;
    }
    memcpy(k, key, klen);
    c = s_node_new(self, node, k, klen);
    if (c == NONE) {
        actors__free(k);
    }
    return c;
}

/* s_where_reserve makes where hold row. */
static bool
s_where_reserve(brk_subindex_t *self, uint32_t row)
{
    if (row < self->wcap) {
        return true;
    }
    uint32_t cap = self->wcap ? self->wcap : 64;
    while (cap <= row) {
        cap *= 2;
    }
    s_where_t *w = actors__realloc(self->where, cap * sizeof *w);
    if (w == NULL) {
        return false;
    }
    for (uint32_t r = self->wcap; r < cap; r++) {
        w[r] = (s_where_t){.node = NONE};
    }
    self->where = w;
    self->wcap = cap;
    return true;
}

actors_err
brk_subindex_add(brk_subindex_t *self, const char *p, size_t plen, uint32_t row)
{
    assert(self->walking == 0);
    if (!s_where_reserve(self, row)) {
        return ACTORS_ENOMEM;
    }
    uint32_t node = 0;
    size_t i = 0;
    int list = L_EXACT;
    for (int depth = 0;; depth++) {
        size_t n = brk_topic_seg(p + i, plen - i);
        if (n == 1 && p[i] == '>') {
            list = L_REST;
            break;
        }
        if (depth == BRK_SUBINDEX_DEPTH) {
            list = L_DEEP;
            break;
        }
        uint32_t c = s_child(self, node, p + i, n, true);
        if (c == NONE) {
            s_prune(self, node);
            return ACTORS_ENOMEM;
        }
        node = c;
        i += n + 1;
        if (i > plen) {
            break; /* L_EXACT */
        }
    }
    char *deep = NULL;
    s_list_t *l = &self->nodes[node].list[list];
    if (list == L_DEEP && (deep = actors__malloc(plen)) == NULL) {
        s_prune(self, node);
        return ACTORS_ENOMEM;
    }
    if (l->n == l->cap) {
        uint32_t cap = l->cap ? l->cap * 2 : 4;
        uint32_t *v = actors__realloc(l->v, cap * sizeof *v);
        if (v == NULL) {
            actors__free(deep);
            s_prune(self, node);
            return ACTORS_ENOMEM;
        }
        l->v = v;
        l->cap = cap;
    }
    if (deep != NULL) {
        memcpy(deep, p, plen);
    }
    l->v[l->n] = row;
    self->where[row] = (s_where_t){.node = node,
        .pos = l->n,
        .list = (uint8_t)list,
        .dlen = (uint16_t)plen,
        .deep = deep};
    l->n++;
    return ACTORS_OK;
}

void
brk_subindex_remove(brk_subindex_t *self, uint32_t row)
{
    assert(self->walking == 0);
    if (row >= self->wcap || self->where[row].node == NONE) {
        return;
    }
    s_where_t w = self->where[row];
    s_list_t *l = &self->nodes[w.node].list[w.list];
    uint32_t last = l->v[--l->n];
    if (w.pos < l->n) {
        l->v[w.pos] = last;
        self->where[last].pos = w.pos;
    }
    actors__free(w.deep);
    self->where[row] = (s_where_t){.node = NONE};
    s_prune(self, w.node);
}

/* s_walk matches the topic's segments from offset j (past its end: none
 * left) at node, depth segments deep. */
static void
s_walk(brk_subindex_t *self, uint32_t node, const char *t, size_t tlen,
    size_t j, int depth, brk_subindex_fn fn, void *arg)
{
    const s_node_t *nd = &self->nodes[node];
    if (j > tlen) {
        for (uint32_t k = 0; k < nd->list[L_EXACT].n; k++) {
            fn(arg, nd->list[L_EXACT].v[k]);
        }
        return;
    }
    for (uint32_t k = 0; k < nd->list[L_REST].n; k++) {
        fn(arg, nd->list[L_REST].v[k]); /* ">": one or more left */
    }
    if (depth == BRK_SUBINDEX_DEPTH) {
        for (uint32_t k = 0; k < nd->list[L_DEEP].n; k++) {
            uint32_t r = nd->list[L_DEEP].v[k];
            const s_where_t *w = &self->where[r];
            if (brk_topic_match(w->deep, w->dlen, t, tlen)) {
                fn(arg, r);
            }
        }
        return;
    }
    size_t n = brk_topic_seg(t + j, tlen - j);
    uint32_t star = nd->star; /* nd is not used after a call below */
    uint32_t c = s_child(self, node, t + j, n, false);
    if (c != NONE) {
        s_walk(self, c, t, tlen, j + n + 1, depth + 1, fn, arg);
    }
    if (star != NONE) {
        s_walk(self, star, t, tlen, j + n + 1, depth + 1, fn, arg);
    }
}

uint32_t
brk_subindex_nodes(const brk_subindex_t *self)
{
    return self->live;
}

void
brk_subindex_match(brk_subindex_t *self, const char *t, size_t tlen,
    brk_subindex_fn fn, void *arg)
{
    self->walking++;
    s_walk(self, 0, t, tlen, 0, 0, fn, arg);
    self->walking--;
}
