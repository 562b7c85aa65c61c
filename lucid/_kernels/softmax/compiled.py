"""The softmax kernels compiled with numba: one fused pass per row, forward and backward.

A row (one (a, b) of the ``(A, D, B)`` view) is read for its max and its sum of exponentials,
then written once; the backward reads g and y for the row's sum, then writes dx. Sums are
float64 whatever the dtype, and exp is the vectorizable one of ``lucid._kernels.vmath``
(cross-entropy's backward, whose exponentials are not summed, takes them in x's float type: x − lse
as an exact float32 pair, then ``exp32_sum``). A row's max is a vectorized maxnum. Rows are split
across threads; a small call runs serially.
When B = 1 a row is contiguous; otherwise a row is a strided column of its ``(D, B)`` block.
"""

import math

import numpy as np
from numba import njit, prange, types
from numba.extending import overload

from ...backends import memory as buffers
from ..jit import FAST, JIT, PARALLEL_MIN, native, run, use_threads
from ..vmath import exp, exp32_sum, fmax
from . import reference

SOFTMAX, LOG_SOFTMAX = 0, 1
EXACT = dict(JIT, fastmath={"contract"})  # no reassociation: the sums of two in _exp_less stay exact
CE_PARALLEL_FROM = 1 << 16  # elements from which cross-entropy's rows are shared among threads (an exp each)


@njit(**JIT)
def _max(x):
    """The largest of x, NaNs ignored (a NaN in a row reaches its sum of exponentials anyway)."""
    m = x[0]
    for i in range(1, x.size):
        m = fmax(m, x[i])
    return m


@njit(**FAST)
def _forward_row(x, y, log):
    m = np.float64(_max(x))
    s = 0.0
    if log:
        for i in range(x.size):
            s += exp(x[i] - m)
        c = m + math.log(s)
        for i in range(x.size):
            y[i] = x[i] - c
    else:
        for i in range(x.size):
            e = exp(x[i] - m)
            y[i] = e
            s += e
        r = 1.0 / s
        for i in range(x.size):
            y[i] = y[i] * r


@njit(**FAST)
def _backward_row(g, y, dx, log):
    s = 0.0
    if log:
        for i in range(g.size):
            s += g[i]
        for i in range(g.size):
            dx[i] = g[i] - exp(y[i]) * s
    else:
        for i in range(g.size):
            s += g[i] * y[i]
        for i in range(g.size):
            dx[i] = y[i] * (g[i] - s)


@njit(**JIT)
def _row(ra, rb, ro, back, log):
    if back:
        _backward_row(ra, rb, ro, log)
    else:
        _forward_row(ra, ro, log)


@njit(**JIT)
def _rows(a, b, out, back, log, lo, hi):
    """Rows lo ≤ t < hi of the (A, D, B) views: forward (a = x, b unused) or backward (a = g, b = y).
    With B = 1 a row is taken as a contiguous slice (so its loops vectorize)."""
    B = a.shape[2]
    if B == 1:
        a2 = a.reshape(a.shape[0], a.shape[1])
        b2 = b.reshape(b.shape[0], b.shape[1])
        o2 = out.reshape(out.shape[0], out.shape[1])
        for t in range(lo, hi):
            _row(a2[t], b2[t], o2[t], back, log)
    else:
        for t in range(lo, hi):
            _row(a[t // B, :, t % B], b[t // B, :, t % B], out[t // B, :, t % B], back, log)


@njit(parallel=True, **JIT)
def _rows_parallel(a, b, out, back, log):
    n = a.shape[0] * a.shape[2]
    chunks = min(n, 64)
    for c in prange(chunks):
        _rows(a, b, out, back, log, c * n // chunks, (c + 1) * n // chunks)


@njit(**JIT)
def _apply(a, b, out, back, log):
    if a.size >= PARALLEL_MIN and a.shape[0] * a.shape[2] > 1:
        _rows_parallel(a, b, out, back, log)
    else:
        _rows(a, b, out, back, log, 0, a.shape[0] * a.shape[2])


def _call(fallback, a, b, back, log):
    arrs = native(a) if b is None else native(a, b)
    if arrs is None:
        return fallback()
    use_threads()
    out = buffers.empty(a.shape, a.dtype)
    run(_apply, arrs[0], arrs[0] if b is None else arrs[1], out, back, log)
    return out


def softmax_forward(x):
    return _call(lambda: reference.softmax_forward(x), x, None, False, False)


def softmax_backward(g, y):
    return _call(lambda: reference.softmax_backward(g, y), g, y, True, False)


def log_softmax_forward(x):
    return _call(lambda: reference.log_softmax_forward(x), x, None, False, True)


def log_softmax_backward(g, y):
    return _call(lambda: reference.log_softmax_backward(g, y), g, y, True, True)


def _exp_less(v, hi, lo):
    raise NotImplementedError("compiled code only")


@overload(_exp_less, inline="always")
def _exp_less_typed(v, hi, lo):
    """e^(v − (hi + lo)) in v's float type, hi + lo a float64 split in two of v's type. float32: v − hi
    exactly as a sum of two (so the rounding of v − hi is kept), and one float32 exp."""
    if v == types.float32:

        def exp_less32(v, hi, lo):
            d = v - hi
            bb = d - v
            err = (v - (d - bb)) - (hi + bb)  # v − hi = d + err exactly
            return exp32_sum(d, err - lo)

        return exp_less32
    return lambda v, hi, lo: exp(v - hi)


def _split_like(c, v):
    raise NotImplementedError("compiled code only")


@overload(_split_like, inline="always")
def _split_like_typed(c, v):
    """A float64 c as hi + lo in v's float type (hi = c, lo = 0 for float64)."""
    if v == types.float32:

        def split32(c, v):
            hi = np.float32(c)
            return hi, np.float32(c - np.float64(hi))

        return split32
    return lambda c, v: (c, 0.0)


@njit(**FAST)
def _ce_forward_rows(x, target, w, loss, lse, lo, hi):
    """Rows lo ≤ n < hi: lse = log Σ eˣ (summed in float64), loss = w·(lse − x_target)."""
    for n in range(lo, hi):
        row = x[n]
        m = np.float64(_max(row))
        t = 0.0
        for i in range(row.size):
            t += exp(row[i] - m)
        lse[n] = m + math.log(t)
        loss[n] = w[n] * (lse[n] - row[target[n]])


@njit(**EXACT)
def _ce_backward_rows(x, target, w, lse, g, dx, lo, hi):
    """Rows lo ≤ n < hi: dx = g·w·(e^(x − lse) − onehot(target)), in x's float type."""
    for n in range(lo, hi):
        row = x[n]
        out = dx[n]
        s = _split_like(g[n] * w[n], row[0])[0]
        c_hi, c_lo = _split_like(lse[n], row[0])
        for i in range(row.size):
            out[i] = s * _exp_less(row[i], c_hi, c_lo)
        out[target[n]] -= s


@njit(**JIT)
def _ce_rows(x, target, w, loss, lse, g, dx, back, lo, hi):
    if back:
        _ce_backward_rows(x, target, w, lse, g, dx, lo, hi)
    else:
        _ce_forward_rows(x, target, w, loss, lse, lo, hi)


@njit(parallel=True, **JIT)
def _ce_parallel(x, target, w, loss, lse, g, dx, back, chunks):
    N = x.shape[0]
    for c in prange(chunks):
        _ce_rows(x, target, w, loss, lse, g, dx, back, c * N // chunks, (c + 1) * N // chunks)


@njit(**JIT)
def _cross_entropy(x, target, w, loss, lse, g, dx, back):
    N = x.shape[0]
    chunks = min(N, 64, x.size // (CE_PARALLEL_FROM // 4))
    if x.size >= CE_PARALLEL_FROM and chunks > 1:
        _ce_parallel(x, target, w, loss, lse, g, dx, back, chunks)
    else:
        _ce_rows(x, target, w, loss, lse, g, dx, back, 0, N)


def cross_entropy_forward(x, target, w):
    arrs = native(x)
    if arrs is None:
        return reference.cross_entropy_forward(x, target, w)
    use_threads()
    loss, lse = np.empty(x.shape[0], x.dtype), np.empty(x.shape[0])
    t, wc = np.ascontiguousarray(target, dtype=np.int64), np.ascontiguousarray(w, dtype=np.float64)
    run(_cross_entropy, arrs[0], t, wc, loss, lse, lse, arrs[0], False)
    return loss, lse


def cross_entropy_backward(g, x, target, w, lse):
    arrs = native(x)
    if arrs is None:
        return reference.cross_entropy_backward(g, x, target, w, lse)
    use_threads()
    dx = buffers.empty(x.shape, x.dtype)
    t, wc = np.ascontiguousarray(target, dtype=np.int64), np.ascontiguousarray(w, dtype=np.float64)
    run(_cross_entropy, arrs[0], t, wc, lse, lse, np.ascontiguousarray(g, dtype=np.float64), dx, True)
    return dx
