"""Timers with Go 1.23 semantics, served by one C timer thread
(see _core/timer.c): ``after``, ``tick``, ``Timer``, ``Ticker``,
``after_func``; and the clock: ``now``, ``sleep``.

Inside a gochan.testing bubble, timers run on the bubble's virtual clock
(see _core/bubble.c), and so do ``now()``, ``sleep()`` and every ``timeout=``.

Durations are seconds (int or float).  A duration too large to represent
means "never".  The value a timer delivers is the ``time.monotonic()`` at
which it fired.  Timer channels are synchronous, as in Go 1.23: a value that
nobody has received has not been delivered, so ``stop()`` and ``reset()``
report such a timer as still pending and drop the value; ``len(t.c)`` is 0.
Timers that nobody references any more are garbage-collected, pending or not
(an ``after_func`` timer stays alive until it has fired or been stopped).
"""
from __future__ import annotations

import os
import threading
from typing import Any, Callable

from gochan._chan import Chan, RecvChan, nilchan
from gochan._go import go
from gochan._load import _native


def now() -> float:
    """``time.monotonic()``; inside a gochan.testing bubble, the bubble's
    virtual clock (0 when the bubble starts).  Go: ``time.Now()`` (a
    bubble's clock is synctest's fake one)."""
    return _native.now()


def sleep(seconds: float) -> None:
    """Sleep ``seconds`` (interruptible by Ctrl+C in the main thread).  Inside
    a gochan.testing bubble it is a durable block on the virtual clock: it
    returns as soon as every goroutine of the bubble is blocked and the
    clock reaches its end.  Go: ``time.Sleep(d)``."""
    _native.sleep(seconds)


def after(seconds: float) -> RecvChan[float]:
    """A channel that delivers the fire time once, after ``seconds``
    (at once if ``seconds <= 0``).  Go: ``time.After(d)``."""
    return _native.timer_new(_native.TIMER_ONESHOT, seconds)


def tick(seconds: float) -> RecvChan[float]:
    """A channel that delivers the time every ``seconds``; a slow receiver
    misses ticks rather than queueing them.  ``seconds <= 0``: ValueError.
    Go: ``time.Tick(d)``."""
    return _native.timer_new(_native.TIMER_TICKER, seconds)


class Timer:
    """A single event: ``.c`` delivers the fire time once, after the duration.
    Go: ``time.NewTimer(d)``, with Go 1.23's synchronous channel.

    ``stop()`` and ``reset(seconds)`` return True if the timer was pending
    (including a fired value nobody has received yet, which they drop)."""

    __slots__ = ("c", "_t", "__weakref__")

    def __init__(self, seconds: float) -> None:
        self._t = _native.timer_new(_native.TIMER_ONESHOT, seconds)
        self.c: RecvChan[float] = self._t

    def stop(self) -> bool:
        """Stop the timer; True if it was pending.  After it returns, no
        stale value is received from ``.c``.  Go: ``t.Stop()``."""
        return _native.timer_stop(self._t)

    def reset(self, seconds: float) -> bool:
        """Re-arm the timer to fire after ``seconds``; True if it was pending
        (a pending value is dropped).  Go: ``t.Reset(d)``."""
        return _native.timer_reset(self._t, seconds)

    def __repr__(self) -> str:
        return f"<Timer c={self.c!r}>"


class Ticker:
    """Delivers the time on ``.c`` every period; at most one tick waits for a
    slow receiver.  ``stop()`` ends delivery; ``reset(seconds)`` changes the
    period.  A period ``<= 0`` raises ValueError.  Go: ``time.NewTicker(d)``."""

    __slots__ = ("c", "_t", "__weakref__")

    def __init__(self, seconds: float) -> None:
        self._t = _native.timer_new(_native.TIMER_TICKER, seconds)
        self.c: RecvChan[float] = self._t

    def stop(self) -> None:
        """Stop the ticker; no stale tick is received after it returns.
        Go: ``tk.Stop()``."""
        _native.timer_stop(self._t)

    def reset(self, seconds: float) -> None:
        """Stop the ticker and restart it with period ``seconds``.
        Go: ``tk.Reset(d)``."""
        _native.timer_reset(self._t, seconds)

    def __repr__(self) -> str:
        return f"<Ticker c={self.c!r}>"


# after_func: the timer thread sends (fn, args, chan) on the after-func queue;
# one dispatcher thread receives them and starts each fn in its own goroutine.
#
# Internal callbacks (context deadlines) must not cost a thread each: a timer
# armed by _after_func_inline() carries the marker _INLINE as its args, and
# the dispatcher calls its fn() right there, on its own thread.  Such a fn
# must be short and must never block: it delays every later after_func.
#
# The dispatcher must outlive anything a callback or go() raises ("can't
# start new thread" included): it reports the error as an uncaught exception
# in a thread is reported (threading.excepthook) and serves the next one.
_dispatch_lock = threading.Lock()
_dispatcher: threading.Thread | None = None
_INLINE: tuple[Any, ...] = tuple(["gochan: run inline on the dispatcher"])


def _report(exc: BaseException) -> None:
    """Report exc as threading reports an exception that ends a thread."""
    try:
        threading.excepthook(threading.ExceptHookArgs(
            (type(exc), exc, exc.__traceback__, threading.current_thread())))
    except BaseException:
        pass    # a broken excepthook must not stop the dispatcher either


def _dispatch() -> None:
    q = _native.afterfunc_queue
    while True:
        fn, args, _ = q.recv()
        try:
            if args is _INLINE:
                fn()
            else:
                go(fn, *args)
        except BaseException as e:
            _report(e)
            del e
        del fn, args, _   # keep nothing of a fired timer while waiting for the next


def _after_func_inline(seconds: float, fn: Callable[[], Any]) -> Chan[float]:
    """Internal: call ``fn()`` on the dispatcher thread after ``seconds``
    (no thread of its own; fn must be short and never block).  Returns the
    timer's channel, for ``_native.timer_stop``; ``seconds`` must be
    positive (the caller handles deadlines already past)."""
    if _dispatcher is None:
        _ensure_dispatcher()
    return _native.timer_new(_native.TIMER_FUNC, seconds, fn, _INLINE)


def _ensure_dispatcher() -> None:
    global _dispatcher
    if _dispatcher is None:
        with _dispatch_lock:
            if _dispatcher is None:
                # a plain thread, never a goroutine of a bubble
                _dispatcher = threading.Thread(target=_dispatch, daemon=True,
                                               name="gochan after_func dispatcher")
                _dispatcher.start()


def _after_fork_child() -> None:
    global _dispatch_lock, _dispatcher
    _native.after_fork_child()            # restarts the timer thread
    _dispatch_lock = threading.Lock()
    if _dispatcher is not None:           # it did not survive the fork
        _dispatcher = None
        _ensure_dispatcher()


os.register_at_fork(after_in_child=_after_fork_child)


def after_func(seconds: float, fn: Callable[..., Any], *args: Any) -> Timer:
    """Run ``fn(*args)`` in its own thread after ``seconds``.  Returns a Timer
    whose ``.c`` is ``nilchan``; its ``stop()`` returns True if it kept fn
    from starting.  Go: ``time.AfterFunc(d, f)``."""
    if not callable(fn):
        raise TypeError(f"after_func: fn must be callable, not {type(fn).__name__}")
    if _native.bubble_current() is None:
        _ensure_dispatcher()   # in a bubble, run() starts fn (see _core/bubble.c)
    t = Timer.__new__(Timer)
    t._t = _native.timer_new(_native.TIMER_FUNC, seconds, fn, args)
    t.c = nilchan
    return t


__all__ = ["after", "tick", "Timer", "Ticker", "after_func", "now", "sleep"]
