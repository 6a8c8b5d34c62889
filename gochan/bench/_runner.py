"""Run the selected cells, each in a fresh process, and gather the results document.

The document (what ``--json`` prints) is::

    {"environment": {...},
     "method": {...},                       # repeats, spread definition, mode
     "results": {ROW: {"scenario": ..., "summary": ..., "unit": ...,
                       "libraries": {LABEL: {"median", "spread", "unit", ...}}}}}

ROW is the scenario name, or ``name.key`` for a scenario with several figures
(``timer_latency.p50``). The rows of a scaling scenario
(``scale_threads.n64``) also have ``axis`` (what the size counts), ``size``
and ``figure`` ('' or, with several figures per size, ``arm``, ``p50``).
Every library appears in every row; where it did not run, ``median`` and
``spread`` are null and ``note`` says why.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from typing import Any, Callable, Optional

from ._golang import BuildFailed, Program
from ._libs import GO, LIBRARIES
from ._load import Load
from ._registry import Metric, Scenario, all_scenarios

SPREAD = "(max - min) / median of the repeats"
CELL_TIMEOUT_S = {"full": 900, "quick": 300, "smoke": 120}


class CellFailed(RuntimeError):
    """A cell process failed or printed something that is not a result."""


def _python(*args: str, timeout: float) -> Any:
    """Run ``python -m gochan.bench._cell ARGS`` and return its JSON output."""
    return _json_output([sys.executable, "-m", "gochan.bench._cell", *args], timeout)


def _json_output(cmd: list[str], timeout: float) -> Any:
    """Run a cell's process and return its JSON output."""
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise CellFailed(f"timed out after {timeout:.0f} s") from None
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or [f"exit status {proc.returncode}"]
        raise CellFailed(tail[0])
    try:
        return json.loads(proc.stdout)
    except json.JSONDecodeError:
        raise CellFailed(f"unparseable output: {proc.stdout[:200]!r}") from None


def environment() -> dict[str, Any]:
    """Where and when the run happens, and the version of each library (probed in a subprocess)."""
    env: dict[str, Any] = {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(["python -m gochan.bench", *sys.argv[1:]]),
    }
    if hasattr(os, "sched_getaffinity"):
        env["cpus_usable"] = len(os.sched_getaffinity(0))
    if hasattr(os, "getloadavg"):
        env["loadavg_at_start"] = [round(x, 2) for x in os.getloadavg()]
    try:
        env["libraries"] = _python("--env", timeout=120)
    except CellFailed as e:
        env["libraries"] = {label: {"version": None, "error": str(e)} for label in LIBRARIES}
    commit = _git_commit()
    if commit:
        env["gochan_commit"] = commit
    return env


def _git_commit() -> Optional[str]:
    """The commit of the gochan tree being measured, if it is a git checkout."""
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        out = subprocess.run(["git", "-C", here, "describe", "--always", "--dirty"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None


def _cell_command(sc: Scenario, library: str, mode: str, repeats: int, warmup: bool, go: Program) -> list[str]:
    """The command line of a cell's process: the Go program for ``go``, else ``python -m gochan.bench._cell``."""
    if library == GO:
        try:
            return go.command(sc.name, mode, repeats, warmup and sc.warmup)
        except BuildFailed as e:
            raise CellFailed(str(e)) from None
    cmd = [sys.executable, "-m", "gochan.bench._cell", sc.name, library, "--mode", mode, "--repeats", str(repeats)]
    return cmd if warmup else [*cmd, "--no-warmup"]


def _run_cell(sc: Scenario, library: str, mode: str, repeats: int, go: Program) -> list[dict[str, Any]]:
    """The samples of one cell: one process doing every repeat, or one process per repeat."""
    timeout = CELL_TIMEOUT_S[mode]
    samples: list[dict[str, Any]] = []
    if not sc.fresh_process_per_repeat:
        samples = _json_output(_cell_command(sc, library, mode, repeats, True, go), timeout)
    else:
        for _ in range(repeats):
            samples.extend(_json_output(_cell_command(sc, library, mode, 1, False, go), timeout))
    try:  # the Go program's figures are checked here, the Python cells' also in the cell
        for s in samples:
            s["figures"] = sc.figures(s["figures"])
    except (KeyError, TypeError, ValueError) as e:
        raise CellFailed(f"bad samples: {e}") from None
    return samples


def _summarise(values: list[float]) -> tuple[float, Optional[float]]:
    """Median and spread ((max - min) / median; None when the median is 0)."""
    med = statistics.median(values)
    return med, ((max(values) - min(values)) / abs(med) if med else None)


def run(
    names: list[str],
    mode: str,
    repeats: int,
    progress: Callable[[str], None] = lambda line: None,
    libraries: tuple[str, ...] = LIBRARIES,
    load: int = 0,
) -> dict[str, Any]:
    """Run the scenarios ``names`` on ``libraries`` (default: every library); return the results document.

    With ``load`` > 0, every cell runs beside that many CPU-bound processes
    (see ``_load``), started after the environment is probed and stopped
    when the run ends, however it ends.
    """
    scenarios = all_scenarios()
    env = environment()
    env["load"] = load
    available = {label: env["libraries"].get(label, {}) for label in LIBRARIES}
    doc: dict[str, Any] = {
        "environment": env,
        "method": {
            "mode": mode,
            "repeats": repeats,
            "median": "median of the repeats",
            "spread": SPREAD,
            "isolation": "each cell (scenario x library) runs in a fresh process; memory scenarios run each repeat in its own process",
            "cpu_wall": "wall_s and cpu_s: median seconds of one repeat, wall clock and process CPU time",
            "ratio": "gochan / peer: below 1 means gochan is faster or smaller",
            "load": "no added load"
            if load == 0
            else f"each cell ran beside {load} CPU-bound process(es) (`while True: pass`), started by the bench, "
            "checked before every cell, stopped at the end",
            "go": "the same scenarios as one Go program (gochan/bench/go/main.go), built once per run with "
            "`go build`; goroutines where Python uses threads",
        },
        "results": {},
    }
    cells = [(scenarios[n], label) for n in names for label in libraries]
    # Number only the cells that will run: n/a cells (no equivalent, library
    # not installed) print nothing, and counting them made the progress jump.
    runnable = [c for c in cells if _skip_reason(c[0], c[1], available[c[1]]) is None]
    progress(f"{len(runnable)} cells to run ({len(cells) - len(runnable)} n/a)")
    if load:
        progress(f"starting the load: {load} CPU-bound process(es) ...")
    with Load(load) as busy, Program(progress) as go:
        k = 0
        for sc, label in cells:
            runs = _skip_reason(sc, label, available[label]) is None
            k += runs
            counter = f"[{k}/{len(runnable)}]" if runs else ""
            entries = _cell_entries(sc, label, available[label], mode, repeats, go, busy, progress, counter)
            for metric in sc.metrics:
                row = doc["results"].setdefault(sc.row_name(metric), _row(sc, metric))
                row["libraries"][label] = entries[metric.key]
        if busy.restarts:
            env["load_restarts"] = busy.restarts
    return doc


def _row(sc: Scenario, metric: Metric) -> dict[str, Any]:
    """A new row of the results: what it measures; ``axis``, ``size`` and ``figure`` for a scaling scenario's."""
    row: dict[str, Any] = {"scenario": sc.name, "summary": sc.summary, "unit": metric.unit}
    if metric.size is not None:
        row.update(axis=sc.axis, size=metric.size, figure=metric.family)
    row["libraries"] = {}
    return row


def _skip_reason(sc: Scenario, label: str, availability: dict[str, Any]) -> Optional[str]:
    """Why the cell is n/a without running (no equivalent, library not available), or None if it runs."""
    if not sc.runs_on(label):
        return sc.notes.get(label) or "no equivalent"
    if availability.get("error") or not availability.get("version"):
        return f"not available: {availability.get('error') or 'not installed'}"
    return None


def _cell_entries(
    sc: Scenario,
    label: str,
    availability: dict[str, Any],
    mode: str,
    repeats: int,
    go: Program,
    busy: Load,
    progress: Callable[[str], None],
    counter: str,
) -> dict[str, dict[str, Any]]:
    """The JSON entry of each figure of one cell, running the cell if it applies."""
    note = sc.notes.get(label)
    skip = _skip_reason(sc, label, availability)

    def empty(why: Optional[str], **extra: Any) -> dict[str, dict[str, Any]]:
        return {m.key: {"median": None, "spread": None, "unit": m.unit, "note": why, **extra} for m in sc.metrics}

    if skip:
        return empty(skip)
    busy.check()  # every load process is spinning as the cell starts
    progress(f"{counter} {sc.name} on {label} ...")
    t0 = time.monotonic()
    try:
        samples = _run_cell(sc, label, mode, repeats, go)
    except CellFailed as e:
        progress(f"{counter} {sc.name} on {label}: FAILED: {e}")
        return empty(note, error=str(e))
    progress(f"{counter} {sc.name} on {label}: {time.monotonic() - t0:.1f} s")
    wall = statistics.median(s["wall_s"] for s in samples)
    cpu = statistics.median(s["cpu_s"] for s in samples)
    out = {}
    for m in sc.metrics:
        values = [s["figures"][m.key] for s in samples]
        med, spread = _summarise(values)
        out[m.key] = {
            "median": med,
            "spread": spread,
            "unit": m.unit,
            "samples": values,
            "wall_s": wall,
            "cpu_s": cpu,
            "note": note,
        }
    return out
