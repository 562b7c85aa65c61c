"""The ops as Tensor methods and operators (``x + y``, ``x.sum()``, ``x += 1``, ``x.add_(y)``).

Installed on ``Tensor`` once, by ``lucid.ops`` after it has defined every op."""

import sys

import numpy as np

from .._tensor import Tensor
from ..autograd import inplace
from . import (
    _index,
    abs,
    add,
    bitwise_and,
    bitwise_not,
    bitwise_or,
    bitwise_xor,
    clone,
    div,
    eq,
    expand,
    floor_divide,
    ge,
    getitem,
    gt,
    le,
    lt,
    matmul,
    mul,
    ne,
    neg,
    pow,
    remainder,
    reshape,
    sub,
    where,
)

# the ops that become Tensor methods of the same name
METHODS = """
    add sub mul div pow neg exp log sqrt rsqrt abs clip clamp tanh sigmoid relu maximum minimum sum
    mean var std max min argmax argmin matmul reshape view permute transpose flatten squeeze
    unsqueeze expand split chunk pad eq ne lt le gt ge logical_and logical_or logical_xor
    logical_not sin cos bmm baddbmm tril triu masked_fill masked_fill_ gather scatter_add index_add
    sort argsort topk cumsum multinomial amax amin logsumexp all any isnan isinf isfinite
    log1p expm1 floor ceil round trunc sign remainder floor_divide flip repeat prod index_select
""".split()


def _inplace(op, ufunc, name, reads_self):
    """``x.add_(y, alpha=1)`` and ``x += y``: the ufunc writes x's array, or, inside a graph, the change is
    recorded (``autograd.inplace``; ``reads_self``: the op's backward reads x's old values)."""

    def method(self, other, *, alpha=1):
        if inplace.records(self, other):
            operand = other if alpha == 1 else other * alpha
            return inplace.change(self, lambda old: op(old, operand), name, reads_self, (other,))
        other = other.data if isinstance(other, Tensor) else other
        ufunc(self.data, other if alpha == 1 else np.multiply(other, alpha), out=self.data, casting="same_kind")
        self._bump()
        return self

    method.__name__ = name
    return method


def install_methods():
    """Put the ops on Tensor: operators, in-place operators, ``x.add_(y)`` and the methods in ``METHODS``."""
    T = Tensor
    T.__add__ = add
    T.__radd__ = lambda a, b: add(b, a)
    T.__sub__ = sub
    T.__rsub__ = lambda a, b: sub(b, a)
    T.__mul__ = mul
    T.__rmul__ = lambda a, b: mul(b, a)
    T.__truediv__ = div
    T.__mod__ = remainder
    T.__rmod__ = lambda a, b: remainder(b, a)
    T.__floordiv__ = floor_divide
    T.__rfloordiv__ = lambda a, b: floor_divide(b, a)
    T.__rtruediv__ = lambda a, b: div(b, a)
    T.__pow__ = pow
    T.__rpow__ = lambda a, b: pow(b, a)
    T.__matmul__ = matmul
    T.__rmatmul__ = lambda a, b: matmul(b, a)
    T.__neg__ = neg
    T.__pos__ = lambda a: a
    T.__abs__ = abs
    T.__eq__, T.__ne__, T.__lt__, T.__le__, T.__gt__, T.__ge__ = eq, ne, lt, le, gt, ge
    T.__and__, T.__or__, T.__xor__ = bitwise_and, bitwise_or, bitwise_xor
    T.__rand__, T.__ror__, T.__rxor__ = bitwise_and, bitwise_or, bitwise_xor
    T.__invert__ = bitwise_not
    T.add_ = T.__iadd__ = _inplace(add, np.add, "add_", reads_self=False)
    T.sub_ = T.__isub__ = _inplace(sub, np.subtract, "sub_", reads_self=False)
    T.mul_ = T.__imul__ = _inplace(mul, np.multiply, "mul_", reads_self=True)
    T.div_ = T.__itruediv__ = _inplace(div, np.true_divide, "div_", reads_self=True)
    T.__ifloordiv__ = _inplace(floor_divide, np.floor_divide, "floor_divide_", reads_self=True)
    T.__imod__ = _inplace(remainder, np.remainder, "remainder_", reads_self=True)
    T.__ipow__ = _inplace(pow, np.power, "pow_", reads_self=True)
    T.__iand__ = _inplace(bitwise_and, np.bitwise_and, "bitwise_and_", reads_self=True)
    T.__ior__ = _inplace(bitwise_or, np.bitwise_or, "bitwise_or_", reads_self=True)
    T.__ixor__ = _inplace(bitwise_xor, np.bitwise_xor, "bitwise_xor_", reads_self=True)
    T.__getitem__ = getitem

    def __setitem__(self, index, value):
        self._check_inplace("item assignment", value)
        idx, value = _index(index), value.data if isinstance(value, Tensor) else value
        if isinstance(value, np.ndarray) and value.size == 1 and value.ndim and np.ndim(self.data[idx]) == 0:
            value = value.reshape(())  # one element into one position, as PyTorch
        self.data[idx] = value
        self._bump()

    T.__setitem__ = __setitem__
    ops = sys.modules[__package__]
    for name in METHODS:
        setattr(T, name, getattr(ops, name))
    T.where = lambda self, condition, other: where(condition, self, other)
    T.expand_as = lambda self, other: expand(self, other.shape)
    T.reshape_as = T.view_as = lambda self, other: reshape(self, other.shape)
    T.is_contiguous = lambda self, memory_format=None: bool(self.data.flags.c_contiguous)
    T.contiguous = lambda self, memory_format=None: self if self.data.flags.c_contiguous else clone(self)
