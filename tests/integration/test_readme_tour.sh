#!/usr/bin/env bash
# tests/integration/test_readme_tour.sh - the README's quick tour runs as
# pasted and prints what the README shows; the README's actorctl synopsis
# says what `actorctl --help` says.
# SPDX-License-Identifier: MIT
#
#   BUILD=build tests/integration/test_readme_tour.sh
#
# The tour is run from a copy of the source tree's config/ and a build/bin
# link in a temporary directory, on a free port (ACTORS_BROKER) and with
# its state under the temporary directory (ACTORS_STATE_DIR); every
# process it starts in the background is stopped by pid at the end.
. "$(dirname "${BASH_SOURCE[0]}")/shlib.sh"
PY=/usr/bin/python3

WORK="$TMP/tour"
mkdir -p "$WORK/build"
ln -s "$(cd "$BIN" && pwd)" "$WORK/build/bin"
cp -r "$ROOT/config" "$WORK/config"
: >"$TMP/pids"
port="$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export ACTORS_BROKER="tcp://127.0.0.1:$port"
export ACTORS_STATE_DIR="$TMP/state"
unset ACTORS_REDIS ACTORS_PERSIST_SYNC

"$PY" "$ROOT/tests/integration/readme_tour.py" script "$ROOT/README.md" \
    "$TMP" >"$TMP/tour.sh"
(cd "$WORK" && timeout 300 bash "$TMP/tour.sh") >"$TMP/tour.out" 2>&1
# Stop what the tour started, last first (the supervisor stops its actors).
mapfile -t started <"$TMP/pids"
for ((i = ${#started[@]} - 1; i >= 0; i--)); do
    stop "${started[$i]}"
done
if "$PY" "$ROOT/tests/integration/readme_tour.py" compare "$ROOT/README.md" \
        "$TMP/tour.out"; then
    ok "the README's tour, as a script"
else
    fail "the README's tour, as a script"
    echo "---- the tour's output"
    cat "$TMP/tour.out"
    for f in "$TMP"/bg*.log; do
        echo "---- $(basename "$f") (last 10 lines)"
        tail -n 10 "$f"
    done
fi

# Every command line of `actorctl --help` is in the README's synopsis,
# with its operands in the same order.
"$BIN/actorctl" --help |
    sed -n '/^commands:/,/^options:/p' |
    sed -n 's/^  \([a-z][^ ]*\( [^ ]\+\)*\)  .*/\1/p; s/^  \([a-z][^ ]*\( [^ ]\+\)*\)$/\1/p' \
    >"$TMP/help-cmds"
while read -r synopsis; do
    [ -n "$synopsis" ] || continue
    if grep -qF -- "$synopsis" "$ROOT/README.md"; then
        ok "README synopsis has: $synopsis"
    else
        fail "README synopsis has: $synopsis" "not in README.md"
    fi
done <"$TMP/help-cmds"
[ -s "$TMP/help-cmds" ] || fail "actorctl --help lists commands"
finish
