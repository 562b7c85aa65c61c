"""exp and erfc for compiled loops, written so that the compiler vectorizes them.

numba calls the C library's exp and erfc one element at a time (no vector math library is
assumed); these use only +, ×, ÷, floor and bit moves, so a loop over them runs on the CPU's
vector units, as NumPy's own exp does.

* exp: x = k·ln2 + r, |r| ≤ ln2/2 (ln2 split in two parts, so k·ln2 is exact), eʳ from its
  Taylor series to r¹³ (truncation below 5e-18), times 2ᵏ built from its bits in two halves
  (so 2ᵏ never overflows before the product does). Within 2 units in the last place of float64.
* erfc_pos: for z ≥ 0, erfc z = t·exp(f(u) − z²), t = 2/(2 + z), u = 2t − 1, with f a
  Chebyshev series of degree 24 fitted to log(erfc(z)/t) + z² (f is smooth on all of z ≥ 0).
  Relative error below 2e-15 while z² < 8 and below 1e-13 up to where erfc underflows
  (the rounding of z² is the limit).
"""
import math

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from .jit import JIT

LOG2E = 1.4426950408889634
LN2_HI = 6.93147180369123816490e-01  # ln 2 to 32 bits: k·LN2_HI is exact for |k| < 2²⁰
LN2_LO = 1.90821492927058770002e-10  # ln 2 − LN2_HI

# f(u) = log(erfc(z)/t) + z² as a Chebyshev series in u ∈ [−1, 1] (u = 1 at z = 0, −1 as z → ∞)
ERFC_CHEB = np.array((-0.6513268598908551, 0.6419697923564902, 0.01947647320418583, -0.009561514786808561, -0.0009465953444819306, 0.0003668394978526942, 4.252332480686984e-05, -2.0278578112704116e-05, -1.6242900047859729e-06, 1.3036558356184493e-06, 1.5626441435484684e-08, -8.523809594006207e-08, 6.529054357472433e-09, 5.059343491400346e-09, -9.913642822113102e-10, -2.273651533102058e-10, 9.646797121130922e-11, 2.3939827754535004e-12, -6.88608010344613e-12, 8.94481673712147e-13, 3.1301363256319756e-13, -1.1266983483514776e-13, 4.710277376051329e-16, 7.035976830476672e-15, -1.5700924586837763e-15))

ERFC_DEGREE = len(ERFC_CHEB) - 1


@intrinsic
def _bits_to_float(typingctx, bits):
    """The float64 whose IEEE bits are the int64 bits."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())
    return types.float64(types.int64), codegen


@njit(inline="always", **JIT)
def _pow2(k):
    return _bits_to_float((k + 1023) << 52)


@njit(inline="always", **JIT)
def exp(x):
    """eˣ for a float64 x (inf above 709.78, 0 below −745.1, NaN stays NaN)."""
    xc = min(max(x, -746.0), 710.0)
    kf = math.floor(xc * LOG2E + 0.5)
    r = (xc - kf * LN2_HI) - kf * LN2_LO
    p = 1.0 + r * (1.0 + r * (1.0 / 2 + r * (1.0 / 6 + r * (1.0 / 24 + r * (1.0 / 120 + r * (
        1.0 / 720 + r * (1.0 / 5040 + r * (1.0 / 40320 + r * (1.0 / 362880 + r * (
            1.0 / 3628800 + r * (1.0 / 39916800 + r * (1.0 / 479001600 + r * (1.0 / 6227020800)))))))))))))
    k = int(kf)
    half = k >> 1
    y = p * _pow2(half) * _pow2(k - half)
    return y if x == x else x


@njit(inline="always", **JIT)
def erfc_pos(z):
    """erfc z for a float64 z ≥ 0 (or NaN)."""
    t = 2.0 / (2.0 + z)
    u = 2.0 * t - 1.0
    # Clenshaw's recurrence for Σ cₙ·Tₙ(u)
    b1 = 0.0
    b2 = 0.0
    for n in range(ERFC_DEGREE, 0, -1):
        b1, b2 = 2.0 * u * b1 - b2 + ERFC_CHEB[n], b1
    f = u * b1 - b2 + ERFC_CHEB[0]
    return t * exp(f - z * z)
