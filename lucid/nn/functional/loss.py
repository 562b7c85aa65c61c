"""Losses: mse_loss, l1_loss, cross_entropy, nll_loss, binary_cross_entropy_with_logits; and, from
``loss_elementwise.py``, binary_cross_entropy, smooth_l1_loss, huber_loss, kl_div, soft_margin_loss.

Each is one autograd Function holding the per-element loss, its reduction and the exact
gradient. ``reduction`` is ``'mean'`` (the default), ``'sum'`` or ``'none'``; the legacy
``size_average``/``reduce`` arguments map onto it as in PyTorch.

Cross-entropy over classes c of one sample, with logits x and log-probabilities
``log p = x − log Σ eˣ`` (the log-sum-exp trick: never an exp that overflows), is written
with one "target weight" per class, q_c:

    loss = −Σ_c q_c·log p_c,        d loss/dx_c = p_c·Σ_k q_k − q_c.

For a class index y: ``q_c = (1−ε)·w_y·[c = y] + ε/C·w_c`` (w the class weights, ε the label
smoothing; q = 0 for an ignored sample). For class probabilities t: ``q_c = w_c·((1−ε)·t_c + ε/C)``.
"""

import math
import warnings

import numpy as np

from ... import backends
from ..._tensor import Tensor
from ...autograd.function import Function
from ...ops.activation import _sigmoid
from .activation import _log_softmax

__all__ = [
    "mse_loss",
    "l1_loss",
    "cross_entropy",
    "nll_loss",
    "binary_cross_entropy_with_logits",
    "binary_cross_entropy",
    "smooth_l1_loss",
    "huber_loss",
    "kl_div",
    "soft_margin_loss",
]


# ---- reduction -----------------------------------------------------------------------
def _reduction(size_average, reduce, reduction):
    """The reduction string, from ``reduction`` or the legacy ``size_average``/``reduce`` pair."""
    if size_average is not None or reduce is not None:
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        return ("mean" if size_average else "sum") if reduce else "none"
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return reduction


def _reduce(loss, reduction, denom=None):
    """Sum or average the per-element ``loss``; ``denom`` replaces the element count for 'mean'."""
    if reduction == "none":
        return loss
    total = loss.sum()
    if reduction == "sum":
        return np.asarray(total)
    return np.asarray(_divide(total, loss.size if denom is None else denom), dtype=loss.dtype)


def _divide(a, b):
    """a / b, inf or NaN where b is 0, without a warning."""
    if b:
        return a / b
    with np.errstate(invalid="ignore", divide="ignore"):
        return a / np.asarray(b, dtype=np.result_type(a, b))


def _unreduce(g, shape, reduction, denom=None, ignored=None):
    """The gradient of ``_reduce`` w.r.t. each element, times the incoming ``g``; 0 on the ``ignored``
    elements (a mean over no weight makes theirs 0/0: PyTorch's gradient there is 0)."""
    if reduction == "none":
        return g
    if reduction == "mean":
        g = _divide(g, math.prod(shape) if denom is None else denom)
    if ignored is not None:
        return np.where(ignored, 0, g)
    return np.broadcast_to(g, shape)


def _ignored(keep, reduction, denom):
    """The samples ``_unreduce`` must give 0: the ignored ones, where a mean divides by a zero ``denom``."""
    return ~keep if reduction == "mean" and not denom else None


def _like(a, x):
    """``a`` in x's floating dtype (class weights or targets given in another precision), None stays None."""
    return None if a is None else np.asarray(a).astype(x.dtype, copy=False)


def _data(t):
    return t.data if isinstance(t, Tensor) else (None if t is None else np.asarray(t))


# ---- regression losses -------------------------------------------------------------------
class MSELoss(Function):
    """ℓ = (x − t)²;  dx = g·2(x − t),  dt = −dx."""

    saves = (0, 1)

    @staticmethod
    def forward(ctx, x, t, reduction):
        d = x - t
        ctx.save_for_backward(d)
        ctx.reduction = reduction
        return _reduce(d * d, reduction)

    @staticmethod
    def backward(ctx, g):
        (d,) = ctx.saved_tensors
        gd = 2 * d * _unreduce(g, d.shape, ctx.reduction)
        return gd, -gd, None


class L1Loss(Function):
    """ℓ = |x − t|;  dx = g·sign(x − t),  dt = −dx."""

    saves = ()  # backward reads sign(x − t), kept apart

    @staticmethod
    def forward(ctx, x, t, reduction):
        d = x - t
        ctx.save_for_backward(np.sign(d))
        ctx.reduction = reduction
        return _reduce(np.abs(d), reduction)

    @staticmethod
    def backward(ctx, g):
        (s,) = ctx.saved_tensors
        gd = s * _unreduce(g, s.shape, ctx.reduction)
        return gd, -gd, None


def _check_same_size(input, target, fn):
    if tuple(input.shape) != tuple(target.shape):
        warnings.warn(
            f"{fn}: Using a target size ({tuple(target.shape)}) that is different to the input size "
            f"({tuple(input.shape)}). This will likely lead to incorrect results due to broadcasting. "
            "Please ensure they have the same size.",
            stacklevel=3,
        )


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """Mean (or sum, or each) of (input − target)²."""
    reduction = _reduction(size_average, reduce, reduction)
    _check_same_size(input, target, "mse_loss")
    return MSELoss.apply(input, target, reduction)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """Mean (or sum, or each) of |input − target|."""
    reduction = _reduction(size_average, reduce, reduction)
    _check_same_size(input, target, "l1_loss")
    return L1Loss.apply(input, target, reduction)


# ---- classification losses ---------------------------------------------------------------------
def _sample_weights(x, target, weight, ignore_index):
    """For class-index targets: the target with ignored samples sent to class 0, each sample's
    weight w_y (0 for an ignored sample), and which samples are kept."""
    n_classes = x.shape[1]
    keep = target != ignore_index
    bad = (target < 0) | (target >= n_classes)
    if (bad & keep).any():
        raise IndexError(f"Target {target[bad & keep].flat[0]} is out of bounds.")
    safe = np.where(keep, target, 0)
    return safe, (keep.astype(x.dtype) if weight is None else weight[safe] * keep), keep


def _index_target_weights(x, target, weight, ignore_index):
    """For class-index targets: ``q`` shaped like x, holding w_y at the target class of each
    sample (0 for ignored samples), and the mean's denominator Σ w_y over kept samples."""
    safe, w_y, keep = _sample_weights(x, target, weight, ignore_index)
    q = np.zeros(x.shape, dtype=x.dtype)
    np.put_along_axis(q, safe[:, None], np.expand_dims(w_y, 1).astype(x.dtype), axis=1)
    return q, keep, w_y.sum()


def _class_shape(w, ndim):
    """Class weights (C,) shaped to broadcast along axis 1 of an ndim array."""
    return w.reshape((1, -1) + (1,) * (ndim - 2))


class CrossEntropy(Function):
    """ℓ = −Σ_c q_c·log p_c (see the module docstring);  dx = g·(p·Σq − q),  dt_c = −g·(1−ε)·w_c·log p_c.

    Rows of logits against class indices without smoothing (the common case) take the fused
    ``softmax`` kernels: ℓ = w_y·(lse − x_y) per row, dx = g·w_y·(p − onehot(y)), nothing of
    x's size kept between the two."""

    saves = (1, 2)

    @staticmethod
    def forward(ctx, x, target, weight, ignore_index, label_smoothing, reduction):
        weight = _like(weight, x)
        if target.dtype.kind not in "iu":
            target = _like(target, x)
        unbatched = ctx.unbatched = x.ndim == 1
        if unbatched:
            x, target = x[None], target[None]
        ctx.fused = x.ndim == 2 and label_smoothing == 0 and target.dtype.kind in "iu"
        if ctx.fused:
            safe, w_y, keep = _sample_weights(x, target, weight, ignore_index)
            w_y = w_y.astype(np.float64)
            loss, lse = backends.kernels("softmax").cross_entropy_forward(x, safe, w_y)
            ctx.save_for_backward(x, safe, w_y, lse)
            ctx.saves = (0, 1, 2)  # the fused backward reads the logits themselves
            ctx.reduction, ctx.denom = reduction, w_y.sum().astype(x.dtype)
            ctx.ignored = _ignored(keep, reduction, ctx.denom)
            out = _reduce(loss, reduction, ctx.denom)
            return out[0] if unbatched and reduction == "none" else out
        n_classes = x.shape[1]
        logp = _log_softmax(x, 1)
        eps = label_smoothing
        if target.dtype.kind in "iu":
            q, keep, denom = _index_target_weights(x, target, weight, ignore_index)
            if eps > 0:
                w = np.ones(n_classes, x.dtype) if weight is None else weight
                q = (1 - eps) * q + (eps / n_classes) * _class_shape(w, x.ndim) * np.expand_dims(keep, 1)
            ctx.ignored = _ignored(keep, reduction, denom)
        else:
            w = 1 if weight is None else _class_shape(weight, x.ndim)
            q = w * ((1 - eps) * target + eps / n_classes)
            denom = ctx.ignored = None  # the mean is over samples
        loss = -np.sum(q * logp, axis=1)
        ctx.save_for_backward(logp, q, weight)
        ctx.reduction, ctx.denom, ctx.eps = reduction, denom, eps
        out = _reduce(loss, reduction, denom)
        return out[0] if unbatched and reduction == "none" else out

    @staticmethod
    def backward(ctx, g):
        if ctx.fused:
            return CrossEntropy._fused_backward(ctx, g)
        logp, q, weight = ctx.saved_tensors
        loss_shape = logp.shape[:1] + logp.shape[2:]
        if ctx.unbatched and ctx.reduction == "none":
            g = g[None]
        g = np.expand_dims(_unreduce(g, loss_shape, ctx.reduction, ctx.denom, ctx.ignored), 1)
        dx = dt = None
        if ctx.needs_input_grad[0]:
            dx = g * (np.exp(logp) * np.sum(q, axis=1, keepdims=True) - q)
        if ctx.needs_input_grad[1]:
            w = 1 if weight is None else _class_shape(weight, logp.ndim)
            dt = -g * (1 - ctx.eps) * w * logp
        if ctx.unbatched:
            dx = None if dx is None else dx[0]
            dt = None if dt is None else dt[0]
        return dx, dt, None, None, None, None

    @staticmethod
    def _fused_backward(ctx, g):
        x, target, w_y, lse = ctx.saved_tensors
        if ctx.unbatched and ctx.reduction == "none":
            g = g[None]
        gn = np.asarray(_unreduce(g, lse.shape, ctx.reduction, ctx.denom, ctx.ignored), dtype=np.float64)
        dx = backends.kernels("softmax").cross_entropy_backward(gn, x, target, w_y, lse)
        return (dx[0] if ctx.unbatched else dx), None, None, None, None, None


class NLLLoss(Function):
    """ℓ = −w_y·x_y (x holds log-probabilities);  dx_c = −g·w_y·[c = y]."""

    saves = (0, 1, 2)

    @staticmethod
    def forward(ctx, x, target, weight, ignore_index, reduction):
        weight = _like(weight, x)
        unbatched = ctx.unbatched = x.ndim == 1
        if unbatched:
            x, target = x[None], target[None]
        q, keep, denom = _index_target_weights(x, target, weight, ignore_index)
        ctx.save_for_backward(q)
        ctx.reduction, ctx.denom, ctx.ignored = reduction, denom, _ignored(keep, reduction, denom)
        out = _reduce(-np.sum(q * x, axis=1), reduction, denom)
        return out[0] if unbatched and reduction == "none" else out

    @staticmethod
    def backward(ctx, g):
        (q,) = ctx.saved_tensors
        if ctx.unbatched and ctx.reduction == "none":
            g = g[None]
        g = np.expand_dims(_unreduce(g, q.shape[:1] + q.shape[2:], ctx.reduction, ctx.denom, ctx.ignored), 1)
        dx = -g * q
        return (dx[0] if ctx.unbatched else dx), None, None, None, None


def _check_class_input(x, target, weight, fn):
    """Shape checks shared by cross_entropy and nll_loss: input (N, C, d1, ...) or (C,)."""
    if x.ndim == 0:
        raise ValueError(f"{fn}: expected input of shape (N, C, ...) or (C,) (got a 0-d tensor)")
    n_classes = x.shape[0] if x.ndim == 1 else x.shape[1]
    if weight is not None and tuple(weight.shape) != (n_classes,):
        raise ValueError(
            f"weight tensor should be defined either for all {n_classes} classes or no classes "
            f"but got weight tensor of shape: {list(weight.shape)}"
        )
    if target.dtype.kind == "f":
        if tuple(target.shape) != tuple(x.shape):
            raise ValueError(
                f"{fn}: class-probability targets must have the input's shape {tuple(x.shape)} "
                f"(got {tuple(target.shape)})"
            )
        return "probs"
    if target.dtype.kind not in "iu":
        raise TypeError(
            f"{fn}: expected class indices (integer dtype) or class probabilities (floating dtype) "
            f"as target (got dtype {target.dtype})"
        )
    expected = () if x.ndim == 1 else (x.shape[0],) + tuple(x.shape[2:])
    if x.ndim > 1 and (target.ndim == 0 or target.shape[0] != x.shape[0]):
        got = target.shape[0] if target.ndim else "none"
        raise ValueError(f"Expected input batch_size ({x.shape[0]}) to match target batch_size ({got}).")
    if tuple(target.shape) != expected:
        raise ValueError(f"Expected target size {list(expected)}, got {list(target.shape)}")
    return "indices"


def cross_entropy(
    input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean", label_smoothing=0.0
):
    """Cross-entropy between softmax(input) along dim 1 and the target.

    ``input``: logits ``(N, C, d1, ...)`` or ``(C,)``. ``target``: class indices ``(N, d1, ...)``
    (integer), or class probabilities shaped like input (float). ``weight`` (C,) rescales each class;
    samples whose target is ``ignore_index`` count for nothing; ``label_smoothing`` ε mixes the target
    with the uniform distribution. With class indices, 'mean' divides by the summed weights of the
    kept samples, as PyTorch does.
    """
    reduction = _reduction(size_average, reduce, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    t = _data(target)
    if _check_class_input(input, t, weight, "cross_entropy") == "probs" and ignore_index >= 0:
        raise ValueError("ignore_index is not supported for floating point target")
    return CrossEntropy.apply(
        input, target if isinstance(target, Tensor) else t, weight, ignore_index, label_smoothing, reduction
    )


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
    """Negative log-likelihood: ``−weight[y]·input[y]`` per sample, ``input`` holding log-probabilities
    ``(N, C, d1, ...)`` or ``(C,)`` and ``target`` class indices. 'mean' divides by the summed weights."""
    reduction = _reduction(size_average, reduce, reduction)
    t = _data(target)
    if _check_class_input(input, t, weight, "nll_loss") == "probs":
        raise TypeError(f"nll_loss: expected class indices (integer dtype) as target (got dtype {t.dtype})")
    return NLLLoss.apply(input, target if isinstance(target, Tensor) else t, weight, ignore_index, reduction)


class BCEWithLogits(Function):
    """ℓ = w·[(1 − t)·x + (1 + (p − 1)·t)·softplus(−x)], softplus(z) = log(1 + eᶻ) taken stably;
    dx = g·w·[(1 − t) − (1 + (p − 1)t)·σ(−x)],  dt = g·w·[−x + (p − 1)·softplus(−x)],
    dw = g·ℓ/w,  dp = g·w·t·softplus(−x)."""

    saves = (0, 1, 2, 3)

    @staticmethod
    def forward(ctx, x, t, weight, pos_weight, reduction):
        t, weight, pos_weight = _like(t, x), _like(weight, x), _like(pos_weight, x)
        sp = np.maximum(-x, 0) + np.log1p(np.exp(-np.abs(x)))  # softplus(−x) = log(1 + e⁻ˣ)
        lw = 1 if pos_weight is None else 1 + (pos_weight - 1) * t
        raw = (1 - t) * x + lw * sp
        loss = raw if weight is None else raw * weight
        ctx.save_for_backward(x, t, weight, pos_weight, sp, raw)
        ctx.reduction, ctx.shape = reduction, loss.shape
        return _reduce(loss, reduction)

    @staticmethod
    def backward(ctx, g):
        x, t, weight, pos_weight, sp, raw = ctx.saved_tensors
        g = _unreduce(g, ctx.shape, ctx.reduction)
        gw = g if weight is None else g * weight
        dx = dt = dw = dp = None
        if ctx.needs_input_grad[0]:
            lw = 1 if pos_weight is None else 1 + (pos_weight - 1) * t
            dx = gw * ((1 - t) - lw * _sigmoid(-x))
        if ctx.needs_input_grad[1]:
            dt = gw * (-x if pos_weight is None else -x + (pos_weight - 1) * sp)
        if ctx.needs_input_grad[2]:
            dw = g * raw
        if ctx.needs_input_grad[3]:
            dp = gw * t * sp
        return dx, dt, dw, dp, None


def binary_cross_entropy_with_logits(
    input, target, weight=None, size_average=None, reduce=None, reduction="mean", pos_weight=None
):
    """Binary cross-entropy of σ(input) against ``target`` in [0, 1], computed from the logits
    without ever forming σ (so no log(0)). ``weight`` rescales each element, ``pos_weight``
    (broadcast along the last dim, one per class) the positive term."""
    reduction = _reduction(size_average, reduce, reduction)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Target size ({tuple(target.shape)}) must be the same as input size ({tuple(input.shape)})")
    return BCEWithLogits.apply(input, target, weight, pos_weight, reduction)


# last: these build on the reduction helpers above
from .loss_elementwise import binary_cross_entropy, huber_loss, kl_div, smooth_l1_loss, soft_margin_loss  # noqa: E402
