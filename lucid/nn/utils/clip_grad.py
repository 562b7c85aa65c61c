"""Gradient clipping: scale all gradients together by their total norm, or clamp each value.

The total norm of the gradients g₁ … gₖ is the p-norm of their p-norms,
‖(‖g₁‖ₚ, …, ‖gₖ‖ₚ)‖ₚ, the p-norm of all gradients laid end to end.
``clip_grad_norm_`` multiplies every gradient by min(max_norm / (total + 1e-6), 1),
in place, always (so a NaN norm spreads into the gradients, as in PyTorch).
"""

import math
import types
import warnings
from collections.abc import Iterable

import numpy as np

from ..._tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_norm", "clip_grad_value_", "get_total_norm", "clip_grads_with_norm_"]

_Tensors = Tensor | Iterable[Tensor]


def _vector_norm(a: np.ndarray, p: float) -> np.ndarray:
    """‖a‖ₚ of the flattened array: (Σ|aᵢ|ᵖ)^(1/p); max |aᵢ| for p = inf, min for −inf, the non-zero count for 0."""
    a = np.abs(a.ravel())
    if p == math.inf:
        return a.max(initial=0.0)
    if p == -math.inf:
        return a.min() if a.size else np.asarray(math.inf, a.dtype)
    if p == 0:
        return np.asarray(np.count_nonzero(a), a.dtype)
    if p == 1:
        return a.sum()
    if p == 2:
        return np.sqrt(np.dot(a, a))
    return (a**p).sum() ** (1.0 / p)


def _check_foreach(foreach):
    if foreach is not None and not isinstance(foreach, bool):
        raise TypeError(f"foreach must be None or a bool (got {type(foreach).__name__})")


def _as_list(tensors: _Tensors) -> list:
    return [tensors] if isinstance(tensors, Tensor) else list(tensors)


def _grad_arrays(tensors) -> list:
    """The arrays of gradients: a Tensor's ``.grad`` if it is a parameter list, or the tensors themselves."""
    return [t.data if isinstance(t, Tensor) else np.asarray(t) for t in tensors]


def get_total_norm(
    tensors: _Tensors, norm_type: float = 2.0, error_if_nonfinite: bool = False, foreach: bool | None = None
) -> Tensor:
    """The p-norm of ``tensors`` (Tensors or arrays) laid end to end: ‖(‖t₁‖ₚ, …, ‖tₖ‖ₚ)‖ₚ."""
    _check_foreach(foreach)
    arrays = _grad_arrays(_as_list(tensors))
    norm_type = float(norm_type)
    if not arrays:
        return Tensor(np.asarray(0.0, dtype=np.float32))
    norms = [_vector_norm(a, norm_type) for a in arrays]
    total = np.asarray(_vector_norm(np.stack(norms), norm_type))
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, "
            "so it cannot be clipped. To disable this error and scale the gradients by the "
            "non-finite norm anyway, set `error_if_nonfinite=False`"
        )
    return Tensor._from_array(total)


def clip_grads_with_norm_(
    parameters: _Tensors, max_norm: float, total_norm: float | Tensor, foreach: bool | None = None
) -> None:
    """Multiply each ``p.grad`` in place by min(max_norm / (total_norm + 1e-6), 1)."""
    _check_foreach(foreach)
    grads = [p.grad for p in _as_list(parameters) if p.grad is not None]
    max_norm = float(max_norm)
    if not grads:
        return
    total = total_norm.data if isinstance(total_norm, Tensor) else np.asarray(total_norm)
    coef = np.minimum(max_norm / (total + 1e-6), 1.0)
    with np.errstate(invalid="ignore"):  # inf·0 is NaN, as it should be
        for g in grads:
            g *= coef.astype(g.dtype)


def clip_grad_norm_(
    parameters: _Tensors,
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    """Scale all gradients, in place, so that their total norm is at most ``max_norm``; returns the norm before.

    total = ‖(‖g₁‖ₚ, …, ‖gₖ‖ₚ)‖ₚ over the parameters that have a gradient, and every gradient is
    multiplied by min(max_norm / (total + 1e-6), 1). ``norm_type`` may be ``float("inf")``.
    """
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    else:
        was_generator = isinstance(parameters, types.GeneratorType)
        parameters = list(parameters)
        if was_generator and not parameters:
            warnings.warn("`parameters` is an empty generator, no gradient clipping will occur.", stacklevel=2)
    grads = [p.grad for p in parameters if p.grad is not None]
    total = get_total_norm(grads, norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(parameters, max_norm, total, foreach)
    return total


def clip_grad_norm(
    parameters: _Tensors,
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    """Deprecated name of ``clip_grad_norm_``."""
    warnings.warn(
        "`lucid.nn.utils.clip_grad_norm` is now deprecated in favor of `lucid.nn.utils.clip_grad_norm_`.",
        FutureWarning,
        stacklevel=2,
    )
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def clip_grad_value_(parameters: _Tensors, clip_value: float, foreach: bool | None = None) -> None:
    """Clamp every gradient value, in place, to [−clip_value, clip_value]."""
    _check_foreach(foreach)
    clip_value = float(clip_value)
    for p in _as_list(parameters):
        if p.grad is not None:
            np.clip(p.grad, -clip_value, clip_value, out=p.grad)
