"""``dump()`` and ``Deadlock``: what every thread blocked in gochan waits for,
and Go's ending for a program whose goroutines are all asleep.

An uncaught process-wide ``Deadlock`` (raised in the main thread's blocking
call, see _core/bubble.c) ends the program as Go's runtime does: the message
``fatal error: all goroutines are asleep - deadlock!`` and the goroutines on
stderr, exit status 2, without waiting for other threads (they are all
asleep for ever) or running atexit handlers (Go runs no deferred calls
either).  This is a ``sys.excepthook`` wrapper installed at import.
"""
from __future__ import annotations

import os
import sys
import threading
import time
import traceback
from types import TracebackType
from typing import Optional, Type

from gochan._load import _native

Deadlock = _native.Deadlock
_PROCESS_DEADLOCK = "all goroutines are asleep - deadlock!"


def dump() -> str:
    """Every thread blocked in gochan: its name, the operation and the
    channels' reprs, for how long, and its Python stack (most recent call
    last), one block per thread.  Go: the goroutine dump that a crash, or
    ``runtime.Stack(buf, true)``, prints."""
    ops = _native.parked_ops()
    frames = sys._current_frames()
    names = {t.ident: t.name for t in threading.enumerate()}
    real_now = time.monotonic()
    out = []
    for ident, what, since, deadline, bubble, durable in ops:
        name = names.get(ident, "?")
        head = f"goroutine {name!r} (thread {ident}) [{what}"
        head += f", {max(0.0, real_now - since):.1f} s"
        if deadline is not None:
            head += f", timeout at {deadline:.3f}" + (" (virtual)" if bubble is not None else "")
        if bubble is not None:
            head += ", in a bubble" + (", durably blocked" if durable else "")
        head += "]:"
        out.append(head)
        frame = frames.get(ident)
        if frame is not None:
            out.extend(line.rstrip("\n") for line in traceback.format_stack(frame))
        out.append("")
    del frames
    return "\n".join(out)


_previous_hook = sys.excepthook


def _excepthook(tp: Type[BaseException], e: BaseException, tb: Optional[TracebackType]) -> None:
    if not (isinstance(e, Deadlock) and str(e) == _PROCESS_DEADLOCK):
        _previous_hook(tp, e, tb)
        return
    try:
        sys.stdout.flush()
    except Exception:  # a closed or broken stdout must not hide the message
        pass
    text = f"fatal error: {_PROCESS_DEADLOCK}\n\n"
    text += "goroutine 'MainThread' (main thread):\n"
    text += "".join(traceback.format_tb(tb)) + "\n" + dump()
    try:
        sys.stderr.write(text)
        sys.stderr.flush()
    finally:
        os._exit(2)


sys.excepthook = _excepthook

__all__ = ["dump", "Deadlock"]
