/* libactors/src/persist_redis.c - the Redis backend of persist.h (hiredis).
 * SPDX-License-Identifier: MIT
 *
 * Per key two Redis keys: actors:KEY:snap (a string, the framed snapshot)
 * and actors:KEY:journal (a list; each RPUSHed element holds one or more
 * framed records, read back concatenated by LRANGE). A SET replaces the
 * snapshot atomically. Durability is the server's: an append counts as
 * done when Redis has replied, and is as durable as its appendonly /
 * appendfsync configuration makes it (appendfsync always for the ALWAYS
 * policy; docs/PERSISTENCE.md). Under ALWAYS and NONE each append is its
 * own RPUSH and jrn_sync a no-op. Under GROUP (group commit) appends are
 * gathered in memory and jrn_sync sends them as one list element, one
 * RPUSH: one round trip per batch, atomic (all of the batch or none of
 * it), and nothing of it counts as appended to persist.c's caller until
 * that reply (the replies wait for the flush). Cutting the
 * journal to a prefix (a torn tail found on recovery, which a Redis list
 * element cannot actually produce unless the data is damaged) rewrites it
 * in one script (DEL, RPUSH). The endpoint is tcp://HOST:PORT or
 * unix:///PATH.
 *
 * Reconnecting. A broken connection (EOF, reset, a reply later than the
 * 2 s timeout, a protocol error) is dropped at once; the next exchange
 * connects again, with the same 2 s timeout. Every operation makes at
 * most two attempts: if the first loses the connection, it reconnects and
 * sends again once; a connect that fails, or an error reply from the
 * server (the command was refused, not lost), ends it with ACTORS_EIO,
 * except the two refusals that mean the server has no room to store the
 * write: -OOM (maxmemory reached under noeviction) and -MISCONF (it cannot
 * persist: a failed RDB save with stop-writes-on-bgsave-error, or a failed
 * AOF write), which are ACTORS_ENOSPACE. A refused command did not run.
 * Resending is safe because every operation is a read or idempotent (GET,
 * LRANGE, SET, DEL, the script that rewrites the journal) except RPUSH,
 * which is made so: an append whose reply was lost is "in doubt" (it may
 * or may not be in the list). Before anything else is sent on the next
 * attempt or operation, the doubt is settled with LREM KEY -1 RECORD,
 * which removes that record if it landed and is itself idempotent; then
 * the append is sent again. So an append that returns ACTORS_OK is in the
 * list exactly once, and one that returns ACTORS_EIO is in it at most
 * until the handle's next operation (or close) settles it. A record's
 * bytes hold its seq and checksum, so LREM cannot remove another record.
 * Recovery also skips any record whose seq is not above the last one
 * (persist.c), so a duplicate could never be replayed twice anyway.
 * Single writer per key: a lease. The handle that opens a key takes
 * actors:KEY:lock (SET with a random token of its own, PX
 * ACTORS_PERSIST_LEASE_MS, only if absent) and records itself as
 * the key's last owner in actors:KEY:owner; a handle that finds another
 * token there gets ACTORS_ELOCKED (KeyLocked), as with the file backend's
 * flock. The holder renews the lease (PEXPIRE, only while the token is
 * still its own) before any operation once ACTORS__PERSIST_LEASE_RENEW_MS
 * have passed since the last confirmed renewal, and from the owning
 * actor's timer through actors_persist_keep (persist.h). A
 * holder that dies (SIGKILL) or stops (SIGSTOP) is not renewing: its
 * lease expires after the TTL and another process may take the key. A
 * renewal that finds another token means exactly that: the lease is lost
 * for good and every later operation of the handle is ACTORS_ELOCKED
 * (logged once as PST-LEASE-LOST), so that a resumed holder does not
 * write alongside the new one. A renewal that finds the lock gone (an
 * idle handle, or Redis restarted) takes it back only if the owner key
 * still holds its token: nobody else has opened the key meanwhile, so
 * what the handle holds in memory is not stale. A clean close deletes
 * both keys if they still hold its token (one Lua script: compare and
 * delete). The steps are Lua scripts (EVAL): atomic, and sent again
 * they give the same outcome. Every write (SET, RPUSH, the rewrite, DEL)
 * is fenced: it runs inside a script (S_WRITE, sent by its SHA1) that
 * first checks that the lock still holds the handle's token, so that a
 * holder stopped between its renewal and its write, or a write held up
 * in the network past the TTL, cannot land after another process took
 * the key; refused, it is ACTORS_ELOCKED and the lease is lost. A token ends in
 * the holder's host (boot id and pid namespace), pid and start time: a handle
 * that finds the lock held by a process of its own host that has died (a
 * crashed actor its node restarts) takes it at once (compare-and-set, S_STEAL).
 * Else a handle opened with quiet_locked (a group member standing by) gets
 * ACTORS_ELOCKED at once; any other waits up to one TTL (and a half
 * second) for the lease to be free, so that a process re-placed after a
 * crash elsewhere gets its key once the dead one's lease has run out
 * instead of KeyLocked.
 *
 * hiredis writes with write(2): a server that went away would raise
 * SIGPIPE and kill the actor. A library must not change the process's
 * signal dispositions, so every exchange runs with SIGPIPE blocked in the
 * calling thread, and a SIGPIPE it caused is consumed before unblocking
 * (the EPIPE then surfaces as a lost connection).
 */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <hiredis.h>

#include <actors/log.h>

#include <actors-internal/alloc.h>
#include "persist_backend.h"

typedef struct {
    redisContext *c;    /* connection; NULL while down */
    char *ep;           /* the endpoint, for logs */
    char *host;         /* tcp host, or the unix socket's path */
    int port;           /* tcp port; 0: unix socket */
    char *snap_key;     /* actors:KEY:snap */
    char *jrn_key;      /* actors:KEY:journal */
    size_t snap_len;    /* its length */
    size_t jrn_len;     /* its length */
    char *doubt;        /* an appended record whose reply was lost, or NULL */
    size_t doubt_len;   /* its length */
    bool lost;          /* a doubt could not be kept (ENOMEM): all EIO */
    bool group;         /* GROUP: appends wait in batch for jrn_sync */
    char *batch;        /* records appended since the last jrn_sync */
    size_t batch_len;   /* bytes in batch */
    size_t batch_cap;   /* its capacity */
    actors_err refused; /* why the last S_FAILED exchange failed */
    char *lock_key;     /* actors:KEY:lock, the lease (PX TTL) */
    size_t lock_len;    /* its length */
    char *owner_key;    /* actors:KEY:owner, the last taker's token */
    size_t owner_len;   /* its length */
    char token[96];     /* this handle's: random.host.pid.start */
    char holder[96];    /* the token that held the lock, when refused */
    bool held;          /* the lease was taken (release it on close) */
    bool lease_lost;    /* another token took it: all ELOCKED */
    bool leasing;       /* a lease command runs (no check inside) */
    uint64_t confirmed; /* monotonic ms the last renewal was sent at */
    char sha[48];       /* S_WRITE's SHA1 in the server's script cache;
                           "": not loaded yet */
    bool noscript;      /* the last refusal was NOSCRIPT (cache flushed) */
} s_redis_t;

/* One command of an exchange, in hiredis's argv form. */
typedef struct {
    int argc;             /* arguments in use */
    const char *argv[11]; /* command and arguments */
    size_t len[11];       /* their lengths */
} s_cmd_t;

/* How an attempt ended. */
typedef enum {
    S_DONE,  /* the server answered as expected */
    S_LOST,  /* the connection broke: the command may have run */
    S_FAILED /* no connection, or the server refused: it did not run */
} s_status;

/* s_pipe_block blocks SIGPIPE in this thread; *was_pending says whether
 * one was already pending (then it is not ours to consume). */
static void
s_pipe_block(sigset_t *old, bool *was_pending)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    sigset_t pending;
    sigpending(&pending);
    *was_pending = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &set, old);
}

static void
s_pipe_restore(const sigset_t *old, bool was_pending)
{
    sigset_t pending;
    sigpending(&pending);
    if (!was_pending && sigismember(&pending, SIGPIPE) == 1) {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGPIPE);
        struct timespec zero = {0, 0};
        (void)sigtimedwait(&set, NULL, &zero);
    }
    pthread_sigmask(SIG_SETMASK, old, NULL);
}

/* s_drop forgets a broken connection; the next exchange reconnects. */
static void
s_drop(s_redis_t *r, const char *what)
{
    ACTORS_LOG(ACTORS_LOG_WARN, "PST-REDIS-LOST", "redis='%s' op=%s %s", r->ep,
        what, r->c->err ? r->c->errstr : "connection lost");
    redisFree(r->c);
    r->c = NULL;
}

/* s_connect (re)connects, with the 2 s timeout for the connect and for
 * every reply. */
static actors_err
s_connect(s_redis_t *r)
{
    struct timeval tv = {2, 0};
    redisContext *c = r->port == 0
                          ? redisConnectUnixWithTimeout(r->host, tv)
                          : redisConnectWithTimeout(r->host, r->port, tv);
    if (c == NULL || c->err) {
        ACTORS_LOG(ACTORS_LOG_ERR, "PST-REDIS-CONNECT", "redis='%s' %s", r->ep,
            c != NULL ? c->errstr : "cannot connect");
        if (c != NULL) {
            redisFree(c);
        }
        return ACTORS_EIO;
    }
    if (redisSetTimeout(c, tv) != REDIS_OK) {
        redisFree(c);
        return ACTORS_EIO;
    }
    r->c = c;
    return ACTORS_OK;
}

/* s_refusal maps an unexpected reply to a code: ACTORS_ENOSPACE for the
 * server's "no room to store this" errors (-OOM, -MISCONF; for an EXEC,
 * in its first failed element), ACTORS_EIO for anything else. */
static actors_err
s_refusal(const redisReply *reply)
{
    for (size_t i = 0; reply->type == REDIS_REPLY_ARRAY && i < reply->elements;
         i++) {
        if (reply->element[i]->type == REDIS_REPLY_ERROR) {
            reply = reply->element[i];
            break;
        }
    }
    if (reply->type != REDIS_REPLY_ERROR || reply->str == NULL) {
        return ACTORS_EIO;
    }
    if (strncmp(reply->str, "OOM ", 4) == 0 ||
        strncmp(reply->str, "MISCONF ", 8) == 0) {
        return ACTORS_ENOSPACE;
    }
    if (strncmp(reply->str, "LEASE ", 6) == 0) {
        return ACTORS_ELOCKED; /* S_WRITE: another process has the key */
    }
    return ACTORS_EIO;
}

/* s_reply_ok tells whether the last reply of an exchange is as expected:
 * of a type in accept, and (an EXEC's array) without an error inside. */
static bool
s_reply_ok(const redisReply *reply, unsigned accept)
{
    if (reply->type < 0 || reply->type >= 32 ||
        (accept & (1u << reply->type)) == 0) {
        return false;
    }
    for (size_t i = 0; reply->type == REDIS_REPLY_ARRAY && i < reply->elements;
         i++) {
        if (reply->element[i]->type == REDIS_REPLY_ERROR) {
            return false;
        }
    }
    return true;
}

/* s_send pipelines cmds[0..n) on the connection (connecting first if it
 * is down) and reads every reply. On S_DONE *out is the last reply (the
 * caller frees it); the earlier ones must not be errors. On S_FAILED
 * r->refused says why (s_refusal of the first unexpected reply). */
static s_status
s_send(s_redis_t *r, const char *what, s_cmd_t *cmds, int n, unsigned accept,
    redisReply **out)
{
    *out = NULL;
    r->refused = ACTORS_EIO;
    if (r->c == NULL && s_connect(r) != ACTORS_OK) {
        return S_FAILED;
    }
    sigset_t old;
    bool was = false;
    s_pipe_block(&old, &was);
    s_status st = S_DONE;
    for (int i = 0; i < n; i++) {
        if (redisAppendCommandArgv(
                r->c, cmds[i].argc, cmds[i].argv, cmds[i].len) != REDIS_OK) {
            st = S_LOST;
        }
    }
    for (int i = 0; st == S_DONE && i < n; i++) {
        redisReply *reply = NULL;
        if (redisGetReply(r->c, (void **)&reply) != REDIS_OK || reply == NULL) {
            st = S_LOST;
            break;
        }
        bool ok = i < n - 1 ? reply->type != REDIS_REPLY_ERROR
                            : s_reply_ok(reply, accept);
        if (!ok) {
            r->noscript = reply->type == REDIS_REPLY_ERROR &&
                          strncmp(reply->str, "NOSCRIPT", 8) == 0;
            bool lease = reply->type == REDIS_REPLY_ERROR &&
                         strncmp(reply->str, "LEASE ", 6) == 0;
            if (!r->noscript && !lease) { /* lease: PST-LEASE-LOST says it */
                ACTORS_LOG(ACTORS_LOG_ERR, "PST-REDIS", "redis='%s' op=%s %s",
                    r->ep, what,
                    reply->type == REDIS_REPLY_ERROR ? reply->str
                                                     : "unexpected reply");
            }
            /* Read the rest, so that the connection stays in step. */
            st = S_FAILED;
            r->refused = s_refusal(reply);
            freeReplyObject(reply);
            for (int j = i + 1; j < n; j++) {
                if (redisGetReply(r->c, (void **)&reply) != REDIS_OK) {
                    st = S_LOST;
                    break;
                }
                freeReplyObject(reply);
            }
            break;
        }
        if (i < n - 1) {
            freeReplyObject(reply);
        } else {
            *out = reply;
        }
    }
    s_pipe_restore(&old, was);
    if (st == S_LOST) {
        s_drop(r, what);
    }
    return st;
}

/* s_settle removes the record in doubt, if any, from the journal. */
static s_status
s_settle(s_redis_t *r)
{
    if (r->doubt == NULL) {
        return S_DONE;
    }
    s_cmd_t lrem = {4, {"LREM", r->jrn_key, "-1", r->doubt},
        {4, r->jrn_len, 2, r->doubt_len}};
    redisReply *reply = NULL;
    s_status st =
        s_send(r, "lrem", &lrem, 1, 1u << REDIS_REPLY_INTEGER, &reply);
    if (st == S_DONE) {
        if (reply->integer > 0) {
            ACTORS_LOG(ACTORS_LOG_NOTICE, "PST-REDIS-UNDO",
                "redis='%s' an append answered EIO had landed; removed", r->ep);
        }
        freeReplyObject(reply);
        actors__free(r->doubt);
        r->doubt = NULL;
        r->doubt_len = 0;
    }
    return st;
}

/* s_doubt keeps a copy of record (an append that may have landed) until
 * s_settle removes it. Without memory for the copy the journal's content
 * is unknown to this handle, which then refuses everything. */
static void
s_doubt(s_redis_t *r, const char *record, size_t len)
{
    if (r->doubt != NULL) {
        return; /* the same record: appends settle before they send */
    }
    r->doubt = actors__malloc(len);
    if (r->doubt == NULL) {
        ACTORS_LOG(ACTORS_LOG_ERR, "PST-REDIS",
            "redis='%s' out of memory "
            "keeping an append in doubt; handle unusable",
            r->ep);
        r->lost = true;
        return;
    }
    memcpy(r->doubt, record, len);
    r->doubt_len = len;
}

/* s_run is one operation: cmds (n of them, pipelined) in at most two
 * attempts, each settling a doubt first. record (may be NULL) is the
 * journal record the commands append: if an attempt loses the connection
 * it is in doubt. On ACTORS_OK *out is the last reply (caller frees). */
static actors_err s_lease_check(s_redis_t *r);

static actors_err
s_run(s_redis_t *r, const char *what, s_cmd_t *cmds, int n, unsigned accept,
    const char *record, size_t record_len, redisReply **out)
{
    *out = NULL;
    if (!r->leasing) {
        actors_err rc = s_lease_check(r);
        if (rc != ACTORS_OK) {
            return rc;
        }
    }
    for (int attempt = 0; attempt < 2 && !r->lost; attempt++) {
        s_status st = s_settle(r);
        if (st == S_DONE) {
            st = s_send(r, what, cmds, n, accept, out);
            if (st == S_LOST && record != NULL) {
                s_doubt(r, record, record_len);
            }
        }
        if (st == S_DONE) {
            return ACTORS_OK;
        }
        if (st == S_FAILED) {
            return r->refused;
        }
    }
    return ACTORS_EIO;
}

/* s_run_done is s_run for an operation whose reply carries nothing
 * beyond its type. */
static actors_err
s_run_done(s_redis_t *r, const char *what, s_cmd_t *cmds, int n,
    unsigned accept, const char *record, size_t record_len)
{
    redisReply *reply = NULL;
    actors_err rc = s_run(r, what, cmds, n, accept, record, record_len, &reply);
    if (rc == ACTORS_OK) {
        freeReplyObject(reply);
    }
    return rc;
}

/* ---- the lease ---------------------------------------------------------- */

/* S_TAKE: KEYS lock, owner; ARGV token, ttl ms, may_take. Renews the lease
 * if the lock holds token; else, if the lock is free and may_take is "1"
 * (open) or the owner key still holds token (nobody took the key since),
 * takes it. Returns 1 (held), the token that has it, or 0 (another token
 * had it since). */
static const char S_TAKE[] =
    "local v = redis.call('GET', KEYS[1]) "
    "if v == ARGV[1] then "
    "redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end "
    "if v then return v end "
    "if ARGV[3] ~= '1' and redis.call('GET', KEYS[2]) ~= ARGV[1] then "
    "return 0 end "
    "redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) "
    "redis.call('SET', KEYS[2], ARGV[1]) "
    "return 1";

/* S_STEAL: KEYS lock, owner; ARGV dead token, token, ttl ms. Takes the
 * lock from a holder known dead if it still holds it. Returns 1 or 0. */
static const char S_STEAL[] =
    "if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end "
    "redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) "
    "redis.call('SET', KEYS[2], ARGV[2]) "
    "return 1";

/* S_RELEASE: KEYS lock, owner; ARGV token. Deletes each that holds it. */
static const char S_RELEASE[] = "local n = 0 "
                                "for i = 1, 2 do "
                                "if redis.call('GET', KEYS[i]) == ARGV[1] then "
                                "n = n + redis.call('DEL', KEYS[i]) end end "
                                "return n";

/* S_WRITE: KEYS lock, owner, snap, journal; ARGV token, ttl ms, op, data.
 * A write fenced by the lease: it runs only if the lock holds token (or
 * is free while the owner key still holds it: an idle lapse, taken back
 * as S_TAKE does), else it is refused with "LEASE" and writes nothing.
 * ops: "set" (SET snap data), "push" (RPUSH journal data), "reset" (DEL
 * journal, then RPUSH data if given), "del" (DEL snap journal). A check
 * before the command would leave a window (a holder stopped between its
 * check and its write, or a write delayed in the network, landing after
 * another process took the key); in one script there is none. */
static const char S_WRITE[] =
    "local v = redis.call('GET', KEYS[1]) "
    "if v ~= ARGV[1] then "
    "if v or redis.call('GET', KEYS[2]) ~= ARGV[1] then "
    "return redis.error_reply('LEASE the key is held by another process') "
    "end "
    "redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) end "
    "local op = ARGV[3] "
    "if op == 'set' then return redis.call('SET', KEYS[3], ARGV[4]) end "
    "if op == 'push' then return redis.call('RPUSH', KEYS[4], ARGV[4]) end "
    "if op == 'reset' then redis.call('DEL', KEYS[4]) "
    "if ARGV[4] then return redis.call('RPUSH', KEYS[4], ARGV[4]) end "
    "return 0 end "
    "return redis.call('DEL', KEYS[3], KEYS[4])";

static uint64_t
s_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* s_fnv folds n bytes into h (FNV-1a, 64 bits). */
static uint64_t
s_fnv(uint64_t h, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211ull;
    }
    return h;
}

/* s_host_id names this kernel boot and pid namespace: two processes with
 * the same id see each other's pids. 0 if either cannot be read (then no
 * holder is ever judged dead). */
static uint64_t
s_host_id(void)
{
    char boot[64] = "";
    char ns[64] = "";
    FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
    if (f != NULL) {
        if (fgets(boot, sizeof boot, f) == NULL) {
            boot[0] = '\0';
        }
        fclose(f);
    }
    ssize_t n = readlink("/proc/self/ns/pid", ns, sizeof ns - 1);
    if (boot[0] == '\0' || n <= 0) {
        return 0;
    }
    ns[n] = '\0';
    uint64_t h = s_fnv(1469598103934665603ull, boot, strlen(boot));
    h = s_fnv(h, ns, (size_t)n);
    return h != 0 ? h : 1;
}

/* s_start_time is field 22 of /proc/PID/stat (clock ticks after boot),
 * 0 if the process does not exist or is a zombie (it has died). */
static unsigned long long
s_start_time(long pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return 0;
    }
    char buf[1024];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* the name may hold anything */
    char state = 0;
    unsigned long long start = 0;
    if (p == NULL ||
        sscanf(p + 1,
            " %c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d "
            "%*d %*d %*d %*d %llu",
            &state, &start) != 2 ||
        state == 'Z' || state == 'X') {
        return 0;
    }
    return start;
}

/* s_token makes the handle's token: 32 random hex digits (getrandom;
 * should that fail, the pid and the clocks, which still tell two live
 * handles apart), then ".HOST.PID.START" (s_host_id, this process, its
 * start time), by which a process of the same host and pid namespace
 * knows the holder has died (s_holder_dead). */
static void
s_token(s_redis_t *r)
{
    unsigned char b[16];
    if (getrandom(b, sizeof b, GRND_NONBLOCK) != (ssize_t)sizeof b) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t x[2] = {(uint64_t)getpid() << 32 ^ (uint64_t)ts.tv_nsec,
            (uint64_t)ts.tv_sec ^ s_mono_ms() ^ (uint64_t)(uintptr_t)r};
        memcpy(b, x, sizeof b);
    }
    for (size_t i = 0; i < sizeof b; i++) {
        snprintf(r->token + 2 * i, 3, "%02x", b[i]);
    }
    long pid = (long)getpid();
    snprintf(r->token + 2 * sizeof b, sizeof r->token - 2 * sizeof b,
        ".%016llx.%ld.%llu", (unsigned long long)s_host_id(), pid,
        s_start_time(pid));
}

/* s_holder_dead: token names a process of this host and pid namespace
 * that no longer runs (gone, a zombie, or its pid reused since). A token
 * of another host, namespace or format, or of this process: false. */
static bool
s_holder_dead(const char *token)
{
    const char *dot = strchr(token, '.');
    unsigned long long host = 0;
    long pid = 0;
    unsigned long long start = 0;
    if (dot == NULL ||
        sscanf(dot, ".%16llx.%ld.%llu", &host, &pid, &start) != 3 ||
        host == 0 || start == 0 || pid <= 0 || pid == (long)getpid()) {
        return false;
    }
    static uint64_t self_host;
    if (self_host == 0) {
        self_host = s_host_id();
    }
    if (host != self_host) {
        return false;
    }
    if (kill((pid_t)pid, 0) != 0 && errno == ESRCH) {
        return true;
    }
    return s_start_time(pid) != start;
}

/* s_lease runs S_TAKE (may_take: the open's first taking). Returns
 * ACTORS_OK (held; confirmed is when it was sent), ACTORS_ELOCKED
 * (another token) or the exchange's error (the lease's state unknown). */
static actors_err
s_lease(s_redis_t *r, bool may_take)
{
    char ttl[16];
    snprintf(ttl, sizeof ttl, "%d", ACTORS_PERSIST_LEASE_MS);
    s_cmd_t eval = {8,
        {"EVAL", S_TAKE, "2", r->lock_key, r->owner_key, r->token, ttl,
            may_take ? "1" : "0"},
        {4, sizeof S_TAKE - 1, 1, r->lock_len, r->owner_len, strlen(r->token),
            strlen(ttl), 1}};
    uint64_t sent = s_mono_ms();
    redisReply *reply = NULL;
    r->leasing = true;
    actors_err rc = s_run(r, "lease", &eval, 1,
        1u << REDIS_REPLY_INTEGER | 1u << REDIS_REPLY_STRING, NULL, 0, &reply);
    r->leasing = false;
    if (rc != ACTORS_OK) {
        return rc;
    }
    bool ours = reply->type == REDIS_REPLY_INTEGER && reply->integer == 1;
    r->holder[0] = '\0';
    if (reply->type == REDIS_REPLY_STRING) {
        snprintf(
            r->holder, sizeof r->holder, "%.*s", (int)reply->len, reply->str);
    }
    freeReplyObject(reply);
    if (!ours) {
        return ACTORS_ELOCKED;
    }
    r->held = true;
    r->confirmed = sent;
    return ACTORS_OK;
}

/* s_lease_lost records that another process has taken the key: every
 * later operation of the handle is ACTORS_ELOCKED. */
static void
s_lease_lost(s_redis_t *r)
{
    r->lease_lost = true;
    ACTORS_LOG(ACTORS_LOG_WARN, "PST-LEASE-LOST",
        "redis='%s' key='%s' the lease was not renewed in time and "
        "another process has taken the key: this handle stops writing",
        r->ep, r->lock_key);
}

/* s_lease_check renews the lease if a renewal is due. Returns ACTORS_OK,
 * ACTORS_ELOCKED (lost: now and for good) or the exchange's error. */
static actors_err
s_lease_check(s_redis_t *r)
{
    if (r->lease_lost) {
        return ACTORS_ELOCKED;
    }
    if (!r->held ||
        s_mono_ms() - r->confirmed < ACTORS__PERSIST_LEASE_RENEW_MS) {
        return ACTORS_OK;
    }
    actors_err rc = s_lease(r, false);
    if (rc == ACTORS_ELOCKED) {
        s_lease_lost(r);
    }
    return rc;
}

/* s_write runs one write of the key (S_WRITE's op, with data if not
 * NULL), fenced by the lease. accept and record are as s_run's. A write
 * refused for the lease loses it for good, as a failed renewal does. */
static actors_err
s_write(s_redis_t *r, const char *op, const char *data, size_t len,
    unsigned accept, const char *record, size_t record_len)
{
    char ttl[16];
    snprintf(ttl, sizeof ttl, "%d", ACTORS_PERSIST_LEASE_MS);
    actors_err rc = ACTORS_EIO;
    /* By its SHA1 (EVALSHA), so that the script is not sent and hashed
     * with every write; loaded first, and again if the server lost its
     * script cache (a restart, SCRIPT FLUSH: NOSCRIPT, nothing ran). */
    for (int attempt = 0; attempt < 2; attempt++) {
        if (r->sha[0] == '\0') {
            s_cmd_t load = {
                3, {"SCRIPT", "LOAD", S_WRITE}, {6, 4, sizeof S_WRITE - 1}};
            redisReply *reply = NULL;
            rc = s_run(r, "script load", &load, 1, 1u << REDIS_REPLY_STRING,
                NULL, 0, &reply);
            if (rc != ACTORS_OK) {
                return rc;
            }
            snprintf(
                r->sha, sizeof r->sha, "%.*s", (int)reply->len, reply->str);
            freeReplyObject(reply);
        }
        s_cmd_t eval = {data != NULL ? 11 : 10,
            {"EVALSHA", r->sha, "4", r->lock_key, r->owner_key, r->snap_key,
                r->jrn_key, r->token, ttl, op, data},
            {7, strlen(r->sha), 1, r->lock_len, r->owner_len, r->snap_len,
                r->jrn_len, strlen(r->token), strlen(ttl), strlen(op), len}};
        r->noscript = false;
        rc = s_run_done(r, op, &eval, 1, accept, record, record_len);
        if (!(rc == ACTORS_EIO && r->noscript)) {
            break;
        }
        r->sha[0] = '\0';
    }
    if (rc == ACTORS_ELOCKED && !r->lease_lost) {
        s_lease_lost(r);
    }
    return rc;
}

/* s_keep is the backend's keep: renew the lease if due. */
static actors_err
s_keep(void *be)
{
    return s_lease_check(be);
}

/* s_release gives the lease back if it is still ours (one try). */
static void
s_release(s_redis_t *r)
{
    if (!r->held || r->lease_lost || r->lost) {
        return;
    }
    s_cmd_t eval = {6,
        {"EVAL", S_RELEASE, "2", r->lock_key, r->owner_key, r->token},
        {4, sizeof S_RELEASE - 1, 1, r->lock_len, r->owner_len,
            strlen(r->token)}};
    redisReply *reply = NULL;
    if (s_send(r, "release", &eval, 1, 1u << REDIS_REPLY_INTEGER, &reply) ==
        S_DONE) {
        freeReplyObject(reply);
    }
    r->held = false;
}

static void
s_close(void *be)
{
    s_redis_t *r = be;
    if (r == NULL) {
        return;
    }
    if (r->doubt != NULL && !r->lost) {
        (void)s_settle(r); /* one try: do not leave a refused append */
    }
    s_release(r);
    if (r->c != NULL) {
        redisFree(r->c);
    }
    actors__free(r->doubt);
    actors__free(r->batch);
    actors__free(r->ep);
    actors__free(r->host);
    actors__free(r->snap_key);
    actors__free(r->jrn_key);
    actors__free(r->lock_key);
    actors__free(r->owner_key);
    actors__free(r);
}

static char *
s_key(const char *key, const char *suffix, size_t *len)
{
    size_t n = strlen("actors:") + strlen(key) + strlen(suffix) + 1;
    char *k = actors__malloc(n);
    if (k != NULL) {
        snprintf(k, n, "actors:%s%s", key, suffix);
        *len = n - 1;
    }
    return k;
}

/* s_endpoint parses tcp://HOST:PORT or unix:///PATH into r. */
static actors_err
s_endpoint(s_redis_t *r, const char *ep)
{
    if (strncmp(ep, "unix://", 7) == 0 && ep[7] != '\0') {
        r->host = actors__strndup(ep + 7, strlen(ep + 7));
    } else if (strncmp(ep, "tcp://", 6) == 0) {
        const char *colon = strrchr(ep + 6, ':');
        size_t hl = colon != NULL ? (size_t)(colon - (ep + 6)) : 0;
        char *end = NULL;
        long port = colon != NULL ? strtol(colon + 1, &end, 10) : 0;
        if (colon == NULL || hl == 0 || hl >= 256 || *end != '\0' ||
            port <= 0 || port > 65535) {
            return ACTORS_EINVAL;
        }
        r->host = actors__strndup(ep + 6, hl);
        r->port = (int)port;
    } else {
        return ACTORS_EINVAL;
    }
    r->ep = actors__strndup(ep, strlen(ep));
    return r->host != NULL && r->ep != NULL ? ACTORS_OK : ACTORS_ENOMEM;
}

/* s_steal takes the lease from r->holder, a holder known dead, if it
 * still holds it. Returns ACTORS_OK, ACTORS_ELOCKED or the exchange's
 * error. */
static actors_err
s_steal(s_redis_t *r, const char *key)
{
    char ttl[16];
    snprintf(ttl, sizeof ttl, "%d", ACTORS_PERSIST_LEASE_MS);
    s_cmd_t eval = {8,
        {"EVAL", S_STEAL, "2", r->lock_key, r->owner_key, r->holder, r->token,
            ttl},
        {4, sizeof S_STEAL - 1, 1, r->lock_len, r->owner_len, strlen(r->holder),
            strlen(r->token), strlen(ttl)}};
    uint64_t sent = s_mono_ms();
    redisReply *reply = NULL;
    r->leasing = true;
    actors_err rc =
        s_run(r, "lease", &eval, 1, 1u << REDIS_REPLY_INTEGER, NULL, 0, &reply);
    r->leasing = false;
    if (rc != ACTORS_OK) {
        return rc;
    }
    bool ours = reply->integer == 1;
    freeReplyObject(reply);
    if (!ours) {
        return ACTORS_ELOCKED;
    }
    ACTORS_LOG(ACTORS_LOG_INFO, "PST-LEASE-TAKEN",
        "key='%s' redis='%s' the lease's holder (%s) has died on this host: "
        "taken without waiting for its expiry",
        key, r->ep, r->holder);
    r->held = true;
    r->confirmed = sent;
    return ACTORS_OK;
}

/* s_take takes the key's lease for a new handle: at once if it is free
 * or its holder is a process of this host that has died (a crashed
 * actor restarted by its node); else, with quiet_locked, ACTORS_ELOCKED
 * at once, and otherwise waiting up to a TTL and a half second for
 * another holder's lease to run out (a crashed process's elsewhere). */
static actors_err
s_take(s_redis_t *r, const char *key, bool quiet_locked)
{
    uint64_t deadline = s_mono_ms() + ACTORS_PERSIST_LEASE_MS + 500;
    actors_err rc = s_lease(r, true);
    for (;;) {
        if (rc == ACTORS_ELOCKED && r->holder[0] != '\0' &&
            s_holder_dead(r->holder)) {
            rc = s_steal(r, key);
        }
        if (rc != ACTORS_ELOCKED || quiet_locked || s_mono_ms() >= deadline) {
            break;
        }
        struct timespec pause = {0, 100 * 1000 * 1000};
        nanosleep(&pause, NULL);
        rc = s_lease(r, true);
    }
    if (rc == ACTORS_ELOCKED && !quiet_locked) {
        ACTORS_LOG(ACTORS_LOG_WARN, "PST-LOCKED",
            "key='%s' redis='%s' the key is held by another live process "
            "(its lease in %s is renewed)",
            key, r->ep, r->lock_key);
    }
    return rc;
}

static actors_err
s_open(void **out, const char *key, const actors_persist_opts_t *opts,
    bool quiet_locked)
{
    assert(out);
    assert(opts && opts->redis);
    s_redis_t *r = actors__zalloc(sizeof *r);
    if (r == NULL) {
        return ACTORS_ENOMEM;
    }
    actors_err rc = ACTORS_ENOMEM;
    r->snap_key = s_key(key, ":snap", &r->snap_len);
    r->jrn_key = s_key(key, ":journal", &r->jrn_len);
    r->lock_key = s_key(key, ":lock", &r->lock_len);
    r->owner_key = s_key(key, ":owner", &r->owner_len);
    r->group = opts->sync == ACTORS_PERSIST_SYNC_GROUP;
    s_token(r);
    if (r->snap_key != NULL && r->jrn_key != NULL && r->lock_key != NULL &&
        r->owner_key != NULL) {
        rc = s_endpoint(r, opts->redis);
    }
    if (rc == ACTORS_OK && s_connect(r) != ACTORS_OK) {
        ACTORS_LOG(ACTORS_LOG_ERR, "PST-OPEN", "redis='%s' cannot connect",
            opts->redis);
        rc = ACTORS_EIO;
    }
    if (rc == ACTORS_OK) {
        rc = s_take(r, key, quiet_locked);
    }
    if (rc != ACTORS_OK) {
        s_close(r);
        return rc;
    }
    *out = r;
    return ACTORS_OK;
}

static actors_err
s_copy(const char *src, size_t len, char **data, size_t *out_len)
{
    char *d = actors__malloc(len);
    if (d == NULL) {
        return ACTORS_ENOMEM;
    }
    memcpy(d, src, len);
    *data = d;
    *out_len = len;
    return ACTORS_OK;
}

static actors_err
s_snap_read(void *be, char **data, size_t *len)
{
    s_redis_t *r = be;
    *data = NULL;
    *len = 0;
    s_cmd_t get = {2, {"GET", r->snap_key}, {3, r->snap_len}};
    redisReply *reply = NULL;
    actors_err rc = s_run(r, "get", &get, 1,
        1u << REDIS_REPLY_STRING | 1u << REDIS_REPLY_NIL, NULL, 0, &reply);
    if (rc == ACTORS_OK) {
        if (reply->type == REDIS_REPLY_STRING && reply->len > 0) {
            rc = s_copy(reply->str, reply->len, data, len);
        }
        freeReplyObject(reply);
    }
    return rc;
}

static actors_err
s_snap_write(void *be, const char *data, size_t len)
{
    s_redis_t *r = be;
    return s_write(r, "set", data, len, 1u << REDIS_REPLY_STATUS, NULL, 0);
}

static actors_err
s_jrn_read(void *be, char **data, size_t *len)
{
    s_redis_t *r = be;
    *data = NULL;
    *len = 0;
    s_cmd_t lrange = {
        4, {"LRANGE", r->jrn_key, "0", "-1"}, {6, r->jrn_len, 1, 2}};
    redisReply *reply = NULL;
    actors_err rc = s_run(
        r, "lrange", &lrange, 1, 1u << REDIS_REPLY_ARRAY, NULL, 0, &reply);
    if (rc != ACTORS_OK) {
        return rc;
    }
    size_t total = 0;
    for (size_t i = 0; i < reply->elements; i++) {
        if (reply->element[i]->type != REDIS_REPLY_STRING) {
            ACTORS_LOG(ACTORS_LOG_ERR, "PST-REDIS",
                "redis='%s' op=lrange a journal element is not a string",
                r->ep);
            freeReplyObject(reply);
            return ACTORS_EIO;
        }
        total += reply->element[i]->len;
    }
    if (total > 0) {
        char *buf = actors__malloc(total);
        if (buf == NULL) {
            rc = ACTORS_ENOMEM;
        } else {
            size_t at = 0;
            for (size_t i = 0; i < reply->elements; i++) {
                memcpy(
                    buf + at, reply->element[i]->str, reply->element[i]->len);
                at += reply->element[i]->len;
            }
            *data = buf;
            *len = total;
        }
    }
    freeReplyObject(reply);
    return rc;
}

/* s_jrn_read_all is the journal as persist.c sees it: the list, then the
 * batch not yet sent (GROUP). */
static actors_err
s_jrn_read_all(void *be, char **data, size_t *len)
{
    s_redis_t *r = be;
    actors_err rc = s_jrn_read(be, data, len);
    if (rc != ACTORS_OK || r->batch_len == 0) {
        return rc;
    }
    char *all = actors__realloc(*data, *len + r->batch_len);
    if (all == NULL) {
        actors__free(*data);
        *data = NULL;
        *len = 0;
        return ACTORS_ENOMEM;
    }
    memcpy(all + *len, r->batch, r->batch_len);
    *data = all;
    *len += r->batch_len;
    return ACTORS_OK;
}

static actors_err
s_jrn_append(void *be, const char *data, size_t len)
{
    s_redis_t *r = be;
    if (r->group) {
        if (r->batch_len + len > r->batch_cap) {
            size_t cap = r->batch_cap ? r->batch_cap : 4096;
            while (cap < r->batch_len + len) {
                cap *= 2;
            }
            char *b = actors__realloc(r->batch, cap);
            if (b == NULL) {
                return ACTORS_ENOMEM;
            }
            r->batch = b;
            r->batch_cap = cap;
        }
        memcpy(r->batch + r->batch_len, data, len);
        r->batch_len += len;
        return ACTORS_OK;
    }
    return s_write(r, "push", data, len, 1u << REDIS_REPLY_INTEGER, data, len);
}

/* s_jrn_sync sends the batch (GROUP) as one element: a single RPUSH, in
 * doubt like any append if its reply is lost. On error the batch stays
 * until persist.c cuts it off (jrn_truncate). */
static actors_err
s_jrn_sync(void *be)
{
    s_redis_t *r = be;
    if (r->batch_len == 0) {
        return ACTORS_OK;
    }
    actors_err rc = s_write(r, "push", r->batch, r->batch_len,
        1u << REDIS_REPLY_INTEGER, r->batch, r->batch_len);
    if (rc == ACTORS_OK) {
        r->batch_len = 0;
    }
    return rc;
}

static actors_err
s_jrn_truncate(void *be, size_t len)
{
    s_redis_t *r = be;
    char *data = NULL;
    size_t have = 0;
    if (len == 0) {
        r->batch_len = 0;
    } else {
        actors_err rc = s_jrn_read(be, &data, &have);
        if (rc != ACTORS_OK) {
            return rc;
        }
        if (len >= have && r->batch_len > 0) {
            /* The cut falls in the batch not yet sent: cut it there. */
            r->batch_len =
                len - have < r->batch_len ? len - have : r->batch_len;
            actors__free(data);
            return ACTORS_OK;
        }
        r->batch_len = 0;
        if (len > have) {
            len = have;
        }
    }
    /* DEL and RPUSH of the prefix in one script: sent again, it leaves
     * the same list. */
    actors_err rc = s_write(r, "reset", len > 0 ? data : NULL, len,
        1u << REDIS_REPLY_INTEGER, NULL, 0);
    actors__free(data);
    return rc;
}

static actors_err
s_remove(void *be)
{
    s_redis_t *r = be;
    r->batch_len = 0;
    return s_write(r, "del", NULL, 0, 1u << REDIS_REPLY_INTEGER, NULL, 0);
}

const actors__persist_ops_t actors__persist_redis_ops = {
    .name = "redis",
    .open = s_open,
    .close = s_close,
    .snap_read = s_snap_read,
    .snap_write = s_snap_write,
    .jrn_read = s_jrn_read_all,
    .jrn_append = s_jrn_append,
    .jrn_sync = s_jrn_sync,
    .jrn_truncate = s_jrn_truncate,
    .remove = s_remove,
    .keep = s_keep,
};
