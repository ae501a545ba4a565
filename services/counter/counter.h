/* services/counter/counter.h - the counter service table.
 * SPDX-License-Identifier: MIT */
#ifndef COUNTER_H
#define COUNTER_H

#include <actors/actors.h>

extern const actors_service_t counter_service;

#endif
