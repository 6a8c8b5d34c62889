from gochan import SendChan


def w(out: SendChan[int]) -> None:
    out.recv()  # E: line 5
