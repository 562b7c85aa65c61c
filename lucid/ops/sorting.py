"""Ordering ops: sort, argsort, topk. Values move to new places; the gradient moves back by the same indices.

Order is NumPy's stable sort; NaN counts as larger than every number (as in PyTorch):
last in an ascending sort, first in a descending one.
"""

from collections import namedtuple

import numpy as np

from .._tensor import Tensor
from ..autograd.function import Function
from .shape import _check_dim

__all__ = ["sort", "argsort", "topk"]

sort_result = namedtuple("sort", ["values", "indices"])
topk_result = namedtuple("topk", ["values", "indices"])


def _order(x, axis, descending):
    """Indices that sort ``x`` along ``axis``, stable (equal values keep their order) both ways."""
    if not descending:
        return np.argsort(x, axis=axis, kind="stable")
    # sort the reversed array ascending, then reverse back: descending, with ties still in their first order
    n = x.shape[axis]
    flipped = np.argsort(np.flip(x, axis), axis=axis, kind="stable")
    return np.flip(n - 1 - flipped, axis)


class Pick(Function):
    """y = x taken along ``axis`` at ``indices`` (each position at most once);  dx = g put back there, 0 elsewhere.

    Backward reads only the indices, and a copy of them: sort and topk also return ``indices`` as a Tensor,
    which may be changed in place (PyTorch keeps that output and raises; lucid's gradient stays right)."""

    saves = ()

    @staticmethod
    def forward(ctx, x, axis, indices):
        ctx.shape, ctx.axis = x.shape, axis
        ctx.indices = indices.copy() if ctx.needs_input_grad[0] else indices
        return np.take_along_axis(x, indices, axis)

    @staticmethod
    def backward(ctx, g):
        dx = np.zeros(ctx.shape, dtype=g.dtype)
        np.put_along_axis(dx, ctx.indices, g, ctx.axis)
        return dx, None, None


def _input(x, fn):
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}(): argument 'input' must be Tensor, not {type(x).__name__}")
    return x


def _sorted(input, dim, descending, fn):
    """(the 1-D-at-least view of input, its axis, the sorting indices)."""
    x = _input(input, fn)
    if x.ndim == 0:
        return x.reshape(1), 0, np.zeros(1, np.int64)
    axis = _check_dim(dim, x.ndim)
    return x, axis, _order(x.data, axis, descending).astype(np.int64)


def sort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> tuple[Tensor, Tensor]:
    """``(values, indices)``: ``input`` sorted along ``dim``; ``values = input.gather(dim, indices)``."""
    x, axis, idx = _sorted(input, dim, descending, "sort")
    values = Pick.apply(x, axis, idx)
    if input.ndim == 0:
        return sort_result(values.reshape(()), Tensor._from_array(idx.reshape(())))
    return sort_result(values, Tensor._from_array(idx))


def argsort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    """The indices that sort ``input`` along ``dim`` (int64, no gradient)."""
    x, axis, idx = _sorted(input, dim, descending, "argsort")
    return Tensor._from_array(idx.reshape(input.shape))


def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> tuple[Tensor, Tensor]:
    """``(values, indices)`` of the ``k`` largest (``largest=False``: smallest) elements along ``dim``, in order."""
    x, axis, idx = _sorted(input, dim, largest, "topk")
    if not 0 <= k <= x.shape[axis]:
        raise RuntimeError(
            f"topk(): selected index k out of range (k = {k}, size of dimension {dim} is {x.shape[axis]})"
        )
    idx = np.take(idx, np.arange(k), axis=axis)
    values = Pick.apply(x, axis, idx)
    if input.ndim == 0:
        return topk_result(values.reshape(() if k else (0,)), Tensor._from_array(idx.reshape(() if k else (0,))))
    return topk_result(values, Tensor._from_array(idx))
