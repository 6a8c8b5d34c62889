from gochan import RecvChan


def r(inp: RecvChan[int]) -> None:
    inp.send(1)  # E: line 5
