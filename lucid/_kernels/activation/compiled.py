"""The activation kernels compiled with numba: the calls of reference.py, one pass each.

Each forward reads x once and writes y once; each backward reads g and x (or y) once and writes
dx once. One jitted loop, ``_map``, holds every formula, chosen by an op code outside the inner
loop; large arrays are cut in chunks across threads, small ones run serially.

Arithmetic is float64 inside the loop (float32 values are widened as they are loaded and rounded
once when stored), so float32 stays float32 in memory. exp and erfc are the vectorizable ones of
``lucid._kernels.vmath`` (exp within 2 ulp of float64; erfc within 2e-15 relative for |x| < 4 in
Φ(x), 1e-13 in the far tail); Φ(x) = erfc(−x/√2)/2 keeps its relative accuracy in the left tail.
"""

import numpy as np
from numba import njit, prange

from ...backends import memory as buffers
from ..jit import CHUNKS, JIT, PARALLEL_MIN, native, run, use_threads
from ..vmath import erfc_pos, exp
from . import reference

K_TANH = reference.K_TANH
C_TANH = reference.C_TANH
INV_SQRT2 = reference.INV_SQRT2
INV_SQRT2PI = reference.INV_SQRT2PI

RELU, RELU_B, LEAKY, LEAKY_B, GELU, GELU_B, GTANH, GTANH_B, SILU, SILU_B, SIG, SIG_B, TANH_B = range(13)


@njit(inline="always", **JIT)
def _sigmoid(v):
    return 1.0 / (1.0 + exp(-v))  # exp(−v) = inf for v < −709: σ = 0, no overflow error


@njit(inline="always", **JIT)
def _tanh(u):
    """tanh u = 1 − 2/(e²ᵘ + 1): absolute error about 1e-16 (relative for |u| not tiny)."""
    return 1.0 - 2.0 / (exp(2.0 * u) + 1.0)


@njit(inline="always", **JIT)
def _cdf(v):
    """Φ(v) = erfc(−v/√2)/2, taken from the tail side so it keeps its relative accuracy for v < 0."""
    half_tail = 0.5 * erfc_pos(abs(v) * INV_SQRT2)
    return half_tail if v < 0 else 1.0 - half_tail


# One small loop per formula, on slices indexed from 0 (numba then knows no index is negative,
# drops the wrap-around check and vectorizes). a = x or g; b = x or y; s = the leaky slope.


@njit(**JIT)
def _relu(a, b, out, s):
    for i in range(a.size):
        v = a[i]
        out[i] = 0.0 if v <= 0 else v


@njit(**JIT)
def _relu_b(a, b, out, s):
    for i in range(a.size):
        out[i] = a[i] if b[i] > 0 else 0.0


@njit(**JIT)
def _leaky(a, b, out, s):
    for i in range(a.size):
        v = a[i]
        out[i] = v if v > 0 else v * s


@njit(**JIT)
def _leaky_b(a, b, out, s):
    for i in range(a.size):
        out[i] = a[i] if b[i] > 0 else a[i] * s


@njit(**JIT)
def _gelu(a, b, out, s):
    for i in range(a.size):
        v = np.float64(a[i])
        out[i] = v * _cdf(v)


@njit(**JIT)
def _gelu_b(a, b, out, s):
    for i in range(a.size):
        v = np.float64(b[i])
        out[i] = a[i] * (_cdf(v) + v * exp(-0.5 * v * v) * INV_SQRT2PI)


@njit(**JIT)
def _gtanh(a, b, out, s):
    for i in range(a.size):
        v = np.float64(a[i])
        out[i] = 0.5 * v * (1.0 + _tanh(K_TANH * (v + C_TANH * v * v * v)))


@njit(**JIT)
def _gtanh_b(a, b, out, s):
    for i in range(a.size):
        v = np.float64(b[i])
        t = _tanh(K_TANH * (v + C_TANH * v * v * v))
        du = K_TANH * (1.0 + 3.0 * C_TANH * v * v)
        out[i] = a[i] * (0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * du)


@njit(**JIT)
def _silu(a, b, out, s):
    for i in range(a.size):
        v = np.float64(a[i])
        out[i] = v * _sigmoid(v)


@njit(**JIT)
def _silu_b(a, b, out, s):
    for i in range(a.size):
        v = np.float64(b[i])
        sg = _sigmoid(v)
        out[i] = a[i] * (sg * (1.0 + v * (1.0 - sg)))


@njit(**JIT)
def _sig(a, b, out, s):
    for i in range(a.size):
        out[i] = _sigmoid(np.float64(a[i]))


@njit(**JIT)
def _sig_b(a, b, out, s):
    for i in range(a.size):
        y = np.float64(b[i])
        out[i] = a[i] * (y * (1.0 - y))


@njit(**JIT)
def _tanh_b(a, b, out, s):
    for i in range(a.size):
        y = np.float64(b[i])
        out[i] = a[i] * (1.0 - y * y)


@njit(**JIT)
def _span(op, a, b, out, s, lo, hi):
    """out[i] = f(a[i], b[i]) for lo ≤ i < hi, f the formula of ``op``."""
    if op == RELU:
        _relu(a[lo:hi], b[lo:hi], out[lo:hi], s)
    elif op == RELU_B:
        _relu_b(a[lo:hi], b[lo:hi], out[lo:hi], s)
    elif op == LEAKY:
        _leaky(a[lo:hi], b[lo:hi], out[lo:hi], s)
    elif op == LEAKY_B:
        _leaky_b(a[lo:hi], b[lo:hi], out[lo:hi], s)
    elif op == GELU:
        _gelu(a[lo:hi], b[lo:hi], out[lo:hi], s)
    elif op == GELU_B:
        _gelu_b(a[lo:hi], b[lo:hi], out[lo:hi], s)
    elif op == GTANH:
        _gtanh(a[lo:hi], b[lo:hi], out[lo:hi], s)
    elif op == GTANH_B:
        _gtanh_b(a[lo:hi], b[lo:hi], out[lo:hi], s)
    elif op == SILU:
        _silu(a[lo:hi], b[lo:hi], out[lo:hi], s)
    elif op == SILU_B:
        _silu_b(a[lo:hi], b[lo:hi], out[lo:hi], s)
    elif op == SIG:
        _sig(a[lo:hi], b[lo:hi], out[lo:hi], s)
    elif op == SIG_B:
        _sig_b(a[lo:hi], b[lo:hi], out[lo:hi], s)
    else:  # TANH_B (the forward is NumPy's vectorized tanh)
        _tanh_b(a[lo:hi], b[lo:hi], out[lo:hi], s)


@njit(parallel=True, **JIT)
def _map_parallel(op, a, b, out, s):
    n = a.size
    for c in prange(CHUNKS):
        _span(op, a, b, out, s, c * n // CHUNKS, (c + 1) * n // CHUNKS)


@njit(**JIT)
def _map(op, a, b, out, s):
    if a.size >= PARALLEL_MIN:
        _map_parallel(op, a, b, out, s)
    else:
        _span(op, a, b, out, s, 0, a.size)


def _apply(op, ref, arrays, slope, args):
    """``ref(*args)`` through ``_map`` on one or two ``arrays`` (a, b); ``ref`` itself (the reference) for
    dtypes numba does not take."""
    arrs = native(*arrays)
    if arrs is None:
        return ref(*args)
    use_threads()
    fa = arrs[0].reshape(-1)
    fb = arrs[-1].reshape(-1)  # fa where there is one array
    out = buffers.empty(arrays[0].shape, arrays[0].dtype)
    run(_map, op, fa, fb, out.reshape(-1), slope)
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
gelu_backward = _kernel(GELU_B, reference.gelu_backward)
gelu_tanh_forward = _kernel(GTANH, reference.gelu_tanh_forward)
gelu_tanh_backward = _kernel(GTANH_B, reference.gelu_tanh_backward)
silu_forward = _kernel(SILU, reference.silu_forward)
silu_backward = _kernel(SILU_B, reference.silu_backward)
sigmoid_forward = _kernel(SIG, reference.sigmoid_forward)
sigmoid_backward = _kernel(SIG_B, reference.sigmoid_backward)
tanh_backward = _kernel(TANH_B, reference.tanh_backward)


def tanh_forward(x):
    return reference.tanh_forward(x)  # NumPy's tanh is vectorized and accurate to the last bits
