#!/usr/bin/env bash
# clients/python/run-tests.sh - the Python client's pytest suite against
# the real broker, services and node of one build (scripts/run-tests.sh
# runs it as part of `make test`).
#
#   BUILD=build clients/python/run-tests.sh [pytest args]
#
# Uses Debian's /usr/bin/python3 (ACTORS_PYTHON to override), which has
# python3-zmq and python3-msgpack; installs python3-pytest (and pip, for
# the offline install test) if missing. The tests start every process
# they need on free loopback ports and stop them by pid.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
export BUILD="${BUILD:-build}"
export ACTORS_SRCDIR="$ROOT"
PYTHON="${ACTORS_PYTHON:-/usr/bin/python3}"

if ! "$PYTHON" -c 'import pytest, zmq, msgpack, pip' 2>/dev/null; then
    ACTORS_EXTRA_PACKAGES="python3-pytest python3-pip" scripts/install-deps.sh
fi
for b in actors-broker actors-supervisor account counter chaos; do
    if [ ! -x "$BUILD/bin/$b" ]; then
        echo "clients/python: $BUILD/bin/$b is missing; build first" >&2
        exit 2
    fi
done
# -p no:cacheprovider: nothing written into the source tree
exec "$PYTHON" -m pytest -p no:cacheprovider -q clients/python/tests "$@"
