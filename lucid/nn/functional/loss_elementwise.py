"""Element-wise losses: binary_cross_entropy, smooth_l1_loss, huber_loss, kl_div, soft_margin_loss.

Each compares input and target element by element, one autograd Function holding the per-element
loss and its exact gradient; the reduction (``'mean'``, ``'sum'``, ``'none'``, and the legacy
``size_average``/``reduce``) is that of the other losses, in ``loss.py``.
"""

import warnings

import numpy as np

from ..._tensor import Tensor
from ...autograd.function import Function
from ...ops.activation import _sigmoid
from .loss import _check_same_size, _like, _reduce, _reduction, _unreduce

__all__ = ["binary_cross_entropy", "smooth_l1_loss", "huber_loss", "kl_div", "soft_margin_loss"]

_EPSILON = float(np.float32(1e-12))  # PyTorch's floor on x·(1 − x) in the gradient of binary cross-entropy


def _broadcast_shape(a, b):
    """The shape ``a`` and ``b`` broadcast to, or None where they do not."""
    try:
        return np.broadcast_shapes(tuple(a), tuple(b))
    except ValueError:
        return None


def _check_broadcast(input, target):
    if _broadcast_shape(input.shape, target.shape) is None:
        raise RuntimeError(
            f"The shape of the target {tuple(target.shape)} does not broadcast with the shape of the input "
            f"{tuple(input.shape)}"
        )


# ---- binary cross-entropy on probabilities -------------------------------------------------------------
class BinaryCrossEntropy(Function):
    """ℓ = −w·[t·log x + (1 − t)·log(1 − x)], each log clamped to ≥ −100;
    dx = g·w·(x − t)/max(x(1 − x), 1e-12),  dt = −g·w·log(x/(1 − x)),  dw = g·ℓ/w."""

    saves = (0, 1, 2)

    @staticmethod
    def forward(ctx, x, t, weight, reduction):
        t, weight = _like(t, x), _like(weight, x)
        for name, a in (("input", x), ("target", t)):
            if not np.all((a >= 0) & (a <= 1)):  # NaN fails too
                raise RuntimeError(f"all elements of {name} should be between 0 and 1")
        with np.errstate(divide="ignore"):
            raw = (t - 1) * np.maximum(np.log1p(-x), -100) - t * np.maximum(np.log(x), -100)
        loss = raw if weight is None else raw * weight
        ctx.save_for_backward(x, t, weight, raw)
        ctx.reduction, ctx.shape = reduction, loss.shape
        return _reduce(loss, reduction)

    @staticmethod
    def backward(ctx, g):
        x, t, weight, raw = ctx.saved_tensors
        g = _unreduce(g, ctx.shape, ctx.reduction)
        gw = g if weight is None else g * weight
        dx = dt = dw = None
        if ctx.needs_input_grad[0]:
            dx = gw * (x - t) / np.maximum(x * (1 - x), _EPSILON)
        if ctx.needs_input_grad[1]:
            with np.errstate(divide="ignore", invalid="ignore"):  # ±inf at x = 0 or 1, as PyTorch's
                dt = -gw * (np.log(x) - np.log1p(-x))
        if ctx.needs_input_grad[2]:
            dw = g * raw
        return dx, dt, dw, None


def binary_cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Binary cross-entropy of probabilities ``input`` against ``target``, both in [0, 1] and of one shape.
    ``weight``, broadcast to the target's shape, rescales each element. Each log is clamped to ≥ −100, so a
    confidently wrong element costs 100, not inf; prefer ``binary_cross_entropy_with_logits`` on logits."""
    reduction = _reduction(size_average, reduce, reduction)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(
            f"Using a target size ({tuple(target.shape)}) that is different to the input size "
            f"({tuple(input.shape)}) is deprecated. Please ensure they have the same size."
        )
    if weight is not None and _broadcast_shape(target.shape, weight.shape) != tuple(target.shape):
        raise RuntimeError(
            f"weight of shape {tuple(weight.shape)} does not broadcast to the target's shape {tuple(target.shape)}"
        )
    return BinaryCrossEntropy.apply(input, target, weight, reduction)


# ---- smooth L1 and Huber ---------------------------------------------------------------------------------
class SmoothL1Loss(Function):
    """With d = x − t: ℓ = ½d²/β where |d| < β, else |d| − ½β (β = 0: |d|);
    dx = g·clip(d/β, −1, 1) (β = 0: g·sign(d)),  dt = −dx."""

    saves = (0, 1)

    @staticmethod
    def forward(ctx, x, t, beta, reduction):
        d = x - t
        a = np.abs(d)
        ctx.save_for_backward(d)
        ctx.beta, ctx.reduction = beta, reduction
        return _reduce(a if beta == 0 else np.where(a < beta, 0.5 * d * d / beta, a - 0.5 * beta), reduction)

    @staticmethod
    def backward(ctx, g):
        (d,) = ctx.saved_tensors
        slope = np.sign(d) if ctx.beta == 0 else np.clip(d / ctx.beta, -1, 1)
        gd = slope * _unreduce(g, d.shape, ctx.reduction)
        return gd, -gd, None, None


class HuberLoss(Function):
    """With d = x − t: ℓ = w·½d² where |d| < δ, else w·δ(|d| − ½δ);
    dx = g·w·clip(d, −δ, δ),  dt = −dx,  dw = g·ℓ/w."""

    saves = (0, 1, 2)

    @staticmethod
    def forward(ctx, x, t, weight, delta, reduction):
        d = x - t
        a = np.abs(d)
        raw = np.where(a < delta, 0.5 * d * d, delta * (a - 0.5 * delta))
        loss = raw if weight is None else raw * weight
        ctx.save_for_backward(d, weight, raw)
        ctx.delta, ctx.reduction, ctx.shape = delta, reduction, loss.shape
        return _reduce(loss, reduction)

    @staticmethod
    def backward(ctx, g):
        d, weight, raw = ctx.saved_tensors
        g = _unreduce(g, ctx.shape, ctx.reduction)
        gd = np.clip(d, -ctx.delta, ctx.delta) * (g if weight is None else g * weight)
        dw = g * raw if ctx.needs_input_grad[2] else None
        return gd, -gd, dw, None, None


def smooth_l1_loss(
    input: Tensor,
    target: Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    beta: float = 1.0,
) -> Tensor:
    """Squared error (halved, over ``beta``) where |input − target| < ``beta``, absolute error (less
    ``beta``/2) beyond: a loss that is quadratic near 0 and grows linearly. ``beta = 0`` is ``l1_loss``."""
    reduction = _reduction(size_average, reduce, reduction)
    _check_same_size(input, target, "smooth_l1_loss")
    _check_broadcast(input, target)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    return SmoothL1Loss.apply(input, target, float(beta), reduction)


def huber_loss(
    input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0, weight: Tensor | None = None
) -> Tensor:
    """Halved squared error where |input − target| < ``delta``, ``delta``·(absolute error − ``delta``/2)
    beyond: ``delta`` times ``smooth_l1_loss`` with ``beta = delta``. ``weight``, shaped like input,
    rescales each element."""
    reduction = _reduction(None, None, reduction)
    _check_same_size(input, target, "huber_loss")
    _check_broadcast(input, target)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    if weight is not None and tuple(weight.shape) != tuple(input.shape):
        raise ValueError("Weights and input must have the same size.")
    return HuberLoss.apply(input, target, weight, float(delta), reduction)


# ---- Kullback-Leibler divergence ---------------------------------------------------------------------------
class KLDiv(Function):
    """x holds log-probabilities. ℓ = t·(log t − x), 0 where t = 0;  dx = −g·t,
    dt = g·(log t + 1 − x), NaN where t = 0 (0/0, as PyTorch's).
    With ``log_target``: ℓ = eᵗ·(t − x);  dx = −g·eᵗ,  dt = g·eᵗ·(t − x + 1)."""

    saves = (0, 1)

    @staticmethod
    def forward(ctx, x, t, log_target, reduction, denom):
        if log_target:
            e, d = np.exp(t), t - x
            loss = e * d
            ctx.save_for_backward(e, d)
            ctx.saves = ()  # backward reads eᵗ and t − x, kept apart
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                loss = np.where(t == 0, 0, t * np.log(t)) - t * x
            ctx.save_for_backward(x, t)
            ctx.saves = (0, 1) if ctx.needs_input_grad[1] else (1,)  # x only for dt
        ctx.log_target, ctx.reduction, ctx.denom, ctx.shape = log_target, reduction, denom, loss.shape
        return _reduce(loss, reduction, denom)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        g = _unreduce(g, ctx.shape, ctx.reduction, ctx.denom)
        dx = dt = None
        if ctx.log_target:
            e, d = a, b
            if ctx.needs_input_grad[0]:
                dx = -g * e
            if ctx.needs_input_grad[1]:
                dt = g * e * (d + 1)
            return dx, dt, None, None, None
        x, t = a, b
        if ctx.needs_input_grad[0]:
            dx = -g * t
        if ctx.needs_input_grad[1]:
            with np.errstate(divide="ignore", invalid="ignore"):
                dt = g * (np.where(t == 0, 0, np.log(t)) + t / t - x)
        return dx, dt, None, None, None


def kl_div(
    input: Tensor,
    target: Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    log_target: bool = False,
) -> Tensor:
    """Kullback-Leibler divergence of the distribution ``target`` from ``input``, which holds
    log-probabilities; ``target`` holds probabilities, or log-probabilities with ``log_target``.
    ``'batchmean'`` (the sum divided by the batch size, input's first dim) is the divergence itself;
    ``'mean'`` divides by every element, and warns as PyTorch does."""
    denom = None
    if size_average is not None or reduce is not None:
        reduction = _reduction(size_average, reduce, reduction)
    elif reduction == "batchmean":
        reduction, denom = ("mean", input.shape[0]) if input.ndim else ("sum", None)
    else:
        if reduction == "mean":
            warnings.warn(
                "reduction: 'mean' divides the total loss by both the batch size and the support size."
                "'batchmean' divides only by the batch size, and aligns with the KL div math definition."
                "'mean' will be changed to behave the same as 'batchmean' in the next major release.",
                stacklevel=2,
            )
        reduction = _reduction(None, None, reduction)
    _check_broadcast(input, target)
    return KLDiv.apply(input, target, log_target, reduction, denom)


# ---- soft margin ----------------------------------------------------------------------------------------------
class SoftMarginLoss(Function):
    """ℓ = log(1 + e^(−t·x)), taken stably;  dx = −g·t·σ(−t·x),  dt = −g·x·σ(−t·x)."""

    saves = (0, 1)

    @staticmethod
    def forward(ctx, x, t, reduction):
        t = _like(t, x)
        z = -t * x
        loss = np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))  # never an exp that overflows
        ctx.save_for_backward(x, t)
        ctx.reduction, ctx.shape = reduction, loss.shape
        return _reduce(loss, reduction)

    @staticmethod
    def backward(ctx, g):
        x, t = ctx.saved_tensors
        gs = _unreduce(g, ctx.shape, ctx.reduction) * _sigmoid(-t * x)
        dx = -gs * t if ctx.needs_input_grad[0] else None
        dt = -gs * x if ctx.needs_input_grad[1] else None
        return dx, dt, None


def soft_margin_loss(
    input: Tensor,
    target: Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Two-class logistic loss log(1 + exp(−target·input)) of scores ``input`` against labels ±1 in
    ``target`` (broadcast to input's shape), computed without overflow for large margins."""
    reduction = _reduction(size_average, reduce, reduction)
    _check_broadcast(input, target)
    shape = _broadcast_shape(input.shape, target.shape)
    if shape != tuple(input.shape):
        raise RuntimeError(f"output with shape {list(input.shape)} doesn't match the broadcast shape {list(shape)}")
    return SoftMarginLoss.apply(input, target, reduction)
