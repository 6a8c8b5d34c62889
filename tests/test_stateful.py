"""A hypothesis state machine: non-blocking channel operations and
select-with-default on several channels, checked against a plain Python model
(a deque and a closed flag per channel).  Single-threaded, so every operation
is a try that must succeed or fail exactly as the model says."""
from collections import deque

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from gochan import Chan, ClosedChannelError, default, nilchan, select

pytestmark = pytest.mark.no_leftover_goroutines


class Model:
    def __init__(self, cap, zero):
        self.cap = cap
        self.zero = zero
        self.buf = deque()
        self.closed = False

    def can_recv(self):
        return bool(self.buf) or self.closed

    def can_send(self):
        # A send "proceeds" (possibly by raising) when closed or there is room.
        # With nobody else around, an unbuffered channel never has room.
        return self.closed or len(self.buf) < self.cap


# A case description: (kind, channel index or None for nilchan, value)
case_st = st.tuples(
    st.sampled_from(["recv", "recv_ok", "send"]),
    st.one_of(st.none(), st.integers(0, 5)),
)


class ChannelMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.chans = []
        self.models = []
        self.counter = 0

    @initialize(caps=st.lists(st.integers(0, 4), min_size=1, max_size=4))
    def make_channels(self, caps):
        for i, cap in enumerate(caps):
            zero = ("zero", i)
            self.chans.append(Chan(cap, zero=zero))
            self.models.append(Model(cap, zero))

    def fresh(self):
        self.counter += 1
        return ("value", self.counter)

    def pick(self, i):
        i %= len(self.chans)
        return i, self.chans[i], self.models[i]

    # --- single operations ------------------------------------------------------

    @rule(i=st.integers(0, 5))
    def send(self, i):
        i, c, m = self.pick(i)
        v = self.fresh()
        if m.closed:
            try:
                c.send(v, timeout=0)
            except ClosedChannelError as e:
                assert str(e) == "send on closed channel"
            else:
                raise AssertionError("send on closed channel %d succeeded" % i)
        elif len(m.buf) < m.cap:
            c.send(v, timeout=0)
            m.buf.append(v)
        else:
            try:
                c.send(v, timeout=0)
            except TimeoutError:
                pass
            else:
                raise AssertionError("send on full channel %d succeeded" % i)

    @rule(i=st.integers(0, 5), ok_form=st.booleans())
    def recv(self, i, ok_form):
        i, c, m = self.pick(i)
        op = c.recv_ok if ok_form else c.recv
        if m.buf:
            want = (m.buf.popleft(), True)
        elif m.closed:
            want = (m.zero, False)
        else:
            try:
                got = op(timeout=0)
            except TimeoutError:
                return
            raise AssertionError("recv on empty channel %d returned %r" % (i, got))
        got = op(timeout=0)
        assert got == (want if ok_form else want[0])

    @rule(i=st.integers(0, 5))
    def close(self, i):
        i, c, m = self.pick(i)
        if m.closed:
            try:
                c.close()
            except ClosedChannelError as e:
                assert str(e) == "close of closed channel"
            else:
                raise AssertionError("second close of %d succeeded" % i)
        else:
            c.close()
            m.closed = True

    # --- select ---------------------------------------------------------------

    def build(self, descs):
        cases, targets = [], []
        for kind, idx in descs:
            if idx is None:
                ch, m = nilchan, None
            else:
                _, ch, m = self.pick(idx)
            if kind == "send":
                v = self.fresh()
                cases.append((ch.send, v))
                targets.append((kind, m, v))
            else:
                cases.append(getattr(ch, kind))
                targets.append((kind, m, None))
        return cases, targets

    def ready(self, targets):
        out = []
        for k, (kind, m, _) in enumerate(targets):
            if m is None:
                continue
            if kind == "send" and m.can_send():
                out.append(k)
            elif kind != "send" and m.can_recv():
                out.append(k)
        return out

    def check_select(self, targets, call):
        ready = self.ready(targets)
        try:
            k, v = call()
        except ClosedChannelError as e:
            assert str(e) == "send on closed channel"
            assert any(targets[k][0] == "send" and targets[k][1].closed for k in ready), \
                "ClosedChannelError but no send case on a closed channel"
            return None
        return ready, k, v

    def apply(self, targets, k, v):
        kind, m, sent = targets[k]
        if kind == "send":
            assert not m.closed, "a send case on a closed channel returned normally"
            assert v is None
            m.buf.append(sent)
        else:
            want = (m.buf.popleft(), True) if m.buf else (m.zero, False)
            assert v == (want if kind == "recv_ok" else want[0])

    @rule(descs=st.lists(case_st, max_size=6), pos=st.integers(0, 6))
    def select_default(self, descs, pos):
        cases, targets = self.build(descs)
        pos = min(pos, len(cases))
        cases.insert(pos, default)
        targets.insert(pos, ("default", None, None))
        res = self.check_select(targets, lambda: select(*cases))
        if res is None:
            return
        ready, k, v = res
        if not ready:
            assert (k, v) == (pos, None), "nothing ready but case %d chosen" % k
            return
        assert k in ready, "case %d chosen, ready were %r" % (k, ready)
        self.apply(targets, k, v)

    @rule(descs=st.lists(case_st, min_size=1, max_size=6))
    def select_no_default(self, descs):
        cases, targets = self.build(descs)
        if not self.ready(targets):
            try:
                got = select(*cases, timeout=0)
            except TimeoutError:
                return
            raise AssertionError("select with nothing ready returned %r" % (got,))
        res = self.check_select(targets, lambda: select(*cases, timeout=5))
        if res is None:
            return
        ready, k, v = res
        assert k in ready, "case %d chosen, ready were %r" % (k, ready)
        self.apply(targets, k, v)

    # --- invariants -----------------------------------------------------------

    @invariant()
    def matches_model(self):
        for c, m in zip(self.chans, self.models):
            assert len(c) == len(m.buf)
            assert c.cap == m.cap
            assert c._waiters() == (0, 0)
            r = repr(c)
            assert ("closed" in r) == m.closed
            assert "len=%d" % len(m.buf) in r

    @precondition(lambda self: self.chans)
    @invariant()
    def nil_is_inert(self):
        assert len(nilchan) == 0 and nilchan.cap == 0


TestChannelMachine = ChannelMachine.TestCase
TestChannelMachine.settings = settings(
    max_examples=150, stateful_step_count=40, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
