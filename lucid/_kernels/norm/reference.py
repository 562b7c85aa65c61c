"""The normalization kernels in NumPy: the readable reference, and the fallback without numba.

Every norm of the family is one of these three calls on a 4-D view ``x`` of shape ``(A, G, K, L)``
(and ``rstd`` turns fixed variances into 1/√(σ² + ε)):

* one statistic per ``g``, taken over the ``M = A·K·L`` elements ``x[:, g, :, :]``;
* an optional affine pair ``weight, bias`` of length ``P·K``: the element
  ``x[a, g, k, l]`` uses entry ``(g mod P)·K + k``.

==============  ====================  ===  ==========
norm            view (A, G, K, L)     P    affine per
==============  ====================  ===  ==========
BatchNorm       (N, C, 1, L)          C    channel
InstanceNorm    (1, N·C, 1, L)        C    channel
GroupNorm       (1, N·G, C/G, L)      G    channel
LayerNorm       (1, rows, D, 1)       1    element of D
RMSNorm         (1, rows, D, 1)       1    element of D, ``center=False``
==============  ====================  ===  ==========

With ``center=True``:  x̂ = (x − μ)·rstd,  μ = mean(x),  σ² = mean((x − μ)²),
rstd = 1/√(σ² + ε).  With ``center=False`` (RMS):  μ = 0,  σ² = mean(x²).
Then y = w·x̂ + b.  Statistics are accumulated in float64, the variance is
taken around the mean, and y comes back in x's dtype.

Backward, with gw = g·w (the gradient with respect to x̂), sums over a group:
  training:  dx = rstd·(gw − Σgw/M − x̂·Σ(gw·x̂)/M)   (the Σgw/M term only if centered)
  eval:      dx = rstd·gw                             (statistics are constants)
  dw = Σ g·x̂,  db = Σ g   over every element using that entry.
"""

import numpy as np

IEEE = np.errstate(all="ignore")  # 1/0 = inf, 0·inf = NaN, as IEEE arithmetic says, without a warning


@IEEE
def rstd(var, eps):
    """rstd = 1/√(σ² + ε)."""
    return 1.0 / np.sqrt(var + eps)


def _affine(vec, G, P, K):
    """Per-(g, k) values of a length-P·K affine vector, as a (1, G, K, 1) array."""
    return np.tile(np.asarray(vec, dtype=np.float64).reshape(P, K), (G // P, 1))[None, :, :, None]


@IEEE
def forward_train(x, weight, bias, P, eps, center=True):
    """Normalize with the statistics of ``x`` itself. Returns ``y, mean, var, rstd`` (var biased; the
    statistics float64, shape (G,))."""
    A, G, K, L = x.shape
    M = A * K * L
    xd = x.astype(np.float64)
    mean = xd.sum(axis=(0, 2, 3)) / M if center else np.zeros(G)
    xc = xd - mean[None, :, None, None]
    var = (xc * xc).sum(axis=(0, 2, 3)) / M
    rs = rstd(var, eps)
    return _apply(xc, rs, weight, bias, P).astype(x.dtype), mean, var, rs


@IEEE
def forward_eval(x, mean, rs, weight, bias, P):
    """Normalize with given statistics (float64, shape (G,)): one pass."""
    xc = x.astype(np.float64) - mean[None, :, None, None]
    return _apply(xc, rs, weight, bias, P).astype(x.dtype)


def _apply(xc, rs, weight, bias, P):
    G, K = xc.shape[1], xc.shape[2]
    y = xc * rs[None, :, None, None]
    if weight is not None:
        y = y * _affine(weight, G, P, K)
    if bias is not None:
        y = y + _affine(bias, G, P, K)
    return y


@IEEE
def backward(g, x, mean, rs, weight, P, center=True, train=True, need_dx=True, need_affine=True):
    """Gradients ``dx`` (x's dtype), ``dw`` and ``db`` (float64, length P·K) of ``y = w·x̂ + b``."""
    A, G, K, L = x.shape
    gd = g.astype(np.float64)
    xhat = (x.astype(np.float64) - mean[None, :, None, None]) * rs[None, :, None, None]
    dx = dw = db = None
    if need_dx:
        gw = gd * _affine(weight, G, P, K) if weight is not None else gd
        if train:
            M = A * K * L
            s2 = (gw * xhat).sum(axis=(0, 2, 3), keepdims=True)
            inner = gw - xhat * s2 / M
            if center:
                inner = inner - gw.sum(axis=(0, 2, 3), keepdims=True) / M
        else:
            inner = gw
        dx = (rs[None, :, None, None] * inner).astype(x.dtype)
    if need_affine:
        # per-(g, k) sums, then the G/P groups sharing an entry are added together
        dw = (gd * xhat).sum(axis=(0, 3)).reshape(G // P, P * K).sum(axis=0)
        db = gd.sum(axis=(0, 3)).reshape(G // P, P * K).sum(axis=0)
    return dx, dw, db
