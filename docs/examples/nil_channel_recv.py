"""A receive from the nil channel blocks for ever: Go's deadlock report.

Go:
    package main

    func main() {
        var c chan bool
        <-c // blocks for ever
    }

    fatal error: all goroutines are asleep - deadlock!

    goroutine 1 [chan receive (nil chan)]:
    main.main()
    exit status 2

The twin of nil_channel_block.py (a send).  With a goroutine still working,
the same receive is not a deadlock yet: gochan, like Go, reports it only
once no thread could ever wake the main one.  Here the worker finishes its
sum and returns, and then nothing is left.
"""

from __future__ import annotations

from gochan import Chan, go, nilchan


def main() -> None:
    results: Chan[int] = Chan(1)
    go(lambda: results.send(sum(range(1_000_000))))
    print("the worker's sum:", results.recv())
    print("receiving from the nil channel")
    nilchan.recv()  # blocks for ever: once the worker is gone, a deadlock
    print("never printed")


if __name__ == "__main__":
    main()
