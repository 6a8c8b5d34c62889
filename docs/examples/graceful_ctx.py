"""A graceful service with notify_context and a Group: on SIGTERM, stop
taking work, drain, flush, exit 0.

    python graceful_ctx.py STATE_FILE [--workers N] [--grace S]

graceful.py written the way a Go service is written today:

    ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
    defer stop()
    g, gctx := errgroup.WithContext(ctx)
    g.Go(producer)              // hands out jobs until gctx is done
    for i := 0; i < n; i++ { g.Go(worker) }
    ...
    <-ctx.Done()                // SIGTERM: stop taking work, drain, flush
    stop()                      // a second Ctrl+C is fatal again

A producer hands out jobs on a buffered channel until the group's context is
done, then closes `jobs`; the workers finish every job they already hold (what
is still buffered in `jobs` included) and leave; `results` is closed when the
whole group has returned.  The main loop collects results until the signal,
takes the last results (within `--grace` seconds, under Docker's 10 s grace
period) and writes the state file atomically (temporary file, fsync, rename),
so a reader sees the old state or the complete new one, never half of it.
Every job handed out is in the file.  A worker that fails cancels the group's
context too: the service then drains and exits 1.

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
from gochan import Chan, Group, RecvChan, SendChan, context, go, select


def producer(ctx: context.Context, jobs: Chan[int], handed_out: SendChan[int]) -> None:
    n = 0
    try:
        while True:
            i, _ = select((jobs.send, n), ctx.done().recv)
            if i == 1:  # the group's context is done: hand out nothing more
                break
            n += 1
    finally:
        jobs.close()  # the workers drain what is left, then leave
        handed_out.send(n)


def worker(jobs: RecvChan[int], results: SendChan[tuple[int, int]]) -> None:
    for job in jobs:  # until jobs is closed and drained
        time.sleep(0.001)  # the "work"
        results.send((job, job * job))


def flush(path: str, state: dict[int, int], handed_out: int, complete: bool) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"handed_out": handed_out, "complete": complete,
                   "done": {str(k): v for k, v in sorted(state.items())}}, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("state_file")
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--grace", type=float, default=8.0,
                    help="seconds allowed for draining after the signal (Docker allows 10)")
    args = ap.parse_args()

    ctx, stop = gochan.signal.notify_context(context.background(), signal.SIGTERM, signal.SIGINT)
    try:
        g, gctx = Group.with_context(ctx)
        jobs: Chan[int] = Chan(16)
        results: Chan[tuple[int, int]] = Chan(16)
        handed_out: Chan[int] = Chan(1)
        g.go(producer, gctx, jobs, handed_out)
        for _ in range(args.workers):
            g.go(worker, jobs, results)

        def close_results_when_the_group_returns() -> None:
            try:
                g.wait()
            except BaseException:
                pass  # main's own g.wait() below reports it
            finally:
                results.close()

        go(close_results_when_the_group_returns)
        print(f"graceful: ready, pid {os.getpid()}", flush=True)

        state: dict[int, int] = {}
        while True:
            i, v = select(results.recv_ok, ctx.done().recv)
            if i == 1:
                why = context.cause(ctx)
                name = (signal.Signals(why.signal).name
                        if isinstance(why, gochan.signal.SignalReceived) else repr(why))
                print(f"graceful: got {name}, stop taking work and drain", flush=True)
                break
            assert v is not None  # case 0, a recv_ok: a (value, ok) pair
            pair, ok = v
            if not ok:  # the group returned by itself: a worker failed
                break
            job, value = pair
            state[job] = value
        stop()  # the signals' previous handlers are back: a second Ctrl+C is fatal

        # Drain within the grace period.
        drain, cancel = context.with_timeout(context.background(), args.grace)
        try:
            while True:
                i, v = select(results.recv_ok, drain.done().recv)
                if i == 1:  # the grace period is over
                    complete = False
                    break
                assert v is not None
                pair, ok = v
                if not ok:  # every worker has left
                    complete = True
                    break
                job, value = pair
                state[job] = value
        finally:
            cancel()
        n = handed_out.recv(timeout=0) if complete else len(state)
        try:
            g.wait(timeout=0)
        except TimeoutError:
            complete = False
        except Exception as e:  # a worker failed
            print(f"graceful: a worker failed: {e!r}", file=sys.stderr, flush=True)
            complete = False
        flush(args.state_file, state, n, complete)
        print(f"graceful: flushed {len(state)} of {n} jobs to {args.state_file}, exiting",
              flush=True)
        return 0 if complete else 1
    finally:
        stop()


if __name__ == "__main__":
    sys.exit(main())
