from gochan import Chan, Timer, default, select

b: Chan[int] = Chan(1)
t = Timer(1)
select(b.recv())  # E: a value, not a case
select(b.send)  # E: a bare send
select(t.c)  # E: a channel, not a case
select((b.send, "s"))  # E: a str sent on a Chan[int]
select(b.recv, (b.send, "s"), default)  # E: the same, among other cases
select(b, default)  # E: a channel, not a case
