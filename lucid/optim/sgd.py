"""Stochastic gradient descent, with momentum, dampening, Nesterov momentum and weight decay."""

from collections.abc import Iterable

import numpy as np

from .optimizer import Optimizer

__all__ = ["SGD"]


class SGD(Optimizer):
    """``SGD(params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *, maximize=False)``.

    PyTorch's update, for each parameter p with gradient g::

        g ← g + weight_decay·p
        b ← g                                  on the first step
        b ← momentum·b + (1 − dampening)·g     after
        g ← g + momentum·b   if nesterov,  else  g ← b
        p ← p − lr·g
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        if lr < 0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(
            params,
            dict(
                lr=lr,
                momentum=momentum,
                dampening=dampening,
                weight_decay=weight_decay,
                nesterov=nesterov,
                maximize=maximize,
            ),
        )

    def _update(self, p, grad, state, group):
        # grad is p.grad itself: never written; each step below makes at most one array of its own
        if group["maximize"]:
            grad = np.negative(grad)
        wd = group["weight_decay"]
        if wd != 0:
            decayed = p.data * wd
            decayed += grad
            grad = decayed
        momentum = group["momentum"]
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = np.array(grad, copy=True)
            else:
                buf *= momentum
                damp = 1 - group["dampening"]
                buf += grad if damp == 1 else damp * grad
            if group["nesterov"]:
                ahead = buf * momentum
                ahead += grad
                grad = ahead
            else:
                grad = buf
        step = grad * group["lr"]
        p.data -= step
