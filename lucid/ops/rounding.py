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


def _stepwise(f, name, doc):
    def op(input: Tensor) -> Tensor:
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}(): argument 'input' must be Tensor, not {type(input).__name__}")
        if input.dtype.kind in "biu":  # integers are whole already (PyTorch returns them as they are)
            return input.clone() if name != "sign" or input.dtype == np.bool_ else _Stepwise.apply(input, np.sign)
        return _Stepwise.apply(input, f)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc + "; its gradient is 0."
    return op


floor = _stepwise(np.floor, "floor", "The largest whole number ≤ x")
ceil = _stepwise(np.ceil, "ceil", "The smallest whole number ≥ x")
trunc = _stepwise(np.trunc, "trunc", "x with its fraction dropped (towards 0)")
sign = _stepwise(np.sign, "sign", "−1, 0 or 1 as x is negative, zero or positive (NaN stays NaN)")


def round(input: Tensor, *, decimals: int = 0) -> Tensor:
    """x rounded to ``decimals`` places, halves to even (as PyTorch); its gradient is 0."""
    if decimals and isinstance(input, Tensor) and input.dtype.kind in "biu":
        raise NotImplementedError(f"round with decimals={decimals} is not implemented for {input.dtype} input")
    if decimals == 0:
        return _stepwise(np.round, "round", "")(input)
    return _stepwise(lambda x: np.round(x, decimals), "round", "")(input)


def _check_integer_divisor(a, b):
    """An integer division by 0 has no value: PyTorch raises, NumPy would give 0."""
    a_int = np.asarray(a).dtype.kind in "biu" if not isinstance(a, float) else False
    b_arr = np.asarray(b)
    if a_int and b_arr.dtype.kind in "biu" and not np.all(b_arr):
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
