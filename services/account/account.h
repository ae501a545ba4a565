/* services/account/account.h - the account service table.
 * SPDX-License-Identifier: MIT */
#ifndef ACCOUNT_H
#define ACCOUNT_H

#include <actors/actors.h>

extern const actors_service_t account_service;

#endif
