#!/usr/bin/env bash
# scripts/docker-clean.sh - `make docker-clean`: remove the Docker images
# this project built, and nothing else.
#
#   make docker-clean               # or: scripts/docker-clean.sh
#   DRY_RUN=1 scripts/docker-clean.sh   # only list what would go
#
# Removes: every image (tagged or an intermediate layer) carrying the
# label org.actors.project=actors, which docker/Dockerfile and
# examples/greeter/Dockerfile put on all they build; the tags
# $ACTORS_IMAGE (actors:latest), $ACTORS_SDK_IMAGE (actors-sdk:latest),
# $ACTORS_GREETER_IMAGE (actors-greeter:latest) and the base image
# $ACTORS_BASE_IMAGE (actors-base:bookworm, scripts/docker-base-image.sh).
# Containers of a stack still up keep their images: `docker compose down
# -v` first (make docker-test does so itself). BuildKit's build cache is
# shared with other projects on the engine and is left alone; `docker
# builder prune` clears it.
set -euo pipefail

run() {
    if [ "${DRY_RUN:-0}" = 1 ]; then
        echo "would run: $*"
    else
        "$@"
    fi
}

if ! docker info >/dev/null 2>&1; then
    echo "docker-clean: no usable Docker engine (docker info fails)" >&2
    exit 1
fi
tags=("${ACTORS_IMAGE:-actors:latest}" "${ACTORS_SDK_IMAGE:-actors-sdk:latest}"
    "${ACTORS_GREETER_IMAGE:-actors-greeter:latest}"
    "${ACTORS_BASE_IMAGE:-actors-base:bookworm}")
present=()
for t in "${tags[@]}"; do
    if docker image inspect "$t" >/dev/null 2>&1; then
        present+=("$t")
    fi
done
mapfile -t labelled < <(docker image ls -aq --no-trunc \
    --filter label=org.actors.project=actors | sort -u)
before="$(docker system df --format '{{.Type}} {{.Size}}' 2>/dev/null |
    awk '$1 == "Images" { print $2 }')"
if [ ${#present[@]} -gt 0 ]; then
    echo "docker-clean: removing ${present[*]}"
    run docker image rm -f "${present[@]}" >/dev/null
fi
if [ ${#labelled[@]} -gt 0 ]; then
    echo "docker-clean: removing ${#labelled[@]} labelled image(s)"
    # Some are parents of others or already gone with a tag above.
    for id in "${labelled[@]}"; do
        run docker image rm -f "$id" >/dev/null 2>&1 || true
    done
fi
run docker image prune -f --filter label=org.actors.project=actors >/dev/null
after="$(docker system df --format '{{.Type}} {{.Size}}' 2>/dev/null |
    awk '$1 == "Images" { print $2 }')"
echo "docker-clean: images on this engine: ${before:-?} before, ${after:-?} now"
