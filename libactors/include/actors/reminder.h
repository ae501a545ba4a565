/* libactors/include/actors/reminder.h - reminders: named timers that
 * outlive the actor's process.
 * SPDX-License-Identifier: MIT
 *
 * A timer (actor.h, actors_actor_timer_add) is cheap and lives in the
 * process: a crash, a restart or a move to another node forgets it. A
 * reminder, as in Dapr and Orleans, is kept with the actor's persistence
 * (actors/persist.h, under the key "reminders/ADDRESS", the backend
 * $ACTORS_REDIS or $ACTORS_STATE_DIR selects) and restored when the
 * actor's address starts again, in any process, on any node that sees the
 * same storage. A reminder that fell due while the actor was down fires
 * once on recovery; a periodic one then goes on every period from then.
 *
 * Use a timer for what may be lost with the process: a flush bound, a
 * cache expiry, a deferred reply, a poll. Use a reminder for work that
 * must happen even if the actor crashes first: re-sending what was not
 * acknowledged, a payment deadline, a daily report. Each change costs a
 * durable write (a snapshot of the actor's reminders), so reminders are
 * for seconds and up, not for milliseconds.
 *
 * The reminders are restored before the service's init runs, so init
 * may count, replace or cancel them (they fire only once the actor's loop
 * runs). A service that uses reminders sets on_reminder in its
 * actors_service_t:
 * the handler (a method's signature) gets args [name, data] and its result
 * is dropped, as a tell's. It runs on the loop thread between messages,
 * one at a time like everything else. Only such a service may set them.
 *
 * A group (members registered under one address with --group, or a
 * supervisor's replicas with group = true) has one set of reminders, its
 * address's, and exactly one member holds and fires them at a time: the
 * first to lock their storage (file backend: the flock on the key, which
 * the kernel drops when the holder exits, SIGKILL included; Redis: a
 * lease its loop renews, which lapses 3 s after a holder stopped renewing
 * it, and a holder that finds its lease taken drops the reminders unfired
 * and stands by, ACT-REMINDER-LOST). The others
 * stand by (one INFO line, ACT-REMINDER-STANDBY), retry the lock quietly
 * with a backoff (0.1 s doubling to 1 s), and the one that gets it loads
 * the stored reminders and fires them from then on (ACT-REMINDER-TAKEOVER):
 * a reminder that fell due meanwhile fires once, at once. As after a
 * crash, a reminder whose handler ran just before its holder died may run
 * again on the new holder (at least once). On a standing-by member
 * reminder_count is 0 and reminder_set / reminder_cancel return
 * ACTORS_ELOCKED (they are not forwarded: the group's address routes to
 * any member, this one included); the caller answers with that error and
 * its client retries, landing on the holder sooner or later (or routes
 * the call with a key that the holder serves).
 *
 * Thread: handler (the actor's loop thread; init included).
 */
#ifndef ACTORS_REMINDER_H
#define ACTORS_REMINDER_H

#include <stddef.h>
#include <stdint.h>

#include <actors/actor.h>
#include <actors/error.h>
#include <actors/export.h>
#include <actors/msg.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ACTORS_REMINDER_NAME_MAX 64 /* bytes of a name, 1..64 */
#define ACTORS_REMINDERS_MAX 256    /* reminders of one actor */

/* actors_actor_reminder_set (re)sets reminder name (1..64 bytes): it fires
 * due_ms from now, then every period_ms if period_ms > 0 (at least 10),
 * with data (the one value of *data_p; NULL or empty: nil) as the second
 * argument of on_reminder. A reminder of that name is replaced. Durable
 * when it returns ACTORS_OK (*data_p then consumed and set to NULL).
 * Returns ACTORS_OK, ACTORS_EINVAL (bad name or period, more than one
 * value, or the service has no on_reminder), ACTORS_EFULL (256 already),
 * ACTORS_EIO / ACTORS_ENOSPACE / ACTORS_ELOCKED (the storage: nothing
 * changed; on a group member, ELOCKED means another member holds the
 * group's reminders), ACTORS_ENOMEM. */
ACTORS_EXPORT actors_err actors_actor_reminder_set(actors_actor_t *actor,
    const char *name, uint64_t due_ms, uint64_t period_ms,
    actors_msg_t **data_p);

/* actors_actor_reminder_cancel removes reminder name, durably. Returns
 * ACTORS_OK, ACTORS_EINVAL (no such reminder), ACTORS_ELOCKED (a group
 * member standing by: another member holds them; nothing changed), or the
 * storage's error (the reminder is then cancelled in this process but may
 * come back with the next one). */
ACTORS_EXPORT actors_err actors_actor_reminder_cancel(
    actors_actor_t *actor, const char *name);

/* actors_actor_reminder_count is the number of reminders set (0 on a
 * group member standing by). */
ACTORS_EXPORT size_t actors_actor_reminder_count(const actors_actor_t *actor);

#ifdef __cplusplus
}
#endif

#endif
