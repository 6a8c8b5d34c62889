import signal
from typing import Optional

import gochan.signal
from gochan import Chan, Group, WaitGroup, context, select


def work(ctx: context.Context, out: Chan[int]) -> Optional[BaseException]:
    i, _ = select((out.send, 1), ctx.done().recv)
    return ctx.err() if i == 1 else None


ctx, cancel = context.with_timeout(context.background(), 5.0)
c2, cancel_cause = context.with_cancel_cause(ctx)
cancel_cause(ValueError("why"))
why: Optional[BaseException] = context.cause(c2)
d: Optional[float] = ctx.deadline()
v = context.with_value(ctx, "k", 1).value("k")
stop = context.after_func(ctx, lambda: None)
stopped: bool = stop()
cancel()

g, gctx = Group.with_context(context.background())
g.go(work, gctx, Chan(1))
started: bool = g.try_go(work, gctx, Chan(1))
g.set_limit(-1)
g.wait(timeout=5)

wg = WaitGroup()
wg.go(print, "hi")
wg.wait()

sctx, sstop = gochan.signal.notify_context(context.background(), signal.SIGUSR1)
sstop()
assert isinstance(sctx.err(), context.Canceled)
