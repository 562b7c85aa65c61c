"""``linear``: the affine map of a fully connected layer."""

import math

import numpy as np

from ..._tensor import Tensor
from ...autograd.function import Function

__all__ = ["linear"]


def _rows(a):
    """``a`` as a matrix of its last axis: (∏ leading sizes, last size), also where a size is 0."""
    return a.reshape(math.prod(a.shape[:-1]), a.shape[-1])


class Linear(Function):
    """y = x·Wᵀ + b over the last axis of x;  dx = g·W,  dW = Σ gᵀ·x,  db = Σ g (sums over all leading axes)."""

    saves = (0, 1)

    @staticmethod
    def forward(ctx, x, weight, bias):
        if weight.ndim != 2:
            raise ValueError(f"linear: expected a 2D weight (out_features, in_features) (got {weight.ndim}D weight)")
        if x.ndim == 0 or x.shape[-1] != weight.shape[1]:
            raise ValueError(
                f"linear: input's last dimension must equal in_features={weight.shape[1]} "
                f"(got input of shape {tuple(x.shape)})"
            )
        if bias is not None and bias.shape != (weight.shape[0],):
            raise ValueError(f"linear: expected bias of shape ({weight.shape[0]},) (got {tuple(bias.shape)})")
        ctx.save_for_backward(x, weight)
        # one 2-D product over all leading axes: BLAS runs it far faster than a stack of small ones
        y = (_rows(x) @ weight.T).reshape(x.shape[:-1] + (weight.shape[0],))
        if bias is None:
            return y
        if np.result_type(y, bias) != y.dtype:
            return y + bias
        y += bias  # y is this product's own array: add in place, no second array
        return y

    @staticmethod
    def backward(ctx, g):
        x, weight = ctx.saved_tensors
        g2 = _rows(g)
        dx = (g2 @ weight).reshape(x.shape) if ctx.needs_input_grad[0] else None
        dw = db = None
        if ctx.needs_input_grad[1]:
            # every leading axis of x is a batch axis: flatten them and contract in one product
            dw = g2.T @ _rows(x)
        if ctx.needs_input_grad[2]:
            db = g2.sum(axis=0)
        return dx, dw, db


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``y = input·weightᵀ + bias`` for input ``(*, in_features)``, weight ``(out_features, in_features)``."""
    return Linear.apply(input, weight, bias)
