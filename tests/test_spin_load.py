"""The engine sees CPU-bound neighbours (issue #7 part 3): it spins only
while a CPU is left for the partner it waits for.  The speed itself is
measured by ``python -m gochan.bench --load N``, never here; this checks
that the observation the decision rests on is real."""
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
            ok, others = _native.spin_state()
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


def test_spin_state_excludes_this_process_own_cpu():
    # This process spinning in Python is not "another process".
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        _native.spin_state()
        t0 = time.monotonic()
        while time.monotonic() - t0 < 0.15:
            pass                    # busy in this process for one window
        ok, others = _native.spin_state()
        if others < 0.9:            # without the subtraction it would read >= ~1
            return
    pytest.fail("this process's own CPU use was counted as another process's")
