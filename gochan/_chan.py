"""Channels: the concrete ``Chan`` (implemented in C) and the directional
static types ``SendChan`` and ``RecvChan``.

``SendChan[T]`` only *consumes* values of type T, so it is contravariant: a
function that accepts ``SendChan[int]`` may be given a ``Chan[object]``.
``RecvChan[T]`` only *produces* values of type T, so it is covariant: a
``Chan[bool]`` is a ``RecvChan[int]``.  ``Chan[T]`` is both, and invariant.
They are Protocols, so ``isinstance(ch, SendChan)`` holds for every Chan at
run time, and a type checker rejects ``out.recv()`` on a ``SendChan``.

``RecvCase[V]`` and ``SendCase[T]`` are what a type checker sees in a case of
``select``: ``ch.recv`` is a ``RecvCase[T]``, ``ch.recv_ok`` a
``RecvCase[tuple[T, bool]]`` and ``ch.send`` a ``SendCase[T]``.  They only
describe the bound methods (they are Protocols: a function of the same shape
passes the type checker, and select rejects it at run time).
"""
from __future__ import annotations

from typing import Iterator, Protocol, TypeVar, runtime_checkable

from gochan._load import _native

T_contra = TypeVar("T_contra", contravariant=True)
T_co = TypeVar("T_co", covariant=True)

Chan = _native.Chan
nilchan = _native.nilchan
ClosedChannelError = _native.ClosedChannelError


class RecvCase(Protocol[T_co]):
    """A receive case of :func:`~gochan.select`, as a type checker sees it: the
    bound method ``ch.recv`` (a ``RecvCase[T]`` for a channel of ``T``) or
    ``ch.recv_ok`` (a ``RecvCase[tuple[T, bool]]``); the type argument is the
    value the case gives ``select``.  Go: ``case v := <-ch:``,
    ``case v, ok := <-ch:``."""

    def __call__(self, timeout: float | None = None) -> T_co:
        """Receive (the bound method itself)."""
        ...


class SendCase(Protocol[T_contra]):
    """The bound method ``ch.send`` of a channel of ``T``, as a type checker
    sees it; a send case of :func:`~gochan.select` is the pair
    ``(ch.send, value)``, and ``value`` must be a ``T``.  Go: ``case ch <- v:``."""

    def __call__(self, v: T_contra, /, timeout: float | None = None) -> None:
        """Send (the bound method itself)."""
        ...


@runtime_checkable
class SendChan(Protocol[T_contra]):
    """The sending end of a channel, a static type: a ``Chan[T]`` is a
    ``SendChan[T]``.  Go: ``chan<- T``."""

    def send(self, v: T_contra, timeout: float | None = None) -> None:
        """Send v, blocking until a receiver takes it or the buffer has room."""
        ...

    def close(self) -> None:
        """Close the channel: receivers drain it, then get the zero value."""
        ...

    @property
    def cap(self) -> int:
        """The capacity."""
        ...

    def __len__(self) -> int:
        """The number of values buffered now."""
        ...


@runtime_checkable
class RecvChan(Protocol[T_co]):
    """The receiving end of a channel, a static type: a ``Chan[T]`` and the
    channels of timers are ``RecvChan[T]``.  Go: ``<-chan T``."""

    def recv(self, timeout: float | None = None) -> T_co:
        """Receive the next value (the zero value once closed and drained)."""
        ...

    def recv_ok(self, timeout: float | None = None) -> tuple[T_co, bool]:
        """Receive ``(value, ok)``; ``ok`` is False once closed and drained."""
        ...

    @property
    def cap(self) -> int:
        """The capacity."""
        ...

    def __len__(self) -> int:
        """The number of values buffered now."""
        ...

    def __iter__(self) -> Iterator[T_co]:
        """Receive until the channel is closed and drained."""
        ...


__all__ = ["Chan", "nilchan", "ClosedChannelError", "SendChan", "RecvChan", "RecvCase", "SendCase"]
