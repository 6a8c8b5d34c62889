"""gochan.testing: bubbles on virtual time, wait(), in-bubble deadlocks,
now()/sleep(), dump() and the TimeoutError messages (API.md, "gochan.testing").

The ideas are those of Go's testing/synctest and internal/synctest tests: the
clock starts at 0 and moves only when every goroutine is durably blocked;
timers fire at exact virtual times; wait() returns once the others are
blocked; a goroutine blocked on anything but the bubble's own channels
(time.sleep, a lock, a channel from outside) keeps the clock still; a bubble
with nothing left to fire is a deadlock; channels do not cross the boundary.
Every run() goes through conftest.run_bubble, a watchdog on real time.
"""
import threading
import time

import pytest

import gochan
from gochan import (Chan, Deadlock, Ticker, Timer, WaitGroup, after, after_func, default, go,
                    nilchan, select, tick, testing)

from conftest import SOON, run_bubble, spawn, wait_parked

pytestmark = pytest.mark.no_leftover_goroutines


# ---- the clock -----------------------------------------------------------------

def test_clock_starts_at_zero_and_moves_only_by_sleeping():
    def body():
        t0 = gochan.now()
        x = sum(range(100000))  # work takes no virtual time
        t1 = gochan.now()
        gochan.sleep(1.5)
        return t0, t1, gochan.now(), x

    assert run_bubble(body)[:3] == (0.0, 0.0, 1.5)


def test_now_outside_a_bubble_is_monotonic():
    a = gochan.now()
    b = time.monotonic()
    assert abs(a - b) < 1.0


def test_an_hour_timeout_takes_no_real_time_and_names_the_channel():
    def body():
        ch = Chan()
        with pytest.raises(TimeoutError) as ei:
            ch.recv(timeout=3600)
        return gochan.now(), str(ei.value)

    t = time.monotonic()
    now, msg = run_bubble(body)
    assert now == 3600
    assert msg == "recv on <Chan cap=0 len=0 open> timed out after 3600 s"
    assert time.monotonic() - t < SOON


def test_timer_fire_times_are_exact_virtual_times():
    def body():
        got = [after(2).recv(), after(0.25).recv()]
        t = Timer(10)
        got.append(t.c.recv())
        return got

    assert run_bubble(body) == [2.0, 2.25, 12.25]


def test_tick_heartbeat_over_a_simulated_day():
    def body():
        tk = tick(1)
        return [tk.recv() for _ in range(24 * 3600)], gochan.now()

    times, now = run_bubble(body, timeout=6 * SOON)
    assert now == 86400.0
    assert times == [float(i + 1) for i in range(24 * 3600)]


def test_heartbeat_select_loop_over_a_simulated_day():
    def body():
        beats, day, work = tick(30), after(86400 + 1), Chan()
        n = 0
        while select(work.recv, beats.recv, day.recv)[0] != 2:
            n += 1
        return n, gochan.now()

    assert run_bubble(body) == (2880, 86401.0)


def test_timer_is_not_ready_before_its_deadline():
    # Go's TestTimerReadBeforeDeadline idea.
    def body():
        t = after(1)
        first = select(t.recv, default)
        testing.wait()
        second = select(t.recv, default)
        gochan.sleep(0.5)
        third = select(t.recv, default)
        gochan.sleep(0.5)
        return first, second, third, t.recv(timeout=0)

    first, second, third, v = run_bubble(body)
    assert first == second == third == (1, None)
    assert v == 1.0


def test_stop_and_reset_on_virtual_time():
    def body():
        t = Timer(5)
        assert t.stop() is True
        assert t.stop() is False
        t.reset(3)
        v = t.c.recv()
        tk = Ticker(2)
        a = tk.c.recv()
        tk.reset(5)
        b = tk.c.recv()
        tk.stop()
        with pytest.raises(TimeoutError):
            tk.c.recv(timeout=100)
        return v, a, b, gochan.now()

    assert run_bubble(body) == (3.0, 5.0, 10.0, 110.0)


def test_a_ticker_nobody_reads_does_not_keep_time_moving():
    # Only one tick waits in a ticker's slot: the bubble does not spin
    # through the ticks of a ticker that nobody receives from.
    def body():
        tk = tick(1)
        gochan.sleep(1000)
        return tk.recv(timeout=0), gochan.now()

    assert run_bubble(body) == (1.0, 1000.0)


def test_select_timeout_message_and_virtual_time():
    def body():
        a, b = Chan(), Chan(1)
        b.send(0)
        with pytest.raises(TimeoutError) as ei:
            select(a.recv, (b.send, 1), timeout=7)
        return str(ei.value), gochan.now()

    msg, now = run_bubble(body)
    assert msg == "select on <Chan cap=0 len=0 open>, <Chan cap=1 len=1 open> timed out after 7 s"
    assert now == 7


def test_timeouts_wake_in_deadline_order():
    def body():
        out = Chan(3)

        def waiter(d):
            try:
                nilchan.recv(timeout=d)
            except TimeoutError:
                out.send((d, gochan.now()))

        for d in (30, 10, 20):
            go(waiter, d)
        return [out.recv() for _ in range(3)]

    assert run_bubble(body) == [(10, 10.0), (20, 20.0), (30, 30.0)]


def test_sleep_outside_a_bubble_sleeps_real_time():
    t = time.monotonic()
    gochan.sleep(0.05)
    assert time.monotonic() - t >= 0.05
    gochan.sleep(0)
    gochan.sleep(-1)
    with pytest.raises(TypeError):
        gochan.sleep(None)
    with pytest.raises(TypeError):
        gochan.sleep("1")
    with pytest.raises(ValueError):
        gochan.sleep(float("nan"))


# ---- goroutines and wait() -----------------------------------------------------

def test_run_returns_the_result_and_raises_what_fn_raised():
    assert run_bubble(lambda x, y=0: x + y, 2, y=3) == 5

    def boom():
        raise KeyError("x")

    with pytest.raises(KeyError):
        run_bubble(boom)
    with pytest.raises(TypeError):
        testing.run(42)


def test_run_waits_for_every_goroutine():
    # Go's "Test waits for all goroutines in the bubble to exit".
    def body():
        done = []

        def child():
            gochan.sleep(5)
            done.append(gochan.now())

        go(child)
        gochan.sleep(10)
        return done

    assert run_bubble(body) == [5.0]


def test_wait_returns_once_the_others_are_durably_blocked():
    def body():
        ch = Chan()
        got = []

        def worker():
            got.append(ch.recv())
            got.append(ch.recv())

        go(worker)
        testing.wait()
        assert ch._waiters() == (1, 0)
        ch.send(1)
        testing.wait()
        snapshot = list(got)
        ch.send(2)
        testing.wait()
        return snapshot, got, gochan.now()

    assert run_bubble(body) == ([1], [1, 2], 0.0)


def test_wait_outside_a_bubble_and_twice_at_once():
    with pytest.raises(RuntimeError):
        testing.wait()

    def body():
        ch = Chan()
        errs = []

        def waiter():
            try:
                testing.wait()
            except RuntimeError as e:
                errs.append(str(e))
            ch.send(None)

        # The first to call wait() waits for the other, which is running
        # until it calls wait() too: that second call is refused.
        go(waiter)
        go(waiter)
        ch.recv()
        ch.recv()
        return errs

    errs = run_bubble(body)
    assert len(errs) == 1 and "two goroutines" in errs[0]


def test_time_sleep_is_not_a_durable_block():
    # A thread in time.sleep may be woken by something the bubble does not
    # see: wait() waits for it, and the clock does not move meanwhile.
    def body():
        flag = []

        def sleeper():
            time.sleep(0.05)
            flag.append(gochan.now())

        go(sleeper)
        testing.wait()
        return flag, gochan.now()

    assert run_bubble(body) == ([0.0], 0.0)


def test_a_lock_is_not_a_durable_block():
    lock = threading.Lock()
    lock.acquire()

    def body():
        got = []

        def locker():
            with lock:
                got.append(gochan.now())

        go(locker)
        timer = after(100)   # would fire at once if the locker counted as blocked
        testing.wait()
        return got, select(timer.recv, default)

    releaser = threading.Timer(0.05, lock.release)
    releaser.start()
    try:
        got, sel = run_bubble(body)
    finally:
        releaser.join(SOON)
    assert got == [0.0]
    assert sel == (1, None)


def test_a_channel_from_outside_is_not_a_durable_block():
    outside = Chan()

    def body():
        t = after(50)
        v = outside.recv()   # the bubble's clock must not jump while we wait here
        return v, gochan.now(), select(t.recv, default)

    r = spawn(testing.run, body)
    wait_parked(outside, receivers=1)
    outside.send("hi")
    assert r.result() == ("hi", 0.0, (1, None))


def test_waitgroup_wait_is_a_durable_block():
    def body():
        wg = WaitGroup()
        for d in (3, 1, 2):
            wg.add(1)

            def w(d=d):
                try:
                    gochan.sleep(d)
                finally:
                    wg.done()

            go(w)
        wg.wait()
        t = gochan.now()
        wg.add(1)
        with pytest.raises(TimeoutError) as ei:
            wg.wait(timeout=4)
        wg.done()
        return t, gochan.now(), str(ei.value)

    t, now, msg = run_bubble(body)
    assert (t, now) == (3.0, 7.0)
    assert msg.startswith("WaitGroup.wait timed out")


def test_after_func_runs_in_the_bubble_at_its_virtual_time():
    def body():
        out = Chan(2)
        after_func(5, lambda: out.send((gochan.now(), testing.in_bubble())))
        t = after_func(6, lambda: out.send("stopped?"))
        assert t.stop() is True
        gochan.sleep(10)
        return out.recv(timeout=0), len(out)

    assert run_bubble(body) == ((5.0, True), 0)


def test_after_func_goroutine_keeps_run_waiting():
    def body():
        seen = []
        after_func(1, lambda: (gochan.sleep(2), seen.append(gochan.now())))
        return seen

    # run()'s goroutine returns at once; Go's bubble has then stopped its
    # clock, so the pending after_func is a goroutine never started: no
    # deadlock, nothing ran.
    assert run_bubble(body) == []


def test_goroutines_started_inside_are_in_the_bubble():
    def body():
        inner = []

        def child():
            inner.append(testing.in_bubble())
            go(lambda: inner.append(testing.in_bubble()))

        go(child)
        gochan.sleep(1)
        return inner, testing.in_bubble()

    assert run_bubble(body) == ([True, True], True)
    assert testing.in_bubble() is False


def test_bubbled_decorator():
    @testing.bubbled
    def body(x):
        gochan.sleep(x)
        return gochan.now()

    assert spawn(body, 42).result() == 42.0


# ---- deadlocks -----------------------------------------------------------------

def test_deadlock_of_every_goroutine_is_reported_and_ends_them():
    ended = []

    def body():
        a, b = Chan(), Chan()

        def child():
            try:
                a.recv()
            except Deadlock:
                ended.append("child")
                raise

        go(child)
        try:
            b.send(1)
        except Deadlock:
            ended.append("main")
            raise

    with pytest.raises(Deadlock) as ei:
        run_bubble(body)
    msg = str(ei.value)
    assert "every goroutine of the bubble is durably blocked" in msg
    assert "recv on <Chan cap=0 len=0 open>" in msg
    assert "send on <Chan cap=0 len=0 open>" in msg
    assert "child" in msg
    assert sorted(ended) == ["child", "main"]


def test_deadlock_after_the_clock_ran_out_of_timers():
    def body():
        gochan.sleep(5)
        nilchan.recv()

    with pytest.raises(Deadlock) as ei:
        run_bubble(body)
    assert "virtual time 5 s" in str(ei.value)
    assert "recv on <Chan nil>" in str(ei.value)


def test_select_forever_in_a_bubble_is_a_deadlock():
    with pytest.raises(Deadlock) as ei:
        run_bubble(select)
    assert "select (no cases)" in str(ei.value)


def test_goroutines_left_blocked_after_main_returns_are_a_deadlock():
    # Go: "main bubble goroutine has exited but blocked goroutines remain".
    def body():
        ch = Chan()
        go(ch.recv)
        go(gochan.sleep, 10)   # no time passes once main has returned

    with pytest.raises(Deadlock) as ei:
        run_bubble(body)
    assert "has returned but blocked goroutines remain" in str(ei.value)
    assert "sleep" in str(ei.value)


def test_catching_the_deadlock_and_blocking_again_deadlocks_again():
    def body():
        try:
            nilchan.recv()
        except Deadlock:
            pass
        Chan().recv()

    with pytest.raises(Deadlock):
        run_bubble(body)


# ---- the boundary ---------------------------------------------------------------

def test_a_bubble_channel_used_from_outside_raises():
    box = []

    def body():
        box.append(Chan(1))
        box.append(after(1))

    run_bubble(body)
    ch, timer = box
    for op in (lambda: ch.send(1, timeout=0), lambda: ch.recv(timeout=0), ch.close,
               lambda: select(ch.recv, default), lambda: timer.recv(timeout=0)):
        with pytest.raises(RuntimeError, match="bubble"):
            op()
    assert len(ch) == 0


def test_a_bubble_timer_stopped_or_reset_from_outside_raises():
    box = []
    run_bubble(lambda: box.append((Timer(5), Ticker(5))))
    t, tk = box[0]
    for op in (t.stop, lambda: t.reset(1), tk.stop, lambda: tk.reset(1)):
        with pytest.raises(RuntimeError, match="bubble"):
            op()


def test_a_channel_of_one_bubble_used_in_another_raises():
    box = []
    run_bubble(lambda: box.append(Chan(1)))

    def body():
        with pytest.raises(RuntimeError, match="another bubble"):
            box[0].send(1)

    run_bubble(body)


def test_nested_run_raises():
    def body():
        with pytest.raises(RuntimeError, match="nest"):
            testing.run(lambda: None)
        return "ok"

    assert run_bubble(body) == "ok"


def test_outside_channels_work_inside():
    results = Chan(3)

    def body():
        for i in range(3):
            go(results.send, i)
        gochan.sleep(1)

    run_bubble(body)
    assert sorted(results.recv(timeout=SOON) for _ in range(3)) == [0, 1, 2]


# ---- dump() and timeout messages --------------------------------------------------

def test_dump_shows_blocked_threads_with_operation_and_stack():
    ch = Chan(2)

    def blocked_here():
        ch.recv(timeout=SOON)

    r = spawn(blocked_here)
    wait_parked(ch, receivers=1)
    text = gochan.dump()
    ch.send(None)
    r.result()
    assert "recv on <Chan cap=2 len=0 open>" in text
    assert "blocked_here" in text
    assert "timeout at" in text


def test_dump_marks_durable_blocks_in_a_bubble():
    def body():
        ch = Chan()
        go(ch.recv)
        testing.wait()
        text = gochan.dump()
        ch.send(1)
        return text

    text = run_bubble(body)
    assert "recv on <Chan cap=0 len=0 open>" in text
    assert "durably blocked" in text


@pytest.mark.parametrize("op, expected", [
    (lambda c: c.recv(timeout=0.01), "recv on <Chan cap=0 len=0 open> timed out after 0.01 s"),
    (lambda c: c.send(1, timeout=0), "send on <Chan cap=0 len=0 open> timed out after 0 s"),
    (lambda c: c.recv_ok(timeout=0.01), "recv on <Chan cap=0 len=0 open> timed out after 0.01 s"),
    (lambda c: nilchan.recv(timeout=0.01), "recv on <Chan nil> timed out after 0.01 s"),
    (lambda c: select(timeout=0.01), "select (no cases) timed out after 0.01 s"),
    (lambda c: select(c.recv, nilchan.recv, timeout=0),
     "select on <Chan cap=0 len=0 open>, <Chan nil> timed out after 0 s"),
])
def test_timeout_messages_name_the_operation_and_channels(op, expected):
    with pytest.raises(TimeoutError) as ei:
        op(Chan())
    assert str(ei.value) == expected


def test_a_timer_from_outside_fires_on_real_time_and_the_clock_stays():
    before = time.monotonic()
    t = after(0.05)

    def body():
        v = t.recv(timeout=SOON)   # not a durable block: the bubble waits for real time
        return v, gochan.now()

    v, now = run_bubble(body)
    assert v >= before + 0.05 and now == 0.0


def test_waiting_on_a_stopped_timer_is_a_deadlock():
    def body():
        t = Timer(10)
        t.stop()
        t.c.recv()

    with pytest.raises(Deadlock) as ei:
        run_bubble(body)
    assert "recv on <Chan timer cap=0 len=0 open>" in str(ei.value)


def test_a_pending_timer_is_not_a_deadlock():
    # TestTimerNotDeadlock idea: the blocked goroutine waits, time moves.
    def body():
        t = Timer(10)
        go(lambda: (gochan.sleep(5), t.reset(20)))
        return t.c.recv()

    assert run_bubble(body) == 25.0


# ---- context, Group and WaitGroup.go in a bubble ----------------------------------

def test_with_timeout_context_on_virtual_time():
    from gochan import context

    def body():
        ctx, cancel = context.with_timeout(context.background(), 3600)
        assert ctx.deadline() == 3600.0
        jobs = Chan()
        i, _ = select(jobs.recv, ctx.done().recv)     # an hour, at once
        cancel()
        return i, gochan.now(), type(ctx.err()).__name__

    t = time.monotonic()
    assert run_bubble(body) == (1, 3600.0, "DeadlineExceeded")
    assert time.monotonic() - t < SOON


def test_cancel_stops_a_context_deadline_in_a_bubble():
    from gochan import context

    def body():
        ctx, cancel = context.with_timeout(context.background(), 3600)
        child, _ = context.with_cancel(ctx)
        cancel()
        gochan.sleep(1)
        # the stopped deadline no longer moves the clock: waiting on a
        # context nobody will cancel is a deadlock at t=1, not after an hour
        context.with_cancel(context.background())[0].done().recv()

    with pytest.raises(Deadlock) as ei:
        run_bubble(body)
    assert "virtual time 1 s" in str(ei.value)


def test_context_after_func_runs_in_the_bubble():
    from gochan import context

    def body():
        ctx, cancel = context.with_timeout(context.background(), 10)
        out = Chan(1)
        context.after_func(ctx, lambda: out.send((gochan.now(), testing.in_bubble())))
        return out.recv()

    assert run_bubble(body) == (10.0, True)


def test_a_context_from_outside_keeps_real_time_inside(afterfunc_dispatcher):
    from gochan import context

    parent, cancel = context.with_cancel(context.background())
    ready = Chan(1)

    def body():
        child, _ = context.with_timeout(parent, 5)   # not the bubble's: real time
        ready.send(None)
        child.done().recv()                          # not durable: cancel() comes from outside
        return type(child.err()).__name__, gochan.now()

    r = spawn(testing.run, body)
    ready.recv(timeout=SOON)
    cancel()
    assert r.result() == ("Canceled", 0.0)


def test_waitgroup_go_and_group_go_start_bubble_goroutines():
    from gochan import Group

    def body():
        wg = WaitGroup()
        seen = []
        for d in (2, 1):
            wg.go(lambda d=d: (gochan.sleep(d), seen.append((d, testing.in_bubble()))))
        wg.wait()
        g = Group()
        g.go(lambda: gochan.sleep(5))
        g.go(lambda: gochan.sleep(3))
        g.wait()
        return seen, gochan.now()

    assert run_bubble(body) == ([(1, True), (2, True)], 7.0)
