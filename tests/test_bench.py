"""The benchmark command's plumbing: --help, and --json at smoke size.

These tests check the shape of the output, never the speed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Optional

import pytest

ROOT = Path(__file__).resolve().parent.parent
LABELS = {"gochan", "queue.Queue", "queue.SimpleQueue", "pygolang", "go"}
#: Columns that are n/a (with a note) when their library or toolchain is absent.
OPTIONAL = {"pygolang", "go"}
needs_go = pytest.mark.skipif(
    shutil.which("go") is None,
    reason="no Go toolchain on PATH (e.g. apt-get install golang-go): the go column is n/a, "
    "which test_go_column_is_na_without_go checks",
)


def bench(*args: str, timeout: float = 100, env: Optional[dict[str, str]] = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gochan.bench", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def test_help_goes_to_stdout_and_lists_every_option_and_scenario() -> None:
    proc = bench("--help")
    assert proc.returncode == 0, proc.stderr
    for word in ("--quick", "--json", "--scenario", "buffered_same_thread", "timer_latency", "signal_latency"):
        assert word in proc.stdout
    assert "--smoke" not in proc.stdout  # test-only flag stays hidden


def test_unknown_scenario_is_rejected() -> None:
    proc = bench("--scenario", "no_such_thing")
    assert proc.returncode == 2
    assert "unknown scenario 'no_such_thing'" in proc.stderr


@pytest.fixture(scope="module")
def smoke() -> dict[str, Any]:
    """One --json run at smoke size over a few scenarios, shared by the tests below."""
    proc = bench("--json", "--smoke", "--scenario", "buffered_same_thread", "--scenario=select8_default,timer_latency,prodcons_4x4,sieve")
    assert proc.returncode == 0, proc.stderr
    doc: dict[str, Any] = json.loads(proc.stdout)  # only JSON on stdout
    return doc


def test_json_has_environment_and_every_library(smoke: dict[str, Any]) -> None:
    env = smoke["environment"]
    for key in ("python", "platform", "cpu_count", "date", "libraries"):
        assert key in env
    assert set(env["libraries"]) == LABELS
    assert env["libraries"]["gochan"]["version"], env["libraries"]["gochan"]
    assert smoke["method"]["repeats"] >= 5

    row = smoke["results"]["buffered_same_thread"]
    assert row["unit"] == "ns/pair"
    assert set(row["libraries"]) == LABELS
    for label, entry in row["libraries"].items():
        assert {"median", "spread", "unit"} <= set(entry), label
        assert entry["unit"] == "ns/pair"
        assert "error" not in entry, (label, entry)
        if label in OPTIONAL and not env["libraries"][label]["version"]:
            assert entry["median"] is None and entry["note"]
            continue
        assert entry["median"] > 0
        assert entry["spread"] >= 0
        assert len(entry["samples"]) == smoke["method"]["repeats"]
        assert entry["wall_s"] > 0 and entry["cpu_s"] >= 0


def test_rows_in_table_order_one_per_figure(smoke: dict[str, Any]) -> None:
    assert list(smoke["results"]) == [
        "buffered_same_thread",
        "prodcons_4x4",
        "sieve",
        "select8_default",
        "timer_latency.p50",
        "timer_latency.p99",
    ]
    for row in ("timer_latency.p50", "timer_latency.p99"):
        assert smoke["results"][row]["unit"] == "ms"
        assert smoke["results"][row]["libraries"]["gochan"]["median"] is not None


def test_queues_have_no_select(smoke: dict[str, Any]) -> None:
    row = smoke["results"]["select8_default"]["libraries"]
    for label in ("queue.Queue", "queue.SimpleQueue"):
        assert row[label]["median"] is None
        assert "select" in row[label]["note"]
    assert row["gochan"]["median"] > 0


@pytest.mark.parametrize("scenario", ["prodcons_4x4", "sieve"])
def test_checked_scenarios_pass_their_own_checks(smoke: dict[str, Any], scenario: str) -> None:
    """prodcons verifies nothing is lost or duplicated, sieve verifies the primes: no cell errors."""
    for label, entry in smoke["results"][scenario]["libraries"].items():
        assert "error" not in entry, (label, entry)


# ---------------------------------------------------------------- the go column


def test_go_column_is_na_without_go(tmp_path: Path) -> None:
    """With no `go` on PATH the table still has the go column, n/a with the reason."""
    env = dict(os.environ, PATH=str(tmp_path))  # an empty folder: no go (nor anything else)
    proc = bench("--smoke", "--scenario", "select8_default", env=env)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    header = next(line for line in lines if line.startswith("scenario "))
    assert header.split()[-2:] == ["go", "ratio"]
    row = next(line for line in lines if line.startswith("select8_default "))
    cell = re.search(r"n/a \[(\d+)\]$", row)
    assert cell, row
    assert len(row) == len(header) - len("  ratio")  # the cell sits in the go column (right-aligned)
    assert f"[{cell.group(1)}] not available: Go toolchain not found (no `go` on PATH)" in lines


def test_go_build_failure_is_an_error_cell_not_a_crash(tmp_path: Path) -> None:
    """A `go` that cannot build the program: the go cells say why; the other columns are measured."""
    fake = tmp_path / "go"
    fake.write_text('#!/bin/sh\nif [ "$1" = env ]; then echo go1.99; exit 0; fi\necho "fake: cannot compile" >&2; exit 1\n')
    fake.chmod(0o755)
    proc = bench("--json", "--smoke", "--scenario", "select8_default", env=dict(os.environ, PATH=str(tmp_path)))
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["environment"]["libraries"]["go"] == {"version": "1.99", "error": None}
    entries = doc["results"]["select8_default"]["libraries"]
    assert entries["go"]["median"] is None
    assert entries["go"]["error"] == "go build: fake: cannot compile"
    assert entries["gochan"]["median"] > 0


@pytest.fixture(scope="module")
def go_binary(tmp_path_factory: pytest.TempPathFactory) -> str:
    from gochan.bench import _golang

    return _golang.build(str(tmp_path_factory.mktemp("go")))


@needs_go
def test_go_program_has_the_scenarios_and_figures_python_expects(go_binary: str) -> None:
    from gochan.bench import _golang
    from gochan.bench._registry import all_scenarios

    listed = json.loads(subprocess.run([go_binary, "-list"], capture_output=True, text=True, check=True).stdout)
    scenarios = all_scenarios()
    assert listed == {name: [m.key for m in scenarios[name].metrics] for name in _golang.SCENARIOS}


@needs_go
def test_go_timer_storm_arms_the_same_durations_as_python(go_binary: str) -> None:
    """main.go ports CPython's Mersenne Twister so that both arm the same 1000 timers."""
    from gochan.bench._timers import _storm_durations

    out = subprocess.run([go_binary, "-storm-durations"], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == _storm_durations()


@needs_go
def test_go_column_smoke() -> None:
    """Every scenario translated to Go runs at smoke size through the runner and yields median, spread, samples."""
    from gochan.bench import _golang
    from gochan.bench._runner import run

    doc = run(list(_golang.SCENARIOS), "smoke", 5, libraries=("go",))
    assert doc["environment"]["libraries"]["go"]["version"]
    rows = doc["results"]
    assert {row["scenario"] for row in rows.values()} == set(_golang.SCENARIOS)
    for name, row in rows.items():
        assert set(row["libraries"]) == {"go"}
        entry = row["libraries"]["go"]
        assert "error" not in entry, (name, entry)
        assert entry["unit"] == row["unit"]
        assert len(entry["samples"]) == 5
        if name == "signal_idle_cpu":  # may round to 0 % (then spread is None: relative to 0)
            assert entry["median"] >= 0
        else:
            assert entry["median"] > 0, (name, entry)
            assert entry["spread"] >= 0, (name, entry)
