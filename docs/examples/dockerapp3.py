"""dockerapp3: a supervisor for several processes in one container.

    python dockerapp3.py STATE_DIR [--workers N] [--stubborn K] [--deadline SECONDS]

The seed article's multi-process case (what supervisord does): the
container's main process starts N workers (here graceful.py, each with its
own state file in STATE_DIR) and K stubborn ones (dockerapp2.py, which
ignores SIGTERM).  When `docker stop` sends SIGTERM to the supervisor alone,
it forwards SIGTERM to every worker, waits for all of them until a deadline
(keep it below docker's grace period), SIGKILLs the stragglers, and only
then exits: no worker dies without its chance to clean up, unless it
ignored that chance.  Exit status 0 if every worker exited cleanly in time.

Everything is a channel in one select: the signals the supervisor gets
(SIGTERM and SIGINT on one channel, SIGCHLD on another, so that a burst of
one kind cannot crowd out the other), and the deadline, `after(deadline)`.
Signals coalesce, so one SIGCHLD may stand for several children: on each,
the supervisor polls all of them.
"""

from __future__ import annotations

import argparse
import itertools
import os
import signal
import subprocess
import sys
from typing import IO

import gochan.signal
from gochan import Chan, RecvChan, WaitGroup, after, go, nilchan, select

HERE = os.path.dirname(os.path.abspath(__file__))


def describe(rc: int) -> str:
    return f"killed by {signal.Signals(-rc).name}" if rc < 0 else f"exited {rc}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("state_dir")
    ap.add_argument("--workers", type=int, default=3)
    ap.add_argument("--stubborn", type=int, default=0)
    ap.add_argument("--deadline", type=float, default=8.0)
    args = ap.parse_args()

    term: Chan[signal.Signals] = Chan(1)
    chld: Chan[signal.Signals] = Chan(1)
    gochan.signal.notify(term, signal.SIGTERM, signal.SIGINT)
    gochan.signal.notify(chld, signal.SIGCHLD)  # before any child can exit

    # Each worker gets a session of its own, so that a Ctrl+C on the terminal
    # (sent to the whole foreground process group) reaches only the
    # supervisor, which forwards SIGTERM as it does for docker stop.
    procs: dict[str, subprocess.Popen[str]] = {}
    for i in range(args.workers):
        name = f"worker {i}"
        state = os.path.join(args.state_dir, f"worker-{i}.json")
        procs[name] = subprocess.Popen([sys.executable, os.path.join(HERE, "graceful.py"), state],
                                       start_new_session=True, stdout=subprocess.PIPE, text=True)
    for i in range(args.stubborn):
        procs[f"stubborn {i}"] = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "dockerapp2.py")], start_new_session=True,
            stdout=subprocess.PIPE, text=True)
    # A child is ready once it says so (its own signal handling is in place):
    # only then is the supervisor ready.  Each child's output is then relayed.
    firsts = {name: p.stdout.readline() if p.stdout else "" for name, p in procs.items()}
    pids = ", ".join(f"{name}={p.pid}" for name, p in procs.items())
    print(f"supervisor: ready, pid {os.getpid()}, children {pids}", flush=True)
    relays = WaitGroup()

    def relay(first: str, out: IO[str]) -> None:
        try:
            for line in itertools.chain([first], out):
                if line:
                    print(line, end="", flush=True)
        finally:
            relays.done()

    for name, p in procs.items():
        if p.stdout:
            relays.add(1)
            go(relay, firsts[name], p.stdout)

    ended: dict[str, int] = {}

    def reap() -> None:
        for name, p in procs.items():
            if name not in ended and p.poll() is not None:
                ended[name] = p.returncode
                print(f"supervisor: {name} (pid {p.pid}) {describe(p.returncode)}", flush=True)

    deadline: RecvChan[float] = nilchan  # never ready until SIGTERM arrives
    stopping = False
    while len(ended) < len(procs):
        i, v = select(term.recv, chld.recv, deadline.recv)
        if i == 0 and not stopping:
            stopping = True
            print(f"supervisor: got {v.name}, forwarding SIGTERM, deadline {args.deadline:g} s",
                  flush=True)
            for name, p in procs.items():
                if name not in ended:
                    p.send_signal(signal.SIGTERM)
            deadline = after(args.deadline)
        elif i == 1:
            reap()
        elif i == 2:
            for name, p in procs.items():
                if name not in ended:
                    print(f"supervisor: {name} (pid {p.pid}) missed the deadline, SIGKILL",
                          flush=True)
                    p.kill()
            for name, p in procs.items():
                if name not in ended:
                    p.wait()
            reap()
    relays.wait(timeout=10)   # every child has exited: their output ends
    clean = all(rc == 0 for rc in ended.values())
    print(f"supervisor: all {len(procs)} children have ended, exiting "
          f"{'cleanly' if clean else 'with stragglers'}", flush=True)
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
