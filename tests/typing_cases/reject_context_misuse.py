from gochan import Group, context

ctx, cancel = context.with_cancel(context.background())
ctx.done().send(None)  # E: line 4
cancel(ValueError("a plain cancel takes no cause"))  # E: line 5
context.with_timeout(ctx, "5")  # E: line 6
Group().go(42)  # E: line 7
