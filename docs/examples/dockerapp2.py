"""dockerapp2: a service that ignores SIGTERM, so `docker stop` must kill it.

    python dockerapp2.py

Go (the seed article's dockerapp2):

    signal.Ignore(syscall.SIGTERM)
    for { time.Sleep(time.Second) }   // keep "working"

`docker stop` sends SIGTERM, waits for the grace period (10 s by default)
and then sends SIGKILL, which cannot be ignored: the container dies without
any chance to clean up, and `docker ps -a` shows exit status 137 (128 + 9).
`python dockerapp_stop.py -- python dockerapp2.py` shows the same here.
"""

from __future__ import annotations

import os
import signal

import gochan.signal
from gochan import tick


def main() -> None:
    gochan.signal.ignore(signal.SIGTERM)
    print(f"dockerapp2: ready, pid {os.getpid()}, ignoring SIGTERM", flush=True)
    for _ in tick(1.0):  # keep "working"
        pass


if __name__ == "__main__":
    main()
