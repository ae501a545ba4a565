"""bench/peers/peerlib.py - the measuring loop shared by the Python peers.

Each peer gives three functions: call(x) -> result (blocking), send(x) ->
a future with .result() or .get(), and optionally tell(x). The loops
mirror bench/actors-bench/workload.c: a warm-up of a tenth of the time
(at least 0.1 s), then `seconds` of measuring; sequential latency
percentiles by nearest rank; pipelined windows of 1, 16, 256, 4096.
"""
import collections
import json
import math
import sys
import time

PAYLOAD = b"x" * 16
WINDOWS = (1, 16, 256, 4096)


def pct(sorted_ns, p):
    if not sorted_ns:
        return None
    rank = max(1, min(len(sorted_ns), math.ceil(p / 100.0 * len(sorted_ns))))
    return round(sorted_ns[rank - 1] / 1000.0, 1)


def warmup(seconds):
    return max(0.1, seconds / 10.0)


def run_seq(call, seconds):
    now = time.perf_counter_ns
    start = now()
    warm = start + int(warmup(seconds) * 1e9)
    end = warm + int(seconds * 1e9)
    samples = []
    while True:
        t0 = now()
        if t0 >= end:
            break
        call(PAYLOAD)
        t1 = now()
        if t0 >= warm:
            samples.append(t1 - t0)
    samples.sort()
    return {
        "seq_p50_us": pct(samples, 50),
        "seq_p99_us": pct(samples, 99),
        "seq_p999_us": pct(samples, 99.9),
        "seq_calls_per_s": round(len(samples) / seconds),
    }


def run_pipelined(send, wait, window, seconds):
    """send(x) -> future; wait(future) blocks for it. Oldest first."""
    now = time.perf_counter_ns
    start = now()
    warm = start + int(warmup(seconds) * 1e9)
    end = warm + int(seconds * 1e9)
    q = collections.deque()
    done = 0
    done_at_warm = None
    t_warm = 0
    while True:
        while len(q) < window:
            q.append(send(PAYLOAD))
        wait(q.popleft())
        done += 1
        t = now()
        if done_at_warm is None and t >= warm:
            done_at_warm, t_warm = done, t
        if t >= end:
            break
    if done_at_warm is None or t <= t_warm or done - done_at_warm < window:
        # a slow peer: a window took about the whole time; count every
        # call from the start, the window drained, to the end
        while q:
            wait(q.popleft())
            done += 1
        return round(done / ((now() - start) / 1e9))
    while q:
        wait(q.popleft())
    return round((done - done_at_warm) / ((t - t_warm) / 1e9))


def run_tells(tell, call, seconds, batch=1000):
    """tells in batches, each closed by a call (order is kept)."""
    now = time.perf_counter_ns
    start = now()
    warm = start + int(warmup(seconds) * 1e9)
    end = warm + int(seconds * 1e9)
    batches = 0
    at_warm = None
    t_warm = 0
    while True:
        for _ in range(batch):
            tell(PAYLOAD)
        call(PAYLOAD)
        batches += 1
        t = now()
        if at_warm is None and t >= warm:
            at_warm, t_warm = batches, t
        if t >= end:
            break
    if t <= t_warm or batches == at_warm:
        return round(batches * batch / ((t - start) / 1e9))
    return round((batches - at_warm) * batch / ((t - t_warm) / 1e9))


def run_all(peer, version, call, send, wait, tell, seconds):
    figures = run_seq(call, seconds)
    for w in WINDOWS:
        figures["pipelined_w%d_calls_per_s" % w] = run_pipelined(
            send, wait, w, seconds)
    figures["pipelined_calls_per_s"] = figures["pipelined_w256_calls_per_s"]
    if tell is not None:
        figures["tells_per_s"] = run_tells(tell, call, seconds)
    return {"peer": peer, "version": version, "figures": figures}


def seconds_from_argv(default=1.0):
    args = sys.argv[1:]
    if "--seconds" in args:
        return float(args[args.index("--seconds") + 1])
    if "--quick" in args:
        return 0.3
    return default


def emit(obj):
    print(json.dumps(obj))
    sys.stdout.flush()
