"""What `docker stop` does to a container's main process, without Docker.

    python dockerapp_stop.py [--grace SECONDS] -- COMMAND [ARG...]

Start COMMAND, wait until it prints its first line (its "ready" line, which
is echoed), send it SIGTERM, wait up to the grace period (10 s, as docker's
default `--time`) for it to exit, and send SIGKILL if it has not.  Prints
how it ended and exits with the status `docker ps -a` would show: the
program's own exit status, or 128 + the number of the signal that killed it
(137 for SIGKILL).

The wait with a deadline is a select on two channels: one that a goroutine
closes when the process has exited, and `after(grace)`.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import time

from gochan import Chan, after, go, select


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--grace", type=float, default=10.0, help="seconds before SIGKILL")
    ap.add_argument("command", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    cmd = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not cmd:
        ap.error("no command")

    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    ready = proc.stdout.readline()
    print(f"docker stop: container says: {ready.rstrip()}", flush=True)

    exited: Chan[None] = Chan()

    def wait_for_exit() -> None:
        proc.wait()
        exited.close()

    go(wait_for_exit)
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    print(f"docker stop: sent SIGTERM, grace period {args.grace:g} s", flush=True)
    i, _ = select(exited.recv, after(args.grace).recv)
    if i == 1:
        print("docker stop: grace period over, sending SIGKILL", flush=True)
        proc.kill()
        exited.recv()
    took = time.monotonic() - t0
    rest = proc.stdout.read()
    if rest:
        print(rest, end="", flush=True)
    rc = proc.returncode
    if rc < 0:
        print(f"docker stop: killed by {signal.Signals(-rc).name} after {took:.1f} s, "
              f"exit status {128 - rc}", flush=True)
        return 128 - rc
    print(f"docker stop: exited with status {rc} after {took:.1f} s", flush=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
