"""gochan: Go's channels, select, timers and OS signals for threaded CPython.

The core is C (built by cffi); this package is its typed face::

    from gochan import Chan, select, default

    ch: Chan[int] = Chan(3)
    ch.send(1)
    i, v = select(ch.recv, default)

The documentation is in docs/.  ``import gochan.signal`` relays
OS signals to channels; ``from gochan import context`` is Go's package
context (cancellation and deadlines), and ``Group`` is Go's errgroup;
``gochan.testing`` runs tests in a bubble on virtual time (Go's
testing/synctest) and ``Deadlock`` is Go's "all goroutines are asleep".
"""
from __future__ import annotations

from gochan._chan import Chan, ClosedChannelError, RecvCase, RecvChan, SendCase, SendChan, nilchan
from gochan._debug import Deadlock, dump
from gochan._go import WaitGroup, go
from gochan._group import Group
from gochan import context  # noqa: E402  (Go's package context)
from gochan._select import DefaultCase, default, select
from gochan._time import Ticker, Timer, after, after_func, now, sleep, tick
from gochan import testing

__all__ = [
    "Chan",
    "nilchan",
    "select",
    "default",
    "go",
    "WaitGroup",
    "Group",
    "after",
    "tick",
    "Timer",
    "Ticker",
    "after_func",
    "ClosedChannelError",
    "SendChan",
    "RecvChan",
    "context",
    "RecvCase",
    "SendCase",
    "DefaultCase",
    "now",
    "sleep",
    "Deadlock",
    "dump",
    "testing",
]
__version__ = "0.2.0"
