"""The activation kernels compiled with numba: the calls of reference.py, one pass each.

Each forward reads x once and writes y once; each backward reads g and x (or y) once and writes
dx once. gelu's backward also reads the forward's output where it is given: Φ(x) = y/x then
costs a division instead of an erfc (|x| ≤ 1e-30 takes Φ = 1/2), and only φ(x) takes an exp.

Every formula is written once and built for each float type with constants of that type, so
float32 is computed in float32 end to end and float64 in float64. One loop template (``_loop``)
runs a formula over a flat slice; ``_map`` picks the formula by an op code outside the inner
loop and cuts large arrays in chunks across threads.

The math is that of ``lucid._kernels.vmath``. σ is taken from e^(−|v|) on either side, so σ(v)
and 1 − σ(v) = σ(−v) both keep their relative accuracy; gelu_tanh uses (1 + tanh u)/2 = σ(2u)
and 1 − tanh²u = 4σ(2u)σ(−2u), so no tanh is formed. Φ(v) = erfc(−v/√2)/2 is taken from the
tail side, so it keeps its relative accuracy for v < 0. tanh v is its Taylor series for
|v| < 0.3 (to v¹¹ in float32, v²³ in float64: the next term is below 2e-9, 1.2e-16 relative),
else sign(v)·(1 − e)/(1 + e) with e = e^(−2|v|) ≤ 0.55, where 1 − e loses nothing.

* float64: exp within 2 ulp of float64, erfc within 2e-15 relative for |v| < 4 (1e-13 in the far
  tail); results agree with PyTorch's float64 to 1e-13.
* float32: against the float64-exact values, over a dense grid and random inputs, forward and
  backward are within ``F32_ULPS`` (8) units in the last place of float32 (measured: tanh 2.5,
  sigmoid 3, silu 3.5, gelu 6; a backward counts in ulp of its larger term, where its terms cancel).
  gelu_tanh's bound is times |2u|, the rounding of its argument (its left tail is that
  ill-conditioned). v²/2 is split in an exact part and a small one, so e^(−v²/2) and Φ keep
  their accuracy far into the tails; results below 1e-37 are within 1e-41 absolute.
"""

import numpy as np
from numba import njit, prange, types
from numba.extending import overload

from ...backends import memory as buffers
from ..jit import CHUNKS, JIT, formula, native, run, use_threads
from ..vmath import erfc32_pos, erfc_pos, exp, exp32, exp32_sum, square_split32
from . import reference

F32_ULPS = 8  # the float32 bound stated above, as the tests check it

# op codes: the memory-bound ones first, then gelu's (erfc), then those that call exp
RELU, RELU_B, LEAKY, LEAKY_B, SIG_B, TANH_B, GELU, GELU_B, GTANH, GTANH_B, SILU, SILU_B, SIG, TANH, GELU_BY = range(15)
N_OPS = 15

# elements from which a loop is shared among threads, per op code: about where a serial pass takes
# as long as waking the pool twice (memory-bound ops: not before the pass outgrows the cache)
PARALLEL_FROM = np.array([1 << 20] * 6 + [1 << 16] * 2 + [1 << 17] * 7, dtype=np.int64)

# tanh v = Σ cₙ·v²ⁿ⁺¹, cₙ = 2²ⁿ⁺²(2²ⁿ⁺² − 1)·B₂ₙ₊₂/(2n + 2)!, B the Bernoulli numbers
TANH_SERIES = (1, -1 / 3, 2 / 15, -17 / 315, 62 / 2835, -1382 / 155925, 21844 / 6081075, -929569 / 638512875)
TANH_SERIES += (6404582 / 10854718875, -443861162 / 1856156927625, 18888466084 / 194896477400625)
TANH_SERIES += (-113927491862 / 2900518163668125,)
TANH_SMALL = 0.3  # below: the series; above: the exponential form
GELU_TINY = 1e-30  # below: Φ(x) = 1/2 to float64's precision, and x·Φ(x) is a normal float32


def _tails(F):
    """Φ(v) and e^(−v²/2) in the float type F."""
    if F is np.float64:

        @formula
        def cdf(v):
            half_tail = 0.5 * erfc_pos(abs(v) * reference.INV_SQRT2)
            return half_tail if v < 0 else 1.0 - half_tail

        @formula
        def gauss(v):
            return exp(-0.5 * v * v)

        return cdf, gauss
    half, one, inv_sqrt2 = F(0.5), F(1), F(reference.INV_SQRT2)
    v_max = F(15)  # Φ(−15) and e^(−15²/2) are below float32's least subnormal

    @formula
    def cdf32(v):
        a = min(abs(v), v_max)
        hi, lo = square_split32(a)
        half_tail = half * erfc32_pos(a * inv_sqrt2, -half * hi, -half * lo)
        return half_tail if v < 0 else one - half_tail

    @formula
    def gauss32(v):
        hi, lo = square_split32(min(abs(v), v_max))
        return exp32_sum(-half * hi, -half * lo)

    return cdf32, gauss32


def _formulas(F):
    """The formulas of every op code, f(a, b, c, s) with a = x or g, b = x or y, c = y (gelu's backward
    from its output; else unused), s the leaky slope, in the float type F."""
    exp_f = exp32 if F is np.float32 else exp
    cdf, gauss = _tails(F)
    zero, one, two, three = F(0), F(1), F(2), F(3)
    k_tanh, c_tanh, inv_sqrt2pi = F(reference.K_TANH), F(reference.C_TANH), F(reference.INV_SQRT2PI)
    series = np.array(TANH_SERIES[: 6 if F is np.float32 else 12], dtype=F)
    small = F(TANH_SMALL)
    half, tiny = F(0.5), F(GELU_TINY)

    @formula
    def sigmoids(v):
        """(σ(v), σ(−v)), each from e^(−|v|) ≤ 1."""
        e = exp_f(-abs(v))
        r = one / (one + e)
        er = e * r
        return (r if v >= zero else er), (er if v >= zero else r)

    @formula
    def tanh_arg(v):  # 2u for gelu_tanh
        return two * k_tanh * (v + c_tanh * v * v * v)

    def relu(a, b, c, s):
        return zero if a <= zero else a

    def relu_b(a, b, c, s):
        return zero if b <= zero else a

    def leaky(a, b, c, s):
        return a if a > zero else a * s

    def leaky_b(a, b, c, s):
        return a if b > zero else a * s

    def sig_b(a, b, c, s):
        return a * (b * (one - b))

    def tanh_b(a, b, c, s):
        return a * (one - b * b)

    def gelu(a, b, c, s):
        return a * cdf(a)

    def gelu_b(a, b, c, s):
        return a * (cdf(b) + b * gauss(b) * inv_sqrt2pi)

    def gelu_by(a, b, c, s):  # Φ(b) = c/b from the forward's output c = b·Φ(b); 1/2 where b·Φ(b) could be subnormal
        return a * ((c / b if abs(b) > tiny else half) + b * gauss(b) * inv_sqrt2pi)

    def gtanh(a, b, c, s):
        return a * sigmoids(tanh_arg(a))[0]

    def gtanh_b(a, b, c, s):
        sg, sm = sigmoids(tanh_arg(b))
        du = k_tanh * (one + three * c_tanh * b * b)
        return a * (sg + two * b * (sg * sm) * du)

    def silu(a, b, c, s):
        return a * sigmoids(a)[0]

    def silu_b(a, b, c, s):
        sg, sm = sigmoids(b)
        return a * (sg * (one + b * sm))

    def sig(a, b, c, s):
        return sigmoids(a)[0]

    def tanh(a, b, c, s):
        v2 = a * a
        p = series[-1]
        for k in range(series.size - 2, -1, -1):
            p = p * v2 + series[k]
        e = exp_f(-two * abs(a))
        t = (one - e) / (one + e)
        if abs(a) < small:
            return a * p
        return t if a >= zero else -t

    ops = (relu, relu_b, leaky, leaky_b, sig_b, tanh_b, gelu, gelu_b, gtanh, gtanh_b, silu, silu_b, sig, tanh, gelu_by)
    return tuple(formula(f) for f in ops)


FORMULAS = {types.float32: _formulas(np.float32), types.float64: _formulas(np.float64)}


def _loop(op):
    """``loop(a, b, c, out, s)``: out[i] = f(a[i], b[i], c[i], s) over flat arrays, f the formula of ``op`` in
    the arrays' float type. Called on slices indexed from 0: numba then knows no index is negative,
    drops the wrap-around check and vectorizes."""

    def loop(a, b, c, out, s):
        raise NotImplementedError("compiled code only")

    @overload(loop, jit_options=dict(JIT, fastmath={"contract"}))
    def typed(a, b, c, out, s):
        f = FORMULAS[a.dtype][op]

        def run_loop(a, b, c, out, s):
            for i in range(a.size):
                out[i] = f(a[i], b[i], c[i], s)

        return run_loop

    return loop


LOOPS = tuple(_loop(op) for op in range(N_OPS))
(
    _relu,
    _relu_b,
    _leaky,
    _leaky_b,
    _sig_b,
    _tanh_b,
    _gelu,
    _gelu_b,
    _gtanh,
    _gtanh_b,
    _silu,
    _silu_b,
    _sig,
    _tanh,
    _gelu_by,
) = LOOPS


@njit(**JIT)
def _span(op, a, b, c, out, s, lo, hi):
    """out[i] = f(a[i], b[i], c[i]) for lo ≤ i < hi, f the formula of ``op``."""
    a, b, c, out = a[lo:hi], b[lo:hi], c[lo:hi], out[lo:hi]
    if op == RELU:
        _relu(a, b, c, out, s)
    elif op == RELU_B:
        _relu_b(a, b, c, out, s)
    elif op == LEAKY:
        _leaky(a, b, c, out, s)
    elif op == LEAKY_B:
        _leaky_b(a, b, c, out, s)
    elif op == SIG_B:
        _sig_b(a, b, c, out, s)
    elif op == TANH_B:
        _tanh_b(a, b, c, out, s)
    elif op == GELU:
        _gelu(a, b, c, out, s)
    elif op == GELU_B:
        _gelu_b(a, b, c, out, s)
    elif op == GTANH:
        _gtanh(a, b, c, out, s)
    elif op == GTANH_B:
        _gtanh_b(a, b, c, out, s)
    elif op == SILU:
        _silu(a, b, c, out, s)
    elif op == SILU_B:
        _silu_b(a, b, c, out, s)
    elif op == SIG:
        _sig(a, b, c, out, s)
    elif op == TANH:
        _tanh(a, b, c, out, s)
    else:
        _gelu_by(a, b, c, out, s)


@njit(parallel=True, **JIT)
def _map_parallel(op, a, b, c, out, s, chunks):
    n = a.size
    for k in prange(chunks):
        _span(op, a, b, c, out, s, k * n // chunks, (k + 1) * n // chunks)


@njit(**JIT)
def _map(op, a, b, c, out, s):
    n = a.size
    least = PARALLEL_FROM[op]
    if n >= least:
        _map_parallel(op, a, b, c, out, s, min(CHUNKS, n // (least // 4)))
    else:
        _span(op, a, b, c, out, s, 0, n)


def _apply(op, ref, arrays, slope, args):
    """``ref(*args)`` through ``_map`` on one to three ``arrays`` (a, b, c); ``ref`` itself (the reference)
    for dtypes numba does not take."""
    arrs = native(*arrays)
    if arrs is None:
        return ref(*args)
    use_threads()
    flat = [a.reshape(-1) for a in arrs]
    fa, fb, fc = flat[0], flat[min(1, len(flat) - 1)], flat[-1]  # the last array where fewer
    out = buffers.empty(arrays[0].shape, arrays[0].dtype)
    run(_map, op, fa, fb, fc, out.reshape(-1), fa.dtype.type(slope))
    return out


def _kernel(op, ref, sloped=False):
    """The call ``ref`` of reference.py (same name, arguments and results), computed by ``_map`` with ``op``:
    its arguments are one or two arrays, then the leaky slope where it is ``sloped``."""

    def kernel(*args):
        if sloped:
            return _apply(op, ref, args[:-1], float(args[-1]), args)
        return _apply(op, ref, args, 0.0, args)

    kernel.__name__ = kernel.__qualname__ = ref.__name__
    kernel.__doc__ = ref.__doc__
    return kernel


relu_forward = _kernel(RELU, reference.relu_forward)
relu_backward = _kernel(RELU_B, reference.relu_backward)
leaky_relu_forward = _kernel(LEAKY, reference.leaky_relu_forward, sloped=True)
leaky_relu_backward = _kernel(LEAKY_B, reference.leaky_relu_backward, sloped=True)
gelu_forward = _kernel(GELU, reference.gelu_forward)


def gelu_backward(g, x, y=None):
    """dx = g·(Φ(x) + x·φ(x)); with the forward's output y = x·Φ(x), Φ(x) is y/x: a division where the
    reference computes erfc again."""
    if y is None:
        return _apply(GELU_B, reference.gelu_backward, (g, x), 0.0, (g, x))
    return _apply(GELU_BY, reference.gelu_backward, (g, x, y), 0.0, (g, x, y))


gelu_tanh_forward = _kernel(GTANH, reference.gelu_tanh_forward)
gelu_tanh_backward = _kernel(GTANH_B, reference.gelu_tanh_backward)
silu_forward = _kernel(SILU, reference.silu_forward)
silu_backward = _kernel(SILU_B, reference.silu_backward)
sigmoid_forward = _kernel(SIG, reference.sigmoid_forward)
sigmoid_backward = _kernel(SIG_B, reference.sigmoid_backward)
tanh_forward = _kernel(TANH, reference.tanh_forward)
tanh_backward = _kernel(TANH_B, reference.tanh_backward)
