"""`select {}` at the end of main: block for ever, and Go's deadlock report.

Go:
    func main() {
        c := make(chan bool)
        go func() {
            // ... do some stuff
            close(c)
        }()
        <-c
        fmt.Println("the worker finished")
        select {} // wait for ever (for the other goroutines)
    }

    the worker finished
    fatal error: all goroutines are asleep - deadlock!

    goroutine 1 [select (no cases)]:
    exit status 2

Programs that serve from goroutines often end main with `select {}`.  Once
no goroutine is left that could ever run again, Go's runtime reports the
deadlock instead of hanging.  gochan's `select()` with no cases does the
same: when every thread is parked in gochan with no timeout (here the
worker has returned, so only the main thread is left), and no timer or
signal notification could wake one, the call raises gochan.Deadlock, and
uncaught it ends the program with Go's message and exit status 2.
"""

from __future__ import annotations

from gochan import Chan, go, select


def main() -> None:
    c: Chan[bool] = Chan()

    def work() -> None:
        # ... do some stuff
        c.close()

    go(work)
    c.recv()
    print("the worker finished")
    select()  # wait for ever: nothing is left to wake us


if __name__ == "__main__":
    main()
