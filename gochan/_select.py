"""``select`` and its ``default`` case (implemented in C, see _core/select.c).

``select(c1.recv, c2.recv_ok, (c3.send, x), default, timeout=None)`` performs
exactly one ready case, chosen uniformly at random among the ready ones, and
returns ``(index, value)``.
"""
from __future__ import annotations

from gochan._load import _native

select = _native.select
default = _native.default

__all__ = ["select", "default"]
