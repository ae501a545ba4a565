/* libactors/src/journal.c - record framing, CRC32C and the torn-tail scan.
 * SPDX-License-Identifier: MIT
 *
 * Used by persist.c for both the journal and the snapshot. The CRC is the
 * bitwise form of CRC32C (reflected polynomial 0x82F63B78): no table, so
 * no static state; records are small and the fsync dominates anyway.
 * Every payload is decoded with actors__unpack_next, because a journal is
 * input from outside (another process, a disk, a Redis server).
 */
#include "journal.h"

#include <assert.h>
#include <string.h>

#include <actors-internal/unpack.h>

uint32_t
actors__crc32c(uint32_t crc, const void *data, size_t len)
{
    const unsigned char *p = data;
    crc = ~crc;
    for (size_t i = 0; i < len; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++) {
            crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
        }
    }
    return ~crc;
}

static void
s_put32(unsigned char *b, uint32_t v)
{
    b[0] = (unsigned char)v;
    b[1] = (unsigned char)(v >> 8);
    b[2] = (unsigned char)(v >> 16);
    b[3] = (unsigned char)(v >> 24);
}

static uint32_t
s_get32(const unsigned char *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
           (uint32_t)b[3] << 24;
}

actors_err
actors__journal_frame(msgpack_sbuffer *sb, const void *payload, size_t len)
{
    assert(sb);
    if (len > ACTORS__JOURNAL_MAX_RECORD) {
        return ACTORS_ETOOBIG;
    }
    unsigned char hdr[ACTORS__JOURNAL_HDR];
    s_put32(hdr, (uint32_t)len);
    s_put32(hdr + 4, actors__crc32c(0, payload, len));
    if (msgpack_sbuffer_write(sb, (const char *)hdr, sizeof hdr) != 0 ||
        msgpack_sbuffer_write(sb, payload, len) != 0) {
        return ACTORS_ENOMEM;
    }
    return ACTORS_OK;
}

actors_err
actors__journal_event(msgpack_packer *pk, uint64_t seq, const void *id,
    size_t id_len, const void *event, size_t event_len, const void *result,
    size_t result_len)
{
    assert(pk);
    assert(event);
    int r = msgpack_pack_array(pk, 4);
    r = r != 0 ? r : msgpack_pack_uint64(pk, seq);
    if (r == 0) {
        r = id != NULL ? msgpack_pack_bin_with_body(pk, id, id_len)
                       : msgpack_pack_nil(pk);
    }
    /* The raw values go straight into the packer's buffer. */
    r = r != 0 ? r : pk->callback(pk->data, event, event_len);
    if (r == 0) {
        r = result != NULL ? pk->callback(pk->data, result, result_len)
                           : msgpack_pack_nil(pk);
    }
    return r == 0 ? ACTORS_OK : ACTORS_ENOMEM;
}

static bool
s_is_uint(const msgpack_object *o)
{
    return o->type == MSGPACK_OBJECT_POSITIVE_INTEGER;
}

actors_err
actors__journal_next(msgpack_unpacked *up, const char *data, size_t len,
    size_t *off, actors__journal_rec_t *rec)
{
    assert(up);
    assert(off);
    assert(rec);
    size_t at = *off;
    if (at >= len) {
        return ACTORS_ECLOSED;
    }
    if (len - at < ACTORS__JOURNAL_HDR) {
        return ACTORS_EMSGPACK;
    }
    const unsigned char *h = (const unsigned char *)data + at;
    uint32_t plen = s_get32(h);
    uint32_t crc = s_get32(h + 4);
    if (plen > ACTORS__JOURNAL_MAX_RECORD ||
        plen > len - at - ACTORS__JOURNAL_HDR) {
        return ACTORS_EMSGPACK;
    }
    const char *payload = data + at + ACTORS__JOURNAL_HDR;
    if (actors__crc32c(0, payload, plen) != crc) {
        return ACTORS_EMSGPACK;
    }
    size_t poff = 0;
    if (actors__unpack_next(up, payload, plen, &poff) !=
            MSGPACK_UNPACK_SUCCESS ||
        poff != plen) {
        return ACTORS_EMSGPACK;
    }
    const msgpack_object *o = &up->data;
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 4) {
        return ACTORS_EMSGPACK;
    }
    const msgpack_object *a = o->via.array.ptr;
    memset(rec, 0, sizeof *rec);
    if (a[0].type == MSGPACK_OBJECT_STR) {
        if (a[0].via.str.size != 4 ||
            memcmp(a[0].via.str.ptr, "snap", 4) != 0 || !s_is_uint(&a[1]) ||
            a[3].type != MSGPACK_OBJECT_ARRAY) {
            return ACTORS_EMSGPACK;
        }
        rec->is_snapshot = true;
        rec->seq = a[1].via.u64;
        rec->value = &a[2];
        rec->window = &a[3];
    } else {
        if (!s_is_uint(&a[0]) || (a[1].type != MSGPACK_OBJECT_BIN &&
                                     a[1].type != MSGPACK_OBJECT_NIL)) {
            return ACTORS_EMSGPACK;
        }
        rec->seq = a[0].via.u64;
        rec->id = a[1].type == MSGPACK_OBJECT_BIN ? &a[1] : NULL;
        rec->value = &a[2];
        rec->result = &a[3];
    }
    *off = at + ACTORS__JOURNAL_HDR + plen;
    return ACTORS_OK;
}
