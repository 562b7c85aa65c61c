"""numba's disk cache is written by one process at a time: each new signature of a kernel is compiled
(or loaded) under a lock that every process of the user shares (two processes compiling one kernel for
different signatures at once could otherwise give both entries the same data file, and a later load
would run the wrong code)."""

import contextlib
import os
import subprocess
import sys
import tempfile

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
def test_the_cache_lock_excludes_another_process(tmp_path, monkeypatch):
    import fcntl

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # a lock file of this test's own
    env = dict(os.environ, TMPDIR=str(tmp_path))
    holder = subprocess.Popen([sys.executable, "-c", HOLD, "1.5"], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert holder.stdout.readline().strip() == "held"
        (path,) = tmp_path.glob("lucid-kernel-cache-*.lock")
        with open(path, "a") as f, pytest.raises(BlockingIOError):  # held by the other process
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with startup.cache_lock():  # waits for the holder to let it go
            with open(path, "a") as f, pytest.raises(BlockingIOError):  # now this process holds it
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        holder.wait(timeout=30)
    assert holder.returncode == 0
    with open(path, "a") as f:  # free again
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)


def test_each_new_signature_holds_the_lock_and_later_calls_do_not(monkeypatch):
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
    np.testing.assert_array_equal(jit.run(double, a[::2]), [0.0, 4.0])  # same dtype and rank, other layout
    assert taken == [True, True, True]
    jit.run(double, a[::2])
    jit.run(double, a)
    assert taken == [True, True, True]
