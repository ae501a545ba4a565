/* bench/actors-rawbroker/main.c - the limit: a bare libzmq ROUTER forwarder.
 * SPDX-License-Identifier: MIT
 *
 * The lower bound the real broker is measured against (docs/BENCHMARKS.md).
 * No registry, no mailboxes, no msgpack, no heartbeats: one ROUTER socket
 * that forwards by routing id. A peer sends [dest-id][frames...]; the
 * forwarder receives [src-id][dest-id][frames...] and sends
 * [dest-id][src-id][frames...], moving the zmq_msg_t frames without a copy.
 * Workers are DEALERs with a routing id set (ZMQ_ROUTING_ID) that send one
 * frame to make themselves known; frames for an unknown peer are dropped.
 *
 *   actors-rawbroker [--bind EP] [--poll]   prints "ENDPOINT <ep>" once bound
 *
 * --poll is an experiment: the real broker's loop shape (s_poll_loop).
 */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#define MAX_FRAMES 64

static volatile sig_atomic_t s_stop;

static void
s_on_signal(int sig)
{
    (void)sig;
    s_stop = 1;
}

/* s_drain closes the frames of a message we drop, reading the rest of it. */
static void
s_drain(void *sock, zmq_msg_t *frames, int n, int more)
{
    for (int i = 0; i < n; i++) {
        zmq_msg_close(&frames[i]);
    }
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, sock, 0) < 0) {
            zmq_msg_close(&m);
            return;
        }
        more = zmq_msg_more(&m);
        zmq_msg_close(&m);
    }
}

/* s_forward reads one message and sends it on with the first two frames
 * swapped. flags is 0 (block) or ZMQ_DONTWAIT for the first frame.
 * Returns 0, or -1 when nothing was read (signal, or EAGAIN). */
static int
s_forward(void *sock, int flags, long *dropped)
{
    zmq_msg_t frames[MAX_FRAMES];
    int n = 0;
    int more = 1;
    while (more && n < MAX_FRAMES) {
        zmq_msg_init(&frames[n]);
        if (zmq_msg_recv(&frames[n], sock, n == 0 ? flags : 0) < 0) {
            s_drain(sock, frames, n + 1, 0);
            return -1;
        }
        more = zmq_msg_more(&frames[n]);
        n++;
    }
    if (more || n < 3) {
        /* Too many frames, or a hello / malformed message: drop it. */
        s_drain(sock, frames, n, more);
        return 0;
    }
    /* [src][dest][...] -> [dest][src][...] */
    zmq_msg_t tmp;
    zmq_msg_init(&tmp);
    zmq_msg_move(&tmp, &frames[0]);
    zmq_msg_move(&frames[0], &frames[1]);
    zmq_msg_move(&frames[1], &tmp);
    zmq_msg_close(&tmp);
    for (int i = 0; i < n; i++) {
        int sflags = ZMQ_DONTWAIT | (i + 1 < n ? ZMQ_SNDMORE : 0);
        if (zmq_msg_send(&frames[i], sock, sflags) < 0) {
            /* EHOSTUNREACH (unknown peer) or EAGAIN: drop the rest. */
            (*dropped)++;
            s_drain(sock, frames + i, n - i, 0);
            return 0;
        }
    }
    return 0;
}

/* s_poll_loop is the experiment behind --poll: the real broker's loop
 * shape (zmq_poll over the ROUTER and a second socket, then drain with
 * ZMQ_DONTWAIT until EAGAIN) around the same forwarding, to measure what
 * that shape costs by itself. */
static void
s_poll_loop(void *ctx, void *sock, long *dropped)
{
    void *other = zmq_socket(ctx, ZMQ_PAIR);
    zmq_bind(other, "inproc://rawbroker-idle");
    while (!s_stop) {
        zmq_pollitem_t items[2] = {
            {sock, 0, ZMQ_POLLIN, 0}, {other, 0, ZMQ_POLLIN, 0}};
        if (zmq_poll(items, 2, 1000) < 0) {
            if (zmq_errno() == EINTR) {
                continue;
            }
            break;
        }
        if (items[0].revents & ZMQ_POLLIN) {
            while (!s_stop && s_forward(sock, ZMQ_DONTWAIT, dropped) == 0) {
            }
        }
    }
    zmq_close(other);
}

int
main(int argc, char **argv)
{
    const char *bind = "tcp://127.0.0.1:*";
    bool poll_loop = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--bind") == 0 && i + 1 < argc) {
            bind = argv[++i];
        } else if (strcmp(argv[i], "--poll") == 0) {
            poll_loop = true;
        } else {
            fprintf(stderr, "usage: actors-rawbroker [--bind EP] [--poll]\n");
            return 2;
        }
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    void *ctx = zmq_ctx_new();
    void *sock = zmq_socket(ctx, ZMQ_ROUTER);
    int zero = 0;
    int one = 1;
    zmq_setsockopt(sock, ZMQ_SNDHWM, &zero, sizeof zero);
    zmq_setsockopt(sock, ZMQ_RCVHWM, &zero, sizeof zero);
    zmq_setsockopt(sock, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
    zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero);
    if (zmq_bind(sock, bind) != 0) {
        fprintf(stderr, "actors-rawbroker: bind %s: %s\n", bind,
            zmq_strerror(zmq_errno()));
        zmq_close(sock);
        zmq_ctx_term(ctx);
        return 1;
    }
    char ep[256];
    size_t len = sizeof ep;
    zmq_getsockopt(sock, ZMQ_LAST_ENDPOINT, ep, &len);
    printf("ENDPOINT %s\n", ep);
    fflush(stdout);

    long dropped = 0;
    if (poll_loop) {
        s_poll_loop(ctx, sock, &dropped);
    }
    while (!s_stop && !poll_loop) {
        if (s_forward(sock, 0, &dropped) < 0 && zmq_errno() != EINTR) {
            break;
        }
    }
    if (dropped > 0) {
        fprintf(stderr, "actors-rawbroker: %ld messages dropped\n", dropped);
    }
    zmq_close(sock);
    zmq_ctx_term(ctx);
    return 0;
}
