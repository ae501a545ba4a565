/* services/chaos/chaos.h - the chaos service table.
 * SPDX-License-Identifier: MIT */
#ifndef CHAOS_H
#define CHAOS_H

#include <actors/actors.h>

extern const actors_service_t chaos_service;

#endif
