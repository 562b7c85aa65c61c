"""Adam and AdamW: per-parameter step sizes from moving averages of the gradient and its square."""

from collections.abc import Iterable

import numpy as np

from .. import backends
from .optimizer import Optimizer

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    """``Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *, maximize=False,
    decoupled_weight_decay=False)``.

    PyTorch's update, at step t for a parameter p with gradient g::

        g ← g + weight_decay·p                 (L2 penalty; decoupled instead: p ← p·(1 − lr·weight_decay))
        m ← m + (1 − β₁)·(g − m)               (= β₁·m + (1 − β₁)·g)
        v ← β₂·v + (1 − β₂)·g²
        v̂ ← max(v̂, v) if amsgrad, else v
        p ← p − lr/(1 − β₁ᵗ) · m / (√v̂ / √(1 − β₂ᵗ) + ε)

    ε is added after the bias correction of √v̂, as PyTorch does.
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        decoupled_weight_decay: bool = False,
    ) -> None:
        if lr < 0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if eps < 0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        if weight_decay < 0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        super().__init__(
            params,
            dict(
                lr=lr,
                betas=tuple(betas),
                eps=eps,
                weight_decay=weight_decay,
                amsgrad=amsgrad,
                maximize=maximize,
                decoupled_weight_decay=decoupled_weight_decay,
            ),
        )

    def _update(self, p, grad, state, group):
        (beta1, beta2), amsgrad = group["betas"], group["amsgrad"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(p.data, order="C")
            state["exp_avg_sq"] = np.zeros_like(p.data, order="C")
            if amsgrad:
                state["max_exp_avg_sq"] = np.zeros_like(p.data, order="C")
        state["step"] += 1
        backends.kernels("optim").adam(
            p.data,
            grad,
            state["exp_avg"],
            state["exp_avg_sq"],
            state["max_exp_avg_sq"] if amsgrad else None,
            state["step"],
            group["lr"],
            beta1,
            beta2,
            group["eps"],
            group["weight_decay"],
            group["decoupled_weight_decay"],
            amsgrad,
            group["maximize"],
        )


class AdamW(Adam):
    """``AdamW(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *, maximize=False)``.

    Adam with decoupled weight decay: ``p ← p·(1 − lr·weight_decay)`` before the Adam step,
    instead of adding ``weight_decay·p`` to the gradient.
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize, decoupled_weight_decay=True)
