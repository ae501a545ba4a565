"""actors.aio - the asyncio variant of :class:`actors.Client`.

Every request method of :class:`AsyncClient` is a coroutine with the
arguments of the same method of :class:`actors.Client`: ``await
client.call("account/1", "deposit", 200)``. The requests still travel
through the client's I/O thread and are pipelined over its one connection;
``asyncio.gather`` of many calls keeps them all in flight at once.

Cancelling an awaiting task does not take back a request that was sent:
its answer is dropped when it comes.
"""
import asyncio

from .client import DEFAULT_MAX_MESSAGE, DEFAULT_TIMEOUT, Client, _DEFAULT


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
