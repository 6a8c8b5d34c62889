"""dockerapp1: report the signals a container receives; exit 0 on SIGTERM.

    python dockerapp1.py

Go (the seed article's dockerapp1):

    sigs := make(chan os.Signal, 1)
    signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGUSR1, syscall.SIGUSR2)
    for s := range sigs {
        fmt.Println("got signal:", s)
        if s == syscall.SIGTERM {
            fmt.Println("exiting")
            os.Exit(0)
        }
    }

Try it: `kill -USR1 <pid>`, Ctrl+C (reported, not fatal: SIGINT is notified),
then `kill <pid>` (SIGTERM), which `docker stop` sends.
"""

from __future__ import annotations

import os
import signal
import sys

import gochan.signal
from gochan import Chan


def main() -> int:
    sigs: Chan[signal.Signals] = Chan(1)
    gochan.signal.notify(sigs, signal.SIGINT, signal.SIGTERM, signal.SIGUSR1, signal.SIGUSR2)
    print(f"dockerapp1: ready, pid {os.getpid()}", flush=True)
    for s in sigs:
        print(f"dockerapp1: got signal {s.name}", flush=True)
        if s == signal.SIGTERM:
            print("dockerapp1: exiting", flush=True)
            return 0
    return 1  # not reached: nobody closes sigs


if __name__ == "__main__":
    sys.exit(main())
