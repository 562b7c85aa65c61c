"""Loops over contiguous stretches of memory: the pieces every kernel strategy is built from.

A *segment* is K·L contiguous elements of one group in one row: entry k of the affine vectors
(``w``, ``b``) serves its elements k·L to (k + 1)·L. A *group* is A segments ``step`` elements
apart, starting at ``o``. Each function walks memory in order and leaves the math to ``formulas``.
Inner loops index slices from 0: numba then knows no index is negative, skips the wrap-around
check and vectorizes the loop.
"""

import numpy as np
from numba import njit, prange

from ..jit import CHUNKS, FAST, loop, wide
from .formulas import centered, dx, far_from_mean, normalized, rstd, xhat


@loop(FAST)
def shifted_sums(x, s):
    """Σ(x − s) and Σ(x − s)² over one stretch."""
    wide()
    s1 = 0.0
    s2 = 0.0
    for i in range(x.size):
        d = x[i] - s
        s1 += d
        s2 += d * d
    return s1, s2


@loop(FAST)
def group_moments(x, o, step, A, S, center):
    """μ and σ² of the group of A segments of S elements: one pass for Σd and Σd² of d = x − s, s the
    group's first value (0 when not centered), and a second pass around μ when s is far from μ."""
    s = x[o] if center else 0.0
    s1 = 0.0
    s2 = 0.0
    for a in range(A):
        t1, t2 = shifted_sums(x[o + a * step : o + a * step + S], s)
        s1 += t1
        s2 += t2
    return moments_from_sums(x, o, step, A, S, s, s1, s2, center)


@loop(FAST)
def moments_from_sums(x, o, step, A, S, s, s1, s2, center):
    """μ and σ² of the group from s1 = Σ(x − s), s2 = Σ(x − s)² (see ``group_moments``)."""
    M = A * S
    e, m2 = centered(s1, s2, M, center)
    m = s + e
    if center and far_from_mean(e, m2, M):  # the group is still in cache
        m2 = 0.0
        for a in range(A):
            m2 += shifted_sums(x[o + a * step : o + a * step + S], m)[1]
    return m, m2 / M


@loop(FAST)
def keep(mean, var, rs, grp, m, v, eps):
    """Store μ, σ² and rstd of group ``grp``; return μ and rstd as stored.

    (Read back from memory: where rstd's formula shares a function with a loop, LLVM may turn
    (x − μ)·(rstd·w) into a division per element.)"""
    mean[grp] = m
    var[grp] = v
    rs[grp] = rstd(v, eps)
    return mean[grp], rs[grp]


@loop(FAST)
def normalize(xs, ys, m, r, w, b, K, L):
    """y = (x − μ)·(rstd·w) + b over one segment."""
    wide()
    if L == 1:
        for k in range(K):
            ys[k] = normalized(xs[k], m, r * w[k], b[k])
    else:
        for k in range(K):
            scale = r * w[k]
            shift = b[k]
            xk = xs[k * L : (k + 1) * L]
            yk = ys[k * L : (k + 1) * L]
            for i in range(L):
                yk[i] = normalized(xk[i], m, scale, shift)


@loop(FAST)
def normalize_group(x, y, o, step, A, K, L, m, r, w, b):
    """``normalize`` each of the group's A segments."""
    S = K * L
    for a in range(A):
        s = o + a * step
        normalize(x[s : s + S], y[s : s + S], m, r, w, b, K, L)


@loop(FAST)
def dot_sums(g, x, m):
    """Σg and Σg·(x − μ) over one stretch with one affine entry."""
    wide()
    s1 = 0.0
    s2 = 0.0
    for i in range(x.size):
        s1 += g[i]
        s2 += g[i] * (x[i] - m)
    return s1, s2


@loop(FAST)
def row_grad_sums(g, x, w, m, r, dw, db, need_affine):
    """One segment of single elements (L = 1): Σĝ and Σĝ·x̂, and dw += g·x̂, db += g when ``need_affine``."""
    wide()
    s1 = 0.0
    s2 = 0.0
    for i in range(x.size):
        gx = g[i] * xhat(x[i], m, r)
        s1 += g[i] * w[i]
        s2 += gx * w[i]
        if need_affine:
            dw[i] += gx
            db[i] += g[i]
    return s1, s2


@loop(FAST)
def grad_sums(g, x, o, step, A, K, L, m, r, w, dw, db, need_affine):
    """Σĝ and Σĝ·x̂ over the group of A segments (ĝ = w·g); with ``need_affine`` also, per entry,
    dw += Σg·x̂ and db += Σg."""
    S = K * L
    sgw = 0.0
    sgwx = 0.0
    if L == 1:
        for a in range(A):
            s = o + a * step
            t1, t2 = row_grad_sums(g[s : s + S], x[s : s + S], w, m, r, dw, db, need_affine)
            sgw += t1
            sgwx += t2
        return sgw, sgwx
    for k in range(K):
        t1 = 0.0
        t2 = 0.0
        for a in range(A):
            s = o + a * step + k * L
            u1, u2 = dot_sums(g[s : s + L], x[s : s + L], m)
            t1 += u1
            t2 += u2
        t2 *= r  # Σg·x̂ of entry k
        sgw += t1 * w[k]
        sgwx += t2 * w[k]
        if need_affine:
            dw[k] += t2
            db[k] += t1
    return sgw, sgwx


@loop(FAST)
def dx_segment(gs, xs, ds, m, r, w, beta, gamma, K, L, train):
    """dx = α·g − β·(x − μ) − γ over one segment, α = rstd·w of each entry."""
    wide()
    if L == 1 and train:  # the branch taken out of the loop, so that the loop vectorizes
        for k in range(K):
            ds[k] = dx(gs[k], xs[k], m, r * w[k], beta, gamma, True)
    elif L == 1:
        for k in range(K):
            ds[k] = dx(gs[k], xs[k], m, r * w[k], beta, gamma, False)
    else:
        for k in range(K):
            alpha = r * w[k]
            gk = gs[k * L : (k + 1) * L]
            xk = xs[k * L : (k + 1) * L]
            dk = ds[k * L : (k + 1) * L]
            for i in range(L):
                dk[i] = dx(gk[i], xk[i], m, alpha, beta, gamma, train)


@loop(FAST)
def dx_group(g, x, d, o, step, A, K, L, m, r, w, beta, gamma, train):
    """``dx_segment`` on each of the group's A segments."""
    S = K * L
    for a in range(A):
        s = o + a * step
        dx_segment(g[s : s + S], x[s : s + S], d[s : s + S], m, r, w, beta, gamma, K, L, train)


@loop(FAST)
def add_chunks(parts, out, lo, hi):
    """out[i] += Σ_c parts[c, i] for lo ≤ i < hi, chunk after chunk in order: the same sum on any
    thread count."""
    wide()
    acc = out[lo:hi]
    for c in range(parts.shape[0]):
        part = parts[c, lo:hi]
        for i in range(hi - lo):
            acc[i] += part[i]


@njit(parallel=True, **FAST)
def _add_chunks_parallel(parts1, out1, parts2, out2):
    """``add_chunks`` for both pairs, cut across threads by blocks of i."""
    n = out1.size
    nb = min(CHUNKS, (n + 255) // 256)
    for blk in prange(nb):
        lo = blk * n // nb
        hi = (blk + 1) * n // nb
        add_chunks(parts1, out1, lo, hi)
        add_chunks(parts2, out2, lo, hi)


@loop(FAST)
def add_partials(parts1, out1, parts2, out2):
    """out += Σ_c parts[c] for both pairs; across threads when there are many chunks and much to add."""
    if parts1.shape[0] > 1 and parts1.size >= 1 << 16:
        _add_chunks_parallel(parts1, out1, parts2, out2)
    else:
        add_chunks(parts1, out1, 0, out1.size)
        add_chunks(parts2, out2, 0, out2.size)


@loop(FAST)
def check_scratch(a, rows, cols):
    """The loops index scratch unchecked: a wrong shape from a caller is an error, not a stray write."""
    if a.shape[0] < rows or a.shape[1] < cols:
        raise ValueError("norm kernel: scratch array too small")


NO_SCRATCH = np.empty((0, 0))  # for a kernel that needs no scratch on this call
