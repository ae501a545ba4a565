/* broker/main.c - actors-broker: parse arguments, run the broker.
 * SPDX-License-Identifier: MIT
 *
 *   actors-broker [--bind EP] [--mailbox N] [--heartbeat MS] [--liveness N]
 *                 [--max-message BYTES] [--endpoint-file PATH]
 *                 [--keys DIR --key PATH] [--insecure]
 *                 [--metrics-port PORT] [--metrics-bind ADDR]
 *                 [--stream-bind EP]
 *
 * EP defaults to $ACTORS_BROKER, then tcp://127.0.0.1:5555; a `*` port is
 * resolved and printed once bound as "ENDPOINT tcp://127.0.0.1:NNNNN".
 * SIGTERM and SIGINT stop the broker cleanly (exit 0); SIGHUP reloads the
 * allowlist of --keys. Usage errors exit 2, a failure to start exits 1,
 * and so does a bind that other hosts can reach without keys (unless
 * --insecure).
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <actors/log.h>

#include "auth.h"
#include "broker.h"

static brk_broker_t *s_broker; /* for the signal handler */

static void
s_on_signal(int sig)
{
    if (s_broker != NULL && sig == SIGHUP) {
        brk_broker_reload(s_broker);
    } else if (s_broker != NULL) {
        brk_broker_stop(s_broker);
    }
}

static void
s_usage(FILE *f)
{
    fprintf(f,
        "usage: actors-broker [--bind EP] [--mailbox N] [--heartbeat MS]\n"
        "                     [--liveness N] [--max-message BYTES]\n"
        "                     [--max-queued N] [--endpoint-file PATH]\n"
        "                     [--keys DIR --key PATH] [--insecure]\n"
        "                     [--stream-bind EP]\n"
        "  --bind EP            endpoint (default $ACTORS_BROKER, else %s;\n"
        "                       tcp://127.0.0.1:* picks a free port)\n"
        "  --mailbox N          mailbox bound per address (default 10000)\n"
        "  --heartbeat MS       a peer must answer a ZMTP PING within MS\n"
        "                       (default 2000)\n"
        "  --liveness N         PING every (N-1) x MS: a silent peer is\n"
        "                       dropped within N x MS (default 5)\n"
        "  --max-message BYTES  largest arguments frame (default 16 MiB)\n"
        "  --max-queued N       messages queued to one peer that does not\n"
        "                       read; more are dropped (default 10000)\n"
        "  --endpoint-file PATH also write the bound endpoint there\n"
        "  --keys DIR           CURVE on: only the public certificates in DIR\n"
        "                       may connect, each with the role in its\n"
        "                       metadata (actorctl keygen; SIGHUP reloads)\n"
        "  --key PATH           the broker's own secret certificate\n"
        "  --insecure           allow a non-loopback bind without keys\n"
        "  --metrics-port PORT  serve /metrics (Prometheus) and the\n"
        "                       dashboard on PORT (0: any free one; default\n"
        "                       $ACTORS_METRICS_PORT, else off)\n"
        "  --metrics-bind ADDR  their IPv4 address (default 127.0.0.1)\n"
        "  --stream-bind EP     also deliver events on an event stream (an\n"
        "                       XPUB) bound there: one send per pattern,\n"
        "                       whatever the number of subscribers\n"
        "                       (default $ACTORS_STREAM_BIND, else none)\n",
        BRK_DEFAULT_ENDPOINT);
}

/* s_number parses a decimal in 1..max. */
static int
s_number(const char *s, uint64_t max, uint64_t *out)
{
    if (s == NULL || *s < '0' || *s > '9') {
        return -1;
    }
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v == 0 || v > max) {
        return -1;
    }
    *out = v;
    return 0;
}

/* s_write_endpoint writes ep and a newline to path through a temporary
 * file and rename, so a reader never sees half a line. */
static int
s_write_endpoint(const char *path, const char *ep)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >=
        (int)sizeof tmp) {
        return -1;
    }
    FILE *f = fopen(tmp, "w");
    if (f == NULL) {
        return -1;
    }
    int bad = fprintf(f, "%s\n", ep) < 0;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        remove(tmp);
        return -1;
    }
    return 0;
}

/* s_raise_fd_limit raises the soft limit on descriptors to the hard one:
 * each connection (client, actor, node) costs the broker one, and the
 * common soft limit of 1024 would stop it at about a thousand peers while
 * the hard limit allows far more. Logs how many peers fit. */
static void
s_raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        return;
    }
    rlim_t before = rl.rlim_cur;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
            rl.rlim_cur = before;
        }
    }
    /* libzmq keeps a few descriptors of its own (epoll, signalers, the
     * monitor) and stdio holds three. */
    unsigned long long fit =
        rl.rlim_cur > 24 ? (unsigned long long)rl.rlim_cur - 24 : 0;
    ACTORS_LOG(ACTORS_LOG_NOTICE, "BRK-FDS",
        "soft=%llu hard=%llu peers=%llu descriptors allow about this many "
        "connections (actors, clients, nodes)",
        (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max, fit);
}

int
main(int argc, char **argv)
{
    actors_log_init_from_env("actors-broker");
    brk_opts_t opts = BRK_OPTS_INIT;
    const char *env = getenv("ACTORS_BROKER");
    if (env != NULL && *env != '\0') {
        opts.bind = env;
    }
    const char *endpoint_file = NULL;
    bool insecure = false;
    const char *stream = getenv("ACTORS_STREAM_BIND");
    if (stream != NULL && *stream != '\0') {
        opts.stream_bind = stream;
    }
    const char *metrics_port = getenv("ACTORS_METRICS_PORT");
    const char *metrics_bind = getenv("ACTORS_METRICS_BIND");
    if (metrics_port != NULL && *metrics_port == '\0') {
        metrics_port = NULL;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t n = 0;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            s_usage(stdout);
            return 0;
        } else if (strcmp(a, "--bind") == 0 && v != NULL) {
            opts.bind = v;
        } else if (strcmp(a, "--endpoint-file") == 0 && v != NULL) {
            endpoint_file = v;
        } else if (strcmp(a, "--keys") == 0 && v != NULL) {
            opts.keys_dir = v;
        } else if (strcmp(a, "--key") == 0 && v != NULL) {
            opts.key = v;
        } else if (strcmp(a, "--insecure") == 0) {
            insecure = true;
            continue;
        } else if (strcmp(a, "--metrics-port") == 0 && v != NULL) {
            metrics_port = v;
        } else if (strcmp(a, "--metrics-bind") == 0 && v != NULL) {
            metrics_bind = v;
        } else if (strcmp(a, "--stream-bind") == 0 && v != NULL) {
            opts.stream_bind = v;
        } else if (strcmp(a, "--mailbox") == 0 &&
                   s_number(v, UINT32_MAX, &n) == 0) {
            opts.mailbox = (uint32_t)n;
        } else if (strcmp(a, "--heartbeat") == 0 &&
                   s_number(v, 3600000, &n) == 0) {
            opts.heartbeat_ms = (uint32_t)n;
        } else if (strcmp(a, "--liveness") == 0 && s_number(v, 1000, &n) == 0) {
            opts.liveness = (uint32_t)n;
        } else if (strcmp(a, "--max-message") == 0 &&
                   s_number(v, (uint64_t)1 << 40, &n) == 0) {
            opts.max_message = n;
        } else if (strcmp(a, "--max-queued") == 0 &&
                   s_number(v, INT32_MAX, &n) == 0 && n > 0) {
            opts.max_queued = (uint32_t)n;
        } else {
            int known =
                strcmp(a, "--bind") == 0 || strcmp(a, "--endpoint-file") == 0 ||
                strcmp(a, "--mailbox") == 0 || strcmp(a, "--heartbeat") == 0 ||
                strcmp(a, "--liveness") == 0 ||
                strcmp(a, "--max-message") == 0 ||
                strcmp(a, "--max-queued") == 0 || strcmp(a, "--keys") == 0 ||
                strcmp(a, "--key") == 0 || strcmp(a, "--metrics-port") == 0 ||
                strcmp(a, "--metrics-bind") == 0 ||
                strcmp(a, "--stream-bind") == 0;
            fprintf(stderr, "actors-broker: %s '%s'%s\n",
                known ? "bad value for" : "unknown option", a,
                known && v == NULL ? " (missing)" : "");
            s_usage(stderr);
            return 2;
        }
        i++;
    }

    if ((opts.keys_dir == NULL) != (opts.key == NULL)) {
        fprintf(stderr, "actors-broker: --keys DIR and --key PATH go "
                        "together (the allowlist and the broker's secret "
                        "certificate)\n");
        return 2;
    }
    const char *open_ep =
        opts.keys_dir != NULL || brk_auth_endpoint_local(opts.bind) ? NULL
                                                                    : opts.bind;
    if (open_ep == NULL && opts.keys_dir == NULL && opts.stream_bind != NULL &&
        !brk_auth_endpoint_local(opts.stream_bind)) {
        open_ep = opts.stream_bind;
    }
    if (open_ep != NULL) {
        if (!insecure) {
            fprintf(stderr,
                "actors-broker: refusing to bind %s without keys: anyone who "
                "can reach it could run anything.\n"
                "  Make keys:  actorctl keygen broker --role admin --dir "
                "secrets\n"
                "              actorctl keygen admin --role admin --dir keys\n"
                "              (one per peer: --role client|actor|node|admin)\n"
                "  then:       actors-broker --bind %s --keys keys --key "
                "secrets/broker_secret\n"
                "  (or bind tcp://127.0.0.1:PORT, or add --insecure)\n",
                open_ep, opts.bind);
            return 1;
        }
        ACTORS_LOG(ACTORS_LOG_WARN, "BRK-INSECURE",
            "endpoint=%s bound without CURVE (--insecure): any host that "
            "reaches it may send any command",
            open_ep);
    }
    uint64_t mport = 0;
    if (metrics_port != NULL && strcmp(metrics_port, "0") != 0 &&
        s_number(metrics_port, 65535, &mport) != 0) {
        fprintf(stderr, "actors-broker: bad metrics port '%s'\n", metrics_port);
        s_usage(stderr);
        return 2;
    }
    s_raise_fd_limit();
    brk_broker_t *broker = NULL;
    actors_err rc = brk_broker_create(&broker, &opts);
    if (rc != ACTORS_OK) {
        fprintf(stderr, "actors-broker: cannot start on %s: %s\n", opts.bind,
            actors_strerror(rc));
        return 1;
    }
    rc = brk_broker_observe(broker, actors_log_level() >= ACTORS_LOG_DEBUG,
        metrics_port != NULL, metrics_bind, (uint16_t)mport);
    if (rc != ACTORS_OK) {
        fprintf(stderr, "actors-broker: cannot serve metrics on %s:%s: %s\n",
            metrics_bind ? metrics_bind : "127.0.0.1", metrics_port,
            actors_strerror(rc));
        brk_broker_destroy(&broker);
        return 1;
    }
    s_broker = broker;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: the poll returns EINTR */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    const char *ep = brk_broker_endpoint(broker);
    if (endpoint_file != NULL && s_write_endpoint(endpoint_file, ep) != 0) {
        fprintf(stderr, "actors-broker: cannot write %s: %s\n", endpoint_file,
            strerror(errno));
        brk_broker_destroy(&broker);
        return 1;
    }
    printf("ENDPOINT %s\n", ep);
    fflush(stdout);

    rc = brk_broker_run(broker);
    s_broker = NULL;
    brk_broker_destroy(&broker);
    return rc == ACTORS_OK ? 0 : 1;
}
