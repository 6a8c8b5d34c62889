"""Go by Example: Context (https://gobyexample.com/context), on http.server.

    python gobyexample_context.py [--port 8090] [--work 10] [--deadline S]

Go's handler:

    func hello(w http.ResponseWriter, req *http.Request) {
        ctx := req.Context()
        fmt.Println("server: hello handler started")
        defer fmt.Println("server: hello handler ended")
        select {
        case <-time.After(10 * time.Second):
            fmt.Fprintf(w, "hello\\n")
        case <-ctx.Done():
            err := ctx.Err()
            fmt.Println("server:", err)
            http.Error(w, err.Error(), http.StatusInternalServerError)
        }
    }

`curl localhost:8090/hello` and press Ctrl+C before the 10 s are over: the
server prints `server: context canceled`.  Go's net/http gives every request
a context canceled when the client goes away; http.server does not, so
`request_context` makes one: a goroutine watches the connection and cancels
the context when the client closes it, and `context.after_func` wakes that
goroutine when the request is over.  With `--deadline S` the request context
also has a deadline (`server: context deadline exceeded`).  The request
contexts are children of the server's, made by `notify_context`: SIGINT or
SIGTERM cancels the requests in flight and stops the server (exit 0).
"""

from __future__ import annotations

import argparse
import os
import select as _select
import signal
import socket
import threading
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional

import gochan.signal
from gochan import after, context, go, select


def watch_client(sock: socket.socket, wake: int, cancel: context.CancelFunc) -> None:
    """Cancel the request's context when the client closes the connection;
    return when woken through ``wake`` (the request is over)."""
    p = _select.poll()
    p.register(sock, _select.POLLIN | _select.POLLRDHUP)
    p.register(wake, _select.POLLIN)
    while True:
        for fd, ev in p.poll():
            if fd == wake:
                return
            if ev & (_select.POLLRDHUP | _select.POLLHUP | _select.POLLERR):
                cancel()
                return
            try:
                if sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b"":
                    cancel()        # end of file: the client went away
                    return
                # The client sent more (its next request): watch for hang-ups only.
                p.modify(sock, _select.POLLRDHUP)
            except BlockingIOError:
                pass
            except OSError:
                cancel()
                return


def say(line: str) -> None:
    """One line in one write, as Go's fmt.Println: print() writes the text and
    the newline separately, so lines of two threads could interleave."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def request_context(parent: context.Context, sock: socket.socket,
                    deadline: Optional[float]) -> tuple[context.Context, context.CancelFunc]:
    """A context for one request, done when the client goes away, the
    deadline passes, the parent is done or the returned cancel is called."""
    if deadline is None:
        ctx, cancel = context.with_cancel(parent)
    else:
        ctx, cancel = context.with_timeout(parent, deadline)
    r, w = os.pipe()
    woke = threading.Event()

    def wake_watcher() -> None:
        try:
            os.write(w, b"x")
        finally:
            woke.set()

    watcher = go(watch_client, sock, r, cancel)
    stop_waking = context.after_func(ctx, wake_watcher)

    def done_with_it() -> None:
        cancel()
        watcher.join()
        # ctx is done, so wake_watcher runs in its own goroutine unless
        # stop() still keeps it from starting; the pipe stays open until it
        # has written (Go's AfterFunc: stop() false means f has started).
        if not stop_waking():
            woke.wait(10)
        os.close(r)
        os.close(w)

    return ctx, done_with_it


def hello(ctx: context.Context, w: BaseHTTPRequestHandler, work: float) -> None:
    say("server: hello handler started")
    try:
        i, _ = select(after(work).recv, ctx.done().recv)
        if i == 0:
            w.send_response(200)
            w.send_header("Content-Type", "text/plain")
            w.end_headers()
            w.wfile.write(b"hello\n")
        else:
            err = ctx.err()
            say(f"server: {err}")
            try:            # http.Error(w, err.Error(), http.StatusInternalServerError)
                body = f"{err}\n".encode()
                w.send_response(500)
                w.send_header("Content-Type", "text/plain; charset=utf-8")
                w.send_header("Content-Length", str(len(body)))
                w.end_headers()
                w.wfile.write(body)
            except OSError:
                pass        # the client is gone: nobody reads the error
    finally:
        say("server: hello handler ended")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=8090, help="0: any free port")
    ap.add_argument("--work", type=float, default=10.0, help="seconds the handler works")
    ap.add_argument("--deadline", type=float, default=None, help="seconds allowed per request")
    args = ap.parse_args()

    root, stop = gochan.signal.notify_context(context.background(), signal.SIGINT, signal.SIGTERM)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != "/hello":
                self.send_error(404)
                return
            ctx, done = request_context(root, self.connection, args.deadline)
            try:
                hello(ctx, self, args.work)
            finally:
                done()

        def log_message(self, format: str, *a: object) -> None:
            pass        # Go's server logs nothing either

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    go(server.serve_forever)
    say(f"server: listening on port {server.server_address[1]}")
    try:
        root.done().recv()
        say(f"server: {context.cause(root)}, shutting down")
    finally:
        stop()
        server.shutdown()
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
