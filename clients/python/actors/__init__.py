"""actors - a Python client of the actors framework (ACT2 over ZeroMQ).

    import actors
    with actors.Client("tcp://127.0.0.1:5555") as c:
        print(c.call("account/1", "deposit", 200).result())   # 300.0
        with c.subscribe("orders.>") as sub:
            for event in sub:                 # Event(topic, pattern, data)
                print(event.topic, event.data)

See clients/python/README.md and schemas/PROTOCOL.md.
"""
from . import errors
from .aio import AsyncClient
from .client import (DEFAULT_ENDPOINT, DEFAULT_SPAWN_TIMEOUT, DEFAULT_TIMEOUT,
                     Client, endpoint_default)
from .errors import *  # noqa: F401,F403  one class per error type
from .errors import ERROR_TYPES, ActorsError, error_class
from .keys import load_public as keys_load_public
from .keys import load_secret as keys_load_secret
from .pubsub import LIFECYCLE, Event, Subscription

__version__ = "0.3.0"

__all__ = ["Client", "AsyncClient", "ActorsError", "ERROR_TYPES",
           "error_class", "endpoint_default", "DEFAULT_ENDPOINT",
           "DEFAULT_TIMEOUT", "DEFAULT_SPAWN_TIMEOUT", "errors",
           "keys_load_public", "keys_load_secret", "LIFECYCLE", "Event",
           "Subscription"]
__all__ += list(ERROR_TYPES)
