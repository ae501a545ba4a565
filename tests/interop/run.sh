#!/usr/bin/env bash
# tests/interop/run.sh - run the Python interop test against the real
# broker and account service on loopback.
# SPDX-License-Identifier: MIT
#
#   BUILD=build tests/interop/run.sh
#
# Starts actors-broker on an ephemeral port, an account actor
# (interop/account, balance 100, minimal balance 20), a counter
# (interop/counter) and a chaos actor (interop/chaos), waits until the
# broker knows them, runs tests/interop/test_account_req.py with Debian's
# /usr/bin/python3, then tests/interop/test_actorctl.sh and
# tests/interop/test_pubsub.py, then the wire
# fuzzer tests/interop/fuzz_broker.py for $ACTORS_FUZZ_SECONDS (default
# 10). Then the same account session over CURVE: a second broker with
# keys made by `actorctl keygen`, a fresh account with an actor key,
# test_account_req.py with a client key, and tests/interop/test_security.py
# (Forbidden commands, refused peers). Stops everything it started (by
# pid) on exit.
# Exit status: 0 only if every check of both passed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
BUILD="${BUILD:-build}"
BIN="$BUILD/bin"
PYTHON="${ACTORS_PYTHON:-/usr/bin/python3}"
ADDRESS="interop/account"
DEADLINE_S="${ACTORS_INTEROP_DEADLINE:-15}"

for b in actors-broker account counter chaos actorctl; do
    if [ ! -x "$BIN/$b" ]; then
        echo "interop: $BIN/$b is missing; build first (make BUILD=$BUILD)" >&2
        exit 2
    fi
done
if ! "$PYTHON" -c 'import zmq, msgpack' 2>/dev/null; then
    echo "interop: $PYTHON lacks zmq or msgpack" \
         "(apt-get install python3-zmq python3-msgpack)" >&2
    exit 2
fi

TMP="$(mktemp -d "${TMPDIR:-/tmp}/actors-interop.XXXXXX")"
PIDS=()

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

# show_logs prints the stderr of the processes started, for a failure.
show_logs() {
    local f
    for f in "$TMP"/*.err; do
        [ -s "$f" ] || continue
        echo "---- $(basename "$f" .err) stderr (last 20 lines)" >&2
        tail -n 20 "$f" >&2
    done
}

"$BIN/actors-broker" --bind 'tcp://127.0.0.1:*' \
    --stream-bind 'tcp://127.0.0.1:*' >"$TMP/broker.out" \
    2>"$TMP/broker.err" &
BROKER_PID=$!
PIDS+=("$BROKER_PID")

# The broker prints "ENDPOINT tcp://127.0.0.1:NNNNN" once bound.
EP=""
end=$((SECONDS + DEADLINE_S))
while [ -z "$EP" ]; do
    EP="$(sed -n 's/^ENDPOINT \(.*\)$/\1/p' "$TMP/broker.out" | head -n 1)"
    [ -n "$EP" ] && break
    if ! kill -0 "$BROKER_PID" 2>/dev/null; then
        echo "interop: the broker exited before printing ENDPOINT" >&2
        show_logs
        exit 1
    fi
    if [ "$SECONDS" -ge "$end" ]; then
        echo "interop: no ENDPOINT line from the broker in ${DEADLINE_S}s" >&2
        show_logs
        exit 1
    fi
    sleep 0.05 # poll pause; the loop has a deadline
done
export ACTORS_BROKER="$EP"

# start NAME ADDRESS ARGS...: starts service NAME at ADDRESS; its pid goes
# to PIDS and to the file $TMP/NAME.pid.
start() {
    local name="$1" address="$2"
    shift 2
    "$BIN/$name" --broker "$EP" --address "$address" "$@" \
        >"$TMP/$name.out" 2>"$TMP/$name.err" &
    PIDS+=("$!")
    echo "$!" >"$TMP/$name.pid"
}

# wait_ready NAME ADDRESS: polls LOOKUP until the broker knows ADDRESS.
wait_ready() {
    local name="$1" address="$2" pid end=$((SECONDS + DEADLINE_S))
    pid="$(cat "$TMP/$name.pid")"
    until "$BIN/actorctl" --broker "$EP" --timeout 1000 lookup "$address" \
            >/dev/null 2>&1; do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "interop: $name exited before registering $address" >&2
            show_logs
            exit 1
        fi
        if [ "$SECONDS" -ge "$end" ]; then
            echo "interop: $address not registered within ${DEADLINE_S}s" >&2
            show_logs
            exit 1
        fi
        sleep 0.05 # poll pause; the loop has a deadline
    done
}

start account "$ADDRESS" 100 20
start counter interop/counter
start chaos interop/chaos
wait_ready account "$ADDRESS"
wait_ready counter interop/counter
wait_ready chaos interop/chaos

set +e
"$PYTHON" "$ROOT/tests/interop/test_account_req.py" "$ADDRESS"
rc=$?
echo "# actorctl"
BUILD="$BUILD" bash "$ROOT/tests/interop/test_actorctl.sh"
rc2=$?
echo "# publish/subscribe"
ACTORS_BROKER="$EP" "$PYTHON" "$ROOT/tests/interop/test_pubsub.py" || rc2=1
# Last, as it leaves junk behind: random and malformed traffic from many
# peers; a correct call must be answered after every batch, and the
# broker must still be there afterwards.
echo "# fuzz (${ACTORS_FUZZ_SECONDS:-10} s)"
"$PYTHON" "$ROOT/tests/interop/fuzz_broker.py" "$EP" \
    "${ACTORS_FUZZ_SECONDS:-10}" "${ACTORS_FUZZ_SEED:-$$}"
rc3=$?
if [ "$rc3" -eq 0 ] && ! "$BIN/actorctl" --broker "$EP" --timeout 3000 \
        ping >/dev/null; then
    echo "interop: the broker does not answer after the fuzz" >&2
    rc3=1
fi

# ---- CURVE: the same session with keys (PROTOCOL.md, Security).
echo "# CURVE"
PEER="$TMP/peer"
ALLOW="$TMP/allow"
mkdir -p "$ALLOW"
for spec in broker:admin cli:client act:actor admin:admin stranger:admin; do
    "$BIN/actorctl" keygen "${spec%%:*}" --role "${spec##*:}" \
        --dir "$PEER" >/dev/null
done
cp "$PEER/cli" "$PEER/act" "$PEER/admin" "$ALLOW/"
"$BIN/actors-broker" --bind 'tcp://127.0.0.1:*' --keys "$ALLOW" \
    --key "$PEER/broker_secret" >"$TMP/cbroker.out" 2>"$TMP/cbroker.err" &
CBROKER_PID=$!
PIDS+=("$CBROKER_PID")
CEP=""
end=$((SECONDS + DEADLINE_S))
while [ -z "$CEP" ] && kill -0 "$CBROKER_PID" 2>/dev/null &&
        [ "$SECONDS" -lt "$end" ]; do
    CEP="$(sed -n 's/^ENDPOINT \(.*\)$/\1/p' "$TMP/cbroker.out" | head -n 1)"
    [ -n "$CEP" ] || sleep 0.05 # poll pause; the loop has a deadline
done
rc4=1
if [ -n "$CEP" ]; then
    EP="$CEP"
    export ACTORS_BROKER="$CEP" ACTORS_BROKER_KEY="$PEER/broker"
    ACTORS_KEY="$PEER/act_secret" start account "$ADDRESS" 100 20
    ACTORS_KEY="$PEER/cli_secret" wait_ready account "$ADDRESS"
    ACTORS_KEY="$PEER/cli_secret" "$PYTHON" \
        "$ROOT/tests/interop/test_account_req.py" "$ADDRESS" &&
    ACTORS_INTEROP_KEYS="$PEER" "$PYTHON" \
        "$ROOT/tests/interop/test_security.py" && rc4=0
else
    echo "interop: the CURVE broker printed no ENDPOINT" >&2
fi
set -e
if [ "$rc" -ne 0 ] || [ "$rc2" -ne 0 ] || [ "$rc3" -ne 0 ] ||
        [ "$rc4" -ne 0 ]; then
    show_logs
    exit 1
fi
exit 0
