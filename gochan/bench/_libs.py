"""The libraries a scenario runs on, each behind one small face.

Two families, plus a reference:

* Go-style channel libraries (gochan, pygolang) get a :class:`GoLib`: a
  channel constructor, ``select``/``default``, ``go``, ``after`` and a signal
  relay, so that a scenario is written once for both.
* The standard library's queues (``queue.Queue``, ``queue.SimpleQueue``) get
  a :class:`QueueLib`; scenarios emulate what a queue lacks (close, select)
  only where the emulation is natural, and say how in their notes.
* ``go`` is Go itself: the scenarios translated into one Go program, run as
  an external program rather than through a Python face (see ``_golang``).

Nothing here imports gochan or pygolang at module level: :func:`load` does,
inside the cell subprocess that measures them.
"""

from __future__ import annotations

import importlib
import queue
import signal
import time
from dataclasses import dataclass
from typing import Any, Callable, Optional, Union

GOCHAN = "gochan"
QUEUE = "queue.Queue"
SIMPLE_QUEUE = "queue.SimpleQueue"
PYGOLANG = "pygolang"
GO = "go"

#: Every library, in table order (gochan first, peers after, Go's own channels last).
LIBRARIES: tuple[str, ...] = (GOCHAN, QUEUE, SIMPLE_QUEUE, PYGOLANG, GO)
#: The libraries measured from Python through a face (all but Go).
PY_LIBRARIES: tuple[str, ...] = (GOCHAN, QUEUE, SIMPLE_QUEUE, PYGOLANG)
#: The Go-style libraries and the queue peers.
GO_LIBS: tuple[str, ...] = (GOCHAN, PYGOLANG)
QUEUES: tuple[str, ...] = (QUEUE, SIMPLE_QUEUE)
#: The Python module whose importability decides whether a library runs.
IMPORT_NAME = {GOCHAN: "gochan", QUEUE: "queue", SIMPLE_QUEUE: "queue", PYGOLANG: "golang"}


@dataclass(frozen=True)
class GoLib:
    """A Go-style channel library. Channels have ``send``, ``recv`` and ``close``."""

    label: str
    chan: Callable[[int], Any]
    """``chan(n)``: a channel of capacity n (0: unbuffered)."""
    select: Callable[..., tuple[int, Any]]
    default: object
    go: Callable[..., Any]
    """``go(fn, *args)``: run fn in a new thread."""
    after: Callable[[float], Any]
    """``after(s)``: a channel that delivers once, s seconds from now."""
    recv_ok: Callable[[Any], Callable[[], tuple[Any, bool]]]
    """``recv_ok(ch)``: the bound ``(value, ok)`` receive of ch."""
    receivers_parked: Callable[[Any], Optional[int]]
    """Threads parked receiving on a channel (a private test hook), or None if unknown."""
    signal_chan: Callable[[], Any]
    """A channel of capacity 1 that can be notified of signals."""
    notify: Callable[[Any, int], None]
    """``notify(ch, signum)``: relay signal signum to ch."""
    signal_stop: Callable[[Any], None]
    """``signal_stop(ch)``: stop relaying signals to ch."""


@dataclass(frozen=True)
class QueueLib:
    """A standard library queue: ``put``/``get``, no close, no select."""

    label: str
    new: Callable[[int], Any]
    """``new(maxsize)``: a queue; SimpleQueue is always unbounded and ignores maxsize."""
    bounded: bool
    getters_parked: Callable[[Any], Optional[int]]
    """Threads waiting in ``get``, or None where the queue cannot tell."""


Lib = Union[GoLib, QueueLib]


def load(label: str) -> Lib:
    """Import the library named by ``label`` and return its face."""
    if label == GOCHAN:
        return _load_gochan()
    if label == PYGOLANG:
        return _load_pygolang()
    if label == QUEUE:
        return QueueLib(QUEUE, queue.Queue, True, lambda q: len(q.not_empty._waiters))
    if label == SIMPLE_QUEUE:
        return QueueLib(SIMPLE_QUEUE, lambda _maxsize: queue.SimpleQueue(), False, lambda q: None)
    if label == GO:
        raise ValueError("go has no Python face: its scenarios run as a Go program (see gochan.bench._golang)")
    raise ValueError(f"unknown library {label!r}; known: {', '.join(LIBRARIES)}")


def _load_gochan() -> GoLib:
    import gochan
    import gochan.signal

    return GoLib(
        label=GOCHAN,
        chan=gochan.Chan,
        select=gochan.select,
        default=gochan.default,
        go=gochan.go,
        after=gochan.after,
        recv_ok=lambda ch: ch.recv_ok,
        receivers_parked=lambda ch: ch._waiters()[0],
        signal_chan=lambda: gochan.Chan(1),
        notify=lambda ch, signum: gochan.signal.notify(ch, signal.Signals(signum)),
        signal_stop=gochan.signal.stop,
    )


def _load_pygolang() -> GoLib:
    # import_module: pygolang has no type information, and may not be installed.
    golang = importlib.import_module("golang")
    gos = importlib.import_module("golang.os")
    syscall = importlib.import_module("golang.syscall")
    gtime = importlib.import_module("golang.time")
    gsignal = importlib.import_module("golang.os.signal")

    def notify(ch: Any, signum: int) -> None:
        gsignal.Notify(ch, getattr(syscall, signal.Signals(signum).name))

    receivers_parked: Callable[[Any], Optional[int]]
    try:  # pygolang's own test hook, built with it
        receivers_parked = importlib.import_module("golang._golang_test").pylen_recvq
    except ImportError:
        receivers_parked = lambda ch: None  # noqa: E731

    return GoLib(
        label=PYGOLANG,
        chan=golang.chan,
        select=golang.select,
        default=golang.default,
        go=golang.go,
        after=gtime.after,
        recv_ok=lambda ch: ch.recv_,
        receivers_parked=receivers_parked,
        signal_chan=lambda: golang.chan(1, dtype=gos.Signal),
        notify=notify,
        signal_stop=gsignal.Stop,
    )


def wait_receivers_parked(lib: Lib, ch: Any, n: int, timeout: float = 10.0) -> None:
    """Wait until n threads are parked receiving on ch (a channel or a queue).

    Uses the library's private hook where it has one; otherwise (SimpleQueue,
    or a pygolang built without its test module) sleeps 50 ms, which on an idle machine is ample for threads that have
    already announced they are about to block.
    """
    hook = lib.receivers_parked if isinstance(lib, GoLib) else lib.getters_parked
    count: Callable[[], Optional[int]] = lambda: hook(ch)  # noqa: E731
    if count() is None:
        time.sleep(0.05)
        return
    deadline = time.monotonic() + timeout
    while (count() or 0) < n:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{lib.label}: only {count()} of {n} receivers parked after {timeout} s")
        time.sleep(0.0005)
