#!/usr/bin/python3
# tests/interop/test_account_req.py - a foreign client, written from
# schemas/PROTOCOL.md alone, plays Ray's bank-account session.
# SPDX-License-Identifier: MIT
#
# Uses only pyzmq, msgpack and struct (Debian's /usr/bin/python3 with
# python3-zmq and python3-msgpack), never project code, and a plain REQ
# socket: REQ adds and strips the empty delimiter frame itself.
#
# A CALL on the wire (protocol ACT2) is two frames:
#
#   HEADER  "ACT2" | cmd 0x01 | flags 0 | timeout_ms (4, big-endian)
#           | id length (1) | request id | address length (1) | address
#           | method length (1) | method
#   ARGS    a msgpack array
#
# and its answer is [HEADER, body]: the call's header with the command
# byte rewritten to REPLY (0x03) or ERROR (0x04).
#
#   ACTORS_BROKER=tcp://127.0.0.1:NNNN /usr/bin/python3 test_account_req.py [ADDRESS]
#
# With $ACTORS_KEY (own secret certificate) and $ACTORS_BROKER_KEY (the
# broker's public one) set, the socket is a CURVE client (PROTOCOL.md,
# Security): the same session over an encrypted, authenticated
# connection.
#
# ADDRESS (or $ACTORS_INTEROP_ADDRESS, default interop/account) must be a
# fresh account actor created with balance 100 and minimal balance 20.
# The last line printed is "N passed, N failed"; the exit status is 0 only
# if nothing failed.
import os
import struct
import sys

import msgpack
import zmq

SIG = b"ACT2"
CALL, TELL, REPLY, ERROR = 0x01, 0x02, 0x03, 0x04
LOOKUP, LIST, PING = 0x09, 0x0A, 0x0B
RECV_TIMEOUT_MS = 10000  # our own timer: the broker may be gone


def names(address, method):
    """The names of a CALL or TELL, appended to its header: a length byte
    and the address, a length byte and the method (1..255 bytes each)."""
    a, m = address.encode(), method.encode()
    if not (1 <= len(a) <= 255 and 1 <= len(m) <= 255):
        raise ValueError("address and method must be 1..255 bytes")
    return bytes([len(a)]) + a + bytes([len(m)]) + m


def curve(sock, key=None, broker_key=None):
    """Makes sock a CURVE client (PROTOCOL.md, Security) with the secret
    certificate key and the broker's public certificate broker_key (czmq
    files; default $ACTORS_KEY and $ACTORS_BROKER_KEY). Without them the
    socket stays NULL (a broker without keys)."""
    key = key or os.environ.get("ACTORS_KEY")
    broker_key = broker_key or os.environ.get("ACTORS_BROKER_KEY")
    if not key or not broker_key:
        return
    import zmq.auth
    public, secret = zmq.auth.load_certificate(key)
    server, _ = zmq.auth.load_certificate(broker_key)
    sock.curve_publickey = public
    sock.curve_secretkey = secret
    sock.curve_serverkey = server


class Result:
    def __init__(self, cmd, rid, value, header):
        self.cmd = cmd        # REPLY or ERROR
        self.rid = rid        # request id echoed by the broker
        self.value = value    # decoded body
        self.header = header  # raw header frame


class Client:
    """A REQ client, one request at a time (PROTOCOL.md, worked example)."""

    def __init__(self, endpoint):
        self.endpoint = endpoint
        self.ctx = zmq.Context.instance()
        self.sock = None
        self.next_id = 1
        self._open()

    def _open(self):
        if self.sock is not None:
            self.sock.close(linger=0)
        self.sock = self.ctx.socket(zmq.REQ)
        curve(self.sock)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.RCVTIMEO, RECV_TIMEOUT_MS)
        self.sock.connect(self.endpoint)

    def header(self, cmd, timeout_ms=0, rid=None, tail=b""):
        """The HEADER frame: signature, command, flags 0, timeout_ms
        (uint32 big-endian), the request id's length (one byte), the id,
        then tail (the names, for CALL and TELL). Returns (header, id)."""
        if rid is None:
            rid = struct.pack(">Q", self.next_id)
            self.next_id += 1
        fixed = SIG + struct.pack(">BBIB", cmd, 0, timeout_ms, len(rid))
        return fixed + rid + tail, rid

    def exchange(self, frames):
        """Sends frames, returns the reply frames (no delimiter: REQ strips
        it). On our own timeout the socket is reopened (Lazy Pirate)."""
        self.sock.send_multipart(frames)
        try:
            return self.sock.recv_multipart()
        except zmq.Again:
            self._open()
            raise TimeoutError("no reply within %d ms" % RECV_TIMEOUT_MS)

    def request(self, cmd, frames, timeout_ms=0, rid=None, tail=b""):
        hdr, rid = self.header(cmd, timeout_ms, rid, tail)
        reply = self.exchange([hdr] + frames)
        return parse_reply(reply)

    def call(self, address, method, *args, timeout_ms=5000, rid=None):
        """CALL: the names travel in the header; one frame of arguments
        (a msgpack array) follows it."""
        return self.request(CALL, [msgpack.packb(list(args))], timeout_ms,
                            rid, names(address, method))

    def close(self):
        self.sock.close(linger=0)


def parse_reply(frames):
    if len(frames) != 2:
        raise AssertionError("reply has %d frames, want 2: %r"
                             % (len(frames), frames))
    hdr, body = frames
    if len(hdr) < 11 or hdr[:4] != SIG:
        raise AssertionError("reply header is not ACT2: %r" % hdr)
    # The id is found by its length byte; what follows it (the names, in
    # the answer to a CALL) is not needed to match the reply.
    id_len = hdr[10]
    if len(hdr) < 11 + id_len:
        raise AssertionError("reply header shorter than its id: %r" % hdr)
    value = msgpack.unpackb(body, raw=False)
    return Result(hdr[4], hdr[11:11 + id_len], value, hdr)


# ------------------------------------------------------------------ checks
passed = 0
failed = 0


def check(name, fn):
    global passed, failed
    try:
        fn()
    except Exception as e:  # an assertion, a timeout, a decoding error
        failed += 1
        print("FAIL %s: %s: %s" % (name, type(e).__name__, e))
    else:
        passed += 1
        print("ok   %s" % name)


def expect_reply(res, value, rid=None):
    if res.cmd != REPLY:
        raise AssertionError("want REPLY %r, got command %d %r"
                             % (value, res.cmd, res.value))
    if rid is not None and res.rid != rid:
        raise AssertionError("request id %r not echoed (got %r)"
                             % (rid, res.rid))
    if type(res.value) is not type(value) or res.value != value:
        raise AssertionError("want %r (%s), got %r (%s)"
                             % (value, type(value).__name__, res.value,
                                type(res.value).__name__))


def expect_error(res, etype, message=None, address=None, rid=None):
    if res.cmd != ERROR:
        raise AssertionError("want ERROR %s, got command %d %r"
                             % (etype, res.cmd, res.value))
    body = res.value
    if not isinstance(body, dict):
        raise AssertionError("ERROR body is not a map: %r" % body)
    for key in ("type", "message", "address"):
        if not isinstance(body.get(key), str):
            raise AssertionError("ERROR body lacks string %r: %r"
                                 % (key, body))
    if body["type"] != etype:
        raise AssertionError("want type %s, got %s: %s"
                             % (etype, body["type"], body["message"]))
    if message is not None and body["message"] != message:
        raise AssertionError("want message %r, got %r"
                             % (message, body["message"]))
    if address is not None and body["address"] != address:
        raise AssertionError("want address %r, got %r"
                             % (address, body["address"]))
    if rid is not None and res.rid != rid:
        raise AssertionError("request id %r not echoed (got %r)"
                             % (rid, res.rid))


def main():
    endpoint = os.environ.get("ACTORS_BROKER") or "tcp://127.0.0.1:5555"
    if len(sys.argv) > 1:
        address = sys.argv[1]
    else:
        address = os.environ.get("ACTORS_INTEROP_ADDRESS", "interop/account")
    print("# broker %s, account %s" % (endpoint, address))
    c = Client(endpoint)

    # Ray E1/E2: Account.remote(balance=100., minimal_balance=20.)
    check("ping answers ACT2",
          lambda: _ping(c))
    check("lookup shows a running account",
          lambda: _lookup(c, address))
    check("balance() -> 100.0",
          lambda: expect_reply(c.call(address, "balance"), 100.0))
    check("deposit(200) -> 300.0, request id echoed",
          lambda: expect_reply(c.call(address, "deposit", 200,
                                      rid=b"\x00\x00\x00\x01"),
                               300.0, rid=b"\x00\x00\x00\x01"))
    check("withdraw(40) -> 260.0",
          lambda: expect_reply(c.call(address, "withdraw", 40), 260.0))
    check("withdraw(-5) -> ValueError, actor lives on",
          lambda: expect_error(c.call(address, "withdraw", -5,
                                      rid=b"w-5"),
                               "ValueError",
                               "Can not withdraw negative amount",
                               address, rid=b"w-5"))
    check("deposit(-1) -> ValueError",
          lambda: expect_error(c.call(address, "deposit", -1),
                               "ValueError",
                               "Can not deposit negative amount", address))
    check("withdraw(1000) -> ValueError, below the minimal balance",
          lambda: expect_error(c.call(address, "withdraw", 1000),
                               "ValueError",
                               "Withdraw is not supported by current balance",
                               address))
    check("balance() -> 260.0 (unchanged by the errors)",
          lambda: expect_reply(c.call(address, "balance"), 260.0))
    check("empty request id works for a call",
          lambda: expect_reply(c.call(address, "balance", rid=b""),
                               260.0, rid=b""))
    check("call without a deadline (timeout_ms 0)",
          lambda: expect_reply(c.call(address, "balance", timeout_ms=0),
                               260.0))
    check("REPLY header is the CALL's with the command rewritten",
          lambda: _reply_header(c, address))

    # Errors the actor reports.
    check("unknown method -> NoSuchMethod",
          lambda: expect_error(c.call(address, "transfer", 1),
                               "NoSuchMethod"))
    check("deposit('abc') -> WrongArguments",
          lambda: expect_error(c.call(address, "deposit", "abc"),
                               "WrongArguments"))
    check("args that are not an array -> WrongArguments",
          lambda: _raw_args(c, address, msgpack.packb(5), "WrongArguments"))
    check("args that are not msgpack -> BadMsgpack",
          lambda: _raw_args(c, address, b"\xc1", "BadMsgpack"))
    check("balance() -> 260.0 after the bad calls",
          lambda: expect_reply(c.call(address, "balance"), 260.0))

    # Errors the broker reports.
    missing = "interop/no-such-actor-%d" % os.getpid()
    check("unknown address -> NoSuchActor",
          lambda: expect_error(c.call(missing, "balance"), "NoSuchActor",
                               address=missing))
    check("lookup of an unknown address -> NoSuchActor",
          lambda: expect_error(c.request(LOOKUP, [missing.encode()]),
                               "NoSuchActor"))
    check("garbage header -> BadRequest with an empty id (REQ not stuck)",
          lambda: _garbage(c, b"garbage!!!!!!", "BadRequest"))
    check("other protocol version -> BadVersion",
          lambda: _garbage(c, b"ACT9" + b"\x01\x00\x00\x00\x00\x00\x00",
                           "BadVersion"))
    check("an ACT1 header -> BadVersion",
          lambda: _garbage(c, b"ACT1" + b"\x01\x00\x00\x00\x00\x00"
                           + b"\x00\x00\x00\x01", "BadVersion"))
    check("id length byte past the end of the header -> BadRequest",
          lambda: _garbage(c, SIG + b"\x0b\x00\x00\x00\x00\x00\x09abc",
                           "BadRequest"))
    check("unknown command -> BadRequest",
          lambda: expect_error(c.request(0x7F, [address.encode()]),
                               "BadRequest"))
    check("CALL without its args frame -> BadRequest",
          lambda: expect_error(c.request(CALL, [], 5000, b"no-args",
                                         names(address, "balance")),
                               "BadRequest", rid=b"no-args"))
    check("CALL with the names as frames (ACT1 layout) -> BadRequest",
          lambda: expect_error(c.request(CALL, [address.encode(),
                                                b"balance",
                                                msgpack.packb([])],
                                         5000, b"act1"),
                               "BadRequest", rid=b"act1"))
    check("CALL with malformed names -> BadRequest, request id echoed",
          lambda: _bad_names(c, address))
    check("CALL with an empty key -> BadRequest",
          lambda: expect_error(c.request(CALL, [msgpack.packb([]), b""],
                                         5000, b"key",
                                         names(address, "balance")),
                               "BadRequest", rid=b"key"))
    check("the REQ socket still works: balance() -> 260.0",
          lambda: expect_reply(c.call(address, "balance"), 260.0))

    c.close()
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


def _ping(c):
    res = c.request(PING, [])
    if res.cmd != REPLY or not isinstance(res.value, dict):
        raise AssertionError("PING: %r" % res.value)
    if res.value.get("protocol") != "ACT2":
        raise AssertionError("PING protocol: %r" % res.value)


def _lookup(c, address):
    res = c.request(LOOKUP, [address.encode()])
    if res.cmd != REPLY or not isinstance(res.value, dict):
        raise AssertionError("LOOKUP: %r" % res.value)
    v = res.value
    if v.get("address") != address or v.get("service") != "account":
        raise AssertionError("LOOKUP map: %r" % v)
    if v.get("state") != "running":
        raise AssertionError("LOOKUP state: %r" % v)
    for key in ("pid", "mailbox", "inflight", "handled"):
        if not isinstance(v.get(key), int):
            raise AssertionError("LOOKUP %s not an int: %r" % (key, v))


def _raw_args(c, address, args, etype):
    hdr, rid = c.header(CALL, 5000, tail=names(address, "balance"))
    res = parse_reply(c.exchange([hdr, args]))
    expect_error(res, etype, rid=rid)


def _reply_header(c, address):
    hdr, rid = c.header(CALL, 5000, b"echo-me", names(address, "balance"))
    res = parse_reply(c.exchange([hdr, msgpack.packb([])]))
    expect_reply(res, 260.0, rid=b"echo-me")
    want = hdr[:4] + bytes([REPLY]) + hdr[5:]
    if res.header != want:
        raise AssertionError("reply header %r, want %r" % (res.header, want))


def _bad_names(c, address):
    a = address.encode()
    for tail in (bytes([len(a) + 1]) + a,               # address cut short
                 bytes([len(a)]) + a + b"\x00",         # empty method
                 names(address, "balance") + b"X",      # a byte too many
                 b"\x00\x07balance"):                   # empty address
        res = c.request(CALL, [msgpack.packb([])], 5000, b"bad", tail)
        expect_error(res, "BadRequest", rid=b"bad")


def _garbage(c, header, etype):
    res = parse_reply(c.exchange([header, b"x"]))
    expect_error(res, etype, rid=b"")


if __name__ == "__main__":
    sys.exit(main())
