"""Test timeouts and heartbeats on virtual time: gochan.testing.run.

Go (1.25):
    synctest.Test(t, func(t *testing.T) {
        ctx, cancel := context.WithTimeout(t.Context(), time.Hour)
        ...
        synctest.Wait()           // every goroutine is blocked
        time.Sleep(time.Hour)     // takes no real time
    })

Inside a bubble the clock starts at 0 and jumps to the next timer whenever
every goroutine of the bubble is durably blocked, so an hour-long timeout
or a day of heartbeats runs in milliseconds, and every time is exact.  A
bubble in which nothing can ever happen again is a deadlock: the blocked
calls and run() raise gochan.Deadlock, naming what each goroutine waits for.
"""

from __future__ import annotations

import time

import gochan
from gochan import Chan, Deadlock, RecvChan, SendChan, after, go, select, testing, tick


def call(server: SendChan[SendChan[str]], timeout: float) -> str:
    """Ask the server and wait at most `timeout` seconds for its answer."""
    reply: Chan[str] = Chan(1)
    server.send(reply)
    i, v = select(reply.recv, after(timeout).recv)
    return v if i == 0 else f"timed out at t={gochan.now():g} s"


def slow_server(requests: RecvChan[SendChan[str]], delay: float, done: SendChan[None]) -> None:
    for reply in requests:
        gochan.sleep(delay)
        reply.send(f"answer at t={gochan.now():g} s")
    done.close()


def timeouts() -> None:
    requests: Chan[SendChan[str]] = Chan()
    done: Chan[None] = Chan()
    go(slow_server, requests, 1800, done)    # answers after half an hour
    print("one-hour timeout:", call(requests, timeout=3600))
    print("ten-minute timeout:", call(requests, timeout=600))
    requests.close()
    done.recv()  # run() would call a server still asleep a leak: a Deadlock
    print(f"server stopped at t={gochan.now():g} s")


def heartbeat() -> None:
    beats = tick(30)
    day = after(24 * 3600 + 1)   # just after the last tick: never a tie
    n = 0
    while select(beats.recv, day.recv)[0] == 0:
        n += 1
    print(f"heartbeats in a day: {n}, clock: {gochan.now():g} s")


def wait_until_blocked() -> None:
    inbox: Chan[int] = Chan()
    got: list[int] = []

    def worker() -> None:
        for v in inbox:
            got.append(v)

    go(worker)
    inbox.send(1)
    testing.wait()                           # the worker is blocked again
    print("after wait(), the worker has handled:", got)
    inbox.close()


def forgotten_sender() -> None:
    results: Chan[int] = Chan()
    go(lambda: None)                         # was meant to send on results
    results.recv()


def main() -> None:
    start = time.monotonic()
    testing.run(timeouts)
    testing.run(heartbeat)
    testing.run(wait_until_blocked)
    try:
        testing.run(forgotten_sender)
    except Deadlock as e:
        print(str(e).splitlines()[0])
        print("   ", str(e).splitlines()[1].split(": ", 1)[1])
    print("all of it in under a minute of real time:", time.monotonic() - start < 60)


if __name__ == "__main__":
    main()
