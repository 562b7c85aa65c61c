"""By segment: A = 1 (LayerNorm, RMSNorm, GroupNorm, InstanceNorm), where group g is the one
contiguous segment x[g·S:(g+1)·S]; two neighbouring groups share a loop.

Training forward on segments of several affine entries (L > 1): the sums of group g + 1 are taken
in the loop that writes y of group g, so that one segment streams in from memory while the other
streams out. Training backward: rows of single elements (L = 1) two at a time, their sums in one
loop that loads and stores dw and db once for both; longer segments take the sums of group g + 1
in the loop that writes dx of group g.
"""

import numpy as np
from numba import prange

from ..jit import FAST, kernel, loop, wide
from .formulas import dx, dx_terms, normalized, xhat
from .segments import (
    add_partials,
    check_scratch,
    dx_segment,
    grad_sums,
    keep,
    moments_from_sums,
    normalize,
    row_grad_sums,
    shifted_sums,
)


@loop(FAST)
def normalize_then_sums(xs, ys, m, r, w, b, K, L, xn, sn):
    """``normalize`` this segment and, in the same loops, Σ(xn − sn) and Σ(xn − sn)² of the next."""
    wide()
    t1 = 0.0
    t2 = 0.0
    if L == 1:
        for k in range(K):
            ys[k] = normalized(xs[k], m, r * w[k], b[k])
            d = xn[k] - sn
            t1 += d
            t2 += d * d
        return t1, t2
    for k in range(K):
        scale = r * w[k]
        shift = b[k]
        xk = xs[k * L : (k + 1) * L]
        yk = ys[k * L : (k + 1) * L]
        nk = xn[k * L : (k + 1) * L]
        for i in range(L):
            yk[i] = normalized(xk[i], m, scale, shift)
            d = nk[i] - sn
            t1 += d
            t2 += d * d
    return t1, t2


@kernel(FAST)
def forward_segments(x, y, w, b, mean, var, rstd, G, K, L, P, eps, center, chunks):
    """Training forward for A = 1 and L > 1: μ, σ², rstd of each group and y = (x − μ)·rstd·w + b, the
    sums of group g + 1 taken in the loop that writes y of group g."""
    S = K * L
    nch = min(G, chunks)
    for c in prange(nch):
        wide()
        g0 = c * G // nch
        g1 = (c + 1) * G // nch
        sh = x[g0 * S] if center else 0.0
        s1, s2 = shifted_sums(x[g0 * S : (g0 + 1) * S], sh)
        for grp in range(g0, g1):
            o = grp * S
            m, v = moments_from_sums(x, o, S, 1, S, sh, s1, s2, center)
            m, r = keep(mean, var, rstd, grp, m, v, eps)
            p = (grp % P) * K
            if grp + 1 == g1:
                normalize(x[o : o + S], y[o : o + S], m, r, w[p : p + K], b[p : p + K], K, L)
            else:
                sh = x[o + S] if center else 0.0
                s1, s2 = normalize_then_sums(
                    x[o : o + S], y[o : o + S], m, r, w[p : p + K], b[p : p + K], K, L, x[o + S : o + 2 * S], sh
                )


@loop(FAST)
def row_pair_grad_sums(g0, x0, m0, r0, g1, x1, m1, r1, w, dw, db):
    """``row_grad_sums`` of two rows that share w, with dw and db loaded and stored once for both."""
    wide()
    a0 = 0.0
    a1 = 0.0
    b0 = 0.0
    b1 = 0.0
    for i in range(w.size):
        h0 = g0[i] * xhat(x0[i], m0, r0)
        h1 = g1[i] * xhat(x1[i], m1, r1)
        a0 += g0[i] * w[i]
        a1 += g1[i] * w[i]
        b0 += h0 * w[i]
        b1 += h1 * w[i]
        dw[i] += h0 + h1
        db[i] += np.float64(g0[i]) + g1[i]
    return a0, a1, b0, b1


@loop(FAST)
def dx_then_dot_sums(gs, xs, ds, m, alpha, beta, gamma, gn, xn, mn):
    """dx over a stretch with one affine entry and, in the same loop, Σgn and Σgn·(xn − mn) of the next."""
    wide()
    t1 = 0.0
    t2 = 0.0
    for i in range(xs.size):
        ds[i] = dx(gs[i], xs[i], m, alpha, beta, gamma, True)
        t1 += gn[i]
        t2 += gn[i] * (xn[i] - mn)
    return t1, t2


@kernel(FAST)
def backward_segments(g, x, mean, rstd, w, d, dw, db, dwp, dbp, G, K, L, P, center, need_affine, chunks):
    """Training backward for A = 1: dx into ``d``, and, when ``need_affine``, dw, db added into ``dw``,
    ``db`` (``dwp``, ``dbp``: scratch, (min(G, chunks), P·K))."""
    S = K * L
    nch = min(G, chunks)
    if need_affine:
        check_scratch(dwp, nch, P * K)
        check_scratch(dbp, nch, P * K)
    for c in prange(nch):
        wide()
        g0 = c * G // nch
        g1 = (c + 1) * G // nch
        dwc = dwp[c] if need_affine else np.empty(0)
        dbc = dbp[c] if need_affine else np.empty(0)
        if need_affine:
            dwc[:] = 0.0
            dbc[:] = 0.0
        if L == 1:
            grp = g0
            while grp < g1:
                o = grp * K
                m = mean[grp]
                r = rstd[grp]
                p = (grp % P) * K
                step = 1
                if need_affine and P == 1 and grp + 1 < g1:
                    m1 = mean[grp + 1]
                    r1 = rstd[grp + 1]
                    o1, o2 = o + K, o + 2 * K  # the second row of the pair
                    sgw, sgw1, sgwx, sgwx1 = row_pair_grad_sums(
                        g[o:o1], x[o:o1], m, r, g[o1:o2], x[o1:o2], m1, r1, w, dwc, dbc
                    )
                    beta, gamma = dx_terms(r1, sgw1, sgwx1, K, True, center)
                    dx_segment(g[o1:o2], x[o1:o2], d[o1:o2], m1, r1, w, beta, gamma, K, 1, True)
                    step = 2
                else:
                    sgw, sgwx = row_grad_sums(
                        g[o : o + K],
                        x[o : o + K],
                        w[p : p + K],
                        m,
                        r,
                        dwc[p : p + K] if need_affine else dwc,
                        dbc[p : p + K] if need_affine else dbc,
                        need_affine,
                    )
                beta, gamma = dx_terms(r, sgw, sgwx, K, True, center)
                dx_segment(g[o : o + K], x[o : o + K], d[o : o + K], m, r, w[p : p + K], beta, gamma, K, 1, True)
                grp += step
            continue
        p = (g0 % P) * K
        sgw, sgwx = grad_sums(
            g,
            x,
            g0 * S,
            S,
            1,
            K,
            L,
            mean[g0],
            rstd[g0],
            w[p : p + K],
            dwc[p : p + K] if need_affine else dwc,
            dbc[p : p + K] if need_affine else dbc,
            need_affine,
        )
        for grp in range(g0, g1):
            o = grp * S
            m = mean[grp]
            r = rstd[grp]
            p = (grp % P) * K
            beta, gamma = dx_terms(r, sgw, sgwx, S, True, center)
            if grp + 1 == g1:
                dx_segment(g[o : o + S], x[o : o + S], d[o : o + S], m, r, w[p : p + K], beta, gamma, K, L, True)
                continue
            # dx of this group; Σĝ, Σĝ·x̂ (and dw, db) of the next in the same loops
            on = o + S
            mn = mean[grp + 1]
            rn = rstd[grp + 1]
            pn = ((grp + 1) % P) * K
            sgw = 0.0
            sgwx = 0.0
            for k in range(K):
                t1, t2 = dx_then_dot_sums(
                    g[o + k * L : o + (k + 1) * L],
                    x[o + k * L : o + (k + 1) * L],
                    d[o + k * L : o + (k + 1) * L],
                    m,
                    r * w[p + k],
                    beta,
                    gamma,
                    g[on + k * L : on + (k + 1) * L],
                    x[on + k * L : on + (k + 1) * L],
                    mn,
                )
                t2 *= rn
                sgw += t1 * w[pn + k]
                sgwx += t2 * w[pn + k]
                if need_affine:
                    dwc[pn + k] += t2
                    dbc[pn + k] += t1
    if need_affine:
        add_partials(dwp, dw, dbp, db)
