"""Activations: relu, leaky_relu, gelu, silu, sigmoid, tanh, softmax, log_softmax.

The arrays are computed by the ``activation`` and ``softmax`` kernels (``lucid/_kernels``):
one pass forward, one backward, in the input's float type. GELU's Φ is computed from erfc, so it
keeps its relative accuracy in the left tail too (the kernels state their bounds).

``inplace=True`` (relu, leaky_relu, silu) writes the result into x and returns x, inside a graph
too (``lucid.autograd.inplace``).
"""

import math
import warnings

from ... import _dtype, backends, ops
from ..._kernels.activation.reference import erf  # noqa: F401 (erf without SciPy, for the docs and tests)
from ..._tensor import Tensor
from ...autograd.function import Function
from ...autograd.inplace import change as inplace_change

__all__ = ["relu", "leaky_relu", "gelu", "silu", "sigmoid", "tanh", "softmax", "log_softmax"]


def _act():
    return backends.kernels("activation")


def _soft():
    return backends.kernels("softmax")


class LeakyRelu(Function):
    """y = x if x > 0 else s·x;  dx = g if x > 0 else s·g."""

    saves = (0,)

    @staticmethod
    def forward(ctx, x, slope):
        ctx.save_for_backward(x)
        ctx.slope = slope
        return _act().leaky_relu_forward(x, slope)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return _act().leaky_relu_backward(g, x, ctx.slope), None


class Gelu(Function):
    """y = x·Φ(x), Φ the standard normal CDF;  dx = g·(Φ(x) + x·φ(x)), φ(x) = e^(−x²/2)/√(2π).

    backward takes Φ(x) = y/x from the output while it is as the forward left it (the next layer
    usually keeps it anyway), else computes Φ(x) again."""

    saves = (0,)
    spare_output = True

    @staticmethod
    def forward(ctx, x):
        y = _act().gelu_forward(x)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        return _act().gelu_backward(g, x, y if ctx.output_unchanged() else None)


class GeluTanh(Function):
    """y = x/2·(1 + tanh u),  u = √(2/π)·(x + 0.044715x³);
    dx = g·[(1 + tanh u)/2 + x/2·(1 − tanh²u)·√(2/π)·(1 + 3·0.044715x²)]."""

    saves = (0,)

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _act().gelu_tanh_forward(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return _act().gelu_tanh_backward(g, x)


class Silu(Function):
    """y = x·σ(x);  dx = g·σ(x)·(1 + x·(1 − σ(x)))."""

    saves = (0,)

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _act().silu_forward(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return _act().silu_backward(g, x)


def _rows(a, dim):
    """``a`` viewed ``(A, D, B)`` with D the axis ``dim`` (a 0-d ``a``, whose dim is None: one row of one)."""
    if dim is None:
        return a.reshape(1, 1, 1)
    return a.reshape(math.prod(a.shape[:dim]), a.shape[dim], math.prod(a.shape[dim + 1 :]))


class Softmax(Function):
    """y = eˣ/Σeˣ along ``dim`` (shifted by the max, so exp never overflows);  dx = y·(g − Σ g·y)."""

    saves = ("output",)

    @staticmethod
    def forward(ctx, x, dim):
        y = _soft().softmax_forward(_rows(x, dim)).reshape(x.shape)
        ctx.save_for_backward(y)
        ctx.dim = dim
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return _soft().softmax_backward(_rows(g, ctx.dim), _rows(y, ctx.dim)).reshape(y.shape), None


def _log_softmax(x, dim):
    """x − m − log Σ e^(x−m), m = max x: the log-sum-exp trick (NumPy arrays)."""
    return _soft().log_softmax_forward(_rows(x, dim)).reshape(x.shape)


class LogSoftmax(Function):
    """y = x − log Σeˣ along ``dim`` (via log-sum-exp);  dx = g − eʸ·Σg."""

    saves = ("output",)

    @staticmethod
    def forward(ctx, x, dim):
        y = _log_softmax(x, dim)
        ctx.save_for_backward(y)
        ctx.dim = dim
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return _soft().log_softmax_backward(_rows(g, ctx.dim), _rows(y, ctx.dim)).reshape(y.shape), None


# ---- the functional forms ---------------------------------------------------------------
def _tensor(x, fn):
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}(): argument 'input' must be a Tensor (got {type(x).__name__})")
    return x


def _floating(x, fn):
    """x, a Tensor of a floating dtype: these activations have no integer form (PyTorch raises too)."""
    _tensor(x, fn)
    if not _dtype.is_floating(x.dtype):
        raise TypeError(f"{fn}(): expected a floating point input (float16, float32 or float64), got {x.dtype}")
    return x


def relu(input, inplace=False):
    """max(x, 0); ``inplace``: written into x, which is returned."""
    _tensor(input, "relu")
    return inplace_change(input, ops.relu, "relu_", reads_x=False) if inplace else ops.relu(input)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """x for x > 0, ``negative_slope``·x otherwise; ``inplace``: written into x, which is returned."""
    _floating(input, "leaky_relu")
    if inplace:
        return inplace_change(input, lambda x: LeakyRelu.apply(x, negative_slope), "leaky_relu_")
    return LeakyRelu.apply(input, negative_slope)


def gelu(input, approximate="none"):
    """x·Φ(x) (``approximate='none'``, exact, via erf) or its tanh approximation (``approximate='tanh'``)."""
    _floating(input, "gelu")
    if approximate == "none":
        return Gelu.apply(input)
    if approximate == "tanh":
        return GeluTanh.apply(input)
    raise ValueError(f"approximate argument must be either 'none' or 'tanh' (got {approximate!r})")


def silu(input, inplace=False):
    """x·σ(x) (also called swish); ``inplace``: written into x, which is returned."""
    _floating(input, "silu")
    return inplace_change(input, Silu.apply, "silu_") if inplace else Silu.apply(input)


def sigmoid(input):
    """1/(1 + e⁻ˣ)."""
    return ops.sigmoid(_tensor(input, "sigmoid"))


def tanh(input):
    return ops.tanh(_tensor(input, "tanh"))


def _softmax_dim(input, dim, fn):
    if dim is None:
        # PyTorch's legacy rule for a missing dim, with its warning
        warnings.warn(
            f"Implicit dimension choice for {fn} has been deprecated. Change the call to include dim=X as an argument.",
            stacklevel=3,
        )
        dim = 0 if input.ndim in (0, 1, 3) else 1
    n = max(input.ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    return dim % n if input.ndim else None


def _cast(input, dtype):
    return input if dtype is None else ops.astype(input, _dtype.as_dtype(dtype))


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    """eˣ/Σeˣ along ``dim``; ``dtype`` casts the input first."""
    dim = _softmax_dim(_tensor(input, "softmax"), dim, "softmax")
    return Softmax.apply(_floating(_cast(input, dtype), "softmax"), dim)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    """log(eˣ/Σeˣ) along ``dim``, computed as x − log-sum-exp(x); ``dtype`` casts the input first."""
    dim = _softmax_dim(_tensor(input, "log_softmax"), dim, "log_softmax")
    return LogSoftmax.apply(_floating(_cast(input, dtype), "log_softmax"), dim)
