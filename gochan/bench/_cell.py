"""One cell of the table (a scenario on a library), run in its own process.

    python -m gochan.bench._cell SCENARIO LIBRARY --mode quick --repeats 5
    python -m gochan.bench._cell --env

prints one JSON document on stdout: the samples of every repeat (its figures,
wall and CPU seconds), or with ``--env`` the versions of the libraries that
import and of the Go toolchain. Anything a library prints goes to stderr, so
stdout stays parseable.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import json
import os
import sys
import time
from typing import Any, Optional

from . import _golang
from ._libs import GO, GOCHAN, LIBRARIES, PY_LIBRARIES, PYGOLANG, load
from ._registry import MODES, Budget, all_scenarios


def run_cell(scenario_name: str, library: str, mode: str, repeats: int, warmup: bool) -> list[dict[str, Any]]:
    """Run a scenario ``repeats`` times on a library; return one sample per repeat."""
    sc = all_scenarios()[scenario_name]
    impl = sc.impls[library]
    lib = load(library)
    budget = Budget(mode)
    if warmup and sc.warmup:
        impl(lib, Budget("smoke"))
    samples = []
    for _ in range(repeats):
        gc.collect()
        wall0, cpu0 = time.perf_counter(), time.process_time()
        figures = sc.figures(impl(lib, budget))
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        samples.append({"figures": figures, "wall_s": wall, "cpu_s": cpu})
    return samples


def library_versions() -> dict[str, dict[str, Optional[str]]]:
    """For each library: its version, or why it does not import."""
    out: dict[str, dict[str, Optional[str]]] = {}
    for label in LIBRARIES:
        if label == GO:  # not imported: run as a Go program, if a toolchain is on PATH
            out[label] = _golang.probe()
            continue
        try:
            if label == GOCHAN:
                import gochan

                version = str(getattr(gochan, "__version__", "unknown"))
            elif label == PYGOLANG:
                version = str(importlib.import_module("golang").__version__)
            else:
                version = "stdlib, Python " + sys.version.split()[0]
            load(label)
            out[label] = {"version": version, "error": None}
        except Exception as e:  # any import failure makes the column n/a, with the reason
            out[label] = {"version": None, "error": f"{type(e).__name__}: {e}"}
    return out


def _die_with_parent() -> None:
    """End this cell if the bench that started it dies (even by SIGKILL, which
    runs none of its cleanup): Linux's PR_SET_PDEATHSIG, so no watcher thread
    runs beside the measurement."""
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the bench died before prctl took effect
        os._exit(1)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gochan.bench._cell", description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("scenario", nargs="?")
    parser.add_argument("library", nargs="?", choices=PY_LIBRARIES)
    parser.add_argument("--mode", choices=MODES, default="full")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-warmup", action="store_true")
    parser.add_argument("--env", action="store_true", help="print library versions instead")
    args = parser.parse_args(argv)
    if argv is None:
        _die_with_parent()
    if not args.env and not (args.scenario and args.library):
        parser.error("give SCENARIO and LIBRARY, or --env")
    out = sys.stdout
    with contextlib.redirect_stdout(sys.stderr):
        if args.env:
            doc: Any = library_versions()
        else:
            doc = run_cell(args.scenario, args.library, args.mode, args.repeats, not args.no_warmup)
    json.dump(doc, out)
    out.write("\n")
    out.flush()
    sys.stderr.flush()
    return 0


if __name__ == "__main__":
    code = main()
    # Skip interpreter shutdown: threads a scenario left blocked (pending timers
    # an hour away, a peer's runtime threads) must not hold the process.
    os._exit(code)
