"""Measuring helpers shared by the scenario modules."""

from __future__ import annotations

import os
import resource
import threading
import time
from typing import Callable, Sequence

from ._registry import Budget


class BenchError(RuntimeError):
    """A scenario saw a wrong result (a lost or duplicated value, a wrong prime...)."""


def seconds_per_op(step: Callable[[], None], ops_per_step: int, budget: Budget) -> float:
    """Call ``step`` (which does ``ops_per_step`` operations) until ``budget.seconds`` have
    passed, at least twice; return the mean seconds per operation.

    Time-bounded rather than count-bounded so that a peer that is 1000x slower
    (pygolang next to a busy thread) still finishes; the clock is read once per
    step, so its cost is spread over ``ops_per_step`` operations.
    """
    clock = time.perf_counter
    steps = 0
    start = clock()
    while True:
        step()
        steps += 1
        elapsed = clock() - start
        if steps >= 2 and elapsed >= budget.seconds:
            return elapsed / (steps * ops_per_step)


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0..100) of values, linearly interpolated between closest ranks."""
    if not values:
        raise ValueError("percentile of no values")
    xs = sorted(values)
    pos = (len(xs) - 1) * p / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def rss_bytes() -> int:
    """The process's resident set size now (Linux /proc/self/statm; else peak RSS from getrusage)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class Spinner:
    """A Python thread burning CPU (holding the GIL as much as the interpreter lets it)."""

    def __init__(self) -> None:
        self._running = True
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._spin, name="bench-spinner", daemon=True)

    def _spin(self) -> None:
        self._started.set()
        x = 0
        while self._running:
            x += 1

    def __enter__(self) -> "Spinner":
        self._thread.start()
        self._started.wait()
        return self

    def __exit__(self, *exc: object) -> None:
        self._running = False
        self._thread.join()
