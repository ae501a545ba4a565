/* broker/topic.c - topic names and subscription patterns (topic.h).
 * SPDX-License-Identifier: MIT
 */
#include "topic.h"

#include <string.h>

size_t
brk_topic_seg(const char *s, size_t left)
{
    const char *d = memchr(s, '.', left);
    return d == NULL ? left : (size_t)(d - s);
}

bool
brk_topic_valid(const char *s, size_t len, bool pattern)
{
    if (s == NULL || len == 0 || len > BRK_TOPIC_MAX) {
        return false;
    }
    size_t i = 0;
    for (;;) {
        size_t n = brk_topic_seg(s + i, len - i);
        if (n == 0) {
            return false; /* empty segment: "a..b", ".a", "a." */
        }
        for (size_t k = 0; k < n; k++) {
            unsigned char c = (unsigned char)s[i + k];
            if (c <= 0x20 || c == 0x7f) {
                return false;
            }
        }
        bool star = n == 1 && s[i] == '*';
        bool rest = n == 1 && s[i] == '>';
        if ((star || rest) && !pattern) {
            return false;
        }
        i += n;
        if (i == len) {
            return true;
        }
        if (rest) {
            return false; /* ">" only as the last segment */
        }
        i++; /* the dot */
    }
}

bool
brk_topic_match(const char *p, size_t plen, const char *t, size_t tlen)
{
    size_t i = 0;
    size_t j = 0;
    for (;;) {
        if (i >= plen || j >= tlen) {
            return i >= plen && j >= tlen;
        }
        size_t pn = brk_topic_seg(p + i, plen - i);
        size_t tn = brk_topic_seg(t + j, tlen - j);
        if (pn == 1 && p[i] == '>') {
            return true; /* one or more segments left in t */
        }
        if (!(pn == 1 && p[i] == '*') &&
            (pn != tn || memcmp(p + i, t + j, pn) != 0)) {
            return false;
        }
        i += pn + 1;
        j += tn + 1;
        if ((i > plen) != (j > tlen)) {
            return false; /* one ended, the other goes on */
        }
        if (i > plen) {
            return true;
        }
    }
}
