"""Values pass by reference with balanced reference counts: no growth over
many operations, values held by a dropped channel are freed, and every failed
operation (timeout, closed channel, interrupted select) gives its reference
back."""
import gc
import os
import subprocess
import sys
import threading
import tracemalloc
import weakref

import pytest

from gochan import Chan, ClosedChannelError, default, nilchan, select

from conftest import SOON, spawn, wait_parked

pytestmark = pytest.mark.no_leftover_goroutines


class Obj:
    """A weak-referenceable value."""

    __slots__ = ("n", "__weakref__")

    def __init__(self, n=0):
        self.n = n


def rss_kib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * (4096 // 1024)


# --- sys.getrefcount of one sentinel passed many times ------------------------

@pytest.mark.parametrize("cap", [1, 64])
def test_buffered_send_recv_balanced(cap):
    s = object()
    c = Chan(cap)
    before = sys.getrefcount(s)
    for _ in range(100_000 // cap):
        for _ in range(cap):
            c.send(s)
        for _ in range(cap):
            c.recv()
    for _ in range(10_000):
        c.send(s)
        c.recv_ok()
    assert sys.getrefcount(s) == before


def test_values_in_buffer_hold_one_reference_each():
    s = object()
    c = Chan(10)
    before = sys.getrefcount(s)
    for i in range(10):
        c.send(s)
        assert sys.getrefcount(s) == before + i + 1
    for i in range(10):
        v = c.recv()
        del v
        assert sys.getrefcount(s) == before + 9 - i


def test_unbuffered_between_threads_balanced():
    s = object()
    c = Chan()
    n = 20_000
    before = sys.getrefcount(s)

    def receiver():
        for _ in range(n):
            c.recv(timeout=SOON)

    r = spawn(receiver)
    for _ in range(n):
        c.send(s, timeout=SOON)
    r.result()
    del r
    assert sys.getrefcount(s) == before


def test_select_paths_balanced():
    s = object()
    a, b, u = Chan(1), Chan(1), Chan()
    before = sys.getrefcount(s)
    for _ in range(30_000):
        select((a.send, s), default)              # fills a
        select((a.send, s), (b.send, s))          # one of the two
        select(a.recv, b.recv_ok, default)
        select(a.recv, b.recv, default)
        select(a.recv, b.recv, default)           # both empty now: default
        select((u.send, s), (nilchan.send, s), default)   # nobody: default
    assert len(a) == 0 and len(b) == 0
    assert sys.getrefcount(s) == before


def test_parked_select_paths_balanced():
    s = object()
    a, b = Chan(), Chan()
    n = 3000
    before = sys.getrefcount(s)

    def peer():
        for i in range(n):
            if i % 2:
                a.send(s, timeout=SOON)
            else:
                b.recv(timeout=SOON)

    p = spawn(peer)
    for _ in range(n):
        # The send case that loses stays unsent and must be released.
        select(a.recv, (b.send, s), (a.send, s), timeout=SOON)
    p.result()
    del p
    assert sys.getrefcount(s) == before


def test_failed_sends_release_the_value():
    s = object()
    full, unbuf, closed = Chan(1), Chan(), Chan(1)
    full.send(0)
    closed.close()
    before = sys.getrefcount(s)
    for _ in range(20_000):
        for ch in (full, unbuf, nilchan):
            try:
                ch.send(s, timeout=0)
            except TimeoutError:
                pass
        try:
            closed.send(s)
        except ClosedChannelError:
            pass
        try:
            select((closed.send, s), default)
        except ClosedChannelError:
            pass
    for ch in (full, unbuf):
        try:
            ch.send(s, timeout=0.001)
        except TimeoutError:
            pass
    with pytest.raises(TimeoutError):
        select((full.send, s), (unbuf.send, s), timeout=0.001)
    assert sys.getrefcount(s) == before


def test_sender_woken_by_close_releases_value():
    s = object()
    c = Chan()
    before = sys.getrefcount(s)
    senders = [spawn(c.send, s, timeout=SOON) for _ in range(5)]
    wait_parked(c, senders=5)
    c.close()
    for t in senders:
        assert isinstance(t.error(), ClosedChannelError)
    del senders, t
    gc.collect()
    assert sys.getrefcount(s) == before


def test_closed_channel_zero_value_balanced():
    z = object()
    before = sys.getrefcount(z)
    c = Chan(2, zero=z)
    c.close()
    for _ in range(50_000):
        c.recv()
        c.recv_ok()
        select(c.recv, c.recv_ok)
    # Receivers woken by close get the zero value too.
    d = Chan(0, zero=z)
    rs = [spawn(d.recv, timeout=SOON) for _ in range(3)] + \
        [spawn(d.recv_ok, timeout=SOON) for _ in range(3)]
    wait_parked(d, receivers=6)
    d.close()
    for r in rs[:3]:
        assert r.result() is z
    for r in rs[3:]:
        assert r.result() == (z, False)
    del rs, r
    del c, d
    gc.collect()
    assert sys.getrefcount(z) == before


def test_zero_value_released_with_channel():
    z = object()
    before = sys.getrefcount(z)
    c = Chan(zero=z)
    assert sys.getrefcount(z) > before
    c.close()
    c.recv()
    del c
    gc.collect()
    assert sys.getrefcount(z) == before


# --- tracemalloc / RSS over many fresh objects --------------------------------

def _pump(c, n, make):
    for i in range(n):
        c.send(make(i))
        c.recv()


def test_no_growth_fresh_objects_tracemalloc():
    c = Chan(16)
    _pump(c, 20_000, lambda i: [i])       # warm up (free lists, buffer size)
    gc.collect()
    tracemalloc.start()
    try:
        _pump(c, 1000, lambda i: [i])
        base = tracemalloc.get_traced_memory()[0]
        _pump(c, 100_000, lambda i: [i])
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    # A leak of one 56-byte list per operation would be ~5.6 MB.
    assert grown < 100 * 1024, "grew %d bytes over 100k send/recv" % grown


def test_no_rss_growth_one_million_pairs():
    c = Chan(128)
    _pump(c, 100_000, lambda i: Obj(i))
    gc.collect()
    before = rss_kib()
    for _ in range(1_000_000 // 100):
        for i in range(100):
            c.send(Obj(i))
        for _ in range(100):
            c.recv()
    gc.collect()
    grown = rss_kib() - before
    # One leaked 48-byte object (or a C node) per pair would be ~48 MB.
    assert grown < 8 * 1024, "RSS grew %d KiB over 1M send/recv pairs" % grown


def test_unbuffered_fresh_objects_no_growth():
    c = Chan()
    n = 30_000

    def receiver():
        for _ in range(n):
            c.recv(timeout=SOON)

    r = spawn(receiver)
    for i in range(1000):
        c.send(Obj(i), timeout=SOON)
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        for i in range(n - 1000):
            c.send(Obj(i), timeout=SOON)
        r.result()
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    assert grown < 100 * 1024, "grew %d bytes" % grown


# --- values held by a channel that is dropped -----------------------------------

@pytest.mark.parametrize("close_first", [False, True])
def test_dropped_channel_frees_buffered_values(close_first):
    freed = []
    objs = [Obj(i) for i in range(20)]
    refs = [weakref.ref(o, lambda r, i=i: freed.append(i)) for i, o in enumerate(objs)]
    c = Chan(32)
    for o in objs:
        c.send(o)
    if close_first:
        c.close()
    del objs, o
    assert freed == []              # the channel keeps them alive
    del c
    gc.collect()
    assert sorted(freed) == list(range(20))
    assert all(r() is None for r in refs)


def test_dropped_huge_channel_frees_values():
    freed = []
    c = Chan(10 ** 9)
    for i in range(1000):
        o = Obj(i)
        weakref.finalize(o, freed.append, i)
        c.send(o)
    del o
    for _ in range(500):
        c.recv()
    gc.collect()
    assert len(freed) == 500
    del c
    gc.collect()
    assert sorted(freed) == list(range(1000))


def test_dropped_channel_frees_zero_value():
    z = Obj()
    r = weakref.ref(z)
    c = Chan(zero=z)
    del z
    assert r() is not None
    del c
    gc.collect()
    assert r() is None


def test_cycle_through_channel_collected():
    class Holder:
        pass

    h = Holder()
    h.c = Chan(1)
    h.c.send(h)
    r = weakref.ref(h)
    del h
    gc.collect()
    assert r() is None


def test_value_received_by_parked_receiver_not_leaked():
    c = Chan()
    o = Obj()
    r = weakref.ref(o)
    t = spawn(c.recv, timeout=SOON)
    wait_parked(c, receivers=1)
    c.send(o, timeout=SOON)
    del o
    assert t.result() is r()
    del t
    gc.collect()
    assert r() is None


def test_thread_exit_with_value_in_flight_not_leaked():
    # The value of a send that timed out is released with the sender.
    o = Obj()
    r = weakref.ref(o)
    c = Chan()
    done = threading.Event()

    def sender(v):
        try:
            c.send(v, timeout=0.05)
        except TimeoutError:
            done.set()

    t = threading.Thread(target=sender, args=(o,))
    del o
    t.start()
    t.join(SOON)
    assert done.is_set()
    del t
    gc.collect()
    assert r() is None


def test_huge_buffer_shrinks_after_drain():
    """Chan(10**9) grows with its content and gives the memory back once
    drained (run in a fresh process so the allocator state is known)."""
    src = """
import sys
sys.path.insert(0, %r)
from gochan import Chan
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4
c = Chan(10**9)
n = 4_000_000
r0 = rss()
for _ in range(n):
    c.send(None)
r1 = rss()
for _ in range(n):
    c.recv()
r2 = rss()
print(r1 - r0, r2 - r0)
""" % os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.run([sys.executable, "-c", src], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    peak, after = map(int, proc.stdout.split())
    assert peak > 16 * 1024, "4M buffered values should take > 16 MiB (got %d KiB)" % peak
    # A ring that never shrinks keeps all of it.
    assert after < 0.75 * peak, "still %d of %d KiB after draining" % (after, peak)
