"""Sphinx extension: document gochan's C objects from their type stubs.

``gochan.Chan``, ``gochan.select``, ``gochan.default``... are objects of the
C module ``gochan._native``: their own docstrings are one line and their
signatures carry no types.  Their reference documentation is the stub,
gochan/_native.pyi, which type checkers read too.  This extension parses the
stub and hands autodoc the stub's docstring and signature for every C object
(``autodoc-process-docstring``, ``autodoc-process-signature``).  It also cuts
module docstrings to their first paragraph: the rest of them are design
notes for the code's readers (docs/design.md is their page).

``docstring(obj, name)`` is usable without Sphinx (tests/test_docs_api.py).
"""
from __future__ import annotations

import ast
import inspect
from pathlib import Path
from typing import Any

import gochan
from gochan._load import _native

STUB = Path(gochan.__file__).resolve().parent / "_native.pyi"
PREFIX = "gochan."
# Signatures shown instead of the stub's overloads.
SIGNATURES = {
    "Chan": ("(size: int = 0, *, zero: T = None)", None),
    "select": ("(*cases: RecvCase[V] | tuple[SendCase[T], T] | DefaultCase, "
               "timeout: float | None = None)", "tuple[int, V | None]"),
}


def _signature(fn: ast.FunctionDef, method: bool) -> tuple[str, str | None]:
    args = fn.args
    if method and args.posonlyargs:
        args.posonlyargs = args.posonlyargs[1:]
    elif method:
        args.args = args.args[1:]
    ret = ast.unparse(fn.returns) if fn.returns is not None else None
    return f"({ast.unparse(args)})", ret


def _doc(body: list[ast.stmt]) -> str | None:
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        return inspect.cleandoc(body[0].value.value)
    return None


def parse(path: Path = STUB) -> dict[str, tuple[str | None, str | None, str | None]]:
    """{name in the stub ("Chan", "Chan.send", "select", "nilchan"):
    (signature, return annotation, docstring)}; the last definition of an
    overloaded name gives its docstring."""
    tree = ast.parse(path.read_text())
    out: dict[str, tuple[str | None, str | None, str | None]] = {}

    def walk(body: list[ast.stmt], prefix: str, method: bool) -> None:
        for i, node in enumerate(body):
            if isinstance(node, ast.FunctionDef):
                sig, ret = _signature(node, method)
                doc = _doc(node.body) or (out.get(prefix + node.name, (None, None, None))[2])
                out[prefix + node.name] = (sig, ret, doc)
            elif isinstance(node, ast.ClassDef):
                out[prefix + node.name] = (None, None, _doc(node.body))
                walk(node.body, prefix + node.name + ".", True)
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                nxt = body[i + 1:i + 2]
                out[prefix + node.target.id] = (None, ast.unparse(node.annotation), _doc(nxt))
    walk(tree.body, "", False)
    for name, (sig, ret) in SIGNATURES.items():
        out[name] = (sig, ret, out[name][2])
    return out


ENTRIES = parse()


def _native_name(obj: Any, name: str) -> str | None:
    """The stub's name for what autodoc documents as name, if it is (an
    attribute of) one of the C module's objects."""
    if not name.startswith(PREFIX):
        return None
    short = name[len(PREFIX):]
    if short not in ENTRIES:
        return None
    head = short.split(".")[0]
    native = type(_native.default) if head == "DefaultCase" else getattr(_native, head, None)
    return short if native is not None and getattr(gochan, head, None) is native else None


def docstring(obj: Any, name: str) -> str:
    """The documentation of obj, documented as name: the stub's for a C
    object, else its own docstring."""
    short = _native_name(obj, name)
    if short is not None and ENTRIES[short][2]:
        return ENTRIES[short][2] or ""
    return inspect.getdoc(obj) or ""


def _process_docstring(app: Any, what: str, name: str, obj: Any, options: Any, lines: list[str]) -> None:
    if what == "module":
        first = []
        for line in lines:
            if not line.strip():
                break
            first.append(line)
        lines[:] = first
        return
    short = _native_name(obj, name)
    if short is not None and ENTRIES[short][2]:
        lines[:] = (ENTRIES[short][2] or "").splitlines() + [""]


def _process_signature(app: Any, what: str, name: str, obj: Any, options: Any,
                       signature: str | None, return_annotation: str | None) -> tuple[str | None, str | None] | None:
    if what == "class" and getattr(obj, "_is_protocol", False):
        return "", None         # a Protocol is a static type: nobody calls it
    short = _native_name(obj, name)
    if short is None:
        if signature and "Callable[[...]" in signature:
            # Sphinx prints Callable[..., X] as Callable[[...], X].
            return signature.replace("Callable[[...]", "Callable[..."), return_annotation
        return None
    sig, ret, _ = ENTRIES[short]
    if what in ("data", "attribute", "property"):
        return None
    return (sig if sig is not None else signature), (ret if ret is not None else return_annotation)


def setup(app: Any) -> dict[str, Any]:
    app.connect("autodoc-process-docstring", _process_docstring)
    app.connect("autodoc-process-signature", _process_signature)
    return {"parallel_read_safe": True, "version": "1"}
