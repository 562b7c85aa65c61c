"""What every compiled kernel family shares: how loops are compiled, threads, the compile lock.

* ``JIT``: the options every kernel compiles with. ``cache``: compiled once, then loaded from disk;
  ``error_model="numpy"``: a division follows IEEE arithmetic (1/0 = inf, 0/0 = NaN) instead of
  raising ZeroDivisionError. ``FAST`` adds fastmath ``reassoc`` and ``contract`` for loops of sums
  (split into vector lanes, multiply-adds fused), never an assumption that values are finite.
* ``formula``: a small function inlined into every loop that calls it (numba's ``inline="always"``
  works on numba's IR, so the formula compiles with the options of that loop): writing a quantity
  once costs nothing where it runs.
* ``loop``: a function compiled on its own with given options (a loop the kernels call).
* ``kernel``: a loop over chunks compiled twice from one body (``Twins``): ``parallel`` (``prange``
  shares the chunks among threads) and ``serial`` (``prange`` runs as ``range``), for inputs too
  small to pay for waking the threads.
* ``wide()``: asks LLVM for the CPU's widest vectors (512-bit with AVX-512, where it would pick 256).
* ``use_threads``, ``run``, ``native``: what the Python side of every family does before a kernel runs.

Imported only by the families' compiled code (it imports numba), never by ``import lucid``. The
kernels inline from this file: ``backends.startup.drop_stale_cache`` drops their cached builds when
it changes.
"""

import threading
import types as pytypes

import numba
import numpy as np
from numba import njit, types
from numba.extending import intrinsic

from .. import backends
from ..backends.startup import cache_lock, gc_paused

JIT = dict(cache=True, error_model="numpy")
FAST = dict(JIT, fastmath={"reassoc", "contract"})  # for sums: may reassociate, never assumes finite values

PARALLEL_MIN = 1 << 20  # elements: below this a loop runs serially (waking the pool can cost more than it saves)
CHUNKS = 64  # most work items a parallel loop is cut into (a function of the shape only)

# Start numba's thread pool now. A parallel loop's machine code calls the pool's scheduler through
# symbols that numba registers when the pool starts, which it does when it compiles or loads a
# parallel kernel itself; a serial kernel loaded from the disk cache that calls a parallel one
# would otherwise find those symbols unset and jump to address 0.
numba.get_num_threads()

_here = threading.local()
_guarded = set()  # the dispatchers whose compilation runs under cache_lock
_guarding = threading.Lock()


def formula(fn):
    """``fn`` compiled to be inlined into its callers."""
    return njit(inline="always", **JIT)(fn)


def loop(options):
    """Decorator: the function compiled on its own with ``options`` (``JIT`` or ``FAST``)."""
    return njit(**options)


class Twins:
    """One kernel body compiled two ways: ``parallel`` and ``serial``."""

    __slots__ = ("parallel", "serial")

    def __init__(self, fn, options):
        self.parallel = njit(parallel=True, **options)(fn)
        # a copy under its own name: numba's disk cache keys on the function's qualified name, and
        # the two builds must not load each other
        twin = pytypes.FunctionType(
            fn.__code__, fn.__globals__, fn.__name__ + "_serial", fn.__defaults__, fn.__closure__
        )
        twin.__qualname__ = fn.__qualname__ + "_serial"
        twin.__doc__ = fn.__doc__
        self.serial = njit(**options)(twin)


def kernel(options):
    """Decorator: the function as ``Twins`` compiled with ``options``: ``.parallel`` and ``.serial``."""
    return lambda fn: Twins(fn, options)


@intrinsic
def wide(typingctx):
    """Let the compiler use the CPU's widest vectors (512 bits with AVX-512) in the calling function.

    LLVM's default on AVX-512 CPUs is 256-bit vectors (wider ones may lower the clock in code that
    mixes them with scalar work); the loops that ask are all vector work. A hint only: on a CPU
    without AVX-512 nothing changes.
    """

    def codegen(context, builder, signature, args):
        # a string attribute that llvmlite's checked attribute set does not list; LLVM reads it.
        # Should llvmlite store attributes differently, the hint is dropped, nothing else.
        try:
            set.add(builder.function.attributes, '"prefer-vector-width"="512"')
        except (TypeError, AttributeError):
            pass
        return context.get_dummy_value()

    return types.none(), codegen


def use_threads():
    """Give numba the thread count ``lucid.set_num_threads`` asked for, on the calling thread.

    numba's thread count belongs to the calling thread: it is set on each thread, and again whenever
    lucid's setting changes (not at every call)."""
    threads = backends.requested_threads()
    if threads is not None and getattr(_here, "threads", None) != threads:
        numba.set_num_threads(threads)
        _here.threads = threads


def run(kernel, *args):
    """``kernel(*args)``. Whenever numba meets a signature of ``kernel`` it has no build of (it compiles it,
    or loads it from its disk cache), it does so under ``cache_lock``, so that two processes never write
    one cache entry at once, and with Python's cycle collector paused (a load allocates many objects)."""
    if kernel not in _guarded:
        _guard(kernel)
    return kernel(*args)


def _guard(dispatcher):
    with _guarding:
        if dispatcher in _guarded:
            return
        # numba's C dispatcher calls this attribute of the dispatcher for a signature it has no build of
        compile_for_args = dispatcher._compile_for_args

        def locked(*args, **kws):
            with gc_paused(), cache_lock():
                return compile_for_args(*args, **kws)

        dispatcher._compile_for_args = locked
        _guarded.add(dispatcher)


def native(*arrays):
    """The arrays C-contiguous and of one dtype, float32 or float64; None where the reference must run
    (another dtype, a mix of dtypes, or nothing to compute)."""
    dt = arrays[0].dtype
    if dt.char not in "fd" or arrays[0].size == 0 or any(a.dtype != dt for a in arrays):
        return None
    return [np.ascontiguousarray(a) for a in arrays]
