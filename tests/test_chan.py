"""Chan: construction, send/recv/recv_ok/close, timeouts, iteration and the
object protocol (API.md, section "Chan")."""
import copy
import gc
import pickle
import re
import threading
import time

import pytest

import gochan
from gochan import Chan, ClosedChannelError, RecvChan, SendChan, nilchan

from conftest import SOON, spawn, wait_parked

pytestmark = pytest.mark.no_leftover_goroutines


# --- construction -----------------------------------------------------------

@pytest.mark.parametrize("args", [(), (0,)])
def test_unbuffered_construction(args):
    c = Chan(*args)
    assert c.cap == 0
    assert len(c) == 0


@pytest.mark.parametrize("n", [1, 2, 7, 1000])
def test_buffered_construction(n):
    c = Chan(n)
    assert c.cap == n
    assert len(c) == 0


def test_negative_capacity_is_value_error():
    with pytest.raises(ValueError) as ei:
        Chan(-1)
    assert re.search(r"negative|-1|>= ?0|non-?negative", str(ei.value)), str(ei.value)


@pytest.mark.parametrize("bad, type_name", [
    (1.5, "float"), (2.0, "float"), ("3", "str"), (True, "bool"), (False, "bool"),
    (None, "None"), ([1], "list"),
])
def test_non_int_capacity_is_type_error(bad, type_name):
    with pytest.raises(TypeError) as ei:
        Chan(bad)
    assert type_name in str(ei.value), "message does not name the problem: %r" % str(ei.value)


def test_huge_capacity_is_cheap():
    """Chan(10**9) costs memory only for what it holds."""

    def vm_kib(field):
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        pytest.skip("no /proc/self/status")

    size0, rss0 = vm_kib("VmSize"), vm_kib("VmRSS")
    chans = [Chan(10 ** 9) for _ in range(50)]
    for c in chans:
        assert c.cap == 10 ** 9
        assert len(c) == 0
    # 50 eager buffers of 10**9 pointers would be 400 GB of address space.
    assert vm_kib("VmSize") - size0 < 1024 * 1024, "Chan(10**9) reserves its whole buffer"
    assert vm_kib("VmRSS") - rss0 < 64 * 1024
    big = chans[0]
    for i in range(100_000):
        big.send(i, timeout=0)
    assert len(big) == 100_000
    assert [big.recv(timeout=0) for _ in range(100_000)] == list(range(100_000))
    assert len(big) == 0
    del chans, big


# --- values, FIFO, len ------------------------------------------------------

@pytest.mark.parametrize("cap", [1, 2, 5, 64])
def test_buffered_fifo_and_len(cap):
    c = Chan(cap)
    for i in range(cap):
        c.send(i)
        assert len(c) == i + 1
    for i in range(cap):
        assert c.recv() == i
        assert len(c) == cap - i - 1


def test_values_pass_by_reference():
    c = Chan(3)
    objs = [object(), [1, 2], {"a": 1}]
    for o in objs:
        c.send(o)
    for o in objs:
        assert c.recv() is o


def test_none_is_a_value_not_closure():
    c = Chan(1)
    c.send(None)
    assert c.recv_ok() == (None, True)


def test_recv_ok_on_open_channel():
    c = Chan(2)
    c.send("a")
    v, ok = c.recv_ok()
    assert (v, ok) == ("a", True)
    assert ok is True


def test_isinstance_directional():
    c = Chan()
    assert isinstance(c, SendChan)
    assert isinstance(c, RecvChan)
    assert isinstance(Chan(5), SendChan) and isinstance(Chan(5), RecvChan)


def test_timer_channels_are_recvchans():
    from gochan import Ticker, Timer, after, tick

    a = after(0)
    assert isinstance(a, RecvChan)
    assert isinstance(a.recv(timeout=SOON), float)
    t = Timer(3600)
    assert isinstance(t.c, RecvChan)
    t.stop()
    tk = Ticker(3600)
    assert isinstance(tk.c, RecvChan)
    tk.stop()
    assert isinstance(tick(3600), RecvChan)


def test_generic_subscript_at_runtime():
    # Annotations such as ``def f(c: Chan[int])`` are evaluated at def time.
    Chan[int]
    SendChan[int]
    RecvChan[str]


# --- close ------------------------------------------------------------------

def test_closed_channel_error_is_runtime_error():
    assert issubclass(ClosedChannelError, RuntimeError)


@pytest.mark.parametrize("cap", [0, 1, 3])
def test_send_on_closed(cap):
    c = Chan(cap)
    c.close()
    with pytest.raises(ClosedChannelError) as ei:
        c.send(1)
    assert str(ei.value) == "send on closed channel"
    with pytest.raises(ClosedChannelError):
        c.send(1, timeout=0)
    with pytest.raises(ClosedChannelError):
        c.send(1, timeout=1.0)
    assert len(c) == 0
    assert c.recv_ok(timeout=0) == (None, False)


@pytest.mark.parametrize("cap", [0, 1, 3])
def test_close_of_closed(cap):
    c = Chan(cap)
    c.close()
    with pytest.raises(ClosedChannelError) as ei:
        c.close()
    assert str(ei.value) == "close of closed channel"


def test_close_of_nil():
    with pytest.raises(ClosedChannelError) as ei:
        nilchan.close()
    assert str(ei.value) == "close of nil channel"


@pytest.mark.parametrize("cap", [1, 3, 10])
def test_buffered_values_survive_close(cap):
    c = Chan(cap, zero=-1)
    for i in range(cap):
        c.send(i)
    c.close()
    assert len(c) == cap
    for i in range(cap):
        assert c.recv_ok() == (i, True)
    assert len(c) == 0
    assert c.recv() == -1
    assert c.recv_ok() == (-1, False)
    # A closed, drained channel answers at once, whatever the timeout.
    assert c.recv(timeout=0) == -1
    assert c.recv_ok(timeout=0) == (-1, False)
    assert c.recv(timeout=SOON) == -1


def test_zero_default_is_none():
    c = Chan()
    c.close()
    assert c.recv() is None
    assert c.recv_ok() == (None, False)


def test_zero_is_the_same_object():
    z = object()
    c = Chan(2, zero=z)
    c.close()
    assert c.recv() is z
    v, ok = c.recv_ok()
    assert v is z and ok is False


@pytest.mark.parametrize("cap", [0, 1, 4])
def test_close_wakes_blocked_receivers(cap):
    z = object()
    c = Chan(cap, zero=z)
    rs = [spawn(c.recv, timeout=SOON) for _ in range(3)]
    rok = [spawn(c.recv_ok, timeout=SOON) for _ in range(2)]
    wait_parked(c, receivers=5, senders=0)
    c.close()
    for r in rs:
        assert r.result() is z
    for r in rok:
        v, ok = r.result()
        assert v is z and ok is False
    assert c._waiters() == (0, 0)


def test_close_wakes_blocked_unbuffered_senders_value_not_delivered():
    c = Chan(zero="zero")
    ss = [spawn(c.send, "v%d" % i, timeout=SOON) for i in range(3)]
    wait_parked(c, receivers=0, senders=3)
    c.close()
    for s in ss:
        e = s.error()
        assert isinstance(e, ClosedChannelError)
        assert str(e) == "send on closed channel"
    assert c._waiters() == (0, 0)
    assert len(c) == 0
    assert c.recv_ok(timeout=0) == ("zero", False)


def test_close_wakes_blocked_buffered_senders_value_not_delivered():
    c = Chan(2, zero="zero")
    c.send("a")
    c.send("b")
    ss = [spawn(c.send, "late%d" % i, timeout=SOON) for i in range(2)]
    wait_parked(c, receivers=0, senders=2)
    c.close()
    for s in ss:
        assert isinstance(s.error(), ClosedChannelError)
    assert len(c) == 2
    assert [c.recv(), c.recv(), c.recv()] == ["a", "b", "zero"]
    assert c.recv_ok() == ("zero", False)


def test_close_happens_before_receive_that_sees_it():
    # A value written before close() is visible to a receiver woken by it.
    box = []
    c = Chan()
    r = spawn(lambda: (c.recv_ok(timeout=SOON), list(box)))
    wait_parked(c, receivers=1)
    box.append("written before close")
    c.close()
    (v, ok), seen = r.result()
    assert ok is False and seen == ["written before close"]


# --- unbuffered rendezvous --------------------------------------------------

def test_unbuffered_send_waits_for_receiver():
    c = Chan()
    done = threading.Event()

    def sender():
        c.send("x", timeout=SOON)
        done.set()

    s = spawn(sender)
    wait_parked(c, receivers=0, senders=1)
    # The sender is parked: its send has not returned and nothing is buffered.
    assert not done.is_set()
    assert len(c) == 0
    assert c.recv(timeout=SOON) == "x"
    s.result()
    assert done.is_set()
    assert c._waiters() == (0, 0)


def test_unbuffered_recv_waits_for_sender():
    c = Chan()
    r = spawn(c.recv_ok, timeout=SOON)
    wait_parked(c, receivers=1, senders=0)
    assert not r.finished.is_set()
    c.send("y", timeout=SOON)
    # Once send returned, the parked receiver owns the value.
    assert c._waiters() == (0, 0)
    assert r.result() == ("y", True)


def test_unbuffered_nonblocking_with_parked_partner():
    c = Chan()
    r = spawn(c.recv, timeout=SOON)
    wait_parked(c, receivers=1)
    c.send(1, timeout=0)          # a ready partner: the try succeeds
    assert r.result() == 1
    s = spawn(c.send, 2, timeout=SOON)
    wait_parked(c, senders=1)
    assert c.recv(timeout=0) == 2
    s.result()


def test_unbuffered_send_happens_before_recv_completes():
    box = []
    c = Chan()

    def sender():
        box.append("payload")
        c.send("token", timeout=SOON)

    s = spawn(sender)
    assert c.recv(timeout=SOON) == "token"
    assert box == ["payload"]
    s.result()


def test_parked_receivers_served_fifo():
    c = Chan()
    rs = []
    for i in range(4):
        rs.append(spawn(c.recv, timeout=SOON))
        wait_parked(c, receivers=i + 1)
    for i in range(4):
        c.send(i, timeout=SOON)
    assert [r.result() for r in rs] == [0, 1, 2, 3]


@pytest.mark.parametrize("cap", [0, 2])
def test_parked_senders_served_fifo(cap):
    c = Chan(cap)
    for i in range(cap):
        c.send(("buf", i))
    ss = []
    for i in range(3):
        ss.append(spawn(c.send, ("parked", i), timeout=SOON))
        wait_parked(c, senders=i + 1)
    got = [c.recv(timeout=SOON) for _ in range(cap + 3)]
    assert got == [("buf", i) for i in range(cap)] + [("parked", i) for i in range(3)]
    for s in ss:
        s.result()
    assert len(c) == 0


def _main_thread_keeps_place(role):
    """The main thread parks first, another thread second; after several of
    the main thread's signal-check slices (API: 100 ms interrupt latency) the
    first waiter must still be served first (Go's FIFO wait queues)."""
    c = Chan()
    got = {}

    def orchestrate():
        want = (1, 0) if role == "recv" else (0, 1)
        wait_parked(c, *want)
        if role == "recv":
            other = spawn(c.recv, timeout=SOON)
            wait_parked(c, receivers=2)
        else:
            other = spawn(c.send, "other", timeout=SOON)
            wait_parked(c, senders=2)
        time.sleep(0.3)            # let the main thread's wait run for a while
        if role == "recv":
            c.send("first", timeout=SOON)
            c.send("second", timeout=SOON)
            got["other"] = other.result()
        else:
            got["order"] = [c.recv(timeout=SOON), c.recv(timeout=SOON)]
            other.result()

    o = spawn(orchestrate)
    if role == "recv":
        got["main"] = c.recv(timeout=SOON)
    else:
        c.send("main", timeout=SOON)
    o.result()
    return got


def test_main_thread_parked_receiver_keeps_its_place():
    got = _main_thread_keeps_place("recv")
    assert got == {"main": "first", "other": "second"}


def test_main_thread_parked_sender_keeps_its_place():
    got = _main_thread_keeps_place("send")
    assert got == {"order": ["main", "other"]}


def test_recv_from_full_buffer_admits_one_parked_sender():
    c = Chan(2)
    c.send("a")
    c.send("b")
    s = spawn(c.send, "c", timeout=SOON)
    wait_parked(c, senders=1)
    assert len(c) == 2
    assert c.recv() == "a"
    s.result()                 # the parked sender moved its value into the buffer
    assert len(c) == 2
    assert c._waiters() == (0, 0)
    assert [c.recv(), c.recv()] == ["b", "c"]


# --- timeouts ---------------------------------------------------------------

@pytest.mark.parametrize("cap", [0, 1])
def test_recv_timeout_zero_is_nonblocking(cap):
    c = Chan(cap)
    t0 = time.monotonic()
    with pytest.raises(TimeoutError):
        c.recv(timeout=0)
    with pytest.raises(TimeoutError):
        c.recv_ok(timeout=0)
    assert time.monotonic() - t0 < SOON
    assert c._waiters() == (0, 0)


@pytest.mark.parametrize("cap", [0, 1, 3])
def test_send_timeout_zero_full_not_delivered(cap):
    c = Chan(cap)
    for i in range(cap):
        c.send(i, timeout=0)
    with pytest.raises(TimeoutError):
        c.send("extra", timeout=0)
    assert len(c) == cap
    assert c._waiters() == (0, 0)
    assert [c.recv(timeout=0) for _ in range(cap)] == list(range(cap))
    with pytest.raises(TimeoutError):
        c.recv(timeout=0)


@pytest.mark.parametrize("cap", [0, 1])
def test_recv_timeout_expires(cap):
    c = Chan(cap)
    t0 = time.monotonic()
    with pytest.raises(TimeoutError):
        c.recv(timeout=0.1)
    assert time.monotonic() - t0 >= 0.09  # never early
    with pytest.raises(TimeoutError):
        c.recv_ok(timeout=0.05)
    assert c._waiters() == (0, 0)
    # The expired receiver is gone: a value sent now stays for the next one.
    if cap:
        c.send("v", timeout=0)
        assert c.recv(timeout=0) == "v"
    else:
        with pytest.raises(TimeoutError):
            c.send("v", timeout=0)


@pytest.mark.parametrize("cap", [0, 2])
def test_send_timeout_expires_value_not_delivered(cap):
    c = Chan(cap)
    for i in range(cap):
        c.send(i)
    t0 = time.monotonic()
    with pytest.raises(TimeoutError):
        c.send("late", timeout=0.1)
    assert time.monotonic() - t0 >= 0.09
    assert c._waiters() == (0, 0)
    assert len(c) == cap
    got = [c.recv(timeout=0) for _ in range(cap)]
    assert got == list(range(cap))
    with pytest.raises(TimeoutError):
        c.recv(timeout=0)


def test_blocking_recv_with_timeout_gets_value():
    c = Chan()
    r = spawn(c.recv, timeout=SOON)
    wait_parked(c, receivers=1)
    c.send(42, timeout=SOON)
    assert r.result() == 42


def test_timeout_none_blocks_until_partner():
    c = Chan()
    r = spawn(c.recv, timeout=None)
    wait_parked(c, receivers=1)
    c.send("n", timeout=SOON)
    assert r.result() == "n"
    s = spawn(c.send, "m", timeout=None)
    wait_parked(c, senders=1)
    assert c.recv(timeout=SOON) == "m"
    s.result()


def test_negative_timeout_is_a_nonblocking_try():
    # Go: a negative duration has already expired.
    c = Chan(1)
    with pytest.raises(TimeoutError):
        c.recv(timeout=-1)
    c.send("v", timeout=-1)
    with pytest.raises(TimeoutError):
        c.send("w", timeout=-0.5)
    assert c.recv(timeout=-1) == "v"


@pytest.mark.parametrize("huge", [1e300, float("inf"), 10 ** 30])
def test_huge_timeout_means_wait(huge):
    # As for timers (API.md): too large to represent means "never", not OverflowError.
    c = Chan()
    r = spawn(c.recv, timeout=huge)
    wait_parked(c, receivers=1)
    c.send("x", timeout=SOON)
    assert r.result() == "x"
    s = spawn(c.send, "y", timeout=huge)
    wait_parked(c, senders=1)
    assert c.recv(timeout=SOON) == "y"
    s.result()


def test_nan_timeout_rejected():
    c = Chan(1)
    c.send(1)
    with pytest.raises(ValueError):
        c.recv(timeout=float("nan"))
    assert len(c) == 1
    with pytest.raises(ValueError):
        c.send(2, timeout=float("nan"))
    assert c.recv(timeout=0) == 1


# --- iteration --------------------------------------------------------------

def test_iterate_until_closed_and_drained():
    c = Chan(3)
    for i in range(3):
        c.send(i)
    c.close()
    assert list(c) == [0, 1, 2]
    assert list(c) == []


@pytest.mark.parametrize("cap", [0, 1, 16])
def test_iterate_with_producer(cap):
    c = Chan(cap)

    def producer():
        for i in range(500):
            c.send(i, timeout=SOON)
        c.close()

    p = spawn(producer)
    # Iterate in a thread so that a missing close fails the test instead of
    # hanging it.
    consumer = spawn(lambda: [v for v in c])
    assert consumer.result(timeout=30) == list(range(500))
    p.result()


def test_iteration_yields_none_values():
    c = Chan(3)
    c.send(None)
    c.send(0)
    c.send(None)
    c.close()
    assert list(c) == [None, 0, None]


def test_iter_returns_iterator():
    c = Chan(1)
    c.close()
    it = iter(c)
    assert iter(it) is it
    with pytest.raises(StopIteration):
        next(it)


# --- object protocol --------------------------------------------------------

def test_repr():
    c = Chan(3)
    c.send(1)
    r = repr(c)
    assert "Chan" in r and "cap=3" in r and "len=1" in r and "open" in r
    c.close()
    r = repr(c)
    assert "cap=3" in r and "len=1" in r and "closed" in r
    assert "open" not in r
    u = repr(Chan())
    assert "cap=0" in u and "len=0" in u and "open" in u


def test_hash_and_eq_by_identity():
    a, b = Chan(), Chan()
    assert a == a
    assert a != b
    assert not (a == b)
    assert hash(a) == hash(a)
    d = {a: "a", b: "b"}
    assert d[a] == "a" and d[b] == "b"
    assert len({a, b, a}) == 2
    c1, c2 = Chan(1), Chan(1)
    assert c1 != c2            # same cap and content does not make them equal


@pytest.mark.parametrize("proto", range(pickle.HIGHEST_PROTOCOL + 1))
def test_not_picklable(proto):
    with pytest.raises(TypeError):
        pickle.dumps(Chan(1), protocol=proto)


def test_not_copyable():
    c = Chan(2)
    c.send(1)
    with pytest.raises(TypeError):
        copy.copy(c)
    with pytest.raises(TypeError):
        copy.deepcopy(c)
    with pytest.raises(TypeError):
        copy.deepcopy({"chan": c})
    assert len(c) == 1


def test_channel_of_channels():
    c = Chan(1)
    inner = Chan(1)
    c.send(inner)
    got = c.recv()
    assert got is inner
    got.send("deep")
    assert inner.recv() == "deep"


def test_many_channels_collectable():
    import weakref

    refs = []
    for _ in range(100):
        c = Chan(2)
        c.send(1)
        refs.append(weakref.ref(c))
        del c
    gc.collect()
    assert all(r() is None for r in refs)


def test_self_referencing_channel_collectable():
    import weakref

    c = Chan(1)
    c.send(c)              # a cycle through the buffer
    r = weakref.ref(c)
    del c
    gc.collect()
    assert r() is None


def test_concurrent_close_exactly_one_wins():
    for _ in range(50):
        c = Chan()
        wins, errs = [], []
        barrier = threading.Barrier(4)

        def closer():
            barrier.wait(SOON)
            try:
                c.close()
                wins.append(1)
            except ClosedChannelError as e:
                errs.append(str(e))

        ts = [spawn(closer) for _ in range(4)]
        for t in ts:
            t.result()
        assert len(wins) == 1
        assert errs == ["close of closed channel"] * 3



def test_truth_value_is_not_emptiness():
    # A channel is a reference (Go's ch != nil), not a container: an empty
    # channel is true; only nilchan is false.
    from gochan import nilchan
    empty = Chan(3)
    assert len(empty) == 0 and bool(empty) is True
    assert bool(Chan()) is True
    assert bool(nilchan) is False


class _Seconds(float):
    def __str__(self) -> str:
        return "five"


@pytest.mark.parametrize("timeout, shown", [
    (0, "0"), (-3, "-3"), (0.0, "0.0"), (2.5, "2.5"), (1e-9, "1e-09"), (1e-300, "1e-300"),
    (-(2 ** 63), "-9223372036854775808"), (-(10 ** 30), "-" + "1" + "0" * 30),
    (_Seconds(-1), "five"),          # a subclass is shown by its own __str__
])
def test_timeout_message_shows_the_timeout_as_str_does(timeout, shown):
    # the send/recv message is built in C without printf: it must read exactly
    # like str() of the timeout, for ints of any size, float reprs and subclasses
    full = Chan(2)
    full.send(1)
    full.send(2)
    with pytest.raises(TimeoutError) as ei:
        Chan().recv(timeout=timeout)
    assert str(ei.value) == f"recv on <Chan cap=0 len=0 open> timed out after {shown} s"
    with pytest.raises(TimeoutError) as ei:
        full.send(3, timeout=timeout)
    assert str(ei.value) == f"send on <Chan cap=2 len=2 open> timed out after {shown} s"
    assert full.recv(timeout=0) == 1 and full.recv(timeout=0) == 2 and len(full) == 0


def test_timeout_message_and_repr_of_every_kind_of_channel():
    closed = Chan(2 ** 62)
    closed.close()
    timer = gochan.Timer(3600)
    for ch, text in [(closed, "<Chan cap=4611686018427387904 len=0 closed>"),
                     (nilchan, "<Chan nil>"),
                     (timer.c, "<Chan timer cap=0 len=0 open>")]:
        assert repr(ch) == text
        if ch is not closed:       # a closed channel's recv does not time out
            with pytest.raises(TimeoutError, match=r"^recv on " + re.escape(text) + " timed out after 0 s$"):
                ch.recv(timeout=0)
    timer.stop()
