"""Time out with after(): one case of a select is a timer channel.

Go:
    func worker(start chan bool) {
        timeout := time.After(30 * time.Second)
        for {
            select {
            // ... do some stuff
            case <-timeout:
                return
            }
        }
    }

after(s) returns a channel that delivers one value s seconds from now.
Created once before the loop, it is a deadline for the whole loop; created
inside the select, it would limit each wait separately.
"""

from __future__ import annotations

from gochan import Chan, RecvChan, SendChan, after, go, select


Request = tuple[str, SendChan[str]]  # (request, channel for the reply)


def call(server: SendChan[Request], request: str, timeout: float) -> str:
    """Send a request and wait at most `timeout` seconds for the reply."""
    reply: Chan[str] = Chan(1)
    server.send((request, reply))
    i, v = select(reply.recv, after(timeout).recv)
    return v if i == 0 else f"no reply to {request!r} within {timeout} s"


def serve(requests: RecvChan[Request]) -> None:
    for request, reply in requests:
        if request == "ping":
            reply.send("pong")
        # anything else is ignored: the caller's timeout handles it


def worker(jobs: RecvChan[int], report: SendChan[str]) -> None:
    timeout = after(1.0)  # one deadline for the whole loop
    handled = 0
    while True:
        i, _ = select(jobs.recv, timeout.recv)
        if i == 1:
            report.send(f"worker: handled {handled} jobs, then the deadline passed")
            return
        handled += 1


def main() -> None:
    print("-- a timeout on one request")
    server: Chan[Request] = Chan()
    go(serve, server)
    print(call(server, "ping", timeout=30))  # answered at once: no waiting
    print(call(server, "shutdown", timeout=0.1))

    print("-- a deadline for a whole loop")
    jobs: Chan[int] = Chan(5)
    for n in range(5):
        jobs.send(n)
    report: Chan[str] = Chan()
    go(worker, jobs, report)
    print(report.recv())


if __name__ == "__main__":
    main()
