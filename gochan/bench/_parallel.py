"""``parallel_pipeline``: what free-threaded CPython buys a channel program.

Four workers each do ~50 us of pure-Python work per item (a fixed loop, the
same in every cell), fed by one thread through a channel (capacity 64) and
drained through another; the main thread collects. Beside it, the same four workers do the same work with no channel
at all: the physical limit of this interpreter and machine. Figures, per
item: ``pipeline`` (us), ``limit`` (us, the no-channel workers) and
``efficiency`` (limit / pipeline: 1.0 means the channels cost nothing).

With the GIL, four threads of Python work cannot beat one, so the pipeline's
figure is about 4x the work; on a free-threaded interpreter with the GIL off
both figures drop with the number of CPUs. The table's header says which
interpreter ran and whether its GIL was on.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable

from ._libs import GO_LIBS, QUEUES, GoLib, QueueLib
from ._registry import Budget, scenario

PARALLEL = scenario(
    "parallel_pipeline",
    "4 workers x ~50 us of Python work per item, through channels; beside the same work with no channel",
    metrics=(("pipeline", "us/item"), ("limit", "us/item"), ("efficiency", "x of limit")),
)

WORKERS = 4
#: Iterations of _work per item: ~50 us on free-threaded 3.13 on the 2-CPU
#: CI machine (~38 us on 3.11 there).  Fixed, not calibrated, so that every
#: cell (each a fresh process) and both GIL modes do the same work: a
#: calibration on a shared machine varied by 1.6x between processes, which
#: made one cell's figures incomparable with the next one's.
WORK_LOOP = 700
STOP = object()


def _work(k: int) -> int:
    """Pure-Python work: a loop of k iterations (WORK_LOOP per item)."""
    acc = 0
    for i in range(k):
        acc = (acc + i * i) % 1000003
    return acc


def _loop_length() -> int:
    """The loop length of one item's work."""
    return WORK_LOOP


def _limit(n: int, k: int) -> float:
    """Seconds for WORKERS threads to do n items of work between them, no channel."""
    share = [n // WORKERS + (1 if w < n % WORKERS else 0) for w in range(WORKERS)]
    start = threading.Barrier(WORKERS + 1)

    def worker(m: int) -> None:
        start.wait()
        for _ in range(m):
            _work(k)

    ts = [threading.Thread(target=worker, args=(m,), daemon=True) for m in share]
    for t in ts:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in ts:
        t.join()
    return time.perf_counter() - t0


def _timed_pipeline(n: int, k: int, feed: Callable[[], None], worker: Callable[[], None],
                    take: Callable[[], Any]) -> dict[str, float]:
    """Start WORKERS workers and the feeder, take n results, then measure the limit."""
    t0 = time.perf_counter()
    ws = [threading.Thread(target=worker, daemon=True) for _ in range(WORKERS)]
    for w in ws:
        w.start()
    threading.Thread(target=feed, daemon=True).start()
    for _ in range(n):
        take()
    pipeline_s = time.perf_counter() - t0
    for w in ws:
        w.join()
    limit_s = _limit(n, k)
    return {"pipeline": pipeline_s / n * 1e6, "limit": limit_s / n * 1e6, "efficiency": limit_s / pipeline_s}


@PARALLEL.implement(GO_LIBS)
def _parallel_go(lib: GoLib, b: Budget) -> dict[str, float]:
    n = b.pick(8000, 2000, 40)
    k = _loop_length()
    jobs, results = lib.chan(64), lib.chan(64)

    def feed() -> None:
        for i in range(n):
            jobs.send(i)
        jobs.close()

    def worker() -> None:
        while True:
            v, ok = lib.recv_ok(jobs)()
            if not ok:
                return
            _work(k)
            results.send(v)

    return _timed_pipeline(n, k, feed, worker, results.recv)


@PARALLEL.implement(QUEUES, note="a sentinel per worker ends the stream; SimpleQueue is unbounded")
def _parallel_queue(lib: QueueLib, b: Budget) -> dict[str, float]:
    n = b.pick(8000, 2000, 40)
    k = _loop_length()
    jobs, results = lib.new(64), lib.new(64)

    def feed() -> None:
        for i in range(n):
            jobs.put(i)
        for _ in range(WORKERS):
            jobs.put(STOP)

    def worker() -> None:
        while True:
            v: Any = jobs.get()
            if v is STOP:
                return
            _work(k)
            results.put(v)

    return _timed_pipeline(n, k, feed, worker, results.get)
