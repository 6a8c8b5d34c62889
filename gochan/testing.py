"""gochan.testing: Go's ``testing/synctest`` for threads.

    def test_timeout():
        def body():
            ch = Chan()
            start = gochan.now()                  # 0.0: the bubble's clock
            with pytest.raises(TimeoutError):
                ch.recv(timeout=3600)             # an hour, at once
            assert gochan.now() - start == 3600
        gochan.testing.run(body)

``run(fn)`` runs ``fn`` in a new goroutine inside a *bubble*: the goroutines
it starts (``go``, ``WaitGroup`` users, ``after_func``) belong to the bubble,
and so do the channels and timers they make.  The bubble's clock starts at
0 and moves only when every goroutine of the bubble is durably blocked
(parked in gochan on the bubble's own channels and timers, or in
``sleep``/``wait``): then it jumps to the next timer or timeout.  If nothing
is left to fire, that is a deadlock: the blocked calls raise ``Deadlock``
and so does ``run()``, naming each goroutine and what it waited for.

``wait()`` blocks the calling goroutine until every other goroutine of the
bubble is durably blocked: the moment to check what they did.

The bookkeeping is C (gochan/_core/bubble.c); this module starts the
goroutines and reports.
"""
from __future__ import annotations

import functools
from typing import Any, Callable, Dict, List, Tuple, TypeVar

from gochan._go import _bubble_go
from gochan._load import _native

R = TypeVar("R")

Deadlock = _native.Deadlock


class _State:
    """What the Python side keeps for one bubble (``Bubble.data``)."""

    __slots__ = ("names",)

    def __init__(self) -> None:
        self.names: Dict[int, str] = {}   # thread ident -> name, of its goroutines


def run(fn: Callable[..., R], *args: Any, **kwargs: Any) -> R:
    """Run ``fn(*args, **kwargs)`` in a new goroutine inside a new bubble and
    return its result (or raise what it raised) once it and every goroutine
    started in the bubble have returned.  Raises ``Deadlock`` if the bubble
    deadlocks (its message lists each blocked goroutine and what it waits
    for), ``RuntimeError`` if called from inside a bubble.  Go:
    ``synctest.Test(t, f)``."""
    if not callable(fn):
        raise TypeError(f"testing.run: fn must be callable, not {type(fn).__name__}")
    if _native.bubble_current() is not None:
        raise RuntimeError("testing.run: called from inside a bubble (bubbles do not nest)")
    b = _native.Bubble()
    state = _State()
    b.data = state
    outcome: List[Tuple[bool, Any]] = []

    def main() -> None:
        try:
            outcome.append((True, fn(*args, **kwargs)))
        except BaseException as e:  # re-raised by run()
            outcome.append((False, e))

    events = b.events
    try:
        label = getattr(fn, "__qualname__", None) or repr(fn)
        _bubble_go(b, main, (), {}, counted=False, is_main=True, name=f"testing.run({label})")
        while True:
            item = events.recv()
            if item is None:   # every goroutine has exited
                break
            f, fargs, _ = item  # an after_func of the bubble fired
            del item
            _bubble_go(b, f, fargs, {}, counted=True)
            del f, fargs
    finally:
        _native.bubble_close(b)
    if b.deadlocked:
        err = Deadlock(_report(b, state))
        if outcome and not outcome[0][0] and not isinstance(outcome[0][1], Deadlock):
            raise err from outcome[0][1]
        raise err
    ok, value = outcome[0]
    if not ok:
        raise value
    return value  # type: ignore[no-any-return]


def _report(b: Any, state: _State) -> str:
    if b.deadlocked == 2:
        head = "deadlock: run()'s goroutine has returned but blocked goroutines remain"
    else:
        head = "deadlock: every goroutine of the bubble is durably blocked"
    lines = [head + f" (virtual time {b.now:g} s):"]
    for ident, what in b.report:
        name = state.names.get(ident, "?")
        lines.append(f"  {name} (thread {ident}): {what}")
    return "\n".join(lines)


def wait() -> None:
    """Block until every other goroutine of the calling goroutine's bubble is
    durably blocked.  Go: ``synctest.Wait()``.  Outside a bubble:
    ``RuntimeError``; from two goroutines of a bubble at once: ``RuntimeError``."""
    _native.bubble_wait()


def in_bubble() -> bool:
    """Whether the calling thread is a goroutine of a bubble.  Go has no
    such query (a goroutine of a synctest bubble cannot tell)."""
    return _native.bubble_current() is not None


def bubbled(fn: Callable[..., R]) -> Callable[..., R]:
    """Decorator: every call of ``fn`` runs in a new bubble (``run(fn, ...)``).

    Meant for tests: ``@gochan.testing.bubbled`` above a pytest test function
    runs its body on virtual time; pytest's fixtures are still passed in
    (the signature is kept), and a hypothesis ``@given`` may sit above it.
    Go: ``synctest.Test(t, func(t *testing.T) {...})`` around a test body."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> R:
        return run(fn, *args, **kwargs)

    return wrapper


__all__ = ["run", "wait", "in_bubble", "bubbled", "Deadlock"]

