/* tools/actorctl/argsrc.c - an argument from argv, stdin or a file.
 * SPDX-License-Identifier: MIT
 */
#include "argsrc.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* s_slurp reads f to its end into a NUL-terminated buffer. */
static actors_err
s_slurp(FILE *f, char **out)
{
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    if (buf == NULL) {
        return ACTORS_ENOMEM;
    }
    for (;;) {
        if (cap - len < 2) {
            char *bigger = cap > SIZE_MAX / 2 ? NULL : realloc(buf, cap * 2);
            if (bigger == NULL) {
                free(buf);
                return ACTORS_ENOMEM;
            }
            buf = bigger;
            cap *= 2;
        }
        size_t n = fread(buf + len, 1, cap - len - 1, f);
        len += n;
        if (n == 0) {
            break;
        }
    }
    if (ferror(f)) {
        free(buf);
        return ACTORS_EIO;
    }
    buf[len] = '\0';
    *out = buf;
    return ACTORS_OK;
}

actors_err
argsrc_text(const char *word, FILE *in, const char **text, char **owned,
    char *why, size_t whylen)
{
    *owned = NULL;
    if (strcmp(word, "-") != 0 && word[0] != '@') {
        *text = word;
        return ACTORS_OK;
    }
    FILE *f = in;
    const char *name = "standard input";
    if (word[0] == '@') {
        name = word + 1;
        f = fopen(name, "rb");
        if (f == NULL) {
            snprintf(why, whylen, "cannot open %s: %s", name, strerror(errno));
            return ACTORS_EIO;
        }
    }
    char *buf = NULL;
    actors_err rc = s_slurp(f, &buf);
    if (f != in) {
        fclose(f);
    }
    if (rc == ACTORS_EIO) {
        snprintf(why, whylen, "cannot read %s", name);
    }
    if (rc != ACTORS_OK) {
        return rc;
    }
    *text = buf;
    *owned = buf;
    return ACTORS_OK;
}
