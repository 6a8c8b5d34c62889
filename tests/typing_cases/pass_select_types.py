"""select's static types: each case's value type, narrowed by the case's
index under ``match``.  Both checkers must accept this file (strict), and it
must also run."""
import sys
from typing import NoReturn

if sys.version_info >= (3, 11):
    from typing import Literal, assert_type
else:  # mypy depends on typing_extensions, and these cases need mypy
    from typing import Literal

    from typing_extensions import assert_type

from gochan import Chan, DefaultCase, RecvCase, RecvChan, SendChan, Timer, after, default, select


def blocks_for_ever() -> NoReturn:
    # No case: select never returns (Go's select {}); nor with a timeout,
    # which raises TimeoutError.  A checker sees that this function cannot
    # fall off its end.  (Not called.)
    select()


def times_out() -> NoReturn:
    select(timeout=0.1)


def from_a_function(inp: RecvChan[int], out: SendChan[str]) -> None:
    # Directional channels give the same cases as a Chan.
    r = select(inp.recv, (out.send, "x"), default)
    assert_type(r, "tuple[Literal[0], int] | tuple[Literal[1], None] | tuple[Literal[2], None]")


def main() -> None:
    a: Chan[int] = Chan(1)
    b: Chan[str] = Chan(1)
    f: Chan[float] = Chan(1)
    a.send(1)

    i, v = select(a.recv, b.recv_ok, default)
    assert_type(i, Literal[0, 1, 2])
    assert_type(v, "int | tuple[str, bool] | None")
    assert (i, v) == (0, 1)

    b.send("s")
    match select(a.recv, b.recv_ok, timeout=1):
        case 0, n:
            assert_type(n, int)
            raise AssertionError("a is empty")
        case 1, (s, ok):
            assert_type(s, str)
            assert_type(ok, bool)
            assert (s, ok) == ("s", True)

    # A send case: its value must be of the channel's type (an int is a float).
    assert_type(select((f.send, 1), default), "tuple[Literal[0], None] | tuple[Literal[1], None]")
    assert f.recv() == 1

    # Timers' channels are RecvChan[float]: their cases give the fire time.
    t = Timer(0)
    j, when = select(t.c.recv, after(60).recv)
    assert_type(when, float)
    assert j == 0 and when > 0

    # default has its own type.
    d: DefaultCase = default
    assert_type(select(d), "tuple[Literal[0], None]")

    # Cases built at run time: RecvCase[T] for a list of receives.
    chans: list[Chan[int]] = [Chan(1) for _ in range(8)]
    chans[5].send(5)
    cases: list[RecvCase[int]] = [c.recv for c in chans]
    k, w = select(*cases)
    assert_type(w, int)
    assert (k, w) == (5, 5)

    # More than four cases: the receives' type, or None with a send/default.
    m = select(a.recv, a.recv, a.recv, a.recv, a.recv, default)
    assert_type(m, "tuple[int, int | None]")
    assert m == (5, None)

    # Chan(n, zero=z) takes its type from z.
    z = Chan(1, zero="")
    assert_type(z, Chan[str])


if __name__ == "__main__":
    main()
