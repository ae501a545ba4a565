"""Publish/subscribe (schemas/PROTOCOL.md, "Publish/subscribe") with the
Python client against the real broker. Every test publishes on topics
under a prefix of its own, so that tests sharing the session's broker do
not see each other's events."""
import asyncio
import os
import threading
import time
import uuid

import pytest

import harness

import actors
from actors import wire

WAIT = harness.DEADLINE_S  # a bound for what must come; never a measurement


def prefix():
    return "t%s" % uuid.uuid4().hex[:10]


def subscribed(client, pattern, **kw):
    sub = client.subscribe(pattern, **kw)
    assert sub.ready.result(WAIT) == 1
    return sub


def test_two_patterns_each_get_their_own_events(client, endpoint):
    p = prefix()
    orders = subscribed(client, p + ".orders.*")
    users = subscribed(client, p + ".users.>")
    with actors.Client(endpoint, timeout=10) as pub:
        assert pub.publish(p + ".orders.created", {"id": 1}).result(WAIT) == 1
        assert pub.publish(p + ".users.eu.joined", "ann").result(WAIT) == 1
        assert pub.publish(p + ".orders.created.eu", 3).result(WAIT) == 0
        assert pub.publish(p + ".other", None).result(WAIT) == 0
        assert pub.publish(p + ".users.x", [1, 2.5]).result(WAIT) == 1
    assert orders.next(WAIT) == actors.Event(p + ".orders.created",
                                             p + ".orders.*", {"id": 1})
    ev = users.next(WAIT)
    assert (ev.topic, ev.pattern, ev.data) == (p + ".users.eu.joined",
                                               p + ".users.>", "ann")
    assert users.next(WAIT) == (p + ".users.x", p + ".users.>", [1, 2.5])
    # nothing else came for either: the next publish is the marker
    client.publish(p + ".orders.end").result(WAIT)
    assert orders.next(WAIT).topic == p + ".orders.end"
    assert orders.received == 2 and users.received == 2
    orders.unsubscribe().result(WAIT)
    users.unsubscribe().result(WAIT)


def test_one_publishers_events_arrive_in_order(client, endpoint):
    p = prefix()
    n = 500
    sub = subscribed(client, p + ".seq")
    with actors.Client(endpoint, timeout=10) as pub:
        for i in range(n - 1):
            pub.publish_nowait(p + ".seq", i)  # fire and forget
        assert pub.publish(p + ".seq", n - 1).result(WAIT) == 1
    assert [sub.next(WAIT).data for _ in range(n)] == list(range(n))
    assert sub.dropped == 0
    sub.unsubscribe()


def test_unsubscribe_stops_delivery(client):
    p = prefix()
    sub = subscribed(client, p + ".>")
    assert client.publish(p + ".a", 1).result(WAIT) == 1
    assert sub.next(WAIT).data == 1
    assert sub.unsubscribe().result(WAIT) == 1
    assert sub.closed
    # the broker no longer routes to it, and the object says it ended
    assert client.publish(p + ".a", 2).result(WAIT) == 0
    with pytest.raises(actors.Closed):
        sub.next(0.1)
    assert list(sub) == []  # iteration ends
    assert sub.unsubscribe().result(WAIT) == 0  # idempotent


def test_iteration_and_with(client):
    p = prefix()
    got = []
    with subscribed(client, p + ".it") as sub:
        for i in range(3):
            client.publish(p + ".it", i).result(WAIT)
        for ev in sub:
            got.append(ev.data)
            if len(got) == 3:
                break
    assert got == [0, 1, 2] and sub.closed


def test_callback_form(client):
    p = prefix()
    got = []
    done = threading.Event()

    def on_event(ev):  # on the client's I/O thread
        got.append((ev.topic, ev.data))
        if len(got) == 3:
            done.set()
    sub = subscribed(client, p + ".*", callback=on_event)
    for i in range(3):
        client.publish_nowait(p + ".cb", i)
    assert done.wait(WAIT)
    assert got == [(p + ".cb", 0), (p + ".cb", 1), (p + ".cb", 2)]
    with pytest.raises(actors.InvalidArgument):
        sub.next(0)  # its events go to the callback
    sub.unsubscribe().result(WAIT)


def test_same_pattern_twice_both_get_every_event(client):
    """One broker subscription per pattern, fanned out by the client; the
    last one's UNSUBSCRIBE is the one the broker sees."""
    p = prefix()
    a = subscribed(client, p + ".x")
    b = client.subscribe(p + ".x")
    assert b.ready.result(WAIT) == 0  # the connection had it already
    assert client.publish(p + ".x", "e").result(WAIT) == 1
    assert a.next(WAIT).data == "e" and b.next(WAIT).data == "e"
    assert a.unsubscribe().result(WAIT) == 0  # b still needs it
    assert client.publish(p + ".x", "f").result(WAIT) == 1
    assert b.next(WAIT).data == "f"
    assert b.unsubscribe().result(WAIT) == 1
    assert client.publish(p + ".x", "g").result(WAIT) == 0


@pytest.mark.parametrize("pattern", ["", "a..b", ".a", "a.", "a b",
                                     "a.>.b", "a\x01", "x" * 256])
def test_bad_pattern_is_refused_locally(client, pattern):
    with pytest.raises(actors.InvalidArgument):
        client.subscribe(pattern)


@pytest.mark.parametrize("topic", ["a.*", "a.>", ">", "a..b", ""])
def test_bad_topic_is_refused_locally(client, topic):
    with pytest.raises(actors.InvalidArgument):
        client.publish(topic, 1)
    with pytest.raises(actors.InvalidArgument):
        client.publish_nowait(topic, 1)


def test_bad_pattern_is_refused_by_the_broker(client, monkeypatch):
    """With the local check out of the way the broker answers BadRequest:
    ready fails with it, and so does the subscription."""
    monkeypatch.setattr(wire, "topic_valid", lambda b, pattern: True)
    sub = client.subscribe("a..b")
    with pytest.raises(actors.BadRequest):
        sub.ready.result(WAIT)
    with pytest.raises(actors.BadRequest):
        sub.next(WAIT)
    assert sub.closed
    with pytest.raises(actors.BadRequest):
        client.publish("a.>", 1).result(WAIT)
    # the connection goes on
    assert client.ping().result(WAIT)["protocol"] == "ACT2"


def test_close_ends_subscriptions(endpoint):
    c = actors.Client(endpoint, timeout=10)
    sub = subscribed(c, prefix() + ".>")
    c.close()
    with pytest.raises(actors.Closed):
        sub.next(WAIT)


def test_lifecycle_registered_when_an_actor_starts(client, procs, endpoint):
    """actors.lifecycle.registered.<address> when an actor registers: the
    subscription is made first, then a counter is started."""
    address = "py/lc%s" % uuid.uuid4().hex[:8]
    sub = subscribed(client, "actors.lifecycle.registered.>")
    every = subscribed(client, actors.LIFECYCLE)
    p = procs.service(endpoint, "counter", address)
    try:
        ev = sub.next(WAIT)
        while ev.data.get("address") != address:  # another test's actor
            ev = sub.next(WAIT)
        assert ev.topic == "actors.lifecycle.registered." + address
        assert ev.pattern == "actors.lifecycle.registered.>"
        assert ev.data["kind"] == "registered"
        assert ev.data["service"] == "counter"
        assert ev.data["pid"] == p.pid
        assert isinstance(ev.data["ms"], int)
        ev = every.next(WAIT)
        while ev.data.get("address") != address:
            ev = every.next(WAIT)
        assert ev.data["kind"] == "registered"
    finally:
        harness.stop(p)
        sub.unsubscribe()
        every.unsubscribe()


def test_async_publish_and_subscribe(endpoint):
    async def main():
        p = prefix()
        async with actors.AsyncClient(endpoint, timeout=10) as c:
            sub = await c.subscribe(p + ".*")
            got = []
            cb_done = asyncio.Event()

            def on_event(ev):
                got.append(ev.data)
                if len(got) == 2:
                    cb_done.set()
            cb = await c.subscribe(p + ".cb", callback=on_event)
            assert await c.publish(p + ".a", 1) == 1
            c.publish_nowait(p + ".b", 2)
            assert await c.publish(p + ".cb", "x") == 2  # both patterns
            assert await c.publish(p + ".cb", "y") == 2
            assert (await sub.next(WAIT)).data == 1
            seen = []
            async for ev in sub:
                seen.append((ev.topic, ev.data))
                if len(seen) == 3:
                    break
            assert seen == [(p + ".b", 2), (p + ".cb", "x"), (p + ".cb", "y")]
            await asyncio.wait_for(cb_done.wait(), WAIT)
            assert got == ["x", "y"]
            with pytest.raises(actors.Timeout):
                await sub.next(0.05)  # nothing more was published
            assert await sub.unsubscribe() == 1
            with pytest.raises(actors.Closed):
                await sub.next(WAIT)
            assert await c.publish(p + ".a", 3) == 0
            await cb.unsubscribe()
            with pytest.raises(actors.BadRequest):
                await _subscribe_unchecked(c, "a..b")
    asyncio.run(main())


async def _subscribe_unchecked(c, pattern):
    """Subscribes without the local check, for the broker's answer."""
    saved = wire.topic_valid
    wire.topic_valid = lambda b, pattern: True
    try:
        await c.subscribe(pattern)
    finally:
        wire.topic_valid = saved


@pytest.mark.parametrize("stream", [False, True])
def test_subscriptions_survive_a_broker_restart(stream):
    """The broker forgets a connection's subscriptions with the connection:
    after it restarts on the same endpoint the client subscribes every
    live pattern again by itself (schemas/PROTOCOL.md: a client SHOULD).
    A broker of this test's own, stopped by pid; the publisher publishes
    until both subscriptions are back (reconnecting takes a moment). Over
    the connection, and on an event stream that comes back on another
    port."""
    procs = harness.Procs()
    extra = ("--stream-bind", "tcp://127.0.0.1:*") if stream else ()
    try:
        ep = procs.broker(*extra, name="rbroker")
        with actors.Client(ep, timeout=10) as c:
            p = prefix()
            sub = subscribed(c, p + ".>")
            got = []
            cb = subscribed(c, p + ".cb",
                            callback=lambda ev: got.append(ev.data))
            with actors.Client(ep, timeout=10) as pub:
                assert pub.publish(p + ".cb", "before").result(WAIT) == 2
            assert sub.next(WAIT).data == "before"
            harness.stop(procs.named["rbroker"])
            # bound again to the same port (retried: the port may be
            # busy for a moment)
            harness.wait_until(
                lambda: procs.broker(*extra, name="rbroker2", bind=ep) == ep,
                "a new broker at " + ep)
            with actors.Client(ep, timeout=10) as pub:
                harness.wait_until(
                    lambda: pub.publish(p + ".cb", "after").result(WAIT) == 2,
                    "both subscriptions made again")
            assert sub.next(WAIT).data == "after"
            harness.wait_until(lambda: "after" in got, "the callback's event")
            assert got[0] == "before"
            assert sub.ready.result(0) == 1 and not sub.closed  # untouched
            assert c.ping().result(WAIT)["protocol"] == "ACT2"
            sub.unsubscribe().result(WAIT)
            assert cb.unsubscribe().result(WAIT) == 1
    finally:
        procs.stop_all()


def test_stream_and_connection_paths():
    """The same subscription against a broker with an event stream (the
    events come on the client's SUB), one without (over the connection),
    and one whose stream this client cannot reach (an ipc socket removed):
    the first subscription waits for the welcome, then the client
    subscribes over its connection, the next ones at once."""
    procs = harness.Procs()
    try:
        plain = procs.broker(name="plain")
        streamed = procs.broker("--stream-bind", "tcp://127.0.0.1:*",
                                name="streamed")
        sock = os.path.join(procs.tmp, "stream")
        hidden = procs.broker("--stream-bind", "ipc://" + sock, name="hidden")
        os.unlink(sock)
        for ep, on_stream in ((plain, False), (streamed, True),
                              (hidden, False)):
            with actors.Client(ep, timeout=10) as c, \
                    actors.Client(ep, timeout=10) as pub:
                p = prefix()
                t0 = time.monotonic()
                sub = subscribed(c, p + ".>")
                waited = time.monotonic() - t0
                assert (c._stream is not None and not c._stream.closed
                        and p.encode() + b".>" in c._stream_pats) == on_stream
                assert pub.publish(p + ".x", 1).result(WAIT) == 1
                assert sub.next(WAIT).data == 1
                if ep == hidden:
                    assert waited >= 2.0  # the welcome was waited for
                    t0 = time.monotonic()
                    sub2 = subscribed(c, p + ".y")
                    assert time.monotonic() - t0 < 2.0
                    assert pub.publish(p + ".y", 2).result(WAIT) == 2
                    assert sub2.next(WAIT).data == 2
                    assert sub.next(WAIT).data == 2  # p.> matches p.y too
    finally:
        procs.stop_all()


def test_unsubscribe_from_a_ready_callback(client):
    """A callback of ``ready`` may end its own subscription, and another
    of the same pattern (the I/O thread goes on)."""
    p = prefix()
    a = client.subscribe(p + ".*")
    b = client.subscribe(p + ".*")
    a.ready.add_done_callback(lambda f: (a.unsubscribe(), b.unsubscribe()))
    b.ready.add_done_callback(lambda f: b.unsubscribe())
    for s in (a, b):
        try:
            s.ready.result(WAIT)
        except actors.Closed:
            pass  # ended before its welcome: its ready says so
    harness.wait_until(lambda: a.closed and b.closed, "both ended")
    assert client.ping().result(WAIT)["protocol"] == "ACT2"


def test_stream_welcome_follows_the_pattern_after_a_reconnect():
    """A SUB whose connection to the stream drops sends its subscriptions
    again in libzmq's order (its trie's byte order), not the order they
    were made: a ticket's welcome prefix sorts after every pattern's
    (PROTOCOL.md, "Event streams"), so a welcome still means the pattern
    is in effect, however the bytes are split on the way. The SUB goes
    through a relay that drops its first connection and then passes what
    the SUB sends a few bytes at a time."""
    import socket
    import zmq
    procs = harness.Procs()
    relay = socket.socket()
    try:
        ep = procs.broker("--stream-bind", "tcp://127.0.0.1:*", name="rb")
        with actors.Client(ep, timeout=10) as c, \
                actors.Client(ep, timeout=10) as pub:
            pat = "slow." + "p" * 50 + ".*"
            sub = subscribed(c, pat)  # this client's own, on the stream
            ticket_answer = c._request(
                [wire.header(wire.SUBSCRIBE, b"t1", flags=wire.FLAG_STREAM),
                 pat.encode()], b"t1", 10, "subscribe").result(WAIT)
            host, port = ticket_answer["stream"][6:].rsplit(":", 1)
            relay.bind(("127.0.0.1", 0))
            relay.listen(8)
            stop = threading.Event()

            def pump(src, dst, chunk, pause):
                try:
                    while not stop.is_set():
                        d = src.recv(chunk)
                        if not d:
                            break
                        dst.sendall(d)
                        if pause:
                            stop.wait(pause)  # a slow, split link
                except OSError:
                    pass
                for s in (src, dst):
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass

            def serve():
                n = 0
                while not stop.is_set():
                    try:
                        down, _ = relay.accept()
                    except OSError:
                        return
                    n += 1
                    if n == 1:
                        stop.wait(0.3)  # it has subscribed: drop it
                        down.close()
                        continue
                    up = socket.create_connection((host, int(port)))
                    for s in (down, up):
                        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    threading.Thread(target=pump, args=(down, up, 4, 0.01),
                                     daemon=True).start()
                    threading.Thread(target=pump, args=(up, down, 65536, 0),
                                     daemon=True).start()
            threading.Thread(target=serve, daemon=True).start()
            ctx = zmq.Context.instance()
            s = ctx.socket(zmq.SUB)
            s.linger = 0
            s.connect("tcp://127.0.0.1:%d" % relay.getsockname()[1])
            s.subscribe(wire.stream_prefix(pat.encode()))
            s.subscribe(wire.ticket_prefix(ticket_answer["ticket"]))
            assert s.poll(WAIT * 1000), "no welcome"
            w = s.recv_multipart()
            assert w[0] == wire.ticket_prefix(ticket_answer["ticket"])
            pub.publish(pat[:-1] + "a", "after").result(WAIT)
            assert s.poll(WAIT * 1000), "the event after the welcome is lost"
            assert s.recv_multipart()[0][4] == wire.PUBLICATION
            assert sub.next(WAIT).data == "after"
            s.close()
            stop.set()
    finally:
        relay.close()
        procs.stop_all()


def test_stream_stays_on_through_quick_unsubscribes(client):
    """A subscription ended before its answer came, or made again at once,
    is no reason to leave the stream (no welcome can come for it); a ready
    callback may subscribe (the I/O thread goes on)."""
    p = prefix()
    client.subscribe(p + ".a").unsubscribe()
    s1 = client.subscribe(p + ".b")
    s1.unsubscribe()
    s2 = subscribed(client, p + ".b")
    got = []
    s3 = client.subscribe(p + ".c")
    s3.ready.add_done_callback(
        lambda f: got.append(client.subscribe(p + ".d")))
    assert s3.ready.result(WAIT) == 1
    harness.wait_until(lambda: got, "the callback's subscription")
    assert got[0].ready.result(WAIT) == 1
    # no welcome is awaited that cannot come (it would turn the stream off
    # for good 3 s later)
    harness.wait_until(lambda: not client._waiting, "no welcome awaited")
    assert client._stream_on
    with actors.Client(client.endpoint, timeout=10) as pub:
        assert pub.publish(p + ".b", 1).result(WAIT) == 1
    assert s2.next(WAIT).data == 1
