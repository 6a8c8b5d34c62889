"""Normal, well-typed use of gochan: mypy --strict must accept this file, and
it must also run (annotations are evaluated at run time)."""
import sys

if sys.version_info >= (3, 11):
    from typing import assert_type
else:  # mypy depends on typing_extensions, and these cases need mypy
    from typing_extensions import assert_type

from gochan import Chan, RecvChan, SendChan, WaitGroup, default, go, nilchan, select


def producer(out: SendChan[int], n: int) -> None:
    for i in range(n):
        out.send(i)
    out.close()


def consumer(inp: RecvChan[int]) -> list[int]:
    got: list[int] = []
    for v in inp:
        assert_type(v, int)
        got.append(v)
    return got


def main() -> None:
    c: Chan[int] = Chan(3)
    c.send(1, timeout=0)
    assert_type(c.recv(), int)
    c.send(2)
    pair = c.recv_ok(timeout=1.0)
    assert_type(pair, tuple[int, bool])
    v, ok = pair
    assert v == 2 and ok

    # A Chan is both directions: it can be passed to either kind of function.
    wg = WaitGroup()
    wg.add(1)

    def run() -> None:
        producer(c, 5)
        wg.done()

    t = go(run)
    assert consumer(c) == [0, 1, 2, 3, 4]
    assert wg.wait(timeout=10) is True
    t.join(10)

    n: int = len(c) + c.cap
    assert n == 3

    zc: Chan[str] = Chan(0, zero="")
    zc.close()
    s, sok = zc.recv_ok()
    assert_type(s, str)
    assert (s, sok) == ("", False)

    d: Chan[str] = Chan(1)
    d.send("x")
    e: Chan[int] = Chan(1)
    i, _ = select(d.recv, (e.send, 9), nilchan.recv, default)
    idx: int = i
    assert idx in (0, 1)


if __name__ == "__main__":
    main()
