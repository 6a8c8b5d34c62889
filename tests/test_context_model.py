"""A hypothesis state machine: random trees of contexts, cancelled in random
orders and with deadlines already past or far away, checked against a plain
model: a node is done iff it or an ancestor (up to a without_cancel) was
canceled or passed its deadline, and its err() (and cause) is the first one
in time along that path."""
import time

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from gochan import context
from gochan.context import Canceled, DeadlineExceeded

pytestmark = [pytest.mark.no_leftover_goroutines, pytest.mark.usefixtures("afterfunc_dispatcher")]

FAR = 3600.0


class Node:
    def __init__(self, ctx, parent, kind, cancel=None, deadline=None, cause=None):
        self.ctx = ctx
        self.parent = parent          # a Node, or None for background
        self.kind = kind              # cancel, cause, timeout, deadline_cause, value, without
        self.cancel = cancel
        self.deadline = deadline      # its own deadline, if any
        self.cause = cause            # the deadline cause given, if any
        self.event = None             # (time, origin Node, expected cause) of its own event


class ContextTree(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.nodes = []
        self.clock = 0                # the model's time: one tick per operation

    def tick(self):
        self.clock += 1
        return self.clock

    def parent_of(self, data_index):
        if not self.nodes or data_index == 0:
            return None
        return self.nodes[(data_index - 1) % len(self.nodes)]

    # -- the model ---------------------------------------------------------
    def path(self, n):
        """n and its ancestors whose cancellation reaches n."""
        while n is not None:
            yield n
            if n.kind == "without":
                return
            n = n.parent

    def first_event(self, n):
        events = [m.event for m in self.path(n) if m.event is not None]
        return min(events, key=lambda e: e[0]) if events else None

    def model_deadline(self, n):
        ds = [m.deadline for m in self.path(n) if m.deadline is not None]
        if n.kind == "without":
            return None
        return min(ds) if ds else None

    # -- rules -------------------------------------------------------------
    @rule(p=st.integers(0, 30), kind=st.sampled_from(["cancel", "cause", "value", "without"]))
    def make(self, p, kind):
        parent = self.parent_of(p)
        pctx = parent.ctx if parent else context.background()
        if kind == "cancel":
            ctx, cancel = context.with_cancel(pctx)
        elif kind == "cause":
            ctx, cancel = context.with_cancel_cause(pctx)
        elif kind == "value":
            ctx, cancel = context.with_value(pctx, len(self.nodes), "v"), None
        else:
            ctx, cancel = context.without_cancel(pctx), None
        self.tick()
        self.nodes.append(Node(ctx, parent, kind, cancel))

    @rule(p=st.integers(0, 30), past=st.booleans(), with_cause=st.booleans(),
          by=st.sampled_from(["timeout", "deadline"]))
    def make_timed(self, p, past, with_cause, by):
        parent = self.parent_of(p)
        pctx = parent.ctx if parent else context.background()
        now = time.monotonic()
        s = -1.0 if past else FAR + len(self.nodes)
        why = RuntimeError("deadline %d" % len(self.nodes)) if with_cause else None
        if by == "timeout":
            ctx, cancel = (context.with_timeout_cause(pctx, s, why) if with_cause
                           else context.with_timeout(pctx, s))
        else:
            ctx, cancel = (context.with_deadline_cause(pctx, now + s, why) if with_cause
                           else context.with_deadline(pctx, now + s))
        t = self.tick()
        n = Node(ctx, parent, "timeout", cancel, deadline=ctx.deadline(), cause=why)
        # A parent deadline that comes first makes the child a plain cancel context.
        pd = self.model_deadline(parent) if parent else None
        own = pd is None or pd >= now + s     # deadlines are >= 1 s apart: no tie
        n.deadline = ctx.deadline() if own else None
        if own and past and self.first_event(n) is None:
            n.event = (t, n, why, DeadlineExceeded)
        self.nodes.append(n)

    @rule(i=st.integers(0, 30), give=st.booleans())
    def cancel(self, i, give):
        if not self.nodes:
            return
        n = self.nodes[i % len(self.nodes)]
        if n.cancel is None:
            return
        t = self.tick()
        why = ValueError("cause %d" % t) if give and n.kind == "cause" else None
        if n.kind == "cause":
            n.cancel(why)
        else:
            n.cancel()
        if n.event is None and self.first_event(n) is None:
            n.event = (t, n, why, Canceled)

    # -- the invariants ----------------------------------------------------
    @invariant()
    def agrees_with_the_model(self):
        for n in self.nodes:
            ev = self.first_event(n) if n.kind != "without" else None
            ctx = n.ctx
            if ev is None:
                assert ctx.err() is None, (n.kind, ctx)
                if n.kind != "without":
                    with pytest.raises(TimeoutError):
                        ctx.done().recv(timeout=0)
                assert context.cause(ctx) is None
            else:
                _, origin, why, expected = ev
                err = ctx.err()
                assert err is not None and err is origin.ctx.err()
                ctx.done().recv(timeout=0)          # closed
                assert type(err) is expected, (err, origin.kind)
                assert context.cause(ctx) is (why if why is not None else err)
            assert ctx.deadline() == self.model_deadline(n)

    @invariant()
    def no_done_node_is_anyones_child(self):
        for n in self.nodes:
            kids = getattr(n.ctx, "_children", None)
            for k in kids or ():
                assert k.err() is None

    def teardown(self):
        for n in self.nodes:
            if n.cancel is not None:
                n.cancel()
        assert context._pending_deadlines() == 0


ContextTree.TestCase.settings = settings(max_examples=60, stateful_step_count=40, deadline=None,
                                         suppress_health_check=[HealthCheck.too_slow])
test_context_tree = ContextTree.TestCase
