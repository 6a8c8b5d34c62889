"""Render a results document (see ``_runner``) as the plain-text table."""

from __future__ import annotations

from typing import Any, Optional

from ._libs import GOCHAN, LIBRARIES
from ._load import describe


def fmt_number(x: float) -> str:
    """About three significant digits, never in exponent form."""
    ax = abs(x)
    if ax >= 100:
        return f"{x:.0f}"
    if ax >= 10:
        return f"{x:.1f}"
    if ax >= 1:
        return f"{x:.2f}"
    if ax >= 0.001:
        return f"{x:.3f}"
    return "0" if x == 0 else f"{x:.1e}"


class _Notes:
    """Footnotes, numbered in order of first use; equal texts share a number."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def mark(self, text: Optional[str]) -> str:
        if not text:
            return ""
        if text not in self.texts:
            self.texts.append(text)
        return f" [{self.texts.index(text) + 1}]"


_ABSENT: dict[str, Any] = {"median": None, "spread": None, "note": "not in this run"}


def _cell(entry: dict[str, Any], notes: _Notes) -> str:
    if entry.get("error"):
        return "error" + notes.mark(f"error: {entry['error']}")
    if entry["median"] is None:
        return "n/a" + notes.mark(entry.get("note"))
    spread = entry["spread"]
    text = fmt_number(entry["median"]) + (f" ±{spread * 100:.0f}%" if spread is not None else "")
    return text + notes.mark(entry.get("note"))


def _ratio(ours: dict[str, Any], theirs: dict[str, Any]) -> str:
    a, b = ours.get("median"), theirs.get("median")
    if a is None or b is None or b == 0:
        return ""
    return fmt_number(a / b) + "x"


def render(doc: dict[str, Any]) -> str:
    """The table, with the environment above it and the footnotes below."""
    env, method = doc["environment"], doc["method"]
    libs = env.get("libraries", {})
    versions = ", ".join(f"{k} {v['version']}" for k, v in libs.items() if v.get("version") and not k.startswith("queue."))
    lines = [
        f"gochan benchmarks — {env['date']} — Python {env['python']} on {env['platform']}, "
        f"{env.get('cpus_usable', env['cpu_count'])} CPUs, load average {env.get('loadavg_at_start', '?')} at start",
        f"every cell ran {describe(env.get('load', 0))}"
        + (f"; {env['load_restarts']} load process(es) died and were restarted" if env.get("load_restarts") else ""),
        f"libraries: {versions or 'none importable'}; mode {method['mode']}, {method['repeats']} repeats per cell, "
        "each cell in a fresh process",
        "",
    ]
    peers = [label for label in LIBRARIES if label != GOCHAN]
    header = ["scenario", "unit", GOCHAN]
    for p in peers:
        header += [p, "ratio"]
    notes = _Notes()
    rows = [header]
    for name, row in doc["results"].items():
        # A saved document (--from) may come from a run with fewer libraries.
        entries = {label: row["libraries"].get(label) or _ABSENT for label in LIBRARIES}
        cells = [name, row["unit"], _cell(entries[GOCHAN], notes)]
        for p in peers:
            cells += [_cell(entries[p], notes), _ratio(entries[GOCHAN], entries[p])]
        rows.append(cells)
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    for r in rows:
        lines.append("  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip())
    lines.insert(5, "  ".join("-" * w for w in widths))
    lines.append("")
    lines.append(
        f"median of the repeats ± spread = {method['spread']}; ratio = gochan / peer (below 1: gochan is faster or smaller)."
    )
    lines += [f"[{i}] {t}" for i, t in enumerate(notes.texts, 1)]
    return "\n".join(lines) + "\n"
