"""The command line of ``python -m gochan.bench``."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Optional

from . import _plot
from ._load import MAX_LOAD, LoadFailed, parse_load
from ._registry import all_scenarios
from ._runner import SPREAD, run
from ._table import render

MIN_REPEATS = 5


def _epilog() -> str:
    lines = ["scenarios:"]
    for sc in all_scenarios().values():
        if sc.axis:  # a scaling scenario: one row per figure and size
            sizes = sorted({m.size for m in sc.metrics if m.size is not None})
            families = dict.fromkeys((m.family, m.unit) for m in sc.metrics)
            per_size = ", ".join(f"{f} [{u}]" if f else u for f, u in families)
            units = f"{per_size} at {', '.join(map(str, sizes))} {sc.axis}"
        elif len(sc.metrics) > 1:
            units = ", ".join(f"{sc.row_name(m)} [{m.unit}]" for m in sc.metrics)
        else:
            units = sc.metrics[0].unit
        lines.append(f"  {sc.name:<24} {sc.summary} ({units})")
    lines += [
        "",
        f"Each cell (scenario x library) runs in a fresh process and repeats at least {MIN_REPEATS} times;",
        f"the table shows the median and the spread, {SPREAD}. Peers: queue.Queue and",
        "queue.SimpleQueue always, pygolang when `import golang` works, and go (the same",
        "scenarios on Go's own channels, gochan/bench/go/main.go) when `go` is on PATH.",
    ]
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m gochan.bench",
        description="Benchmark gochan against queue.Queue, queue.SimpleQueue, pygolang and Go; print one table.",
        epilog=_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--quick", action="store_true", help="smaller sizes: the whole suite in a few minutes")
    p.add_argument("--json", action="store_true", help="print only JSON on stdout (environment and every cell)")
    p.add_argument(
        "--scenario",
        action="append",
        metavar="NAME",
        help="run only this scenario (repeatable, or a comma-separated list; a figure such as "
        "timer_latency.p50 selects its scenario); default: all",
    )
    p.add_argument(
        "--repeats", type=int, default=MIN_REPEATS, help=f"repeats per cell (at least {MIN_REPEATS}; default {MIN_REPEATS})"
    )
    p.add_argument("--save", metavar="PATH", help="also write the JSON document to PATH")
    p.add_argument(
        "--load",
        type=_load_count,
        default=0,
        metavar="N",
        help=f"run every cell beside N CPU-bound processes (`while True: pass`) that the bench starts and stops "
        f"(0 to {MAX_LOAD}; default 0); the table header and the JSON record N",
    )
    p.add_argument(
        "--plot",
        metavar="DIR",
        help="also write charts into DIR (created if need be), as PNG and SVG: ratios.* (gochan / each peer, "
        "per scenario) and one scale_*.* per scaling scenario; needs matplotlib: " + _plot.INSTALL_HINT,
    )
    p.add_argument(
        "--from",
        dest="from_path",
        metavar="PATH",
        help="measure nothing: take the results from PATH (a file written by --save or --json) and print "
        "its table, or its JSON with --json, or plot it with --plot",
    )
    # Tiny sizes, for the test suite: checks the plumbing, not the speed.
    p.add_argument("--smoke", action="store_true", help=argparse.SUPPRESS)
    return p


def _load_count(text: str) -> int:
    try:
        return parse_load(text)
    except ValueError as e:  # argparse reports it as "argument --load: <message>"
        raise argparse.ArgumentTypeError(str(e)) from None


def _selected(parser: argparse.ArgumentParser, requested: Optional[list[str]]) -> list[str]:
    """Scenario names from --scenario values (``name``, ``name.figure`` or comma lists), in table order."""
    known = all_scenarios()
    if not requested:
        return list(known)
    wanted = set()
    for item in requested:
        for name in filter(None, (part.strip() for part in item.split(","))):
            base = name if name in known else name.split(".", 1)[0]
            if base not in known:
                parser.error(f"unknown scenario {name!r}; known: {', '.join(known)}")
            wanted.add(base)
    return [n for n in known if n in wanted]


def main(argv: Optional[list[str]] = None) -> int:
    """Run the benchmarks (or read a saved run); print the table (or JSON); plot it. Progress goes to stderr."""
    parser = _parser()
    args = parser.parse_args(argv)
    names = _selected(parser, args.scenario)
    if args.quick and args.smoke:
        parser.error("--quick and --smoke exclude each other")
    if args.repeats < MIN_REPEATS:
        parser.error(f"--repeats must be at least {MIN_REPEATS}")
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    if args.from_path is not None:
        measuring = [
            flag
            for flag, given in (
                ("--quick", args.quick),
                ("--smoke", args.smoke),
                ("--scenario", args.scenario),
                ("--repeats", args.repeats != MIN_REPEATS),
                ("--load", args.load),
                ("--save", args.save),
            )
            if given
        ]
        if measuring:
            parser.error(f"--from reads a saved run, so it measures nothing: drop {', '.join(measuring)}")
    if args.plot is not None:
        try:  # before measuring: a run of several minutes must not end in "no matplotlib"
            _plot.require()
        except _plot.PlotError as e:
            parser.error(str(e))

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    if args.from_path is not None:
        try:
            doc = _plot.load(args.from_path)
        except _plot.PlotError as e:
            parser.error(f"--from: {e}")
    else:
        try:
            doc = run(names, mode, args.repeats, progress, load=args.load)
        except LoadFailed as e:
            progress(f"error: {e}")
            return 1
        except KeyboardInterrupt:  # the load processes and the running cell are gone by now
            progress("interrupted")
            return 130
    if args.save:
        with open(args.save, "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
    if args.json:
        json.dump(doc, sys.stdout, indent=1)
        sys.stdout.write("\n")
    elif args.plot is None or args.from_path is None:  # --plot DIR --from PATH: only the charts
        sys.stdout.write(render(doc))
    if args.plot is not None:
        try:
            written = _plot.plot(doc, args.plot)
        except (_plot.PlotError, OSError) as e:
            progress(f"error: --plot: {e}")
            return 1
        for path in written:
            progress(f"wrote {path}")
    return 0
