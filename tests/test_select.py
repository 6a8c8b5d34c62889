"""select: ready cases, default, timeout, closed and nil channels, duplicate
channels, self-pairing and malformed cases (API.md, section "select")."""
import re
import threading
import time

import pytest

from gochan import Chan, ClosedChannelError, default, nilchan, select

from conftest import SOON, spawn, wait_parked, wait_parked_at_least

pytestmark = pytest.mark.no_leftover_goroutines


# --- ready cases --------------------------------------------------------------

def test_recv_case_returns_index_and_value():
    a, b = Chan(1), Chan(1)
    b.send("bee")
    assert select(a.recv, b.recv, timeout=SOON) == (1, "bee")
    assert len(b) == 0


def test_recv_ok_case_returns_pair():
    a, b = Chan(1), Chan(1)
    a.send("ay")
    i, v = select(a.recv_ok, b.recv, timeout=SOON)
    assert (i, v) == (0, ("ay", True))


def test_send_case_returns_none_and_delivers():
    a, b = Chan(1), Chan(0)
    assert select(b.recv, (a.send, "x"), timeout=SOON) == (1, None)
    assert len(a) == 1
    assert a.recv() == "x"


def test_result_is_a_pair():
    a = Chan(1)
    a.send(1)
    res = select(a.recv)
    i, v = res
    assert len(res) == 2 and (i, v) == (0, 1)


def test_exactly_one_case_performed():
    a, b, c = Chan(1), Chan(1), Chan(1)
    a.send(1)
    b.send(2)
    for _ in range(50):
        before = (len(a), len(b), len(c))
        i, v = select(a.recv, b.recv, (c.send, 3), timeout=SOON)
        after = (len(a), len(b), len(c))
        changed = [k for k in range(3) if before[k] != after[k]]
        assert changed == [i]
        # put things back the way they were
        if i == 0:
            assert v == 1
            a.send(1)
        elif i == 1:
            assert v == 2
            b.send(2)
        else:
            assert v is None
            assert c.recv() == 3


# --- default ------------------------------------------------------------------

@pytest.mark.parametrize("pos", [0, 1, 2])
def test_default_taken_when_nothing_ready(pos):
    a, b = Chan(), Chan(1)
    b.send("full")  # (b.send) is not ready: full
    cases = [a.recv, (b.send, "y")]
    cases.insert(pos, default)
    assert select(*cases) == (pos, None)
    assert len(b) == 1 and b.recv() == "full"
    assert a._waiters() == (0, 0) and b._waiters() == (0, 0)


def test_default_never_taken_when_a_case_is_ready():
    a = Chan(1)
    for i in range(300):
        a.send(i)
        assert select(default, a.recv) == (1, i)


def test_default_alone():
    assert select(default) == (0, None)


def test_default_with_parked_partner_takes_the_partner():
    c = Chan()
    s = spawn(c.send, "p", timeout=SOON)
    wait_parked(c, senders=1)
    assert select(c.recv, default) == (0, "p")
    s.result()
    r = spawn(c.recv, timeout=SOON)
    wait_parked(c, receivers=1)
    assert select(default, (c.send, "q")) == (1, None)
    assert r.result() == "q"


# --- blocking -----------------------------------------------------------------

def test_blocks_until_a_recv_case_is_ready():
    a, b = Chan(), Chan()
    r = spawn(select, a.recv, b.recv, timeout=SOON)
    wait_parked_at_least(b, receivers=1)
    wait_parked_at_least(a, receivers=1)
    assert not r.finished.is_set()
    b.send("late", timeout=SOON)
    assert r.result() == (1, "late")
    # The losing case has been withdrawn from a.
    assert a._waiters() == (0, 0)
    with pytest.raises(TimeoutError):
        a.send("nobody", timeout=0)


def test_blocks_until_a_send_case_is_ready():
    a, b = Chan(), Chan()
    r = spawn(select, (a.send, "A"), (b.send, "B"), timeout=SOON)
    wait_parked_at_least(a, senders=1)
    wait_parked_at_least(b, senders=1)
    assert a.recv(timeout=SOON) == "A"
    assert r.result() == (0, None)
    assert b._waiters() == (0, 0)
    with pytest.raises(TimeoutError):
        b.recv(timeout=0)


def test_parked_select_woken_by_close_of_recv_case():
    z = object()
    a, b = Chan(zero=z), Chan()
    r = spawn(select, b.recv, a.recv_ok, timeout=SOON)
    wait_parked_at_least(a, receivers=1)
    a.close()
    i, (v, ok) = r.result()
    assert i == 1 and v is z and ok is False
    assert b._waiters() == (0, 0)


def test_parked_select_send_case_raises_on_close():
    a, b = Chan(), Chan()
    r = spawn(select, b.recv, (a.send, "lost"), timeout=SOON)
    wait_parked_at_least(a, senders=1)
    a.close()
    e = r.error()
    assert isinstance(e, ClosedChannelError) and str(e) == "send on closed channel"
    assert b._waiters() == (0, 0)
    assert a.recv_ok(timeout=0) == (None, False)


def test_many_cases_blocking():
    chans = [Chan() for _ in range(64)]
    for target in (0, 17, 63):
        r = spawn(select, *[c.recv for c in chans], timeout=SOON)
        for c in chans:
            wait_parked_at_least(c, receivers=1)
        chans[target].send(target, timeout=SOON)
        assert r.result() == (target, target)
        assert all(c._waiters() == (0, 0) for c in chans)


# --- timeout ------------------------------------------------------------------

def test_timeout_expires_and_nothing_happens():
    a, b = Chan(), Chan(1)
    b.send("full")
    t0 = time.monotonic()
    with pytest.raises(TimeoutError):
        select(a.recv, (a.send, 1), (b.send, 2), timeout=0.1)
    assert time.monotonic() - t0 >= 0.09
    assert a._waiters() == (0, 0) and b._waiters() == (0, 0)
    assert len(b) == 1 and b.recv() == "full"
    with pytest.raises(TimeoutError):
        a.recv(timeout=0)


def test_timeout_zero_is_nonblocking():
    a = Chan(1)
    with pytest.raises(TimeoutError):
        select(a.recv, timeout=0)
    a.send(5)
    assert select(a.recv, timeout=0) == (0, 5)


def test_timeout_with_ready_case_does_not_raise():
    a = Chan(1)
    a.send(1)
    assert select(a.recv, timeout=0.05) == (0, 1)


def test_no_cases_with_timeout():
    t0 = time.monotonic()
    with pytest.raises(TimeoutError):
        select(timeout=0.1)
    assert time.monotonic() - t0 >= 0.09
    with pytest.raises(TimeoutError):
        select(timeout=0)


# --- closed and nil channels ------------------------------------------------

def test_closed_recv_case_always_ready():
    z = object()
    a, b = Chan(zero=z), Chan()
    a.close()
    assert select(b.recv, a.recv) == (1, z)
    i, (v, ok) = select(a.recv_ok, b.recv)
    assert i == 0 and v is z and ok is False
    assert select(a.recv, default) == (0, z)


def test_closed_buffered_recv_case_drains_first():
    a = Chan(2)
    a.send(1)
    a.send(2)
    a.close()
    assert select(a.recv_ok, default) == (0, (1, True))
    assert select(a.recv_ok, default) == (0, (2, True))
    assert select(a.recv_ok, default) == (0, (None, False))


@pytest.mark.parametrize("cap", [0, 1])
def test_closed_send_case_raises_even_with_default(cap):
    a = Chan(cap)
    a.close()
    for _ in range(20):
        with pytest.raises(ClosedChannelError) as ei:
            select((a.send, 1), default)
        assert str(ei.value) == "send on closed channel"
        with pytest.raises(ClosedChannelError):
            select(default, (a.send, 1), nilchan.recv)
    assert len(a) == 0


def test_closed_send_case_competes_with_ready_case():
    closed, ready = Chan(), Chan(1)
    closed.close()
    raised = took = 0
    for _ in range(400):
        if len(ready) == 0:
            ready.send("r")
        try:
            assert select((closed.send, 1), ready.recv, timeout=SOON) == (1, "r")
            took += 1
        except ClosedChannelError:
            raised += 1
    assert raised > 50 and took > 50, (raised, took)


def test_nil_cases_skipped():
    a = Chan(1)
    a.send("v")
    assert select(nilchan.recv, (nilchan.send, 0), a.recv, nilchan.recv_ok) == (2, "v")


# --- same channel in several cases ------------------------------------------

def test_same_channel_several_recv_cases():
    a = Chan(3)
    a.send(1)
    i, v = select(a.recv, a.recv, a.recv_ok, timeout=SOON)
    assert i in (0, 1, 2)
    assert v == ((1, True) if i == 2 else 1)
    assert len(a) == 0


def test_unbuffered_send_and_recv_same_channel_never_self_pair():
    a = Chan()
    with pytest.raises(TimeoutError):
        select((a.send, 1), a.recv, timeout=0.1)
    assert select((a.send, 1), a.recv, default) == (2, None)
    assert a._waiters() == (0, 0)


def test_buffered_send_and_recv_same_channel():
    a = Chan(1)
    # empty: only the send can proceed
    assert select((a.send, "s"), a.recv, timeout=SOON) == (0, None)
    # full: only the receive can proceed
    assert select((a.send, "t"), a.recv, timeout=SOON) == (1, "s")
    assert len(a) == 0


def test_parked_self_select_pairs_with_others():
    a = Chan()
    # A recv partner arrives: the select's send case proceeds.
    r = spawn(select, (a.send, "mine"), a.recv, timeout=SOON)
    wait_parked_at_least(a, receivers=1, senders=1)
    assert a.recv(timeout=SOON) == "mine"
    assert r.result() == (0, None)
    assert a._waiters() == (0, 0)
    # A send partner arrives: the select's recv case proceeds.
    r = spawn(select, (a.send, "mine"), a.recv, timeout=SOON)
    wait_parked_at_least(a, receivers=1, senders=1)
    a.send("theirs", timeout=SOON)
    assert r.result() == (1, "theirs")
    assert a._waiters() == (0, 0)


def test_two_parked_selects_pair_with_each_other():
    a = Chan()
    r1 = spawn(select, (a.send, 1), a.recv, timeout=SOON)
    wait_parked_at_least(a, receivers=1, senders=1)
    r2 = spawn(select, (a.send, 2), a.recv, timeout=SOON)
    res = sorted([r1.result(), r2.result()], key=lambda t: t[0])
    # One sent, the other received the other's value.
    assert res[0] == (0, None)
    assert res[1][0] == 1
    sender_val = 1 if r1.result() == (0, None) else 2
    assert res[1][1] == sender_val
    assert a._waiters() == (0, 0)


# --- malformed cases ----------------------------------------------------------

class _Impostor:
    def recv(self):
        return "impostor"

    def recv_ok(self):
        return ("impostor", True)

    def send(self, v):
        pass


def _malformed():
    c = Chan(1)
    imp = _Impostor()
    return [
        42,
        None,
        "recv",
        c,                      # the channel itself
        c.send,                 # a send without a value
        c.close,
        (c.send,),
        (c.send, 1, 2),
        (c.recv, 1),
        (c.recv,),
        (default, 1),
        (1, 2),
        (),
        imp.recv,
        imp.recv_ok,
        (imp.send, 1),
        Chan.recv,              # unbound
        (Chan.send, 1),
        lambda: 1,
    ]


def _check_message(exc, index, case):
    msg = str(exc)
    assert re.search(r"\bcase %d\b" % index, msg), "no 'case %d' in %r" % (index, msg)
    assert repr(case) in msg, "no %r in %r" % (repr(case), msg)


@pytest.mark.parametrize("k", range(len(_malformed())))
def test_malformed_case_rejected_nothing_performed(k):
    bad = _malformed()[k]
    full, empty = Chan(1), Chan(1)
    full.send("kept")
    # A ready recv before the bad case, a ready send after it.
    with pytest.raises((TypeError, ValueError)) as ei:
        select(full.recv, bad, (empty.send, "never"), timeout=SOON)
    _check_message(ei.value, 1, bad)
    assert len(full) == 1 and full.recv() == "kept"
    assert len(empty) == 0
    # Also at index 0, and with default present.
    full.send("kept")
    with pytest.raises((TypeError, ValueError)) as ei:
        select(bad, full.recv, default)
    _check_message(ei.value, 0, bad)
    assert full.recv(timeout=0) == "kept"


def test_malformed_case_with_parked_partner_not_paired():
    c = Chan()
    r = spawn(c.recv, timeout=SOON)
    wait_parked(c, receivers=1)
    bad = (c.send, 1, 2)
    with pytest.raises((TypeError, ValueError)) as ei:
        select((c.send, "no"), bad, timeout=SOON)
    _check_message(ei.value, 1, bad)
    # The receiver is still waiting and gets the next real value.
    assert c._waiters() == (1, 0)
    c.send("yes", timeout=SOON)
    assert r.result() == "yes"


def test_malformed_case_does_not_block_first():
    c = Chan()
    t0 = time.monotonic()
    with pytest.raises((TypeError, ValueError)):
        select(c.recv, object(), timeout=SOON)
    assert time.monotonic() - t0 < SOON / 2
    assert c._waiters() == (0, 0)


@pytest.mark.parametrize("cases, index", [
    ((default, default), 1),
    ((None, default, default), 0),
])
def test_two_defaults(cases, index):
    c = Chan(1)
    c.send(1)
    with pytest.raises((TypeError, ValueError)) as ei:
        select(c.recv, *cases)
    _check_message(ei.value, index + 1, cases[index])
    assert len(c) == 1


def test_two_defaults_second_named():
    c = Chan(1)
    c.send(1)
    with pytest.raises((TypeError, ValueError)) as ei:
        select(default, c.recv, default)
    _check_message(ei.value, 2, default)
    assert len(c) == 1


# --- the nil-channel idiom ----------------------------------------------------

def test_nil_channel_disables_a_case():
    """Merge two channels, replacing each by nilchan once it is closed."""
    c1, c2 = Chan(), Chan()
    out = []

    def feed(c, vals):
        for v in vals:
            c.send(v, timeout=SOON)
        c.close()

    f1 = spawn(feed, c1, [1, 3, 5])
    f2 = spawn(feed, c2, [2, 4])
    a, b = c1, c2
    while a is not nilchan or b is not nilchan:
        i, (v, ok) = select(a.recv_ok, b.recv_ok, timeout=SOON)
        if not ok:
            if i == 0:
                a = nilchan
            else:
                b = nilchan
            continue
        out.append(v)
    f1.result()
    f2.result()
    assert sorted(out) == [1, 2, 3, 4, 5]
    assert [v for v in out if v % 2] == [1, 3, 5]


def test_select_loop_thread_safe_counts():
    """Two selecting senders, two selecting receivers, mixed channels."""
    a, b = Chan(), Chan(3)
    n = 2000
    got = []
    lock = threading.Lock()

    def producer(base):
        for i in range(n):
            select((a.send, base + i), (b.send, base + i), timeout=SOON)

    def consumer():
        mine = []
        for _ in range(n):
            _, v = select(a.recv, b.recv, timeout=SOON)
            mine.append(v)
        with lock:
            got.extend(mine)

    rs = [spawn(producer, 0), spawn(producer, 10 ** 6), spawn(consumer), spawn(consumer)]
    for r in rs:
        r.result(timeout=60)
    assert sorted(got) == sorted(list(range(n)) + [10 ** 6 + i for i in range(n)])


def test_a_send_case_may_be_a_two_item_namedtuple():
    # A tuple subclass with two items is a pair: select performs it.
    import collections
    Case = collections.namedtuple("Case", "op value")
    c = Chan(1)
    assert select(Case(c.send, 7)) == (0, None)
    assert c.recv(timeout=0) == 7


def test_a_send_case_of_three_items_says_how_many_it_has():
    c = Chan(1)
    with pytest.raises(ValueError) as ei:
        select(c.recv, (c.send, 1, 2))
    msg = str(ei.value)
    assert "case 1" in msg and "not 3 items" in msg and "(ch.send, value)" in msg
    assert len(c) == 0
