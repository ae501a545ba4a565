#!/usr/bin/python3
"""bench/peers/dask_bench.py - the sequential and pipelined workloads on a
Dask distributed actor (client.submit(Echo, actor=True)) living in a
separate worker process of a LocalCluster. Dask actors have no one-way
message, so tells_per_s is absent (n/a in the table).

Prints one JSON object: {"peer": "dask", "version", "figures": {...}}.
"""
import logging
import warnings

import peerlib


class Echo:
    def echo(self, x):
        return x


def main():
    seconds = peerlib.seconds_from_argv()
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    import distributed
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                           dashboard_address=None)
    client = Client(cluster)
    try:
        actor = client.submit(Echo, actor=True).result()
        out = peerlib.run_all(
            "dask", distributed.__version__,
            call=lambda x: actor.echo(x).result(),
            send=lambda x: actor.echo(x),
            wait=lambda f: f.result(),
            tell=None,
            seconds=seconds)
    finally:
        client.close()
        cluster.close()
    out["note"] = "LocalCluster, 1 worker process, actor=True"
    peerlib.emit(out)


if __name__ == "__main__":
    main()
