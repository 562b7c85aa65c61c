"""``Tensor``: a NumPy array, plus what autograd needs (requires_grad, grad, the node that made it).

The ops (``+``, ``sum``, ``reshape``, ...) are attached as methods by ``lucid/ops/__init__.py``;
this file holds what a Tensor is: its data, its gradient, its place in the graph, and how it prints.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from operator import attrgetter
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import DTypeLike

from . import _dtype
from .autograd import grad_mode as _grad_mode

if TYPE_CHECKING:
    from .autograd.hooks import RemovableHandle


def _first_leaf(data):
    while isinstance(data, (list, tuple)) and len(data):
        data = data[0]
    return data


def _to_array(data, dtype=None):
    """An ndarray from lists, scalars, arrays or Tensors.

    A NumPy array or a Tensor keeps its dtype (and its memory: no copy) unless
    ``dtype`` says otherwise; Python floats become float32, Python ints int64.
    """
    dtype = _dtype.as_dtype(dtype)
    if isinstance(data, Tensor):
        data = data.data
    if isinstance(data, (np.ndarray, np.generic)) or (
        hasattr(data, "__array__") and not isinstance(data, (list, tuple))
    ):
        arr = np.asarray(data)  # an array, or an object that converts to one (keeps its dtype)
        return arr if dtype is None or arr.dtype == dtype else arr.astype(dtype)
    try:
        arr = np.array(data, dtype=dtype)
    except (TypeError, ValueError) as e:
        raise TypeError(f"cannot make a Tensor from {type(data).__name__} {data!r:.60}: {e}") from None
    if arr.dtype == object:
        raise TypeError(f"cannot make a Tensor from {type(data).__name__} {data!r:.60}")
    if (
        dtype is None
        and arr.dtype == np.float64
        and not isinstance(_first_leaf(data), (np.ndarray, np.generic, Tensor))
    ):
        arr = arr.astype(np.float32)
    return arr


class _Size(int):
    """``t.size`` is the number of elements, as in NumPy; called, ``t.size()`` is the shape and
    ``t.size(d)`` the length of dimension ``d``, as in PyTorch."""

    def __call__(self, dim: int | None = None) -> tuple[int, ...] | int:
        return self.shape if dim is None else self.shape[dim]


def _format_float(v):
    """4 decimals, trailing zeros dropped: ``1.2247``, ``0.5``, ``2.0``; ``-0.0`` prints as ``0.0``."""
    v = float(v)  # a float16 compared with 1e8 would overflow
    if not np.isfinite(v):
        return str(v)
    if abs(v) >= 1e8:
        return f"{v:.4e}"
    s = f"{v:.4f}".rstrip("0")
    s = s + "0" if s.endswith(".") else s
    return "0.0" if s == "-0.0" else s


_FORMATTER = {"float_kind": _format_float, "int": str, "bool": str}


def _format_array(arr):
    return np.array2string(arr, separator=", ", formatter=_FORMATTER, prefix="Tensor(")


def _root(a):
    """The array that owns ``a``'s memory."""
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


class _Version:
    """A tensor's version counter, shared by its views: every in-place write adds one.

    A Function remembers the versions of the tensors its backward reads, and the engine
    refuses to run that backward if one has changed since (see ``Function.saves``).
    """

    __slots__ = ("value", "shared")

    def __init__(self):
        self.value = 0
        self.shared = False  # a second tensor (a view, a detach) reads and writes the same memory

    def share(self):
        self.shared = True
        return self


class Tensor:
    """``Tensor(data, requires_grad=False, dtype=None)``: an n-dimensional array that can record its history.

    ``data`` is a nested list, a scalar, a NumPy array or a Tensor. Python floats become
    float32; a NumPy array keeps its dtype (and is shared, not copied) unless ``dtype`` is
    given. ``dtype`` takes a lucid dtype, a NumPy dtype or a name (``"float64"``).

    >>> import lucid
    >>> x = lucid.Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    >>> x
    Tensor([[1.0, 2.0],
            [3.0, 4.0]], requires_grad=True, grad=None)
    >>> (x * x).sum().backward()
    >>> x.grad
    array([[2., 4.],
           [6., 8.]], dtype=float32)
    """

    __slots__ = ("data", "_grad", "_ctx", "_out_index", "_retains_grad", "requires_grad", "_vc", "__dict__")
    __array_priority__ = 1000  # ndarray <op> Tensor defers to Tensor's reflected operators

    def __init__(self, data: Any, requires_grad: bool = False, dtype: DTypeLike | None = None) -> None:
        self.data = _to_array(data, dtype)
        # a Tensor made around another's array is a view of it: one version counter for both
        self._vc = data._vc.share() if isinstance(data, Tensor) and self.data is data.data else _Version()
        self._grad = None
        self._ctx = None  # the graph node (an autograd Context) that made this tensor; None for a leaf
        self._out_index = 0  # which output of that node this tensor is
        self._retains_grad = False
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _from_array(cls, arr):
        """A leaf around ``arr`` as it is (no conversion, no copy)."""
        t = object.__new__(cls)
        t.data, t._grad, t._ctx, t._out_index, t._retains_grad, t.requires_grad = arr, None, None, 0, False, False
        t._vc = _Version()
        return t

    # ---- properties -------------------------------------------------------
    # attrgetter: read in C, no Python frame (these are read on every op)
    shape = property(attrgetter("data.shape"), doc="The shape, a tuple of ints.")
    ndim = property(attrgetter("data.ndim"), doc="The number of dimensions.")
    dtype = property(attrgetter("data.dtype"), doc="The NumPy dtype of the elements.")
    is_leaf = property(lambda self: self._ctx is None, doc="True for tensors made by the user, not by an op.")
    grad_fn = property(attrgetter("_ctx"), doc="The graph node that made this tensor (None for a leaf).")
    device = property(lambda self: "cpu")
    _version = property(
        lambda self: self._vc.value,
        doc="How many in-place writes this tensor (or a view of it, or a tensor it is a view of) has had.",
    )
    T = property(lambda self: self.permute(*reversed(range(self.ndim))), doc="The dimensions reversed.")
    mT = property(lambda self: self.transpose(-2, -1), doc="The last two dimensions swapped.")

    @property
    def size(self) -> int:
        s = _Size(self.data.size)
        s.shape = self.data.shape
        return s

    @property
    def grad(self) -> np.ndarray | None:
        """The accumulated gradient, a NumPy array of this tensor's shape, or None. May be set (to None)."""
        return self._grad

    @grad.setter
    def grad(self, value: np.ndarray | Tensor | None) -> None:
        if value is not None:
            value = value.data if isinstance(value, Tensor) else np.asarray(value)
            if value.shape != self.data.shape:
                raise RuntimeError(f"assigned grad has shape {value.shape}, but the tensor has shape {self.shape}")
        self._grad = value

    def numel(self) -> int:
        return self.data.size

    def dim(self) -> int:
        return self.data.ndim

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def __iter__(self) -> Iterator[Tensor]:
        return (self[i] for i in range(len(self)))

    def __array__(self, dtype: DTypeLike | None = None, copy: bool | None = None) -> np.ndarray:
        return self.data if dtype is None else self.data.astype(dtype)

    def numpy(self) -> np.ndarray:
        """The underlying array itself (shared, not copied)."""
        return self.data

    def item(self) -> int | float | bool:
        if self.data.size != 1:
            raise ValueError(f"a Tensor with {self.data.size} elements cannot be converted to a Python scalar")
        return self.data.item()

    def tolist(self) -> list | int | float | bool:
        return self.data.tolist()

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self.data.dtype.kind not in "iub":
            raise TypeError(f"only integer tensors of a single element can be used as an index (got {self.dtype})")
        return int(self.item())

    def __format__(self, spec: str) -> str:
        if self.data.ndim == 0 and spec:  # f"{loss:.4f}"
            return format(self.data.item(), spec)
        return object.__format__(self, spec)

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise RuntimeError(f"Boolean value of Tensor with {self.data.size} elements is ambiguous")
        return bool(self.data.item())

    def __hash__(self) -> int:
        return id(self)

    # ---- autograd ---------------------------------------------------------
    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Start (or stop) recording ops on this leaf; returns self."""
        if requires_grad and self.data.dtype.kind not in "fc":
            raise RuntimeError(f"only Tensors of floating point dtype can require gradients (got {self.dtype})")
        if not requires_grad and self._ctx is not None:
            raise RuntimeError("requires_grad can only be switched off on leaf tensors; use detach()")
        self.requires_grad = bool(requires_grad)
        return self

    def retain_grad(self) -> None:
        """Keep ``.grad`` on this non-leaf tensor too at the next backward."""
        self._retains_grad = True

    def register_hook(self, hook: Callable[[Tensor], Tensor | None]) -> RemovableHandle:
        """Call ``hook(grad)`` with this tensor's gradient at each backward; a non-None return replaces it.

        Returns a handle whose ``remove()`` unregisters the hook (see ``lucid/autograd/hooks.py``)."""
        from .autograd import hooks

        return hooks.register(self, hook)

    def detach(self) -> Tensor:
        """A new leaf sharing this tensor's data (and its version counter), cut from the graph."""
        t = Tensor._from_array(self.data)
        t._vc = self._vc.share()
        return t

    def backward(self, gradient: Tensor | np.ndarray | None = None, retain_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into the ``.grad`` of every leaf that requires grad.

        ``gradient`` (the seed, d(loss)/d(self)) defaults to ones of self's shape,
        whatever the shape. The graph is released afterwards unless ``retain_graph``.
        """
        from .autograd.engine import run_backward

        g = np.ones_like(self.data) if gradient is None else _to_array(gradient)
        run_backward([self], [g], retain_graph=retain_graph)

    # ---- in place ---------------------------------------------------------
    # Every in-place write lucid offers calls ``_bump()``; a write into ``t.data`` (the array itself)
    # is not seen, as a write through ``.data`` is not seen in PyTorch.
    def _bump(self):
        self._vc.value += 1

    def _check_inplace(self, what, value=None):
        """In-place changes are not recorded in the graph, so they are only for tensors (and values) outside
        any graph, or for anything under ``no_grad`` (an optimizer's update)."""
        if not _grad_mode.is_grad_enabled():
            return
        if self.requires_grad and self._ctx is None:
            raise RuntimeError(
                f"{what}: a leaf Tensor that requires grad cannot be modified in place; "
                "wrap the update in `with lucid.no_grad():`"
            )
        if self.requires_grad:
            raise RuntimeError(
                f"{what}: lucid does not record this in-place operation on a tensor that is part of a "
                "graph; use the out-of-place form (y = x.masked_fill(...), not x.masked_fill_(...)) or, "
                "for arithmetic, x += ... (recorded)"
            )
        if isinstance(value, Tensor) and value.requires_grad:
            raise RuntimeError(
                f"{what}: the value requires grad, but an in-place change is not recorded in the "
                "graph; build the result out of place (cat, stack, where) or detach() the value"
            )

    def copy_(self, src: Tensor | np.ndarray) -> Tensor:
        self._check_inplace("copy_", src)
        np.copyto(self.data, _to_array(src), casting="unsafe")
        self._bump()
        return self

    def zero_(self) -> Tensor:
        self._check_inplace("zero_")
        self.data[...] = 0
        self._bump()
        return self

    def fill_(self, value: float | Tensor) -> Tensor:
        self._check_inplace("fill_")
        self.data[...] = value.item() if isinstance(value, Tensor) else value
        self._bump()
        return self

    # ---- conversion -------------------------------------------------------
    def astype(self, dtype: DTypeLike) -> Tensor:
        """This tensor cast to ``dtype`` (itself if it has that dtype already); differentiable."""
        from . import ops

        return ops.astype(self, dtype)

    type = astype

    def to(self, *args: Any, dtype: DTypeLike | None = None, device: str | None = None, **kwargs: Any) -> Tensor:
        """``to(dtype)``, ``to(other_tensor)`` or ``to("cpu")``: lucid runs on the CPU, so only dtype matters."""
        for a in args:
            if isinstance(a, Tensor):
                dtype = a.dtype
            elif not (isinstance(a, str) and a.split(":")[0] == "cpu"):
                dtype = a
        return self if dtype is None else self.astype(dtype)

    def cpu(self) -> Tensor:
        return self

    def float(self) -> Tensor:
        return self.astype(_dtype.float32)

    def double(self) -> Tensor:
        return self.astype(_dtype.float64)

    def half(self) -> Tensor:
        return self.astype(_dtype.float16)

    def long(self) -> Tensor:
        return self.astype(_dtype.int64)

    def int(self) -> Tensor:
        return self.astype(_dtype.int32)

    def bool(self) -> Tensor:
        return self.astype(_dtype.bool_)

    def clone(self) -> Tensor:
        from . import ops

        return ops.clone(self)

    # ---- printing ---------------------------------------------------------
    def __repr__(self) -> str:
        """``Tensor([[1.0, 2.0]], grad=None)``: values to 4 decimals, the dtype when it is not the default
        (float32, int64, bool), ``requires_grad=True`` on a leaf that requires grad."""
        extra = ""
        if self.data.dtype not in (np.float32, np.int64, np.bool_):
            extra += f", dtype=lucid.{self.data.dtype}"
        if self.requires_grad and self._ctx is None:
            extra += ", requires_grad=True"
        grad = "None" if self._grad is None else _format_array(self._grad)
        return f"Tensor({_format_array(self.data)}{extra}, grad={grad})"

    __str__ = __repr__
