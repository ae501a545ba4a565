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
"""
import collections
import heapq
import itertools
import json
import os
import struct
import threading
import time
from concurrent.futures import Future

import msgpack
import zmq

from . import errors, keys, wire

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


def _unpack(body):
    return msgpack.unpackb(body, raw=False, strict_map_key=False,
                           unicode_errors="surrogateescape")


class _Req:
    __slots__ = ("future", "deadline", "what")

    def __init__(self, future, deadline, what):
        self.future = future
        self.deadline = deadline
        self.what = what


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
        self._ctx = zmq.Context()
        try:
            self._sock = self._ctx.socket(zmq.DEALER)
            self._sock.linger = _LINGER_MS
            self._sock.sndhwm = _HWM
            self._sock.rcvhwm = _HWM
            self.curve = keys.apply(self._sock, key, broker_key)
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

    # ------------------------------------------------------------ internals
    def _kill(self, address, restart, graceful):
        rid = _RID.pack(next(self._ids))
        frames = [wire.header(wire.KILL, rid), wire._name(address, "address"),
                  msgpack.packb({"restart": bool(restart),
                                 "graceful": bool(graceful)})]
        return self._request(frames, rid, self._local(self.timeout),
                             "kill %s" % address)

    def _args(self, args):
        b = msgpack.packb(list(args), use_bin_type=True)
        if self.max_message and len(b) > self.max_message:
            raise errors.TooLarge("arguments of %d bytes exceed max_message "
                                  "(%d)" % (len(b), self.max_message))
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
        poller.register(sock, zmq.POLLIN)
        poller.register(wake, zmq.POLLIN)
        pending = {}
        timers = []
        backlog = collections.deque()
        pollout = False
        try:
            while True:
                timeout = None
                if timers:
                    timeout = max(0, (timers[0][0] - time.monotonic()) * 1000)
                if self._outbox:
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
                for frames, rid, req in items:
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
                while backlog:
                    try:
                        sock.send_multipart(backlog[0], zmq.NOBLOCK, copy=False)
                    except zmq.Again:
                        break
                    backlog.popleft()
                if bool(backlog) != pollout:
                    pollout = bool(backlog)
                    poller.modify(sock, zmq.POLLIN | (zmq.POLLOUT if pollout else 0))
                if events.get(sock, 0) & zmq.POLLIN:
                    for _ in range(_RECV_BATCH):
                        try:
                            msg = sock.recv_multipart(zmq.NOBLOCK)
                        except zmq.Again:
                            break
                        self._answer(pending, msg)
                if timers:
                    now = time.monotonic()
                    while timers and timers[0][0] <= now:
                        _, rid = heapq.heappop(timers)
                        req = pending.get(rid)
                        if req is not None and req.deadline <= now:
                            del pending[rid]
                            req.future.set_exception(errors.Timeout(
                                "%s: no answer from the broker at %s"
                                % (req.what, self.endpoint)))
        finally:
            with self._lock:
                self._closing = True
                items, self._outbox = self._outbox, collections.deque()
            for _, rid, req in items:
                if req is not None:
                    pending[rid] = req
            for req in pending.values():
                req.future.set_exception(errors.Closed("the client was closed"))

    @staticmethod
    def _answer(pending, msg):
        if msg and not msg[0]:
            msg = msg[1:]  # a delimiter (we send none; tolerate one)
        if len(msg) < 2:
            return
        h = wire.parse_header(msg[0])
        if h is None:
            return
        command, rid = h
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
