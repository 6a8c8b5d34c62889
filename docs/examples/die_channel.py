"""Terminate workers with a `die` channel.

Go:
    func worker(die chan bool) {
        for {
            select {
            // ... do stuff cases
            case <-die:
                return
            }
        }
    }

    die := make(chan bool)
    for i := 0; i < 100; i++ { go worker(die) }
    close(die)  // stop all workers

Each worker waits in a select on its work and on `die`; closing `die` makes
that case ready in every worker at once.
"""

from __future__ import annotations

from gochan import Chan, RecvChan, SendChan, WaitGroup, go, select

N_WORKERS = 4
N_JOBS = 20


def worker(jobs: RecvChan[int], results: SendChan[int], die: RecvChan[None], wg: WaitGroup) -> None:
    try:
        while True:
            i, job = select(jobs.recv, die.recv)
            if i == 1:  # die was closed
                return
            results.send(job * 10)
    finally:
        wg.done()


def main() -> None:
    jobs: Chan[int] = Chan()
    results: Chan[int] = Chan(N_JOBS)
    die: Chan[None] = Chan()
    wg = WaitGroup()
    for _ in range(N_WORKERS):
        wg.add(1)
        go(worker, jobs, results, die, wg)

    for job in range(N_JOBS):
        jobs.send(job)
    # Which worker did which job is up to the scheduler, so sort.
    done = sorted(results.recv() for _ in range(N_JOBS))
    print("results:", done)

    die.close()  # tell every worker to stop
    wg.wait(timeout=60)
    print(f"all {N_WORKERS} workers stopped")

    # A late worker started after the close stops at once.
    wg.add(1)
    go(worker, jobs, results, die, wg)
    wg.wait(timeout=60)
    print("a worker started after close(die) stops at once")


if __name__ == "__main__":
    main()
