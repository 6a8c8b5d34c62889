"""``--load N``: run every cell beside N CPU-bound processes.

A busy machine is where spinning stops paying (issue 7): a waiter that spins
burns the time slice its partner needs. ``--load N`` makes that measurable in
one run: :class:`Load` starts N processes that do nothing but spin
(``while True: pass``, in the same interpreter as the bench), waits until each
one is spinning, and stops them when the run ends, however it ends (normal
end, an exception, Ctrl+C). Before every cell :meth:`Load.check` verifies
that all N are still running and restarts any that died, so every cell
really runs next to N busy processes.

If the bench itself is killed (SIGKILL, SIGTERM) and its ``finally`` never
runs, each spinner notices that its parent is gone (it calls ``getppid()``
every 100 000 empty iterations, a few milliseconds) and exits, so no
orphan keeps burning a CPU.
"""

from __future__ import annotations

import selectors
import subprocess
import sys
from typing import Optional

#: Most load processes ``--load`` accepts: more only measures the scheduler.
MAX_LOAD = 64

#: A marker in each spinner's command line, so that ``ps`` (and the tests) can tell them apart.
MARKER = "gochan-bench-load"

# The spinner: tell the parent it runs, then spin; stop when the parent is
# gone (reparented), on SIGINT or on SIGTERM/SIGKILL. The inner loop is a bare
# ``for _ in r: pass``: CPU-bound Python bytecode like ``while True: pass``.
_SPIN = f"""\
# {MARKER}
import os, sys
parent = os.getppid()
sys.stdout.write("spinning\\n")
sys.stdout.flush()
sys.stdout.close()
r = range(100_000)
try:
    while os.getppid() == parent:
        for _ in r:
            pass
except KeyboardInterrupt:
    pass
"""

START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0


def parse_load(text: str) -> int:
    """The value of ``--load``: an integer from 0 to :data:`MAX_LOAD`; raises ValueError saying what is wrong."""
    try:
        n = int(text, 10)
    except ValueError:
        raise ValueError(f"must be a whole number of processes (0 to {MAX_LOAD}), not {text!r}") from None
    if not 0 <= n <= MAX_LOAD:
        raise ValueError(f"must be between 0 and {MAX_LOAD} processes, not {n}")
    return n


class LoadFailed(RuntimeError):
    """A load process could not be started or did not start spinning."""


class Load:
    """N CPU-bound processes for the length of a ``with`` block.

    ``with Load(2) as load: ...`` starts both and returns once each one is
    spinning; leaving the block (in any way) kills and reaps them.
    ``Load(0)`` starts nothing.
    """

    def __init__(self, n: int) -> None:
        if n < 0:
            raise ValueError(f"Load: n must be >= 0, not {n}")
        self.n = n
        self._procs: list[subprocess.Popen[bytes]] = []
        self.restarts = 0
        """How many load processes died during the run and were restarted by :meth:`check`."""

    def __enter__(self) -> "Load":
        try:
            for _ in range(self.n):
                self._procs.append(self._start())
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def pids(self) -> list[int]:
        """The process ids of the load processes running now."""
        return [p.pid for p in self._procs]

    def check(self) -> None:
        """Make sure all N processes are spinning: restart any that has exited."""
        for i, p in enumerate(self._procs):
            if p.poll() is not None:
                self._procs[i] = self._start()
                self.restarts += 1

    def stop(self) -> None:
        """Kill every load process and reap it (idempotent)."""
        procs, self._procs = self._procs, []
        for p in procs:
            if p.poll() is None:
                p.kill()
        for p in procs:
            try:
                p.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:  # not reaped: nothing more a parent can do than SIGKILL
                pass
            if p.stdout is not None:
                p.stdout.close()

    @staticmethod
    def _start() -> subprocess.Popen[bytes]:
        """One spinner, returned once it has said that it spins."""
        try:
            p = subprocess.Popen(
                [sys.executable, "-S", "-c", _SPIN],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        except OSError as e:
            raise LoadFailed(f"cannot start a load process: {e}") from None
        line = _readline(p, START_TIMEOUT_S)
        if line != b"spinning\n":
            p.kill()
            p.wait()
            raise LoadFailed(f"a load process did not start (said {line!r}, exit status {p.returncode})")
        return p


def _readline(p: "subprocess.Popen[bytes]", timeout: float) -> Optional[bytes]:
    """The first line p writes, or None if it writes nothing within timeout."""
    assert p.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(p.stdout, selectors.EVENT_READ)
        if not sel.select(timeout):
            return None
    # The spinner writes its one line in a single write, then closes stdout.
    return p.stdout.readline()


def describe(n: int) -> str:
    """``beside 2 CPU-bound processes`` (or ``with no added load``) for the table's header."""
    if n == 0:
        return "with no added load (--load 0)"
    return f"beside {n} CPU-bound process{'es' if n != 1 else ''} (--load {n})"


