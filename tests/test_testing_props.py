"""A property over random schedules of producers and consumers with
timeouts, each run in a bubble: fast, and exact in (virtual) time.  This is
the worked example of docs/testing.md, with a real-time watchdog around each
bubble (conftest.spawn), as every test here has."""
from hypothesis import given, settings, strategies as st

import gochan
from gochan import Chan, WaitGroup, go, testing

from conftest import SOON, spawn

# (kind, start at, timeout): whole seconds, so that virtual times are exact floats
step = st.tuples(st.sampled_from(["produce", "consume"]), st.integers(0, 3600), st.integers(1, 600))


@testing.bubbled
def check(cap, plan):
    ch = Chan(cap)
    sent, received, late = [], [], []
    wg = WaitGroup()

    def producer(v, start, timeout):
        gochan.sleep(start)
        try:
            ch.send(v, timeout=timeout)
            sent.append(v)
        except TimeoutError:
            late.append(gochan.now() - start - timeout)

    def consumer(start, timeout):
        gochan.sleep(start)
        try:
            received.append(ch.recv(timeout=timeout))
        except TimeoutError:
            late.append(gochan.now() - start - timeout)

    for v, (kind, start, timeout) in enumerate(plan):
        wg.add(1)

        def run(kind=kind, v=v, start=start, timeout=timeout):
            try:
                if kind == "produce":
                    producer(v, start, timeout)
                else:
                    consumer(start, timeout)
            finally:
                wg.done()

        go(run)
    wg.wait()
    leftover = [ch.recv(timeout=0) for _ in range(len(ch))]
    # nothing lost, nothing duplicated, nothing invented
    assert sorted(received + leftover) == sorted(sent)
    # a timeout fires exactly when it is due on the bubble's clock
    assert late == [0.0] * len(late)
    # and the bubble ends when the last deadline has passed, at the latest
    assert gochan.now() <= max((s + t for _, s, t in plan), default=0)


@settings(max_examples=60, deadline=None)
@given(cap=st.integers(0, 3), plan=st.lists(step, max_size=12))
def test_producers_and_consumers_with_timeouts(cap, plan):
    spawn(check, cap, plan).result(SOON)
