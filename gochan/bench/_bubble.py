"""The gochan.testing scenario: a one-hour timeout inside a bubble.

``bubble_hour_timeout``: ``gochan.testing.run`` of a goroutine that waits on
``after(3600)`` while the bubble's first goroutine waits for it; the figure
is the real time one such run takes (creating the bubble, starting the
goroutine thread, jumping the virtual clock by an hour, the exit of both).
No peer has virtual time for threads, and the Go column's toolchain (Go 1.19)
predates testing/synctest (Go 1.24), so those columns are n/a.
"""

from __future__ import annotations

import time
from typing import Any

from ._libs import GO, GOCHAN, PYGOLANG, QUEUES
from ._registry import Budget, scenario

BUBBLE_HOUR = scenario(
    "bubble_hour_timeout",
    "gochan.testing.run: a goroutine waits on after(3600) in a bubble; real time per run",
    unit="ms/run",
)
BUBBLE_HOUR.not_applicable(QUEUES + (PYGOLANG,), "no virtual time for threads (Go's testing/synctest)")
BUBBLE_HOUR.not_applicable((GO,), "testing/synctest needs Go 1.24+; the reference toolchain is Go 1.19")


@BUBBLE_HOUR.implement((GOCHAN,))
def _hour(lib: Any, b: Budget) -> float:
    import gochan
    from gochan import testing

    def body() -> float:
        done: gochan.Chan[float] = gochan.Chan()
        lib.go(lambda: done.send(gochan.after(3600).recv()))
        return done.recv()

    n = b.pick(200, 50, 3)
    t0 = time.perf_counter()
    for _ in range(n):
        if testing.run(body) != 3600.0:
            raise AssertionError("the timer did not fire at virtual time 3600")
    return (time.perf_counter() - t0) / n * 1e3
