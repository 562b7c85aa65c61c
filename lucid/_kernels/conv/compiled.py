"""The convolution kernels compiled with numba: the calls of reference.py, without the padded copy.

* **1×1, stride 1, no padding, one group**: the input already is the column matrix; y[n] = W @ x[n],
  dW = Σₙ g[n] @ x[n]ᵀ, dx[n] = Wᵀ @ g[n], each a stacked BLAS product.
* **otherwise**: samples are taken in chunks whose columns fit in ``COLS_BYTES``; a compiled gather
  (``_im2col``) writes cols[(c, j), n, o] = x[n, c, o·s + j·d − lo] straight from the unpadded
  input (a tap in the padding writes 0), and one BLAS product per group and chunk makes y. The
  backward gathers the columns again (nothing the size of the columns outlives a call), takes
  dW += gᵀ-chunk @ colsᵀ and dcols = Wᵀ @ g-chunk, and ``_col2im`` adds dcols back into dx,
  each (sample, channel) plane owned by one thread.

The column buffer comes from ``lucid.backends.memory``, so a training loop reuses it from step to
step. 1-D and 2-D convolutions run as 3-D ones with unit leading axes.
"""

import math

import numpy as np
from numba import njit, prange

from ...backends import memory as buffers
from ..jit import JIT, formula, native, run, use_threads
from . import reference

COLS_BYTES = 1 << 25  # a chunk's column matrix is at most about this big


@njit(**JIT)
def _span_of(base, step, n, L):
    """The outputs c in [0, n) whose position c·step + base lies in [0, L): (first, past-the-last)."""
    lo = 0 if base >= 0 else (-base + step - 1) // step
    hi = 0 if base >= L else min(n, (L - 1 - base) // step + 1)
    return lo, max(lo, hi)


@formula
def _tap(j, kh, kw, dw, pw, sw, ow, W):
    """Tap j of the kernel: its depth and height offsets (jd, jh), and along the width its shift
    ``base`` and the outputs [lo, hi) that read inside the row."""
    jd = j // (kh * kw)
    jh = (j // kw) % kh
    base = (j % kw) * dw - pw
    lo, hi = _span_of(base, sw, ow, W)
    return jd, jh, base, lo, hi


@njit(parallel=True, **JIT)
def _im2col(x, cols, n0, c0, kd, kh, kw, sd, sh, sw, pd, ph, pw, dd, dh, dw, od, oh, ow):
    """cols[(c, j), n, (a, b, e)] = x[n0 + n, c0 + c, a·sd − pd + jd·dd, b·sh − ph + jh·dh, e·sw − pw + jw·dw]."""
    R, nb = cols.shape[0], cols.shape[1]
    D, H, W = x.shape[2], x.shape[3], x.shape[4]
    K = kd * kh * kw
    for t in prange(R * nb):
        r = t // nb
        n = t % nb
        c = r // K
        j = r % K
        jd, jh, base, lo, hi = _tap(j, kh, kw, dw, pw, sw, ow, W)
        dst = cols[r, n]
        src = x[n0 + n, c0 + c]
        o = 0
        for a in range(od):
            i = a * sd - pd + jd * dd
            for b in range(oh):
                row = b * sh - ph + jh * dh
                if i < 0 or i >= D or row < 0 or row >= H:
                    for e in range(ow):
                        dst[o + e] = 0.0
                else:
                    line = src[i, row]
                    for e in range(lo):
                        dst[o + e] = 0.0
                    if sw == 1:  # a contiguous run: a vector copy
                        dst[o + lo : o + hi] = line[lo + base : hi + base]
                    else:
                        for e in range(lo, hi):
                            dst[o + e] = line[e * sw + base]
                    for e in range(hi, ow):
                        dst[o + e] = 0.0
                o += ow


@njit(parallel=True, **JIT)
def _col2im(dcols, dx, n0, c0, kd, kh, kw, sd, sh, sw, pd, ph, pw, dd, dh, dw, od, oh, ow):
    """The adjoint of ``_im2col``: dx[n0 + n, c0 + c] = Σ over the (j, o) that read a position of dcols."""
    nb = dcols.shape[1]
    Cg = dcols.shape[0] // (kd * kh * kw)
    D, H, W = dx.shape[2], dx.shape[3], dx.shape[4]
    K = kd * kh * kw
    for t in prange(Cg * nb):
        c = t // nb
        n = t % nb
        plane = dx[n0 + n, c0 + c]
        plane[:] = 0.0
        for j in range(K):
            jd, jh, base, lo, hi = _tap(j, kh, kw, dw, pw, sw, ow, W)
            src = dcols[c * K + j, n]
            o = 0
            for a in range(od):
                i = a * sd - pd + jd * dd
                for b in range(oh):
                    row = b * sh - ph + jh * dh
                    if i >= 0 and i < D and row >= 0 and row < H:
                        line = plane[i, row]
                        if sw == 1:
                            seg = line[lo + base : hi + base]
                            part = src[o + lo : o + hi]
                            for e in range(hi - lo):
                                seg[e] += part[e]
                        else:
                            for e in range(lo, hi):
                                line[e * sw + base] += src[o + e]
                    o += ow


def _three(v, fill):
    return (fill,) * (3 - len(v)) + tuple(int(a) for a in v)


def _as3(a, n):
    """``(N, C, *spatial)`` viewed as ``(N, C, D, H, W)``."""
    return a.reshape(a.shape[:2] + _three(a.shape[2:], 1))


def _geometry(x, w, stride, pads, dilation):
    kernel = w.shape[2:]
    out = tuple(
        (L + lo + hi - d * (k - 1) - 1) // s + 1
        for L, k, s, (lo, hi), d in zip(x.shape[2:], kernel, stride, pads, dilation)
    )
    geo = (
        _three(kernel, 1) + _three(stride, 1) + _three([lo for lo, _ in pads], 0) + _three(dilation, 1) + _three(out, 1)
    )
    return out, geo


def _pointwise(w, stride, pads, groups):
    return (
        groups == 1
        and math.prod(w.shape[2:]) == 1
        and all(s == 1 for s in stride)
        and not any(lo or hi for lo, hi in pads)
    )


def _view(buf, shape):
    """The first elements of a flat buffer as a C-contiguous array of ``shape``."""
    return buf[: math.prod(shape)].reshape(shape)


def _grouped(x, w, stride, groups, O):
    """What the general forward and backward share: x as 5-D, the groups (G of Fg filters on Cg
    channels), the rows of a group's column matrix, the weight as (G, Fg, rows), the samples in a
    chunk and a flat buffer for a chunk's columns."""
    G, Fg, Cg = groups, w.shape[0] // groups, w.shape[1]
    rows = Cg * math.prod(w.shape[2:])
    nb = max(1, min(x.shape[0], COLS_BYTES // max(1, rows * O * x.itemsize)))
    cols = buffers.empty((rows * nb * O,), x.dtype)
    return _as3(x, len(stride)), G, Fg, Cg, rows, w.reshape(G, Fg, rows), nb, cols


def forward(x, w, b, stride, pads, dilation, groups):
    arrs = native(x, w) if b is None else native(x, w, b)
    if arrs is None or len(stride) > 3:
        return reference.forward(x, w, b, stride, pads, dilation, groups)
    use_threads()
    x, w = arrs[0], arrs[1]
    N, F = x.shape[0], w.shape[0]
    out, geo = _geometry(x, w, stride, pads, dilation)
    O = math.prod(out)
    y = buffers.empty((N, F) + out, x.dtype)
    y3 = y.reshape(N, F, O)
    if _pointwise(w, stride, pads, groups):
        np.matmul(w.reshape(F, -1), x.reshape(N, x.shape[1], O), out=y3)
    else:
        x5, G, Fg, Cg, rows, wm, nb, cols = _grouped(x, w, stride, groups, O)
        prod = buffers.empty((Fg * nb * O,), x.dtype) if nb > 1 else None
        for n0 in range(0, N, nb):
            m = min(nb, N - n0)
            c = _view(cols, (rows, m, O))
            for grp in range(G):
                run(_im2col, x5, c, n0, grp * Cg, *geo)
                if m == 1:  # one sample: the product lands in y directly
                    np.matmul(wm[grp], c.reshape(rows, O), out=y3[n0, grp * Fg : (grp + 1) * Fg])
                else:
                    p = _view(prod, (Fg, m * O))
                    np.matmul(wm[grp], c.reshape(rows, m * O), out=p)
                    y3[n0 : n0 + m, grp * Fg : (grp + 1) * Fg] = p.reshape(Fg, m, O).transpose(1, 0, 2)
    if b is not None:
        y3 += arrs[2].reshape(F, 1)
    return y


def backward(g, x, w, stride, pads, dilation, groups, need_dx=True, need_dw=True, need_db=True):
    arrs = native(g, x, w)
    if arrs is None or len(stride) > 3:
        return reference.backward(g, x, w, stride, pads, dilation, groups, need_dx, need_dw, need_db)
    use_threads()
    g, x, w = arrs
    N, C, F = x.shape[0], x.shape[1], w.shape[0]
    out, geo = _geometry(x, w, stride, pads, dilation)
    O = math.prod(out)
    g3 = g.reshape(N, F, O)
    dx = dw = db = None
    if need_db:
        db = g3.sum(axis=(0, 2))
    if _pointwise(w, stride, pads, groups):
        x3 = x.reshape(N, C, O)
        if need_dw:
            dw = np.matmul(g3, x3.transpose(0, 2, 1)).sum(axis=0).reshape(w.shape)
        if need_dx:
            dx = np.matmul(w.reshape(F, C).T, g3).reshape(x.shape)
        return dx, dw, db
    if not (need_dx or need_dw):
        return dx, dw, db
    x5, G, Fg, Cg, rows, wm, nb, cols = _grouped(x, w, stride, groups, O)
    gt = buffers.empty((Fg * nb * O,), x.dtype)
    dcols = buffers.empty((rows * nb * O,), x.dtype) if need_dx else None
    dwm = np.zeros((G, Fg, rows), x.dtype) if need_dw else None
    if need_dx:
        dx = buffers.empty(x.shape, x.dtype)
        dx5 = _as3(dx, len(stride))
    for n0 in range(0, N, nb):
        m = min(nb, N - n0)
        for grp in range(G):
            gm = _view(gt, (Fg, m, O))
            gm[:] = g3[n0 : n0 + m, grp * Fg : (grp + 1) * Fg].transpose(1, 0, 2)
            g2 = gm.reshape(Fg, m * O)
            if need_dw:
                c = _view(cols, (rows, m, O))
                run(_im2col, x5, c, n0, grp * Cg, *geo)
                dwm[grp] += g2 @ c.reshape(rows, m * O).T
            if need_dx:
                d = _view(dcols, (rows, m, O))
                np.matmul(wm[grp].T, g2, out=d.reshape(rows, m * O))
                run(_col2im, d, dx5, n0, grp * Cg, *geo)
    if need_dw:
        dw = dwm.reshape(w.shape)
    return dx, dw, db
