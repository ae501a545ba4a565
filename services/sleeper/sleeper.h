/* services/sleeper/sleeper.h - the sleeper service table.
 * SPDX-License-Identifier: MIT */
#ifndef SLEEPER_H
#define SLEEPER_H

#include <actors/actors.h>

extern const actors_service_t sleeper_service;

#endif
