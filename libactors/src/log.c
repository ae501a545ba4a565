/* libactors/src/log.c - the pluggable log handler and the stderr one.
 * SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <actors/log.h>

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <actors-internal/utf8.h>

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

/* s_unit reads the unit at t[0..len) (len > 0): one ASCII byte, fit for a
 * line unless a control byte, or what actors__utf8_scan reads. */
static size_t
s_unit(const char *t, size_t len, bool *fit)
{
    uint8_t b = (uint8_t)t[0];
    if (b < 0x80) {
        *fit = b >= 0x20 && b != 0x7f;
        return 1;
    }
    return actors__utf8_scan(t, len, fit);
}

/* s_one_line returns text itself if it is one line of well-formed UTF-8,
 * else clean (cap bytes, at least 4 x strlen(text) + 1) holding it with
 * each control byte (00..1F, 7F) and each byte of an ill-formed sequence
 * written as \xNN. */
static const char *
s_one_line(const char *text, char *clean, size_t cap)
{
    size_t len = strlen(text);
    size_t i = 0;
    while (i < len) {
        bool valid;
        size_t k = s_unit(text + i, len - i, &valid);
        if (!valid) {
            break;
        }
        i += k;
    }
    if (i == len) {
        return text;
    }
    memcpy(clean, text, i);
    size_t n = i;
    while (i < len && n + 16 < cap) { /* a unit writes at most 16 */
        bool valid;
        size_t k = s_unit(text + i, len - i, &valid);
        if (valid) {
            memcpy(clean + n, text + i, k);
            n += k;
        } else {
            for (size_t j = 0; j < k; j++) {
                static const char hex[] = "0123456789abcdef";
                uint8_t c = (uint8_t)text[i + j];
                clean[n++] = '\\';
                clean[n++] = 'x';
                clean[n++] = hex[c >> 4];
                clean[n++] = hex[c & 15];
            }
        }
        i += k;
    }
    clean[n] = '\0';
    return clean;
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
    /* What a line quotes often came from a peer (an address, a service,
     * a topic, a cause): it must not start a line of its own nor break a
     * UTF-8 decoder downstream. */
    char clean[sizeof text * 4];
    const char *line = s_one_line(text, clean, sizeof clean);
    s_handler(level, msgid ? msgid : "-", line, s_handler_arg);
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
