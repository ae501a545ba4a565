/* services/shipping/shipping.h - the shipping service table.
 * SPDX-License-Identifier: MIT */
#ifndef SHIPPING_H
#define SHIPPING_H

#include <actors/actors.h>

extern const actors_service_t shipping_service;

#endif
