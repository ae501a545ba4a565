/* libactors/src/utf8.c - byte strings as msgpack str, ill-formed UTF-8
 * replaced by U+FFFD.
 * SPDX-License-Identifier: MIT
 *
 * A scanner of the well-formed byte sequences of the Unicode Standard's
 * Table 3-7, one unit at a time: the lead byte gives the length and the
 * range allowed for the second byte (narrower after E0, ED, F0 and F4,
 * which is what excludes overlongs, surrogates and code points above
 * U+10FFFF); every later byte is 80..BF. A unit that breaks off after k
 * good bytes is one maximal subpart of k bytes (k >= 1), replaced by one
 * U+FFFD; scanning resumes at the byte that broke it. No decoding to code
 * points, no allocation.
 */
#include <actors-internal/utf8.h>

#include <assert.h>
#include <stdint.h>

#define S_FFFD "\xef\xbf\xbd" /* U+FFFD REPLACEMENT CHARACTER */
#define S_FFFD_LEN 3

size_t
actors__utf8_scan(const void *s, size_t len, bool *is_valid)
{
    assert(s && len > 0);
    assert(is_valid);
    const uint8_t *p = s;
    uint8_t b = p[0];
    size_t need;       /* bytes in the whole sequence */
    uint8_t lo = 0x80; /* range of the second byte */
    uint8_t hi = 0xbf;
    if (b < 0x80) {
        *is_valid = true;
        return 1;
    }
    if (b >= 0xc2 && b <= 0xdf) {
        need = 2;
    } else if (b >= 0xe0 && b <= 0xef) {
        need = 3;
        lo = b == 0xe0 ? 0xa0 : 0x80; /* E0 80..9F would be overlong */
        hi = b == 0xed ? 0x9f : 0xbf; /* ED A0..BF would be surrogates */
    } else if (b >= 0xf0 && b <= 0xf4) {
        need = 4;
        lo = b == 0xf0 ? 0x90 : 0x80; /* F0 80..8F would be overlong */
        hi = b == 0xf4 ? 0x8f : 0xbf; /* F4 90.. would be > U+10FFFF */
    } else {
        *is_valid = false; /* 80..C1, F5..FF: never a lead */
        return 1;
    }
    size_t k = 1; /* good bytes so far */
    while (k < need && k < len) {
        uint8_t c = p[k];
        bool good = k == 1 ? c >= lo && c <= hi : c >= 0x80 && c <= 0xbf;
        if (!good) {
            break;
        }
        k++;
    }
    *is_valid = k == need;
    return k;
}

/* s_measure returns the fixed length of s[0..len) and sets *all_valid
 * when nothing needs replacing (a 3-byte subpart becomes 3 bytes of
 * U+FFFD, so equal lengths do not tell). */
static size_t
s_measure(const uint8_t *p, size_t len, bool *all_valid)
{
    size_t out = 0;
    size_t i = 0;
    *all_valid = true;
    while (i < len) {
        bool ok = false;
        size_t n = actors__utf8_scan(p + i, len - i, &ok);
        if (!ok) {
            *all_valid = false;
        }
        out += ok ? n : S_FFFD_LEN;
        i += n;
    }
    return out;
}

bool
actors__utf8_is_valid(const void *s, size_t len)
{
    const uint8_t *p = s;
    size_t i = 0;
    while (i < len) {
        bool ok = false;
        i += actors__utf8_scan(p + i, len - i, &ok);
        if (!ok) {
            return false;
        }
    }
    return true;
}

size_t
actors__utf8_fixed_len(const void *s, size_t len)
{
    bool all_valid = true;
    return s_measure(s, len, &all_valid);
}

actors_err
actors__utf8_pack_str(msgpack_packer *pk, const void *s, size_t len)
{
    assert(pk);
    assert(s || len == 0);
    /* The output is never shorter than the input: a cheap check first,
     * before a byte is read. */
    if (len > UINT32_MAX) {
        return ACTORS_ETOOBIG;
    }
    bool all_valid = true;
    size_t out = s_measure(s, len, &all_valid);
    if (out > UINT32_MAX) {
        return ACTORS_ETOOBIG;
    }
    if (msgpack_pack_str(pk, out) != 0) {
        return ACTORS_ENOMEM;
    }
    if (all_valid) {
        return len == 0 || msgpack_pack_str_body(pk, s, len) == 0
                   ? ACTORS_OK
                   : ACTORS_ENOMEM;
    }
    const uint8_t *p = s;
    size_t run = 0; /* valid bytes before i, not yet written */
    size_t i = 0;
    while (i < len) {
        bool ok = false;
        size_t n = actors__utf8_scan(p + i, len - i, &ok);
        if (ok) {
            run += n;
        } else {
            if ((run > 0 && msgpack_pack_str_body(pk, p + i - run, run) != 0) ||
                msgpack_pack_str_body(pk, S_FFFD, S_FFFD_LEN) != 0) {
                return ACTORS_ENOMEM;
            }
            run = 0;
        }
        i += n;
    }
    if (run > 0 && msgpack_pack_str_body(pk, p + len - run, run) != 0) {
        return ACTORS_ENOMEM;
    }
    return ACTORS_OK;
}
