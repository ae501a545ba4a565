#!/bin/sh
# docker/demo.sh - the Ray account session, played with actorctl against a
# running deployment (docker-compose.yml: `docker-compose run --rm demo`).
#
#   Ray                                         here
#   account = Account.remote(100, 20)           the node's account/<node>
#   ray.get(account.balance.remote())           actorctl call A balance
#   ray.get(account.withdraw.remote(40))        actorctl call A withdraw 40
#   ray.get(account.deposit.remote(40))         actorctl call A deposit 40
#   account.withdraw.remote(-40) -> ValueError  exit 1, stderr ValueError: ...
#
# Every step is checked; exit 0 only if all gave what Ray gives. The session
# leaves the balance as it found it, so it can be played again.
# Environment: ACTORS_BROKER; ACTORS_DEMO_ACCOUNT (default: the first running
# account/* address the broker lists); ACTORS_DEMO_WAIT_S (default 60).
set -u

BROKER="${ACTORS_BROKER:-tcp://broker:5555}"
WAIT_S="${ACTORS_DEMO_WAIT_S:-60}"
failures=0
errfile="$(mktemp)"
trap 'rm -f "$errfile"' EXIT

ctl() { actorctl --broker "$BROKER" --timeout 5000 "$@"; }

# Wait (polling, with a deadline) for an account actor to be running.
account="${ACTORS_DEMO_ACCOUNT:-}"
deadline=$(( $(date +%s) + WAIT_S ))
while :; do
    if [ -n "${ACTORS_DEMO_ACCOUNT:-}" ]; then
        ctl ls 2>/dev/null | awk -v a="$account" 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next } $c["ADDRESS"] == a && $c["STATE"] == "running" { f = 1 } END { exit !f }' && break
    else
        account="$(ctl ls 2>/dev/null | awk 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next } $c["ADDRESS"] ~ /^account\// && $c["STATE"] == "running" { print $c["ADDRESS"]; exit }')"
        [ -n "$account" ] && break
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
        echo "demo: no running account actor at $BROKER within ${WAIT_S}s" >&2
        ctl ls >&2 || true
        exit 1
    fi
    sleep 0.2
done
echo "demo: broker $BROKER, account $account"

# step EXPECT METHOD [ARGS...]: EXPECT is a number (the result, compared as
# a number) or "!Type: message" (the error line on stderr, exit status 1).
out=""
step() {
    expect="$1"
    shift
    printf '$ actorctl call %s %s\n' "$account" "$*"
    out="$(ctl call "$account" "$@" 2>"$errfile")"
    rc=$?
    err="$(cat "$errfile")"
    [ -n "$out" ] && echo "$out"
    [ -n "$err" ] && echo "$err"
    case "$expect" in
    !*)
        if [ "$rc" -eq 1 ] && [ "$err" = "${expect#!}" ]; then
            return 0
        fi
        ;;
    *)
        if [ "$rc" -eq 0 ] && awk -v a="$out" -v b="$expect" 'BEGIN { exit !(a + 0 == b + 0 && a ~ /^-?[0-9]/) }'; then
            return 0
        fi
        ;;
    esac
    echo "demo: FAILED: expected $expect (exit $rc)" >&2
    failures=$((failures + 1))
    return 1
}

start="$(ctl call "$account" balance 2>/dev/null)" || start=""
case "$start" in
'' | *[!0-9.-]*)
    echo "demo: cannot read the balance of $account" >&2
    exit 1
    ;;
esac
step "$start" balance
step "$(awk -v s="$start" 'BEGIN { print s - 40 }')" withdraw 40
step "$start" deposit 40
step "!ValueError: Can not withdraw negative amount" withdraw -40
step "!ValueError: Can not deposit negative amount" deposit -40
step "!ValueError: Withdraw is not supported by current balance" withdraw 1000000
step "$start" balance

if [ "$failures" -ne 0 ]; then
    echo "demo: $failures step(s) failed" >&2
    exit 1
fi
echo "demo: ok (the account session behaves as in Ray)"
