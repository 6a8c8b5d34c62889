"""Iterate over a channel until it is closed: `for v in ch`.

Go:
    c := make(chan int, 3)
    c <- 15; c <- 34; c <- 65
    close(c)
    for i := range c {
        fmt.Printf("%d\n", i)
    }

`for v in ch` receives until the channel is closed and drained, so the
producer ends the consumer's loop by closing the channel.
"""

from __future__ import annotations

from gochan import Chan, SendChan, go


def squares(n: int, out: SendChan[int]) -> None:
    try:
        for i in range(n):
            out.send(i * i)
    finally:
        out.close()  # ends the consumer's for loop


def main() -> None:
    c: Chan[int] = Chan(3)
    c.send(15)
    c.send(34)
    c.send(65)
    c.close()
    for i in c:  # the buffered values, then the loop ends
        print(i)

    # A producer thread and an unbuffered channel: the loop ends when the
    # producer closes the channel.
    out: Chan[int] = Chan()
    go(squares, 6, out)
    print("squares:", list(out))


if __name__ == "__main__":
    main()
