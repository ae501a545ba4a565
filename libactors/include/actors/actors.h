/* libactors/include/actors/actors.h - the whole public API in one include.
 * SPDX-License-Identifier: MIT */
#ifndef ACTORS_ACTORS_H
#define ACTORS_ACTORS_H

#include <actors/export.h>
#include <actors/error.h>
#include <actors/log.h>
#include <actors/msg.h>
#include <actors/json.h>
#include <actors/future.h>
#include <actors/client.h>
#include <actors/actor.h>
#include <actors/pubsub.h>
#include <actors/reminder.h>

#endif
