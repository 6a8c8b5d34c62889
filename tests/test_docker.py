"""The signal examples under a real Docker engine, each as PID 1 of a container
built from docs/examples/Dockerfile (what test_signal_examples.py imitates
with unshare and a home-made "docker stop").

The engine is the one DOCKER_HOST names (.ci/docker.sh starts a private one);
the base image is GOCHAN_DOCKER_BASE (default python:3.11-slim; CI imports a
Debian bookworm root filesystem, since no registry is reachable there) and
the docker client GOCHAN_DOCKER (default: `docker` on PATH).  Without an
engine these tests skip, saying why; under CI=true they fail instead.

The image is built once per session from the checkout: a wheel of gochan and
of its dependencies (and supervisor), then `docker build --build-arg BASE=...`
with no network.  Every docker call has a timeout; every container is
removed at the end of its test and the images at the end of the session.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Callable, Iterator

import pytest

from test_signal_examples import check_state

pytestmark = [pytest.mark.docker, pytest.mark.timeout(600)]  # the first test builds the image

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "docs" / "examples"
STATE = "/data/state.json"
TIMEOUT = 60          # for any docker call that should return "soon"
BUILD_TIMEOUT = 600   # pip wheel, docker build

# The graceful services: drain on SIGTERM, flush a complete state file, exit 0.
GRACEFUL = [
    "graceful.py",
    "graceful_ctx.py",
]


def _docker_cli() -> str | None:
    return os.environ.get("GOCHAN_DOCKER") or shutil.which("docker")


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail("CI=true but the Docker tests cannot run: " + reason, pytrace=False)
    pytest.skip(reason)


def run(argv: list[str], timeout: float = TIMEOUT, check: bool = True) -> subprocess.CompletedProcess[str]:
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        pytest.fail("%r did not finish within %s s; output so far: %r %r"
                    % (argv, timeout, e.stdout, e.stderr))
    if check and r.returncode != 0:
        pytest.fail("%r exited %d:\n%s%s" % (argv, r.returncode, r.stdout, r.stderr))
    return r


class Docker:
    """The docker client, pointed at the engine of DOCKER_HOST."""

    def __init__(self, cli: str) -> None:
        self.cli = cli

    def __call__(self, *args: str, timeout: float = TIMEOUT,
                 check: bool = True) -> subprocess.CompletedProcess[str]:
        return run([self.cli, *args], timeout=timeout, check=check)


@pytest.fixture(scope="session")
def docker() -> Docker:
    if not os.environ.get("DOCKER_HOST"):
        _unavailable("DOCKER_HOST is not set: these tests run against the Docker engine it "
                     "names (.ci/docker.sh starts a private one)")
    cli = _docker_cli()
    if cli is None:
        _unavailable("no docker client (install docker.io, or set GOCHAN_DOCKER)")
    try:
        r = subprocess.run([cli, "version", "--format", "{{.Server.Version}}"],
                           capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        _unavailable("cannot reach the Docker engine at %s: %s" % (os.environ["DOCKER_HOST"], e))
    if r.returncode != 0:
        _unavailable("cannot reach the Docker engine at %s: %s"
                     % (os.environ["DOCKER_HOST"], (r.stderr or r.stdout).strip()))
    return Docker(cli)


@pytest.fixture(scope="session")
def image(docker: Docker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """docs/examples/Dockerfile built from wheels of this checkout."""
    base = os.environ.get("GOCHAN_DOCKER_BASE", "python:3.11-slim")
    ctx = tmp_path_factory.mktemp("docker-context")
    # The build context the Dockerfile expects: wheels/ and docs/examples/.
    run([sys.executable, "-m", "pip", "wheel", "--quiet", "--wheel-dir", str(ctx / "wheels"),
         str(ROOT), "supervisor"], timeout=BUILD_TIMEOUT)
    shutil.copytree(EXAMPLES, ctx / "docs" / "examples",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    tag = "gochan-test-examples:%s" % uuid.uuid4().hex[:12]
    docker("build", "--quiet", "--network", "none", "--build-arg", "BASE=" + base,
           "-f", str(ctx / "docs" / "examples" / "Dockerfile"), "-t", tag, str(ctx),
           timeout=BUILD_TIMEOUT)
    shell_tag = tag + "-shellform"
    try:
        docker("build", "--quiet", "--network", "none", "--build-arg", "IMAGE=" + tag,
               "-f", str(EXAMPLES / "Dockerfile.shellform"), "-t", shell_tag, str(ctx),
               timeout=BUILD_TIMEOUT)
        yield tag
    finally:
        docker("rmi", "--force", shell_tag, tag, check=False)


@pytest.fixture
def shellform_image(image: str) -> str:
    return image + "-shellform"


class Container:
    def __init__(self, docker: Docker, name: str) -> None:
        self.docker = docker
        self.name = name

    def logs(self) -> list[str]:
        return self.docker("logs", self.name).stdout.splitlines()

    def stderr(self) -> str:
        return self.docker("logs", self.name).stderr

    def wait_for(self, line: str, count: int = 1, timeout: float = TIMEOUT) -> list[str]:
        """Poll `docker logs` until ``count`` lines contain ``line``; return the logs."""
        deadline = time.monotonic() + timeout
        while True:
            logs = self.logs()
            if sum(1 for x in logs if line in x) >= count:
                return logs
            if time.monotonic() > deadline or not self.running():
                pytest.fail("%s: %d x %r not in the logs within %s s (running: %s): %r %r"
                            % (self.name, count, line, timeout, self.running(), logs, self.stderr()))
            time.sleep(0.1)

    def state(self) -> dict:
        return json.loads(self.docker("inspect", "--format", "{{json .State}}", self.name).stdout)

    def running(self) -> bool:
        return bool(self.state()["Running"])

    def stop(self, grace: int) -> float:
        """`docker stop -t grace`; returns how long it took.  The container must be gone then."""
        t0 = time.monotonic()
        self.docker("stop", "-t", str(grace), self.name, timeout=grace + TIMEOUT)
        took = time.monotonic() - t0
        assert not self.running()
        return took

    def exit_code(self) -> int:
        return int(self.state()["ExitCode"])

    def pid1(self) -> str:
        """The command line of the container's PID 1, as `docker exec` sees it."""
        out = self.docker("exec", self.name, "cat", "/proc/1/cmdline").stdout
        return " ".join(out.rstrip("\0").split("\0"))


@pytest.fixture
def containers(docker: Docker) -> Iterator[Callable[..., Container]]:
    """Start containers with `docker run -d`; `docker rm -f` them all at the end."""
    names: list[str] = []

    def start(*args: str) -> Container:
        name = "gochan-test-%s" % uuid.uuid4().hex[:12]
        names.append(name)
        docker("run", "-d", "--name", name, *args)
        return Container(docker, name)

    yield start
    for name in names:
        docker("rm", "--force", name, check=False)


def messages(lines: list[str]) -> list[str]:
    """The lines without the program's "name: " prefix."""
    return [line.split(": ", 1)[1] for line in lines]


# ---- dockerapp1 ----------------------------------------------------------------------

def test_dockerapp1_reports_signals_and_exits_0_on_docker_stop(containers, image):
    c = containers(image, "python", "docs/examples/dockerapp1.py")
    c.wait_for("dockerapp1: ready")
    for n, sig in enumerate(("INT", "USR1", "USR2"), 1):
        c.docker("kill", "--signal", sig, c.name)
        c.wait_for("dockerapp1: got signal SIG%s" % sig)
        assert len(c.logs()) == 1 + n   # reported once, and nothing else
    took = c.stop(grace=30)
    assert c.exit_code() == 0       # it exited by itself, before any SIGKILL (that is 137)
    assert took < 30
    assert c.logs() == [
        "dockerapp1: ready, pid 1",
        "dockerapp1: got signal SIGINT",
        "dockerapp1: got signal SIGUSR1",
        "dockerapp1: got signal SIGUSR2",
        "dockerapp1: got signal SIGTERM",
        "dockerapp1: exiting",
    ]
    assert c.stderr() == ""


# ---- dockerapp2 ----------------------------------------------------------------------

def test_dockerapp2_ignores_sigterm_and_is_killed_after_the_grace_period(containers, image):
    c = containers(image, "python", "docs/examples/dockerapp2.py")
    c.wait_for("dockerapp2: ready")
    took = c.stop(grace=2)
    assert took >= 2                # it survived SIGTERM for the whole grace period
    assert c.exit_code() == 137     # 128 + SIGKILL
    assert c.logs() == ["dockerapp2: ready, pid 1, ignoring SIGTERM"]


# ---- the graceful services: exec form ---------------------------------------------------

def check_graceful(c: Container, state_dir: Path) -> None:
    """After docker stop: drained, flushed, exit 0, and the logs say so."""
    assert c.exit_code() == 0
    n = check_state(state_dir / "state.json")
    assert messages(c.logs())[1:] == [
        "got SIGTERM, stop taking work and drain",
        "flushed %d of %d jobs to %s, exiting" % (n, n, STATE),
    ]
    assert c.stderr() == ""


@pytest.mark.parametrize("program", GRACEFUL)
def test_graceful_service_drains_and_flushes_on_docker_stop(containers, image, tmp_path, program):
    c = containers("-v", "%s:/data" % tmp_path, image, "python", "docs/examples/" + program, STATE)
    assert messages(c.wait_for(""))[0] == "ready, pid 1"
    time.sleep(0.5)                 # let it do some work (check_state asserts some was done)
    c.stop(grace=30)
    check_graceful(c, tmp_path)


def test_dockerfile_cmd_is_the_graceful_service_in_exec_form(containers, image, tmp_path):
    c = containers("-v", "%s:/data" % tmp_path, image)     # the image's own CMD
    c.wait_for("graceful: ready, pid 1")
    assert c.pid1() == "python docs/examples/graceful.py " + STATE
    time.sleep(0.5)
    c.stop(grace=30)
    check_graceful(c, tmp_path)


# ---- shell form against exec form ---------------------------------------------------------

def test_shell_form_cmd_is_sigkilled_and_loses_its_state(docker, containers, shellform_image,
                                                         tmp_path):
    cmd = json.loads(docker("inspect", "--format", "{{json .Config.Cmd}}", shellform_image).stdout)
    assert cmd == ["/bin/sh", "-c", "python docs/examples/graceful.py " + STATE]
    c = containers("-v", "%s:/data" % tmp_path, shellform_image)
    line = c.wait_for("graceful: ready")[0]
    # The shell stays PID 1 (Debian's dash does not exec a lone command) and
    # neither handles SIGTERM (so, as PID 1, it never gets it) nor passes it on.
    assert line != "graceful: ready, pid 1"
    assert c.pid1() == "/bin/sh -c python docs/examples/graceful.py " + STATE
    took = c.stop(grace=2)
    assert took >= 2
    assert c.exit_code() == 137
    assert c.logs() == [line]       # the service never heard of SIGTERM
    assert not (tmp_path / "state.json").exists()


def test_shell_form_with_init_kills_the_shell_and_still_loses_the_state(containers,
                                                                          shellform_image, tmp_path):
    # docker run --init: docker-init (tini) is PID 1 and forwards SIGTERM to
    # its child, the shell, which is not PID 1 any more and dies of it at once.
    # docker-init exits with the shell's status, and the end of the container
    # kills the service with SIGKILL before it ever got a signal it could handle.
    c = containers("--init", "-v", "%s:/data" % tmp_path, shellform_image)
    line = c.wait_for("graceful: ready")[0]
    assert c.pid1() == "/sbin/docker-init -- /bin/sh -c python docs/examples/graceful.py " + STATE
    took = c.stop(grace=30)
    assert took < 30
    assert c.exit_code() == 143     # 128 + SIGTERM: the shell's death, passed on by docker-init
    assert c.logs() == [line]
    assert not (tmp_path / "state.json").exists()


@pytest.mark.parametrize("how", ["exec-in-shell-form", "init-exec-form"])
def test_the_fixes_deliver_sigterm_to_the_service(containers, image, tmp_path, how):
    if how == "exec-in-shell-form":    # CMD exec python ...: the shell replaces itself
        c = containers("-v", "%s:/data" % tmp_path, image,
                       "/bin/sh", "-c", "exec python docs/examples/graceful.py " + STATE)
        c.wait_for("graceful: ready, pid 1")
    else:                              # docker run --init with CMD in exec form
        c = containers("--init", "-v", "%s:/data" % tmp_path, image)
        c.wait_for("graceful: ready")
        assert c.pid1() == "/sbin/docker-init -- python docs/examples/graceful.py " + STATE
    time.sleep(0.5)
    c.stop(grace=30)
    check_graceful(c, tmp_path)


SLEEPER = "import time; print('sleeping', flush=True); time.sleep(600)"


@pytest.mark.parametrize("init", [False, True], ids=["pid1", "init"])
def test_init_gives_sigterm_its_default_action_back(containers, image, init):
    # A program with no SIGTERM handler at all: as PID 1 the kernel drops
    # docker stop's SIGTERM (killed at the end of the grace period, 137);
    # under --init it is an ordinary process, and SIGTERM kills it (143).
    c = containers(*(["--init"] if init else []), image, "python", "-c", SLEEPER)
    c.wait_for("sleeping")
    took = c.stop(grace=2 if not init else 30)
    if init:
        assert c.exit_code() == 143 and took < 30
    else:
        assert c.exit_code() == 137 and took >= 2


# ---- several processes: dockerapp3 and supervisord -----------------------------------------

def test_dockerapp3_forwards_docker_stop_to_its_workers(containers, image, tmp_path):
    c = containers("-v", "%s:/data" % tmp_path, image,
                   "python", "docs/examples/dockerapp3.py", "/data", "--workers", "2",
                   "--deadline", "8")
    line = next(x for x in c.wait_for("supervisor: ready") if x.startswith("supervisor: ready"))
    assert line.startswith("supervisor: ready, pid 1, children worker 0=")
    time.sleep(0.5)
    c.stop(grace=30)
    assert c.exit_code() == 0
    logs = c.logs()
    sup = [x for x in logs if x.startswith("supervisor:")]
    assert sup[1] == "supervisor: got SIGTERM, forwarding SIGTERM, deadline 8 s"
    assert sorted(x.split(" (pid")[0] + x.split(")")[1] for x in sup[2:4]) == [
        "supervisor: worker 0 exited 0", "supervisor: worker 1 exited 0"]
    assert sup[4:] == ["supervisor: all 2 children have ended, exiting cleanly"]
    assert logs.count("graceful: got SIGTERM, stop taking work and drain") == 2
    for i in range(2):
        check_state(tmp_path / ("worker-%d.json" % i))
    assert c.stderr() == ""


def test_supervisord_stops_both_services_cleanly(containers, image):
    c = containers(image, "supervisord", "-c", "docs/examples/supervisord.conf")
    c.wait_for("dockerapp1: ready", count=2)
    for app in ("app1", "app2"):
        c.wait_for("INFO success: %s entered RUNNING state" % app, timeout=TIMEOUT)
    took = c.stop(grace=30)
    assert c.exit_code() == 0
    assert took < 30
    logs = [x.split(" ", 2)[2] if x[:4].isdigit() else x for x in c.logs()]  # no timestamps
    after = logs[logs.index("WARN received SIGTERM indicating exit request"):]
    assert after.count("dockerapp1: got signal SIGTERM") == 2
    assert after.count("dockerapp1: exiting") == 2
    for app in ("app1", "app2"):
        stopped = after.index("INFO stopped: %s (exit status 0)" % app)
        assert "dockerapp1: exiting" in after[:stopped]
    assert not [x for x in logs if "SIGKILL" in x or "ERRO" in x or "CRIT" in x], logs
