"""``embedding``: a lookup table, rows selected by integer indices."""

import numpy as np

from ..._tensor import Tensor
from ...autograd.function import Function

__all__ = ["embedding"]


class Embedding(Function):
    """y = W[idx];  dW[i] = Σ of g over the positions where idx = i (divided by that count when
    ``scale_grad_by_freq``), and dW[padding_idx] = 0."""

    saves = (1,)

    @staticmethod
    def forward(ctx, weight, idx, padding_idx, scale_grad_by_freq):
        ctx.save_for_backward(idx)
        ctx.shape, ctx.padding_idx, ctx.scale = weight.shape, padding_idx, scale_grad_by_freq
        return weight[idx]

    @staticmethod
    def backward(ctx, g):
        (idx,) = ctx.saved_tensors
        g = g.reshape(-1, ctx.shape[1])
        flat = idx.reshape(-1)
        if ctx.scale:
            counts = np.bincount(flat, minlength=ctx.shape[0])
            g = g / counts[flat][:, None]
        dw = np.zeros(ctx.shape, dtype=g.dtype)
        np.add.at(dw, flat, g)  # accumulates over repeated indices
        if ctx.padding_idx is not None:
            dw[ctx.padding_idx] = 0
        return dw, None, None, None


def _renorm_rows(weight, idx, max_norm, norm_type):
    """Scale in place each row of ``weight`` used by ``idx`` whose ``norm_type``-norm exceeds ``max_norm``."""
    rows = np.unique(idx)
    norms = np.linalg.norm(weight.data[rows], ord=norm_type, axis=1)
    big = norms > max_norm
    weight.data[rows[big]] *= (max_norm / (norms[big] + 1e-7))[:, None].astype(weight.dtype)


def embedding(
    input: Tensor,
    weight: Tensor,
    padding_idx: int | None = None,
    max_norm: float | None = None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> Tensor:
    """Rows of ``weight`` (num_embeddings, embedding_dim) picked by the integer tensor ``input``:
    output shape ``input.shape + (embedding_dim,)``.

    ``padding_idx``: that row gets no gradient. ``max_norm``: rows looked up are first rescaled in
    place to norm at most ``max_norm``. ``sparse`` is accepted; the gradient is always dense.
    """
    idx = input.data if isinstance(input, Tensor) else np.asarray(input)
    if not np.issubdtype(idx.dtype, np.integer):
        raise TypeError(f"embedding: expected integer indices (got dtype {idx.dtype})")
    if weight.ndim != 2:
        raise ValueError(f"embedding: expected a 2D weight (num_embeddings, embedding_dim) (got {weight.ndim}D)")
    n = weight.shape[0]
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        bad = idx.min() if idx.min() < 0 else idx.max()
        raise IndexError(f"embedding: index {bad} is out of range for a table of {n} rows (expected 0..{n - 1})")
    if padding_idx is not None:
        if not -n <= padding_idx < n:
            raise ValueError(f"Padding_idx must be within num_embeddings (got {padding_idx} for {n} rows)")
        padding_idx %= n
    if max_norm is not None and idx.size:
        _renorm_rows(weight, idx, max_norm, norm_type)
        weight._bump()
    return Embedding.apply(weight, input if isinstance(input, Tensor) else idx, padding_idx, scale_grad_by_freq)
