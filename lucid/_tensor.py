"""``Tensor``: a NumPy array, plus what autograd needs (requires_grad, grad, the node that made it)."""
import numpy as np

from . import _dtype
from .autograd.grad_mode import is_grad_enabled


def _to_array(data, dtype=None):
    """An ndarray from lists, scalars, arrays or Tensors. Python floats become float32."""
    dtype = _dtype.as_dtype(dtype)
    if isinstance(data, Tensor):
        data = data.data
    if isinstance(data, np.ndarray) or isinstance(data, np.generic):
        arr = np.asarray(data)
        return arr if dtype is None or arr.dtype == dtype else arr.astype(dtype)
    arr = np.array(data, dtype=dtype)
    if dtype is None and arr.dtype == np.float64:
        arr = arr.astype(np.float32)
    if arr.dtype == object:
        raise TypeError(f"cannot make a Tensor from {type(data).__name__} (got {data!r:.60})")
    return arr


class Tensor:
    """``Tensor(data, requires_grad=False, dtype=None)``: an n-dimensional array that can record its history."""

    __array_priority__ = 1000  # ndarray <op> Tensor defers to Tensor's reflected operators

    def __init__(self, data, requires_grad=False, dtype=None):
        self.data = _to_array(data, dtype)
        self.grad = None
        self._ctx = None
        self._out_index = 0
        self._retains_grad = False
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _from_array(cls, arr):
        t = cls.__new__(cls)
        t.data, t.grad, t._ctx, t._out_index, t._retains_grad, t.requires_grad = arr, None, None, 0, False, False
        return t

    # ---- properties -------------------------------------------------------
    shape = property(lambda self: self.data.shape)
    ndim = property(lambda self: self.data.ndim)
    dtype = property(lambda self: self.data.dtype)
    size = property(lambda self: self.data.size)
    is_leaf = property(lambda self: self._ctx is None)
    grad_fn = property(lambda self: self._ctx)
    T = property(lambda self: self.permute(*reversed(range(self.ndim))))
    mT = property(lambda self: self.transpose(-2, -1))

    def numel(self):
        return self.data.size

    def dim(self):
        return self.data.ndim

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def __array__(self, dtype=None, copy=None):
        return self.data if dtype is None else self.data.astype(dtype)

    def numpy(self):
        return self.data

    def item(self):
        if self.data.size != 1:
            raise ValueError(f"a Tensor with {self.data.size} elements cannot be converted to a Python scalar")
        return self.data.item()

    def tolist(self):
        return self.data.tolist()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __bool__(self):
        if self.data.size != 1:
            raise RuntimeError(f"Boolean value of Tensor with {self.data.size} elements is ambiguous")
        return bool(self.data.item())

    def __hash__(self):
        return id(self)

    # ---- autograd ---------------------------------------------------------
    def requires_grad_(self, requires_grad=True):
        if requires_grad and not np.issubdtype(self.data.dtype, np.inexact):
            raise RuntimeError(f"only Tensors of floating point dtype can require gradients (got {self.dtype})")
        if not requires_grad and self._ctx is not None:
            raise RuntimeError("requires_grad can only be switched off on leaf tensors; use detach()")
        self.requires_grad = bool(requires_grad)
        return self

    def retain_grad(self):
        self._retains_grad = True

    def detach(self):
        return Tensor._from_array(self.data)

    def backward(self, gradient=None, retain_graph=False):
        """Accumulate d(self)/d(leaf) into each leaf's ``.grad``. ``gradient`` defaults to ones of self's shape."""
        from .autograd.engine import run_backward

        g = np.ones_like(self.data) if gradient is None else _to_array(gradient)
        run_backward([self], [g], retain_graph=retain_graph)

    # ---- conversion -------------------------------------------------------
    def astype(self, dtype):
        from . import ops

        return ops.astype(self, dtype)

    to = type = astype

    def float(self):
        return self.astype(_dtype.float32)

    def double(self):
        return self.astype(_dtype.float64)

    def half(self):
        return self.astype(_dtype.float16)

    def long(self):
        return self.astype(_dtype.int64)

    def int(self):
        return self.astype(_dtype.int32)

    def bool(self):
        return self.astype(_dtype.bool_)

    def clone(self):
        from . import ops

        return ops.clone(self)

    def copy_(self, src):
        self.data[...] = _to_array(src)
        return self

    def zero_(self):
        self.data[...] = 0
        return self

    def fill_(self, value):
        self.data[...] = value
        return self

    # ---- printing ---------------------------------------------------------
    def __repr__(self):
        body = np.array2string(self.data, separator=", ", precision=4, prefix="Tensor(",
                               floatmode="maxprec", suppress_small=True)
        extra = ", requires_grad=True" if self.requires_grad and self._ctx is None else ""
        if self._ctx is not None:
            extra = f", grad_fn=<{self._ctx.fn.__name__}Backward>"
        dt = "" if self.dtype in (np.float32, np.int64, np.bool_) else f", dtype=lucid.{self.dtype}"
        grad = "None" if self.grad is None else np.array2string(self.grad, separator=", ", precision=4)
        return f"Tensor({body}{dt}{extra}, grad={grad})"

    __str__ = __repr__
