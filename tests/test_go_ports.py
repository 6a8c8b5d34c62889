"""Ports of the ideas in Go's test/chan/*.go and runtime/chan_test.go.

Written anew for gochan (nothing copied), scaled for a 2-core machine and
CPython: a few hundred or thousand operations where Go uses 10**5.  Every
blocking call has a timeout; "wait until blocked" uses the parked-waiter hooks.
"""
import collections
import threading
import time
import tracemalloc

import pytest

from gochan import Chan, ClosedChannelError, WaitGroup, default, go, nilchan, select

from conftest import SOON, drain, join_all, spawn, wait_parked, wait_parked_at_least, wait_until

pytestmark = pytest.mark.no_leftover_goroutines


# --- runtime/chan_test.go: TestChan -------------------------------------------

CAPS = list(range(0, 9)) + [16, 50]


@pytest.mark.parametrize("cap", CAPS)
def test_chan_recv_from_empty_blocks(cap):
    c = Chan(cap)
    r1 = spawn(c.recv, timeout=SOON)
    r2 = spawn(c.recv_ok, timeout=SOON)
    wait_parked(c, receivers=2)
    assert not r1.finished.is_set() and not r2.finished.is_set()
    assert select(c.recv, default) == (1, None)
    assert select(c.recv_ok, default) == (1, None)
    c.send(0, timeout=SOON)
    c.send(0, timeout=SOON)
    assert r1.result() == 0
    assert r2.result() == (0, True)


@pytest.mark.parametrize("cap", CAPS)
def test_chan_send_to_full_blocks(cap):
    c = Chan(cap)
    for i in range(cap):
        c.send(i)
    s = spawn(c.send, "blocked", timeout=SOON)
    wait_parked(c, senders=1)
    assert not s.finished.is_set()
    assert select((c.send, "no"), default) == (1, None)
    got = c.recv(timeout=SOON)
    s.result()
    assert got == (0 if cap else "blocked")


@pytest.mark.parametrize("cap", CAPS)
def test_chan_closed_yields_buffer_then_zero(cap):
    c = Chan(cap, zero=0)
    for i in range(cap):
        c.send(i + 1)
    c.close()
    for i in range(cap):
        assert c.recv() == i + 1
    assert c.recv() == 0
    assert c.recv_ok() == (0, False)


@pytest.mark.parametrize("cap", CAPS)
def test_chan_close_unblocks_receive(cap):
    c = Chan(cap, zero=0)
    r = spawn(c.recv_ok, timeout=SOON)
    wait_parked(c, receivers=1)
    c.close()
    assert r.result() == (0, False)


@pytest.mark.parametrize("cap", CAPS)
def test_chan_fifo_from_another_thread(cap):
    c = Chan(cap)

    def send100():
        for i in range(100):
            c.send(i, timeout=SOON)

    s = spawn(send100)
    assert [c.recv(timeout=SOON) for _ in range(100)] == list(range(100))
    s.result()
    s = spawn(send100)
    for i in range(100):
        assert c.recv_ok(timeout=SOON) == (i, True)
    s.result()


@pytest.mark.parametrize("cap", [0, 1, 5, 50])
def test_chan_many_senders_many_receivers(cap):
    P, L = 4, 300
    c = Chan(cap)
    counts = Chan(P)

    def producer():
        for i in range(L):
            c.send(i, timeout=SOON)

    def consumer():
        seen = collections.Counter()
        for _ in range(L):
            seen[c.recv(timeout=SOON)] += 1
        counts.send(seen, timeout=SOON)

    ts = [go(producer) for _ in range(P)] + [go(consumer) for _ in range(P)]
    total = collections.Counter()
    for _ in range(P):
        total.update(counts.recv(timeout=30))
    join_all(ts)
    assert total == collections.Counter({i: P for i in range(L)})


@pytest.mark.parametrize("cap", CAPS)
def test_chan_len_cap(cap):
    c = Chan(cap)
    assert (len(c), c.cap) == (0, cap)
    for i in range(cap):
        c.send(i)
    assert (len(c), c.cap) == (cap, cap)


# --- runtime/chan_test.go: races between select-with-default and state --------

def test_nonblock_recv_race():
    """A value or a close is always there: select must never take default."""
    for _ in range(2000):
        c = Chan(1)
        c.send(1)
        saw = Chan(1)

        def probe():
            saw.send(select(c.recv, default)[0], timeout=SOON)

        t = go(probe)
        c.close()
        c.recv(timeout=SOON)
        assert saw.recv(timeout=SOON) == 0
        t.join(SOON)


@pytest.mark.parametrize("close_second", [False, True])
def test_nonblock_select_race(close_second):
    """From the probe's start, c1 or c2 is always ready: never default."""
    done = Chan(1)
    for _ in range(2000):
        c1 = Chan(1)
        c2 = Chan() if close_second else Chan(1)
        c1.send(1)

        def probe():
            i, _ = select(c1.recv, c2.recv, default)
            done.send(i != 2, timeout=SOON)

        t = go(probe)
        if close_second:
            c2.close()
        else:
            c2.send(1)
        select(c1.recv, default)
        assert done.recv(timeout=SOON) is True
        t.join(SOON)


# --- runtime/chan_test.go: TestSelfSelect -----------------------------------

@pytest.mark.parametrize("cap", [0, 10])
def test_self_select(cap):
    c = Chan(cap)
    errors = []

    def worker(p):
        for i in range(3000):
            if p == 0 or i % 2 == 0:
                k, v = select((c.send, p), c.recv, timeout=SOON)
                received = k == 1
            else:
                k, v = select(c.recv, (c.send, p), timeout=SOON)
                received = k == 0
            if received and cap == 0 and v == p:
                errors.append("self receive")

    ts = [go(worker, p) for p in range(2)]
    join_all(ts, timeout=60)
    assert errors == []


# --- runtime/chan_test.go: TestSelectStress ---------------------------------

def test_select_stress():
    N = 5000
    cs = [Chan(0), Chan(0), Chan(2), Chan(3)]
    wg = WaitGroup()
    wg.add(10)
    failures = []

    def guarded(fn):
        def run(*a):
            try:
                fn(*a)
            except BaseException as e:  # report instead of hanging the others
                failures.append(e)
            finally:
                wg.done()
        return run

    def plain_sender(k):
        for _ in range(N):
            cs[k].send(0, timeout=30)

    def plain_receiver(k):
        for _ in range(N):
            cs[k].recv(timeout=30)

    def select_sender():
        n = [0] * 4
        live = list(cs)
        for _ in range(4 * N):
            k, _ = select(*[(c.send, 0) for c in live], timeout=30)
            n[k] += 1
            if n[k] == N:
                live[k] = nilchan

    def select_receiver():
        n = [0] * 4
        live = list(cs)
        for _ in range(4 * N):
            k, _ = select(*[c.recv for c in live], timeout=30)
            n[k] += 1
            if n[k] == N:
                live[k] = nilchan

    for k in range(4):
        go(guarded(plain_sender), k)
        go(guarded(plain_receiver), k)
    go(guarded(select_sender))
    go(guarded(select_receiver))
    assert wg.wait(timeout=90) is True
    assert failures == []
    assert all(len(c) == 0 and c._waiters() == (0, 0) for c in cs)


# --- runtime/chan_test.go: TestMultiConsumer --------------------------------

def test_multi_consumer():
    nwork, niter = 8, 100_000
    pn = [2, 3, 7, 11, 13, 17, 19, 23, 27, 31]
    q, r = Chan(nwork * 3), Chan(nwork * 3)
    wg = WaitGroup()

    def worker(w):
        try:
            for v in q:
                if pn[w % len(pn)] == v:
                    time.sleep(0)       # disturb the FIFO-ish order
                r.send(v, timeout=30)
        finally:
            wg.done()

    for w in range(nwork):
        wg.add(1)
        go(worker, w)
    expect = sum(pn[i % len(pn)] for i in range(niter))

    def feeder():
        for i in range(niter):
            q.send(pn[i % len(pn)], timeout=30)
        q.close()
        wg.wait(timeout=60)
        r.close()

    f = go(feeder)
    n = s = 0
    for v in drain(r, timeout=30):
        n += 1
        s += v
    f.join(SOON)
    assert (n, s) == (niter, expect)


# --- runtime/chan_test.go: TestPseudoRandomSend -----------------------------

@pytest.mark.parametrize("cap", [0, 100])
def test_pseudo_random_send(cap):
    n = 100
    c = Chan(cap)
    got = []

    def receiver():
        for _ in range(n):
            time.sleep(0)
            got.append(c.recv(timeout=SOON))

    t = go(receiver)
    for _ in range(n):
        select((c.send, 1), (c.send, 0), timeout=SOON)
    t.join(SOON)
    assert not t.is_alive()
    ones = sum(got)
    zeros = n - ones
    assert zeros > n // 10 and ones > n // 10, (zeros, ones)


# --- runtime/chan_test.go: TestSelectDuplicateChannel -----------------------

def test_select_duplicate_channel_queue_not_corrupted():
    c, d, e = Chan(), Chan(), Chan()

    def a():
        select(c.recv, c.recv, d.recv, timeout=SOON)
        e.send(9, timeout=SOON)

    ta = spawn(a)
    wait_parked_at_least(c, receivers=1)
    wait_parked_at_least(d, receivers=1)
    a_count = c._waiters()[0]
    tb = spawn(c.recv, timeout=SOON)
    wait_parked(c, receivers=a_count + 1)
    d.send(7, timeout=SOON)           # wakes A, which withdraws from c twice
    assert e.recv(timeout=SOON) == 9
    ta.result()
    wait_parked(c, receivers=1)       # only B is left
    c.send(8, timeout=SOON)           # must reach B, not the departed A
    assert tb.result() == 8
    assert c._waiters() == (0, 0)


# --- a close racing with blocked and arriving senders and receivers ----------

@pytest.mark.parametrize("cap", [0, 2])
def test_close_race(cap):
    for rnd in range(100):
        c = Chan(cap, zero="Z")
        sent, received, refused = [], [], []
        lock = threading.Lock()

        def sender(k):
            for j in range(5):
                v = (k, j)
                try:
                    c.send(v, timeout=SOON)
                except ClosedChannelError:
                    with lock:
                        refused.append(v)
                    return
                with lock:
                    sent.append(v)

        def receiver():
            while True:
                v, ok = c.recv_ok(timeout=SOON)
                if not ok:
                    if v != "Z":
                        with lock:
                            refused.append(("bad zero", v))
                    return
                with lock:
                    received.append(v)

        ts = [go(sender, k) for k in range(3)] + [go(receiver) for _ in range(3)]
        if rnd % 2:
            time.sleep(0.0005 * (rnd % 5))
        c.close()
        join_all(ts)
        # Every value whose send returned was received exactly once; a refused
        # value never was.
        assert sorted(received) == sorted(sent)
        assert not set(refused) & set(received)
        assert not [v for v in refused if v[0] == "bad zero"]
        assert c._waiters() == (0, 0)


# --- test/chan/nonblock.go --------------------------------------------------

def _spin_until(op, what):
    deadline = time.monotonic() + SOON
    while True:
        try:
            return op()
        except TimeoutError:
            if time.monotonic() > deadline:
                pytest.fail("non-blocking %s never succeeded" % what)
            time.sleep(0.0002)


@pytest.mark.parametrize("cap", [0, 1])
def test_nonblock(cap):
    for val in [123, "s", 1.5, None, (1, 2)]:
        c = Chan(cap)
        with pytest.raises(TimeoutError):
            c.recv(timeout=0)
        assert select(c.recv, default) == (1, None)

        # A receiver appears later: non-blocking sends eventually succeed.
        r = spawn(c.recv, timeout=SOON)
        _spin_until(lambda: c.send(val, timeout=0), "send")
        assert r.result() == val

        # A sender appears later: non-blocking receives eventually succeed.
        s = spawn(c.send, val, timeout=SOON)
        assert _spin_until(lambda: c.recv(timeout=0), "recv") == val
        s.result()

        # Same with select + default.
        def sel_send():
            k, _ = select((c.send, val), default)
            if k == 1:
                raise TimeoutError
        r = spawn(c.recv_ok, timeout=SOON)
        _spin_until(sel_send, "select send")
        assert r.result() == (val, True)


# --- test/chan/select.go: select among sends counts each channel -------------

def test_select_sends_reach_both_channels():
    """A loop of select-sends to a and b, each with its own receiver: together
    they see every value exactly once, each in order.  (How the values split
    between a and b depends on which receiver the OS lets run, so it is not
    checked here; test_fairness checks the choice among ready cases.)"""
    a, b = Chan(), Chan()
    n = 400
    outs = {"a": [], "b": []}

    def drain(name, ch):
        for v in ch:
            outs[name].append(v)

    ra, rb = spawn(drain, "a", a), spawn(drain, "b", b)
    for i in range(n):
        select((a.send, i), (b.send, i), timeout=SOON)
    a.close()
    b.close()
    ra.result()
    rb.result()
    assert sorted(outs["a"] + outs["b"]) == list(range(n))
    assert outs["a"] == sorted(outs["a"]) and outs["b"] == sorted(outs["b"])


# --- test/chan/select2.go: a select loop does not grow memory ----------------

def test_select_loop_memory_stable():
    c, stop = Chan(), Chan()

    def sender():
        while True:
            k, _ = select((c.send, 1), stop.recv, timeout=SOON)
            if k == 1:
                return

    s = spawn(sender)
    for _ in range(2000):
        select(c.recv, timeout=SOON)
    tracemalloc.start()
    try:
        for _ in range(2000):
            select(c.recv, timeout=SOON)
        base = tracemalloc.get_traced_memory()[0]
        for _ in range(20000):
            select(c.recv, timeout=SOON)
        grown = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
        stop.close()
        s.result()
    assert grown < 64 * 1024, "select loop grew %d bytes" % grown


# --- test/chan/doubleselect.go ----------------------------------------------

def test_double_select():
    """One sender spreads 1..N over four channels with select; four muxes
    forward into one channel; every value arrives exactly once."""
    N = 10_000
    ins = [Chan() for _ in range(4)]
    out = Chan()
    wg = WaitGroup()

    def sender():
        for i in range(1, N + 1):
            select(*[(c.send, i) for c in ins], timeout=SOON)
        for c in ins:
            c.close()

    def mux(c):
        try:
            for v in c:
                out.send(v, timeout=SOON)
        finally:
            wg.done()

    wg.add(4)
    ts = [go(sender)] + [go(mux, c) for c in ins]

    def closer():
        wg.wait(timeout=60)
        out.close()

    ts.append(go(closer))
    seen = collections.Counter(drain(out, timeout=30))
    join_all(ts)
    assert seen == collections.Counter(range(1, N + 1))


# --- test/chan/fifo.go ------------------------------------------------------

def test_async_fifo():
    N = 10
    c = Chan(N)
    for i in range(N):
        c.send(i, timeout=0)
    for i in range(N):
        assert c.recv(timeout=0) == i


def test_sync_fifo_chain():
    """Receivers queue on one unbuffered channel in a known order (each link
    waits for the previous to be parked); values reach them in that order."""
    N = 40
    ch = Chan()
    links = []
    for i in range(N):
        links.append(spawn(ch.recv, timeout=SOON))
        wait_parked(ch, receivers=i + 1)
    for i in range(N):
        ch.send(i, timeout=SOON)
    assert [link.result() for link in links] == list(range(N))


def test_sync_fifo_relay():
    """fifo.go's SynchFifo: link i waits for its turn on ``inp``, receives from the
    shared channel, checks it got value i, and passes the turn on."""
    N = 40
    ch = Chan()
    turns = [Chan() for _ in range(N + 1)]
    bad = []

    def link(i):
        turns[i].recv(timeout=SOON)
        v = ch.recv(timeout=SOON)
        if v != i:
            bad.append((i, v))
        turns[i + 1].send(1, timeout=SOON)

    ts = [go(link, i) for i in range(N)]

    def driver():
        turns[0].send(1, timeout=SOON)

    d = go(driver)
    for i in range(N):
        ch.send(i, timeout=SOON)
    turns[N].recv(timeout=SOON)
    join_all(ts + [d])
    assert bad == []


# --- test/chan/sieve1.go ------------------------------------------------------

def test_prime_sieve():
    quit = Chan()

    def generate(out):
        i = 2
        while True:
            if select((out.send, i), quit.recv, timeout=30)[0] == 1:
                return
            i += 1

    def filt(inp, out, prime):
        while True:
            k, v = select(inp.recv, quit.recv, timeout=30)
            if k == 1:
                return
            if v % prime:
                if select((out.send, v), quit.recv, timeout=30)[0] == 1:
                    return

    threads = []
    ch = Chan()
    threads.append(go(generate, ch))
    primes = []
    for _ in range(100):
        p = ch.recv(timeout=30)
        primes.append(p)
        nxt = Chan()
        threads.append(go(filt, ch, nxt, p))
        ch = nxt
    quit.close()
    join_all(threads, timeout=30)

    def is_prime(n):
        return n > 1 and all(n % d for d in range(2, int(n ** 0.5) + 1))

    assert primes == [n for n in range(2, 542) if is_prime(n)]
    assert len(primes) == 100 and primes[-1] == 541


# --- test/chan/zerosize.go ----------------------------------------------------

@pytest.mark.parametrize("cap", [0, 1, 1000])
def test_zero_size_signals(cap):
    """Channels used only as signals: the values carry nothing."""
    c = Chan(cap)
    n = 500

    def signaller():
        for _ in range(n):
            c.send(None, timeout=SOON)
        c.close()

    s = spawn(signaller)
    count = 0
    for v in drain(c):
        assert v is None
        count += 1
    s.result()
    assert count == n


def test_zero_size_empty_tuples_and_struct_like():
    c = Chan(3, zero=())
    c.send(())
    c.send(())
    c.close()
    assert c.recv_ok() == ((), True)
    assert c.recv_ok() == ((), True)
    assert c.recv_ok() == ((), False)


# --- test/chan/goroutines.go: a chain of threads ------------------------------

def test_thread_chain():
    n = 100
    left = first = Chan()
    ts = []
    for _ in range(n):
        right = Chan()

        def link(inp=right, out=left):
            out.send(inp.recv(timeout=30) + 1, timeout=30)

        ts.append(go(link))
        left = right
    left.send(0, timeout=30)
    assert first.recv(timeout=30) == n
    join_all(ts)


def test_wait_helpers_see_select_parking():
    # Sanity for the helpers above: a parked select is visible on each channel.
    a, b = Chan(), Chan()
    r = spawn(select, a.recv, (b.send, 1), timeout=SOON)
    wait_until(lambda: a._waiters()[0] >= 1 and b._waiters()[1] >= 1, what="select parked")
    b.recv(timeout=SOON)
    assert r.result() == (1, None)
