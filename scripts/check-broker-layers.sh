#!/usr/bin/env bash
# scripts/check-broker-layers.sh - the broker's routing core knows nothing
# of its extensions (docs/ARCHITECTURE.md, "The broker").
#
# The core's files may include each other and libactors' headers, never an
# extension's (sup*.h, nodes.h, events.h): extensions plug in through
# ext.h and the command table, and broker.c is the one file that puts the
# core and supervision together. Prints the offending lines and exits 1
# if a core file includes an extension header.
set -euo pipefail
cd "$(dirname "$0")/.."
core=(core route control conn registry idmap slots mailbox deadlines outbox ext auth)
ext='"(sup|sup_int|sup_spawn|nodes|events)\.h"'
bad=0
for m in "${core[@]}"; do
    for f in "broker/$m.c" "broker/$m.h"; do
        [ -f "$f" ] || continue
        if grep -nE "#include $ext" "$f"; then
            echo "check-broker-layers: $f includes an extension header" >&2
            bad=1
        fi
    done
done
exit $bad
