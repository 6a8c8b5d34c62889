"""Goroutine-style threads: ``go`` and ``WaitGroup``.

Every goroutine gochan starts (``go``, ``WaitGroup.go``, ``Group.go``,
``after_func``, ``context.after_func``) is started by :func:`go`, so that
what must happen to each new goroutine happens in one place.

``WaitGroup.wait`` parks on a gochan channel that is closed when the counter
reaches zero (a new one for each round), so it is interruptible, its
``timeout=`` is parsed by the core exactly like ``recv``'s, and inside a
gochan.testing bubble it is a durable block.

Inside a bubble, ``go`` starts the thread as a goroutine of the bubble: it
is counted in the parent, before the thread exists (so the bubble never
looks idle while a goroutine is being started), and the thread joins the
bubble before it runs ``fn`` (see _core/bubble.c).
"""
from __future__ import annotations

import threading
from typing import Any, Callable

from gochan._chan import Chan
from gochan._load import _native


def _not_callable(what: str, fn: object) -> TypeError:
    """The TypeError for a non-callable passed where a function is expected."""
    hint = (" (did you call it? pass the function and its arguments: "
            "go(fn, arg, ...), not go(fn(arg)))")
    r = repr(fn)
    if len(r) > 80:
        r = r[:77] + "..."
    return TypeError(f"{what}: fn must be callable, got {r} of type "
                     f"{type(fn).__name__}{hint}")


def go(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> threading.Thread:
    """Run ``fn(*args, **kwargs)`` in a new daemon thread (a goroutine: the
    program does not wait for it) and return the started thread.

    ``TypeError`` at once if ``fn`` is not callable (a common slip is
    ``go(worker(1))``, which runs ``worker`` here and passes its result).
    Go: ``go fn(args...)``."""
    if not callable(fn):
        raise _not_callable("go", fn)
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


# Closed at import: what wait() parks on when the counter is already zero, so
# that its timeout argument is checked the same way in every case.
_zero: Chan[None] = Chan()
_zero.close()


class WaitGroup:
    """Waits for a collection of goroutines to finish.  Go: ``sync.WaitGroup``."""

    __slots__ = ("_lock", "_n", "_round")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._n = 0
        # Closed when the counter reaches zero; made by the first waiter of a round.
        self._round: Chan[None] | None = None

    def add(self, n: int = 1) -> None:
        """Add n (which may be negative) to the counter; at zero, wake waiters.
        A counter below zero: ``ValueError``.  Go: ``wg.Add(n)``."""
        if not isinstance(n, int) or isinstance(n, bool):
            raise TypeError(f"WaitGroup.add: n must be an int, not {type(n).__name__}")
        with self._lock:
            if self._n + n < 0:
                raise ValueError("negative WaitGroup counter")
            self._n += n
            if self._n != 0 or self._round is None:
                return
            ch, self._round = self._round, None
        ch.close()

    def done(self) -> None:
        """Decrement the counter by one.  Go: ``wg.Done()``."""
        self.add(-1)

    def go(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> threading.Thread:
        """``add(1)``, run ``fn(*args, **kwargs)`` in a goroutine and call
        ``done()`` when it returns or raises (Go 1.25's ``wg.Go``); return the
        thread.  An exception ``fn`` raises is reported as any uncaught
        exception in a thread is (``threading.excepthook``).  Go: ``wg.Go(f)``."""
        if not callable(fn):
            raise _not_callable("WaitGroup.go", fn)

        def run() -> None:
            try:
                fn(*args, **kwargs)
            finally:
                self.done()

        self.add(1)
        try:
            return go(run)
        except BaseException:
            self.done()          # the goroutine never started
            raise

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the counter is zero; return True.  Raise TimeoutError
        if ``timeout`` seconds pass first.  ``timeout`` is parsed like
        ``Chan.recv``'s: ``<= 0`` checks without blocking, one too large to
        represent waits for ever, NaN is a ValueError.  Go: ``wg.Wait()``."""
        with self._lock:
            if self._n == 0:
                ch = _zero
            else:
                if self._round is None:
                    self._round = Chan()
                ch = self._round
        try:
            ch.recv(timeout=timeout)
        except TimeoutError:
            raise TimeoutError("WaitGroup.wait timed out") from None
        return True

    def __repr__(self) -> str:
        return f"<WaitGroup counter={self._n}>"


__all__ = ["go", "WaitGroup"]
