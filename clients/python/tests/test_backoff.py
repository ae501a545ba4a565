"""A refused connection: the client backs off (100 ms doubling to 5 s,
with jitter) instead of knocking every 100 ms, as libactors does
(schemas/PROTOCOL.md, "Descriptors"), and gets in once the broker takes
it."""
import concurrent.futures
import logging
import socket
import threading
import time

import harness

import actors

# The first 6 connections of a client that backs off are at least
# 100 + 200 + 400 + 800 + 1600 ms apart in all (3.1 s); libzmq alone takes
# about 0.5 s. A slow machine only makes it longer. One more is the client
# asking the broker's greeting once (is it CURVE?): 7.
KNOCKS = 7
LEAST_S = 2.0


class Refuser:
    """A TCP listener that accepts every connection and shuts it at once,
    as a broker out of descriptors does; it notes when each came."""

    def __init__(self):
        self.sock = socket.socket()
        # so that the broker can bind the port while the refused
        # connections linger in TIME_WAIT (their sockets inherit it)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.times = []
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            self.times.append(time.monotonic())
            conn.close()

    def close(self):
        self._stop = True
        self._thread.join()
        self.sock.close()


def test_refused_connection_backs_off(procs, caplog):
    caplog.set_level(logging.INFO, logger="actors")
    r = Refuser()
    ep = "tcp://127.0.0.1:%d" % r.port
    c = actors.Client(ep, timeout=2)
    try:
        fut = c.ping()  # sent while refused: parked, or lost with one
        try:
            harness.wait_until(lambda: len(r.times) >= KNOCKS,
                               "%d connections" % KNOCKS, 30)
        finally:
            r.close()
        took = r.times[KNOCKS - 1] - r.times[0]
        assert took >= LEAST_S, (
            "%d connections in %.2f s: no backoff" % (KNOCKS, took))
        assert c.refusals >= KNOCKS - 2
        assert any("cause=dropped" in m for m in caplog.messages), \
            caplog.messages
        # A broker on that port takes the client at its next connect (the
        # port may take a moment to be free: the refused connections).
        harness.wait_until(
            lambda: procs.broker(name="backoff-broker", bind=ep) == ep,
            "a broker on %s" % ep)

        def pinged():
            nonlocal fut
            try:
                return "uptime_ms" in fut.result(timeout=0.2)
            except actors.Timeout:
                fut = c.ping()  # it went with a refused connection
                return False
            except concurrent.futures.TimeoutError:
                return False  # not answered yet
        harness.wait_until(pinged, "a ping after the refusals")
    finally:
        c.close()
        p = procs.named.get("backoff-broker")
        if p is not None:
            harness.stop(p)
