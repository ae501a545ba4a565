"""CURVE: keys from czmq certificate files (written by czmq's own
zcert_save), against a CURVE server socket. The broker's side of CURVE
belongs to the security work; these tests check the client's: that it
loads czmq's files, completes the handshake with the right broker key and
gets nowhere with a wrong one."""
import ctypes
import ctypes.util
import os
import threading

import pytest
import zmq

import actors
from actors import wire

_czmq_name = ctypes.util.find_library("czmq")


def czmq_cert(path):
    """Writes a czmq certificate pair with czmq itself: path (public) and
    path_secret. Returns the Z85 public key."""
    lib = ctypes.CDLL(_czmq_name)
    lib.zcert_new.restype = ctypes.c_void_p
    lib.zcert_save.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    lib.zcert_public_txt.restype = ctypes.c_char_p
    lib.zcert_public_txt.argtypes = [ctypes.c_void_p]
    lib.zcert_destroy.argtypes = [ctypes.POINTER(ctypes.c_void_p)]
    cert = ctypes.c_void_p(lib.zcert_new())
    assert lib.zcert_save(cert, path.encode()) == 0
    pub = lib.zcert_public_txt(cert)
    lib.zcert_destroy(ctypes.byref(cert))
    return pub


class CurveEcho:
    """A CURVE ROUTER that answers every PING with REPLY {"curve": True}
    and remembers the client public keys it saw (ZAP is not needed for
    that: libzmq puts the peer's key in the message metadata only with
    ZAP, so the test checks the handshake by the answer itself)."""

    def __init__(self, secret_cert):
        pub, sec = zmq.auth.load_certificate(secret_cert)
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.ROUTER)
        self.sock.linger = 0
        self.sock.curve_server = True
        self.sock.curve_publickey = pub
        self.sock.curve_secretkey = sec
        port = self.sock.bind_to_random_port("tcp://127.0.0.1")
        self.endpoint = "tcp://127.0.0.1:%d" % port
        self.stop = threading.Event()
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        import msgpack
        while not self.stop.is_set():
            if not self.sock.poll(50):
                continue
            frames = self.sock.recv_multipart()
            h = wire.parse_header(frames[1])
            if h and h[0] == wire.PING:
                self.sock.send_multipart([
                    frames[0], wire.header(wire.REPLY, h[1]),
                    msgpack.packb({"curve": True})])

    def close(self):
        self.stop.set()
        self.t.join()
        self.ctx.destroy(linger=0)


@pytest.fixture
def certs(tmp_path):
    if not _czmq_name or not zmq.has("curve"):
        pytest.skip("needs libczmq and a libzmq with CURVE")
    czmq_cert(str(tmp_path / "broker"))
    czmq_cert(str(tmp_path / "client"))
    czmq_cert(str(tmp_path / "other"))
    return tmp_path


def test_czmq_certificate_files_are_read(certs):
    pub, sec = actors.keys_load_secret(str(certs / "client_secret"))
    assert len(pub) == 40 and len(sec) == 40
    assert actors.keys_load_public(str(certs / "client")) == pub
    with pytest.raises(actors.InvalidArgument):
        actors.keys_load_secret(str(certs / "client"))  # public file only
    with pytest.raises(actors.InvalidArgument):
        actors.keys_load_secret(str(certs / "missing"))


def test_curve_handshake_with_the_broker_key(certs):
    srv = CurveEcho(str(certs / "broker_secret"))
    try:
        with actors.Client(srv.endpoint, key=str(certs / "client_secret"),
                           broker_key=str(certs / "broker"), timeout=5) as c:
            assert c.curve
            assert c.ping().result(10) == {"curve": True}
    finally:
        srv.close()


def test_curve_keys_from_the_environment(certs, monkeypatch):
    srv = CurveEcho(str(certs / "broker_secret"))
    monkeypatch.setenv("ACTORS_KEY", str(certs / "client_secret"))
    monkeypatch.setenv("ACTORS_BROKER_KEY", str(certs / "broker"))
    try:
        with actors.Client(srv.endpoint, timeout=5) as c:
            assert c.curve and c.ping().result(10) == {"curve": True}
    finally:
        srv.close()


def test_curve_wrong_broker_key_gets_no_answer(certs):
    srv = CurveEcho(str(certs / "broker_secret"))
    try:
        with actors.Client(srv.endpoint, key=str(certs / "client_secret"),
                           broker_key=str(certs / "other"), timeout=0.5) as c:
            with pytest.raises(actors.Timeout):
                c.ping().result(10)
    finally:
        srv.close()


def test_plain_client_gets_no_answer_from_a_curve_server(certs, monkeypatch):
    monkeypatch.delenv("ACTORS_KEY", raising=False)
    monkeypatch.delenv("ACTORS_BROKER_KEY", raising=False)
    srv = CurveEcho(str(certs / "broker_secret"))
    try:
        with actors.Client(srv.endpoint, timeout=0.5) as c:
            assert not c.curve
            with pytest.raises(actors.Timeout):
                c.ping().result(10)
    finally:
        srv.close()


def test_half_a_key_is_refused(certs, monkeypatch):
    monkeypatch.delenv("ACTORS_BROKER_KEY", raising=False)
    with pytest.raises(actors.InvalidArgument):
        actors.Client("tcp://127.0.0.1:1", key=str(certs / "client_secret"))
