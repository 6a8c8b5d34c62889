"""A graceful service: on SIGTERM, stop taking work, drain, flush, exit 0.

    python graceful.py STATE_FILE [--workers N]

A producer hands out jobs on a buffered channel; workers process them; the
main loop collects the results.  `docker stop` (SIGTERM) or Ctrl+C (SIGINT)
arrives as a value on `sigs`, in the same select as the results:

    sigs := make(chan os.Signal, 1)
    signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
    for {
        select {
        case r := <-results: state[r.job] = r.value
        case s := <-sigs:    /* stop taking work, drain, flush, exit */
        }
    }

Then: close `quit`, so the producer hands out nothing more and closes `jobs`;
the workers finish every job they already hold (what is still buffered in
`jobs` included) and leave; `results` is closed when the last one has left;
the main loop takes the last results and writes the state file atomically
(temporary file, fsync, rename), so a reader sees the old state or the
complete new one, never half of it.  Every job handed out is in the file.

The service also runs as PID 1 (a container's `CMD ["python", ...]`), where
SIGTERM has no default action: only a handler, here gochan's, lets it in.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time

import gochan.signal
from gochan import Chan, RecvChan, SendChan, WaitGroup, go, select


def producer(jobs: Chan[int], quit: RecvChan[None], handed_out: SendChan[int]) -> None:
    n = 0
    while True:
        i, _ = select((jobs.send, n), quit.recv)
        if i == 1:  # quit was closed: hand out nothing more
            break
        n += 1
    jobs.close()  # the workers drain what is left, then leave
    handed_out.send(n)


def worker(jobs: RecvChan[int], results: SendChan[tuple[int, int]], wg: WaitGroup) -> None:
    try:
        for job in jobs:  # until jobs is closed and drained
            time.sleep(0.001)  # the "work"
            results.send((job, job * job))
    finally:
        wg.done()


def flush(path: str, state: dict[int, int], handed_out: int) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"handed_out": handed_out, "complete": True,
                   "done": {str(k): v for k, v in sorted(state.items())}}, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("state_file")
    ap.add_argument("--workers", type=int, default=4)
    args = ap.parse_args()

    sigs: Chan[signal.Signals] = Chan(1)
    gochan.signal.notify(sigs, signal.SIGTERM, signal.SIGINT)

    jobs: Chan[int] = Chan(16)
    results: Chan[tuple[int, int]] = Chan(16)
    quit: Chan[None] = Chan()
    handed_out: Chan[int] = Chan(1)
    wg = WaitGroup()
    go(producer, jobs, quit, handed_out)
    for _ in range(args.workers):
        wg.add(1)
        go(worker, jobs, results, wg)

    def close_results_when_workers_leave() -> None:
        wg.wait()
        results.close()

    go(close_results_when_workers_leave)
    print(f"graceful: ready, pid {os.getpid()}", flush=True)

    state: dict[int, int] = {}
    while True:
        i, v = select(results.recv, sigs.recv)
        if i == 0:
            job, value = v
            state[job] = value
        else:
            print(f"graceful: got {v.name}, stop taking work and drain", flush=True)
            break

    quit.close()
    for job, value in results:  # the workers' last results, until they have all left
        state[job] = value
    n = handed_out.recv()
    flush(args.state_file, state, n)
    print(f"graceful: flushed {len(state)} of {n} jobs to {args.state_file}, exiting", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
