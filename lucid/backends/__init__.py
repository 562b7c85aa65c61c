"""Backends: which code computes lucid's kernels, on how many threads, with what memory.

Every family of kernels (``norm``, ...) lives in ``lucid/_kernels/<family>/`` as two
backends that answer the same calls on plain arrays:

* ``reference.py``: NumPy, written the way the docs write the math: the specification;
* ``compiled.py``: numba loops that compute the same results faster.

``kernels(family)`` returns the module of the active backend. ``use("numpy")`` runs the
reference on purpose; ``use("numba")`` (the default) runs the compiled loops, or the
reference with one warning where numba cannot be imported. numba is imported by the first
compiled call, never by ``import lucid``.
"""

import importlib
import os
import sys
import warnings

from . import memory, startup

memory.keep_freed_pages()

__all__ = ["use", "current", "kernels", "set_num_threads", "get_num_threads", "empty_cache"]

NAMES = ("numba", "numpy")
_active = "numba"
_loaded = {}  # (backend, family) -> module
_threads = None  # what set_num_threads asked for; None: all of numba's pool


def use(name: str) -> None:
    """Run every kernel family on backend ``name``: ``"numba"`` (compiled) or ``"numpy"`` (reference)."""
    global _active
    if name not in NAMES:
        raise ValueError(f"lucid.backends.use: expected one of {NAMES} (got {name!r})")
    _active = name


def current() -> str:
    """The name of the active backend."""
    return _active


def kernels(family: str):
    """The module that computes ``family``'s kernels on the active backend."""
    module = _loaded.get((_active, family))
    return module if module is not None else _load(_active, family)


def _load(backend, family):
    reference = importlib.import_module(f"lucid._kernels.{family}.reference")
    module = reference
    if backend == "numba":
        try:
            with startup.gc_paused(), startup.cache_lock():
                startup.drop_stale_cache(os.path.dirname(reference.__file__))
                startup.answer_blas_probe()
                startup.blas_threads_sleep_soon()
                module = importlib.import_module(f"lucid._kernels.{family}.compiled")
        except ImportError as e:
            warnings.warn(
                f"numba could not be imported ({e}); lucid's {family} kernels fall back to the slower NumPy reference",
                RuntimeWarning,
                stacklevel=3,
            )
    _loaded[(backend, family)] = module
    return module


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


def set_num_threads(n: int) -> None:
    """Use ``n`` threads in lucid's compiled kernels (1 to NUMBA_NUM_THREADS) and in the BLAS library
    NumPy's matrix products run on.

    The two pools take turns on the same cores (a convolution is a compiled gather, then a BLAS
    product, then a compiled gather again), so one number governs both: together they never ask
    for more than ``n`` cores. The BLAS pool is set through threadpoolctl (for the whole process,
    as ``torch.set_num_threads`` does); numba's threads sleep as soon as a kernel ends (OpenMP's
    passive wait, see ``lucid._kernels``), and OpenBLAS's about a microsecond after a product
    (``startup.blas_threads_sleep_soon``), so neither pool spins while the other works."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"set_num_threads: expected an int (got {type(n).__name__})")
    top = _pool_size()
    if not 1 <= n <= top:
        raise ValueError(
            f"set_num_threads: expected a number of threads between 1 and {top} (got {n}); "
            "the pool size is set by the environment variable NUMBA_NUM_THREADS before lucid starts"
        )
    global _threads
    _threads = n
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # without threadpoolctl the BLAS pool keeps its own size
        return
    threadpool_limits(n, user_api="blas")


def get_num_threads() -> int:
    """The number of threads lucid's compiled kernels (and, once set, its BLAS products) use."""
    return _pool_size() if _threads is None else _threads


def requested_threads():
    """What ``set_num_threads`` asked for, or None: compiled modules apply it on the calling thread."""
    return _threads


def empty_cache() -> None:
    """Let go of the idle buffers kept for reuse (``memory``) and the calling thread's kernel scratch."""
    memory.release()
    for module in list(_loaded.values()):
        release = getattr(module, "release_scratch", None)
        if release is not None:
            release()
