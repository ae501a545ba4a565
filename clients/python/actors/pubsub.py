"""actors.pubsub - a client's subscriptions to topics (schemas/PROTOCOL.md,
"Publish/subscribe"; the C API is libactors' actors/pubsub.h).

:meth:`actors.Client.subscribe` makes a :class:`Subscription`. Its events
are handed over by the client's I/O thread, in the order the broker sent
them (one publisher's events in the order published): to the callback
given to ``subscribe``, or into a queue read with :meth:`Subscription.next`
or by iterating. Delivery to a client is at most once: an event is lost if
the client does not read its socket (the broker's queue for it is full),
if the subscription's queue is full (counted in :attr:`dropped`), or if it
was published before the broker confirmed the subscription (``ready``).
"""
import collections
import logging
import threading
import time

from . import errors
from .wire import _text

#: The pattern of every lifecycle event the broker publishes
#: (``actors.lifecycle.<kind>.<address or node>``).
LIFECYCLE = "actors.lifecycle.>"
#: Events a subscription without a callback queues for :meth:`next`
#: (libactors' ACTORS_SUBSCRIPTION_QUEUE); more are counted in ``dropped``.
DEFAULT_QUEUE = 10000

_log = logging.getLogger("actors")

Event = collections.namedtuple("Event", "topic pattern data")
Event.__doc__ = """One event: ``topic`` it was published on (str),
``pattern`` of the subscription it matched (str), ``data`` the published
value (a msgpack value as Python)."""


class Subscription:
    """A subscription of one client to one pattern. Made by
    :meth:`actors.Client.subscribe`, never directly.

    * ``pattern``: the pattern (str).
    * ``ready``: a Future resolved when the broker has the subscription
      (1, or 0 if this client's connection had the pattern already), or
      failed with the broker's refusal (``BadRequest``, ``MailboxFull``)
      or ``Timeout``; the subscription is then ended with that error.
    * ``received``, ``dropped``: events handed over, and events lost
      because the queue was full or their data was not msgpack.

    Thread-safe: :meth:`next` and iteration may run in any thread (one
    reader at a time is the sensible use), :meth:`unsubscribe` from any
    thread, a callback included.
    """

    def __init__(self, client, pattern, callback, queue_size, on_end=None):
        self._client = client
        self._pattern_b = pattern
        self.pattern = _text(pattern)
        self._callback = callback
        self._queue_size = queue_size
        self._on_end = on_end  # called once with the ending exception
        self._cond = threading.Condition()
        self._queue = collections.deque()
        self._error = None
        self.received = 0
        self.dropped = 0
        self.ready = None  # set by the client

    def __repr__(self):
        return "<actors.Subscription %r%s>" % (
            self.pattern, " ended" if self._error is not None else "")

    @property
    def closed(self):
        """True once the subscription has ended (unsubscribed, the client
        closed, or the broker refused it)."""
        return self._error is not None

    def next(self, timeout=None):
        """The next :class:`Event`, waiting up to ``timeout`` seconds
        (``None``: for ever). Raises :class:`actors.Timeout` if none came
        in time; once the subscription has ended, :class:`actors.Closed`
        (unsubscribed, client closed) or the broker's refusal of it
        (``BadRequest``, ...). Not for a subscription with a callback
        (:class:`actors.InvalidArgument`)."""
        if self._callback is not None:
            raise errors.InvalidArgument(
                "subscription %r has a callback: its events go there"
                % self.pattern)
        end = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not self._queue and self._error is None:
                left = None if end is None else end - time.monotonic()
                if left is not None and left <= 0:
                    raise errors.Timeout("no event on %r within %g s"
                                         % (self.pattern, timeout))
                self._cond.wait(left)
            if self._queue:
                return self._queue.popleft()
            e = self._error
        raise type(e)(e.message, e.address, e.type)  # a fresh traceback

    def __iter__(self):
        return self

    def __next__(self):
        """Blocks for the next event; the iteration stops when the
        subscription is unsubscribed or the client closed, and raises the
        broker's refusal if it refused the subscription."""
        try:
            return self.next()
        except errors.Closed:
            raise StopIteration from None

    def unsubscribe(self):
        """Ends the subscription: queued events are discarded, a waiting
        :meth:`next` raises :class:`actors.Closed`, no callback runs after
        this returns (unless one is running). Returns a Future of the
        broker's answer (1 if it had the subscription, 0 if not; 0 at
        once when the client is closed, the subscription already ended,
        or another subscription of this client to the same pattern still
        needs it). Idempotent."""
        return self._client._unsubscribe(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.unsubscribe()

    # ----------------------------------------------------- client's side
    def _deliver(self, event):
        """I/O thread: one event for this subscription."""
        with self._cond:
            if self._error is not None:
                return
            if self._callback is None:
                if len(self._queue) >= self._queue_size:
                    self.dropped += 1
                    return
                self.received += 1
                self._queue.append(event)
                self._cond.notify()
                return
            self.received += 1
        try:
            self._callback(event)
        except Exception:  # a handler's bug must not stop the I/O thread
            _log.exception("actors: the callback of subscription %r raised",
                           self.pattern)

    def _drop(self):
        with self._cond:
            self.dropped += 1

    def _end(self, exc):
        """Any thread: ends the subscription with ``exc`` (what :meth:`next`
        raises from now on). True if this call ended it."""
        with self._cond:
            if self._error is not None:
                return False
            self._error = exc
            self._queue.clear()
            self._cond.notify_all()
        if self._on_end is not None:
            try:
                self._on_end(exc)
            except Exception:
                _log.exception("actors: ending subscription %r",
                               self.pattern)
        return True
