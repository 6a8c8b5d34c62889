"""Wait for an event by closing a channel.

Go:
    c := make(chan bool)
    go func() { /* ... do some stuff */ close(c) }()
    /* ... do some other stuff */
    <-c

Closing a channel is a broadcast that carries no value: every receive on a
closed channel returns at once, so the waiter needs no value and the closer
needs to know nothing about who waits.
"""

from __future__ import annotations

from gochan import Chan, go


def main() -> None:
    done: Chan[None] = Chan()
    result: list[int] = []

    def work() -> None:
        result.append(sum(range(1_000_001)))
        done.close()  # the event: "work is finished"

    go(work)
    print("main: waiting for the worker")
    done.recv()  # blocks until done is closed
    print("main: the worker finished, sum =", result[0])

    # A closed channel stays "ready" for ever: later waiters return at once,
    # and recv_ok() tells them the channel is closed rather than a value.
    print("waiting again returns at once:", done.recv_ok())


if __name__ == "__main__":
    main()
