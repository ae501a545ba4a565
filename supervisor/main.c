/* supervisor/main.c - actors-supervisor: one node of actor processes.
 * SPDX-License-Identifier: MIT
 *
 *   actors-supervisor [--broker EP] [--node NAME] [--config FILE]
 *                     [--no-drain] [--log-dir DIR]
 *                     [--metrics-port PORT] [--metrics-bind ADDR]
 */
#define _GNU_SOURCE
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <actors/client.h>
#include <actors/log.h>

#include "config.h"
#include "supervisor.h"

static void
s_usage(FILE *f)
{
    fprintf(f, "usage: actors-supervisor [--broker EP] [--node NAME] "
               "[--config FILE] [--no-drain]\n"
               "                         [--log-dir DIR] [--metrics-port PORT]"
               " [--metrics-bind ADDR]\n"
               "  --broker EP    broker endpoint (default $ACTORS_BROKER, "
               "else " ACTORS_DEFAULT_ENDPOINT ")\n"
               "  --node NAME    node name (default: config, else host "
               "name)\n"
               "  --config FILE  ZPL file naming the actors to run\n"
               "  --log-dir DIR  also write each actor's output to "
               "DIR/ADDRESS.log\n"
               "                 (default $ACTORS_LOG_DIR)\n"
               "  --metrics-port PORT  serve /metrics (Prometheus) on PORT "
               "(0: any\n"
               "                 free one; default $ACTORS_METRICS_PORT, "
               "else off)\n"
               "  --metrics-bind ADDR  its IPv4 address (default "
               "127.0.0.1)\n"
               "  --no-drain     SIGTERM stops the actors for good instead "
               "of moving\n"
               "                 them to other nodes (SIGUSR1 always "
               "does)\n");
}

int
main(int argc, char **argv)
{
    const char *broker = NULL;
    const char *node = NULL;
    const char *config = NULL;
    bool drain = true;
    const char *log_dir = getenv("ACTORS_LOG_DIR");
    const char *metrics_port = getenv("ACTORS_METRICS_PORT");
    const char *metrics_bind = getenv("ACTORS_METRICS_BIND");
    if (metrics_port != NULL && *metrics_port == '\0') {
        metrics_port = NULL;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            s_usage(stdout);
            return 0;
        }
        if (strcmp(a, "--no-drain") == 0) {
            drain = false;
            continue;
        }
        if (i + 1 >= argc) {
            s_usage(stderr);
            return 2;
        }
        if (strcmp(a, "--broker") == 0) {
            broker = argv[++i];
        } else if (strcmp(a, "--node") == 0) {
            node = argv[++i];
        } else if (strcmp(a, "--config") == 0) {
            config = argv[++i];
        } else if (strcmp(a, "--log-dir") == 0) {
            log_dir = argv[++i];
        } else if (strcmp(a, "--metrics-port") == 0) {
            metrics_port = argv[++i];
        } else if (strcmp(a, "--metrics-bind") == 0) {
            metrics_bind = argv[++i];
        } else {
            s_usage(stderr);
            return 2;
        }
    }
    long mport = 0;
    if (metrics_port != NULL) {
        char *end = NULL;
        mport = strtol(metrics_port, &end, 10);
        if (end == metrics_port || *end != '\0' || mport < 0 || mport > 65535) {
            fprintf(stderr, "actors-supervisor: bad metrics port '%s'\n",
                metrics_port);
            return 2;
        }
    }
    actors_log_init_from_env("actors-supervisor");
    /* Blocked before anything else so only the signalfd sees them. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    char err[512] = "";
    sup_config_t *cfg = NULL;
    if (config_load(&cfg, config, err, sizeof err) != ACTORS_OK) {
        fprintf(stderr, "actors-supervisor: %s\n", err[0] ? err : "no memory");
        return 2;
    }
    if (node != NULL) {
        char *copy = strdup(node);
        if (copy != NULL) {
            free(cfg->node);
            cfg->node = copy;
        }
    }
    char self_path[PATH_MAX] = "";
    ssize_t n = readlink("/proc/self/exe", self_path, sizeof self_path - 1);
    self_path[n > 0 ? n : 0] = '\0';
    sup_t *sup = NULL;
    actors_err rc = sup_create(&sup, cfg, actors_endpoint_default(broker),
        n > 0 ? dirname(self_path) : ".");
    if (rc == ACTORS_OK) {
        sup_set_drain(sup, drain);
        rc = sup_set_log_dir(sup, log_dir);
    }
    if (rc == ACTORS_OK && metrics_port != NULL) {
        rc = sup_set_metrics(sup, metrics_bind, (uint16_t)mport);
    }
    if (rc == ACTORS_OK) {
        rc = sup_run(sup);
    }
    sup_destroy(&sup);
    config_destroy(&cfg);
    return rc == ACTORS_OK ? 0 : (rc == ACTORS_EINVAL ? 2 : 1);
}
