# tests/integration/shlib.sh - helpers for the shell tests (test_*.sh):
# a temporary directory, a broker on a free port, processes stopped by
# pid on exit, and ok/fail counting. Sourced, not run.
# SPDX-License-Identifier: MIT
#
#   . "$(dirname "$0")/shlib.sh"     sets ROOT, BUILD, BIN, TMP
#   start_broker [BIN_DIR]           starts actors-broker; sets EP, exports
#                                    ACTORS_BROKER
#   start_bg NAME CMD ...            runs CMD in the background, logs to
#                                    $TMP/NAME.{out,err}; its pid is stopped
#                                    on exit
#   check NAME CMD ...               ok/FAIL line for CMD's status
#   finish                           prints "N passed, N failed"; exit status
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD="${BUILD:-build}"
case "$BUILD" in
    /*) BIN="$BUILD/bin" ;;
    *) BIN="$ROOT/$BUILD/bin" ;;
esac
TMP="$(mktemp -d "${TMPDIR:-/tmp}/actors-shtest.XXXXXX")"
PIDS=()
PASSED=0
FAILED=0

# stop PID: SIGTERM, then SIGKILL if it is still there after a deadline.
stop() {
    local pid="$1" end=$((SECONDS + 5))
    kill -TERM "$pid" 2>/dev/null || return 0
    while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$end" ]; do
        sleep 0.05 # poll pause; the loop has a deadline
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local i
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
        stop "${PIDS[$i]}"
    done
    rm -rf "$TMP"
}
trap cleanup EXIT

show_logs() {
    local f
    for f in "$TMP"/*.err; do
        [ -s "$f" ] || continue
        echo "---- $(basename "$f" .err) stderr (last 20 lines)" >&2
        tail -n 20 "$f" >&2
    done
}

start_bg() {
    local name="$1"
    shift
    "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
    PIDS+=("$!")
    eval "PID_${name//[^A-Za-z0-9_]/_}=$!"
}

start_broker() {
    local bindir="${1:-$BIN}" end=$((SECONDS + 15))
    start_bg broker "$bindir/actors-broker" --bind 'tcp://127.0.0.1:*'
    EP=""
    while [ -z "$EP" ]; do
        EP="$(sed -n 's/^ENDPOINT \(.*\)$/\1/p' "$TMP/broker.out" | head -n 1)"
        [ -n "$EP" ] && break
        if [ "$SECONDS" -ge "$end" ]; then
            echo "no ENDPOINT line from the broker within 15 s" >&2
            show_logs
            exit 1
        fi
        sleep 0.05 # poll pause; the loop has a deadline
    done
    export ACTORS_BROKER="$EP"
}

ok() {
    PASSED=$((PASSED + 1))
    echo "ok   $1"
}

fail() {
    FAILED=$((FAILED + 1))
    echo "FAIL $1${2:+: $2}"
}

check() {
    local name="$1"
    shift
    if "$@" >"$TMP/check.out" 2>&1; then
        ok "$name"
    else
        fail "$name" "$(tail -n 5 "$TMP/check.out" | tr '\n' ' ')"
    fi
}

finish() {
    [ "$FAILED" -eq 0 ] || show_logs
    echo "$PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ] && [ "$PASSED" -gt 0 ]
}
