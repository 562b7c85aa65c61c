"""Functions that make new tensors. Shapes are given as ``zeros(2, 3)`` or ``zeros((2, 3))``; floating
results default to float32; every ``dtype=`` takes a lucid dtype, a NumPy dtype or a name.

>>> import lucid
>>> lucid.zeros(2, 3).shape
(2, 3)
>>> lucid.arange(4)
Tensor([0, 1, 2, 3], grad=None)
>>> lucid.full((2,), 0.5, dtype="float64")
Tensor([0.5, 0.5], dtype=lucid.float64, grad=None)
"""

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from . import _dtype
from . import random as _random
from ._tensor import Tensor, _to_array


def _shape(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    return tuple(int(s) for s in size)


def _make(arr, dtype, requires_grad):
    dtype = _dtype.as_dtype(dtype)
    if dtype is not None and arr.dtype != dtype:
        arr = arr.astype(dtype)
    return Tensor(arr, requires_grad=requires_grad)


def _float_dtype(dtype, fn):
    dtype = _dtype.as_dtype(dtype) or _dtype.float32
    if dtype.kind != "f":
        raise TypeError(f"{fn}: expected a floating point dtype (got {dtype})")
    return dtype


def tensor(data: Any, requires_grad: bool = False, dtype: DTypeLike | None = None) -> Tensor:
    """A new Tensor holding a copy of ``data``."""
    return Tensor(np.array(_to_array(data, dtype)), requires_grad=requires_grad)


def zeros(*size: int | Sequence[int], dtype: DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    return _make(np.zeros(_shape(size), dtype=_dtype.as_dtype(dtype) or _dtype.float32), None, requires_grad)


def ones(*size: int | Sequence[int], dtype: DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    return _make(np.ones(_shape(size), dtype=_dtype.as_dtype(dtype) or _dtype.float32), None, requires_grad)


def full(
    size: int | Sequence[int], fill_value: float, dtype: DTypeLike | None = None, requires_grad: bool = False
) -> Tensor:
    """A tensor of ``size`` filled with ``fill_value``; the dtype follows the value (float -> float32)."""
    if dtype is None:  # a NumPy scalar as a Python one: np.float64(1.5) fills float32, as PyTorch
        dtype = _to_array(fill_value.item() if isinstance(fill_value, np.generic) else fill_value).dtype
    return _make(np.full(_shape((size,)), fill_value, dtype=_dtype.as_dtype(dtype)), None, requires_grad)


def empty(*size: int | Sequence[int], dtype: DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    """Uninitialized memory of the given shape."""
    return _make(np.empty(_shape(size), dtype=_dtype.as_dtype(dtype) or _dtype.float32), None, requires_grad)


def arange(
    start: float, end: float | None = None, step: float = 1, dtype: DTypeLike | None = None, requires_grad: bool = False
) -> Tensor:
    """``start, start + step, ...`` up to, not including, ``end`` (``arange(n)``: 0 to n−1).
    int64 when every argument is an int, float32 otherwise."""
    if end is None:
        start, end = 0, start
    arr = np.arange(start, end, step)
    if dtype is None and arr.dtype == np.float64:
        arr = arr.astype(np.float32)
    return _make(arr, dtype, requires_grad)


def linspace(
    start: float, end: float, steps: int, dtype: DTypeLike | None = None, requires_grad: bool = False
) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end``, both included."""
    return _make(np.linspace(start, end, steps).astype(_dtype.as_dtype(dtype) or _dtype.float32), None, requires_grad)


def eye(n: int, m: int | None = None, dtype: DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    """Ones on the diagonal of an ``n × m`` (default ``n × n``) matrix."""
    return _make(np.eye(n, m, dtype=_dtype.as_dtype(dtype) or _dtype.float32), None, requires_grad)


def rand(*size: int | Sequence[int], dtype: DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    """Uniform on [0, 1), from lucid's generator (see ``lucid.random.seed``)."""
    dtype = _float_dtype(dtype, "rand")
    return _make(_random.generator().random(_shape(size)), dtype, requires_grad)


def randn(*size: int | Sequence[int], dtype: DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    """Standard normal, from lucid's generator (see ``lucid.random.seed``)."""
    dtype = _float_dtype(dtype, "randn")
    return _make(_random.generator().standard_normal(_shape(size)), dtype, requires_grad)


def randint(
    low: int,
    high: int | None = None,
    size: int | Sequence[int] = (),
    dtype: DTypeLike | None = None,
    requires_grad: bool = False,
) -> Tensor:
    """Integers uniform on [low, high) (``randint(high, size)``: from 0), int64 by default."""
    if high is None:
        low, high = 0, low
    size = (size,) if isinstance(size, (int, np.integer)) else tuple(size)
    return _make(_random.generator().integers(low, high, size=_shape(size)), dtype or _dtype.int64, requires_grad)


def _like(fn):
    def like(input: Tensor, dtype: DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
        return fn(*input.shape, dtype=dtype or input.dtype, requires_grad=requires_grad)

    like.__name__ = like.__qualname__ = fn.__name__ + "_like"
    like.__doc__ = f"``{fn.__name__}`` with the shape (and, unless ``dtype`` is given, the dtype) of ``input``."
    return like


zeros_like, ones_like, empty_like, rand_like, randn_like = map(_like, (zeros, ones, empty, rand, randn))


def full_like(input: Tensor, fill_value: float, dtype: DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    """``full`` with the shape (and, unless ``dtype`` is given, the dtype) of ``input``."""
    return full(input.shape, fill_value, dtype=dtype or input.dtype, requires_grad=requires_grad)


def randint_like(
    input: Tensor, low: int, high: int | None = None, dtype: DTypeLike | None = None, requires_grad: bool = False
) -> Tensor:
    """``randint`` with the shape (and, unless ``dtype`` is given, the dtype) of ``input``."""
    return randint(low, high, input.shape, dtype=dtype or input.dtype, requires_grad=requires_grad)
