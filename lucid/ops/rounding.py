"""Rounding and division with a remainder: floor, ceil, round, trunc, sign, remainder (``%``),
floor_divide (``//``).

The rounding functions are constant between jumps: their gradient is 0 (as PyTorch's).
remainder is a − ⌊a/b⌋·b (the sign of b, as Python's ``%``): da = g, db = −g·⌊a/b⌋.
"""

import numpy as np

from .._tensor import Tensor
from ..autograd.function import Function
from .elementwise import _binary
from .operands import _pair

__all__ = ["floor", "ceil", "round", "trunc", "sign", "remainder", "floor_divide"]


class _Stepwise(Function):
    """y = f(x) for a function f that is constant between jumps;  dx = 0."""

    saves = ()

    @staticmethod
    def forward(ctx, x, f):
        return f(x)

    @staticmethod
    def backward(ctx, g):
        return np.zeros_like(g), None


def _step(input, f, name, whole=True):
    """``_Stepwise`` of ``f`` on ``input``; integers are whole already (``whole``: returned as a copy)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument 'input' must be Tensor, not {type(input).__name__}")
    if whole and input.dtype.kind in "biu":
        return input.clone()
    return _Stepwise.apply(input, f)


def _stepwise(f, name, doc):
    def op(input: Tensor) -> Tensor:
        return _step(input, f, name)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc + "; its gradient is 0."
    return op


floor = _stepwise(np.floor, "floor", "The largest whole number ≤ x")
ceil = _stepwise(np.ceil, "ceil", "The smallest whole number ≥ x")
trunc = _stepwise(np.trunc, "trunc", "x with its fraction dropped (towards 0)")


def sign(input: Tensor) -> Tensor:
    """−1, 0 or 1 as x is negative, zero or positive (NaN stays NaN; bool stays bool); its gradient is 0."""
    return _step(input, np.sign, "sign", whole=isinstance(input, Tensor) and input.dtype == np.bool_)


def round(input: Tensor, *, decimals: int = 0) -> Tensor:
    """x rounded to ``decimals`` places, halves to even (as PyTorch); its gradient is 0."""
    if decimals and isinstance(input, Tensor) and input.dtype.kind in "biu":
        raise NotImplementedError(f"round with decimals={decimals} is not implemented for {input.dtype} input")
    return _step(input, np.round if decimals == 0 else lambda x: np.round(x, decimals), "round")


def _check_integer_divisor(a, b):
    """An integer division by 0 has no value: PyTorch raises, NumPy would give 0."""
    b = np.asarray(b)
    if np.asarray(a).dtype.kind in "biu" and b.dtype.kind in "biu" and not np.all(b):
        raise RuntimeError("ZeroDivisionError")


class Remainder(Function):
    """y = a − ⌊a/b⌋·b;  da = g,  db = −g·⌊a/b⌋."""

    saves = (0, 1)

    @staticmethod
    def forward(ctx, a, b):
        ctx.saves = (0, 1) if ctx.needs_input_grad[1] else ()
        ctx.save_for_backward(a, b)
        _check_integer_divisor(a, b)
        with np.errstate(divide="ignore", invalid="ignore"):
            return _binary(np.remainder, a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        if not ctx.needs_input_grad[1]:
            return g, None
        with np.errstate(divide="ignore", invalid="ignore"):
            return g, -g * np.floor_divide(a, b)  # the quotient the forward's remainder used (also at ±inf)


def remainder(input, other) -> Tensor:
    """``input % other``: the remainder with the sign of ``other``, as Python's ``%``."""
    return Remainder.apply(*_pair(input, other))


def floor_divide(input, other) -> Tensor:
    """``input // other``: ⌊input/other⌋ (no gradient, as PyTorch)."""
    a, b = _pair(input, other)
    a = a.data if isinstance(a, Tensor) else a
    b = b.data if isinstance(b, Tensor) else b
    _check_integer_divisor(a, b)
    with np.errstate(divide="ignore", invalid="ignore"):
        return Tensor._from_array(np.asarray(_binary(np.floor_divide, a, b)))
