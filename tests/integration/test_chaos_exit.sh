#!/usr/bin/env bash
# tests/integration/test_chaos_exit.sh - what chaos's `exit` method does,
# as schemas/chaos.json says it: under a supervisor exit 0 is a clean exit
# (the caller gets ActorDead, no restart) and exit 3 a crash (ActorCrashed,
# restarted); without a supervisor ActorCrashed and the address is dead.
# SPDX-License-Identifier: MIT
#
#   BUILD=build tests/integration/test_chaos_exit.sh
. "$(dirname "${BASH_SOURCE[0]}")/shlib.sh"
CTL="$BIN/actorctl"
PY=/usr/bin/python3

# expect NAME STATUS REGEX -- CMD...: CMD's status and its stdout+stderr.
expect() {
    local name="$1" want_rc="$2" re="$3" rc=0
    shift 4
    "$@" >"$TMP/out" 2>&1 || rc=$?
    if [ "$rc" -eq "$want_rc" ] && grep -qE -- "$re" "$TMP/out"; then
        ok "$name"
    else
        fail "$name" "status $rc, output '$(cat "$TMP/out")', want /$re/"
    fi
}

start_broker
cat >"$TMP/node.zpl" <<'ZPL'
supervisor
    node = exits
actor
    chaos
        service = chaos
        address = exit/{i}
        replicas = 2
        policy
            max_restarts = -1
            backoff_base_ms = 10
ZPL
start_bg sup "$BIN/actors-supervisor" --config "$TMP/node.zpl"
start_bg lone "$BIN/chaos" --address exit/lone
for a in exit/1 exit/2 exit/lone; do
    check "wait $a" "$CTL" --timeout 20000 wait "$a"
done

expect "supervised exit 0: ActorDead" 1 \
    '^ActorDead: actor exit/1 exited while handling the call \(exit code 0\)$' \
    -- "$CTL" --timeout 10000 call exit/1 exit 0
expect "supervised exit 0: not restarted" 1 \
    '^ActorDead: actor exit/1 is dead \(exit code 0\)$' \
    -- "$CTL" --timeout 10000 call exit/1 pid
expect "supervised exit 3: ActorCrashed" 1 \
    '^ActorCrashed: actor exit/2 died while handling the call: exit code 3$' \
    -- "$CTL" --timeout 10000 call exit/2 exit 3
expect "supervised exit 3: restarted" 0 '^[0-9]+$' \
    -- "$CTL" --timeout 10000 call exit/2 pid
expect "unsupervised exit 3: ActorCrashed" 1 \
    '^ActorCrashed: actor exit/lone died while handling the call' \
    -- "$CTL" --timeout 10000 call exit/lone exit 3
expect "unsupervised exit 3: dead" 1 '^ActorDead: actor exit/lone is dead' \
    -- "$CTL" --timeout 10000 call exit/lone pid

# The schema says so.
check "schemas/chaos.json describes exit's outcomes" "$PY" -c '
import json, sys
m = json.load(open(sys.argv[1]))["methods"]["exit"]
text = m["description"] + " " + m["result"]["description"]
for w in ("ActorDead", "ActorCrashed", "exit code 0", "restarted"):
    assert w in text, w
' "$ROOT/schemas/chaos.json"
finish
