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

float32 has its own, evaluated in float32 throughout (every constant typed, so nothing widens):

* exp32: the same reduction (ln2 split so k·ln2 is exact) and a minimax polynomial of degree 7
  for eʳ; within 1 unit in the last place of float32. ``exp32_sum(hi, lo)`` is e^(hi + lo) for
  an exact hi and a lo below 2: hi − k·ln2 is exact, so lo keeps its own digits.
* erfc32_pos: the form of erfc_pos with a Chebyshev series of degree 11 (error 3.3e-9 in f
  while erfc z is above float32's underflow). −z² comes in as an exact hi + lo pair
  (``square_split32``), since a rounded z² would cost z²·2⁻²⁴ relative in the far tail.

The kernels that use these inline them, and numba's disk cache of a kernel is keyed on its own
file only: ``backends.startup.drop_stale_cache`` drops the families' cached builds when this file
changes.
"""

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


# f(u) as above, fitted for float32 on u ∈ [−0.7, 1] (z ≤ 10.6, where erfc z underflows float32)
ERFC32_POLY = np.array(
    (
        -0.671794056892395,
        0.6726431846618652,
        0.04734313115477562,
        -0.046894174069166183,
        -0.009870050475001335,
        0.008809887804090977,
        0.0017470427555963397,
        -0.0022778857965022326,
        -0.00013486488023772836,
        0.0005298797623254359,
        -5.821363447466865e-05,
        -4.3854575778823346e-05,
    ),
    dtype=np.float32,
)
# float32 constants: a Python float in a float32 expression would widen it to float64
F32 = np.float32
LOG2E_32, LN2_HI_32, LN2_LO_32 = F32(LOG2E), F32(0.693359375), F32(-2.12194440e-4)  # k·LN2_HI_32 exact
EXP32_POLY = np.array(  # eʳ ≈ 1 + r + r²·Σ cₙrⁿ, |r| ≤ ln2/2
    (0.5000000120, 0.16666665459, 0.041665795894, 0.0083334519073, 0.0013981999507, 0.00019875691500),
    dtype=np.float32,
)
NEG_ZERO_32, HALF_32, ONE_32, TWO_32 = F32(-0.0), F32(0.5), F32(1.0), F32(2.0)
EXP32_LO, EXP32_HI = F32(-104.0), F32(89.0)  # e^x is 0 below, inf above (the clamp keeps 2ᵏ finite)
ERFC32_MAX = F32(10.6)


@intrinsic
def _pow2_32(typingctx, k):
    """2ᵏ as a float32, k a float32 holding an integer in [−126, 127]."""

    def codegen(context, builder, signature, args):
        i32 = ir.IntType(32)
        bits = builder.shl(builder.add(builder.fptosi(args[0], i32), ir.Constant(i32, 127)), ir.Constant(i32, 23))
        return builder.bitcast(bits, ir.FloatType())

    return types.float32(types.float32), codegen


@intrinsic
def _high_half32(typingctx, x):
    """x with the low 12 bits of its significand cleared: 12 significant bits, so its square is exact."""

    def codegen(context, builder, signature, args):
        i32 = ir.IntType(32)
        bits = builder.and_(builder.bitcast(args[0], i32), ir.Constant(i32, -4096))
        return builder.bitcast(bits, ir.FloatType())

    return types.float32(types.float32), codegen


@intrinsic
def fmax(typingctx, a, b):
    """The larger of two floats of one type, a NaN ignored (LLVM's maxnum): a loop of these vectorizes
    as a max reduction, where a compare and select would run one element at a time."""

    def codegen(context, builder, signature, args):
        t = args[0].type
        fn = builder.module.declare_intrinsic("llvm.maxnum", [t], ir.FunctionType(t, [t, t]))
        return builder.call(fn, args)

    if a != b or not isinstance(a, types.Float):
        return None
    return a(a, b), codegen


@intrinsic
def _pow2(typingctx, k):
    """2ᵏ as a float64, k a float64 holding an integer in [−1022, 1023]. k goes through a 32-bit
    integer: AVX2 converts four float64 to int32 at once, but has no vector conversion to int64."""

    def codegen(context, builder, signature, args):
        i64 = ir.IntType(64)
        k64 = builder.sext(builder.fptosi(args[0], ir.IntType(32)), i64)
        bits = builder.shl(builder.add(k64, ir.Constant(i64, 1023)), ir.Constant(i64, 52))
        return builder.bitcast(bits, ir.DoubleType())

    return types.float64(types.float64), codegen


@njit(inline="always", **JIT)
def exp(x):
    """eˣ for a float64 x (inf above 709.78, 0 below −745.1, NaN stays NaN)."""
    xc = min(max(x, -746.0), 710.0)
    kf = np.floor(xc * LOG2E + 0.5)  # np.floor: a float (numba's math.floor is an int64, converted element by element)
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
    half = np.floor(kf * 0.5)
    y = p * _pow2(half) * _pow2(kf - half)
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


@njit(inline="always", **JIT)
def exp32_sum(hi, lo):
    """e^(hi + lo) for float32 hi, lo with |lo| < 2 (inf above 88.7, 0 below −103.9, NaN stays NaN)."""
    xc = min(max(hi, EXP32_LO), EXP32_HI)
    kf = np.floor((xc + lo) * LOG2E_32 + HALF_32)
    r = ((xc - kf * LN2_HI_32) + lo) - kf * LN2_LO_32
    c = EXP32_POLY
    p = ONE_32 + r + (r * r) * (c[0] + r * (c[1] + r * (c[2] + r * (c[3] + r * (c[4] + r * c[5])))))
    half = np.floor(kf * HALF_32)
    y = p * _pow2_32(half) * _pow2_32(kf - half)
    return y if hi == hi else hi


@njit(inline="always", **JIT)
def exp32(x):
    """eˣ for a float32 x."""
    return exp32_sum(x, NEG_ZERO_32)


@njit(inline="always", **JIT)
def square_split32(x):
    """(hi, lo) with hi + lo = x² in float32 to about 2⁻⁴⁴ relative, hi exact."""
    h = _high_half32(x)
    return h * h, (x - h) * (x + h)


@njit(inline="always", **JIT)
def erfc32_pos(z, neg_hi, neg_lo):
    """erfc z for a float32 z ≥ 0 (or NaN), given −z² = neg_hi + neg_lo (neg_hi exact)."""
    zc = min(z, ERFC32_MAX)
    t = TWO_32 / (TWO_32 + zc)
    u = TWO_32 * t - ONE_32
    u4 = (u * u) * (u * u)
    c = ERFC32_POLY
    p0 = c[0] + u4 * (c[4] + u4 * c[8])
    p1 = c[1] + u4 * (c[5] + u4 * c[9])
    p2 = c[2] + u4 * (c[6] + u4 * c[10])
    p3 = c[3] + u4 * (c[7] + u4 * c[11])
    f = p0 + u * (p1 + u * (p2 + u * p3))
    return t * exp32_sum(neg_hi, neg_lo + f)
