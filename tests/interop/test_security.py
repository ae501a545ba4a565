#!/usr/bin/python3
# tests/interop/test_security.py - a foreign client against a broker with
# CURVE keys, written from schemas/PROTOCOL.md ("Security") alone.
# SPDX-License-Identifier: MIT
#
#   ACTORS_BROKER=EP ACTORS_INTEROP_KEYS=DIR /usr/bin/python3 test_security.py
#
# DIR holds czmq certificates made by `actorctl keygen`: broker (the
# broker's public one), cli_secret (role client, allowlisted),
# admin_secret (role admin, allowlisted) and stranger_secret (not
# allowlisted). Checks: an allowlisted client is served; the commands of
# other roles are answered Forbidden; plain text, an unknown key and a
# wrong broker key get no answer. The last line printed is
# "N passed, N failed"; the exit status is 0 only if nothing failed.
import os
import struct
import sys

import msgpack
import zmq
import zmq.auth

SIG = b"ACT2"
REPLY, ERROR = 0x03, 0x04
REGISTER, LOOKUP, PING, NODE, STATE, SPAWN, KILL = (
    0x05, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F)
QUIET_MS = 1500  # a refused connection: no answer in this long

passed = failed = 0


def check(name, fn):
    global passed, failed
    try:
        fn()
        passed += 1
        print("ok - %s" % name)
    except Exception as e:  # noqa: BLE001 - report every failure
        failed += 1
        print("not ok - %s: %s" % (name, e))


def sock(endpoint, key=None, broker_key=None):
    """A DEALER; with key (own secret certificate) and broker_key (the
    broker's public certificate) a CURVE client."""
    s = zmq.Context.instance().socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    if key:
        pub, sec = zmq.auth.load_certificate(key)
        server, _ = zmq.auth.load_certificate(broker_key)
        s.curve_publickey, s.curve_secretkey = pub, sec
        s.curve_serverkey = server
    s.connect(endpoint)
    return s


def ask(s, cmd, frames=(), timeout_ms=10000):
    """Sends [header, *frames]; returns (cmd, body) of the answer, or None
    if none came within timeout_ms."""
    hdr = SIG + struct.pack(">BBIB", cmd, 0, 0, 2) + b"q1"
    s.send_multipart([hdr] + list(frames))
    if not s.poll(timeout_ms):
        return None
    parts = s.recv_multipart()
    return parts[0][4], msgpack.unpackb(parts[1], raw=False)


def expect_forbidden(s, cmd, frames):
    ans = ask(s, cmd, frames)
    if ans is None or ans[0] != ERROR or ans[1].get("type") != "Forbidden":
        raise AssertionError("want ERROR Forbidden, got %r" % (ans,))


def expect_silence(s):
    ans = ask(s, PING, timeout_ms=QUIET_MS)
    if ans is not None:
        raise AssertionError("a refused connection was answered: %r" % (ans,))


def main():
    ep = os.environ.get("ACTORS_BROKER") or "tcp://127.0.0.1:5555"
    keys = os.environ["ACTORS_INTEROP_KEYS"]
    broker = os.path.join(keys, "broker")
    cli = sock(ep, os.path.join(keys, "cli_secret"), broker)
    admin = sock(ep, os.path.join(keys, "admin_secret"), broker)
    print("# CURVE broker %s" % ep)

    def ping_ok():
        ans = ask(cli, PING)
        if ans is None or ans[0] != REPLY or ans[1].get("protocol") != "ACT2":
            raise AssertionError("ping: %r" % (ans,))
    check("an allowlisted client key is served", ping_ok)
    check("client: NODE is Forbidden", lambda: expect_forbidden(
        cli, NODE, [msgpack.packb({"node": "evil", "pid": 1})]))
    check("client: STATE is Forbidden", lambda: expect_forbidden(
        cli, STATE, [b"interop/account", msgpack.packb(
            {"state": "stopped", "node": "evil", "pid": 1, "restarts": 0,
             "cause": ""})]))
    check("client: REGISTER is Forbidden", lambda: expect_forbidden(
        cli, REGISTER, [b"interop/account",
                        msgpack.packb({"service": "x", "pid": 1})]))
    check("client: SPAWN is Forbidden", lambda: expect_forbidden(
        cli, SPAWN, [msgpack.packb({"service": "account"})]))
    check("client: KILL is Forbidden", lambda: expect_forbidden(
        cli, KILL, [b"interop/account", msgpack.packb({"restart": False})]))

    def account_alive():
        ans = ask(cli, LOOKUP, [b"interop/account"])
        if ans is None or ans[0] != REPLY or ans[1].get("state") != "running":
            raise AssertionError("lookup: %r" % (ans,))
    check("the account is still running", account_alive)

    def admin_may_kill():
        ans = ask(admin, KILL, [b"no/such", msgpack.packb(
            {"restart": False, "graceful": False})])
        if ans is None or (ans[0] == ERROR and
                           ans[1].get("type") == "Forbidden"):
            raise AssertionError("admin KILL: %r" % (ans,))
    check("admin: KILL is allowed (answered, not Forbidden)", admin_may_kill)
    check("plain text gets no answer", lambda: expect_silence(sock(ep)))
    check("an unknown key gets no answer", lambda: expect_silence(
        sock(ep, os.path.join(keys, "stranger_secret"), broker)))
    check("a wrong broker key gets no answer", lambda: expect_silence(
        sock(ep, os.path.join(keys, "cli_secret"),
             os.path.join(keys, "stranger"))))
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
