#!/usr/bin/env bash
# scripts/apt-wait.sh - apt-get that waits while another apt-get or dpkg
# holds the package locks, instead of failing at once.
#
#   scripts/apt-wait.sh install -y debootstrap
#   scripts/apt-wait.sh update
#
# Runs apt-get -qq with the arguments and DPkg::Lock::Timeout (apt's own
# wait for the dpkg lock); when apt-get still fails because a lock is held
# ("Could not get lock", "is held by": the package lists' lock, which has
# no timeout of its own), it tries again with a growing pause (1, 2, 4, 8,
# 8 ... s) until ACTORS_APT_WAIT_S (default 600) have passed. Any other
# failure is reported at once with apt-get's exit status and output.
set -uo pipefail

WAIT_S="${ACTORS_APT_WAIT_S:-600}"
end=$((SECONDS + WAIT_S))
pause=1
while :; do
    rc=0
    out="$(DEBIAN_FRONTEND=noninteractive apt-get \
        -o DPkg::Lock::Timeout="$WAIT_S" -qq "$@" 2>&1)" || rc=$?
    if [ "$rc" -eq 0 ]; then
        [ -z "$out" ] || printf '%s\n' "$out"
        exit 0
    fi
    if [[ "$out" != *"Could not get lock"* && "$out" != *"is held by"* ]] ||
        [ "$SECONDS" -ge "$end" ]; then
        printf '%s\n' "$out" >&2
        exit "$rc"
    fi
    echo "apt-wait: apt-get $1: another package manager holds the lock;" \
        "trying again in ${pause}s" >&2
    sleep "$pause" # backoff while the lock is held, within the deadline
    pause=$((pause < 8 ? pause * 2 : 8))
done
