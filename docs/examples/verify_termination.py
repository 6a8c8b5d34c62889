"""Verify that a worker has terminated.

Go:
    func worker(die chan bool) {
        for {
            select {
            // ... do stuff cases
            case <-die:
                // ... do termination tasks
                die <- true
                return
            }
        }
    }

    die := make(chan bool)
    go worker(die)
    die <- true  // ask the worker to stop ...
    <-die        // ... and wait until it says it has

The same unbuffered channel carries the request and the answer: the send
returns once the worker has taken the request, so the next receive can only
be the worker's answer.  The second half shows the other common form, a
separate `done` channel that the worker closes on its way out.
"""

from __future__ import annotations

from gochan import Chan, RecvChan, SendChan, go, select


def worker(name: str, jobs: RecvChan[str], die: Chan[bool]) -> None:
    while True:
        i, v = select(jobs.recv, die.recv)
        if i == 0:
            print(f"{name}: handled {v}")
            continue
        print(f"{name}: cleaning up")  # ... termination tasks
        die.send(True)  # answer on the same channel
        return


def worker_with_done(jobs: RecvChan[str], done: SendChan[None]) -> None:
    try:
        for job in jobs:  # until jobs is closed
            print(f"worker B: handled {job}")
        print("worker B: cleaning up")
    finally:
        done.close()  # closing done says "I have finished", whatever happened


def main() -> None:
    # 1. Request and answer on one `die` channel.
    jobs: Chan[str] = Chan()
    die: Chan[bool] = Chan()
    go(worker, "worker A", jobs, die)
    jobs.send("job 1")
    jobs.send("job 2")
    die.send(True)  # ask the worker to stop ...
    die.recv()      # ... and wait until it has
    print("main: worker A has terminated")

    # 2. A `done` channel closed by the worker when it returns.
    jobs2: Chan[str] = Chan()
    done: Chan[None] = Chan()
    go(worker_with_done, jobs2, done)
    jobs2.send("job 3")
    jobs2.close()
    done.recv()
    print("main: worker B has terminated")


if __name__ == "__main__":
    main()
