#   config/node.zpl - a node running the example services.
#   actors-supervisor --config config/node.zpl [--broker EP] [--node NAME]
#   Format: ZPL (ZeroMQ RFC 4); see supervisor/config.h for every key.
supervisor
    node = local
    services = billing      # what a SPAWN may run besides the entries below
actor
    account
        service = account
        address = account/1
        args = [100, 20]
        policy
            max_restarts = 5
            intensity = 5
            period_ms = 10000
    counter
        service = counter
        address = counter/1
        policy
            max_restarts = -1
            intensity = 10
            period_ms = 10000
    chaos
        service = chaos
        address = chaos/{i}
        replicas = 2
        policy
            max_restarts = -1
            backoff_base_ms = 10
            backoff_max_ms = 2000
#   Groups restart together, by OTP's strategies: one_for_one (default),
#   one_for_all (every member), rest_for_one (the crashed one and those
#   declared after it).
group
    chaos-pair
        strategy = one_for_all
        members = chaos
