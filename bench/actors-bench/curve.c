/* bench/actors-bench/curve.c - what CURVE costs: our stack with keys and
 * without, in the same run (bench.h, bench_run_curve).
 * SPDX-License-Identifier: MIT
 *
 * Keys are made here with czmq (the format `actorctl keygen` writes): a
 * broker pair and one "actor" pair, allowlisted, used by the chaos
 * workers and by this process's clients alike (every role may call). The
 * process's credentials (actors/security.h) are switched before each
 * environment starts (its forked workers keep what was in force) and
 * before each run (a run opens its own client).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <czmq.h>

#include <actors/security.h>

#include "bench.h"

#define CURVE_ON 0
#define CURVE_OFF 1
#define CURVE_MAX_ROUNDS 16

/* s_pair writes dir/name and dir/name_secret with role in the metadata. */
static int
s_pair(const char *dir, const char *name, const char *role)
{
    zcert_t *cert = zcert_new();
    if (cert == NULL) {
        return -1;
    }
    zcert_set_meta(cert, "role", "%s", role);
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int rc = zcert_save(cert, path);
    zcert_destroy(&cert);
    return rc;
}

/* s_creds puts the CURVE credentials in force for what starts next: the
 * process's (forked workers, this process's clients) and the
 * environment's (a worker that is exec'd). NULL: none. */
static void
s_creds(const char *key, const char *broker)
{
    actors_security_set(key ? key : "", broker ? broker : "");
    if (key) {
        setenv("ACTORS_KEY", key, 1);
        setenv("ACTORS_BROKER_KEY", broker, 1);
    } else {
        unsetenv("ACTORS_KEY");
        unsetenv("ACTORS_BROKER_KEY");
    }
}

static int
s_cmp(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;
    return (x > y) - (x < y);
}

static double
s_median(double *v, int n)
{
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (!isnan(v[i])) {
            v[k++] = v[i];
        }
    }
    if (k == 0) {
        return NAN;
    }
    qsort(v, (size_t)k, sizeof *v, s_cmp);
    return k % 2 ? v[k / 2] : (v[k / 2 - 1] + v[k / 2]) / 2;
}

actors_err
bench_run_curve(const bench_env_opts_t *opts, double seconds, int rounds,
    bench_curve_result_t *out)
{
    for (int s = 0; s < 2; s++) {
        out->seq_p50_us[s] = out->seq_p99_us[s] = NAN;
        out->pipelined_w256[s] = out->tells[s] = NAN;
        out->cpu_us[s] = out->cpu_broker_us[s] = NAN;
    }
    out->errors = 0;
    if (rounds > CURVE_MAX_ROUNDS) {
        rounds = CURVE_MAX_ROUNDS;
    }
    char keys[2048];
    char secrets[2048];
    char broker_secret[4096];
    char broker_public[4096];
    char actor_secret[4096];
    snprintf(keys, sizeof keys, "%s/curve-allow", opts->tmp_dir);
    snprintf(secrets, sizeof secrets, "%s/curve-secrets", opts->tmp_dir);
    snprintf(broker_secret, sizeof broker_secret, "%s/broker_secret", secrets);
    snprintf(broker_public, sizeof broker_public, "%s/broker", secrets);
    snprintf(actor_secret, sizeof actor_secret, "%s/actor_secret", secrets);
    char actor_public[4096];
    char actor_allowed[4096];
    snprintf(actor_public, sizeof actor_public, "%s/actor", secrets);
    snprintf(actor_allowed, sizeof actor_allowed, "%s/actor", keys);
    if (mkdir(keys, 0700) != 0 || mkdir(secrets, 0700) != 0 ||
        s_pair(secrets, "broker", "admin") != 0 ||
        s_pair(secrets, "actor", "actor") != 0 ||
        rename(actor_public, actor_allowed) != 0) {
        fprintf(stderr, "actors-bench: cannot make CURVE keys in %s\n",
            opts->tmp_dir);
        return ACTORS_EIO;
    }
    bench_env_opts_t on = *opts;
    on.transport = "tcp";
    on.keys_dir = keys;
    on.key = broker_secret;
    bench_env_opts_t off = *opts;
    off.transport = "tcp";
    off.keys_dir = NULL;
    off.key = NULL;
    const bench_driver_t *d = &bench_ours_driver;
    bench_env_t *env[2] = {NULL, NULL};
    s_creds(actor_secret, broker_public);
    actors_err rc = bench_env_start(d, &on, 1, &env[CURVE_ON]);
    s_creds(NULL, NULL);
    if (rc == ACTORS_OK) {
        rc = bench_env_start(d, &off, 1, &env[CURVE_OFF]);
    }
    if (rc != ACTORS_OK) {
        fprintf(stderr, "actors-bench: ours with%s CURVE did not start\n",
            env[CURVE_ON] ? "out" : "");
        bench_env_stop(&env[CURVE_ON]);
        return rc;
    }
    bench_params_t p = {.seconds = seconds, .payload = 16};
    bench_params_t pc = p;
    pc.cpu = true;
    double pipe[2][CURVE_MAX_ROUNDS];
    double cpu[2][CURVE_MAX_ROUNDS];
    double cpu_broker[2][CURVE_MAX_ROUNDS];
    double tells[2][CURVE_MAX_ROUNDS];
    bench_samples_t samples[2] = {{0}};
    for (int r = 0; r < rounds; r++) {
        for (int s = 0; s < 2; s++) {
            if (s == CURVE_ON) {
                s_creds(actor_secret, broker_public);
            } else {
                s_creds(NULL, NULL);
            }
            bench_result_t res = bench_run_seq(d, env[s], &p, &samples[s]);
            out->errors += res.errors;
            if (res.ok) {
                out->seq_p50_us[s] = res.p50_us; /* pooled so far */
                out->seq_p99_us[s] = res.p99_us;
            }
            res = bench_run_pipelined(d, env[s], &pc, 256, 1);
            out->errors += res.errors;
            pipe[s][r] = res.ok ? res.per_s : NAN;
            cpu[s][r] = res.ok ? res.cpu_us[BENCH_CPU_CLIENT] +
                                     res.cpu_us[BENCH_CPU_BROKER] +
                                     res.cpu_us[BENCH_CPU_WORKERS]
                               : NAN;
            cpu_broker[s][r] = res.ok ? res.cpu_us[BENCH_CPU_BROKER] : NAN;
            res = bench_run_tells(d, env[s], &p);
            out->errors += res.errors;
            tells[s][r] = res.ok ? res.per_s : NAN;
        }
    }
    s_creds(NULL, NULL);
    for (int s = 0; s < 2; s++) {
        out->pipelined_w256[s] = s_median(pipe[s], rounds);
        out->tells[s] = s_median(tells[s], rounds);
        out->cpu_us[s] = s_median(cpu[s], rounds);
        out->cpu_broker_us[s] = s_median(cpu_broker[s], rounds);
        bench_samples_free(&samples[s]);
        bench_env_stop(&env[s]);
    }
    return ACTORS_OK;
}
