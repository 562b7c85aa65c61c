"""Comparisons, logic and tests of values: results without a gradient (bool, or the bitwise ints)."""

import numpy as np

from .._tensor import Tensor
from .elementwise import _binary
from .reduction import _axes

__all__ = [
    "eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or", "logical_xor", "logical_not",
    "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "isnan", "isinf", "isfinite", "all", "any",
]  # fmt: skip


def _array(x):
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def _no_grad_op(ufunc, name):
    def op(a, b):
        a = a.data if isinstance(a, Tensor) else a
        b = b.data if isinstance(b, Tensor) else b
        return Tensor._from_array(np.asarray(_binary(ufunc, a, b)))

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"``{name}(a, b)``: elementwise ``np.{ufunc.__name__}``, broadcast; the result carries no gradient."
    return op


eq, ne, lt, le, gt, ge = (
    _no_grad_op(f, n)
    for f, n in [
        (np.equal, "eq"),
        (np.not_equal, "ne"),
        (np.less, "lt"),
        (np.less_equal, "le"),
        (np.greater, "gt"),
        (np.greater_equal, "ge"),
    ]
)
logical_and, logical_or, logical_xor = (
    _no_grad_op(f, f.__name__) for f in (np.logical_and, np.logical_or, np.logical_xor)
)
bitwise_and, bitwise_or, bitwise_xor = (
    _no_grad_op(f, f.__name__) for f in (np.bitwise_and, np.bitwise_or, np.bitwise_xor)
)


def logical_not(x):
    return Tensor._from_array(np.logical_not(x.data if isinstance(x, Tensor) else x))


def bitwise_not(x):
    return Tensor._from_array(np.invert(x.data if isinstance(x, Tensor) else x))


def isnan(input):
    """Whether each element is NaN."""
    return Tensor._from_array(np.isnan(_array(input)))


def isinf(input):
    """Whether each element is +inf or −inf."""
    return Tensor._from_array(np.isinf(_array(input)))


def isfinite(input):
    """Whether each element is neither inf nor NaN."""
    return Tensor._from_array(np.isfinite(_array(input)))


def _test(fn, input, dim, keepdim):
    x = _array(input)
    if dim is None and keepdim:  # PyTorch keeps no dims here: a 0-d result
        keepdim = False
    if dim is not None and not isinstance(dim, int) and len(dim) == 0:  # dim=(): nothing reduced, as PyTorch
        return Tensor._from_array(np.asarray(x, np.uint8 if x.dtype == np.uint8 else np.bool_))
    axes = tuple(range(x.ndim)) if dim is None else _axes(dim, x.ndim)
    out = fn(x.astype(bool, copy=False), axis=axes, keepdims=keepdim)
    # PyTorch's all/any give uint8 for uint8 input, bool for every other dtype
    return Tensor._from_array(np.asarray(out, np.uint8 if x.dtype == np.uint8 else np.bool_))


def all(input, dim=None, keepdim=False):
    """Whether every element (over ``dim``, an int or a tuple) is non-zero."""
    return _test(np.all, input, dim, keepdim)


def any(input, dim=None, keepdim=False):
    """Whether some element (over ``dim``) is non-zero."""
    return _test(np.any, input, dim, keepdim)
