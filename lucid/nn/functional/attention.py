"""``scaled_dot_product_attention``: softmax(q·kᵀ·scale + mask)·v, with its exact backward.

For one batch entry, with q ``(L, E)``, k ``(S, E)``, v ``(S, Ev)``::

    forward                                backward (G = ∂L/∂out, Gw = ∂L/∂w when the weights are an output)
    s   = scale·q·kᵀ + M      (L, S)       dP  = (G·vᵀ + Gw)·keep/(1 − p)
    P   = softmax(s) by row                ds  = P·(dP − Σ_row dP·P)
    w   = P·keep/(1 − p)      (dropout)    dq  = scale·ds·k,   dk = scale·dsᵀ·q,   dv = wᵀ·G
    out = w·v                 (L, Ev)      dM  = ds   (a float mask that requires grad)

M is 0 or a float mask added to the scores; a boolean mask is True where a query may
look at a key (False: M = −∞); ``is_causal`` keeps key j ≤ query i. The softmax
subtracts each row's maximum first, so exp never overflows. A row whose every key is
masked has no maximum: it gets P = 0 (no NaN) and so a zero output and zero gradients,
which is PyTorch's rule.
"""

import math

import numpy as np

from ... import random as _random
from ..._tensor import Tensor
from ...autograd.function import Function

__all__ = ["scaled_dot_product_attention"]


def _safe_softmax(s):
    """softmax along the last axis; a row that is all −∞ (or has no keys) gives zeros instead of 0/0."""
    if s.shape[-1] == 0:  # no keys: no weights
        return s.copy()
    m = np.max(s, axis=-1, keepdims=True)
    m = np.where(np.isneginf(m), np.zeros((), s.dtype), m)
    e = np.exp(s - m)
    total = e.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total == 0, np.zeros((), s.dtype), e / total)


class Attention(Function):
    """(out, w) = attention(q, k, v; mask) as in the module docstring: forward and exact backward."""

    saves = (0, 1, 2)

    @staticmethod
    def forward(ctx, q, k, v, float_mask, bool_mask, scale, dropout_p):
        need_q, need_k, need_v, need_m = ctx.needs_input_grad[:4]
        # q is read for dk, k for dq, v for dq, dk and the mask's gradient (neither mask is read)
        ctx.saves = tuple(i for i, read in ((0, need_k), (1, need_q), (2, need_q or need_k or need_m)) if read)
        q, k, v = (np.ascontiguousarray(a) for a in (q, k, v))  # BLAS takes contiguous matrices
        s = np.matmul(q, np.swapaxes(k, -1, -2)) * np.asarray(scale, q.dtype)
        if float_mask is not None:
            s = s + float_mask
        if bool_mask is not None:
            s = np.where(bool_mask, s, np.asarray(-np.inf, s.dtype))
        p = _safe_softmax(s)
        if dropout_p > 0:
            keep = _random.generator().random(p.shape) >= dropout_p
            ctx.drop = (keep / (1 - dropout_p) if dropout_p < 1 else keep * 0.0).astype(p.dtype)
            w = p * ctx.drop
        else:
            ctx.drop, w = None, p
        ctx.scale, ctx.mask_shape = scale, None if float_mask is None else float_mask.shape
        ctx.save_for_backward(q, k, v, p, w)
        return np.matmul(w, v), w

    @staticmethod
    def backward(ctx, g, gw):
        q, k, v, p, w = ctx.saved_tensors
        g = np.ascontiguousarray(g)
        need_q, need_k, need_v, need_m = ctx.needs_input_grad[:4]
        dv = np.matmul(np.swapaxes(w, -1, -2), g) if need_v else None
        if not (need_q or need_k or need_m):
            return None, None, dv, None, None, None, None
        dp = np.matmul(g, np.swapaxes(v, -1, -2)) + gw
        if ctx.drop is not None:
            dp = dp * ctx.drop
        ds = p * (dp - np.sum(dp * p, axis=-1, keepdims=True))
        scale = np.asarray(ctx.scale, ds.dtype)
        dq = np.matmul(ds, k) * scale if need_q else None
        dk = np.matmul(np.swapaxes(ds, -1, -2), q) * scale if need_k else None
        return dq, dk, dv, (ds if need_m else None), None, None, None


def _check(q, k, v, attn_mask, is_causal):
    for name, t in (("query", q), ("key", k), ("value", v)):
        if not isinstance(t, Tensor):
            raise TypeError(f"scaled_dot_product_attention(): argument '{name}' must be Tensor, not {type(t).__name__}")
        if t.ndim < 2:
            raise RuntimeError(
                f"scaled_dot_product_attention: expected {name} with at least 2 dimensions (got {t.ndim}D)"
            )
    if not (q.dtype == k.dtype == v.dtype) or q.dtype.kind != "f":
        raise RuntimeError(
            "Expected query, key, and value to have the same floating dtype, but got "
            f"query.dtype: {q.dtype} key.dtype: {k.dtype} and value.dtype: {v.dtype} instead."
        )
    if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise RuntimeError(
            f"scaled_dot_product_attention: expected query (..., L, E), key (..., S, E) and value "
            f"(..., S, Ev); got {tuple(q.shape)}, {tuple(k.shape)} and {tuple(v.shape)}"
        )
    if attn_mask is not None:
        if is_causal:
            raise RuntimeError(
                "_scaled_dot_product_attention: Explicit attn_mask should not be set when is_causal=True"
            )
        if attn_mask.dtype != np.bool_ and attn_mask.dtype != q.dtype:
            raise RuntimeError(
                f"Expected attn_mask dtype to be bool or float or to match query dtype, got "
                f"{attn_mask.dtype} (query: {q.dtype})"
            )
        scores = q.shape[:-1] + (k.shape[-2],)
        try:
            np.broadcast_shapes(scores, k.shape[:-2] + scores[-2:], attn_mask.shape)
        except ValueError:
            raise RuntimeError(
                f"scaled_dot_product_attention: attn_mask of shape {tuple(attn_mask.shape)} does "
                f"not broadcast to the scores (..., L, S) = {scores}"
            ) from None


def attention(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    attn_mask: Tensor | None = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
) -> tuple[Tensor, Tensor]:
    """``(out, weights)``: scaled dot product attention and the weights it used (after dropout)."""
    _check(q, k, v, attn_mask, is_causal)
    if not 0.0 <= dropout_p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {dropout_p}")
    L, S = q.shape[-2], k.shape[-2]
    bool_mask = float_mask = None
    if is_causal:
        bool_mask = np.tril(np.ones((L, S), dtype=bool))
    elif attn_mask is not None and attn_mask.dtype == np.bool_:
        bool_mask = attn_mask.data
    else:
        float_mask = attn_mask
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    return Attention.apply(q, k, v, float_mask, bool_mask, scale, float(dropout_p))


def scaled_dot_product_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask: Tensor | None = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    enable_gqa: bool = False,
) -> Tensor:
    """softmax(query·keyᵀ·scale + mask)·value over the last two dimensions; leading dimensions broadcast.

    ``attn_mask``: boolean (True: may attend) or float (added to the scores), broadcastable to ``(..., L, S)``;
    ``is_causal``: query i sees keys 0..i; ``scale`` defaults to 1/√E; ``dropout_p`` drops attention weights.
    """
    if enable_gqa:
        raise NotImplementedError("scaled_dot_product_attention: enable_gqa is not supported")
    return attention(query, key, value, attn_mask, dropout_p, is_causal, scale)[0]
