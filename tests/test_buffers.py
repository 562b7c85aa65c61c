"""The kernels' reusable large arrays (lucid/backends/memory.py): a buffer is never handed out while
an array or a view still uses it, comes back once they are gone, and the idle store keeps its limit."""

import gc
import os
import platform
import threading

import numpy as np
import pytest

import lucid
from lucid.backends import memory as buffers

BIG = (256, 1024)  # float32: 1 MB, above MIN_BYTES


def address(a):
    return a.__array_interface__["data"][0]


@pytest.fixture(autouse=True)
def empty_store(monkeypatch):
    monkeypatch.setattr(buffers, "limit", 1 << 30)
    buffers.release()
    yield
    buffers.release()


def test_an_array_like_np_empty():
    a = buffers.empty(BIG, np.float32)
    assert a.shape == BIG and a.dtype == np.float32
    assert a.flags.c_contiguous and a.flags.writeable
    a[...] = 3.0
    assert a.sum(dtype=np.float64) == 3.0 * a.size
    small = buffers.empty((4, 5), np.float64)  # small arrays: plain np.empty
    assert small.shape == (4, 5) and small.dtype == np.float64 and small.base is None
    empty = buffers.empty((0, 1 << 20), np.float64)
    assert empty.shape == (0, 1 << 20)


def test_a_freed_buffer_is_reused_and_a_live_one_is_not():
    a = buffers.empty(BIG, np.float32)
    p = address(a)
    b = buffers.empty(BIG, np.float32)  # a is alive: b gets other memory
    assert address(b) != p and not np.shares_memory(a, b)
    del a
    assert buffers.idle_bytes() == 1 << 20
    c = buffers.empty((1024, 128), np.float64)  # same bytes, other shape and dtype: the same buffer
    assert address(c) == p and c.shape == (1024, 128) and c.dtype == np.float64
    assert buffers.idle_bytes() == 0
    d = buffers.empty((BIG[0] + 1, BIG[1]), np.float32)  # other size: fresh memory
    assert address(d) not in (p, address(b))


def test_a_view_keeps_the_buffer():
    a = buffers.empty(BIG, np.float32)
    a[...] = np.arange(a.size, dtype=np.float32).reshape(BIG)
    views = [a[::2], a.T, a.reshape(-1), a[3]]
    expected = [v.copy() for v in views]
    p = address(a)
    del a
    gc.collect()
    assert buffers.idle_bytes() == 0
    b = buffers.empty(BIG, np.float32)
    assert address(b) != p
    b[...] = -1.0
    for v, e in zip(views, expected):
        np.testing.assert_array_equal(v, e)
    del views, v
    assert buffers.idle_bytes() == 1 << 20


def test_the_idle_store_keeps_its_limit(monkeypatch):
    monkeypatch.setattr(buffers, "limit", 3 << 20)
    arrays = [buffers.empty((256, 1024 * k), np.float32) for k in (1, 1, 2, 4)]  # 1, 1, 2, 4 MB
    del arrays[:2]  # 2 MB idle
    assert buffers.idle_bytes() == 2 << 20
    del arrays[0]  # 2 more MB: the oldest idle buffer (1 MB) goes to make room
    assert buffers.idle_bytes() == 3 << 20
    del arrays[0]  # 4 MB: more than the limit, never kept
    assert buffers.idle_bytes() == 3 << 20
    idle = buffers._idle
    assert sorted(idle) == [1 << 20, 2 << 20] and len(idle[1 << 20]) == 1
    again = buffers.empty((256, 1024), np.float32)  # the 1 MB buffer left serves, while `again` lives
    assert buffers.idle_bytes() == 2 << 20 and sorted(idle) == [2 << 20] and again.nbytes == 1 << 20
    lucid.empty_cache()
    assert buffers.idle_bytes() == 0


def test_threads_never_share_a_live_buffer():
    errors = []

    def work(seed):
        try:
            for i in range(200):
                a = buffers.empty(BIG, np.float32)
                a[...] = seed * 1000 + i
                b = buffers.empty(BIG, np.float32)
                b[...] = -seed
                if not (np.all(a == seed * 1000 + i) and np.all(b == -seed)):
                    errors.append(seed)
                del a, b
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert buffers.idle_bytes() <= 8 << 20


def test_norm_outputs_reuse_buffers_and_stay_intact():
    rng = np.random.default_rng(0)
    m = lucid.nn.LayerNorm(512)
    x1 = lucid.Tensor(rng.standard_normal((1024, 512)).astype(np.float32), requires_grad=True)
    x2 = lucid.Tensor(rng.standard_normal((1024, 512)).astype(np.float32) * 3 + 1, requires_grad=True)
    y1 = m(x1)
    keep = y1.data.copy()
    y1.backward(np.ones((1024, 512), np.float32))
    g1 = x1.grad.copy()
    for _ in range(3):  # the outputs of later steps come from reused buffers, never y1's or x1.grad's
        y2 = m(x2)
        y2.backward(np.full((1024, 512), 2.0, np.float32))
        x2.grad = None
        del y2
    np.testing.assert_array_equal(y1.data, keep)
    np.testing.assert_array_equal(x1.grad, g1)
    assert buffers.idle_bytes() > 0


@pytest.mark.parametrize(
    "make,shape",
    [
        (lambda: lucid.nn.LayerNorm(512), (1024, 512)),
        (lambda: lucid.nn.BatchNorm1d(512), (1024, 512)),
        (lambda: lucid.nn.GroupNorm(4, 8), (16, 8, 64, 64)),
    ],
)
def test_reused_buffers_give_the_same_bits(make, shape, monkeypatch):
    """Outputs and scratch taken from buffers full of an earlier step's values: the results are bit for bit
    those computed in fresh memory."""
    rng = np.random.default_rng(1)
    xs = [rng.standard_normal(shape).astype(np.float32) * (i + 1) + i for i in range(3)]
    gs = [rng.standard_normal(shape).astype(np.float32) for _ in range(3)]

    def steps():
        m = make()
        out = []
        for x, g in zip(xs, gs):
            t = lucid.Tensor(x, requires_grad=True)
            y = m(t)
            y.backward(g)
            out.append((y.data.copy(), t.grad.copy(), m.weight.grad.copy(), m.bias.grad.copy()))
            m.zero_grad(set_to_none=True)
            del t, y
        return out

    pooled = steps()
    assert buffers.idle_bytes() > 0
    buffers.release()
    monkeypatch.setattr(buffers, "MIN_BYTES", 1 << 62)  # every array fresh from np.empty
    fresh = steps()
    assert buffers.idle_bytes() == 0
    for a, b in zip(pooled, fresh):
        for u, v in zip(a, b):
            np.testing.assert_array_equal(u, v)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_writes_its_own_copy():
    """Lent memory is private, as malloc's: a child process writing to an array leaves the parent's as it was."""
    a = buffers.empty(BIG, np.float32)
    a[...] = 1.0
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        a[...] = 7.0
        os._exit(0 if np.all(a == 7.0) else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert np.all(a == 1.0)


_FAULTS_PROBE = """
import resource
import numpy as np
import lucid
x = lucid.tensor(np.ones((256, 2048), np.float32), requires_grad=True)
g = lucid.tensor(np.ones((256, 2048), np.float32))
faults = []
for step in range(5):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    x.grad = None
    ((x * 2 + 1) * x).backward(g)
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(max(faults[2:]))
"""


def _faults_per_step(env):
    """The most page faults of steps 3 to 5 of a 2 MB elementwise chain with its backward, in a new process."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", _FAULTS_PROBE], env=env, capture_output=True, text=True, check=True)
    return int(out.stdout)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the setting is glibc's malloc's")
def test_numpys_own_arrays_keep_their_pages_from_step_to_step():
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    assert _faults_per_step(env) < 100  # 512 pages an array: nothing is mapped afresh
    # where the user sets malloc's thresholds, lucid keeps them: here glibc maps every array afresh
    assert _faults_per_step({**env, "MALLOC_TRIM_THRESHOLD_": "131072"}) > 1000
