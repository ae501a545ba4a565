/* libactors/src/deadline.h - which deadline a call gets: its own, the one
 * it inherits (a handler's caller, the call a continuation follows), or
 * the client's default. Private; never installed.
 * SPDX-License-Identifier: MIT
 */
#ifndef ACTORS_DEADLINE_H
#define ACTORS_DEADLINE_H

#include <stdint.h>

#include "future_internal.h"

/* actors__deadline_of returns the timeout_ms to put on the wire (0: none)
 * for a call whose options say opt_ms (0: not said; ACTORS_TIMEOUT_NONE:
 * none), made while *cur is inherited, by a client whose default is
 * default_ms (0: none), at now (monotonic ms). *out gets what the call's
 * own callbacks and continuations pass on: its explicit timeout, else what
 * it inherited, else nothing (they take the default too).
 * An inherited deadline that has passed gives 1 ms (the broker answers
 * Timeout at once). Thread: any (pure). */
/* actors__now_ms is CLOCK_MONOTONIC in ms, the clock of every deadline. */
int64_t actors__now_ms(void);

uint32_t actors__deadline_of(uint32_t default_ms, const actors__inherit_t *cur,
    uint32_t opt_ms, int64_t now, actors__inherit_t *out);

#endif
