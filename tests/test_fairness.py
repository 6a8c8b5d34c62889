"""Statistical fairness of select (API.md: "one is chosen uniformly at random",
also after a select has parked).  Bounds are wide: a fair implementation fails
with probability far below one in a million per test."""
import collections

import pytest

from gochan import Chan, default, select

from conftest import SOON, spawn, wait_parked_at_least

pytestmark = pytest.mark.no_leftover_goroutines

N = 10_000

# Chi-square critical values for a false-alarm probability of 1e-6, by degrees
# of freedom (computed by numerical integration of the chi-square density).
CHI2_CRIT_1E6 = {1: 23.93, 2: 27.63, 3: 30.66, 7: 40.52, 15: 56.49}


def chi2(counts, expected):
    return sum((c - expected) ** 2 / expected for c in counts)


def check_uniform(counts, k, n):
    expected = n / k
    got = [counts.get(i, 0) for i in range(k)]
    for i, c in enumerate(got):
        assert 0.5 * expected <= c <= 1.5 * expected, "case %d chosen %d times of %d: %r" % (i, c, n, got)
    stat = chi2(got, expected)
    assert stat < CHI2_CRIT_1E6[k - 1], "chi-square %.1f for %r" % (stat, got)


@pytest.mark.parametrize("k", [2, 4])
def test_uniform_among_closed_recv_cases(k):
    chans = [Chan() for _ in range(k)]
    for c in chans:
        c.close()
    cases = [c.recv for c in chans]
    counts = collections.Counter(select(*cases)[0] for _ in range(N))
    check_uniform(counts, k, N)


def test_uniform_among_ready_buffered_recv_cases():
    k = 4
    chans = [Chan(1) for _ in range(k)]
    for c in chans:
        c.send(0)
    cases = [c.recv for c in chans]
    counts = collections.Counter()
    for _ in range(N):
        i, _ = select(*cases)
        counts[i] += 1
        chans[i].send(0)           # keep every case ready
    check_uniform(counts, k, N)


def test_uniform_among_ready_send_cases():
    k = 4
    chans = [Chan(1) for _ in range(k)]
    cases = [(c.send, i) for i, c in enumerate(chans)]
    counts = collections.Counter()
    for _ in range(N):
        i, _ = select(*cases)
        counts[i] += 1
        assert chans[i].recv(timeout=0) == i
    check_uniform(counts, k, N)


def test_uniform_among_mixed_cases_with_default():
    a, b, c = Chan(1), Chan(1), Chan(2)
    a.send("a")
    b.close()
    cases = [a.recv_ok, default, b.recv, (c.send, "c")]
    counts = collections.Counter()
    for _ in range(N):
        i, _ = select(*cases)
        counts[i] += 1
        if i == 0:
            a.send("a")
        elif i == 3:
            c.recv(timeout=0)
    assert counts[1] == 0, "default chosen while other cases were ready"
    got = collections.Counter({0: counts[0], 1: counts[2], 2: counts[3]})
    check_uniform(got, 3, N)


def test_successive_choices_independent():
    """Pairs of consecutive choices are uniform too: rules out round-robin."""
    k = 4
    chans = [Chan() for _ in range(k)]
    for c in chans:
        c.close()
    cases = [c.recv for c in chans]
    seq = [select(*cases)[0] for _ in range(2 * N)]
    pairs = collections.Counter(zip(seq, seq[1:]))
    cells = {a * k + b: pairs.get((a, b), 0) for a in range(k) for b in range(k)}
    check_uniform(cells, k * k, len(seq) - 1)


TRIALS = 200


def test_parked_select_duplicate_recv_cases_both_chosen():
    c, d = Chan(), Chan()
    results = Chan(TRIALS)

    def selector():
        for _ in range(TRIALS):
            results.send(select(c.recv, c.recv, d.recv, timeout=SOON), timeout=SOON)

    s = spawn(selector)
    counts = collections.Counter()
    for t in range(TRIALS):
        wait_parked_at_least(c, receivers=1)
        wait_parked_at_least(d, receivers=1)
        c.send(t, timeout=SOON)
        i, v = results.recv(timeout=SOON)
        assert v == t and i in (0, 1)
        counts[i] += 1
    s.result()
    # Each of the two duplicate cases: at least a quarter of the trials.
    assert counts[0] >= TRIALS // 4 and counts[1] >= TRIALS // 4, counts


def test_parked_select_duplicate_send_cases_both_chosen():
    c = Chan()
    results = Chan(TRIALS)

    def selector():
        for _ in range(TRIALS):
            results.send(select((c.send, 0), (c.send, 1), timeout=SOON), timeout=SOON)

    s = spawn(selector)
    values = collections.Counter()
    for _ in range(TRIALS):
        wait_parked_at_least(c, senders=1)
        v = c.recv(timeout=SOON)
        i, none = results.recv(timeout=SOON)
        assert none is None and i == v
        values[v] += 1
    s.result()
    assert values[0] >= TRIALS // 4 and values[1] >= TRIALS // 4, values


def test_parked_select_over_several_channels_woken_by_any():
    chans = [Chan() for _ in range(3)]
    results = Chan(1)

    def selector():
        for _ in range(60):
            results.send(select(*[ch.recv for ch in chans], timeout=SOON), timeout=SOON)

    s = spawn(selector)
    for t in range(60):
        for ch in chans:
            wait_parked_at_least(ch, receivers=1)
        chans[t % 3].send(t, timeout=SOON)
        assert results.recv(timeout=SOON) == (t % 3, t)
    s.result()
