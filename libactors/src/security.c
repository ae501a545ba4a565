/* libactors/src/security.c - CURVE credentials of a process (security.h).
 * SPDX-License-Identifier: MIT
 *
 * Certificates are czmq's (zcert_load reads NAME_secret, else NAME, as
 * ZPL through zconfig); keys go on the socket with zmq_setsockopt.
 */
#include <actors/security.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <czmq.h>
#include <zmq.h>

#include <actors/log.h>

static char *s_key;        /* actors_security_set's key path, or NULL */
static char *s_broker_key; /* its broker key path, or NULL */

/* s_env returns the variable's value, NULL when unset or empty. */
static const char *
s_env(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0' ? v : NULL;
}

actors_err
actors_security_set(const char *key_path, const char *broker_key_path)
{
    char *k = key_path ? strdup(key_path) : NULL;
    char *b = broker_key_path ? strdup(broker_key_path) : NULL;
    if ((key_path && !k) || (broker_key_path && !b)) {
        free(k);
        free(b);
        return ACTORS_ENOMEM;
    }
    if (key_path) {
        free(s_key);
        s_key = k;
    }
    if (broker_key_path) {
        free(s_broker_key);
        s_broker_key = b;
    }
    return ACTORS_OK;
}

void
actors_security_paths(const char **key_path, const char **broker_key_path)
{
    /* Set wins over the environment; set to "" means none. */
    if (key_path) {
        *key_path = s_key ? (s_key[0] ? s_key : NULL) : s_env("ACTORS_KEY");
    }
    if (broker_key_path) {
        *broker_key_path = s_broker_key
                               ? (s_broker_key[0] ? s_broker_key : NULL)
                               : s_env("ACTORS_BROKER_KEY");
    }
}

bool
actors_security_enabled(void)
{
    const char *k;
    const char *b;
    actors_security_paths(&k, &b);
    return k != NULL || b != NULL;
}

/* s_load loads the certificate at path; logs and returns NULL if it is
 * not one (or, with need_secret, has no secret key). */
static zcert_t *
s_load(const char *path, bool need_secret, const char *what)
{
    zcert_t *cert = zcert_load(path);
    if (cert == NULL) {
        ACTORS_LOG(ACTORS_LOG_ERR, "SEC-KEY-BAD",
            "path=%s cannot read %s as a czmq certificate (make one with "
            "`actorctl keygen`)",
            path, what);
        return NULL;
    }
    if (need_secret) {
        static const uint8_t zero[32] = {0};
        if (memcmp(zcert_secret_key(cert), zero, 32) == 0) {
            ACTORS_LOG(ACTORS_LOG_ERR, "SEC-KEY-BAD",
                "path=%s %s has no secret key: give the NAME_secret file", path,
                what);
            zcert_destroy(&cert);
            return NULL;
        }
    }
    return cert;
}

actors_err
actors_security_apply_keys(
    void *zmq_socket, const char *key_path, const char *broker_key_path)
{
    if (key_path == NULL && broker_key_path == NULL) {
        return ACTORS_OK;
    }
    if (key_path == NULL || broker_key_path == NULL) {
        ACTORS_LOG(ACTORS_LOG_ERR, "SEC-KEY-BAD",
            "CURVE needs both a key (--key, ACTORS_KEY) and the broker's "
            "public key (--broker-key, ACTORS_BROKER_KEY); only the %s is set",
            key_path ? "key" : "broker key");
        return ACTORS_EINVAL;
    }
    zcert_t *mine = s_load(key_path, true, "the key");
    zcert_t *broker =
        mine ? s_load(broker_key_path, false, "the broker key") : NULL;
    actors_err rc = ACTORS_EINVAL;
    if (mine && broker) {
        rc = ACTORS_OK;
        if (zmq_setsockopt(zmq_socket, ZMQ_CURVE_SERVERKEY,
                zcert_public_key(broker), 32) != 0 ||
            zmq_setsockopt(zmq_socket, ZMQ_CURVE_PUBLICKEY,
                zcert_public_key(mine), 32) != 0 ||
            zmq_setsockopt(zmq_socket, ZMQ_CURVE_SECRETKEY,
                zcert_secret_key(mine), 32) != 0) {
            ACTORS_LOG(ACTORS_LOG_ERR, "SEC-KEY-BAD",
                "cannot set CURVE keys: %s (libzmq built without CURVE?)",
                zmq_strerror(errno));
            rc = ACTORS_EINVAL;
        }
    }
    zcert_destroy(&mine);
    zcert_destroy(&broker);
    return rc;
}

actors_err
actors_security_apply(void *zmq_socket)
{
    const char *k;
    const char *b;
    actors_security_paths(&k, &b);
    return actors_security_apply_keys(zmq_socket, k, b);
}

actors_err
actors_security_public_key(const char *path, char out[ACTORS_KEY_Z85_LEN + 1])
{
    zcert_t *cert = zcert_load(path);
    if (cert == NULL) {
        return ACTORS_EINVAL;
    }
    memcpy(out, zcert_public_txt(cert), ACTORS_KEY_Z85_LEN);
    out[ACTORS_KEY_Z85_LEN] = '\0';
    zcert_destroy(&cert);
    return ACTORS_OK;
}
