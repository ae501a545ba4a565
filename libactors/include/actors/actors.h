/* libactors/include/actors/actors.h - the whole public API in one include.
 * SPDX-License-Identifier: MIT
 *
 * Every header of libactors/include/actors/ is listed here: the install
 * test (tests/integration/test_install.sh) fails on one that is not. */
#ifndef ACTORS_ACTORS_H
#define ACTORS_ACTORS_H

#include <actors/export.h>
#include <actors/error.h>
#include <actors/log.h>
#include <actors/msg.h>
#include <actors/value.h>
#include <actors/json.h>
#include <actors/future.h>
#include <actors/client.h>
#include <actors/actor.h>
#include <actors/persist.h>
#include <actors/loop.h>
#include <actors/pool.h>
#include <actors/security.h>
#include <actors/pubsub.h>
#include <actors/reminder.h>
#include <actors/durable.h>

#endif
