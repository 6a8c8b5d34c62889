"""Group (Go's errgroup) and WaitGroup.go: the ideas of errgroup_test.go."""
import threading

import pytest

from gochan import Chan, Group, WaitGroup, go
from gochan import context
from gochan.context import Canceled

from conftest import SOON, wait_until

pytestmark = pytest.mark.no_leftover_goroutines

bg = context.background()


def test_zero_group_waits_and_returns_none():
    g = Group()
    out = Chan(10)
    for i in range(10):
        g.go(out.send, i, timeout=SOON)
    assert g.wait(timeout=SOON) is None
    out.close()
    assert sorted(out) == list(range(10))
    assert g.wait() is None                  # again: still nothing to wait for


def test_wait_raises_the_first_exception_by_time():
    g = Group()
    first_raised = Chan()
    second = Chan()

    def first():
        first_raised.recv(timeout=SOON)
        raise ValueError("first")

    def later():
        second.recv(timeout=SOON)
        raise KeyError("later")

    g.go(later)
    g.go(first)
    g.go(lambda: None)
    first_raised.close()
    wait_until(lambda: g._err is not None, what="the first error")
    second.close()
    with pytest.raises(ValueError, match="first"):
        g.wait(timeout=SOON)
    with pytest.raises(ValueError, match="first"):   # wait again: the same error
        g.wait(timeout=SOON)


def test_with_context_cancels_on_the_first_error_with_it_as_cause():
    g, ctx = Group.with_context(bg)
    boom = RuntimeError("boom")
    blocked = Chan()

    def waits_for_ctx():
        i, _ = __import__("gochan").select(blocked.recv, ctx.done().recv, timeout=SOON)
        assert i == 1

    def fails():
        raise boom

    g.go(waits_for_ctx)
    g.go(fails)
    ctx.done().recv(timeout=SOON)
    assert isinstance(ctx.err(), Canceled)
    assert context.cause(ctx) is boom
    with pytest.raises(RuntimeError) as ei:
        g.wait(timeout=SOON)
    assert ei.value is boom


def test_with_context_is_canceled_when_wait_returns():
    g, ctx = Group.with_context(bg)
    g.go(lambda: None)
    g.wait(timeout=SOON)
    assert isinstance(ctx.err(), Canceled)
    assert context.cause(ctx) is ctx.err()


def test_with_context_is_not_canceled_by_a_function_that_returns():
    g, ctx = Group.with_context(bg)
    release = Chan()
    g.go(lambda: None)
    g.go(release.recv, timeout=SOON)
    with pytest.raises(TimeoutError):
        g.wait(timeout=0.05)                 # a timed-out wait leaves the context alone
    assert ctx.err() is None
    release.close()
    g.wait(timeout=SOON)
    assert isinstance(ctx.err(), Canceled)


def test_with_context_child_of_a_canceled_parent():
    parent, cancel = context.with_cancel(bg)
    cancel()
    g, ctx = Group.with_context(parent)
    assert ctx.err() is parent.err()
    g.wait(timeout=SOON)


def test_set_limit_bounds_the_active_goroutines():
    g = Group()
    g.set_limit(2)
    lock = threading.Lock()
    active = [0, 0]                  # now, peak
    release = Chan()

    def work():
        with lock:
            active[0] += 1
            active[1] = max(active[1], active[0])
        release.recv(timeout=SOON)
        with lock:
            active[0] -= 1

    starter = go(lambda: [g.go(work) for _ in range(6)])
    wait_until(lambda: active[0] == 2, what="two goroutines active")
    assert g.try_go(work) is False           # at the limit
    for _ in range(6):
        release.send(None, timeout=SOON)
    starter.join(SOON)
    g.wait(timeout=SOON)
    assert active == [0, 2]
    assert g.try_go(lambda: None) is True
    g.wait(timeout=SOON)


def test_try_go_without_limit_always_starts():
    g = Group()
    assert all(g.try_go(lambda: None) for _ in range(5))
    g.wait(timeout=SOON)


def test_set_limit_zero_then_try_go_refuses():
    g = Group()
    g.set_limit(0)
    assert g.try_go(lambda: None) is False
    g.wait(timeout=0)


def test_set_limit_while_goroutines_run_is_a_runtime_error_and_changes_nothing():
    g = Group()
    g.set_limit(3)
    release = Chan()
    g.go(release.recv, timeout=SOON)
    for n in (5, -1, 0):
        with pytest.raises(RuntimeError, match="1 goroutines"):
            g.set_limit(n)
    assert g._sem.cap == 3
    release.close()
    g.wait(timeout=SOON)
    g.set_limit(-1)                          # once they are done, it may change
    assert g._sem is None


def test_set_limit_without_a_previous_limit_while_running_is_refused_too():
    g = Group()
    release = Chan()
    g.go(release.recv, timeout=SOON)
    with pytest.raises(RuntimeError):
        g.set_limit(1)
    assert g._sem is None
    release.close()
    g.wait(timeout=SOON)


@pytest.mark.parametrize("bad", [1.5, "2", True, None])
def test_set_limit_bad_type(bad):
    g = Group()
    with pytest.raises(TypeError, match="int"):
        g.set_limit(bad)
    assert g._sem is None


def test_go_rejects_non_callables_and_starts_nothing():
    g = Group()
    for call in (g.go, g.try_go):
        with pytest.raises(TypeError, match="callable, got 42"):
            call(42)
    assert g._active == 0
    assert g.wait(timeout=0) is None


def test_wait_timeout_parses_like_recv():
    g = Group()
    release = Chan()
    g.go(release.recv, timeout=SOON)
    with pytest.raises(TimeoutError):
        g.wait(timeout=0)
    with pytest.raises(TimeoutError):
        g.wait(timeout=0.02)
    with pytest.raises(ValueError, match="NaN"):
        g.wait(timeout=float("nan"))
    with pytest.raises(TypeError):
        g.wait(timeout="1")
    release.close()
    g.wait(timeout=10 ** 400)


def test_wait_raises_base_exceptions_too():
    g = Group()

    def exits():
        raise SystemExit(3)

    g.go(exits)
    with pytest.raises(SystemExit):
        g.wait(timeout=SOON)


def test_a_failing_thread_start_changes_nothing(monkeypatch):
    import gochan._group as grp

    def no_threads(*a, **kw):
        raise RuntimeError("can't start new thread")

    g = Group()
    g.set_limit(1)
    monkeypatch.setattr(grp, "go", no_threads)
    with pytest.raises(RuntimeError, match="new thread"):
        g.go(lambda: None)
    monkeypatch.undo()
    assert g._active == 0 and len(g._sem) == 0
    assert g.try_go(lambda: None) is True     # the token was given back
    g.wait(timeout=SOON)


# ---- WaitGroup.go --------------------------------------------------------------

def test_waitgroup_go_adds_and_is_done_when_fn_returns():
    wg = WaitGroup()
    out = Chan(5)
    ts = [wg.go(out.send, i, timeout=SOON) for i in range(5)]
    assert all(isinstance(t, threading.Thread) and t.daemon for t in ts)
    assert wg.wait(timeout=SOON) is True
    out.close()
    assert sorted(out) == list(range(5))
    for t in ts:
        t.join(SOON)


def test_waitgroup_go_is_done_when_fn_raises(monkeypatch):
    seen = []
    monkeypatch.setattr(threading, "excepthook", lambda args: seen.append(args.exc_value))
    wg = WaitGroup()

    def boom():
        raise ValueError("boom")

    t = wg.go(boom)
    assert wg.wait(timeout=SOON) is True
    t.join(SOON)
    assert [str(e) for e in seen] == ["boom"]      # reported like any thread's exception


def test_waitgroup_go_rejects_non_callables():
    wg = WaitGroup()
    with pytest.raises(TypeError, match="callable, got None"):
        wg.go(None)
    assert wg.wait(timeout=0) is True


def test_go_rejects_non_callables_naming_what_it_got():
    def worker(n):
        return n

    with pytest.raises(TypeError) as ei:
        go(worker(1))
    assert "got 1 of type int" in str(ei.value)
    assert "did you call it" in str(ei.value)
