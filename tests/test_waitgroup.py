"""go() and WaitGroup (API.md, section "Threads")."""
import threading
import time

import pytest

from gochan import Chan, WaitGroup, go

from conftest import SOON, spawn, wait_threads_parked

pytestmark = pytest.mark.no_leftover_goroutines


# --- go ---------------------------------------------------------------------

def test_go_returns_started_daemon_thread():
    c = Chan(1)
    t = go(c.send, "ran", timeout=SOON)
    assert isinstance(t, threading.Thread)
    assert t.daemon
    assert c.recv(timeout=SOON) == "ran"
    t.join(SOON)
    assert not t.is_alive()


def test_go_passes_args_and_kwargs():
    out = Chan(1)

    def f(a, b, *, c):
        out.send((a, b, c), timeout=SOON)

    t = go(f, 1, 2, c=3)
    assert out.recv(timeout=SOON) == (1, 2, 3)
    t.join(SOON)


def test_go_runs_concurrently():
    start = Chan()
    results = Chan(10)
    ts = [go(lambda i=i: (start.recv(timeout=SOON), results.send(i, timeout=SOON))) for i in range(10)]
    wait_threads_parked(10)
    start.close()
    got = sorted(results.recv(timeout=SOON) for _ in range(10))
    assert got == list(range(10))
    for t in ts:
        t.join(SOON)


# --- WaitGroup --------------------------------------------------------------

def test_wait_with_zero_counter_returns_true_at_once():
    wg = WaitGroup()
    assert wg.wait() is True
    assert wg.wait(timeout=0) is True


def test_add_done_wait():
    wg = WaitGroup()
    n = 8
    wg.add(n)
    done = []
    lock = threading.Lock()

    def worker(i):
        with lock:
            done.append(i)
        wg.done()

    ts = [go(worker, i) for i in range(n)]
    assert wg.wait(timeout=SOON) is True
    # wait() returning means every done() happened, and what came before it.
    assert sorted(done) == list(range(n))
    for t in ts:
        t.join(SOON)


def test_wait_blocks_until_counter_zero():
    wg = WaitGroup()
    wg.add(2)
    w = spawn(wg.wait, timeout=SOON)
    wg.done()
    time.sleep(0.05)
    assert not w.finished.is_set()
    wg.done()
    assert w.result() is True


def test_wait_timeout():
    wg = WaitGroup()
    wg.add(1)
    t0 = time.monotonic()
    with pytest.raises(TimeoutError):
        wg.wait(timeout=0.1)
    assert time.monotonic() - t0 >= 0.09
    with pytest.raises(TimeoutError):
        wg.wait(timeout=0)
    wg.done()
    assert wg.wait(timeout=0) is True


def test_several_waiters_released():
    wg = WaitGroup()
    wg.add(1)
    ws = [spawn(wg.wait, timeout=SOON) for _ in range(5)]
    time.sleep(0.02)
    wg.done()
    for w in ws:
        assert w.result() is True


def test_add_many_then_negative_add():
    wg = WaitGroup()
    wg.add(3)
    wg.add(-2)
    with pytest.raises(TimeoutError):
        wg.wait(timeout=0)
    wg.add(-1)
    assert wg.wait(timeout=0) is True


def test_negative_counter_done():
    wg = WaitGroup()
    with pytest.raises(ValueError) as ei:
        wg.done()
    assert str(ei.value) == "negative WaitGroup counter"


def test_negative_counter_add():
    wg = WaitGroup()
    wg.add(1)
    with pytest.raises(ValueError) as ei:
        wg.add(-2)
    assert str(ei.value) == "negative WaitGroup counter"


def test_reuse_after_wait():
    wg = WaitGroup()
    for round_ in range(3):
        wg.add(2)
        ts = [go(wg.done) for _ in range(2)]
        assert wg.wait(timeout=SOON) is True
        for t in ts:
            t.join(SOON)


def test_many_done_from_threads():
    wg = WaitGroup()
    n = 200
    wg.add(n)
    ts = [go(wg.done) for _ in range(n)]
    assert wg.wait(timeout=SOON) is True
    for t in ts:
        t.join(SOON)


# --- timeout= parses like recv's (issue 7, part 4) ----------------------------

@pytest.mark.parametrize("counter", [0, 1])
def test_wait_timeout_nan_is_a_value_error(counter):
    wg = WaitGroup()
    wg.add(counter)
    with pytest.raises(ValueError, match="NaN"):
        wg.wait(timeout=float("nan"))
    wg.add(-counter)


@pytest.mark.parametrize("counter", [0, 1])
@pytest.mark.parametrize("bad", [True, "1", b"1", [1]])
def test_wait_timeout_bad_types_are_type_errors(counter, bad):
    wg = WaitGroup()
    wg.add(counter)
    with pytest.raises(TypeError, match="timeout"):
        wg.wait(timeout=bad)
    wg.add(-counter)


@pytest.mark.parametrize("huge", [float("inf"), 10 ** 400, 1e300])
def test_wait_huge_timeout_waits_for_ever_without_overflow(huge):
    wg = WaitGroup()
    assert wg.wait(timeout=huge) is True
    wg.add(1)
    w = spawn(wg.wait, timeout=huge)
    wait_threads_parked(1)
    assert not w.finished.is_set()
    wg.done()
    assert w.result() is True


@pytest.mark.parametrize("nonpositive", [0, -1, -0.5, float("-inf"), -10 ** 400])
def test_wait_nonpositive_timeout_is_a_check(nonpositive):
    wg = WaitGroup()
    assert wg.wait(timeout=nonpositive) is True
    wg.add(1)
    with pytest.raises(TimeoutError):
        wg.wait(timeout=nonpositive)
    wg.done()
