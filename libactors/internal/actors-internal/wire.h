/* libactors/internal/actors-internal/wire.h -
 * the envelope of protocol ACT2 (schemas/PROTOCOL.md).
 * SPDX-License-Identifier: MIT
 *
 * Private to libactors and the broker (which includes it); never installed.
 *
 * Every message, after the ROUTER's routing-id frame and an optional empty
 * delimiter frame (REQ sockets add one; DEALER peers may omit it; the
 * broker answers in the form it was asked), starts with a HEADER frame:
 *
 *   offset 0  4 bytes  "ACT2"        signature and protocol version
 *   offset 4  1 byte   command       ACTORS_CMD_*
 *   offset 5  1 byte   flags         bits; receivers ignore unknown ones:
 *                                    0x01 broadcast (TELL to a group),
 *                                    0x02 routed (CALL/TELL: the last
 *                                    frame is a group routing key),
 *                                    0x04 stream (SUBSCRIBE: deliver on
 *                                    the broker's event stream)
 *   offset 6  4 bytes  timeout_ms    uint32 big-endian; CALL only, 0 = none
 *   offset 10 1 byte   id length     0..255
 *   offset 11 0..255   request id    opaque bytes, echoed in the reply
 *   then, in CALL and TELL only, the names of the call:
 *             1 byte   address length (1..255), the address,
 *             1 byte   method length (1..255), the method.
 *   Bytes after the id in other commands are ignored (a REPLY or ERROR
 *   from the broker is the request's header with the command rewritten,
 *   names included).
 *
 * Frames that follow the header, per command:
 *
 *   CALL       C->B  header args [key]    (args: msgpack array; key: the
 *              B->A  header args [key]     call's key, 1..255 bytes;
 *                                          id B->A = broker tag)
 *   TELL       same frames as CALL; with a request id (or a delimiter)
 *              the broker answers REPLY nil once it has it, or ERROR;
 *              with neither, nothing
 *   REPLY      B->C / A->B  header body              (body: one msgpack value)
 *   ERROR      B->C / A->B  header body              (body: msgpack map
 *                                       {"type","message","address"})
 *   REGISTER   A->B  header address info             (info: msgpack map)
 *              answered by REPLY {heartbeat_ms, liveness, max_message} or
 *              ERROR NameTaken / BadRequest
 *   UNREGISTER A->B  header address                  (no reply)
 *   HEARTBEAT  A/S->B header                         (echoed; liveness is
 *                                       ZMTP's PING/PONG)
 *   CREDIT     A->B  header count [taken]            (uint32 BE each: tells
 *                                       done, last message taken up)
 *   LOOKUP     C->B  header address                  -> REPLY map / ERROR
 *   LIST       C->B  header                          -> REPLY array of maps
 *   PING       C->B  header                          -> REPLY map
 *   PUBLISH    C->B  header body                     -> REPLY uint (with
 *                                       an id or delimiter), ERROR always;
 *                                       the topic after the header's id
 *                                       (or in a frame before the body)
 *   SUBSCRIBE, UNSUBSCRIBE  C->B  header pattern [address] -> REPLY/ERROR
 *   PUBLICATION B->C/A header body   (names as a TELL's: pattern, topic;
 *                                       an actor CREDITs it as a tell)
 */
#ifndef ACTORS_WIRE_H
#define ACTORS_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <actors/error.h>
#include <actors/msg.h>

#define ACTORS_WIRE_SIG "ACT2"
#define ACTORS_WIRE_SIG_LEN 4
#define ACTORS_WIRE_HDR_MIN 11   /* header without request id */
#define ACTORS_WIRE_ID_MAX 255   /* request id bytes */
#define ACTORS_WIRE_NAME_MAX 255 /* address and method bytes */
#define ACTORS_WIRE_NAMES_MAX (2 * (1 + ACTORS_WIRE_NAME_MAX))
#define ACTORS_WIRE_HDR_MAX                                                    \
    (ACTORS_WIRE_HDR_MIN + ACTORS_WIRE_ID_MAX + ACTORS_WIRE_NAMES_MAX)
#define ACTORS__FLAG_BROADCAST 0x01 /* TELL: every member of a group */
#define ACTORS__FLAG_ROUTED 0x02    /* last frame: a group routing key */
#define ACTORS__FLAG_STREAM 0x04    /* SUBSCRIBE: on the event stream */
#define ACTORS_WIRE_TAG_LEN                                                    \
    8 /* longest broker tag in a CALL to actors                                \
         (4 or 8 bytes; actors copy any) */
#define ACTORS_WIRE_MAX_MESSAGE_DEFAULT (16u * 1024u * 1024u)

typedef enum {
    ACTORS_CMD_CALL = 0x01,
    ACTORS_CMD_TELL = 0x02,
    ACTORS_CMD_REPLY = 0x03,
    ACTORS_CMD_ERROR = 0x04,
    ACTORS_CMD_REGISTER = 0x05,
    ACTORS_CMD_UNREGISTER = 0x06,
    ACTORS_CMD_HEARTBEAT = 0x07,
    ACTORS_CMD_CREDIT = 0x08,
    ACTORS_CMD_LOOKUP = 0x09,
    ACTORS_CMD_LIST = 0x0A,
    ACTORS_CMD_PING = 0x0B,
    /* Supervisor protocol (schemas/PROTOCOL.md, "Nodes"). */
    ACTORS_CMD_NODE = 0x0C,   /* S->B  header info           -> REPLY/ERROR */
    ACTORS_CMD_STATE = 0x0D,  /* S->B  header address map    (no reply) */
    ACTORS_CMD_SPAWN = 0x0E,  /* C->B, B->S  header spec / address spec */
    ACTORS_CMD_KILL = 0x0F,   /* C->B, B->S  header address map */
    ACTORS_CMD_EVENTS = 0x10, /* C->B  header map             -> REPLY array */
    ACTORS_CMD_EVENT = 0x11,  /* S->B  header map             (no reply) */
    /* Publish/subscribe (schemas/PROTOCOL.md, "Publish/subscribe"). */
    ACTORS_CMD_PUBLISH = 0x12,     /* C->B header(topic) body -> [REPLY n] */
    ACTORS_CMD_SUBSCRIBE = 0x13,   /* C->B header pattern [address] */
    ACTORS_CMD_UNSUBSCRIBE = 0x14, /* C->B header pattern [address] */
    ACTORS_CMD_PUBLICATION = 0x15, /* B->C/A header(+names) body */
    ACTORS_CMD_DRAIN = 0x16,       /* S->B  header [map]           -> REPLY */
} actors__cmd_t;

/* A parsed header. Pointers are borrowed from the frame it was parsed
 * from. */
typedef struct {
    uint8_t cmd;            /* ACTORS_CMD_* (not checked against the list) */
    uint8_t flags;          /* as sent */
    uint32_t timeout_ms;    /* 0: none */
    const uint8_t *id;      /* request id */
    size_t id_len;          /* 0..ACTORS_WIRE_ID_MAX */
    const uint8_t *names;   /* the bytes after the id (CALL/TELL: names) */
    size_t names_len;       /* their length */
    const uint8_t *address; /* CALL/TELL with well-formed names, else NULL */
    size_t address_len;     /* 1..255 */
    const uint8_t *method;  /* CALL/TELL with well-formed names, else NULL */
    size_t method_len;      /* 1..255 */
} actors__hdr_t;

/* actors__hdr_parse reads a header frame of len bytes. For CALL and TELL
 * it also reads the names: address and method stay NULL when they are
 * missing or malformed (the caller answers BadRequest with the id).
 * Returns ACTORS_OK, ACTORS_EVERSION when the first three bytes are "ACT"
 * but the version differs, ACTORS_EBADREQ for anything else malformed. */
actors_err actors__hdr_parse(const void *data, size_t len, actors__hdr_t *out);

/* actors__hdr_topic_write writes a PUBLISH header's topic (1 byte length,
 * the topic; topic_len 1..255) into buf, after the request id, and
 * returns the number of bytes written (1 + topic_len). */
size_t actors__hdr_topic_write(void *buf, const void *topic, size_t topic_len);

/* actors__hdr_topic finds the topic a PUBLISH header h carries after its
 * request id (PROTOCOL.md, PUBLISH): true with *topic (not terminated,
 * pointing into the frame) and *len, false if the header has no bytes
 * after its id or they are not exactly a length and that many bytes. */
bool actors__hdr_topic(const actors__hdr_t *h, const char **topic, size_t *len);

/* actors__hdr_write writes a header without names into buf, which must
 * hold ACTORS_WIRE_HDR_MIN + id_len bytes (id_len <= ACTORS_WIRE_ID_MAX),
 * and returns the number of bytes written. */
size_t actors__hdr_write(
    void *buf, uint8_t cmd, uint32_t timeout_ms, const void *id, size_t id_len);

/* actors__hdr_names_write appends the names of a CALL or TELL (address,
 * method: 1..ACTORS_WIRE_NAME_MAX bytes each) at buf, which must hold
 * 2 + address_len + method_len bytes, and returns that length. */
size_t actors__hdr_names_write(void *buf, const void *address,
    size_t address_len, const void *method, size_t method_len);

/* actors__hdr_set_cmd rewrites the command byte of a header in place. */
void actors__hdr_set_cmd(void *hdr, uint8_t cmd);

/* actors__error_body encodes the ERROR body {type, message, address} into
 * m (appending one map value). type NULL: wire name of code; message
 * NULL: actors_strerror(code); address NULL: "". The three may hold any
 * bytes: each is packed as valid UTF-8, ill-formed sequences replaced by
 * U+FFFD (utf8.h), so strict decoders can read every error body.
 * Returns ACTORS_OK or ACTORS_ENOMEM. */
actors_err actors__error_body(actors_msg_t *m, actors_err code,
    const char *type, const char *message, const char *address);

/* actors__error_parse decodes an ERROR body into a new error value. A body
 * that is not such a map becomes a BadMsgpack error with a note.
 * Returns ACTORS_OK with *out owned by the caller, or ACTORS_ENOMEM. */
actors_err actors__error_parse(
    const void *data, size_t len, actors_error_t **out);

/* actors__be32 / actors__put_be32: big-endian helpers. */
uint32_t actors__be32(const void *p);
void actors__put_be32(void *p, uint32_t v);

#endif
