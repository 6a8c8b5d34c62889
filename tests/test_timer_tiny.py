"""Timers with tiny durations (issue #7 part 1): Go's own timer tests use 1 ns
tickers.  Every case runs in a child process, so that a timer thread that
loops holding its lock fails the test (the watchdog) instead of hanging the
suite."""
import textwrap

import pytest

from conftest import run_child

pytestmark = pytest.mark.no_leftover_goroutines


def ok(code, timeout=60):
    proc = run_child(textwrap.dedent(code) + "\nprint('OK')\n", timeout=timeout)
    assert proc.returncode == 0 and proc.stdout.strip().endswith("OK"), (
        "exit %d\n--- stdout\n%s\n--- stderr\n%s" % (proc.returncode, proc.stdout, proc.stderr))
    return proc.stdout


def test_stop_right_after_a_1ns_ticker():
    ok("""
        import time
        from gochan import Ticker
        for _ in range(100):
            tk = Ticker(1e-9)
            tk.stop()
        tk = Ticker(1e-9)
        time.sleep(0.1)          # the timer thread fires it over and over meanwhile
        tk.stop()
        """)


def test_100_receives_from_a_1ns_ticker_while_another_thread_collects():
    out = ok("""
        import gc, threading
        from gochan import Ticker
        stop = threading.Event()
        def collect():
            while not stop.is_set():
                gc.collect()     # frees garbage timers: takes the heap lock
        t = threading.Thread(target=collect, daemon=True)
        t.start()
        tk = Ticker(1e-9)
        times = [tk.c.recv(timeout=10) for _ in range(100)]
        tk.stop()
        stop.set()
        t.join(10)
        assert not t.is_alive()
        assert times == sorted(times), times
        assert len(set(times)) == 100, "a tick was delivered twice"
        print(len(times))
        """)
    assert out.split()[0] == "100"


def test_ten_threads_share_one_1ns_ticker():
    ok("""
        import threading
        from gochan import Ticker, WaitGroup
        tk = Ticker(1e-9)
        got = [[] for _ in range(10)]
        errors = []
        wg = WaitGroup()
        def worker(i):
            try:
                for _ in range(50):
                    got[i].append(tk.c.recv(timeout=10))
            except BaseException as e:
                errors.append(e)
            finally:
                wg.done()
        wg.add(10)
        for i in range(10):
            threading.Thread(target=worker, args=(i,), daemon=True).start()
        wg.wait(timeout=30)
        tk.stop()
        assert not errors, errors
        assert all(len(g) == 50 for g in got)
        every = [v for g in got for v in g]
        assert len(set(every)) == len(every), "one tick received by two threads"
        """)


def test_reset_to_1ns_with_a_receiver_waiting():
    ok("""
        import threading
        from gochan import Chan, Ticker, go
        tk = Ticker(3600)
        out = Chan(1)
        def recv():
            out.send([tk.c.recv(timeout=10) for _ in range(20)])
        go(recv)
        from gochan import _native
        import time
        deadline = time.monotonic() + 10
        while _native.parked_threads() < 1:
            assert time.monotonic() < deadline
            time.sleep(0.001)
        tk.reset(1e-9)
        ticks = out.recv(timeout=20)
        tk.stop()
        assert len(ticks) == 20 and ticks == sorted(ticks)
        """)


def test_tiny_and_subnormal_durations_are_accepted_everywhere():
    ok("""
        import time
        from gochan import Timer, after, select, tick, Ticker
        after(1e-9).recv(timeout=10)
        after(5e-324).recv(timeout=10)
        t = Timer(3600)
        assert t.reset(1e-9) is True
        t.c.recv(timeout=10)
        c = tick(5e-324)
        for _ in range(10):
            c.recv(timeout=10)
        tk = Ticker(2e-8)
        for _ in range(10):
            i, v = select(tk.c.recv, timeout=10)
            assert i == 0 and isinstance(v, float)
        tk.reset(5e-8)
        tk.c.recv(timeout=10)
        tk.stop()
        # no stale tick after stop(), even from a ticker that is always due
        try:
            v = tk.c.recv(timeout=0.05)
            raise AssertionError("stale tick %r after stop()" % v)
        except TimeoutError:
            pass
        """)


def test_ticks_of_a_sub_floor_ticker_are_spaced_by_at_least_its_period():
    ok("""
        from gochan import Ticker
        p = 1e-5
        tk = Ticker(p)
        ts = [tk.c.recv(timeout=10) for _ in range(200)]
        tk.stop()
        gaps = [b - a for a, b in zip(ts, ts[1:])]
        assert min(gaps) >= p * 0.999, min(gaps)
        """)


def test_an_unreceived_1ns_ticker_costs_bounded_cpu():
    out = ok("""
        import time
        from gochan import Ticker
        tk = Ticker(1e-9)
        time.sleep(0.2)                  # settle into the idle back-off
        c0 = time.process_time()
        w0 = time.monotonic()
        time.sleep(1.0)
        cpu = (time.process_time() - c0) / (time.monotonic() - w0)
        tk.c.recv(timeout=10)            # still ticking
        tk.stop()
        print("%.4f" % cpu)
        """)
    cpu = float(out.split()[0])
    # A timer thread re-firing in a loop takes a whole CPU (1.0); the floor
    # and the idle back-off bring it to ~1000 firings/s.  Generous bound.
    assert cpu < 0.25, "an unreceived 1 ns ticker used %.0f %% of a CPU" % (cpu * 100)


def test_heap_lock_is_not_held_across_firings_of_many_due_timers():
    # 20k timers due at once: while the timer thread works through them,
    # arming and stopping timers from Python must keep going.
    ok("""
        import threading, time
        from gochan import Timer, after
        many = [after(0.05) for _ in range(20000)]
        time.sleep(0.06)
        n = 0
        t0 = time.monotonic()
        while time.monotonic() - t0 < 0.2:
            t = Timer(3600)
            assert t.stop() is True
            n += 1
        for c in many[:10]:
            c.recv(timeout=10)
        assert n > 10, n
        """)
