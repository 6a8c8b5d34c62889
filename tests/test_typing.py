"""Static typing: mypy accepts normal use and rejects using a channel against
its direction (API.md, "Directional types").  The cases live in
tests/typing_cases/; a line to be rejected is marked ``# E: line N``."""
import os
import re
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CASES = os.path.join(HERE, "typing_cases")

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


def test_normal_use_passes(mypy):
    rc, out = mypy(case("pass_normal_use.py"))
    assert rc == 0, out


def test_normal_use_runs():
    proc = subprocess.run([sys.executable, case("pass_normal_use.py")], cwd=ROOT,
                          env=dict(os.environ, PYTHONPATH=ROOT),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


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
