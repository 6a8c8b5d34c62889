"""gochan.signal in child processes: what would disturb pytest itself.

SIGINT (KeyboardInterrupt), SIGTERM and other default-fatal signals, fork,
notify() with no arguments, first-touch semantics of reset(), asyncio, a
process ignoring SIGHUP from its start, idle CPU, and synchronous faults.
Each test runs a small program in a fresh interpreter with a timeout; the
program prints one JSON object as its last line of output.
"""
from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import gochan

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(gochan.__file__)))

PROLOGUE = textwrap.dedent("""
    import json, os, signal, sys, threading, time
    sys.path.insert(0, %r)
    from gochan import Chan, select, go, nilchan
    import gochan.signal as gs
    from gochan._load import _lib as lib
    out = {}
    def installed(s):
        return lib.sigrelay_installed(s) == 1
    def when_parked(ch, then):
        def watch():
            deadline = time.monotonic() + 20
            while ch._waiters()[0] == 0:
                if time.monotonic() > deadline:
                    print("never parked", flush=True)
                    os._exit(3)
                time.sleep(0.001)
            then()
        threading.Thread(target=watch, daemon=True).start()
    def done():
        print(json.dumps(out), flush=True)
""") % ROOT


def child_env():
    env = dict(os.environ)
    env.pop("PYTHONFAULTHANDLER", None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [ROOT, env.get("PYTHONPATH")]))
    return env


def run(body, timeout=60, argv_prefix=(), pyflags=()):
    code = PROLOGUE + textwrap.dedent(body)
    return subprocess.run([*argv_prefix, sys.executable, *pyflags, "-c", code],
                          capture_output=True, text=True, timeout=timeout, env=child_env())


def result(proc):
    assert proc.returncode == 0, "exit %s\nstdout:\n%s\nstderr:\n%s" % (
        proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stdout.strip().splitlines()
    assert lines, "no output; stderr:\n" + proc.stderr
    return json.loads(lines[-1])


class Lines:
    """A child's stdout, line by line, with a timeout on every read."""

    def __init__(self, proc):
        self.q = queue.Queue()

        def pump():
            for line in proc.stdout:
                self.q.put(line.rstrip("\n"))
            self.q.put(None)

        threading.Thread(target=pump, daemon=True).start()

    def next(self, timeout=20):
        try:
            return self.q.get(timeout=timeout)
        except queue.Empty:
            pytest.fail("no line from the child within %s s" % timeout)


def popen(body, **kw):
    code = PROLOGUE + textwrap.dedent(body)
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=child_env(), **kw)


# ---- SIGINT --------------------------------------------------------------------

def test_notified_sigint_raises_no_keyboardinterrupt_and_stop_brings_it_back():
    r = result(run("""
        ch = Chan(1)
        gs.notify(ch, signal.SIGINT)
        out["table"] = repr(signal.getsignal(signal.SIGINT))
        when_parked(ch, lambda: os.kill(os.getpid(), signal.SIGINT))
        try:
            out["got"] = ch.recv(timeout=20).name
            time.sleep(0.3)              # a KeyboardInterrupt would surface here
            out["ki_while_notified"] = False
        except KeyboardInterrupt:
            out["ki_while_notified"] = True
        gs.stop(ch)
        out["restored"] = signal.getsignal(signal.SIGINT) is signal.default_int_handler
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)
            out["ki_after_stop"] = False
        except KeyboardInterrupt:
            out["ki_after_stop"] = True
        out["len"] = len(ch)
        done()
    """))
    assert r == {"table": "<gochan.signal relay>", "got": "SIGINT",
                 "ki_while_notified": False, "restored": True,
                 "ki_after_stop": True, "len": 0}


def test_sigint_from_outside_reaches_a_main_thread_blocked_in_select():
    p = popen("""
        ch, never = Chan(1), Chan()
        gs.notify(ch, signal.SIGINT, signal.SIGTERM)
        when_parked(ch, lambda: print("parked", flush=True))
        i, v = select(never.recv, ch.recv, timeout=30)
        t = time.monotonic()
        print(json.dumps({"i": i, "v": v.name, "t": t}), flush=True)
    """)
    try:
        lines = Lines(p)
        assert lines.next() == "parked"
        t0 = time.monotonic()
        p.send_signal(signal.SIGINT)
        r = json.loads(lines.next())
        assert p.wait(timeout=20) == 0
    finally:
        p.kill()
        p.wait()
    assert (r["i"], r["v"]) == (1, "SIGINT")
    assert r["t"] - t0 < 5.0             # promised 100 ms; generous on a shared box


# ---- reset: the disposition at first touch ------------------------------------------

def test_reset_restores_the_first_touch_disposition_not_the_previous_one():
    r = result(run("""
        calls = []
        def h(signum, frame):
            calls.append(signum)
        signal.signal(signal.SIGUSR1, h)        # before gochan touches SIGUSR1
        ch = Chan(1)
        gs.notify(ch, signal.SIGUSR1)
        gs.stop(ch)
        signal.signal(signal.SIGUSR1, signal.SIG_DFL)   # the program changes it
        gs.ignore(signal.SIGUSR1)
        out["ignored"] = gs.ignored(signal.SIGUSR1)
        os.kill(os.getpid(), signal.SIGUSR1)            # ignored: survives
        gs.reset(signal.SIGUSR1)
        out["first_touch_back"] = signal.getsignal(signal.SIGUSR1) is h
        os.kill(os.getpid(), signal.SIGUSR1)
        deadline = time.monotonic() + 10
        while not calls and time.monotonic() < deadline:
            time.sleep(0.001)
        out["calls"] = calls
        # Untouched signals are left alone by reset() with no arguments.
        signal.signal(signal.SIGUSR2, signal.SIG_IGN)
        gs.reset()
        out["usr2_untouched"] = gs.ignored(signal.SIGUSR2)
        done()
    """))
    assert r == {"ignored": True, "first_touch_back": True, "calls": [signal.SIGUSR1],
                 "usr2_untouched": True}


def test_a_signal_ignored_when_the_process_started_stays_ignored():
    # The shell ignores SIGHUP, then execs Python: ignored "at process start".
    body = """
        out["at_start"] = gs.ignored(signal.SIGHUP)
        ch = Chan(1)
        gs.notify(ch, signal.SIGHUP, signal.SIGPIPE)
        out["notified_ignored"] = gs.ignored(signal.SIGHUP)
        os.kill(os.getpid(), signal.SIGHUP)
        out["got"] = ch.recv(timeout=10).name
        gs.reset(signal.SIGHUP)
        out["after_reset"] = gs.ignored(signal.SIGHUP)
        os.kill(os.getpid(), signal.SIGHUP)          # still ignored: survives
        gs.reset()
        out["pipe_after_reset"] = gs.ignored(signal.SIGPIPE)   # CPython ignores it
        out["len"] = len(ch)
        done()
    """
    code = PROLOGUE + textwrap.dedent(body)
    proc = subprocess.run(["sh", "-c", 'trap "" HUP; exec "$0" -c "$1"', sys.executable, code],
                          capture_output=True, text=True, timeout=60, env=child_env())
    assert result(proc) == {"at_start": True, "notified_ignored": False, "got": "SIGHUP",
                            "after_reset": True, "pipe_after_reset": True, "len": 0}


# ---- notify() with no signals --------------------------------------------------

def test_notify_all_covers_every_catchable_asynchronous_signal():
    expected = sorted(int(s) for s in signal.valid_signals()
                      if s not in {signal.SIGKILL, signal.SIGSTOP, signal.SIGSEGV, signal.SIGBUS,
                                   signal.SIGFPE, signal.SIGILL, signal.SIGTRAP, signal.SIGSYS})
    r = result(run("""
        import subprocess
        ch = Chan(64)
        gs.notify(ch)
        out["installed"] = [s for s in range(1, signal.NSIG) if installed(s)]
        got = []
        def expect(what):
            v = ch.recv(timeout=10)
            got.append(v.name if isinstance(v, signal.Signals) else v)
        for s in (signal.SIGHUP, signal.SIGWINCH, signal.SIGURG, signal.SIGTERM,
                  signal.SIGQUIT, signal.SIGTSTP, signal.SIGUSR2, signal.SIGRTMIN + 3):
            os.kill(os.getpid(), s)
            expect(s)
        # Real ones, from the kernel: a child exits (SIGCHLD), a write to a
        # closed pipe (SIGPIPE, and the write still fails with EPIPE), a timer.
        subprocess.run(["true"])
        expect("CHLD")
        r, w = os.pipe()
        os.close(r)
        try:
            os.write(w, b"x")
        except BrokenPipeError:
            out["epipe"] = True
        expect("PIPE")
        signal.setitimer(signal.ITIMER_REAL, 0.05)
        expect("ALRM")
        out["got"] = got
        out["not_stopped"] = True       # SIGTSTP was relayed, not obeyed
        gs.ignore()
        out["all_ignored"] = all(gs.ignored(s) for s in out["installed"])
        out["int_table_ignored"] = signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        os.kill(os.getpid(), signal.SIGTERM)    # ignored: survives
        gs.reset()
        out["int_back"] = signal.getsignal(signal.SIGINT) is signal.default_int_handler
        out["term_default"] = lib.sigrelay_is_default(signal.SIGTERM) == 1
        out["pipe_ignored"] = gs.ignored(signal.SIGPIPE)
        out["none_installed"] = not any(installed(s) for s in range(1, signal.NSIG))
        done()
    """))
    assert r["installed"] == expected
    assert r["got"] == ["SIGHUP", "SIGWINCH", "SIGURG", "SIGTERM", "SIGQUIT", "SIGTSTP",
                        "SIGUSR2", int(signal.SIGRTMIN) + 3, "SIGCHLD", "SIGPIPE", "SIGALRM"]
    assert r["epipe"] and r["not_stopped"] and r["all_ignored"] and r["int_table_ignored"]
    assert r["int_back"] and r["term_default"] and r["pipe_ignored"] and r["none_installed"]


# ---- stop racing a default-fatal signal ------------------------------------------

def test_stop_race_with_sigterm_default_each_signal_received_or_fatal():
    """A thread notifies and stops SIGTERM in a loop; the test sends SIGTERM
    one at a time.  Each must either reach the channel or, in a stopped
    window, kill the process with the restored SIG_DFL — never vanish."""
    p = popen("""
        import random
        ch = Chan(100)
        def toggler():
            # Mostly notified, so that many signals are received before one
            # lands in a stopped window (or is caught just before a stop).
            while True:
                gs.notify(ch, signal.SIGTERM)
                started.set()
                time.sleep(random.random() * 0.002)
                gs.stop(ch)
        def busy():
            # Contention for the GIL delays the relay's dispatch, so that
            # some signals are caught before a stop and dispatched after it.
            while True:
                pass
        started = threading.Event()
        go(busy)
        go(toggler)
        started.wait(20)
        print("ready", flush=True)
        while True:
            ch.recv()
            print("got", flush=True)
    """)
    try:
        lines = Lines(p)
        assert lines.next() == "ready"
        received = 0
        for i in range(400):
            p.send_signal(signal.SIGTERM)
            line = lines.next(timeout=20)    # a lost signal: neither "got" nor death
            if line is None:
                break
            assert line == "got"
            received += 1
        rc = p.wait(timeout=20) if line is None else None
    finally:
        p.kill()
        p.wait()
        p.stdout.close()
        p.stderr.close()
    if line is None:
        assert rc == -signal.SIGTERM
    # Otherwise every one of the 400 signals was received by the channel.


# ---- fork ----------------------------------------------------------------------

def test_fork_child_relays_and_processes_are_isolated():
    r = result(run("""
        ch = Chan(8)
        gs.notify(ch, signal.SIGUSR1)
        # A goroutine of the parent is parked on ch when the fork happens: in
        # the child it does not exist, and must not swallow the child's signal.
        parked = Chan(1)
        go(lambda: parked.send(ch.recv()))
        while ch._waiters()[0] == 0:
            time.sleep(0.001)
        p2c_r, p2c_w = os.pipe()
        c2p_r, c2p_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            res = {}
            try:
                os.close(p2c_w); os.close(c2p_r)
                def tell(s):
                    os.write(c2p_w, s.encode() + b"\\n")
                pr = os.fdopen(p2c_r)
                # 1. Notifications made before the fork work in the child,
                # through the child's own pipe (the parent's relay still
                # reads the parent's: a shared pipe would lose wake-ups).
                got = []
                for i in range(20):
                    os.kill(os.getpid(), signal.SIGUSR1)
                    got.append(ch.recv(timeout=10).name)
                res["self"] = sorted(set(got))
                res["relay_alive"] = gs._relay.is_alive()
                # 2. notify in the child works.
                c2 = Chan(1)
                gs.notify(c2, signal.SIGUSR2)
                os.kill(os.getpid(), signal.SIGUSR2)
                res["child_notify"] = c2.recv(timeout=10).name
                tell("ready")
                # 3. The parent signals itself: nothing arrives here.
                assert pr.readline().strip() == "parent-signalled-itself"
                try:
                    ch.recv(timeout=0.5)
                    res["leak_from_parent"] = True
                except TimeoutError:
                    res["leak_from_parent"] = False
                tell("checked")
                # 4. The parent signals the child: it arrives here.
                res["from_parent"] = ch.recv(timeout=10).name
                tell(json.dumps(res))
                os._exit(0)
            except BaseException as e:
                tell(json.dumps({"error": repr(e)}))
                os._exit(1)
        os.close(p2c_r); os.close(c2p_w)
        cr = os.fdopen(c2p_r)
        assert cr.readline().strip() == "ready"
        os.kill(os.getpid(), signal.SIGUSR1)
        out["parent_self"] = parked.recv(timeout=10).name  # its goroutine got it
        os.write(p2c_w, b"parent-signalled-itself\\n")
        assert cr.readline().strip() == "checked"
        os.kill(pid, signal.SIGUSR1)
        out["child"] = json.loads(cr.readline())
        _, status = os.waitpid(pid, 0)
        out["child_status"] = status
        try:
            out["leak_from_child"] = ch.recv(timeout=0.5).name
        except TimeoutError:
            out["leak_from_child"] = None
        done()
    """))
    assert r == {"parent_self": "SIGUSR1",
                 "child": {"self": ["SIGUSR1"], "relay_alive": True, "child_notify": "SIGUSR2",
                           "leak_from_parent": False, "from_parent": "SIGUSR1"},
                 "child_status": 0, "leak_from_child": None}


def test_fork_under_a_signal_storm():
    """Forks while the parent's relay is busy: every child gets its own working
    relay, and the parent's keeps working."""
    r = result(run("""
        ch = Chan(1)
        storm = Chan(1)
        gs.notify(ch, signal.SIGUSR1)
        gs.notify(storm, signal.SIGUSR2)
        stop = threading.Event()
        def hammer():
            while not stop.is_set():
                os.kill(os.getpid(), signal.SIGUSR2)
        t = threading.Thread(target=hammer, daemon=True)
        t.start()
        statuses = []
        for i in range(10):
            pid = os.fork()
            if pid == 0:
                try:
                    while len(ch):
                        ch.recv(timeout=0)
                    os.kill(os.getpid(), signal.SIGUSR1)
                    ok = ch.recv(timeout=10) == signal.SIGUSR1
                    os._exit(0 if ok else 2)
                except BaseException:
                    os._exit(3)
            _, st = os.waitpid(pid, 0)
            statuses.append(os.waitstatus_to_exitcode(st))
        stop.set()
        t.join(10)
        os.kill(os.getpid(), signal.SIGUSR1)
        out["parent"] = ch.recv(timeout=10).name
        out["statuses"] = statuses
        done()
    """, timeout=120))
    assert r == {"parent": "SIGUSR1", "statuses": [0] * 10}


# ---- asyncio and set_wakeup_fd ------------------------------------------------------

def test_asyncio_add_signal_handler_beside_notify():
    r = result(run("""
        import asyncio
        ch = Chan(4)
        gs.notify(ch, signal.SIGUSR1, signal.SIGINT)
        me = os.getpid()

        async def main():
            loop = asyncio.get_running_loop()
            got = asyncio.Event()
            loop.add_signal_handler(signal.SIGUSR2, got.set)
            os.kill(me, signal.SIGUSR2)
            await asyncio.wait_for(got.wait(), 10)
            out["asyncio_usr2"] = True
            os.kill(me, signal.SIGUSR1)
            out["in_loop_usr1"] = (await loop.run_in_executor(None, ch.recv, 10)).name
            # asyncio.run() left SIGINT alone: getsignal reported gochan's relay.
            os.kill(me, signal.SIGINT)
            out["in_loop_int"] = (await loop.run_in_executor(None, ch.recv, 10)).name
            got.clear()
            os.kill(me, signal.SIGUSR2)
            await asyncio.wait_for(got.wait(), 10)
            out["asyncio_usr2_again"] = True

        asyncio.run(main())
        out["wakeup_fd_after"] = signal.set_wakeup_fd(-1)
        out["usr2_after"] = signal.getsignal(signal.SIGUSR2) is signal.SIG_DFL
        os.kill(me, signal.SIGUSR1)
        out["after_usr1"] = ch.recv(timeout=10).name
        os.kill(me, signal.SIGINT)
        out["after_int"] = ch.recv(timeout=10).name
        out["int_table"] = repr(signal.getsignal(signal.SIGINT))
        done()
    """))
    assert r == {"asyncio_usr2": True, "in_loop_usr1": "SIGUSR1", "in_loop_int": "SIGINT",
                 "asyncio_usr2_again": True, "wakeup_fd_after": -1, "usr2_after": True,
                 "after_usr1": "SIGUSR1", "after_int": "SIGINT",
                 "int_table": "<gochan.signal relay>"}


def test_set_wakeup_fd_user_sees_only_its_own_signals():
    r = result(run("""
        rfd, wfd = os.pipe()
        os.set_blocking(wfd, False)
        os.set_blocking(rfd, False)
        seen = []
        signal.signal(signal.SIGUSR2, lambda s, f: seen.append(s))
        old = signal.set_wakeup_fd(wfd)
        ch = Chan(1)
        gs.notify(ch, signal.SIGUSR1)
        os.kill(os.getpid(), signal.SIGUSR1)
        out["relayed"] = ch.recv(timeout=10).name
        os.kill(os.getpid(), signal.SIGUSR2)
        deadline = time.monotonic() + 10
        while not seen and time.monotonic() < deadline:
            time.sleep(0.001)
        out["handler"] = seen
        out["wakeup_bytes"] = list(os.read(rfd, 100))
        out["old_fd"] = old
        gs.stop(ch)
        done()
    """))
    assert r == {"relayed": "SIGUSR1", "handler": [signal.SIGUSR2],
                 "wakeup_bytes": [signal.SIGUSR2], "old_fd": -1}


# ---- cost and faults -------------------------------------------------------------

def test_idle_process_with_active_notify_uses_little_cpu():
    r = result(run("""
        ch = Chan(1)
        gs.notify(ch, signal.SIGTERM, signal.SIGINT, signal.SIGUSR1)
        side = Chan(1)
        gs.notify(side)                     # every signal, on a second channel
        t0, c0 = time.monotonic(), os.times()
        try:
            ch.recv(timeout=2.0)
        except TimeoutError:
            pass
        c1, t1 = os.times(), time.monotonic()
        out["cpu"] = (c1.user - c0.user) + (c1.system - c0.system)
        out["wall"] = t1 - t0
        done()
    """))
    assert r["wall"] >= 1.9
    assert r["cpu"] < 0.05 * r["wall"], r


def test_a_real_fault_goes_to_the_previous_handler_not_the_channel():
    body = """
        import ctypes
        ch = Chan(1)
        gs.notify(ch, signal.SIGSEGV)
        os.kill(os.getpid(), signal.SIGSEGV)       # sent by kill: relayed
        print("relayed", ch.recv(timeout=10).name, flush=True)
        ctypes.string_at(0)                        # a real fault
        print("survived?!", flush=True)
    """
    plain = run(body, timeout=30)
    assert plain.stdout.splitlines() == ["relayed SIGSEGV"]
    assert plain.returncode == -signal.SIGSEGV
    # With faulthandler (installed before gochan), the fault reaches it.
    fh = run(body, timeout=30, pyflags=("-X", "faulthandler"))
    assert fh.stdout.splitlines() == ["relayed SIGSEGV"]
    assert fh.returncode == -signal.SIGSEGV
    assert "Fatal Python error: Segmentation fault" in fh.stderr
