/* bench/actors-bench/evlat.c - publish-to-handler latency beside a call's.
 * SPDX-License-Identifier: MIT
 *
 * One chaos actor on our broker, subscribed with mirror(): its handler
 * publishes each event back with the CLOCK_MONOTONIC reading of when it
 * ran (one clock for every process of the machine). The bench publishes
 * t0 on EV_IN and reads [t0, t_handler] on EV_OUT: publish-to-handler is
 * t_handler - t0, the round trip (publish, handler, publish back, receipt)
 * now - t0. Taking turns with each event, a call of the same actor's
 * clock() from the same connection: call-to-handler is its result - t0,
 * its round trip now - t0. Same broker, actor, connection and moments, so
 * the ratio is what an event costs against a call; one event or call at a
 * time.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <actors/client.h>
#include <actors/future.h>
#include <actors/msg.h>
#include <actors/pubsub.h>

#include "bench.h"

#define EV_ADDRESS "bench/mirror"
#define EV_IN "bench.mirror.in"
#define EV_OUT "bench.mirror.out"
#define EV_WAIT_MS 5000      /* for one event or call */
#define EV_READY_MS 10000    /* for the actor to register and subscribe */
#define EV_MAX_SAMPLES 50000 /* of each kind */

/* What the subscriber's callback saw of the event it waits for. */
typedef struct {
    int64_t want; /* t0 of the event waited for */
    bool got;     /* that event came back */
    int64_t th;   /* when its handler ran */
} s_wait_t;

static void
s_on_event(void *arg, actors_subscription_t *sub, const char *topic,
    const msgpack_object *data)
{
    (void)sub;
    (void)topic;
    s_wait_t *w = arg;
    int64_t t0 = 0;
    int64_t th = 0;
    if (data->type == MSGPACK_OBJECT_ARRAY && data->via.array.size == 2 &&
        actors_value_int(&data->via.array.ptr[0], &t0) == ACTORS_OK &&
        actors_value_int(&data->via.array.ptr[1], &th) == ACTORS_OK &&
        t0 == w->want) {
        w->got = true;
        w->th = th;
    }
}

/* s_call calls the actor's method (no arguments) and gives its int
 * result in *out. */
static bool
s_call(actors_client_t *c, const char *method, int64_t *out)
{
    actors_future_t *f = NULL;
    bool ok = actors_client_call(c, EV_ADDRESS, method, NULL, NULL, &f) ==
                  ACTORS_OK &&
              actors_future_wait(f, EV_WAIT_MS) == ACTORS_OK &&
              actors_future_error(f) == NULL &&
              (out == NULL ||
                  actors_value_int(actors_future_result(f), out) == ACTORS_OK);
    actors_future_destroy(&f);
    return ok;
}

/* s_event publishes now on EV_IN and pumps c until its mirror comes back
 * or wait_ms pass. Returns whether it came; *t0, w->th say when. */
static bool
s_event(actors_client_t *c, s_wait_t *w, int wait_ms, uint64_t *t0)
{
    *t0 = bench_now_ns();
    w->want = (int64_t)*t0;
    w->got = false;
    actors_msg_t *m = NULL;
    if (actors_msg_build(&m, "I", w->want) != ACTORS_OK) {
        return false;
    }
    actors_err rc = actors_publish(c, EV_IN, &m, NULL);
    actors_msg_destroy(&m);
    uint64_t end = *t0 + (uint64_t)wait_ms * 1000000u;
    while (rc == ACTORS_OK && !w->got) {
        uint64_t now = bench_now_ns();
        if (now >= end) {
            return false;
        }
        rc = actors_client_poll(c, (int)((end - now) / 1000000u) + 1);
    }
    return w->got;
}

/* s_ready calls clock() until the actor answers, has it mirror, and
 * publishes until an event comes back (the actor's SUBSCRIBE reaches the
 * broker before its reply, the client's may not have). */
static bool
s_ready(actors_client_t *c, s_wait_t *w)
{
    uint64_t end = bench_now_ns() + EV_READY_MS * 1000000ull;
    while (!s_call(c, "clock", NULL)) {
        if (bench_now_ns() >= end) {
            return false;
        }
        actors_client_poll(c, 20); /* poll until the deadline */
    }
    actors_msg_t *args = NULL;
    actors_future_t *f = NULL;
    bool ok = actors_msg_build(&args, "ss", EV_IN, EV_OUT) == ACTORS_OK &&
              actors_client_call(c, EV_ADDRESS, "mirror", &args, NULL, &f) ==
                  ACTORS_OK &&
              actors_future_wait(f, EV_WAIT_MS) == ACTORS_OK &&
              actors_future_error(f) == NULL;
    actors_msg_destroy(&args);
    actors_future_destroy(&f);
    uint64_t t0 = 0;
    while (ok && !s_event(c, w, 100, &t0)) {
        ok = bench_now_ns() < end;
    }
    return ok;
}

static void
s_pcts(bench_samples_t *s, double out[2])
{
    bench_samples_sort(s);
    out[0] = bench_samples_pct(s, 50);
    out[1] = bench_samples_pct(s, 99);
}

bench_evlat_result_t
bench_run_evlat(
    const char *bin_dir, const char *endpoint, double seconds, bool verbose)
{
    bench_evlat_result_t r = {
        .event_handler_us = {-1, -1},
        .event_rtt_us = {-1, -1},
        .call_handler_us = {-1, -1},
        .call_rtt_us = {-1, -1},
    };
    char chaos[PATH_MAX];
    snprintf(chaos, sizeof chaos, "%s/chaos", bin_dir);
    char *argv[] = {
        chaos, "--broker", (char *)endpoint, "--address", EV_ADDRESS, NULL};
    int pid = -1;
    if (bench_proc_start(argv, !verbose, NULL, &pid) != ACTORS_OK) {
        return r;
    }
    actors_client_t *c = NULL;
    actors_subscription_t *sub = NULL;
    actors_future_t *ready = NULL;
    s_wait_t w = {0};
    bench_samples_t s[4] = {{0}}; /* event handler, rtt; call handler, rtt */
    bool ok = actors_client_create(&c, endpoint) == ACTORS_OK &&
              actors_subscribe(c, EV_OUT, s_on_event, &w, &sub, &ready) ==
                  ACTORS_OK &&
              actors_future_wait(ready, EV_WAIT_MS) == ACTORS_OK &&
              actors_future_error(ready) == NULL && s_ready(c, &w);
    actors_future_destroy(&ready);
    uint64_t end = bench_now_ns() + (uint64_t)(seconds * 1e9);
    while (ok && bench_now_ns() < end && s[0].n < EV_MAX_SAMPLES) {
        uint64_t t0 = 0;
        ok = s_event(c, &w, EV_WAIT_MS, &t0);
        uint64_t t1 = bench_now_ns();
        ok = ok && (uint64_t)w.th >= t0 && (uint64_t)w.th <= t1 &&
             bench_samples_add(&s[0], (uint64_t)w.th - t0) == ACTORS_OK &&
             bench_samples_add(&s[1], t1 - t0) == ACTORS_OK;
        int64_t th = 0;
        t0 = bench_now_ns();
        ok = ok && s_call(c, "clock", &th);
        t1 = bench_now_ns();
        ok = ok && (uint64_t)th >= t0 && (uint64_t)th <= t1 &&
             bench_samples_add(&s[2], (uint64_t)th - t0) == ACTORS_OK &&
             bench_samples_add(&s[3], t1 - t0) == ACTORS_OK;
    }
    if (ok && s[0].n > 0) {
        s_pcts(&s[0], r.event_handler_us);
        s_pcts(&s[1], r.event_rtt_us);
        s_pcts(&s[2], r.call_handler_us);
        s_pcts(&s[3], r.call_rtt_us);
    } else {
        fprintf(stderr, "actors-bench: publish-to-handler latency failed\n");
    }
    for (int i = 0; i < 4; i++) {
        bench_samples_free(&s[i]);
    }
    actors_unsubscribe(&sub);
    actors_client_destroy(&c);
    bench_proc_stop(pid);
    return r;
}
