"""The benchmark command's plumbing: --help, and --json at smoke size.

These tests check the shape of the output, never the speed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Optional

import pytest
from conftest import wait_until

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
def smoke_run() -> subprocess.CompletedProcess[str]:
    """One --json run at smoke size over a few scenarios, shared by the tests below."""
    proc = bench("--json", "--smoke", "--scenario", "buffered_same_thread", "--scenario=select8_default,timer_latency,prodcons_4x4,sieve")
    assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture(scope="module")
def smoke(smoke_run: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(smoke_run.stdout)  # only JSON on stdout
    return doc


def test_progress_counts_every_cell_that_runs_without_skipping(
    smoke_run: subprocess.CompletedProcess[str], smoke: dict[str, Any]
) -> None:
    """[k/n] on stderr: k goes 1..n with no gap (n/a cells are not counted), n = the cells measured."""
    measured = {
        (row["scenario"], label)
        for row in smoke["results"].values()
        for label, entry in row["libraries"].items()
        if entry["median"] is not None or entry.get("error")
    }
    starts = re.findall(r"^\[(\d+)/(\d+)\] (\S+) on (\S+) \.\.\.$", smoke_run.stderr, re.M)
    ends = re.findall(r"^\[(\d+)/(\d+)\] (\S+) on (\S+): [\d.]+ s$", smoke_run.stderr, re.M)
    assert [int(k) for k, _, _, _ in starts] == list(range(1, len(measured) + 1)), smoke_run.stderr
    assert {int(n) for _, n, _, _ in starts} == {len(measured)}
    assert {(sc, label) for _, _, sc, label in starts} == measured
    assert ends == starts  # each cell that started reports its time under the same number
    assert f"{len(measured)} cells to run" in smoke_run.stderr
    # select8_default has n/a cells (queues), so a count of every cell would differ.
    every_cell = {(row["scenario"], label) for row in smoke["results"].values() for label in row["libraries"]}
    assert measured < every_cell


def test_json_has_environment_and_every_library(smoke: dict[str, Any]) -> None:
    env = smoke["environment"]
    for key in ("python", "platform", "cpu_count", "date", "libraries"):
        assert key in env
    assert set(env["libraries"]) == LABELS
    assert env["libraries"]["gochan"]["version"], env["libraries"]["gochan"]
    assert smoke["method"]["repeats"] >= 5
    assert env["load"] == 0  # no --load: recorded as 0

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


# ---------------------------------------------------------------- scaling scenarios

SCALES = {
    "scale_threads": ("producer/consumer pairs", [1, 2, 4, 8, 16, 32, 64], [""], "ns/item"),
    "scale_select": ("channels in the select", [1, 4, 16, 64, 256, 1024], [""], "us/round"),
    "scale_timers": ("pending timers", [10, 100, 1000, 10_000, 100_000], ["arm", "p50"], None),
}


@pytest.fixture(scope="module")
def scale_doc() -> dict[str, Any]:
    """The three scaling scenarios at smoke size on gochan and the queues (the go column is tested below)."""
    from gochan.bench._runner import run

    return run(list(SCALES), "smoke", 5, libraries=("gochan", "queue.Queue", "queue.SimpleQueue"))


def test_scale_rows_cover_every_size_in_order(scale_doc: dict[str, Any]) -> None:
    expected = []
    for name, (axis, sizes, families, _) in SCALES.items():
        for fam in families:
            expected += [f"{name}.{fam + '.' if fam else ''}n{n}" for n in sizes]
    assert list(scale_doc["results"]) == expected
    for row_name, row in scale_doc["results"].items():
        axis, sizes, families, unit = SCALES[row["scenario"]]
        assert row["axis"] == axis and row["size"] in sizes and row["figure"] in families, row_name
        assert row["unit"] == (unit or {"arm": "us/timer", "p50": "ms"}[row["figure"]])
        entry = row["libraries"]["gochan"]
        assert "error" not in entry, (row_name, entry)
        assert entry["median"] > 0 and len(entry["samples"]) == 5, (row_name, entry)


def test_scale_threads_runs_on_the_queues_the_others_say_why_not(scale_doc: dict[str, Any]) -> None:
    for label in ("queue.Queue", "queue.SimpleQueue"):
        for n in SCALES["scale_threads"][1]:
            entry = scale_doc["results"][f"scale_threads.n{n}"]["libraries"][label]
            assert "error" not in entry and entry["median"] > 0, (label, n, entry)
        assert "select" in scale_doc["results"]["scale_select.n1"]["libraries"][label]["note"]
        assert "thread per timer" in scale_doc["results"]["scale_timers.arm.n10"]["libraries"][label]["note"]


def test_scale_rows_can_be_selected_by_figure() -> None:
    proc = bench("--help")
    assert "scale_threads" in proc.stdout and "scale_select" in proc.stdout and "scale_timers" in proc.stdout
    from gochan.bench import _cli

    parser = _cli._parser()
    assert _cli._selected(parser, ["scale_timers.arm.n100", "scale_select.n4"]) == ["scale_select", "scale_timers"]


def test_scaling_scenarios_reject_bad_sizes() -> None:
    from gochan.bench._registry import scaling

    with pytest.raises(ValueError, match="sizes must be distinct and increasing"):
        scaling("bad_scale", "x", "things", (4, 2), unit="ns")
    with pytest.raises(ValueError, match="either unit or figures"):
        scaling("bad_scale", "x", "things", (1, 2))


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


# ---------------------------------------------------------------- --load


def _proc_stat(pid: int) -> Optional[list[str]]:
    """The fields of /proc/PID/stat after the command name (state first), or None if there is no such process."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _children(parent: int, marker: str) -> list[int]:
    """Live (not zombie) processes whose parent is ``parent`` and whose command line contains ``marker``."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = _proc_stat(int(entry))
            if st and st[0] != "Z" and int(st[1]) == parent and marker in _cmdline(int(entry)):
                out.append(int(entry))
    return sorted(out)


def _alive(pid: int) -> bool:
    st = _proc_stat(pid)
    return st is not None and st[0] != "Z"


def _cpu_ticks(pid: int) -> int:
    st = _proc_stat(pid)
    assert st is not None, f"process {pid} is gone"
    return int(st[11]) + int(st[12])  # utime + stime (fields 14 and 15 of stat)


needs_proc = pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="inspects processes through Linux's /proc")


@pytest.mark.parametrize("value", ["x", "-1", "1.5", "65", ""])
def test_load_rejects_bad_counts(value: str) -> None:
    proc = bench("--load", value, "--scenario", "select8_default")
    assert proc.returncode == 2
    assert "argument --load:" in proc.stderr and "processes" in proc.stderr, proc.stderr
    assert proc.stdout == ""


def _run_watching_cells(monkeypatch: pytest.MonkeyPatch, load: int, inside: Callable[[int], None]) -> tuple[dict[str, Any], set[int]]:
    """Run two smoke cells with ``--load``; around each real cell, check the load processes.

    ``inside(k)`` is called inside cell k (from 1), before it measures.
    Returns the document and every load pid seen.
    """
    from gochan.bench import _load, _runner

    real = _runner._run_cell
    seen: set[int] = set()
    count = [0]

    def watched(*args: Any, **kwargs: Any) -> Any:
        count[0] += 1
        pids = _children(os.getpid(), _load.MARKER)
        assert len(pids) == load, f"cell {count[0]} started beside {pids}, not {load} load processes"
        seen.update(pids)
        inside(count[0])
        result = real(*args, **kwargs)
        assert _children(os.getpid(), _load.MARKER) == pids, "a load process died during the cell"
        return result

    monkeypatch.setattr(_runner, "_run_cell", watched)
    doc = _runner.run(["select8_default"], "smoke", 5, libraries=("gochan", "queue.Queue", "go"), load=load)
    # gochan and (when there is a toolchain) go ran; queue.Queue is n/a for select: no cell.
    assert count[0] == (2 if shutil.which("go") else 1)
    return doc, seen


@needs_proc
def test_load_processes_spin_beside_every_cell_and_are_gone_after(monkeypatch: pytest.MonkeyPatch) -> None:
    from gochan.bench import _load

    def inside(k: int) -> None:
        pids = _children(os.getpid(), _load.MARKER)
        before = [_cpu_ticks(p) for p in pids]
        # They are CPU-bound: each gains CPU time while the cell would run.
        wait_until(lambda: all(_cpu_ticks(p) > t for p, t in zip(pids, before)), what="the load processes to use CPU")

    doc, seen = _run_watching_cells(monkeypatch, 2, inside)
    assert len(seen) == 2  # the same two processes beside every cell
    assert doc["environment"]["load"] == 2
    assert "2 CPU-bound" in doc["method"]["load"]
    assert doc["results"]["select8_default"]["libraries"]["gochan"]["median"] > 0
    assert not [p for p in seen if _alive(p)], "load processes outlived the run"


@needs_proc
def test_no_load_processes_with_load_0(monkeypatch: pytest.MonkeyPatch) -> None:
    doc, seen = _run_watching_cells(monkeypatch, 0, lambda k: None)
    assert seen == set() and doc["environment"]["load"] == 0


@needs_proc
@pytest.mark.parametrize("exc", [RuntimeError("a cell crashed"), KeyboardInterrupt()])
def test_load_processes_are_stopped_when_the_run_fails(monkeypatch: pytest.MonkeyPatch, exc: BaseException) -> None:
    from gochan.bench import _load

    seen: list[int] = []

    def inside(k: int) -> None:
        seen.extend(_children(os.getpid(), _load.MARKER))
        raise exc

    with pytest.raises(type(exc)):
        _run_watching_cells(monkeypatch, 3, inside)
    assert len(seen) == 3
    assert not [p for p in seen if _alive(p)], "load processes outlived the failed run"


def _start_loaded_bench(load: int) -> tuple[subprocess.Popen[str], list[int]]:
    """A --json bench run with --load that lasts long enough to be interrupted; returns it once a cell runs.

    It runs in a session of its own, so that its process group can be signalled as a terminal would.
    """
    from gochan.bench import _load

    proc = subprocess.Popen(
        [sys.executable, "-m", "gochan.bench", "--json", "--smoke", "--load", str(load), "--repeats", "5000", "--scenario", "timer_latency"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        wait_until(lambda: len(_children(proc.pid, _load.MARKER)) == load, timeout=60, what="the load processes")
        wait_until(lambda: _children(proc.pid, "gochan.bench._cell timer_latency"), timeout=60, what="a cell to run")
        pids = _children(proc.pid, _load.MARKER)
        assert len(pids) == load
    except BaseException:
        proc.kill()
        proc.communicate()
        raise
    return proc, pids


@needs_proc
@pytest.mark.parametrize("group", [False, True], ids=["sigint-to-the-bench", "ctrl-c-to-its-process-group"])
def test_ctrl_c_stops_the_load_processes_and_keeps_stdout_clean(group: bool) -> None:
    proc, pids = _start_loaded_bench(2)
    if group:  # Ctrl+C in a terminal: the bench, its cell and its load processes all get SIGINT
        os.killpg(proc.pid, signal.SIGINT)
    else:  # the bench alone: it must stop the others itself
        proc.send_signal(signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted" in err
    assert out == ""  # --json: no half document
    # The bench reaped them before exiting: no process left, not even for the parent-watch to end.
    assert not [p for p in pids if _alive(p)], "load processes outlived the interrupted run"


@needs_proc
def test_load_processes_end_by_themselves_if_the_bench_is_killed() -> None:
    """SIGKILL skips every finally: each spinner sees its parent gone and exits."""
    proc, pids = _start_loaded_bench(1)
    cells = _children(proc.pid, "gochan.bench._cell")
    proc.kill()
    proc.communicate(timeout=60)
    wait_until(lambda: not [p for p in pids if _alive(p)], timeout=30, what="orphaned load processes to exit")
    # and the cell that was running ends too, instead of running its 5000 repeats
    wait_until(lambda: not [p for p in cells if _alive(p)], timeout=30, what="the orphaned cell to exit")


@needs_proc
def test_a_load_process_that_dies_is_restarted_before_the_next_cell() -> None:
    from gochan.bench._load import Load

    with Load(2) as load:
        first = load.pids
        assert all(_alive(p) for p in first)
        os.kill(first[0], signal.SIGKILL)
        wait_until(lambda: not _alive(first[0]), what="the killed load process to die")
        load.check()
        assert load.restarts == 1
        assert load.pids[1] == first[1] and load.pids[0] != first[0]
        assert all(_alive(p) for p in load.pids)
        now = load.pids
    assert not [p for p in first + now if _alive(p)]


def test_table_header_and_json_record_the_load() -> None:
    proc = bench("--smoke", "--load", "1", "--scenario", "select8_default")
    assert proc.returncode == 0, proc.stderr
    assert "every cell ran beside 1 CPU-bound process (--load 1)" in proc.stdout.splitlines()[1]
    proc = bench("--smoke", "--scenario", "select8_default")
    assert proc.returncode == 0, proc.stderr
    assert "every cell ran with no added load (--load 0)" in proc.stdout.splitlines()[1]
    proc = bench("--smoke", "--json", "--load", "2", "--scenario", "select8_default")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["environment"]["load"] == 2
