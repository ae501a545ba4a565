/* bench/actors-bench/ours.c - the driver for our stack: libactors' client,
 * the real broker, chaos actors answering echo(x).
 * SPDX-License-Identifier: MIT
 *
 * Each call is what a user writes: build the arguments (one msgpack bin of
 * the payload), actors_client_call, and a future whose on_done callback
 * notes it done; recv pumps the client with actors_client_poll and then
 * destroys the futures that resolved. Futures live in a fixed slot table
 * so a connection can be closed with calls still pending.
 */
#include <stdio.h>
#include <stdlib.h>

#include <actors/client.h>
#include <actors/future.h>
#include <actors/msg.h>

#include "bench.h"

#define ADDR_LEN 24     /* "bench/echo/4095" */
#define MAX_SLOTS 16384 /* > largest window + tell markers */

typedef struct s_slot s_slot_t;
struct s_slot {
    bench_conn_t *conn; /* back pointer for the callback */
    actors_future_t *f; /* NULL: free */
    int next_free;      /* free list link, -1 ends */
};

struct bench_conn {
    actors_client_t *client;   /* one per connection (thread) */
    int naddr;                 /* workers when opened (at least 1) */
    char (*addr)[ADDR_LEN];    /* bench/echo/<i>, naddr of them */
    s_slot_t slots[MAX_SLOTS]; /* futures in flight */
    int free_head;             /* first free slot */
    int done[MAX_SLOTS];       /* slots resolved since last recv */
    int ndone;
    long errors; /* error replies */
};

static void
s_close(bench_conn_t **c_p)
{
    bench_conn_t *c = *c_p;
    if (!c) {
        return;
    }
    for (int i = 0; i < MAX_SLOTS; i++) {
        actors_future_destroy(&c->slots[i].f);
    }
    actors_client_destroy(&c->client);
    free(c->addr);
    free(c);
    *c_p = NULL;
}

static actors_err
s_open(void *env, bench_conn_t **out)
{
    *out = NULL;
    bench_conn_t *c = calloc(1, sizeof *c);
    if (!c) {
        return ACTORS_ENOMEM;
    }
    int n = bench_env_nworkers((bench_env_t *)env);
    c->naddr = n > 0 ? n : 1;
    c->addr = calloc((size_t)c->naddr, sizeof *c->addr);
    if (!c->addr) {
        free(c);
        return ACTORS_ENOMEM;
    }
    for (int i = 0; i < c->naddr; i++) {
        snprintf(c->addr[i], sizeof c->addr[i], "bench/echo/%d", i);
    }
    for (int i = 0; i < MAX_SLOTS; i++) {
        c->slots[i].conn = c;
        c->slots[i].next_free = i + 1 < MAX_SLOTS ? i + 1 : -1;
    }
    c->free_head = 0;
    actors_err rc = actors_client_create(
        &c->client, bench_env_endpoint((bench_env_t *)env));
    if (rc != ACTORS_OK) {
        free(c->addr);
        free(c);
        return rc;
    }
    *out = c;
    return ACTORS_OK;
}

static void
s_on_done(actors_future_t *f, void *arg)
{
    s_slot_t *slot = arg;
    bench_conn_t *c = slot->conn;
    if (actors_future_error(f) != NULL) {
        c->errors++;
    }
    c->done[c->ndone++] = (int)(slot - c->slots);
}

static actors_err
s_call(bench_conn_t *c, int target, const void *buf, size_t len)
{
    if (c->free_head < 0) {
        return ACTORS_EFULL;
    }
    actors_msg_t *args = NULL;
    actors_err rc = actors_msg_build(&args, "B", buf, len);
    actors_future_t *f = NULL;
    if (rc == ACTORS_OK) {
        rc = actors_client_call(
            c->client, c->addr[target % c->naddr], "echo", &args, NULL, &f);
    }
    actors_msg_destroy(&args);
    if (rc != ACTORS_OK) {
        return rc;
    }
    int i = c->free_head;
    s_slot_t *slot = &c->slots[i];
    c->free_head = slot->next_free;
    slot->f = f;
    return actors_future_on_done(f, s_on_done, slot);
}

/* s_tell sends an id-less tell (actors_client_tell_nowait): the broker's
 * acknowledgement of a plain tell would be a second message per tell that
 * the raw baseline and the peers' tells do not have, and the batch's
 * closing call already shows the tells were handled. */
static actors_err
s_tell(bench_conn_t *c, int target, const void *buf, size_t len)
{
    actors_msg_t *args = NULL;
    actors_err rc = actors_msg_build(&args, "B", buf, len);
    if (rc == ACTORS_OK) {
        rc = actors_client_tell_nowait(
            c->client, c->addr[target % c->naddr], "echo", &args);
    }
    actors_msg_destroy(&args);
    return rc;
}

static actors_err
s_recv(bench_conn_t *c, int timeout_ms, int *n)
{
    *n = 0;
    uint64_t deadline = bench_now_ns() + (uint64_t)timeout_ms * 1000000u;
    while (c->ndone == 0) {
        uint64_t now = bench_now_ns();
        if (now >= deadline) {
            return ACTORS_ETIMEDOUT;
        }
        int left = (int)((deadline - now + 999999u) / 1000000u);
        actors_err rc = actors_client_poll(c->client, left);
        if (rc != ACTORS_OK) {
            return rc;
        }
    }
    for (int k = 0; k < c->ndone; k++) {
        s_slot_t *slot = &c->slots[c->done[k]];
        actors_future_destroy(&slot->f);
        slot->next_free = c->free_head;
        c->free_head = c->done[k];
    }
    *n = c->ndone;
    c->ndone = 0;
    return ACTORS_OK;
}

static long
s_errors(const bench_conn_t *c)
{
    return c->errors;
}

/* s_ready calls echo on every address not yet ready, all at once, and
 * waits for the answers together. An actor that has not registered yet
 * answers UnknownAddress (or nothing before the timeout): next round. */
static actors_err
s_ready(bench_conn_t *c, int n, bool *ready, int timeout_ms)
{
    actors_future_t **fs = calloc((size_t)n, sizeof *fs);
    int *idx = calloc((size_t)n, sizeof *idx);
    actors_err rc = fs && idx ? ACTORS_OK : ACTORS_ENOMEM;
    int k = 0;
    for (int i = 0; i < n && i < c->naddr && rc == ACTORS_OK; i++) {
        if (ready[i]) {
            continue;
        }
        actors_msg_t *args = NULL;
        rc = actors_msg_build(&args, "B", "ping", (size_t)4);
        if (rc == ACTORS_OK) {
            rc = actors_client_call(
                c->client, c->addr[i], "echo", &args, NULL, &fs[k]);
        }
        actors_msg_destroy(&args);
        if (rc == ACTORS_OK) {
            idx[k++] = i;
        }
    }
    if (rc == ACTORS_OK && k > 0) {
        actors_future_wait_all(fs, (size_t)k, timeout_ms); /* ETIMEDOUT ok */
    }
    for (int j = 0; j < k; j++) {
        if (actors_future_is_ready(fs[j]) &&
            actors_future_error(fs[j]) == NULL) {
            ready[idx[j]] = true;
        }
        actors_future_destroy(&fs[j]);
    }
    free(fs);
    free(idx);
    return rc;
}

const bench_driver_t bench_ours_driver = {
    .name = "ours",
    .open = s_open,
    .call = s_call,
    .tell = s_tell,
    .recv = s_recv,
    .close = s_close,
    .errors = s_errors,
    .ready = s_ready,
};
