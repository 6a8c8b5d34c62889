"""Start 100 workers at once with a single close(start).

Go:
    func worker(start chan bool) { <-start; /* ... do stuff */ }

    start := make(chan bool)
    for i := 0; i < 100; i++ { go worker(start) }
    close(start)  // all workers run now

A send would release one worker; a close releases all of them, however many
there are, and workers that arrive late are not blocked either.
"""

from __future__ import annotations

from gochan import Chan, RecvChan, SendChan, WaitGroup, go

N_WORKERS = 100


def worker(n: int, start: RecvChan[None], results: SendChan[int], wg: WaitGroup) -> None:
    try:
        start.recv()  # wait for the starting gun
        results.send(n * n)
    finally:
        wg.done()


def main() -> None:
    start: Chan[None] = Chan()
    results: Chan[int] = Chan(N_WORKERS)
    wg = WaitGroup()
    for n in range(N_WORKERS):
        wg.add(1)
        go(worker, n, start, results, wg)

    # No worker can get past start.recv() before the close, so nothing has
    # been reported yet, however long we wait here.
    print("results before close(start):", len(results))

    start.close()  # one close releases all 100 workers
    wg.wait(timeout=60)
    results.close()

    squares = sorted(results)
    print("results after close(start):", len(squares))
    print("sum of squares 0..99:", sum(squares))


if __name__ == "__main__":
    main()
