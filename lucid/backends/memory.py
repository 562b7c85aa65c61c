"""Large arrays for the kernels, reused from step to step instead of mapped afresh.

A training loop asks for arrays of the same sizes at every step. For a large block, malloc
takes pages from the operating system and, once the block is freed at the top of its heap,
hands them back; the next step then pays a page fault per 4 KB page as it first writes its
output, which for outputs of megabytes costs as much as the kernels themselves.

``empty(shape, dtype)`` gives an array of ``MIN_BYTES`` or more a buffer of its own, lent
through a ``_Lease``: the array (and every view of it) keeps the lease alive, and when the last
one is gone the lease puts the buffer on an idle list. The next request of the same size takes
it from there, its pages already mapped. At most ``limit`` bytes stay idle; ``release()`` lets
them all go (``lucid.empty_cache()``). Smaller arrays come from ``np.empty``, which malloc serves
from memory it keeps anyway.

The arrays NumPy makes itself (an elementwise op's result, a gradient summed in autograd, a
matrix product) come from malloc. glibc's malloc maps a block of its own for each one above a
threshold it raises as blocks are freed (to the largest freed, up to 32 MB), and hands the top
of its heap back to the system past twice that: a chain of ops on arrays of a few megabytes
then gives its pages back after each step and faults them in again at the next (a 2 MB
``(x*2+1)*x`` with its backward: about 2,600 page faults and 9.5 ms a step, against 0.9 ms
without them). ``keep_freed_pages`` starts glibc where its own adjustment would end: blocks
below 32 MB from the heap, and up to 64 MB of freed heap kept mapped.
"""

import ctypes
import math
import mmap
import os
import threading

import numpy as np

MIN_BYTES = 1 << 17  # 128 KB (glibc's default mmap threshold): from here on an array is lent
limit = 1 << 30  # most bytes kept idle

MALLOC_MMAP_THRESHOLD = 32 << 20  # glibc's own largest mmap threshold on 64-bit systems
MALLOC_TRIM_THRESHOLD = 64 << 20  # twice that, as glibc sets it when it raises the threshold
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt's parameter numbers (malloc.h)

_idle = {}  # nbytes -> [buffers]; keys in the order they became idle, the oldest first
_idle_bytes = 0
_lock = threading.Lock()


class _Lease(np.ndarray):
    """The array that owns one lent buffer. The caller gets a plain-ndarray view of it: numpy makes the
    lease that view's ``base`` (the chain of bases stops at a subclass), so the lease lives as long as
    the array or any view of it, and ``__del__`` returns the buffer."""

    __slots__ = ()

    def __del__(self):
        try:
            _give_back(self.base)
        except Exception:  # interpreter shutdown: the module may be half gone; the buffer is freed
            pass


def _give_back(buffer):
    global _idle_bytes
    n = len(buffer)
    if n > limit or not _lock.acquire(blocking=False):
        # the lock is held by another thread, or by this one in the middle of empty() (a garbage
        # collection there can run this): let the buffer go rather than wait
        return
    try:
        while _idle and _idle_bytes + n > limit:  # make room: drop the size idle longest first
            size = next(iter(_idle))
            stack = _idle[size]
            stack.pop()
            _idle_bytes -= size
            if not stack:
                del _idle[size]
        _idle.setdefault(n, []).append(buffer)
        _idle_bytes += n
    finally:
        _lock.release()


def _take(n):
    """An idle buffer of ``n`` bytes, or None."""
    global _idle_bytes
    with _lock:
        stack = _idle.get(n)
        if not stack:
            return None
        buffer = stack.pop()
        if not stack:
            del _idle[n]
        _idle_bytes -= n
        return buffer


def empty(shape, dtype):
    """An uninitialized C-contiguous array, like ``np.empty``; from an idle buffer when large."""
    dtype = np.dtype(dtype)
    n = math.prod(shape) * dtype.itemsize
    if n < MIN_BYTES:
        return np.empty(shape, dtype)
    buffer = _take(n)
    if buffer is None:
        # page-aligned anonymous memory of its own, mapped as it is first written; private, as malloc's
        # (a forked child writes to its own copy)
        buffer = mmap.mmap(-1, n, flags=mmap.MAP_PRIVATE)
    return np.ndarray.__new__(_Lease, shape, dtype, buffer).view(np.ndarray)


def release():
    """Let every idle buffer go (their memory returns to the system)."""
    global _idle_bytes
    with _lock:
        _idle.clear()
        _idle_bytes = 0


def idle_bytes():
    """Bytes held in idle buffers."""
    return _idle_bytes


def keep_freed_pages():
    """Set glibc's malloc to serve blocks below ``MALLOC_MMAP_THRESHOLD`` from its heap and to keep up
    to ``MALLOC_TRIM_THRESHOLD`` bytes of freed heap mapped (see the module docstring). Nothing
    changes where the environment sets either (``MALLOC_MMAP_THRESHOLD_``, ``MALLOC_TRIM_THRESHOLD_``)
    or where the C library is not glibc. Returns whether it set them."""
    if "MALLOC_MMAP_THRESHOLD_" in os.environ or "MALLOC_TRIM_THRESHOLD_" in os.environ:
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError, TypeError):  # not glibc (musl, macOS, Windows)
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return bool(mallopt(_M_MMAP_THRESHOLD, MALLOC_MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, MALLOC_TRIM_THRESHOLD)
    )
