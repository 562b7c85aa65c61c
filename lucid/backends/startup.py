"""Start-up: the one-time work of starting numba, made cheaper.

* ``gc_paused``: numba's start and each kernel's first load allocate hundreds of thousands
  of objects; Python's cycle collector is paused meanwhile.
* ``answer_blas_probe``: numba's start imports ``scipy.linalg`` only to learn whether SciPy's
  BLAS is installed; the answer is read off the file system instead.
* ``cache_lock``: numba writes its disk cache without a lock between processes (two processes that
  compile different signatures of one kernel at once can give both the same data file, and a later
  load then runs the wrong machine code); numba compiles or loads each new signature of a kernel
  under this lock (``_kernels/jit.run``).
* ``drop_stale_cache``: numba's disk cache checks only the file of the function it compiled, but a
  family's kernels inline the formulas of other files, of the family and shared (``_kernels/jit.py``,
  ``vmath.py``); an entry older than any of them is dropped, so an edit recompiles the kernels.
* ``blas_threads_sleep_soon``: OpenBLAS's threads spin for about 2²⁸ cycles (a tenth of a second)
  after each matrix product before they sleep; a compiled kernel that runs on the same cores
  meanwhile gets half of them. They are made to sleep after 2¹² cycles instead.
"""

import contextlib
import ctypes
import gc
import importlib.machinery
import importlib.util
import os
import sys
import tempfile
import threading

_probe_lock = threading.Lock()
BLAS_SPIN_LOG2_CYCLES = 12  # OpenBLAS's threads spin 2^12 cycles (about a microsecond) after a product
_blas_quieted = False


def drop_stale_cache(folder, plain=("reference.py",)):
    """Remove numba's cache entries in ``folder/__pycache__`` older than the newest ``.py`` in ``folder``
    (but for the ``plain`` files, which hold no compiled code) or in the folder above it (the code
    every family shares: its jit options, ``vmath``)."""
    cache = os.path.join(folder, "__pycache__")
    shared = os.path.dirname(folder)
    try:
        sources = [os.path.join(folder, f) for f in os.listdir(folder) if f.endswith(".py") and f not in plain]
        sources += [os.path.join(shared, f) for f in os.listdir(shared) if f.endswith(".py")]
        newest = max(os.stat(path).st_mtime for path in sources)
        entries = [os.path.join(cache, f) for f in os.listdir(cache) if f.endswith((".nbi", ".nbc"))]
    except (OSError, ValueError):  # no cache yet, or no sources
        return
    for path in entries:
        try:
            if os.stat(path).st_mtime < newest:
                os.remove(path)
        except OSError:  # removed meanwhile by another process, or read-only
            pass


@contextlib.contextmanager
def cache_lock():
    """An exclusive lock shared by every process of this user on this machine (``flock`` on a file
    in the temporary folder), held while a kernel may compile and write numba's cache. Where there is
    no ``flock`` (Windows) or the file cannot be opened, nothing is locked."""
    try:
        import fcntl

        f = open(os.path.join(tempfile.gettempdir(), f"lucid-kernel-cache-{os.getuid()}.lock"), "a")
    except (ImportError, OSError, AttributeError):
        yield
        return
    with f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


@contextlib.contextmanager
def gc_paused():
    """Python's cycle collector paused, for the one-time work of starting numba and loading kernels:
    it allocates hundreds of thousands of objects, and the collections that triggers would take a large
    share of the first call. Cycles made meanwhile are collected afterwards."""
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
    ``scipy.linalg.cython_blas`` (a large share of numba's start) only to learn whether it can be; the flag decides
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


def blas_threads_sleep_soon():
    """Make the threads of the OpenBLAS that NumPy runs on sleep 2^BLAS_SPIN_LOG2_CYCLES cycles after
    their last product, instead of spinning for OpenBLAS's default of 2^28 cycles.

    A training step alternates matrix products (OpenBLAS's threads) with compiled kernels (numba's
    OpenMP threads) on the same cores, and a thread that spins takes a core from the other pool:
    a kernel that starts right after a product runs at about half speed. OpenBLAS reads its
    timeout (``OPENBLAS_THREAD_TIMEOUT``, log2 of cycles) from the environment when it starts
    its threads; here the variable is set for that one reading, the library reads its
    environment again and restarts its threads, and the environment is put back. Nothing
    changes where the user set the variable, where NumPy's BLAS is not OpenBLAS on its own
    threads, or where the library does not export these functions. Runs once; call it when no
    other thread is inside a BLAS call."""
    global _blas_quieted
    if _blas_quieted:
        return
    _blas_quieted = True
    if "OPENBLAS_THREAD_TIMEOUT" in os.environ:
        return
    try:
        from threadpoolctl import threadpool_info

        libs = threadpool_info()
    except Exception:  # threadpoolctl missing, or unable to inspect this platform's libraries
        return
    for lib in libs:
        if lib.get("internal_api") != "openblas" or lib.get("threading_layer") != "pthreads":
            continue
        try:
            dll = ctypes.CDLL(lib["filepath"])
            read_env, shutdown, start = dll.openblas_read_env, dll.blas_thread_shutdown_, dll.blas_thread_init
        except (OSError, AttributeError, KeyError):
            continue
        os.environ["OPENBLAS_THREAD_TIMEOUT"] = str(BLAS_SPIN_LOG2_CYCLES)
        try:
            read_env()
        finally:
            del os.environ["OPENBLAS_THREAD_TIMEOUT"]
        shutdown()
        start()
