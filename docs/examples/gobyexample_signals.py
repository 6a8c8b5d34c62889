"""Go by Example: Signals (https://gobyexample.com/signals), with
signal.NotifyContext.

    ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
    defer stop()
    fmt.Println("awaiting signal")
    <-ctx.Done()
    fmt.Println()
    fmt.Println(context.Cause(ctx))
    fmt.Println("exiting")

Run it and press Ctrl+C (or `kill -TERM` it): the context is done when the
first of the signals arrives, and its cause names the signal.
"""

import signal

import gochan.signal
from gochan import context

ctx, stop = gochan.signal.notify_context(context.background(), signal.SIGINT, signal.SIGTERM)
try:
    print("awaiting signal", flush=True)
    ctx.done().recv()
    print()
    print(context.cause(ctx))
    print("exiting")
finally:
    stop()
