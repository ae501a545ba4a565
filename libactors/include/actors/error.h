/* libactors/include/actors/error.h - the one error convention.
 * SPDX-License-Identifier: MIT
 *
 * Every libactors function that can fail returns actors_err. ACTORS_OK is
 * 0; every other code has a wire name, the "type" an error reply carries
 * (schemas/PROTOCOL.md, section "Error types"). The list is an X-macro so
 * that the C codes, the wire names and actorctl's "ErrorType: message"
 * always agree. Append only; never renumber.
 *
 * An error that travels back from an actor is a value, actors_error_t: its
 * code, its type (a wire name, or an application type such as
 * "ValueError" when code is ACTORS_EAPP), its message and the address of
 * the actor it concerns.
 *
 * Thread: every function here is safe from any thread.
 */
#ifndef ACTORS_ERROR_H
#define ACTORS_ERROR_H

#include <stddef.h>

#include <actors/export.h>

#ifdef __cplusplus
extern "C" {
#endif

/* code, wire name, text. */
#define ACTORS_ERRORS(XX)                                                      \
    XX(EINVAL, "InvalidArgument", "invalid argument")                          \
    XX(ENOMEM, "OutOfMemory", "out of memory")                                 \
    XX(ETIMEDOUT, "Timeout", "no reply before the deadline")                   \
    XX(ENOACTOR, "NoSuchActor", "no actor has this address")                   \
    XX(ENOMETHOD, "NoSuchMethod", "the actor has no such method")              \
    XX(EFULL, "MailboxFull", "the actor's mailbox is full")                    \
    XX(ECRASHED, "ActorCrashed", "the actor died while the call was in it")    \
    XX(EDEAD, "ActorDead", "the actor is dead and is not coming back")         \
    XX(EBADREQ, "BadRequest", "malformed request")                             \
    XX(EMSGPACK, "BadMsgpack", "the body is not valid msgpack")                \
    XX(EARGS, "WrongArguments", "wrong number or types of arguments")          \
    XX(ETOOBIG, "TooLarge", "the message exceeds the size limit")              \
    XX(ETAKEN, "NameTaken", "the address is already taken")                    \
    XX(EVERSION, "BadVersion", "unsupported protocol version")                 \
    XX(EAPP, "ActorError", "the method raised an error")                       \
    XX(ECLOSED, "Closed", "the object is closed or shutting down")             \
    XX(EAGAIN, "NotReady", "not ready yet")                                    \
    XX(EIO, "TransportError", "the transport failed")                          \
    XX(EINTERNAL, "InternalError", "internal error")                           \
    XX(ENONODE, "NoSuchNode", "no live node (supervisor) by that name")        \
    XX(ESPAWN, "SpawnFailed", "the node could not start the actor")            \
    XX(ENOSPACE, "DiskFull", "no space left on the storage device")            \
    XX(ELOCKED, "KeyLocked", "the persistence key is held by another process") \
    XX(EFORBIDDEN, "Forbidden", "the sender's role may not do this")           \
    XX(EDEADLK, "Deadlock", "waiting here would block the actor's own loop")

typedef enum {
    ACTORS_OK = 0,
#define XX(code, name, text) ACTORS_##code,
    ACTORS_ERRORS(XX)
#undef XX
        ACTORS_ERR_COUNT
} actors_err;

/* actors_err_name returns the wire name of rc ("Timeout"); "OK" for
 * ACTORS_OK and "Unknown" for a value outside the list. Static storage.
 * Thread: any. */
ACTORS_EXPORT const char *actors_err_name(actors_err rc);

/* actors_strerror returns a short human text for rc. Static storage.
 * Thread: any. */
ACTORS_EXPORT const char *actors_strerror(actors_err rc);

/* actors_err_from_name maps a wire name of len bytes to its code. A name
 * that is not in the list is an application error type: ACTORS_EAPP.
 * Thread: any. */
ACTORS_EXPORT actors_err actors_err_from_name(const char *name, size_t len);

/* An error that came back from a call (or was made locally for one). */
typedef struct actors_error actors_error_t;

/* actors_error_create makes an error value. type NULL means the wire name
 * of code; message NULL means actors_strerror(code); address may be NULL
 * (read back as ""). Strings are copied.
 * Returns ACTORS_OK with *out owned by the caller (actors_error_destroy),
 * or ACTORS_ENOMEM with *out NULL. Thread: any. */
ACTORS_EXPORT actors_err actors_error_create(actors_error_t **out,
    actors_err code, const char *type, const char *message,
    const char *address);

/* actors_error_destroy frees *self_p and sets it to NULL; NULL is fine.
 * Thread: owner. */
ACTORS_EXPORT void actors_error_destroy(actors_error_t **self_p);

/* Accessors. Strings are borrowed until the error is destroyed; never
 * NULL. Thread: any (the value is immutable). */
ACTORS_EXPORT actors_err actors_error_code(const actors_error_t *self);
ACTORS_EXPORT const char *actors_error_type(const actors_error_t *self);
ACTORS_EXPORT const char *actors_error_message(const actors_error_t *self);
ACTORS_EXPORT const char *actors_error_address(const actors_error_t *self);

#ifdef __cplusplus
}
#endif
#endif
