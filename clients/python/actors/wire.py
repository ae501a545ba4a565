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

MAX_NAME = 255
MAX_TIMEOUT_MS = 0xFFFFFFFF

_FIXED = struct.Struct(">4sBBIB")


def _name(value, what):
    b = value.encode("utf-8") if isinstance(value, str) else bytes(value)
    if not 1 <= len(b) <= MAX_NAME:
        from .errors import InvalidArgument
        raise InvalidArgument("%s must be 1..255 bytes, got %d" % (what, len(b)))
    return b


def names(address, method):
    """The names part of a CALL or TELL header."""
    a = _name(address, "address")
    m = _name(method, "method")
    return bytes((len(a),)) + a + bytes((len(m),)) + m


def header(command, rid=b"", timeout_ms=0, tail=b""):
    """HEADER frame: signature, command, flags 0, timeout_ms, request id,
    then ``tail`` (the names of a CALL or TELL)."""
    return _FIXED.pack(SIGNATURE, command, 0, timeout_ms, len(rid)) + rid + tail


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
