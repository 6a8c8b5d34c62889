"""Operations on closed channels: a closed channel never blocks a receiver.

Go:
    c := make(chan bool)
    close(c)
    x := <-c      // false: the zero value, at once
    x, ok := <-c  // false false

    c := make(chan int, 3)
    c <- 15; c <- 34; c <- 65
    close(c)
    <-c, <-c, <-c, <-c  // 15 34 65 0: buffered values first, then zero

A receive on a closed channel returns the buffered values, then the zero
value (`Chan(zero=...)`, default None) with ok=False, for ever.  A send on a
closed channel, or a second close, raises ClosedChannelError (Go panics).
"""

from __future__ import annotations

from gochan import Chan, ClosedChannelError, go, nilchan


def main() -> None:
    print("-- unbuffered")
    c: Chan[bool] = Chan(zero=False)
    c.close()
    print("recv:", c.recv())
    print("recv_ok:", c.recv_ok())
    print(c)

    try:
        c.send(True)
    except ClosedChannelError as e:
        print("send:", e)
    try:
        c.close()
    except ClosedChannelError as e:
        print("close:", e)

    print("-- buffered")
    b: Chan[int] = Chan(3, zero=0)
    for v in (15, 34, 65):
        b.send(v)
    b.close()
    print(b)
    print("recv x4:", b.recv(), b.recv(), b.recv(), b.recv())
    print("recv_ok:", b.recv_ok())
    print(b)

    print("-- close wakes blocked receivers and senders")
    nobody_sends: Chan[int] = Chan(zero=0)
    nobody_receives: Chan[int] = Chan()
    report: Chan[str] = Chan(6)

    def receiver() -> None:
        report.send(f"receiver got {nobody_sends.recv_ok()}")

    def sender() -> None:
        try:
            nobody_receives.send(99)
            report.send("sender delivered 99")
        except ClosedChannelError as e:
            report.send(f"sender: {e}")

    for _ in range(3):
        go(receiver)
        go(sender)
    # Whether each thread is already blocked when the channels close or
    # arrives afterwards, the outcome is the same.
    nobody_sends.close()
    nobody_receives.close()
    for line in sorted(report.recv() for _ in range(6)):
        print(line)

    print("-- nilchan")
    try:
        nilchan.close()
    except ClosedChannelError as e:
        print("close:", e)


if __name__ == "__main__":
    main()
