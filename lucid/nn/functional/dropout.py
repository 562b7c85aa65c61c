"""``dropout``: zero random elements while training, scale the rest to keep the mean."""
import numpy as np

from ... import random as _random
from ...autograd.function import Function

__all__ = ["dropout"]


class Dropout(Function):
    """y = x·m/(1 − p), m ~ Bernoulli(1 − p) elementwise;  dx = g·m/(1 − p) (the same mask)."""

    saves = ()

    @staticmethod
    def forward(ctx, x, p):
        keep = _random.generator().random(x.shape) >= p
        scale = keep * (1 / (1 - p)) if p < 1 else keep.astype(np.float64)  # p = 1: everything dropped
        scale = scale.astype(x.dtype)
        ctx.save_for_backward(scale)
        return x * scale

    @staticmethod
    def backward(ctx, g):
        (scale,) = ctx.saved_tensors
        return g * scale, None


def dropout(input, p=0.5, training=True, inplace=False):
    """While ``training``, zero each element with probability ``p`` and scale the others by 1/(1 − p);
    otherwise return ``input`` itself. The mask comes from lucid's generator (``lucid.manual_seed``)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0 or input.size == 0:
        return input
    return Dropout.apply(input, p)
