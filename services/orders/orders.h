/* services/orders/orders.h - the orders service table.
 * SPDX-License-Identifier: MIT */
#ifndef ORDERS_H
#define ORDERS_H

#include <actors/actors.h>

extern const actors_service_t orders_service;

#endif
