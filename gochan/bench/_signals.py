"""Signal scenarios: latency from another process's kill() to the receipt, and idle CPU.

Cross-process timestamps: ``time.monotonic()`` is CLOCK_MONOTONIC, one clock
for the whole system, so a time taken in the sender can be compared with one
taken in the receiver. For each signal:

1. the receiver writes one byte to the ``ready`` pipe and blocks in ``recv()``;
2. the sender reads that byte, sleeps 2 ms (so that the receiver is parked,
   not still on its way into ``recv()``), writes ``time.monotonic()`` into
   the ``stamps`` pipe and calls ``os.kill(receiver, SIGUSR1)`` right after;
3. the receiver, once ``recv()`` has returned, takes ``time.monotonic()`` and
   reads the stamp; latency = receipt - stamp.

One signal is in flight at a time, so none is merged with another.

The queue column is SimpleQueue with a Python ``signal.signal`` handler that
puts into it: the natural pre-channel idiom, which works because the main
thread's ``SimpleQueue.get`` wait is interrupted to run the handler and
``SimpleQueue.put`` is reentrant. ``queue.Queue.put`` is not reentrant (a
handler that runs while the main thread holds the queue's lock deadlocks), so
that column is n/a.
"""

from __future__ import annotations

import os
import queue
import signal
import struct
import subprocess
import sys
import threading
import time
from typing import Any, Callable

from ._libs import GO_LIBS, QUEUE, SIMPLE_QUEUE, GoLib, QueueLib
from ._registry import Budget, scenario
from ._util import BenchError, percentile

SIGNAL_LATENCY = scenario(
    "signal_latency",
    "main thread blocked in recv() on a notified channel; another process sends SIGUSR1 500 times",
    metrics=(("p50", "ms"), ("p99", "ms")),
)
SIGNAL_IDLE_CPU = scenario(
    "signal_idle_cpu",
    "CPU use of an otherwise idle process with an active notify and a thread blocked in recv",
    unit="% of a CPU",
)
_NOT_REENTRANT = "queue.Queue.put is not reentrant: from a signal handler it can deadlock"
_HANDLER = "signal.signal handler that puts into the SimpleQueue (runs in the main thread)"
for _sc in (SIGNAL_LATENCY, SIGNAL_IDLE_CPU):
    _sc.not_applicable((QUEUE,), _NOT_REENTRANT)

_STAMP = struct.Struct("d")

# The sender: argv = receiver pid, signal count, ready fd, stamps fd, signal number.
_SENDER = """
import os, struct, sys, time
pid, count, ready, stamps, signum = map(int, sys.argv[1:])
for _ in range(count):
    if not os.read(ready, 1):
        break
    time.sleep(0.002)
    os.write(stamps, struct.pack("d", time.monotonic()))
    os.kill(pid, signum)
"""


def _read_exactly(fd: int, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = os.read(fd, n - len(data))
        if not chunk:
            raise BenchError("signal sender exited early")
        data += chunk
    return data


def _latency(recv_signal: Callable[[], Any], b: Budget) -> dict[str, float]:
    """recv_signal() blocks until SIGUSR1 has been relayed and returns what was received."""
    count = b.pick(500, 100, 5)
    ready_r, ready_w = os.pipe()
    stamps_r, stamps_w = os.pipe()
    args = [str(os.getpid()), str(count), str(ready_r), str(stamps_w), str(int(signal.SIGUSR1))]
    sender = subprocess.Popen([sys.executable, "-c", _SENDER, *args], pass_fds=(ready_r, stamps_w))
    os.close(ready_r)
    os.close(stamps_w)
    latencies = []
    try:
        for _ in range(count):
            os.write(ready_w, b"r")
            got = recv_signal()
            received = time.monotonic()
            (sent,) = _STAMP.unpack(_read_exactly(stamps_r, _STAMP.size))
            if int(got) != signal.SIGUSR1:
                raise BenchError(f"signal_latency: received {got!r}, expected SIGUSR1")
            latencies.append(received - sent)
    finally:
        os.close(ready_w)
        os.close(stamps_r)
        sender.wait(timeout=30)
    return {"p50": percentile(latencies, 50) * 1e3, "p99": percentile(latencies, 99) * 1e3}


def _signal_number(value: Any) -> int:
    """The signal number of a received value (signal.Signals, or pygolang's os.Signal)."""
    return int(value) if isinstance(value, int) else int(value.signo)


@SIGNAL_LATENCY.implement(GO_LIBS)
def _latency_go(lib: GoLib, b: Budget) -> dict[str, float]:
    ch = lib.signal_chan()
    lib.notify(ch, signal.SIGUSR1)
    try:
        return _latency(lambda: _signal_number(ch.recv()), b)
    finally:
        lib.signal_stop(ch)


def _handler_queue() -> tuple["queue.SimpleQueue[int]", Callable[[], None]]:
    """A SimpleQueue fed SIGUSR1 by a Python handler; the second value restores the old handler."""
    q: "queue.SimpleQueue[int]" = queue.SimpleQueue()
    previous = signal.signal(signal.SIGUSR1, lambda signum, frame: q.put(signum))

    def restore() -> None:
        signal.signal(signal.SIGUSR1, previous)

    return q, restore


@SIGNAL_LATENCY.implement((SIMPLE_QUEUE,), note=_HANDLER)
def _latency_queue(lib: QueueLib, b: Budget) -> dict[str, float]:
    q, restore = _handler_queue()
    try:
        return _latency(lambda: q.get(timeout=30), b)
    finally:
        restore()


# ---------------------------------------------------------------- idle CPU


def _idle_cpu_percent(b: Budget) -> float:
    """Percent of one CPU this process uses while the caller's threads wait."""
    window = {"full": 2.0, "quick": 0.5, "smoke": 0.05}[b.mode]
    cpu0, wall0 = time.process_time(), time.monotonic()
    time.sleep(window)
    return (time.process_time() - cpu0) / (time.monotonic() - wall0) * 100


@SIGNAL_IDLE_CPU.implement(GO_LIBS)
def _idle_go(lib: GoLib, b: Budget) -> float:
    ch = lib.signal_chan()
    lib.notify(ch, signal.SIGUSR1)
    waiter = threading.Thread(target=ch.recv, daemon=True)
    waiter.start()
    try:
        return _idle_cpu_percent(b)
    finally:
        lib.signal_stop(ch)
        ch.close()
        waiter.join()


@SIGNAL_IDLE_CPU.implement((SIMPLE_QUEUE,), note=_HANDLER)
def _idle_queue(lib: QueueLib, b: Budget) -> float:
    q, restore = _handler_queue()
    waiter = threading.Thread(target=q.get, daemon=True)
    waiter.start()
    try:
        return _idle_cpu_percent(b)
    finally:
        restore()
        q.put(0)
        waiter.join()
