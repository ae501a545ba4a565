/* supervisor/main.c - actors-supervisor: one node of actor processes.
 * SPDX-License-Identifier: MIT
 *
 *   actors-supervisor [--broker EP] [--node NAME] [--config FILE]
 *                     [--key PATH --broker-key PATH] [--actor-key PATH]
 *                     [--no-drain] [--log-dir DIR]
 *                     [--metrics-port PORT] [--metrics-bind ADDR]
 *
 * With keys (actors/security.h) the supervisor connects with its own
 * (node) certificate, and the actors it starts get theirs through the
 * environment: ACTORS_KEY is set to the path of --actor-key (else
 * $ACTORS_ACTOR_KEY) and ACTORS_BROKER_KEY to the broker's, so no secret
 * is on a command line or in `ps`, and no actor holds the node's key.
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
#include <actors/security.h>

#include "allow.h"
#include "config.h"
#include "supervisor.h"

static void
s_usage(FILE *f)
{
    fprintf(f, "usage: actors-supervisor [--broker EP] [--node NAME] "
               "[--config FILE] [--services LIST] [--no-drain]\n"
               "                         [--log-dir DIR] [--metrics-port PORT]"
               " [--metrics-bind ADDR]\n"
               "  --broker EP    broker endpoint (default $ACTORS_BROKER, "
               "else " ACTORS_DEFAULT_ENDPOINT ")\n"
               "  --node NAME    node name (default: config, else host "
               "name)\n"
               "  --config FILE  ZPL file naming the actors to run\n"
               "  --services LIST  services a spawn may run besides the "
               "config's (e.g. \"counter chaos\"; docs/SUPERVISOR.md)\n"
               "  --key PATH     own (node) secret certificate (default "
               "$ACTORS_KEY)\n"
               "  --broker-key PATH  the broker's public certificate "
               "(default\n"
               "                 $ACTORS_BROKER_KEY)\n"
               "  --actor-key PATH   the secret certificate its actors use\n"
               "                 (default $ACTORS_ACTOR_KEY), passed to "
               "them as\n"
               "                 a path in $ACTORS_KEY\n"
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

/* s_credentials fixes the supervisor's own keys (flags, else the
 * environment) and sets the environment its actors inherit: their key
 * and the broker's, as absolute paths. Returns 0, or -1 (reported). */
static int
s_credentials(const char *key, const char *broker_key, const char *actor_key)
{
    const char *env_key;
    const char *env_broker;
    actors_security_paths(&env_key, &env_broker);
    key = key ? key : env_key;
    broker_key = broker_key ? broker_key : env_broker;
    if (actors_security_set(key, broker_key) != ACTORS_OK) {
        return -1;
    }
    if (key == NULL && broker_key == NULL) {
        return 0; /* no CURVE: the actors inherit no key either */
    }
    if (key == NULL || broker_key == NULL) {
        fprintf(stderr, "actors-supervisor: CURVE needs both --key and "
                        "--broker-key (or ACTORS_KEY and ACTORS_BROKER_KEY)\n");
        return -1;
    }
    char abs_broker[PATH_MAX];
    char abs_actor[PATH_MAX];
    if (realpath(broker_key, abs_broker) == NULL) {
        fprintf(stderr, "actors-supervisor: broker key %s: cannot resolve\n",
            broker_key);
        return -1;
    }
    setenv("ACTORS_BROKER_KEY", abs_broker, 1);
    if (actor_key != NULL && *actor_key != '\0') {
        char probe[ACTORS_KEY_Z85_LEN + 1];
        if (realpath(actor_key, abs_actor) == NULL ||
            actors_security_public_key(abs_actor, probe) != ACTORS_OK) {
            fprintf(stderr,
                "actors-supervisor: actor key %s: not a certificate\n",
                actor_key);
            return -1;
        }
        setenv("ACTORS_KEY", abs_actor, 1);
    } else {
        /* Never hand the node's own key to the actors it runs. */
        unsetenv("ACTORS_KEY");
        ACTORS_LOG(ACTORS_LOG_WARN, "SUP-NO-ACTOR-KEY",
            "CURVE is on but no --actor-key (ACTORS_ACTOR_KEY) is given: "
            "the actors this node starts cannot connect");
    }
    unsetenv("ACTORS_ACTOR_KEY");
    return 0;
}

int
main(int argc, char **argv)
{
    const char *broker = NULL;
    const char *node = NULL;
    const char *config = NULL;
    const char *services = NULL;
    const char *key = NULL;
    const char *broker_key = NULL;
    const char *actor_key = getenv("ACTORS_ACTOR_KEY");
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
        } else if (strcmp(a, "--services") == 0) {
            services = argv[++i];
        } else if (strcmp(a, "--key") == 0) {
            key = argv[++i];
        } else if (strcmp(a, "--broker-key") == 0) {
            broker_key = argv[++i];
        } else if (strcmp(a, "--actor-key") == 0) {
            actor_key = argv[++i];
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
    if (s_credentials(key, broker_key, actor_key) != 0) {
        return 2;
    }
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
    if (allow_add_names(&cfg->services, &cfg->nservices, services) !=
        ACTORS_OK) {
        fprintf(stderr, "actors-supervisor: no memory\n");
        config_destroy(&cfg);
        return 1;
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
