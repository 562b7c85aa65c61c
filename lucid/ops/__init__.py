"""The public op functions. Each wraps one autograd Function from the files beside this one."""
import numbers

import numpy as np

from .. import _dtype
from .._tensor import Tensor
from . import elementwise as E
from . import linalg as L
from . import reduction as R
from . import shape as S


def _t(x):
    """A Tensor for array-likes; Python scalars stay scalars (NumPy 2 promotion)."""
    if isinstance(x, Tensor) or isinstance(x, numbers.Number):
        return x
    return Tensor(x)


def _dim(dim, axis):
    return axis if dim is None else dim


# ---- elementwise ------------------------------------------------------------
def add(a, b):
    return E.Add.apply(_t(a), _t(b))


def sub(a, b):
    return E.Sub.apply(_t(a), _t(b))


def mul(a, b):
    return E.Mul.apply(_t(a), _t(b))


def div(a, b):
    return E.Div.apply(_t(a), _t(b))


def pow(a, b):
    return E.Pow.apply(_t(a), _t(b))


def neg(x):
    return E.Neg.apply(x)


def exp(x):
    return E.Exp.apply(_t(x))


def log(x):
    return E.Log.apply(_t(x))


def sqrt(x):
    return E.Sqrt.apply(_t(x))


def rsqrt(x):
    return E.Rsqrt.apply(_t(x))


def abs(x):
    return E.Abs.apply(_t(x))


def clip(x, min=None, max=None):
    return E.Clip.apply(_t(x), min, max)


clamp = clip


def tanh(x):
    return E.Tanh.apply(_t(x))


def sigmoid(x):
    return E.Sigmoid.apply(_t(x))


def relu(x):
    return E.Relu.apply(_t(x))


def maximum(a, b):
    return E.Maximum.apply(_t(a), _t(b))


def minimum(a, b):
    return E.Minimum.apply(_t(a), _t(b))


def where(cond, a, b):
    cond = cond.data if isinstance(cond, Tensor) else np.asarray(cond)
    return E.Where.apply(cond, _t(a), _t(b))


def astype(x, dtype):
    dtype = _dtype.as_dtype(dtype)
    if x.dtype == dtype:
        return x
    return E.AsType.apply(x, dtype)


def clone(x):
    return E.Clone.apply(x)


# ---- comparisons (no gradient) ----------------------------------------------
def _cmp(fn):
    def op(a, b):
        a = a.data if isinstance(a, Tensor) else a
        b = b.data if isinstance(b, Tensor) else b
        return Tensor._from_array(np.asarray(fn(a, b)))

    op.__name__ = fn.__name__
    return op


eq, ne, lt, le, gt, ge = map(_cmp, (np.equal, np.not_equal, np.less, np.less_equal, np.greater, np.greater_equal))


# ---- reductions ---------------------------------------------------------------
def sum(x, dim=None, keepdim=False, *, axis=None):
    return R.Sum.apply(_t(x), _dim(dim, axis), keepdim)


def mean(x, dim=None, keepdim=False, *, axis=None):
    return R.Mean.apply(_t(x), _dim(dim, axis), keepdim)


def var(x, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None):
    if correction is None:
        correction = 1 if unbiased is None else int(bool(unbiased))
    return R.Var.apply(_t(x), _dim(dim, axis), correction, keepdim)


def std(x, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None):
    return sqrt(var(x, dim, unbiased, keepdim, correction=correction, axis=axis))


def max(x, dim=None, keepdim=False, *, axis=None):
    return R.MaxMin.apply(_t(x), _dim(dim, axis), keepdim, True)


def min(x, dim=None, keepdim=False, *, axis=None):
    return R.MaxMin.apply(_t(x), _dim(dim, axis), keepdim, False)


def argmax(x, dim=None, keepdim=False, *, axis=None):
    d = _dim(dim, axis)
    data = x.data if isinstance(x, Tensor) else np.asarray(x)
    return Tensor._from_array(np.asarray(np.argmax(data, axis=d, keepdims=keepdim if d is not None else False)))


def argmin(x, dim=None, keepdim=False, *, axis=None):
    d = _dim(dim, axis)
    data = x.data if isinstance(x, Tensor) else np.asarray(x)
    return Tensor._from_array(np.asarray(np.argmin(data, axis=d, keepdims=keepdim if d is not None else False)))


# ---- linear algebra -------------------------------------------------------------
def matmul(a, b):
    return L.MatMul.apply(_t(a), _t(b))


# ---- shape --------------------------------------------------------------------
def _shape_arg(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


def reshape(x, *shape):
    return S.Reshape.apply(x, _shape_arg(shape))


def permute(x, *dims):
    return S.Permute.apply(x, _shape_arg(dims))


def transpose(x, dim0, dim1):
    dims = list(range(x.ndim))
    dims[dim0], dims[dim1] = dims[dim1], dims[dim0]
    return S.Permute.apply(x, tuple(dims))


def flatten(x, start_dim=0, end_dim=-1):
    if x.ndim == 0:
        return reshape(x, 1)
    s, e = start_dim % x.ndim, end_dim % x.ndim
    return reshape(x, x.shape[:s] + (-1,) + x.shape[e + 1:]) if x.size else reshape(
        x, x.shape[:s] + (int(np.prod(x.shape[s:e + 1])),) + x.shape[e + 1:])


def squeeze(x, dim=None):
    if dim is None:
        return reshape(x, tuple(n for n in x.shape if n != 1))
    dims = {d % x.ndim for d in ((dim,) if isinstance(dim, int) else dim)} if x.ndim else set()
    return reshape(x, tuple(n for i, n in enumerate(x.shape) if not (i in dims and n == 1)))


def unsqueeze(x, dim):
    d = dim % (x.ndim + 1)
    return reshape(x, x.shape[:d] + (1,) + x.shape[d:])


def expand(x, *shape):
    return S.Expand.apply(x, _shape_arg(shape))


def _index(idx):
    if isinstance(idx, Tensor):
        return idx.data
    if isinstance(idx, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in idx)
    if isinstance(idx, list):
        return np.asarray(idx)
    return idx


def getitem(x, idx):
    return S.GetItem.apply(x, _index(idx))


def cat(tensors, dim=0):
    return S.Cat.apply(dim, *[_t(t) for t in tensors])


concatenate = cat


def stack(tensors, dim=0):
    return S.Stack.apply(dim, *[_t(t) for t in tensors])


def split(x, split_size_or_sections, dim=0):
    """Split along ``dim`` into chunks of ``split_size`` (an int) or of the listed sizes."""
    n = x.shape[dim]
    if isinstance(split_size_or_sections, int):
        sizes = [split_size_or_sections] * (n // split_size_or_sections)
        if n % split_size_or_sections:
            sizes.append(n % split_size_or_sections)
    else:
        sizes = list(split_size_or_sections)
        if builtins_sum(sizes) != n:
            raise ValueError(f"split sizes {sizes} do not add up to {n}, the size of dimension {dim}")
    out, start = [], 0
    for s in sizes:
        idx = [slice(None)] * x.ndim
        idx[dim] = slice(start, start + s)
        out.append(getitem(x, tuple(idx)))
        start += s
    return tuple(out)


def pad(x, pad, mode="constant", value=0.0):
    if mode != "constant":
        raise NotImplementedError(f"pad: only mode='constant' is supported (got {mode!r})")
    return S.Pad.apply(x, tuple(pad), value)


import builtins as _builtins  # noqa: E402

builtins_sum = _builtins.sum


# ---- the same ops as Tensor methods and operators -------------------------------
def _install_methods():
    T = Tensor
    T.__add__ = add
    T.__radd__ = lambda a, b: add(b, a)
    T.__sub__ = sub
    T.__rsub__ = lambda a, b: sub(b, a)
    T.__mul__ = mul
    T.__rmul__ = lambda a, b: mul(b, a)
    T.__truediv__ = div
    T.__rtruediv__ = lambda a, b: div(b, a)
    T.__pow__ = pow
    T.__rpow__ = lambda a, b: pow(b, a)
    T.__matmul__ = matmul
    T.__rmatmul__ = lambda a, b: matmul(b, a)
    T.__neg__ = neg
    T.__pos__ = lambda a: a
    T.__abs__ = abs
    T.__eq__, T.__ne__, T.__lt__, T.__le__, T.__gt__, T.__ge__ = eq, ne, lt, le, gt, ge
    T.__getitem__ = getitem

    def __setitem__(self, idx, value):
        if self.requires_grad and self._ctx is None:
            raise RuntimeError("a leaf Tensor that requires grad cannot be modified in place")
        self.data[_index(idx)] = value.data if isinstance(value, Tensor) else value

    T.__setitem__ = __setitem__
    for name in ("add", "sub", "mul", "div", "pow", "exp", "log", "sqrt", "rsqrt", "abs", "clip", "clamp",
                 "tanh", "sigmoid", "relu", "maximum", "minimum", "sum", "mean", "var", "std", "max", "min",
                 "argmax", "argmin", "matmul", "reshape", "permute", "transpose", "flatten", "squeeze",
                 "unsqueeze", "expand", "split", "eq", "ne", "lt", "le", "gt", "ge"):
        setattr(T, name, globals()[name])
    T.neg = neg
    T.view = reshape
    T.pad = pad
    T.expand_as = lambda a, b: expand(a, b.shape)
    T.reshape_as = lambda a, b: reshape(a, b.shape)
    T.view_as = T.reshape_as


_install_methods()
