"""The public op functions, with PyTorch's signatures. Each wraps one autograd Function from the files
beside this one; the same functions become Tensor methods and operators at the bottom of this file."""

import builtins
import math
import numbers
from collections import namedtuple

import numpy as np

from .. import _dtype
from .._tensor import Tensor
from ..autograd.grad_mode import is_grad_enabled
from . import activation as A
from . import elementwise as E
from . import linalg as L
from . import reduction as R
from . import shape as S
from .einsum import einsum
from .indexing import gather, index_add, index_select, masked_fill, masked_fill_, scatter_add, tril, triu
from .logic import (
    all,
    any,
    bitwise_and,
    bitwise_not,
    bitwise_or,
    bitwise_xor,
    eq,
    ge,
    gt,
    isfinite,
    isinf,
    isnan,
    le,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    lt,
    ne,
)
from .operands import _KIND_RANK, _pair, _t
from .rounding import ceil, floor, floor_divide, remainder, round, sign, trunc
from .sampling import multinomial
from .scan import cumsum
from .sorting import argsort, sort, topk


def _dim(dim, axis):
    return axis if dim is None else dim


# ---- elementwise ------------------------------------------------------------
def add(a, b, *, alpha=1):
    return E.Add.apply(*_pair(a, b if alpha == 1 else mul(b, alpha)))


def sub(a, b, *, alpha=1):
    return E.Sub.apply(*_pair(a, b if alpha == 1 else mul(b, alpha)))


def mul(a, b):
    return E.Mul.apply(*_pair(a, b))


def div(a, b):
    return E.Div.apply(*_pair(a, b))


def pow(a, b):
    return E.Pow.apply(*_pair(a, b))


def _float(x):
    """The operand of a float function: bool and 8-bit integers as float32 (NumPy would give float16)."""
    x = _t(x)
    if isinstance(x, Tensor) and x.dtype.kind in "biu" and x.dtype.itemsize == 1:
        return astype(x, np.float32)
    return x


def neg(x):
    return E.Neg.apply(_t(x))


def exp(x):
    return E.Exp.apply(_float(x))


def log(x):
    return E.Log.apply(_float(x))


def log1p(x):
    return E.Log1p.apply(_float(x))


def expm1(x):
    return E.Expm1.apply(_float(x))


def sqrt(x):
    return E.Sqrt.apply(_float(x))


def rsqrt(x):
    return E.Rsqrt.apply(_float(x))


def abs(x):
    return E.Abs.apply(_t(x))


def clip(x, min=None, max=None):
    """Limit ``x`` to ``[min, max]`` (numbers or tensors; either may be None)."""
    if min is None and max is None:
        raise ValueError("clip: at least one of 'min' or 'max' must not be None")
    x, lo, hi = _t(x), min, max
    if lo is not None:  # a bound is weak beside x, as an operand of a binary op (``_pair``)
        x, lo = _pair(x, lo)
    if hi is not None:
        x, hi = _pair(x, hi)
    return E.Clip.apply(x, lo, hi)


clamp = clip


def tanh(x):
    return A.Tanh.apply(_float(x))


def sin(x):
    return E.Sin.apply(_float(x))


def cos(x):
    return E.Cos.apply(_float(x))


def sigmoid(x):
    return A.Sigmoid.apply(_float(x))


def relu(x):
    return A.Relu.apply(_t(x))


def maximum(a, b):
    return E.Maximum.apply(*_pair(a, b))


def minimum(a, b):
    return E.Minimum.apply(*_pair(a, b))


def where(condition, input, other):
    """``input`` where ``condition`` is true, else ``other``; broadcast together. No gradient to the condition."""
    cond = condition.data if isinstance(condition, Tensor) else np.asarray(condition)
    input, other = _pair(input, other)
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):  # two numbers: PyTorch's default dtypes
        kind = builtins.max(_KIND_RANK[np.asarray(v).dtype.kind] for v in (input, other))
        input = Tensor(np.asarray(input, dtype=(np.bool_, np.int64, np.float32, np.complex64)[kind]))
    return E.Where.apply(cond, input, other)


def astype(x, dtype):
    """``x`` cast to ``dtype`` (``x`` itself if it has that dtype already)."""
    dtype = _dtype.as_dtype(dtype)
    x = _t(x)
    if x.dtype == dtype:
        return x
    return E.AsType.apply(x, dtype)


def clone(x):
    return E.Clone.apply(_t(x))


# ---- reductions ---------------------------------------------------------------
def sum(input, dim=None, keepdim=False, *, axis=None):
    return R.Sum.apply(_t(input), _dim(dim, axis), keepdim)


def mean(input, dim=None, keepdim=False, *, axis=None):
    return R.Mean.apply(_t(input), _dim(dim, axis), keepdim)


def _correction(dim, unbiased, correction):
    if isinstance(dim, bool):  # the old overload var(x, unbiased)
        dim, unbiased = None, dim
    if correction is None:
        correction = 1 if unbiased is None else int(bool(unbiased))
    return dim, correction


def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None):
    """Variance over ``dim``, divided by ``n − correction``: ``correction=1`` (the default, ``unbiased=True``)
    is the sample variance, ``correction=0`` (``unbiased=False``) the population variance."""
    dim, correction = _correction(_dim(dim, axis), unbiased, correction)
    return R.Var.apply(_t(input), dim, correction, keepdim)


def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None):
    """Standard deviation, ``sqrt(var(...))``, same arguments as ``var``."""
    dim, correction = _correction(_dim(dim, axis), unbiased, correction)
    return R.Std.apply(_t(input), dim, correction, keepdim)


def amax(input, dim=(), keepdim=False):
    """The largest value over ``dim`` (an int or a tuple; ``()``: every dim); ties share the gradient."""
    return R.AMaxMin.apply(_t(input), dim, keepdim, True)


def amin(input, dim=(), keepdim=False):
    """The smallest value over ``dim``; as ``amax``."""
    return R.AMaxMin.apply(_t(input), dim, keepdim, False)


def logsumexp(input, dim, keepdim=False):
    """log Σ exp(x) over ``dim``, without overflow; its gradient is the softmax over ``dim``."""
    return R.LogSumExp.apply(_t(input), dim, keepdim)


# what max/min over a dim return, as PyTorch's torch.return_types.max: ``values, indices = x.max(1)``
max_result = namedtuple("max", ["values", "indices"])
min_result = namedtuple("min", ["values", "indices"])


def _max_min(input, dim, keepdim, axis, largest):
    dim = _dim(dim, axis)
    if isinstance(dim, Tensor):  # max(a, b): the elementwise form
        return (maximum if largest else minimum)(input, dim)
    if dim is None:
        if keepdim:
            raise TypeError("max/min: keepdim needs dim")
        return R.MaxMin.apply(_t(input), None, False, largest)
    values, indices = R.MaxMin.apply(_t(input), dim, keepdim, largest)
    return (max_result if largest else min_result)(values, indices)


def max(input, dim=None, keepdim=False, *, axis=None):
    """``max(x)``: the largest element (a 0-d tensor; its gradient is shared by ties).
    ``max(x, dim, keepdim=False)``: ``(values, indices)`` over ``dim``; the gradient goes to ``indices``.
    ``max(x, other)``: ``maximum(x, other)``."""
    return _max_min(input, dim, keepdim, axis, True)


def min(input, dim=None, keepdim=False, *, axis=None):
    """As ``max``, for the smallest."""
    return _max_min(input, dim, keepdim, axis, False)


def _arg(fn, input, dim, keepdim):
    data = input.data if isinstance(input, Tensor) else np.asarray(input)
    if dim is None:  # over the flattened tensor; keepdim keeps every dimension, at size 1
        index = np.asarray(fn(data))
        return Tensor._from_array(index.reshape((1,) * data.ndim) if keepdim else index)
    R._axes(dim, data.ndim)
    if data.ndim == 0:
        return Tensor._from_array(np.zeros((), np.int64))
    return Tensor._from_array(np.asarray(fn(data, axis=dim, keepdims=keepdim)))


def argmax(input, dim=None, keepdim=False, *, axis=None):
    """Index of the largest element (of the flattened tensor when ``dim`` is None); int64, no gradient."""
    return _arg(np.argmax, input, _dim(dim, axis), keepdim)


def argmin(input, dim=None, keepdim=False, *, axis=None):
    """Index of the smallest element; as ``argmax``."""
    return _arg(np.argmin, input, _dim(dim, axis), keepdim)


# ---- linear algebra -------------------------------------------------------------
def matmul(a, b):
    """Matrix product with NumPy's rules: batch dimensions broadcast; a 1-D operand is a vector."""
    return L.MatMul.apply(_t(a), _t(b))


def bmm(input, mat2):
    """Batched matrix product of two 3-D tensors ``(b, n, m) @ (b, m, p)``, without broadcasting."""
    if input.ndim != 3 or mat2.ndim != 3:
        raise RuntimeError(f"batch1 must be a 3D tensor (got {input.ndim}D) and batch2 a 3D tensor (got {mat2.ndim}D)")
    return L.Baddbmm.apply(None, input, mat2, 0, 1)


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """``β·input + α·(batch1 @ batch2)``, ``batch1`` ``(b, n, m)``, ``batch2`` ``(b, m, p)``, ``input``
    broadcastable to ``(b, n, p)``."""
    return L.Baddbmm.apply(_t(input), _t(batch1), _t(batch2), beta, alpha)


# ---- shape --------------------------------------------------------------------
def _shape_arg(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


def reshape(input, *shape):
    """``reshape(x, 2, 3)`` or ``reshape(x, (2, 3))``; one size may be -1."""
    return S.Reshape.apply(_t(input), _shape_arg(shape))


def view(input, *shape):
    """As ``reshape`` (NumPy decides whether it is a view)."""
    return reshape(input, *shape)


def permute(input, *dims):
    return S.Permute.apply(_t(input), _shape_arg(dims))


def transpose(input, dim0, dim1):
    """Swap dimensions ``dim0`` and ``dim1``."""
    input = _t(input)
    n = builtins.max(input.ndim, 1)
    dims = list(range(input.ndim))
    d0, d1 = S._check_dim(dim0, n), S._check_dim(dim1, n)
    if input.ndim:
        dims[d0], dims[d1] = dims[d1], dims[d0]
    return S.Permute.apply(input, tuple(dims))


def flatten(input, start_dim=0, end_dim=-1):
    """Merge dimensions ``start_dim..end_dim`` into one."""
    input = _t(input)
    if input.ndim == 0:
        return reshape(input, 1)
    s, e = S._check_dim(start_dim, input.ndim), S._check_dim(end_dim, input.ndim)
    if s > e:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    shape = input.shape
    return reshape(input, shape[:s] + (math.prod(shape[s : e + 1]),) + shape[e + 1 :])


def squeeze(input, dim=None):
    """Drop dimensions of size 1 (all of them, or those in ``dim`` that have size 1)."""
    input = _t(input)
    if dim is None:
        return reshape(input, tuple(n for n in input.shape if n != 1))
    n = builtins.max(input.ndim, 1)
    dims = {S._check_dim(d, n) for d in ((dim,) if isinstance(dim, (int, np.integer)) else dim)}
    return reshape(input, tuple(s for i, s in enumerate(input.shape) if not (i in dims and s == 1)))


def unsqueeze(input, dim):
    """Insert a dimension of size 1 at ``dim`` (``-1``: at the end)."""
    input = _t(input)
    d = S._check_dim(dim, input.ndim + 1)
    return reshape(input, input.shape[:d] + (1,) + input.shape[d:])


def expand(input, *shape):
    """Broadcast to ``shape`` without copying; -1 keeps a size."""
    return S.Expand.apply(_t(input), _shape_arg(shape))


def _index(idx):
    if isinstance(idx, Tensor):
        return idx.data
    if isinstance(idx, tuple):
        return tuple(i.data if isinstance(i, Tensor) else np.asarray(i) if isinstance(i, list) else i for i in idx)
    if isinstance(idx, list):
        return np.asarray(idx)
    return idx


def getitem(input, index):
    """``x[index]``: NumPy's basic and advanced indexing; gradients of repeated picks add up."""
    return S.GetItem.apply(input, _index(index))


def cat(tensors, dim=0):
    """Join tensors along an existing dimension."""
    return S.Cat.apply(dim, *[_t(t) for t in tensors])


concatenate = concat = cat


def stack(tensors, dim=0):
    """Join same-shaped tensors along a new dimension."""
    return S.Stack.apply(dim, *[_t(t) for t in tensors])


def split(tensor, split_size_or_sections, dim=0):
    """Split along ``dim`` into pieces of ``split_size`` (an int; the last piece may be shorter)
    or of the listed sizes. Returns a tuple of tensors."""
    tensor = _t(tensor)
    d = S._check_dim(dim, builtins.max(tensor.ndim, 1))
    if tensor.ndim == 0:
        raise ValueError("split: a 0-d tensor cannot be split")
    n = tensor.shape[d]
    if isinstance(split_size_or_sections, (int, np.integer)):
        size = int(split_size_or_sections)
        if size <= 0:
            raise ValueError(f"split: split_size must be a positive integer (got {size})")
        sizes = [size] * (n // size) + ([n % size] if n % size else [])
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if builtins.sum(sizes) != n or builtins.min(sizes, default=0) < 0:
            raise ValueError(f"split: sizes {sizes} do not add up to {n}, the size of dimension {dim}")
    return S.Split.apply(tensor, sizes or [0], d)


def chunk(input, chunks, dim=0):
    """Split into ``chunks`` pieces of equal size (the last may be smaller), as PyTorch."""
    input = _t(input)
    n = input.shape[S._check_dim(dim, builtins.max(input.ndim, 1))]
    if n == 0:  # an empty dimension: ``chunks`` empty pieces, as PyTorch
        return split(input, [0] * chunks, dim)
    return split(input, builtins.max(-(-n // chunks), 1), dim)


def flip(input, *dims_args, dims=None):
    """``input`` reversed along each of ``dims`` (a tuple, or several ints as ``x.flip(0, 1)``)."""
    dims = _shape_arg(dims_args) if dims is None else ((dims,) if isinstance(dims, int) else tuple(dims))
    n = builtins.max(input.ndim, 1)
    axes = tuple(S._check_dim(d, n) for d in dims)
    if len(set(axes)) != len(axes):
        raise RuntimeError(f"flip: dims has a dim repeated (got {tuple(dims)})")
    return S.Flip.apply(_t(input), axes if input.ndim else ())


def repeat(input, *sizes):
    """``input`` tiled ``sizes[d]`` times along dimension d (as PyTorch's ``Tensor.repeat``)."""
    return S.Repeat.apply(_t(input), _shape_arg(sizes))


def prod(input, dim=None, keepdim=False, *, dtype=None):
    """The product over ``dim`` (every element for None); integers multiply as int64."""
    x = _t(input)
    if dtype is not None:
        x = astype(x, dtype)
    elif x.dtype.kind in "biu":
        x = astype(x, np.int64)
    return R.Prod.apply(x, dim, keepdim)


def pad(input, pad, mode="constant", value=None):
    """Pad the last dimensions by ``pad = (last_lo, last_hi, second_last_lo, ...)``, as
    ``torch.nn.functional.pad``; ``mode`` is ``"constant"`` (with ``value``, default 0),
    ``"reflect"``, ``"replicate"`` or ``"circular"``."""
    return S.Pad.apply(_t(input), tuple(pad), mode, 0.0 if value is None else value)


from .methods import install_methods  # noqa: E402  (after every op above is defined)

install_methods()
