/* services/store/store.h - the store service table.
 * SPDX-License-Identifier: MIT */
#ifndef STORE_H
#define STORE_H

#include <actors/actors.h>

extern const actors_service_t store_service;

#endif
