"""gochan.signal.notify_context (Go's signal.NotifyContext): the ideas of
Go's TestNotifyContext* tests, each in a fresh child process with real
signals (they would disturb pytest itself)."""
from __future__ import annotations

import json
import signal
import textwrap

import pytest

from test_signal_subproc import result, run as run_child

pytestmark = pytest.mark.no_leftover_goroutines

PRE = """
from gochan import context
from gochan.context import Canceled
bg = context.background()
def goroutines():
    return sorted(t.name for t in threading.enumerate() if "_await_signal" in t.name)
"""


def run(body):
    return run_child(PRE + textwrap.dedent(body))


def test_signal_makes_it_done_with_the_signal_as_cause_and_stop_restores_ctrl_c():
    out = result(run("""
        ctx, stop = gs.notify_context(bg, signal.SIGINT, signal.SIGTERM)
        out["before"] = ctx.err() is None
        out["getsignal"] = repr(signal.getsignal(signal.SIGINT))
        os.kill(os.getpid(), signal.SIGINT)
        ctx.done().recv(timeout=20)
        out["err"] = type(ctx.err()).__name__
        c = context.cause(ctx)
        out["cause"] = [type(c).__name__, str(c), int(c.signal)]
        os.kill(os.getpid(), signal.SIGINT)      # swallowed until stop()
        time.sleep(0.2)
        stop()
        stop()                                   # idempotent
        out["restored"] = signal.getsignal(signal.SIGINT) is signal.default_int_handler
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)
            out["second"] = "nothing"
        except KeyboardInterrupt:
            out["second"] = "KeyboardInterrupt"
        done()
    """))
    assert out == {"before": True, "getsignal": "<gochan.signal relay>", "err": "Canceled",
                   "cause": ["SignalReceived", "SIGINT received", int(signal.SIGINT)],
                   "restored": True, "second": "KeyboardInterrupt"}


def test_stop_before_any_signal_cancels_and_restores_the_default():
    proc = run("""
        ctx, stop = gs.notify_context(bg, signal.SIGTERM)
        stop()
        out["err"] = type(ctx.err()).__name__
        out["cause_is_err"] = context.cause(ctx) is ctx.err()
        wait = time.monotonic() + 10
        while goroutines() and time.monotonic() < wait:
            time.sleep(0.01)
        out["goroutines"] = goroutines()
        done()
        os.kill(os.getpid(), signal.SIGTERM)     # default action again: killed
        time.sleep(10)
        print("survived SIGTERM", flush=True)
    """)
    assert proc.returncode == -signal.SIGTERM, proc.stdout + proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out == {"err": "Canceled", "cause_is_err": True, "goroutines": []}


def test_parent_cancellation_makes_it_done_and_ends_its_goroutine():
    out = result(run("""
        parent, cancel = context.with_cancel(bg)
        ctx, stop = gs.notify_context(parent, signal.SIGUSR1)
        out["goroutines_before"] = len(goroutines())
        cancel()
        ctx.done().recv(timeout=20)
        out["err_is_parents"] = ctx.err() is parent.err()
        wait = time.monotonic() + 10
        while goroutines() and time.monotonic() < wait:
            time.sleep(0.01)
        out["goroutines_after"] = goroutines()
        out["still_notified"] = installed(signal.SIGUSR1)     # until stop(), as in Go
        stop()
        out["after_stop"] = installed(signal.SIGUSR1)
        done()
    """))
    assert out == {"goroutines_before": 1, "err_is_parents": True, "goroutines_after": [],
                   "still_notified": True, "after_stop": False}


def test_parent_done_before_starts_no_goroutine():
    out = result(run("""
        parent, cancel = context.with_cancel(bg)
        cancel()
        ctx, stop = gs.notify_context(parent, signal.SIGUSR1)
        out["done"] = ctx.err() is parent.err()
        out["goroutines"] = goroutines()
        stop()
        out["after_stop"] = installed(signal.SIGUSR1)
        done()
    """))
    assert out == {"done": True, "goroutines": [], "after_stop": False}


def test_only_its_own_signals_and_several_contexts():
    out = result(run("""
        a, stop_a = gs.notify_context(bg, signal.SIGUSR1)
        b, stop_b = gs.notify_context(bg, signal.SIGUSR1, signal.SIGUSR2)
        os.kill(os.getpid(), signal.SIGUSR2)
        b.done().recv(timeout=20)
        out["b"] = context.cause(b).signal.name
        time.sleep(0.1)
        out["a_pending"] = a.err() is None
        os.kill(os.getpid(), signal.SIGUSR1)
        a.done().recv(timeout=20)
        out["a"] = context.cause(a).signal.name
        stop_b()
        out["usr1_still_for_a"] = installed(signal.SIGUSR1)
        stop_a()
        out["usr1_after"] = installed(signal.SIGUSR1)
        done()
    """))
    assert out == {"b": "SIGUSR2", "a_pending": True, "a": "SIGUSR1",
                   "usr1_still_for_a": True, "usr1_after": False}


def test_simultaneous_stops():
    out = result(run("""
        ctx, stop = gs.notify_context(bg, signal.SIGINT)
        ts = [go(stop) for _ in range(10)]
        for t in ts:
            t.join(20)
        out["err"] = type(ctx.err()).__name__
        out["relay_removed"] = not installed(signal.SIGINT)
        try:                      # stopped from other threads: Ctrl+C is back all the same
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)
            out["ctrl_c"] = "nothing"
        except KeyboardInterrupt:
            out["ctrl_c"] = "KeyboardInterrupt"
        done()
    """))
    assert out == {"err": "Canceled", "relay_removed": True, "ctrl_c": "KeyboardInterrupt"}


def test_bad_input_changes_nothing():
    out = result(run("""
        for bad, args in (("parent", (None, signal.SIGINT)),
                          ("signal", (bg, "SIGINT")),
                          ("uncatchable", (bg, signal.SIGKILL))):
            try:
                gs.notify_context(*args)
                out[bad] = "accepted"
            except (TypeError, ValueError) as e:
                out[bad] = type(e).__name__
        out["installed"] = installed(signal.SIGINT)
        out["goroutines"] = goroutines()
        done()
    """))
    assert out == {"parent": "TypeError", "signal": "TypeError", "uncatchable": "ValueError",
                   "installed": False, "goroutines": []}
