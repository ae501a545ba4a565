#!/usr/bin/env bash
# tests/integration/test_example_persistence.sh - the seed's persistence
# examples against the runtime (actors/durable.h): the FilePersistence
# account (examples/persistence, snapshot style) on files under always and
# group, the same program through a pool of three store actors, and the
# event-sourced account (services/account) with snapshots; each survives
# kill -9 with exactly the acknowledged changes; each applies a re-sent
# call key once.
# SPDX-License-Identifier: MIT
#
#   BUILD=build tests/integration/test_example_persistence.sh
. "$(dirname "${BASH_SOURCE[0]}")/shlib.sh"
CTL="$BIN/actorctl"
case "$BUILD" in /*) LIB="$BUILD/lib" ;; *) LIB="$ROOT/$BUILD/lib" ;; esac
SAN="" # a sanitizer build (make SANITIZE=x: build-x) links with it
case "$BUILD" in
    *-address | *-undefined | *-thread) SAN="-fsanitize=${BUILD##*-}" ;;
esac
FA="$TMP/file_account"

# expect NAME WANT -- CMD...: CMD's stdout is exactly WANT.
expect() {
    local name="$1" want="$2" out
    shift 3
    out="$("$@" 2>&1)"
    if [ "$out" = "$want" ]; then
        ok "$name"
    else
        fail "$name" "got '$out', want '$want'"
    fi
}

# kill9 NAME: SIGKILL the process start_bg started as NAME, and wait
# (with a deadline) until the broker no longer lists it as running: it
# notices the lost connection on its own time, and until then `actorctl
# wait` for the address would return on the dead process's entry.
kill9() {
    local v="PID_${1//[^A-Za-z0-9_]/_}" end
    kill -KILL "${!v}" 2>/dev/null
    wait "${!v}" 2>/dev/null || true
    end=$((SECONDS + 15))
    while "$CTL" ls --json --all 2>/dev/null |
        grep -q "\"pid\":${!v},\"state\":\"running\"" &&
        [ "$SECONDS" -lt "$end" ]; do
        sleep 0.02 # poll pause; the loop has a deadline
    done
}

# The account is about the size of Ray's class, persistence left to the
# runtime: at most 150 lines in all, no storage calls of its own.
lines="$(cat "$ROOT"/services/account/*.[ch] | wc -l)"
check "account: $lines lines <= 150" test "$lines" -le 150
check "account: no actors_persist_ calls" \
    bash -c "! grep -n 'actors_persist_' '$ROOT'/services/account/*.[ch]"
check "examples/persistence builds" \
    cc -std=c11 -Wall -Wextra -Werror $SAN -I"$ROOT/libactors/include" \
    -o "$FA" "$ROOT/examples/persistence/file_account.c" "$LIB/libactors.a" \
    -lzmq -lczmq -lmsgpackc -ljansson -lhiredis -lpthread -lm
start_broker
export ACTORS_STATE_DIR="$TMP/state"
unset ACTORS_REDIS ACTORS_PERSIST_STORE ACTORS_ACCOUNT_STORE \
    ACTORS_SNAPSHOT_EVERY ACTORS_PERSIST_SYNC

# The seed's session: 100, withdraw 40, deposit 70, kill, 130 again.
session() {
    local tag="$1" addr="$2" prog="$3" key="$4"
    start_bg "$tag" "$prog" --address "$addr" 100 20 "\"$key\""
    check "$tag: wait" "$CTL" --timeout 15000 wait "$addr"
    expect "$tag: balance" 100.0 -- "$CTL" call "$addr" balance
    expect "$tag: withdraw" 60.0 -- "$CTL" call --call-key "$tag-w" "$addr" withdraw 40
    expect "$tag: deposit" 130.0 -- "$CTL" call --call-key "$tag-d" "$addr" deposit 70
    # Either style, every backend: a re-sent key is answered from the record.
    expect "$tag: re-sent key" 130.0 -- "$CTL" call --call-key "$tag-d" "$addr" deposit 70
    kill9 "$tag"
    start_bg "$tag-2" "$prog" --address "$addr" 0 0 "\"$key\""
    check "$tag: wait again" "$CTL" --timeout 15000 wait "$addr"
    expect "$tag: restored after kill -9" 130.0 -- "$CTL" call "$addr" balance
}

session fa-always fa/1 "$FA" k-always
check "fa-always: one snapshot file" test -s "$TMP/state/k-always/snapshot"
ACTORS_PERSIST_SYNC=group:5 session fa-group fa/2 "$FA" k-group
# A tell under group has no reply to wait for the flush, and is saved by
# it all the same: the snapshot changes within the deadline, and holds.
cp "$TMP/state/k-group/snapshot" "$TMP/snap-before"
check "fa-group: tell deposit 5" "$CTL" tell fa/2 deposit 5
end=$((SECONDS + 10))
while cmp -s "$TMP/state/k-group/snapshot" "$TMP/snap-before" &&
    [ "$SECONDS" -lt "$end" ]; do
    sleep 0.02 # poll pause; the loop has a deadline
done
check "fa-group: a tell's change saved by the flush" \
    bash -c "! cmp -s '$TMP/state/k-group/snapshot' '$TMP/snap-before'"
kill9 fa-group-2
ACTORS_PERSIST_SYNC=group:5 start_bg fa-group-3 "$FA" --address fa/2 0 0 '"k-group"'
check "fa-group: wait again" "$CTL" --timeout 15000 wait fa/2
expect "fa-group: the tell's deposit survived kill -9" 135.0 -- \
    "$CTL" call fa/2 balance
# Group commit does not wait for its timer when nothing else is coming:
# with a 5 s bound, a lone deposit is answered well within 2 s (flushed
# once the actor has handled every message at hand), and is durable.
ACTORS_PERSIST_SYNC=group:5000 start_bg es-idle "$BIN/account" --address es/2 100 20 '"k-idle"'
check "es-idle: wait" "$CTL" --timeout 15000 wait es/2
expect "es-idle: answered before the 5 s bound" 101.0 -- \
    "$CTL" --timeout 2000 call es/2 deposit 1
kill9 es-idle
start_bg es-idle-2 "$BIN/account" --address es/2 0 0 '"k-idle"'
check "es-idle: wait again" "$CTL" --timeout 15000 wait es/2
expect "es-idle: durable" 101.0 -- "$CTL" call es/2 balance
ACTORS_SNAPSHOT_EVERY=2 session es-snap es/1 "$BIN/account" k-es
check "es-snap: snapshotted" test -s "$TMP/state/k-es/snapshot"

# The seed's ActorPool: three store actors, the account's saves go to the
# member of its key; what it saved survives the account's kill -9.
for i in 1 2 3; do
    ACTORS_STATE_DIR="$TMP/pool" start_bg "store$i" "$BIN/store" --address "store/$i"
    check "store/$i: wait" "$CTL" --timeout 15000 wait "store/$i"
done
ACTORS_PERSIST_STORE=store:3 session fa-pool fa/3 "$FA" 1234567
saved=0
for i in 1 2 3; do
    out="$("$CTL" call "store/$i" restore '"1234567"' 2>&1)"
    case "$out" in *'"balance":130.0'*) saved=$((saved + 1)) ;; *) echo "store/$i: $out" ;; esac
done
expect "fa-pool: every member restores the saved state" 3 -- echo "$saved"
finish
