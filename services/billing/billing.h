/* services/billing/billing.h - the billing service table.
 * SPDX-License-Identifier: MIT */
#ifndef BILLING_H
#define BILLING_H

#include <actors/actors.h>

extern const actors_service_t billing_service;

#endif
