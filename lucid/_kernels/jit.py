"""What every compiled kernel family shares: jit options, threads, first-load pause, serial cut-off.

Imported only by the ``compiled.py`` modules (it imports numba), never by ``import lucid``.
"""
import threading

import numba
import numpy as np

from .. import backends
from ..backends.startup import gc_paused

# cache: compiled once, then loaded from disk; error_model 'numpy': x/0 is inf or NaN as IEEE says
JIT = dict(cache=True, error_model="numpy")
FAST = dict(JIT, fastmath={"reassoc", "contract"})  # for sums: may reassociate, never assumes finite values

PARALLEL_MIN = 1 << 20  # elements: below this a loop runs serially (waking the pool can cost more than it saves)
CHUNKS = 64             # most work items a parallel loop is cut into (a function of the shape only)

_here = threading.local()
_loaded = set()


def use_threads():
    """Give numba the thread count ``lucid.set_num_threads`` asked for, on the calling thread."""
    threads = backends.requested_threads()
    if threads is not None and getattr(_here, "threads", None) != threads:
        numba.set_num_threads(threads)
        _here.threads = threads


def run(kernel, *args):
    """``kernel(*args)``; its first run for these array types with Python's cycle collector paused
    (loading a kernel from numba's cache allocates many objects)."""
    key = (kernel,) + tuple((a.dtype.char, a.ndim) for a in args if isinstance(a, np.ndarray))
    if key in _loaded:
        return kernel(*args)
    with gc_paused():
        out = kernel(*args)
    _loaded.add(key)
    return out


def native(*arrays):
    """The arrays C-contiguous and of one dtype, float32 or float64; None where the reference must run
    (another dtype, a mix of dtypes, or nothing to compute)."""
    dt = arrays[0].dtype
    if dt.char not in "fd" or arrays[0].size == 0 or any(a.dtype != dt for a in arrays):
        return None
    return [np.ascontiguousarray(a) for a in arrays]
