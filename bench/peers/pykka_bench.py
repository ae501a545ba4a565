#!/usr/bin/python3
"""bench/peers/pykka_bench.py - the sequential, pipelined and tell workloads
on a Pykka ThreadingActor (in-process threads: no sockets, no processes).

Prints one JSON object: {"peer": "pykka", "version", "figures": {...}}.
"""
import pykka

import peerlib


class Echo(pykka.ThreadingActor):
    def on_receive(self, message):
        return message


def main():
    seconds = peerlib.seconds_from_argv()
    ref = Echo.start()
    try:
        out = peerlib.run_all(
            "pykka", pykka.__version__,
            call=lambda x: ref.ask(x),
            send=lambda x: ref.ask(x, block=False),
            wait=lambda f: f.get(),
            tell=lambda x: ref.tell(x),
            seconds=seconds)
    finally:
        pykka.ActorRegistry.stop_all()
    out["note"] = "ThreadingActor, ask/tell, same process"
    peerlib.emit(out)


if __name__ == "__main__":
    main()
