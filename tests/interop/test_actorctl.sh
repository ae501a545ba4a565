#!/usr/bin/env bash
# tests/interop/test_actorctl.sh - actorctl's contract, checked from the
# outside: output, stderr "ErrorType: message", exit statuses 0/1/2.
# SPDX-License-Identifier: MIT
#
#   ACTORS_BROKER=EP BUILD=build tests/interop/test_actorctl.sh
#
# Needs a broker at $ACTORS_BROKER with a fresh counter at interop/counter,
# a chaos actor at interop/chaos and, after test_account_req.py, the
# account interop/account at balance 260 (tests/interop/run.sh sets this
# up). The last line printed is "N passed, N failed".
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD="${BUILD:-build}"
case "$BUILD" in
    /*) CTL="$BUILD/bin/actorctl" ;;
    *) CTL="$ROOT/$BUILD/bin/actorctl" ;;
esac
: "${ACTORS_BROKER:?set ACTORS_BROKER to the broker endpoint}"
TMP="$(mktemp -d "${TMPDIR:-/tmp}/actors-ctl.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
PASSED=0
FAILED=0

# expect NAME STATUS STDOUT STDERR -- ARGS...: runs actorctl ARGS and
# compares. STDOUT/STDERR are exact, or "~REGEX" (grep -E), or "*".
expect() {
    local name="$1" want_rc="$2" want_out="$3" want_err="$4" rc=0 why=""
    shift 5
    "$CTL" "$@" >"$TMP/out" 2>"$TMP/err" || rc=$?
    local out err
    out="$(cat "$TMP/out")"
    err="$(cat "$TMP/err")"
    [ "$rc" -eq "$want_rc" ] || why="status $rc, want $want_rc"
    if [ -z "$why" ] && ! s_match "$out" "$want_out"; then
        why="stdout '$out', want '$want_out'"
    fi
    if [ -z "$why" ] && ! s_match "$err" "$want_err"; then
        why="stderr '$err', want '$want_err'"
    fi
    if [ -z "$why" ]; then
        PASSED=$((PASSED + 1))
        echo "ok   $name"
    else
        FAILED=$((FAILED + 1))
        echo "FAIL $name: actorctl $*: $why"
    fi
}

s_match() {
    local got="$1" want="$2"
    case "$want" in
        "*") return 0 ;;
        "~"*) printf '%s\n' "$got" | grep -Eq -- "${want#\~}" ;;
        *) [ "$got" = "$want" ] ;;
    esac
}

# Results and errors.
expect "ping prints the broker's map" 0 '~"protocol":"ACT2"' "" -- ping
expect "call prints the result as JSON" 0 "1" "" -- \
    call interop/counter increment
expect "tell prints nothing and exits 0" 0 "" "" -- \
    tell interop/counter increment
expect "a tell is handled before a later call" 0 "2" "" -- \
    call interop/counter value
expect "a double prints with its point" 0 "260.0" "" -- \
    call interop/account balance
expect "an application error: ErrorType: message, exit 1" 1 "" \
    "ValueError: Can not withdraw negative amount" -- \
    call interop/account withdraw -5
expect "unknown method" 1 "" "~^NoSuchMethod: " -- \
    call interop/counter nope
expect "unknown address" 1 "" "NoSuchActor: no actor at address nosuch/x" -- \
    call nosuch/x m
expect "a tell to an unknown address: NoSuchActor, exit 1" 1 "" \
    "NoSuchActor: no actor at address nosuch/x" -- tell nosuch/x m
expect "JSON arguments round-trip" 0 '{"a":[1,2.5,null,true,"x"]}' "" -- \
    call interop/chaos echo '{"a":[1,2.5,null,true,"x"]}'
expect "a bare word is a string" 0 '"hello"' "" -- \
    call interop/chaos echo hello
expect "a negative number after METHOD is an argument" 0 "-7" "" -- \
    call interop/chaos echo -7
expect "--call-key reaches the actor unchanged" 0 '"dep-42"' "" -- \
    call --call-key dep-42 interop/chaos key
expect "a call without --call-key carries none" 0 "null" "" -- \
    call interop/chaos key
expect "--timeout is the call's deadline" 1 "" \
    "~^Timeout: .*interop/chaos" -- \
    --timeout 200 call interop/chaos sleep 1500
expect "lookup prints the actor's map" 0 \
    '~^\{"address":"interop/counter","service":"counter",.*"state":"running"' \
    "" -- lookup interop/counter
expect "lookup of an unknown address" 1 "" "~^NoSuchActor: " -- \
    lookup nosuch/x
expect "ls prints a table" 0 \
    '~^ADDRESS +SERVICE +NODE +PID +STATE +RESTARTS +MAILBOX +INFLIGHT +HANDLED +DROPPED +CAUSE' "" -- ls
expect "ls shows the counter" 0 \
    '~^interop/counter +counter +[^ ]+ +[0-9]+ +running ' "" -- ls
if "$CTL" ls --json >"$TMP/ls.json" 2>/dev/null &&
    /usr/bin/python3 -c 'import json, sys
v = json.load(open(sys.argv[1]))
assert isinstance(v, list) and any(a["address"] == "interop/counter" for a in v)
' "$TMP/ls.json" 2>/dev/null; then
    PASSED=$((PASSED + 1))
    echo "ok   ls --json prints a JSON array of maps"
else
    FAILED=$((FAILED + 1))
    echo "FAIL ls --json prints a JSON array of maps: $(cat "$TMP/ls.json")"
fi

# Publish and subscribe.
expect "publish with no subscriber prints 0" 0 "0" "" -- \
    publish interop.nobody '{"x":1}'
expect "publish to a wildcard topic is a usage error" 2 "" \
    "~^actorctl: bad topic" -- publish 'interop.*' 1
expect "subscribe to a bad pattern is a usage error" 2 "" \
    "~^actorctl: bad pattern" -- subscribe 'a.>.b'
expect "an empty topic is a usage error that says so" 2 "" \
    "~^actorctl: empty topic" -- publish '' 1
expect "publish from a missing file is a usage error" 2 "" \
    "~^actorctl: the event: cannot open" -- publish interop.x "@$TMP/none"
expect "nobody may publish as the broker (actors.)" 1 "" \
    "~^Forbidden: topics under actors. are the broker's own" -- \
    publish actors.lifecycle.exit.interop/counter '{"kind":"exit"}'
"$CTL" subscribe 'interop.>' --count 3 >"$TMP/sub.out" 2>"$TMP/sub.err" &
SUB=$!
# Once the broker has the subscription, a publish says 1 (poll with a
# deadline; the events published before it are not counted).
ok=0
for _ in $(seq 1 100); do
    if [ "$("$CTL" publish interop.orders.1 '{"id":1}')" = "1" ]; then
        ok=1
        break
    fi
    "$CTL" --timeout 100 call interop/chaos sleep 20 >/dev/null 2>&1 # poll
done
echo '[2,"two"]' | "$CTL" publish interop.orders.2 - >/dev/null
echo '{"three":3}' >"$TMP/ev3.json"
"$CTL" publish interop.orders.3 "@$TMP/ev3.json" >/dev/null
wait "$SUB"
if [ "$ok" -eq 1 ] && [ "$(sed -n 1p "$TMP/sub.out")" = \
    '{"topic":"interop.orders.1","data":{"id":1}}' ] &&
    [ "$(sed -n 2p "$TMP/sub.out")" = \
        '{"topic":"interop.orders.2","data":[2,"two"]}' ] &&
    [ "$(sed -n 3p "$TMP/sub.out")" = \
        '{"topic":"interop.orders.3","data":{"three":3}}' ]; then
    PASSED=$((PASSED + 1))
    echo "ok   subscribe prints one JSON line per event, in order (events from argv, - and @PATH)"
else
    FAILED=$((FAILED + 1))
    echo "FAIL subscribe prints one JSON line per event: $(cat "$TMP/sub.out" "$TMP/sub.err")"
fi

# The broker endpoint.
expect "--broker wins over \$ACTORS_BROKER" 0 '~"protocol":"ACT2"' "" -- \
    --broker "$ACTORS_BROKER" ping
(
    # An ipc endpoint in our own directory: surely nobody listens there.
    export ACTORS_BROKER="ipc://$TMP/no-broker"
    expect "no broker: Timeout, exit 1" 1 "" "~^Timeout: " -- \
        --timeout 300 ping
    echo "$PASSED $FAILED" >"$TMP/sub"
)
read -r PASSED FAILED <"$TMP/sub"

# Usage errors exit 2.
expect "no command" 2 "" "*" --
expect "unknown command" 2 "" "*" -- frob
expect "missing operands" 2 "" "*" -- call interop/counter
expect "bad --timeout" 2 "" "*" -- --timeout soon ping
expect "unknown option" 2 "" "*" -- --frob ping
expect "bad JSON argument" 2 "" "~^actorctl: argument 1 is not JSON" -- \
    call interop/chaos echo '[1,'
expect "--help" 0 "~^usage: actorctl" "" -- --help

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
