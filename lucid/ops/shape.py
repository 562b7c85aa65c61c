"""Shape ops: they move elements around; each backward moves the gradient back."""
import numpy as np

from ..autograd.function import Function


class Reshape(Function):
    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x.shape
        try:
            return x.reshape(shape)
        except ValueError:
            raise ValueError(f"shape {tuple(shape)} is invalid for input of size {x.size} (shape {x.shape})") from None

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.shape), None


class Permute(Function):
    @staticmethod
    def forward(ctx, x, dims):
        if sorted(d % max(x.ndim, 1) for d in dims) != list(range(x.ndim)):
            raise ValueError(f"permute: dims {tuple(dims)} are not a permutation of {x.ndim} dimensions")
        ctx.dims = tuple(d % x.ndim for d in dims)
        return np.transpose(x, ctx.dims)

    @staticmethod
    def backward(ctx, g):
        return np.transpose(g, np.argsort(ctx.dims)), None


class Expand(Function):
    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x.shape
        shape = tuple(x.shape[i - (len(shape) - x.ndim)] if s == -1 else s for i, s in enumerate(shape))
        try:
            return np.broadcast_to(x, shape)
        except ValueError:
            raise ValueError(f"expand: shape {x.shape} cannot be expanded to {shape}") from None

    @staticmethod
    def backward(ctx, g):
        return g, None  # the engine sums the broadcast gradient back to ctx.shape


class GetItem(Function):
    """y = x[index];  dx = zeros with g scattered back (accumulating on repeated indices)."""

    @staticmethod
    def forward(ctx, x, index):
        ctx.shape, ctx.dtype, ctx.index = x.shape, x.dtype, index
        return np.asarray(x[index])

    @staticmethod
    def backward(ctx, g):
        dx = np.zeros(ctx.shape, dtype=g.dtype)
        np.add.at(dx, ctx.index, g)
        return dx, None


class Cat(Function):
    @staticmethod
    def forward(ctx, axis, *xs):
        ctx.axis = axis % xs[0].ndim
        ctx.bounds = np.cumsum([x.shape[ctx.axis] for x in xs])[:-1]
        try:
            return np.concatenate(xs, axis=ctx.axis)
        except ValueError:
            raise ValueError(f"cat: shapes {[tuple(x.shape) for x in xs]} differ outside dimension {axis}") from None

    @staticmethod
    def backward(ctx, g):
        return (None,) + tuple(np.split(g, ctx.bounds, axis=ctx.axis))


class Stack(Function):
    @staticmethod
    def forward(ctx, axis, *xs):
        if len({x.shape for x in xs}) > 1:
            raise ValueError(f"stack expects each tensor to be equal size (got shapes {[tuple(x.shape) for x in xs]})")
        ctx.axis = axis % (xs[0].ndim + 1)
        return np.stack(xs, axis=ctx.axis)

    @staticmethod
    def backward(ctx, g):
        return (None,) + tuple(np.moveaxis(g, ctx.axis, 0))


class Pad(Function):
    """Constant padding; ``pad`` in PyTorch's order: (last_lo, last_hi, second_last_lo, ...)."""

    @staticmethod
    def forward(ctx, x, pad, value=0.0):
        if len(pad) % 2 or len(pad) // 2 > x.ndim:
            raise ValueError(f"pad: expected an even number of pad sizes, at most 2*{x.ndim} (got {len(pad)})")
        widths = [(0, 0)] * x.ndim
        for i in range(len(pad) // 2):
            widths[x.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
        if any(lo < 0 or hi < 0 for lo, hi in widths):
            raise ValueError(f"pad: negative padding is not supported (got {tuple(pad)})")
        ctx.slices = tuple(slice(lo, lo + n) for (lo, _), n in zip(widths, x.shape))
        return np.pad(x, widths, constant_values=value)

    @staticmethod
    def backward(ctx, g):
        return g[ctx.slices], None, None
