/* libactors/include/actors/security.h - CURVE credentials of a process.
 * SPDX-License-Identifier: MIT
 *
 * A deployment runs ZeroMQ's CURVE mechanism on every connection to the
 * broker (PROTOCOL.md, Security). A peer needs two files, both written
 * by `actorctl keygen` in czmq's certificate format (zcert_save):
 *
 *   its own secret certificate   NAME_secret   (--key, $ACTORS_KEY)
 *   the broker's public one      BROKER        (--broker-key,
 *                                               $ACTORS_BROKER_KEY)
 *
 * Every connection libactors makes (actors_client_create, hence every
 * actor, the supervisor, actorctl, the benchmark) goes through
 * actors_security_apply, so this header is the one place where keys are
 * loaded and a socket is made a CURVE client. With neither set, nothing
 * changes: the NULL mechanism, as a broker without keys expects.
 *
 * Thread: actors_security_set before threads start (at the top of main);
 * the other functions from any thread.
 */
#ifndef ACTORS_SECURITY_H
#define ACTORS_SECURITY_H

#include <stdbool.h>
#include <stddef.h>

#include <actors/error.h>
#include <actors/export.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Length of a Z85 CURVE key and its string. */
#define ACTORS_KEY_Z85_LEN 40

/* actors_security_set sets the credentials of the process: key_path is
 * its own secret certificate, broker_key_path the broker's public one
 * (each copied; NULL leaves that one as it was, by default the
 * environment's $ACTORS_KEY and $ACTORS_BROKER_KEY; "" means none,
 * whatever the environment says). For --key and --broker-key options.
 * Clients made afterwards use them; existing ones keep theirs.
 * Returns ACTORS_OK or ACTORS_ENOMEM. Thread: before other threads use
 * libactors (not synchronised with actors_security_apply). */
ACTORS_EXPORT actors_err actors_security_set(
    const char *key_path, const char *broker_key_path);

/* actors_security_paths returns the paths in force (set, else the
 * environment; NULL when neither; an empty variable is unset). Borrowed
 * until the next actors_security_set. Thread: any. */
ACTORS_EXPORT void actors_security_paths(
    const char **key_path, const char **broker_key_path);

/* actors_security_enabled is true when the process has credentials (a
 * key or a broker key in force). Thread: any. */
ACTORS_EXPORT bool actors_security_enabled(void);

/* actors_security_apply makes zmq_socket (not yet connected) a CURVE
 * client with the process's credentials: its public and secret key from
 * the key certificate, the server key from the broker's. Without
 * credentials it does nothing and returns ACTORS_OK. With only one of
 * the two, or a file that cannot be read as a certificate (or a key
 * file with no secret key), it returns ACTORS_EINVAL and logs
 * SEC-KEY-BAD with the reason (the socket is unchanged). Thread: any;
 * the socket's owner. */
ACTORS_EXPORT actors_err actors_security_apply(void *zmq_socket);

/* actors_security_apply_keys is actors_security_apply with the two
 * paths given (both NULL: nothing to do). */
ACTORS_EXPORT actors_err actors_security_apply_keys(
    void *zmq_socket, const char *key_path, const char *broker_key_path);

/* actors_security_public_key writes the Z85 public key of the
 * certificate at path (public or secret file) into out (41 bytes with
 * the NUL). Returns ACTORS_OK or ACTORS_EINVAL (not a certificate).
 * Thread: any. */
ACTORS_EXPORT actors_err actors_security_public_key(
    const char *path, char out[ACTORS_KEY_Z85_LEN + 1]);

#ifdef __cplusplus
}
#endif

#endif
