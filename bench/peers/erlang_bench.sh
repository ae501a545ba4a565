#!/usr/bin/env bash
# bench/peers/erlang_bench.sh - gen_server calls between two Erlang nodes
# (two OS processes). Prints the client's JSON line, or exits non-zero.
#   erlang_bench.sh [--quick | --seconds S]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
seconds=1.0
case "${1:-}" in
    --quick) seconds=0.3 ;;
    --seconds) seconds=$(printf '%.1f' "$2") ;;
esac
command -v erl >/dev/null && command -v erlc >/dev/null || {
    echo "erlang_bench: erl/erlc not installed" >&2; exit 1; }
work=$(mktemp -d)
srv_pid=
cli_pid=
cleanup() {
    for p in $cli_pid $srv_pid; do kill "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
erlc -o "$work" "$here/bench_echo.erl"
tag="b$$"
cookie="actorsbench$$"
erl -noshell -noinput -name "srv_$tag@127.0.0.1" -setcookie "$cookie" \
    -pa "$work" -eval 'bench_echo:start()' >/dev/null 2>&1 &
srv_pid=$!
# in the background, so that a TERM (from timeout) reaches the trap now
erl -noshell -noinput -name "cli_$tag@127.0.0.1" -setcookie "$cookie" \
    -pa "$work" -eval "bench_echo:client(['srv_$tag@127.0.0.1', '$seconds'])" &
cli_pid=$!
wait "$cli_pid"
