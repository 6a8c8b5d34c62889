"""The benchmark command's plumbing: --help, and --json at smoke size.

These tests check the shape of the output, never the speed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
LABELS = {"gochan", "queue.Queue", "queue.SimpleQueue", "pygolang"}


def bench(*args: str, timeout: float = 100) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gochan.bench", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
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
        if label == "pygolang" and not env["libraries"]["pygolang"]["version"]:
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
