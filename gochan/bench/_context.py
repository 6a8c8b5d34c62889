"""Context scenarios: arming and cancelling a deadline, memory per pending
deadline, and cancelling a tree.

* ``context_timeout_cancel``: ``with_timeout(background(), 1 h)`` then its
  ``cancel()``, in a loop; the cost of guarding one operation with a deadline.
* ``context_memory``: RSS growth per pending ``with_timeout`` context, the
  context and its cancel function held, over 100k of them.
* ``context_cancel_tree``: a tree of 1000 contexts (node i's parent is node
  (i - 1) // 10), every ``done()`` channel asked for beforehand; time from
  ``cancel()`` of the root until every ``done()`` has been received from.

The standard library's queues have no contexts, so those columns are n/a.
"""

from __future__ import annotations

from typing import Any

from ._libs import GOCHAN, PYGOLANG, QUEUES, GoLib
from ._registry import Budget, scenario
from ._util import BenchError, rss_bytes, seconds_per_op

CONTEXT_TIMEOUT_CANCEL = scenario(
    "context_timeout_cancel",
    "with_timeout(background(), 1 h) and its cancel(), in a loop",
    unit="us/context",
)
CONTEXT_MEMORY = scenario(
    "context_memory",
    "RSS growth per pending with_timeout(background(), 1 h) context (context and cancel held), over 100k",
    unit="bytes/context",
    fresh_process_per_repeat=True,
    warmup=False,
)
CONTEXT_CANCEL_TREE = scenario(
    "context_cancel_tree",
    "cancel the root of a 10-ary tree of 1000 contexts; until every done() is received from",
    unit="us/tree",
)
_NO_CONTEXT = "the standard library's queues have no cancellation contexts"
_PYGOLANG = "pygolang's golang.context is not wired into this bench"
for _sc in (CONTEXT_TIMEOUT_CANCEL, CONTEXT_MEMORY, CONTEXT_CANCEL_TREE):
    _sc.not_applicable(QUEUES, _NO_CONTEXT)
    _sc.not_applicable((PYGOLANG,), _PYGOLANG)

_HOUR = 3600.0
TREE = 1000
FANOUT = 10


@CONTEXT_TIMEOUT_CANCEL.implement((GOCHAN,))
def _timeout_cancel(lib: GoLib, b: Budget) -> float:
    from gochan import context

    bg, with_timeout = context.background(), context.with_timeout

    def step() -> None:
        for _ in range(100):
            _, cancel = with_timeout(bg, _HOUR)
            cancel()

    return seconds_per_op(step, 100, b) * 1e6


@CONTEXT_MEMORY.implement((GOCHAN,))
def _memory(lib: GoLib, b: Budget) -> float:
    from gochan import context

    bg, with_timeout = context.background(), context.with_timeout
    n = b.pick(100_000, 100_000, 2_000)
    held: list[Any] = [None] * n
    before = rss_bytes()
    for i in range(n):
        held[i] = with_timeout(bg, _HOUR)
    grown = rss_bytes() - before
    if context._pending_deadlines() < n:
        raise BenchError("context_memory: a pending context left the deadline heap")
    return grown / n


@CONTEXT_CANCEL_TREE.implement((GOCHAN,))
def _cancel_tree(lib: GoLib, b: Budget) -> float:
    import time

    from gochan import context

    clock = time.perf_counter
    total = 0.0
    trees = b.pick(100, 20, 2)
    for _ in range(trees):
        root, cancel = context.with_cancel(context.background())
        nodes = [root]
        cancels = [cancel]
        for i in range(1, TREE):
            c, k = context.with_cancel(nodes[(i - 1) // FANOUT])
            nodes.append(c)
            cancels.append(k)
        dones = [c.done() for c in nodes]
        t0 = clock()
        cancel()
        for d in dones:
            d.recv()
        total += clock() - t0
        if any(c.err() is None for c in nodes):
            raise BenchError("context_cancel_tree: a context is not done")
    return total / trees * 1e6
