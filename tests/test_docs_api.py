"""docs/api.md documents every public name of gochan and its modules, and
each docstring names the Go equivalent.  (The site itself is built, with
warnings as errors, by .ci/run.)"""
from __future__ import annotations

import importlib
import pkgutil
import re
import sys
from pathlib import Path

import pytest

import gochan
import gochan.signal

ROOT = Path(__file__).resolve().parent.parent
API = (ROOT / "docs" / "api.md").read_text()
sys.path.insert(0, str(ROOT / "docs" / "_ext"))
import gochan_stubdoc  # noqa: E402  (no Sphinx needed for docstring())

DIRECTIVE = re.compile(r"^\s*\.\. auto(\w+):: (\S+)", re.M)
DOCUMENTED = {name: kind for kind, name in DIRECTIVE.findall(API)}
MODULES = [name for name, kind in DOCUMENTED.items() if kind == "module"]
# Names without a Go counterpart, and why.
NO_GO = {
    "gochan.signal.RELAY": "a Python handler-table entry; Go's os/signal has no such table",
}


def public_names() -> list[str]:
    names = [f"gochan.{n}" for n in gochan.__all__]
    for mod in MODULES:
        names += [f"{mod}.{n}" for n in importlib.import_module(mod).__all__]
    return names


def resolve(name: str) -> object:
    mod, _, attr = name.rpartition(".")
    return getattr(importlib.import_module(mod), attr)


def test_modules_are_documented() -> None:
    assert "gochan.signal" in MODULES
    for mod in MODULES:
        block = API[API.index(f".. automodule:: {mod}"):].splitlines()[1]
        assert block.strip() == ":members:", f"{mod}: automodule without :members:"


def test_every_public_module_is_in_api_md() -> None:
    # gochan.bench is a command (python -m gochan.bench), not an API.
    public = {f"gochan.{m.name}" for m in pkgutil.iter_modules(gochan.__path__)
              if not m.name.startswith("_") and m.name != "bench"}
    assert public - set(MODULES) == set(), "add an automodule section to docs/api.md"


def test_every_public_name_of_gochan_is_in_api_md() -> None:
    missing = [f"gochan.{n}" for n in gochan.__all__ if f"gochan.{n}" not in DOCUMENTED]
    assert missing == [], f"add to docs/api.md: {missing}"


@pytest.mark.parametrize("name", public_names())
def test_docstring_names_go_equivalent(name: str) -> None:
    doc = gochan_stubdoc.docstring(resolve(name), name)
    assert doc.strip(), f"{name} has no docstring"
    if name not in NO_GO:
        assert "Go" in doc, f"{name}: the docstring does not name its Go equivalent:\n{doc}"


def test_c_objects_are_documented_from_the_stub() -> None:
    # The C docstrings are one line; the stub's are the reference.
    assert gochan_stubdoc.docstring(gochan.Chan.send, "gochan.Chan.send") != gochan.Chan.send.__doc__
    assert "Go: the ``select`` statement" in gochan_stubdoc.docstring(gochan.select, "gochan.select")
    assert "nil channel" in gochan_stubdoc.docstring(gochan.nilchan, "gochan.nilchan")
