/* supervisor/metrics.c - a node's Prometheus metrics (metrics.h).
 * SPDX-License-Identifier: MIT
 *
 * A few rows (one per address the node has run) and, per row, a short
 * list of exit causes: a node runs tens of actors, whose causes are a
 * handful of strings ("exit code 0", "signal 9 (SIGKILL)"). Rows stay
 * after their actor is gone, so counters never go back; a node that
 * spawns many short-lived actors keeps at most METRICS_ROWS_MAX rows,
 * then drops the oldest gone one.
 */
#define _GNU_SOURCE
#include "metrics.h"

#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <actors-internal/httpd.h>

#define METRICS_ROWS_MAX 4096
#define METRICS_CAUSES_MAX 16 /* per address; more count as "other" */

typedef struct {
    char cause[96];
    uint64_t n;
} cause_t;

typedef struct {
    char address[256];
    char service[256];
    char state[16];
    int pid;
    int restarts;
    uint64_t starts;
    cause_t causes[METRICS_CAUSES_MAX];
    int ncauses;
} row_t;

struct metrics {
    char *node;
    actors__httpd_t *httpd;
    pthread_mutex_t mu;
    row_t *rows;
    int nrows;
    int cap;
    bool connected;
};

static row_t *
s_row(metrics_t *self, const char *address)
{
    for (int i = 0; i < self->nrows; i++) {
        if (strcmp(self->rows[i].address, address) == 0) {
            return &self->rows[i];
        }
    }
    if (self->nrows == METRICS_ROWS_MAX) {
        for (int i = 0; i < self->nrows; i++) {
            if (strcmp(self->rows[i].state, "stopped") == 0 ||
                strcmp(self->rows[i].state, "dead") == 0) {
                memmove(&self->rows[i], &self->rows[i + 1],
                    (size_t)(self->nrows - i - 1) * sizeof self->rows[0]);
                self->nrows--;
                break;
            }
        }
        if (self->nrows == METRICS_ROWS_MAX) {
            return NULL;
        }
    }
    if (self->nrows == self->cap) {
        int cap = self->cap ? self->cap * 2 : 16;
        row_t *v = realloc(self->rows, (size_t)cap * sizeof *v);
        if (v == NULL) {
            return NULL;
        }
        self->rows = v;
        self->cap = cap;
    }
    row_t *r = &self->rows[self->nrows++];
    memset(r, 0, sizeof *r);
    snprintf(r->address, sizeof r->address, "%s", address);
    return r;
}

static void
s_label(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == '"') {
            fputc('\\', f);
            fputc(*s, f);
        } else if (*s == '\n') {
            fputs("\\n", f);
        } else {
            fputc(*s, f);
        }
    }
}

/* s_head writes the HELP and TYPE lines of a family. */
static void
s_head(FILE *f, const char *name, const char *type, const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* s_node_label writes {node="N" (the caller closes or goes on). */
static void
s_open(FILE *f, const metrics_t *self, const char *name)
{
    fprintf(f, "%s{node=\"", name);
    s_label(f, self->node);
    fputc('"', f);
}

static void
s_render(metrics_t *self, FILE *f)
{
    static const char *states[] = {
        "starting", "running", "restarting", "stopped", "dead"};
    s_head(f, "actors_node_actor_info", "gauge",
        "1 per address the node runs or ran, with its state.");
    for (int i = 0; i < self->nrows; i++) {
        const row_t *r = &self->rows[i];
        s_open(f, self, "actors_node_actor_info");
        fputs(",address=\"", f);
        s_label(f, r->address);
        fputs("\",service=\"", f);
        s_label(f, r->service);
        fprintf(f, "\",state=\"%s\"} 1\n", r->state);
    }
    s_head(f, "actors_node_actor_restarts", "gauge",
        "Restarts of the address so far (on every node it ran on).");
    for (int i = 0; i < self->nrows; i++) {
        s_open(f, self, "actors_node_actor_restarts");
        fputs(",address=\"", f);
        s_label(f, self->rows[i].address);
        fprintf(f, "\"} %d\n", self->rows[i].restarts);
    }
    s_head(f, "actors_node_starts_total", "counter",
        "Actor processes this node started, by address.");
    for (int i = 0; i < self->nrows; i++) {
        s_open(f, self, "actors_node_starts_total");
        fputs(",address=\"", f);
        s_label(f, self->rows[i].address);
        fprintf(f, "\"} %llu\n", (unsigned long long)self->rows[i].starts);
    }
    s_head(f, "actors_node_exits_total", "counter",
        "Actor process exits on this node, by address and cause.");
    for (int i = 0; i < self->nrows; i++) {
        const row_t *r = &self->rows[i];
        for (int k = 0; k < r->ncauses; k++) {
            s_open(f, self, "actors_node_exits_total");
            fputs(",address=\"", f);
            s_label(f, r->address);
            fputs("\",cause=\"", f);
            s_label(f, r->causes[k].cause);
            fprintf(f, "\"} %llu\n", (unsigned long long)r->causes[k].n);
        }
    }
    s_head(f, "actors_node_actors", "gauge", "Actors of this node by state.");
    for (size_t s = 0; s < sizeof states / sizeof states[0]; s++) {
        int n = 0;
        for (int i = 0; i < self->nrows; i++) {
            n += strcmp(self->rows[i].state, states[s]) == 0;
        }
        s_open(f, self, "actors_node_actors");
        fprintf(f, ",state=\"%s\"} %d\n", states[s], n);
    }
    s_head(f, "actors_node_broker_connected", "gauge",
        "1 while the broker has accepted this node.");
    s_open(f, self, "actors_node_broker_connected");
    fprintf(f, "} %d\n", self->connected ? 1 : 0);
}

static int
s_page(void *arg, const char *path, actors__httpd_page_t *page)
{
    metrics_t *self = arg;
    if (strcmp(path, "/metrics") != 0) {
        return 404;
    }
    FILE *f = open_memstream(&page->body, &page->len);
    if (f == NULL) {
        return 500;
    }
    pthread_mutex_lock(&self->mu);
    s_render(self, f);
    pthread_mutex_unlock(&self->mu);
    if (fclose(f) != 0) {
        free(page->body);
        page->body = NULL;
        page->len = 0;
        return 500;
    }
    page->type = "text/plain; version=0.0.4; charset=utf-8";
    return 200;
}

actors_err
metrics_create(
    metrics_t **out, const char *node, const char *host, uint16_t port)
{
    assert(out);
    assert(node);
    *out = NULL;
    metrics_t *self = calloc(1, sizeof *self);
    if (self == NULL || (self->node = strdup(node)) == NULL) {
        free(self);
        return ACTORS_ENOMEM;
    }
    pthread_mutex_init(&self->mu, NULL);
    actors_err rc = actors__httpd_start(&self->httpd, host, port, s_page, self);
    if (rc != ACTORS_OK) {
        metrics_destroy(&self);
        return rc;
    }
    *out = self;
    return ACTORS_OK;
}

uint16_t
metrics_port(const metrics_t *self)
{
    assert(self);
    return actors__httpd_port(self->httpd);
}

void
metrics_destroy(metrics_t **self_p)
{
    assert(self_p);
    metrics_t *self = *self_p;
    if (self == NULL) {
        return;
    }
    actors__httpd_stop(&self->httpd);
    pthread_mutex_destroy(&self->mu);
    free(self->rows);
    free(self->node);
    free(self);
    *self_p = NULL;
}

void
metrics_state(metrics_t *self, const char *address, const char *service,
    const char *state, int pid, int restarts, bool started)
{
    if (self == NULL) {
        return;
    }
    pthread_mutex_lock(&self->mu);
    row_t *r = s_row(self, address);
    if (r != NULL) {
        snprintf(r->service, sizeof r->service, "%s", service);
        snprintf(r->state, sizeof r->state, "%s", state);
        r->pid = pid;
        r->restarts = restarts;
        r->starts += started;
    }
    pthread_mutex_unlock(&self->mu);
}

void
metrics_exit(metrics_t *self, const char *address, const char *cause)
{
    if (self == NULL) {
        return;
    }
    pthread_mutex_lock(&self->mu);
    row_t *r = s_row(self, address);
    if (r != NULL) {
        int k = 0;
        while (k < r->ncauses && strcmp(r->causes[k].cause, cause) != 0) {
            k++;
        }
        if (k == r->ncauses && k == METRICS_CAUSES_MAX) {
            k = METRICS_CAUSES_MAX - 1;
            snprintf(r->causes[k].cause, sizeof r->causes[k].cause, "other");
        } else if (k == r->ncauses) {
            snprintf(
                r->causes[k].cause, sizeof r->causes[k].cause, "%s", cause);
            r->causes[k].n = 0;
            r->ncauses++;
        }
        r->causes[k].n++;
    }
    pthread_mutex_unlock(&self->mu);
}

void
metrics_connected(metrics_t *self, bool yes)
{
    if (self == NULL) {
        return;
    }
    pthread_mutex_lock(&self->mu);
    self->connected = yes;
    pthread_mutex_unlock(&self->mu);
}
