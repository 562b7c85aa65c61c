"""``Parameter``: a Tensor that, assigned to a Module, is one of its parameters."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._tensor import Tensor

__all__ = ["Parameter"]


class Parameter(Tensor):
    """``Parameter(data=None, requires_grad=True)``: a Tensor that, assigned to a Module, is one of its parameters.

    It shares ``data``'s array (no copy), like PyTorch's ``nn.Parameter``.
    """

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        if data is None:
            data = np.empty((0,), dtype=np.float32)
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    __str__ = __repr__

    def __deepcopy__(self, memo: dict) -> Parameter:
        if id(self) in memo:
            return memo[id(self)]
        # the values, not the gradient (as PyTorch: a deep copy of a trained layer starts with no .grad)
        p = Parameter(self.data.copy(), requires_grad=self.requires_grad)
        memo[id(self)] = p
        return p

    def __reduce_ex__(self, protocol: int) -> tuple:
        return (_rebuild_parameter, (self.data, self.requires_grad))


def _rebuild_parameter(data, requires_grad, grad=None):
    return Parameter(data, requires_grad=requires_grad)
