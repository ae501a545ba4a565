"""Fixtures: one broker with an account, a counter, a chaos actor and a
node (actors-supervisor) for the whole session, all on loopback, all
stopped by pid at the end (see harness.py)."""
import signal
import sys

import pytest

import harness

import actors  # noqa: E402  (harness put the source tree on sys.path)


@pytest.fixture(scope="session")
def procs():
    p = harness.Procs()
    # a SIGTERM (timeout(1) in scripts/run-tests.sh) still stops them
    old = signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
    try:
        yield p
    finally:
        p.stop_all()
        signal.signal(signal.SIGTERM, old)


@pytest.fixture(scope="session")
def endpoint(procs):
    # with its event stream: the client's subscriptions take it
    ep = procs.broker("--stream-bind", "tcp://127.0.0.1:*")
    procs.service(ep, "account", "py/account", 100, 20)
    procs.service(ep, "counter", "py/counter")
    procs.service(ep, "chaos", "py/chaos")
    procs.node(ep, "pynode", "actor\n    chaos\n        service = chaos\n"
               "        address = py/supervised\n")
    with actors.Client(ep, timeout=10) as c:
        for a in ("py/account", "py/counter", "py/chaos", "py/supervised"):
            harness.wait_registered(c, a)
    return ep


@pytest.fixture
def client(endpoint):
    with actors.Client(endpoint, timeout=10) as c:
        yield c
