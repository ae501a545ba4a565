"""actors.client - a pipelined ACT2 client over one DEALER socket.

One background I/O thread owns the socket. Every public method may be
called from any thread: it encodes the request, queues it and wakes the
I/O thread through an inproc pair; the I/O thread sends it, matches the
answer by request id (an 8-byte counter) and resolves the request's
:class:`concurrent.futures.Future`. Futures' callbacks run on the I/O
thread: they must not block (calling this client from them is fine).

Deadlines: a call carries ``timeout`` (seconds) in its header and the
broker answers ``Timeout`` when it passes. The client keeps a timer of
its own as well (the deadline plus one second, or ``timeout`` for requests
that carry none, such as lookup), so no future waits for ever on a broker
that is gone. ``timeout=None`` or ``0`` means no deadline and no timer.

Publish/subscribe: :meth:`Client.publish` and :meth:`Client.subscribe`
(actors.pubsub). The client keeps one broker subscription per pattern and
hands each event to every :class:`actors.pubsub.Subscription` of that
pattern, matched by the pattern the PUBLICATION names. With a broker that
has an event stream (``actors-broker --stream-bind``; schemas/PROTOCOL.md,
"Event streams") the SUBSCRIBE asks for it: the I/O thread opens one SUB
socket to the stream (this client's CURVE keys), subscribes the pattern's
prefix and the ticket the broker answered with, and a Subscription's
``ready`` resolves at the broker's welcome there, after which every event
reaches it; the broker sends an event once per pattern, whatever the
number of subscribers. A stream this client cannot reach (no welcome in
3 s) is logged once and the client subscribes over its connection from
then on.

The I/O thread watches the connection (a ZeroMQ socket monitor). A
handshake that follows a disconnect is a new connection (the broker
restarted, or the connection was dropped): the broker knows it as a new
peer with no subscription, so the I/O thread sends the SUBSCRIBE of every
live pattern again, with a new request id, as libactors does; requests
pending meanwhile are left as they are (each gets its answer or its
Timeout). Events published while the client was not connected are lost:
delivery to a client is at most once.

Refused connections: libzmq reconnects a dropped connection every
``RECONNECT_IVL`` (100 ms) for ever; it lengthens the interval only when
a connect fails, and a broker out of descriptors accepts, then shuts the
connection. So, as libactors does (schemas/PROTOCOL.md, "Descriptors"), a
connection that drops before anything came over it counts as refused:
the I/O thread drops it (``disconnect``) and connects again after 100 ms,
doubling at each refusal up to 5 s, plus up to half as much of random
jitter; a message received resets the pace. What is sent meanwhile
waits in the I/O thread and leaves on the new connection; what libzmq
had queued on the refused connection is lost (its calls time out). Each
refusal is logged (logger ``actors``, INFO).

CURVE: when the broker refuses this client's key (ZAP), libzmq never
tries again, so every request pending or made afterwards fails at once
with :class:`actors.Timeout` saying so, instead of waiting out its
deadline; a Timeout while no handshake has succeeded says that too.
"""
import collections
import heapq
import itertools
import json
import logging
import os
import random
import struct
import threading
import time
from concurrent.futures import Future

import msgpack
import zmq

from zmq.utils.monitor import parse_monitor_message

from . import errors, keys, pubsub, wire

DEFAULT_ENDPOINT = "tcp://127.0.0.1:5555"
#: The client-wide default deadline in seconds: actorctl's (--timeout 30000).
DEFAULT_TIMEOUT = 30.0
#: The default deadline of a spawn (the actor must register within it):
#: libactors' 10000 ms.
DEFAULT_SPAWN_TIMEOUT = 10.0
#: How long after a request's deadline the client gives up on the broker's
#: own answer and fails the future with Timeout itself.
LOCAL_GRACE = 1.0
#: The broker's default max_message (--max-message): a larger args frame
#: would make the broker close the connection unread, with no answer.
DEFAULT_MAX_MESSAGE = 16 * 1024 * 1024

_DEFAULT = object()
_RID = struct.Struct(">Q")
_HWM = 100000
# what a socket may take at close to send what was queued before it (as
# libactors' ACTORS__LINGER_MS): a tell sent just before close still leaves
_LINGER_MS = 1000
_RECV_BATCH = 512
_WELCOME_S = 3.0  # a stream ticket's welcome, at most this late
#: The first wait after a refused connection, and the longest (before
#: jitter), in seconds: libactors' ACTORS__KNOCK_MIN_MS/MAX_MS.
KNOCK_MIN = 0.1
KNOCK_MAX = 5.0

_log = logging.getLogger("actors")


def endpoint_default(endpoint=None):
    """``endpoint``, else ``$ACTORS_BROKER``, else tcp://127.0.0.1:5555."""
    return endpoint or os.environ.get("ACTORS_BROKER") or DEFAULT_ENDPOINT


def _key_bytes(key):
    if key is None:
        return None
    b = key.encode("utf-8") if isinstance(key, str) else bytes(key)
    if not 1 <= len(b) <= 255 or b[0] == 0:
        raise errors.InvalidArgument(
            "a call key must be 1..255 bytes and must not start with a zero byte")
    return b


_HANDSHAKE_FAILED = (zmq.EVENT_HANDSHAKE_FAILED_AUTH
                     | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
                     | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL)
# the connection's events the I/O thread reads: a handshake after a
# disconnect is a new connection (resubscribe), a failed one CURVE's news
_MONITOR_EVENTS = (zmq.EVENT_DISCONNECTED | zmq.EVENT_HANDSHAKE_SUCCEEDED
                   | _HANDSHAKE_FAILED)


def _done(value):
    f = Future()
    f.set_running_or_notify_cancel()
    f.set_result(value)
    return f


def _settle(fut, value=None, exc=None):
    """Resolves ``fut`` unless it is resolved already (a callback of one
    ``ready`` may end the subscriptions of others)."""
    if fut.done():
        return
    if exc is not None:
        fut.set_exception(exc)
    else:
        fut.set_result(value)


def _log_refusal(fut):
    """A resubscription's answer: only a failure is news."""
    exc = fut.exception()
    if exc is not None and not isinstance(exc, errors.Closed):
        pubsub._log.warning("actors: a subscription made again after a "
                            "reconnect: %s", exc)


def _unpack(body):
    return msgpack.unpackb(body, raw=False, strict_map_key=False,
                           unicode_errors="surrogateescape")


class _Req:
    __slots__ = ("future", "deadline", "what")

    def __init__(self, future, deadline, what):
        self.future = future
        self.deadline = deadline
        self.what = what


# The start of a ZMTP 3.0 greeting (RFC 23): signature and major version.
# A libzmq peer answers with the rest of its own: minor version, then its
# mechanism, 20 bytes NUL-padded, at offset 12.
_GREETING = b"\xff" + b"\x00" * 7 + b"\x01\x7f\x03"


def _broker_wants_curve(ctx, endpoint, timeout=0.5):
    """Whether the broker at endpoint speaks CURVE, read from the greeting
    it sends on a fresh connection (a ZMQ_STREAM socket), within timeout
    seconds; False if it cannot tell (libactors does the same)."""
    s = ctx.socket(zmq.STREAM)
    s.linger = 0
    got, sent = b"", False
    end = time.monotonic() + timeout
    try:
        s.connect(endpoint)
        while len(got) < 32:
            left = end - time.monotonic()
            if left <= 0 or not s.poll(int(left * 1000) + 1):
                break
            rid, data = s.recv_multipart()
            if data:
                got += data
            elif sent:
                break  # it closed
            else:  # connected
                s.send_multipart([rid, _GREETING])
                sent = True
    except zmq.ZMQError:
        return False
    finally:
        s.close()
    return (len(got) >= 32 and got[0] == 0xff and got[9] == 0x7f
            and got[12:18] == b"CURVE\x00")


class Client:
    """A connection to an actors broker.

    ``Client(endpoint=None, key=None, broker_key=None, timeout=30.0)``

    * ``endpoint``: the broker, default ``$ACTORS_BROKER`` or
      ``tcp://127.0.0.1:5555``.
    * ``key``: CURVE: the path of this client's czmq secret certificate
      file (or a ``(public, secret)`` pair of Z85 keys); default
      ``$ACTORS_KEY``. ``broker_key``: the path of the broker's public
      certificate file (or its Z85 public key); default
      ``$ACTORS_BROKER_KEY``. Both or neither; neither: no encryption.
    * ``timeout``: the default deadline in seconds of every request
      (``None``: none).
    * ``max_message``: the broker's ``--max-message`` (default 16 MiB):
      arguments larger than that raise :class:`actors.TooLarge` at once
      instead of costing the connection.

    Every method is thread-safe. Use it as a context manager, or call
    :meth:`close`; closing fails what is still pending with
    :class:`actors.Closed`, and the broker then stops the actors this
    client spawned without ``detached``.
    """

    def __init__(self, endpoint=None, key=None, broker_key=None,
                 timeout=DEFAULT_TIMEOUT, max_message=DEFAULT_MAX_MESSAGE):
        self.endpoint = endpoint_default(endpoint)
        self.max_message = max_message
        if key is None:
            key = os.environ.get("ACTORS_KEY") or None
        if broker_key is None:
            broker_key = os.environ.get("ACTORS_BROKER_KEY") or None
        self.timeout = timeout
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._outbox = collections.deque()
        self._wake_pending = False
        self._closing = False
        self._closed = False
        # pattern (bytes) -> [Subscription]; guarded by _subs_lock, which
        # is taken before _lock when both are (never the other way round)
        self._subs = {}
        self._subs_lock = threading.Lock()
        self._mon = None
        self._handshake_ok = False   # I/O thread's, read by its messages
        self._lost = False           # I/O thread's: a disconnect seen, no
                                     # handshake since
        self._handshake_failures = 0
        self._refused = None         # why the broker refused our key
        # the reconnection pace (I/O thread's): see "Refused connections"
        self._received = 0           # messages read from the broker
        self._rx_mark = 0            # _received at the last drop
        self._knock = 0.0            # the current pace, s; 0: not refused
        self._knock_at = None        # when to connect again; None: connected
        self._hs_failed = False      # the broker refused a handshake, none
                                     # succeeded since: why drops are
        self.refusals = 0            #: connections refused so far
        # the event stream (I/O thread's but _stream_on, read anywhere)
        self._keys = (key, broker_key)
        self._stream_on = True       # ask for the stream; False: unreachable
        self._stream = None          # SUB on it; None: not opened
        self._stream_ep = None       # the endpoint the broker named
        self._stream_pats = {}       # pattern -> ticket subscribed on the SUB
        self._welcomed = set()       # tickets welcomed on this SUB
        self._waiting = {}           # ticket -> [deadline, pattern, [(ready,
                                     # new)]]: welcomes awaited
        self._io_calls = collections.deque()  # run on the I/O thread
        self._poller = None
        self._ctx = zmq.Context()
        try:
            self._sock = self._ctx.socket(zmq.DEALER)
            self._sock.linger = _LINGER_MS
            self._sock.sndhwm = _HWM
            self._sock.rcvhwm = _HWM
            self.curve = keys.apply(self._sock, key, broker_key)
            # watched before connecting: the first handshake is no news
            self._mon = self._sock.get_monitor_socket(_MONITOR_EVENTS)
            self._mon.linger = 0
            try:
                self._sock.connect(self.endpoint)
            except zmq.ZMQError as e:
                raise errors.InvalidArgument("cannot connect to %r: %s"
                                             % (self.endpoint, e))
            wake = "inproc://actors-client-wake"
            self._wake_r = self._ctx.socket(zmq.PAIR)
            self._wake_r.linger = 0
            self._wake_r.bind(wake)
            self._wake_w = self._ctx.socket(zmq.PAIR)
            self._wake_w.linger = 0
            self._wake_w.connect(wake)
        except BaseException:
            self._ctx.destroy(linger=0)
            raise
        self._thread = threading.Thread(target=self._run,
                                        name="actors-client-io", daemon=True)
        self._io_ident = None
        self._thread.start()

    # ------------------------------------------------------------ lifecycle
    def close(self):
        """Stops the I/O thread and closes the connection. What was sent
        before still leaves (a ``tell_nowait`` just before ``close``
        arrives; the socket lingers up to 1 s for it); pending futures fail
        with :class:`actors.Closed`. Idempotent. Not from a future's
        callback (it would wait for its own thread)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._closing = True
            self._wake_w.send(b"", zmq.NOBLOCK)
        if threading.get_ident() != self._io_ident:
            self._thread.join()
        self._ctx.destroy()  # each socket's own linger

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def closed(self):
        return self._closed

    # ------------------------------------------------------------ requests
    def call(self, address, method, *args, timeout=_DEFAULT, key=None):
        """Calls ``address.method(*args)``. Returns a Future of the result
        (a msgpack value as Python: dict, list, str, bytes, int, float,
        bool, None), or failing with an :class:`actors.ActorsError`
        subclass. ``timeout``: the deadline in seconds (default: the
        client's). ``key``: the call key (1..255 bytes or str, not
        starting with a zero byte): every copy of a call re-sent after a
        Timeout must carry the same one, so that a journaled actor applies
        it once."""
        t = self.timeout if timeout is _DEFAULT else timeout
        rid = _RID.pack(next(self._ids))
        frames = [wire.header(wire.CALL, rid, wire.timeout_ms(t),
                              wire.names(address, method)),
                  self._args(args)]
        k = _key_bytes(key)
        if k is not None:
            frames.append(k)
        return self._request(frames, rid, t + LOCAL_GRACE if t else None,
                             "call %s.%s" % (address, method))

    def tell(self, address, method, *args, key=None):
        """Sends ``address.method(*args)`` one way. Returns a Future that
        resolves to None once the broker has accepted the message (queued
        it or handed it to the actor), or fails if it refused it
        (``NoSuchActor``, ``ActorDead``, ``MailboxFull``, ``TooLarge``,
        ...). It does not say the actor has handled it."""
        rid = _RID.pack(next(self._ids))
        frames = [wire.header(wire.TELL, rid, 0, wire.names(address, method)),
                  self._args(args)]
        k = _key_bytes(key)
        if k is not None:
            frames.append(k)
        return self._request(frames, rid, self._local(self.timeout),
                             "tell %s.%s" % (address, method))

    def tell_nowait(self, address, method, *args, key=None):
        """Fire and forget: sends ``address.method(*args)`` with an empty
        request id, which the broker never answers, not even with an
        error. Returns None."""
        frames = [wire.header(wire.TELL, b"", 0, wire.names(address, method)),
                  self._args(args)]
        k = _key_bytes(key)
        if k is not None:
            frames.append(k)
        self._submit(frames, b"", None)

    def lookup(self, address):
        """Future of the broker's map about ``address`` (``address``,
        ``service``, ``pid``, ``state``, ``mailbox``, ``inflight``,
        ``handled``, ``node``, ``restarts``, ``cause``), or NoSuchActor."""
        rid = _RID.pack(next(self._ids))
        a = wire._name(address, "address")
        return self._request([wire.header(wire.LOOKUP, rid), a], rid,
                             self._local(self.timeout), "lookup %s" % address)

    def ls(self):
        """Future of a list of lookup maps, one per address the broker
        knows (running, starting, restarting, and remembered tombstones)."""
        rid = _RID.pack(next(self._ids))
        return self._request([wire.header(wire.LIST, rid)], rid,
                             self._local(self.timeout), "list")

    def ping(self):
        """Future of the broker's health map (``protocol``, ``version``,
        ``uptime_ms``, ``actors``, ...)."""
        rid = _RID.pack(next(self._ids))
        return self._request([wire.header(wire.PING, rid)], rid,
                             self._local(self.timeout), "ping")

    def spawn(self, service, name=None, args=(), node=None, detached=False,
              get_if_exists=False, max_restarts=0, max_task_retries=0,
              env=None, timeout=DEFAULT_SPAWN_TIMEOUT, **spec):
        """Starts an actor of ``service`` on a node (an actors-supervisor).
        Future of ``{"address", "node", "pid", "existed"}`` once it has
        registered; NameTaken, NoSuchNode, SpawnFailed, Timeout.

        ``args``: constructor arguments as Python values, each passed to
        the service as JSON text (``[100, 20]`` -> ``"100" "20"``).
        ``detached=False`` (default): the actor is owned by this client and
        is stopped when the client's connection goes (close, exit).
        ``env``: ``{"KEY": "VALUE"}`` or ``["KEY=VALUE"]``. Other spec keys
        of schemas/PROTOCOL.md (``intensity``, ``period_ms``, ``grace_ms``,
        ``prefetch``, ...) may be given as keyword arguments. ``timeout``:
        how long the actor may take to register (default 10 s)."""
        s = dict(spec)
        s.update(service=service, detached=bool(detached),
                 get_if_exists=bool(get_if_exists),
                 max_restarts=int(max_restarts),
                 max_task_retries=int(max_task_retries),
                 args=[json.dumps(a) for a in args])
        if name is not None:
            s["name"] = name
        if node is not None:
            s["node"] = node
        if env:
            s["env"] = (["%s=%s" % kv for kv in env.items()]
                        if isinstance(env, dict) else list(env))
        rid = _RID.pack(next(self._ids))
        frames = [wire.header(wire.SPAWN, rid, wire.timeout_ms(timeout)),
                  msgpack.packb(s, use_bin_type=True)]
        wait = timeout + LOCAL_GRACE if timeout else self._local(self.timeout)
        return self._request(frames, rid, wait, "spawn %s" % service)

    def kill(self, address, restart=True):
        """Kills the actor at once (SIGKILL). ``restart=True``: its restart
        policy decides whether it comes back (Ray's ``ray.kill(...,
        no_restart=False)``); False: gone for good. Future of ``{"address",
        "cause"}`` once the process has exited."""
        return self._kill(address, restart, False)

    def stop(self, address):
        """Stops the actor gracefully (SIGTERM, its ``grace_ms``, then
        SIGKILL); it is not restarted. Future as for :meth:`kill`."""
        return self._kill(address, False, True)

    def events(self, since=0):
        """Future of the lifecycle events with an id above ``since``, oldest
        first: maps ``{"id", "ms", "node", "node_id", "address", "kind",
        "pid", "restarts", "cause"}``, ``kind`` one of start, exit,
        restart, give-up, stop."""
        rid = _RID.pack(next(self._ids))
        frames = [wire.header(wire.EVENTS, rid),
                  msgpack.packb({"since": int(since)})]
        return self._request(frames, rid, self._local(self.timeout), "events")

    # ------------------------------------------------------------ pub/sub
    def publish(self, topic, data=None):
        """Publishes ``data`` (a msgpack value, default None) on ``topic``
        (dot-separated segments, no ``*`` or ``>`` segment; topics under
        ``actors.`` are the broker's). Future of the number of
        subscriptions the broker routed it to (a full mailbox or a client
        it could not send to is not counted). An invalid topic raises
        :class:`actors.InvalidArgument` at once, data over
        ``max_message`` :class:`actors.TooLarge`."""
        t = wire.topic(topic)
        rid = _RID.pack(next(self._ids))
        frames = [wire.header(wire.PUBLISH, rid, tail=wire.topic_tail(t)),
                  self._body(data)]
        return self._request(frames, rid, self._local(self.timeout),
                             "publish %s" % wire._text(t))

    def publish_nowait(self, topic, data=None):
        """Fire and forget: publishes with an empty request id, which the
        broker does not answer (it would answer only a malformed publish,
        and this client checks the topic and size first). Returns None."""
        t = wire.topic(topic)
        self._submit([wire.header(wire.PUBLISH, b"", tail=wire.topic_tail(t)),
                      self._body(data)], b"", None)

    def subscribe(self, pattern, callback=None,
                  queue_size=pubsub.DEFAULT_QUEUE):
        """Subscribes this client's connection to ``pattern`` (a topic in
        which a whole segment may be ``*``, one segment, and the last
        ``>``, one or more; ``actors.LIFECYCLE`` is every lifecycle
        event). Returns a :class:`actors.pubsub.Subscription` at once;
        its ``ready`` Future resolves when the broker has it.

        Without ``callback`` events queue (up to ``queue_size``, more are
        counted in ``dropped``) for ``next(timeout)`` or iteration. With
        one, ``callback(event)`` runs on the client's I/O thread for each
        event, in order; it must not block (calling the client is fine).
        Several subscriptions of one client to the same pattern each get
        every event. An invalid pattern raises
        :class:`actors.InvalidArgument` at once."""
        return self._subscribe(pattern, callback, queue_size, None)

    def _subscribe(self, pattern, callback, queue_size, on_end):
        p = wire.topic(pattern, pattern=True)
        if queue_size < 1:
            raise errors.InvalidArgument("queue_size must be at least 1")
        sub = pubsub.Subscription(self, p, callback, queue_size, on_end)
        rid = _RID.pack(next(self._ids))
        flags = wire.FLAG_STREAM if self._stream_on else 0
        frames = [wire.header(wire.SUBSCRIBE, rid, flags=flags), p]
        ready = Future()
        ready.set_running_or_notify_cancel()
        with self._subs_lock:
            # registered before a PUBLICATION can be read: the I/O thread
            # looks subscriptions up under this lock
            fut = self._request(frames, rid, self._local(self.timeout),
                                "subscribe %s" % sub.pattern)
            self._subs.setdefault(p, []).append(sub)
        sub.ready = ready
        fut.add_done_callback(
            lambda f: self._on_io(lambda: self._subscribed(sub, f, ready)))
        return sub

    def _subscribed(self, sub, fut, ready):
        """I/O thread: the answer to a Subscription's SUBSCRIBE."""
        exc = fut.exception()
        if exc is not None:
            _settle(ready, exc=exc)
            # ended with the reason; a SUBSCRIBE that may yet reach the
            # broker (our own timer fired) is taken back
            self._unsubscribe(sub, exc, isinstance(exc, errors.Timeout))
            return
        value = fut.result()
        if isinstance(value, dict):
            self._redeem(sub._pattern_b, value, ready)
        else:
            _settle(ready, value=value)

    # ------------------------------------------------------- event stream
    def _on_io(self, fn):
        """Runs ``fn`` on the I/O thread: now if this is it, else next."""
        if threading.get_ident() == self._io_ident:
            fn()
            return
        with self._lock:
            if self._closing:
                return
            self._io_calls.append(fn)
            if not self._wake_pending:
                self._wake_pending = True
                self._wake_w.send(b"", zmq.NOBLOCK)

    def _stream_endpoint(self, ep):
        """The stream's endpoint as this client reaches it: a wildcard
        host is the host of the broker's own endpoint."""
        for wild in ("tcp://0.0.0.0:", "tcp://*:", "tcp://[::]:"):
            if ep.startswith(wild) and self.endpoint.startswith("tcp://"):
                host = self.endpoint[6:].rsplit(":", 1)[0]
                return "tcp://%s:%s" % (host, ep[len(wild):])
        return ep

    def _redeem(self, p, answer, ready):
        """I/O thread: a SUBSCRIBE of pattern ``p`` answered on the stream
        ({new, stream, ticket}): its prefixes on the SUB, ``ready`` (None:
        a resubscription) resolved at the welcome."""
        ep, ticket = answer.get("stream"), answer.get("ticket")
        new = answer.get("new", 0)
        with self._subs_lock:
            live = p in self._subs
        if not live:
            # unsubscribed before the answer came: nothing to redeem
            if ready is not None:
                _settle(ready, exc=errors.Closed("unsubscribed"))
            return
        if (not isinstance(ep, str) or not isinstance(ticket, bytes)
                or len(ticket) != wire.TICKET):
            self._fall_back(p, [(ready, new)] if ready else [])
            return
        if self._stream is None or self._stream_ep != ep:
            if self._stream is not None:
                # the stream moved (a broker restarted): a new SUB
                self._poller.unregister(self._stream)
                self._stream.close(linger=0)
                self._stream = None
                self._stream_pats.clear()
                self._welcomed.clear()
            k = self._ctx.socket(zmq.SUB)
            k.linger = 0
            k.rcvhwm = 0
            try:
                keys.apply(k, *self._keys)
                k.connect(self._stream_endpoint(ep))
            except (zmq.ZMQError, errors.ActorsError) as e:
                _log.warning("actors: endpoint=%s cannot connect to the "
                             "event stream: %s", ep, e)
                k.close(linger=0)
                self._fall_back(p, [(ready, new)] if ready else [])
                return
            self._stream, self._stream_ep = k, ep
            self._poller.register(k, zmq.POLLIN)
        old = self._stream_pats.get(p)
        carried = []
        if old is None:
            self._stream.subscribe(wire.stream_prefix(p))
        if old != ticket:
            if old is not None:
                self._stream.unsubscribe(wire.ticket_prefix(old))
                self._welcomed.discard(old)
                # what waited for the old ticket's welcome waits for this
                w = self._waiting.pop(old, None)
                carried = w[2] if w else []
            self._stream.subscribe(wire.ticket_prefix(ticket))
            self._stream_pats[p] = ticket
        if ready is not None:
            carried.append((ready, new))
        if ticket in self._welcomed:
            for r, n in carried:
                _settle(r, value=n)
            return
        w = self._waiting.setdefault(
            ticket, [time.monotonic() + _WELCOME_S, p, []])
        w[2].extend(carried)

    def _stream_drop(self, p):
        """I/O thread: pattern ``p`` has no Subscription left."""
        ticket = self._stream_pats.pop(p, None)
        if ticket is None or self._stream is None:
            return
        self._stream.unsubscribe(wire.stream_prefix(p))
        self._stream.unsubscribe(wire.ticket_prefix(ticket))
        self._welcomed.discard(ticket)
        w = self._waiting.pop(ticket, None)
        for ready, _ in (w[2] if w else []):
            _settle(ready, exc=errors.Closed("unsubscribed"))

    def _fall_back(self, p, readies):
        """I/O thread: pattern ``p``'s events over the connection instead:
        the broker's row on the stream goes, one over the connection
        comes; ``readies`` resolve with its answer."""
        if self._stream_on:
            _log.warning("actors: pattern=%s no welcome from the broker's "
                         "event stream in %g s (is its port reachable from "
                         "here?): this client takes its events over its "
                         "connection from now on", wire._text(p), _WELCOME_S)
        self._stream_on = False
        ticket = self._stream_pats.pop(p, None)
        if ticket is not None and self._stream is not None:
            self._stream.unsubscribe(wire.stream_prefix(p))
            self._stream.unsubscribe(wire.ticket_prefix(ticket))
        # (readies are resolved outside the lock: their callbacks may
        # subscribe)
        fut, failed = None, None
        with self._subs_lock:
            if p not in self._subs:
                failed = errors.Closed("unsubscribed")
            else:
                try:
                    rid = _RID.pack(next(self._ids))
                    self._request([wire.header(wire.UNSUBSCRIBE, rid), p],
                                  rid, self._local(self.timeout),
                                  "unsubscribe")
                    rid = _RID.pack(next(self._ids))
                    fut = self._request(
                        [wire.header(wire.SUBSCRIBE, rid), p], rid,
                        self._local(self.timeout),
                        "subscribe %s" % wire._text(p))
                except errors.Closed as e:
                    failed = e
        if failed is not None:
            for ready, _ in readies:
                _settle(ready, exc=failed)
            return

        def done(f):
            exc = f.exception()
            for ready, _ in readies:
                if exc is not None:
                    _settle(ready, exc=exc)
                else:
                    _settle(ready, value=f.result())
        fut.add_done_callback(done)

    def _stream_read(self):
        """I/O thread: what came on the stream: welcomes and events."""
        for _ in range(_RECV_BATCH):
            try:
                msg = self._stream.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            h = wire.parse_header(msg[0]) if msg else None
            if h is None:
                continue
            command, rid = h
            if command != wire.PUBLICATION:
                continue
            if len(rid) == wire.TICKET:  # a welcome
                self._welcomed.add(rid)
                w = self._waiting.pop(rid, None)
                for ready, new in (w[2] if w else []):
                    _settle(ready, value=new)
            elif not rid and len(msg) == 2:  # an event
                self._publication(msg)

    def _welcome_timeout(self):
        """I/O thread: seconds until a welcome is late; None: none awaited."""
        if not self._waiting:
            return None
        return min(w[0] for w in self._waiting.values()) - time.monotonic()

    def _welcomes_late(self):
        """I/O thread: the stream is not reachable for the tickets whose
        welcome is late."""
        now = time.monotonic()
        for ticket, w in list(self._waiting.items()):
            if w[0] <= now:
                del self._waiting[ticket]
                self._fall_back(w[1], w[2])

    def _unsubscribe(self, sub, exc=None, tell_broker=True):
        fut = None
        p = sub._pattern_b
        with self._subs_lock:
            lst = self._subs.get(p)
            present = lst is not None and any(s is sub for s in lst)
            if present:
                lst.remove(sub)
                if not lst:
                    del self._subs[p]
            if present and not lst:
                self._on_io(lambda: self._stream_drop(p))
            if present and not lst and tell_broker:
                rid = _RID.pack(next(self._ids))
                try:
                    fut = self._request([wire.header(wire.UNSUBSCRIBE, rid), p],
                                        rid, self._local(self.timeout),
                                        "unsubscribe %s" % sub.pattern)
                except errors.Closed:
                    fut = None
        sub._end(exc if exc is not None else errors.Closed(
            "unsubscribed from %r" % sub.pattern))
        return fut if fut is not None else _done(0)

    def _publication(self, msg):
        """I/O thread: a PUBLICATION, [header, body]."""
        p = wire.parse_publication(msg[0])
        if p is None or len(msg) != 2:
            return
        _, pat, top = p
        with self._subs_lock:
            subs = self._subs.get(pat)
            subs = list(subs) if subs else None
        if not subs:
            return  # unsubscribed meanwhile
        topic, pattern = wire._text(top), wire._text(pat)
        for sub in subs:
            try:
                data = _unpack(msg[1])  # each its own copy
            except Exception:
                sub._drop()
                continue
            sub._deliver(pubsub.Event(topic, pattern, data))

    # ------------------------------------------------------------ internals
    def _kill(self, address, restart, graceful):
        rid = _RID.pack(next(self._ids))
        frames = [wire.header(wire.KILL, rid), wire._name(address, "address"),
                  msgpack.packb({"restart": bool(restart),
                                 "graceful": bool(graceful)})]
        return self._request(frames, rid, self._local(self.timeout),
                             "kill %s" % address)

    def _args(self, args):
        return self._body(list(args), "arguments")

    def _body(self, value, what="data"):
        b = msgpack.packb(value, use_bin_type=True)
        if self.max_message and len(b) > self.max_message:
            raise errors.TooLarge("%s of %d bytes exceed max_message "
                                  "(%d)" % (what, len(b), self.max_message))
        return b

    @staticmethod
    def _local(t):
        return t if t else None

    def _request(self, frames, rid, wait_s, what):
        fut = Future()
        # a request once sent cannot be taken back: cancel() returns False
        fut.set_running_or_notify_cancel()
        deadline = time.monotonic() + wait_s if wait_s else None
        self._submit(frames, rid, _Req(fut, deadline, what))
        return fut

    def _submit(self, frames, rid, req):
        with self._lock:
            if self._closing:
                raise errors.Closed("the client is closed")
            self._outbox.append((frames, rid, req))
            if not self._wake_pending and threading.get_ident() != self._io_ident:
                self._wake_pending = True
                self._wake_w.send(b"", zmq.NOBLOCK)

    def _run(self):
        self._io_ident = threading.get_ident()
        sock, wake = self._sock, self._wake_r
        poller = zmq.Poller()
        self._poller = poller
        poller.register(sock, zmq.POLLIN)
        poller.register(wake, zmq.POLLIN)
        if self._mon is not None:
            poller.register(self._mon, zmq.POLLIN)
        pending = {}
        timers = []
        backlog = collections.deque()
        pollout = False
        try:
            while True:
                timeout = None
                if timers:
                    timeout = max(0, (timers[0][0] - time.monotonic()) * 1000)
                if self._knock_at is not None:
                    knock = max(0, (self._knock_at - time.monotonic()) * 1000)
                    timeout = knock if timeout is None else min(timeout, knock)
                late = self._welcome_timeout()
                if late is not None:
                    late = max(0, late * 1000)
                    timeout = late if timeout is None else min(timeout, late)
                if self._outbox or self._io_calls:
                    timeout = 0
                events = dict(poller.poll(timeout))
                if wake in events:
                    while True:
                        try:
                            wake.recv(zmq.NOBLOCK)
                        except zmq.Again:
                            break
                with self._lock:
                    self._wake_pending = False
                    closing = self._closing
                    items, self._outbox = self._outbox, collections.deque()
                    calls, self._io_calls = self._io_calls, collections.deque()
                for fn in calls:
                    fn()
                if self._mon is not None and self._mon in events:
                    self._monitor(pending)
                if (self._knock_at is not None
                        and time.monotonic() >= self._knock_at):
                    self._reconnect()
                for frames, rid, req in items:
                    if self._refused is not None:
                        # never sent: the broker refused our key
                        if req is not None:
                            req.future.set_exception(errors.Timeout(
                                "%s: %s" % (req.what, self._refused)))
                        continue
                    if req is not None:
                        pending[rid] = req
                        if req.deadline is not None:
                            heapq.heappush(timers, (req.deadline, rid))
                    backlog.append(frames)
                if closing:
                    # send what was queued before close (the futures fail
                    # with Closed below: no answer will be read)
                    for frames in backlog:
                        try:
                            sock.send_multipart(frames, zmq.NOBLOCK, copy=False)
                        except zmq.Again:
                            break
                    break
                # while refused, what is sent waits here (parked)
                while backlog and self._knock_at is None:
                    try:
                        sock.send_multipart(backlog[0], zmq.NOBLOCK, copy=False)
                    except zmq.Again:
                        break
                    backlog.popleft()
                want = bool(backlog) and self._knock_at is None
                if want != pollout:
                    pollout = want
                    poller.modify(sock, zmq.POLLIN | (zmq.POLLOUT if pollout else 0))
                if events.get(sock, 0) & zmq.POLLIN:
                    for _ in range(_RECV_BATCH):
                        try:
                            msg = sock.recv_multipart(zmq.NOBLOCK)
                        except zmq.Again:
                            break
                        self._received += 1
                        self._answer(pending, msg)
                if self._stream is not None and self._stream in events:
                    self._stream_read()
                if self._waiting:
                    self._welcomes_late()
                if timers:
                    now = time.monotonic()
                    while timers and timers[0][0] <= now:
                        _, rid = heapq.heappop(timers)
                        req = pending.get(rid)
                        if req is not None and req.deadline <= now:
                            del pending[rid]
                            req.future.set_exception(errors.Timeout(
                                "%s: no answer from the broker at %s%s"
                                % (req.what, self.endpoint,
                                   self._curve_hint())))
        finally:
            with self._lock:
                self._closing = True
                items, self._outbox = self._outbox, collections.deque()
            for _, rid, req in items:
                if req is not None:
                    pending[rid] = req
            for req in pending.values():
                req.future.set_exception(errors.Closed("the client was closed"))
            for w in self._waiting.values():
                for ready, _ in w[2]:
                    _settle(ready, exc=errors.Closed("the client was closed"))
            self._waiting.clear()
            with self._subs_lock:
                subs = [s for lst in self._subs.values() for s in lst]
                self._subs.clear()
            for sub in subs:
                sub._end(errors.Closed("the client was closed"))

    def _curve_hint(self):
        if not self.curve or self._handshake_ok:
            return ""
        if self._handshake_failures:
            return ("; the CURVE handshake with it failed %d time(s): is "
                    "broker_key the broker's public key?"
                    % self._handshake_failures)
        return "; no CURVE handshake with it has completed yet"

    def _monitor(self, pending):
        """I/O thread: the socket monitor's connection events."""
        while True:
            try:
                ev = parse_monitor_message(self._mon.recv_multipart(zmq.NOBLOCK))
            except zmq.Again:
                return
            except (ValueError, IndexError, struct.error):
                continue
            kind = ev["event"]
            if kind in (zmq.EVENT_HANDSHAKE_FAILED_AUTH,
                        zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL):
                # the broker refused the handshake; later drops too until
                # one succeeds (seeing a mismatch first, it just closes:
                # NO_DETAIL here, as a broker out of descriptors)
                self._hs_failed = True
            if kind == zmq.EVENT_DISCONNECTED:
                self._lost = True
                self._dropped()
            elif kind == zmq.EVENT_HANDSHAKE_SUCCEEDED:
                self._handshake_ok = True
                self._hs_failed = False
                if self._lost:
                    self._lost = False
                    self._resubscribe()
            elif kind == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
                if self._refused is None:
                    self._refuse(pending, ev["value"])
            elif (kind == zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
                  and not self.curve and not self._handshake_ok):
                # no keys here, CURVE there: libzmq does not try again
                if self._refused is None:
                    self._refuse(pending, None)
            elif (kind == zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
                  and not self.curve and not self._handshake_ok
                  and self._refused is None and not self._probed):
                # dropped: a broker that wants CURVE and saw the mismatch
                # first (a race some machines always lose), or one out of
                # descriptors; its greeting tells which (once)
                self._probed = True
                if _broker_wants_curve(self._ctx, self.endpoint):
                    self._hs_failed = True
                    self._refuse(pending, None)
                else:
                    self._handshake_failures += 1
            elif kind & _HANDSHAKE_FAILED:
                self._handshake_failures += 1

    _probed = False  # asked the broker's mechanism (_broker_wants_curve)

    def _dropped(self):
        """I/O thread: the connection dropped. Nothing came over it since
        the last drop: refused, so drop the endpoint and connect again
        after the next wait (100 ms doubling to 5 s, plus jitter)."""
        handshake = self._hs_failed
        refused = self._received == self._rx_mark
        self._rx_mark = self._received
        if not refused:
            self._knock = 0.0  # it had served: libzmq reconnects at once
            return
        if self._knock_at is not None or self._refused is not None:
            return  # already waiting; or our key refused: nothing to send
        self._knock = (KNOCK_MIN if not self._knock
                       else min(self._knock * 2, KNOCK_MAX))
        try:
            # stops libzmq's own reconnecting, every 100 ms; with a linger
            # the session would go on to deliver what it holds
            self._sock.linger = 0
            try:
                self._sock.disconnect(self.endpoint)
            finally:
                self._sock.linger = _LINGER_MS
        except zmq.ZMQError:
            return  # libzmq keeps its pace
        wait = self._knock + random.uniform(0, self._knock / 2)
        self._knock_at = time.monotonic() + wait
        self.refusals += 1
        _log.info(
            "actors: endpoint=%s refused=%d wait_ms=%d cause=%s %s; "
            "connecting again after the wait", self.endpoint, self.refusals,
            wait * 1000, "handshake" if handshake else "dropped",
            "the broker refused the connection's handshake: it does not "
            "accept this CURVE key, or only one side has keys"
            if handshake else
            "the connection was refused or dropped before any reply (a "
            "broker out of descriptors refuses so; with CURVE, also a "
            "broker_key that is not the broker's)")

    def _reconnect(self):
        """I/O thread: the wait after a refusal is over: connect again (the
        I/O loop then sends what waited)."""
        self._knock_at = None
        try:
            self._sock.connect(self.endpoint)
        except zmq.ZMQError as e:
            _log.error("actors: endpoint=%s connecting again failed: %s",
                       self.endpoint, e)

    def _resubscribe(self):
        """I/O thread: a new connection, which the broker knows as a new
        peer with no subscription: SUBSCRIBE every live pattern again,
        each with a new request id (queued: the I/O loop sends them next,
        before it polls again). The broker's answer only is logged if it
        is a refusal; a Subscription's ``ready`` is its first answer."""
        with self._subs_lock:
            flags = wire.FLAG_STREAM if self._stream_on else 0
            for p in list(self._subs):
                rid = _RID.pack(next(self._ids))
                try:
                    fut = self._request(
                        [wire.header(wire.SUBSCRIBE, rid, flags=flags), p],
                        rid, self._local(self.timeout),
                        "subscribe %s again" % wire._text(p))
                except errors.Closed:
                    return
                fut.add_done_callback(_log_refusal)
                fut.add_done_callback(
                    lambda f, p=p: self._on_io(lambda: self._resubscribed(p, f)))

    def _resubscribed(self, p, fut):
        """I/O thread: a resubscription on the stream: its new ticket."""
        if fut.exception() is None and isinstance(fut.result(), dict):
            self._redeem(p, fut.result(), None)

    def _refuse(self, pending, status):
        """I/O thread: the broker refused our key (ZAP ``status``), or,
        ``status`` None, this client has no keys and the broker wants
        CURVE. libzmq does not try again on this connection: fail what
        waits, now."""
        if status is None:
            self._refused = (
                "no answer will come: the broker at %s requires CURVE keys "
                "and this client has none (key= and broker_key=, or "
                "ACTORS_KEY and ACTORS_BROKER_KEY)" % self.endpoint)
        else:
            self._refused = (
                "no answer will come: the broker at %s refused this "
                "client's CURVE key in the handshake (ZAP status %s): its "
                "public key is not in the broker's allowlist (--keys DIR)"
                % (self.endpoint, status))
        for req in pending.values():
            req.future.set_exception(errors.Timeout(
                "%s: %s" % (req.what, self._refused)))
        pending.clear()
        with self._subs_lock:
            subs = [s for lst in self._subs.values() for s in lst]
            self._subs.clear()
        for sub in subs:
            sub._end(errors.Timeout("subscribe %s: %s"
                                    % (sub.pattern, self._refused)))

    def _answer(self, pending, msg):
        if msg and not msg[0]:
            msg = msg[1:]  # a delimiter (we send none; tolerate one)
        if len(msg) < 2:
            return
        h = wire.parse_header(msg[0])
        if h is None:
            return
        command, rid = h
        if command == wire.PUBLICATION:
            self._publication(msg)
            return
        req = pending.pop(rid, None)
        if req is None:
            return  # late (after our own Timeout), or an empty id
        try:
            value = _unpack(msg[1])
        except Exception as e:  # msgpack raises several types
            req.future.set_exception(errors.BadMsgpack(
                "%s: undecodable answer: %s" % (req.what, e)))
            return
        if command == wire.REPLY:
            req.future.set_result(value)
        elif command == wire.ERROR:
            req.future.set_exception(errors.from_reply(value))
        else:
            req.future.set_exception(errors.BadRequest(
                "%s: unexpected command 0x%02x in answer" % (req.what, command)))
