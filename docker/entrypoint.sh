#!/bin/sh
# docker/entrypoint.sh - the image's entry point: the first argument is the
# role, every setting comes from the environment (defaults in the Dockerfile).
#
#   keygen          make the CURVE keys in $ACTORS_KEYS_DIR unless they exist
#   broker [ARGS]   actors-broker --bind $ACTORS_BIND [ARGS] with CURVE:
#                   --keys DIR/allow --key DIR/server/broker_secret
#   node [ARGS]     actors-supervisor for the config $ACTORS_NODE_CONFIG,
#                   node name $ACTORS_NODE, else (a host name that is a
#                   container id) "node-N" from the compose container name
#                   PROJECT-node-N, else the container's host name
#   demo            the Ray account session against $ACTORS_BROKER
#   help            this text
#   anything else   run as given (actorctl ls, sh, ...)
#
# Node configs may write {node} inside a value (address = account/{node}):
# it is replaced by the node name here, so containers scaled from one config
# register different addresses. The rendered file is $ACTORS_RUN_DIR/node.zpl.
set -eu

role="${1:-help}"
[ $# -gt 0 ] && shift
RUN_DIR="${ACTORS_RUN_DIR:-/tmp/actors}"
mkdir -p "$RUN_DIR"

KEYS="${ACTORS_KEYS_DIR:-/etc/actors/keys}"
# compose_name prints SERVICE-N when this container is compose's
# PROJECT-SERVICE-N (or PROJECT_SERVICE_N), SERVICE being
# $ACTORS_NODE_SERVICE (default node): Docker's DNS answers the reverse
# lookup of the container's address with its name. Stable across restarts
# of the container, and readable; nothing printed when it cannot tell.
compose_name() {
    local ip name svc="${ACTORS_NODE_SERVICE:-node}"
    ip="$(awk -v h="$(hostname)" '$2 == h { print $1; exit }' /etc/hosts)"
    [ -n "$ip" ] || return 0
    name="$(timeout 3 getent -s dns hosts "$ip" 2>/dev/null |
        awk '{ print $2; exit }')" || true
    name="${name%%.*}" # the network's name follows the first dot
    case "$name" in
    *[-_]"$svc"[-_][0-9] | *[-_]"$svc"[-_][0-9][0-9] | \
        *[-_]"$svc"[-_][0-9][0-9][0-9])
        echo "$svc-${name##*[-_]}"
        ;;
    esac
}

case "$role" in
keygen)
    # Once per volume: a pair per role; public keys of the peers go to
    # allow/ (the broker's allowlist), the broker's pair to server/.
    if [ -f "$KEYS/server/broker" ]; then
        echo "actors-entrypoint: keys exist in $KEYS"
        exit 0
    fi
    mkdir -p "$KEYS/allow" "$KEYS/peers" "$KEYS/server"
    actorctl keygen broker --role admin --dir "$KEYS/server.tmp" >/dev/null
    for r in admin client node actor; do
        actorctl keygen "$r" --role "$r" --dir "$KEYS/peers" >/dev/null
        mv "$KEYS/peers/$r" "$KEYS/allow/$r"
    done
    # Last, so a keygen cut short is done again.
    mv "$KEYS/server.tmp/broker_secret" "$KEYS/server.tmp/broker" "$KEYS/server/"
    rmdir "$KEYS/server.tmp"
    echo "actors-entrypoint: keys made in $KEYS (allow/: admin client node actor)"
    ;;
broker)
    echo broker >"$RUN_DIR/role"
    echo $$ >"$RUN_DIR/broker.pid"  # exec keeps the pid
    exec actors-broker --bind "${ACTORS_BIND:-tcp://*:5555}" \
        --keys "$KEYS/allow" \
        --key "${ACTORS_BROKER_SECRET:-$KEYS/server/broker_secret}" "$@"
    ;;
node)
    node="${ACTORS_NODE:-}"
    # A host name of 12 hex digits is Docker's container id (compose
    # --scale): a name from the container's own name reads better.
    if [ -z "$node" ] && hostname | grep -Eqx '[0-9a-f]{12}'; then
        node="$(compose_name)"
    fi
    [ -n "$node" ] || node="$(hostname)"
    case "$node" in
    *[!A-Za-z0-9._-]*)
        echo "actors-entrypoint: node name '$node' must be [A-Za-z0-9._-]" >&2
        exit 2
        ;;
    esac
    config="${ACTORS_NODE_CONFIG:-/etc/actors/docker-node.zpl}"
    if [ ! -r "$config" ]; then
        echo "actors-entrypoint: cannot read node config $config" >&2
        exit 2
    fi
    sed "s/{node}/$node/g" "$config" >"$RUN_DIR/node.zpl"
    mkdir -p "${ACTORS_STATE_DIR:-/var/lib/actors}/$node" 2>/dev/null || true
    echo "$node" >"$RUN_DIR/node"
    echo node >"$RUN_DIR/role"
    echo $$ >"$RUN_DIR/supervisor.pid"  # exec keeps the pid
    exec actors-supervisor --broker "${ACTORS_BROKER:-tcp://broker:5555}" \
        --node "$node" --config "$RUN_DIR/node.zpl" "$@"
    ;;
demo)
    echo client >"$RUN_DIR/role"
    exec actors-demo "$@"
    ;;
help | --help | -h)
    sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
    (cd /opt/actors/bin && echo "binaries:" *)
    ;;
*)
    echo client >"$RUN_DIR/role"
    exec "$role" "$@"
    ;;
esac
