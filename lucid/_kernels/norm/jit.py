"""How the norm family's loops are compiled: one set of options, the wide-vector hint, twin builds.

* ``JIT``: every kernel of the family compiles with these options. ``error_model="numpy"``: a
  division follows IEEE arithmetic (1/0 = inf, 0/0 = NaN) instead of raising ZeroDivisionError;
  fastmath only ``reassoc`` and ``contract`` (sums split into vector lanes, multiply-adds fused),
  never an assumption that values are finite.
* ``formula``: a small function inlined into every loop that calls it (numba's ``inline="always"``),
  so that writing a quantity once costs nothing where it runs.
* ``kernel``: a loop over chunks compiled twice from one body: ``parallel`` (``prange`` shares the
  chunks among threads) and ``serial`` (the same body, ``prange`` runs as ``range``), for inputs too
  small to pay for waking the threads.
* ``wide()``: asks LLVM for the CPU's widest vectors (512-bit with AVX-512, where it would pick 256).
"""
import types as pytypes

from numba import njit, types
from numba.extending import intrinsic

JIT = dict(cache=True, error_model="numpy", fastmath={"reassoc", "contract"})


def formula(fn):
    """``fn`` compiled to be inlined into its callers."""
    return njit(inline="always", **JIT)(fn)


def loop(fn):
    """``fn`` compiled on its own (a loop over one segment, called from the kernels)."""
    return njit(**JIT)(fn)


class Twins:
    """One kernel body compiled two ways: ``parallel`` and ``serial``."""

    __slots__ = ("parallel", "serial")

    def __init__(self, fn):
        self.parallel = njit(parallel=True, **JIT)(fn)
        # a copy under its own name: numba's disk cache keys on the function's qualified name, and
        # the two builds must not load each other
        twin = pytypes.FunctionType(fn.__code__, fn.__globals__, fn.__name__ + "_serial", fn.__defaults__,
                                    fn.__closure__)
        twin.__qualname__ = fn.__qualname__ + "_serial"
        twin.__doc__ = fn.__doc__
        self.serial = njit(**JIT)(twin)


def kernel(fn):
    """``fn`` as ``Twins``: ``kernel.parallel`` and ``kernel.serial``."""
    return Twins(fn)


@intrinsic
def wide(typingctx):
    """Let the compiler use the CPU's widest vectors (512 bits with AVX-512) in the calling function.

    LLVM's default on AVX-512 CPUs is 256-bit vectors (wider ones may lower the clock in code that
    mixes them with scalar work); these loops are all vector work. A hint only: on a CPU without
    AVX-512 nothing changes.
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
