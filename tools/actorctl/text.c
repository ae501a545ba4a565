/* tools/actorctl/text.c - peer-chosen text made safe to print (text.h).
 * SPDX-License-Identifier: MIT
 */
#include "text.h"

#include <assert.h>
#include <stdint.h>

size_t
text_printable(char *dst, size_t cap, const char *src, size_t n)
{
    assert(dst && cap > 0);
    assert(src || n == 0);
    static const char hex[] = "0123456789abcdef";
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = (uint8_t)src[i];
        if (c >= 0x20 && c != 0x7f) {
            if (w + 1 >= cap) {
                break;
            }
            dst[w++] = (char)c;
            continue;
        }
        if (w + 4 >= cap) {
            break;
        }
        dst[w++] = '\\';
        dst[w++] = 'x';
        dst[w++] = hex[c >> 4];
        dst[w++] = hex[c & 15];
    }
    dst[w] = '\0';
    return w;
}
