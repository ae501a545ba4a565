#!/usr/bin/env bash
# tests/integration/test_actorctl_input.sh - actorctl's arguments from
# standard input ("-") and from files ("@PATH"), beyond the size a command
# line can hold, and `actorctl wait` before and after an actor registers.
# SPDX-License-Identifier: MIT
#
#   BUILD=build tests/integration/test_actorctl_input.sh
. "$(dirname "${BASH_SOURCE[0]}")/shlib.sh"

CTL="$BIN/actorctl"
PY=/usr/bin/python3
start_broker

# wait: an address nobody registers times out, within its deadline.
start=$SECONDS
"$CTL" --timeout 500 wait nobody/1 >"$TMP/out" 2>"$TMP/err"
rc=$?
if [ $rc -eq 1 ] && grep -q '^Timeout: nobody/1 did not answer within 500 ms' \
        "$TMP/err" && [ $((SECONDS - start)) -le 5 ]; then
    ok "wait: Timeout for an address nobody registers"
else
    fail "wait: Timeout for an address nobody registers" \
        "status $rc, stderr '$(cat "$TMP/err")'"
fi
check "wait: usage error without ADDRESS" \
    bash -c "'$CTL' wait; [ \$? -eq 2 ]"

# wait returns once the actor registers, started after wait began.
"$CTL" --timeout 20000 wait input/chaos >"$TMP/wait.out" 2>&1 &
WAITER=$!
start_bg chaos "$BIN/chaos" --address input/chaos
if wait "$WAITER"; then ok "wait: returns once the actor registered"; else
    fail "wait: returns once the actor registered" "$(cat "$TMP/wait.out")"; fi
check "wait: the actor answers right after" \
    "$CTL" call input/chaos echo 1

# wait --handled N: until the address has handled N messages (tells have
# no answer to wait on); --members N: until a group has N members.
"$CTL" --timeout 20000 wait input/chaos --handled 4 >"$TMP/wait.out" 2>&1 &
WAITER=$!
for i in 1 2 3; do "$CTL" tell input/chaos echo "$i" >/dev/null; done
if wait "$WAITER"; then ok "wait --handled: returns once 4 are handled"; else
    fail "wait --handled: returns once 4 are handled" "$(cat "$TMP/wait.out")"; fi
"$CTL" --timeout 300 wait input/chaos --handled 1000000 >"$TMP/out" 2>"$TMP/err"
rc=$?
if [ $rc -eq 1 ] && grep -q 'of 1000000 handled' "$TMP/err"; then
    ok "wait --handled: Timeout says how many were handled"
else
    fail "wait --handled: Timeout says how many were handled" \
        "status $rc, stderr '$(cat "$TMP/err")'"
fi
"$CTL" --timeout 20000 wait input/g --members 2 >"$TMP/wait.out" 2>&1 &
WAITER=$!
start_bg g1 "$BIN/chaos" --address input/g --group
start_bg g2 "$BIN/chaos" --address input/g --group
if wait "$WAITER"; then ok "wait --members: returns once the group has 2"; else
    fail "wait --members: returns once the group has 2" "$(cat "$TMP/wait.out")"; fi
got="$("$CTL" lookup input/g | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)["members"]))')"
if [ "$got" = 2 ]; then ok "wait --members: the group has 2 members"; else
    fail "wait --members: the group has 2 members" "got '$got'"; fi
"$CTL" --timeout 300 wait input/chaos --members 2 >"$TMP/out" 2>"$TMP/err"
rc=$?
if [ $rc -eq 1 ] && grep -q '0 of 2 members' "$TMP/err"; then
    ok "wait --members: an actor alone is no group of 2"
else
    fail "wait --members: an actor alone is no group of 2" \
        "status $rc, stderr '$(cat "$TMP/err")'"
fi
check "wait: --members belongs to wait only" \
    bash -c "'$CTL' ls --members 2; [ \$? -eq 2 ]"

# A value from stdin.
got="$(echo '{"a": [1, 2, "x"]}' | "$CTL" call input/chaos echo -)"
if [ "$got" = '{"a":[1,2,"x"]}' ]; then ok "arg - reads stdin"; else
    fail "arg - reads stdin" "got '$got'"; fi
# A value from a file, and a bare word in a file is a string as on argv.
printf '[true, null, 2.5]' >"$TMP/v.json"
got="$("$CTL" call input/chaos echo "@$TMP/v.json")"
if [ "$got" = '[true,null,2.5]' ]; then ok "arg @PATH reads the file"; else
    fail "arg @PATH reads the file" "got '$got'"; fi
printf 'hello' >"$TMP/w.txt"
got="$("$CTL" call input/chaos echo "@$TMP/w.txt")"
if [ "$got" = '"hello"' ]; then ok "arg @PATH: a bare word is a string"; else
    fail "arg @PATH: a bare word is a string" "got '$got'"; fi
# A literal string starting with @ is written as JSON.
got="$("$CTL" call input/chaos echo '"@home"')"
if [ "$got" = '"@home"' ]; then ok "a JSON string \"@home\" stays a string"; else
    fail "a JSON string \"@home\" stays a string" "got '$got'"; fi
# Bigger than one argv word may be (MAX_ARG_STRLEN is 128 KiB): 4 MiB.
"$PY" -c 'import json; print(json.dumps(["x" * 1000] * 4096, separators=(",", ":")))' >"$TMP/big.json"
want="$(wc -c <"$TMP/big.json")"
got="$("$CTL" call input/chaos echo - <"$TMP/big.json" | wc -c)"
if [ "$got" -eq "$want" ]; then ok "a 4 MiB argument through stdin"; else
    fail "a 4 MiB argument through stdin" "$got bytes back, want $want"; fi
got="$("$CTL" call input/chaos echo "@$TMP/big.json" | wc -c)"
if [ "$got" -eq "$want" ]; then ok "a 4 MiB argument from a file"; else
    fail "a 4 MiB argument from a file" "$got bytes back, want $want"; fi
# With tell too, and mixed with ordinary arguments.
got="$(echo 7 | "$CTL" call input/chaos delay 1 -)"
if [ "$got" = '7' ]; then ok "arg - after an ordinary argument"; else
    fail "arg - after an ordinary argument" "got '$got'"; fi
check "tell with an @PATH argument" \
    "$CTL" tell input/chaos echo "@$TMP/v.json"

# Errors: a missing file, two stdin arguments, bad JSON in a file.
"$CTL" call input/chaos echo "@$TMP/nope.json" >"$TMP/out" 2>"$TMP/err"
rc=$?
if [ $rc -eq 2 ] && grep -q 'cannot open' "$TMP/err"; then
    ok "a missing @file is a usage error"; else
    fail "a missing @file is a usage error" "status $rc: $(cat "$TMP/err")"; fi
echo 1 | "$CTL" call input/chaos delay - - >"$TMP/out" 2>"$TMP/err"
rc=$?
if [ $rc -eq 2 ]; then ok "two - arguments are a usage error"; else
    fail "two - arguments are a usage error" "status $rc"; fi
printf '[1,' >"$TMP/bad.json"
"$CTL" call input/chaos echo "@$TMP/bad.json" >"$TMP/out" 2>"$TMP/err"
rc=$?
if [ $rc -eq 2 ] && grep -q 'not JSON' "$TMP/err"; then
    ok "bad JSON in a file is a usage error"; else
    fail "bad JSON in a file is a usage error" "status $rc: $(cat "$TMP/err")"; fi
# What a peer named reaches the operator's terminal and the broker's log
# inert: an address with an escape sequence (it would retitle the
# terminal) and a newline (it would add a row, or a forged log line).
"$PY" - "$EP" >"$TMP/evil.out" 2>&1 <<'PYEOF' &
import struct, sys, time, zmq, msgpack
s = zmq.Context().socket(zmq.DEALER); s.connect(sys.argv[1])
a = b"evil/\x1b]0;owned\x07\n2026-12-07T00:00:00.000Z E actors-broker[1] BRK-FORGED"
h = b"ACT2" + struct.pack(">BBIB", 5, 0, 0, 1) + b"r"
s.send_multipart([h, a, msgpack.packb({"service": "evil\x1b[2J", "pid": 1})])
assert s.poll(5000), "no REGISTER reply"; r = s.recv_multipart(); assert r[0][4] == 3, r
print("registered", flush=True)
time.sleep(30)  # holds the address until the test kills it
PYEOF
EVIL=$!
PIDS+=("$EVIL")
end=$((SECONDS + 10))
until grep -q registered "$TMP/evil.out" || [ $SECONDS -ge $end ]; do
    sleep 0.05 # poll pause; the loop has a deadline
done
"$CTL" ls >"$TMP/ls.out" 2>&1
if grep -qF 'evil/\x1b]0;owned\x07\x0a2026' "$TMP/ls.out" &&
        ! grep -q $'\x1b' "$TMP/ls.out" && ! grep -q $'\x07' "$TMP/ls.out" &&
        ! grep -q '^2026-12-07T00:00:00.000Z' "$TMP/ls.out"; then
    ok "ls: control bytes in a peer's address and service printed as \\xNN"
else
    fail "ls: control bytes in a peer's address and service printed as \\xNN" \
        "$(cat -v "$TMP/ls.out")"
fi
kill "$EVIL" 2>/dev/null; wait "$EVIL" 2>/dev/null
end=$((SECONDS + 10))
until grep -q 'BRK-ACTOR-DEAD address=evil' "$TMP/broker.err" || [ $SECONDS -ge $end ]; do
    sleep 0.05 # poll pause; the loop has a deadline
done
if grep -q 'BRK-ACTOR-DEAD address=evil/\\x1b]0;owned\\x07\\x0a2026' "$TMP/broker.err" &&
        ! grep -q $'\x1b' "$TMP/broker.err" &&
        ! grep -q '^2026-12-07T00:00:00.000Z E actors-broker\[1\] BRK-FORGED' "$TMP/broker.err"; then
    ok "the broker's log: a peer's address cannot start a line of its own"
else
    fail "the broker's log: a peer's address cannot start a line of its own" \
        "$(grep -a evil "$TMP/broker.err" | cat -v)"
fi
finish
