#!/usr/bin/env bash
# bench/run.sh - the benchmark table (make bench; docs/BENCHMARKS.md).
#
# Runs actors-bench (ours, raw broker, direct pair over tcp and ipc; then
# ours alone under actors-supervisor: restarts, spawns, idle memory), then
# our Python and Go clients (clients/) and the peers (Pykka, Dask, Erlang),
# and prints one table. Everything lands
# in $BUILD/bench/; gnuplot draws latency.png and window.png there.
# A peer that cannot run shows n/a; it never fails the run.
#
#   BUILD=build bench/run.sh [--quick] [--docs]
#     --quick  short run (actors-bench --quick, peers --quick)
#     --docs   also update docs/BENCHMARKS.md and docs/img/*.png
#   ACTORS_BENCH_ARGS  extra arguments for actors-bench
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
out="$BUILD/bench"
mkdir -p "$out"
quick=
docs=
for a in "$@"; do
    case "$a" in
        --quick) quick=--quick ;;
        --docs) docs=1 ;;
        *) echo "usage: bench/run.sh [--quick] [--docs]" >&2; exit 2 ;;
    esac
done
PY=/usr/bin/python3 # Debian's python has the peers' packages

ACTORS_EXTRA_PACKAGES="python3-pykka python3-distributed erlang-base gnuplot-nox" \
    scripts/install-deps.sh ||
    echo "bench: some peer packages could not be installed; their columns say n/a" >&2

rm -f "$out"/*.json "$out"/*.err "$out"/seq_*.txt
# context for the table: when, which commit, how busy the machine was
{
    echo "date $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
    echo "load_before $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "versions $(${CC:-cc} --version 2>/dev/null | head -1), msgpack-c $(pkg-config --modversion msgpack 2>/dev/null || echo '?'), czmq $(pkg-config --modversion libczmq 2>/dev/null || echo '?'), $($PY --version 2>&1)"
} >"$out/context.txt"
echo "bench: actors-bench (ours, raw broker, direct pair) ..." >&2
# shellcheck disable=SC2086
timeout 600 "$BUILD/bin/actors-bench" --json $quick --samples-dir "$out" \
    ${ACTORS_BENCH_ARGS:-} >"$out/ours.json" 2>"$out/ours.err" ||
    echo "bench: actors-bench failed (see $out/ours.err)" >&2

peer() { # name limit_s command...
    local name=$1 limit=$2
    shift 2
    echo "bench: peer $name ..." >&2
    timeout "$limit" "$@" >"$out/$name.json" 2>"$out/$name.err" ||
        echo "bench: peer $name did not finish (n/a; see $out/$name.err)" >&2
}
if [ -x "$PY" ]; then
    # our Python and Go clients (clients/*) beside the C client's "ours"
    export BUILD
    peer pyclient 90 "$PY" bench/peers/pyclient_bench.py $quick
    peer goclient 180 "$PY" bench/peers/goclient_bench.py $quick
    peer pykka 45 "$PY" bench/peers/pykka_bench.py $quick
    peer dask 120 "$PY" bench/peers/dask_bench.py $quick
else
    echo "bench: $PY missing: Pykka and Dask are n/a" >&2
fi
peer erlang 45 bench/peers/erlang_bench.sh $quick

echo "load_after $(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/context.txt"
if [ -x "$PY" ]; then
    "$PY" bench/report.py "$out" ${docs:+--docs docs/BENCHMARKS.md}
else
    cat "$out/ours.json"
fi
if command -v gnuplot >/dev/null; then
    gnuplot -e "dir='$out'" bench/plot.gp 2>"$out/plot.err" ||
        echo "bench: gnuplot failed (see $out/plot.err)" >&2
    if [ -n "$docs" ]; then
        mkdir -p docs/img
        cp "$out/latency.png" docs/img/bench-latency.png
        cp "$out/window.png" docs/img/bench-window.png
    fi
fi
echo "bench: results in $out/" >&2
