"""Run the ```python code blocks of docs/*.md and README.md.

Each block runs alone in a fresh interpreter (with a timeout): it must exit
with status 0 and write nothing to stderr.  A block that is deliberately not
a whole program (a fragment of a program shown elsewhere in full) is marked
on the line just above its fence with

    <!-- docs-test: skip: why it cannot run -->

an HTML comment, which neither GitHub nor Sphinx renders.  A marker must say
why; keep such blocks few.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import gochan

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]
GOCHAN_ROOT = str(Path(gochan.__file__).resolve().parent.parent)
SKIP = re.compile(r"<!-- docs-test: skip: (?P<why>\S.*?) -->\s*$")


class Block:
    def __init__(self, page: Path, line: int, code: str, skip: str | None) -> None:
        self.page, self.line, self.code, self.skip = page, line, code, skip

    @property
    def id(self) -> str:
        return f"{self.page.name}:{self.line}"


def blocks(page: Path) -> list[Block]:
    """The ```python blocks of page (line = the fence's line, 1-based)."""
    found = []
    lines = page.read_text().splitlines()
    i = 0
    while i < len(lines):
        if lines[i].strip() == "```python":
            start = i
            j = i + 1
            while lines[j].strip() != "```":
                j += 1
            m = SKIP.match(lines[start - 1].strip()) if start else None
            found.append(Block(page, start + 1, "\n".join(lines[start + 1:j]) + "\n",
                               m.group("why") if m else None))
            i = j
        elif "docs-test:" in lines[i] and not (i + 1 < len(lines) and lines[i + 1].strip() == "```python"):
            raise AssertionError(f"{page.name}:{i + 1}: a docs-test marker not just above a ```python fence")
        i += 1
    return found


ALL = [b for page in PAGES for b in blocks(page)]


def test_blocks_are_found() -> None:
    pages = {b.page.name for b in ALL}
    assert {"README.md", "index.md", "channels.md", "select.md", "timers.md", "signal.md"} <= pages


def test_few_blocks_are_skipped() -> None:
    skipped = [b.id for b in ALL if b.skip]
    assert len(skipped) <= len(ALL) // 3, f"too many blocks marked not runnable: {skipped}"


@pytest.mark.parametrize("block", [b for b in ALL if not b.skip], ids=lambda b: b.id)
def test_block_runs(block: Block, tmp_path: Path) -> None:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [GOCHAN_ROOT, env.get("PYTHONPATH")]))
    script = tmp_path / "block.py"
    script.write_text(block.code)
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    where = f"{block.id}:\n{block.code}"
    assert proc.returncode == 0, f"{where}\nexit status {proc.returncode}\nstderr:\n{proc.stderr}"
    assert proc.stderr == "", f"{where}\nstderr:\n{proc.stderr}"
