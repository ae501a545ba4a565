/* libactors/internal/actors-internal/alloc.h -
 * the library's allocator, with a test hook.
 * SPDX-License-Identifier: MIT
 *
 * Every allocation of libactors goes through these, so that a test can
 * make the Nth one fail (actors__alloc_fail_after) and check the ENOMEM
 * paths. Memory from msgpack-c and libzmq is theirs, not counted here.
 * Thread: any; the failure counter is for single-threaded tests.
 */
#ifndef ACTORS_ALLOC_H
#define ACTORS_ALLOC_H

#include <stddef.h>

#include <actors/export.h>

void *actors__malloc(size_t n);
void *actors__zalloc(size_t n); /* zeroed */
void *actors__realloc(void *p, size_t n);
void actors__free(void *p);
char *actors__strdup(const char *s);
char *actors__strndup(const char *s, size_t n);

/* actors__alloc_fail_after makes the n-th allocation from now fail, and
 * every later one succeed again; 0 turns failure off. Exported for the
 * unit tests only. */
ACTORS_EXPORT void actors__alloc_fail_after(unsigned n);

#endif
