"""Threaded property tests: random producers, consumers and capacities.

Nothing is lost or duplicated, each producer's values stay in order on one
channel, timeouts never lose or duplicate a value, and close wakes everyone.
Every thread is joined with a deadline: a bug fails the example instead of
hanging it."""
import collections
import threading
import time

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, given, settings

from gochan import Chan, ClosedChannelError, WaitGroup, go, select

from conftest import SOON, join_all, wait_parked

pytestmark = pytest.mark.no_leftover_goroutines

FEW = settings(max_examples=25, deadline=None,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def _run_pipeline(c, n_producers, n_consumers, items, send, recv_all):
    """Producers send (p, i); consumers collect per-consumer lists."""
    wg = WaitGroup()
    wg.add(n_producers)
    errors = []
    results = [None] * n_consumers

    def producer(p):
        try:
            for i in range(items):
                send(c, (p, i))
        except BaseException as e:
            errors.append(e)
        finally:
            wg.done()

    def consumer(k):
        try:
            results[k] = recv_all(c)
        except BaseException as e:
            errors.append(e)

    def closer():
        try:
            wg.wait(timeout=60)
        finally:
            c.close()

    ts = [go(producer, p) for p in range(n_producers)]
    ts += [go(consumer, k) for k in range(n_consumers)]
    ts.append(go(closer))
    join_all(ts, timeout=90)
    assert errors == []
    return results


def _check(results, n_producers, items):
    everything = collections.Counter(v for r in results for v in r)
    want = collections.Counter((p, i) for p in range(n_producers) for i in range(items))
    assert everything == want, "lost or duplicated values"
    # Per producer, each consumer sees an increasing subsequence (channel FIFO).
    for r in results:
        last = {}
        for p, i in r:
            assert last.get(p, -1) < i, "producer %d's values out of order" % p
            last[p] = i


def _plain_send(c, v):
    c.send(v, timeout=SOON)


def _plain_recv_all(c):
    out = []
    while True:
        v, ok = c.recv_ok(timeout=SOON)
        if not ok:
            return out
        out.append(v)


def _iter_recv_all(c):
    return list(c)


@FEW
@given(n_producers=st.integers(1, 4), n_consumers=st.integers(1, 4),
       cap=st.integers(0, 8), items=st.integers(0, 150), use_iter=st.booleans())
def test_nothing_lost_or_duplicated(n_producers, n_consumers, cap, items, use_iter):
    c = Chan(cap)
    results = _run_pipeline(c, n_producers, n_consumers, items, _plain_send,
                            _iter_recv_all if use_iter else _plain_recv_all)
    _check(results, n_producers, items)


@FEW
@given(n_producers=st.integers(1, 4), cap=st.integers(0, 8), items=st.integers(1, 200))
def test_single_consumer_sees_each_producer_in_order(n_producers, cap, items):
    c = Chan(cap)
    (r,) = _run_pipeline(c, n_producers, 1, items, _plain_send, _plain_recv_all)
    _check([r], n_producers, items)
    for p in range(n_producers):
        assert [i for q, i in r if q == p] == list(range(items))


def _impatient_send(c, v):
    # Tiny timeouts and retries: a send that timed out must not have delivered.
    deadline = time.monotonic() + 30
    while True:
        try:
            c.send(v, timeout=0.0005)
            return
        except TimeoutError:
            assert time.monotonic() < deadline, "send never got through"


def _impatient_recv_all(c):
    out = []
    deadline = time.monotonic() + 30
    while True:
        try:
            v, ok = c.recv_ok(timeout=0.0005)
        except TimeoutError:
            assert time.monotonic() < deadline, "receiver starved"
            continue
        if not ok:
            return out
        out.append(v)


@FEW
@given(n_producers=st.integers(1, 3), n_consumers=st.integers(1, 3),
       cap=st.integers(0, 3), items=st.integers(0, 80))
def test_timeouts_never_lose_or_duplicate(n_producers, n_consumers, cap, items):
    c = Chan(cap)
    results = _run_pipeline(c, n_producers, n_consumers, items, _impatient_send, _impatient_recv_all)
    _check(results, n_producers, items)


def _select_pipeline(caps, n_producers, n_consumers, items, timeout, retry):
    """Producers select-send each item to a or b, consumers select-receive
    from both until both are closed; every select has `timeout`.  With
    `retry`, a select that timed out (and so did nothing) is tried again;
    without, a timeout is a failure.  Nothing may be lost or duplicated."""
    a, b = Chan(caps[0]), Chan(caps[1])
    wg = WaitGroup()
    wg.add(n_producers)
    errors = []
    results = [[] for _ in range(n_consumers)]

    def patient(op, what):
        deadline = time.monotonic() + 60
        while True:
            try:
                return op()
            except TimeoutError:
                if not retry:
                    raise
                assert time.monotonic() < deadline, what + " starved"

    def producer(p):
        try:
            for i in range(items):
                patient(lambda: select((a.send, (p, i)), (b.send, (p, i)), timeout=timeout),
                        "producer")
        except BaseException as e:
            errors.append(e)
        finally:
            wg.done()

    def consumer(k):
        try:
            live = [a, b]
            while live:
                idx, (v, ok) = patient(
                    lambda: select(*[ch.recv_ok for ch in live], timeout=timeout), "consumer")
                if ok:
                    results[k].append(v)
                else:
                    del live[idx]
        except BaseException as e:
            errors.append(e)

    def closer():
        try:
            wg.wait(timeout=60)
        finally:
            a.close()
            b.close()

    ts = [go(producer, p) for p in range(n_producers)]
    ts += [go(consumer, k) for k in range(n_consumers)]
    ts.append(go(closer))
    join_all(ts, timeout=90)
    assert errors == []
    everything = collections.Counter(v for r in results for v in r)
    assert everything == collections.Counter((p, i) for p in range(n_producers) for i in range(items))


@FEW
@given(n_producers=st.integers(1, 3), n_consumers=st.integers(1, 3),
       caps=st.tuples(st.integers(0, 4), st.integers(0, 4)), items=st.integers(0, 100))
def test_select_pipelines_over_two_channels(n_producers, n_consumers, caps, items):
    _select_pipeline(caps, n_producers, n_consumers, items, timeout=SOON, retry=False)


@FEW
@given(n_receivers=st.integers(0, 6), n_senders=st.integers(0, 6), cap=st.integers(0, 3),
       n_selects=st.integers(0, 3))
def test_close_wakes_everyone(n_receivers, n_senders, cap, n_selects):
    c = Chan(cap, zero="Z")
    other = Chan()
    for i in range(cap if n_senders else 0):
        c.send(("buffered", i))           # full, so that senders block
    outcomes = []
    lock = threading.Lock()

    def rec(kind, value):
        with lock:
            outcomes.append((kind, value))

    def receiver():
        rec("recv", c.recv_ok(timeout=SOON))

    def sender(k):
        try:
            c.send(("late", k), timeout=SOON)
            rec("sent", k)
        except ClosedChannelError as e:
            rec("refused", str(e))

    def selector():
        rec("select", select(c.recv_ok, other.recv, timeout=SOON))

    # Receivers only block on an empty channel: run them only without senders.
    if n_senders:
        n_receivers = n_selects = 0
    ts = [go(receiver) for _ in range(n_receivers)]
    ts += [go(selector) for _ in range(n_selects)]
    ts += [go(sender, k) for k in range(n_senders)]
    wait_parked(c, receivers=n_receivers + n_selects, senders=n_senders)
    c.close()
    join_all(ts)
    count = collections.Counter(kind for kind, _ in outcomes)
    assert count["recv"] == n_receivers and count["select"] == n_selects
    assert count["refused"] == n_senders and count["sent"] == 0
    for kind, value in outcomes:
        if kind == "recv":
            assert value == ("Z", False)
        elif kind == "select":
            assert value == (0, ("Z", False))
        else:
            assert value == "send on closed channel"
    # The buffered values are still there; the refused ones never arrive.
    rest = [c.recv(timeout=0) for _ in range(len(c))]
    assert rest == [("buffered", i) for i in range(cap if n_senders else 0)]
    assert c.recv_ok(timeout=0) == ("Z", False)
    assert c._waiters() == (0, 0) and other._waiters() == (0, 0)


@FEW
@given(n_producers=st.integers(1, 3), n_consumers=st.integers(1, 3),
       caps=st.tuples(st.integers(0, 2), st.integers(0, 2)), items=st.integers(0, 60))
def test_select_timeouts_never_lose_or_duplicate(n_producers, n_consumers, caps, items):
    """Selects with tiny timeouts on both ends: a select that timed out did nothing."""
    _select_pipeline(caps, n_producers, n_consumers, items, timeout=0.0005, retry=True)
