"""Scaling scenarios: how a cost grows with the number of threads, of select cases, of pending timers.

Each measures one figure (or two) at every size of a series in one repeat,
so one cell gives a whole curve (``--plot`` draws them). The rows are
``scale_threads.n1`` ... ``scale_threads.n64`` and so on (see
``_registry.scaling``).

* ``scale_threads``: ``prodcons_4x4`` with 1 to 64 producer/consumer pairs
  (the same code, ``_channels.prodcons_go``/``prodcons_queue``).
* ``scale_select``: ``select64_blocking`` over 1 to 1024 channels (the same
  code, ``_select.blocking_select``). Fewer rounds at the large sizes, so
  that each size takes about as long as 64 channels do.
* ``scale_timers``: with N timers pending (10 to 100k, due in one to two
  hours, armed in random order), the cost to arm one of them (the median
  over several rounds of arming N at the small sizes: 10 arming calls take
  less time than one preemption), and the median lateness of 50 timers of
  5 ms armed and received one at a time beside them (as in
  ``timer_latency``). The pending timers are dropped between sizes.
  Queues and pygolang are n/a: one thread per timer cannot reach 100k.
"""

from __future__ import annotations

import gc
import random
import time
from typing import Any

from ._channels import PRODCONS_QUEUE_NOTE, prodcons_go, prodcons_queue
from ._libs import GOCHAN, GO_LIBS, PYGOLANG, QUEUES, GoLib, QueueLib
from ._registry import Budget, scaling, size_key
from ._select import blocking_select
from ._util import percentile

PAIRS = (1, 2, 4, 8, 16, 32, 64)
CASES = (1, 4, 16, 64, 256, 1024)
PENDING = (10, 100, 1_000, 10_000, 100_000)

SCALE_THREADS = scaling(
    "scale_threads",
    "prodcons_4x4 with 1 to 64 producer/consumer pairs (cap 64, 64k items per size); checks none lost or duplicated",
    axis="producer/consumer pairs",
    sizes=PAIRS,
    unit="ns/item",
)
SCALE_SELECT = scaling(
    "scale_select",
    "select64_blocking over 1 to 1024 unbuffered channels: one thread blocks in select, another sends to a random one",
    axis="channels in the select",
    sizes=CASES,
    unit="us/round",
)
SCALE_TIMERS = scaling(
    "scale_timers",
    "with 10 to 100k timers pending: cost to arm one; p50 lateness of a 5 ms timer received one at a time beside them",
    axis="pending timers",
    sizes=PENDING,
    figures=(("arm", "us/timer"), ("p50", "ms")),
)
SCALE_SELECT.not_applicable(QUEUES, "a queue has no select")
SCALE_TIMERS.not_applicable(
    QUEUES, "threading.Timer is a thread per timer: 100k pending threads exceed Linux's default limits (pid_max 32768)"
)
SCALE_TIMERS.not_applicable(
    (PYGOLANG,), "pygolang's after() starts a thread per timer: 100k pending threads exceed Linux's default limits"
)

# ---------------------------------------------------------------- threads


def _items(b: Budget) -> int:
    """Items per size: a multiple of every pair count."""
    return b.pick(64_000, 12_800, 640)


@SCALE_THREADS.implement(GO_LIBS)
def _scale_threads_go(lib: GoLib, b: Budget) -> dict[str, float]:
    return {size_key(p): prodcons_go(lib, _items(b), p) for p in PAIRS}


@SCALE_THREADS.implement(QUEUES, note=PRODCONS_QUEUE_NOTE)
def _scale_threads_queue(lib: QueueLib, b: Budget) -> dict[str, float]:
    return {size_key(p): prodcons_queue(lib, _items(b), p) for p in PAIRS}


# ---------------------------------------------------------------- select


def select_rounds(k: int, b: Budget) -> int:
    """Rounds at k channels: select64_blocking's count up to 64 channels, then fewer in proportion (at least 5)."""
    return max(5, b.pick(20_000, 4_000, 100) * 64 // max(64, k))


@SCALE_SELECT.implement(GO_LIBS)
def _scale_select(lib: GoLib, b: Budget) -> dict[str, float]:
    return {size_key(k): blocking_select(lib, k, select_rounds(k, b)) for k in CASES}


# ---------------------------------------------------------------- timers

PROBE_S = 0.005
HOUR = 3600.0


def probes(b: Budget) -> int:
    """How many 5 ms timers are timed at each size."""
    return b.pick(50, 20, 3)


def pending_durations(n: int) -> list[float]:
    """n durations between one and two hours, in random order (seeded: the same timers every run)."""
    rng = random.Random(n)
    return [HOUR + rng.random() * HOUR for _ in range(n)]


def arm_cycles(n: int, b: Budget) -> int:
    """How many times the n pending timers are armed at size n: enough arming calls at the small sizes
    (10 timers are armed in ~3 µs, less than one preemption) for a median to mean something."""
    return max(1, b.pick(10_000, 2_000, 200) // n)


@SCALE_TIMERS.implement((GOCHAN,))
def _scale_timers(lib: GoLib, b: Budget) -> dict[str, float]:
    out: dict[str, float] = {}
    clock, after = time.monotonic, lib.after
    for n in PENDING:
        durations = pending_durations(n)
        arms = []
        held: list[Any] = [None] * n
        for _ in range(arm_cycles(n, b)):
            held = [None] * n  # the previous cycle's timers are dropped, hence stopped
            t0 = clock()
            for i, d in enumerate(durations):
                held[i] = after(d)
            arms.append((clock() - t0) / n)
        out[size_key(n, "arm")] = percentile(arms, 50) * 1e6
        late = []
        for _ in range(probes(b)):  # beside the last cycle's n pending timers
            t0 = clock()
            after(PROBE_S).recv()
            late.append(clock() - (t0 + PROBE_S))
        out[size_key(n, "p50")] = percentile(late, 50) * 1e3
        del held  # unreferenced timers are collected (API.md), so the next size starts from none pending
        gc.collect()
    return out
