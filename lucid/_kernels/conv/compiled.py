"""The convolution kernels compiled with numba: the calls of reference.py, without the padded copy.

* **1×1, stride 1, no padding, one group**: the input already is the column matrix; y[n] = W @ x[n],
  dW = Σₙ g[n] @ x[n]ᵀ, dx[n] = Wᵀ @ g[n], each a stacked BLAS product.
* **otherwise**: samples are taken in chunks whose columns fit in ``COLS_BYTES`` (small enough to
  stay in cache between the gather and the products); a compiled gather (``_im2col``) writes
  cols[n, (c, j), o] = x[n, c, o·s + j·d − lo] straight from the unpadded input (a tap in the
  padding writes 0), and y[n] = W @ cols[n] is one stacked BLAS product per group and chunk, written
  in place in y. The backward gathers the columns again (nothing the size of the columns outlives a
  call), takes dW += Σₙ g[n] @ cols[n]ᵀ and dcols[n] = Wᵀ @ g[n], and ``_col2im`` adds dcols back
  into dx. Where a tap's output rows follow each other in the input (stride 1 along the rows,
  output as wide as the input) the gather copies them as one run and then zeroes the entries that
  fell in the padding; col2im drops those entries first and adds one run back.
* **the bias**: the columns get a last row of ones and W a last column b, so that
  [W | b] @ [cols; 1] = W @ cols + b adds the bias inside the product; in the backward the same row
  gives g @ 1ᵀ = Σₒ g, db, inside the product for dW.

The gather and col2im share a chunk's (sample, channel) planes among numba's threads (each plane's
columns, or its dx, belong to one thread); they take turns with BLAS's threads on the same cores,
both pools asleep while the other works (``lucid.set_num_threads``). A chunk of fewer than
``PARALLEL_FROM`` column entries runs on the calling thread.

The column buffer comes from ``lucid.backends.memory``, so a training loop reuses it from step to
step. 1-D and 2-D convolutions run as 3-D ones with unit leading axes.
"""

import math

import numpy as np
from numba import njit, prange

from ...backends import memory as buffers
from ..jit import JIT, formula, kernel, native, run, use_threads
from . import reference

COLS_BYTES = 1 << 22  # a chunk's column matrix is at most about this big: it stays in cache for its products
PARALLEL_FROM = 1 << 18  # column entries of a chunk from which the gather and col2im use the threads


@njit(**JIT)
def _span_of(base, step, n, L):
    """The outputs c in [0, n) whose position c·step + base lies in [0, L): (first, past-the-last)."""
    lo = 0 if base >= 0 else (-base + step - 1) // step
    hi = 0 if base >= L else min(n, (L - 1 - base) // step + 1)
    return lo, max(lo, hi)


@njit(**JIT)
def _taps(kd, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, H, W):
    """One row per kernel tap j = (jd, jh, jw): jd; the row shift jh·dh − ph and the output rows
    [blo, bhi) that read inside the plane; the column shift ``base`` = jw·dw − pw and the outputs
    [lo, hi) that read inside a row."""
    tab = np.empty((kd * kh * kw, 7), np.int64)
    for j in range(kd * kh * kw):
        jh = (j // kw) % kh
        tab[j, 0] = j // (kh * kw)
        tab[j, 1] = jh * dh - ph
        tab[j, 2], tab[j, 3] = _span_of(jh * dh - ph, sh, oh, H)
        tab[j, 4] = (j % kw) * dw - pw
        tab[j, 5], tab[j, 6] = _span_of(tab[j, 4], sw, ow, W)
    return tab


@formula
def _tap(tab, j):
    """Row j of ``_taps``'s table: jd, shift, blo, bhi, base, lo, hi."""
    return tab[j, 0], tab[j, 1], tab[j, 2], tab[j, 3], tab[j, 4], tab[j, 5], tab[j, 6]


@formula
def _sizes(x, kd, kh, kw, od, oh, ow):
    """x's channels and spatial sizes (C, D, H, W), the kernel's taps K and the outputs O per plane."""
    return x.shape[1], x.shape[2], x.shape[3], x.shape[4], kd * kh * kw, od * oh * ow


@formula
def _u(i):
    """``i`` (known to be ≥ 0) as an unsigned index: no wrap-around test, so runs of it vectorize."""
    return np.uint64(i)


@formula
def _zero_edges(f, o, blo, bhi, ow, lo, hi):
    """f[o + b·ow + e] = 0 for the rows b in [blo, bhi) and the columns e outside [lo, hi): a column at a time."""
    for e in range(lo):
        for b in range(blo, bhi):
            f[_u(o + b * ow + e)] = 0.0
    for e in range(hi, ow):
        for b in range(blo, bhi):
            f[_u(o + b * ow + e)] = 0.0


@kernel(JIT)
def _im2col(x, cols, n0, c0, cg, kd, kh, kw, sd, sh, sw, pd, ph, pw, dd, dh, dw, od, oh, ow):
    """cols[n, (c, j), (a, b, e)] = x[n0 + n, c0 + c, a·sd − pd + jd·dd, b·sh − ph + jh·dh, e·sw − pw + jw·dw]
    for the cg channels c; rows of cols past cg·K are left as they are."""
    nb, R = cols.shape[0], cols.shape[1]
    C, D, H, W, K, O = _sizes(x, kd, kh, kw, od, oh, ow)
    tab = _taps(kd, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, H, W)
    xf = x.reshape(-1)
    cf = cols.reshape(-1)
    for t in prange(nb * cg):  # t = (n, c)
        plane = ((n0 + t // cg) * C + c0 + t % cg) * D
        for j in range(K):
            jd, shift, blo, bhi, base, lo, hi = _tap(tab, j)
            o = ((t // cg) * R + (t % cg) * K + j) * O
            for a in range(od):
                i = a * sd - pd + jd * dd
                rlo, rhi = (blo, bhi) if 0 <= i < D else (0, 0)  # the output rows that read inside x
                for e in range(rlo * ow):
                    cf[_u(o + e)] = 0.0
                for e in range(rhi * ow, oh * ow):
                    cf[_u(o + e)] = 0.0
                if rhi > rlo:
                    line = ((plane + i) * H + rlo * sh + shift) * W + base
                    if sh == 1 and sw == 1 and ow == W:  # rows follow each other: one run, then the edges
                        for e in range(lo, (rhi - rlo - 1) * ow + hi):
                            cf[_u(o + rlo * ow + e)] = xf[_u(line + e)]
                        _zero_edges(cf, o, rlo, rhi, ow, lo, hi)
                    else:
                        for b in range(rlo, rhi):
                            at = o + b * ow
                            src = line + (b - rlo) * sh * W
                            for e in range(lo):
                                cf[_u(at + e)] = 0.0
                            for e in range(lo, hi):
                                cf[_u(at + e)] = xf[_u(src + e * sw)]
                            for e in range(hi, ow):
                                cf[_u(at + e)] = 0.0
                o += oh * ow


@kernel(JIT)
def _col2im(dcols, dx, n0, c0, kd, kh, kw, sd, sh, sw, pd, ph, pw, dd, dh, dw, od, oh, ow):
    """The adjoint of ``_im2col``: dx[n0 + n, c0 + c] = Σ over the (j, o) that read a position of dcols."""
    nb = dcols.shape[0]
    C, D, H, W, K, O = _sizes(dx, kd, kh, kw, od, oh, ow)
    tab = _taps(kd, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, H, W)
    Cg = dcols.shape[1] // K
    df = dcols.reshape(-1)
    xf = dx.reshape(-1)
    for t in prange(nb * Cg):
        plane = ((n0 + t // Cg) * C + c0 + t % Cg) * D
        for e in range(D * H * W):
            xf[_u(plane * H * W + e)] = 0.0
        for j in range(K):
            jd, shift, blo, bhi, base, lo, hi = _tap(tab, j)
            o = (t * K + j) * O
            for a in range(od):
                i = a * sd - pd + jd * dd
                if i >= 0 and i < D and bhi > blo:
                    line = ((plane + i) * H + blo * sh + shift) * W + base
                    if sh == 1 and sw == 1 and ow == W:  # one run; the entries read from the padding dropped first
                        _zero_edges(df, o, blo, bhi, ow, lo, hi)
                        for e in range(lo, (bhi - blo - 1) * ow + hi):
                            xf[_u(line + e)] += df[_u(o + blo * ow + e)]
                    else:
                        for b in range(blo, bhi):
                            at = o + b * ow
                            src = line + (b - blo) * sh * W
                            for e in range(lo, hi):
                                xf[_u(src + e * sw)] += df[_u(at + e)]
                o += oh * ow


def _twin(kernel, cols):
    """The build of ``kernel`` for a chunk with these columns: across threads when it is large."""
    return kernel.parallel if cols.size >= PARALLEL_FROM else kernel.serial


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


def _grouped(x, w, stride, groups, O, ones):
    """What the general forward and backward share: x as 5-D, the groups (G of Fg filters on Cg
    channels), the rows of a group's column matrix, the weight as (G, Fg, rows), the samples in a
    chunk and the columns of a chunk, (nb, R, O). With ``ones`` the columns have a last row of ones
    (R = rows + 1): a bias column of the weight then adds the bias in the product, and the product
    of g with that row is Σg."""
    G, Fg, Cg = groups, w.shape[0] // groups, w.shape[1]
    rows = Cg * math.prod(w.shape[2:])
    R = rows + ones
    nb = max(1, min(x.shape[0], COLS_BYTES // max(1, R * O * x.itemsize)))
    cols = buffers.empty((nb, R, O), x.dtype)
    cols[:, rows:] = 1.0
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
        x5, G, Fg, Cg, rows, wm, nb, cols = _grouped(x, w, stride, groups, O, b is not None)
        if b is not None:  # [W | b] @ [cols; 1] = W @ cols + b
            wm = np.concatenate([wm, arrs[2].reshape(G, Fg, 1)], axis=2)
        for n0 in range(0, N, nb):
            m = min(nb, N - n0)
            for grp in range(G):
                run(_twin(_im2col, cols[:m]), x5, cols[:m], n0, grp * Cg, Cg, *geo)
                np.matmul(wm[grp], cols[:m], out=y3[n0 : n0 + m, grp * Fg : (grp + 1) * Fg])
        return y
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
    pointwise = _pointwise(w, stride, pads, groups)
    if need_db and (pointwise or not need_dw):
        db = g3.sum(axis=(0, 2))
    if pointwise:
        x3 = x.reshape(N, C, O)
        if need_dw:
            dw = np.matmul(g3, x3.transpose(0, 2, 1)).sum(axis=0).reshape(w.shape)
        if need_dx:
            dx = np.matmul(w.reshape(F, C).T, g3).reshape(x.shape)
        return dx, dw, db
    if not (need_dx or need_dw):
        return dx, dw, db
    ones = need_dw and need_db  # db from the product of g with the columns' row of ones
    x5, G, Fg, Cg, rows, wm, nb, cols = _grouped(x, w, stride, groups, O, ones)
    R = cols.shape[1]
    dcols = buffers.empty((nb, rows, O), x.dtype) if need_dx else None
    dwm = np.zeros((G, Fg, R), x.dtype) if need_dw else None
    part = np.empty((nb, Fg, R), x.dtype) if need_dw else None
    if need_dx:
        dx = buffers.empty(x.shape, x.dtype)
        dx5 = _as3(dx, len(stride))
    for n0 in range(0, N, nb):
        m = min(nb, N - n0)
        for grp in range(G):
            gm = g3[n0 : n0 + m, grp * Fg : (grp + 1) * Fg]
            if need_dw:
                run(_twin(_im2col, cols[:m]), x5, cols[:m], n0, grp * Cg, Cg, *geo)
                dwm[grp] += np.matmul(gm, cols[:m].transpose(0, 2, 1), out=part[:m]).sum(axis=0)
            if need_dx:
                np.matmul(wm[grp].T, gm, out=dcols[:m])
                run(_twin(_col2im, dcols[:m]), dcols[:m], dx5, n0, grp * Cg, *geo)
    if need_dw:
        dw = np.ascontiguousarray(dwm[:, :, :rows]).reshape(w.shape)
    if ones:
        db = dwm[:, :, rows].reshape(F)
    return dx, dw, db
