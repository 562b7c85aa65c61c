"""By rows: BatchNorm on short rows (an (N, C) input), where a group is a strided column.

A parallel loop over blocks of rows ``a`` with one accumulator per column. Each block's column
sums are taken in one pass, as sums of d = x − s for s a value of the column's group (which bounds
the cancellation: Σd² = M2 + n·(s − μ)² ≤ (n + 1)·M2, so at most log2(n + 1) of float64's 53 bits
are lost), and the blocks are merged exactly (Chan's formula, M2 = M2ₐ + M2ᵦ + δ²·nₐ·nᵦ/n, with the
means kept as offsets from s). Forward: x read twice, y written once.
"""

import numpy as np
from numba import prange

from ..jit import FAST, kernel, loop, wide
from .formulas import centered, dx, dx_terms, normalized, rstd
from .segments import add_partials, check_scratch


@loop(FAST)
def dx_row(gs, xs, ds, m, alpha, beta, gamma, train):
    """One row, a column per element: dx = α·g − β·(x − μ) − γ with the column's μ, α, β, γ."""
    wide()
    if train:  # the branch taken out of the loop, so that the loop vectorizes
        for j in range(xs.size):
            ds[j] = dx(gs[j], xs[j], m[j], alpha[j], beta[j], gamma[j], True)
    else:
        for j in range(xs.size):
            ds[j] = dx(gs[j], xs[j], m[j], alpha[j], beta[j], gamma[j], False)


@loop(FAST)
def column_sums(u, x, s, c, t1, t2, a0, a1):
    """Over rows a0 ≤ a < a1, per column j: t1 += u − s, t2 += (u − s)·(x − c). The statistics take
    u = x, s = c = the shift; the backward u = g, s = 0, c = μ.

    The one hand-expanded loop: four rows per sweep over t1, t2 (a quarter of their loads and stores)."""
    wide()
    R = t1.size
    for a in range(a0, a1 - 3, 4):
        u0, u1, u2, u3 = u[a * R :], u[(a + 1) * R :], u[(a + 2) * R :], u[(a + 3) * R :]
        x0, x1, x2, x3 = x[a * R :], x[(a + 1) * R :], x[(a + 2) * R :], x[(a + 3) * R :]
        for j in range(R):
            sj = s[j]
            cj = c[j]
            d0, d1, d2, d3 = u0[j] - sj, u1[j] - sj, u2[j] - sj, u3[j] - sj
            t1[j] += (d0 + d1) + (d2 + d3)
            t2[j] += (d0 * (x0[j] - cj) + d1 * (x1[j] - cj)) + (d2 * (x2[j] - cj) + d3 * (x3[j] - cj))
    for a in range(a1 - (a1 - a0) % 4, a1):
        us = u[a * R : (a + 1) * R]
        xs = x[a * R : (a + 1) * R]
        for j in range(R):
            d = us[j] - s[j]
            t1[j] += d
            t2[j] += d * (xs[j] - c[j])


@kernel(FAST)
def forward_rows(x, y, w, b, mean, var, rs, cmean, cm2, A, G, K, L, P, eps, center, train, rows, chunks):
    """y = (x − μ)·rstd·w + b row after row, with per-column μ, rstd·w, b; ``train`` takes μ, σ² first
    (``cmean``, ``cm2``: scratch, (min(chunks, ⌈A / rows⌉), G·K·L), per chunk mean offsets and M2)."""
    S = K * L
    R = G * S
    if train:
        sh = np.empty(R)  # s of each column: its group's first value (0 when not centered)
        for j in range(R):
            sh[j] = x[(j // S) * S] if center else 0.0
        nch = min(chunks, (A + rows - 1) // rows)
        check_scratch(cmean, nch, R)
        check_scratch(cm2, nch, R)
        cn = np.zeros(nch)
        for c in prange(nch):
            wide()
            s1 = np.empty(R)
            s2 = np.empty(R)
            mc = cmean[c]
            qc = cm2[c]
            mc[:] = 0.0
            qc[:] = 0.0
            n = 0
            hi = (c + 1) * A // nch
            for a0 in range(c * A // nch, hi, rows):
                a1 = min(a0 + rows, hi)
                nb = a1 - a0
                s1[:] = 0.0
                s2[:] = 0.0
                column_sums(x, x, sh, sh, s1, s2, a0, a1)
                # merge the block into the chunk (Chan)
                f = nb / (n + nb)
                h = n * f
                for j in range(R):
                    e, q = centered(s1[j], s2[j], nb, center)
                    d = e - mc[j]
                    mc[j] += d * f
                    qc[j] += q + d * d * h
                n += nb
            cn[c] = n
        # merge the chunks, column by column, then the S columns of each group (offsets from the
        # group's s): μ − s = Σ n·(column offset) / M,  M·σ² = Σ M2 + Σ n·(column offset − (μ − s))²
        M = A * S
        col = np.zeros(R)
        for c in range(nch):
            for j in range(R):
                col[j] += cn[c] * cmean[c, j]
        mu = np.empty(R)  # μ − s of each column's group
        for grp in range(G):
            m = 0.0
            for j in range(grp * S, (grp + 1) * S):
                m += col[j]
            mean[grp] = sh[grp * S] + m / M
            for j in range(grp * S, (grp + 1) * S):
                mu[j] = m / M
        col[:] = 0.0
        for c in range(nch):
            for j in range(R):
                d = cmean[c, j] - mu[j]
                col[j] += cm2[c, j] + cn[c] * d * d
        for grp in range(G):
            q = 0.0
            for j in range(grp * S, (grp + 1) * S):
                q += col[j]
            var[grp] = q / M
            rs[grp] = rstd(q / M, eps)
    cm = np.empty(R)
    cs = np.empty(R)
    cb = np.empty(R)
    for grp in range(G):
        p = (grp % P) * K
        for k in range(K):
            for j in range((grp * K + k) * L, (grp * K + k + 1) * L):
                cm[j] = mean[grp]
                cs[j] = rs[grp] * w[p + k]
                cb[j] = b[p + k]
    nch = min(A, chunks)
    for c in prange(nch):
        wide()
        for a in range(c * A // nch, (c + 1) * A // nch):
            xs = x[a * R : (a + 1) * R]
            ys = y[a * R : (a + 1) * R]
            for j in range(R):
                ys[j] = normalized(xs[j], cm[j], cs[j], cb[j])


@kernel(FAST)
def backward_rows(g, x, mean, rs, w, d, dw, db, p1, p2, A, G, K, L, P, center, train, need_dx, need_affine, chunks):
    """dx (into ``d``), and dw, db added into ``dw``, ``db``, row after row (``p1``, ``p2``: scratch,
    (min(A, chunks), G·K·L), for per chunk column sums of g and g·(x − μ))."""
    S = K * L
    R = G * S
    cm = np.empty(R)
    for grp in range(G):
        for j in range(grp * S, (grp + 1) * S):
            cm[j] = mean[grp]
    zero = np.zeros(R)
    s1 = np.zeros((G, K))  # Σg per (g, k)
    s2 = np.zeros((G, K))  # Σg·x̂ per (g, k)
    if train or need_affine:
        nch = min(A, chunks)
        check_scratch(p1, nch, R)
        check_scratch(p2, nch, R)
        for c in prange(nch):
            wide()
            t1 = p1[c]
            t2 = p2[c]
            t1[:] = 0.0
            t2[:] = 0.0
            column_sums(g, x, zero, cm, t1, t2, c * A // nch, (c + 1) * A // nch)
        col1 = np.zeros(R)
        col2 = np.zeros(R)
        add_partials(p1, col1, p2, col2)
        for grp in range(G):
            for k in range(K):
                for j in range((grp * K + k) * L, (grp * K + k + 1) * L):
                    s1[grp, k] += col1[j]
                    s2[grp, k] += col2[j]
                s2[grp, k] *= rs[grp]
        if need_affine:
            for grp in range(G):
                p = (grp % P) * K
                for k in range(K):
                    dw[p + k] += s2[grp, k]
                    db[p + k] += s1[grp, k]
    if not need_dx:
        return
    # dx = α·g − β·(x − μ) − γ with one α, β, γ per column
    alpha = np.empty(R)
    beta = np.empty(R)
    gamma = np.empty(R)
    for grp in range(G):
        r = rs[grp]
        p = (grp % P) * K
        sgw = 0.0
        sgwx = 0.0
        for k in range(K):
            sgw += s1[grp, k] * w[p + k]
            sgwx += s2[grp, k] * w[p + k]
        bg, gg = dx_terms(r, sgw, sgwx, A * S, train, center)
        for k in range(K):
            for j in range((grp * K + k) * L, (grp * K + k + 1) * L):
                alpha[j] = r * w[p + k]
                beta[j] = bg
                gamma[j] = gg
    nch = min(A, chunks)
    for c in prange(nch):
        for a in range(c * A // nch, (c + 1) * A // nch):
            dx_row(
                g[a * R : (a + 1) * R], x[a * R : (a + 1) * R], d[a * R : (a + 1) * R], cm, alpha, beta, gamma, train
            )
