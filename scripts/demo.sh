#!/usr/bin/env bash
# scripts/demo.sh - what `make run` shows: Ray's bank account and Dask's
# counter as actors, driven from the shell with actorctl.
# SPDX-License-Identifier: MIT
#
#   BUILD=build scripts/demo.sh
#
# Starts actors-broker on $ACTORS_BROKER or tcp://127.0.0.1:5555 (an
# ephemeral port if that one is busy) and a supervisor (one node) whose
# config runs an account actor (account/1, balance 100, minimal balance
# 20) and a counter actor (counter/1); waits until the broker knows them,
# plays the sessions as a transcript (Ray's account, Dask's counter, a
# crash and its restart, a spawn and a kill at run time), lists the actors
# and stops everything it started. Exit status 0 only if every step
# printed what it should.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BUILD="${BUILD:-build}"
BIN="$BUILD/bin"
DEADLINE_S="${ACTORS_DEMO_DEADLINE:-15}"

for b in actors-broker actors-supervisor account counter actorctl; do
    if [ ! -x "$BIN/$b" ]; then
        echo "demo: $BIN/$b is missing; build first (make BUILD=$BUILD)" >&2
        exit 2
    fi
done
# actorctl is called by name in the transcript.
case "$BIN" in
    /*) export PATH="$BIN:$PATH" ;;
    *) export PATH="$ROOT/$BIN:$PATH" ;;
esac

TMP="$(mktemp -d "${TMPDIR:-/tmp}/actors-demo.XXXXXX")"
PIDS=()
STEPS=0
FAILED=0

# stop PID: SIGTERM, then SIGKILL if it is still there after a deadline.
stop() {
    local pid="$1" end=$((SECONDS + 5))
    kill -TERM "$pid" 2>/dev/null || return 0
    while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$end" ]; do
        sleep 0.05
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

die() {
    echo "demo: $*" >&2
    show_logs
    exit 1
}

# start_broker BIND: starts the broker and sets EP from its ENDPOINT line.
# Returns 1 if the broker exits first (the port is busy, say).
start_broker() {
    local bind="$1" end=$((SECONDS + DEADLINE_S))
    : >"$TMP/broker.out"
    "$BIN/actors-broker" --bind "$bind" >"$TMP/broker.out" \
        2>"$TMP/broker.err" &
    BROKER_PID=$!
    EP=""
    while :; do
        EP="$(sed -n 's/^ENDPOINT \(.*\)$/\1/p' "$TMP/broker.out" | head -n 1)"
        [ -n "$EP" ] && break
        if ! kill -0 "$BROKER_PID" 2>/dev/null; then
            wait "$BROKER_PID" 2>/dev/null || true
            return 1
        fi
        if [ "$SECONDS" -ge "$end" ]; then
            stop "$BROKER_PID"
            die "no ENDPOINT line from the broker in ${DEADLINE_S}s"
        fi
        sleep 0.05
    done
    PIDS+=("$BROKER_PID")
}

# wait_ready ADDRESS PID: polls lookup until the broker knows ADDRESS.
wait_ready() {
    local address="$1" pid="$2" end=$((SECONDS + DEADLINE_S))
    until actorctl --timeout 1000 lookup "$address" >/dev/null 2>&1; do
        kill -0 "$pid" 2>/dev/null ||
            die "the actor for $address exited before registering"
        [ "$SECONDS" -lt "$end" ] ||
            die "$address not registered within ${DEADLINE_S}s"
        sleep 0.05
    done
}

# step WANT_STATUS WANT_STDOUT WANT_STDERR CMD...: runs CMD, prints it as a
# transcript line and its output, and checks status and output. An empty
# WANT_STDERR means "nothing on stderr"; "*" accepts anything. Log lines
# (they start with a UTC timestamp) are shown but not compared.
step() {
    local want_rc="$1" want_out="$2" want_err="$3" rc=0 out err
    shift 3
    STEPS=$((STEPS + 1))
    echo "\$ $*"
    "$@" >"$TMP/step.out" 2>"$TMP/step.err" || rc=$?
    out="$(cat "$TMP/step.out")"
    [ -n "$out" ] && printf '%s\n' "$out"
    [ -s "$TMP/step.err" ] && cat "$TMP/step.err"
    [ "$rc" -eq 0 ] || echo "[exit $rc]"
    err="$(grep -Ev '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z [EWNID] ' \
        "$TMP/step.err" || true)"
    if [ "$rc" -ne "$want_rc" ] || { [ "$want_out" != "*" ] &&
        [ "$out" != "$want_out" ]; } || { [ "$want_err" != "*" ] &&
        [ "$err" != "$want_err" ]; }; then
        FAILED=$((FAILED + 1))
        echo "demo: UNEXPECTED: want status $want_rc," \
             "stdout '$want_out', stderr '$want_err'" >&2
    fi
}

# ---------------------------------------------------------------- start
WANT="${ACTORS_BROKER:-tcp://127.0.0.1:5555}"
if ! start_broker "$WANT"; then
    echo "# cannot bind $WANT (busy?); using an ephemeral port instead"
    start_broker 'tcp://127.0.0.1:*' || die "the broker did not start"
fi
export ACTORS_BROKER="$EP"
echo "# actors-broker listening on $EP"

cat >"$TMP/node.zpl" <<'ZPL'
supervisor
    node = demo
actor
    account
        service = account
        address = account/1
        args = [100, 20]
        policy
            max_restarts = 3
    counter
        service = counter
        address = counter/1
        policy
            max_restarts = -1
ZPL
"$BIN/actors-supervisor" --config "$TMP/node.zpl" >"$TMP/supervisor.out" \
    2>"$TMP/supervisor.err" &
SUPERVISOR_PID=$!
PIDS+=("$SUPERVISOR_PID")
echo "# started: actors-supervisor --config node.zpl (pid $SUPERVISOR_PID):"
echo "#   account/1 = account 100 20 (max_restarts 3)"
echo "#   counter/1 = counter        (max_restarts -1: forever)"
wait_ready account/1 "$SUPERVISOR_PID"
wait_ready counter/1 "$SUPERVISOR_PID"

# ---------------------------------------------------------------- Ray
echo
echo "# Ray: account_actor = Account.remote(balance=100., minimal_balance=20.)"
step 0 "100.0" "" actorctl call account/1 balance
step 0 "300.0" "" actorctl call account/1 deposit 200
step 0 "260.0" "" actorctl call account/1 withdraw 40
echo "# an exception in a method reaches the caller; the actor lives on"
step 1 "" "ValueError: Can not withdraw negative amount" \
    actorctl call account/1 withdraw -10
step 0 "260.0" "" actorctl call account/1 balance
echo "# a constructor that raises: the actor never starts"
step 2 "" "ValueError: Starting balance is less then minimal balance" \
    "$BIN/account" --address account/2 10 20

# ---------------------------------------------------------------- Dask
echo
echo "# Dask: counter = client.submit(Counter, actor=True).result()"
step 0 "1" "" actorctl call counter/1 increment
step 0 "2" "" actorctl call counter/1 increment
step 0 "3" "" actorctl call counter/1 increment

# ---------------------------------------------------------------- crash
# pid_of ADDRESS: the pid the broker has for ADDRESS.
pid_of() {
    actorctl --timeout 1000 lookup "$1" 2>/dev/null |
        sed -n 's/.*"pid":\([0-9][0-9]*\).*/\1/p'
}
echo
echo "# supervision: kill -9 the counter; its supervisor restarts it"
OLD="$(pid_of counter/1)"
[ -n "$OLD" ] || die "no pid for counter/1"
echo "\$ kill -9 $OLD"
kill -9 "$OLD"
end=$((SECONDS + DEADLINE_S))
until NEW="$(pid_of counter/1)" && [ -n "$NEW" ] && [ "$NEW" != "$OLD" ] &&
    actorctl --timeout 1000 call counter/1 value >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$end" ] || die "counter/1 did not come back"
    sleep 0.05
done
echo "# back as pid $NEW; its state starts over (persistence keeps it: docs)"
step 0 "1" "" actorctl call counter/1 increment

# ---------------------------------------------------------------- spawn
echo
echo "# Ray: Counter.options(name='counter/2').remote(); ray.kill(...)"
step 0 "counter/2" "" actorctl spawn counter --name counter/2 --max-restarts 1
step 0 "1" "" actorctl call counter/2 increment
step 0 "*" "" actorctl kill counter/2 --no-restart
step 1 "" "*" actorctl call counter/2 increment
if ! grep -q "^ActorDead: " "$TMP/step.err"; then
    FAILED=$((FAILED + 1))
    echo "demo: UNEXPECTED: a killed actor's caller should get ActorDead" >&2
fi
echo
step 0 "*" "" actorctl events

# ---------------------------------------------------------------- ls
echo
step 0 "*" "" actorctl ls
for a in account/1 counter/1; do
    if ! grep -Eq "^$a +(account|counter) .* running( |\$)" "$TMP/step.out"; then
        FAILED=$((FAILED + 1))
        echo "demo: UNEXPECTED: ls does not show $a running" >&2
    fi
done

echo
if [ "$FAILED" -ne 0 ]; then
    echo "demo: $FAILED of $STEPS steps were not as expected" >&2
    show_logs
    exit 1
fi
echo "demo: all $STEPS steps as expected"
