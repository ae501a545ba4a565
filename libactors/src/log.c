/* libactors/src/log.c - the pluggable log handler and the stderr one.
 * SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <actors/log.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static actors_log_cb s_handler;                        /* NULL: drop */
static void *s_handler_arg;                            /* passed to s_handler */
static actors_log_level_t s_level = ACTORS_LOG_NOTICE; /* most verbose shown */
static char s_ident[64] = "actors";                    /* process name */

void
actors_log_set_handler(actors_log_cb cb, void *arg)
{
    s_handler = cb;
    s_handler_arg = arg;
}

void
actors_log_set_level(actors_log_level_t level)
{
    s_level = level;
}

actors_log_level_t
actors_log_level(void)
{
    return s_handler ? s_level : (actors_log_level_t)0;
}

void
actors_log_set_ident(const char *ident)
{
    snprintf(s_ident, sizeof s_ident, "%s", ident ? ident : "actors");
}

void
actors_log_emit(
    actors_log_level_t level, const char *msgid, const char *fmt, ...)
{
    if (s_handler == NULL) {
        return;
    }
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    s_handler(level, msgid ? msgid : "-", text, s_handler_arg);
}

void
actors_log_stderr(
    actors_log_level_t level, const char *msgid, const char *text, void *arg)
{
    (void)arg;
    static const char letters[] = "???EWNID";
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char when[32];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    char letter = (level >= 0 && level <= 7) ? letters[level] : '?';
    /* One write per line keeps lines whole when processes share stderr. */
    char line[1400];
    int n = snprintf(line, sizeof line, "%s.%03dZ %c %s[%d] %s %s\n", when,
        (int)(tv.tv_usec / 1000), letter, s_ident, (int)getpid(), msgid, text);
    if (n > 0) {
        size_t len = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
        ssize_t w = write(STDERR_FILENO, line, len);
        (void)w;
    }
}

void
actors_log_init_from_env(const char *ident)
{
    actors_log_set_ident(ident);
    actors_log_set_handler(actors_log_stderr, NULL);
    const char *lvl = getenv("ACTORS_LOG_LEVEL");
    if (lvl == NULL) {
        return;
    }
    static const struct {
        const char *name;
        actors_log_level_t level;
    } map[] = {{"err", ACTORS_LOG_ERR}, {"warn", ACTORS_LOG_WARN},
        {"notice", ACTORS_LOG_NOTICE}, {"info", ACTORS_LOG_INFO},
        {"debug", ACTORS_LOG_DEBUG}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        if (strcasecmp(lvl, map[i].name) == 0) {
            s_level = map[i].level;
        }
    }
}
