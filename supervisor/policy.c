/* supervisor/policy.c - restart decisions: lifetime count, window, backoff.
 * SPDX-License-Identifier: MIT */
#include "policy.h"

#include <assert.h>
#include <math.h>
#include <stddef.h>

void
policy_on_start(policy_state_t *st, uint64_t now_ms)
{
    assert(st);
    st->started_ms = now_ms;
}

/* s_window_count counts the remembered restarts within period of now. */
static int
s_window_count(const policy_t *p, const policy_state_t *st, uint64_t now_ms)
{
    int n = 0;
    for (int i = 0; i < st->recent_len; i++) {
        if (now_ms - st->recent[i] < p->period_ms) {
            n++;
        }
    }
    return n;
}

static uint32_t
s_backoff(const policy_t *p, int consecutive, uint32_t rnd)
{
    if (consecutive <= 0) {
        return 0; /* the first restart after a healthy run is immediate */
    }
    double d = (double)p->backoff_base_ms *
               pow(p->backoff_factor, (double)(consecutive - 1));
    /* Jitter in [-j, +j): spreads restarts of actors that crashed together.
     * Applied before the cap, so no wait ever exceeds backoff_max_ms. */
    double u = (double)rnd / 4294967296.0;
    d *= 1.0 + p->backoff_jitter * (2.0 * u - 1.0);
    if (d > (double)p->backoff_max_ms) {
        d = (double)p->backoff_max_ms;
    }
    if (d < 0.0) {
        d = 0.0;
    }
    return (uint32_t)(d + 0.5);
}

policy_decision_t
policy_on_exit(const policy_t *p, policy_state_t *st, uint64_t now_ms,
    uint32_t rnd, uint32_t *delay_ms, const char **why)
{
    assert(p);
    assert(st);
    assert(delay_ms);
    if (now_ms - st->started_ms >= p->healthy_ms) {
        st->consecutive = 0;
    }
    if (p->max_restarts >= 0 && st->restarts >= p->max_restarts) {
        if (why) {
            *why = "max_restarts";
        }
        return POLICY_GIVE_UP;
    }
    if (p->intensity > 0 && s_window_count(p, st, now_ms) >= p->intensity) {
        if (why) {
            *why = "intensity";
        }
        return POLICY_GIVE_UP;
    }
    *delay_ms = s_backoff(p, st->consecutive, rnd);
    st->restarts++;
    st->consecutive++;
    st->recent[st->recent_head] = now_ms;
    st->recent_head = (st->recent_head + 1) % POLICY_WINDOW_MAX;
    if (st->recent_len < POLICY_WINDOW_MAX) {
        st->recent_len++;
    }
    return POLICY_RESTART;
}

const char *
policy_validate(const policy_t *p)
{
    assert(p);
    if (p->max_restarts < -1) {
        return "max_restarts must be -1 (forever), 0 or more";
    }
    if (p->intensity < 0 || p->intensity > POLICY_WINDOW_MAX) {
        return "intensity must be 0 (no window) to 64";
    }
    if (p->intensity > 0 && p->period_ms == 0) {
        return "period_ms must be set with intensity";
    }
    if (!(p->backoff_factor >= 1.0)) {
        return "backoff_factor must be 1 or more";
    }
    if (!(p->backoff_jitter >= 0.0 && p->backoff_jitter <= 1.0)) {
        return "backoff_jitter must be within 0..1";
    }
    if (p->max_task_retries < -1) {
        return "max_task_retries must be -1 (forever), 0 or more";
    }
    return NULL;
}
