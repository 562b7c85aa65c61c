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

The kernels that use these inline them, and numba's disk cache of a kernel is keyed on its own
file only: ``backends.startup.drop_stale_cache`` drops the families' cached builds when this file
changes.
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

# f(u) = log(erfc(z)/t) + z² as a polynomial Σ aₙuⁿ in u ∈ [−1, 1] (u = 1 at z = 0, −1 as z → ∞):
# a Chebyshev series of degree 24 fitted to f, written in powers of u (Σ|aₙ| = 1.46, so the
# powers lose nothing to cancellation), padded with zeros to 28 terms for four chains of 7
ERFC_POLY = np.array(
    (
        -0.6717940840566924,
        0.6726432239776615,
        0.04734330684188045,
        -0.04689561023152579,
        -0.009872689365521502,
        0.008824938566013768,
        0.0017589335348737764,
        -0.002345812607911949,
        -0.00014624653523713727,
        0.0006736794926275501,
        -9.373766819010053e-05,
        -0.00017430554638328611,
        7.141395281164229e-05,
        3.175053410123133e-05,
        -3.0228974631618585e-05,
        1.3390380995359864e-07,
        8.649858086754802e-06,
        -2.956979957509333e-06,
        -1.3974067505202816e-06,
        1.2789541440742709e-06,
        -4.876522081612041e-08,
        -2.8783128287495967e-07,
        8.001315771990043e-08,
        2.9511025763975626e-08,
        -1.3170890159654395e-08,
        0.0,
        0.0,
        0.0,
    )
)


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
    p = 1.0 + r * (
        1.0
        + r
        * (
            1.0 / 2
            + r
            * (
                1.0 / 6
                + r
                * (
                    1.0 / 24
                    + r
                    * (
                        1.0 / 120
                        + r
                        * (
                            1.0 / 720
                            + r
                            * (
                                1.0 / 5040
                                + r
                                * (
                                    1.0 / 40320
                                    + r
                                    * (
                                        1.0 / 362880
                                        + r
                                        * (
                                            1.0 / 3628800
                                            + r * (1.0 / 39916800 + r * (1.0 / 479001600 + r * (1.0 / 6227020800)))
                                        )
                                    )
                                )
                            )
                        )
                    )
                )
            )
        )
    )
    k = int(kf)
    half = k >> 1
    y = p * _pow2(half) * _pow2(k - half)
    return y if x == x else x


@njit(inline="always", **JIT)
def erfc_pos(z):
    """erfc z for a float64 z ≥ 0 (or NaN)."""
    t = 2.0 / (2.0 + z)
    u = 2.0 * t - 1.0
    # Σ aₙuⁿ = P₀(u⁴) + u·P₁(u⁴) + u²·P₂(u⁴) + u³·P₃(u⁴): four Horner chains that do not wait on each other
    u4 = (u * u) * (u * u)
    p0 = 0.0
    p1 = 0.0
    p2 = 0.0
    p3 = 0.0
    for k in range(6, -1, -1):
        p0 = p0 * u4 + ERFC_POLY[4 * k]
        p1 = p1 * u4 + ERFC_POLY[4 * k + 1]
        p2 = p2 * u4 + ERFC_POLY[4 * k + 2]
        p3 = p3 * u4 + ERFC_POLY[4 * k + 3]
    f = p0 + u * (p1 + u * (p2 + u * p3))
    return t * exp(f - z * z)
