"""``python -m gochan.bench --plot DIR [--from PATH]``: the charts, and reading a saved run.

The charts need matplotlib (the ``[plot]`` extra); those tests skip without
it. What they check is the plumbing and what a reader sees (files, titles,
axis labels, legends), never the figures.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Optional

import pytest

ROOT = Path(__file__).resolve().parent.parent


def bench(*args: str, timeout: float = 200, env: Optional[dict[str, str]] = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gochan.bench", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env
    )


def needs_matplotlib() -> None:
    pytest.importorskip("matplotlib", reason="--plot needs matplotlib: pip install '.[plot]'")


# ---------------------------------------------------------------- without matplotlib


def test_plot_without_matplotlib_fails_at_once_and_says_how_to_install(tmp_path: Path) -> None:
    """Checked before measuring: a run of minutes must not end in an ImportError."""
    fake = tmp_path / "site" / "matplotlib"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('No module named matplotlib (hidden by the test)')\n")
    import os

    env = dict(os.environ, PYTHONPATH=str(tmp_path / "site"))
    out = tmp_path / "charts"
    proc = bench("--smoke", "--scenario", "select8_default", "--plot", str(out), env=env)
    assert proc.returncode == 2, proc.stderr
    assert "--plot needs matplotlib" in proc.stderr and "pip install 'gochan[plot]'" in proc.stderr
    assert "cells to run" not in proc.stderr  # nothing was measured
    assert proc.stdout == "" and not out.exists()


# ---------------------------------------------------------------- --from


def _write_doc(path: Path) -> dict[str, Any]:
    """A small results document, as --save writes it."""
    doc: dict[str, Any] = {
        "environment": {"date": "2026-01-02T03:04:05+00:00", "python": "3.11.7", "cpu_count": 2, "load": 1,
                        "platform": "Linux", "libraries": {}},
        "method": {"mode": "full", "repeats": 5, "spread": "(max - min) / median of the repeats"},
        "results": {
            "buffered_same_thread": {
                "scenario": "buffered_same_thread", "summary": "s", "unit": "ns/pair",
                "libraries": {
                    "gochan": {"median": 50.0, "spread": 0.1, "unit": "ns/pair", "samples": [45.0, 50.0, 55.0]},
                    "queue.Queue": {"median": 2000.0, "spread": 0.1, "unit": "ns/pair", "samples": [2000.0]},
                    "queue.SimpleQueue": {"median": 40.0, "spread": 0.1, "unit": "ns/pair"},
                    "pygolang": {"median": None, "spread": None, "unit": "ns/pair", "note": "not installed"},
                    "go": {"median": 20.0, "spread": 0.1, "unit": "ns/pair"},
                },
            },
            **{
                f"scale_select.n{k}": {
                    "scenario": "scale_select", "summary": "select over k channels", "unit": "us/round",
                    "axis": "channels in the select", "size": k, "figure": "",
                    "libraries": {
                        "queue.SimpleQueue": {"median": None, "spread": None, "unit": "us/round", "note": "a queue has no select"},
                        "pygolang": {"median": None, "spread": None, "unit": "us/round", "note": "not installed"},
                        "gochan": {"median": 1.0 + k / 10, "spread": 0.2, "unit": "us/round",
                                   "samples": [0.9 + k / 10, 1.0 + k / 10, 1.2 + k / 10]},
                        "queue.Queue": {"median": None, "spread": None, "unit": "us/round", "note": "a queue has no select"},
                        "go": {"median": 0.1 * k, "spread": 0.1, "unit": "us/round", "samples": [0.1 * k],
                               "note": "reflect.Select"},
                    },
                }
                for k in (64, 1, 4)  # out of order on purpose: the curve sorts by size
            },
        },
    }
    path.write_text(json.dumps(doc))
    return doc


def test_ratio_rows_divide_gochan_by_each_peer_and_leave_out_scaling_rows(tmp_path: Path) -> None:
    from gochan.bench import _plot

    doc = _write_doc(tmp_path / "r.json")
    rows = _plot.ratio_rows(doc)
    assert rows == [
        ("buffered_same_thread [ns/pair]", {"queue.Queue": 0.025, "queue.SimpleQueue": 1.25, "go": 2.5}),
    ]


def test_scaling_series_sorts_sizes_and_keeps_the_range_of_the_repeats(tmp_path: Path) -> None:
    from gochan.bench import _plot

    series = _plot.scaling_series(_write_doc(tmp_path / "r.json"))
    assert list(series) == ["scale_select"]
    fig = series["scale_select"]["figures"][""]
    assert fig["unit"] == "us/round" and series["scale_select"]["axis"] == "channels in the select"
    points = sorted(fig["libraries"]["gochan"])
    assert [tuple(round(x, 6) for x in p) for p in points] == [(1, 1.1, 1.0, 1.3), (4, 1.4, 1.3, 1.6), (64, 7.4, 7.3, 7.6)]
    assert fig["notes"] == {"queue.Queue": "a queue has no select", "queue.SimpleQueue": "a queue has no select",
                            "pygolang": "not installed"}
    assert fig["about"] == {"go": "reflect.Select"}


def test_from_prints_the_table_of_a_saved_run(tmp_path: Path) -> None:
    from gochan.bench._table import render

    saved = tmp_path / "run.json"
    doc = _write_doc(saved)
    proc = bench("--from", str(saved))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == render(doc)
    assert "every cell ran beside 1 CPU-bound process (--load 1)" in proc.stdout
    proc = bench("--from", str(saved), "--json")
    assert json.loads(proc.stdout) == doc


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "--from: cannot read"),
        ("{not json", "is not JSON"),
        ('{"results": {}}', "not a results document of python -m gochan.bench (--save or --json): no environment, method"),
        ("[1, 2]", "no environment, method, results"),
    ],
)
def test_from_rejects_what_is_not_a_saved_run(tmp_path: Path, content: Optional[str], message: str) -> None:
    path = tmp_path / "saved.json"
    if content is not None:
        path.write_text(content)
    proc = bench("--from", str(path))
    assert proc.returncode == 2
    assert message in proc.stderr, proc.stderr
    assert proc.stdout == ""


def test_from_measures_nothing_so_run_options_are_refused(tmp_path: Path) -> None:
    saved = tmp_path / "run.json"
    _write_doc(saved)
    proc = bench("--from", str(saved), "--quick", "--scenario", "sieve", "--load", "1")
    assert proc.returncode == 2
    assert "--from reads a saved run, so it measures nothing: drop --quick, --scenario, --load" in proc.stderr


# ---------------------------------------------------------------- the charts


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _svg_texts(path: Path) -> str:
    """All the text an SVG shows (matplotlib writes it as <text> with svg.fonttype none)."""
    root = ET.parse(path).getroot()
    return " ".join("".join(el.itertext()) for el in root.iter() if el.tag.endswith("text"))


CHARTS = ["ratios", "scale_select", "scale_timers"]


@pytest.fixture(scope="module")
def plotted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """A smoke run that saves and plots: two plain scenarios and two scaling ones."""
    needs_matplotlib()
    tmp = tmp_path_factory.mktemp("plot")
    proc = bench(
        "--smoke", "--scenario", "buffered_same_thread,timer_latency,scale_select,scale_timers",
        "--save", str(tmp / "run.json"), "--plot", str(tmp / "after-run"),
    )
    assert proc.returncode == 0, proc.stderr
    return tmp, proc


def test_plot_after_a_run_writes_png_and_svg_of_every_chart(plotted: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    tmp, proc = plotted
    assert proc.stdout.startswith("gochan benchmarks")  # the table is still printed
    files = sorted(p.name for p in (tmp / "after-run").iterdir())
    assert files == sorted(f"{c}.{ext}" for c in CHARTS for ext in ("png", "svg"))
    for c in CHARTS:
        assert f"wrote {tmp / 'after-run' / c}.png" in proc.stderr
        width, height = _png_size(tmp / "after-run" / f"{c}.png")
        assert width >= 800 and height >= 500, (c, width, height)


def test_plot_from_a_saved_run_draws_the_same_charts_without_measuring(
    plotted: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    tmp, _ = plotted
    out = tmp / "from-saved" / "nested"  # created, parents too
    proc = bench("--plot", str(out), "--from", str(tmp / "run.json"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""  # only the charts
    assert "cells to run" not in proc.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in (tmp / "after-run").iterdir())


def test_ratio_chart_names_every_scenario_figure_peer_and_axis(plotted: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    tmp, _ = plotted
    text = _svg_texts(tmp / "after-run" / "ratios.svg")
    for word in (
        "gochan against each peer",
        "buffered_same_thread [ns/pair]",
        "timer_latency.p50 [ms]",
        "timer_latency.p99 [ms]",
        "gochan / queue.Queue",
        "gochan / queue.SimpleQueue",
        "gochan's figure / the peer's figure (log scale)",
        "mode smoke",
    ):
        assert word in text, word
    assert "scale_select" not in text  # the scaling rows have their own charts


def test_scaling_charts_have_titles_units_and_legends(plotted: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    tmp, _ = plotted
    select = _svg_texts(tmp / "after-run" / "scale_select.svg")
    for word in ("scale_select", "channels in the select (log scale)", "µs/round, median (log scale)", "library", "gochan",
                 "1024", "n/a: queue.Queue: a queue has no select", "error bars"):
        assert word in select, word
    timers = _svg_texts(tmp / "after-run" / "scale_timers.svg")
    for word in ("cost to arm one timer (µs/timer)", "p50 lateness of a 5 ms timer (ms)", "pending timers (log scale)",
                 "100k", "gochan"):
        assert word in timers, word


def test_plot_into_a_file_is_an_error(tmp_path: Path) -> None:
    needs_matplotlib()
    saved = tmp_path / "run.json"
    _write_doc(saved)
    target = tmp_path / "a-file"
    target.write_text("")
    proc = bench("--plot", str(target), "--from", str(saved))
    assert proc.returncode == 1
    assert "exists and is not a directory" in proc.stderr


def test_plot_a_synthetic_run(tmp_path: Path) -> None:
    """A saved document with a peer missing everywhere and sizes out of order still plots."""
    needs_matplotlib()
    saved = tmp_path / "run.json"
    _write_doc(saved)
    proc = bench("--plot", str(tmp_path / "out"), "--from", str(saved))
    assert proc.returncode == 0, proc.stderr
    text = _svg_texts(tmp_path / "out" / "scale_select.svg")
    assert "go: reflect.Select" in text and "beside 1 CPU-bound process" in text
    ratios = _svg_texts(tmp_path / "out" / "ratios.svg")
    assert "0.025×" in ratios and "2.5×" in ratios and "gochan / pygolang" not in ratios
