"""select scenarios. A queue has no select (waiting on several queues at once is
not something the queue module offers), so the queue columns are n/a.

The case tuple is built once and passed with ``select(*cases)``: the figure is
the select call, not the creation of bound methods.
"""

from __future__ import annotations

import random
import time

from ._libs import GO_LIBS, QUEUES, GoLib
from ._registry import Budget, scenario
from ._util import BenchError, seconds_per_op

_NO_SELECT = "a queue has no select"

SELECT2_READY = scenario(
    "select2_ready",
    "select over 2 buffered channels that both hold values",
    unit="ns/select",
)
SELECT8_DEFAULT = scenario(
    "select8_default",
    "non-blocking select over 8 empty channels + default",
    unit="ns/select",
)
SELECT64_BLOCKING = scenario(
    "select64_blocking",
    "one thread blocks in select over 64 unbuffered channels, another sends to a random one",
    unit="us/round",
)
for _sc in (SELECT2_READY, SELECT8_DEFAULT, SELECT64_BLOCKING):
    _sc.not_applicable(QUEUES, _NO_SELECT)


@SELECT2_READY.implement(GO_LIBS)
def _select2_ready(lib: GoLib, b: Budget) -> float:
    batch = 512
    c1, c2 = lib.chan(batch), lib.chan(batch)
    cases = (c1.recv, c2.recv)
    select, selects = lib.select, range(batch)
    elapsed = 0.0
    clock = time.perf_counter
    rounds = 0
    # Each round tops both channels up to `batch` values (untimed), then times
    # `batch` selects: a channel cannot run dry within a round, so both cases
    # stay ready throughout.
    while rounds < 2 or elapsed < b.seconds:
        for c in (c1, c2):
            for _ in range(batch - len(c)):
                c.send(0)
        t0 = clock()
        for _ in selects:
            select(*cases)
        elapsed += clock() - t0
        rounds += 1
    return elapsed / (rounds * batch) * 1e9


@SELECT8_DEFAULT.implement(GO_LIBS)
def _select8_default(lib: GoLib, b: Budget) -> float:
    cases = tuple(lib.chan(0).recv for _ in range(8)) + (lib.default,)
    select, hundred = lib.select, range(100)

    def step() -> None:
        for _ in hundred:
            select(*cases)

    if select(*cases)[0] != 8:
        raise BenchError("select8_default: an empty channel was ready")
    return seconds_per_op(step, 100, b) * 1e9


def blocking_select(lib: GoLib, k: int, n: int) -> float:
    """us per round: one thread blocks n times in select over k unbuffered channels, the caller
    sends each round's value to a random one of them; checks each value came from its case."""
    chans = [lib.chan(0) for _ in range(k)]
    cases = tuple(c.recv for c in chans)
    targets = [random.randrange(k) for _ in range(n)]
    finished = lib.chan(1)

    def selector() -> None:
        select = lib.select
        wrong = 0
        for _ in range(n):
            i, v = select(*cases)
            wrong += i != v
        finished.send(wrong)

    lib.go(selector)
    t0 = time.perf_counter()
    for i in targets:
        chans[i].send(i)
    elapsed = time.perf_counter() - t0
    if finished.recv() != 0:
        raise BenchError(f"blocking select over {k} channels: select returned a value from another case")
    return elapsed / n * 1e6


@SELECT64_BLOCKING.implement(GO_LIBS)
def _select64_blocking(lib: GoLib, b: Budget) -> float:
    return blocking_select(lib, 64, b.pick(20_000, 4_000, 100))
