"""gochan.signal: OS signals as channel messages (Go's os/signal).

    sigs = Chan(1)
    gochan.signal.notify(sigs, signal.SIGINT, signal.SIGTERM)
    i, v = select(jobs.recv, sigs.recv)     # v is signal.Signals.SIGTERM

Design
======

Why not signal.signal()
-----------------------
A Python-level handler runs only in the main thread, at its next bytecode
boundary.  A main thread blocked in ``recv()`` on the very channel the
signal is meant for runs no bytecode until the wait ends, so the handler
would wait for the wait it is supposed to end; and ``signal.signal()``
refuses to run in any other thread, while ``notify()`` must work from any
thread.  So, as in Go's runtime, the work is split in two (the C half is
described at the top of ``gochan/_core/sigrelay.c``):

* a C ``sigaction`` handler, installed for exactly the signals some channel
  is notified for, marks the signal pending and writes a byte to a self-pipe;
* one relay thread (started by the first ``notify``) blocks on that pipe with
  the GIL released and, for each pending signal, sends the ``signal.Signals``
  member with ``send(v, timeout=0)`` to every channel notified for it.

The registry and its lock
-------------------------
``_by_sig`` (signal -> channels) and ``_by_chan`` (channel -> signals) are
changed only with ``_lock`` held, and the kernel disposition is changed in
the same critical section, so these hold whenever the lock is free:

* the relay handler is installed for ``sig`` exactly when ``_by_sig[sig]``
  is non-empty (unless foreign code replaced it: ``signal.signal()`` on a
  notified signal takes the signal away from gochan, as a foreign handler
  does in Go; ``stop`` then leaves that handler alone);
* the relay sends only with ``_lock`` held, and only to channels in
  ``_by_sig`` at that moment.  Hence once ``stop(ch)`` (which takes the lock)
  returns, nothing more is sent to ``ch``;
* a signal caught by the C handler is dispatched later.  If by then no
  channel wants it (``stop``, ``ignore`` or ``reset`` ran in between), the
  handler is no longer installed, and the relay re-raises the signal
  (``signal.raise_signal``), so the restored disposition handles it.  A
  signal arriving while ``stop(ch)`` runs is therefore either delivered to
  ``ch`` or handled by the restored handler: never lost.

Delivery never blocks: a channel that cannot take the value at once misses
that delivery (give it a buffer).  Sending to a closed channel panics in Go,
which would kill Go's signal loop with the program; here the relay must not
die, so a channel found closed is stopped as if by ``stop(ch)`` (a
``RuntimeWarning`` says so), and the signal, if no other channel wants it,
goes to the restored disposition.  Close a channel only after ``stop(ch)``.
notify() refuses a timer's channel, which is receive-only.

What signal.getsignal() reports
-------------------------------
CPython keeps its own table of Python handlers, which ``signal.getsignal``
reads and which code such as ``asyncio.run`` consults before installing its
own SIGINT handler.  When ``notify`` installs the relay from the main thread,
it also sets that table entry to ``RELAY`` (the ``repr`` is
``<gochan.signal relay>``), bracketing ``signal.signal()`` with a snapshot
and restore of the kernel disposition so that only the table changes; when
no channel wants the signal any more the previous entry comes back.  So
``asyncio.run`` leaves a notified SIGINT alone, and ``getsignal`` tells the
truth.  ``signal.signal()`` works only in the main thread: a table change
that another thread needs is left to the main thread (``_stale``): ``RELAY``
runs there when the signal next reaches CPython's handler, or at once, via
``_thread.interrupt_main``, when the kernel would no longer call it.

``RELAY`` itself is a Python handler, so it runs between any two bytecodes
of the main thread, also inside this module's own critical sections.  There
it only records the signal (``_deferred``), and the critical section handles
it on exit, when the registry is consistent again: the problem trio's
``_ki.py`` describes for KeyboardInterrupt, solved the same way.

fork()
------
The C fork handlers give the child its own pipe (so a signal sent to one
process never reaches the other's channels); ``_after_fork_child`` gives it
a fresh lock and a new relay thread.  The registry is inherited: the
notifications made before the fork stay in effect in the child.  The fork
hooks take ``_lock`` around the fork, so the child's registry is consistent.
"""
from __future__ import annotations

import _thread
import os
import signal as _signal
import sys
import threading
import traceback
import warnings
from types import FrameType
from typing import Any, Callable, Dict, List, Optional, Set, Tuple, Union

from gochan import Chan, ClosedChannelError, go, nilchan, select
from gochan import context as _context
from gochan._load import _ffi as ffi, _lib as lib, _native

__all__ = ["notify", "stop", "ignore", "reset", "ignored", "notify_context",
           "SignalReceived", "RELAY"]

_PyHandler = Union[Callable[[int, Optional[FrameType]], Any], int, _signal.Handlers, None]

_UNCATCHABLE = frozenset({_signal.SIGKILL, _signal.SIGSTOP})
# Raised by the kernel for a faulting instruction: not relayed by notify()
# with no arguments (explicitly notified, they are relayed when sent by kill).
_SYNCHRONOUS = frozenset({_signal.SIGSEGV, _signal.SIGBUS, _signal.SIGFPE,
                          _signal.SIGILL, _signal.SIGTRAP, _signal.SIGSYS})
_VALID = frozenset(int(s) for s in _signal.valid_signals())
# What notify() and ignore() with no arguments cover: every catchable
# asynchronous signal.  gochan reserves no signal for itself.
_ALL = tuple(sorted(_VALID - _UNCATCHABLE - _SYNCHRONOUS))

_lock = threading.RLock()            # guards everything below
_by_sig: Dict[int, Dict[Chan[Any], None]] = {}   # signal -> channels notified for it
_by_chan: Dict[Chan[Any], Set[int]] = {}         # channel -> its signals
_touched: Set[int] = set()           # signals whose first-touch disposition C keeps
_py_first: Dict[int, _PyHandler] = {}   # getsignal() at gochan's first touch
_py_prev: Dict[int, _PyHandler] = {}    # getsignal() that RELAY replaced
_stale: Dict[int, _PyHandler] = {}      # table says RELAY, should say this
_fixup: Set[int] = set()             # interrupt_main() calls to RELAY on the way
_deferred: List[int] = []            # RELAY calls that came inside a critical section
_main_depth = 0                      # main thread's critical-section depth
_relay: Optional[threading.Thread] = None
# Its stub wants a Signals member; real-time signals without a name are ints.
_interrupt_main: Callable[[int], None] = _thread.interrupt_main  # type: ignore[assignment]


def _is_main() -> bool:
    return threading.current_thread() is threading.main_thread()


class _Critical:
    """``with _Critical():`` holds ``_lock``; in the main thread it also
    defers RELAY (a Python signal handler) until the registry is consistent."""

    __slots__ = ("lock", "main")

    def __enter__(self) -> None:
        global _main_depth
        self.lock = _lock
        self.lock.acquire()
        self.main = _is_main()
        if self.main:
            _main_depth += 1

    def __exit__(self, *exc: object) -> None:
        global _main_depth
        run = False
        if self.main:
            _main_depth -= 1
            run = _main_depth == 0 and bool(_deferred)
        # the process-wide deadlock detector waits while any signal is notified
        _native.set_notifying(bool(_by_sig), _relay.ident if _relay is not None else None)
        self.lock.release()
        if run:
            while _deferred:
                RELAY(_deferred.pop(0), None)


class _Relay:
    """The Python-level handler ``signal.getsignal`` reports for a signal
    gochan relays.  It runs only when a signal reaches CPython's own handler:
    while ``notify`` swaps the table entry (the signal is then relayed), or
    after the relay has been removed by a thread that could not fix the table
    (it then fixes it and hands the signal to the previous handler)."""

    def __repr__(self) -> str:
        return "<gochan.signal relay>"

    def __call__(self, signum: int, frame: Optional[FrameType]) -> None:
        if _main_depth > 0:
            _deferred.append(signum)
            return
        target: _PyHandler = None
        with _Critical():
            if signum in _fixup:
                _fixup.discard(signum)     # our own interrupt_main(): not a signal
                if signum in _stale and signum not in _by_sig:
                    _set_table(signum, _stale.pop(signum))
                return
            if signum in _by_sig:
                lib.sigrelay_post(signum)
                return
            if signum in _stale:
                _set_table(signum, _stale.pop(signum))
            # The relay was removed (by another thread, or in a critical
            # section this call was deferred from): the handler the table
            # reports now is the restored one.
            target = _signal.getsignal(signum)
        if callable(target) and not isinstance(target, _Relay):
            target(signum, frame)


#: What ``signal.getsignal(sig)`` returns for a signal that gochan relays
#: (its ``repr`` is ``<gochan.signal relay>``).  Go has no such handler table.
RELAY = _Relay()


def _oserror(what: str) -> OSError:
    e = ffi.errno
    return OSError(e, "gochan.signal: %s: %s" % (what, os.strerror(e)))


def _set_table(n: int, py: _PyHandler) -> None:
    """Main thread, lock held: make getsignal(n) report py, leaving the kernel
    disposition as it is."""
    if py is None or _signal.getsignal(n) is py:
        return
    if lib.sigrelay_snapshot(n) < 0:
        raise _oserror("sigaction")
    try:
        _signal.signal(n, py)
    finally:
        lib.sigrelay_unsnapshot(n)


def _retable(n: int, py: _PyHandler) -> None:
    """Lock held: getsignal(n) should report py now (if RELAY is there, or in
    the main thread); another thread leaves it to the main thread."""
    if py is None:
        return
    if _is_main():
        _stale.pop(n, None)
        _set_table(n, py)
    elif _signal.getsignal(n) is RELAY:
        _stale[n] = py
        if not callable(py):
            # The kernel will not call CPython's handler (hence RELAY) for n
            # any more: ask the main thread to run RELAY once.
            _fixup.add(n)
            _interrupt_main(n)


def _fix_stale() -> None:
    """Main thread, lock held: apply table changes other threads left, unless
    the entry no longer says RELAY (signal.signal() replaced it since: that
    handler stays)."""
    for n in list(_stale):
        if n not in _by_sig:
            py = _stale.pop(n)
            if _signal.getsignal(n) is RELAY:
                _set_table(n, py)


def _touch(n: int) -> None:
    if n not in _touched:
        _py_first[n] = _signal.getsignal(n)
        _touched.add(n)


def _install(n: int) -> None:
    """Lock held: the relay handler is n's disposition and, from the main
    thread, RELAY is what getsignal(n) reports."""
    _touch(n)
    r = lib.sigrelay_install(n)
    if r < 0:
        raise _oserror("sigaction(%d)" % n)
    cur = _signal.getsignal(n)
    if r == 1 and cur is not RELAY:
        _py_prev.pop(n, None)       # a new owner of the table entry
    if cur is RELAY:
        if n in _stale:
            _py_prev[n] = _stale.pop(n)
    elif cur is not None and _is_main():
        _set_table(n, RELAY)
        _py_prev[n] = cur


def _uninstall(n: int) -> None:
    """Lock held, no channel wants n: put back what the relay replaced."""
    r = lib.sigrelay_uninstall(n)
    py = _py_prev.pop(n, None)
    if r < 0:
        raise _oserror("sigaction(%d)" % n)
    if r == 1 and _signal.getsignal(n) is RELAY:
        _retable(n, py)


def _drop(ch: Chan[Any], n: int) -> None:
    """Lock held: ch no longer wants n."""
    chans = _by_sig.get(n)
    if chans is None or ch not in chans:
        return
    del chans[ch]
    sigs = _by_chan.get(ch)
    if sigs is not None:
        sigs.discard(n)
        if not sigs:
            del _by_chan[ch]
    if not chans:
        del _by_sig[n]
        _uninstall(n)


def _forget(n: int) -> None:
    """Lock held: no channel wants n any more (ignore, reset); the caller
    sets the disposition."""
    for ch in list(_by_sig.pop(n, ())):
        sigs = _by_chan.get(ch)
        if sigs is not None:
            sigs.discard(n)
            if not sigs:
                del _by_chan[ch]
    _py_prev.pop(n, None)


def _signum(s: object, what: str) -> int:
    if isinstance(s, bool) or not isinstance(s, int):
        raise TypeError("gochan.signal.%s: a signal must be an int or a signal.Signals, "
                        "not %s" % (what, type(s).__name__))
    n = int(s)
    if n not in _VALID:
        raise ValueError("gochan.signal.%s: unknown signal number %d" % (what, n))
    return n


def _catchable(sigs: tuple[object, ...], what: str) -> List[int]:
    if not sigs:
        return list(_ALL)
    out: List[int] = []
    for s in sigs:
        n = _signum(s, what)
        if n in _UNCATCHABLE:
            raise ValueError("gochan.signal.%s: %s cannot be caught or ignored"
                             % (what, _signal.Signals(n).name))
        if n not in out:
            out.append(n)
    return out


def _check_chan(ch: object, what: str) -> None:
    if not isinstance(ch, Chan):
        raise TypeError("gochan.signal.%s: expected a gochan.Chan, not %s"
                        % (what, type(ch).__name__))


def _value(n: int) -> Union[_signal.Signals, int]:
    try:
        return _signal.Signals(n)
    except ValueError:      # a real-time signal Python has no name for
        return n


def notify(ch: Chan[Any], *sigs: int) -> None:
    """Relay the signals ``sigs`` to ``ch`` as ``signal.Signals`` members.

    With no ``sigs``, every catchable asynchronous signal is relayed (all but
    SIGKILL, SIGSTOP and the fault signals SIGSEGV, SIGBUS, SIGFPE, SIGILL,
    SIGTRAP, SIGSYS).  A real-time signal Python has no name for arrives as
    a plain ``int``.  Delivery never blocks: if ``ch`` cannot take the value
    at once, it misses this delivery, so give it a buffer.  While a signal is
    notified its previous handler does not run.  Calls for the same channel
    add to its set of signals.  Callable from any thread.
    Go: ``signal.Notify(c, sigs...)``.
    """
    _check_chan(ch, "notify")
    if ch is nilchan:
        raise ValueError("gochan.signal.notify: using nilchan (nothing could ever "
                         "receive the signal)")
    if _native.is_timer(ch):
        raise TypeError("gochan.signal.notify: a timer's channel is receive-only")
    nums = _catchable(sigs, "notify")
    with _Critical():
        if _is_main():
            _fix_stale()
        _start_relay()
        added: List[int] = []
        try:
            for n in nums:
                chans = _by_sig.get(n)
                if chans is not None and ch in chans:
                    _install(n)   # re-asserts the handler if foreign code took it
                    continue
                _by_sig.setdefault(n, {})[ch] = None
                _by_chan.setdefault(ch, set()).add(n)
                added.append(n)
                _install(n)
        except BaseException:
            for n in added:
                _drop(ch, n)
            raise


def stop(ch: Chan[Any]) -> None:
    """Stop relaying signals to ``ch``.

    A signal no channel wants any more gets back the handler it had before
    notify.  A signal arriving while ``stop`` runs is delivered to ``ch`` or
    handled by that restored handler; once ``stop`` returns nothing more is
    sent to ``ch``, so it may be closed.  Stopping a channel that is not
    notified does nothing.  Go: ``signal.Stop(c)``.
    """
    _check_chan(ch, "stop")
    with _Critical():
        for n in sorted(_by_chan.get(ch, ())):
            _drop(ch, n)
        if _is_main():
            _fix_stale()


def ignore(*sigs: int) -> None:
    """Ignore ``sigs`` (no ``sigs``: every catchable asynchronous signal):
    the kernel discards them.  Undoes ``notify`` for them on every channel.
    Go: ``signal.Ignore(sigs...)``."""
    nums = _catchable(sigs, "ignore")
    with _Critical():
        for n in nums:
            _touch(n)
            _forget(n)
            if lib.sigrelay_ignore(n) < 0:
                raise _oserror("sigaction(%d)" % n)
            _retable(n, _signal.SIG_IGN)


def reset(*sigs: int) -> None:
    """Undo ``notify`` and ``ignore`` for ``sigs`` (no ``sigs``: every signal
    gochan touched): each gets back the disposition it had when gochan first
    touched it, so a signal ignored when the process started stays ignored.
    Go: ``signal.Reset(sigs...)``."""
    nums = _catchable(sigs, "reset") if sigs else None
    with _Critical():
        for n in (sorted(_touched | set(_by_sig)) if nums is None else nums):
            _forget(n)
            if n not in _touched:
                continue            # gochan never changed it
            if lib.sigrelay_reset(n) < 0:
                raise _oserror("sigaction(%d)" % n)
            _retable(n, _py_first.get(n))


def ignored(sig: int) -> bool:
    """Whether ``sig`` is ignored now (by ``ignore``, by ``signal.signal``, or
    since the process started).  Go: ``signal.Ignored(sig)``."""
    n = _signum(sig, "ignored")
    r = lib.sigrelay_ignored(n)
    if r < 0:
        raise _oserror("sigaction(%d)" % n)
    return bool(r == 1)


# ---- the relay thread --------------------------------------------------------

def _start_relay() -> None:
    """Lock held: the pipe exists and the relay thread runs."""
    global _relay
    if _relay is not None:
        return
    if lib.sigrelay_init() < 0:
        raise _oserror("self-pipe")
    buf = ffi.new("int[]", lib.sigrelay_nsig())
    t = threading.Thread(target=_relay_main, args=(buf,),
                         name="gochan.signal relay", daemon=True)
    t.start()
    _relay = t


def _report(msg: str) -> None:
    try:
        sys.stderr.write(msg + "\n")
        traceback.print_exc()
    except Exception:
        pass


def _relay_main(buf: Any) -> None:
    wait = lib.sigrelay_wait
    while True:
        n = wait(buf)     # blocks without the GIL
        if n < 0:
            e = ffi.errno
            _report("gochan.signal: the relay stopped: %s" % os.strerror(e))
            return
        sigs = [buf[i] for i in range(n)]
        try:
            _dispatch(sigs)
        except Exception:
            _report("gochan.signal: error in the relay (it keeps running):")


def _dispatch(sigs: List[int]) -> None:
    with _Critical():
        for n in sigs:
            chans = _by_sig.get(n)
            if chans:
                v = _value(n)
                broken = []
                for ch in list(chans):
                    if ch not in chans:
                        continue
                    try:
                        ch.send(v, timeout=0)
                    except TimeoutError:
                        pass            # full: this delivery is dropped
                    except Exception as err:  # closed, or a receive-only timer channel
                        broken.append((ch, err))
                for ch, why in broken:
                    _warn_broken(ch, why)
                    for m in sorted(_by_chan.get(ch, ())):
                        _drop(ch, m)
                if n in _by_sig:
                    continue
            # Caught while notified, wanted by no channel now: the relay
            # handler is gone, so the restored disposition gets it.
            if lib.sigrelay_installed(n) != 1:
                _signal.raise_signal(n)


def _warn_broken(ch: Chan[Any], e: Exception) -> None:
    if isinstance(e, ClosedChannelError):
        msg = ("gochan.signal: %r was closed while notified; it is no longer notified "
               "(call gochan.signal.stop(ch) before closing it)" % (ch,))
    else:
        msg = ("gochan.signal: cannot send a signal to %r (%s: %s); it is no longer "
               "notified" % (ch, type(e).__name__, e))
    try:
        warnings.warn(msg, RuntimeWarning, stacklevel=1)
    except Exception:
        pass


# ---- notify_context ------------------------------------------------------------

class SignalReceived(Exception):
    """The cause (``context.cause(ctx)``) of a :func:`notify_context`
    context that a signal made done; ``.signal`` is that signal (a
    ``signal.Signals`` member, or an int for an unnamed real-time signal).
    Go: the cause (``context.Cause``) of a ``signal.NotifyContext`` context."""

    def __init__(self, sig: Union[_signal.Signals, int]) -> None:
        name = sig.name if isinstance(sig, _signal.Signals) else "signal %d" % sig
        super().__init__("%s received" % name)
        self.signal = sig


def notify_context(parent: _context.Context, *sigs: int) -> Tuple[_context.Context, Callable[[], None]]:
    """A child of ``parent`` that is done when one of ``sigs`` arrives (its
    cause is a :class:`SignalReceived` naming the signal; ``err()`` is
    ``context.Canceled``), when ``parent`` is done, or when ``stop()`` is
    called (Go's ``signal.NotifyContext``).  No ``sigs``: as for ``notify``.

    ``stop()`` (idempotent) cancels the context and unregisters the signals
    as :func:`stop` does, so their previous handlers are back: a second
    Ctrl+C after ``stop()`` is a ``KeyboardInterrupt`` again.  Until then,
    later arrivals of the signals are swallowed, so call ``stop()`` as soon
    as the shutdown has begun.  A goroutine waits for the first signal."""
    ctx, cancel = _context.with_cancel_cause(parent)     # checks parent
    ch: Chan[Any] = Chan(1)
    try:
        notify(ch, *sigs)
    except BaseException:
        cancel(None)
        raise

    def stop_() -> None:
        cancel(None)
        stop(ch)

    if ctx.err() is None:
        go(_await_signal, ch, ctx, cancel)
    return ctx, stop_


def _await_signal(ch: Chan[Any], ctx: _context.Context, cancel: _context.CancelCauseFunc) -> None:
    i, v = select(ch.recv, ctx.done().recv)
    if i == 0 and v is not None:        # v: the signal
        cancel(SignalReceived(v))


# ---- fork --------------------------------------------------------------------

def _before_fork() -> None:
    _lock.acquire()


def _after_fork_parent() -> None:
    _lock.release()


def _after_fork_child() -> None:
    global _lock, _relay, _main_depth
    _lock = threading.RLock()
    _main_depth = 0
    _deferred.clear()
    _fixup.clear()          # the child's CPython forgot tripped signals
    if _relay is None:
        return
    _relay = None
    _native.set_notifying(bool(_by_sig), None)   # the parent's relay thread is gone
    e = lib.sigrelay_child_errno()
    if e:
        _report("gochan.signal: no signal relay in this child: %s" % os.strerror(e))
        return
    try:
        with _Critical():
            _start_relay()
            if _is_main():
                _fix_stale()
    except Exception:
        _report("gochan.signal: could not restart the relay in the child:")


os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_parent,
                    after_in_child=_after_fork_child)
