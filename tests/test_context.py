"""gochan.context (API.md, "gochan.context"): the ideas of Go's
context_test.go and x_test.go, in our own code."""
import gc
import math
import random
import threading
import time
import weakref

import pytest

from gochan import Chan, RecvChan, _native, go, nilchan, select
from gochan import context
from gochan.context import Canceled, DeadlineExceeded

from conftest import SOON, join_all, wait_until

pytestmark = [pytest.mark.no_leftover_goroutines, pytest.mark.usefixtures("afterfunc_dispatcher")]

bg = context.background()


def is_done(ctx):
    """Whether ctx.done() is closed now (a non-blocking receive)."""
    try:
        ctx.done().recv(timeout=0)
    except TimeoutError:
        return False
    return True


def wait_done(ctx, timeout=SOON):
    ctx.done().recv(timeout=timeout)
    assert ctx.err() is not None


# ---- roots ---------------------------------------------------------------------

@pytest.mark.parametrize("root, name", [(context.background(), "context.Background"),
                                        (context.todo(), "context.TODO")])
def test_roots_are_never_done(root, name):
    assert root.done() is nilchan
    assert root.err() is None
    assert root.deadline() is None
    assert root.value("k") is None
    assert context.cause(root) is None
    assert repr(root) == name
    assert isinstance(root, context.Context)
    assert context.background() is context.background()


def test_error_classes():
    assert str(Canceled()) == "context canceled"
    assert str(DeadlineExceeded()) == "context deadline exceeded"
    assert issubclass(DeadlineExceeded, TimeoutError)
    assert not issubclass(Canceled, TimeoutError)


# ---- with_cancel -----------------------------------------------------------------

def test_with_cancel_tree():
    c1, cancel1 = context.with_cancel(bg)
    c2 = context.with_value(c1, "key", "value")
    c3, cancel3 = context.with_cancel(c2)
    for c in (c1, c2, c3):
        assert c.err() is None and not is_done(c)
        assert c.deadline() is None
    assert c3.value("key") == "value"
    cancel1()
    for c in (c1, c2, c3):
        assert is_done(c)
        assert isinstance(c.err(), Canceled)
    assert c3.err() is c1.err()          # the same cause along the path
    cancel3()                            # after the parent: nothing changes
    assert c3.err() is c1.err()


def test_done_is_the_same_channel_every_time_and_usable_in_select():
    ctx, cancel = context.with_cancel(bg)
    d = ctx.done()
    assert d is ctx.done()
    assert isinstance(d, RecvChan)
    work = Chan()
    go(cancel)
    i, v = select(work.recv, ctx.done().recv, timeout=SOON)
    assert (i, v) == (1, None)
    assert ctx.done() is d


def test_done_asked_only_after_cancel_is_closed():
    ctx, cancel = context.with_cancel(bg)
    cancel()
    assert is_done(ctx)
    assert ctx.done() is ctx.done()


def test_cancel_is_idempotent_and_callable_from_any_thread():
    ctx, cancel = context.with_cancel(bg)
    ts = [go(cancel) for _ in range(20)]
    join_all(ts)
    first = ctx.err()
    assert isinstance(first, Canceled)
    cancel()
    assert ctx.err() is first


def test_cancellation_never_propagates_up():
    parent, pcancel = context.with_cancel(bg)
    child, ccancel = context.with_cancel(parent)
    sibling, scancel = context.with_cancel(parent)
    ccancel()
    assert is_done(child)
    assert not is_done(parent) and parent.err() is None
    assert not is_done(sibling)
    pcancel()
    assert is_done(sibling)
    scancel()


def test_child_of_a_done_parent_is_done_at_once():
    parent, cancel = context.with_cancel_cause(bg)
    boom = ValueError("boom")
    cancel(boom)
    for make in (lambda p: context.with_cancel(p)[0],
                 lambda p: context.with_cancel_cause(p)[0],
                 lambda p: context.with_timeout(p, 3600)[0],
                 lambda p: context.with_deadline(p, time.monotonic() + 3600)[0],
                 lambda p: context.with_value(p, "k", 1)):
        c = make(parent)
        assert is_done(c)
        assert c.err() is parent.err()
        assert context.cause(c) is boom
    assert parent._children is None


def test_parent_finishes_child():
    # Go's TestParentFinishesChild: the parent knows exactly its live children.
    parent, cancel = context.with_cancel(bg)
    c1, cancel1 = context.with_cancel(parent)
    t1, tcancel = context.with_timeout(parent, 3600)
    v = context.with_value(parent, "k", 1)
    c2, cancel2 = context.with_cancel(v)     # registers with parent, through the value
    assert set(parent._children) == {c1, t1, c2}
    cancel1()
    assert set(parent._children) == {t1, c2}
    cancel()
    assert parent._children is None
    for c in (c1, t1, c2):
        assert is_done(c)
    assert isinstance(t1.err(), Canceled)
    tcancel()
    cancel2()


def test_canceled_child_is_garbage_while_the_parent_lives():
    parent, pcancel = context.with_cancel(bg)
    refs = []
    for make in (context.with_cancel, context.with_cancel_cause,
                 lambda p: context.with_timeout(p, 3600)):
        child, cancel = make(parent)
        grandchild, gcancel = context.with_cancel(child)
        child.done()
        refs += [weakref.ref(child), weakref.ref(grandchild)]
        cancel()
        del child, cancel, grandchild, gcancel
    gc.collect()
    assert [r() for r in refs] == [None] * len(refs)
    assert not parent._children
    assert context._pending_deadlines() == 0
    pcancel()


def test_many_canceled_children_do_not_grow_the_parent():
    parent, pcancel = context.with_cancel(bg)
    for _ in range(1000):
        c, cancel = context.with_timeout(parent, 3600)
        cancel()
    assert not parent._children
    assert context._pending_deadlines() == 0
    assert len(context._dq) <= 1
    pcancel()


def test_simultaneous_cancels():
    # Go's TestSimultaneousCancels: a tree canceled from many threads at once.
    root, cancel = context.with_cancel(bg)
    cancels = {root: cancel}
    nodes = [root]
    rng = random.Random(1)
    for _ in range(200):
        c, k = context.with_cancel(rng.choice(nodes))
        cancels[c] = k
        nodes.append(c)
    start = Chan()
    ts = [go(lambda k=k: (start.recv(timeout=SOON), k())) for k in cancels.values()]
    start.close()
    join_all(ts)
    for c in nodes:
        assert is_done(c)


def test_interlocked_cancels():
    parent, cancel_parent = context.with_cancel(bg)
    child, cancel_child = context.with_cancel(parent)
    go(lambda: (parent.done().recv(timeout=SOON), cancel_child()))
    cancel_parent()
    child.done().recv(timeout=SOON)


# ---- deadlines ---------------------------------------------------------------------

def test_with_timeout_is_done_with_deadline_exceeded():
    t0 = time.monotonic()
    ctx, cancel = context.with_timeout(bg, 0.05)
    assert abs(ctx.deadline() - (t0 + 0.05)) < 1.0
    assert not is_done(ctx)
    wait_done(ctx)
    assert time.monotonic() - t0 >= 0.05 - 1e-3
    assert isinstance(ctx.err(), DeadlineExceeded)
    assert isinstance(ctx.err(), TimeoutError)
    assert context.cause(ctx) is ctx.err()
    cancel()
    assert isinstance(ctx.err(), DeadlineExceeded)


def test_with_deadline_uses_monotonic_time():
    d = time.monotonic() + 0.05
    ctx, cancel = context.with_deadline(bg, d)
    assert ctx.deadline() == d
    wait_done(ctx)
    assert time.monotonic() >= d - 1e-3
    assert isinstance(ctx.err(), DeadlineExceeded)


def test_deadline_already_past_is_done_at_once():
    for ctx, _ in (context.with_deadline(bg, time.monotonic() - 1),
                   context.with_timeout(bg, 0),
                   context.with_timeout(bg, -5),
                   context.with_timeout(bg, -math.inf)):
        assert is_done(ctx)
        assert isinstance(ctx.err(), DeadlineExceeded)


def test_parent_with_earlier_deadline_wins():
    parent, pc = context.with_timeout(bg, 0.05)
    child, cc = context.with_timeout(parent, 3600)
    assert child.deadline() == parent.deadline()
    later, lc = context.with_deadline(parent, parent.deadline() + 100)
    assert later.deadline() == parent.deadline()
    wait_done(child)
    assert isinstance(child.err(), DeadlineExceeded)
    assert child.err() is parent.err()
    cc(), lc(), pc()


def test_child_with_earlier_deadline_fires_first():
    parent, pc = context.with_timeout(bg, 3600)
    child, cc = context.with_timeout(parent, 0.02)
    assert child.deadline() < parent.deadline()
    wait_done(child)
    assert isinstance(child.err(), DeadlineExceeded)
    assert parent.err() is None
    pc()


def test_cancel_before_the_deadline_is_canceled_and_stops_it():
    ctx, cancel = context.with_timeout(bg, 0.05)
    cancel()
    assert isinstance(ctx.err(), Canceled)
    assert context._pending_deadlines() == 0
    time.sleep(0.1)
    assert isinstance(ctx.err(), Canceled)


def test_infinite_and_huge_timeouts_never_fire():
    for s in (math.inf, 10 ** 400, 1e300):
        ctx, cancel = context.with_timeout(bg, s)
        assert ctx.deadline() == math.inf or ctx.deadline() > 1e299
        assert not is_done(ctx)
        cancel()
        assert isinstance(ctx.err(), Canceled)
    ctx, cancel = context.with_deadline(bg, 10 ** 400)
    assert ctx.deadline() == math.inf
    cancel()


def test_deadlines_fire_in_order():
    order = Chan(50)
    pairs = []
    rng = random.Random(7)
    durations = [rng.uniform(0.001, 0.08) for _ in range(50)]
    for i, s in enumerate(durations):
        ctx, cancel = context.with_timeout(bg, s)
        pairs.append((ctx, cancel))
        context.after_func(ctx, lambda i=i: order.send(i, timeout=SOON))
    got = [order.recv(timeout=SOON) for _ in range(50)]
    assert sorted(got) == list(range(50))
    for ctx, _ in pairs:
        assert isinstance(ctx.err(), DeadlineExceeded)
        # Every context was done only after its own deadline.
    assert context._pending_deadlines() == 0


def test_pending_deadlines_add_no_thread_and_at_most_one_timer():
    threads = threading.active_count()
    timers = _native.timers_in_heap()
    held = [context.with_timeout(bg, 3600 + i * 1e-3) for i in range(100_000)]
    assert threading.active_count() == threads
    assert _native.timers_in_heap() <= timers + 1
    assert context._pending_deadlines() == 100_000
    for _, cancel in held:
        cancel()
    assert context._pending_deadlines() == 0
    assert len(context._dq) == 0


def test_many_deadlines_all_fire():
    held = [context.with_timeout(bg, 0.001 * (i % 20)) for i in range(2000)]
    for ctx, _ in held:
        wait_done(ctx)
        assert isinstance(ctx.err(), DeadlineExceeded)
    wait_until(lambda: context._pending_deadlines() == 0, what="an empty deadline heap")


def test_cancel_racing_the_deadline():
    for _ in range(200):
        ctx, cancel = context.with_timeout(bg, 0.0005)
        time.sleep(0.0005)
        cancel()
        assert isinstance(ctx.err(), (Canceled, DeadlineExceeded))
        assert is_done(ctx)
    wait_until(lambda: context._pending_deadlines() == 0, what="an empty deadline heap")


# ---- values -------------------------------------------------------------------------

def test_values_nearest_wins_and_key_types_matter():
    class Key:
        pass

    k1, k2 = Key(), Key()
    c1 = context.with_value(bg, k1, "c1k1")
    c2 = context.with_value(c1, k2, "c2k2")
    c3 = context.with_value(c2, k1, "c3k1")
    c4, cancel = context.with_cancel(c3)
    w = context.without_cancel(c4)
    assert c1.value(k1) == "c1k1" and c1.value(k2) is None
    assert c2.value(k1) == "c1k1" and c2.value(k2) == "c2k2"
    assert c3.value(k1) == "c3k1" and c4.value(k1) == "c3k1" and w.value(k2) == "c2k2"
    assert c4.value(Key()) is None
    n = context.with_value(bg, 1, "int")
    assert n.value(1) == "int"
    assert n.value(1.0) is None and n.value(True) is None   # same type and equal, as in Go
    assert repr(c2) == "context.Background.WithValue(%r, 'c1k1').WithValue(%r, 'c2k2')" % (k1, k2)
    cancel()


def test_deep_chains_need_no_recursion():
    ctx = bg
    cancels = []
    for i in range(5000):
        ctx = context.with_value(ctx, i, i)
        ctx, cancel = context.with_cancel(ctx)
        cancels.append(cancel)
    assert ctx.value(0) == 0 and ctx.value(4999) == 4999 and ctx.value("x") is None
    assert ctx.deadline() is None
    assert repr(ctx).startswith("context.Background.WithValue(0, 0).WithCancel.WithValue(1, 1)")
    assert repr(ctx).endswith(".WithValue(4999, 4999).WithCancel")
    cancels[0]()
    assert is_done(ctx)
    assert context.cause(ctx) is ctx.err()


def test_with_value_bad_keys():
    with pytest.raises(TypeError, match="None"):
        context.with_value(bg, None, 1)
    with pytest.raises(TypeError):
        context.with_value(bg, [], 1)


# ---- without_cancel ---------------------------------------------------------------

def test_without_cancel():
    parent, cancel = context.with_timeout(context.with_value(bg, "k", "v"), 3600)
    w = context.without_cancel(parent)
    cancel()
    assert w.done() is nilchan and w.err() is None and w.deadline() is None
    assert w.value("k") == "v"
    assert context.cause(w) is None
    child, ccancel = context.with_cancel(w)
    assert not is_done(child)
    ccancel()


# ---- causes ---------------------------------------------------------------------------

def test_cause_table():
    boom, late = ValueError("boom"), RuntimeError("late")
    # with_cancel_cause
    c, cancel = context.with_cancel_cause(bg)
    assert context.cause(c) is None
    cancel(boom)
    assert isinstance(c.err(), Canceled) and context.cause(c) is boom
    cancel(late)                      # the first cause stays
    assert context.cause(c) is boom
    # no cause given: cause is err
    c, cancel = context.with_cancel_cause(bg)
    cancel()
    assert context.cause(c) is c.err()
    # the parent's cause reaches the children, through values too
    p, pcancel = context.with_cancel_cause(bg)
    child, _ = context.with_timeout(context.with_value(p, "k", 1), 3600)
    pcancel(boom)
    assert context.cause(child) is boom and child.err() is p.err()
    # a child canceled first keeps its own cause
    p, pcancel = context.with_cancel_cause(bg)
    child, ccancel = context.with_cancel_cause(p)
    ccancel(late)
    pcancel(boom)
    assert context.cause(child) is late and context.cause(p) is boom
    # deadline causes
    c, cancel = context.with_timeout_cause(bg, 0.01, late)
    wait_done(c)
    assert isinstance(c.err(), DeadlineExceeded) and context.cause(c) is late
    c, cancel = context.with_deadline_cause(bg, time.monotonic() - 1, boom)
    assert isinstance(c.err(), DeadlineExceeded) and context.cause(c) is boom
    c, cancel = context.with_timeout_cause(bg, 3600, late)
    cancel()
    assert isinstance(c.err(), Canceled) and context.cause(c) is c.err()


def test_cancel_cause_rejects_a_non_exception_and_changes_nothing():
    c, cancel = context.with_cancel_cause(bg)
    with pytest.raises(TypeError, match="cause"):
        cancel("not an exception")
    assert c.err() is None
    cancel()


# ---- after_func -------------------------------------------------------------------------

def test_after_func_called_after_cancel():
    ctx, cancel = context.with_cancel(bg)
    ran = Chan(1)
    stop = context.after_func(ctx, lambda: ran.send(threading.current_thread(), timeout=SOON))
    with pytest.raises(TimeoutError):
        ran.recv(timeout=0.02)
    cancel()
    t = ran.recv(timeout=SOON)
    assert t is not threading.current_thread()    # in its own goroutine
    t.join(SOON)
    assert stop() is False


def test_after_func_called_after_timeout():
    ctx, cancel = context.with_timeout(bg, 0.02)
    ran = threading.Event()
    context.after_func(ctx, ran.set)
    assert ran.wait(SOON)
    cancel()


def test_after_func_on_a_done_context_runs_at_once():
    ctx, cancel = context.with_cancel(bg)
    cancel()
    ran = threading.Event()
    stop = context.after_func(ctx, ran.set)
    assert ran.wait(SOON)
    assert stop() is False


def test_after_func_not_called_after_stop():
    ctx, cancel = context.with_cancel(bg)
    ran = threading.Event()
    stop = context.after_func(ctx, ran.set)
    assert stop() is True
    assert stop() is False
    cancel()
    assert not ran.wait(0.05)
    assert not ctx._children


def test_after_func_runs_once_with_a_nested_tree():
    root, cancel = context.with_cancel(bg)
    mid, mcancel = context.with_timeout(root, 3600)
    count = Chan(10)
    context.after_func(mid, lambda: count.send(1, timeout=SOON))
    cancel()
    mcancel()
    assert count.recv(timeout=SOON) == 1
    with pytest.raises(TimeoutError):
        count.recv(timeout=0.05)


def test_stopped_after_funcs_are_garbage():
    ctx, cancel = context.with_cancel(bg)

    class Fn:
        def __call__(self):
            pass

    refs = []
    for _ in range(10):
        f = Fn()
        refs.append(weakref.ref(f))
        stop = context.after_func(ctx, f)
        assert stop() is True
        del f, stop
    gc.collect()
    assert [r() for r in refs] == [None] * 10
    assert not ctx._children
    cancel()


def test_after_func_on_background_never_runs_and_stops():
    stop = context.after_func(bg, lambda: None)
    assert stop() is True


# ---- a Context implemented elsewhere -----------------------------------------------------

class MyCtx(context.Context):
    """A parent implemented outside gochan: a plain channel closed by hand."""

    def __init__(self):
        self.ch = Chan()
        self.e = None

    def deadline(self):
        return None

    def done(self):
        return self.ch

    def err(self):
        return self.e

    def value(self, key):
        return "mine" if key == "who" else None

    def finish(self):
        self.e = Canceled("custom")
        self.ch.close()


def test_custom_parent_cancels_children():
    p = MyCtx()
    child, cancel = context.with_cancel(p)
    grandchild, gcancel = context.with_timeout(child, 3600)
    assert grandchild.value("who") == "mine"
    p.finish()
    wait_done(grandchild)
    assert grandchild.err() is p.e
    gcancel(), cancel()


def test_custom_parent_watcher_ends_with_the_child():
    p = MyCtx()
    child, cancel = context.with_cancel(p)
    cancel()           # the watcher goroutine ends: no_leftover_goroutines checks it
    assert is_done(child) and p.err() is None


# ---- bad input ------------------------------------------------------------------------------

@pytest.mark.parametrize("make", [
    lambda p: context.with_cancel(p),
    lambda p: context.with_cancel_cause(p),
    lambda p: context.with_timeout(p, 1),
    lambda p: context.with_deadline(p, 1),
    lambda p: context.with_timeout_cause(p, 1, None),
    lambda p: context.with_deadline_cause(p, 1, None),
    lambda p: context.with_value(p, "k", 1),
    lambda p: context.without_cancel(p),
    lambda p: context.after_func(p, lambda: None),
    lambda p: context.cause(p),
])
@pytest.mark.parametrize("bad", [None, "ctx", 3, object()])
def test_non_context_parent_is_a_type_error(make, bad):
    with pytest.raises(TypeError, match="Context"):
        make(bad)


@pytest.mark.parametrize("s, exc", [(math.nan, ValueError), ("1", TypeError), (True, TypeError),
                                    (None, TypeError), (1j, TypeError)])
def test_bad_durations_change_nothing(s, exc):
    parent, cancel = context.with_cancel(bg)
    for make in (lambda: context.with_timeout(parent, s),
                 lambda: context.with_deadline(parent, s),
                 lambda: context.with_timeout_cause(parent, s, None),
                 lambda: context.with_deadline_cause(parent, s, None)):
        with pytest.raises(exc):
            make()
    assert parent._children is None
    assert context._pending_deadlines() == 0
    cancel()


def test_bad_cause_and_fn():
    with pytest.raises(TypeError, match="cause"):
        context.with_timeout_cause(bg, 1, "why")
    with pytest.raises(TypeError, match="callable"):
        context.after_func(bg, 42)
    assert context._pending_deadlines() == 0


# ---- robustness, fork, leaks of expired contexts ------------------------------------

def test_expired_contexts_are_garbage():
    refs = []
    for _ in range(20):
        ctx, cancel = context.with_timeout(bg, 0.001)
        refs.append(weakref.ref(ctx))
        del ctx, cancel
    wait_until(lambda: context._pending_deadlines() == 0, what="the deadlines to pass")
    wait_until(lambda: (gc.collect(), all(r() is None for r in refs))[1],
               what="expired contexts to be collected")


def test_an_after_func_that_cannot_start_does_not_stop_the_others(monkeypatch):
    import gochan.context as gctx
    real_go = gctx.go
    started = Chan(10)
    calls = [0]

    def flaky_go(fn, *args):
        calls[0] += 1
        if calls[0] == 1:
            raise RuntimeError("can't start new thread")
        return real_go(fn, *args)

    reported = Chan(10)
    monkeypatch.setattr(threading, "excepthook", lambda a: reported.send(a.exc_value, timeout=SOON))
    monkeypatch.setattr(gctx, "go", flaky_go)
    # Through cancel(): the caller gets the error, the other after_funcs run.
    ctx, cancel = context.with_cancel(bg)
    for i in range(3):
        context.after_func(ctx, lambda i=i: started.send(i, timeout=SOON))
    with pytest.raises(RuntimeError, match="new thread"):
        cancel()
    assert len({started.recv(timeout=SOON) for _ in range(2)}) == 2
    assert isinstance(ctx.err(), Canceled)
    # Through a deadline: reported, and the other contexts still expire.
    calls[0] = 0
    a, _ = context.with_timeout(bg, 0.01)
    b, _ = context.with_timeout(bg, 0.01)
    context.after_func(a, lambda: started.send("a", timeout=SOON))
    context.after_func(b, lambda: started.send("b", timeout=SOON))
    wait_done(a), wait_done(b)
    assert isinstance(reported.recv(timeout=SOON), RuntimeError)
    assert started.recv(timeout=SOON) in ("a", "b")


def test_deadlines_work_in_a_forked_child():
    import os
    import subprocess
    import sys
    code = """if True:
        import os, sys, time
        from gochan import context
        bg = context.background()
        before, c1 = context.with_timeout(bg, 0.2)
        pid = os.fork()
        if pid == 0:
            fresh, c2 = context.with_timeout(bg, 0.05)
            fresh.done().recv(timeout=10)
            before.done().recv(timeout=10)
            os._exit(0 if type(before.err()).__name__ == "DeadlineExceeded" else 1)
        _, status = os.waitpid(pid, 0)
        before.done().recv(timeout=10)
        print(os.waitstatus_to_exitcode(status), type(before.err()).__name__)
    """
    root = os.path.dirname(os.path.dirname(os.path.abspath(context.__file__)))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, PYTHONPATH=root))
    assert proc.stdout.split() == ["0", "DeadlineExceeded"], proc.stderr


def test_a_done_channel_closed_by_hand_does_not_break_cancellation():
    root, cancel = context.with_cancel(bg)
    child, ccancel = context.with_cancel(root)
    grandchild, gcancel = context.with_cancel(child)
    child.done().close()          # misuse: done() is receive-only for type checkers
    grandchild.done()
    cancel()
    assert is_done(grandchild) and isinstance(grandchild.err(), Canceled)
    ccancel(), gcancel()


def test_concurrent_trees_stay_consistent():
    # Threads make children of random nodes (some with deadlines of a few ms)
    # and cancel random nodes while deadlines fire; afterwards, every node
    # under a done node is done, and nothing done is still registered anywhere.
    root, cancel_root = context.with_cancel(bg)
    nodes = [(root, cancel_root)]
    lock = threading.Lock()
    stop_at = time.monotonic() + 0.5

    def churn(seed):
        rng = random.Random(seed)
        while time.monotonic() < stop_at:
            with lock:
                parent, _ = rng.choice(nodes)
            r = rng.random()
            if r < 0.4:
                made = context.with_cancel(parent)
            elif r < 0.7:
                made = context.with_timeout(parent, rng.uniform(0, 0.005))
            elif r < 0.8:
                made = (context.with_value(parent, seed, r), None)
            else:
                with lock:
                    _, cancel = rng.choice(nodes)
                if cancel is not None:
                    cancel()
                continue
            with lock:
                nodes.append(made)

    ts = [go(churn, i) for i in range(4)]
    join_all(ts, timeout=30)
    with context._mu:        # deadlines may still be firing: check a consistent state
        for ctx, _ in nodes:
            p = ctx._parent if ctx is not root else None
            if p is not None and p.err() is not None:
                assert ctx.err() is not None
            for kid in getattr(ctx, "_children", None) or ():
                assert kid.err() is None and ctx.err() is None
    cancel_root()
    assert all(ctx.err() is not None for ctx, _ in nodes)
    assert context._pending_deadlines() == 0


@pytest.mark.parametrize("shape", ["leaf", "tree"])
def test_an_interrupt_inside_cancel_is_raised_after_the_cancellation_completes(monkeypatch, shape):
    import gochan.context as gctx
    real_close = gctx._close
    calls = [0]

    def interrupted_close(d):
        calls[0] += 1
        if calls[0] in (1, 3):        # a signal handler raising, twice
            raise KeyboardInterrupt
        real_close(d)

    root, cancel = context.with_timeout(bg, 3600)
    nodes = [root]
    if shape == "tree":
        for i in range(30):
            c, _ = context.with_timeout(nodes[i // 3], 3600)
            nodes.append(c)
        ran = threading.Event()
        context.after_func(nodes[-1], ran.set)
    for c in nodes:
        c.done()
    monkeypatch.setattr(gctx, "_close", interrupted_close)
    with pytest.raises(KeyboardInterrupt):
        cancel()
    monkeypatch.undo()
    for c in nodes:
        assert isinstance(c.err(), Canceled)
        assert c.err() is root.err()
        c.done().recv(timeout=0)       # closed
        assert c._children is None
    assert context._pending_deadlines() == 0
    if shape == "tree":
        assert ran.wait(SOON)


def test_real_ctrl_c_storms_never_leave_a_half_canceled_tree():
    # A child process cancels trees while SIGINTs rain on its main thread: an
    # exception from the signal handler may come out of any call, but a
    # cancel() that began always completes the whole tree.
    import os
    import subprocess
    import sys
    code = """if True:
        import os, signal, threading, time
        from gochan import context
        bg = context.background()
        armed = False
        class Interrupt(Exception):
            pass
        def handler(signum, frame):     # KeyboardInterrupt's timing, only where we test
            if armed:
                raise Interrupt
        signal.signal(signal.SIGINT, handler)
        stop = time.monotonic() + 1.5
        def rain():
            while time.monotonic() < stop:
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.0003)
        threading.Thread(target=rain, daemon=True).start()
        trees = interrupted = lost = 0
        while time.monotonic() < stop:
            nodes = []
            cancel = None
            armed = True
            try:
                root, cancel = context.with_timeout(bg, 3600)
                nodes.append(root)
                for i in range(40):
                    c, _ = context.with_cancel(nodes[i // 4])
                    nodes.append(c)
                    c.done()
            except Interrupt:
                pass
            armed = False
            if cancel is None:
                lost += 1       # maybe made, never returned: left to its deadline
                continue
            armed = True
            try:
                cancel()
            except Interrupt:
                interrupted += 1
            armed = False
            if root.err() is None:      # interrupted before it began: nothing happened
                assert all(c.err() is None for c in nodes)
                cancel()
            bad = [c for c in nodes if c.err() is None or c._children]
            for c in nodes:
                c.done().recv(timeout=0)        # closed, or TimeoutError
            assert not bad, bad
            trees += 1
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        assert context._pending_deadlines() <= lost, (context._pending_deadlines(), lost)
        print("ok", trees, interrupted)
    """
    root = os.path.dirname(os.path.dirname(os.path.abspath(context.__file__)))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, PYTHONPATH=root))
    assert proc.stdout.startswith("ok "), proc.stdout + proc.stderr
    assert int(proc.stdout.split()[1]) > 10
