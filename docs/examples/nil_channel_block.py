"""A send to the nil channel blocks for ever: Go's runtime calls it a deadlock.

Go:
    package main

    func main() {
        var c chan string
        c <- "let's get started" // deadlock
    }

    fatal error: all goroutines are asleep - deadlock!

    goroutine 1 [chan send (nil chan)]:
    main.main()
    exit status 2

A receive from the nil channel (`<-c`) ends the same way.  gochan notices it
too: the main thread is parked in gochan with no timeout and so is every
other thread (there are none here), no timer is pending and no signal is
notified, so nothing can ever wake it.  The blocked call raises
gochan.Deadlock; uncaught, the program ends as Go's does, with the message
on stderr and exit status 2.
"""

from __future__ import annotations

from gochan import nilchan


def main() -> None:
    print("sending on the nil channel")
    nilchan.send("let's get started")  # deadlock
    print("never printed")


if __name__ == "__main__":
    main()
