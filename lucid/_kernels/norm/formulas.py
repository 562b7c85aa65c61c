"""The norm family's math, one function per quantity, inlined into every loop that uses it.

For a group of M values with one statistic (μ, σ², rstd), an affine pair (w, b) per entry and the
incoming gradient g:

* statistics:  μ = mean(x),  σ² = mean((x − μ)²),  rstd = 1/√(σ² + ε)   (not centered: μ = 0,
  σ² = mean(x²)), taken from the sums of d = x − s for a shift s (``centered``, ``moments``);
* forward:     x̂ = (x − μ)·rstd,  y = w·x̂ + b                            (``xhat``, ``normalized``);
* backward:    with ĝ = w·g, the two sums Σĝ and Σĝ·x̂ over the group, then
               dx = rstd·(ĝ − Σĝ/M − x̂·Σ(ĝ·x̂)/M)  = α·g − β·(x − μ) − γ   (``dx_terms``, ``dx``);
               eval (fixed statistics):  dx = rstd·ĝ;   dw = Σ g·x̂,  db = Σ g.

Everything is float64 and IEEE: 1/0 = inf, 0·inf = NaN, a NaN propagates (see ``jit.JIT``).
"""

import numpy as np

from ..jit import formula

GUARD = 64  # one-pass statistics are kept while (μ − s)² ≤ GUARD·σ²: at most log2(GUARD + 1) bits lost


@formula
def rstd(var, eps):
    """rstd = 1/√(σ² + ε)."""
    return 1.0 / np.sqrt(var + eps)


@formula
def centered(s1, s2, n, center):
    """From s1 = Σd and s2 = Σd² of n values d = x − s: the mean offset e = Σd/n (μ = s + e) and
    M2 = Σ(d − e)² = s2 − e·(2·s1 − n·e), taken around e as rounded. Not centered: e = 0, M2 = s2."""
    if not center:
        return 0.0, s2
    e = s1 / n
    m2 = s2 - e * (2.0 * s1 - n * e)
    if m2 < 0.0:  # rounding; a NaN passes
        m2 = 0.0
    return e, m2


@formula
def far_from_mean(e, m2, n):
    """Whether the shift s lies more than √GUARD·σ from μ: Σd² then held mostly n·(s − μ)², and M2,
    its difference, lost more than log2(GUARD + 1) bits (take the squares again around μ)."""
    return e * e * n > GUARD * m2


@formula
def xhat(x, m, r):
    """x̂ = (x − μ)·rstd."""
    return (x - m) * r


@formula
def normalized(x, m, scale, shift):
    """y = w·x̂ + b = (x − μ)·(rstd·w) + b, given scale = rstd·w and shift = b."""
    return (x - m) * scale + shift


@formula
def dx_terms(r, sgw, sgwx, M, train, center):
    """β and γ of dx = α·g − β·(x − μ) − γ (α = rstd·w), from the sums Σĝ and Σĝ·x̂ of the group:
    training β = rstd²·Σ(ĝ·x̂)/M, γ = rstd·Σĝ/M (0 when not centered); eval β = γ = 0."""
    if not train:
        return 0.0, 0.0
    return r * r * sgwx / M, (r * sgw / M if center else 0.0)


@formula
def dx(g, x, m, alpha, beta, gamma, train):
    """Training: dx = α·g − β·(x − μ) − γ = rstd·(ĝ − Σĝ/M − x̂·Σ(ĝ·x̂)/M).  Eval: dx = α·g = rstd·ĝ."""
    if train:
        return alpha * g - beta * (x - m) - gamma
    return alpha * g
