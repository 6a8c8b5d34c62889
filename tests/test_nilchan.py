"""nilchan: Go's nil channel (API.md, section "Chan", paragraph on nilchan)."""
import time

import pytest

import gochan
from gochan import Chan, ClosedChannelError, default, nilchan, select

from conftest import SOON, spawn, wait_threads_parked

pytestmark = pytest.mark.no_leftover_goroutines


def test_len_and_cap():
    assert len(nilchan) == 0
    assert nilchan.cap == 0


def test_same_object_everywhere():
    from gochan import nilchan as again

    assert again is nilchan
    assert gochan.nilchan is nilchan


def test_close_raises():
    with pytest.raises(ClosedChannelError) as ei:
        nilchan.close()
    assert str(ei.value) == "close of nil channel"
    # Still a nil channel afterwards, not a closed one.
    with pytest.raises(TimeoutError):
        nilchan.recv(timeout=0)


@pytest.mark.parametrize("op", ["recv", "recv_ok", "send"])
def test_nonblocking_try_never_succeeds(op):
    args = ("v",) if op == "send" else ()
    with pytest.raises(TimeoutError):
        getattr(nilchan, op)(*args, timeout=0)


@pytest.mark.parametrize("op", ["recv", "recv_ok", "send"])
def test_blocks_until_timeout(op):
    args = ("v",) if op == "send" else ()
    t0 = time.monotonic()
    with pytest.raises(TimeoutError):
        getattr(nilchan, op)(*args, timeout=0.1)
    assert time.monotonic() - t0 >= 0.09


def test_blocked_thread_is_parked_and_times_out():
    r = spawn(nilchan.recv, timeout=0.5)
    wait_threads_parked(1)
    assert isinstance(r.error(), TimeoutError)


def test_other_channels_unaffected_by_nil_waiters():
    c = Chan(1)
    r = spawn(nilchan.send, "never", timeout=0.3)
    c.send(1)
    assert c.recv() == 1
    assert isinstance(r.error(), TimeoutError)
    # Nothing that was "sent" on nilchan appears anywhere.
    with pytest.raises(TimeoutError):
        nilchan.recv(timeout=0)


def test_select_nil_cases_with_default():
    for _ in range(100):
        assert select(nilchan.recv, nilchan.recv_ok, (nilchan.send, 1), default) == (3, None)


def test_select_only_nil_cases_times_out():
    t0 = time.monotonic()
    with pytest.raises(TimeoutError):
        select(nilchan.recv, (nilchan.send, 1), nilchan.recv_ok, timeout=0.1)
    assert time.monotonic() - t0 >= 0.09


def test_select_nil_case_never_chosen_beside_ready_one():
    c = Chan(1)
    for i in range(200):
        c.send(i)
        assert select(nilchan.recv, (nilchan.send, "x"), c.recv, timeout=SOON) == (2, i)

