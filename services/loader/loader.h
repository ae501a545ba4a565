/* services/loader/loader.h - the loader service table (the Pykka pipeline).
 * SPDX-License-Identifier: MIT */
#ifndef LOADER_H
#define LOADER_H

#include <actors/actors.h>

extern const actors_service_t loader_service;

#endif
