"""Elementwise ops: forward and exact backward side by side.

Binary ops broadcast like NumPy; the engine sums each gradient back to its
input's shape. Scalars (Python's and NumPy's) stay Python scalars, so NumPy 2's
promotion rules apply (a scalar never widens a float32 tensor); ``ops._pair`` adds
PyTorch's rule for a 0-d tensor beside a tensor with dimensions.
"""

import numpy as np

from ..autograd.function import Function


def _binary(ufunc, a, b):
    """``ufunc(a, b)``, with a broadcasting failure reported as a ValueError naming both shapes."""
    try:
        return ufunc(a, b)
    except ValueError:
        try:
            np.broadcast_shapes(np.shape(a), np.shape(b))
        except ValueError:
            raise ValueError(
                f"{ufunc.__name__}: shapes {np.shape(a)} and {np.shape(b)} cannot be broadcast together"
            ) from None
        raise


class Add(Function):
    """y = a + b;  da = g,  db = g."""

    saves = ()

    @staticmethod
    def forward(ctx, a, b):
        return _binary(np.add, a, b)

    @staticmethod
    def backward(ctx, g):
        return g, g


class Sub(Function):
    """y = a − b;  da = g,  db = −g."""

    saves = ()

    @staticmethod
    def forward(ctx, a, b):
        return _binary(np.subtract, a, b)

    @staticmethod
    def backward(ctx, g):
        return g, (-g if ctx.needs_input_grad[1] else None)


class Mul(Function):
    """y = a·b;  da = g·b,  db = g·a."""

    saves = (0, 1)

    @staticmethod
    def forward(ctx, a, b):
        needs = ctx.needs_input_grad
        ctx.saves = tuple(i for i, read in ((0, needs[1]), (1, needs[0])) if read)  # a is read for db, b for da
        ctx.save_for_backward(a, b)
        return _binary(np.multiply, a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return (g * b if ctx.needs_input_grad[0] else None), (g * a if ctx.needs_input_grad[1] else None)


class Div(Function):
    """y = a/b;  da = g/b,  db = −g·(a/b)/b (b² could overflow or underflow where a/b does not)."""

    saves = (0, 1)

    @staticmethod
    def forward(ctx, a, b):
        ctx.saves = (0, 1) if ctx.needs_input_grad[1] else (1,)  # a is read for db only
        ctx.save_for_backward(a, b)
        return _binary(np.true_divide, a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        da = g / b if ctx.needs_input_grad[0] else None
        db = -g * (a / b) / b if ctx.needs_input_grad[1] else None
        return da, db


class Pow(Function):
    """y = aᵇ;  da = g·b·aᵇ⁻¹ (0 where b = 0),  db = g·y·ln a (0 where a = 0 and b ≥ 0), as PyTorch."""

    saves = (0, 1, "output")

    @staticmethod
    def forward(ctx, a, b):
        y = _binary(np.power, a, b)
        ctx.saves = (0, 1, "output") if ctx.needs_input_grad[1] else (0, 1)  # y is read for db only
        ctx.save_for_backward(a, b, y)
        return y

    @staticmethod
    def backward(ctx, g):
        a, b, y = ctx.saved_tensors
        da = db = None
        with np.errstate(divide="ignore", invalid="ignore"):
            if ctx.needs_input_grad[0]:
                da = np.where(np.equal(b, 0), 0, g * b * np.power(a, b - 1))
            if ctx.needs_input_grad[1]:
                db = np.where(np.equal(a, 0) & np.greater_equal(b, 0), 0, g * y * np.log(a))
        return da, db


class Neg(Function):
    """y = −x;  dx = −g."""

    saves = ()

    @staticmethod
    def forward(ctx, x):
        return np.negative(x)

    @staticmethod
    def backward(ctx, g):
        return -g


class Exp(Function):
    """y = eˣ;  dx = g·y."""

    saves = ("output",)

    @staticmethod
    def forward(ctx, x):
        y = np.exp(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * y


class Log1p(Function):
    """y = ln(1 + x), accurate for small x;  dx = g/(1 + x)."""

    saves = (0,)

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log1p(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g / (1 + x)


class Expm1(Function):
    """y = eˣ − 1, accurate for small x;  dx = g·(y + 1)."""

    saves = ("output",)

    @staticmethod
    def forward(ctx, x):
        y = np.expm1(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * (y + 1)


class Log(Function):
    """y = ln x;  dx = g/x."""

    saves = (0,)

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g / x


class Sqrt(Function):
    """y = √x;  dx = g/(2y)."""

    saves = ("output",)

    @staticmethod
    def forward(ctx, x):
        y = np.sqrt(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g / (2 * y)


class Rsqrt(Function):
    """y = 1/√x;  dx = −g·y³/2."""

    saves = ("output",)

    @staticmethod
    def forward(ctx, x):
        y = 1 / np.sqrt(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return -0.5 * g * (y * y * y)


class Abs(Function):
    """y = |x|;  dx = g·sign(x)  (0 at x = 0)."""

    saves = (0,)

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.abs(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * np.sign(x)


class Clip(Function):
    """y = min(max(x, lo), hi);  dx = g where lo ≤ x ≤ hi;  dlo = g where x < lo;  dhi = g where y came from hi.

    ``lo`` and ``hi`` are numbers, tensors or None (no bound). With lo > hi every
    element is hi, as in PyTorch.
    """

    saves = (0, 1, 2)

    @staticmethod
    def forward(ctx, x, lo, hi):
        ctx.save_for_backward(x, lo, hi)
        y = x
        if lo is not None:
            y = _binary(np.maximum, y, lo)
        if hi is not None:
            y = _binary(np.minimum, y, hi)
        return y

    @staticmethod
    def backward(ctx, g):
        x, lo, hi = ctx.saved_tensors
        in_range = True
        if lo is not None:
            in_range = in_range & (x >= lo)
        if hi is not None:
            in_range = in_range & (x <= hi)
        dx = np.where(in_range, g, 0) if ctx.needs_input_grad[0] else None
        dlo = dhi = None
        if ctx.needs_input_grad[1]:
            below = x < lo if hi is None else (x < lo) & (lo < hi)  # lo = hi: hi takes it, as PyTorch
            dlo = np.where(below, g, 0)
        if ctx.needs_input_grad[2]:
            above = x > hi if lo is None else np.maximum(x, lo) > hi
            dhi = np.where(above, g, 0)
        return dx, dlo, dhi


class Maximum(Function):
    """y = max(a, b);  the gradient goes to the larger input, split evenly on ties (as PyTorch)."""

    saves = (0, 1)

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return _binary(np.maximum, a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        shared = np.where(np.equal(a, b), g / 2, g)
        da = np.where(np.less(a, b), 0, shared) if ctx.needs_input_grad[0] else None
        db = np.where(np.greater(a, b), 0, shared) if ctx.needs_input_grad[1] else None
        return da, db


class Minimum(Function):
    """y = min(a, b);  the gradient goes to the smaller input, split evenly on ties (as PyTorch)."""

    saves = (0, 1)

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return _binary(np.minimum, a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        shared = np.where(np.equal(a, b), g / 2, g)
        da = np.where(np.greater(a, b), 0, shared) if ctx.needs_input_grad[0] else None
        db = np.where(np.less(a, b), 0, shared) if ctx.needs_input_grad[1] else None
        return da, db


class Where(Function):
    """y = a where cond else b;  da = g where cond,  db = g where not cond."""

    saves = ()

    @staticmethod
    def forward(ctx, cond, a, b):
        cond = np.asarray(cond, dtype=bool)
        ctx.save_for_backward(cond)
        try:
            return np.where(cond, a, b)
        except ValueError:
            shapes = (cond.shape, np.shape(a), np.shape(b))
            raise ValueError(
                f"where: shapes {shapes[0]}, {shapes[1]} and {shapes[2]} (condition, input, other) "
                "cannot be broadcast together"
            ) from None

    @staticmethod
    def backward(ctx, g):
        (cond,) = ctx.saved_tensors
        da = np.where(cond, g, 0) if ctx.needs_input_grad[1] else None
        db = np.where(cond, 0, g) if ctx.needs_input_grad[2] else None
        return None, da, db


class AsType(Function):
    """y = x cast to ``dtype``;  dx = g cast back."""

    saves = ()

    @staticmethod
    def forward(ctx, x, dtype):
        ctx.in_dtype = x.dtype
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, g):
        return g.astype(ctx.in_dtype), None


class Clone(Function):
    """y = a copy of x;  dx = g."""

    saves = ()

    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, g):
        return g


class Sin(Function):
    """y = sin x;  dx = g·cos x."""

    saves = (0,)

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.sin(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * np.cos(x)


class Cos(Function):
    """y = cos x;  dx = −g·sin x."""

    saves = (0,)

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.cos(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return -g * np.sin(x)
