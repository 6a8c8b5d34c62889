"""The ``go`` reference column: the scenarios on Go's own channels, goroutines and timers.

The scenarios are translated into one Go program, ``go/main.go`` next to this
file (standard library only; shipped inside the package so that any install
has it, not only a checkout). When a Go toolchain is on PATH the runner
builds it once per suite run, with ``go build -o`` into a temporary
directory, and runs the binary once per cell (once per repeat for the memory
scenarios), as it runs ``python -m gochan.bench._cell`` for the Python
libraries. The binary prints the same samples (figures, wall and CPU seconds
of every repeat), so median and spread are computed the same way. Without
``go`` the column is n/a, with :data:`NOT_FOUND` as the reason.

Building once rather than ``go run`` per cell keeps the compiler out of every
cell's process and of the timings' neighbourhood; with a warm build cache the
build takes a fraction of a second.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Callable, Mapping, Optional

from ._libs import GO
from ._registry import Scenario

#: Where main.go and go.mod live.
SOURCE_DIR = Path(__file__).resolve().with_name("go")
NOT_FOUND = "Go toolchain not found (no `go` on PATH)"
BUILD_TIMEOUT_S = 300.0

_HEAP = "Go heap growth (runtime.MemStats.HeapAlloc after runtime.GC()), not RSS"

#: The scenarios main.go implements, with the footnote of the Go cell ('' for none).
#: A test checks this against the program's own list (``-list``).
SCENARIOS: dict[str, str] = {
    "buffered_same_thread": "",
    "unbuffered_pingpong": "",
    "prodcons_4x4": "",
    "close_broadcast_100": "",
    "chan_memory": _HEAP,
    "sieve": "",
    "buffered_cpu_bystander": "a goroutine spins beside it; Go has no GIL, so the spinner takes one CPU and no lock",
    "select2_ready": "",
    "select8_default": "",
    "select64_blocking": "a 64-case select statement (reflect.Select, the dynamic form, would add reflection's cost)",
    "timer_latency": "",
    "timer_storm_1000": "",
    "timer_memory": _HEAP,
    "signal_latency": "os/signal.Notify; the sending process is the Go program too",
    "signal_idle_cpu": "",
    "context_timeout_cancel": "",
    "context_memory": _HEAP,
    "context_cancel_tree": "",
    "scale_threads": "",
    "scale_select": "reflect.Select at every size: a select statement's number of cases is fixed at compile time",
    "scale_timers": "time.NewTimer (what time.After calls), so that the pending timers can be stopped between sizes",
}


def attach(scenarios: Mapping[str, Scenario]) -> None:
    """Mark which scenarios run in Go; the others are n/a for Go (idempotent)."""
    for name, sc in scenarios.items():
        if name in SCENARIOS:
            sc.implement_externally((GO,), SCENARIOS[name])
        elif GO not in sc.notes:   # a scenario may say why itself
            sc.not_applicable((GO,), "not translated to Go")


def toolchain() -> Optional[str]:
    """The ``go`` command on PATH, or None."""
    return shutil.which("go")


def probe() -> dict[str, Optional[str]]:
    """The Go version (``1.19.8``), or why there is no Go column: the environment's entry for ``go``."""
    go = toolchain()
    if go is None:
        return {"version": None, "error": NOT_FOUND}
    try:
        proc = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        return {"version": None, "error": f"{go} env GOVERSION: {e}"}
    version = proc.stdout.strip()
    if proc.returncode != 0 or not version:
        tail = proc.stderr.strip().splitlines()[-1:] or [f"exit status {proc.returncode}"]
        return {"version": None, "error": f"{go} env GOVERSION: {tail[0]}"}
    return {"version": version.removeprefix("go"), "error": None}


class BuildFailed(RuntimeError):
    """The Go program could not be built (no toolchain, or the compiler failed)."""


def _build_env(directory: str) -> dict[str, str]:
    """The environment of ``go build``: the user's, minus what would change or break this build."""
    env = dict(os.environ)
    # No workspace, no user flags (-race would change every figure), no
    # toolchain download, no C compiler needed, a binary for this machine.
    env.update(GOWORK="off", GOFLAGS="", GOTOOLCHAIN="local", CGO_ENABLED="0", GO111MODULE="on")
    env.pop("GOOS", None)
    env.pop("GOARCH", None)
    if not env.get("HOME"):  # go needs somewhere for its build cache and module path
        env.setdefault("GOCACHE", os.path.join(directory, "gocache"))
        env.setdefault("GOPATH", os.path.join(directory, "gopath"))
    return env


def build(directory: str) -> str:
    """Compile main.go into ``directory``; return the binary's path. Raises :class:`BuildFailed`.

    The sources are copied first, so that the package's folder may be
    read-only and no go.mod or go.work above it interferes.
    """
    go = toolchain()
    if go is None:
        raise BuildFailed(NOT_FOUND)
    src = os.path.join(directory, "src")
    os.mkdir(src)
    for name in ("go.mod", "main.go"):
        shutil.copyfile(SOURCE_DIR / name, os.path.join(src, name))
    binary = os.path.join(directory, "gochanbench")
    cmd = [go, "build", "-o", binary, "."]
    try:
        proc = subprocess.run(cmd, cwd=src, env=_build_env(directory), capture_output=True, text=True, timeout=BUILD_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise BuildFailed(f"go build timed out after {BUILD_TIMEOUT_S:.0f} s") from None
    except OSError as e:
        raise BuildFailed(f"go build: {e}") from None
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or [f"exit status {proc.returncode}"]
        raise BuildFailed(f"go build: {tail[0]}")
    return binary


class Program:
    """The built Go program, for the length of a ``with`` block (one suite run).

    It is built on first use, so a run with no Go cell to measure never
    builds; a failed build is remembered and reported by every later use.
    """

    def __init__(self, progress: Callable[[str], None] = lambda line: None) -> None:
        self._progress = progress
        self._stack = contextlib.ExitStack()
        self._binary: Optional[str] = None
        self._error: Optional[str] = None

    def __enter__(self) -> "Program":
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def binary(self) -> str:
        """The binary's path, building it the first time. Raises :class:`BuildFailed`."""
        if self._binary is None and self._error is None:
            directory = self._stack.enter_context(tempfile.TemporaryDirectory(prefix="gochan-bench-go-"))
            self._progress(f"building {SOURCE_DIR / 'main.go'} with go build ...")
            t0 = time.monotonic()
            try:
                self._binary = build(directory)
            except BuildFailed as e:
                self._error = str(e)
                self._progress(f"building the Go program FAILED: {e}")
            else:
                self._progress(f"built in {time.monotonic() - t0:.1f} s")
        if self._binary is None:
            raise BuildFailed(self._error)
        return self._binary

    def command(self, scenario: str, mode: str, repeats: int, warmup: bool) -> list[str]:
        """The command line of one cell, or of one repeat (``repeats=1``, no warm-up)."""
        flags = ["-scenario", scenario, "-mode", mode, "-repeats", str(repeats), f"-warmup={'true' if warmup else 'false'}"]
        return [self.binary(), *flags]
