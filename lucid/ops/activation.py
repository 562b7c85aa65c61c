"""The activations that are Tensor methods: tanh, sigmoid, relu. Float arrays go to the ``activation``
kernels (``lucid/_kernels/activation``); other dtypes are computed by NumPy."""

import numpy as np

from .. import backends
from ..autograd.function import Function


def _act():
    return backends.kernels("activation")


def _is_float(x):
    return x.dtype.kind == "f"


class Tanh(Function):
    """y = tanh x;  dx = g·(1 − y²)."""

    saves = ("output",)

    @staticmethod
    def forward(ctx, x):
        y = _act().tanh_forward(x) if _is_float(x) else np.tanh(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return _act().tanh_backward(g, y)


def _sigmoid(x):
    # split by sign so exp never overflows
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(e.dtype, copy=False)


class Sigmoid(Function):
    """y = 1/(1 + e⁻ˣ);  dx = g·y·(1 − y)."""

    saves = ("output",)

    @staticmethod
    def forward(ctx, x):
        y = _act().sigmoid_forward(x) if _is_float(x) else _sigmoid(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return _act().sigmoid_backward(g, y)


class Relu(Function):
    """y = max(x, 0);  dx = g where y > 0, else 0."""

    saves = ("output",)

    @staticmethod
    def forward(ctx, x):
        y = _act().relu_forward(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return _act().relu_backward(g, y)
