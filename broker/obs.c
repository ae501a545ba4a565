/* broker/obs.c - call tracing, Prometheus metrics and the dashboard's
 * data (obs.h).
 * SPDX-License-Identifier: MIT
 *
 * Per call (broker loop): the entry's row of methods is found by index,
 * the method by a short linear scan (a service has few), the outcome by
 * a switch and the latency bucket by a scan of 16 bounds: no allocation
 * once a method has been seen, no lock, no string formatting. An address
 * the broker does not know (NoSuchActor) counts under address "", so
 * unknown names cannot grow the table. A group's member counts under its
 * group (group.h): every rendering shows a group as one address, with its
 * figures summed (brk_group_sum) as its LOOKUP has them, and no member.
 *
 * Snapshots: the HTTP thread sets a want flag and waits (at most
 * OBS_WAIT_MS) on a condition variable; the loop's tick sees the flag,
 * renders the text (open_memstream) and hands it over under the mutex.
 */
#include "obs.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <actors/json.h>
#include <actors/log.h>

#include <actors-internal/alloc.h>
#include <actors-internal/httpd.h>
#include <actors-internal/unpack.h>

#include "calls.h"
#include "dashboard.h"
#include "group.h"

#define OBS_WAIT_MS 3000   /* longest wait of a scrape for the loop */
#define OBS_METHOD_MAX 64  /* method bytes kept; longer ones are cut */
#define OBS_METHODS_MAX 64 /* methods per address; more count as "..." */
#define OBS_ADDRS_MAX                                                          \
    100 /* addresses with a latency histogram of their                         \
           own; the others' are summed as "..." */

/* Outcomes, by the code call_done_cb gets. */
enum {
    OUT_OK,
    OUT_ERROR, /* the actor answered ERROR */
    OUT_TIMEOUT,
    OUT_CRASHED,
    OUT_DEAD,
    OUT_FULL,
    OUT_NOACTOR,
    OUT_OTHER,
    OUT_N
};
static const char *const s_outcomes[OUT_N] = {"ok", "error", "Timeout",
    "ActorCrashed", "ActorDead", "MailboxFull", "NoSuchActor", "other"};

/* Latency buckets: the core's (calls.h), so that the per-method and the
 * per-address histograms agree. */
#define OBS_NB BRK_CALLS_NB
#define s_bounds_us brk_calls_bounds_us

typedef struct {
    char name[OBS_METHOD_MAX + 1];
    uint8_t len;
    uint64_t calls[OUT_N];
    uint64_t hist[OBS_NB + 1]; /* non-cumulative; [OBS_NB] is +Inf */
    uint64_t sum_us;
} obs_method_t;

typedef struct {
    obs_method_t *v;
    uint32_t n;
    uint32_t cap;
} obs_row_t;

typedef struct {
    brk_broker_t *core;
    bool trace;
    obs_row_t *rows; /* per registry index */
    uint32_t nrows;
    obs_row_t unknown; /* calls to addresses not in the registry */
    actors__httpd_t *httpd;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    atomic_bool want_metrics;
    atomic_bool want_state;
    uint64_t gen_metrics; /* bumped at each render; under mu */
    uint64_t gen_state;
    char *metrics; /* last rendered texts; under mu */
    size_t metrics_len;
    char *state;
    size_t state_len;
} obs_t;

/* ------------------------------------------------------------ counting */

static int
s_outcome(int code)
{
    switch (code) {
    case ACTORS_OK:
        return OUT_OK;
    case ACTORS_EAPP:
        return OUT_ERROR;
    case ACTORS_ETIMEDOUT:
        return OUT_TIMEOUT;
    case ACTORS_ECRASHED:
        return OUT_CRASHED;
    case ACTORS_EDEAD:
        return OUT_DEAD;
    case ACTORS_EFULL:
        return OUT_FULL;
    case ACTORS_ENOACTOR:
        return OUT_NOACTOR;
    default:
        return OUT_OTHER;
    }
}

static obs_row_t *
s_row(obs_t *self, uint32_t ei)
{
    if (ei == BRK_NONE) {
        return &self->unknown;
    }
    if (ei >= self->nrows) {
        uint32_t n = self->nrows ? self->nrows : 64;
        while (n <= ei) {
            n *= 2;
        }
        obs_row_t *v = actors__realloc(self->rows, (size_t)n * sizeof *v);
        if (v == NULL) {
            return NULL;
        }
        memset(&v[self->nrows], 0, (size_t)(n - self->nrows) * sizeof *v);
        self->rows = v;
        self->nrows = n;
    }
    return &self->rows[ei];
}

static obs_method_t *
s_method(obs_row_t *row, const uint8_t *name, size_t len)
{
    if (len > OBS_METHOD_MAX) {
        len = OBS_METHOD_MAX;
    }
    for (uint32_t i = 0; i < row->n; i++) {
        obs_method_t *m = &row->v[i];
        if (m->len == len && memcmp(m->name, name, len) == 0) {
            return m;
        }
    }
    if (row->n == OBS_METHODS_MAX) {
        return &row->v[row->n - 1]; /* the last one takes the rest */
    }
    if (row->n == row->cap) {
        uint32_t cap = row->cap ? row->cap * 2 : 4;
        obs_method_t *v = actors__realloc(row->v, (size_t)cap * sizeof *v);
        if (v == NULL) {
            return NULL;
        }
        row->v = v;
        row->cap = cap;
    }
    obs_method_t *m = &row->v[row->n++];
    memset(m, 0, sizeof *m);
    if (row->n == OBS_METHODS_MAX) {
        len = 3;
        name = (const uint8_t *)"...";
    }
    memcpy(m->name, name, len);
    m->len = (uint8_t)len;
    return m;
}

static void
s_call_done(void *arg, uint32_t ei, const uint8_t *address, size_t alen,
    const uint8_t *method, size_t mlen, int code, int64_t us)
{
    obs_t *self = arg;
    int out = s_outcome(code);
    if (self->trace) {
        ACTORS_LOG(ACTORS_LOG_DEBUG, "BRK-CALL",
            "address=%.*s method=%.*s outcome=%s us=%lld", (int)alen,
            (const char *)address, (int)mlen, (const char *)method,
            out == OUT_OTHER ? actors_err_name((actors_err)code)
                             : s_outcomes[out],
            (long long)us);
    }
    if (self->httpd == NULL) {
        return;
    }
    if (ei != BRK_NONE) {
        uint32_t gi = brk_registry_at(&self->core->reg, ei)->group;
        if (gi != BRK_NONE) {
            ei = gi; /* a group's member: counted as its group's call */
        }
    }
    obs_row_t *row = s_row(self, ei);
    obs_method_t *m = row ? s_method(row, method, mlen) : NULL;
    if (m == NULL) {
        return; /* out of memory: not counted */
    }
    m->calls[out]++;
    m->hist[brk_calls_bucket(us)]++;
    m->sum_us += (uint64_t)us;
}

static void
s_entry_freed(void *arg, uint32_t ei)
{
    obs_t *self = arg;
    if (ei < self->nrows) {
        actors__free(self->rows[ei].v);
        memset(&self->rows[ei], 0, sizeof self->rows[ei]);
    }
}

/* ------------------------------------------------------------ rendering */

/* s_label writes s (n bytes) as a Prometheus label value, escaped. */
static void
s_label(FILE *f, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '\\' || c == '"') {
            fputc('\\', f);
            fputc(c, f);
        } else if (c == '\n') {
            fputs("\\n", f);
        } else {
            fputc(c, f);
        }
    }
}

/* The fields of an entry the rendering wants, read from its LOOKUP map
 * (brk_core_pack_entry, with every extension's fields). */
typedef struct {
    const char *state;
    char node[256];
    int64_t restarts;
} obs_entry_info_t;

static void
s_entry_info(obs_t *self, uint32_t ei, obs_entry_info_t *info)
{
    brk_broker_t *core = self->core;
    info->state = brk_core_state_name(core, ei);
    info->node[0] = '\0';
    info->restarts = 0;
    msgpack_sbuffer_clear(&core->sbuf);
    brk_core_pack_entry(core, ei);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    if (actors__unpack_next(&up, core->sbuf.data, core->sbuf.size, NULL) ==
        MSGPACK_UNPACK_SUCCESS) {
        const char *p = NULL;
        size_t n = 0;
        if (actors_value_str(actors_map_get(&up.data, "node"), &p, &n) ==
                ACTORS_OK &&
            n < sizeof info->node) {
            memcpy(info->node, p, n);
            info->node[n] = '\0';
        }
        actors_value_int(actors_map_get(&up.data, "restarts"), &info->restarts);
    }
    msgpack_unpacked_destroy(&up);
    msgpack_sbuffer_clear(&core->sbuf);
}

static bool
s_listed(const brk_entry_t *e)
{
    /* A group's members are inside its figures (group.h), as in LIST. */
    return e->state != BRK_ENTRY_FREE && e->group == BRK_NONE;
}

/* s_calls returns the call counts of listed entry ei: a group's are its
 * own and its members' (brk_group_sum), into *buf. */
static const brk_calls_t *
s_calls(brk_broker_t *core, uint32_t ei, brk_calls_t *buf)
{
    const brk_entry_t *e = brk_registry_at(&core->reg, ei);
    if (!e->is_group) {
        return &e->calls;
    }
    brk_group_sum_t sum;
    brk_group_sum(core, ei, &sum);
    *buf = sum.calls;
    return buf;
}

/* s_render_methods writes the call counters of row (address a) and adds
 * its methods' histograms into the per-method totals. */
static void
s_render_calls(FILE *f, const char *a, size_t alen, const obs_row_t *row)
{
    for (uint32_t i = 0; i < row->n; i++) {
        const obs_method_t *m = &row->v[i];
        for (int o = 0; o < OUT_N; o++) {
            if (m->calls[o] == 0) {
                continue;
            }
            fputs("actors_calls_total{address=\"", f);
            s_label(f, a, alen);
            fputs("\",method=\"", f);
            s_label(f, m->name, m->len);
            fprintf(f, "\",outcome=\"%s\"} %llu\n", s_outcomes[o],
                (unsigned long long)m->calls[o]);
        }
    }
}

/* s_render_hist sums every row's histograms by method name and writes
 * them. The number of distinct methods is small: a linear merge. */
static void
s_render_hist(FILE *f, obs_t *self)
{
    obs_row_t all = {NULL, 0, 0};
    for (uint32_t r = 0; r <= self->nrows; r++) {
        const obs_row_t *row =
            r < self->nrows ? &self->rows[r] : &self->unknown;
        for (uint32_t i = 0; i < row->n; i++) {
            const obs_method_t *m = &row->v[i];
            obs_method_t *t = s_method(&all, (const uint8_t *)m->name, m->len);
            if (t == NULL) {
                break;
            }
            for (int b = 0; b <= OBS_NB; b++) {
                t->hist[b] += m->hist[b];
            }
            t->sum_us += m->sum_us;
        }
    }
    fputs("# HELP actors_call_duration_seconds Time from the broker taking a "
          "call to its answer, by method.\n"
          "# TYPE actors_call_duration_seconds histogram\n",
        f);
    for (uint32_t i = 0; i < all.n; i++) {
        const obs_method_t *m = &all.v[i];
        uint64_t cum = 0;
        for (int b = 0; b <= OBS_NB; b++) {
            cum += m->hist[b];
            fputs("actors_call_duration_seconds_bucket{method=\"", f);
            s_label(f, m->name, m->len);
            if (b < OBS_NB) {
                fprintf(f, "\",le=\"%g\"} %llu\n", (double)s_bounds_us[b] / 1e6,
                    (unsigned long long)cum);
            } else {
                fprintf(f, "\",le=\"+Inf\"} %llu\n", (unsigned long long)cum);
            }
        }
        fputs("actors_call_duration_seconds_sum{method=\"", f);
        s_label(f, m->name, m->len);
        fprintf(f, "\"} %.6f\n", (double)m->sum_us / 1e6);
        fputs("actors_call_duration_seconds_count{method=\"", f);
        s_label(f, m->name, m->len);
        fprintf(f, "\"} %llu\n", (unsigned long long)cum);
    }
    actors__free(all.v);
}

static void
s_gauge_head(FILE *f, const char *name, const char *type, const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* s_render_one_addr writes the latency histogram and error count of one
 * address (n bytes of a). */
static void
s_render_one_addr(
    FILE *hf, FILE *ef, const char *a, size_t n, const brk_calls_t *c)
{
    uint64_t cum = 0;
    for (int b = 0; b <= OBS_NB; b++) {
        cum += c->hist[b];
        fputs("actors_address_call_duration_seconds_bucket{address=\"", hf);
        s_label(hf, a, n);
        if (b < OBS_NB) {
            fprintf(hf, "\",le=\"%g\"} %llu\n", (double)s_bounds_us[b] / 1e6,
                (unsigned long long)cum);
        } else {
            fprintf(hf, "\",le=\"+Inf\"} %llu\n", (unsigned long long)cum);
        }
    }
    fputs("actors_address_call_duration_seconds_sum{address=\"", hf);
    s_label(hf, a, n);
    fprintf(hf, "\"} %.6f\n", (double)c->sum_us / 1e6);
    fputs("actors_address_call_duration_seconds_count{address=\"", hf);
    s_label(hf, a, n);
    fprintf(hf, "\"} %llu\n", (unsigned long long)cum);
    fputs("actors_address_call_errors_total{address=\"", ef);
    s_label(ef, a, n);
    fprintf(ef, "\"} %llu\n", (unsigned long long)c->errors);
}

/* s_render_addrs writes the core's per-address call counts (calls.h):
 * the first OBS_ADDRS_MAX addresses with calls each on their own, the
 * rest summed under address "...", so the series stay bounded. */
static void
s_render_addrs(FILE *f, obs_t *self)
{
    brk_broker_t *core = self->core;
    char *errs = NULL;
    size_t errs_len = 0;
    FILE *ef = open_memstream(&errs, &errs_len);
    if (ef == NULL) {
        return;
    }
    s_gauge_head(f, "actors_address_call_duration_seconds", "histogram",
        "Time from the broker taking a call to its answer, by address.");
    s_gauge_head(ef, "actors_address_call_errors_total", "counter",
        "Calls answered with an error (the actor's or the broker's), by "
        "address.");
    brk_calls_t rest;
    memset(&rest, 0, sizeof rest);
    uint32_t shown = 0;
    bool more = false;
    for (uint32_t ei = 0; ei < core->reg.used; ei++) {
        const brk_entry_t *e = brk_registry_at(&core->reg, ei);
        if (!s_listed(e)) {
            continue;
        }
        brk_calls_t buf;
        const brk_calls_t *c = s_calls(core, ei, &buf);
        uint64_t n = 0;
        for (int b = 0; b <= OBS_NB; b++) {
            n += c->hist[b];
        }
        if (n == 0) {
            continue;
        }
        if (shown < OBS_ADDRS_MAX) {
            s_render_one_addr(f, ef, e->address, e->address_len, c);
            shown++;
            continue;
        }
        more = true;
        brk_calls_merge(&rest, c);
    }
    if (more) {
        s_render_one_addr(f, ef, "...", 3, &rest);
    }
    if (fclose(ef) == 0) {
        fwrite(errs, 1, errs_len, f);
    }
    free(errs);
}

static void
s_render_metrics(obs_t *self, char **out, size_t *len)
{
    brk_broker_t *core = self->core;
    *out = NULL;
    *len = 0;
    FILE *f = open_memstream(out, len);
    if (f == NULL) {
        return;
    }
    s_gauge_head(f, "actors_calls_total", "counter",
        "Calls answered, by address, method and outcome (ok, error: the "
        "actor's ERROR, or the broker's error type).");
    for (uint32_t ei = 0; ei < core->reg.used && ei < self->nrows; ei++) {
        const brk_entry_t *e = brk_registry_at(&core->reg, ei);
        if (s_listed(e)) {
            s_render_calls(f, e->address, e->address_len, &self->rows[ei]);
        }
    }
    s_render_calls(f, "", 0, &self->unknown);
    s_render_hist(f, self);
    s_render_addrs(f, self);

    struct {
        const char *name;
        const char *help;
    } g[] = {
        {"actors_mailbox_depth", "Messages waiting in the address's mailbox."},
        {"actors_inflight", "Messages handed to the actor, not answered yet."},
        {"actors_credit", "More messages the actor may be handed now "
                          "(prefetch - in flight)."},
        {"actors_handled_total", "Calls answered and tells credited."},
        {"actors_restarts", "Restarts of the address so far, as its node "
                            "reports them."},
    };
    for (size_t k = 0; k < sizeof g / sizeof g[0]; k++) {
        s_gauge_head(f, g[k].name, k == 3 ? "counter" : "gauge", g[k].help);
        for (uint32_t ei = 0; ei < core->reg.used; ei++) {
            const brk_entry_t *e = brk_registry_at(&core->reg, ei);
            if (!s_listed(e) || e->state == BRK_ENTRY_DEAD) {
                continue;
            }
            uint64_t out_n = (uint64_t)e->calls_out + e->tells_out;
            brk_group_sum_t sum;
            if (e->is_group) {
                brk_group_sum(core, ei, &sum); /* as its LOOKUP says */
            } else {
                sum.mailbox = e->mailbox.count;
                sum.inflight = out_n;
                sum.credit =
                    e->state == BRK_ENTRY_RUNNING && e->prefetch > out_n
                        ? e->prefetch - out_n
                        : 0;
                sum.handled = e->handled;
            }
            uint64_t v = 0;
            if (k == 0) {
                v = sum.mailbox;
            } else if (k == 1) {
                v = sum.inflight;
            } else if (k == 2) {
                v = sum.credit;
            } else if (k == 3) {
                v = sum.handled;
            } else {
                obs_entry_info_t info;
                s_entry_info(self, ei, &info);
                v = info.restarts > 0 ? (uint64_t)info.restarts : 0;
            }
            fprintf(f, "%s{address=\"", g[k].name);
            s_label(f, e->address, e->address_len);
            fprintf(f, "\"} %llu\n", (unsigned long long)v);
        }
    }
    s_gauge_head(f, "actors_actor_info", "gauge",
        "1 per address the broker knows, with its state and node.");
    for (uint32_t ei = 0; ei < core->reg.used; ei++) {
        const brk_entry_t *e = brk_registry_at(&core->reg, ei);
        if (!s_listed(e)) {
            continue;
        }
        obs_entry_info_t info;
        s_entry_info(self, ei, &info);
        fputs("actors_actor_info{address=\"", f);
        s_label(f, e->address, e->address_len);
        fputs("\",service=\"", f);
        s_label(f, e->service, strlen(e->service));
        fprintf(f, "\",state=\"%s\",node=\"", info.state);
        s_label(f, info.node, strlen(info.node));
        fputs("\"} 1\n", f);
    }
    uint32_t nodes = 0;
    uint32_t actors = 0;
    for (uint32_t ci = 0; ci < core->conns.used; ci++) {
        const brk_conn_t *c = brk_conns_at(&core->conns, ci);
        if (c->rid_len > 0 && (c->roles & BRK_ROLE_NODE)) {
            nodes++;
        }
        if (c->rid_len > 0 && (c->roles & BRK_ROLE_ACTOR)) {
            actors++;
        }
    }
    s_gauge_head(f, "actors_nodes", "gauge",
        "Nodes (supervisors) connected to the broker.");
    fprintf(f, "actors_nodes %u\n", nodes);
    s_gauge_head(f, "actors_actor_connections", "gauge",
        "Actor processes connected to the broker.");
    fprintf(f, "actors_actor_connections %u\n", actors);
    s_gauge_head(f, "actors_running", "gauge", "Addresses running now.");
    fprintf(f, "actors_running %u\n", core->running);
    struct {
        const char *name;
        const char *help;
        uint64_t v;
    } c[] = {
        {"actors_broker_messages_total", "Messages the broker received.",
            core->n_msgs},
        {"actors_undelivered_replies_total",
            "Answers dropped: the peer's queue was full.", core->n_undelivered},
        {"actors_unroutable_replies_total",
            "Answers dropped: the peer was gone.", core->n_unroutable},
        {"actors_late_replies_total",
            "Replies after a Timeout, or matching no call.", core->n_late},
        {"actors_bad_messages_total", "Malformed messages.", core->n_bad},
        {"actors_requeued_total",
            "Messages an actor never started, put back after it died.",
            core->n_requeued},
        {"actors_tells_lost_total", "Tells in flight when their actor died.",
            core->n_tells_lost},
    };
    for (size_t k = 0; k < sizeof c / sizeof c[0]; k++) {
        s_gauge_head(f, c[k].name, "counter", c[k].help);
        fprintf(f, "%s %llu\n", c[k].name, (unsigned long long)c[k].v);
    }
    fclose(f);
}

/* s_render_state packs the dashboard's map and renders it as JSON:
 * {ms, actors: [LOOKUP maps + calls], nodes, events, totals}. */
static void
s_render_state(obs_t *self, char **out, size_t *len)
{
    brk_broker_t *core = self->core;
    *out = NULL;
    *len = 0;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    uint32_t extra = 0;
    for (int i = 0; i < core->n_ext; i++) {
        if (core->ext[i].pack_status_cb) {
            extra += core->ext[i].status_fields;
        }
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    msgpack_pack_map(&pk, 3 + extra);
    brk_core_pack_str(&pk, "ms");
    msgpack_pack_int64(&pk, (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
    brk_core_pack_str(&pk, "messages");
    msgpack_pack_uint64(&pk, core->n_msgs);
    uint32_t n = 0;
    for (uint32_t ei = 0; ei < core->reg.used; ei++) {
        n += s_listed(brk_registry_at(&core->reg, ei));
    }
    brk_core_pack_str(&pk, "actors");
    msgpack_pack_array(&pk, n);
    for (uint32_t ei = 0; ei < core->reg.used; ei++) {
        if (!s_listed(brk_registry_at(&core->reg, ei))) {
            continue;
        }
        msgpack_sbuffer_clear(&core->sbuf);
        brk_core_pack_entry(core, ei);
        msgpack_sbuffer_write(&sb, core->sbuf.data, core->sbuf.size);
        msgpack_sbuffer_clear(&core->sbuf);
    }
    for (int i = 0; i < core->n_ext; i++) {
        if (core->ext[i].pack_status_cb) {
            core->ext[i].pack_status_cb(core->ext[i].self, &pk);
        }
    }
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    if (actors__unpack_next(&up, sb.data, sb.size, NULL) ==
        MSGPACK_UNPACK_SUCCESS) {
        if (actors_json_dump(&up.data, out) == ACTORS_OK && *out != NULL) {
            *len = strlen(*out);
        }
    }
    msgpack_unpacked_destroy(&up);
    msgpack_sbuffer_destroy(&sb);
}

static void
s_tick(void *arg)
{
    obs_t *self = arg;
    if (self->httpd == NULL) {
        return;
    }
    bool wm = atomic_exchange(&self->want_metrics, false);
    bool ws = atomic_exchange(&self->want_state, false);
    if (!wm && !ws) {
        return;
    }
    char *m = NULL;
    size_t mlen = 0;
    char *s = NULL;
    size_t slen = 0;
    if (wm) {
        s_render_metrics(self, &m, &mlen);
    }
    if (ws) {
        s_render_state(self, &s, &slen);
    }
    pthread_mutex_lock(&self->mu);
    if (wm && m != NULL) {
        free(self->metrics);
        self->metrics = m;
        self->metrics_len = mlen;
        self->gen_metrics++;
        m = NULL;
    }
    if (ws && s != NULL) {
        free(self->state);
        self->state = s;
        self->state_len = slen;
        self->gen_state++;
        s = NULL;
    }
    pthread_cond_broadcast(&self->cv);
    pthread_mutex_unlock(&self->mu);
    free(m);
    free(s);
}

/* ------------------------------------------------------------ HTTP */

/* s_fresh asks the loop for a new rendering of one text and copies it. */
static int
s_fresh(obs_t *self, bool metrics, actors__httpd_page_t *page)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += OBS_WAIT_MS / 1000;
    pthread_mutex_lock(&self->mu);
    uint64_t *gen = metrics ? &self->gen_metrics : &self->gen_state;
    uint64_t seen = *gen;
    atomic_store(metrics ? &self->want_metrics : &self->want_state, true);
    int rc = 0;
    while (*gen == seen && rc != ETIMEDOUT) {
        rc = pthread_cond_timedwait(&self->cv, &self->mu, &until);
    }
    const char *text = metrics ? self->metrics : self->state;
    size_t len = metrics ? self->metrics_len : self->state_len;
    if (text != NULL) {
        page->body = malloc(len ? len : 1);
        if (page->body != NULL) {
            memcpy(page->body, text, len);
            page->len = len;
        }
    }
    pthread_mutex_unlock(&self->mu);
    if (page->body == NULL) {
        return 503; /* the loop has not rendered anything yet */
    }
    page->type = metrics ? "text/plain; version=0.0.4; charset=utf-8"
                         : "application/json";
    return 200;
}

static int
s_page(void *arg, const char *path, actors__httpd_page_t *page)
{
    obs_t *self = arg;
    if (strcmp(path, "/metrics") == 0) {
        return s_fresh(self, true, page);
    }
    if (strcmp(path, "/api/state") == 0) {
        return s_fresh(self, false, page);
    }
    if (strcmp(path, "/") == 0 || strcmp(path, "/index.html") == 0) {
        size_t n = strlen(brk_dashboard_html);
        page->body = malloc(n);
        if (page->body == NULL) {
            return 500;
        }
        memcpy(page->body, brk_dashboard_html, n);
        page->len = n;
        page->type = "text/html; charset=utf-8";
        return 200;
    }
    return 404;
}

/* ------------------------------------------------------------ life */

static void
s_destroy(void *arg)
{
    obs_t *self = arg;
    actors__httpd_stop(&self->httpd); /* its thread is gone after this */
    for (uint32_t i = 0; i < self->nrows; i++) {
        actors__free(self->rows[i].v);
    }
    actors__free(self->rows);
    actors__free(self->unknown.v);
    free(self->metrics);
    free(self->state);
    pthread_cond_destroy(&self->cv);
    pthread_mutex_destroy(&self->mu);
    actors__free(self);
}

actors_err
brk_obs_attach(brk_broker_t *core, const brk_obs_opts_t *opts)
{
    if (!opts->trace && !opts->http) {
        return ACTORS_OK;
    }
    obs_t *self = actors__zalloc(sizeof *self);
    if (self == NULL) {
        return ACTORS_ENOMEM;
    }
    self->core = core;
    self->trace = opts->trace;
    pthread_mutex_init(&self->mu, NULL);
    pthread_cond_init(&self->cv, NULL);
    atomic_init(&self->want_metrics, false);
    atomic_init(&self->want_state, false);
    if (opts->http) {
        actors_err rc = actors__httpd_start(
            &self->httpd, opts->host, opts->port, s_page, self);
        if (rc != ACTORS_OK) {
            ACTORS_LOG(ACTORS_LOG_ERR, "BRK-METRICS-FAILED",
                "host=%s port=%u cannot serve metrics: %s",
                opts->host ? opts->host : "127.0.0.1", (unsigned)opts->port,
                rc == ACTORS_EINVAL ? "not an IPv4 address"
                                    : "cannot listen there");
            s_destroy(self);
            return rc;
        }
        ACTORS_LOG(ACTORS_LOG_NOTICE, "BRK-METRICS",
            "url=http://%s:%u/metrics dashboard=http://%s:%u/ serving",
            opts->host ? opts->host : "127.0.0.1",
            (unsigned)actors__httpd_port(self->httpd),
            opts->host ? opts->host : "127.0.0.1",
            (unsigned)actors__httpd_port(self->httpd));
    }
    brk_ext_t ext = {
        .self = self,
        .entry_freed_cb = s_entry_freed,
        .tick_cb = s_tick,
        .call_done_cb = s_call_done,
        .destroy_cb = s_destroy,
    };
    if (brk_core_attach(core, &ext) != ACTORS_OK) {
        s_destroy(self);
        return ACTORS_ENOMEM;
    }
    core->observe = true;
    return ACTORS_OK;
}
