"""actors.aio - the asyncio variant of :class:`actors.Client`.

Every request method of :class:`AsyncClient` is a coroutine with the
arguments of the same method of :class:`actors.Client`: ``await
client.call("account/1", "deposit", 200)``. The requests still travel
through the client's I/O thread and are pipelined over its one connection;
``asyncio.gather`` of many calls keeps them all in flight at once.

Cancelling an awaiting task does not take back a request that was sent:
its answer is dropped when it comes.

``await client.subscribe(pattern)`` gives an :class:`AsyncSubscription`
once the broker has it: ``async for event in sub``, ``await
sub.next(timeout)``, or a callback run on the event loop. Its events are
passed from the client's I/O thread to the loop that subscribed.
"""
import asyncio
import collections
import inspect
import logging

from . import errors
from .client import DEFAULT_MAX_MESSAGE, DEFAULT_TIMEOUT, Client, _DEFAULT
from .pubsub import DEFAULT_QUEUE

_log = logging.getLogger("actors")


class AsyncClient:
    """``AsyncClient(endpoint=None, key=None, broker_key=None,
    timeout=30.0, max_message=16 MiB)``; see :class:`actors.Client`. Use ``async with`` or
    ``await client.close()``. Thread-safe like Client; the awaitables
    belong to the event loop that awaits them."""

    def __init__(self, endpoint=None, key=None, broker_key=None,
                 timeout=DEFAULT_TIMEOUT, max_message=DEFAULT_MAX_MESSAGE):
        self.sync = Client(endpoint, key=key, broker_key=broker_key,
                           timeout=timeout, max_message=max_message)

    @property
    def endpoint(self):
        return self.sync.endpoint

    async def close(self):
        await asyncio.get_running_loop().run_in_executor(None, self.sync.close)

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.close()

    @staticmethod
    def _wrap(fut):
        return asyncio.wrap_future(fut)

    async def call(self, address, method, *args, timeout=_DEFAULT, key=None):
        return await self._wrap(self.sync.call(address, method, *args,
                                               timeout=timeout, key=key))

    async def tell(self, address, method, *args, key=None):
        return await self._wrap(self.sync.tell(address, method, *args, key=key))

    def tell_nowait(self, address, method, *args, key=None):
        """Fire and forget; not a coroutine (nothing to wait for)."""
        self.sync.tell_nowait(address, method, *args, key=key)

    async def lookup(self, address):
        return await self._wrap(self.sync.lookup(address))

    async def ls(self):
        return await self._wrap(self.sync.ls())

    async def ping(self):
        return await self._wrap(self.sync.ping())

    async def spawn(self, service, *args, **kw):
        return await self._wrap(self.sync.spawn(service, *args, **kw))

    async def kill(self, address, restart=True):
        return await self._wrap(self.sync.kill(address, restart))

    async def stop(self, address):
        return await self._wrap(self.sync.stop(address))

    async def events(self, since=0):
        return await self._wrap(self.sync.events(since))

    async def publish(self, topic, data=None):
        """The number of subscriptions the event reached; see
        :meth:`actors.Client.publish`."""
        return await self._wrap(self.sync.publish(topic, data))

    def publish_nowait(self, topic, data=None):
        """Fire and forget; not a coroutine (nothing to wait for)."""
        self.sync.publish_nowait(topic, data)

    async def subscribe(self, pattern, callback=None,
                        queue_size=DEFAULT_QUEUE):
        """Subscribes to ``pattern`` and returns an
        :class:`AsyncSubscription` once the broker has it (raises its
        refusal, ``BadRequest`` or ``MailboxFull``; an invalid pattern
        raises :class:`actors.InvalidArgument` at once). With
        ``callback``, ``callback(event)`` runs on this event loop for
        each event; if it returns an awaitable, that is scheduled as a
        task. Without, read events with ``async for`` or ``next``."""
        sub = AsyncSubscription(asyncio.get_running_loop(), callback,
                                queue_size)
        sub._sync = self.sync._subscribe(pattern, sub._from_io, 1,
                                         sub._ended_io)
        sub.pattern = sub._sync.pattern
        await self._wrap(sub._sync.ready)
        return sub


class AsyncSubscription:
    """A subscription whose events are read on an asyncio event loop (the
    one that called :meth:`AsyncClient.subscribe`); its methods belong to
    that loop. ``pattern``, ``received``, ``dropped`` (events over
    ``queue_size``), ``closed`` as for :class:`actors.Subscription`."""

    def __init__(self, loop, callback, queue_size):
        if queue_size < 1:
            raise errors.InvalidArgument("queue_size must be at least 1")
        self._loop = loop
        self._callback = callback
        self._queue_size = queue_size
        self._queue = collections.deque()
        self._wakeup = asyncio.Event()
        self._error = None
        self._sync = None
        self.pattern = None
        self.received = 0
        self.dropped = 0

    def __repr__(self):
        return "<actors.AsyncSubscription %r%s>" % (
            self.pattern, " ended" if self._error is not None else "")

    @property
    def closed(self):
        return self._error is not None

    # the client's I/O thread -> the loop
    def _from_io(self, event):
        try:
            self._loop.call_soon_threadsafe(self._put, event)
        except RuntimeError:  # the loop is closed: nobody to give it to
            pass

    def _ended_io(self, exc):
        try:
            self._loop.call_soon_threadsafe(self._finish, exc)
        except RuntimeError:
            pass

    def _put(self, event):
        if self._error is not None:
            return
        if self._callback is not None:
            self.received += 1
            try:
                r = self._callback(event)
                if inspect.isawaitable(r):
                    asyncio.ensure_future(r)
            except Exception:
                _log.exception("actors: the callback of subscription %r "
                               "raised", self.pattern)
            return
        if len(self._queue) >= self._queue_size:
            self.dropped += 1
            return
        self.received += 1
        self._queue.append(event)
        self._wakeup.set()

    def _finish(self, exc):
        if self._error is None:
            self._error = exc
            self._queue.clear()
            self._wakeup.set()

    def _raise(self):
        e = self._error
        raise type(e)(e.message, e.address, e.type)

    async def next(self, timeout=None):
        """The next :class:`actors.Event`, waiting up to ``timeout``
        seconds (None: for ever): :class:`actors.Timeout` if none came,
        :class:`actors.Closed` once unsubscribed or the client closed."""
        if self._callback is not None:
            raise errors.InvalidArgument(
                "subscription %r has a callback: its events go there"
                % self.pattern)
        loop = asyncio.get_running_loop()
        end = None if timeout is None else loop.time() + timeout
        while not self._queue:
            if self._error is not None:
                self._raise()
            self._wakeup.clear()
            left = None if end is None else end - loop.time()
            if left is not None and left <= 0:
                raise errors.Timeout("no event on %r within %g s"
                                     % (self.pattern, timeout))
            try:
                await asyncio.wait_for(self._wakeup.wait(), left)
            except asyncio.TimeoutError:
                pass  # checked above
        return self._queue.popleft()

    def __aiter__(self):
        return self

    async def __anext__(self):
        try:
            return await self.next()
        except errors.Closed:
            raise StopAsyncIteration from None

    async def unsubscribe(self):
        """Ends the subscription (queued events are discarded); the
        broker's answer, 1 or 0 (see :meth:`actors.Subscription.unsubscribe`)."""
        f = self._sync.unsubscribe()
        self._finish(errors.Closed("unsubscribed from %r" % self.pattern))
        return await asyncio.wrap_future(f)

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.unsubscribe()
