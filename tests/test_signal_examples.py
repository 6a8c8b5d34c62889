"""End-to-end tests of the signal examples in docs/examples: real processes,
real signals (sent with os.kill from here), a timeout on every wait.

  dockerapp1.py       reports SIGINT/SIGUSR1/SIGUSR2, exits 0 on SIGTERM
  dockerapp_stop.py   a `docker stop` harness (SIGTERM, grace period, SIGKILL)
  dockerapp2.py       ignores SIGTERM: killed after the grace period, status 137
  graceful.py         drains, flushes a complete state file, exits 0
  dockerapp3.py       a supervisor: forwards SIGTERM, deadline, SIGKILLs stragglers
  graceful.py as PID 1 in a new PID namespace (unshare), where SIGTERM has no
                      default action
  Dockerfile          its CMD is in exec form
(signal_basics.py has a .out and is run by test_examples.py.)
"""
from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import gochan

EXAMPLES = Path(__file__).resolve().parent.parent / "docs" / "examples"
ROOT = str(Path(gochan.__file__).resolve().parent.parent)
PY = sys.executable


def env():
    e = dict(os.environ)
    e["PYTHONPATH"] = os.pathsep.join(filter(None, [ROOT, e.get("PYTHONPATH")]))
    return e


class Proc:
    """A child process whose stdout is read line by line with timeouts."""

    def __init__(self, argv, **kw):
        self.p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True, env=env(), cwd=EXAMPLES, **kw)
        self.lines = queue.Queue()
        self.seen = []
        self.err = []
        threading.Thread(target=self._pump, daemon=True).start()
        threading.Thread(target=lambda: self.err.extend(self.p.stderr), daemon=True).start()

    def _pump(self):
        for line in self.p.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def line(self, timeout=30):
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            pytest.fail("no output within %s s; so far: %r; stderr: %r"
                        % (timeout, self.seen, "".join(self.err)))
        if line is not None:
            self.seen.append(line)
        return line

    def expect(self, prefix, timeout=30):
        line = self.line(timeout)
        assert line is not None and line.startswith(prefix), \
            "expected %r, got %r (so far %r; stderr %r)" % (prefix, line, self.seen, "".join(self.err))
        return line

    def rest(self, timeout=30):
        out = []
        while True:
            line = self.line(timeout)
            if line is None:
                return out
            out.append(line)

    def wait(self, timeout=30):
        return self.p.wait(timeout=timeout)

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait(timeout=30)


@pytest.fixture
def procs():
    """Start Procs; at the end kill whatever is left, including the pids a
    test adds to ``start.orphans`` (grandchildren in their own session or
    PID namespace, which killing their parent would not reach)."""
    started = []

    def start(argv, **kw):
        p = Proc(argv, **kw)
        started.append(p)
        return p

    start.orphans = []
    yield start
    for p in started:
        p.kill()
    for pid in start.orphans:
        try:
            # Only if the pid is still one of ours (not reused since).
            cmdline = Path("/proc/%d/cmdline" % pid).read_bytes()
            if (b"graceful.py" in cmdline or b"graceful_ctx.py" in cmdline
                    or b"dockerapp" in cmdline or b"sleep(60)" in cmdline):
                os.kill(pid, signal.SIGKILL)
        except (OSError, ProcessLookupError):
            pass


def gone(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def check_state(path):
    state = json.loads(Path(path).read_text())
    n = state["handed_out"]
    assert state["complete"] is True
    assert n > 0, "the service did no work before SIGTERM"
    # Every job handed out was processed and is in the file, with its result.
    assert state["done"] == {str(k): k * k for k in range(n)}
    assert not Path(str(path) + ".tmp").exists()
    return n


# ---- dockerapp1 --------------------------------------------------------------------

def test_dockerapp1_reports_signals_and_exits_0_on_sigterm(procs):
    p = procs([PY, "dockerapp1.py"])
    p.expect("dockerapp1: ready")
    for sig in (signal.SIGINT, signal.SIGUSR1, signal.SIGUSR2, signal.SIGINT):
        p.p.send_signal(sig)
        assert p.line() == "dockerapp1: got signal %s" % sig.name
    p.p.send_signal(signal.SIGTERM)
    assert p.rest() == ["dockerapp1: got signal SIGTERM", "dockerapp1: exiting"]
    assert p.wait() == 0
    assert "".join(p.err) == ""


def test_docker_stop_harness_stops_dockerapp1_at_once(procs):
    p = procs([PY, "dockerapp_stop.py", "--grace", "20", "--", PY, "dockerapp1.py"])
    p.expect("docker stop: container says: dockerapp1: ready")
    rest = p.rest()
    assert p.wait() == 0
    assert rest[0] == "docker stop: sent SIGTERM, grace period 20 s"
    assert rest[1:3] == ["dockerapp1: got signal SIGTERM", "dockerapp1: exiting"]
    assert rest[3].startswith("docker stop: exited with status 0 after")


# ---- dockerapp2 ----------------------------------------------------------------------

def test_dockerapp2_ignores_sigterm_and_is_killed_after_the_grace_period(procs):
    grace = 1.5
    t0 = time.monotonic()
    p = procs([PY, "dockerapp_stop.py", "--grace", str(grace), "--", PY, "dockerapp2.py"])
    p.expect("docker stop: container says: dockerapp2: ready")
    rest = p.rest()
    took = time.monotonic() - t0
    assert p.wait() == 137               # 128 + SIGKILL, as `docker ps -a` shows
    assert rest[0] == "docker stop: sent SIGTERM, grace period 1.5 s"
    assert rest[1] == "docker stop: grace period over, sending SIGKILL"
    assert rest[2].startswith("docker stop: killed by SIGKILL after")
    assert took >= grace                 # it survived SIGTERM for the whole grace period


# ---- graceful ------------------------------------------------------------------------

@pytest.mark.parametrize("program", ["graceful.py", "graceful_ctx.py"])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=lambda s: s.name)
def test_graceful_service_drains_flushes_and_exits_0(procs, tmp_path, sig, program):
    state = tmp_path / "state.json"
    p = procs([PY, program, str(state)])
    p.expect("graceful: ready")
    time.sleep(0.5)                      # let it do some work (asserted below)
    p.p.send_signal(sig)
    rest = p.rest()
    assert p.wait(timeout=10) == 0       # within Docker's grace period
    assert rest[0] == "graceful: got %s, stop taking work and drain" % sig.name
    n = check_state(state)
    assert rest[1:] == ["graceful: flushed %d of %d jobs to %s, exiting" % (n, n, state)]
    assert "".join(p.err) == ""


# ---- dockerapp3: the supervisor ----------------------------------------------------------

def children_of(line):
    # "supervisor: ready, pid P, children worker 0=PID, worker 1=PID, ..."
    kids = line.split("children ", 1)[1]
    return {k: int(v) for k, v in (item.split("=") for item in kids.split(", "))}


def test_supervisor_forwards_sigterm_and_waits_for_clean_workers(procs, tmp_path):
    p = procs([PY, "dockerapp3.py", str(tmp_path), "--workers", "3", "--deadline", "20"])
    kids = children_of(p.expect("supervisor: ready"))
    procs.orphans.extend(kids.values())
    assert len(kids) == 3
    time.sleep(0.5)
    p.p.send_signal(signal.SIGTERM)
    rest = p.rest(timeout=60)
    assert p.wait() == 0
    sup = [line for line in rest if line.startswith("supervisor:")]
    assert sup[0] == "supervisor: got SIGTERM, forwarding SIGTERM, deadline 20 s"
    assert sorted(sup[1:4]) == sorted("supervisor: %s (pid %d) exited 0" % (k, pid)
                                      for k, pid in kids.items())
    assert sup[4] == "supervisor: all 3 children have ended, exiting cleanly"
    for i in range(3):
        check_state(tmp_path / ("worker-%d.json" % i))
    assert all(gone(pid) for pid in kids.values())


def test_supervisor_sigkills_stragglers_after_the_deadline(procs, tmp_path):
    deadline = 1.5
    p = procs([PY, "dockerapp3.py", str(tmp_path), "--workers", "2", "--stubborn", "1",
               "--deadline", str(deadline)])
    kids = children_of(p.expect("supervisor: ready"))
    procs.orphans.extend(kids.values())
    time.sleep(0.5)
    t0 = time.monotonic()
    p.p.send_signal(signal.SIGTERM)
    rest = p.rest(timeout=60)
    took = time.monotonic() - t0
    assert p.wait() == 1                 # not every child ended cleanly
    sup = [line for line in rest if line.startswith("supervisor:")]
    stubborn = kids["stubborn 0"]
    assert sup[0] == "supervisor: got SIGTERM, forwarding SIGTERM, deadline 1.5 s"
    assert sorted(sup[1:3]) == sorted("supervisor: worker %d (pid %d) exited 0"
                                      % (i, kids["worker %d" % i]) for i in range(2))
    assert sup[3:] == [
        "supervisor: stubborn 0 (pid %d) missed the deadline, SIGKILL" % stubborn,
        "supervisor: stubborn 0 (pid %d) killed by SIGKILL" % stubborn,
        "supervisor: all 3 children have ended, exiting with stragglers",
    ]
    assert took >= deadline
    for i in range(2):
        check_state(tmp_path / ("worker-%d.json" % i))
    # The supervisor exited only after every child: none is left running.
    assert all(gone(pid) for pid in kids.values())


# ---- PID 1 -------------------------------------------------------------------------

UNSHARE = ["unshare", "--pid", "--fork", "--mount-proc"]


@pytest.fixture(scope="module")
def pid_namespace():
    if shutil.which("unshare") is None:
        pytest.skip("unshare (util-linux) is not installed")
    try:
        r = subprocess.run(UNSHARE + [PY, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        pytest.skip("cannot run unshare: %s" % e)
    if r.returncode != 0 or r.stdout.strip() != "1":
        pytest.skip("this machine does not allow a new PID namespace "
                    "(unshare --pid --fork --mount-proc needs root or user namespaces): %s"
                    % (r.stderr.strip() or r.stdout.strip()))


def namespace_init(unshare_pid, timeout=30):
    """The PID (in our namespace) of the process unshare forked: PID 1 inside."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    stat = Path("/proc/%s/stat" % d).read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == unshare_pid:
                    return int(d)
        time.sleep(0.01)
    pytest.fail("unshare's child not found")


def test_pid1_without_a_handler_ignores_sigterm(procs, pid_namespace):
    # The control: why a container's main process needs a handler at all.
    p = procs(UNSHARE + [PY, "-c", "import os, time; print('pid', os.getpid(), flush=True); "
                                   "time.sleep(60)"])
    assert p.line() == "pid 1"
    init = namespace_init(p.p.pid)
    procs.orphans.append(init)
    os.kill(init, signal.SIGTERM)
    time.sleep(1.0)
    assert p.p.poll() is None and not gone(init), "SIGTERM killed a PID 1 with no handler"
    os.kill(init, signal.SIGKILL)        # SIGKILL is always delivered
    assert p.wait() != 0


@pytest.mark.parametrize("program", ["graceful.py", "graceful_ctx.py"])
def test_graceful_service_as_pid1_gets_sigterm_and_exits_cleanly(procs, pid_namespace, tmp_path,
                                                                  program):
    state = tmp_path / "state.json"
    p = procs(UNSHARE + [PY, str(EXAMPLES / program), str(state)])
    assert p.expect("graceful: ready") == "graceful: ready, pid 1"
    init = namespace_init(p.p.pid)
    procs.orphans.append(init)
    time.sleep(0.5)
    os.kill(init, signal.SIGTERM)        # what docker stop does to a container's PID 1
    rest = p.rest()
    assert p.wait() == 0                 # unshare passes on its child's status
    assert rest[0] == "graceful: got SIGTERM, stop taking work and drain"
    n = check_state(state)
    assert rest[1] == "graceful: flushed %d of %d jobs to %s, exiting" % (n, n, state)


# ---- Dockerfile ----------------------------------------------------------------------

def test_dockerfile_uses_the_exec_form_of_cmd():
    lines = (EXAMPLES / "Dockerfile").read_text().splitlines()
    cmds = [line for line in lines if line.startswith("CMD")]
    assert len(cmds) == 1
    argv = json.loads(cmds[0][len("CMD"):])     # exec form: a JSON array, no shell
    assert argv[0] == "python" and (EXAMPLES.parent.parent / argv[1]).is_file()
