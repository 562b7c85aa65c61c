"""Attention layers: ``MultiheadAttention``, ``TransformerEncoderLayer``, ``TransformerEncoder``, and the
sinusoidal positional encoding.

Parameter names follow PyTorch's, so a PyTorch state dict loads as it is. The math is
``F.scaled_dot_product_attention`` (forward and exact backward); these layers only
project, split heads and add residuals.
"""

import copy
from collections.abc import Callable

import numpy as np
from numpy.typing import DTypeLike

from ... import _dtype, ops
from ..._tensor import Tensor
from .. import functional as F
from .. import init
from ..container import ModuleList
from ..functional.attention import attention
from ..module import Module, Parameter
from .dropout import Dropout
from .linear import Identity, Linear
from .normalization import LayerNorm, RMSNorm

__all__ = [
    "MultiheadAttention",
    "TransformerEncoderLayer",
    "TransformerEncoder",
    "sinusoidal_positional_encoding",
    "generate_square_subsequent_mask",
]


def sinusoidal_positional_encoding(
    length: int, d_model: int, base: float = 10000.0, dtype: DTypeLike | None = None
) -> Tensor:
    """The ``(length, d_model)`` table PE[t, 2i] = sin(t/base^(2i/d)), PE[t, 2i+1] = cos(t/base^(2i/d))."""
    t = np.arange(length, dtype=np.float64)[:, None]
    freq = base ** (-np.arange(0, d_model, 2, dtype=np.float64) / d_model)
    pe = np.zeros((length, d_model))
    pe[:, 0::2] = np.sin(t * freq)
    pe[:, 1::2] = np.cos(t * freq[: d_model // 2])
    return Tensor(pe.astype(_dtype.as_dtype(dtype) or _dtype.float32))


def _float_mask(mask, dtype, name):
    """PyTorch's MHA masks: boolean True means "do not attend" (→ −∞), a float mask is added as it is."""
    if mask is None:
        return None
    if mask.dtype == np.bool_:
        return Tensor(np.where(mask.data, np.asarray(-np.inf, dtype), np.zeros((), dtype)))
    if mask.dtype != dtype:
        raise RuntimeError(f"only bool and floating types of {name} are supported (got {mask.dtype})")
    return mask


class MultiheadAttention(Module):
    """``MultiheadAttention(embed_dim, num_heads, dropout=0.0, bias=True, batch_first=False)``.

    out = concat_h(attention(q·W_qₕᵀ, k·W_kₕᵀ, v·W_vₕᵀ))·W_oᵀ + b_o, with W_q, W_k, W_v stacked in
    ``in_proj_weight`` ``(3E, E)`` and ``in_proj_bias`` ``(3E,)``; ``out_proj`` is a Linear(E, E).
    Inputs are ``(L, N, E)`` (``(N, L, E)`` with ``batch_first``) or unbatched ``(L, E)``. A query whose
    every key is masked gets zero weights and output ``b_o`` (PyTorch: the same with ``need_weights=False``,
    NaN with ``need_weights=True``).
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        add_bias_kv: bool = False,
        add_zero_attn: bool = False,
        kdim: int | None = None,
        vdim: int | None = None,
        batch_first: bool = False,
        device: str | None = None,
        dtype: DTypeLike | None = None,
    ) -> None:
        super().__init__()
        if embed_dim % num_heads:
            raise AssertionError(f"embed_dim must be divisible by num_heads (got {embed_dim} and {num_heads})")
        if add_bias_kv or add_zero_attn or kdim not in (None, embed_dim) or vdim not in (None, embed_dim):
            raise NotImplementedError("MultiheadAttention: add_bias_kv, add_zero_attn, kdim and vdim are not supported")
        dtype = _dtype.as_dtype(dtype) or _dtype.float32
        self.embed_dim, self.num_heads, self.head_dim = embed_dim, num_heads, embed_dim // num_heads
        self.dropout, self.batch_first = dropout, batch_first
        self.in_proj_weight = Parameter(np.empty((3 * embed_dim, embed_dim), dtype))
        if bias:
            self.in_proj_bias = Parameter(np.zeros(3 * embed_dim, dtype))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, dtype=dtype)
        self._reset_parameters()

    def _reset_parameters(self):
        init.xavier_uniform_(self.in_proj_weight)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)

    def _project(self, query, key, value):
        w, b = self.in_proj_weight, self.in_proj_bias
        if query is key and key is value:  # self-attention: one product
            return ops.chunk(F.linear(query, w, b), 3, dim=-1)
        ws, bs = ops.chunk(w, 3), (None,) * 3 if b is None else ops.chunk(b, 3)
        return tuple(F.linear(x, wi, bi) for x, wi, bi in zip((query, key, value), ws, bs))

    def forward(
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        key_padding_mask: Tensor | None = None,
        need_weights: bool = True,
        attn_mask: Tensor | None = None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ) -> tuple[Tensor, Tensor | None]:
        """``(output, weights)``; weights ``(N, L, S)`` averaged over heads (or ``(N, H, L, S)``), or None."""
        batched = query.ndim == 3
        if not batched:
            query, key, value = (x.unsqueeze(1) for x in (query, key, value))
            key_padding_mask = None if key_padding_mask is None else key_padding_mask.unsqueeze(0)
        elif self.batch_first:
            query, key, value = (x.transpose(0, 1) for x in (query, key, value))
        if query.shape[-1] != self.embed_dim:
            raise AssertionError(f"was expecting embedding dimension of {self.embed_dim}, but got {query.shape[-1]}")
        L, N, _ = query.shape
        S, H, d = key.shape[0], self.num_heads, self.head_dim
        q, k, v = (x.reshape(x.shape[0], N, H, d).permute(1, 2, 0, 3) for x in self._project(query, key, value))
        mask = _float_mask(attn_mask, q.dtype, "attn_mask")
        if mask is None and is_causal:
            mask = _float_mask(Tensor(np.triu(np.ones((L, S), bool), 1)), q.dtype, "attn_mask")
        if mask is not None:
            expected = {2: (L, S), 3: (N * H, L, S)}.get(mask.ndim)
            if tuple(mask.shape) != expected:
                raise RuntimeError(
                    f"attn_mask of shape {tuple(mask.shape)}: expected a 2D mask of shape {(L, S)} "
                    f"or a 3D mask of shape {(N * H, L, S)}"
                )
            mask = mask.reshape(N, H, L, S) if mask.ndim == 3 else mask
        if key_padding_mask is not None and tuple(key_padding_mask.shape) != (N, S):
            raise RuntimeError(f"expected key_padding_mask of shape {(N, S)}, got {tuple(key_padding_mask.shape)}")
        pad = _float_mask(key_padding_mask, q.dtype, "key_padding_mask")
        if pad is not None:
            pad = pad.reshape(N, 1, 1, S)
            mask = pad if mask is None else mask + pad
        out, w = attention(q, k, v, mask, self.dropout if self.training else 0.0)
        out = self.out_proj(out.permute(2, 0, 1, 3).reshape(L, N, self.embed_dim))
        if self.batch_first and batched:
            out = out.transpose(0, 1)
        if not batched:
            out = out.squeeze(1)
        if not need_weights:
            return out, None
        if average_attn_weights:
            w = w.mean(1)
        return out, (w if batched else w.squeeze(0))


_ACTIVATIONS = {"relu": F.relu, "gelu": F.gelu}


def _norm(kind, d_model, eps, bias, dtype):
    """The normalization layer a block uses: ``"layer"`` (PyTorch's), ``"rms"``, or ``None`` (identity)."""
    if kind == "layer":
        return LayerNorm(d_model, eps=eps, bias=bias, dtype=dtype)
    if kind == "rms":
        return RMSNorm(d_model, eps=eps, dtype=dtype)
    if kind is None or kind == "none":
        return Identity()
    raise ValueError(f"norm must be 'layer', 'rms' or None (got {kind!r})")


class TransformerEncoderLayer(Module):
    """``TransformerEncoderLayer(d_model, nhead, dim_feedforward=2048, dropout=0.1, activation="relu", ...)``.

    post-norm (default):  x = norm1(x + sa(x)),        x = norm2(x + ff(x))
    pre-norm (norm_first): x = x + sa(norm1(x)),        x = x + ff(norm2(x))
    with sa = dropout1(self_attn(x, x, x)) and ff = dropout2(linear2(dropout(activation(linear1(x))))).
    ``norm`` (lucid's addition) picks the norm layers: ``"layer"`` (LayerNorm, as PyTorch), ``"rms"`` or None.
    """

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: str | Callable[[Tensor], Tensor] = "relu",
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device: str | None = None,
        dtype: DTypeLike | None = None,
        *,
        norm: str | None = "layer",
    ) -> None:
        super().__init__()
        if isinstance(activation, str):
            if activation not in _ACTIVATIONS:
                raise RuntimeError(f"activation should be relu/gelu, not {activation}")
            activation = _ACTIVATIONS[activation]
        self.self_attn = MultiheadAttention(
            d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first, dtype=dtype
        )
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype)
        self.norm_first = norm_first
        self.norm1 = _norm(norm, d_model, layer_norm_eps, bias, dtype)
        self.norm2 = _norm(norm, d_model, layer_norm_eps, bias, dtype)
        self.dropout1, self.dropout2 = Dropout(dropout), Dropout(dropout)
        self.activation = activation

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal):
        x = self.self_attn(
            x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask, need_weights=False, is_causal=is_causal
        )[0]
        return self.dropout1(x)

    def _ff_block(self, x):
        return self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(x)))))

    def forward(
        self,
        src: Tensor,
        src_mask: Tensor | None = None,
        src_key_padding_mask: Tensor | None = None,
        is_causal: bool = False,
    ) -> Tensor:
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self._ff_block(self.norm2(x))
        x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self._ff_block(x))


class TransformerEncoder(Module):
    """``TransformerEncoder(encoder_layer, num_layers, norm=None)``: ``num_layers`` copies of ``encoder_layer``
    (each with its own parameters) applied in turn, then ``norm`` (a LayerNorm, an RMSNorm, or None)."""

    def __init__(
        self,
        encoder_layer: TransformerEncoderLayer,
        num_layers: int,
        norm: Module | None = None,
        enable_nested_tensor: bool = True,
        mask_check: bool = True,
    ) -> None:
        super().__init__()
        self.layers = ModuleList([copy.deepcopy(encoder_layer) for _ in range(num_layers)])
        self.num_layers, self.norm = num_layers, norm

    def forward(
        self,
        src: Tensor,
        mask: Tensor | None = None,
        src_key_padding_mask: Tensor | None = None,
        is_causal: bool | None = None,
    ) -> Tensor:
        x = src
        for layer in self.layers:
            x = layer(x, src_mask=mask, src_key_padding_mask=src_key_padding_mask, is_causal=bool(is_causal))
        return x if self.norm is None else self.norm(x)


def generate_square_subsequent_mask(size: int, dtype: DTypeLike | None = None) -> Tensor:
    """The ``(size, size)`` float mask with −∞ above the diagonal: position i attends to 0..i."""
    return Tensor(np.triu(np.full((size, size), -np.inf), 1).astype(_dtype.as_dtype(dtype) or _dtype.float32))
