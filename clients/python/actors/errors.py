"""actors.errors - one exception class per error type of the ACT2 protocol.

The classes mirror ``ACTORS_ERRORS`` in libactors/include/actors/error.h,
in the same order (schemas/PROTOCOL.md, "Error types"); a test of this
package checks them against that header. An error reply whose ``type`` is
not in the table (an application type such as ``ValueError`` chosen by an
actor's method) raises :class:`ActorError` with that ``type``.

Every exception carries ``type`` (the wire name), ``message`` and
``address`` (the address it concerns, ``""`` for none).
"""

__all__ = ["ActorsError", "ERROR_TYPES", "error_class", "from_reply"]


class ActorsError(Exception):
    """Base class of every error a call, tell or broker request can fail
    with. ``str(e)`` is ``"Type: message"``, as actorctl prints it."""

    type = "ActorsError"

    def __init__(self, message="", address="", type=None):
        super().__init__(message)
        self.message = message
        self.address = address
        if type is not None:
            self.type = type

    def __str__(self):
        return "%s: %s" % (self.type, self.message)

    def __repr__(self):
        return "%s(%r, address=%r, type=%r)" % (
            self.__class__.__name__, self.message, self.address, self.type)

    def __reduce__(self):
        return (self.__class__, (self.message, self.address, self.type))


# The table: wire name, extra builtin base (so that ``except TimeoutError``
# and ``except ValueError`` catch what they mean), text. Append only, in
# the order of ACTORS_ERRORS.
_TABLE = (
    ("InvalidArgument", ValueError, "invalid argument"),
    ("OutOfMemory", MemoryError, "out of memory"),
    ("Timeout", TimeoutError, "no reply before the deadline"),
    ("NoSuchActor", None, "no actor has this address"),
    ("NoSuchMethod", None, "the actor has no such method"),
    ("MailboxFull", None, "the actor's mailbox is full"),
    ("ActorCrashed", None, "the actor died while the call was in it"),
    ("ActorDead", None, "the actor is dead and is not coming back"),
    ("BadRequest", None, "malformed request"),
    ("BadMsgpack", None, "the body is not valid msgpack"),
    ("WrongArguments", None, "wrong number or types of arguments"),
    ("TooLarge", None, "the message exceeds the size limit"),
    ("NameTaken", None, "the address is already taken"),
    ("BadVersion", None, "unsupported protocol version"),
    ("ActorError", None, "the method raised an error"),
    ("Closed", None, "the object is closed or shutting down"),
    ("NotReady", None, "not ready yet"),
    ("TransportError", ConnectionError, "the transport failed"),
    ("InternalError", None, "internal error"),
    ("NoSuchNode", None, "no live node (supervisor) by that name"),
    ("SpawnFailed", None, "the node could not start the actor"),
    ("DiskFull", None, "no space left on the storage device"),
    ("KeyLocked", None, "the persistence key is held by another process"),
    ("Forbidden", PermissionError, "the sender's role may not do this"),
    ("Deadlock", None, "waiting here would block the actor's own loop"),
)

#: The wire names, in the order of ACTORS_ERRORS.
ERROR_TYPES = tuple(name for name, _, _ in _TABLE)

_CLASSES = {}
for _name, _extra, _text in _TABLE:
    _bases = (ActorsError,) if _extra is None else (ActorsError, _extra)
    _cls = type(_name, _bases, {"type": _name, "__doc__": _text + ".",
                                "__module__": __name__})
    _CLASSES[_name] = _cls
    globals()[_name] = _cls
    __all__.append(_name)
del _name, _extra, _text, _bases, _cls


def error_class(type_name):
    """The exception class of a wire name; :class:`ActorError` for a name
    not in the table (an application error type)."""
    return _CLASSES.get(type_name, _CLASSES["ActorError"])


def from_reply(body):
    """The exception for the body of an ERROR reply, a map
    ``{"type", "message", "address"}`` (other keys ignored). A body that is
    not such a map gives :class:`BadMsgpack`."""
    if not isinstance(body, dict):
        return _CLASSES["BadMsgpack"]("error reply body is not a map: %r"
                                      % (body,))
    t = body.get("type")
    t = t if isinstance(t, str) and t else "ActorError"
    msg = body.get("message")
    addr = body.get("address")
    return error_class(t)(msg if isinstance(msg, str) else "",
                          addr if isinstance(addr, str) else "", t)
