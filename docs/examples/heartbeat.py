"""A heartbeat with tick(): a periodic case in a for/select loop.

Go:
    func worker(start chan bool) {
        heartbeat := time.Tick(30 * time.Second)
        for {
            select {
            // ... do some stuff
            case <-heartbeat:
                // ... do heartbeat stuff
            }
        }
    }

tick(s) returns a channel that delivers the time every s seconds.  A tick
the worker is too busy to take is dropped, not queued, so a late worker
sees one tick, not a burst.  As in Go 1.23, a ticker nobody references any
more is garbage-collected: the worker needs no cleanup when it returns.
"""

from __future__ import annotations

import time

from gochan import Chan, RecvChan, SendChan, default, go, select, tick

PERIOD = 0.02  # seconds between heartbeats


def worker(
    jobs: RecvChan[int],
    status: SendChan[tuple[int, int]],
    die: RecvChan[None],
    done: SendChan[str],
) -> None:
    started = time.monotonic()  # before tick(): no tick can predate it
    heartbeat = tick(PERIOD)
    handled = beats = 0
    while True:
        i, _ = select(jobs.recv, heartbeat.recv, die.recv)
        if i == 0:  # ... do some stuff
            handled += 1
        elif i == 1:  # ... do heartbeat stuff: publish our status
            beats += 1
            # Never block on the monitor: if it has not taken the last
            # status yet, drop this one.
            select((status.send, (beats, handled)), default)
        else:
            break
    # Ticks are dropped, never queued: at most one per period.
    elapsed = time.monotonic() - started
    ok = 3 <= beats <= elapsed / PERIOD + 1
    done.send(f"worker: stopped after {handled} jobs, heartbeat count plausible: {ok}")


def main() -> None:
    jobs: Chan[int] = Chan()
    status: Chan[tuple[int, int]] = Chan(1)
    die: Chan[None] = Chan()
    done: Chan[str] = Chan()
    go(worker, jobs, status, die, done)

    for n in range(5):
        jobs.send(n)

    # The monitor: wait until the worker's heartbeat shows it alive and
    # done with all five jobs, and has beaten at least three times.
    while True:
        beats, handled = status.recv(timeout=30)
        if beats >= 3 and handled == 5:
            break
    print("monitor: worker is alive and has handled 5 jobs")

    die.close()
    print(done.recv(timeout=30))


if __name__ == "__main__":
    main()
