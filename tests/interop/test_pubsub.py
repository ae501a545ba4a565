#!/usr/bin/env python3
"""tests/interop/test_pubsub.py - publish/subscribe spoken from
schemas/PROTOCOL.md ("Publish/subscribe") alone, with pyzmq and msgpack.
SPDX-License-Identifier: MIT

    ACTORS_BROKER=EP test_pubsub.py

A DEALER subscribes to py.* and py.>, a REQ socket publishes (its REPLY
is the number of subscriptions reached), the DEALER reads PUBLICATIONs
(names in the header: pattern, topic; id: the SUBSCRIBE's), unsubscribes,
bodies small and large reach several subscribers intact, and malformed
PUBLISH/SUBSCRIBE get BadRequest. Prints "N passed, N
failed"; exit status 0 only if all passed.
"""
import os, struct, sys, zmq, msgpack

EP = os.environ["ACTORS_BROKER"]
ctx = zmq.Context()
passed = failed = 0


def check(name, ok, why=""):
    global passed, failed
    if ok:
        passed += 1
        print("ok   " + name)
    else:
        failed += 1
        print("FAIL %s %s" % (name, why))


def hdr(cmd, rid=b""):
    # signature, command, flags, timeout_ms (big-endian), id length, id
    return b"ACT2" + struct.pack(">BBIB", cmd, 0, 0, len(rid)) + rid


def sock(kind):
    s = ctx.socket(kind)
    s.setsockopt(zmq.LINGER, 0)
    s.setsockopt(zmq.RCVTIMEO, 5000)
    s.connect(EP)
    return s


def parse(h):
    """command, id, names (list of byte strings) of a header frame."""
    n = h[10]
    rid, rest = h[11:11 + n], h[11 + n:]
    names = []
    while rest:
        k = rest[0]
        names.append(rest[1:1 + k])
        rest = rest[1 + k:]
    return h[4], rid, names


PUBLISH, SUBSCRIBE, UNSUBSCRIBE, PUBLICATION, REPLY, ERROR = 0x12, 0x13, 0x14, 0x15, 0x03, 0x04

sub = sock(zmq.DEALER)
for rid, pattern in ((b"s1", b"py.*"), (b"s2", b"py.>")):
    sub.send_multipart([hdr(SUBSCRIBE, rid), pattern])
    f = sub.recv_multipart()
    cmd, got_id, _ = parse(f[0])
    check("SUBSCRIBE %s is answered 1" % pattern.decode(),
          cmd == REPLY and got_id == rid and msgpack.unpackb(f[1]) == 1, f)

req = sock(zmq.REQ)
req.send_multipart([hdr(PUBLISH, b"p1"), b"py.created", msgpack.packb({"id": 7})])
f = req.recv_multipart()
check("PUBLISH from REQ: REPLY with the count", parse(f[0])[0] == REPLY and msgpack.unpackb(f[1]) == 2, f)

got = {}
for _ in range(2):
    f = sub.recv_multipart()
    cmd, rid, names = parse(f[0])
    got[rid] = (cmd, names, msgpack.unpackb(f[1]))
check("PUBLICATION per subscription, id = the SUBSCRIBE's, names = pattern, topic",
      got.get(b"s1") == (PUBLICATION, [b"py.*", b"py.created"], {"id": 7}) and
      got.get(b"s2") == (PUBLICATION, [b"py.>", b"py.created"], {"id": 7}), got)

sub.send_multipart([hdr(UNSUBSCRIBE, b"u"), b"py.*"])
f = sub.recv_multipart()
check("UNSUBSCRIBE answered 1", msgpack.unpackb(f[1]) == 1, f)
req.send_multipart([hdr(PUBLISH, b"p2"), b"py.a.b", msgpack.packb([1, 2])])
f = req.recv_multipart()
check("py.a.b reaches py.> only", msgpack.unpackb(f[1]) == 1, f)
f = sub.recv_multipart()
check("and arrives", parse(f[0])[2] == [b"py.>", b"py.a.b"] and msgpack.unpackb(f[1]) == [1, 2], f)

# The topic after the header's request id (its length, the topic) and one
# frame, the body: the same event as with a topic frame.
req.send_multipart([hdr(PUBLISH, b"p7") + bytes((6,)) + b"py.h.i", msgpack.packb("h")])
f = req.recv_multipart()
check("PUBLISH with the topic in its header: REPLY with the count",
      parse(f[0])[:2] == (REPLY, b"p7") and msgpack.unpackb(f[1]) == 1, f)
# The reply's header is the request's, command aside: the topic after the
# id comes back as it was sent.
check("the REPLY's header echoes the topic after the id",
      f[0][:4] == b"ACT2" and f[0][5:] == hdr(PUBLISH, b"p7")[5:] + bytes((6,)) + b"py.h.i", f)
f = sub.recv_multipart()
check("and the event arrives under that topic",
      parse(f[0])[2] == [b"py.>", b"py.h.i"] and msgpack.unpackb(f[1]) == "h", f)
# With a topic frame too, bytes after the id are ignored (the frame names
# the topic), as in every command without names.
req.send_multipart([hdr(PUBLISH, b"p8") + b"\x03zzz", b"py.j", msgpack.packb(8)])
f = req.recv_multipart()
check("PUBLISH with a topic frame ignores bytes after the header's id",
      parse(f[0])[0] == REPLY and msgpack.unpackb(f[1]) == 1, f)
check("and its REPLY echoes them", f[0][5:] == hdr(PUBLISH, b"p8")[5:] + b"\x03zzz", f)
f = sub.recv_multipart()
check("and names the frame's topic", parse(f[0])[2] == [b"py.>", b"py.j"], f)

# Events on alternating topics: each PUBLICATION names its own topic (the
# broker reuses a subscription's header only while the topic is the same).
for topic in (b"py.a", b"py.bbbbbbbb", b"py.a", b"py.a", b"py.c.d"):
    req.send_multipart([hdr(PUBLISH, b"p3"), topic, msgpack.packb(topic)])
    req.recv_multipart()
got = [sub.recv_multipart() for _ in range(5)]
check("alternating topics: each event names its own",
      [parse(f[0])[2] for f in got] == [[b"py.>", t] for t in
          (b"py.a", b"py.bbbbbbbb", b"py.a", b"py.a", b"py.c.d")] and
      [msgpack.unpackb(f[1]) for f in got] ==
          [b"py.a", b"py.bbbbbbbb", b"py.a", b"py.a", b"py.c.d"], got)

# SUBSCRIBE again with a new request id: later events carry the new id,
# on a topic already delivered with the old one too (an id of the same
# length, so that only its bytes differ).
sub.send_multipart([hdr(SUBSCRIBE, b"s9"), b"py.>"])
f = sub.recv_multipart()
check("SUBSCRIBE again: answered 0", msgpack.unpackb(f[1]) == 0, f)
req.send_multipart([hdr(PUBLISH, b"p4"), b"py.c.d", msgpack.packb(4)])
req.recv_multipart()
f = sub.recv_multipart()
check("after SUBSCRIBE again, events carry its id",
      parse(f[0])[1] == b"s9" and parse(f[0])[2] == [b"py.>", b"py.c.d"], f)

# Two subscribers with the same pattern between ones with others: each
# gets what its own pattern matches.
sub2 = sock(zmq.DEALER)
for rid, pattern in ((b"t1", b"py.*"), (b"t2", b"py.*.d"), (b"t3", b"py.*")):
    sub2.send_multipart([hdr(SUBSCRIBE, rid), pattern])
    sub2.recv_multipart()
req.send_multipart([hdr(PUBLISH, b"p5"), b"py.c.d", msgpack.packb(5)])
f = req.recv_multipart()
check("py.c.d: py.> and py.*.d take it, the two py.* not",
      msgpack.unpackb(f[1]) == 2, f)
f = sub2.recv_multipart()
check("py.*.d's subscriber gets it", parse(f[0])[1:] == (b"t2", [b"py.*.d", b"py.c.d"]), f)
sub.recv_multipart()
sub2.close()

# Bodies small and large reach every subscriber intact (the broker copies
# a small body once per publish and shares a large one by reference).
subs = []
for i in range(3):
    s = sock(zmq.DEALER)
    s.send_multipart([hdr(SUBSCRIBE, b"b%d" % i), b"py.body"])
    s.recv_multipart()
    subs.append(s)
for size in (0, 20, 40, 8000, 9000, 300000):
    body = msgpack.packb(bytes((i * 7 + size) % 251 for i in range(size)))
    req.send_multipart([hdr(PUBLISH, b"p6"), b"py.body", body])
    f = req.recv_multipart()
    got = [s.recv_multipart() for s in subs]
    check("a body of %d bytes reaches 3 subscribers intact" % len(body),
          msgpack.unpackb(f[1]) == 4 and all(g[1] == body for g in got) and
          [parse(g[0])[1] for g in got] == [b"b0", b"b1", b"b2"],
          (f, [len(g[1]) for g in got]))
    sub.recv_multipart()  # py.> takes it too
for s in subs:
    s.close()

for name, frames in (("a wildcard topic", [b"py.*", b"\xc0"]),
                     ("an empty segment", [b"py..x", b"\xc0"]),
                     ("no body", [b"py.x"])):
    req.send_multipart([hdr(PUBLISH, b"e")] + frames)
    f = req.recv_multipart()
    ok = parse(f[0])[0] == ERROR and msgpack.unpackb(f[1])["type"] == "BadRequest"
    check("PUBLISH with %s: BadRequest" % name, ok, f)
for name, tail, frames, want in (
        ("a wildcard topic", b"\x04py.*", [b"\xc0"], "BadRequest"),
        ("a length past its end", b"\x09py.x", [b"\xc0"], "BadRequest"),
        ("bytes after the topic", b"\x04py.xy", [b"\xc0"], "BadRequest"),
        ("a zero length", b"\x00", [b"\xc0"], "BadRequest"),
        ("an empty body", b"\x04py.x", [b""], "BadRequest"),
        ("a bad topic frame too (the frame is the topic)", b"\x04py.x",
         [b"py..x", b"\xc0"], "BadRequest"),
        ("a topic under actors.", b"\x08actors.x", [b"\xc0"], "Forbidden"),
        # Several faults: the first in PROTOCOL.md's order answers.
        ("a topic under actors. and an empty body", b"\x08actors.x", [b""],
         "Forbidden"),
        ("a wildcard under actors.", b"\x08actors.*", [b"\xc0"], "BadRequest")):
    req.send_multipart([hdr(PUBLISH, b"e") + tail] + frames)
    f = req.recv_multipart()
    ok = parse(f[0])[0] == ERROR and msgpack.unpackb(f[1])["type"] == want
    check("PUBLISH with %s in its header: %s" % (name, want), ok, f)
sub.send_multipart([hdr(SUBSCRIBE, b"e"), b"a.>.b"])
f = sub.recv_multipart()
check("SUBSCRIBE with '>' not last: BadRequest",
      parse(f[0])[0] == ERROR and msgpack.unpackb(f[1])["type"] == "BadRequest", f)

print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
