"""The engine sees CPU-bound neighbours (issue #7 part 3): it spins only
while a CPU is left for the partner it waits for.  The speed itself is
measured by ``python -m gochan.bench --load N``, never here; this checks
that the observation the decision rests on is real."""
import os
import subprocess
import sys
import time

import pytest

from gochan import _native


def test_spin_state_reports_a_cpu_bound_neighbour():
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        deadline = time.monotonic() + 20
        seen = []
        while time.monotonic() < deadline:
            ok, others, _own = _native.spin_state()
            seen.append(others)
            assert isinstance(ok, bool)
            if others >= 0.7:      # the neighbour takes about one CPU (more if the box is busy)
                break
            time.sleep(0.12)       # one sampling window
        else:
            pytest.fail("never saw the CPU-bound neighbour: %r" % seen[-10:])
    finally:
        hog.kill()
        hog.wait(10)


def _system_busy():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    return (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / os.sysconf("SC_CLK_TCK")


def test_spin_state_excludes_this_process_own_cpu():
    # This process spinning in Python is not "another process": over one
    # window of ~0.3 s busy here, the engine's figure for the others is
    # the system's busy time less about one CPU (ours), whatever else runs.
    for attempt in range(5):
        time.sleep(0.15)
        _native.spin_state()               # a sample starts the window
        b0, t0 = _system_busy(), time.monotonic()
        while time.monotonic() - t0 < 0.3:
            pass
        ok, others, _own = _native.spin_state()  # ... and this one ends it
        total = (_system_busy() - b0) / (time.monotonic() - t0)
        if others <= total - 0.6:
            return
    pytest.fail("this process's own CPU was counted as another's: others %.2f of %.2f busy"
                % (others, total))


@pytest.mark.skipif(not (hasattr(sys, "_is_gil_enabled") and not sys._is_gil_enabled()),
                    reason="only without the GIL do this process's own threads take CPUs from a spinner")
def test_no_spinning_while_own_threads_take_every_cpu():
    # Free-threaded, GIL off: as many busy Python threads as CPUs leave no
    # CPU for a spinner, so the engine must stop spinning -- this process's
    # own work counts (own), unlike with the GIL where they wait for it.
    import threading
    stop = threading.Event()

    def busy():
        while not stop.is_set():
            pass

    ts = [threading.Thread(target=busy, daemon=True) for _ in range(os.cpu_count() or 1)]
    for t in ts:
        t.start()
    try:
        seen = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            time.sleep(0.12)                 # one sampling window
            ok, others, own = _native.spin_state()
            seen.append((ok, round(others, 2), round(own, 2)))
            if not ok and own >= 1.0:
                break
        else:
            pytest.fail("kept spinning beside this process's own busy threads: %r" % seen[-10:])
    finally:
        stop.set()
        for t in ts:
            t.join(10)
