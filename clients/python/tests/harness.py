"""harness.py - start the real broker, services and a node on loopback for
the tests of the Python client (and bench/peers/pyclient_bench.py).

Every process is started by this module, on a free port the broker picks
itself (``--bind tcp://127.0.0.1:*``), and stopped by its pid: SIGTERM,
then SIGKILL after a deadline. Binaries come from ``$ACTORS_SRCDIR/$BUILD/
bin`` (defaults: the repository that holds this file, ``build``).
"""
import os
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.environ.get("ACTORS_SRCDIR") or os.path.abspath(
    os.path.join(HERE, "..", "..", ".."))
BUILD = os.environ.get("BUILD", "build")
BIN = os.path.join(ROOT, BUILD, "bin") if not os.path.isabs(BUILD) \
    else os.path.join(BUILD, "bin")
DEADLINE_S = float(os.environ.get("ACTORS_TEST_DEADLINE", "20"))

# the package under test: the source tree's, unless told to use the
# installed one (ACTORS_PY_INSTALLED=1, after pip install)
if os.environ.get("ACTORS_PY_INSTALLED") != "1":
    sys.path.insert(0, os.path.abspath(os.path.join(HERE, "..")))


def binary(name):
    path = os.path.join(BIN, name)
    if not os.access(path, os.X_OK):
        raise RuntimeError("%s is missing; build first (make BUILD=%s)"
                           % (path, BUILD))
    return path


class Procs:
    """The processes one test session started, stopped in reverse order."""

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="actors-pyclient.")
        self.procs = []  # (name, Popen)
        self.named = {}  # name -> Popen, of the brokers

    def start(self, name, argv, env=None):
        out = open(os.path.join(self.tmp, name + ".out"), "wb")
        err = open(os.path.join(self.tmp, name + ".err"), "wb")
        e = dict(os.environ)
        # durable state (reminders, persistence) in the session's own
        # directory, not ./actors-state of wherever pytest runs
        e["ACTORS_STATE_DIR"] = os.path.join(self.tmp, "state")
        if env:
            e.update(env)
        p = subprocess.Popen(argv, stdout=out, stderr=err, env=e,
                             stdin=subprocess.DEVNULL)
        out.close()
        err.close()
        self.procs.append((name, p))
        return p

    def log(self, name, what="err"):
        try:
            with open(os.path.join(self.tmp, "%s.%s" % (name, what))) as f:
                return f.read()
        except OSError:
            return ""

    def broker(self, *extra, name="broker", bind="tcp://127.0.0.1:*"):
        """Starts actors-broker (logs NAME.out, NAME.err; the process in
        ``self.named[name]``) bound to ``bind``, by default a free
        loopback port; its endpoint."""
        p = self.start(name, [binary("actors-broker"), "--bind", bind]
                       + list(extra))
        self.named[name] = p
        end = time.monotonic() + DEADLINE_S
        while time.monotonic() < end:
            for line in self.log(name, "out").splitlines():
                if line.startswith("ENDPOINT "):
                    return line.split(" ", 1)[1].strip()
            if p.poll() is not None:
                raise RuntimeError("the broker exited: " + self.log(name))
            time.sleep(0.02)  # poll pause; the loop has a deadline
        raise RuntimeError("no ENDPOINT line from the broker in %.0f s"
                           % DEADLINE_S)

    def service(self, endpoint, service, address, *args):
        return self.start(address.replace("/", "_"),
                          [binary(service), "--broker", endpoint,
                           "--address", address] + [str(a) for a in args])

    def node(self, endpoint, name, zpl_actors=""):
        """Starts actors-supervisor as node ``name`` that finds services in
        the build's bin directory."""
        conf = os.path.join(self.tmp, name + ".zpl")
        with open(conf, "w") as f:
            # The services the tests SPAWN (a node runs no other).
            f.write("supervisor\n    node = %s\n    path = %s\n"
                    "    services = counter account\n" % (name, BIN))
            f.write(zpl_actors)
        return self.start("node-" + name, [binary("actors-supervisor"),
                                           "--broker", endpoint,
                                           "--config", conf,
                                           "--services",
                                           "account chaos counter store"])

    def stop_all(self):
        for _, p in reversed(self.procs):
            stop(p)
        self.procs = []


def stop(p, grace=5.0):
    """SIGTERM, then SIGKILL if ``p`` is still there after ``grace``."""
    if p.poll() is not None:
        return
    try:
        p.send_signal(signal.SIGTERM)
        p.wait(grace)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def wait_until(pred, what, deadline_s=DEADLINE_S):
    """Polls ``pred()`` until it is true; fails after the deadline."""
    end = time.monotonic() + deadline_s
    last = None
    while time.monotonic() < end:
        try:
            v = pred()
            if v:
                return v
        except Exception as e:  # the condition may raise until it holds
            last = e
        time.sleep(0.02)  # poll pause; the loop has a deadline
    raise AssertionError("%s: not within %.0f s (last error: %r)"
                         % (what, deadline_s, last))


def wait_registered(client, address, deadline_s=DEADLINE_S):
    """Waits until the broker shows ``address`` running."""
    return wait_until(
        lambda: client.lookup(address).result(5)["state"] == "running",
        "%s registered" % address, deadline_s)
