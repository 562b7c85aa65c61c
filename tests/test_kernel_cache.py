"""numba's disk cache is written by one process at a time: a kernel's first call holds a lock that
every process of the user shares (two processes compiling one kernel for different dtypes at once
could otherwise give both entries the same data file, and a later load would run the wrong code)."""

import contextlib
import subprocess
import sys
import time

import numpy as np
import pytest

numba = pytest.importorskip("numba")

from lucid._kernels import jit  # noqa: E402
from lucid.backends import startup  # noqa: E402

HOLD = """
import sys, time
from lucid.backends import startup
with startup.cache_lock():
    print("held", flush=True)
    time.sleep(float(sys.argv[1]))
"""


@pytest.mark.skipif(sys.platform == "win32", reason="flock is POSIX")
def test_the_cache_lock_excludes_another_process():
    holder = subprocess.Popen([sys.executable, "-c", HOLD, "1.5"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        t0 = time.perf_counter()
        with startup.cache_lock():
            waited = time.perf_counter() - t0
        assert waited > 0.5  # the holder still had about 1.5 s to go
    finally:
        holder.wait(timeout=30)
    assert holder.returncode == 0
    t0 = time.perf_counter()
    with startup.cache_lock():  # free again: taken at once
        assert time.perf_counter() - t0 < 0.5


def test_a_kernels_first_call_holds_the_lock_and_later_calls_do_not(monkeypatch):
    taken = []

    @contextlib.contextmanager
    def recording_lock():
        taken.append(True)
        yield

    monkeypatch.setattr(jit, "cache_lock", recording_lock)

    @numba.njit
    def double(x):
        return x * 2

    a = np.arange(3.0)
    np.testing.assert_array_equal(jit.run(double, a), [0.0, 2.0, 4.0])
    assert taken == [True]
    jit.run(double, a)
    assert taken == [True]
    jit.run(double, a.astype(np.float32))  # a new dtype may compile: locked again
    assert taken == [True, True]
