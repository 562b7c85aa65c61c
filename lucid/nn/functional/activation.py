"""Activations: relu, leaky_relu, gelu, silu, sigmoid, tanh, softmax, log_softmax.

``inplace=True`` is accepted where PyTorch has it, for the same call signatures; lucid
always returns a new tensor (autograd never sees an array change behind its back).
"""
import math
import warnings

import numpy as np

from ... import ops
from ..._tensor import Tensor
from ... import _dtype
from ...autograd.function import Function

__all__ = ["relu", "leaky_relu", "gelu", "silu", "sigmoid", "tanh", "softmax", "log_softmax"]


# ---- erf, without SciPy ----------------------------------------------------------
_ERF_CUT = 2.0  # below: the power series; above: the continued fraction for erfc


def _exp_minus_square(z):
    """exp(−z²) with z² split in an exact part and a small part, so that large z lose no digits."""
    hi = np.floor(z * 4096) / 4096  # few enough bits that hi·hi is exact
    return np.exp(-hi * hi) * np.exp(-(z - hi) * (z + hi))


def _erf_series(z):
    """erf z = (2/√π)·e^(−z²)·Σₙ (2z²)ⁿ·z / (1·3·5···(2n+1)): every term positive, so no cancellation."""
    term = z.copy()
    total = z.copy()
    two_z2 = 2 * z * z
    n = 0
    while True:
        term = term * two_z2 / (2 * n + 3)
        total += term
        n += 1
        if np.all(np.abs(term) <= 1e-17 * np.abs(total)):
            break
    return 2 / math.sqrt(math.pi) * _exp_minus_square(z) * total


def _erfc_cf(z, depth=60):
    """erfc z = e^(−z²)/√π · 1/(z + (1/2)/(z + 1/(z + (3/2)/(z + ...)))) for z ≥ 2, evaluated from the tail."""
    t = z.copy()
    for k in range(depth, 0, -1):
        t = z + (k / 2) / t
    with np.errstate(invalid="ignore"):
        return np.where(np.isinf(z), 0.0, _exp_minus_square(z) / (math.sqrt(math.pi) * t))


def _erfc_pos(a):
    """erfc of a ≥ 0 (or NaN), to a relative accuracy of about 1e-13 and better."""
    out = np.empty_like(a)
    small = a < _ERF_CUT
    out[small] = 1 - _erf_series(a[small])
    out[~small] = _erfc_cf(a[~small])
    return out


def erf(x):
    """The error function erf x = (2/√π)·∫₀ˣ e^(−t²) dt, elementwise on a float64 array."""
    x = np.asarray(x, dtype=np.float64)
    a = np.abs(x)
    out = np.empty_like(x)
    small = a < _ERF_CUT
    out[small] = _erf_series(x[small])
    out[~small] = np.sign(x[~small]) * (1 - _erfc_cf(a[~small]))
    return out


def normal_cdf(x):
    """Φ(x) = (1 + erf(x/√2))/2, accurate in relative terms for negative x too (via erfc)."""
    x = np.asarray(x, dtype=np.float64)
    a = np.abs(x) / math.sqrt(2)
    half_tail = 0.5 * _erfc_pos(a)  # = Φ(−|x|)
    return np.where(x < 0, half_tail, 1 - half_tail)


# ---- the Functions ------------------------------------------------------------------
class LeakyRelu(Function):
    """y = x if x > 0 else s·x;  dx = g if x > 0 else s·g."""

    saves = (0,)

    @staticmethod
    def forward(ctx, x, slope):
        pos = x > 0
        ctx.save_for_backward(pos)
        ctx.slope = slope
        return np.where(pos, x, x * slope).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        (pos,) = ctx.saved_tensors
        return np.where(pos, g, g * ctx.slope), None


class Gelu(Function):
    """y = x·Φ(x), Φ the standard normal CDF;  dx = g·(Φ(x) + x·φ(x)), φ(x) = e^(−x²/2)/√(2π)."""

    saves = (0,)

    @staticmethod
    def forward(ctx, x):
        cdf = normal_cdf(x).astype(x.dtype, copy=False)
        ctx.save_for_backward(x, cdf)
        with np.errstate(invalid="ignore"):  # −inf·0 is NaN, as in PyTorch
            return x * cdf

    @staticmethod
    def backward(ctx, g):
        x, cdf = ctx.saved_tensors
        pdf = np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
        return g * (cdf + x * pdf)


_K = math.sqrt(2 / math.pi)


class GeluTanh(Function):
    """y = x/2·(1 + tanh u),  u = √(2/π)·(x + 0.044715x³);
    dx = g·[(1 + tanh u)/2 + x/2·(1 − tanh²u)·√(2/π)·(1 + 3·0.044715x²)]."""

    saves = (0,)

    @staticmethod
    def forward(ctx, x):
        t = np.tanh(_K * (x + 0.044715 * x * x * x))
        ctx.save_for_backward(x, t)
        return 0.5 * x * (1 + t)

    @staticmethod
    def backward(ctx, g):
        x, t = ctx.saved_tensors
        du = _K * (1 + 3 * 0.044715 * x * x)
        return g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du)


class Silu(Function):
    """y = x·σ(x);  dx = g·σ(x)·(1 + x·(1 − σ(x)))."""

    saves = (0,)

    @staticmethod
    def forward(ctx, x):
        s = ops.elementwise._sigmoid(x)
        ctx.save_for_backward(x, s)
        return x * s

    @staticmethod
    def backward(ctx, g):
        x, s = ctx.saved_tensors
        return g * s * (1 + x * (1 - s))


class Softmax(Function):
    """y = eˣ/Σeˣ along ``dim`` (shifted by the max, so exp never overflows);  dx = y·(g − Σ g·y)."""

    saves = ("output",)

    @staticmethod
    def forward(ctx, x, dim):
        e = np.exp(x - np.max(x, axis=dim, keepdims=True))
        y = e / e.sum(axis=dim, keepdims=True)
        ctx.save_for_backward(y)
        ctx.dim = dim
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return y * (g - np.sum(g * y, axis=ctx.dim, keepdims=True)), None


def _log_softmax(x, dim):
    """x − m − log Σ e^(x−m), m = max x: the log-sum-exp trick (NumPy arrays)."""
    shifted = x - np.max(x, axis=dim, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=dim, keepdims=True))


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
        return g - np.exp(y) * np.sum(g, axis=ctx.dim, keepdims=True), None


# ---- the functional forms ---------------------------------------------------------------
def _tensor(x, fn):
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}(): argument 'input' must be a Tensor (got {type(x).__name__})")
    return x


def relu(input, inplace=False):
    """max(x, 0)."""
    return ops.relu(_tensor(input, "relu"))


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """x for x > 0, ``negative_slope``·x otherwise."""
    return LeakyRelu.apply(_tensor(input, "leaky_relu"), negative_slope)


def gelu(input, approximate="none"):
    """x·Φ(x) (``approximate='none'``, exact, via erf) or its tanh approximation (``approximate='tanh'``)."""
    _tensor(input, "gelu")
    if approximate == "none":
        return Gelu.apply(input)
    if approximate == "tanh":
        return GeluTanh.apply(input)
    raise ValueError(f"approximate argument must be either 'none' or 'tanh' (got {approximate!r})")


def silu(input, inplace=False):
    """x·σ(x) (also called swish)."""
    return Silu.apply(_tensor(input, "silu"))


def sigmoid(input):
    """1/(1 + e⁻ˣ)."""
    return ops.sigmoid(_tensor(input, "sigmoid"))


def tanh(input):
    return ops.tanh(_tensor(input, "tanh"))


def _softmax_dim(input, dim, fn):
    if dim is None:
        # PyTorch's legacy rule for a missing dim, with its warning
        warnings.warn(f"Implicit dimension choice for {fn} has been deprecated. "
                      "Change the call to include dim=X as an argument.", stacklevel=3)
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
    return Softmax.apply(_cast(input, dtype), dim)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    """log(eˣ/Σeˣ) along ``dim``, computed as x − log-sum-exp(x); ``dtype`` casts the input first."""
    dim = _softmax_dim(_tensor(input, "log_softmax"), dim, "log_softmax")
    return LogSoftmax.apply(_cast(input, dtype), dim)
