"""Running sums: cumsum."""

import numpy as np
from numpy.typing import DTypeLike

from .. import _dtype
from .._tensor import Tensor
from ..autograd.function import Function
from .shape import _check_dim

__all__ = ["cumsum"]


def _running_sum(x, axis):
    """np.cumsum with a float64 running total for float16 and float32 (as PyTorch's wider accumulator):
    a float32 total of a million 0.1s would be off by 1%."""
    if x.dtype.kind == "f" and x.dtype.itemsize < 8:
        return np.cumsum(x, axis=axis, dtype=np.float64).astype(x.dtype)
    return np.cumsum(x, axis=axis)


class Cumsum(Function):
    """yᵢ = Σ_{j≤i} xⱼ along ``axis``;  dxⱼ = Σ_{i≥j} gᵢ (the running sum of g taken from the end)."""

    saves = ()

    @staticmethod
    def forward(ctx, x, axis):
        ctx.axis = axis
        return _running_sum(x, axis)

    @staticmethod
    def backward(ctx, g):
        return np.flip(_running_sum(np.flip(g, ctx.axis), ctx.axis), ctx.axis), None


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
