"""The normalization family as ONE operation: batch, instance, layer, group and RMS norm.

Every member of the family does the same two things:

1. statistics over a group of M elements:
   μ = mean(x),  σ² = mean((x − μ)²),  rstd = 1/√(σ² + ε)
   (RMSNorm does not center: μ = 0, σ² = mean(x²));
2. normalize, then an affine map:  x̂ = (x − μ)·rstd,  y = γ·x̂ + β.

They differ only in which elements form a group (share μ and σ²) and which
elements share an entry of γ and β. So each function below just chooses a
4-D view ``(A, G, K, L)`` of its input, with one statistic per ``g`` taken over
``x[:, g, :, :]`` (M = A·K·L elements), and an affine vector of length P·K where
``x[a, g, k, l]`` uses entry ``(g mod P)·K + k``:

==============  ===================================  ===  ==================
function        view (A, G, K, L)                    P    γ, β per
==============  ===================================  ===  ==================
batch_norm      (N, C, 1, L)      L = D·H·W…         C    channel
instance_norm   (1, N·C, 1, L)                       C    channel
group_norm      (1, N·groups, C/groups, L)           G    channel
layer_norm      (1, rows, D, 1)   D = ∏ normalized   1    element of D
rms_norm        (1, rows, D, 1),  not centered       1    element of D
==============  ===================================  ===  ==================

The exact gradient. With g = ∂L/∂y and ĝ = γ·g (the gradient with respect to
x̂), sums Σ over the M elements of one group:

* training (μ and σ² are functions of x):
  ∂L/∂x = rstd · (ĝ − Σĝ/M − x̂·Σ(ĝ·x̂)/M)        (RMSNorm: without the Σĝ/M term)
* eval (μ and σ² are fixed running statistics, so y is an affine map of x):
  ∂L/∂x = rstd · ĝ
* always:  ∂L/∂γ = Σ g·x̂,  ∂L/∂β = Σ g,  summed over every element that uses the entry.

Statistics are accumulated in float64 with the variance taken around the mean
(never E[x²] − E[x]², which loses every digit when the mean is large), and the
output keeps the input's dtype whatever the parameters' dtype. The loops
themselves live in ``lucid._kernels.norm`` (NumPy reference, or compiled; ``lucid.backends`` chooses), which
see only arrays; this file decides views, checks input and keeps the running
statistics.
"""

import math
import numbers
from collections.abc import Sequence

import numpy as np

from ... import backends
from ..._tensor import Tensor
from ...autograd.function import Function

__all__ = ["batch_norm", "instance_norm", "layer_norm", "group_norm", "rms_norm"]


class _Normalize(Function):
    """One normalization on the view ``(A, G, K, L)``: forward and exact backward.

    Forward:   x̂ = (x − μ_g)·rstd_g,  y = γ·x̂ + β   (element [a, g, k, l] uses γ, β entry (g mod P)·K + k)
    Backward:  with ĝ = γ·g and Σ over the M = A·K·L elements of group g,
               training:  ∂L/∂x = rstd·(ĝ − Σĝ/M − x̂·Σ(ĝ·x̂)/M)   (without Σĝ/M when not centered)
               eval:      ∂L/∂x = rstd·ĝ
               ∂L/∂γ = Σ g·x̂,  ∂L/∂β = Σ g   over every element that uses the entry.
    All three come from one kernel call.

    ``stats=None`` (training): μ and σ² are the statistics of x itself and, when
    ``running=(running_mean, running_var, factor)`` is given, are folded into
    those arrays in place. ``stats=(mean, rstd)``: fixed statistics, one per g.
    """

    saves = (0, 1)  # backward reads x and γ (the statistics are its own arrays)

    @staticmethod
    def forward(ctx, x, weight, bias, *, view, P, eps, center=True, stats=None, running=None):
        kernels = backends.kernels("norm")
        xv = np.ascontiguousarray(x.reshape(view))
        w = None if weight is None else weight.reshape(-1)
        b = None if bias is None else bias.reshape(-1)
        ctx.shape, ctx.P, ctx.center, ctx.train = x.shape, P, center, stats is None
        ctx.w_meta = None if weight is None else (weight.shape, weight.dtype)
        ctx.b_meta = None if bias is None else (bias.shape, bias.dtype)
        if xv.size == 0:  # an empty batch: nothing to normalize, no statistics to keep
            ctx.save_for_backward(xv, None, None, w)
            return np.empty(x.shape, dtype=x.dtype)
        if stats is None:
            y, mean, var, rstd = kernels.forward_train(xv, w, b, P, eps, center)
            if running is not None:
                _update_running(*running, mean, var, M=view[0] * view[2] * view[3], P=P)
        else:
            mean, rstd = stats
            y = kernels.forward_eval(xv, mean, rstd, w, b, P)
        ctx.save_for_backward(xv, mean, rstd, w)
        return y.reshape(x.shape)

    @staticmethod
    def backward(ctx, g):
        xv, mean, rstd, w = ctx.saved_tensors
        need_dx, need_w, need_b = ctx.needs_input_grad[:3]
        if xv.size == 0:
            n = ctx.P * xv.shape[2]  # length of the affine vectors
            dx, dw, db = np.zeros(xv.shape, dtype=xv.dtype), np.zeros(n), np.zeros(n)
        else:
            g = np.ascontiguousarray(np.reshape(g, xv.shape))
            dx, dw, db = backends.kernels("norm").backward(
                g, xv, mean, rstd, w, ctx.P, ctx.center, ctx.train, need_dx, need_w or need_b
            )
        # γ and β get their gradient in their own dtype and shape (LayerNorm's may be N-D)
        return (
            dx.reshape(ctx.shape) if need_dx else None,
            dw.reshape(ctx.w_meta[0]).astype(ctx.w_meta[1]) if need_w else None,
            db.reshape(ctx.b_meta[0]).astype(ctx.b_meta[1]) if need_b else None,
        )


def _update_running(running_mean, running_var, factor, mean, var, M, P):
    """running ← (1 − factor)·running + factor·batch, in place, outside the graph.

    ``running_var`` takes the unbiased variance σ²·M/(M − 1). InstanceNorm has
    one statistic per (instance, channel): the G/P instances of a channel are
    averaged first, so ``mean``/``var`` of length G become length P.
    """
    batch_mean, batch_var = mean, var * (M / (M - 1))
    if mean.size != P:
        batch_mean, batch_var = batch_mean.reshape(-1, P).mean(axis=0), batch_var.reshape(-1, P).mean(axis=0)
    running_mean[...] = (1 - factor) * running_mean.astype(np.float64) + factor * batch_mean
    running_var[...] = (1 - factor) * running_var.astype(np.float64) + factor * batch_var


# ---- input checks ------------------------------------------------------------------------------
def _array(t):
    """The array inside a Tensor (a NumPy array passes through unchanged)."""
    return t.data if isinstance(t, Tensor) else np.asarray(t)


def _size(shape):
    return str(tuple(int(s) for s in shape))


def _check_input(fn, input, min_dim):
    if input.dtype.kind != "f":
        raise TypeError(f"{fn}: expected a floating point input (float16, float32 or float64), got {input.dtype}")
    if input.ndim < min_dim:
        raise ValueError(
            f"{fn}: expected an input with at least {min_dim} dimensions "
            f"(got {input.ndim}D input of size {_size(input.shape)})"
        )


def _check_vector(fn, name, t, shape, what):
    if t is not None and tuple(t.shape) != tuple(shape):
        raise ValueError(
            f"{fn}: expected {name} of shape {_size(shape)} ({what}), got {name} of shape {_size(t.shape)}"
        )


def _check_eps(fn, eps, positive=False):
    if (type(eps) is not float and not isinstance(eps, numbers.Real)) or eps < 0 or (positive and eps == 0):
        raise ValueError(f"{fn}: eps must be {'positive' if positive else 'non-negative'}, got {eps!r}")


def _check_momentum(fn, momentum):
    if type(momentum) is not float and (isinstance(momentum, bool) or not isinstance(momentum, numbers.Real)):
        raise TypeError(
            f"{fn}: momentum must be a number, the weight of the new batch in the running "
            f"statistics (the modules turn momentum=None into 1/num_batches_tracked), got {momentum!r}"
        )


def _check_running(fn, running_mean, running_var, C):
    if (running_mean is None) != (running_var is None):
        raise ValueError(f"{fn}: running_mean and running_var must be given together or both be None")
    _check_vector(fn, "running_mean", running_mean, (C,), "one entry per channel")
    _check_vector(fn, "running_var", running_var, (C,), "one entry per channel")


def _check_more_than_one(size, per_value):
    """Training statistics need at least two values each (a variance of one value is 0/0 unbiased)."""
    if per_value == 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input size {size}")


def _fixed_stats(running_mean, running_var, eps):
    """(mean, rstd) in float64 from running statistics."""
    mean = _array(running_mean).astype(np.float64)
    return mean, backends.kernels("norm").rstd(_array(running_var).astype(np.float64), eps)


def _normalized_shape(fn, input, normalized_shape):
    integral = type(normalized_shape) is int or isinstance(normalized_shape, numbers.Integral)
    shape = (normalized_shape,) if integral else tuple(normalized_shape)
    if len(shape) == 0:
        raise ValueError(f"{fn}: expected normalized_shape to have at least 1 dimension, got {shape}")
    if input.ndim < len(shape) or tuple(input.shape[input.ndim - len(shape) :]) != shape:
        raise ValueError(
            f"{fn}: given normalized_shape={shape}, expected input with shape (*, "
            f"{', '.join(str(s) for s in shape)}), got input of size {_size(input.shape)}"
        )
    return shape


# ---- the family --------------------------------------------------------------------------------
def batch_norm(
    input: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float | None = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Batch normalization of ``input`` (N, C, *): one mean and variance per channel, over N and *.

    Forward:   y = γ·(x − μ_c)/√(σ²_c + ε) + β,  with M = N·∏* values per channel c;
               training: μ_c, σ²_c are the batch's (biased variance), and the running
               statistics, when given, become (1 − momentum)·running + momentum·batch
               (``running_var`` from the unbiased variance σ²·M/(M − 1));
               eval: μ_c, σ²_c are ``running_mean``, ``running_var``.
    Backward:  training: ∂L/∂x = rstd·(ĝ − Σĝ/M − x̂·Σ(ĝ·x̂)/M),  ĝ = γ·g,  Σ over the channel;
               eval:     ∂L/∂x = γ·g/√(running_var + ε);
               ∂L/∂γ = Σ g·x̂,  ∂L/∂β = Σ g  (over N and *).

    ``momentum`` is the weight of the new batch; ``running_mean``/``running_var`` may be
    None when training (the modules without running statistics always pass ``training=True``).
    """
    fn = "batch_norm"
    if input.shape == (0,):  # PyTorch takes an empty 1-D input as an empty batch of no channels
        return batch_norm(
            input.reshape(0, 0), running_mean, running_var, weight, bias, training, momentum, eps
        ).reshape(0)
    _check_input(fn, input, 2)
    N, C = input.shape[:2]
    _check_running(fn, running_mean, running_var, C)
    _check_vector(fn, "weight", weight, (C,), "one entry per channel")
    _check_vector(fn, "bias", bias, (C,), "one entry per channel")
    _check_eps(fn, eps, positive=training)
    L = math.prod(input.shape[2:])
    view = (N, C, 1, L)
    if training:
        _check_momentum(fn, momentum)
        _check_more_than_one(_size(input.shape), N * L)
        running = None if running_mean is None else (_array(running_mean), _array(running_var), momentum)
        return _Normalize.apply(input, weight, bias, view=view, P=C, eps=eps, running=running)
    if running_mean is None:
        raise ValueError(f"{fn}: running_mean and running_var must be given in evaluation mode (training=False)")
    return _Normalize.apply(
        input, weight, bias, view=view, P=C, eps=eps, stats=_fixed_stats(running_mean, running_var, eps)
    )


def instance_norm(
    input: Tensor,
    running_mean: Tensor | None = None,
    running_var: Tensor | None = None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    use_input_stats: bool = True,
    momentum: float | None = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Instance normalization of ``input`` (N, C, *): one mean and variance per (instance, channel), over *.

    Forward:   y = γ_c·(x − μ_nc)/√(σ²_nc + ε) + β_c,  with M = ∏* values per (n, c);
               ``use_input_stats``: μ_nc, σ²_nc are the instance's own (biased variance), and
               the running statistics, when given, become (1 − momentum)·running
               + momentum·mean over n of the batch's (variance unbiased: σ²·M/(M − 1));
               otherwise μ_c, σ²_c are ``running_mean``, ``running_var``, as in eval batch_norm.
    Backward:  instance statistics: ∂L/∂x = rstd·(ĝ − Σĝ/M − x̂·Σ(ĝ·x̂)/M),  ĝ = γ·g,  Σ over *;
               running statistics:  ∂L/∂x = γ·g/√(running_var + ε);
               ∂L/∂γ = Σ g·x̂,  ∂L/∂β = Σ g  (over N and *: γ is per channel).
    """
    fn = "instance_norm"
    _check_input(fn, input, 2)
    N, C = input.shape[:2]
    _check_running(fn, running_mean, running_var, C)
    _check_vector(fn, "weight", weight, (C,), "one entry per channel")
    _check_vector(fn, "bias", bias, (C,), "one entry per channel")
    _check_eps(fn, eps)
    L = math.prod(input.shape[2:])
    if use_input_stats:
        _check_momentum(fn, momentum)
        _check_more_than_one(_size(input.shape), L)
        running = None if running_mean is None else (_array(running_mean), _array(running_var), momentum)
        return _Normalize.apply(input, weight, bias, view=(1, N * C, 1, L), P=C, eps=eps, running=running)
    if running_mean is None:
        raise ValueError(f"{fn}: use_input_stats=False needs running_mean and running_var (got None)")
    # fixed per-channel statistics: exactly batch_norm's eval view
    return _Normalize.apply(
        input, weight, bias, view=(N, C, 1, L), P=C, eps=eps, stats=_fixed_stats(running_mean, running_var, eps)
    )


def layer_norm(
    input: Tensor,
    normalized_shape: int | Sequence[int],
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Layer normalization over the last ``len(normalized_shape)`` dimensions, one statistic per row.

    Forward:   y = γ·(x − μ)/√(σ² + ε) + β,  μ, σ² (biased) over the M = ∏ normalized_shape
               values of each row; γ, β have shape ``normalized_shape`` (one entry per element).
    Backward:  ∂L/∂x = rstd·(ĝ − Σĝ/M − x̂·Σ(ĝ·x̂)/M),  ĝ = γ·g,  Σ over the row;
               ∂L/∂γ = Σ g·x̂,  ∂L/∂β = Σ g  (over the rows).
    """
    fn = "layer_norm"
    _check_input(fn, input, 1)
    shape = _normalized_shape(fn, input, normalized_shape)
    _check_vector(fn, "weight", weight, shape, "normalized_shape")
    _check_vector(fn, "bias", bias, shape, "normalized_shape")
    _check_eps(fn, eps)
    D = math.prod(shape)
    rows = math.prod(input.shape[: input.ndim - len(shape)])
    return _Normalize.apply(input, weight, bias, view=(1, rows, D, 1), P=1, eps=eps)


def group_norm(
    input: Tensor, num_groups: int, weight: Tensor | None = None, bias: Tensor | None = None, eps: float = 1e-5
) -> Tensor:
    """Group normalization of ``input`` (N, C, *): channels split into ``num_groups`` groups of C/G.

    Forward:   y = γ_c·(x − μ_ng)/√(σ²_ng + ε) + β_c,  μ, σ² (biased) over the M = (C/G)·∏*
               values of group g of instance n; γ, β per channel.
    Backward:  ∂L/∂x = rstd·(ĝ − Σĝ/M − x̂·Σ(ĝ·x̂)/M),  ĝ = γ·g,  Σ over the group;
               ∂L/∂γ = Σ g·x̂,  ∂L/∂β = Σ g  (over N and *).
    """
    fn = "group_norm"
    _check_input(fn, input, 2)
    N, C = input.shape[:2]
    if isinstance(num_groups, bool) or not isinstance(num_groups, numbers.Integral) or num_groups <= 0:
        raise ValueError(f"{fn}: num_groups must be a positive integer, got {num_groups!r}")
    if C % num_groups:
        raise ValueError(
            f"{fn}: expected the number of channels to be divisible by num_groups, got {C} "
            f"channels (input of size {_size(input.shape)}) and num_groups={num_groups}"
        )
    _check_vector(fn, "weight", weight, (C,), "one entry per channel")
    _check_vector(fn, "bias", bias, (C,), "one entry per channel")
    _check_eps(fn, eps)
    L = math.prod(input.shape[2:])
    # as PyTorch: the sizes of the batch-norm view (N·C/G, G, *) of the groups
    _check_more_than_one(str([N * C // num_groups, num_groups, *input.shape[2:]]), N * C // num_groups * L)
    return _Normalize.apply(input, weight, bias, view=(1, N * num_groups, C // num_groups, L), P=num_groups, eps=eps)


def rms_norm(
    input: Tensor, normalized_shape: int | Sequence[int], weight: Tensor | None = None, eps: float | None = None
) -> Tensor:
    """RMS normalization over the last ``len(normalized_shape)`` dimensions: scaled, not centered.

    Forward:   y = γ·x/√(mean(x²) + ε),  mean over the M = ∏ normalized_shape values of each row;
               ``eps=None`` means the machine epsilon of the input's dtype (float32's for float16).
    Backward:  ∂L/∂x = rstd·(ĝ − x̂·Σ(ĝ·x̂)/M),  x̂ = x·rstd,  ĝ = γ·g,  Σ over the row;
               ∂L/∂γ = Σ g·x̂  (over the rows).
    """
    fn = "rms_norm"
    _check_input(fn, input, 1)
    shape = _normalized_shape(fn, input, normalized_shape)
    _check_vector(fn, "weight", weight, shape, "normalized_shape")
    if eps is None:
        eps = float(np.finfo(np.float32 if input.dtype == np.float16 else input.dtype).eps)
    _check_eps(fn, eps)
    D = math.prod(shape)
    rows = math.prod(input.shape[: input.ndim - len(shape)])
    return _Normalize.apply(input, weight, None, view=(1, rows, D, 1), P=1, eps=eps, center=False)
