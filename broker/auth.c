/* broker/auth.c - CURVE, the ZAP handler and the role table (auth.h).
 * SPDX-License-Identifier: MIT
 *
 * The allowlist is an array of keys sorted by their Z85 text. The ZAP
 * thread reads it under the mutex; the broker thread, the only writer,
 * swaps in a new one under the mutex (reload) and reads it without.
 * Certificates are ZPL files read with czmq: zcert_load for the broker's
 * own pair, zconfig_load for the allowlist's public files (s_load_dir).
 */
#include "auth.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fnmatch.h>
#include <netinet/in.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#include <czmq.h>

#include <actors/log.h>

#include "core.h"
#include "fdends.h"

#define AUTH_ZAP_EP "inproc://zeromq.zap.01"
#define AUTH_POLL_MS 100       /* the ZAP thread checks for a stop */
#define AUTH_LOG_PER_SEC 20    /* BRK-FORBIDDEN lines a second at most */
#define AUTH_CLOSING_MAX 64    /* refused connections awaiting their close */
#define AUTH_CLOSE_MS 20       /* after their Forbidden was queued */
#define AUTH_NAME_MAX 64       /* a key's name in the log */
#define AUTH_ZAP_FRAMES 8      /* frames of a ZAP request kept */
#define AUTH_ADDRESSES_MAX 256 /* bytes of a key's address patterns */

typedef struct {
    char z85[41];             /* the public key, Z85 */
    uint8_t key[32];          /* the same, binary */
    char name[AUTH_NAME_MAX]; /* metadata name, else the file name */
    unsigned role;            /* BRK_AUTH_* bit */
    /* The addresses the key may REGISTER: fnmatch patterns separated by
     * spaces or commas (certificate metadata "addresses"); "": any. */
    char addresses[AUTH_ADDRESSES_MAX];
} auth_key_t;

typedef struct {
    auth_key_t *v; /* sorted by z85 */
    uint32_t n;
} auth_list_t;

struct brk_auth {
    char *dir;            /* the allowlist directory */
    zcert_t *cert;        /* the broker's own certificate */
    void *zap;            /* REP bound to AUTH_ZAP_EP */
    pthread_t thread;     /* serves zap */
    bool running;         /* thread started */
    atomic_int stop;      /* the thread is to end */
    atomic_int reload;    /* SIGHUP seen */
    pthread_mutex_t lock; /* guards list against the ZAP thread */
    auth_list_t list;     /* the allowlist in force */
    bool changed;         /* a key was removed or changed its role */
    uint32_t revocations; /* reloads that removed or changed a key */
    char (*revoked)[41];  /* the keys (Z85) the last of them did */
    uint32_t n_revoked;
    /* Connections refused after a revocation, shut down once their
     * Forbidden has had time to leave (brk_auth_tick). */
    brk_fdends_t closing[AUTH_CLOSING_MAX];
    int64_t closing_due[AUTH_CLOSING_MAX];
    uint32_t n_closing;
    int64_t log_second;    /* second of the last BRK-FORBIDDEN lines */
    uint32_t log_count;    /* lines logged in it */
    uint64_t n_forbidden;  /* commands refused */
    uint64_t n_refused;    /* connections refused by ZAP */
    time_t zap_log_second; /* the ZAP thread's log rate limit */
    uint32_t zap_log_count;
};

/* The roles that may send each command. Every role may do what a client
 * may; the rest as PROTOCOL.md, Security. */
#define AUTH_C BRK_AUTH_ANY
static unsigned s_roles[256] = {
    [ACTORS_CMD_CALL] = AUTH_C,
    [ACTORS_CMD_TELL] = AUTH_C,
    [ACTORS_CMD_LOOKUP] = AUTH_C,
    [ACTORS_CMD_LIST] = AUTH_C,
    [ACTORS_CMD_PING] = AUTH_C,
    [ACTORS_CMD_EVENTS] = AUTH_C,
    [ACTORS_CMD_PUBLISH] = AUTH_C,
    [ACTORS_CMD_SUBSCRIBE] = AUTH_C,
    [ACTORS_CMD_UNSUBSCRIBE] = AUTH_C,
    [ACTORS_CMD_DRAIN] = BRK_AUTH_NODE,
    [ACTORS_CMD_REPLY] = BRK_AUTH_ACTOR | BRK_AUTH_NODE,
    [ACTORS_CMD_ERROR] = BRK_AUTH_ACTOR | BRK_AUTH_NODE,
    [ACTORS_CMD_HEARTBEAT] = BRK_AUTH_ACTOR | BRK_AUTH_NODE,
    [ACTORS_CMD_REGISTER] = BRK_AUTH_ACTOR,
    [ACTORS_CMD_UNREGISTER] = BRK_AUTH_ACTOR,
    [ACTORS_CMD_CREDIT] = BRK_AUTH_ACTOR,
    [ACTORS_CMD_NODE] = BRK_AUTH_NODE,
    [ACTORS_CMD_STATE] = BRK_AUTH_NODE,
    [ACTORS_CMD_EVENT] = BRK_AUTH_NODE,
    [ACTORS_CMD_SPAWN] = BRK_AUTH_ADMIN,
    [ACTORS_CMD_KILL] = BRK_AUTH_ADMIN,
};

static const char *s_cmd_names[256] = {
    [ACTORS_CMD_CALL] = "CALL",
    [ACTORS_CMD_TELL] = "TELL",
    [ACTORS_CMD_REPLY] = "REPLY",
    [ACTORS_CMD_ERROR] = "ERROR",
    [ACTORS_CMD_REGISTER] = "REGISTER",
    [ACTORS_CMD_UNREGISTER] = "UNREGISTER",
    [ACTORS_CMD_HEARTBEAT] = "HEARTBEAT",
    [ACTORS_CMD_CREDIT] = "CREDIT",
    [ACTORS_CMD_LOOKUP] = "LOOKUP",
    [ACTORS_CMD_LIST] = "LIST",
    [ACTORS_CMD_PING] = "PING",
    [ACTORS_CMD_NODE] = "NODE",
    [ACTORS_CMD_STATE] = "STATE",
    [ACTORS_CMD_SPAWN] = "SPAWN",
    [ACTORS_CMD_KILL] = "KILL",
    [ACTORS_CMD_EVENTS] = "EVENTS",
    [ACTORS_CMD_EVENT] = "EVENT",
    [ACTORS_CMD_PUBLISH] = "PUBLISH",
    [ACTORS_CMD_SUBSCRIBE] = "SUBSCRIBE",
    [ACTORS_CMD_UNSUBSCRIBE] = "UNSUBSCRIBE",
    [ACTORS_CMD_DRAIN] = "DRAIN",
};

void
brk_auth_allow(uint8_t cmd, unsigned roles)
{
    s_roles[cmd] = roles & BRK_AUTH_ANY;
}

unsigned
brk_auth_role_parse(const char *s)
{
    if (s == NULL) {
        return 0;
    }
    static const char *names[] = {"client", "actor", "node", "admin"};
    for (unsigned i = 0; i < 4; i++) {
        if (strcmp(s, names[i]) == 0) {
            return 1u << i;
        }
    }
    return 0;
}

const char *
brk_auth_role_name(unsigned role)
{
    switch (role) {
    case BRK_AUTH_CLIENT:
        return "client";
    case BRK_AUTH_ACTOR:
        return "actor";
    case BRK_AUTH_NODE:
        return "node";
    case BRK_AUTH_ADMIN:
        return "admin";
    default:
        return "none";
    }
}

bool
brk_auth_endpoint_local(const char *ep)
{
    if (strncmp(ep, "ipc://", 6) == 0 || strncmp(ep, "inproc://", 9) == 0) {
        return true;
    }
    if (strncmp(ep, "tcp://", 6) != 0) {
        return false; /* pgm, udp, ...: reachable from elsewhere */
    }
    /* The host is what lies between "tcp://" and the last ':' (the
     * port); an IPv6 address is in brackets. Only a literal loopback
     * address, "localhost" or the interface "lo" is local: a host name
     * could resolve to anything. */
    const char *host = ep + 6;
    const char *colon = strrchr(host, ':');
    if (colon == NULL || colon == host || colon - host >= 64) {
        return false;
    }
    char h[64];
    memcpy(h, host, (size_t)(colon - host));
    h[colon - host] = '\0';
    if (strcmp(h, "localhost") == 0 || strcmp(h, "lo") == 0) {
        return true;
    }
    struct in_addr a4;
    if (inet_pton(AF_INET, h, &a4) == 1) {
        return (ntohl(a4.s_addr) >> 24) == 127;
    }
    size_t n = strlen(h);
    if (n > 2 && h[0] == '[' && h[n - 1] == ']') {
        h[n - 1] = '\0';
        struct in6_addr a6;
        return inet_pton(AF_INET6, h + 1, &a6) == 1 &&
               IN6_IS_ADDR_LOOPBACK(&a6);
    }
    return false;
}

/* ------------------------------------------------------------ keys */

static int
s_key_cmp(const void *a, const void *b)
{
    return strcmp(((const auth_key_t *)a)->z85, ((const auth_key_t *)b)->z85);
}

static const auth_key_t *
s_find(const auth_list_t *l, const char *z85)
{
    auth_key_t k;
    snprintf(k.z85, sizeof k.z85, "%s", z85);
    return bsearch(&k, l->v, l->n, sizeof *l->v, s_key_cmp);
}

static bool
s_ends_with(const char *s, const char *tail)
{
    size_t a = strlen(s);
    size_t b = strlen(tail);
    return a >= b && strcmp(s + a - b, tail) == 0;
}

/* s_load_dir reads every public certificate in dir into *out. A file
 * that is not a certificate or has no valid role is skipped and logged.
 * Returns ACTORS_OK, ACTORS_EIO (no directory), ACTORS_ENOMEM. */
static actors_err
s_load_dir(const char *dir, auth_list_t *out)
{
    out->v = NULL;
    out->n = 0;
    DIR *d = opendir(dir);
    if (d == NULL) {
        ACTORS_LOG(ACTORS_LOG_ERR, "BRK-AUTH",
            "dir=%s cannot read the keys: %s", dir, strerror(errno));
        return ACTORS_EIO;
    }
    uint32_t cap = 0;
    actors_err rc = ACTORS_OK;
    struct dirent *de;
    while ((de = readdir(d)) != NULL && rc == ACTORS_OK) {
        if (de->d_name[0] == '.' || s_ends_with(de->d_name, "_secret")) {
            continue;
        }
        char path[4096];
        if (snprintf(path, sizeof path, "%s/%s", dir, de->d_name) >=
            (int)sizeof path) {
            continue;
        }
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
            continue;
        }
        /* The public file itself: czmq's zcert_load would read a
         * NAME_secret beside it first and take ITS metadata, so a role
         * or patterns edited in the allowlist would not count. */
        zconfig_t *cert = zconfig_load(path);
        const char *pub =
            cert != NULL ? zconfig_get(cert, "curve/public-key", NULL) : NULL;
        uint8_t key[32];
        if (pub == NULL || strlen(pub) != 40 || !zmq_z85_decode(key, pub)) {
            ACTORS_LOG(ACTORS_LOG_WARN, "BRK-AUTH-SKIP",
                "file=%s not a certificate; skipped", path);
            zconfig_destroy(&cert);
            continue;
        }
        const char *role_s = zconfig_get(cert, "metadata/role", NULL);
        unsigned role = brk_auth_role_parse(role_s);
        if (role == 0) {
            ACTORS_LOG(ACTORS_LOG_WARN, "BRK-AUTH-SKIP",
                "file=%s role=\"%s\" no valid role (client, actor, node, "
                "admin) in its metadata; skipped",
                path, role_s ? role_s : "");
            zconfig_destroy(&cert);
            continue;
        }
        const char *addresses = zconfig_get(cert, "metadata/addresses", NULL);
        if (addresses != NULL && strlen(addresses) >= AUTH_ADDRESSES_MAX) {
            /* Cut short, a list could allow what it did not say. */
            ACTORS_LOG(ACTORS_LOG_WARN, "BRK-AUTH-SKIP",
                "file=%s its addresses are longer than %d bytes; skipped", path,
                AUTH_ADDRESSES_MAX - 1);
            zconfig_destroy(&cert);
            continue;
        }
        if (out->n == cap) {
            uint32_t ncap = cap ? cap * 2 : 16;
            auth_key_t *nv = realloc(out->v, ncap * sizeof *nv);
            if (nv == NULL) {
                rc = ACTORS_ENOMEM;
                zconfig_destroy(&cert);
                break;
            }
            out->v = nv;
            cap = ncap;
        }
        auth_key_t *k = &out->v[out->n++];
        memset(k, 0, sizeof *k);
        memcpy(k->z85, pub, 40);
        memcpy(k->key, key, 32);
        const char *name = zconfig_get(cert, "metadata/name", NULL);
        snprintf(k->name, sizeof k->name, "%.*s", AUTH_NAME_MAX - 1,
            name && *name ? name : de->d_name);
        k->role = role;
        snprintf(k->addresses, sizeof k->addresses, "%s",
            addresses != NULL ? addresses : "");
        zconfig_destroy(&cert);
    }
    closedir(d);
    if (rc != ACTORS_OK) {
        free(out->v);
        out->v = NULL;
        out->n = 0;
        return rc;
    }
    if (out->n > 1) {
        qsort(out->v, out->n, sizeof *out->v, s_key_cmp);
    }
    /* One key, one role: a key listed twice with two roles is dropped
     * (which would it be?), twice with one role kept once. */
    uint32_t w = 0;
    for (uint32_t i = 0; i < out->n;) {
        uint32_t j = i + 1;
        bool clash = false;
        while (j < out->n && strcmp(out->v[j].z85, out->v[i].z85) == 0) {
            clash |= out->v[j].role != out->v[i].role;
            j++;
        }
        if (clash) {
            ACTORS_LOG(ACTORS_LOG_WARN, "BRK-AUTH-SKIP",
                "key=%s is in %u files with different roles; refused until "
                "one is removed",
                out->v[i].z85, j - i);
        } else {
            out->v[w++] = out->v[i];
        }
        i = j;
    }
    out->n = w;
    return ACTORS_OK;
}

/* ------------------------------------------------------------ ZAP */

/* s_meta_put appends one ZMTP metadata property to buf at *len. */
static void
s_meta_put(uint8_t *buf, size_t *len, const char *name, const char *value)
{
    size_t nl = strlen(name);
    size_t vl = strlen(value);
    buf[(*len)++] = (uint8_t)nl;
    memcpy(buf + *len, name, nl);
    *len += nl;
    buf[(*len)++] = (uint8_t)(vl >> 24);
    buf[(*len)++] = (uint8_t)(vl >> 16);
    buf[(*len)++] = (uint8_t)(vl >> 8);
    buf[(*len)++] = (uint8_t)vl;
    memcpy(buf + *len, value, vl);
    *len += vl;
}

/* s_zap_answer handles one ZAP request (frames f[0..n)) and replies. */
static void
s_zap_answer(brk_auth_t *self, zmq_msg_t *f, int n)
{
    const char *status = "400";
    const char *text = "malformed ZAP request";
    char user[41] = "";
    uint8_t meta[64 + AUTH_ADDRESSES_MAX];
    size_t meta_len = 0;
    char address[64] = "";
    if (n >= 6) {
        size_t al = zmq_msg_size(&f[3]);
        if (al >= sizeof address) {
            al = sizeof address - 1;
        }
        memcpy(address, zmq_msg_data(&f[3]), al);
        address[al] = '\0';
    }
    bool curve = n == 7 && zmq_msg_size(&f[5]) == 5 &&
                 memcmp(zmq_msg_data(&f[5]), "CURVE", 5) == 0 &&
                 zmq_msg_size(&f[6]) == 32;
    if (n >= 6 && !curve) {
        text = "only CURVE is accepted";
    } else if (curve) {
        char z85[41];
        zmq_z85_encode(z85, zmq_msg_data(&f[6]), 32);
        pthread_mutex_lock(&self->lock);
        const auth_key_t *k = s_find(&self->list, z85);
        unsigned role = k ? k->role : 0;
        char name[AUTH_NAME_MAX] = "";
        char addresses[AUTH_ADDRESSES_MAX] = "";
        if (k) {
            snprintf(name, sizeof name, "%s", k->name);
            snprintf(addresses, sizeof addresses, "%s", k->addresses);
        }
        pthread_mutex_unlock(&self->lock);
        if (role != 0) {
            status = "200";
            text = "OK";
            snprintf(user, sizeof user, "%s", z85);
            s_meta_put(meta, &meta_len, "Role", brk_auth_role_name(role));
            if (addresses[0] != '\0') {
                /* Read by REGISTER (brk_auth_may_hold), with the role. */
                s_meta_put(meta, &meta_len, "Addresses", addresses);
            }
            ACTORS_LOG(ACTORS_LOG_INFO, "BRK-AUTH-OK",
                "key=%s name=%s role=%s peer=%s connection accepted", z85, name,
                brk_auth_role_name(role), address);
        } else {
            text = "key not allowed";
            self->n_refused++;
            time_t now = time(NULL);
            if (now != self->zap_log_second) {
                self->zap_log_second = now;
                self->zap_log_count = 0;
            }
            if (self->zap_log_count++ < AUTH_LOG_PER_SEC) {
                ACTORS_LOG(ACTORS_LOG_WARN, "BRK-AUTH-REFUSED",
                    "key=%s peer=%s refused=%llu unknown key; connection "
                    "refused (logged at most %d times a second)",
                    z85, address, (unsigned long long)self->n_refused,
                    AUTH_LOG_PER_SEC);
            }
        }
    }
    /* version, request id, status code, status text, user id, metadata */
    const void *data[6] = {"1.0", NULL, status, text, user, meta};
    size_t lens[6] = {3, 0, 3, strlen(text), strlen(user), meta_len};
    if (n >= 2) {
        data[1] = zmq_msg_data(&f[1]);
        lens[1] = zmq_msg_size(&f[1]);
    }
    for (int i = 0; i < 6; i++) {
        zmq_send(self->zap, data[i], lens[i], i < 5 ? ZMQ_SNDMORE : 0);
    }
}

static void *
s_zap_thread(void *arg)
{
    brk_auth_t *self = arg;
    zmq_msg_t f[AUTH_ZAP_FRAMES];
    while (!atomic_load(&self->stop)) {
        zmq_pollitem_t it = {self->zap, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, AUTH_POLL_MS) <= 0) {
            continue;
        }
        int n = 0;
        bool more = true;
        bool ok = true;
        while (more) {
            zmq_msg_t part;
            zmq_msg_init(&part);
            if (zmq_msg_recv(&part, self->zap, 0) < 0) {
                zmq_msg_close(&part);
                ok = false;
                break;
            }
            more = zmq_msg_more(&part);
            if (n < AUTH_ZAP_FRAMES) {
                f[n++] = part;
            } else {
                zmq_msg_close(&part);
                ok = false; /* too many: answered 400 */
            }
        }
        if (n > 0 || ok) {
            s_zap_answer(self, f, ok ? n : (n >= 2 ? 2 : n));
        }
        for (int i = 0; i < n; i++) {
            zmq_msg_close(&f[i]);
        }
    }
    return NULL;
}

/* ------------------------------------------------------------ lifecycle */

actors_err
brk_auth_create(
    brk_auth_t **out, void *ctx, const char *keys_dir, const char *key_path)
{
    *out = NULL;
    if (keys_dir == NULL && key_path == NULL) {
        return ACTORS_OK;
    }
    if (keys_dir == NULL || key_path == NULL) {
        ACTORS_LOG(ACTORS_LOG_ERR, "BRK-AUTH",
            "CURVE needs both --keys DIR (the allowed public keys) and --key "
            "PATH (the broker's secret certificate)");
        return ACTORS_EINVAL;
    }
    if (!zmq_has("curve")) {
        ACTORS_LOG(ACTORS_LOG_ERR, "BRK-AUTH", "libzmq has no CURVE support");
        return ACTORS_EINVAL;
    }
    brk_auth_t *self = calloc(1, sizeof *self);
    if (self == NULL) {
        return ACTORS_ENOMEM;
    }
    pthread_mutex_init(&self->lock, NULL);
    atomic_init(&self->stop, 0);
    atomic_init(&self->reload, 0);
    actors_err rc = ACTORS_OK;
    self->dir = strdup(keys_dir);
    self->cert = zcert_load(key_path);
    static const uint8_t zero[32] = {0};
    if (self->dir == NULL) {
        rc = ACTORS_ENOMEM;
    } else if (self->cert == NULL ||
               memcmp(zcert_secret_key(self->cert), zero, 32) == 0) {
        ACTORS_LOG(ACTORS_LOG_ERR, "BRK-AUTH",
            "key=%s not a secret certificate (make one: actorctl keygen "
            "broker --dir DIR, then --key DIR/broker_secret)",
            key_path);
        rc = ACTORS_EINVAL;
    }
    if (rc == ACTORS_OK) {
        rc = s_load_dir(keys_dir, &self->list);
    }
    if (rc == ACTORS_OK) {
        self->zap = zmq_socket(ctx, ZMQ_REP);
        int zero_linger = 0;
        if (self->zap == NULL ||
            zmq_setsockopt(
                self->zap, ZMQ_LINGER, &zero_linger, sizeof zero_linger) != 0 ||
            zmq_bind(self->zap, AUTH_ZAP_EP) != 0) {
            ACTORS_LOG(ACTORS_LOG_ERR, "BRK-AUTH",
                "cannot serve ZAP on " AUTH_ZAP_EP ": %s", zmq_strerror(errno));
            rc = ACTORS_EIO;
        }
    }
    if (rc == ACTORS_OK) {
        if (pthread_create(&self->thread, NULL, s_zap_thread, self) != 0) {
            rc = ACTORS_ENOMEM;
        } else {
            self->running = true;
        }
    }
    if (rc != ACTORS_OK) {
        brk_auth_destroy(&self);
        return rc;
    }
    ACTORS_LOG(ACTORS_LOG_NOTICE, "BRK-AUTH",
        "dir=%s keys=%u broker_key=%s CURVE on; only allowlisted keys may "
        "connect",
        keys_dir, self->list.n, zcert_public_txt(self->cert));
    if (self->list.n == 0) {
        ACTORS_LOG(ACTORS_LOG_WARN, "BRK-AUTH",
            "dir=%s holds no public certificate with a role: no peer can "
            "connect (actorctl keygen NAME --role ROLE --dir DIR)",
            keys_dir);
    }
    *out = self;
    return ACTORS_OK;
}

actors_err
brk_auth_server(brk_auth_t *self, void *router)
{
    if (self == NULL) {
        return ACTORS_OK;
    }
    int one = 1;
    if (zmq_setsockopt(router, ZMQ_CURVE_SERVER, &one, sizeof one) != 0 ||
        zmq_setsockopt(router, ZMQ_CURVE_SECRETKEY,
            zcert_secret_key(self->cert), 32) != 0) {
        ACTORS_LOG(ACTORS_LOG_ERR, "BRK-AUTH", "cannot make a CURVE server: %s",
            zmq_strerror(errno));
        return ACTORS_EIO;
    }
    return ACTORS_OK;
}

void
brk_auth_destroy(brk_auth_t **self_p)
{
    brk_auth_t *self = *self_p;
    if (self == NULL) {
        return;
    }
    if (self->running) {
        atomic_store(&self->stop, 1);
        pthread_join(self->thread, NULL);
    }
    if (self->zap) {
        zmq_close(self->zap);
    }
    zcert_destroy(&self->cert);
    free(self->list.v);
    free(self->revoked);
    free(self->dir);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}

static int
s_cmp_z85(const void *key, const void *elem)
{
    return strcmp(key, elem);
}

uint32_t
brk_auth_revocations(const brk_auth_t *self)
{
    return self ? self->revocations : 0;
}

bool
brk_auth_revoked(const brk_auth_t *self, const char *key)
{
    if (self == NULL || key == NULL) {
        return false;
    }
    /* In the allowlist's order (by Z85): sorted. */
    return self->n_revoked > 0 && bsearch(key, self->revoked, self->n_revoked,
                                      sizeof *self->revoked, s_cmp_z85) != NULL;
}

uint32_t
brk_auth_keys(const brk_auth_t *self)
{
    return self ? self->list.n : 0;
}

void
brk_auth_reload(brk_auth_t *self)
{
    if (self != NULL) {
        atomic_store(&self->reload, 1);
    }
}

/* s_close_later shuts the connection of fd down at the first tick
 * AUTH_CLOSE_MS from now: the Forbidden just queued for it leaves with
 * the loop's next flush, and libzmq's I/O thread writes it soon after; a
 * shutdown now would lose it. Full: at once. */
static void
s_close_later(brk_auth_t *self, int fd, int64_t now)
{
    brk_fdends_t e;
    if (fd < 0 || !brk_fdends_read(fd, &e)) {
        return;
    }
    for (uint32_t i = 0; i < self->n_closing; i++) {
        if (self->closing[i].fd == fd && self->closing[i].ino == e.ino) {
            return; /* its earlier messages put it here already */
        }
    }
    if (self->n_closing == AUTH_CLOSING_MAX) {
        brk_fdends_shutdown(&e);
        return;
    }
    self->closing[self->n_closing] = e;
    self->closing_due[self->n_closing++] = now + AUTH_CLOSE_MS;
}

/* s_close_due shuts down the connections whose time has come. */
static void
s_close_due(brk_auth_t *self, int64_t now)
{
    for (uint32_t i = 0; i < self->n_closing;) {
        if (self->closing_due[i] > now) {
            i++;
            continue;
        }
        brk_fdends_shutdown(&self->closing[i]);
        self->n_closing--;
        self->closing[i] = self->closing[self->n_closing];
        self->closing_due[i] = self->closing_due[self->n_closing];
    }
}

void
brk_auth_tick(brk_auth_t *self, int64_t now)
{
    if (self == NULL) {
        return;
    }
    s_close_due(self, now);
    if (!atomic_exchange(&self->reload, 0)) {
        return;
    }
    auth_list_t fresh;
    if (s_load_dir(self->dir, &fresh) != ACTORS_OK) {
        ACTORS_LOG(ACTORS_LOG_ERR, "BRK-AUTH-RELOAD",
            "dir=%s cannot be read; the old allowlist stays", self->dir);
        return;
    }
    uint32_t removed = 0;
    char(*gone)[41] = NULL;
    for (uint32_t i = 0; i < self->list.n; i++) {
        const auth_key_t *k = s_find(&fresh, self->list.v[i].z85);
        if (k == NULL || k->role != self->list.v[i].role ||
            strcmp(k->addresses, self->list.v[i].addresses) != 0) {
            if (gone == NULL) {
                gone = calloc(self->list.n, sizeof *gone);
            }
            if (gone != NULL) {
                memcpy(gone[removed], self->list.v[i].z85, sizeof *gone);
            }
            removed++;
        }
    }
    if (removed > 0) {
        /* Out of memory for the list: connections are closed at their
         * next message only (brk_auth_admit), as before a sweep. */
        free(self->revoked);
        self->revoked = gone;
        self->n_revoked = gone != NULL ? removed : 0;
        self->revocations++;
    }
    pthread_mutex_lock(&self->lock);
    auth_list_t old = self->list;
    self->list = fresh;
    pthread_mutex_unlock(&self->lock);
    free(old.v);
    if (removed > 0) {
        self->changed = true;
    }
    ACTORS_LOG(ACTORS_LOG_NOTICE, "BRK-AUTH-RELOAD",
        "dir=%s keys=%u removed_or_changed=%u allowlist reloaded", self->dir,
        fresh.n, removed);
}

/* ------------------------------------------------------------ admit */

/* s_forbid answers m Forbidden and logs it (rate-limited). */
static void
s_forbid(brk_auth_t *self, brk_broker_t *core, const brk_in_t *m,
    const char *key, const char *role, const char *why)
{
    self->n_forbidden++;
    const char *cmd = s_cmd_names[m->h.cmd];
    char cmd_buf[8];
    if (cmd == NULL) {
        snprintf(cmd_buf, sizeof cmd_buf, "0x%02x", m->h.cmd);
        cmd = cmd_buf;
    }
    char address[256] = "";
    if (m->h.address != NULL) {
        size_t n = m->h.address_len < sizeof address - 1 ? m->h.address_len
                                                         : sizeof address - 1;
        memcpy(address, m->h.address, n);
        address[n] = '\0';
    }
    int64_t second = core->now / 1000;
    if (second != self->log_second) {
        self->log_second = second;
        self->log_count = 0;
    }
    if (self->log_count++ < AUTH_LOG_PER_SEC) {
        ACTORS_LOG(ACTORS_LOG_WARN, "BRK-FORBIDDEN",
            "cmd=%s role=%s key=%s forbidden=%llu %s; refused, nothing changed",
            cmd, role, key, (unsigned long long)self->n_forbidden, why);
    }
    brk_core_error(core, m->rid, m->delim, m->hdr, ACTORS_EFORBIDDEN, address,
        "%s may not send %s (%s)", role, cmd, why);
}

bool
brk_auth_admit(brk_auth_t *self, brk_broker_t *core, const brk_in_t *m)
{
    if (self == NULL) {
        return true;
    }
    /* One property lookup per message on the hot path; the key only
     * when it is needed. */
    unsigned role = brk_auth_role_parse(zmq_msg_gets(m->hdr, "Role"));
    if (role != 0 && !self->changed && (s_roles[m->h.cmd] & role) != 0) {
        return true;
    }
    const char *key = zmq_msg_gets(m->hdr, "User-Id");
    if (key == NULL) {
        key = "";
    }
    if (self->changed) {
        /* The allowlist lost keys or changed roles since this connection
         * was accepted: its role must still be the key's. */
        const auth_key_t *k = s_find(&self->list, key);
        if (k == NULL || k->role != role) {
            /* Read before the answer: sending it empties m->hdr. */
            int fd = zmq_msg_get(m->hdr, ZMQ_SRCFD);
            s_forbid(self, core, m, key, brk_auth_role_name(role),
                k == NULL ? "its key was removed from the allowlist; "
                            "connection closed"
                          : "its key's role changed; connection closed "
                            "(reconnect to take the new role)");
            s_close_later(self, fd, core->now);
            return false;
        }
    }
    if (role != 0 && (s_roles[m->h.cmd] & role) != 0) {
        return true;
    }
    s_forbid(self, core, m, key, brk_auth_role_name(role),
        "not allowed for this role");
    return false;
}

bool
brk_auth_may_hold(const char *patterns, const char *address)
{
    if (patterns == NULL || patterns[0] == '\0') {
        return true;
    }
    char copy[AUTH_ADDRESSES_MAX];
    snprintf(copy, sizeof copy, "%s", patterns);
    char *save = NULL;
    for (char *p = strtok_r(copy, ", \t", &save); p != NULL;
         p = strtok_r(NULL, ", \t", &save)) {
        if (fnmatch(p, address, 0) == 0) {
            return true;
        }
    }
    return false;
}

void
brk_broker_reload(brk_broker_t *self)
{
    brk_auth_reload(self->auth);
}
