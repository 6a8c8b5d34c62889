"""Stop selecting on a closed channel by replacing it with nilchan.

Go:
    for {
        select {
        case x, ok := <-c1:
            if !ok { c1 = nil; continue }  // closed: never select it again
            ...
        case x, ok := <-c2:
            if !ok { c2 = nil; continue }
            ...
        }
        if c1 == nil && c2 == nil { break }
    }

A closed channel is always ready, so once c1 is closed the select would
pick it again and again (a busy loop).  A case on the nil channel is never
ready: setting c1 to nilchan switches that case off and the select waits on
the channels that are still open.
"""

from __future__ import annotations

from gochan import Chan, RecvChan, SendChan, go, nilchan, select


def produce(values: list[int], out: SendChan[int]) -> None:
    try:
        for v in values:
            out.send(v)
    finally:
        out.close()


def merge(c1: RecvChan[int], c2: RecvChan[int]) -> tuple[list[int], list[int]]:
    """Receive from c1 and c2 until both are closed."""
    from_c1: list[int] = []
    from_c2: list[int] = []
    while c1 is not nilchan or c2 is not nilchan:
        i, (v, ok) = select(c1.recv_ok, c2.recv_ok)
        if i == 0:
            if not ok:
                c1 = nilchan  # closed: switch this case off
                continue
            from_c1.append(v)
        else:
            if not ok:
                c2 = nilchan
                continue
            from_c2.append(v)
    return from_c1, from_c2


def main() -> None:
    print("-- why: a closed channel is always ready")
    closed: Chan[int] = Chan()
    closed.close()
    idle: Chan[int] = Chan()
    for _ in range(3):
        print(select(closed.recv_ok, idle.recv_ok))
    try:
        select(nilchan.recv_ok, idle.recv_ok, timeout=0.05)
    except TimeoutError:
        print("with nilchan in its place the select waits for idle only")

    print("-- merge two producers")
    c1: Chan[int] = Chan()
    c2: Chan[int] = Chan()
    go(produce, [1, 2, 3, 4, 5], c1)
    go(produce, [10, 20, 30], c2)
    # The interleaving is up to the scheduler; each channel's order is not.
    from_c1, from_c2 = merge(c1, c2)
    print("from c1:", from_c1)
    print("from c2:", from_c2)
    print("both closed, merge returned")


if __name__ == "__main__":
    main()
