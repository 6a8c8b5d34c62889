"""The after_func dispatcher (gochan/_time.py) survives whatever a callback or
go() raises, reports it as an uncaught exception in a thread is reported
(threading.excepthook), and goes on serving (issue 7, part 4)."""
import threading

import pytest

import gochan._time as gtime
from gochan import Chan, after_func

from conftest import SOON

pytestmark = [pytest.mark.no_leftover_goroutines, pytest.mark.usefixtures("afterfunc_dispatcher")]


@pytest.fixture
def hook(monkeypatch):
    seen = Chan(10)
    monkeypatch.setattr(threading, "excepthook", lambda args: seen.send(args, timeout=SOON))
    return seen


def test_a_failing_go_is_reported_and_the_dispatcher_goes_on(monkeypatch, hook):
    real_go = gtime.go
    fail = [True]

    def flaky_go(fn, *args):
        if fail[0]:
            fail[0] = False
            raise RuntimeError("can't start new thread")
        return real_go(fn, *args)

    monkeypatch.setattr(gtime, "go", flaky_go)
    ran = Chan(2)
    after_func(0, ran.send, "lost", SOON)           # its go() fails
    args = hook.recv(timeout=SOON)
    assert isinstance(args.exc_value, RuntimeError)
    assert str(args.exc_value) == "can't start new thread"
    assert args.thread is gtime._dispatcher
    after_func(0, ran.send, "served", SOON)         # the dispatcher still serves
    assert ran.recv(timeout=SOON) == "served"
    assert gtime._dispatcher.is_alive()


def test_a_failing_inline_callback_is_reported_and_the_dispatcher_goes_on(hook):
    def bad():
        raise ZeroDivisionError("inline")

    gtime._after_func_inline(0.001, bad)
    args = hook.recv(timeout=SOON)
    assert isinstance(args.exc_value, ZeroDivisionError)
    assert args.exc_traceback is not None
    done = threading.Event()
    gtime._after_func_inline(0.001, done.set)        # inline: runs on the dispatcher
    assert done.wait(SOON)
    ran = threading.Event()
    after_func(0.001, ran.set)
    assert ran.wait(SOON)


def test_a_broken_excepthook_does_not_stop_it(monkeypatch):
    def broken(args):
        raise OSError("stderr is gone")

    monkeypatch.setattr(threading, "excepthook", broken)
    gtime._after_func_inline(0.001, lambda: 1 / 0)
    ran = threading.Event()
    after_func(0.01, ran.set)
    assert ran.wait(SOON)
    assert gtime._dispatcher.is_alive()


def test_inline_callbacks_start_no_thread():
    before = threading.active_count()
    seen = []
    done = threading.Event()

    def cb():
        seen.append(threading.current_thread())
        done.set()

    gtime._after_func_inline(0.001, cb)
    assert done.wait(SOON)
    assert seen == [gtime._dispatcher]
    assert threading.active_count() == before
