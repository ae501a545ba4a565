"""The Python client against the real broker and services."""
import asyncio
import os
import re
import threading
import uuid

import pytest

import harness

import actors


def fresh(prefix):
    return "%s/%s" % (prefix, uuid.uuid4().hex[:8])


# ------------------------------------------------------------------ errors
def test_one_exception_class_per_error_type_in_error_h():
    """actors.ERROR_TYPES mirrors ACTORS_ERRORS, in order, Forbidden
    included, and each name is a class of its own."""
    with open(os.path.join(harness.ROOT, "libactors", "include", "actors",
                           "error.h")) as f:
        text = f.read()
    names = re.findall(r'XX\(\s*E[A-Z]+,\s*"([A-Za-z]+)"', text)
    assert names, "no ACTORS_ERRORS entries found in error.h"
    assert list(actors.ERROR_TYPES) == names
    assert "Forbidden" in names
    classes = set()
    for n in names:
        cls = getattr(actors, n)
        assert issubclass(cls, actors.ActorsError) and cls.type == n
        assert actors.error_class(n) is cls
        classes.add(cls)
    assert len(classes) == len(names)
    assert actors.error_class("ValueError") is actors.ActorError
    assert issubclass(actors.Timeout, TimeoutError)


def test_call_returns_future_with_result(client):
    f = client.call("py/chaos", "echo", {"a": [1, 2.5, "x", b"\x00\xff", None]})
    assert f.result(10) == {"a": [1, 2.5, "x", b"\x00\xff", None]}


def test_application_error_keeps_its_type(client):
    with pytest.raises(actors.ActorError) as ei:
        client.call("py/account", "withdraw", -5).result(10)
    e = ei.value
    assert e.type == "ValueError"
    assert e.message == "Can not withdraw negative amount"
    assert e.address == "py/account"
    assert str(e) == "ValueError: Can not withdraw negative amount"
    # the actor lives on
    assert isinstance(client.call("py/account", "balance").result(10), float)


@pytest.mark.parametrize("address,method,args,exc", [
    ("py/nobody", "echo", (1,), actors.NoSuchActor),
    ("py/chaos", "nosuchmethod", (), actors.NoSuchMethod),
    ("py/chaos", "echo", (1, 2), actors.WrongArguments),
])
def test_error_types_raise_their_class(client, address, method, args, exc):
    with pytest.raises(exc) as ei:
        client.call(address, method, *args).result(10)
    assert ei.value.type == exc.type


def test_broker_deadline_gives_timeout(client):
    # Had the deadline not been kept, the answer "late" would come instead.
    f = client.call("py/chaos", "delay", 3000, "late", timeout=0.2)
    with pytest.raises(actors.Timeout) as ei:
        f.result(10)
    assert "no answer from the broker" not in ei.value.message  # the broker's


def test_local_timer_when_no_broker_answers():
    """No broker at the endpoint: the future still fails, with Timeout,
    well before the test's own wait of 10 s ends (no caller hangs: a hang
    would raise the wait's TimeoutError, not actors.Timeout)."""
    with actors.Client("tcp://127.0.0.1:1", timeout=0.3) as c:
        for f in (c.call("x/y", "m", timeout=0.2), c.lookup("x/y"), c.ping()):
            with pytest.raises(actors.Timeout):
                f.result(10)


def test_bad_endpoint_is_invalid_argument():
    with pytest.raises(actors.InvalidArgument):
        actors.Client("nonsense://x")


def test_invalid_arguments_raise_at_once(client):
    with pytest.raises(actors.InvalidArgument):
        client.call("x" * 256, "m")
    with pytest.raises(actors.InvalidArgument):
        client.call("a/b", "")
    with pytest.raises(actors.InvalidArgument):
        client.call("a/b", "m", key=b"\x00reserved")


def test_oversize_arguments_raise_too_large_and_keep_the_connection(client):
    """An args frame over the broker's max_message would make the broker
    close the connection unread (no answer); the client refuses it."""
    with pytest.raises(actors.TooLarge):
        client.call("py/chaos", "echo", b"x" * (16 * 1024 * 1024 + 1))
    with pytest.raises(actors.TooLarge):
        client.tell("py/chaos", "echo", b"x" * (16 * 1024 * 1024 + 1))
    assert client.call("py/chaos", "echo", 1).result(10) == 1
    big = b"y" * (4 * 1024 * 1024)
    assert client.call("py/chaos", "echo", big).result(30) == big


def test_call_key_reaches_the_actor(client):
    assert client.call("py/chaos", "key", key="k-%s" % uuid.uuid4().hex
                       ).result(10).startswith("k-")
    assert client.call("py/chaos", "key").result(10) is None


# -------------------------------------------------------------- pipelining
def test_pipelined_calls_are_matched_by_request_id_in_order(client):
    start = client.call("py/counter", "value").result(10)
    fs = [client.call("py/counter", "increment") for _ in range(2000)]
    assert [f.result(30) for f in fs] == list(range(start + 1, start + 2001))


def test_replies_out_of_order_reach_their_own_future(client):
    """A deferred reply overtaken by later ones: matching is by id, not
    by position."""
    slow = client.call("py/chaos", "delay", 2000, "slow")
    fast = [client.call("py/chaos", "echo", i) for i in range(50)]
    assert [f.result(10) for f in fast] == list(range(50))
    assert not slow.done()
    assert slow.result(10) == "slow"


def test_many_threads_share_one_client(client):
    results = {}

    def worker(n):
        fs = [client.call("py/chaos", "echo", [n, i]) for i in range(200)]
        results[n] = [f.result(30) for f in fs]

    ts = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    for n in range(8):
        assert results[n] == [[n, i] for i in range(200)]


def test_callbacks_run_and_may_call_again(client):
    done = threading.Event()
    got = []

    def second(f):
        got.append(f.result())
        done.set()

    def first(f):
        got.append(f.result())
        client.call("py/chaos", "echo", "two").add_done_callback(second)

    client.call("py/chaos", "echo", "one").add_done_callback(first)
    assert done.wait(10)
    assert got == ["one", "two"]


# -------------------------------------------------------------------- tell
def test_tell_is_acknowledged_and_handled_in_order(client):
    start = client.call("py/counter", "value").result(10)
    acks = [client.tell("py/counter", "increment") for _ in range(100)]
    assert [a.result(10) for a in acks] == [None] * 100
    # a call after the tells from the same caller is handled after them
    assert client.call("py/counter", "value").result(10) == start + 100


def test_tell_refused_fails_its_future(client):
    with pytest.raises(actors.NoSuchActor):
        client.tell("py/nobody", "increment").result(10)


def test_tell_nowait_is_never_answered(client):
    start = client.call("py/counter", "value").result(10)
    assert client.tell_nowait("py/nobody", "increment") is None
    for _ in range(10):
        client.tell_nowait("py/counter", "increment")
    assert client.call("py/counter", "value").result(10) == start + 10


# -------------------------------------------------------- broker requests
def test_lookup_ls_ping(client):
    info = client.lookup("py/chaos").result(10)
    assert info["address"] == "py/chaos" and info["service"] == "chaos"
    assert info["state"] == "running" and info["pid"] > 0
    addrs = {e["address"] for e in client.ls().result(10)}
    assert {"py/account", "py/counter", "py/chaos"} <= addrs
    p = client.ping().result(10)
    assert p["protocol"] == "ACT2" and p["actors"] >= 3
    with pytest.raises(actors.NoSuchActor):
        client.lookup("py/nobody").result(10)


def test_spawn_call_kill_events(client):
    since = max([e["id"] for e in client.events().result(10)] or [0])
    name = fresh("pyspawn")
    r = client.spawn("counter", name=name, detached=True).result(20)
    assert r["address"] == name and r["existed"] is False and r["pid"] > 0
    assert client.call(name, "increment").result(10) == 1
    again = client.spawn("counter", name=name, get_if_exists=True).result(20)
    assert again["existed"] is True and again["pid"] == r["pid"]
    with pytest.raises(actors.NameTaken):
        client.spawn("counter", name=name).result(20)
    k = client.kill(name, restart=False).result(20)
    assert k["address"] == name and "9" in k["cause"]
    assert client.lookup(name).result(10)["state"] == "dead"
    with pytest.raises(actors.ActorDead):
        client.call(name, "increment").result(10)
    kinds = harness.wait_until(
        lambda: {e["kind"] for e in client.events(since).result(10)
                 if e["address"] == name} >= {"start", "exit"} and True,
        "start and exit events of " + name)
    assert kinds


def test_spawn_with_constructor_args_and_stop(client):
    name = fresh("pyacct")
    client.spawn("account", name=name, args=[100, 20], detached=True).result(20)
    assert client.call(name, "deposit", 5).result(10) == 105.0
    r = client.stop(name).result(30)
    assert r["address"] == name
    assert harness.wait_until(
        lambda: client.lookup(name).result(10)["state"] == "stopped",
        name + " stopped")


def test_spawn_errors(client):
    with pytest.raises(actors.NoSuchNode):
        client.spawn("counter", node="no-such-node").result(20)
    with pytest.raises(actors.SpawnFailed):
        client.spawn("no-such-service", detached=True).result(20)
    with pytest.raises(actors.NoSuchActor):
        client.kill("py/nobody").result(20)


def test_owned_actor_goes_with_its_client(endpoint, client):
    name = fresh("pyowned")
    with actors.Client(endpoint, timeout=10) as owner:
        r = owner.spawn("counter", name=name).result(20)
        assert "owner" in r
        assert client.call(name, "increment").result(10) == 1
    # Stopped gracefully (SIGTERM, its fini runs), not restarted.
    harness.wait_until(
        lambda: client.lookup(name).result(10)["state"] == "stopped",
        "owned actor %s stopped after its owner closed" % name)


# ---------------------------------------------------------------- closing
def test_close_fails_pending_and_refuses_new(endpoint):
    c = actors.Client(endpoint)
    f = c.call("py/chaos", "delay", 5000, "x")
    c.close()
    with pytest.raises(actors.Closed):
        f.result(10)
    with pytest.raises(actors.Closed):
        c.call("py/chaos", "echo", 1)
    c.close()  # idempotent


def test_tells_just_before_close_still_leave(endpoint, client):
    start = client.call("py/counter", "value").result(10)
    with actors.Client(endpoint) as c:
        for _ in range(5):
            c.tell_nowait("py/counter", "increment")
    harness.wait_until(
        lambda: client.call("py/counter", "value").result(10) == start + 5,
        "the 5 tells sent just before close handled")


# ----------------------------------------------------------------- asyncio
def test_async_client(endpoint):
    async def main():
        async with actors.AsyncClient(endpoint, timeout=10) as c:
            rs = await asyncio.gather(*[c.call("py/chaos", "echo", i)
                                        for i in range(500)])
            assert rs == list(range(500))
            assert (await c.lookup("py/chaos"))["state"] == "running"
            await c.tell("py/counter", "increment")
            with pytest.raises(actors.NoSuchActor):
                await c.call("py/nobody", "m")
            with pytest.raises(actors.Timeout):
                await c.call("py/chaos", "delay", 2000, 1, timeout=0.1)
            name = fresh("pyasync")
            r = await c.spawn("counter", name, detached=True)
            assert r["address"] == name
            assert await c.call(name, "increment") == 1
            assert (await c.kill(name, restart=False))["address"] == name
            assert any(e["address"] == name for e in await c.events())
            assert any(a["address"] == name for a in await c.ls())
            assert (await c.ping())["protocol"] == "ACT2"
            return True
    assert asyncio.run(main())


# ---------------------------------------------------------------- backlog
def test_calls_beyond_the_send_queue_wait_for_the_broker(monkeypatch, procs):
    """More calls than the socket's send queue holds, sent before any
    broker is there: the client keeps the rest itself (no blocking, no
    loss) and sends them once a broker comes up on that port."""
    import socket
    monkeypatch.setattr(actors.client, "_HWM", 20)
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    ep = "tcp://127.0.0.1:%d" % port
    with actors.Client(ep, timeout=20) as c:
        fs = [c.call("py/late", "m", i) for i in range(300)]
        assert not any(f.done() for f in fs)
        procs.start("late-broker", [harness.binary("actors-broker"),
                                    "--bind", ep])
        for f in fs:
            with pytest.raises(actors.NoSuchActor):
                f.result(30)
