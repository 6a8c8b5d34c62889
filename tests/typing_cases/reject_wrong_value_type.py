from gochan import RecvChan, SendChan


def w(out: SendChan[int]) -> None:
    out.send("not an int")  # E: line 5


def r(inp: RecvChan[int]) -> str:
    return inp.recv()  # E: line 9
