"""Garbage collection of timers (API.md, "Timers nobody references any more
are garbage-collected without stop() (Go 1.23), pending or not"; issue 3).

Go's TestTimerGC counts live allocations after creating many timers and
dropping them; here the same is measured three ways: the core's timer heap
(``gochan._native.timers_in_heap()``), tracemalloc (Python objects) and
glibc's malloc statistics (the C structures behind each timer).

An ``after_func`` timer is the exception: Go keeps it alive until it has run
or been stopped, so dropping it must not cancel it, and once it has run it is
freed like the others.
"""
import ctypes
import gc
import random
import threading
import time
import tracemalloc
import weakref

import pytest

from gochan import Chan, Ticker, Timer, after, after_func, select, tick
from gochan import _native

from conftest import SOON, spawn, wait_parked, wait_until

pytestmark = pytest.mark.no_leftover_goroutines

N = 30000
LONG = 3600
# Allowed growth after N timers were made and dropped.  A leak of one C
# timer structure per timer is ~N * 90 bytes (2.7 MB); of one Chan object,
# more still.
MALLOC_SLACK = 256 * 1024
TRACED_SLACK = 64 * 1024
# Once an after_func has run, how long freeing it may take (nothing to wait for).
FREED = 3.0


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                 "fsmblks", "uordblks", "fordblks", "keepcost")]


_libc = ctypes.CDLL(None)
_libc.mallinfo2.restype = _MallInfo2
_libc.mallinfo2.argtypes = []


def malloc_in_use():
    """Bytes handed out by malloc now (all arenas), plus mmapped blocks."""
    mi = _libc.mallinfo2()
    return mi.uordblks + mi.hblkhd


def collect():
    for _ in range(3):
        gc.collect()


@pytest.fixture(scope="module", autouse=True)
def warm_up():
    """Start after_func's dispatcher and grow the timer heap to N entries
    once, so that one-time allocations do not count as growth below."""
    done = threading.Event()
    after_func(0, done.set)
    assert done.wait(SOON)
    keep = [after(LONG) for _ in range(N + 10)]
    del keep
    collect()
    yield


def _stopped_after_func():
    t = after_func(LONG, print, "never")
    t.stop()
    return t


def _fired_timer():
    return Timer(0)             # its value waits in the channel, unreceived


def _reset_timer():
    t = Timer(LONG)
    t.reset(LONG / 2)
    return t


# (name, factory, how many of the N are in the timer heap while referenced)
KINDS = [
    ("after", lambda: after(LONG), 1),
    ("tick", lambda: tick(LONG), 1),
    ("Timer", lambda: Timer(LONG), 1),
    ("Ticker", lambda: Ticker(LONG), 1),
    ("Timer.reset", _reset_timer, 1),
    ("Timer.stop", lambda: _stopped(Timer(LONG)), 0),
    ("Ticker.stop", lambda: _stopped(Ticker(LONG)), 0),
    ("Timer(0) fired, unreceived", _fired_timer, 0),
    ("after_func.stop", _stopped_after_func, 0),
    ("after(inf)", lambda: after(float("inf")), None),
]


def _stopped(t):
    t.stop()
    return t


@pytest.mark.parametrize("name,make,in_heap", KINDS, ids=[k[0] for k in KINDS])
def test_dropping_many_timers_frees_them(name, make, in_heap):
    collect()
    heap0 = _native.timers_in_heap()
    mem0 = malloc_in_use()

    timers = [make() for _ in range(N)]
    if in_heap is not None:
        assert _native.timers_in_heap() == heap0 + in_heap * N
    del timers
    collect()
    assert _native.timers_in_heap() == heap0, "dropped %s timers stayed in the heap" % name
    grown = malloc_in_use() - mem0
    assert grown < MALLOC_SLACK, "%d bytes of C memory kept after dropping %d %s timers" % (
        grown, N, name)

    tracemalloc.start()
    try:
        traced0 = tracemalloc.get_traced_memory()[0]
        timers = [make() for _ in range(N)]
        del timers
        collect()
        traced = tracemalloc.get_traced_memory()[0] - traced0
    finally:
        tracemalloc.stop()
    assert traced < TRACED_SLACK, "%d bytes of Python objects kept after dropping %d %s" % (
        traced, N, name)
    assert _native.timers_in_heap() == heap0


def test_dropping_timers_one_by_one_frees_them():
    # Go's TestTimerGC shape: create and drop at once, many times over
    collect()
    heap0, mem0 = _native.timers_in_heap(), malloc_in_use()
    for _ in range(N // 3):
        after(LONG)
        Timer(LONG)
        Ticker(LONG).stop()
    collect()
    assert _native.timers_in_heap() == heap0
    assert malloc_in_use() - mem0 < MALLOC_SLACK


def test_weakref_to_dropped_timer_dies():
    collect()
    heap0 = _native.timers_in_heap()
    for make in (lambda: Timer(LONG), lambda: Ticker(LONG), lambda: Timer(0)):
        t = make()
        r, rc = weakref.ref(t), weakref.ref(t.c)
        del t
        collect()
        assert r() is None
        assert rc() is None
    c = after(LONG)
    rc = weakref.ref(c)
    del c
    collect()
    assert rc() is None
    assert _native.timers_in_heap() == heap0


def test_timer_in_a_reference_cycle_is_collected():
    collect()
    heap0 = _native.timers_in_heap()
    cycle = [Timer(LONG), Ticker(LONG), after(LONG)]
    cycle.append(cycle)
    r = weakref.ref(cycle[0])
    del cycle
    collect()
    assert r() is None
    assert _native.timers_in_heap() == heap0


def test_timer_somebody_waits_on_is_not_collected():
    # nothing but the blocked receive references these channels
    before = time.monotonic()
    r1 = spawn(lambda: after(0.1).recv(timeout=SOON))
    ch = Chan()
    r2 = spawn(lambda: select(ch.recv, Timer(0.1).c.recv, timeout=SOON))
    time.sleep(0.02)
    collect()
    assert r1.result() >= before + 0.1
    i, v = r2.result()
    assert i == 1 and v >= before + 0.1


def test_dropped_ticker_stops_ticking():
    collect()
    heap0 = _native.timers_in_heap()
    tk = Ticker(0.001)
    tk.c.recv(timeout=SOON)
    r = weakref.ref(tk)
    del tk
    collect()
    assert r() is None
    assert _native.timers_in_heap() == heap0


class _Payload:
    pass


def test_dropped_after_func_still_runs_then_is_freed():
    collect()
    heap0 = _native.timers_in_heap()
    ran = Chan(1)
    payload = _Payload()
    alive = weakref.ref(payload)
    t = after_func(0.3, lambda p: ran.send(type(p).__name__), payload)
    del payload, t
    collect()
    # Go keeps an armed AfterFunc alive: not freed, not cancelled
    assert alive() is not None
    assert _native.timers_in_heap() == heap0 + 1
    assert ran.recv(timeout=SOON) == "_Payload"
    # it has run: nothing keeps it any more
    wait_until(lambda: collect() or alive() is None, timeout=FREED,
               what="the fired after_func's arguments to be freed")
    assert _native.timers_in_heap() == heap0


def _after_func_in_a_cycle(seconds, out):
    """An after_func whose fn references (through a holder) its own Timer:
    chan -> fn -> holder -> Timer -> chan.  Returns weak references to the
    holder and the Timer."""
    holder = _Payload()

    def fn():
        out.send(holder.timer.stop())     # stop() of a running after_func: False

    holder.timer = after_func(seconds, fn)
    return weakref.ref(holder), weakref.ref(holder.timer)


def test_armed_after_func_in_a_cycle_survives_collection_and_runs():
    collect()
    heap0 = _native.timers_in_heap()
    ran = Chan(1)
    holder, timer = _after_func_in_a_cycle(0.2, ran)
    collect()
    assert holder() is not None and timer() is not None
    assert ran.recv(timeout=SOON) is False
    wait_until(lambda: collect() or timer() is None, timeout=FREED,
               what="the fired after_func's Timer to be freed")
    assert holder() is None
    assert _native.timers_in_heap() == heap0


def test_stopped_after_func_in_a_cycle_is_collected():
    collect()
    heap0 = _native.timers_in_heap()
    ran = Chan(1)
    holder, timer = _after_func_in_a_cycle(LONG, ran)
    assert timer().stop() is True
    collect()
    assert holder() is None and timer() is None
    assert _native.timers_in_heap() == heap0
    with pytest.raises(TimeoutError):
        ran.recv(timeout=0.05)


def test_dropped_armed_after_funcs_all_run():
    collect()
    heap0 = _native.timers_in_heap()
    n = 200
    ran = Chan(n)
    for i in range(n):
        after_func(random.uniform(0.001, 0.05), ran.send, i)
    collect()
    got = {ran.recv(timeout=SOON) for _ in range(n)}
    assert got == set(range(n))
    wait_until(lambda: _native.timers_in_heap() == heap0, what="the heap to empty")


def test_drop_racing_the_timer_thread():
    # Timers freed while the timer thread is firing them: no crash, nothing left.
    collect()
    heap0 = _native.timers_in_heap()
    rnd = random.Random(7)
    deadline = time.monotonic() + 1.0
    made = 0
    keep = []
    while time.monotonic() < deadline or made < 5000:
        d = rnd.random() * 0.0005
        kind = made % 4
        if kind == 0:
            after(d)
        elif kind == 1:
            keep.append(Timer(d))
        elif kind == 2:
            keep.append(Ticker(d + 1e-6))
        else:
            tick(d + 1e-6)
        if len(keep) > 50:
            del keep[:rnd.randrange(len(keep))]
        made += 1
    del keep
    collect()
    assert _native.timers_in_heap() == heap0
