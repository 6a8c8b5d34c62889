"""Races between the timer thread and stop/reset/receive (API.md "Timers";
issue 3: "no stale values after stop/reset", "concurrent stop/reset from
several threads while the timer fires: no crash, no double delivery, no lost
wake-up").  Ideas from Go's TestTimerStopStress, TestAfterStress,
TestTimerModifiedEarlier and the Go 1.23 synchronous-channel checks of
testTimerChan.

The central invariant (Go 1.23 synchronous timer channels): each arming of a
one-shot timer ends in exactly one way, either a receiver gets its value or a
later stop()/reset() returns True.  So over any history,

    armings == values received + stop()/reset() calls that returned True

(for after_func: + runs of fn instead of values received).
"""
import random
import threading
import time

import pytest

from gochan import Chan, Ticker, Timer, after_func, default, select

from conftest import SOON, join_all, no_value, spawn, wait_parked, wait_until

pytestmark = [pytest.mark.no_leftover_goroutines, pytest.mark.usefixtures("afterfunc_dispatcher")]

EPS = 1e-6
LONG = 3600


def tiny(rnd):
    """0 (fires while arming) or a few tens of microseconds."""
    return 0 if rnd.random() < 0.2 else rnd.random() * 5e-5


def spin(rnd):
    for _ in range(rnd.randrange(60)):
        pass


# --- one thread: receive, then stop or reset, racing the timer thread ---------------

@pytest.mark.parametrize("op", ["stop", "reset"])
def test_receive_then_stop_or_reset_races_the_fire(op):
    rnd = random.Random(11)
    outcomes = {True: 0, False: 0}
    for i in range(20000):
        t = Timer(tiny(rnd))
        spin(rnd)
        try:
            t.c.recv(timeout=0)
            received = True
        except TimeoutError:
            received = False
        pending = t.stop() if op == "stop" else t.reset(LONG)
        assert pending is (not received), (i, received, pending)
        outcomes[received] += 1
        no_value(t.c, 0.002 if i % 1000 == 0 else 0)
        if op == "reset":
            assert t.stop() is True          # re-armed by the reset
            no_value(t.c)
    # both sides of the race happened
    assert outcomes[True] > 0 and outcomes[False] > 0, outcomes


def test_stop_then_no_stale_value_for_fired_timers():
    # Timer(0) and Timer(-1) have fired before the constructor returns
    for i in range(5000):
        t = Timer(0 if i % 2 else -1)
        if i % 3 == 0:
            assert t.reset(LONG) is True
            assert t.stop() is True
        else:
            assert t.stop() is True
        no_value(t.c)
        assert t.stop() is False


def test_reset_short_after_fire_delivers_only_the_new_value():
    rnd = random.Random(5)
    for _ in range(2000):
        t = Timer(tiny(rnd))
        spin(rnd)
        r = time.monotonic()
        t.reset(0)
        v = t.c.recv(timeout=0)      # the reset's own value, fired while arming
        assert v >= r
        no_value(t.c)


def test_ticker_stop_or_reset_leaves_no_stale_tick():
    rnd = random.Random(3)
    for i in range(3000):
        tk = Ticker(1e-5 + rnd.random() * 5e-5)
        spin(rnd)
        if rnd.random() < 0.5:
            try:
                tk.c.recv(timeout=0)
            except TimeoutError:
                pass
        spin(rnd)
        if i % 2:
            tk.stop()
            no_value(tk.c, 0.002 if i % 500 == 1 else 0)
        else:
            r = time.monotonic()
            tk.reset(LONG)
            no_value(tk.c, 0.002 if i % 500 == 0 else 0)
            tk.reset(1e-5)
            assert tk.c.recv(timeout=SOON) >= r     # and it ticks again
            tk.stop()
            no_value(tk.c)


# --- a receiver blocked in another thread --------------------------------------

class Receiver:
    """A thread that, for each (chan, cancel) job, does
    select(chan.recv, cancel.recv) and reports (index, value)."""

    def __init__(self):
        self.jobs = Chan()
        self.results = Chan()
        self.runner = spawn(self._loop)

    def _loop(self):
        while True:
            job = self.jobs.recv(timeout=2 * SOON)
            if job is None:
                return
            c, cancel = job
            self.results.send(select(c.recv, cancel.recv, timeout=SOON), timeout=SOON)

    def close(self):
        self.jobs.close()
        self.runner.result()


def wait_parked_spinning(ch, n=1):
    """Wait until n receivers are parked on ch, yielding the GIL meanwhile
    (faster than the conftest helper, which sleeps between polls)."""
    deadline = time.monotonic() + SOON
    while ch._waiters()[0] < n:
        if time.monotonic() > deadline:
            pytest.fail("no receiver parked on %r" % ch)
        time.sleep(0)


@pytest.mark.parametrize("op", ["stop", "reset"])
def test_stop_or_reset_races_a_blocked_receiver(op):
    # the fire hands the value to a parked receiver while stop()/reset() runs
    rnd = random.Random(17)
    rx = Receiver()
    outcomes = {True: 0, False: 0}
    try:
        for i in range(2000):
            t = Timer(LONG)
            cancel = Chan()
            rx.jobs.send((t.c, cancel), timeout=SOON)
            wait_parked_spinning(t.c)
            assert t.reset(tiny(rnd) * 4) is True
            spin(rnd)
            pending = t.stop() if op == "stop" else t.reset(LONG)
            cancel.close()
            idx, v = rx.results.recv(timeout=SOON)
            received = idx == 0
            assert received is (not pending), (i, idx, v, pending)
            outcomes[received] += 1
            no_value(t.c)
            if op == "reset":
                assert t.stop() is True
    finally:
        rx.close()
    assert outcomes[True] > 0 and outcomes[False] > 0, outcomes


def test_reset_wakes_a_blocked_receiver():
    # lost wake-up: a receiver parked on a far timer gets it once reset short
    rnd = random.Random(23)
    rx = Receiver()
    try:
        for i in range(400):
            t = Timer(LONG)
            cancel = Chan()
            rx.jobs.send((t.c, cancel), timeout=SOON)
            if i % 2:
                wait_parked(t.c, receivers=1)     # surely parked
            else:
                spin(rnd)                          # racing the park
            r = time.monotonic()
            assert t.reset(tiny(rnd)) is True
            idx, v = rx.results.recv(timeout=SOON)
            assert idx == 0 and v >= r, (i, idx, v)
            assert t.stop() is False
            no_value(t.c)
    finally:
        rx.close()


def test_reset_from_another_thread_wakes_a_receiver():
    for _ in range(100):
        t = Timer(LONG)
        r = spawn(t.c.recv, timeout=SOON)
        wait_parked(t.c, receivers=1)
        resetter = spawn(t.reset, 0.0005)
        assert resetter.result() is True
        assert r.result() > 0
        assert t.stop() is False


def test_receive_timeout_racing_the_fire_loses_no_value():
    # recv(timeout=x) on a timer firing at about x: either the receive gets the
    # value, or it times out and the value is still there for the next receive
    rnd = random.Random(29)
    got = timed_out = 0
    for i in range(800):
        d = rnd.random() * 5e-4
        t = Timer(d)
        try:
            if i % 2:
                v = t.c.recv(timeout=d + rnd.uniform(-1e-4, 1e-4))
            else:
                _, v = select(t.c.recv, timeout=d + rnd.uniform(-1e-4, 1e-4))
            got += 1
            no_value(t.c)
        except TimeoutError:
            timed_out += 1
            assert t.c.recv(timeout=SOON) > 0     # not lost to the timeout
        assert t.stop() is False
    assert got > 0 and timed_out > 0, (got, timed_out)


def test_several_receivers_one_value():
    # no double delivery: of several blocked receivers exactly one gets it
    for i in range(60):
        n = 2 + i % 3
        t = Timer(LONG)
        stop = Chan()
        rs = [spawn(select, t.c.recv, stop.recv, timeout=SOON) for _ in range(n)]
        wait_parked(t.c, receivers=n)
        t.reset(0 if i % 2 else 0.0005)
        wait_until(lambda: any(r.finished.is_set() for r in rs), what="a receiver to get it")
        time.sleep(0.002)
        stop.close()
        results = [r.result() for r in rs]
        assert sorted(idx for idx, _ in results) == [0] + [1] * (n - 1), results
        assert t.stop() is False


# --- stop/reset from several threads while the timer fires -------------------------

def _hammer(t, n_mutators, seconds, durations, receive, pause=0.0):
    """n_mutators threads stop()/reset() t at random while receivers receive,
    sleeping ``pause`` after each call.  Returns (armings, trues, received
    values)."""
    counts = []                 # per mutator: (armings, trues)
    values = []                 # per receiver: the values it received
    lock = threading.Lock()
    end = time.monotonic() + seconds
    stop_rx = threading.Event()

    def mutator(seed):
        rnd = random.Random(seed)
        armings = trues = 0
        while time.monotonic() < end:
            if rnd.random() < 0.4:
                trues += t.stop() is True
            else:
                armings += 1
                trues += t.reset(rnd.choice(durations)) is True
            spin(rnd)
            if pause:
                time.sleep(pause * rnd.random())
        with lock:
            counts.append((armings, trues))

    def receiver():
        mine = []
        while not stop_rx.is_set():
            try:
                mine.append(t.c.recv(timeout=0.005))
            except TimeoutError:
                pass
        with lock:
            values.append(mine)

    muts = [threading.Thread(target=mutator, args=(s,), daemon=True) for s in range(n_mutators)]
    rxs = [threading.Thread(target=receiver, daemon=True) for _ in range(receive)]
    for th in muts + rxs:
        th.start()
    join_all(muts, seconds + SOON)
    final = t.stop()
    stop_rx.set()
    join_all(rxs)
    armings = sum(a for a, _ in counts)
    trues = sum(b for _, b in counts) + (final is True)
    for mine in values:       # one timer's fire times only ever grow
        assert all(b > a for a, b in zip(mine, mine[1:])), "values received out of order"
    return armings, trues, [v for mine in values for v in mine]


def test_concurrent_stop_reset_on_a_timer_accounts_for_every_arming():
    t = Timer(0.0002)
    armings, trues, values = _hammer(t, 4, 0.8, [0, 1e-5, 1e-4, 5e-4, 0.002, LONG], receive=2)
    armings += 1                                  # the constructor's
    assert len(set(values)) == len(values), "a fire time was received twice"
    assert armings == len(values) + trues, (armings, len(values), trues)
    assert len(values) > 0 and trues > 0
    no_value(t.c, 0.02)
    # still a working timer: no lost wake-up for a blocked receiver
    r = spawn(t.c.recv, timeout=SOON)
    wait_parked(t.c, receivers=1)
    assert t.reset(0.001) is False
    assert r.result() > 0


def test_concurrent_stop_reset_on_a_ticker():
    tk = Ticker(0.0002)
    durations = [1e-5, 1e-4, 5e-4, LONG]

    class AsTimer:                     # Ticker.stop/reset return None
        c = tk.c

        @staticmethod
        def stop():
            return tk.stop()

        @staticmethod
        def reset(s):
            return tk.reset(s)

    _, _, values = _hammer(AsTimer, 3, 0.6, durations, receive=2)
    assert len(set(values)) == len(values), "a tick was received twice"
    assert len(values) > 0
    no_value(tk.c, 0.02)
    tk.reset(0.001)
    assert tk.c.recv(timeout=SOON) > 0
    tk.stop()
    no_value(tk.c)


def test_concurrent_stop_reset_on_an_after_func_runs_it_once_per_arming():
    runs = [0]
    lock = threading.Lock()

    def fn():
        with lock:
            runs[0] += 1

    t = after_func(0.0002, fn)
    # each run starts a thread: pause between calls to keep them to a few thousand
    armings, trues, values = _hammer(t, 4, 0.6, [0, 1e-5, 1e-4, 5e-4, LONG], receive=0,
                                     pause=0.001)
    armings += 1
    assert values == []
    wait_until(lambda: runs[0] + trues >= armings,
               what="every fired arming to run (%d armings, %d stopped)" % (armings, trues))
    time.sleep(0.1)
    assert runs[0] + trues == armings, (armings, runs[0], trues)
    assert runs[0] > 0 and trues > 0


def test_after_func_stop_races_the_fire():
    # per arming: stop() returned True, or fn ran; never both, never neither
    rnd = random.Random(31)
    ran = Chan(2000)
    stopped = set()
    n = 600
    for i in range(n):
        t = after_func(tiny(rnd) * 4, ran.send, i)
        spin(rnd)
        if t.stop():
            stopped.add(i)
    wait_until(lambda: len(ran) >= n - len(stopped), what="the unstopped after_funcs to run")
    time.sleep(0.1)
    ran_ids = []
    while True:
        i, v = select(ran.recv, default)
        if i == 1:
            break
        ran_ids.append(v)
    assert len(ran_ids) == len(set(ran_ids))
    assert set(ran_ids) == set(range(n)) - stopped
    assert 0 < len(stopped) < n
