#!/usr/bin/python3
"""bench/peers/goclient_bench.py - the sequential, pipelined and tell
workloads through the Go client (clients/go, cmd/actors-gobench): one
actors.Client, one connection, against the real broker and a chaos actor
answering echo(x), as actors-bench measures the C client ("ours").

Builds actors-gobench with the Go toolchain (go on PATH or
/usr/local/go/bin/go; without it the peer is n/a), starts actors-broker
and chaos from $BUILD/bin on a free loopback port, stops them by pid.
Prints one JSON object: {"peer": "goclient", "version", "figures": {...}}.
"""
import json
import os
import shutil
import subprocess
import sys

import peerlib

HERE = os.path.dirname(os.path.abspath(__file__))
GO_DIR = os.path.abspath(os.path.join(HERE, "..", "..", "clients", "go"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "clients", "python", "tests"))
import harness  # noqa: E402  (puts clients/python on sys.path)

import actors  # noqa: E402

ADDRESS = "bench/goclient"


def main():
    seconds = peerlib.seconds_from_argv()
    go = shutil.which("go") or "/usr/local/go/bin/go"
    if not os.access(go, os.X_OK):
        sys.exit("goclient: no Go toolchain")
    exe = os.path.join(harness.BIN, "actors-gobench")
    subprocess.run([go, "build", "-o", exe, "./cmd/actors-gobench"],
                   cwd=GO_DIR, check=True)
    version = subprocess.run([go, "version"], capture_output=True,
                             text=True).stdout.split()[2]
    procs = harness.Procs()
    try:
        ep = procs.broker()
        procs.service(ep, "chaos", ADDRESS)
        with actors.Client(ep, timeout=30) as c:
            harness.wait_registered(c, ADDRESS)
        r = subprocess.run([exe, "--endpoint", ep, "--address", ADDRESS,
                            "--seconds", str(seconds)],
                           capture_output=True, text=True, timeout=600)
        if r.returncode != 0:
            sys.exit("goclient: actors-gobench failed: " + r.stderr)
        figures = json.loads(r.stdout)
    finally:
        procs.stop_all()
    peerlib.emit({"peer": "goclient", "version": version, "figures": figures,
                  "note": "actors.Client (pebbe/zmq4): one DEALER "
                          "connection, a goroutine, futures; tells "
                          "acknowledged"})


if __name__ == "__main__":
    main()
