/* libactors/include/actors/log.h - logging through one pluggable handler.
 * SPDX-License-Identifier: MIT
 *
 * libactors never prints by itself: it calls the handler set with
 * actors_log_set_handler(), and the default handler drops everything.
 * Binaries install actors_log_stderr. One line per event:
 *   2025-06-01T12:00:00.123Z W actors-broker[41] BRK-MBOX-FULL address=a/1 ...
 * msgid is a stable COMPONENT-EVENT string that tests grep for. The text
 * a handler gets is one line of well-formed UTF-8, at most 4095 bytes:
 * what a line quotes is often a peer's choice (an address, a cause), so
 * each control byte (00..1F, 7F) and each byte of an ill-formed sequence
 * in the formatted text (cut at 1023 bytes first) is written \xNN.
 *
 * Thread: set the handler, level and ident before any thread starts;
 * actors_log_emit is safe from any thread.
 */
#ifndef ACTORS_LOG_H
#define ACTORS_LOG_H

#include <actors/export.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    ACTORS_LOG_ERR = 3,
    ACTORS_LOG_WARN = 4,
    ACTORS_LOG_NOTICE = 5,
    ACTORS_LOG_INFO = 6,
    ACTORS_LOG_DEBUG = 7,
} actors_log_level_t;

/* A log handler gets the level, the msgid and the formatted text. */
typedef void (*actors_log_cb)(
    actors_log_level_t level, const char *msgid, const char *text, void *arg);

/* actors_log_set_handler installs cb (NULL: drop everything). */
ACTORS_EXPORT void actors_log_set_handler(actors_log_cb cb, void *arg);

/* actors_log_set_level sets the most verbose level emitted (default
 * NOTICE); ACTORS_LOG_LEVEL=err|warn|notice|info|debug in the environment
 * is read by actors_log_init_from_env. */
ACTORS_EXPORT void actors_log_set_level(actors_log_level_t level);
ACTORS_EXPORT actors_log_level_t actors_log_level(void);

/* actors_log_set_ident names the process in stderr lines ("actors-broker"). */
ACTORS_EXPORT void actors_log_set_ident(const char *ident);

/* actors_log_stderr is the stderr handler the binaries install. */
ACTORS_EXPORT void actors_log_stderr(
    actors_log_level_t level, const char *msgid, const char *text, void *arg);

/* actors_log_init_from_env: stderr handler, ident, level from
 * ACTORS_LOG_LEVEL. For main() functions. */
ACTORS_EXPORT void actors_log_init_from_env(const char *ident);

ACTORS_EXPORT void actors_log_emit(actors_log_level_t level, const char *msgid,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ACTORS_LOG checks the level before formatting. */
#define ACTORS_LOG(lvl, msgid, ...)                                            \
    do {                                                                       \
        if ((lvl) <= actors_log_level()) {                                     \
            actors_log_emit((lvl), (msgid), __VA_ARGS__);                      \
        }                                                                      \
    } while (0)

#ifdef __cplusplus
}
#endif
#endif
