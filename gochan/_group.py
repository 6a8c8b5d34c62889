"""Groups of goroutines working on one task (Go's ``golang.org/x/sync/errgroup``).

    g, ctx = Group.with_context(context.background())
    for url in urls:
        g.go(fetch, ctx, url)
    g.wait()            # raises the first exception a fetch raised

A ``Group`` is a ``WaitGroup`` plus the first exception (by time) any of its
functions raised, an optional limit on the goroutines active at once (a
buffered channel used as a semaphore, as in errgroup), and, with
``with_context``, a context canceled by that first exception or by
``wait()`` returning.
"""
from __future__ import annotations

import threading
from typing import Any, Callable, Optional, Tuple

from gochan import context
from gochan._chan import Chan
from gochan._go import WaitGroup, _not_callable, go

__all__ = ["Group"]


class Group:
    """Goroutines working on subtasks of one task (Go's ``errgroup.Group``).

    The zero ``Group()`` has no limit and no context; ``wait()`` waits for
    every function started with ``go``/``try_go`` and raises the first
    exception one of them raised."""

    __slots__ = ("_wg", "_sem", "_lock", "_err", "_cancel", "_active")

    def __init__(self) -> None:
        self._wg = WaitGroup()
        self._sem: Optional[Chan[None]] = None   # holds a token per active goroutine
        self._lock = threading.Lock()
        self._err: Optional[BaseException] = None
        self._cancel: Optional[context.CancelCauseFunc] = None
        self._active = 0                          # goroutines started, not yet returned

    @classmethod
    def with_context(cls, parent: context.Context) -> Tuple["Group", context.Context]:
        """A new Group and a child context of ``parent`` that is canceled
        (its cause: that exception) when a function of the group first raises,
        or when ``wait()`` first returns, whichever is first."""
        ctx, cancel = context.with_cancel_cause(parent)
        g = cls()
        g._cancel = cancel
        return g, ctx

    def _run(self, fn: Callable[..., Any], args: Tuple[Any, ...], kwargs: dict[str, Any],
             sem: Optional[Chan[None]]) -> None:
        try:
            fn(*args, **kwargs)
        except BaseException as e:
            with self._lock:
                first = self._err is None
                if first:
                    self._err = e
            if first and self._cancel is not None:
                self._cancel(e)
        finally:
            if sem is not None:
                sem.recv()             # give the token back
            with self._lock:
                self._active -= 1
            self._wg.done()

    def _start(self, fn: Callable[..., Any], args: Tuple[Any, ...], kwargs: dict[str, Any],
               sem: Optional[Chan[None]]) -> None:
        """The token (if any) is taken: count the goroutine and start it."""
        with self._lock:
            self._active += 1
        self._wg.add(1)
        try:
            go(self._run, fn, args, kwargs, sem)
        except BaseException:          # no thread: as if never called
            with self._lock:
                self._active -= 1
            if sem is not None:
                sem.recv()
            self._wg.done()
            raise

    def go(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Run ``fn(*args, **kwargs)`` in a goroutine of the group, first
        waiting (interruptibly) while ``set_limit(n)`` goroutines are active.
        An exception ``fn`` raises is kept for ``wait()``; the first one (by
        time) cancels the group's context."""
        if not callable(fn):
            raise _not_callable("Group.go", fn)
        sem = self._sem
        if sem is not None:
            sem.send(None)
        self._start(fn, args, kwargs, sem)

    def try_go(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> bool:
        """Like ``go``, but only if the group is under its limit now; returns
        whether ``fn`` was started."""
        if not callable(fn):
            raise _not_callable("Group.try_go", fn)
        sem = self._sem
        if sem is not None:
            try:
                sem.send(None, timeout=0)
            except TimeoutError:
                return False
        self._start(fn, args, kwargs, sem)
        return True

    def set_limit(self, n: int) -> None:
        """Allow at most ``n`` goroutines of the group to be active at once
        (negative: no limit).  Changing the limit while goroutines of the
        group are active is a RuntimeError (as Go's errgroup panics)."""
        if not isinstance(n, int) or isinstance(n, bool):
            raise TypeError(f"Group.set_limit: n must be an int, not {type(n).__name__}")
        with self._lock:
            if self._active:
                raise RuntimeError(f"errgroup: modify limit while {self._active} goroutines "
                                   "in the group are still active")
            self._sem = None if n < 0 else Chan(n)

    def wait(self, timeout: Optional[float] = None) -> None:
        """Wait until every function started in the group has returned, then
        raise the first exception one of them raised (or return None).  With
        ``with_context``, the context is canceled when ``wait`` returns.
        ``timeout`` (parsed like ``Chan.recv``'s): TimeoutError if the
        functions have not all returned by then (the context is left alone)."""
        self._wg.wait(timeout)
        if self._cancel is not None:
            self._cancel(self._err)
        if self._err is not None:
            raise self._err

    def __repr__(self) -> str:
        limit = "none" if self._sem is None else self._sem.cap
        return f"<Group active={self._active} limit={limit}>"
