"""Reductions: sum, mean, var/std, max/min.

Each takes ``axis`` (an int, a tuple of ints, or None for all) and ``keepdim``.
Each backward first puts the reduced axes back (``_expand``), so the gradient
lines up with the input again.
"""

import math

import numpy as np

from ..autograd.function import Function


def _axes(axis, ndim):
    """``axis`` as a tuple of non-negative ints (all axes for None), checked against ``ndim``."""
    axis = (axis,) if isinstance(axis, (int, np.integer)) or axis is None else tuple(axis)
    if axis in ((None,), ()):  # no dim, or an empty list of dims: every axis, as in PyTorch
        return tuple(range(ndim))
    n = max(ndim, 1)  # a 0-d tensor takes dim 0 or -1, as in PyTorch
    for a in axis:
        if not -n <= a < n:
            raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {a})")
    axes = [a % n for a in axis]
    for a in axes:
        if axes.count(a) > 1:
            raise RuntimeError(f"dim {a} appears multiple times in the list of dims")
    return tuple(sorted(axes)) if ndim else ()


def _count(shape, axes):
    return math.prod(shape[a] for a in axes) if shape else 1


def _expand(g, shape, axes, keepdim):
    """Put back the reduced axes of ``g`` so it broadcasts against an input of ``shape``."""
    if not keepdim and shape:
        g = np.expand_dims(g, axes)
    return np.broadcast_to(g, shape)


class Sum(Function):
    """y = Σ x over ``axis``;  dx = g broadcast back."""

    saves = ()

    @staticmethod
    def forward(ctx, x, axis=None, keepdim=False):
        ctx.axes, ctx.shape, ctx.keepdim = _axes(axis, x.ndim), x.shape, keepdim
        return x.sum(axis=ctx.axes, keepdims=keepdim)

    @staticmethod
    def backward(ctx, g):
        return _expand(g, ctx.shape, ctx.axes, ctx.keepdim)


class Mean(Function):
    """y = Σ x / n over ``axis``;  dx = g/n broadcast back."""

    saves = ()

    @staticmethod
    def forward(ctx, x, axis=None, keepdim=False):
        ctx.axes, ctx.shape, ctx.keepdim = _axes(axis, x.ndim), x.shape, keepdim
        ctx.n = _count(x.shape, ctx.axes)
        return x.mean(axis=ctx.axes, keepdims=keepdim)

    @staticmethod
    def backward(ctx, g):
        return _expand(g / ctx.n, ctx.shape, ctx.axes, ctx.keepdim)


def _centered(ctx, x, axis, correction, keepdim):
    """x − mean(x) over ``axis``, and the divisor n − correction; both left on ctx for backward."""
    ctx.axes, ctx.shape, ctx.keepdim = _axes(axis, x.ndim), x.shape, keepdim
    ctx.denom = max(_count(x.shape, ctx.axes) - correction, 0)
    return x - x.mean(axis=ctx.axes, keepdims=True)


class Var(Function):
    """y = Σ(x − μ)² / (n − correction);  dx = g·2(x − μ)/(n − correction)."""

    saves = (0,)

    @staticmethod
    def forward(ctx, x, axis=None, correction=1, keepdim=False):
        centered = _centered(ctx, x, axis, correction, keepdim)
        ctx.save_for_backward(centered)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.sum(centered * centered, axis=ctx.axes, keepdims=keepdim) / ctx.denom

    @staticmethod
    def backward(ctx, g):
        (centered,) = ctx.saved_tensors
        with np.errstate(divide="ignore", invalid="ignore"):
            return _expand(g, ctx.shape, ctx.axes, ctx.keepdim) * centered * 2 / ctx.denom


class Std(Function):
    """y = √var(x);  dx = g·(x − μ)/((n − correction)·y), and 0 where y = 0 (as PyTorch)."""

    saves = (0, "output")

    @staticmethod
    def forward(ctx, x, axis=None, correction=1, keepdim=False):
        centered = _centered(ctx, x, axis, correction, keepdim)
        with np.errstate(divide="ignore", invalid="ignore"):
            y = np.sqrt(np.sum(centered * centered, axis=ctx.axes, keepdims=keepdim) / ctx.denom)
        ctx.save_for_backward(centered, y)
        return y

    @staticmethod
    def backward(ctx, g):
        centered, y = ctx.saved_tensors
        with np.errstate(divide="ignore", invalid="ignore"):
            gy = np.where(y == 0, 0, g / (ctx.denom * y))
        return _expand(gy, ctx.shape, ctx.axes, ctx.keepdim) * centered


class MaxMin(Function):
    """Max (``largest=True``) or min over all elements, or over one ``axis``.

    Over all elements (``axis=None``): the value; its gradient is shared evenly by
    every position holding it, as PyTorch does. Over one axis: ``(values, indices)``;
    the gradient goes to the position in ``indices`` (the first extreme one).
    NaN counts as the extreme value, so it propagates.
    """

    saves = (0, "output")

    @staticmethod
    def forward(ctx, x, axis=None, keepdim=False, largest=True):
        ctx.shape, ctx.keepdim, ctx.over_all = x.shape, keepdim, axis is None
        name = "max" if largest else "min"
        if axis is None:
            if x.size == 0:
                raise RuntimeError(f"{name}(): cannot reduce an empty tensor (shape {x.shape})")
            y = np.max(x) if largest else np.min(x)
            hits = (x == y) | (np.isnan(x) & np.isnan(y)) if x.dtype.kind in "fc" else x == y
            ctx.save_for_backward(hits, np.count_nonzero(hits))
            return y
        if not isinstance(axis, (int, np.integer)):
            raise TypeError(f"max/min: dim must be an int (got {axis!r})")
        if x.ndim == 0:  # dim 0 (or -1) of a 0-d tensor: the value itself, at index 0
            _axes(axis, 0)
            ctx.save_for_backward(None)
            return x.copy(), np.zeros((), np.int64)
        ctx.saves = ()  # over one axis backward reads only the indices
        (a,) = ctx.axes = _axes(axis, x.ndim)
        if x.shape[a] == 0:  # other empty axes are fine: an empty result
            raise RuntimeError(f"{name}(): expected reduction dim {axis} to have non-zero size (shape {x.shape})")
        idx = np.expand_dims(np.argmax(x, axis=a) if largest else np.argmin(x, axis=a), a)
        ctx.save_for_backward(idx)
        y = np.take_along_axis(x, idx, axis=a)
        return (y, idx) if keepdim else (np.squeeze(y, a), np.squeeze(idx, a))

    @staticmethod
    def backward(ctx, g, g_indices=None):
        if ctx.over_all:
            hits, count = ctx.saved_tensors
            return np.where(hits, g / count, 0)
        (idx,) = ctx.saved_tensors
        if idx is None:
            return g
        dx = np.zeros(ctx.shape, dtype=g.dtype)
        a = ctx.axes[0]
        np.put_along_axis(dx, idx, g if ctx.keepdim else np.expand_dims(g, a), axis=a)
        return dx


class AMaxMin(Function):
    """y = max (``largest``) or min over ``axis`` (an int, a tuple, or None for all); the gradient of each
    result is shared evenly by the positions that hold it (NaN counts as the extreme value), as PyTorch."""

    saves = ()

    @staticmethod
    def forward(ctx, x, axis=None, keepdim=False, largest=True):
        ctx.axes, ctx.shape, ctx.keepdim = _axes(axis, x.ndim), x.shape, keepdim
        if x.size == 0 and (not ctx.axes or any(x.shape[a] == 0 for a in ctx.axes)):
            raise RuntimeError(f"{'amax' if largest else 'amin'}(): cannot reduce over an empty dimension")
        y = (np.max if largest else np.min)(x, axis=ctx.axes, keepdims=True)
        hits = (x == y) | (np.isnan(x) & np.isnan(y)) if x.dtype.kind in "fc" else x == y
        ctx.hits, ctx.count = hits, hits.sum(axis=ctx.axes, keepdims=True)
        return y if keepdim else np.squeeze(y, ctx.axes)

    @staticmethod
    def backward(ctx, g):
        g = _expand(g, ctx.shape, ctx.axes, ctx.keepdim)
        return np.where(ctx.hits, g / np.broadcast_to(ctx.count, ctx.shape), 0)


class LogSumExp(Function):
    """y = log Σ eˣ over ``axis``, taken as m + log s, s = Σ e^(x − m), m the largest x (no overflow);
    dx = g·e^(x − m)/s, the softmax (from s, not from the rounded y)."""

    saves = (0,)

    @staticmethod
    def forward(ctx, x, axis=None, keepdim=False):
        ctx.axes, ctx.shape, ctx.keepdim = _axes(axis, x.ndim), x.shape, keepdim
        m = np.max(x, axis=ctx.axes, keepdims=True) if x.size else np.zeros((1,) * x.ndim, x.dtype)
        m = np.where(np.isfinite(m), m, 0)  # all −inf (or an inf): the sum itself gives −inf, inf or NaN
        s = np.sum(np.exp(x - m), axis=ctx.axes, keepdims=True)
        with np.errstate(divide="ignore"):
            y = np.log(s) + m
        ctx.save_for_backward(x, m, s)
        return y if keepdim else np.squeeze(y, ctx.axes)

    @staticmethod
    def backward(ctx, g):
        x, m, s = ctx.saved_tensors
        with np.errstate(invalid="ignore", divide="ignore"):
            return _expand(g, ctx.shape, ctx.axes, ctx.keepdim) * (np.exp(x - m) / s)


class Prod(Function):
    """y = Π x over ``axis``;  dx = g·(the product of the others), from products taken from either
    side (exact where some x are 0, no division)."""

    saves = (0,)

    @staticmethod
    def forward(ctx, x, axis=None, keepdim=False):
        ctx.axes, ctx.shape, ctx.keepdim = _axes(axis, x.ndim), x.shape, keepdim
        ctx.save_for_backward(x)
        return np.prod(x, axis=ctx.axes, keepdims=keepdim, dtype=x.dtype)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        kept = [a for a in range(x.ndim) if a not in ctx.axes]
        moved = np.transpose(x, kept + list(ctx.axes))  # the reduced axes last, flattened into one
        rows = moved.reshape(moved.shape[: len(kept)] + (-1,))
        ones = np.ones(rows.shape[:-1] + (1,), dtype=rows.dtype)
        before = np.cumprod(np.concatenate([ones, rows[..., :-1]], axis=-1), axis=-1)
        after = np.cumprod(np.concatenate([ones, rows[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
        others = (before * after).reshape(moved.shape)
        others = np.transpose(others, np.argsort(kept + list(ctx.axes)))
        return _expand(g, ctx.shape, ctx.axes, ctx.keepdim) * others
