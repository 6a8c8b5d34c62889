"""Static typing: mypy --strict and pyright (strict) accept normal use and
reject using a channel against its direction (API.md, "Directional types")
and malformed select cases.  The cases live in tests/typing_cases/:
``pass_*.py`` must check clean (and run), and in ``reject_*.py`` exactly the
lines marked ``# E:`` must be errors, for both checkers."""
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CASES = os.path.join(HERE, "typing_cases")

if sysconfig.get_config_var("Py_GIL_DISABLED"):
    pytest.importorskip("mypy", reason="free-threaded run: mypy 2's Rust-built dependencies have no 3.13t "
                        "wheels (.ci/run installs the test tools but mypy there); the GIL build's run "
                        "checks the typing")
else:
    pytest.importorskip("mypy", reason="mypy is in the test extras")

MYPY_INI = """\
[mypy]
strict = True
show_error_codes = True
warn_unused_configs = False

[mypy-gochan.*]
follow_imports = silent
"""


def case(name):
    return os.path.join(CASES, name)


@pytest.fixture(scope="module")
def mypy(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mypy")
    ini = tmp / "mypy.ini"
    ini.write_text(MYPY_INI)
    cache = tmp / "cache"

    def run(*files):
        env = dict(os.environ, MYPYPATH=ROOT)
        proc = subprocess.run(
            [sys.executable, "-m", "mypy", "--config-file", str(ini), "--cache-dir", str(cache),
             "--no-error-summary", *files],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        return proc.returncode, proc.stdout + proc.stderr

    return run


def errors_by_line(output, path):
    """{line: [messages]} for errors mypy reported in ``path``."""
    name = os.path.basename(path)
    found = {}
    for line in output.splitlines():
        m = re.match(r"(.*?):(\d+): error: (.*)", line)
        if m and os.path.basename(m.group(1)) == name:
            found.setdefault(int(m.group(2)), []).append(m.group(3))
    return found


def expected_lines(path):
    with open(path) as f:
        return [i for i, text in enumerate(f, 1) if "# E:" in text]


PASS = sorted(glob.glob(os.path.join(CASES, "pass_*.py")))
REJECT = sorted(glob.glob(os.path.join(CASES, "reject_*.py")))
ids = os.path.basename


@pytest.fixture(scope="module")
def pyright(tmp_path_factory):
    """Runs pyright in strict mode on files; returns (exit status, output,
    {file basename: {line: [messages]}} of its errors)."""
    try:
        import pyright  # noqa: F401  (the PyPI package: pyright on Node.js)
    except ImportError:
        unavailable("pyright is not installed (it is in the test extras)")
    if shutil.which("node") is None:
        unavailable("pyright needs Node.js (node) on PATH")
    tmp = tmp_path_factory.mktemp("pyright")
    config = tmp / "pyrightconfig.json"
    config.write_text(json.dumps({"typeCheckingMode": "strict", "extraPaths": [ROOT]}))

    def run(*files):
        proc = subprocess.run(
            [sys.executable, "-m", "pyright", "--outputjson", "--project", str(config),
             "--pythonpath", sys.executable, *files],
            cwd=ROOT, capture_output=True, text=True, timeout=300)
        out = proc.stdout + proc.stderr
        try:
            report = json.loads(proc.stdout)
        except ValueError:
            pytest.fail(f"pyright gave no JSON report (status {proc.returncode}):\n{out}")
        found = {}
        for d in report["generalDiagnostics"]:
            if d["severity"] == "error":
                lines = found.setdefault(os.path.basename(d["file"]), {})
                lines.setdefault(d["range"]["start"]["line"] + 1, []).append(d["message"])
        return proc.returncode, out, found

    return run


def unavailable(why):
    # CI installs the test extras on a machine with Node.js: there, a missing
    # checker is a broken setup, not a reason to skip.
    if os.environ.get("CI"):
        pytest.fail(why)
    pytest.skip(why)


@pytest.mark.parametrize("path", PASS, ids=ids)
def test_pass_case_passes_mypy(mypy, path):
    rc, out = mypy(path)
    assert rc == 0, out


@pytest.mark.parametrize("path", PASS, ids=ids)
def test_pass_case_passes_pyright(pyright, path):
    rc, out, found = pyright(path)
    assert rc == 0 and not found, out


@pytest.mark.parametrize("path", PASS, ids=ids)
def test_pass_case_runs(path):
    proc = subprocess.run([sys.executable, path], cwd=ROOT,
                          env=dict(os.environ, PYTHONPATH=ROOT),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("path", REJECT, ids=ids)
def test_reject_case_mypy(mypy, path):
    rc, out = mypy(path)
    assert rc == 1, out
    assert sorted(errors_by_line(out, path)) == expected_lines(path), out


@pytest.mark.parametrize("path", REJECT, ids=ids)
def test_reject_case_pyright(pyright, path):
    rc, out, found = pyright(path)
    assert rc == 1, out
    assert sorted(found.get(os.path.basename(path), {})) == expected_lines(path), out


def test_cases_are_found():
    names = {os.path.basename(p) for p in PASS + REJECT}
    assert {"pass_normal_use.py", "pass_select_types.py", "reject_select_cases.py",
            "reject_untyped_chan.py"} <= names
    for path in REJECT:
        assert expected_lines(path), f"{path} marks no line with # E:"


def test_select_messages_name_the_problem(mypy, pyright):
    path = case("reject_select_cases.py")
    _, out = mypy(path)
    errs = errors_by_line(out, path)
    assert 'incompatible type "int"; expected "RecvCase' in errs[5][0], out
    assert '"RecvChan[float]"' in errs[7][0], out
    _, out, found = pyright(path)
    lines = found["reject_select_cases.py"]
    assert any('"Literal[\'s\']" is not assignable to "int"' in m for m in lines[8]), out


def test_untyped_chan_needs_an_annotation(mypy, pyright):
    path = case("reject_untyped_chan.py")
    _, out = mypy(path)
    assert 'Need type annotation for "a"' in out, out
    _, out, found = pyright(path)
    assert any("partially unknown" in m for m in found["reject_untyped_chan.py"][3]), out


def test_select_overloads_are_generated():
    # gochan/_native.pyi's overloads of select are written by a script.
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "select_overloads.py"),
                           "--check"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_recv_on_sendchan_rejected(mypy):
    path = case("reject_recv_on_sendchan.py")
    rc, out = mypy(path)
    assert rc == 1, out
    errs = errors_by_line(out, path)
    assert sorted(errs) == expected_lines(path), out
    (msg,) = errs[5]
    assert '"SendChan[int]" has no attribute "recv"' in msg, out


def test_send_on_recvchan_rejected(mypy):
    path = case("reject_send_on_recvchan.py")
    rc, out = mypy(path)
    assert rc == 1, out
    errs = errors_by_line(out, path)
    assert sorted(errs) == expected_lines(path), out
    assert '"RecvChan[int]" has no attribute "send"' in errs[5][0], out


def test_element_type_checked(mypy):
    path = case("reject_wrong_value_type.py")
    rc, out = mypy(path)
    assert rc == 1, out
    errs = errors_by_line(out, path)
    assert sorted(errs) == expected_lines(path), out
    assert any('incompatible type "str"' in m and '"int"' in m for m in errs[5]), out
    assert any("Incompatible return value type" in m for m in errs[9]), out


def test_package_ships_py_typed():
    assert os.path.isfile(os.path.join(ROOT, "gochan", "py.typed"))
    with open(os.path.join(ROOT, "pyproject.toml")) as f:
        assert "py.typed" in f.read()


def test_package_is_mypy_strict_clean(tmp_path):
    # pyproject.toml's [tool.mypy] (strict, files = gochan) applies.
    proc = subprocess.run([sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_context_use_passes_and_runs(mypy):
    rc, out = mypy(case("pass_context_use.py"))
    assert rc == 0, out
    proc = subprocess.run([sys.executable, case("pass_context_use.py")], cwd=ROOT,
                          env=dict(os.environ, PYTHONPATH=ROOT),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_context_misuse_rejected(mypy):
    path = case("reject_context_misuse.py")
    rc, out = mypy(path)
    assert rc == 1, out
    errs = errors_by_line(out, path)
    assert sorted(errs) == expected_lines(path), out
    assert '"RecvChan[None]" has no attribute "send"' in errs[4][0], out


def test_select_is_the_c_function():
    # The types are only in the stubs: select is the C function, unwrapped.
    import gochan
    from gochan._load import _native
    assert gochan.select is _native.select
    assert gochan.default is _native.default and type(gochan.default) is gochan.DefaultCase


def test_installed_package_is_visible_outside_the_checkout(tmp_path):
    # After the README's install command (CI runs the tests that way), both
    # checkers, run from elsewhere with no path given, find gochan through
    # the installation: setuptools' default editable install is an import
    # hook that they cannot follow, hence package-dir in pyproject.toml.
    import importlib.metadata
    try:
        importlib.metadata.distribution("gochan")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("gochan is not installed (only built in place)")
    prog = tmp_path / "prog.py"
    prog.write_text(open(case("pass_select_types.py")).read())
    env = {k: v for k, v in os.environ.items() if k not in ("MYPYPATH", "PYTHONPATH")}
    proc = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental", "prog.py"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    try:
        import pyright  # noqa: F401
    except ImportError:
        unavailable("pyright is not installed (it is in the test extras)")
    if shutil.which("node") is None:
        unavailable("pyright needs Node.js (node) on PATH")
    (tmp_path / "pyrightconfig.json").write_text(json.dumps({"typeCheckingMode": "strict"}))
    proc = subprocess.run([sys.executable, "-m", "pyright", "--pythonpath", sys.executable, "prog.py"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_readme_example_type_checks(mypy, pyright, tmp_path):
    # The README's example is what users copy: both checkers accept it.
    sys.path.insert(0, HERE)
    from test_docs_blocks import blocks
    from pathlib import Path
    (first, *_) = blocks(Path(ROOT) / "README.md")
    prog = tmp_path / "readme_example.py"
    prog.write_text(first.code)
    rc, out = mypy(str(prog))
    assert rc == 0, out
    rc, out, found = pyright(str(prog))
    assert rc == 0 and not found, out
