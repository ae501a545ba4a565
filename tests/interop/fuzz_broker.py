#!/usr/bin/env python3
"""tests/interop/fuzz_broker.py - a structure-aware fuzzer for the broker.
SPDX-License-Identifier: MIT

    fuzz_broker.py ENDPOINT SECONDS [SEED]

Twelve peers (DEALER and REQ, replaced at random) send plausible but random
ACT2 messages: every command code and some unknown ones, good and bad
signatures, truncated headers, random request ids, names, frame counts,
msgpack maps shaped like REGISTER (group members too), NODE, STATE, SPAWN
and KILL bodies, header flags (broadcast, routed: group routing keys),
topics and patterns for PUBLISH, SUBSCRIBE and UNSUBSCRIBE (good, with
wildcards, empty segments, too long), and garbage. A well-behaved echo
actor (registered with progress, its address subscribed to "fz.>")
answers what reaches it and credits the tells and events, and so do two
well-behaved members of the group fz/g. After every batch of 200
messages a correct call from a clean client must be answered with its
own value within 5 s, and so must a call to the group, a keyed call to
it, and an acknowledged broadcast tell, or the run fails. With a broker
that has an event stream (--stream-bind), SUBSCRIBEs carry its flag at
random, four more peers send random subscriptions up the stream (ticket
headers, pattern prefixes, everything, garbage, reconnecting at random),
and after every batch an event must reach a clean subscription on the
stream within 5 s too.
Exit status 0 if every batch was answered. Uses Debian's python3-zmq and
python3-msgpack; sends only to ENDPOINT (loopback in the tests).
"""
import os, random, struct, sys, time, zmq, msgpack
ep = sys.argv[1]; seconds = float(sys.argv[2]); seed = int(sys.argv[3]) if len(sys.argv) > 3 else 1
rnd = random.Random(seed)
ctx = zmq.Context()
def sock(t=zmq.DEALER):
    s = ctx.socket(t); s.setsockopt(zmq.LINGER, 0); s.setsockopt(zmq.RCVHWM, 100000); s.connect(ep); return s
def hdr(cmd, rid=b"", timeout=0, names=b"", sig=b"ACT2", flags=0):
    return sig + struct.pack(">BBIB", cmd, flags, timeout, len(rid)) + rid + names
def names(a, m):
    return bytes([len(a)]) + a + bytes([len(m)]) + m
def rbytes(n): return bytes(rnd.getrandbits(8) for _ in range(n))
def rval(d=0):
    k = rnd.randrange(9 if d < 3 else 6)
    if k == 0: return None
    if k == 1: return True
    if k == 2: return rnd.randrange(-2**40, 2**40)
    if k == 3: return rnd.random()
    if k == 4: return "s" * rnd.randrange(5)
    if k == 5: return rbytes(rnd.randrange(4))
    if k == 6: return [rval(d+1) for _ in range(rnd.randrange(3))]
    if k == 7: return {("k%d" % i): rval(d+1) for i in range(rnd.randrange(3))}
    return {"state": rnd.choice(["starting","restarting","dead","stopped","running","x"]), "pid": rnd.randrange(0, 5), "spec": {"max_restarts": -1, "service": "chaos"}, "cause": "c", "max_task_retries": rnd.randrange(-1, 3)}
addrs = [b"fz/%d" % i for i in range(6)] + [b"\xff\xfe", b"x"*255]
topics = [b"fz.a", b"fz.a.b", b"fz.*", b"fz.>", b">", b"*", b"a..b", b".a", b"a.",
          b"a b", b"fz.>.x", b"x" * 255, b"x" * 256, b"fz.\x00", b"\xff.\xfe"]
def rframe():
    c = rnd.randrange(6)
    if c == 0: return rbytes(rnd.randrange(0, 40))
    if c == 1: return msgpack.packb(rval())
    if c == 2: return rnd.choice(addrs)
    if c == 3: return rnd.choice([b"", b"\x80", b"\x90", b"\xc0", b"\xdf\xff\xff\xff\xff", struct.pack(">I", rnd.randrange(5)), struct.pack(">II", rnd.randrange(5), rnd.randrange(50))])
    if c == 4 and rnd.random() < 0.5: return rnd.choice(topics)
    if c == 4: return msgpack.packb({"node": rnd.choice(["n1","n2"]), "pid": 1, "service": "chaos", "name": rnd.choice(addrs).decode("latin1"), "prefetch": rnd.randrange(0, 5), "progress": rnd.choice([True, False]), "group": rnd.choice([True, True, False, None, 1]), "max_task_retries": rnd.choice([0, 1, -1, "x"])})
    return b"ACT2"
def rmsg():
    cmd = rnd.choice(list(range(0, 0x16)) + [0x12, 0x13, 0x14, 0xff])
    rid = rbytes(rnd.choice([0, 1, 8, 9]))
    nm = names(rnd.choice(addrs), b"m") if cmd in (1, 2) and rnd.random() < 0.8 else rbytes(rnd.randrange(3))
    h = hdr(cmd, rid, rnd.randrange(0, 300), nm, sig=rnd.choice([b"ACT2"]*9 + [b"ACT1", b"XXXX"]), flags=rnd.choice([0,0,0,1,2,3,4,4,255]))
    if rnd.random() < 0.05: h = h[:rnd.randrange(len(h))]
    return [h] + [rframe() for _ in range(rnd.choice([0,1,1,2,2,3,9]))]
# A well-behaved echo actor (DEALER), two members of the group fz/g, and
# a client.
actor = sock(); client = sock(); members = [sock(), sock()]
actor.send_multipart([hdr(5, b"r"), b"fz/ok", msgpack.packb({"service": "echo", "pid": 1, "progress": True})])
assert actor.poll(3000), "no REGISTER reply"; actor.recv_multipart()
actor.send_multipart([hdr(0x13, b"s"), b"fz.>", b"fz/ok"])
assert actor.poll(3000), "no SUBSCRIBE reply"; r = actor.recv_multipart()
assert r[0][4] == 3 and msgpack.unpackb(r[1]) == 1, r
for i, m in enumerate(members):
    m.send_multipart([hdr(5, b"r"), b"fz/g", msgpack.packb({"service": "echo", "pid": 10 + i, "progress": True, "group": True})])
    assert m.poll(3000), "no group REGISTER reply"; r = m.recv_multipart(); assert r[0][4] == 3, r
# The event stream, if the broker has one: a clean subscription on it.
client.send_multipart([hdr(0x13, b"st", flags=4), b"fzs.>"])
assert client.poll(3000), "no SUBSCRIBE reply"; r = client.recv_multipart()
stream = None; stream_ep = None
if r[0][4] == 3 and isinstance(msgpack.unpackb(r[1]), dict):
    st = msgpack.unpackb(r[1]); stream_ep = st["stream"]
    stream = ctx.socket(zmq.SUB); stream.setsockopt(zmq.LINGER, 0)
    stream.connect(stream_ep)
    stream.setsockopt(zmq.SUBSCRIBE, hdr(0x15) + bytes([5]) + b"fzs.>")
    welcome = hdr(0x15, st["ticket"])
    stream.setsockopt(zmq.SUBSCRIBE, welcome)
    assert stream.poll(5000), "no welcome on the stream"
    assert stream.recv_multipart()[0] == welcome
def stream_peer():
    s = ctx.socket(zmq.XSUB); s.setsockopt(zmq.LINGER, 0); s.connect(stream_ep); return s
def stream_junk():
    k = rnd.randrange(6)
    if k == 0: return bytes([1]) + hdr(0x15, rbytes(16))               # a ticket, unknown
    if k == 1: return bytes([rnd.randrange(2)]) + hdr(0x15) + bytes([5]) + b"fzs.>"
    if k == 2: return bytes([rnd.randrange(2)])                        # everything
    if k == 3: return bytes([rnd.randrange(2)]) + rbytes(rnd.randrange(300))
    if k == 4: return rbytes(rnd.randrange(20))                        # not a subscription
    return bytes([1]) + hdr(0x15, rbytes(rnd.choice([0, 15, 16, 17])))
stream_peers = [stream_peer() for _ in range(4)] if stream is not None else []
def answer(a):
    """a well-behaved actor answers what it got (echo), credits tells"""
    while a.poll(0):
        f = a.recv_multipart()
        if len(f[0]) >= 11 and f[0][4] == 1:
            n = f[0][10]; a.send_multipart([hdr(3, f[0][11:11+n]), f[1] if len(f) > 1 else b"\xc0"])
        elif len(f[0]) >= 11 and f[0][4] in (2, 0x15):
            a.send_multipart([hdr(8), struct.pack(">I", 1)])
def check(what, frames, rid, want):
    """send frames from the clean client; the reply with id rid must be
    REPLY want within 5 s while the well-behaved actors answer"""
    client.send_multipart(frames)
    deadline = time.time() + 5
    while time.time() < deadline:
        for a in [actor] + members: answer(a)
        if client.poll(10):
            r = client.recv_multipart()
            if r[0][11:11+r[0][10]] == rid:
                assert r[0][4] == 3 and msgpack.unpackb(r[1]) == want, (what, r, batches)
                return
    raise AssertionError("batch %d: %s was not answered" % (batches, what))
peers = [sock(rnd.choice([zmq.DEALER, zmq.DEALER, zmq.REQ])) for _ in range(12)]
end = time.time() + seconds; batches = 0; sent = 0
poller = zmq.Poller(); poller.register(actor, zmq.POLLIN)
while time.time() < end:
    for _ in range(200):
        p = rnd.randrange(len(peers)); s = peers[p]
        try:
            s.send_multipart(rmsg(), zmq.NOBLOCK); sent += 1
        except zmq.ZMQError:
            s.close(); peers[p] = s = sock(rnd.choice([zmq.DEALER, zmq.REQ]))
        if s.getsockopt(zmq.TYPE) == zmq.DEALER:
            while s.poll(0): s.recv_multipart()
        elif rnd.random() < 0.3:
            s.close(); peers[p] = sock(rnd.choice([zmq.DEALER, zmq.REQ]))
        if stream_peers and rnd.random() < 0.2:
            q = rnd.randrange(len(stream_peers)); x = stream_peers[q]
            try:
                x.send(stream_junk(), zmq.NOBLOCK)
                while x.poll(0): x.recv_multipart()
            except zmq.ZMQError:
                pass
            if rnd.random() < 0.05:
                x.close(); stream_peers[q] = stream_peer()
    for a in [actor] + members: answer(a)
    check("a call to the group", [hdr(1, b"g%d" % batches, 5000, names(b"fz/g", b"echo")), msgpack.packb([batches])], b"g%d" % batches, [batches])
    check("a keyed call to the group", [hdr(1, b"k%d" % batches, 5000, names(b"fz/g", b"echo"), flags=2), msgpack.packb([batches]), b"key%d" % (batches % 7)], b"k%d" % batches, [batches])
    check("a broadcast tell to the group", [hdr(2, b"b%d" % batches, 0, names(b"fz/g", b"echo"), flags=1), msgpack.packb([batches])], b"b%d" % batches, None)
    rid = b"ok%d" % batches
    client.send_multipart([hdr(1, rid, 5000, names(b"fz/ok", b"echo")), msgpack.packb([batches])])
    deadline = time.time() + 5; ok = False
    while time.time() < deadline and not ok:
        if actor.poll(10):
            f = actor.recv_multipart()
            if f[0][4] == 1:
                n = f[0][10]; actor.send_multipart([hdr(3, f[0][11:11+n]), f[1]])
            elif f[0][4] in (2, 0x15):
                actor.send_multipart([hdr(8), struct.pack(">I", 1)])
        while client.poll(0):
            r = client.recv_multipart()
            if r[0][11:11+r[0][10]] == rid:
                assert r[0][4] == 3 and msgpack.unpackb(r[1]) == [batches], (r, batches); ok = True
    assert ok, "batch %d: the correct call was not answered" % batches
    if stream is not None:
        while stream.poll(0): stream.recv_multipart()
        client.send_multipart([hdr(0x12, b"p%d" % batches), b"fzs.ok", msgpack.packb(batches)])
        deadline = time.time() + 5; ok = False
        while time.time() < deadline and not ok:
            if stream.poll(10):
                f = stream.recv_multipart()
                ok = len(f) == 2 and f[0][4] == 0x15 and msgpack.unpackb(f[1]) == batches
            for a in [actor] + members: answer(a)
        assert ok, "batch %d: the event on the stream did not come" % batches
        while client.poll(0): client.recv_multipart()
    batches += 1
print("fuzz ok: %d batches, %d messages" % (batches, sent))
