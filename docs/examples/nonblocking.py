"""Non-blocking send and receive: select with `default`.

Go:
    select {
    case x := <-c:
        // got a value
    default:
        // nothing ready: do not wait
    }

    select {
    case c <- v:
        // sent
    default:
        // nobody ready to take it: drop it
    }

With `default` among its cases, select never blocks: if no other case can
proceed at once, it takes the default case.
"""

from __future__ import annotations

from gochan import Chan, default, select


def try_recv(c: Chan[str]) -> str:
    i, v = select(c.recv, default)
    return f"received {v!r}" if i == 0 else "nothing to receive"


def try_send(c: Chan[str], v: str) -> str:
    i, _ = select((c.send, v), default)
    return f"sent {v!r}" if i == 0 else f"nobody ready, dropped {v!r}"


def main() -> None:
    print("-- unbuffered, nobody on the other side")
    c: Chan[str] = Chan()
    print(try_recv(c))
    print(try_send(c, "hello"))

    print("-- buffered, capacity 2")
    b: Chan[str] = Chan(2)
    for msg in ("one", "two", "three"):
        print(try_send(b, msg))
    for _ in range(3):
        print(try_recv(b))

    print("-- the same with timeout=0")
    b.send("four")
    print("recv(timeout=0):", b.recv(timeout=0))
    try:
        b.recv(timeout=0)
    except TimeoutError:
        print("recv(timeout=0): TimeoutError, nothing buffered")
    try:
        c.send("five", timeout=0)
    except TimeoutError:
        print("send(timeout=0): TimeoutError, no receiver waiting")

    print("-- a lossy log: keep at most 3 messages, drop the rest")
    log: Chan[str] = Chan(3)
    dropped = 0
    for n in range(10):
        i, _ = select((log.send, f"event {n}"), default)
        if i == 1:
            dropped += 1
    log.close()
    print("kept:", list(log))
    print("dropped:", dropped)


if __name__ == "__main__":
    main()
