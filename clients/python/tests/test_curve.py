"""CURVE: keys from czmq certificate files (written by czmq's own
zcert_save), first against a bare CURVE server socket (the client loads
czmq's files, completes the handshake with the right broker key and gets
nowhere with a wrong one), then against the real actors-broker started
with --keys (schemas/PROTOCOL.md, "Security"): a client key is served and
refused KILL with Forbidden, an unknown key fails fast with Timeout."""
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


# ------------------------------------------------ the real broker with keys
# actors-broker --keys DIR --key broker_secret, certificates made by
# `actorctl keygen` (as tests/interop/run.sh does): an account started
# with an actor key, clients with a client key and with a key the broker
# does not know.
@pytest.fixture(scope="module")
def keyed(tmp_path_factory):
    if not zmq.has("curve"):
        pytest.skip("needs a libzmq with CURVE")
    import harness
    import subprocess
    d = tmp_path_factory.mktemp("keys")
    peer, allow = d / "peer", d / "allow"
    allow.mkdir()
    for name, role in (("broker", "admin"), ("cli", "client"),
                       ("act", "actor"), ("stranger", "client")):
        subprocess.run([harness.binary("actorctl"), "keygen", name, "--role",
                        role, "--dir", str(peer)], check=True,
                       stdout=subprocess.DEVNULL)
    for name in ("cli", "act"):
        (allow / name).write_bytes((peer / name).read_bytes())
    p = harness.Procs()
    try:
        ep = p.broker("--keys", str(allow), "--key",
                      str(peer / "broker_secret"))
        p.start("curve_account", [harness.binary("account"), "--broker", ep,
                                  "--address", "curve/account", "100", "20"],
                env={"ACTORS_KEY": str(peer / "act_secret"),
                     "ACTORS_BROKER_KEY": str(peer / "broker")})
        with actors.Client(ep, key=str(peer / "cli_secret"),
                           broker_key=str(peer / "broker"), timeout=10) as c:
            harness.wait_registered(c, "curve/account")
        yield ep, peer
    finally:
        p.stop_all()


def keyed_client(keyed, name, **kw):
    ep, peer = keyed
    return actors.Client(ep, key=str(peer / (name + "_secret")),
                         broker_key=str(peer / "broker"), **kw)


def test_real_broker_client_key_calls_an_actor(keyed):
    with keyed_client(keyed, "cli", timeout=10) as c:
        assert c.curve
        before = c.call("curve/account", "balance").result(30)
        assert c.call("curve/account", "deposit", 5).result(30) == before + 5
        with pytest.raises(actors.ActorError) as ei:
            c.call("curve/account", "withdraw", -5).result(30)
        assert ei.value.type == "ValueError"


def test_real_broker_client_key_may_not_kill(keyed):
    """KILL is the admin role's: the broker answers Forbidden, the client
    raises actors.Forbidden (a PermissionError), the actor lives on."""
    with keyed_client(keyed, "cli", timeout=10) as c:
        with pytest.raises(actors.Forbidden) as ei:
            c.kill("curve/account", restart=False).result(30)
        assert ei.value.type == "Forbidden"
        assert isinstance(ei.value, PermissionError)
        with pytest.raises(actors.Forbidden):
            c.spawn("account", args=[1, 0]).result(30)
        assert c.lookup("curve/account").result(30)["state"] == "running"


def test_real_broker_client_key_may_publish_and_subscribe(keyed):
    with keyed_client(keyed, "cli", timeout=10) as c:
        sub = c.subscribe("curve.>")
        assert sub.ready.result(30) == 1
        assert c.publish("curve.x", 1).result(30) == 1
        assert sub.next(30).data == 1


def test_real_broker_unknown_key_fails_fast_with_a_clear_timeout(keyed):
    """The broker refuses the key in the handshake and libzmq never tries
    again: every request fails with Timeout at once (not after its 120 s
    deadline), saying the key was refused."""
    with keyed_client(keyed, "stranger", timeout=120) as c:
        f = c.call("curve/account", "balance")
        with pytest.raises(actors.Timeout) as ei:
            f.result(60)  # far below the deadline: only the refusal fits
        assert "refused this client's CURVE key" in ei.value.message
        assert "curve/account.balance" in ei.value.message
        # later requests too, and subscriptions
        with pytest.raises(actors.Timeout) as ei:
            c.ping().result(60)
        assert "refused" in ei.value.message
        sub = c.subscribe("curve.>")
        with pytest.raises(actors.Timeout):
            sub.next(60)


def test_real_broker_plain_client_fails_fast(keyed, monkeypatch):
    """A client without keys: the mechanisms differ, libzmq never tries
    again, so requests fail at once (not at their 120 s deadline) with a
    Timeout that says keys are needed."""
    monkeypatch.delenv("ACTORS_KEY", raising=False)
    monkeypatch.delenv("ACTORS_BROKER_KEY", raising=False)
    ep, _ = keyed
    with actors.Client(ep, timeout=120) as c:
        assert not c.curve
        with pytest.raises(actors.Timeout) as ei:
            c.ping().result(60)  # far below the deadline
        assert "requires CURVE keys" in ei.value.message


def test_real_broker_wrong_broker_key_times_out_with_a_hint(keyed):
    ep, peer = keyed
    with actors.Client(ep, key=str(peer / "cli_secret"),
                       broker_key=str(peer / "stranger"), timeout=1) as c:
        with pytest.raises(actors.Timeout) as ei:
            c.ping().result(60)
        assert "CURVE handshake" in ei.value.message
