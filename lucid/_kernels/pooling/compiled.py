"""The pooling kernels compiled with numba: the calls of reference.py as direct loops.

No window array is built. Max pooling takes a row of outputs at a time: each tap of the window
in turn, swept along the row over the outputs for which it lies inside the plane (with row stride
1 the sweep reads the input contiguously and the compiler vectorizes it). It keeps the flat input
position each output took (``idx``, PyTorch's indices), so its backward is one scatter of g.

Windows of 2×2 taps that all lie inside the plane take a path without branches on the data:
y = max(max(a, b), max(c, d)) (``max`` keeps its first argument unless the second is larger, so
y is the first largest tap) and idx is the first tap equal to y; a plane holding a NaN is done
again by the general loop. Average pooling's backward spreads g[o]/divisor[o] over the window
again. Planes are split across threads (a plane is written by one thread: no races). 1-D and
2-D pooling run as 3-D pooling with unit leading axes.
"""

import numpy as np
from numba import njit, prange

from ...backends import memory as buffers
from ..jit import JIT, PARALLEL_MIN, native, run, use_threads
from . import reference


@njit(inline="always", **JIT)
def _inside(off, sw, OW, W):
    """The outputs lo ≤ ow < hi whose tap at column ow·sw + off lies inside a row of W."""
    return (max(-off, 0) + sw - 1) // sw, min(OW, (W - 1 - off) // sw + 1)


@njit(inline="always", **JIT)
def _take_tap(v, m, at, o, pos):
    """Output o takes tap value v at input position pos when it has none yet, when v is larger, or
    when v is a NaN and it holds a number."""
    take = (at[o] < 0) | (v > m[o]) | ((v != v) & (m[o] == m[o]))
    m[o] = v if take else m[o]
    at[o] = pos if take else at[o]


@njit(inline="always", **JIT)
def _take_taps(taps, m, at, pos, step):
    """``_take_tap`` for outputs o = 0, 1, ..., m.size − 1 with taps[o] at input position pos + o·step
    (slices indexed from 0: numba drops its check for negative indices)."""
    for o in range(m.size):
        _take_tap(taps[o], m, at, o, pos + o * step)


@njit(**JIT)
def _max_plane(x, y, idx, b, kd, kh, kw, sd, sh, sw, pd, ph, pw, dd, dh, dw):
    """Each output row takes the window's taps in order, each tap swept along the row over the outputs
    for which it lies inside the plane. An output takes a tap when it has none yet, when the tap is
    larger, or when the tap is a NaN and it holds a number: y is the first largest, a NaN winning."""
    D, H, W = x.shape[1], x.shape[2], x.shape[3]
    OW = y.shape[3]
    for od in range(y.shape[1]):
        for oh in range(y.shape[2]):
            m = y[b, od, oh]
            at = idx[b, od, oh]
            at[:] = -1
            for jd in range(kd):
                i = od * sd - pd + jd * dd
                if i < 0 or i >= D:
                    continue
                for jh in range(kh):
                    r = oh * sh - ph + jh * dh
                    if r < 0 or r >= H:
                        continue
                    row = x[b, i, r]
                    base = (i * H + r) * W
                    for jw in range(kw):
                        off = jw * dw - pw  # the tap's column is ow·sw + off
                        lo, hi = _inside(off, sw, OW, W)
                        if sw == 1:  # contiguous taps: the loop the compiler vectorizes
                            _take_taps(row[lo + off : hi + off], m[lo:hi], at[lo:hi], base + lo + off, 1)
                        else:
                            _take_taps(row[lo * sw + off :: sw], m[lo:hi], at[lo:hi], base + lo * sw + off, sw)


@njit(**JIT)
def _max_quads(x, y, idx, b, sd, sh, sw, dh, dw):
    """Windows of taps a, b, c, d at rows r, r + dh and columns e, e + dw, all inside the plane:
    y = the first largest, idx its position. False where the plane holds a NaN (not written right)."""
    H, W = x.shape[2], x.shape[3]
    seen = False
    for od in range(y.shape[1]):
        i = od * sd
        for oh in range(y.shape[2]):
            r = oh * sh
            p0 = (i * H + r) * W
            p1 = p0 + dh * W
            for ow in range(y.shape[3]):
                e = ow * sw
                t0, t1 = x[b, i, r, e], x[b, i, r, e + dw]
                t2, t3 = x[b, i, r + dh, e], x[b, i, r + dh, e + dw]
                m = max(max(t0, t1), max(t2, t3))
                seen |= (t0 != t0) | (t1 != t1) | (t2 != t2) | (t3 != t3)
                y[b, od, oh, ow] = m
                # the first tap equal to m: t0 if it is, else t1 if it is, ...
                n0, n1, n2 = np.int64(t0 != m), np.int64(t1 != m), np.int64(t2 != m)
                idx[b, od, oh, ow] = e + (1 - n0) * p0 + n0 * ((1 - n1) * (p0 + dw) + n1 * (p1 + n2 * dw))
    return not seen


@njit(**JIT)
def _max_one(x, y, idx, b, quads, kd, kh, kw, sd, sh, sw, pd, ph, pw, dd, dh, dw):
    if not (quads and _max_quads(x, y, idx, b, sd, sh, sw, dh, dw)):
        _max_plane(x, y, idx, b, kd, kh, kw, sd, sh, sw, pd, ph, pw, dd, dh, dw)


@njit(parallel=True, **JIT)
def _max_forward_parallel(x, y, idx, quads, kd, kh, kw, sd, sh, sw, pd, ph, pw, dd, dh, dw):
    for b in prange(x.shape[0]):
        _max_one(x, y, idx, b, quads, kd, kh, kw, sd, sh, sw, pd, ph, pw, dd, dh, dw)


@njit(**JIT)
def _max_forward(x, y, idx, quads, kd, kh, kw, sd, sh, sw, pd, ph, pw, dd, dh, dw):
    if x.size >= PARALLEL_MIN and x.shape[0] > 1:
        _max_forward_parallel(x, y, idx, quads, kd, kh, kw, sd, sh, sw, pd, ph, pw, dd, dh, dw)
    else:
        for b in range(x.shape[0]):
            _max_one(x, y, idx, b, quads, kd, kh, kw, sd, sh, sw, pd, ph, pw, dd, dh, dw)


@njit(**JIT)
def _scatter_plane(g, idx, dx, b):
    dx[b, :] = 0.0
    for o in range(g.shape[1]):
        dx[b, idx[b, o]] += g[b, o]


@njit(parallel=True, **JIT)
def _max_backward_parallel(g, idx, dx):
    for b in prange(g.shape[0]):
        _scatter_plane(g, idx, dx, b)


@njit(**JIT)
def _max_backward(g, idx, dx):
    if dx.size >= PARALLEL_MIN and g.shape[0] > 1:
        _max_backward_parallel(g, idx, dx)
    else:
        for b in range(g.shape[0]):
            _scatter_plane(g, idx, dx, b)


@njit(inline="always", **JIT)
def _add(dst, src):
    """dst[o] += src[o] up to the shorter one's size."""
    for o in range(min(dst.size, src.size)):
        dst[o] += src[o]


@njit(inline="always", **JIT)
def _sweep(acc, row, lo, hi, sw, off, spread):
    """acc[o] += row[o·sw + off] for lo ≤ o < hi, or (``spread``) row[o·sw + off] += acc[o], its adjoint.
    On slices indexed from 0 (numba then drops its check for negative indices); stride 1 has its own
    contiguous slice, which the compiler vectorizes."""
    a = acc[lo:hi]
    if sw == 1:
        taps = row[lo + off : hi + off]
        _add(taps, a) if spread else _add(a, taps)
    else:
        strided = row[lo * sw + off :: sw]
        _add(strided, a) if spread else _add(a, strided)


@njit(**JIT)
def _avg_plane(x, y, div, b, back, kd, kh, kw, sd, sh, sw, pd, ph, pw):
    """Forward (back False): y[o] = Σ x over the window / div[o]. Backward (back True, x is dx and
    y is g): dx over the window += g[o]/div[o]. A row of outputs at a time, each tap swept along it."""
    D, H, W = x.shape[1], x.shape[2], x.shape[3]
    OW = y.shape[3]
    acc = np.empty(OW)  # float64: the row's sums, or its shares g/div
    if back:
        x[b] = 0.0
    for od in range(y.shape[1]):
        for oh in range(y.shape[2]):
            if back:
                for o in range(OW):
                    acc[o] = y[b, od, oh, o] / div[od, oh, o]
            else:
                acc[:] = 0.0
            for i in range(max(od * sd - pd, 0), min(od * sd - pd + kd, D)):
                for r in range(max(oh * sh - ph, 0), min(oh * sh - ph + kh, H)):
                    for jw in range(kw):
                        lo, hi = _inside(jw - pw, sw, OW, W)
                        _sweep(acc, x[b, i, r], lo, hi, sw, jw - pw, back)
            if not back:
                for o in range(OW):
                    y[b, od, oh, o] = acc[o] / div[od, oh, o]


@njit(parallel=True, **JIT)
def _avg_parallel(x, y, div, back, kd, kh, kw, sd, sh, sw, pd, ph, pw):
    for b in prange(x.shape[0]):
        _avg_plane(x, y, div, b, back, kd, kh, kw, sd, sh, sw, pd, ph, pw)


@njit(**JIT)
def _avg(x, y, div, back, kd, kh, kw, sd, sh, sw, pd, ph, pw):
    if x.size >= PARALLEL_MIN and x.shape[0] > 1:
        _avg_parallel(x, y, div, back, kd, kh, kw, sd, sh, sw, pd, ph, pw)
    else:
        for b in range(x.shape[0]):
            _avg_plane(x, y, div, b, back, kd, kh, kw, sd, sh, sw, pd, ph, pw)


def _three(v, fill):
    """A per-axis tuple for 1 to 3 axes, led by ``fill`` up to 3 axes."""
    return (fill,) * (3 - len(v)) + tuple(int(a) for a in v)


def _planes3(a, spatial):
    """``a`` ``(B, *spatial)`` viewed as ``(B, D, H, W)``."""
    return a.reshape((a.shape[0],) + _three(spatial, 1))


def _out_size(L, k, s, lo, hi, d):
    return (L + lo + hi - d * (k - 1) - 1) // s + 1


def max_pool_forward(x, kernel, stride, pads, dilation):
    arrs = native(x)
    if arrs is None or len(kernel) > 3:
        return reference.max_pool_forward(x, kernel, stride, pads, dilation)
    use_threads()
    spatial = x.shape[1:]
    out = tuple(_out_size(L, k, s, lo, hi, d) for L, k, s, (lo, hi), d in zip(spatial, kernel, stride, pads, dilation))
    y = buffers.empty((x.shape[0],) + out, x.dtype)
    idx = buffers.empty(y.shape, np.int64)
    k3, s3, d3 = _three(kernel, 1), _three(stride, 1), _three(dilation, 1)
    # 2x2 windows (one deep) that never reach into the padding
    quads = k3 == (1, 2, 2) and all(
        lo == 0 and (o - 1) * s + d * (k - 1) < L
        for L, k, s, (lo, _), d, o in zip(spatial, kernel, stride, pads, dilation, out)
    )
    run(
        _max_forward,
        _planes3(arrs[0], spatial),
        _planes3(y, out),
        _planes3(idx, out),
        quads,
        *k3,
        *s3,
        *_three([lo for lo, _ in pads], 0),
        *d3,
    )
    return y, idx


def max_pool_backward(g, idx, spatial):
    arrs = native(g)
    if arrs is None or len(spatial) > 3:
        return reference.max_pool_backward(g, idx, spatial)
    use_threads()
    B = g.shape[0]
    dx = buffers.empty((B,) + tuple(spatial), g.dtype)
    run(
        _max_backward,
        arrs[0].reshape(B, -1),
        np.ascontiguousarray(idx, dtype=np.int64).reshape(B, -1),
        dx.reshape(B, -1),
    )
    return dx


def avg_pool_forward(x, kernel, stride, pads, divisor):
    arrs = native(x)
    if arrs is None or len(kernel) > 3:
        return reference.avg_pool_forward(x, kernel, stride, pads, divisor)
    use_threads()
    spatial, out = x.shape[1:], divisor.shape
    y = buffers.empty((x.shape[0],) + out, x.dtype)
    div = np.ascontiguousarray(divisor, dtype=np.float64).reshape(_three(out, 1))
    run(
        _avg,
        _planes3(arrs[0], spatial),
        _planes3(y, out),
        div,
        False,
        *_three(kernel, 1),
        *_three(stride, 1),
        *_three([lo for lo, _ in pads], 0),
    )
    return y


def avg_pool_backward(g, spatial, kernel, stride, pads, divisor):
    arrs = native(g)
    if arrs is None or len(kernel) > 3:
        return reference.avg_pool_backward(g, spatial, kernel, stride, pads, divisor)
    use_threads()
    out = divisor.shape
    dx = buffers.empty((g.shape[0],) + tuple(spatial), g.dtype)
    div = np.ascontiguousarray(divisor, dtype=np.float64).reshape(_three(out, 1))
    run(
        _avg,
        _planes3(dx, spatial),
        _planes3(arrs[0], out),
        div,
        True,
        *_three(kernel, 1),
        *_three(stride, 1),
        *_three([lo for lo, _ in pads], 0),
    )
    return dx
