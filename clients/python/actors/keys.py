"""actors.keys - CURVE keys from czmq certificate files.

A czmq certificate file (what ``zcert_save`` writes, and what the broker
and libactors read) is ZPL text with a ``curve`` section holding
``public-key`` and, in the secret file, ``secret-key``, both in Z85. pyzmq
reads that format with :func:`zmq.auth.load_certificate`.
"""
import os

import zmq
import zmq.auth

from .errors import InvalidArgument


def _z85_key(value):
    if isinstance(value, str):
        value = value.encode("ascii")
    if isinstance(value, (bytes, bytearray)) and len(value) == 40:
        return bytes(value)
    return None


def load_secret(key):
    """(public, secret) Z85 keys from ``key``: the path of a czmq secret
    certificate file, or a ``(public, secret)`` pair of Z85 keys."""
    if isinstance(key, (tuple, list)) and len(key) == 2:
        pub, sec = _z85_key(key[0]), _z85_key(key[1])
        if pub is None or sec is None:
            raise InvalidArgument("key pair must be two 40-character Z85 keys")
        return pub, sec
    path = os.fspath(key)
    try:
        pub, sec = zmq.auth.load_certificate(path)
    except (OSError, ValueError) as e:
        raise InvalidArgument("cannot read certificate %s: %s" % (path, e))
    if not pub or not sec:
        raise InvalidArgument("%s is not a secret certificate (it needs "
                              "public-key and secret-key)" % path)
    return pub, sec


def load_public(key):
    """The Z85 public key from ``key``: a 40-character Z85 key, or the path
    of a czmq certificate file (public or secret)."""
    z = _z85_key(key)
    if z is not None and not os.path.exists(os.fsdecode(key)):
        return z
    path = os.fspath(key)
    try:
        pub, _ = zmq.auth.load_certificate(path)
    except (OSError, ValueError) as e:
        raise InvalidArgument("cannot read certificate %s: %s" % (path, e))
    if not pub:
        raise InvalidArgument("%s has no public-key" % path)
    return pub


def apply(sock, key, broker_key):
    """Make ``sock`` a CURVE client: its own keys from ``key``, the
    broker's public key from ``broker_key``. Both or neither."""
    if key is None and broker_key is None:
        return False
    if key is None or broker_key is None:
        raise InvalidArgument("CURVE needs both key and broker_key")
    if not zmq.has("curve"):
        raise InvalidArgument("this libzmq has no CURVE support")
    pub, sec = load_secret(key)
    sock.curve_publickey = pub
    sock.curve_secretkey = sec
    sock.curve_serverkey = load_public(broker_key)
    return True
