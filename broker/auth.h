/* broker/auth.h - authentication (CURVE and a ZAP handler) and the role
 * each command needs.
 * SPDX-License-Identifier: MIT
 *
 * Part of the routing core. With keys (brk_opts_t.keys_dir and .key,
 * actors-broker --keys DIR --key PATH) the ROUTER is a CURVE server and
 * a ZAP handler (RFC 27, libzmq's protocol on inproc://zeromq.zap.01,
 * served by a thread of this module) accepts a connection only when its
 * client public key is in the allowlist: the public certificates in DIR
 * (czmq's format, `actorctl keygen`), each with a role in its metadata
 * (`role = client | actor | node | admin`). The ZAP answer gives the
 * connection User-Id = the key (Z85) and the metadata property
 * Role = the role, which libzmq attaches to every frame the peer sends:
 * the core reads the role of each message from there (zmq_msg_gets),
 * never from anything the peer wrote. Plain clients have no connection
 * row, so the role is read per message.
 *
 * brk_auth_admit runs before a command's handler: a command outside the
 * sender's role is answered Forbidden, logged (BRK-FORBIDDEN) and not
 * handled. SIGHUP (brk_broker_reload) reloads DIR at the next tick: new
 * keys are accepted, removed ones refused; a connection made with a key
 * since removed, or whose role changed, has its next message answered
 * Forbidden and its connection closed (it reconnects with its new role,
 * or is refused). The core does not wait for that message where a peer
 * may stay silent (an actor, a subscriber): it closes the connections of
 * its rows made with such a key at the reload (brk_auth_revocations).
 *
 * Without keys there is no CURVE and no check: every peer may send
 * every command (the loopback, zero-setup mode; actors-broker refuses a
 * non-loopback bind without keys unless --insecure).
 *
 * Thread: the broker loop, except brk_auth_reload (any thread, async-
 * signal-safe); the ZAP thread is private to this module.
 */
#ifndef BRK_AUTH_H
#define BRK_AUTH_H

#include <stdbool.h>
#include <stdint.h>

#include <actors/error.h>

typedef struct brk_broker brk_broker_t;
typedef struct brk_in brk_in_t;
typedef struct brk_auth brk_auth_t;

/* Roles (bits; a key has exactly one). */
enum {
    BRK_AUTH_CLIENT = 1u << 0, /* CALL TELL LOOKUP LIST PING EVENTS */
    BRK_AUTH_ACTOR = 1u << 1,  /* + REGISTER UNREGISTER HEARTBEAT CREDIT
                                  REPLY ERROR */
    BRK_AUTH_NODE = 1u << 2,   /* + NODE STATE EVENT HEARTBEAT REPLY ERROR */
    BRK_AUTH_ADMIN = 1u << 3,  /* + SPAWN KILL */
    BRK_AUTH_ANY = 0x0f,
};

/* brk_auth_create sets up authentication for a broker with context ctx:
 * keys_dir is the allowlist directory, key_path the broker's own secret
 * certificate. Both NULL: no authentication, *out NULL, ACTORS_OK. One
 * without the other, a key that cannot be read or has no secret key, a
 * directory that cannot be read, or no ZAP handler to be had: logged
 * (BRK-AUTH) and ACTORS_EINVAL / ACTORS_EIO. On success *out is owned
 * by the caller (brk_auth_destroy) and the ZAP handler runs. Thread:
 * the broker's. */
actors_err brk_auth_create(
    brk_auth_t **out, void *ctx, const char *keys_dir, const char *key_path);

/* brk_auth_server makes router (not yet bound) a CURVE server with the
 * broker's key. self NULL: nothing. Returns ACTORS_OK or ACTORS_EIO. */
actors_err brk_auth_server(brk_auth_t *self, void *router);

/* brk_auth_admit checks that m's sender may send m's command. true: go
 * on. false: m was answered Forbidden and logged; the caller must not
 * handle it. self NULL: always true. */
bool brk_auth_admit(brk_auth_t *self, brk_broker_t *core, const brk_in_t *m);

/* brk_auth_allow sets the roles (BRK_AUTH_* bits) that may send cmd:
 * for a command an extension adds. A command with no roles is Forbidden
 * to everyone when keys are on. */
void brk_auth_allow(uint8_t cmd, unsigned roles);

/* brk_auth_reload asks for the allowlist to be read again at the next
 * tick. self NULL: nothing. Thread: any; async-signal-safe. */
void brk_auth_reload(brk_auth_t *self);

/* brk_auth_tick reloads the allowlist if asked, and closes the
 * connections refused after a revocation once their answer has left
 * (now: the broker's clock, ms). Thread: the broker's. */
void brk_auth_tick(brk_auth_t *self, int64_t now);

/* brk_auth_revocations counts the reloads that removed a key or changed
 * one (its role or its address patterns); 0 when self is NULL. A change
 * of it is the core's cue to close the connections made with those keys
 * (brk_auth_revoked) and the event stream's to close all of its own. */
uint32_t brk_auth_revocations(const brk_auth_t *self);

/* brk_auth_revoked: key (Z85) is one the last such reload removed or
 * changed. self NULL: false. */
bool brk_auth_revoked(const brk_auth_t *self, const char *key);

/* brk_auth_keys returns how many keys the allowlist holds. */
uint32_t brk_auth_keys(const brk_auth_t *self);

/* brk_auth_destroy stops the ZAP handler and frees *self_p (NULL fine).
 * Call before the context is terminated. */
void brk_auth_destroy(brk_auth_t **self_p);

/* brk_auth_may_hold tells whether a key whose certificate lists patterns
 * (its "addresses" metadata, which the broker attaches to the key's
 * messages as the property "Addresses"; NULL or "": no limit) may
 * REGISTER address: an fnmatch(3) pattern of the list (separated by
 * spaces or commas, flags 0: "*" matches "/" too) matches it.
 * Thread: any. */
bool brk_auth_may_hold(const char *patterns, const char *address);

/* brk_auth_role_parse returns the bit of role name s, or 0. */
unsigned brk_auth_role_parse(const char *s);

/* brk_auth_role_name returns the name of one role bit ("client"...). */
const char *brk_auth_role_name(unsigned role);

/* brk_auth_endpoint_local is true when endpoint cannot be reached from
 * another host: tcp on a loopback address (127.0.0.0/8, ::1,
 * localhost), ipc://, inproc://. */
bool brk_auth_endpoint_local(const char *endpoint);

#endif
