#!/usr/bin/env bash
# scripts/docker-base-image.sh - make the Debian bookworm base image that
# docker/Dockerfile starts from, without any image registry: debootstrap a
# minimal root file system and `docker import` it.
#
#   scripts/docker-base-image.sh            # tag actors-base:bookworm
#   ACTORS_BASE_IMAGE=my/base:12 scripts/docker-base-image.sh
#   ACTORS_DEBIAN_MIRROR=http://mirror.example/debian scripts/docker-base-image.sh
#
# Idempotent: does nothing when the tag already exists (FORCE=1 rebuilds).
# The mirror is, in order: $ACTORS_DEBIAN_MIRROR, the first Debian mirror
# apt uses on this host (/etc/apt/sources.list{,.d}), deb.debian.org.
# Needs root (debootstrap) and the debootstrap package; installs it with
# apt-get when missing, waiting (ACTORS_APT_WAIT_S, default 600 s) while
# another apt-get or dpkg holds the package locks instead of failing at
# once. Takes about a minute on a good link.
set -euo pipefail

TAG="${ACTORS_BASE_IMAGE:-actors-base:bookworm}"
SUITE="${ACTORS_DEBIAN_SUITE:-bookworm}"

log() { echo "docker-base-image: $*" >&2; }

if [ "${FORCE:-0}" != 1 ] && docker image inspect "$TAG" >/dev/null 2>&1; then
    log "$TAG exists, nothing to do"
    exit 0
fi

# The first "debian" (not -security) mirror in the host's apt sources, in
# either the one-line or the deb822 format.
host_mirror() {
    local f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -r "$f" ] || continue
        awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^https?:\/\//) {
                 if ($i ~ /\/debian\/?$/) { print $i; exit } else break } }' "$f"
    done
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -r "$f" ] || continue
        awk 'tolower($1) == "uris:" { for (i = 2; i <= NF; i++)
                 if ($i ~ /\/debian\/?$/) { print $i; exit } }' "$f"
    done
}

MIRROR="${ACTORS_DEBIAN_MIRROR:-}"
if [ -z "$MIRROR" ]; then
    MIRROR="$(host_mirror | head -n 1)"
fi
MIRROR="${MIRROR:-http://deb.debian.org/debian}"
MIRROR="${MIRROR%/}"
# The security archive sits beside the main one on the official mirrors.
SECURITY="${ACTORS_DEBIAN_SECURITY_MIRROR:-${MIRROR}-security}"

if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        exec sudo -E "$0" "$@"
    fi
    log "debootstrap needs root; run as root"
    exit 1
fi
if ! command -v debootstrap >/dev/null 2>&1; then
    log "installing debootstrap"
    # scripts/apt-wait.sh waits while another apt-get holds the locks.
    APT_WAIT="$(dirname "$0")/apt-wait.sh"
    "$APT_WAIT" install -y debootstrap >/dev/null ||
        { "$APT_WAIT" update && "$APT_WAIT" install -y debootstrap >/dev/null; }
fi

ROOT="$(mktemp -d "${TMPDIR:-/tmp}/actors-base.XXXXXX")"
cleanup() { rm -rf --one-file-system "$ROOT"; }
trap cleanup EXIT

log "debootstrap $SUITE from $MIRROR into $ROOT"
debootstrap --variant=minbase "$SUITE" "$ROOT" "$MIRROR" >"$ROOT.log" 2>&1 || {
    tail -n 30 "$ROOT.log" >&2
    rm -f "$ROOT.log"
    exit 1
}
rm -f "$ROOT.log"

# The same archives the host uses: main, updates and security.
cat >"$ROOT/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb $SECURITY $SUITE-security main
EOF
# Small images: no documentation, no recommends, no package lists kept.
cat >"$ROOT/etc/dpkg/dpkg.cfg.d/01-nodoc" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
EOF
cat >"$ROOT/etc/apt/apt.conf.d/01-actors" <<'EOF'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
EOF
chroot "$ROOT" apt-get clean
rm -rf "$ROOT"/var/lib/apt/lists/* "$ROOT"/var/cache/apt/*.bin \
       "$ROOT"/usr/share/doc/* "$ROOT"/usr/share/man/* "$ROOT"/tmp/*
# A container gets its own resolv.conf and hosts; do not bake the host's.
: >"$ROOT/etc/resolv.conf"
: >"$ROOT/etc/hostname"

log "importing as $TAG"
tar -C "$ROOT" --numeric-owner -c . \
    | docker import \
        -c 'CMD ["/bin/bash"]' \
        -c 'ENV LANG=C.UTF-8' \
        -m "debootstrap --variant=minbase $SUITE $MIRROR" \
        - "$TAG" >/dev/null
log "done: $(docker image inspect -f '{{.Id}} {{.Size}}' "$TAG") bytes"
