"""Running sums: cumsum."""

import numpy as np
from numpy.typing import DTypeLike

from .. import _dtype
from .._tensor import Tensor
from ..autograd.function import Function
from .shape import _check_dim

__all__ = ["cumsum"]


class Cumsum(Function):
    """yᵢ = Σ_{j≤i} xⱼ along ``axis``;  dxⱼ = Σ_{i≥j} gᵢ (the running sum of g taken from the end)."""

    saves = ()

    @staticmethod
    def forward(ctx, x, axis):
        ctx.axis = axis
        return np.cumsum(x, axis=axis)

    @staticmethod
    def backward(ctx, g):
        return np.flip(np.cumsum(np.flip(g, ctx.axis), axis=ctx.axis), ctx.axis), None


def cumsum(input: Tensor, dim: int, *, dtype: DTypeLike | None = None) -> Tensor:
    """The running sum along ``dim``; ``dtype`` casts the input first. Integers and booleans sum as int64."""
    if not isinstance(input, Tensor):
        raise TypeError(f"cumsum(): argument 'input' must be Tensor, not {type(input).__name__}")
    if dtype is not None:
        input = input.astype(_dtype.as_dtype(dtype))
    elif input.dtype.kind in "biu":
        input = input.astype(np.int64)
    if input.ndim == 0:
        return Cumsum.apply(input.reshape(1), 0).reshape(())
    return Cumsum.apply(input, _check_dim(dim, input.ndim))
