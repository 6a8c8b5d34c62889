"""Shared helpers for gochan's tests.

Tests never sleep to "let a thread block": they poll the core's private hooks
(``ch._waiters()`` and ``gochan._native.parked_threads()``) until the thread is
really parked, with a deadline so that a bug fails instead of hanging.
"""
import functools
import os
import sys
import sysconfig
import threading
import time

import pytest

# Tests run from the repository root (the package is built in place there).
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

# Generous bound for anything that should happen "soon" on a loaded 2-core box.
SOON = 10.0


def wait_until(predicate, timeout=SOON, interval=0.0005, what="condition"):
    """Poll ``predicate()`` until it is true; fail the test after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return
        if time.monotonic() > deadline:
            pytest.fail("timed out after %.1f s waiting for %s" % (timeout, what))
        time.sleep(interval)


def wait_parked(ch, receivers=None, senders=None, timeout=SOON):
    """Wait until exactly ``receivers`` / ``senders`` waiters are queued on ``ch``.

    ``None`` means "don't care".  Uses the core's ``ch._waiters()`` hook, which
    returns ``(n_parked_receivers, n_parked_senders)``.
    """

    def ok():
        r, s = ch._waiters()
        return (receivers is None or r == receivers) and (senders is None or s == senders)

    wait_until(ok, timeout, what="%r to have %s receivers / %s senders parked (now %s)"
               % (ch, receivers, senders, ch._waiters()))


def wait_parked_at_least(ch, receivers=0, senders=0, timeout=SOON):
    """Wait until at least that many waiters are queued on ``ch``."""

    def ok():
        r, s = ch._waiters()
        return r >= receivers and s >= senders

    wait_until(ok, timeout, what="%r to have >= %d receivers / >= %d senders parked"
               % (ch, receivers, senders))


def parked_threads():
    from gochan import _native

    return _native.parked_threads()


def wait_threads_parked(n, timeout=SOON):
    """Wait until at least ``n`` threads are parked in some gochan wait."""
    wait_until(lambda: parked_threads() >= n, timeout,
               what="%d threads parked in gochan (now %d)" % (n, parked_threads()))


class Runner:
    """Start functions in threads, keep their result or exception, join with a deadline.

    A thread that raised re-raises in the test on ``result()``; a thread that
    is still alive at ``join()`` fails the test instead of hanging it.
    """

    def __init__(self, fn, *args, **kwargs):
        self.value = None
        self.exc = None
        self.finished = threading.Event()

        def body():
            try:
                self.value = fn(*args, **kwargs)
            except BaseException as e:  # noqa: B902 - the test inspects it
                self.exc = e
            finally:
                self.finished.set()

        self.thread = threading.Thread(target=body, daemon=True)
        self.thread.start()

    def join(self, timeout=SOON):
        self.thread.join(timeout)
        if self.thread.is_alive():
            pytest.fail("thread still running after %.1f s" % timeout)
        return self

    def result(self, timeout=SOON):
        self.join(timeout)
        if self.exc is not None:
            raise self.exc
        return self.value

    def error(self, timeout=SOON):
        """Join and return the exception the thread raised (fail if none)."""
        self.join(timeout)
        if self.exc is None:
            pytest.fail("thread returned %r instead of raising" % (self.value,))
        return self.exc


def spawn(fn, *args, **kwargs):
    return Runner(fn, *args, **kwargs)


def run_bubble(fn, *args, timeout=SOON, **kwargs):
    """``gochan.testing.run(fn, ...)`` with a watchdog: a bubble that hangs
    fails the test after ``timeout`` s (of real time) instead of hanging it."""
    from gochan import testing

    return spawn(testing.run, fn, *args, **kwargs).result(timeout)


def bubble_test(fn):
    """Decorator: the test's body runs in a gochan.testing bubble, on virtual
    time (so its sleeps and timers take no real time and its times are
    exact), under run_bubble's watchdog.  Fixtures and parameters pass."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return run_bubble(fn, *args, **kwargs)

    return wrapper


def drain(ch, timeout=SOON):
    """``for v in ch`` with a deadline on each receive: a hang becomes a failure."""
    while True:
        try:
            v, ok = ch.recv_ok(timeout=timeout)
        except TimeoutError:
            pytest.fail("no value and no close on %r within %.1f s" % (ch, timeout))
        if not ok:
            return
        yield v


def join_all(threads, timeout=SOON):
    """Join ``threading.Thread`` objects with one shared deadline; fail on a straggler."""
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    alive = [t for t in threads if t.is_alive()]
    if alive:
        pytest.fail("%d thread(s) still running after %.1f s: %r" % (len(alive), timeout, alive))


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "no_leftover_goroutines: also fail if a daemon thread the test started is still running")


FREE_THREADED = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))


@pytest.fixture(autouse=True)
def no_stray_threads(request):
    """Fail a test that leaves threads it started running behind it.

    Non-daemon threads are never allowed (they would keep the interpreter
    alive).  Daemon threads (``go()``) must be finished too in tests marked
    ``no_leftover_goroutines`` (every module of the core's suite is), so that
    a thread parked for ever cannot disturb the parked-waiter counts of later
    tests.
    """
    before = set(threading.enumerate())
    yield
    strict = request.node.get_closest_marker("no_leftover_goroutines") is not None
    deadline = time.monotonic() + 5.0
    while True:
        stray = [t for t in threading.enumerate()
                 if t not in before and t.is_alive() and (strict or not t.daemon)]
        if not stray or time.monotonic() > deadline:
            break
        time.sleep(0.01)
    if stray:
        pytest.fail("test left threads running: %r" % stray)


@pytest.fixture(scope="module")
def afterfunc_dispatcher():
    """Start after_func's dispatcher thread once, before any test records its
    threads, so that the leftover-thread check sees only the tests' own."""
    from gochan import after_func
    done = threading.Event()
    after_func(0, done.set)
    assert done.wait(SOON)
    yield


def no_value(ch, timeout=0):
    """Assert that nothing (no stale value) is received from ``ch`` within ``timeout``."""
    with pytest.raises(TimeoutError):
        v = ch.recv(timeout=timeout)
        pytest.fail("unexpected value %r received" % (v,))


def run_child(code, timeout=60, args=(), env=None):
    """Run ``code`` (a Python program) in a fresh interpreter from the
    repository root, as a watchdog: a hang fails the test after ``timeout``
    seconds instead of hanging the suite.  Returns the CompletedProcess."""
    import subprocess
    import textwrap
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = _ROOT + os.pathsep + full_env.get("PYTHONPATH", "")
    if env:
        full_env.update(env)
    try:
        return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args],
                              cwd=_ROOT, capture_output=True, text=True,
                              timeout=timeout, env=full_env)
    except subprocess.TimeoutExpired as e:
        pytest.fail("child program still running after %.0f s (hung?); stderr:\n%s"
                    % (timeout, (e.stderr or b"")[-2000:]))
