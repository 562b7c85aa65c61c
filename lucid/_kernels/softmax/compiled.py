"""The softmax kernels compiled with numba: one fused pass per row, forward and backward.

A row (one (a, b) of the ``(A, D, B)`` view) is read for its max and its sum of exponentials,
then written once; the backward reads g and y for the row's sum, then writes dx. Sums are
float64 whatever the dtype. Rows are split across threads; a small call runs serially.
When B = 1 a row is contiguous; otherwise a row is a strided column of its ``(D, B)`` block.
"""
import math

import numpy as np
from numba import njit, prange

from ..jit import FAST, JIT, PARALLEL_MIN, native, run, use_threads
from . import reference

SOFTMAX, LOG_SOFTMAX = 0, 1


@njit(**JIT)
def _max(x):
    m = -np.inf
    for i in range(x.size):
        v = x[i]
        if v > m or v != v:
            m = v
            if v != v:
                break
    return m


@njit(**FAST)
def _forward_row(x, y, log):
    m = np.float64(_max(x))
    s = 0.0
    if log:
        for i in range(x.size):
            s += math.exp(x[i] - m)
        c = m + math.log(s)
        for i in range(x.size):
            y[i] = x[i] - c
    else:
        for i in range(x.size):
            e = math.exp(x[i] - m)
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
            dx[i] = g[i] - math.exp(y[i]) * s
    else:
        for i in range(g.size):
            s += g[i] * y[i]
        for i in range(g.size):
            dx[i] = y[i] * (g[i] - s)


@njit(**JIT)
def _rows(a, b, out, back, log, lo, hi):
    """Rows lo ≤ t < hi of the (A, D, B) views: forward (a = x, b unused) or backward (a = g, b = y)."""
    B = a.shape[2]
    for t in range(lo, hi):
        i = t // B
        k = t % B
        ra, rb, ro = a[i, :, k], b[i, :, k], out[i, :, k]
        if back:
            _backward_row(ra, rb, ro, log)
        else:
            _forward_row(ra, ro, log)


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
    out = np.empty(a.shape, a.dtype)
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
