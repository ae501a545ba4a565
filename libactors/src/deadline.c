/* libactors/src/deadline.c - deadlines that travel (deadline.h).
 * SPDX-License-Identifier: MIT
 *
 * As gRPC propagates deadlines: a call made inside a method, with no
 * timeout of its own, carries what remains of the method's caller's
 * deadline (none if the caller gave none); a call made in a future's
 * callback or continuation, with no timeout of its own, gets the options
 * of the call that future followed. Otherwise the client's default
 * (ACTORS_CLIENT_TIMEOUT_DEFAULT unless actors_client_set_timeout).
 */
#include "deadline.h"

#include <time.h>

#include <actors/client.h>

int64_t
actors__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint32_t
actors__deadline_of(uint32_t default_ms, const actors__inherit_t *cur,
    uint32_t opt_ms, int64_t now, actors__inherit_t *out)
{
    if (opt_ms != 0) {
        uint32_t t = opt_ms == ACTORS_TIMEOUT_NONE ? 0 : opt_ms;
        *out = (actors__inherit_t){true, t, 0};
        return t;
    }
    if (cur == NULL || !cur->set) {
        *out = (actors__inherit_t){false, 0, 0};
        return default_ms;
    }
    *out = *cur;
    if (cur->deadline == 0) {
        return cur->timeout_ms;
    }
    int64_t left = cur->deadline - now;
    if (left < 1) {
        return 1;
    }
    return left > (int64_t)UINT32_MAX - 1 ? UINT32_MAX - 1 : (uint32_t)left;
}
