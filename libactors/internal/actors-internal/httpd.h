/* libactors/internal/actors-internal/httpd.h - a small HTTP server for
 * the framework's own programs (the broker's and the supervisor's
 * /metrics and the dashboard), over GNU libmicrohttpd.
 * SPDX-License-Identifier: MIT
 *
 * libmicrohttpd parses HTTP and runs its own thread (one, polling); this
 * module only answers GET (and HEAD) with what a page function returns.
 * No request body is read; any other method gets 405.
 *
 * Thread: actors__httpd_start and actors__httpd_stop from one thread;
 * the page function runs on the server's thread, so whatever it reads
 * must be safe to read there (a snapshot under a lock, atomics).
 */
#ifndef ACTORS_INTERNAL_HTTPD_H
#define ACTORS_INTERNAL_HTTPD_H

#include <stddef.h>
#include <stdint.h>

#include <actors/error.h>

typedef struct actors__httpd actors__httpd_t;

/* An answer: body (malloc'd; the server frees it; NULL with len 0: an
 * empty body), its length and its Content-Type (static storage). */
typedef struct {
    char *body;
    size_t len;
    const char *type;
} actors__httpd_page_t;

/* actors__httpd_fn fills *page for path (the URL's path, query string
 * cut off) and returns the HTTP status (200, 404, ...). Runs on the
 * server's thread. */
typedef int (*actors__httpd_fn)(
    void *arg, const char *path, actors__httpd_page_t *page);

/* actors__httpd_start listens on host (an IPv4 address; NULL:
 * 127.0.0.1) and port (0: any free one) and serves fn(arg).
 * Returns ACTORS_OK with *out owned by the caller (actors__httpd_stop),
 * ACTORS_EINVAL (host is not an IPv4 address), or ACTORS_EIO (cannot
 * listen: port taken, no permission). */
actors_err actors__httpd_start(actors__httpd_t **out, const char *host,
    uint16_t port, actors__httpd_fn fn, void *arg);

/* actors__httpd_port is the port the server listens on. */
uint16_t actors__httpd_port(const actors__httpd_t *self);

/* actors__httpd_stop stops the server (its thread joined) and frees it;
 * NULL is fine; *self_p is set to NULL. */
void actors__httpd_stop(actors__httpd_t **self_p);

#endif
