/* tools/actorctl/top.c - `actorctl top` (top.h).
 * SPDX-License-Identifier: MIT
 */
#define _POSIX_C_SOURCE 200809L
#include "top.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <actors/actors.h>

#include "commands.h"
#include "text.h"

/* The broker's latency buckets (PROTOCOL.md, LOOKUP "latency_hist"):
 * upper bounds in us; the last bucket has none. */
#define TOP_NB 16
static const int64_t s_bounds_us[TOP_NB] = {100, 250, 500, 1000, 2500, 5000,
    10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000, 5000000,
    10000000};

typedef struct {
    char address[256];
    char node[64];
    char state[16];
    int64_t pid;
    int64_t mailbox;
    int64_t inflight;
    int64_t handled;
    int64_t restarts;
    int64_t errors;
    int64_t hist[TOP_NB + 1]; /* LOOKUP "latency_hist" */
    double rate;              /* calls/s since the last frame; < 0 unknown */
    double err_rate;          /* errors/s since the last frame; < 0 unknown */
    int p50; /* latency bucket of the median call in the frame's
                window (since the last frame, or since the
                address began on the first); -1 none */
    int p99;
} top_row_t;

static int64_t
s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
s_str(const msgpack_object *map, const char *key, char *buf, size_t cap)
{
    const char *p = NULL;
    size_t n = 0;
    buf[0] = '\0';
    if (actors_value_str(actors_map_get(map, key), &p, &n) == ACTORS_OK) {
        text_printable(buf, cap, p, n);
    }
    if (buf[0] == '\0') {
        snprintf(buf, cap, "-");
    }
}

static int64_t
s_int(const msgpack_object *map, const char *key)
{
    int64_t v = 0;
    actors_value_int(actors_map_get(map, key), &v);
    return v;
}

/* s_hist reads the LOOKUP map's "latency_hist" into hist (zeros when the
 * broker sends none). */
static void
s_hist(const msgpack_object *map, int64_t *hist)
{
    memset(hist, 0, (TOP_NB + 1) * sizeof *hist);
    const msgpack_object *a = actors_map_get(map, "latency_hist");
    if (a == NULL || a->type != MSGPACK_OBJECT_ARRAY) {
        return;
    }
    for (uint32_t b = 0; b < a->via.array.size && b <= TOP_NB; b++) {
        actors_value_int(&a->via.array.ptr[b], &hist[b]);
    }
}

/* s_quantile returns the bucket holding quantile q of the calls counted
 * in hist minus base (base NULL: none), or -1 if there are none. */
static int
s_quantile(const int64_t *hist, const int64_t *base, double q)
{
    int64_t d[TOP_NB + 1];
    int64_t n = 0;
    for (int b = 0; b <= TOP_NB; b++) {
        d[b] = hist[b] - (base ? base[b] : 0);
        if (d[b] < 0) {
            return -1; /* the address was reused: counts started again */
        }
        n += d[b];
    }
    if (n == 0) {
        return -1;
    }
    int64_t rank = (int64_t)(q * (double)n + 0.999999); /* nearest rank */
    int64_t cum = 0;
    for (int b = 0; b <= TOP_NB; b++) {
        cum += d[b];
        if (cum >= rank) {
            return b;
        }
    }
    return TOP_NB;
}

/* s_bucket_text writes bucket b's upper bound as text: "250us", "2.5ms",
 * "1s", ">10s"; "-" for -1. */
static void
s_bucket_text(int b, char *buf, size_t cap)
{
    if (b < 0) {
        snprintf(buf, cap, "-");
    } else if (b >= TOP_NB) {
        snprintf(buf, cap, ">%gs", (double)s_bounds_us[TOP_NB - 1] / 1e6);
    } else if (s_bounds_us[b] < 1000) {
        snprintf(buf, cap, "%lldus", (long long)s_bounds_us[b]);
    } else if (s_bounds_us[b] < 1000000) {
        snprintf(buf, cap, "%gms", (double)s_bounds_us[b] / 1e3);
    } else {
        snprintf(buf, cap, "%gs", (double)s_bounds_us[b] / 1e6);
    }
}

static int
s_by_rate(const void *a, const void *b)
{
    const top_row_t *x = a;
    const top_row_t *y = b;
    if (x->rate != y->rate) {
        return x->rate < y->rate ? 1 : -1;
    }
    return strcmp(x->address, y->address);
}

/* s_prev_handled finds address in the last frame's rows. */
static const top_row_t *
s_prev(const top_row_t *prev, size_t nprev, const char *address)
{
    for (size_t i = 0; i < nprev; i++) {
        if (strcmp(prev[i].address, address) == 0) {
            return &prev[i];
        }
    }
    return NULL;
}

int
top_run(actors_client_t *client, const cli_t *cli)
{
    bool tty = isatty(STDOUT_FILENO);
    top_row_t *prev = NULL;
    size_t nprev = 0;
    int64_t prev_ms = 0;
    int status = COMMANDS_EXIT_OK;
    for (int frame = 0; cli->count == 0 || (uint64_t)frame < cli->count;
         frame++) {
        if (frame > 0) {
            /* The interval between frames is the point of top. */
            struct timespec ts = {(time_t)(cli->interval_ms / 1000),
                (long)(cli->interval_ms % 1000) * 1000000L};
            nanosleep(&ts, NULL);
        }
        actors_future_t *f = NULL;
        const msgpack_object *list = NULL;
        actors_err rc = actors_client_list(client, &f);
        if (rc == ACTORS_OK) {
            rc = actors_future_get(
                f, cli->timeout_ms ? (int)cli->timeout_ms : -1, &list);
        }
        if (rc != ACTORS_OK || list->type != MSGPACK_OBJECT_ARRAY) {
            const actors_error_t *e = f ? actors_future_error(f) : NULL;
            fprintf(stderr, "%s: %s\n",
                e ? actors_error_type(e) : actors_err_name(rc),
                e ? actors_error_message(e) : actors_strerror(rc));
            actors_future_destroy(&f);
            status = COMMANDS_EXIT_ERROR;
            break;
        }
        int64_t now = s_now_ms();
        size_t n = list->via.array.size;
        top_row_t *rows = calloc(n ? n : 1, sizeof *rows);
        if (rows == NULL) {
            actors_future_destroy(&f);
            status = COMMANDS_EXIT_ERROR;
            break;
        }
        size_t kept = 0;
        size_t running = 0;
        double total = 0;
        double total_err = 0;
        char nodes[64][64];
        size_t nnodes = 0;
        for (size_t i = 0; i < n; i++) {
            const msgpack_object *m = &list->via.array.ptr[i];
            if (!cli->is_all && commands_is_gone(m)) {
                continue;
            }
            top_row_t *r = &rows[kept++];
            s_str(m, "address", r->address, sizeof r->address);
            s_str(m, "node", r->node, sizeof r->node);
            s_str(m, "state", r->state, sizeof r->state);
            r->pid = s_int(m, "pid");
            r->mailbox = s_int(m, "mailbox");
            r->inflight = s_int(m, "inflight");
            r->handled = s_int(m, "handled");
            r->restarts = s_int(m, "restarts");
            r->errors = s_int(m, "errors");
            s_hist(m, r->hist);
            r->rate = -1;
            r->err_rate = -1;
            const top_row_t *p = s_prev(prev, nprev, r->address);
            if (p != NULL && now > prev_ms && r->handled >= p->handled) {
                r->rate = (double)(r->handled - p->handled) * 1000.0 /
                          (now - prev_ms);
                total += r->rate;
            }
            if (p != NULL && now > prev_ms && r->errors >= p->errors) {
                r->err_rate =
                    (double)(r->errors - p->errors) * 1000.0 / (now - prev_ms);
                total_err += r->err_rate;
            }
            r->p50 = s_quantile(r->hist, p ? p->hist : NULL, 0.50);
            r->p99 = s_quantile(r->hist, p ? p->hist : NULL, 0.99);
            running += strcmp(r->state, "running") == 0;
            bool seen = strcmp(r->node, "-") == 0;
            for (size_t k = 0; k < nnodes && !seen; k++) {
                seen = strcmp(nodes[k], r->node) == 0;
            }
            if (!seen && nnodes < 64) {
                snprintf(nodes[nnodes++], sizeof nodes[0], "%s", r->node);
            }
        }
        actors_future_destroy(&f);
        qsort(rows, kept, sizeof *rows, s_by_rate);
        if (tty) {
            fputs("\033[H\033[2J", stdout);
        } else if (frame > 0) {
            putchar('\n');
        }
        time_t wall = time(NULL);
        struct tm tm;
        char when[32] = "";
        gmtime_r(&wall, &tm);
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
        printf("actors top %s  broker %s  running %zu of %zu  nodes %zu  "
               "calls/s %.0f  errors/s %.0f\n",
            when, actors_endpoint_default(cli->broker), running, kept, nnodes,
            total, total_err);
        printf("%-32s %-16s %-10s %8s %8s %8s %9s %8s %8s %7s %7s %8s\n",
            "ADDRESS", "NODE", "STATE", "PID", "MAILBOX", "INFLIGHT", "CALLS/S",
            "ERRORS/S", "ERRORS", "P50", "P99", "RESTARTS");
        for (size_t i = 0; i < kept; i++) {
            const top_row_t *r = &rows[i];
            char rate[32] = "-";
            char err_rate[32] = "-";
            char p50[32];
            char p99[32];
            if (r->rate >= 0) {
                snprintf(rate, sizeof rate, "%.0f", r->rate);
            }
            if (r->err_rate >= 0) {
                snprintf(err_rate, sizeof err_rate, "%.0f", r->err_rate);
            }
            s_bucket_text(r->p50, p50, sizeof p50);
            s_bucket_text(r->p99, p99, sizeof p99);
            printf("%-32s %-16s %-10s %8lld %8lld %8lld %9s %8s %8lld %7s %7s "
                   "%8lld\n",
                r->address, r->node, r->state, (long long)r->pid,
                (long long)r->mailbox, (long long)r->inflight, rate, err_rate,
                (long long)r->errors, p50, p99, (long long)r->restarts);
        }
        if (fflush(stdout) != 0) {
            free(rows);
            status = COMMANDS_EXIT_ERROR;
            break;
        }
        free(prev);
        prev = rows;
        nprev = kept;
        prev_ms = now;
    }
    free(prev);
    return status;
}
