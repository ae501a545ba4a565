/* broker/calls.h - what the calls to one address came to: how many
 * ended in an error and a fixed-bucket histogram of their latency.
 * SPDX-License-Identifier: MIT
 *
 * Kept in each registry entry (registry.h) by the core, for every CALL
 * the broker answers, whether or not metrics are on: an increment, a
 * scan of at most BRK_CALLS_NB bounds and an add; no allocation, no
 * clock read (the loop's own is used: core.c), no lock. LOOKUP
 * and LIST report it (PROTOCOL.md "LOOKUP"), /metrics renders it as a
 * histogram per address (obs.c), `actorctl top` shows errors/s and
 * p50/p99 from two successive reports, the dashboard errors and p99.
 * A call to a group is counted on the member that took it (or on the
 * group's entry, when it never left the group's mailbox); a group
 * reports its own counts plus its members' (brk_group_sum), and a member
 * that goes leaves its counts to the group.
 *
 * Thread: the broker loop's, like the registry.
 */
#ifndef BRK_CALLS_H
#define BRK_CALLS_H

#include <stdbool.h>
#include <stdint.h>

/* Bucket upper bounds, microseconds; bucket BRK_CALLS_NB is +Inf. The
 * same bounds as actors_call_duration_seconds; PROTOCOL.md lists them,
 * so a change here is a wire change. */
#define BRK_CALLS_NB 16
static const int64_t brk_calls_bounds_us[BRK_CALLS_NB] = {100, 250, 500, 1000,
    2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000,
    5000000, 10000000};

typedef struct {
    uint64_t errors;                 /* calls answered with an error */
    uint64_t sum_us;                 /* latency of all calls, summed */
    uint64_t hist[BRK_CALLS_NB + 1]; /* calls per bucket, not cumulative */
} brk_calls_t;

/* brk_calls_bucket returns the bucket of a latency of us microseconds. */
static inline int
brk_calls_bucket(int64_t us)
{
    int b = 0;
    while (b < BRK_CALLS_NB && us > brk_calls_bounds_us[b]) {
        b++;
    }
    return b;
}

/* brk_calls_add counts one call answered us microseconds after the
 * broker took it (0: refused at once), error true when the answer was an
 * ERROR (the actor's or the broker's). */
static inline void
brk_calls_add(brk_calls_t *self, bool error, int64_t us)
{
    if (us < 0) {
        us = 0;
    }
    self->errors += error;
    self->sum_us += (uint64_t)us;
    self->hist[brk_calls_bucket(us)]++;
}

/* brk_calls_merge adds the counts of other into self (a group's figures
 * are its own and its members', group.h). */
static inline void
brk_calls_merge(brk_calls_t *self, const brk_calls_t *other)
{
    self->errors += other->errors;
    self->sum_us += other->sum_us;
    for (int b = 0; b <= BRK_CALLS_NB; b++) {
        self->hist[b] += other->hist[b];
    }
}

#endif
