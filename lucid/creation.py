"""Functions that make new tensors."""
import numpy as np

from . import _dtype
from . import random as _random
from ._tensor import Tensor, _to_array


def _shape(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        return tuple(size[0])
    return tuple(int(s) for s in size)


def _make(arr, dtype, requires_grad):
    dtype = _dtype.as_dtype(dtype)
    if dtype is not None and arr.dtype != dtype:
        arr = arr.astype(dtype)
    return Tensor(arr, requires_grad=requires_grad)


def tensor(data, requires_grad=False, dtype=None):
    """A new Tensor holding a copy of ``data``."""
    return Tensor(np.array(_to_array(data, dtype)), requires_grad=requires_grad)


def zeros(*size, dtype=None, requires_grad=False):
    return _make(np.zeros(_shape(size), dtype=_dtype.as_dtype(dtype) or np.float32), None, requires_grad)


def ones(*size, dtype=None, requires_grad=False):
    return _make(np.ones(_shape(size), dtype=_dtype.as_dtype(dtype) or np.float32), None, requires_grad)


def full(size, fill_value, dtype=None, requires_grad=False):
    if dtype is None:
        dtype = np.float32 if isinstance(fill_value, float) else np.asarray(fill_value).dtype
    return _make(np.full(_shape((size,)), fill_value, dtype=_dtype.as_dtype(dtype)), None, requires_grad)


def empty(*size, dtype=None, requires_grad=False):
    return _make(np.empty(_shape(size), dtype=_dtype.as_dtype(dtype) or np.float32), None, requires_grad)


def arange(start, end=None, step=1, dtype=None, requires_grad=False):
    if end is None:
        start, end = 0, start
    arr = np.arange(start, end, step)
    if dtype is None and arr.dtype == np.float64:
        arr = arr.astype(np.float32)
    return _make(arr, dtype, requires_grad)


def linspace(start, end, steps, dtype=None, requires_grad=False):
    return _make(np.linspace(start, end, steps, dtype=_dtype.as_dtype(dtype) or np.float32), None, requires_grad)


def eye(n, m=None, dtype=None, requires_grad=False):
    return _make(np.eye(n, m, dtype=_dtype.as_dtype(dtype) or np.float32), None, requires_grad)


def rand(*size, dtype=None, requires_grad=False):
    """Uniform on [0, 1)."""
    arr = _random.generator().random(_shape(size))
    return _make(arr, dtype or np.float32, requires_grad)


def randn(*size, dtype=None, requires_grad=False):
    """Standard normal."""
    arr = _random.generator().standard_normal(_shape(size))
    return _make(arr, dtype or np.float32, requires_grad)


def randint(low, high=None, size=(), dtype=None):
    """Integers uniform on [low, high)."""
    if high is None:
        low, high = 0, low
    arr = _random.generator().integers(low, high, size=_shape((size,)) if not isinstance(size, int) else (size,))
    return _make(arr, dtype or np.int64, False)


def _like(fn):
    def like(t, dtype=None, requires_grad=False, **kwargs):
        return fn(*t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad, **kwargs)

    like.__name__ = fn.__name__ + "_like"
    like.__doc__ = f"``{fn.__name__}`` with the shape (and, by default, dtype) of ``t``."
    return like


zeros_like, ones_like, empty_like, rand_like, randn_like = map(_like, (zeros, ones, empty, rand, randn))


def full_like(t, fill_value, dtype=None, requires_grad=False):
    return full(t.shape, fill_value, dtype=dtype or t.dtype, requires_grad=requires_grad)
