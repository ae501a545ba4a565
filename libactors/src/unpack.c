/* libactors/src/unpack.c - a header walk before msgpack-c decodes.
 * SPDX-License-Identifier: MIT
 *
 * This walks the msgpack format's headers only (the spec's type table);
 * it builds nothing and msgpack-c still does all decoding. The walk keeps a
 * stack of "items still owed" per open container; an item is owed one
 * byte at least, so a container may announce at most as many items as
 * bytes remain.
 */
#include <actors-internal/unpack.h>

#include <assert.h>
#include <stdint.h>

static uint64_t
s_be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++) {
        v = (v << 8) | p[i];
    }
    return v;
}

msgpack_unpack_return
actors__unpack_check(const char *data, size_t len, size_t *off)
{
    return actors__unpack_check_within(
        data, len, off, ACTORS__UNPACK_MAX_DEPTH);
}

msgpack_unpack_return
actors__unpack_check_within(
    const char *data, size_t len, size_t *off, int max_depth)
{
    assert(max_depth >= 0 && max_depth <= ACTORS__UNPACK_MAX_DEPTH);
    const uint8_t *p = (const uint8_t *)data + (off ? *off : 0);
    const uint8_t *end = (const uint8_t *)data + len;
    uint64_t owed[ACTORS__UNPACK_MAX_DEPTH]; /* items owed per container */
    int depth = 0;
    uint64_t top = 1; /* items owed at the top level: one value */
    for (;;) {
        /* Close every container whose items have all been seen. */
        while (top == 0) {
            if (depth == 0) {
                if (off != NULL) {
                    *off = (size_t)(p - (const uint8_t *)data);
                }
                return MSGPACK_UNPACK_SUCCESS;
            }
            top = owed[--depth];
        }
        if (p >= end) {
            return MSGPACK_UNPACK_CONTINUE;
        }
        top--;
        uint8_t b = *p;
        size_t avail = (size_t)(end - p);
        uint64_t skip = 1;     /* bytes of this item without its children */
        uint64_t children = 0; /* items inside, if a container */
        int is_container = 0;
        if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
            skip = 1;
        } else if (b >= 0x80 && b <= 0x8f) {
            children = 2u * (b & 0x0f);
            is_container = 1;
        } else if (b >= 0x90 && b <= 0x9f) {
            children = b & 0x0f;
            is_container = 1;
        } else if (b >= 0xa0 && b <= 0xbf) {
            skip = 1u + (b & 0x1f);
        } else {
            /* Length-prefixed and fixed-size types: k = size of the
             * length field, fixed = bytes after the type byte. */
            int k = 0;
            uint64_t fixed = 0;
            int kind = 0; /* 0 fixed, 1 str/bin, 2 ext, 3 array, 4 map */
            switch (b) {
            case 0xc4:
            case 0xd9:
                k = 1;
                kind = 1;
                break;
            case 0xc5:
            case 0xda:
                k = 2;
                kind = 1;
                break;
            case 0xc6:
            case 0xdb:
                k = 4;
                kind = 1;
                break;
            case 0xc7:
                k = 1;
                kind = 2;
                break;
            case 0xc8:
                k = 2;
                kind = 2;
                break;
            case 0xc9:
                k = 4;
                kind = 2;
                break;
            case 0xca:
                fixed = 4;
                break;
            case 0xcb:
                fixed = 8;
                break;
            case 0xcc:
            case 0xd0:
                fixed = 1;
                break;
            case 0xcd:
            case 0xd1:
                fixed = 2;
                break;
            case 0xce:
            case 0xd2:
                fixed = 4;
                break;
            case 0xcf:
            case 0xd3:
                fixed = 8;
                break;
            case 0xd4:
                fixed = 2;
                break;
            case 0xd5:
                fixed = 3;
                break;
            case 0xd6:
                fixed = 5;
                break;
            case 0xd7:
                fixed = 9;
                break;
            case 0xd8:
                fixed = 17;
                break;
            case 0xdc:
                k = 2;
                kind = 3;
                break;
            case 0xdd:
                k = 4;
                kind = 3;
                break;
            case 0xde:
                k = 2;
                kind = 4;
                break;
            case 0xdf:
                k = 4;
                kind = 4;
                break;
            default:
                return MSGPACK_UNPACK_PARSE_ERROR; /* 0xc1 */
            }
            if (kind == 0) {
                skip = 1 + fixed;
            } else {
                if (avail < 1u + (unsigned)k) {
                    return MSGPACK_UNPACK_CONTINUE;
                }
                uint64_t n = s_be(p + 1, k);
                if (kind == 1) {
                    skip = 1u + (unsigned)k + n;
                } else if (kind == 2) {
                    skip = 1u + (unsigned)k + 1u + n;
                } else {
                    skip = 1u + (unsigned)k;
                    children = kind == 4 ? 2 * n : n;
                    is_container = 1;
                }
            }
        }
        if (skip > avail) {
            return MSGPACK_UNPACK_CONTINUE;
        }
        p += skip;
        if (is_container) {
            /* msgpack-c counts an empty container as a level too: it
             * pushes every container before looking at its size. */
            if (depth >= max_depth) {
                return MSGPACK_UNPACK_PARSE_ERROR; /* nested too deep */
            }
            if (children > (uint64_t)(end - p)) {
                return MSGPACK_UNPACK_PARSE_ERROR; /* more than could fit */
            }
            if (children > 0) {
                owed[depth++] = top;
                top = children;
            }
        }
    }
}

msgpack_unpack_return
actors__unpack_next(
    msgpack_unpacked *result, const char *data, size_t len, size_t *off)
{
    size_t at = off ? *off : 0;
    msgpack_unpack_return rc = actors__unpack_check(data, len, &at);
    if (rc != MSGPACK_UNPACK_SUCCESS) {
        return rc == MSGPACK_UNPACK_CONTINUE ? MSGPACK_UNPACK_CONTINUE
                                             : MSGPACK_UNPACK_PARSE_ERROR;
    }
    return msgpack_unpack_next(result, data, len, off);
}
