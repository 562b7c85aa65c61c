"""``dropout``: zero random elements while training, scale the rest to keep the mean;
``dropout1d``/``dropout2d``: the same with whole channels."""

import warnings

import numpy as np

from ... import random as _random
from ..._tensor import Tensor
from ...autograd.function import Function
from ...autograd.inplace import change as inplace_change

__all__ = ["dropout", "dropout1d", "dropout2d"]


class Dropout(Function):
    """y = x·m/(1 − p), m ~ Bernoulli(1 − p) elementwise;  dx = g·m/(1 − p) (the same mask)."""

    saves = ()

    @staticmethod
    def forward(ctx, x, p, mask_shape=None):
        keep = _random.generator().random(x.shape if mask_shape is None else mask_shape) >= p
        scale = keep * (1 / (1 - p)) if p < 1 else keep.astype(np.float64)  # p = 1: everything dropped
        scale = scale.astype(x.dtype)
        ctx.save_for_backward(scale)
        return x * scale

    @staticmethod
    def backward(ctx, g):
        (scale,) = ctx.saved_tensors
        return g * scale, None, None


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """While ``training``, zero each element with probability ``p`` and scale the others by 1/(1 − p);
    otherwise return ``input`` itself. The mask comes from lucid's generator (``lucid.manual_seed``)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0 or input.size == 0:
        return input
    if inplace:
        return inplace_change(input, lambda x: Dropout.apply(x, p), "dropout_", reads_x=False)
    return Dropout.apply(input, p)


def _channel_dropout(input, p, training, batched, inplace=False):
    """Zero each (sample, channel) plane with probability ``p``: one mask value per plane, shape (N, C, 1, …)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0 or input.size == 0:
        return input
    lead = 2 if batched else 1
    shape = tuple(input.shape[:lead]) + (1,) * (input.ndim - lead)
    if inplace:
        return inplace_change(input, lambda x: Dropout.apply(x, p, shape), "dropout_", reads_x=False)
    return Dropout.apply(input, p, shape)


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Channel-wise dropout of (N, C, L) or (C, L): each channel is zeroed whole, or scaled by 1/(1 − p)."""
    if input.ndim not in (2, 3):
        raise RuntimeError(
            f"dropout1d: Expected 2D or 3D input, but received a {input.ndim}D input. Note that "
            "dropout1d exists to provide channel-wise dropout on inputs with 1 spatial dimension, a "
            "channel dimension, and an optional batch dimension (i.e. 2D or 3D inputs)."
        )
    return _channel_dropout(input, p, training, batched=input.ndim == 3, inplace=inplace)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Channel-wise dropout of (N, C, H, W): each channel is zeroed whole, or scaled by 1/(1 − p).

    A 3-D input is taken as (N, C, L), with a warning, as PyTorch does."""
    if input.ndim not in (3, 4):
        warnings.warn(
            f"dropout2d: Received a {input.ndim}-D input to dropout2d, which is deprecated and will "
            "result in an error in a future release. To retain the behavior and silence this warning, "
            "please use dropout instead. Note that dropout2d exists to provide channel-wise dropout on "
            "inputs with 2 spatial dimensions, a channel dimension, and an optional batch dimension "
            "(i.e. 3D or 4D inputs).",
            stacklevel=2,
        )
    if input.ndim == 3:
        warnings.warn(
            "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout "
            "behavior is desired - input is interpreted as shape (N, C, L), where C is the channel dim. "
            "This behavior will change in a future release to interpret the input as one without a "
            "batch dimension, i.e. shape (C, H, W). To maintain the 1D channel-wise dropout behavior, "
            "please switch to using dropout1d instead.",
            stacklevel=2,
        )
    return _channel_dropout(input, p, training, batched=input.ndim != 1, inplace=inplace)
