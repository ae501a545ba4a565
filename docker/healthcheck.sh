#!/bin/sh
# docker/healthcheck.sh - the image's HEALTHCHECK, by the role the
# entrypoint recorded in $ACTORS_RUN_DIR/role:
#   broker  the broker answers a PING on loopback;
#   node    every address of the node's rendered config is registered at the
#           broker and "running" (addresses hold the node name, so they are
#           this node's own processes);
#   other   healthy (one-off clients have nothing to watch).
# Exit 0 healthy, 1 unhealthy, with one line saying why. The `actorctl ls`
# table is read by its header (ADDRESS, STATE), not by column position.
set -eu

RUN_DIR="${ACTORS_RUN_DIR:-/tmp/actors}"
TIMEOUT="${ACTORS_HEALTH_TIMEOUT_MS:-2000}"
role="${1:-$(cat "$RUN_DIR/role" 2>/dev/null || echo client)}"

case "$role" in
broker)
    port="${ACTORS_BIND##*:}"
    case "$port" in '' | *[!0-9]*) port=5555 ;; esac
    exec actorctl --broker "tcp://127.0.0.1:$port" --timeout "$TIMEOUT" ping
    ;;
node)
    config="$RUN_DIR/node.zpl"
    [ -r "$config" ] || { echo "node config not rendered yet"; exit 1; }
    # address = X (optionally quoted); replicas/{i} are not expanded here,
    # so the docker node config names each address once.
    want="$(sed -n 's/^[[:space:]]*address[[:space:]]*=[[:space:]]*//p' "$config" |
        sed 's/[[:space:]]*#.*$//; s/^["'\'']//; s/["'\'']$//')"
    table="$(actorctl --broker "${ACTORS_BROKER:-tcp://broker:5555}" \
        --timeout "$TIMEOUT" ls)" || { echo "broker did not answer ls"; exit 1; }
    node="$(cat "$RUN_DIR/node" 2>/dev/null || hostname)"
    bad=""
    for a in $want; do
        # STATE, and where the broker shows a NODE column, the node too: an
        # address running on another node is not this node's actor.
        st="$(printf '%s\n' "$table" | awk -v a="$a" -v n="$node" '
            NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
            $c["ADDRESS"] == a {
                s = $c["STATE"]
                if (("NODE" in c) && $c["NODE"] != n) { s = s "@" $c["NODE"] }
                print s
            }')"
        # running@OTHER: the broker re-created it on another node while this
        # one was lost; it lives on there and this node leaves it be.
        case "$st" in
        running | running@*) ;;
        *) bad="$bad $a:${st:-absent}" ;;
        esac
    done
    if [ -n "$bad" ]; then
        echo "not running:$bad"
        exit 1
    fi
    # shellcheck disable=SC2086 # one line: the split is wanted
    echo "running:" $want
    ;;
*)
    exit 0
    ;;
esac
