/* libactors/src/wire.c - the ACT2 envelope: header frames and error bodies.
 * SPDX-License-Identifier: MIT */
#include <actors-internal/wire.h>
#include "msg_internal.h"
#include <actors-internal/unpack.h>

#include <assert.h>
#include <stdio.h>
#include <string.h>

uint32_t
actors__be32(const void *p)
{
    const uint8_t *b = p;
    return ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) |
           ((uint32_t)b[2] << 8) | (uint32_t)b[3];
}

void
actors__put_be32(void *p, uint32_t v)
{
    uint8_t *b = p;
    b[0] = (uint8_t)(v >> 24);
    b[1] = (uint8_t)(v >> 16);
    b[2] = (uint8_t)(v >> 8);
    b[3] = (uint8_t)v;
}

actors_err
actors__hdr_parse(const void *data, size_t len, actors__hdr_t *out)
{
    assert(out);
    const uint8_t *b = data;
    if (data == NULL || len < ACTORS_WIRE_SIG_LEN) {
        return ACTORS_EBADREQ;
    }
    if (memcmp(b, ACTORS_WIRE_SIG, ACTORS_WIRE_SIG_LEN) != 0) {
        return memcmp(b, "ACT", 3) == 0 ? ACTORS_EVERSION : ACTORS_EBADREQ;
    }
    if (len < ACTORS_WIRE_HDR_MIN || len > ACTORS_WIRE_HDR_MAX ||
        len < ACTORS_WIRE_HDR_MIN + (size_t)b[10]) {
        return ACTORS_EBADREQ;
    }
    out->cmd = b[4];
    out->flags = b[5];
    out->timeout_ms = actors__be32(b + 6);
    out->id = b + ACTORS_WIRE_HDR_MIN;
    out->id_len = b[10];
    out->names = out->id + out->id_len;
    out->names_len = len - ACTORS_WIRE_HDR_MIN - out->id_len;
    out->address = NULL;
    out->address_len = 0;
    out->method = NULL;
    out->method_len = 0;
    if (out->cmd == ACTORS_CMD_CALL || out->cmd == ACTORS_CMD_TELL ||
        out->cmd == ACTORS_CMD_PUBLICATION) {
        /* [alen][address][mlen][method], exactly. */
        const uint8_t *n = out->names;
        size_t left = out->names_len;
        size_t alen = left > 0 ? n[0] : 0;
        if (alen > 0 && left >= 2 + alen) {
            size_t mlen = n[1 + alen];
            if (mlen > 0 && left == 2 + alen + mlen) {
                out->address = n + 1;
                out->address_len = alen;
                out->method = n + 2 + alen;
                out->method_len = mlen;
            }
        }
    }
    return ACTORS_OK;
}

size_t
actors__hdr_names_write(void *buf, const void *address, size_t address_len,
    const void *method, size_t method_len)
{
    assert(buf && address && method);
    assert(address_len > 0 && address_len <= ACTORS_WIRE_NAME_MAX);
    assert(method_len > 0 && method_len <= ACTORS_WIRE_NAME_MAX);
    uint8_t *b = buf;
    b[0] = (uint8_t)address_len;
    memcpy(b + 1, address, address_len);
    b[1 + address_len] = (uint8_t)method_len;
    memcpy(b + 2 + address_len, method, method_len);
    return 2 + address_len + method_len;
}

size_t
actors__hdr_topic_write(void *buf, const void *topic, size_t topic_len)
{
    assert(buf && topic);
    assert(topic_len > 0 && topic_len <= ACTORS_WIRE_NAME_MAX);
    uint8_t *b = buf;
    b[0] = (uint8_t)topic_len;
    memcpy(b + 1, topic, topic_len);
    return 1 + topic_len;
}

bool
actors__hdr_topic(const actors__hdr_t *h, const char **topic, size_t *len)
{
    assert(h && topic && len);
    if (h->names_len < 2 || h->names_len != 1u + h->names[0]) {
        return false;
    }
    *topic = (const char *)h->names + 1;
    *len = h->names[0];
    return true;
}

size_t
actors__hdr_write(
    void *buf, uint8_t cmd, uint32_t timeout_ms, const void *id, size_t id_len)
{
    assert(buf);
    assert(id_len <= ACTORS_WIRE_ID_MAX);
    uint8_t *b = buf;
    memcpy(b, ACTORS_WIRE_SIG, ACTORS_WIRE_SIG_LEN);
    b[4] = cmd;
    b[5] = 0;
    actors__put_be32(b + 6, timeout_ms);
    b[10] = (uint8_t)id_len;
    if (id_len > 0) {
        memcpy(b + ACTORS_WIRE_HDR_MIN, id, id_len);
    }
    return ACTORS_WIRE_HDR_MIN + id_len;
}

void
actors__hdr_set_cmd(void *hdr, uint8_t cmd)
{
    assert(hdr);
    ((uint8_t *)hdr)[4] = cmd;
}

/* s_add_text adds a NUL-terminated text as a valid UTF-8 str. */
static actors_err
s_add_text(actors_msg_t *m, const char *s)
{
    return actors__msg_add_utf8(m, s, strlen(s));
}

actors_err
actors__error_body(actors_msg_t *m, actors_err code, const char *type,
    const char *message, const char *address)
{
    assert(m);
    /* The three texts may quote raw bytes (an address, a method name)
     * that are not UTF-8: each is made valid, or strict decoders would
     * fail on the whole body. */
    actors_err rc = actors_msg_add_map(m, 3);
    if (rc == ACTORS_OK) {
        rc = actors_msg_add_str(m, "type");
    }
    if (rc == ACTORS_OK) {
        rc = s_add_text(m, type ? type : actors_err_name(code));
    }
    if (rc == ACTORS_OK) {
        rc = actors_msg_add_str(m, "message");
    }
    if (rc == ACTORS_OK) {
        rc = s_add_text(m, message ? message : actors_strerror(code));
    }
    if (rc == ACTORS_OK) {
        rc = actors_msg_add_str(m, "address");
    }
    if (rc == ACTORS_OK) {
        rc = s_add_text(m, address ? address : "");
    }
    return rc;
}

/* s_strndup_obj copies a string value into a NUL-terminated buffer of at
 * most cap bytes (truncating); "" when obj is not a string. */
static void
s_copy_str(const msgpack_object *obj, char *buf, size_t cap)
{
    const char *p = NULL;
    size_t n = 0;
    buf[0] = '\0';
    if (actors_value_str(obj, &p, &n) != ACTORS_OK) {
        return;
    }
    if (n >= cap) {
        n = cap - 1;
    }
    memcpy(buf, p, n);
    buf[n] = '\0';
}

actors_err
actors__error_parse(const void *data, size_t len, actors_error_t **out)
{
    assert(out);
    char type[256];
    char message[1024];
    char address[256];
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    msgpack_unpack_return ur = actors__unpack_next(&up, data, len, &off);
    if (ur != MSGPACK_UNPACK_SUCCESS || up.data.type != MSGPACK_OBJECT_MAP) {
        msgpack_unpacked_destroy(&up);
        return actors_error_create(out, ACTORS_EMSGPACK, NULL,
            "error reply body is not a msgpack map", NULL);
    }
    s_copy_str(actors_map_get(&up.data, "type"), type, sizeof type);
    s_copy_str(actors_map_get(&up.data, "message"), message, sizeof message);
    s_copy_str(actors_map_get(&up.data, "address"), address, sizeof address);
    msgpack_unpacked_destroy(&up);
    if (type[0] == '\0') {
        snprintf(type, sizeof type, "%s", actors_err_name(ACTORS_EAPP));
    }
    actors_err code = actors_err_from_name(type, strlen(type));
    return actors_error_create(out, code, type, message, address);
}
