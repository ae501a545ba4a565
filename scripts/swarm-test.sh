#!/usr/bin/env bash
# scripts/swarm-test.sh - `make swarm-test`: the deployment on Docker Swarm
# end to end, on a single-node swarm. Makes the images (as docker-test
# does: the framework's, its SDK, and examples/greeter's FROM them), joins
# the engine to a swarm of its own if it is in none (`docker swarm init`,
# left again at the end), deploys docker/stack.yml with 2 actor nodes,
# and checks what docker-test checks: calls to every node's actors and to
# our own service, a node task killed (its actors re-placed on the other
# node, state following on the shared volume, and Swarm's new task for the
# slot back with the same node name), a scale-down (the task Swarm stops
# drains: its actors move), and a clean removal (no container, network or
# volume of the stack left).
#
# Environment: ACTORS_IMAGE, ACTORS_SDK_IMAGE, ACTORS_GREETER_IMAGE (the
# tags, as docker-test), ACTORS_TEST_DEADLINE_S (each wait, default 180),
# ACTORS_PORT (the broker's published port; default a free one), KEEP=1.
set -euo pipefail

cd "$(dirname "$0")/.."
DEADLINE_S="${ACTORS_TEST_DEADLINE_S:-180}"
STACK="actorsswarm$$"
export ACTORS_IMAGE="${ACTORS_IMAGE:-actors:latest}"
export ACTORS_SDK_IMAGE="${ACTORS_SDK_IMAGE:-actors-sdk:latest}"
export ACTORS_GREETER_IMAGE="${ACTORS_GREETER_IMAGE:-actors-greeter:latest}"
unset ACTORS_BROKER ACTORS_NODE ACTORS_BROKER_PLACEMENT

passed=0
t0=$(date +%s)
say() { printf 'swarm-test [%3ss]: %s\n' "$(($(date +%s) - t0))" "$*"; }
ok() { passed=$((passed + 1)); say "ok: $*"; }
die() {
    say "FAIL: $*"
    exit 1
}

docker info >/dev/null 2>&1 || die "docker info fails: no usable Docker engine"
if command -v docker-compose >/dev/null 2>&1; then
    COMPOSE=(docker-compose)
elif docker compose version >/dev/null 2>&1; then
    COMPOSE=(docker compose)
else
    die "neither docker-compose nor the docker compose plugin is installed"
fi
dc() {
    "${COMPOSE[@]}" -p "$STACK" -f docker-compose.yml \
        -f examples/greeter/compose.yml "$@"
}

# A free port on the host for the broker's host-mode publication.
if [ -z "${ACTORS_PORT:-}" ]; then
    ACTORS_PORT="$(python3 -c 'import socket; s = socket.socket();
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
fi
export ACTORS_PORT

joined=no
WORK="$(mktemp -d "${TMPDIR:-/tmp}/swarm-test.XXXXXX")"
cleanup() {
    local rc=$?
    if [ "${KEEP:-0}" = 1 ]; then
        say "KEEP=1: stack $STACK left up (docker stack rm $STACK)"
        rm -rf "$WORK"
        return
    fi
    if [ "$rc" -ne 0 ]; then
        say "services at the failure:"
        docker stack ps --no-trunc "$STACK" 2>&1 | sed 's/^/    /' | head -20 ||
            true
        for s in broker node; do
            say "logs of ${STACK}_$s (last lines):"
            docker service logs --tail 20 "${STACK}_$s" 2>&1 |
                sed 's/^/    /' || true
        done
    fi
    docker stack rm "$STACK" >/dev/null 2>&1 || true
    local end=$(($(date +%s) + 60))
    while [ -n "$(docker ps -aq --filter "label=com.docker.stack.namespace=$STACK")" ] &&
        [ "$(date +%s)" -lt "$end" ]; do
        sleep 0.5 # poll pause; the loop has a deadline
    done
    docker volume rm "${STACK}_actors-state" >/dev/null 2>&1 || true
    if [ "$joined" = yes ]; then
        docker swarm leave --force >/dev/null 2>&1 || true
        say "left the swarm this test made"
    fi
    rm -rf "$WORK"
    say "removed stack $STACK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_for() {
    local what="$1"
    shift
    local end=$(($(date +%s) + DEADLINE_S))
    until "$@" >/dev/null 2>&1; do
        if [ "$(date +%s)" -ge "$end" ]; then
            die "$what: not within ${DEADLINE_S}s"
        fi
        sleep 0.5 # poll pause; the loop has a deadline
    done
}

# ---------------------------------------------------------------- images
tb=$(date +%s)
scripts/docker-base-image.sh
{ dc build broker && dc --profile sdk build sdk && dc build node; } \
    >"$WORK/build.log" 2>&1 || {
    tail -n 40 "$WORK/build.log"
    die "image build failed"
}
say "images built in $(($(date +%s) - tb))s"

# ---------------------------------------------------------------- swarm
state="$(docker info --format '{{.Swarm.LocalNodeState}}')"
if [ "$state" != active ]; then
    docker swarm init --advertise-addr 127.0.0.1 >/dev/null ||
        die "docker swarm init failed"
    joined=yes
    say "made a single-node swarm (docker swarm init)"
fi
SELF="$(docker info --format '{{.Swarm.NodeID}}')"
docker node update --label-add actors.broker=true "$SELF" >/dev/null

# CURVE keys, as docker/stack.yml reads them (Swarm secrets and configs
# from $ACTORS_KEYS): made once with the image's keygen.
mkdir -m 700 "$WORK/keys"
docker run --rm -u "$(id -u)" -v "$WORK/keys:/etc/actors/keys" \
    "$ACTORS_IMAGE" keygen >"$WORK/keygen.log" 2>&1 || {
    cat "$WORK/keygen.log"
    die "keygen failed"
}
export ACTORS_KEYS="$WORK/keys"

# The nodes run the greeter image (our own service beside the framework's)
# with its config; 2 actor nodes on the one swarm node.
ACTORS_IMAGE_RUN="$ACTORS_GREETER_IMAGE"
ACTORS_IMAGE="$ACTORS_IMAGE_RUN" ACTORS_NODES=2 ACTORS_NODES_PER_HOST=2 \
    ACTORS_NODE_CONFIG=/etc/actors/greeter-node.zpl \
    docker stack deploy -c docker/stack.yml "$STACK" 2>&1 | sed 's/^/    /'

# c_of SERVICE: a running container of the stack's service.
# (The list whole first: with pipefail, `| head -n 1` could kill docker ps
# with SIGPIPE and fail the pipeline.)
c_of() {
    local ids
    ids="$(docker ps -q --filter "label=com.docker.swarm.service.name=${STACK}_$1" \
        --filter status=running)"
    printf '%s\n' "${ids%%$'\n'*}"
}
health() { docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{end}}' "$1"; }
healthy_count() { # healthy_count SERVICE N: N running containers, healthy
    local c n=0
    for c in $(docker ps -q --filter "label=com.docker.swarm.service.name=${STACK}_$1" \
        --filter status=running); do
        [ "$(health "$c")" = healthy ] && n=$((n + 1))
    done
    [ "$n" -eq "$2" ]
}
wait_for "broker healthy" healthy_count broker 1
wait_for "2 actor nodes healthy" healthy_count node 2
ok "stack deployed: broker and 2 actor nodes healthy"
BROKER_C="$(c_of broker)"
ctl() { docker exec "$BROKER_C" actorctl --timeout 10000 "$@"; }
col_of() {
    ctl ls | awk -v a="$1" -v k="$2" 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next } $c["ADDRESS"] == a { print $c[k] }'
}
on_node() {
    local node="$1" a
    shift
    for a in "$@"; do
        [ "$(col_of "$a" STATE)" = running ] && [ "$(col_of "$a" NODE)" = "$node" ] ||
            return 1
    done
}

# ---------------------------------------------------------------- calls
for n in actors-node-1 actors-node-2; do
    [ "$(ctl call "counter/$n" increment)" = 1 ] || die "counter/$n increment"
    [ "$(ctl call "greeter/$n" greet '"swarm"')" = '"hello, swarm!"' ] ||
        die "greeter/$n greet"
    [ "$(ctl call "ledger/$n" deposit 7)" = 7.0 ] || die "ledger/$n deposit"
done
ok "calls to counter, ledger and our own greeter on actors-node-1 and actors-node-2"
docker run --rm --network host -u "$(id -u)" -v "$WORK/keys:/keys:ro" \
    -e ACTORS_KEY=/keys/peers/client_secret \
    -e ACTORS_BROKER_KEY=/keys/server/broker "$ACTORS_IMAGE_RUN" actorctl \
    --broker "tcp://127.0.0.1:$ACTORS_PORT" --timeout 5000 ping >/dev/null ||
    die "no PING on the published port $ACTORS_PORT"
ok "the broker answers on its published port $ACTORS_PORT"

# ---------------------------------------------------------------- node task killed
# The supervisor of slot 2 is SIGKILLed: a lost node. The broker re-places
# its actors on actors-node-1 (the ledger's journal is on the volume both
# tasks mount: one swarm node); Swarm starts a new task for slot 2, named
# actors-node-2 again, which leaves the moved actors be until they are free.
C2=""
for c in $(docker ps -q --filter "label=com.docker.swarm.service.name=${STACK}_node"); do
    [ "$(docker exec "$c" cat /tmp/actors/node)" = actors-node-2 ] && C2="$c"
done
[ -n "$C2" ] || die "no container for actors-node-2"
docker exec "$C2" sh -c 'kill -KILL "$(cat /tmp/actors/supervisor.pid)"' || true
moved() {
    on_node actors-node-1 counter/actors-node-2 ledger/actors-node-2 \
        greeter/actors-node-2 &&
        [ "$(ctl call ledger/actors-node-2 balance)" = 7.0 ]
}
wait_for "actors-node-2's actors re-placed on actors-node-1" moved
ok "node task killed: its actors run on actors-node-1, the ledger with its balance"
back() {
    healthy_count node 2 &&
        [ "$(docker ps -q --filter "label=com.docker.swarm.service.name=${STACK}_node" |
            while read -r c; do docker exec "$c" cat /tmp/actors/node; done |
            sort | tr '\n' ' ')" = "actors-node-1 actors-node-2 " ]
}
wait_for "Swarm's new task for slot 2 (actors-node-2) healthy" back
ok "Swarm started a new task for slot 2, named actors-node-2 again"

# ---------------------------------------------------------------- scale down
# Swarm stops one task (SIGTERM): it drains, every actor it ran moves to
# the node left; none stays dead.
docker service scale --detach "${STACK}_node=1" >/dev/null
wait_for "scaled to 1 actor node" healthy_count node 1
LEFT="$(docker exec "$(c_of node)" cat /tmp/actors/node)"
all_on_left() {
    on_node "$LEFT" counter/actors-node-1 counter/actors-node-2 \
        ledger/actors-node-1 ledger/actors-node-2 greeter/actors-node-1 \
        greeter/actors-node-2 &&
        [ "$(ctl call ledger/actors-node-1 balance)" = 7.0 ] &&
        [ "$(ctl call ledger/actors-node-2 balance)" = 7.0 ]
}
wait_for "every actor running on $LEFT after the scale-down" all_on_left
ok "scale-down to 1 node: every actor runs on $LEFT, ledgers with their balance"

# ---------------------------------------------------------------- removal
docker stack rm "$STACK" >/dev/null
gone() {
    [ -z "$(docker ps -aq --filter "label=com.docker.stack.namespace=$STACK")" ] &&
        [ -z "$(docker network ls -q --filter "label=com.docker.stack.namespace=$STACK")" ]
}
wait_for "the stack's containers and network gone" gone
docker volume rm "${STACK}_actors-state" >/dev/null 2>&1 || true
[ -z "$(docker volume ls -q --filter "name=${STACK}_")" ] ||
    die "the stack's volume is left"
ok "docker stack rm: no container, network or volume of the stack left"

say "passed $passed checks in $(($(date +%s) - t0))s"
