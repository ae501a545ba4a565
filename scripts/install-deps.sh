#!/usr/bin/env bash
# scripts/install-deps.sh - install the Debian packages the build and the
# tests need, only those missing. apt-get as root, sudo otherwise.
set -euo pipefail

PACKAGES=(build-essential pkg-config libzmq3-dev libczmq-dev libmsgpack-dev
          check libjansson-dev python3 python3-zmq python3-msgpack
          libhiredis-dev redis-server libmicrohttpd-dev
          python3-prometheus-client)
# Extra packages by purpose, asked for by the caller: ACTORS_EXTRA_PACKAGES.
read -r -a extra <<<"${ACTORS_EXTRA_PACKAGES:-}"
PACKAGES+=("${extra[@]}")

missing=()
for p in "${PACKAGES[@]}"; do
    [ -n "$p" ] || continue
    status="$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)"
    if [[ "$status" != *"ok installed"* ]]; then
        missing+=("$p")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-deps: missing packages: ${missing[*]}" >&2
    echo "install-deps: this is not a Debian system; install them by hand." >&2
    exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
else
    echo "install-deps: missing packages: ${missing[*]}" >&2
    echo "install-deps: not root and no sudo; run as root:" >&2
    echo "  apt-get install -y ${missing[*]}" >&2
    exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
