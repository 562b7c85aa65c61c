"""Kernels: hot loops on plain arrays, no Tensor, no autograd.

``norm()`` returns the module that holds the normalization kernels (``forward_train``,
``forward_eval``, ``backward``; their contract is in norm_numpy.py): the compiled
norm_numba, or the NumPy reference norm_numpy when numba cannot be imported (said
once, with a warning). numba is imported by the first call, never by ``import lucid``,
so that importing stays fast; each kernel compiles on its first use and is cached on
disk (``NUMBA_CACHE_DIR`` moves the cache). With the cache warm, the first call in a
process still takes about 0.4 s, nearly all of it numba starting up: its import, then its
CPU target, set up before the first cached kernel loads; loading a cached kernel itself
takes milliseconds. numba's start would also import ``scipy.linalg`` (130 to 170 ms) only
to learn whether SciPy's BLAS is installed; lucid answers that question from the file
system instead (``answer_blas_probe``).

Memory: large outputs come from ``buffers.empty``, which reuses the buffers of arrays that are gone;
per-chunk scratch comes from a pair of arrays each thread keeps (``empty_cache()`` lets the idle
buffers and the calling thread's scratch go).

Threads: the compiled kernels run on numba's pool, which has ``NUMBA_NUM_THREADS``
threads (default: the CPUs this process may use). ``set_num_threads(n)`` makes lucid
use ``n`` of them.
"""
import contextlib
import gc
import importlib.machinery
import importlib.util
import os
import sys
import threading
import warnings

from . import buffers, norm_numpy

_norm = None  # the kernel module, once chosen
_threads = None  # what set_num_threads asked for; None: all of the pool
_probe_lock = threading.Lock()


@contextlib.contextmanager
def gc_paused():
    """Python's cycle collector paused, for the one-time work of starting numba and loading kernels:
    it allocates hundreds of thousands of objects, and the collections that triggers took about 110 ms
    of a 0.6 s first call (about 60 ms with this pause). Cycles made meanwhile are collected afterwards."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _scipy_blas_installed():
    """Whether SciPy's BLAS bindings (``scipy.linalg.cython_blas``) are installed, found on disk
    without importing SciPy."""
    try:
        spec = importlib.util.find_spec("scipy")
    except (ImportError, ValueError):  # ValueError: sys.modules["scipy"] is None, or has no spec
        return False
    for folder in (spec.submodule_search_locations or ()) if spec is not None else ():
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            if os.path.isfile(os.path.join(folder, "linalg", "cython_blas" + suffix)):
                return True
    return False


def answer_blas_probe():
    """Import ``numba.np.arraymath`` without the SciPy import in its BLAS probe.

    On import, arraymath sets a flag once by calling ``ensure_blas()``, which imports
    ``scipy.linalg.cython_blas`` (130 to 170 ms) only to learn whether it can be; the flag decides
    how np.correlate and np.convolve compile. Here ``ensure_blas`` answers from the file system
    during that import (the same answer where SciPy's BLAS module is installed), and the real
    one is put back at once: numba's linear algebra still imports SciPy, and checks it, when code
    that uses it compiles. Nothing changes when arraymath is already imported, when SciPy's BLAS
    is not installed (numba's own probe is then cheap), or when numba is laid out differently."""
    with _probe_lock:  # one thread at a time patches ensure_blas and puts it back
        if "numba.np.arraymath" in sys.modules or not _scipy_blas_installed():
            return
        try:
            import numba.np.linalg as linalg
            real = linalg.ensure_blas
        except (ImportError, AttributeError):
            return
        linalg.ensure_blas = lambda: None
        try:
            import numba.np.arraymath as arraymath
            if hasattr(arraymath, "ensure_blas"):  # its own name for the function, bound at import
                arraymath.ensure_blas = real
        except ImportError:
            pass  # left to numba's own start, which will say what is wrong
        finally:
            linalg.ensure_blas = real


def norm():
    """The normalization kernel module: norm_numba, or norm_numpy without numba."""
    global _norm
    if _norm is None:
        try:
            with gc_paused():
                answer_blas_probe()
                from . import norm_numba
        except ImportError as e:
            warnings.warn(f"numba could not be imported ({e}); lucid's normalization layers fall back to "
                          "the slower NumPy kernels", RuntimeWarning, stacklevel=2)
            _norm = norm_numpy
        else:
            norm_numba.threads = _threads
            _norm = norm_numba
    return _norm


def _pool_size():
    """The number of threads numba's pool has (or will have): NUMBA_NUM_THREADS, else the usable CPUs."""
    numba = sys.modules.get("numba")
    if numba is not None:  # numba read the environment when it was imported
        return numba.config.NUMBA_NUM_THREADS
    env = os.environ.get("NUMBA_NUM_THREADS", "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def set_num_threads(n):
    """Use ``n`` threads in lucid's compiled kernels (1 to NUMBA_NUM_THREADS)."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"set_num_threads: expected an int (got {type(n).__name__})")
    top = _pool_size()
    if not 1 <= n <= top:
        raise ValueError(f"set_num_threads: expected a number of threads between 1 and {top} (got {n}); "
                         "the pool size is set by the environment variable NUMBA_NUM_THREADS before lucid starts")
    global _threads
    _threads = n
    if _norm is not None and _norm is not norm_numpy:
        _norm.threads = n


def get_num_threads():
    """The number of threads lucid's compiled kernels use."""
    return _pool_size() if _threads is None else _threads


def empty_cache():
    """Free the idle buffers lucid keeps to reuse for large kernel outputs (see lucid/_kernels/buffers.py),
    and the kernels' scratch arrays the calling thread keeps."""
    buffers.release()
    if _norm is not None and _norm is not norm_numpy:
        _norm.release_scratch()
