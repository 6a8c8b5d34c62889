"""Goroutine-style threads: ``go`` and ``WaitGroup``."""
from __future__ import annotations

import threading
from typing import Any, Callable


def go(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> threading.Thread:
    """Run ``fn(*args, **kwargs)`` in a new daemon thread (a goroutine: the
    program does not wait for it) and return the started thread.
    Go: ``go fn(args...)``."""
    t = threading.Thread(target=fn, args=args, kwargs=kwargs, daemon=True)
    t.start()
    return t


class WaitGroup:
    """Waits for a collection of threads to finish.  Go: ``sync.WaitGroup``."""

    __slots__ = ("_cond", "_n")

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._n = 0

    def add(self, n: int = 1) -> None:
        """Add n (which may be negative) to the counter; at zero, wake waiters.
        A counter below zero: ``ValueError``.  Go: ``wg.Add(n)``."""
        if not isinstance(n, int) or isinstance(n, bool):
            raise TypeError(f"WaitGroup.add: n must be an int, not {type(n).__name__}")
        with self._cond:
            if self._n + n < 0:
                raise ValueError("negative WaitGroup counter")
            self._n += n
            if self._n == 0:
                self._cond.notify_all()

    def done(self) -> None:
        """Decrement the counter by one.  Go: ``wg.Done()``."""
        self.add(-1)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the counter is zero; return True.  Raise TimeoutError
        if ``timeout`` seconds pass first.  Go: ``wg.Wait()``."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._n == 0, timeout):
                raise TimeoutError("WaitGroup.wait timed out")
        return True

    def __repr__(self) -> str:
        return f"<WaitGroup counter={self._n}>"


__all__ = ["go", "WaitGroup"]
