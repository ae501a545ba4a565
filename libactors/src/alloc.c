/* libactors/src/alloc.c - allocation with an injectable failure.
 * SPDX-License-Identifier: MIT */
#include <actors-internal/alloc.h>

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static atomic_uint s_fail_after; /* 0: never fail; n: the n-th one fails */

void
actors__alloc_fail_after(unsigned n)
{
    atomic_store(&s_fail_after, n);
}

static int
s_should_fail(void)
{
    unsigned n = atomic_load_explicit(&s_fail_after, memory_order_relaxed);
    if (n == 0) {
        return 0;
    }
    if (n == 1) {
        atomic_store(&s_fail_after, 0);
        return 1;
    }
    atomic_store(&s_fail_after, n - 1);
    return 0;
}

void *
actors__malloc(size_t n)
{
    return s_should_fail() ? NULL : malloc(n ? n : 1);
}

void *
actors__zalloc(size_t n)
{
    return s_should_fail() ? NULL : calloc(1, n ? n : 1);
}

void *
actors__realloc(void *p, size_t n)
{
    return s_should_fail() ? NULL : realloc(p, n ? n : 1);
}

void
actors__free(void *p)
{
    free(p);
}

char *
actors__strndup(const char *s, size_t n)
{
    char *d = actors__malloc(n + 1);
    if (d != NULL) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

char *
actors__strdup(const char *s)
{
    return actors__strndup(s, strlen(s));
}
