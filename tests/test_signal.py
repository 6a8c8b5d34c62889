"""gochan.signal in this process: notify / stop / ignore / reset / ignored.

These tests send real signals to the pytest process, so they only use
signals pytest leaves alone (SIGUSR1, SIGUSR2, SIGWINCH, SIGPIPE, a real-time
one; never SIGALRM, which pytest-timeout uses), and every signal that could
kill the process on a bug gets a Python handler first where the test allows.
Anything that would disturb pytest itself (SIGINT, SIGTERM, fork, notify with
no arguments) runs in a child process: see test_signal_subproc.py.

Nothing here assumes timing: "the relay has dispatched signal S" is
observed through a witness channel notified for S as well, since one
dispatch serves every channel of a signal under one lock.
"""
from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from conftest import spawn, wait_parked, wait_until
from gochan import Chan, nilchan, select
import gochan.signal as gs

pytestmark = pytest.mark.no_leftover_goroutines
from gochan._load import _lib as lib

SOON = 10.0
USR1, USR2 = signal.SIGUSR1, signal.SIGUSR2


def kill(sig: int) -> None:
    os.kill(os.getpid(), sig)


def installed(sig: int) -> bool:
    return lib.sigrelay_installed(sig) == 1


@pytest.fixture(scope="module", autouse=True)
def relay_running():
    """Start the relay thread once, before conftest starts counting threads."""
    c = Chan(1)
    gs.notify(c, signal.SIGWINCH)
    gs.stop(c)
    assert gs._relay is not None and gs._relay.is_alive()
    yield


@pytest.fixture(autouse=True)
def clean_registry():
    """Each test starts and ends with no channel notified."""
    assert gs._by_chan == {} and gs._by_sig == {}
    saved = {s: signal.getsignal(s) for s in (USR1, USR2)}
    yield
    for ch in list(gs._by_chan):
        gs.stop(ch)
    leaked = dict(gs._by_sig)
    for s, h in saved.items():
        if signal.getsignal(s) is not h and h is not None:
            signal.signal(s, h)
    assert leaked == {}


class Counter:
    """A Python signal handler that counts its calls (it runs in the main thread)."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self, signum, frame) -> None:
        self.n += 1


@pytest.fixture
def usr1_counter():
    h = Counter()
    old = signal.signal(USR1, h)
    yield h
    signal.signal(USR1, old)


@pytest.fixture
def usr2_counter():
    h = Counter()
    old = signal.signal(USR2, h)
    yield h
    signal.signal(USR2, old)


# ---- delivery ------------------------------------------------------------------

def test_delivers_a_signals_member(usr1_counter):
    ch = Chan(1)
    gs.notify(ch, USR1)
    kill(USR1)
    v = ch.recv(timeout=SOON)
    assert v is signal.Signals.SIGUSR1 and type(v) is signal.Signals
    assert usr1_counter.n == 0        # the previous handler did not run
    gs.stop(ch)


def test_every_channel_notified_for_a_signal_gets_it(usr1_counter):
    chans = [Chan(1) for _ in range(3)]
    for c in chans:
        gs.notify(c, USR1)
    kill(USR1)
    assert [c.recv(timeout=SOON) for c in chans] == [USR1] * 3
    for c in chans:
        gs.stop(c)


def test_notify_again_adds_signals(usr1_counter, usr2_counter):
    ch = Chan(2)
    gs.notify(ch, USR1)
    gs.notify(ch, USR2)
    gs.notify(ch, USR1)                # again: no duplicate delivery
    assert gs._by_chan[ch] == {USR1, USR2}
    kill(USR1)
    assert ch.recv(timeout=SOON) == USR1
    kill(USR2)
    assert ch.recv(timeout=SOON) == USR2
    gs.stop(ch)
    assert usr1_counter.n == usr2_counter.n == 0


def test_full_channel_misses_the_delivery(usr1_counter):
    full, witness = Chan(1), Chan(1)
    full.send("busy")
    gs.notify(full, USR1)
    gs.notify(witness, USR1)
    kill(USR1)
    assert witness.recv(timeout=SOON) == USR1   # the dispatch happened...
    assert len(full) == 1 and full.recv(timeout=0) == "busy"   # ...and skipped `full`
    kill(USR1)
    assert full.recv(timeout=SOON) == USR1       # room again: delivered
    assert witness.recv(timeout=SOON) == USR1
    gs.stop(full)
    gs.stop(witness)


def test_unbuffered_channel_with_a_waiting_receiver(usr1_counter):
    ch = Chan()
    gs.notify(ch, USR1)
    r = spawn(ch.recv, timeout=SOON)
    wait_parked(ch, receivers=1)
    kill(USR1)
    assert r.result() == USR1
    gs.stop(ch)


def test_real_time_signal_without_a_name_arrives_as_int():
    sig = signal.SIGRTMIN + 1
    old = signal.signal(sig, Counter())
    try:
        ch = Chan(1)
        gs.notify(ch, sig)
        kill(sig)
        v = ch.recv(timeout=SOON)
        assert v == sig and type(v) is int
        gs.stop(ch)
    finally:
        signal.signal(sig, old)


def test_main_thread_blocked_in_recv_gets_the_signal(usr1_counter):
    ch = Chan(1)
    gs.notify(ch, USR1)

    def killer():
        wait_parked(ch, receivers=1)
        kill(USR1)

    k = spawn(killer)
    t0 = time.monotonic()
    assert ch.recv(timeout=SOON) == USR1
    assert time.monotonic() - t0 < 5.0
    k.result()
    gs.stop(ch)


def test_main_thread_blocked_in_select_gets_the_signal(usr1_counter):
    ch, other = Chan(1), Chan()
    gs.notify(ch, USR1)

    def killer():
        wait_parked(ch, receivers=1)
        kill(USR1)

    k = spawn(killer)
    assert select(other.recv, ch.recv, timeout=SOON) == (1, USR1)
    k.result()
    gs.stop(ch)


def test_notify_and_stop_from_another_thread(usr2_counter):
    ch = Chan(1)
    spawn(gs.notify, ch, USR2).result()
    assert installed(USR2)
    assert signal.getsignal(USR2) is usr2_counter   # the table is main-thread only
    kill(USR2)
    assert ch.recv(timeout=SOON) == USR2
    spawn(gs.stop, ch).result()
    assert not installed(USR2)
    kill(USR2)
    wait_until(lambda: usr2_counter.n == 1, what="the restored handler to run")


# ---- stop and the previous handler -----------------------------------------------

def test_getsignal_reports_the_relay_then_the_previous_handler(usr1_counter):
    ch = Chan(1)
    gs.notify(ch, USR1)
    assert signal.getsignal(USR1) is gs.RELAY
    assert repr(gs.RELAY) == "<gochan.signal relay>"
    gs.stop(ch)
    assert signal.getsignal(USR1) is usr1_counter
    assert not installed(USR1)
    kill(USR1)
    wait_until(lambda: usr1_counter.n == 1, what="the restored Python handler to run")
    assert len(ch) == 0                 # nothing was sent after stop


def test_stop_restores_the_default_disposition():
    assert lib.sigrelay_is_default(USR2) == 1 and signal.getsignal(USR2) is signal.SIG_DFL
    ch = Chan(1)
    gs.notify(ch, USR2)
    assert lib.sigrelay_is_default(USR2) == 0
    gs.stop(ch)
    assert lib.sigrelay_is_default(USR2) == 1
    assert signal.getsignal(USR2) is signal.SIG_DFL


def test_stop_from_another_thread_fixes_getsignal_soon():
    ch = Chan(1)
    gs.notify(ch, USR2)                  # main thread: the table says RELAY
    assert signal.getsignal(USR2) is gs.RELAY
    spawn(gs.stop, ch).result()
    assert lib.sigrelay_is_default(USR2) == 1   # the kernel side at once
    wait_until(lambda: signal.getsignal(USR2) is signal.SIG_DFL,
               what="the main thread to put SIG_DFL back in CPython's table")


def test_a_handler_set_after_a_stop_from_another_thread_is_kept():
    # stop() in another thread leaves "SIG_DFL back in the table" to the main
    # thread (at once via interrupt_main(n) from 3.10, at its next gochan.signal
    # call on 3.9); a handler the main thread installs meanwhile owns the entry.
    assert signal.getsignal(USR2) is signal.SIG_DFL
    ch = Chan(1)
    gs.notify(ch, USR2)
    spawn(gs.stop, ch).result()
    wait_until(lambda: USR2 not in gs._fixup, what="RELAY's table fix-up to run")
    h = Counter()
    signal.signal(USR2, h)
    try:
        c2 = Chan(1)
        gs.notify(c2, USR2)
        assert signal.getsignal(USR2) is gs.RELAY
        gs.stop(c2)
        assert signal.getsignal(USR2) is h
        kill(USR2)
        wait_until(lambda: h.n == 1, what="the kept handler to get SIGUSR2")
        assert len(c2) == 0
    finally:
        signal.signal(USR2, signal.SIG_DFL)


def test_stop_leaves_other_channels_and_signals_alone(usr1_counter, usr2_counter):
    a, b = Chan(4), Chan(4)
    gs.notify(a, USR1, USR2)
    gs.notify(b, USR1)
    gs.stop(a)
    assert installed(USR1) and not installed(USR2)
    assert signal.getsignal(USR2) is usr2_counter
    kill(USR1)
    assert b.recv(timeout=SOON) == USR1
    assert len(a) == 0                  # the dispatch that fed b skipped a
    gs.stop(b)
    gs.stop(b)                          # stopping twice is harmless
    gs.stop(Chan())                     # so is stopping a channel never notified


def test_stop_race_never_loses_a_signal(usr1_counter):
    """Signals hammered while another thread notifies and stops: each one is
    received by the channel or handled by the restored handler, never both,
    never neither.  Signals are sent one at a time (each is observed before
    the next), so kernel coalescing cannot hide a loss."""
    ch = Chan(10_000)
    done = threading.Event()
    toggles = [0]

    def toggler():
        while not done.is_set():
            gs.notify(ch, USR1)
            gs.stop(ch)
            toggles[0] += 1

    t = threading.Thread(target=toggler, daemon=True)
    t.start()
    received = 0
    try:
        for i in range(300):
            before = received + usr1_counter.n
            kill(USR1)
            deadline = time.monotonic() + SOON
            while received + usr1_counter.n == before:
                try:
                    ch.recv(timeout=0.001)
                    received += 1
                except TimeoutError:
                    pass
                assert time.monotonic() < deadline, "signal %d was lost" % i
            assert received + usr1_counter.n == before + 1
    finally:
        done.set()
        t.join(SOON)
    assert not t.is_alive()
    time.sleep(0.05)
    while len(ch):
        ch.recv(timeout=0)
        received += 1
    assert received + usr1_counter.n == 300
    assert toggles[0] > 0
    assert not installed(USR1) and signal.getsignal(USR1) is usr1_counter


def test_stop_race_main_thread_toggling(usr1_counter):
    """The same race with the toggling in the main thread, where notify and
    stop also swap CPython's table entry (RELAY) and the Python handler can
    run inside gochan.signal's own critical sections."""
    ch = Chan(10_000)
    sent = [0]
    observed_by_chan = [0]
    stop_flag = threading.Event()
    errors = []

    def hammer():
        try:
            for i in range(200):
                before = observed_by_chan[0] + usr1_counter.n
                kill(USR1)
                sent[0] += 1
                deadline = time.monotonic() + SOON
                while observed_by_chan[0] + usr1_counter.n == before:
                    if len(ch):
                        ch.recv(timeout=0)
                        observed_by_chan[0] += 1
                    elif time.monotonic() > deadline:
                        errors.append("signal %d was lost" % i)
                        return
                    else:
                        time.sleep(0.0005)
        finally:
            stop_flag.set()

    h = spawn(hammer)
    while not stop_flag.is_set():
        gs.notify(ch, USR1)
        gs.stop(ch)
    h.result()
    assert errors == []
    while len(ch):
        ch.recv(timeout=0)
        observed_by_chan[0] += 1
    assert observed_by_chan[0] + usr1_counter.n == sent[0] == 200
    assert signal.getsignal(USR1) is usr1_counter and not installed(USR1)


def test_stop_then_close_is_safe(usr1_counter):
    ch, witness = Chan(1), Chan(1)
    gs.notify(ch, USR1)
    gs.notify(witness, USR1)
    gs.stop(ch)
    ch.close()
    kill(USR1)
    assert witness.recv(timeout=SOON) == USR1
    gs.stop(witness)


def test_a_closed_channel_is_dropped_and_the_relay_survives(usr1_counter):
    closed, witness = Chan(1), Chan(1)
    gs.notify(closed, USR1, USR2)
    gs.notify(witness, USR1)
    closed.close()
    with pytest.warns(RuntimeWarning, match="was closed while notified"):
        kill(USR1)
        assert witness.recv(timeout=SOON) == USR1
        wait_until(lambda: closed not in gs._by_chan, what="the closed channel to be dropped")
    assert not installed(USR2)          # it was the only one wanting USR2
    kill(USR1)
    assert witness.recv(timeout=SOON) == USR1   # the relay still runs
    gs.stop(witness)


def test_a_closed_sole_channel_hands_the_signal_to_the_previous_handler(usr1_counter):
    ch = Chan(1)
    gs.notify(ch, USR1)
    ch.close()
    with pytest.warns(RuntimeWarning, match="was closed while notified"):
        kill(USR1)
        wait_until(lambda: usr1_counter.n == 1, what="the previous handler to get the signal")
    assert not installed(USR1) and ch not in gs._by_chan
    assert signal.getsignal(USR1) is usr1_counter


def test_a_timer_channel_is_refused_and_nothing_installed():
    from gochan import after
    timer = after(3600)
    with pytest.raises(TypeError, match="timer's channel is receive-only"):
        gs.notify(timer, USR1)
    assert timer not in gs._by_chan
    assert not installed(USR1)


# ---- ignore / reset / ignored ----------------------------------------------------

def test_ignore_then_notify_then_stop(usr2_counter):
    gs.ignore(USR2)
    assert gs.ignored(USR2) and signal.getsignal(USR2) is signal.SIG_IGN
    kill(USR2)                          # discarded by the kernel
    ch = Chan(1)
    gs.notify(ch, USR2)
    assert not gs.ignored(USR2)
    kill(USR2)
    assert ch.recv(timeout=SOON) == USR2
    gs.stop(ch)
    assert gs.ignored(USR2)             # what it had before notify
    assert signal.getsignal(USR2) is signal.SIG_IGN
    assert usr2_counter.n == 0


def test_ignore_undoes_notify(usr1_counter, usr2_counter):
    ch = Chan(2)
    gs.notify(ch, USR1, USR2)
    gs.ignore(USR2)
    assert gs._by_chan[ch] == {USR1}
    assert not installed(USR2) and gs.ignored(USR2)
    kill(USR2)                          # ignored by the kernel
    kill(USR1)
    assert ch.recv(timeout=SOON) == USR1
    assert len(ch) == 0
    gs.stop(ch)
    assert gs.ignored(USR2)


def test_reset_undoes_notify(usr1_counter):
    # What reset restores (the first-touch disposition) depends on what
    # touched the signal first in this process: see test_signal_subproc.py.
    ch, witness = Chan(1), Chan(1)
    gs.notify(ch, USR1, USR2)
    gs.notify(witness, USR2)
    gs.reset(USR1)
    assert gs._by_chan[ch] == {USR2} and not installed(USR1)
    assert signal.getsignal(USR1) is not gs.RELAY
    gs.reset(USR2)
    assert ch not in gs._by_chan and witness not in gs._by_chan
    assert gs._by_sig == {} and not installed(USR2)


def test_ignored_reports_the_current_disposition():
    assert not gs.ignored(USR1) or signal.getsignal(USR1) is signal.SIG_IGN
    assert gs.ignored(signal.SIGKILL) is False      # asking is fine
    old = signal.signal(USR2, signal.SIG_IGN)
    try:
        assert gs.ignored(USR2) is True            # ignored by someone else
    finally:
        signal.signal(USR2, old)
    assert gs.ignored(signal.Signals.SIGUSR2) is False


def test_signal_signal_on_a_notified_signal_takes_it_away(usr1_counter):
    ch = Chan(1)
    gs.notify(ch, USR1)
    other = Counter()
    signal.signal(USR1, other)          # foreign handler replaces gochan's
    assert not installed(USR1)
    kill(USR1)
    wait_until(lambda: other.n == 1, what="the foreign handler")
    gs.stop(ch)                         # leaves the foreign handler alone
    assert signal.getsignal(USR1) is other
    kill(USR1)
    wait_until(lambda: other.n == 2, what="the foreign handler again")
    assert len(ch) == 0
    gs.notify(ch, USR1)                 # notify takes it back
    assert installed(USR1)
    kill(USR1)
    assert ch.recv(timeout=SOON) == USR1
    gs.stop(ch)
    assert signal.getsignal(USR1) is other
    signal.signal(USR1, usr1_counter)


# ---- bad input -----------------------------------------------------------------

@pytest.mark.parametrize("args, exc, words", [
    ((9999,), ValueError, "unknown signal number 9999"),
    ((0,), ValueError, "unknown signal number 0"),
    ((-2,), ValueError, "unknown signal number -2"),
    ((32,), ValueError, "unknown signal number 32"),       # glibc's own
    ((signal.SIGKILL,), ValueError, "SIGKILL cannot be caught"),
    ((signal.SIGSTOP,), ValueError, "SIGSTOP cannot be caught"),
    ((USR1, 9999), ValueError, "unknown signal number"),
    ((USR1, signal.SIGKILL), ValueError, "SIGKILL"),
    (("SIGUSR1",), TypeError, "not str"),
    ((True,), TypeError, "not bool"),
    ((10.0,), TypeError, "not float"),
    ((None,), TypeError, "not NoneType"),
])
def test_notify_rejects_bad_signals_and_installs_nothing(args, exc, words):
    ch = Chan(1)
    with pytest.raises(exc, match=words):
        gs.notify(ch, *args)
    assert gs._by_chan == {} and gs._by_sig == {}
    assert not installed(USR1)


@pytest.mark.parametrize("bad", [None, 3, "ch", [], object()])
def test_notify_rejects_non_channels(bad):
    with pytest.raises(TypeError, match="expected a gochan.Chan"):
        gs.notify(bad, USR1)
    with pytest.raises(TypeError, match="expected a gochan.Chan"):
        gs.stop(bad)
    assert not installed(USR1) and gs._by_sig == {}


def test_notify_rejects_nilchan():
    with pytest.raises(ValueError, match="nilchan"):
        gs.notify(nilchan, USR1)
    assert not installed(USR1)


def test_ignore_reset_ignored_reject_bad_signals():
    with pytest.raises(ValueError, match="SIGKILL"):
        gs.ignore(signal.SIGKILL)
    with pytest.raises(ValueError, match="SIGSTOP"):
        gs.reset(signal.SIGSTOP)
    with pytest.raises(ValueError, match="unknown signal number"):
        gs.ignore(USR2, 4242)
    assert not gs.ignored(USR2)          # nothing was ignored
    with pytest.raises(ValueError, match="unknown signal number"):
        gs.ignored(4242)
    with pytest.raises(TypeError):
        gs.ignored("SIGUSR1")
    with pytest.raises(TypeError):
        gs.reset(1.5)
