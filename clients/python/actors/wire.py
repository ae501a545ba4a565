"""actors.wire - the ACT2 envelope (schemas/PROTOCOL.md, "The HEADER frame").

Pure functions, safe from any thread.
"""
import struct

SIGNATURE = b"ACT2"

CALL = 0x01
TELL = 0x02
REPLY = 0x03
ERROR = 0x04
LOOKUP = 0x09
LIST = 0x0A
PING = 0x0B
SPAWN = 0x0E
KILL = 0x0F
EVENTS = 0x10
PUBLISH = 0x12
SUBSCRIBE = 0x13
UNSUBSCRIBE = 0x14
PUBLICATION = 0x15

FLAG_STREAM = 0x04  # SUBSCRIBE: on the broker's event stream
TICKET = 16         # bytes in a stream ticket

MAX_NAME = 255
MAX_TIMEOUT_MS = 0xFFFFFFFF
MAX_TOPIC = 255

_FIXED = struct.Struct(">4sBBIB")


def _name(value, what):
    b = value.encode("utf-8") if isinstance(value, str) else bytes(value)
    if not 1 <= len(b) <= MAX_NAME:
        from .errors import InvalidArgument
        raise InvalidArgument("%s must be 1..255 bytes, got %d" % (what, len(b)))
    return b


def _text(b):
    """Bytes from the wire as str (UTF-8; other bytes kept as surrogates)."""
    return bytes(b).decode("utf-8", "surrogateescape")


def names(address, method):
    """The names part of a CALL or TELL header."""
    a = _name(address, "address")
    m = _name(method, "method")
    return bytes((len(a),)) + a + bytes((len(m),)) + m


def header(command, rid=b"", timeout_ms=0, tail=b"", flags=0):
    """HEADER frame: signature, command, flags, timeout_ms, request id,
    then ``tail`` (the names of a CALL or TELL)."""
    return (_FIXED.pack(SIGNATURE, command, flags, timeout_ms, len(rid)) + rid
            + tail)


def topic_tail(topic):
    """What follows a PUBLISH header's request id: the topic (bytes, 1..255),
    after its length (schemas/PROTOCOL.md, PUBLISH): one frame fewer."""
    return bytes((len(topic),)) + topic


def stream_prefix(pattern):
    """What a SUB on the event stream subscribes for ``pattern``'s events
    (bytes): a PUBLICATION header with no request id, up to the pattern
    (schemas/PROTOCOL.md, "Event streams")."""
    return header(PUBLICATION) + bytes((len(pattern),)) + pattern


def ticket_prefix(ticket):
    """The welcome of ``ticket``: a PUBLICATION header whose id it is (no
    names: it sorts after every pattern's prefix)."""
    return header(PUBLICATION, ticket)


def parse_header(frame):
    """(command, request id) of a HEADER frame, or None if it is not a
    readable ACT2 header."""
    if len(frame) < 11 or frame[:4] != SIGNATURE:
        return None
    n = frame[10]
    if 11 + n > len(frame):
        return None
    return frame[4], bytes(frame[11:11 + n])


def timeout_ms(seconds):
    """A deadline in seconds (None or 0: none) as the header's uint32 ms."""
    if not seconds:
        return 0
    ms = int(round(seconds * 1000))
    return max(1, min(ms, MAX_TIMEOUT_MS))


def topic_valid(b, pattern):
    """Whether ``b`` (bytes) is a valid topic (``pattern`` False) or
    subscription pattern (True), by schemas/PROTOCOL.md ("Publish/subscribe"):
    1..255 bytes of dot-separated segments, none empty, no byte a space, a
    control byte or DEL; in a pattern a whole segment may be ``*`` and the
    last one ``>``; a topic has neither."""
    if not 1 <= len(b) <= MAX_TOPIC:
        return False
    segs = b.split(b".")
    for i, seg in enumerate(segs):
        if not seg or any(c <= 0x20 or c == 0x7F for c in seg):
            return False
        if seg in (b"*", b">"):
            if not pattern or (seg == b">" and i != len(segs) - 1):
                return False
    return True


def topic(value, pattern=False):
    """``value`` (str or bytes) as the bytes of a valid topic or pattern;
    raises :class:`actors.InvalidArgument` if it is not one."""
    b = value.encode("utf-8") if isinstance(value, str) else bytes(value)
    if not topic_valid(b, pattern):
        from .errors import InvalidArgument
        raise InvalidArgument(
            "%r is not a valid %s (dot-separated segments, 1..255 bytes, no "
            "empty segment, no space or control byte%s)"
            % (value, "pattern" if pattern else "topic",
               "; * for one segment, > as the last" if pattern
               else "; no * or > segment"))
    return b


def parse_publication(frame):
    """(request id, pattern, topic) of a PUBLICATION's HEADER frame (its
    names are laid out as a CALL's), or None if it is not readable."""
    if len(frame) < 11 or frame[:4] != SIGNATURE:
        return None
    n = frame[10]
    at = 11 + n
    if at >= len(frame):
        return None
    rid = bytes(frame[11:at])
    plen = frame[at]
    pat = bytes(frame[at + 1:at + 1 + plen])
    at += 1 + plen
    if plen == 0 or len(pat) != plen or at >= len(frame):
        return None
    tlen = frame[at]
    top = bytes(frame[at + 1:at + 1 + tlen])
    if tlen == 0 or len(top) != tlen:
        return None
    return rid, pat, top
