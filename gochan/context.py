"""gochan.context: Go's package context (cancellation, deadlines, values).

    from gochan import context, select
    ctx, cancel = context.with_timeout(context.background(), 5.0)
    try:
        i, v = select(jobs.recv, ctx.done().recv)
    finally:
        cancel()

A context is a node of a tree.  ``background()`` is the root; each
``with_*`` function makes a child.  Cancelling a node (its ``cancel()``, its
deadline, or its parent's cancellation) closes its ``done()`` channel and
cancels its whole subtree; it never reaches up.

Design (Go's src/context/context.go, in Python)
================================================

One type per kind of node, each adding one thing to its parent:
``_EmptyCtx`` (the roots), ``_CancelCtx`` (can be canceled; knows its
children), ``_TimerCtx`` (a ``_CancelCtx`` with a deadline),
``_AfterFuncCtx`` (a ``_CancelCtx`` that starts a function when canceled),
``_ValueCtx`` (one key and value), ``_WithoutCancelCtx`` (hides the parent's
cancellation).  A context implemented outside this module (any subclass of
:class:`Context`) works as a parent too, through a watcher goroutine, as in
Go.

* **The done channel is made lazily**, by the first ``done()``; a node
  canceled before anyone asked for it gets the shared, already closed
  ``_closed`` channel.  ``done()`` returns the same channel on every call.
* **Children** (Go's propagateCancel/removeChild): a new cancelable node
  registers in the ``_children`` dict of its nearest cancelable ancestor of
  this module (``_home``), or is canceled at once if that ancestor is already
  done; ``cancel()`` takes it out again.  So a canceled child is garbage as
  soon as its user drops it, even while the parent lives.
* **Cancellation** runs through the subtree iteratively (``_Walk``: no
  recursion limit for deep chains), under the lock, and closes every done
  channel there; the ``after_func`` functions found there are collected and
  started with ``go()`` once the lock is released.  A walk interrupted by a
  signal handler's exception is finished before that exception propagates.
* **Deadlines** are served by gochan's one C timer thread, never by a thread
  per context, and cost no C timer each either: pending deadlines wait in one
  heap (``_dq``, ordered by deadline), and one internal after-func timer
  (``_qtimer``, see ``_time._after_func_inline``) is armed for the earliest.
  When it fires, the after-func dispatcher calls ``_serve`` inline (no thread
  of its own): it takes the expired contexts off the heap, re-arms the timer
  for the next deadline and cancels them with ``DeadlineExceeded``.
  ``cancel()`` takes a context off the heap at once when it is at the top;
  otherwise it leaves a dead entry, and the heap is rebuilt without its dead
  entries whenever they are at least half of it, so a canceled context stays
  referenced only while at least as many live ones are pending (at most 2x
  the live entries; amortised O(1) per cancel).  A deadline too far to
  represent (``inf``) is not queued.  While queued, a context is kept alive by
  the heap, as Go's timer keeps a timerCtx.

The lock: ``_mu`` (one re-entrant lock for the module) guards ``_done``,
``_children``, ``_home``, ``_err``, ``_cause``, ``_queued`` and ``_fn`` of
every node, and the deadline heap with its timer.  It is held only for a few
dictionary, list and attribute operations, ``Chan.close()`` (which runs no
Python code) and re-arming the timer (which takes the C timer heap's lock
briefly: lock order ``_mu``, then the heap lock; the timer thread never takes
``_mu``).  It is never held while calling user code or starting a thread.
References dropped under it are to contexts; should that free a value whose
destructor cancels a context, the lock is re-entered (hence re-entrant).
One lock for all nodes makes cancelling a whole subtree one critical
section; with the GIL there is no parallelism a per-node lock would buy.
Reading one attribute (``err()``) needs no lock; ``_cause`` is written before
``_err``, so whoever sees ``err()`` set sees the cause.

Interrupts: a Python signal handler runs in the main thread between
bytecodes, so its exception (``KeyboardInterrupt``) can arise inside a
critical section.  ``cancel()`` finishes its walk first and raises it after
(every step is idempotent); the deadline heap is only touched by C code
(``heapq`` on (deadline, ctx) tuples), which no handler interrupts.  An
interrupt while a context is being made makes that call raise: the context is
not returned (at worst it stays registered with its parent until the parent
is done).
"""
from __future__ import annotations

import abc
import heapq
import os
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Protocol, Tuple

from gochan._chan import Chan, ClosedChannelError, RecvChan, nilchan
from gochan._go import _bubble_go, _not_callable, go
from gochan._load import _native
from gochan._select import select
from gochan._time import Timer, _after_func_inline, _report
from gochan._time import after_func as _timer_after_func

__all__ = [
    "Context",
    "CancelFunc",
    "CancelCauseFunc",
    "Canceled",
    "DeadlineExceeded",
    "background",
    "todo",
    "with_cancel",
    "with_cancel_cause",
    "with_deadline",
    "with_deadline_cause",
    "with_timeout",
    "with_timeout_cause",
    "with_value",
    "without_cancel",
    "after_func",
    "cause",
]


class Canceled(Exception):
    """The error of a context canceled by its ``cancel()`` (Go's
    ``context.Canceled``); the message is ``context canceled``."""

    def __init__(self, *args: object) -> None:
        super().__init__(*(args or ("context canceled",)))


class DeadlineExceeded(TimeoutError):
    """The error of a context whose deadline passed (Go's
    ``context.DeadlineExceeded``); a ``TimeoutError``; the message is
    ``context deadline exceeded``."""

    def __init__(self, *args: object) -> None:
        super().__init__(*(args or ("context deadline exceeded",)))


class Context(abc.ABC):
    """Go's ``context.Context``: a deadline, a cancellation signal and values,
    carried across API boundaries and goroutines.

    The contexts of this module are made by :func:`background` and the
    ``with_*`` functions.  Another implementation subclasses this class and
    defines the four methods; it can then be the parent of this module's
    contexts (they watch its ``done()`` channel with a goroutine)."""

    __slots__ = ()

    @abc.abstractmethod
    def deadline(self) -> Optional[float]:
        """The ``time.monotonic()`` time at which this context will be done
        by its deadline, or None if it has none."""

    @abc.abstractmethod
    def done(self) -> RecvChan[None]:
        """A channel that is closed when this context is done (``nilchan`` if
        it can never be); the same channel on every call.  Use it in
        ``select`` as ``ctx.done().recv``."""

    @abc.abstractmethod
    def err(self) -> Optional[BaseException]:
        """None while not done; then why: a :class:`Canceled` or
        :class:`DeadlineExceeded` instance."""

    @abc.abstractmethod
    def value(self, key: object) -> Any:
        """The value for ``key`` of the nearest :func:`with_value` up the
        chain, or None."""


class CancelFunc(Protocol):
    """``cancel()``: cancel the context (idempotent, from any thread).
    Go: ``context.CancelFunc``."""

    def __call__(self) -> None: ...


class CancelCauseFunc(Protocol):
    """``cancel(cause=None)``: cancel the context, recording ``cause``.
    Go: ``context.CancelCauseFunc``."""

    def __call__(self, cause: Optional[BaseException] = None) -> None: ...


_mu = threading.RLock()
_closed: Chan[None] = Chan()
_closed.close()
_NEVER = 1e12          # seconds; as the timer core's "never" (timer.c)
_monotonic = time.monotonic


# ---- gochan.testing bubbles ---------------------------------------------------
#
# A context made in a bubble from a root (background, todo, without_cancel)
# or from a context of that bubble belongs to the bubble (``_bubble``): its
# done channel is one of the bubble's (so waiting on it is a durable block),
# its deadline is on the bubble's clock, served by an after_func timer of the
# bubble (not the deadline heap below), and its after_func functions start
# as goroutines of the bubble.  A context made from a parent outside any
# bubble belongs to none, also when made inside one: the parent's real-time
# cancellation must reach it, and waiting on it is not durable.

def _bubble_of_child(parent: Context) -> Any:
    """The bubble a new child of ``parent`` belongs to, or None."""
    while True:
        t = type(parent)
        if t is _CancelCtx or t is _TimerCtx or t is _AfterFuncCtx:
            return parent._bubble  # type: ignore[attr-defined]
        if t is _ValueCtx:
            parent = parent._parent  # type: ignore[attr-defined]
            continue
        if t is _EmptyCtx or t is _WithoutCancelCtx:
            return _native.bubble_current()
        return None           # a Context implemented elsewhere: outside any bubble


def _clock(b: Any) -> float:
    """Now on bubble b's clock, or time.monotonic() for None."""
    return b.now if b is not None else _monotonic()


def _seconds(x: object, what: str) -> float:
    """x as float seconds: int or float, not bool, not NaN; a huge int is inf."""
    t = type(x)
    if t is not float and (t is bool or not isinstance(x, (int, float))):
        raise TypeError(f"{what} must be seconds as an int or float, not {t.__name__}")
    try:
        f = float(x)  # type: ignore[arg-type]
    except OverflowError:
        f = float("inf") if x > 0 else float("-inf")  # type: ignore[operator]
    if f != f:
        raise ValueError(f"{what} must not be NaN")
    return f


def _check_parent(parent: object, what: str) -> None:
    if type(parent) in _OWN:
        return
    if not isinstance(parent, Context):
        raise TypeError(f"{what}: parent must be a gochan.context.Context, not "
                        f"{type(parent).__name__} ({parent!r:.60})")


def _check_cause(c: object, what: str) -> None:
    if c is not None and not isinstance(c, BaseException):
        raise TypeError(f"{what}: cause must be an exception or None, not {type(c).__name__}")


# ---- the roots ------------------------------------------------------------

class _EmptyCtx(Context):
    """background() and todo(): never done, no deadline, no values."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def deadline(self) -> Optional[float]:
        return None

    def done(self) -> RecvChan[None]:
        return nilchan

    def err(self) -> Optional[BaseException]:
        return None

    def value(self, key: object) -> Any:
        return None

    def __repr__(self) -> str:
        return self._name


_background = _EmptyCtx("context.Background")
_todo = _EmptyCtx("context.TODO")


def background() -> Context:
    """The root context: never done, no deadline, no values (Go's
    ``context.Background()``)."""
    return _background


def todo() -> Context:
    """A root context for code that does not know yet which context to use
    (Go's ``context.TODO()``); like :func:`background`."""
    return _todo


# ---- cancelable nodes -----------------------------------------------------

_new_exc = BaseException.__new__    # an exception without a Python-level __init__ call


class _CancelCtx(Context):
    """Adds cancellation to its parent: a done channel and the set of
    cancelable children to cancel with it."""

    __slots__ = ("_parent", "_done", "_children", "_home", "_err", "_cause", "_bubble",
                 "__weakref__")

    def __init__(self, parent: Context) -> None:
        self._parent = parent
        self._bubble: Any = _bubble_of_child(parent)   # gochan.testing (see above)
        self._done: Optional[Chan[None]] = None
        self._children: Optional[Dict[_CancelCtx, None]] = None
        self._home: Optional[_CancelCtx] = None     # where this node is registered
        self._err: Optional[BaseException] = None
        self._cause: Optional[BaseException] = None

    def deadline(self) -> Optional[float]:
        return _deadline_of(self._parent)

    def done(self) -> RecvChan[None]:
        d = self._done
        if d is None:
            with _mu:
                d = self._done
                if d is None:
                    d = self._done = _closed if self._err is not None \
                        else _native.chan_for(self._bubble)
        return d

    def err(self) -> Optional[BaseException]:
        return self._err

    def value(self, key: object) -> Any:
        return _value_of(self._parent, key)

    def _cancel(self, remove: bool, err: BaseException, why: Optional[BaseException]) -> None:
        """Cancel this node and its subtree with err (cause why, or err);
        remove: also leave the parent's children (not when the parent is the
        one cancelling).  An exception raised in the middle by a signal
        handler (KeyboardInterrupt) is raised once the cancellation is
        complete."""
        why = why if why is not None else err
        exc: Optional[BaseException] = None
        walk: Optional[_Walk] = None
        with _mu:
            if self._err is not None:
                return
            try:
                home = self._home
                if remove and home is not None:
                    kids = home._children
                    if kids is not None:
                        kids.pop(self, None)
                t = type(self)
                if self._children is None and t is not _AfterFuncCtx:
                    # The common case (a leaf), without the walk.
                    self._cause = why          # cause first: see cause()
                    self._err = err
                    self._home = None
                    d = self._done
                    if d is None:
                        self._done = _closed
                    elif d is not _closed:
                        _close(d)
                    if t is _TimerCtx and self._queued:  # type: ignore[attr-defined]
                        _dequeue_locked(self)  # type: ignore[arg-type]
                else:
                    walk = _Walk(self)
                    walk.run(err, why)
            except BaseException as e:
                exc = e
                # Finish what was interrupted: every step of a walk is idempotent.
                if walk is None:
                    walk = _Walk(self)
                while True:
                    try:
                        walk.run(err, why)
                        break
                    except BaseException as e2:  # another interrupt: go on all the same
                        del e2
        try:
            if walk is not None and walk.later:
                _after_cancel(list(walk.later.items()))
        finally:
            if exc is not None:
                raise exc

    def _cancel_func(self) -> None:
        # The CancelFunc with_cancel returns.
        if self._err is None:
            self._cancel(True, _new_exc(Canceled, "context canceled"), None)

    def _cancel_cause_func(self, cause: Optional[BaseException] = None) -> None:
        # The CancelCauseFunc with_cancel_cause returns.
        _check_cause(cause, "cancel")
        if self._err is None:
            self._cancel(True, _new_exc(Canceled, "context canceled"), cause)

    def _kind(self) -> str:
        return "WithCancel"

    def __repr__(self) -> str:
        return _repr_chain(self)


def _close(d: Chan[None]) -> None:
    """Close a done channel; one that user code closed through done() (it is
    typed receive-only) must not break a cancellation halfway."""
    try:
        d.close()
    except ClosedChannelError:
        pass


class _Walk:
    """One cancellation of a subtree (_mu held): the nodes met so far in
    breadth-first order and the position reached, so that a walk interrupted
    by an exception (a signal handler's KeyboardInterrupt) can be resumed;
    every step is idempotent, so a node half done is simply done again."""

    __slots__ = ("order", "pos", "later")

    def __init__(self, root: _CancelCtx) -> None:
        self.order = [root]
        self.pos = 0
        # after_func functions to start once _mu is released, by node (so
        # that a resumed walk cannot start one twice).
        self.later: Dict[_CancelCtx, Callable[[], Any]] = {}

    def run(self, err: BaseException, why: BaseException) -> None:
        """Mark every node done with (err, why) unless it already was, close
        the done channels, unlink the children, take the deadlines off the
        heap, collect the after_func functions."""
        order = self.order
        while self.pos < len(order):
            c = order[self.pos]
            if c._err is None:
                c._cause = why
                c._err = err
            c._home = None
            d = c._done
            if d is None:
                c._done = _closed
            elif d is not _closed:
                _close(d)
            kids = c._children
            if kids:
                order.extend(kids)
            c._children = None
            t = type(c)
            if t is _TimerCtx:
                if c._queued:  # type: ignore[attr-defined]
                    _dequeue_locked(c)  # type: ignore[arg-type]
            elif t is _AfterFuncCtx:
                fn = c._fn  # type: ignore[attr-defined]
                if fn is not None:
                    self.later[c] = fn
                    c._fn = None  # type: ignore[attr-defined]
            self.pos += 1


def _after_cancel(later: List[Tuple[_CancelCtx, Callable[[], Any]]]) -> None:
    """Outside _mu: start the after_func goroutines a _Walk collected (in
    their context's bubble, if it has one).  If a goroutine cannot be
    started, the others still are, then the first error is raised."""
    first: Optional[BaseException] = None
    for c, fn in later:
        try:
            b = c._bubble
            if b is not None and b is not _native.bubble_current():
                _bubble_go(b, fn, (), {}, counted=False)
            else:
                go(fn)
        except BaseException as e:
            if first is None:
                first = e
    if first is not None:
        raise first


class _TimerCtx(_CancelCtx):
    """Adds a deadline to a cancelable node: queued in the deadline heap, it
    is canceled with DeadlineExceeded (or the given cause) when it passes."""

    __slots__ = ("_deadline", "_dcause", "_queued", "_btimer")

    def __init__(self, parent: Context, d: float, dcause: Optional[BaseException]) -> None:
        self._parent = parent
        self._bubble = _bubble_of_child(parent)
        self._btimer: Optional[Timer] = None   # a bubble's: its after_func timer
        self._done = None
        self._children = None
        self._home = None
        self._err = None
        self._cause = None
        self._deadline = d
        self._dcause = dcause
        self._queued = False     # in _dq (_mu)

    def __lt__(self, other: _TimerCtx) -> bool:
        # Only for the heap's (deadline, ctx) entries with equal deadlines.
        return False

    def deadline(self) -> Optional[float]:
        return self._deadline

    def _kind(self) -> str:
        left = self._deadline - _clock(self._bubble)
        return f"WithDeadline({self._deadline:.6f} [{left:.6f}s])"


# ---- the deadline heap (see the design notes above; _mu guards it all) ----

# Pending deadlines, a heap of (deadline, ctx): compared in C, never by
# Python code (so nothing can interrupt a sift); may hold dead entries.
_dq: List[Tuple[float, _TimerCtx]] = []
_dead = 0                          # entries of _dq already canceled
_qtimer: Optional[Chan[float]] = None   # the one timer, armed for the earliest
_armed_for: Optional[float] = None          # the deadline it is armed for, None: not armed


def _enqueue_locked(c: _TimerCtx, now: float) -> None:
    """_mu held: queue c's deadline; arm the timer if it is the earliest."""
    global _qtimer, _armed_for
    heapq.heappush(_dq, (c._deadline, c))
    c._queued = True
    d = c._deadline
    if _armed_for is None or d < _armed_for:
        if _qtimer is None:
            _qtimer = _after_func_inline(d - now, _serve)
        else:
            _native.timer_reset(_qtimer, d - now)
        _armed_for = d


def _dequeue_locked(c: _TimerCtx) -> None:
    """_mu held, c queued and being canceled: take it off the heap (at the
    top: at once; elsewhere: as a dead entry, the heap rebuilt once they are
    half of it), or stop its timer (a bubble's)."""
    global _dq, _dead
    c._queued = False
    if c._btimer is not None:
        t, c._btimer = c._btimer, None
        try:
            t.stop()
        except RuntimeError:       # canceled from outside its bubble: let it fire
            pass
        return
    if _dq[0][1] is c:
        heapq.heappop(_dq)
        return
    _dead += 1
    if 2 * _dead >= len(_dq):
        _dq = [e for e in _dq if e[1]._queued]
        heapq.heapify(_dq)
        _dead = 0


def _serve() -> None:
    """Called inline by the after-func dispatcher when _qtimer fires: cancel
    every context whose deadline has passed, re-arm for the next one."""
    global _armed_for, _dead
    expired = []
    with _mu:
        _armed_for = None
        now = _monotonic()
        while _dq:
            c = _dq[0][1]
            if not c._queued:               # a dead entry
                heapq.heappop(_dq)
                _dead -= 1
                continue
            if c._deadline > now:
                assert _qtimer is not None
                _native.timer_reset(_qtimer, c._deadline - now)
                _armed_for = c._deadline
                break
            heapq.heappop(_dq)
            c._queued = False
            expired.append(c)
    for c in expired:
        try:
            c._cancel(True, DeadlineExceeded(), c._dcause)
        except BaseException as e:      # an after_func that could not start
            _report(e)                  # the other contexts still expire


def _before_fork() -> None:
    _mu.acquire()        # the child inherits a consistent tree and heap


def _after_fork_parent() -> None:
    _mu.release()


def _after_fork_child() -> None:
    global _mu
    _mu = threading.RLock()


os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_parent,
                    after_in_child=_after_fork_child)


def _pending_deadlines() -> int:
    """Test hook: contexts waiting in the deadline heap (live entries)."""
    with _mu:
        return len(_dq) - _dead


class _AfterFuncCtx(_CancelCtx):
    """A cancelable node that starts ``fn`` in a goroutine when canceled,
    unless stopped first (``_fn`` is the function not yet started)."""

    __slots__ = ("_fn",)

    def __init__(self, parent: Context, fn: Callable[[], Any]) -> None:
        _CancelCtx.__init__(self, parent)
        self._fn: Optional[Callable[[], Any]] = fn

    def _stop(self) -> bool:
        # The stop function after_func returns.
        with _mu:
            if self._fn is None:
                return False
            self._fn = None
        self._cancel(True, _new_exc(Canceled, "context canceled"), None)
        return True

    def _kind(self) -> str:
        return "AfterFunc"


class _ValueCtx(Context):
    """Adds one key and its value to its parent."""

    __slots__ = ("_parent", "_key", "_val")

    def __init__(self, parent: Context, key: object, val: object) -> None:
        self._parent = parent
        self._key = key
        self._val = val

    def deadline(self) -> Optional[float]:
        return _deadline_of(self._parent)

    def done(self) -> RecvChan[None]:
        return self._parent.done()

    def err(self) -> Optional[BaseException]:
        return self._parent.err()

    def value(self, key: object) -> Any:
        return _value_of(self, key)

    def _kind(self) -> str:
        return f"WithValue({self._key!r}, {self._val!r})"

    def __repr__(self) -> str:
        return _repr_chain(self)


class _WithoutCancelCtx(Context):
    """Keeps its parent's values, hides its cancellation and deadline."""

    __slots__ = ("_parent",)

    def __init__(self, parent: Context) -> None:
        self._parent = parent

    def deadline(self) -> Optional[float]:
        return None

    def done(self) -> RecvChan[None]:
        return nilchan

    def err(self) -> Optional[BaseException]:
        return None

    def value(self, key: object) -> Any:
        return _value_of(self._parent, key)

    def _kind(self) -> str:
        return "WithoutCancel"

    def __repr__(self) -> str:
        return _repr_chain(self)


_CANCELABLE = (_CancelCtx, _TimerCtx, _AfterFuncCtx)
_NEVER_DONE = (_EmptyCtx, _WithoutCancelCtx)
_OWN = frozenset((_EmptyCtx, _CancelCtx, _TimerCtx, _AfterFuncCtx, _ValueCtx,
                  _WithoutCancelCtx))


def _repr_chain(c: Context) -> str:
    """Go's String(): the chain from the root, e.g.
    ``context.Background.WithCancel.WithValue('k', 1)``, without recursion."""
    parts = []
    p = c
    while type(p) in _OWN and type(p) is not _EmptyCtx:
        parts.append(p._kind())  # type: ignore[attr-defined]
        p = p._parent  # type: ignore[attr-defined]
    parts.append(repr(p))
    return ".".join(reversed(parts))


def _deadline_of(p: Context) -> Optional[float]:
    """p.deadline(), walking this module's nodes without recursion."""
    while True:
        t = type(p)
        if t is _TimerCtx:
            return p._deadline  # type: ignore[attr-defined, no-any-return]
        if t is _CancelCtx or t is _ValueCtx or t is _AfterFuncCtx:
            p = p._parent  # type: ignore[attr-defined]
            continue
        return p.deadline()


def _value_of(p: Context, key: object) -> Any:
    """p.value(key), walking this module's nodes without recursion.  Keys
    match as Go's interface keys do: the same type and equal."""
    kt = type(key)
    while True:
        t = type(p)
        if t is _ValueCtx:
            k = p._key  # type: ignore[attr-defined]
            if k is key or (type(k) is kt and k == key):
                return p._val  # type: ignore[attr-defined]
            p = p._parent  # type: ignore[attr-defined]
        elif t in _CANCELABLE or t is _WithoutCancelCtx:
            p = p._parent  # type: ignore[attr-defined]
        elif t is _EmptyCtx:
            return None
        else:
            return p.value(key)


def _propagate(child: _CancelCtx, parent: Context) -> None:
    """Go's propagateCancel: arrange for child to be canceled with parent."""
    p = parent
    while True:
        t = type(p)
        if t is _ValueCtx:
            p = p._parent  # type: ignore[attr-defined]
            continue
        if t in _CANCELABLE:
            home: _CancelCtx = p  # type: ignore[assignment]
            with _mu:
                if home._err is None:
                    kids = home._children
                    if kids is None:
                        kids = home._children = {}
                    kids[child] = None
                    child._home = home
                    return
                err, why = home._err, home._cause
            child._cancel(False, err, why)
            return
        if t in _NEVER_DONE:
            return
        break
    # A Context implemented elsewhere: watch its done channel (Go does too).
    d = parent.done()
    if d is nilchan or d is None:
        return
    e = parent.err()
    if e is not None:
        child._cancel(False, e, cause(parent))
        return
    go(_watch, parent, d, child)


def _watch(parent: Context, d: RecvChan[None], child: _CancelCtx) -> None:
    i, _ = select(d.recv, child.done().recv)
    if i == 0:
        e = parent.err()
        child._cancel(False, e if e is not None else Canceled(), cause(parent))


# ---- the constructors -----------------------------------------------------

def with_cancel(parent: Context) -> Tuple[Context, CancelFunc]:
    """A child of ``parent`` that is done when ``cancel()`` is called or
    ``parent`` is done, whichever is first (Go's ``context.WithCancel``).
    ``cancel()`` is idempotent, callable from any thread, and releases the
    child (``parent`` no longer references it): call it as soon as the work
    is over, typically in a ``finally``."""
    _check_parent(parent, "with_cancel")
    c = _CancelCtx(parent)
    _propagate(c, parent)
    return c, c._cancel_func


def with_cancel_cause(parent: Context) -> Tuple[Context, CancelCauseFunc]:
    """Like :func:`with_cancel`, but ``cancel(cause=None)`` records why:
    ``cause(ctx)`` is that exception (or ``ctx.err()`` if none was given),
    while ``ctx.err()`` is still :class:`Canceled` (Go's
    ``context.WithCancelCause``)."""
    _check_parent(parent, "with_cancel_cause")
    c = _CancelCtx(parent)
    _propagate(c, parent)
    return c, c._cancel_cause_func


def _with_deadline(parent: Context, d: float, now: float,
                   dcause: Optional[BaseException]) -> Tuple[Context, CancelFunc]:
    cur = None if type(parent) is _EmptyCtx else _deadline_of(parent)
    if cur is not None and cur < d:
        # The parent's deadline comes first: it is the one that will matter.
        p = _CancelCtx(parent)
        _propagate(p, parent)
        return p, p._cancel_func
    c = _TimerCtx(parent, d, dcause)
    if type(parent) not in _NEVER_DONE:
        _propagate(c, parent)
        if c._err is not None:
            return c, c._cancel_func
    left = d - now
    if left <= 0:
        c._cancel(True, DeadlineExceeded(), dcause)
    elif left <= _NEVER and c._bubble is not None:
        if c._bubble is not _native.bubble_current():
            raise RuntimeError("a deadline for a context of a gochan.testing bubble, "
                               "from outside the bubble")
        with _mu:
            if c._err is None:
                c._btimer = _timer_after_func(left, _expire, c)   # on the bubble's clock
                c._queued = True
    elif left <= _NEVER:
        with _mu:
            if c._err is None:
                _enqueue_locked(c, now)
    return c, c._cancel_func


def _expire(c: _TimerCtx) -> None:
    """A bubble's context reached its deadline (its after_func goroutine)."""
    with _mu:
        if not c._queued:
            return
        c._queued = False
        c._btimer = None
    c._cancel(True, DeadlineExceeded(), c._dcause)


def with_deadline(parent: Context, d: float) -> Tuple[Context, CancelFunc]:
    """A child of ``parent`` that is also done, with
    :class:`DeadlineExceeded`, at ``d`` (a ``time.monotonic()`` value) (Go's
    ``context.WithDeadline``).  If ``parent``'s deadline is earlier, that one
    decides; a deadline already past makes it done at once.  The deadline is
    served by gochan's timer thread, never by a thread of its own;
    ``cancel()`` stops the timer.  Inside a gochan.testing bubble, ``d`` is
    a time on the bubble's clock (``gochan.now()``)."""
    _check_parent(parent, "with_deadline")
    d = _seconds(d, "with_deadline: d")
    return _with_deadline(parent, d, _clock(_bubble_of_child(parent)), None)


def with_deadline_cause(parent: Context, d: float,
                        cause: Optional[BaseException]) -> Tuple[Context, CancelFunc]:
    """Like :func:`with_deadline`, but ``cause(ctx)`` is ``cause`` when the
    deadline passes (Go 1.21's ``context.WithDeadlineCause``)."""
    _check_parent(parent, "with_deadline_cause")
    d = _seconds(d, "with_deadline_cause: d")
    _check_cause(cause, "with_deadline_cause")
    return _with_deadline(parent, d, _clock(_bubble_of_child(parent)), cause)


def with_timeout(parent: Context, seconds: float) -> Tuple[Context, CancelFunc]:
    """``with_deadline(parent, time.monotonic() + seconds)`` (Go's
    ``context.WithTimeout``)."""
    if type(parent) not in _OWN:
        _check_parent(parent, "with_timeout")
    s = seconds if type(seconds) is float and seconds == seconds \
        else _seconds(seconds, "with_timeout: seconds")
    now = _clock(_bubble_of_child(parent))
    return _with_deadline(parent, now + s, now, None)


def with_timeout_cause(parent: Context, seconds: float,
                       cause: Optional[BaseException]) -> Tuple[Context, CancelFunc]:
    """``with_deadline_cause(parent, time.monotonic() + seconds, cause)``
    (Go 1.21's ``context.WithTimeoutCause``)."""
    _check_parent(parent, "with_timeout_cause")
    s = _seconds(seconds, "with_timeout_cause: seconds")
    _check_cause(cause, "with_timeout_cause")
    now = _clock(_bubble_of_child(parent))
    return _with_deadline(parent, now + s, now, cause)


def with_value(parent: Context, key: object, value: object) -> Context:
    """A child of ``parent`` whose ``value(key)`` is ``value`` (Go's
    ``context.WithValue``).  Keys match when they have the same type and are
    equal, so define a key type of your own (a class, or an instance of
    ``object()``) rather than a string another package could use too.
    ``key`` must be hashable and not None."""
    _check_parent(parent, "with_value")
    if key is None:
        raise TypeError("with_value: key must not be None")
    hash(key)       # TypeError for an unhashable key, as Go panics for an incomparable one
    return _ValueCtx(parent, key, value)


def without_cancel(parent: Context) -> Context:
    """A child of ``parent`` with its values, but never done and with no
    deadline (Go 1.21's ``context.WithoutCancel``)."""
    _check_parent(parent, "without_cancel")
    return _WithoutCancelCtx(parent)


def after_func(ctx: Context, fn: Callable[[], Any]) -> Callable[[], bool]:
    """Run ``fn()`` in its own goroutine once ``ctx`` is done (at once if it
    already is) (Go 1.21's ``context.AfterFunc``).  Returns ``stop()``, which
    returns True if it kept ``fn`` from starting (then nothing of ``fn``
    stays referenced by ``ctx``) and False if ``fn`` had already been started
    or stopped."""
    _check_parent(ctx, "after_func")
    if not callable(fn):
        raise _not_callable("after_func", fn)
    a = _AfterFuncCtx(ctx, fn)
    _propagate(a, ctx)
    return a._stop


def cause(ctx: Context) -> Optional[BaseException]:
    """Why ``ctx`` is done (Go 1.20's ``context.Cause``): the cause given to
    the cancel function of :func:`with_cancel_cause` or the deadline cause of
    :func:`with_deadline_cause`, of ``ctx`` or of the ancestor whose
    cancellation reached it; otherwise ``ctx.err()``.  None while not done."""
    _check_parent(ctx, "cause")
    p: Context = ctx
    while True:
        t = type(p)
        if t in _CANCELABLE:
            with _mu:
                return p._cause  # type: ignore[attr-defined, no-any-return]
        if t is _ValueCtx:
            p = p._parent  # type: ignore[attr-defined]
            continue
        if t in _NEVER_DONE:
            return None
        return p.err()
