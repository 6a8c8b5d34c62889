"""``--plot DIR``: charts of a results document (see ``_runner``), as PNG and SVG.

* ``ratios``: for every scenario figure of the run (the scaling scenarios
  excepted, they have their own charts), gochan's figure divided by each
  peer's, one bar per peer, on a log scale centred on 1.
* ``scale_threads``, ``scale_select``, ``scale_timers`` (every scaling
  scenario of the run): the median at each size, one line per library, with
  the range of the repeats as error bars, log-log.

matplotlib is an optional dependency (``pip install 'gochan[plot]'``); it is
imported only here, and :func:`require` says clearly when it is missing. The
charts are drawn on :class:`matplotlib.figure.Figure` objects (the Agg
canvas), never through pyplot, so no display or global state is involved.
"""

from __future__ import annotations

import json
import math
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from ._libs import GO, GOCHAN, LIBRARIES, PYGOLANG, QUEUE, SIMPLE_QUEUE

if TYPE_CHECKING:  # matplotlib is optional: only imported when plotting
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

INSTALL_HINT = "pip install 'gochan[plot]' (or: pip install matplotlib)"
FORMATS = ("png", "svg")

#: One colour and marker per library, the same in every chart.
STYLE: dict[str, tuple[str, str]] = {
    GOCHAN: ("#1f77b4", "o"),
    QUEUE: ("#ff7f0e", "s"),
    SIMPLE_QUEUE: ("#2ca02c", "^"),
    PYGOLANG: ("#d62728", "D"),
    GO: ("#7f7f7f", "v"),
}


class PlotError(RuntimeError):
    """Plotting is impossible: matplotlib is missing, or the document is not a results document."""


def require() -> None:
    """Raise :class:`PlotError` unless matplotlib can be imported."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as e:
        raise PlotError(f"--plot needs matplotlib, which is not installed ({e}): {INSTALL_HINT}") from None


def load(path: str) -> dict[str, Any]:
    """A results document saved by ``--save`` or printed by ``--json``; raises :class:`PlotError` if it is not one."""
    try:
        with open(path) as f:
            doc = json.load(f)
    except OSError as e:
        raise PlotError(f"cannot read {path}: {e.strerror or e}") from None
    except json.JSONDecodeError as e:
        raise PlotError(f"{path} is not JSON: {e}") from None
    missing = [k for k in ("environment", "method", "results") if not isinstance(doc, dict) or k not in doc]
    if missing:
        raise PlotError(
            f"{path} is not a results document of python -m gochan.bench (--save or --json): no {', '.join(missing)}"
        )
    return doc  # type: ignore[no-any-return]


def _unit(unit: str) -> str:
    """A unit as printed on an axis: ``us`` is µs."""
    return " ".join("µs" + w[2:] if w.startswith("us") else w for w in unit.split(" "))


def _caption(doc: dict[str, Any]) -> str:
    """One line saying where and how the figures were measured."""
    env, method = doc["environment"], doc["method"]
    load = env.get("load", 0)
    return (
        f"{env.get('date', '?')[:10]} · Python {env.get('python', '?')} · {env.get('cpus_usable', env.get('cpu_count', '?'))} CPUs"
        f" · mode {method.get('mode', '?')}, {method.get('repeats', '?')} repeats per cell"
        f" · {'no added load' if not load else f'beside {load} CPU-bound process' + ('es' if load != 1 else '')}"
    )


def _new_figure(width: float, height: float) -> "Figure":
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _save(fig: "Figure", directory: Path, name: str) -> list[Path]:
    import matplotlib

    out = []
    # Text stays text in the SVG (searchable, smaller), not glyph outlines.
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        for fmt in FORMATS:
            path = directory / f"{name}.{fmt}"
            fig.savefig(path, format=fmt, dpi=120)
            out.append(path)
    return out


def _median(entry: dict[str, Any]) -> Optional[float]:
    m = entry.get("median")
    return float(m) if isinstance(m, (int, float)) and m > 0 else None


# ---------------------------------------------------------------- ratios


def ratio_rows(doc: dict[str, Any]) -> list[tuple[str, dict[str, float]]]:
    """``(row label, {peer: gochan / peer})`` for every row that is not a scaling row, in table order."""
    out = []
    for name, row in doc["results"].items():
        if "size" in row:
            continue
        libs = row["libraries"]
        ours = _median(libs.get(GOCHAN, {}))
        ratios: dict[str, float] = {}
        for peer in LIBRARIES[1:]:
            theirs = _median(libs.get(peer, {}))
            if ours is not None and theirs is not None:
                ratios[peer] = ours / theirs
        out.append((f"{name} [{_unit(row['unit'])}]", ratios))
    return out


def _number(x: float) -> str:
    """Two significant digits, never in exponent form: 0.00071, 0.25, 1.5, 26, 1400, 20k; whole numbers as such."""
    if x >= 10_000:
        return f"{x / 1000:.0f}k"
    if x >= 10 or (x >= 1 and x == round(x)):
        return f"{x:.0f}"
    digits = max(0, 1 - math.floor(math.log10(x))) if x > 0 else 0
    return f"{x:.{digits}f}"


def _tick(x: float) -> str:
    """A tick label: the shortest plain form (0.001, 0.5, 20, 10k)."""
    return _number(x) if x >= 10 else f"{x:.6f}".rstrip("0").rstrip(".")


def _fmt_ratio(r: float) -> str:
    return _number(r) + "×"


def _log_axis(axis: Any, suffix: str = "") -> None:
    """Ticks at 1, 2, 5 times powers of ten, labelled as plain numbers (0.5, 20, 10k)."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda x, _pos: _tick(x) + suffix))
    axis.set_minor_formatter(NullFormatter())


def plot_ratios(doc: dict[str, Any], directory: Path) -> list[Path]:
    """The bar chart of gochan / peer per scenario figure; [] when the run has no such row."""
    rows = ratio_rows(doc)
    if not rows:
        return []
    peers = [p for p in LIBRARIES[1:] if any(p in r for _, r in rows)]
    band = 0.8 / max(1, len(peers))
    fig = _new_figure(11, max(4.5, 2.0 + 0.15 * len(rows) * max(2, len(peers))))
    ax = fig.add_subplot()
    values = [v for _, r in rows for v in r.values()]
    lo = min(values, default=0.5)
    hi = max(values, default=2.0)
    for j, peer in enumerate(peers):
        colour = STYLE[peer][0]
        for i, (_, ratios) in enumerate(rows):
            if peer not in ratios:
                continue
            y = i - 0.4 + band * (j + 0.5)
            r = ratios[peer]
            # Bars grow from 1 (equal) towards the ratio: left of 1 gochan is faster or smaller.
            ax.barh(y, r - 1.0, left=1.0, height=band * 0.9, color=colour)
            ax.text(
                r * (1.04 if r >= 1 else 1 / 1.04),
                y,
                _fmt_ratio(r),
                va="center",
                ha="left" if r >= 1 else "right",
                fontsize=7,
                color="#333333",
            )
    ax.set_xscale("log")
    # Room for the labels at the bars' ends.
    ax.set_xlim(min(lo, 0.5) / 8, max(hi, 2.0) * 8)
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    ax.xaxis.set_major_locator(LogLocator(base=10))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: _tick(x) + "×"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_yticks(range(len(rows)), [label for label, _ in rows], fontsize=8)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    for i in range(1, len(rows)):
        ax.axhline(i - 0.5, color="#dddddd", linewidth=0.5)
    ax.grid(axis="x", which="major", color="#cccccc", linewidth=0.5)
    ax.set_xlabel("gochan's figure / the peer's figure (log scale): left of 1×, gochan is faster or smaller")
    from matplotlib.patches import Patch

    ax.legend(
        handles=[Patch(color=STYLE[p][0], label=f"gochan / {p}") for p in peers],
        loc="lower center",
        bbox_to_anchor=(0.5, 1.0),
        ncol=len(peers),
        fontsize=9,
        frameon=False,
    )
    fig.suptitle(
        "gochan against each peer, per scenario figure\n"
        "(no bar: the peer has no equivalent, or is not installed; the scaling scenarios have their own charts)",
        fontsize=11,
    )
    fig.supxlabel(_caption(doc), x=0.01, ha="left", fontsize=7, color="#555555")
    return _save(fig, directory, "ratios")


# ---------------------------------------------------------------- scaling curves


def scaling_series(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per scaling scenario: its axis, summary and, per figure, unit and per library the points.

    ``{scenario: {"axis", "summary", "figures": {figure: {"unit", "libraries": {label: [(size, median, lo, hi)]},
    "notes": {label: why n/a}, "about": {label: how it is measured}}}}}``; a library with no point at all
    is left out (its note kept).
    """
    out: dict[str, dict[str, Any]] = {}
    for row in doc["results"].values():
        if "size" not in row:
            continue
        sc = out.setdefault(row["scenario"], {"axis": row["axis"], "summary": row["summary"], "figures": {}})
        fig = sc["figures"].setdefault(row["figure"], {"unit": row["unit"], "libraries": {}, "notes": {}, "about": {}})
        for label, entry in row["libraries"].items():
            med = _median(entry)
            if med is not None and entry.get("note"):  # how the library runs the scenario
                fig["about"][label] = entry["note"]
            if med is None:
                why = entry.get("error") or entry.get("note")
                if why:
                    fig["notes"][label] = ("error: " if entry.get("error") else "") + why
                continue
            samples = [s for s in entry.get("samples") or [med] if s > 0]
            fig["libraries"].setdefault(label, []).append((row["size"], med, min(samples), max(samples)))
    for sc in out.values():
        for fig in sc["figures"].values():
            for label in fig["libraries"]:
                fig["notes"].pop(label, None)
    return out


_FIGURE_TITLE = {"arm": "cost to arm one timer", "p50": "p50 lateness of a 5 ms timer", "p99": "p99 lateness"}


def _plot_curve(ax: "Axes", axis: str, unit: str, libraries: dict[str, list[tuple[int, float, float, float]]]) -> None:
    sizes: set[int] = set()
    for label in LIBRARIES:
        points = sorted(libraries.get(label, []))
        if not points:
            continue
        colour, marker = STYLE.get(label, ("black", "x"))
        xs = [p[0] for p in points]
        ys = [p[1] for p in points]
        err = [[p[1] - p[2] for p in points], [p[3] - p[1] for p in points]]
        ax.errorbar(xs, ys, yerr=err, color=colour, marker=marker, markersize=5, linewidth=1.6, capsize=3, label=label)
        sizes.update(xs)
    ax.set_xscale("log")
    ax.set_yscale("log")
    _log_axis(ax.yaxis)
    if sizes:
        ticks = sorted(sizes)
        ax.set_xticks(ticks, [_number(t) for t in ticks])
        ax.xaxis.set_minor_locator(_null_locator())
        ax.set_xlim(ticks[0] / 1.5, ticks[-1] * 1.5)
    ax.grid(True, which="major", color="#dddddd", linewidth=0.5)
    ax.set_xlabel(f"{axis} (log scale)")
    ax.set_ylabel(f"{_unit(unit)}, median (log scale)")


def _null_locator() -> Any:
    from matplotlib.ticker import NullLocator

    return NullLocator()


def plot_scaling(doc: dict[str, Any], directory: Path) -> list[Path]:
    """One chart per scaling scenario in the document (one panel per figure)."""
    written: list[Path] = []
    for name, sc in scaling_series(doc).items():
        figures = sc["figures"]
        fig = _new_figure(5.6 * len(figures) + 1.6 if len(figures) > 1 else 8.5, 5.4)
        axes = fig.subplots(1, len(figures), squeeze=False)[0]
        notes: dict[str, str] = {}
        about: dict[str, str] = {}
        handles: dict[str, Any] = {}
        for ax, (family, data) in zip(axes, figures.items()):
            _plot_curve(ax, sc["axis"], data["unit"], data["libraries"])
            if family:
                ax.set_title(f"{_FIGURE_TITLE.get(family, family)} ({_unit(data['unit'])})", fontsize=10)
            notes.update(data["notes"])
            about.update(data["about"])
            if not data["libraries"]:
                ax.text(0.5, 0.5, "no library measured", transform=ax.transAxes, ha="center")
            for handle, label in zip(*ax.get_legend_handles_labels()):
                handles.setdefault(label, handle)
        if handles:  # beside the last panel, outside it
            axes[-1].legend(
                list(handles.values()), list(handles), loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=9, title="library"
            )
        summary = "\n".join(textwrap.wrap(sc["summary"], 80 if len(figures) == 1 else 130))
        fig.suptitle(f"{name}\n{summary}", fontsize=11)
        footer = ["error bars: the range (min to max) of the repeats"]
        footer += [f"{label}: {how}" for label, how in about.items()]
        footer += [f"n/a: {label}: {why}" for label, why in notes.items()] + [_caption(doc)]
        fig.supxlabel("\n".join(footer), x=0.01, ha="left", fontsize=7, color="#444444")
        written += _save(fig, directory, name)
    return written


def plot(doc: dict[str, Any], directory: str) -> list[Path]:
    """Write every chart of ``doc`` into ``directory`` (created if need be); return the files written."""
    require()
    out = Path(directory)
    if out.exists() and not out.is_dir():
        raise PlotError(f"--plot {directory}: exists and is not a directory")
    out.mkdir(parents=True, exist_ok=True)
    written = plot_ratios(doc, out) + plot_scaling(doc, out)
    if not written:
        raise PlotError("nothing to plot: the document has no results")
    return written

