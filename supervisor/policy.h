/* supervisor/policy.h - when to restart a crashed actor, and after how long.
 * SPDX-License-Identifier: MIT
 *
 * A policy combines what Ray and Erlang/OTP each offer, and what neither
 * has alone:
 *   - max_restarts: a lifetime count (Ray): 0 never, N, -1 forever;
 *   - intensity/period: at most `intensity` restarts within `period_ms`
 *     (OTP's MaxR/MaxT); one more and the supervisor gives up;
 *   - backoff: the first restart after a healthy run is immediate; each
 *     further consecutive one waits base, base*factor, ... up to max_ms,
 *     with +/- jitter; a run of healthy_ms or more resets the sequence.
 * Pure functions over a small state: the caller supplies the clock and
 * the random numbers, so tests are exact.
 * Thread: a policy_state_t belongs to one thread.
 */
#ifndef SUPERVISOR_POLICY_H
#define SUPERVISOR_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#define POLICY_WINDOW_MAX 64 /* restarts remembered for intensity */

typedef struct {
    int max_restarts;         /* lifetime: 0 never, N, -1 forever */
    int intensity;            /* restarts allowed per period; 0: no window */
    uint32_t period_ms;       /* the window of intensity */
    uint32_t backoff_base_ms; /* delay of the 2nd consecutive restart */
    double backoff_factor;    /* growth per consecutive restart, >= 1 */
    uint32_t backoff_max_ms;  /* cap */
    double backoff_jitter;    /* 0..1: delay scaled by 1 +/- jitter */
    uint32_t healthy_ms;      /* a run this long resets the backoff */
    int max_task_retries;     /* re-deliveries of an in-flight call */
    uint32_t grace_ms;        /* SIGTERM to SIGKILL on a graceful stop */
} policy_t;

#define POLICY_INIT                                                            \
    {                                                                          \
        0, 0, 0, 10, 2.0, 5000, 0.1, 10000, 0, 5000                            \
    }

typedef struct {
    int restarts;        /* lifetime restarts so far */
    int consecutive;     /* restarts since the last healthy run */
    uint64_t started_ms; /* when the current run started */
    uint64_t recent[POLICY_WINDOW_MAX]; /* ring of restart times */
    int recent_len;                     /* valid entries in recent */
    int recent_head;                    /* next slot to write */
} policy_state_t;

#define POLICY_STATE_INIT                                                      \
    {                                                                          \
        0                                                                      \
    }

typedef enum {
    POLICY_RESTART, /* restart after *delay_ms */
    POLICY_GIVE_UP, /* restarts used up (lifetime or window) */
} policy_decision_t;

/* policy_on_start records that a run started at now_ms. */
void policy_on_start(policy_state_t *st, uint64_t now_ms);

/* policy_on_exit decides what follows a crash at now_ms. rnd is a uniform
 * random 32-bit number for the jitter. On POLICY_RESTART *delay_ms is the
 * wait before starting again and the restart is counted; on
 * POLICY_GIVE_UP *why names the limit hit ("max_restarts" or
 * "intensity"). */
policy_decision_t policy_on_exit(const policy_t *p, policy_state_t *st,
    uint64_t now_ms, uint32_t rnd, uint32_t *delay_ms, const char **why);

/* policy_validate checks the numbers are in range; returns NULL or a
 * description of the first bad one (static text). */
const char *policy_validate(const policy_t *p);

#endif
