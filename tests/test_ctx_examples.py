"""End-to-end tests of the cancellation examples in docs/examples, with real
processes and real signals (the helpers are test_signal_examples.py's):

  graceful_ctx.py          graceful.py with notify_context + Group: drains,
                           flushes a complete state file, exits 0; also as PID 1
  gobyexample_signals.py   Go by Example's "signals" with notify_context
  gobyexample_context.py   Go by Example's "context": an http.server handler
                           that stops when the client goes away or the
                           deadline passes
"""
from __future__ import annotations

import os
import signal
import socket
import time

import pytest

from test_signal_examples import (EXAMPLES, PY, UNSHARE, check_state, namespace_init,  # noqa: F401
                                  pid_namespace, procs)


# ---- graceful_ctx --------------------------------------------------------------------

# Draining on SIGTERM/SIGINT, and as PID 1: test_signal_examples.py runs
# graceful.py and graceful_ctx.py with the same tests.


def test_graceful_ctx_second_signal_after_stop_is_fatal_again(procs, tmp_path):
    # stop() runs right after the first signal: a second SIGINT is a
    # KeyboardInterrupt again.  With a long drain the second one lands in it.
    state = tmp_path / "state.json"
    p = procs([PY, "-c", "import sys, time; "
               "sys.argv = ['graceful_ctx.py', %r]; " % str(state) +
               "import graceful_ctx as g\n"
               "def slow(jobs, results):\n"
               "    for job in jobs:\n"
               "        time.sleep(0.5); results.send((job, job * job))\n"
               "g.worker = slow; sys.exit(g.main())"])
    p.expect("graceful: ready")
    time.sleep(0.3)
    p.p.send_signal(signal.SIGINT)
    assert p.line() == "graceful: got SIGINT, stop taking work and drain"
    time.sleep(0.2)
    p.p.send_signal(signal.SIGINT)
    # An uncaught KeyboardInterrupt: Python reports it and dies of SIGINT.
    assert p.wait() == -signal.SIGINT
    assert "KeyboardInterrupt" in "".join(p.err)


# ---- gobyexample_signals -------------------------------------------------------------

@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=lambda s: s.name)
def test_gobyexample_signals(procs, sig):
    p = procs([PY, "gobyexample_signals.py"])
    p.expect("awaiting signal")
    p.p.send_signal(sig)
    assert p.rest() == ["", "%s received" % sig.name, "exiting"]
    assert p.wait() == 0
    assert "".join(p.err) == ""


# ---- gobyexample_context -------------------------------------------------------------

def server(procs, *flags):
    p = procs([PY, "gobyexample_context.py", "--port", "0", *flags])
    port = int(p.expect("server: listening on port").rsplit(" ", 1)[1])
    return p, port


def get_hello(port, timeout=30):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(b"GET /hello HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    return s


def read_all(s):
    out = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            return out.decode()
        out += chunk


def stop_server(p):
    p.p.send_signal(signal.SIGTERM)
    assert p.rest() == ["server: SIGTERM received, shutting down"]
    assert p.wait() == 0
    assert "".join(p.err) == ""


def test_gobyexample_context_client_goes_away(procs):
    p, port = server(procs, "--work", "60")
    s = get_hello(port)
    assert p.line() == "server: hello handler started"
    s.close()                           # Ctrl+C on curl
    assert p.line() == "server: context canceled"
    assert p.line() == "server: hello handler ended"
    stop_server(p)


def test_gobyexample_context_deadline(procs):
    p, port = server(procs, "--work", "60", "--deadline", "0.3")
    s = get_hello(port)
    assert p.line() == "server: hello handler started"
    assert p.line() == "server: context deadline exceeded"
    assert p.line() == "server: hello handler ended"
    reply = read_all(s)
    assert reply.startswith("HTTP/1.0 500 ")
    assert reply.endswith("\r\n\r\ncontext deadline exceeded\n")
    stop_server(p)


def test_gobyexample_context_work_finishes(procs):
    p, port = server(procs, "--work", "0.1", "--deadline", "30")
    reply = read_all(get_hello(port))
    assert reply.startswith("HTTP/1.0 200 ") and reply.endswith("\r\n\r\nhello\n")
    assert p.line() == "server: hello handler started"
    assert p.line() == "server: hello handler ended"
    stop_server(p)


def test_gobyexample_context_shutdown_cancels_requests_in_flight(procs):
    p, port = server(procs, "--work", "60")
    s = get_hello(port)
    assert p.line() == "server: hello handler started"
    p.p.send_signal(signal.SIGTERM)
    rest = p.rest()
    assert p.wait() == 0
    assert set(rest) == {"server: SIGTERM received, shutting down", "server: context canceled",
                         "server: hello handler ended"}
    s.close()
