"""Batch normalization whose statistics span every rank of a process group (SyncBatchNorm).

Each rank holds part of the batch. The forward needs each channel's mean and variance
over the whole batch, the backward the two per-channel sums over the whole batch; so:

* forward: each rank takes its per-channel (count n, mean μ, M2 = Σ(x − μ)²) in float64;
  one ``Allgather`` gives every rank all of them, and every rank merges them in rank order
  with Chan's formula (never E[x²] − E[x]²), for two parts a, b:

      n = n_a + n_b,  δ = μ_b − μ_a,  μ = μ_a + δ·n_b/n,  M2 = M2_a + M2_b + δ²·n_a·n_b/n

  so all ranks hold the statistics of the concatenated batch, bit for bit the same;
  then σ² = M2/n and y = γ·(x − μ)/√(σ² + ε) + β, normalized by lucid's norm kernel.
* backward: each rank sums Σg and Σg·x̂ per channel over its part; one ``Allreduce``
  of those two gives the global sums, and with ĝ = γ·g and M the global count

      ∂L/∂x = rstd·(ĝ − γ·Σg/M − x̂·γ·Σ(g·x̂)/M)

  the exact gradient of the global batch's normalization. ∂L/∂γ = Σ g·x̂ and
  ∂L/∂β = Σ g stay local sums: DistributedDataParallel averages them with every
  other parameter's gradient.

A rank with an empty batch sends count 0 and still takes part in both collectives.
Local statistics, the merge and dx are NumPy in float64; the normalize step and the
two local backward sums are the norm kernels' (``forward_eval``, ``backward``).
"""

import math

import numpy as np

from ... import backends
from ..._tensor import Tensor
from ...autograd.function import Function
from ...distributed import collectives
from ...distributed.process_group import ProcessGroup
from .normalization import _array, _check_eps, _check_input, _check_momentum, _check_running, _check_vector, _size

__all__ = ["sync_batch_norm"]


def _local_moments(xv):
    """Per channel of the (N, C, L) array ``xv``: count, mean and M2 = Σ(x − mean)², float64, as (3, C)."""
    N, C, L = xv.shape
    out = np.zeros((3, C))
    out[0] = N * L
    if N * L:
        xd = xv.astype(np.float64)
        out[1] = xd.mean(axis=(0, 2))
        xc = xd - out[1][None, :, None]
        out[2] = np.einsum("ncl,ncl->c", xc, xc)
    return out


def chan_merge(parts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge per-part (count, mean, M2) rows, ``parts`` of shape (P, 3, C), into the (count, mean, M2) of
    their union, in part order: Chan, Golub and LeVeque's pairwise update. Parts of count 0 change nothing."""
    n, mean, m2 = parts[0].copy()
    for n_b, mean_b, m2_b in parts[1:]:
        total = n + n_b
        share = np.divide(n_b, total, out=np.zeros_like(total), where=total > 0)  # n_b/n
        delta = mean_b - mean
        mean = mean + delta * share
        m2 = m2 + m2_b + delta * delta * n * share
        n = total
    return n, mean, m2


class _SyncBatchNorm(Function):
    """Batch normalization over the union of every rank's batch: forward and exact backward (module docstring)."""

    saves = (0, 1)  # x and γ (backward reads x̂ from x); not β, not the output

    @staticmethod
    def forward(ctx, x, weight, bias, *, eps, running, group):
        N, C = x.shape[:2]
        xv = np.ascontiguousarray(x.reshape(N, C, 1, math.prod(x.shape[2:])))
        count, mean, m2 = chan_merge(collectives.allgather(_local_moments(xv[:, :, 0]), group))
        if count[0] < 2:
            raise ValueError(
                f"Expected more than 1 value per channel when training, got input size "
                f"{_size(x.shape)} ({int(count[0])} value(s) per channel over all {group.size} ranks)"
            )
        rstd = 1.0 / np.sqrt(m2 / count + eps)
        if running is not None:
            running_mean, running_var, factor = running
            running_mean[...] = (1 - factor) * running_mean.astype(np.float64) + factor * mean
            running_var[...] = (1 - factor) * running_var.astype(np.float64) + factor * m2 / (count - 1)
        w = None if weight is None else np.ascontiguousarray(weight.reshape(-1))
        b = None if bias is None else np.ascontiguousarray(bias.reshape(-1))
        ctx.shape, ctx.group, ctx.M = x.shape, group, count[0]
        ctx.w_dtype = None if weight is None else weight.dtype
        ctx.b_dtype = None if bias is None else bias.dtype
        ctx.save_for_backward(xv, mean, rstd, w)
        if xv.size == 0:
            return np.empty(x.shape, dtype=x.dtype)
        return backends.kernels("norm").forward_eval(xv, mean, rstd, w, b, C).reshape(x.shape)

    @staticmethod
    def backward(ctx, g):
        xv, mean, rstd, w = ctx.saved_tensors
        need_dx, need_w, need_b = ctx.needs_input_grad[:3]
        C = xv.shape[1]
        g = np.ascontiguousarray(np.reshape(g, xv.shape))
        if xv.size:  # the local Σ g·x̂ and Σ g per channel (float64)
            _, sum_gx, sum_g = backends.kernels("norm").backward(g, xv, mean, rstd, w, C, True, False, False, True)
        else:
            sum_gx, sum_g = np.zeros(C), np.zeros(C)
        dx = None
        if need_dx:
            sums = np.stack([sum_g, sum_gx])
            collectives.allreduce_(sums, ctx.group)  # the one collective of the backward
            gamma = np.ones(C) if w is None else w.astype(np.float64)
            xhat = (xv.astype(np.float64) - mean[None, :, None, None]) * rstd[None, :, None, None]
            inner = (
                g * gamma[None, :, None, None]
                - (gamma * sums[0] / ctx.M)[None, :, None, None]
                - xhat * (gamma * sums[1] / ctx.M)[None, :, None, None]
            )
            dx = (rstd[None, :, None, None] * inner).astype(xv.dtype).reshape(ctx.shape)
        return (dx, sum_gx.astype(ctx.w_dtype) if need_w else None, sum_g.astype(ctx.b_dtype) if need_b else None)


def sync_batch_norm(
    input: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    momentum: float = 0.1,
    eps: float = 1e-5,
    group: ProcessGroup | None = None,
) -> Tensor:
    """Training-mode batch normalization of ``input`` (N, C, *) with statistics over all ranks of ``group``.

    Forward:   y = γ·(x − μ_c)/√(σ²_c + ε) + β,  μ_c, σ²_c (biased) over the M values of channel c
               on every rank; the running statistics, when given, become (1 − momentum)·running
               + momentum·batch, ``running_var`` from the unbiased σ²·M/(M − 1), the same on every rank.
    Backward:  ∂L/∂x = rstd·(ĝ − Σĝ/M − x̂·Σ(ĝ·x̂)/M),  ĝ = γ·g,  Σ over every rank;
               ∂L/∂γ = Σ g·x̂,  ∂L/∂β = Σ g  over this rank's values.

    Every rank of the group must call it, with the same C (N may differ, 0 included).
    """
    from ...distributed.process_group import default_group

    fn = "sync_batch_norm"
    _check_input(fn, input, 2)
    C = input.shape[1]
    _check_running(fn, running_mean, running_var, C)
    _check_vector(fn, "weight", weight, (C,), "one entry per channel")
    _check_vector(fn, "bias", bias, (C,), "one entry per channel")
    _check_eps(fn, eps, positive=True)
    _check_momentum(fn, momentum)
    group = default_group(group)
    running = None if running_mean is None else (_array(running_mean), _array(running_var), momentum)
    return _SyncBatchNorm.apply(input, weight, bias, eps=eps, running=running, group=group)
