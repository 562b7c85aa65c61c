"""The convolution kernels in NumPy: im2col + one matrix product per group, the specification.

For each output position ``o`` and kernel tap ``j`` the input element read is
``xp[..., o·stride + j·dilation]`` of the zero-padded input ``xp``. Gathering those elements
for every ``(o, j)`` gives the "columns" (im2col): one row per (input channel, tap), one
column per (output position, sample). The convolution is then ``W @ cols`` per group::

    y[n, f, o] = b[f] + Σ_c Σ_j  W[f, c, j] · xp[n, c, o·s + j·d]

    dW = g @ colsᵀ       dcols = Wᵀ @ g       db[f] = Σ_{n,o} g[n, f, o]

and ``dx`` is ``dcols`` added back to the input position each entry was read from (col2im),
then cropped to the unpadded input. Arrays: x ``(N, C, *spatial)``, w ``(F, C/groups, *kernel)``,
``pads = ((lo, hi), ...)`` per spatial axis.
"""

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def windows(xp, kernel, stride, dilation):
    """A view ``(A, *kernel, *out, B)`` of ``xp`` ``(A, *spatial, B)``: ``[a, j, o, b] = xp[a, o·s + j·d, b]``."""
    n = len(kernel)
    span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    v = sliding_window_view(xp, span, axis=tuple(range(1, 1 + n)))  # (A, *out', B, *span)
    v = v[
        (slice(None),)
        + tuple(slice(None, None, s) for s in stride)
        + (slice(None),)
        + tuple(slice(None, None, d) for d in dilation)
    ]
    return v.transpose((0,) + tuple(range(n + 2, 2 * n + 2)) + tuple(range(1, n + 2)))


def col2im(cols, padded_shape, stride, dilation):
    """The adjoint of ``windows``: add ``cols`` ``(A, *kernel, *out, B)`` into zeros of ``padded_shape``
    ``(A, *spatial, B)``."""
    n = len(stride)
    kernel, out = cols.shape[1 : 1 + n], cols.shape[1 + n : 1 + 2 * n]
    dxp = np.zeros(padded_shape, dtype=cols.dtype)
    for j in np.ndindex(*kernel):
        # the input positions tap j reads, for all outputs o at once: j·d + o·s
        where = tuple(slice(jj * d, jj * d + s * (o - 1) + 1, s) for jj, d, s, o in zip(j, dilation, stride, out))
        dxp[(slice(None),) + where] += cols[(slice(None),) + j]
    return dxp


def pad_spatial(x, pads, value=0):
    """Pad axes ``1 .. len(pads)`` of ``x`` ``(A, *spatial, B)`` by ``pads = ((lo, hi), ...)`` with ``value``."""
    if not any(lo or hi for lo, hi in pads):
        return x
    n = len(pads)
    xp = np.full(
        x.shape[:1] + tuple(L + lo + hi for L, (lo, hi) in zip(x.shape[1 : 1 + n], pads)) + x.shape[1 + n :],
        value,
        dtype=x.dtype,
    )
    xp[(slice(None),) + tuple(slice(lo, lo + L) for L, (lo, _) in zip(x.shape[1 : 1 + n], pads))] = x
    return xp


def crop_spatial(xp, pads):
    """The inverse of ``pad_spatial``."""
    return xp[(slice(None),) + tuple(slice(lo, xp.shape[1 + i] - hi) for i, (lo, hi) in enumerate(pads))]


def _columns(x, kernel, stride, pads, dilation, groups):
    """cols[g, (c, j), (o, n)] = xp[n, g·Cg + c, o·s + j·d], and the output size. Work is done in the
    layout ``(C, *spatial, N)``, batch last, so that every copy moves long contiguous runs."""
    n = len(kernel)
    xp = pad_spatial(np.moveaxis(x, 0, -1), pads)  # (C, *spatial, N)
    win = windows(xp, kernel, stride, dilation)  # (C, *kernel, *out, N)
    out = win.shape[1 + n : 1 + 2 * n]
    return win.reshape(groups, x.shape[1] // groups * math.prod(kernel), -1), out, xp.shape


def forward(x, w, b, stride, pads, dilation, groups):
    """y = b + W @ cols per group."""
    n = len(stride)
    N, F = x.shape[0], w.shape[0]
    cols, out, _ = _columns(x, w.shape[2:], stride, pads, dilation, groups)
    y = np.matmul(w.reshape(groups, F // groups, -1), cols).reshape((F,) + out + (N,))
    y = np.ascontiguousarray(np.moveaxis(y, -1, 0))  # (N, F, *out)
    if b is not None:
        y += b.reshape((F,) + (1,) * n)
    return y


def backward(g, x, w, stride, pads, dilation, groups, need_dx=True, need_dw=True, need_db=True):
    """dx = col2im(Wᵀ @ g) cropped, dW = g @ colsᵀ, db = Σ g; None where not needed."""
    n = len(stride)
    N, F, kernel = x.shape[0], w.shape[0], w.shape[2:]
    cols, out, padded_shape = _columns(x, kernel, stride, pads, dilation, groups)
    g2 = np.moveaxis(g, 0, -1).reshape(groups, F // groups, -1)  # g2[grp, f, (o, n)] = g[n, grp·Fg + f, o]
    dx = dw = db = None
    if need_dx:
        dcols = np.matmul(w.reshape(groups, F // groups, -1).transpose(0, 2, 1), g2)  # (G, Cg·K, O·N)
        dxp = col2im(dcols.reshape((padded_shape[0],) + kernel + out + (N,)), padded_shape, stride, dilation)
        dx = np.ascontiguousarray(np.moveaxis(crop_spatial(dxp, pads), -1, 0))
    if need_dw:
        dw = np.matmul(g2, cols.transpose(0, 2, 1)).reshape(w.shape)
    if need_db:
        db = g.sum(axis=(0,) + tuple(range(2, 2 + n)))
    return dx, dw, db
