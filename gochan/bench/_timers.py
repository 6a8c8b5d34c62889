"""Timer scenarios: lateness of one-shot timers, arming many at once, memory per timer.

Lateness = the monotonic time at which the receiver has the value, minus the
deadline; the deadline is taken as (monotonic time just before the timer was
armed) + duration, so the figure also counts the arming call and never
flatters a library. The queue columns use the standard library's natural
equivalent, ``threading.Timer(s, q.put, ...)`` (one thread per timer).
"""

from __future__ import annotations

import random
import threading
import time
from typing import Any, Callable

from ._libs import GOCHAN, GO_LIBS, PYGOLANG, QUEUES, GoLib, QueueLib
from ._registry import Budget, scenario
from ._util import percentile, rss_bytes

_THREAD_TIMER = "threading.Timer(s, q.put) + q.get(): one thread per timer"

TIMER_LATENCY = scenario(
    "timer_latency",
    "200 one-shot 10 ms timers, one at a time, each received by a blocked thread; lateness",
    metrics=(("p50", "ms"), ("p99", "ms")),
)
TIMER_STORM = scenario(
    "timer_storm_1000",
    "arm 1000 timers of 1-50 ms at once: cost to arm one, p99 lateness (received in deadline order)",
    metrics=(("arm", "us/timer"), ("p99", "ms")),
)
TIMER_MEMORY = scenario(
    "timer_memory",
    "RSS growth per pending after() timer, over 100k timers",
    unit="bytes/timer",
    fresh_process_per_repeat=True,
    warmup=False,
)


def _lateness_ms(late: list[float]) -> dict[str, float]:
    return {"p50": percentile(late, 50) * 1e3, "p99": percentile(late, 99) * 1e3}


# ---------------------------------------------------------------- one at a time


def _latency(wait_for_timer: Callable[[float], None], b: Budget) -> dict[str, float]:
    """wait_for_timer(s) arms an s-second one-shot timer and blocks until it is received."""
    duration = 0.010
    late = []
    clock = time.monotonic
    for _ in range(b.pick(200, 50, 5)):
        t0 = clock()
        wait_for_timer(duration)
        late.append(clock() - (t0 + duration))
    return _lateness_ms(late)


@TIMER_LATENCY.implement(GO_LIBS)
def _latency_go(lib: GoLib, b: Budget) -> dict[str, float]:
    return _latency(lambda s: lib.after(s).recv(), b)


@TIMER_LATENCY.implement(QUEUES, note=_THREAD_TIMER)
def _latency_queue(lib: QueueLib, b: Budget) -> dict[str, float]:
    q = lib.new(0)

    def wait_for_timer(s: float) -> None:
        threading.Timer(s, q.put, (None,)).start()
        q.get()

    return _latency(wait_for_timer, b)


# ---------------------------------------------------------------- a storm of timers

STORM = 1000


def _storm_durations() -> list[float]:
    rng = random.Random(1000)
    return [rng.uniform(0.001, 0.050) for _ in range(STORM)]


@TIMER_STORM.implement(GO_LIBS)
def _storm_go(lib: GoLib, b: Budget) -> dict[str, float]:
    durations = _storm_durations()
    clock, after = time.monotonic, lib.after
    armed_at = [0.0] * STORM
    chans: list[Any] = [None] * STORM
    t0 = clock()
    for i, d in enumerate(durations):
        armed_at[i] = clock()
        chans[i] = after(d)
    arm = (clock() - t0) / STORM
    deadlines = [a + d for a, d in zip(armed_at, durations)]
    late = []
    for i in sorted(range(STORM), key=deadlines.__getitem__):
        chans[i].recv()
        late.append(clock() - deadlines[i])
    return {"arm": arm * 1e6, "p99": percentile(late, 99) * 1e3}


@TIMER_STORM.implement(QUEUES, note=_THREAD_TIMER + "; values received in firing order")
def _storm_queue(lib: QueueLib, b: Budget) -> dict[str, float]:
    durations = _storm_durations()
    clock, q = time.monotonic, lib.new(0)
    armed_at = [0.0] * STORM
    t0 = clock()
    for i, d in enumerate(durations):
        armed_at[i] = clock()
        threading.Timer(d, q.put, (i,)).start()
    arm = (clock() - t0) / STORM
    late = []
    for _ in range(STORM):
        i = q.get()
        late.append(clock() - (armed_at[i] + durations[i]))
    return {"arm": arm * 1e6, "p99": percentile(late, 99) * 1e3}


# ---------------------------------------------------------------- memory

_HOUR = 3600.0


def _rss_per_timer(arm: Callable[[], Any], n: int) -> float:
    held: list[Any] = [None] * n
    before = rss_bytes()
    for i in range(n):
        held[i] = arm()
    return (rss_bytes() - before) / n


@TIMER_MEMORY.implement((GOCHAN,))
def _memory_gochan(lib: GoLib, b: Budget) -> float:
    return _rss_per_timer(lambda: lib.after(_HOUR), b.pick(100_000, 100_000, 2_000))


_THREADS_PER_TIMER = (
    "measured over 2k timers, since 100k threads exceed Linux's default limits (pid_max 32768, vm.max_map_count 65530)"
)


@TIMER_MEMORY.implement((PYGOLANG,), note="pygolang's after() starts a thread per timer; " + _THREADS_PER_TIMER)
def _memory_pygolang(lib: GoLib, b: Budget) -> float:
    return _rss_per_timer(lambda: lib.after(_HOUR), b.pick(2_000, 2_000, 200))


@TIMER_MEMORY.implement(QUEUES, note="a pending daemon threading.Timer (a thread per timer); " + _THREADS_PER_TIMER)
def _memory_queue(lib: QueueLib, b: Budget) -> float:
    q = lib.new(0)

    def arm() -> threading.Timer:
        t = threading.Timer(_HOUR, q.put, (None,))
        t.daemon = True  # the process exits after this one repeat, without waiting an hour
        t.start()
        return t

    return _rss_per_timer(arm, b.pick(2_000, 2_000, 200))
