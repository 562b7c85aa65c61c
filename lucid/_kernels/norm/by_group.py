"""By group: a parallel loop over groups, each group worked whole while it sits in cache.

Group g is A segments of S = K·L contiguous elements, G·S apart (BatchNorm on long rows such as
(N, C, H, W); LayerNorm, RMSNorm, GroupNorm, InstanceNorm with A = 1). Training forward: the
statistics from one pass, then y from the cache: x read once, y written once. Backward: Σĝ, Σĝ·x̂,
dw and db from one pass, dx from a second that finds g and x in cache.
"""

import numpy as np
from numba import prange

from ..jit import FAST, kernel, wide
from .formulas import dx_terms
from .segments import add_partials, check_scratch, dx_group, grad_sums, group_moments, keep, normalize_group


@kernel(FAST)
def forward_groups(x, y, w, b, mean, var, rstd, A, G, K, L, P, eps, center, chunks):
    """μ, σ², rstd of each group, then y = (x − μ)·rstd·w + b, one group after the other."""
    S = K * L
    nch = min(G, chunks)
    for c in prange(nch):
        wide()
        for grp in range(c * G // nch, (c + 1) * G // nch):
            m, v = group_moments(x, grp * S, G * S, A, S, center)
            m, r = keep(mean, var, rstd, grp, m, v, eps)
            p = (grp % P) * K
            normalize_group(x, y, grp * S, G * S, A, K, L, m, r, w[p : p + K], b[p : p + K])


@kernel(FAST)
def forward_fixed(x, y, w, b, mean, rstd, A, G, K, L, P, chunks):
    """y = (x − μ)·rstd·w + b with given μ, rstd, in memory order: segment a·G + g is the K·L elements
    of group g in row a. x read once, y written once, as one stream."""
    n = A * G
    nch = min(n, chunks)
    for c in prange(nch):
        wide()
        for seg in range(c * n // nch, (c + 1) * n // nch):
            grp = seg % G
            p = (grp % P) * K
            normalize_group(x, y, seg * K * L, 0, 1, K, L, mean[grp], rstd[grp], w[p : p + K], b[p : p + K])


@kernel(FAST)
def backward_groups(
    g, x, mean, rstd, w, d, dw, db, dwp, dbp, A, G, K, L, P, center, train, need_dx, need_affine, chunks
):
    """dx (into ``d``), and dw, db added into ``dw``, ``db``, one group after the other. ``dwp``, ``dbp``:
    scratch for per chunk partial dw, db, (min(G, chunks), P·K) when ``need_affine``."""
    S = K * L
    nch = min(G, chunks)
    if need_affine:
        check_scratch(dwp, nch, P * K)
        check_scratch(dbp, nch, P * K)
    unused = np.empty(0)
    # per chunk partial dw, db: the groups sharing an affine entry may sit in different chunks
    for c in prange(nch):
        wide()
        if need_affine:
            dwp[c] = 0.0
            dbp[c] = 0.0
        for grp in range(c * G // nch, (c + 1) * G // nch):
            m = mean[grp]
            r = rstd[grp]
            p = (grp % P) * K
            sgw = 0.0
            sgwx = 0.0
            if train or need_affine:
                sgw, sgwx = grad_sums(
                    g,
                    x,
                    grp * S,
                    G * S,
                    A,
                    K,
                    L,
                    m,
                    r,
                    w[p : p + K],
                    dwp[c, p : p + K] if need_affine else unused,
                    dbp[c, p : p + K] if need_affine else unused,
                    need_affine,
                )
            if need_dx:
                beta, gamma = dx_terms(r, sgw, sgwx, A * S, train, center)
                dx_group(g, x, d, grp * S, G * S, A, K, L, m, r, w[p : p + K], beta, gamma, train)
    if need_affine:
        add_partials(dwp, dw, dbp, db)
