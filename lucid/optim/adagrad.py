"""Adagrad: each coordinate's step shrinks with the sum of its squared gradients so far."""

from collections.abc import Iterable

import numpy as np

from .optimizer import Optimizer

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """``Adagrad(params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10,
    foreach=None, *, maximize=False, differentiable=False, fused=None)``.

    PyTorch's update at step t for a parameter p with gradient g::

        g ← g + weight_decay·p
        s ← s + g²                               (s starts at initial_accumulator_value)
        p ← p − lr/(1 + (t − 1)·lr_decay) · g/(√s + ε)

    The state (``step``, ``sum``) exists from construction on, as in PyTorch.
    ``foreach`` and ``fused`` are kept for PyTorch's signature; differentiable=True is refused.
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-2,
        lr_decay: float = 0,
        weight_decay: float = 0,
        initial_accumulator_value: float = 0,
        eps: float = 1e-10,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= lr_decay:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= initial_accumulator_value:
            raise ValueError(f"Invalid initial_accumulator_value value: {initial_accumulator_value}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if fused and foreach:
            raise RuntimeError("`fused` and `foreach` cannot be `True` together.")
        if differentiable:
            raise ValueError("differentiable=True is not supported: lucid's optimizers update arrays in place")
        super().__init__(
            params,
            dict(
                lr=lr,
                lr_decay=lr_decay,
                eps=eps,
                weight_decay=weight_decay,
                initial_accumulator_value=initial_accumulator_value,
                foreach=foreach,
                maximize=maximize,
                differentiable=differentiable,
                fused=fused,
            ),
        )
        for group in self.param_groups:  # the constructor's value, even where a group gives its own (PyTorch's rule)
            for p in group["params"]:
                self._init_state(p, self.state.setdefault(p, {}), initial_accumulator_value)

    @staticmethod
    def _init_state(p, state, value):
        state["step"] = 0
        state["sum"] = np.full_like(p.data, value)

    def _update(self, p, grad, state, group):
        if not state:  # a parameter of a group added after construction
            self._init_state(p, state, group["initial_accumulator_value"])
        state["step"] += 1
        if group["maximize"]:
            grad = -grad
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * p.data
        clr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        s = state["sum"]
        s += grad * grad
        std = np.sqrt(s)
        std += group["eps"]
        p.data -= clr * (grad / std)
