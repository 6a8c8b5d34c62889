"""Goroutine-style threads: ``go`` and ``WaitGroup``.

Inside a gochan.testing bubble, ``go`` starts the thread as a goroutine of
the bubble: it is counted in the parent, before the thread exists (so the
bubble never looks idle while a goroutine is being started), and the
thread joins the bubble before it runs ``fn`` (see _core/bubble.c).
"""
from __future__ import annotations

import threading
from typing import Any, Callable

from gochan._chan import Chan
from gochan._load import _native


def go(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> threading.Thread:
    """Run ``fn(*args, **kwargs)`` in a new daemon thread (a goroutine: the
    program does not wait for it) and return the started thread.
    Go: ``go fn(args...)``."""
    b = _native.bubble_current()
    if b is not None:
        return _bubble_go(b, fn, args, kwargs, counted=False)
    t = threading.Thread(target=fn, args=args, kwargs=kwargs, daemon=True)
    t.start()
    return t


def _bubble_go(b: Any, fn: Callable[..., Any], args: Any, kwargs: Any, *,
               counted: bool, is_main: bool = False, name: str = "") -> threading.Thread:
    """Start fn as a goroutine of bubble b; ``counted``: b already counts it
    (an after_func that fired)."""
    if not counted:
        _native.bubble_spawn(b, 1)
    name = name or "goroutine " + (getattr(fn, "__qualname__", None) or repr(fn))
    t = threading.Thread(target=_bubble_main, args=(b, fn, args, kwargs, is_main), daemon=True,
                         name=name)
    try:
        t.start()
    except BaseException:
        _native.bubble_spawn(b, -1)
        raise
    return t


def _bubble_main(b: Any, fn: Callable[..., Any], args: Any, kwargs: Any, is_main: bool) -> None:
    _native.bubble_attach(b)
    b.data.names[threading.get_ident()] = threading.current_thread().name
    try:
        fn(*args, **kwargs)
    except _native.Deadlock:
        if not b.deadlocked:
            raise
        # the bubble's deadlock: run() reports it, with every goroutine
    finally:
        _native.bubble_detach(is_main)


class WaitGroup:
    """Waits for a collection of threads to finish.  Go: ``sync.WaitGroup``.

    ``wait`` parks in gochan (on a channel closed when the counter reaches
    zero), so inside a gochan.testing bubble it is a durable block."""

    __slots__ = ("_lock", "_n", "_zero")

    def __init__(self) -> None:
        self._lock = threading.Lock()   # held only for a few instructions
        self._n = 0
        self._zero: Chan[None] | None = None   # closed when the counter returns to 0

    def add(self, n: int = 1) -> None:
        """Add n (which may be negative) to the counter; at zero, wake waiters.
        A counter below zero: ``ValueError``.  Go: ``wg.Add(n)``."""
        if not isinstance(n, int) or isinstance(n, bool):
            raise TypeError(f"WaitGroup.add: n must be an int, not {type(n).__name__}")
        with self._lock:
            if self._n + n < 0:
                raise ValueError("negative WaitGroup counter")
            if self._n == 0 and n > 0:
                self._zero = Chan()
            self._n += n
            if self._n == 0 and self._zero is not None:
                zero, self._zero = self._zero, None
                zero.close()

    def done(self) -> None:
        """Decrement the counter by one.  Go: ``wg.Done()``."""
        self.add(-1)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the counter is zero; return True.  Raise TimeoutError
        if ``timeout`` seconds pass first.  Go: ``wg.Wait()``."""
        with self._lock:
            zero = self._zero
        if zero is not None:
            try:
                zero.recv(timeout=timeout)
            except TimeoutError:
                raise TimeoutError(f"WaitGroup.wait timed out after {timeout} s") from None
        return True

    def __repr__(self) -> str:
        return f"<WaitGroup counter={self._n}>"


__all__ = ["go", "WaitGroup"]
