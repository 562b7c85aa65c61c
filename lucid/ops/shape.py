"""Shape ops: they move elements around; each backward moves the gradient back."""

import numpy as np

from ..autograd.function import Function


def _check_dim(dim, ndim):
    if not -ndim <= dim < ndim:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-ndim}, {ndim - 1}], but got {dim})")
    return dim % ndim


class Reshape(Function):
    """y = x with a new shape (same elements, same order);  dx = g reshaped back."""

    saves = ()

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
    """y = x with its axes reordered by ``dims``;  dx = g with the inverse order."""

    saves = ()

    @staticmethod
    def forward(ctx, x, dims):
        n = max(x.ndim, 1)
        if len(dims) != x.ndim or sorted(_check_dim(d, n) for d in dims) != list(range(x.ndim)):
            raise ValueError(
                f"permute: dims {tuple(dims)} are not a permutation of the {x.ndim} dimensions of shape {x.shape}"
            )
        ctx.dims = tuple(d % n for d in dims)
        return np.transpose(x, ctx.dims)

    @staticmethod
    def backward(ctx, g):
        return np.transpose(g, np.argsort(ctx.dims)), None


class Expand(Function):
    """y = x broadcast to ``shape`` (-1 keeps a size);  dx = g summed back (by the engine)."""

    saves = ()

    @staticmethod
    def forward(ctx, x, shape):
        lead = len(shape) - x.ndim
        if lead < 0:
            raise ValueError(f"expand: the shape {tuple(shape)} has fewer dimensions than the tensor {x.shape}")
        full = tuple(x.shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(shape))
        try:
            return np.broadcast_to(x, full)
        except ValueError:
            raise ValueError(
                f"expand: shape {x.shape} cannot be expanded to {tuple(shape)} (only dimensions of size 1 can grow)"
            ) from None

    @staticmethod
    def backward(ctx, g):
        return g, None


def _is_basic(index):
    """True when ``x[index]`` is basic indexing (ints, slices, None, ...): no element is picked twice."""
    items = index if isinstance(index, tuple) else (index,)
    return all(
        i is None
        or i is Ellipsis
        or isinstance(i, slice)
        or (isinstance(i, (int, np.integer)) and not isinstance(i, bool))
        for i in items
    )


class GetItem(Function):
    """y = x[index];  dx = zeros with g scattered back to where each element came from.

    With advanced indexing an element may be picked several times (``x[[0, 0]]``):
    ``np.add.at`` adds up every gradient that comes back to it.
    """

    saves = ()

    @staticmethod
    def forward(ctx, x, index):
        ctx.shape, ctx.index = x.shape, index
        return x[index]

    @staticmethod
    def backward(ctx, g):
        dx = np.zeros(ctx.shape, dtype=g.dtype)
        if _is_basic(ctx.index):
            dx[ctx.index] = g
        else:
            np.add.at(dx, ctx.index, g)
        return dx, None


class Cat(Function):
    """y = the inputs joined along ``axis``;  each dx = its slice of g."""

    saves = ()

    @staticmethod
    def forward(ctx, axis, *xs):
        if not xs:
            raise ValueError("cat expects a non-empty list of tensors")
        if xs[0].ndim == 0:
            raise ValueError("cat: zero-dimensional tensors cannot be concatenated")
        ctx.axis = _check_dim(axis, xs[0].ndim)
        ctx.bounds = np.cumsum([x.shape[ctx.axis] if x.ndim else 0 for x in xs])[:-1]
        try:
            return np.concatenate(xs, axis=ctx.axis)
        except ValueError:
            raise ValueError(
                f"cat: shapes {[tuple(x.shape) for x in xs]} must match except in dimension {axis}"
            ) from None

    @staticmethod
    def backward(ctx, g):
        return (None,) + tuple(np.split(g, ctx.bounds, axis=ctx.axis))


class Stack(Function):
    """y = the inputs stacked along a new ``axis``;  each dx = its slice of g."""

    saves = ()

    @staticmethod
    def forward(ctx, axis, *xs):
        if not xs:
            raise ValueError("stack expects a non-empty list of tensors")
        if len({x.shape for x in xs}) > 1:
            raise ValueError(f"stack expects each tensor to be equal size (got shapes {[tuple(x.shape) for x in xs]})")
        ctx.axis = _check_dim(axis, xs[0].ndim + 1)
        return np.stack(xs, axis=ctx.axis)

    @staticmethod
    def backward(ctx, g):
        return (None,) + tuple(np.moveaxis(g, ctx.axis, 0))


class Split(Function):
    """ys = consecutive pieces of x along ``axis``, of lengths ``sizes``;  dx = the gs joined back."""

    saves = ()

    @staticmethod
    def forward(ctx, x, sizes, axis):
        ctx.axis = axis
        return tuple(np.split(x, np.cumsum(sizes)[:-1], axis=axis))

    @staticmethod
    def backward(ctx, *grads):
        return np.concatenate(grads, axis=ctx.axis), None, None


def _pad_source(n, lo, hi, mode):
    """For each position of a padded axis, the index of the input element it copies."""
    j = np.arange(-lo, n + hi)
    if mode == "replicate":
        return np.clip(j, 0, n - 1)
    if mode == "reflect":
        return np.abs(n - 1 - np.abs(n - 1 - j))  # mirror at both edges, the edge itself not repeated
    return j % n  # circular


class Pad(Function):
    """Pad the last dimensions; ``pad`` in PyTorch's order: (last_lo, last_hi, second_last_lo, ...).

    ``mode="constant"``: y = x surrounded by ``value``;  dx = the middle of g.
    ``"reflect"``, ``"replicate"``, ``"circular"``: each new element copies an input
    element; dx = zeros with g added back at each source (``np.add.at``).
    """

    saves = (0,)

    @staticmethod
    def forward(ctx, x, pad, mode="constant", value=0.0):
        if len(pad) % 2 or len(pad) // 2 > x.ndim:
            raise ValueError(
                f"pad: expected an even number of pad sizes, at most 2*{x.ndim} for a {x.ndim}-D input (got {len(pad)})"
            )
        widths = [(0, 0)] * x.ndim
        for i in range(len(pad) // 2):
            widths[x.ndim - 1 - i] = (int(pad[2 * i]), int(pad[2 * i + 1]))
        if any(lo < 0 or hi < 0 for lo, hi in widths):
            raise ValueError(f"pad: negative padding is not supported (got {tuple(pad)})")
        ctx.mode = mode
        if mode in ("constant", "circular"):
            ctx.saves = ()  # as in PyTorch, whose reflect and replicate padding keep the input
        if mode == "constant":
            ctx.slices = tuple(slice(lo, lo + n) for (lo, _), n in zip(widths, x.shape))
            return np.pad(x, widths, constant_values=value)
        if mode not in ("reflect", "replicate", "circular"):
            raise ValueError(f"pad: mode must be 'constant', 'reflect', 'replicate' or 'circular' (got {mode!r})")
        for (lo, hi), n in zip(widths, x.shape):
            limit = n - 1 if mode == "reflect" else n
            if (lo or hi) and (max(lo, hi) > limit or n == 0):
                raise ValueError(
                    f"pad: {mode} padding of ({lo}, {hi}) is too large for a dimension of size {n} (at most {limit})"
                )
        ctx.shape = x.shape
        ctx.index = np.ix_(*(_pad_source(n, lo, hi, mode) for (lo, hi), n in zip(widths, x.shape)))
        return x[ctx.index]

    @staticmethod
    def backward(ctx, g):
        if ctx.mode == "constant":
            return g[ctx.slices], None, None, None
        dx = np.zeros(ctx.shape, dtype=g.dtype)
        np.add.at(dx, ctx.index, g)
        return dx, None, None, None


class Flip(Function):
    """y = x reversed along ``axes``;  dx = g reversed along them."""

    saves = ()

    @staticmethod
    def forward(ctx, x, axes):
        ctx.axes = axes
        return np.flip(x, axes).copy()

    @staticmethod
    def backward(ctx, g):
        return np.flip(g, ctx.axes), None


class Repeat(Function):
    """y = x tiled ``reps`` times along each dimension (leading 1s added to x's shape as needed);
    dx = the sum of g over the copies."""

    saves = ()

    @staticmethod
    def forward(ctx, x, reps):
        if len(reps) < x.ndim:
            raise RuntimeError(
                "Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor"
            )
        ctx.x_shape, ctx.shape, ctx.reps = x.shape, (1,) * (len(reps) - x.ndim) + x.shape, reps
        return np.tile(x.reshape(ctx.shape), reps)

    @staticmethod
    def backward(ctx, g):
        split = [n for pair in zip(ctx.reps, ctx.shape) for n in pair]  # (r0, n0, r1, n1, ...)
        dx = g.reshape(split).sum(axis=tuple(range(0, len(split), 2)))
        return dx.reshape(ctx.x_shape), None
