/* broker/ext.h - the hooks through which the routing core calls an
 * extension.
 * SPDX-License-Identifier: MIT
 *
 * The core (core.h) routes: connections, the registry, mailboxes, slots,
 * credit and deadlines, and it alone changes them. It works with no
 * extension: actors that register themselves are routed, and one that
 * dies is buried. An extension (supervision, sup.h; later metrics or
 * events) adds commands through brk_core_set_cmd and is told of what
 * happens through this table; it asks the core for changes through the
 * core's API (brk_core_hold, brk_core_bury, brk_core_fail_inflight, ...).
 * The core never includes an extension's header. Every hook may be NULL.
 *
 * Hooks run on the broker loop's thread, inside the core's handling of
 * a message or a tick; they may call any core function.
 */
#ifndef BRK_EXT_H
#define BRK_EXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

typedef struct brk_broker brk_broker_t;
typedef struct brk_in brk_in_t;

#define BRK_EXT_SOCKS 2 /* sockets of its own an extension may have */

typedef struct {
    void *self; /* the extension's state, passed to every hook */

    /* entry_lost_cb: running entry ei's actor is gone: its connection
     * dropped (crashed true, reason "connection lost") or it sent
     * UNREGISTER (crashed false). Return true if the extension took the
     * address over (it called brk_core_hold); false lets the core bury
     * it: callers in flight get ActorCrashed (or ActorDead), waiting ones
     * ActorDead. */
    bool (*entry_lost_cb)(
        void *self, uint32_t ei, bool crashed, const char *reason);

    /* entry_registered_cb: entry ei has just been registered (it was new,
     * dead, held or re-registered by its connection); the REGISTER reply
     * is sent and its mailbox is pumped after the hook. */
    void (*entry_registered_cb)(void *self, uint32_t ei);

    /* register_check_cb: connection ci asks to REGISTER entry ei, which
     * exists and is not its own (held or a tombstone), showing claim ("":
     * none). Return true to let it; false refuses it: the core answers
     * Forbidden with the text the hook wrote into why (why_len bytes) and
     * logs BRK-FORBIDDEN, and nothing changes. */
    bool (*register_check_cb)(void *self, uint32_t ei, uint32_t ci,
        const char *claim, char *why, size_t why_len);

    /* member_check_cb: connection ci asks to join the group at address
     * (REGISTER with "group": true), showing claim ("": none); the group
     * may not exist yet. Return true to let it; false refuses it as
     * register_check_cb does (Forbidden, BRK-FORBIDDEN, nothing changes). */
    bool (*member_check_cb)(void *self, const char *address, uint32_t ci,
        const char *claim, char *why, size_t why_len);

    /* entry_buried_cb: entry ei is about to become a tombstone (reason);
     * its callers have been answered. */
    void (*entry_buried_cb)(void *self, uint32_t ei, const char *reason);

    /* entry_freed_cb: entry ei is gone from the registry (a tombstone
     * dropped, a reservation undone); its index may be reused. */
    void (*entry_freed_cb)(void *self, uint32_t ei);

    /* conn_gone_cb: connection ci dropped, after the core handled the
     * addresses it served, before its row is freed. */
    void (*conn_gone_cb)(void *self, uint32_t ci);

    /* tick_cb: runs every heartbeat_ms / 4 or so. */
    void (*tick_cb)(void *self);

    /* flush_cb: the core is sending what it held back (brk_core_flush:
     * at the end of a burst of received messages, before it waits,
     * before its timers and a death): the extension sends what it held
     * back on sockets of its own. It may not call the core. */
    void (*flush_cb)(void *self);

    /* socks: ZeroMQ sockets of the extension's own (made in the core's
     * context, brk_core_ctx) that the loop watches besides the ROUTER;
     * NULL: none (socks[0] NULL: no socket at all). sock_cb runs when any
     * may have input: at least every BRK_CHECK_MS (10 ms) while the broker
     * is busy, at once when it is idle. It reads each without waiting
     * (ZMQ_DONTWAIT) until EAGAIN. The extension closes them in
     * destroy_cb. */
    void *socks[BRK_EXT_SOCKS];
    void (*sock_cb)(void *self);

    /* slot_answer_cb: a REPLY or ERROR m whose request id is the tag of
     * slot si, which the extension put in state BRK_SLOT_EXT (a request
     * it relayed to a peer). The extension checks the sender. */
    void (*slot_answer_cb)(void *self, uint32_t si, const brk_in_t *m);

    /* slot_expired_cb: the deadline of BRK_SLOT_EXT or BRK_SLOT_HELD slot
     * si (one the extension made) passed. */
    void (*slot_expired_cb)(void *self, uint32_t si);

    /* entry_fields: how many key/value pairs pack_entry_cb adds to the
     * LOOKUP/LIST map of an entry; pack_entry_cb packs exactly those. */
    uint32_t entry_fields;
    void (*pack_entry_cb)(void *self, uint32_t ei, msgpack_packer *pk);

    /* state_name_cb: the LOOKUP state of entry ei when the extension
     * knows better ("starting", "restarting", "stopped"), else NULL. */
    const char *(*state_name_cb)(void *self, uint32_t ei);

    /* call_done_cb: a CALL to entry ei (BRK_NONE: no such address) with
     * address and method (as the caller sent them, not NUL-terminated)
     * was answered: code ACTORS_OK (the actor's REPLY), ACTORS_EAPP (the
     * actor's ERROR) or the broker's error, us microseconds after the
     * broker took it (0: refused at once). Called only while the core's
     * observe flag is set (an extension sets it when it attaches). */
    void (*call_done_cb)(void *self, uint32_t ei, const uint8_t *address,
        size_t address_len, const uint8_t *method, size_t method_len, int code,
        int64_t us);

    /* status_fields: how many key/value pairs pack_status_cb adds to the
     * broker's status map (the dashboard's /api/state, obs.h): say
     * "nodes" and "events"; pack_status_cb packs exactly those. */
    uint32_t status_fields;
    void (*pack_status_cb)(void *self, msgpack_packer *pk);

    /* destroy_cb: frees the extension's state (broker destroyed). */
    void (*destroy_cb)(void *self);
} brk_ext_t;

#endif
