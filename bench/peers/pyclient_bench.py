#!/usr/bin/python3
"""bench/peers/pyclient_bench.py - the sequential, pipelined and tell
workloads through the Python client (clients/python, package `actors`):
one Client, one connection, calls pipelined by request id, against the
real broker and a chaos actor answering echo(x), as actors-bench measures
the C client ("ours").

Starts actors-broker and chaos from $BUILD/bin (default build) on a free
loopback port and stops them by pid. Prints one JSON object:
{"peer": "pyclient", "version", "figures": {...}}.
"""
import os
import sys

import peerlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "clients", "python", "tests"))
import harness  # noqa: E402  (puts clients/python on sys.path)

import actors  # noqa: E402

ADDRESS = "bench/pyclient"


def main():
    seconds = peerlib.seconds_from_argv()
    procs = harness.Procs()
    try:
        ep = procs.broker()
        procs.service(ep, "chaos", ADDRESS)
        with actors.Client(ep, timeout=30) as c:
            harness.wait_registered(c, ADDRESS)
            out = peerlib.run_all(
                "pyclient", actors.__version__,
                call=lambda x: c.call(ADDRESS, "echo", x).result(),
                send=lambda x: c.call(ADDRESS, "echo", x),
                wait=lambda f: f.result(),
                tell=lambda x: c.tell(ADDRESS, "echo", x),
                seconds=seconds)
    finally:
        procs.stop_all()
    out["note"] = ("actors.Client: one DEALER connection, an I/O thread, "
                   "futures; tells acknowledged")
    peerlib.emit(out)


if __name__ == "__main__":
    main()
