"""Timers across os.fork() (API.md "Timers" and "fork"; issue 3: "After
os.fork(), timers in the child work (the timer thread is restarted)").

Each test runs a small program in a fresh interpreter, which forks; the
child checks what it must and leaves with os._exit (0: all checks passed),
and the parent waits for it with a deadline, so that a child that hangs is
killed and reported instead of hanging the suite.  The pytest process itself
never forks.

A timer pending at the fork is part of the child's memory: it fires in the
child too, as in the parent.
"""
import os
import subprocess
import sys
import textwrap

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

PRELUDE = r'''
import os, sys, threading, time, traceback
sys.path.insert(0, %(root)r)
import gochan
from gochan import Chan, Ticker, Timer, after, after_func, nilchan, select, tick
from gochan import _native

SOON = 10.0
EPS = 1e-6

def in_child(fn, timeout=30.0):
    """Fork; run fn() in the child and _exit(0) if it returned; in the
    parent, wait for the child (killing it after timeout) and check it."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            fn()
            code = 0
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            raise AssertionError("child %%d still running after %%.0f s" %% (pid, timeout))
        time.sleep(0.005)
    code = os.waitstatus_to_exitcode(status)
    assert code == 0, "child failed with exit code %%d" %% code

def check_after(s=0.02):
    before = time.monotonic()
    v = after(s).recv(timeout=SOON)
    assert type(v) is float and before + s - EPS <= v <= time.monotonic(), (before, v)

def check_timer():
    t = Timer(3600)
    assert t.stop() is True
    assert t.stop() is False
    r = time.monotonic()
    assert t.reset(0.01) is False
    assert t.c.recv(timeout=SOON) >= r + 0.01 - EPS
    t.reset(0)
    assert t.stop() is True
    try:
        t.c.recv(timeout=0.02)
        raise AssertionError("stale value after stop")
    except TimeoutError:
        pass

def check_ticker(p=0.01, n=3):
    t0 = time.monotonic()
    tk = Ticker(p)
    vals = [tk.c.recv(timeout=SOON) for _ in range(n)]
    tk.stop()
    for k, v in enumerate(vals, 1):
        assert v >= t0 + k * p - EPS, (k, v - t0)
    try:
        tk.c.recv(timeout=0.03)
        raise AssertionError("tick after stop")
    except TimeoutError:
        pass
    c = tick(p)
    c.recv(timeout=SOON)

def check_after_func():
    out = Chan(1)
    me = threading.get_ident()
    t = after_func(0.01, lambda x: out.send((threading.get_ident(), x)), "arg")
    ident, x = out.recv(timeout=SOON)
    assert ident != me and x == "arg"
    assert t.c is nilchan
    ran = threading.Event()
    t = after_func(0.2, ran.set)
    assert t.stop() is True
    assert not ran.wait(0.3)

def check_all():
    check_after()
    check_after(0)
    check_timer()
    check_ticker()
    check_after_func()
'''


def run_program(body, timeout=90):
    code = PRELUDE % {"root": ROOT} + "\n" + textwrap.dedent(body) + "\nprint('OK')\n"
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)
    assert proc.returncode == 0 and proc.stdout.strip().endswith("OK"), (
        "exit code %d\n--- stdout\n%s\n--- stderr\n%s" % (proc.returncode, proc.stdout, proc.stderr))
    return proc.stdout


def test_timers_work_in_a_child_of_a_process_that_never_used_them():
    run_program("""
        in_child(check_all)
        check_all()
    """)


def test_timers_work_in_a_child_after_the_parent_used_them():
    # the timer thread and the after_func dispatcher exist in the parent,
    # the heap is empty at the fork
    run_program("""
        check_all()
        assert _native.timers_in_heap() == 0
        in_child(check_all)
        check_all()
        in_child(lambda: in_child(check_all))     # a grandchild too
    """)


def test_timer_pending_at_fork_fires_in_child_and_parent():
    run_program("""
        start = time.monotonic()
        t = Timer(0.3)
        c = after(0.3)
        tk = Ticker(0.05)
        tk.c.recv(timeout=SOON)             # the parent's timer thread runs

        def child():
            assert t.c.recv(timeout=SOON) >= start + 0.3 - EPS
            assert c.recv(timeout=SOON) >= start + 0.3 - EPS
            assert t.stop() is False
            v1 = tk.c.recv(timeout=SOON)
            v2 = tk.c.recv(timeout=SOON)
            assert v2 > v1
            tk.stop()                      # the child's copy only

        in_child(child)
        assert t.c.recv(timeout=SOON) >= start + 0.3 - EPS
        assert c.recv(timeout=SOON) >= start + 0.3 - EPS
        a, b = tk.c.recv(timeout=SOON), tk.c.recv(timeout=SOON)
        assert b > a                        # the parent's ticker still ticks
        tk.stop()
    """)


def test_timer_a_parent_thread_waits_on_fires_for_the_child():
    # In the child the waiting thread does not exist: the value must not be
    # handed to its ghost, the child's own receive gets it.
    run_program("""
        t = Timer(0.4)
        got = []
        th = threading.Thread(target=lambda: got.append(t.c.recv(timeout=SOON)), daemon=True)
        th.start()
        deadline = time.monotonic() + SOON
        while t.c._waiters() != (1, 0):
            assert time.monotonic() < deadline
            time.sleep(0.001)

        def child():
            assert t.c._waiters() == (0, 0)    # the ghost's waiter is gone
            assert t.c.recv(timeout=SOON) > 0

        in_child(child)
        th.join(SOON)
        assert len(got) == 1 and got[0] > 0
    """)


def test_ticker_a_parent_thread_receives_keeps_ticking_in_the_child():
    run_program("""
        tk = Ticker(0.005)
        stop = threading.Event()
        def consume():
            while not stop.is_set():
                try:
                    tk.c.recv(timeout=0.1)
                except TimeoutError:
                    pass
        th = threading.Thread(target=consume, daemon=True)
        th.start()
        time.sleep(0.05)

        def child():
            vals = [tk.c.recv(timeout=SOON) for _ in range(5)]
            assert all(b > a for a, b in zip(vals, vals[1:]))
            check_all()

        in_child(child)
        stop.set()
        th.join(SOON)
        tk.stop()
    """)


def test_after_func_in_child_with_and_without_a_parent_dispatcher():
    run_program("""
        in_child(check_after_func)          # dispatcher never started
        check_after_func()                  # now it runs in the parent
        in_child(check_after_func)          # restarted in the child
        check_after_func()
    """)


def test_after_func_pending_at_fork_runs_in_child_and_parent():
    run_program("""
        r, w = os.pipe()
        t = after_func(0.3, lambda: os.write(w, str(os.getpid()).encode() + b"\\n"))

        def child():
            os.close(r)
            time.sleep(0.6)      # it runs meanwhile, writing the child's pid

        in_child(child)
        time.sleep(0.6)
        os.close(w)
        pids = set()
        with os.fdopen(r) as f:
            for line in f:
                pids.add(int(line))
        assert os.getpid() in pids, pids
        assert len(pids) == 2, pids          # the child's pid too
        assert t.stop() is False
    """)


def test_fork_while_timers_are_busy():
    # the parent's timer thread fires constantly while the main thread forks
    run_program("""
        stop = threading.Event()
        def churn():
            tk = Ticker(0.0002)
            while not stop.is_set():
                tk.c.recv(timeout=SOON)
                after(0)
                Timer(0.0001).stop()
                Timer(0.0001)
            tk.stop()
        th = threading.Thread(target=churn, daemon=True)
        th.start()

        def child():
            check_after(0.005)
            check_timer()
            check_ticker(0.002, 3)

        for _ in range(15):
            in_child(child)
        stop.set()
        th.join(SOON)
        check_after()
    """)


def test_pending_timers_in_child_add_at_most_one_thread():
    run_program("""
        keep = [Timer(3600) for _ in range(10)]     # pending at the fork

        def child():
            tasks = lambda: len(os.listdir("/proc/self/task"))
            before = tasks()
            timers = [Timer(3600 + k) for k in range(1000)]
            chans = [after(0.001 * k) for k in range(50)]
            for ch in chans:
                ch.recv(timeout=SOON)
            assert tasks() <= before + 1, (before, tasks())
            assert _native.timers_in_heap() >= 1000

        in_child(child)
    """)
