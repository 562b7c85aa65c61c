"""The operands of the ops: array-likes become Tensors, scalars stay scalars, and PyTorch's promotion
rule for a 0-d tensor beside a tensor with dimensions."""

import numbers

import numpy as np

from .._tensor import Tensor
from . import elementwise as E


def _t(x):
    """A Tensor for array-likes. Scalars stay scalars, NumPy's as Python's: weak in promotion, as PyTorch
    takes them (``x / np.sqrt(d)`` keeps a float32 x float32)."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, np.generic) and x.dtype.kind in "biuf":
        return x.item()
    if isinstance(x, numbers.Number):
        return x
    return Tensor(x)


_KIND_RANK = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}


def _pair(a, b):
    """The operands of a binary op. PyTorch's rule for a 0-d tensor beside a tensor with dimensions: of
    the same kind or a lower one (bool < integer < float), it takes that tensor's dtype."""
    if type(b) is float and isinstance(a, Tensor):  # the common x * 0.5: nothing to convert
        return a, b
    a, b = _t(a), _t(b)
    if isinstance(a, Tensor) and isinstance(b, Tensor) and (a.ndim == 0) != (b.ndim == 0) and a.dtype != b.dtype:
        zero, full = (a, b) if a.ndim == 0 else (b, a)
        if _KIND_RANK[zero.dtype.kind] <= _KIND_RANK[full.dtype.kind]:
            zero = E.AsType.apply(zero, full.dtype)
            a, b = (zero, full) if a.ndim == 0 else (full, zero)
    return a, b
