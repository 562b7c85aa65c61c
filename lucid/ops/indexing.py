"""Ops that pick, mask or scatter elements by position: tril, triu, masked_fill, gather, scatter_add, index_add,
index_select.

Each forward moves values by an index or a mask; each backward sends the gradient
back along the same index or mask (adding up where several outputs came from one
input element).
"""

import numbers

import numpy as np

from .._tensor import Tensor
from ..autograd.function import Function
from .shape import _check_dim

__all__ = ["tril", "triu", "masked_fill", "masked_fill_", "gather", "scatter_add", "index_add", "index_select"]


def _t(x, fn, name="input"):
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}(): argument '{name}' must be Tensor, not {type(x).__name__}")
    return x


def _index_array(index, fn):
    data = index.data if isinstance(index, Tensor) else np.asarray(index)
    if data.dtype != np.int64:
        raise RuntimeError(f"{fn}(): Expected dtype int64 for index (got {data.dtype})")
    return data


# ---- triangles -------------------------------------------------------------------------------------
def _triangle_mask(shape, diagonal, lower):
    """True where element (i, j) of the last two dimensions is kept: j − i ≤ diagonal (lower) or ≥ (upper)."""
    rows, cols = shape[-2:]
    offset = np.arange(cols)[None, :] - np.arange(rows)[:, None]  # j − i
    return offset <= diagonal if lower else offset >= diagonal


class Triangle(Function):
    """y = x where the triangle mask is true, else 0;  dx = g where the mask is true, else 0."""

    saves = ()

    @staticmethod
    def forward(ctx, x, diagonal, lower):
        if x.ndim < 2:
            raise RuntimeError(f"{'tril' if lower else 'triu'}: input tensor must have at least 2 dimensions")
        ctx.keep = _triangle_mask(x.shape, diagonal, lower)
        return np.where(ctx.keep, x, np.zeros((), x.dtype))

    @staticmethod
    def backward(ctx, g):
        return np.where(ctx.keep, g, np.zeros((), g.dtype)), None, None


def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """The lower triangle of the last two dimensions: ``y[..., i, j] = x[..., i, j]`` if ``j − i ≤ diagonal``,
    else 0."""
    return Triangle.apply(_t(input, "tril"), int(diagonal), True)


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """The upper triangle: ``y[..., i, j] = x[..., i, j]`` if ``j − i ≥ diagonal``, else 0."""
    return Triangle.apply(_t(input, "triu"), int(diagonal), False)


# ---- masked_fill -----------------------------------------------------------------------------------
class MaskedFill(Function):
    """y = value where mask, else x;  dx = g where not mask,  dvalue = Σ g where mask."""

    saves = (1,)  # the mask (a Tensor mask: its version is checked)

    @staticmethod
    def forward(ctx, x, mask, value):
        try:
            shape = np.broadcast_shapes(x.shape, mask.shape)
        except ValueError:
            raise RuntimeError(
                f"masked_fill: the shape of the mask {tuple(mask.shape)} must be broadcastable to "
                f"the shape of the input {tuple(x.shape)}"
            ) from None
        if shape != x.shape:
            raise RuntimeError(
                f"masked_fill: the shape of the mask {tuple(mask.shape)} must be broadcastable to "
                f"the shape of the input {tuple(x.shape)}"
            )
        ctx.mask = mask
        return np.where(mask, np.asarray(value, dtype=x.dtype), x)

    @staticmethod
    def backward(ctx, g):
        zero = np.zeros((), g.dtype)
        dx = np.where(ctx.mask, zero, g) if ctx.needs_input_grad[0] else None
        dv = np.where(ctx.mask, g, zero).sum() if ctx.needs_input_grad[2] else None
        return dx, None, dv


def masked_fill(input: Tensor, mask: Tensor, value: float | Tensor) -> Tensor:
    """``value`` where the boolean ``mask`` (broadcast to ``input``'s shape) is true, ``input`` elsewhere.
    ``value`` is a number or a 0-d tensor (which then gets the gradient of every filled element)."""
    _t(input, "masked_fill")
    m = mask.data if isinstance(mask, Tensor) else np.asarray(mask)
    if m.dtype != np.bool_:
        raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with dtype {m.dtype}")
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(
                "masked_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                f"{value.ndim} dimension(s)."
            )
    elif not isinstance(value, numbers.Number):
        raise TypeError(f"masked_fill(): argument 'value' must be a Number or a 0-d Tensor, not {type(value).__name__}")
    # a Tensor mask goes in as itself: backward reads it, so its version is recorded
    return MaskedFill.apply(input, mask if isinstance(mask, Tensor) else m, value)


def masked_fill_(input: Tensor, mask: Tensor, value: float | Tensor) -> Tensor:
    """In place: ``input[mask] = value`` (the mask broadcast to ``input``); for tensors outside any graph."""
    y = masked_fill(input, mask, value.detach() if isinstance(value, Tensor) else value)
    input._check_inplace("masked_fill_", value)
    np.copyto(input.data, y.data)
    return input


# ---- gather and scatter_add: one index per element --------------------------------------------------
def _positions(index, dim):
    """The full index tuple that points element i of ``index`` to ``(i₀, …, index[i], …, iₙ)``."""
    grid = list(np.indices(index.shape, sparse=True))
    grid[dim] = index
    return tuple(grid)


def _check_index(fn, x_shape, index, dim, other=None):
    """PyTorch's rule: index has x's rank and, off ``dim``, is no larger than x (and than ``other``, src)."""
    if index.ndim != len(x_shape):
        raise RuntimeError(f"{fn}(): Index tensor must have the same number of dimensions as input tensor")
    for d in range(index.ndim):
        if (d != dim and index.shape[d] > x_shape[d]) or (other is not None and index.shape[d] > other[d]):
            raise RuntimeError(
                f"{fn}(): Size does not match at dimension {d}: index {tuple(index.shape)}, "
                f"input {tuple(x_shape)}" + ("" if other is None else f", src {tuple(other)}")
            )
    if index.size and (index.min() < 0 or index.max() >= x_shape[dim]):
        bad = index.max() if index.max() >= x_shape[dim] else index.min()
        raise IndexError(f"{fn}(): index {bad} is out of bounds for dimension {dim} with size {x_shape[dim]}")


class Gather(Function):
    """y[i] = x[i with position ``dim`` replaced by index[i]];  dx = g added back to those positions."""

    saves = (2,)  # the index

    @staticmethod
    def forward(ctx, x, dim, index):
        _check_index("gather", x.shape, index, dim)
        ctx.shape, ctx.where = x.shape, _positions(index, dim)
        return x[ctx.where]

    @staticmethod
    def backward(ctx, g):
        dx = np.zeros(ctx.shape, dtype=g.dtype)
        np.add.at(dx, ctx.where, g)
        return dx, None, None


def gather(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """``out[i][j][k] = input[index[i][j][k]][j][k]`` for ``dim = 0`` (and likewise for other dims)."""
    _t(input, "gather")
    data = _index_array(index, "gather")
    # a Tensor index goes in as itself: backward reads it, so its version is recorded
    return Gather.apply(input, _check_dim(dim, max(input.ndim, 1)), index if isinstance(index, Tensor) else data)


class ScatterAdd(Function):
    """y = x, then y[i with position ``dim`` replaced by index[i]] += src[i];  dx = g,  dsrc[i] = g[that position]."""

    saves = (2,)

    @staticmethod
    def forward(ctx, x, dim, index, src):
        ctx.saves = (2,) if ctx.needs_input_grad[3] else ()  # the index is read for dsrc only
        _check_index("scatter_add", x.shape, index, dim, src.shape)
        ctx.src_shape, ctx.where = src.shape, _positions(index, dim)
        ctx.part = tuple(slice(0, n) for n in index.shape)  # the part of src that index covers
        y = x.copy()
        np.add.at(y, ctx.where, src[ctx.part])
        return y

    @staticmethod
    def backward(ctx, g):
        dsrc = None
        if ctx.needs_input_grad[3]:
            dsrc = np.zeros(ctx.src_shape, dtype=g.dtype)
            dsrc[ctx.part] = g[ctx.where]
        return (g if ctx.needs_input_grad[0] else None), None, None, dsrc


def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """``out = input`` with ``out[index[i][j]][j] += src[i][j]`` for ``dim = 0`` (repeated indices add up)."""
    _t(input, "scatter_add")
    _t(src, "scatter_add", "src")
    data = _index_array(index, "scatter_add")
    return ScatterAdd.apply(
        input, _check_dim(dim, max(input.ndim, 1)), index if isinstance(index, Tensor) else data, src
    )


# ---- index_add: one index per slice ----------------------------------------------------------------
class IndexAdd(Function):
    """y = x, then y.select(dim, index[i]) += α·source.select(dim, i);
    dx = g,  dsource = α·g.select(dim, index)."""

    saves = (2,)

    @staticmethod
    def forward(ctx, x, dim, index, source, alpha):
        ctx.saves = (2,) if ctx.needs_input_grad[3] else ()  # the index is read for dsource only
        expected = x.shape[:dim] + (len(index),) + x.shape[dim + 1 :]
        if source.shape != expected:
            raise RuntimeError(
                f"index_add_(): Expected source of shape {expected} (input {tuple(x.shape)} with "
                f"dimension {dim} of the index's length), got {tuple(source.shape)}"
            )
        if index.size and (index.min() < 0 or index.max() >= x.shape[dim]):
            raise IndexError(f"index_add_(): index out of range for dimension {dim} with size {x.shape[dim]}")
        ctx.dim, ctx.index, ctx.alpha = dim, index, alpha
        y = x.copy()
        np.add.at(y, (slice(None),) * dim + (index,), source if alpha == 1 else alpha * source)
        return y

    @staticmethod
    def backward(ctx, g):
        dsource = None
        if ctx.needs_input_grad[3]:
            dsource = np.take(g, ctx.index, axis=ctx.dim)
            if ctx.alpha != 1:
                dsource = ctx.alpha * dsource
        return (g if ctx.needs_input_grad[0] else None), None, None, dsource, None


def index_add(input: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha: float = 1) -> Tensor:
    """``out = input`` with ``alpha·source[i]`` added to slice ``index[i]`` along ``dim`` (``index`` is 1-D int64)."""
    _t(input, "index_add")
    _t(source, "index_add", "source")
    data = _index_array(index, "index_add")
    if data.ndim > 1:
        raise IndexError("index_add_(): Index is supposed to be a vector")
    # a Tensor index goes in as a view of itself (its version counter): backward reads it
    index = index.reshape(-1) if isinstance(index, Tensor) else data.reshape(-1)
    return IndexAdd.apply(input, _check_dim(dim, max(input.ndim, 1)), index, source, alpha)


class IndexSelect(Function):
    """y = the slices ``index`` of x along ``axis``;  dx = g added back to those slices (repeats add up)."""

    saves = (2,)  # the index

    @staticmethod
    def forward(ctx, x, axis, index):
        ctx.shape, ctx.axis = x.shape, axis
        ctx.save_for_backward(index)
        return np.take(x, index, axis=axis)

    @staticmethod
    def backward(ctx, g):
        (index,) = ctx.saved_tensors
        dx = np.zeros(ctx.shape, dtype=g.dtype)
        np.add.at(dx, (slice(None),) * ctx.axis + (index,), g)
        return dx, None, None


def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """The slices of ``input`` at the positions ``index`` (a 1-D integer tensor) along ``dim``."""
    fn = "index_select"
    x = _t(input, fn)
    idx = index.data if isinstance(index, Tensor) else np.asarray(index)
    if idx.dtype not in (np.int64, np.int32):
        raise RuntimeError(f"{fn}(): Expected dtype int32/int64 for index (got {idx.dtype})")
    if idx.ndim > 1:
        raise IndexError(f"{fn}(): Index is supposed to be a vector (got {idx.ndim}D index)")
    axis = _check_dim(dim, max(x.ndim, 1))
    n = x.shape[axis] if x.ndim else 1
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise IndexError(f"{fn}(): index out of range in self (size {n} along dim {dim}, index {idx.tolist()})")
    # the index as a tensor where it is one: its version is checked before backward reads it
    flat = (
        index.reshape(-1) if isinstance(index, Tensor) and idx.dtype == np.int64 else idx.reshape(-1).astype(np.int64)
    )
    if x.ndim == 0:
        return IndexSelect.apply(x.reshape(1), 0, flat).reshape(() if idx.size == 1 else (idx.size,))
    return IndexSelect.apply(x, axis, flat)
