"""Tests that only free-threaded CPython can fail (issue #12): many threads on
several CPUs at once in one channel, one select set, close, fork and timers,
with no GIL to serialise them.  They also run (and must pass) on the GIL
build, where they are ordinary stress tests; CI runs them on 3.13t with
PYTHON_GIL=0 (see .ci/run), where they are what they are meant to be.
"""
import os
import random
import sys
import sysconfig
import threading
import time

import pytest

from conftest import SOON, join_all, run_child
from gochan import Chan, ClosedChannelError, Ticker, Timer, select

pytestmark = pytest.mark.no_leftover_goroutines

FREE_THREADED = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))


def gil_enabled():
    return getattr(sys, "_is_gil_enabled", lambda: True)()


def test_the_gil_stays_off_when_asked():
    # On the free-threaded build with PYTHON_GIL=0, importing gochan must
    # not turn the GIL on (its modules declare Py_MOD_GIL_NOT_USED; cffi < 2
    # does not, hence PYTHON_GIL=0 in CI).
    if not FREE_THREADED:
        pytest.skip("GIL build")
    if os.environ.get("PYTHON_GIL") != "0":
        pytest.skip("the GIL is on by request (PYTHON_GIL is not 0)")
    proc = run_child("import sys, gochan, gochan.signal, gochan.context\n"
                     "print(sys._is_gil_enabled())")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"
    assert "GIL" not in proc.stderr


def _run_threads(targets, timeout=60):
    errors = []

    def wrap(fn, args):
        def body():
            try:
                fn(*args)
            except BaseException as e:      # noqa: B902 - reported to the test
                errors.append(e)
        return body

    ts = [threading.Thread(target=wrap(fn, args), daemon=True) for fn, args in targets]
    for t in ts:
        t.start()
    join_all(ts, timeout)
    if errors:
        raise errors[0]


@pytest.mark.parametrize("cap", [0, 1, 64])
def test_many_producers_and_consumers_on_one_channel(cap):
    P, C, N = 6, 6, 3000
    ch = Chan(cap)
    got = [[] for _ in range(C)]

    def produce(p):
        for i in range(N):
            ch.send((p, i), timeout=SOON)

    def consume(c):
        for v in iter(lambda: ch.recv(timeout=SOON), None):
            got[c].append(v)

    def closer():
        pass

    prods = [(produce, (p,)) for p in range(P)]
    cons = [threading.Thread(target=lambda c=c: consume(c), daemon=True) for c in range(C)]
    for t in cons:
        t.start()
    _run_threads(prods)
    ch.close()
    join_all(cons)
    every = [v for g in got for v in g]
    assert len(every) == P * N, "lost or duplicated values"
    assert sorted(every) == [(p, i) for p in range(P) for i in range(N)]
    for g in got:   # each consumer saw each producer's values in order
        last = {}
        for p, i in g:
            assert i > last.get(p, -1)
            last[p] = i


def test_many_threads_in_one_select_set():
    # Every thread selects over the same four channels, sending on two and
    # receiving from two, until told to stop; values are conserved and no
    # select pairs its own send with its own receive.  Even threads send on
    # channels 0-1 and receive from 2-3, odd ones the other way round: with
    # directions picked at random per select, all threads could end up
    # parked sending only on full channels and receiving only from empty
    # ones -- a real deadlock of the program, not of gochan.  Split like
    # this, if every even thread is stuck sending, 0-1 are full and the odd
    # threads can receive.
    chans = [Chan(random.choice([0, 2])) for _ in range(4)]
    stop = Chan()
    T, TARGET = 8, 8000
    sent = [0] * T
    recvd = [[] for _ in range(T)]

    def worker(t):
        me = random.Random(t)
        i = 0
        while True:
            a, b = me.sample(chans[:2] if t % 2 == 0 else chans[2:], 2)
            c, d = me.sample(chans[2:] if t % 2 == 0 else chans[:2], 2)
            v = (t, i)
            i += 1
            k, r = select((a.send, v), (b.send, v), c.recv, d.recv, stop.recv, timeout=SOON)
            if k == 4:
                return
            if k < 2:
                sent[t] += 1
            else:
                recvd[t].append(r)

    ts = [threading.Thread(target=worker, args=(t,), daemon=True) for t in range(T)]
    for t in ts:
        t.start()
    deadline = time.monotonic() + 60
    while sum(sent) < TARGET and time.monotonic() < deadline:
        time.sleep(0.01)
    stop.close()
    join_all(ts)
    assert sum(sent) >= TARGET
    left = []
    for c in chans:
        while True:
            try:
                left.append(c.recv(timeout=0))
            except TimeoutError:
                break
    received = [v for r in recvd for v in r] + left
    assert len(received) == sum(sent)
    assert len(set(received)) == len(received), "a value was received twice"


def test_close_races_send_and_recv_from_several_threads():
    for rnd in range(40):
        ch = Chan(random.choice([0, 1, 8]))
        delivered = []
        received = []
        refused = []

        def sender(s):
            for i in range(200):
                try:
                    ch.send((s, i), timeout=SOON)
                    delivered.append((s, i))
                except ClosedChannelError:
                    refused.append((s, i))
                    return

        def receiver():
            while True:
                v, ok = ch.recv_ok(timeout=SOON)
                if not ok:
                    return
                received.append(v)

        ts = [threading.Thread(target=sender, args=(s,), daemon=True) for s in range(4)]
        ts += [threading.Thread(target=receiver, daemon=True) for _ in range(4)]
        for t in ts:
            t.start()
        time.sleep(random.random() * 0.003)
        ch.close()
        join_all(ts)
        # a send that returned was received exactly once; a refused one never
        assert sorted(received) == sorted(delivered)
        assert not set(refused) & set(received)


def test_fork_while_other_threads_hammer_channels():
    proc = run_child("""
        import os, threading, time
        from gochan import Chan, after, go, select
        ch = Chan(4)
        stop = Chan()
        def pump():
            while True:
                i, _ = select((ch.send, 1), ch.recv, stop.recv)
                if i == 2:
                    return
        for _ in range(6):
            go(pump)
        for k in range(20):
            pid = os.fork()
            if pid == 0:
                # the child: its own channels and timers work, the parent's
                # threads are gone and never complete anything here
                c = Chan()
                go(lambda: c.send(7))
                assert c.recv(timeout=10) == 7
                after(0.001).recv(timeout=10)
                os._exit(0)
            _, status = os.waitpid(pid, 0)
            assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
        stop.close()
        print("OK")
        """, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "OK", proc.stderr[-2000:]


def test_timers_race_stop_and_reset_from_several_threads():
    timers = [Timer(0.0005) for _ in range(4)]
    ticker = Ticker(0.0003)
    stop_at = time.monotonic() + 1.0
    got = []

    def resetter(me):
        r = random.Random(me)
        while time.monotonic() < stop_at:
            t = r.choice(timers)
            assert isinstance(t.reset(r.random() * 0.001), bool)
            ticker.reset(0.0001 + r.random() * 0.0005)

    def stopper(me):
        r = random.Random(me)
        while time.monotonic() < stop_at:
            assert isinstance(r.choice(timers).stop(), bool)

    def receiver(me):
        r = random.Random(me)
        while time.monotonic() < stop_at:
            try:
                i, v = select(*(t.c.recv for t in timers), ticker.c.recv, timeout=0.01)
                got.append(v)
            except TimeoutError:
                pass

    _run_threads([(resetter, (1,)), (resetter, (2,)), (stopper, (3,)),
                  (receiver, (4,)), (receiver, (5,))])
    ticker.stop()
    for t in timers:
        t.stop()
    assert all(isinstance(v, float) for v in got)
    # after stop() returns, nothing stale is received
    for c in [t.c for t in timers] + [ticker.c]:
        with pytest.raises(TimeoutError):
            c.recv(timeout=0.01)


def test_a_bubble_of_busy_pairs_never_looks_idle():
    # Bubbles without the GIL (bubble.c's lock): 6 pairs of goroutines pass
    # values over unbuffered channels of the bubble, on several CPUs at once,
    # while one more goroutine sleeps 1000 s of virtual time.  A pair is never
    # parked on both sides, so the bubble is never idle until the pairs are
    # done: a partner that claims a parker before it is counted blocked must
    # not let the clock jump early (a pair would see now() > 0) or declare a
    # deadlock; and the sleeper then wakes at exactly 1000.
    from conftest import run_bubble
    from gochan import WaitGroup, now, sleep

    rounds = 300

    def body():
        seen = []
        wg = WaitGroup()

        def pair(k):
            ch = Chan()

            def sender():
                for i in range(rounds):
                    ch.send((k, i))
                ch.close()

            wg.go(sender)
            got = list(ch)
            seen.append((k, got == [(k, i) for i in range(rounds)], now()))

        woke = []
        wg.go(lambda: (sleep(1000), woke.append(now())))
        for k in range(6):
            wg.go(pair, k)
        wg.wait()
        return sorted(seen), woke

    seen, woke = run_bubble(body, timeout=120)
    assert seen == [(k, True, 0.0) for k in range(6)]
    assert woke == [1000.0]


def test_a_bubble_timer_raced_by_stop_and_reset_from_its_goroutines():
    # Bubble timers stopped and reset from several goroutines at once while
    # the clock jumps fire them (bubble lock vs heap lock): every after_func
    # runs at most once per arming, and the bubble ends with no timer armed.
    from conftest import run_bubble
    from gochan import WaitGroup, after_func, now, sleep

    def body():
        fired = []
        t = after_func(5, lambda: fired.append(now()))
        wg = WaitGroup()

        def churn(seed):
            rnd = random.Random(seed)
            for _ in range(200):
                if rnd.random() < 0.5:
                    t.stop()
                else:
                    t.reset(rnd.choice((0.5, 1, 2)))
                if rnd.random() < 0.2:
                    sleep(rnd.choice((0.25, 1)))

        for s in range(4):
            wg.go(churn, s)
        wg.wait()
        t.stop()
        sleep(10)             # let any after_func started by a firing finish
        return fired

    fired = run_bubble(body, timeout=120)
    # each firing happened at a distinct virtual instant at most once
    assert len(fired) == len(set(fired))
    assert all(f >= 0.5 for f in fired)
