"""The process-wide deadlock detector (API.md, end of "gochan.testing"):
Go's checkdead for threads.  Each case is a small program in a child
process (with a timeout): a deadlock ends it with Go's message on stderr and
exit status 2; anything that could still wake a thread (a thread running,
sleeping, on a lock; a timeout; a pending timer; a signal notification)
keeps the program alive.
"""
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MESSAGE = "fatal error: all goroutines are asleep - deadlock!\n"


def run(body, timeout=30, **kw):
    src = "import sys; sys.path.insert(0, %r)\n" % ROOT + textwrap.dedent(body)
    return subprocess.run([sys.executable, "-c", src], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, **kw)


def assert_deadlock(proc, stdout=None):
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert proc.stderr.startswith(MESSAGE), proc.stderr
    if stdout is not None:
        assert proc.stdout == stdout


@pytest.mark.parametrize("op", ["nilchan.recv()", "nilchan.send(1)", "select()",
                                "Chan().recv()", "Chan().send(1)", "select(Chan().recv, nilchan.recv)"])
def test_lone_main_thread_blocked_for_ever(op):
    proc = run("""
        from gochan import Chan, nilchan, select
        print("before", flush=False)   # buffered: must still come out
        %s
        print("after")
    """ % op)
    assert_deadlock(proc, "before\n")


def test_every_goroutine_blocked_and_the_report_names_them():
    proc = run("""
        from gochan import Chan, go, select, WaitGroup
        a, b = Chan(), Chan()
        def left(): a.recv()
        def right(): b.send(2)
        go(left); go(right)
        wg = WaitGroup(); wg.add(1)
        wg.wait()
    """)
    assert_deadlock(proc)
    assert "recv on <Chan cap=0 len=0 open>" in proc.stderr
    assert "send on <Chan cap=0 len=0 open>" in proc.stderr
    assert "left" in proc.stderr and "right" in proc.stderr


def test_a_non_daemon_thread_asleep_for_ever_does_not_keep_the_program():
    proc = run("""
        import threading
        from gochan import Chan
        threading.Thread(target=Chan().recv).start()   # not a daemon
        Chan().recv()
    """)
    assert_deadlock(proc)


def test_caught_deadlock_lets_the_program_go_on():
    proc = run("""
        from gochan import Chan, Deadlock
        try:
            Chan().recv()
        except Deadlock as e:
            print("caught:", e)
    """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "caught: all goroutines are asleep - deadlock!\n"


def test_never_with_a_timeout():
    proc = run("""
        from gochan import Chan, go, nilchan
        go(nilchan.recv)
        try:
            Chan().recv(timeout=0.5)
        except TimeoutError as e:
            print(type(e).__name__)
    """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "TimeoutError\n"


def test_not_while_a_thread_sleeps_then_once_it_has_gone():
    proc = run("""
        import time
        from gochan import Chan, go
        t0 = time.monotonic()
        go(time.sleep, 0.5)
        try:
            Chan().recv()
        except BaseException:
            print("after sleeper:", time.monotonic() - t0 >= 0.5, flush=True)
            raise
    """)
    assert_deadlock(proc, "after sleeper: True\n")


def test_not_while_a_thread_waits_on_a_lock():
    proc = run("""
        import threading, time
        from gochan import Chan, go
        lock = threading.Lock(); lock.acquire()
        c = Chan()
        def locked():
            with lock:
                c.send("got the lock")
        go(locked)
        go(lambda: (time.sleep(0.3), lock.release()))
        print(c.recv())
    """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "got the lock\n"


def test_not_while_a_timer_or_after_func_is_pending():
    proc = run("""
        from gochan import Chan, after, after_func, select
        c = Chan(1)
        after_func(0.3, c.send, "after_func ran")
        print(c.recv(), flush=True)
        t = after(0.3)
        print(select(t.recv)[0], flush=True)
        t2 = after(0.2)      # nobody receives it: once fired, nothing is pending
        Chan().recv()
    """)
    assert_deadlock(proc, "after_func ran\n0\n")


def test_not_while_a_signal_is_notified():
    src = textwrap.dedent("""
        import sys; sys.path.insert(0, %r)
        import signal, gochan.signal
        from gochan import Chan
        c = Chan(1)
        gochan.signal.notify(c, signal.SIGUSR1)
        print("ready", flush=True)
        print(c.recv().name, flush=True)
        gochan.signal.stop(c)
        Chan().recv()        # nothing notified any more: a deadlock
    """) % ROOT
    # 0.5 s: the detector would have spoken by now, and the child must still run
    p, out, err = signalled(src, signal.SIGUSR1, 0.5)
    assert out == "SIGUSR1\n"
    assert p.returncode == 2 and err.startswith(MESSAGE), err


def signalled(src, signum, after):
    """Run src in a child; once it prints "ready", wait `after` seconds, check
    that it still runs and send it signum; return the process, its stdout
    and stderr (a child that hangs is killed)."""
    p = subprocess.Popen([sys.executable, "-c", src], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline() == "ready\n"
        time.sleep(after)
        assert p.poll() is None
        os.kill(p.pid, signum)
        out, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    return p, out, err


def test_ctrl_c_still_wins_over_nothing():
    # A main thread blocked for ever with another thread in time.sleep: no
    # deadlock, and SIGINT still interrupts it.
    src = textwrap.dedent("""
        import sys; sys.path.insert(0, %r)
        import time
        from gochan import Chan, go
        go(time.sleep, 60)
        print("ready", flush=True)
        try:
            Chan().recv()
        except KeyboardInterrupt:
            print("interrupted", flush=True)
    """) % ROOT
    p, out, err = signalled(src, signal.SIGINT, 0.3)
    assert out == "interrupted\n", err
    assert p.returncode == 0


def test_a_bubble_inside_a_deadlocked_program():
    # run() in the main thread: the bubble's own detector speaks first.
    proc = run("""
        from gochan import Chan, Deadlock, testing
        try:
            testing.run(lambda: Chan().recv())
        except Deadlock as e:
            print(str(e).splitlines()[0])
        Chan().recv()
    """)
    assert_deadlock(proc, "deadlock: every goroutine of the bubble is durably blocked (virtual time 0 s):\n")


def test_sleep_is_interruptible_and_never_a_deadlock():
    src = textwrap.dedent("""
        import sys; sys.path.insert(0, %r)
        import time
        import gochan
        print("ready", flush=True)
        t0 = time.monotonic()
        try:
            gochan.sleep(60)       # a timeout: never a deadlock
        except KeyboardInterrupt:
            print("interrupted", time.monotonic() - t0 < 30, flush=True)
    """) % ROOT
    p, out, err = signalled(src, signal.SIGINT, 0.3)
    assert out == "interrupted True\n", err
    assert p.returncode == 0
