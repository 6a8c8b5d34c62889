"""Run every documentation example and compare its output with the expected one.

Each docs/examples/NAME.py that has a NAME.out beside it is run in a fresh
interpreter; it must exit with status 0, write nothing to stderr (an
exception in a worker thread is reported there) and write exactly NAME.out
to stdout.  An example with a NAME.err beside it ends as a Go program does
in a deadlock: exit status 2, and stderr begins with NAME.err (Go's
"fatal error: all goroutines are asleep - deadlock!"; the goroutines'
stacks follow).  Examples without a .out (ones that need signals sent from
outside, say) are tested elsewhere.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import gochan

EXAMPLES = Path(__file__).resolve().parent.parent / "docs" / "examples"
SCRIPTS = sorted(p for p in EXAMPLES.glob("*.py") if p.with_suffix(".out").is_file())

# The examples must import the gochan this test imports (the in-place build or
# the installed package), not whatever their own directory would give them.
GOCHAN_ROOT = str(Path(gochan.__file__).resolve().parent.parent)


def test_examples_are_found() -> None:
    names = {p.stem for p in SCRIPTS}
    assert {"wait_for_event", "closed_channels", "nil_channel_select", "timeout", "heartbeat",
            "nil_channel_block", "nil_channel_recv", "select_forever", "testing_bubble"} <= names


def test_every_out_has_a_script() -> None:
    orphans = [p.name for p in EXAMPLES.glob("*.out") if not p.with_suffix(".py").is_file()]
    orphans += [p.name for p in EXAMPLES.glob("*.err") if not p.with_suffix(".out").is_file()]
    assert orphans == []


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_example(script: Path) -> None:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [GOCHAN_ROOT, env.get("PYTHONPATH")]))
    proc = subprocess.run(
        [sys.executable, str(script)],
        cwd=EXAMPLES,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    err = script.with_suffix(".err")
    if err.is_file():
        assert proc.returncode == 2, f"exit status {proc.returncode}\nstderr:\n{proc.stderr}"
        assert proc.stderr.startswith(err.read_text()), proc.stderr
    else:
        assert proc.returncode == 0, f"exit status {proc.returncode}\nstderr:\n{proc.stderr}"
        assert proc.stderr == "", proc.stderr
    assert proc.stdout == script.with_suffix(".out").read_text()
