"""Reductions: sum, mean, var/std, max/min, argmax."""
import numpy as np

from ..autograd.function import Function


def _axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    axis = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in axis:
        if not -ndim <= a < max(ndim, 1):
            raise IndexError(f"Dimension out of range (expected to be in range of [{-ndim}, {ndim - 1}], but got {a})")
        out.append(a % ndim if ndim else 0)
    return tuple(out)


def _expand(g, shape, axes, keepdim):
    """Put back the reduced axes so ``g`` broadcasts against the input."""
    if not keepdim:
        g = np.expand_dims(g, tuple(a for a in axes if a < len(shape)))
    return np.broadcast_to(g, shape)


class Sum(Function):
    """y = Σ x over ``axis``;  dx = g broadcast back."""

    @staticmethod
    def forward(ctx, x, axis=None, keepdim=False):
        ctx.axes, ctx.shape, ctx.keepdim = _axes(axis, x.ndim), x.shape, keepdim
        return np.asarray(x.sum(axis=ctx.axes, keepdims=keepdim))

    @staticmethod
    def backward(ctx, g):
        return _expand(g, ctx.shape, ctx.axes, ctx.keepdim)


class Mean(Function):
    """y = Σ x / n over ``axis``;  dx = g/n broadcast back."""

    @staticmethod
    def forward(ctx, x, axis=None, keepdim=False):
        ctx.axes, ctx.shape, ctx.keepdim = _axes(axis, x.ndim), x.shape, keepdim
        ctx.n = int(np.prod([x.shape[a] for a in ctx.axes])) if x.ndim else 1
        return np.asarray(x.mean(axis=ctx.axes, keepdims=keepdim))

    @staticmethod
    def backward(ctx, g):
        return _expand(g / ctx.n, ctx.shape, ctx.axes, ctx.keepdim)


class Var(Function):
    """y = Σ(x − μ)² / (n − correction);  dx = g·2(x − μ)/(n − correction)."""

    @staticmethod
    def forward(ctx, x, axis=None, correction=1, keepdim=False):
        axes = _axes(axis, x.ndim)
        n = int(np.prod([x.shape[a] for a in axes])) if x.ndim else 1
        centered = x - x.mean(axis=axes, keepdims=True)
        ctx.save_for_backward(centered)
        ctx.axes, ctx.shape, ctx.keepdim, ctx.denom = axes, x.shape, keepdim, max(n - correction, 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.asarray(np.sum(centered * centered, axis=axes, keepdims=keepdim) / ctx.denom).astype(x.dtype)

    @staticmethod
    def backward(ctx, g):
        (centered,) = ctx.saved_tensors
        with np.errstate(divide="ignore", invalid="ignore"):
            return _expand(g, ctx.shape, ctx.axes, ctx.keepdim) * (2 * centered / ctx.denom)


class MaxMin(Function):
    """Values of max (or min) over ``axis``; the gradient goes to the arg position.

    Over several positions holding the extreme value (ties) the gradient is shared
    evenly, as PyTorch does for a full reduction; over one axis (``dim=``) it goes
    to the first, the index PyTorch returns.
    """

    @staticmethod
    def forward(ctx, x, axis=None, keepdim=False, largest=True):
        red = np.max if largest else np.min
        ctx.shape, ctx.keepdim = x.shape, keepdim
        if axis is None:
            y = red(x)
            mask = x == y
            ctx.save_for_backward(mask / max(mask.sum(), 1))
            ctx.axes = tuple(range(x.ndim))
            return np.asarray(y)
        (a,) = _axes(axis, x.ndim)
        idx = (np.argmax if largest else np.argmin)(x, axis=a)
        idx = np.expand_dims(idx, a)
        mask = np.zeros(x.shape, dtype=x.dtype)
        np.put_along_axis(mask, idx, 1, axis=a)
        ctx.save_for_backward(mask)
        ctx.axes = (a,)
        y = np.take_along_axis(x, idx, axis=a)
        return y if keepdim else np.squeeze(y, a)

    @staticmethod
    def backward(ctx, g):
        (mask,) = ctx.saved_tensors
        return _expand(g, ctx.shape, ctx.axes, ctx.keepdim) * mask
