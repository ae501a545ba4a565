#!/usr/bin/env bash
# clients/go/run-tests.sh - the Go client's `go test` against the real
# broker, services and node of one build (scripts/run-tests.sh runs it as
# part of `make test`).
#
#   BUILD=build clients/go/run-tests.sh [go test args]
#
# Needs the Go toolchain (go on PATH, or /usr/local/go/bin/go): without it
# the suite is skipped with a message. Modules come through the module
# proxy (`go env GOPROXY`); go.sum pins them. cgo builds against Debian's
# libzmq3-dev and libczmq-dev (scripts/install-deps.sh). The tests start
# every process they need on free loopback ports and stop them by pid.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export BUILD="${BUILD:-build}"
export ACTORS_SRCDIR="$ROOT"

GO="$(command -v go || true)"
[ -z "$GO" ] && [ -x /usr/local/go/bin/go ] && GO=/usr/local/go/bin/go
if [ -z "$GO" ]; then
    echo "clients/go: SKIPPED: no Go toolchain (go on PATH or /usr/local/go/bin/go)"
    exit 0
fi
for b in actors-broker actors-supervisor account counter chaos; do
    if [ ! -x "$ROOT/$BUILD/bin/$b" ] && [ ! -x "$BUILD/bin/$b" ]; then
        echo "clients/go: $BUILD/bin/$b is missing; build first" >&2
        exit 2
    fi
done
# a home for the module and build caches even where HOME is not set
if [ -z "${HOME:-}" ]; then
    export GOCACHE="${GOCACHE:-$ROOT/$BUILD/go/cache}"
    export GOMODCACHE="${GOMODCACHE:-$ROOT/$BUILD/go/mod}"
fi
cd "$ROOT/clients/go"
echo "clients/go: $("$GO" version), GOPROXY=$("$GO" env GOPROXY)"
# CGO_ENABLED: pebbe/zmq4 and the czmq certificate loader are cgo
CGO_ENABLED=1 "$GO" test -count=1 "$@" ./...
