/* bench/actors-bench/group.c - the group figure (ours only): 4 members of
 * one group address against the same 4 kinds of actors by their own
 * addresses, in the same run.
 * SPDX-License-Identifier: MIT
 *
 * A fresh broker, 4 chaos actors that join the group bench/grp (--group)
 * and 4 chaos actors at bench/own/0..3. One client keeps `window` echo
 * calls of 16 bytes in flight (pipelined), either all to bench/grp (the
 * broker picks the least loaded member) or round robin over bench/own/i
 * (the client picks), for `seconds` each, the two alternating `rounds`
 * times; each figure is the median of its rounds. The target (issue 11):
 * group >= 0.9 x own.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <actors/client.h>
#include <actors/future.h>
#include <actors/msg.h>

#include "bench.h"

#define S_MEMBERS 4
#define S_GROUP "bench/grp"
#define S_WAIT_MS 15000
#define S_MAX_WINDOW 4096
#define S_MAX_ROUNDS 15

typedef struct {
    actors_client_t *c;
    actors_future_t *f[S_MAX_WINDOW]; /* calls in flight */
    int done[S_MAX_WINDOW];           /* slots resolved since the last look */
    int ndone;
    long errors;
} s_run_t;

typedef struct {
    s_run_t *run;
    int slot;
} s_slot_t;

static s_slot_t s_slots[S_MAX_WINDOW];

static void
s_on_done(actors_future_t *f, void *arg)
{
    s_slot_t *s = arg;
    if (actors_future_error(f) != NULL) {
        s->run->errors++;
    }
    s->run->done[s->run->ndone++] = s->slot;
}

/* s_send sends one echo to address into slot i. */
static actors_err
s_send(s_run_t *r, int i, const char *address)
{
    static const char payload[16] = "0123456789abcdef";
    actors_msg_t *args = NULL;
    actors_err rc = actors_msg_build(&args, "B", payload, sizeof payload);
    if (rc == ACTORS_OK) {
        rc = actors_client_call(r->c, address, "echo", &args, NULL, &r->f[i]);
    }
    actors_msg_destroy(&args);
    if (rc == ACTORS_OK) {
        s_slots[i].run = r;
        s_slots[i].slot = i;
        rc = actors_future_on_done(r->f[i], s_on_done, &s_slots[i]);
    }
    return rc;
}

/* s_pipelined keeps window calls in flight for seconds, to the group
 * (group true) or round robin to bench/own/i, and returns calls/s (-1 on
 * failure). */
static double
s_pipelined(actors_client_t *c, bool group, int window, double seconds)
{
    s_run_t r;
    memset(&r, 0, sizeof r);
    r.c = c;
    char own[S_MEMBERS][32];
    for (int i = 0; i < S_MEMBERS; i++) {
        snprintf(own[i], sizeof own[i], "bench/own/%d", i);
    }
    unsigned next = 0;
    actors_err rc = ACTORS_OK;
    for (int i = 0; i < window && rc == ACTORS_OK; i++) {
        rc = s_send(&r, i, group ? S_GROUP : own[next++ % S_MEMBERS]);
    }
    uint64_t t0 = bench_now_ns();
    uint64_t end = t0 + (uint64_t)(seconds * 1e9);
    long calls = 0;
    while (rc == ACTORS_OK && bench_now_ns() < end) {
        rc = actors_client_poll(c, 100);
        int n = r.ndone;
        r.ndone = 0;
        for (int k = 0; k < n && rc == ACTORS_OK; k++) {
            int i = r.done[k];
            actors_future_destroy(&r.f[i]);
            calls++;
            rc = s_send(&r, i, group ? S_GROUP : own[next++ % S_MEMBERS]);
        }
    }
    double took = (double)(bench_now_ns() - t0) / 1e9;
    /* Drain what is in flight before the next run. */
    uint64_t drain_end = bench_now_ns() + S_WAIT_MS * 1000000ull;
    for (int i = 0; i < window; i++) {
        if (r.f[i] != NULL) {
            uint64_t now = bench_now_ns();
            int left = now < drain_end ? (int)((drain_end - now) / 1000000) : 0;
            actors_future_wait(r.f[i], left);
            actors_future_destroy(&r.f[i]);
        }
    }
    if (rc != ACTORS_OK || r.errors > 0) {
        fprintf(stderr, "actors-bench: group run: %s, %ld error replies\n",
            actors_err_name(rc), r.errors);
        return -1;
    }
    return (double)calls / took;
}

/* s_members is the number of members LOOKUP lists for the group. */
static int
s_members(actors_client_t *c)
{
    actors_future_t *f = NULL;
    int n = 0;
    if (actors_client_lookup(c, S_GROUP, &f) == ACTORS_OK &&
        actors_future_wait(f, 1000) == ACTORS_OK &&
        actors_future_error(f) == NULL) {
        const msgpack_object *m =
            actors_map_get(actors_future_result(f), "members");
        if (m != NULL && m->type == MSGPACK_OBJECT_ARRAY) {
            n = (int)m->via.array.size;
        }
    }
    actors_future_destroy(&f);
    return n;
}

/* s_ready waits until the group has its members and each own address
 * answers. */
static bool
s_ready(actors_client_t *c)
{
    uint64_t end = bench_now_ns() + S_WAIT_MS * 1000000ull;
    while (s_members(c) < S_MEMBERS) {
        if (bench_now_ns() >= end) {
            return false;
        }
        actors_client_poll(c, 20); /* poll until the deadline */
    }
    for (int i = 0; i < S_MEMBERS; i++) {
        char a[32];
        snprintf(a, sizeof a, "bench/own/%d", i);
        bool ok = false;
        while (!ok && bench_now_ns() < end) {
            actors_future_t *f = NULL;
            ok = actors_client_call(c, a, "pid", NULL, NULL, &f) == ACTORS_OK &&
                 actors_future_wait(f, 1000) == ACTORS_OK &&
                 actors_future_error(f) == NULL;
            actors_future_destroy(&f);
            if (!ok) {
                actors_client_poll(c, 20); /* poll until the deadline */
            }
        }
        if (!ok) {
            return false;
        }
    }
    return true;
}

static int
s_cmp(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;
    return (x > y) - (x < y);
}

bench_group_result_t
bench_run_group(const bench_group_opts_t *o)
{
    bench_group_result_t res = {.group_per_s = -1, .own_per_s = -1};
    char broker[PATH_MAX];
    char chaos[PATH_MAX];
    char bind[PATH_MAX];
    char endpoint[256];
    snprintf(broker, sizeof broker, "%s/actors-broker", o->bin_dir);
    snprintf(chaos, sizeof chaos, "%s/chaos", o->bin_dir);
    if (strcmp(o->transport, "ipc") == 0) {
        snprintf(bind, sizeof bind, "ipc://%s/grp-broker.ipc", o->tmp_dir);
    } else {
        snprintf(bind, sizeof bind, "tcp://127.0.0.1:*");
    }
    int window = o->window > 0 && o->window <= S_MAX_WINDOW ? o->window : 256;
    int rounds = o->rounds > 0 && o->rounds <= S_MAX_ROUNDS ? o->rounds : 1;
    int pids[2 * S_MEMBERS + 1];
    int npids = 0;
    char *bargv[] = {broker, "--bind", bind, NULL};
    if (bench_proc_spawn(bargv, endpoint, sizeof endpoint, 10000, !o->verbose,
            &pids[npids]) != ACTORS_OK) {
        return res;
    }
    npids++;
    actors_client_t *c = NULL;
    bool ok = true;
    for (int i = 0; i < 2 * S_MEMBERS && ok; i++) {
        char address[32];
        snprintf(address, sizeof address, "bench/own/%d", i - S_MEMBERS);
        char *gargv[] = {chaos, "--broker", endpoint, "--address",
            i < S_MEMBERS ? S_GROUP : address, i < S_MEMBERS ? "--group" : NULL,
            NULL};
        ok = bench_proc_start(gargv, !o->verbose, NULL, &pids[npids]) ==
             ACTORS_OK;
        npids += ok;
    }
    ok = ok && actors_client_create(&c, endpoint) == ACTORS_OK && s_ready(c);
    if (!ok) {
        fprintf(stderr, "actors-bench: the group's actors did not start\n");
        goto done;
    }
    double g[S_MAX_ROUNDS];
    double own[S_MAX_ROUNDS];
    /* A warm-up of each, then the rounds, alternating. */
    s_pipelined(c, true, window, o->seconds / 4);
    s_pipelined(c, false, window, o->seconds / 4);
    for (int r = 0; r < rounds; r++) {
        g[r] = s_pipelined(c, true, window, o->seconds);
        own[r] = s_pipelined(c, false, window, o->seconds);
        if (g[r] < 0 || own[r] < 0) {
            goto done;
        }
    }
    qsort(g, (size_t)rounds, sizeof g[0], s_cmp);
    qsort(own, (size_t)rounds, sizeof own[0], s_cmp);
    res.group_per_s = g[rounds / 2];
    res.own_per_s = own[rounds / 2];
done:
    actors_client_destroy(&c);
    for (int i = npids - 1; i >= 0; i--) {
        bench_proc_stop(pids[i]);
    }
    return res;
}
