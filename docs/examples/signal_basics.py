"""OS signals as channel messages: notify, receive, stop.

Go:
    c := make(chan os.Signal, 1)
    signal.Notify(c, syscall.SIGUSR1)
    syscall.Kill(os.Getpid(), syscall.SIGUSR1)
    s := <-c                // SIGUSR1
    signal.Stop(c)

The value is a `signal.Signals` member.  The channel needs a buffer: delivery
never blocks, so a channel that cannot take the value at once misses it.
While SIGUSR1 is notified, the handler it had before does not run, and
`signal.getsignal()` reports gochan's relay; `stop()` gives the handler back.
"""

from __future__ import annotations

import os
import signal

import gochan.signal
from gochan import Chan, select


def on_usr1(signum: int, frame: object) -> None:
    print("the previous handler ran for", signal.Signals(signum).name)


def main() -> None:
    signal.signal(signal.SIGUSR1, on_usr1)

    c: Chan[signal.Signals] = Chan(1)
    gochan.signal.notify(c, signal.SIGUSR1, signal.SIGUSR2)
    print("while notified, getsignal reports:", signal.getsignal(signal.SIGUSR1))

    os.kill(os.getpid(), signal.SIGUSR1)
    s = c.recv(timeout=10)
    print("received:", s.name, "=", int(s))

    # In a select, with other work: here a channel that is never ready.
    work: Chan[int] = Chan()
    os.kill(os.getpid(), signal.SIGUSR2)
    i, v = select(work.recv, c.recv, timeout=10)
    print("select case", i, "received", v.name)

    gochan.signal.stop(c)  # nothing more is sent to c after this
    print("after stop, getsignal reports the previous handler:",
          signal.getsignal(signal.SIGUSR1) is on_usr1)
    # SIGUSR2 had no handler before (SIG_DFL would end the program); ignore it.
    print("SIGUSR2 ignored?", gochan.signal.ignored(signal.SIGUSR2))
    gochan.signal.ignore(signal.SIGUSR2)
    print("SIGUSR2 ignored?", gochan.signal.ignored(signal.SIGUSR2))
    os.kill(os.getpid(), signal.SIGUSR2)  # ignored: nothing happens

    signal.raise_signal(signal.SIGUSR1)  # goes to on_usr1 again
    print("nothing left in c:", len(c))


if __name__ == "__main__":
    main()
