"""The pooling kernels in NumPy: the specification the compiled backend must match.

Inputs are planes ``(B, *spatial)`` (B = N·C), ``pads = ((lo, hi), ...)`` per spatial axis.
Output ``o`` looks at the taps ``j`` of ``x[o·stride + j·dilation − lo]``; taps in the padding
count for nothing (max) or as zeros (average)::

    max:  y[o] = max_j x[...],  idx[o] = the flat position in the plane of the first largest
          (a NaN wins);           dx[i] = Σ_{o: idx[o] = i} g[o]
    avg:  y[o] = Σ_j x[...] / divisor[o];    dx[i] = Σ_{o whose window holds i} g[o] / divisor[o]
"""

import math

import numpy as np

from ..conv.reference import col2im, crop_spatial, pad_spatial, windows


def max_pool_forward(x, kernel, stride, pads, dilation):
    """y and idx (int64, flat positions in the unpadded plane), both ``(B, *out)``."""
    n = len(kernel)
    low = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
    xp = pad_spatial(x[..., None], pads, low)  # (B, *padded, 1)
    win = windows(xp, kernel, stride, dilation)[..., 0]  # (B, *kernel, *out)
    out = win.shape[1 + n :]
    flat = win.reshape((x.shape[0], math.prod(kernel)) + out)  # taps on axis 1
    arg = np.argmax(flat, axis=1)  # the tap each output took (the first, on ties; a NaN wins)
    # a window whose taps are all as low as the padding took a padding tap: its first real tap instead
    inside = pad_spatial(np.ones((1,) + x.shape[1:] + (1,), bool), pads, False)
    inside = windows(inside, kernel, stride, dilation)[..., 0].reshape((1, math.prod(kernel)) + out)
    took_inside = np.take_along_axis(np.broadcast_to(inside, flat.shape), arg[:, None], axis=1)[:, 0]
    arg = np.where(took_inside, arg, np.argmax(inside, axis=1))
    y = np.take_along_axis(flat, arg[:, None], axis=1)[:, 0]
    taps = np.unravel_index(arg, kernel)
    grids = np.meshgrid(*[np.arange(o) for o in out], indexing="ij")
    pos = [gr * s + t * d - lo for gr, t, s, d, (lo, _) in zip(grids, taps, stride, dilation, pads)]
    return y, np.ravel_multi_index(pos, x.shape[1:]).astype(np.int64)


def max_pool_backward(g, idx, spatial):
    """dx ``(B, *spatial)``: each g[o] added at idx[o]."""
    B = g.shape[0]
    dx = np.zeros((B, math.prod(spatial)), dtype=g.dtype)
    n = math.prod(g.shape[1:])  # outputs per plane (-1 cannot stand for it when B = 0)
    np.add.at(dx, (np.arange(B)[:, None], idx.reshape(B, n)), g.reshape(B, n))
    return dx.reshape((B,) + tuple(spatial))


def avg_pool_forward(x, kernel, stride, pads, divisor):
    """y ``(B, *out)``; ``divisor`` (float64, ``out``) is the count each window's sum is divided by."""
    n = len(kernel)
    xp = pad_spatial(x[..., None], pads)
    win = windows(xp, kernel, stride, (1,) * n)[..., 0]  # (B, *kernel, *out)
    return (win.sum(axis=tuple(range(1, 1 + n))) / divisor).astype(x.dtype, copy=False)


def avg_pool_backward(g, spatial, kernel, stride, pads, divisor):
    """dx ``(B, *spatial)``: g[o]/divisor[o] spread over the window of o."""
    n = len(kernel)
    share = (g / divisor)[..., None]  # (B, *out, 1)
    dcols = np.broadcast_to(share[(slice(None),) + (None,) * n], share.shape[:1] + tuple(kernel) + share.shape[1:])
    padded = (g.shape[0],) + tuple(L + lo + hi for L, (lo, hi) in zip(spatial, pads)) + (1,)
    dxp = col2im(dcols, padded, stride, (1,) * n)
    return crop_spatial(dxp, pads)[..., 0].astype(g.dtype, copy=False)
