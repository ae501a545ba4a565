#   examples/greeter/node.zpl - the Docker node of the greeter example:
#   config/docker-node.zpl's actors plus greeter/{node}, a service of our own.
#   Format: ZPL (ZeroMQ RFC 4); see supervisor/config.h for every key.
#   {node} is replaced by the node name (the container's host name, or
#   $ACTORS_NODE) by docker/entrypoint.sh before the supervisor reads the
#   file, so `--scale node=N` gives N nodes with different addresses.
#   The node health check expects every address below to be running: name
#   each address once (no replicas here).
supervisor
    path = /opt/actors/bin
actor
    account
        service = account
        address = account/{node}
        args = [100, 20]
        policy
            max_restarts = 5
            intensity = 5
            period_ms = 10000
    #   The same service, journaled (docs/PERSISTENCE.md): its state lives
    #   under the key ledger-{node} in the actors-state volume, which every
    #   node mounts, so the ledger keeps its balance through crashes and
    #   when the broker re-creates it on another node. Calls in flight at a
    #   crash are re-delivered and, by their call key, applied once.
    ledger
        service = account
        address = ledger/{node}
        args = '[0, 0, "ledger-{node}"]'
        policy
            max_restarts = -1
            max_task_retries = -1
            intensity = 10
            period_ms = 10000
    counter
        service = counter
        address = counter/{node}
        policy
            max_restarts = -1
            intensity = 10
            period_ms = 10000
    chaos
        service = chaos
        address = chaos/{node}
        policy
            max_restarts = -1
            intensity = 20
            period_ms = 10000
            backoff_base_ms = 10
            backoff_max_ms = 2000
    #   The service of our own: examples/greeter/greeter.c, built by
    #   examples/greeter/Dockerfile into /opt/actors/bin/greeter.
    greeter
        service = greeter
        address = greeter/{node}
        args = ["hello"]
        policy
            max_restarts = -1
