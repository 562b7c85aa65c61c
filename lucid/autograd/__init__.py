"""Reverse-mode automatic differentiation: ``Function``, the engine, grad modes, ``grad`` and ``gradcheck``."""

import numpy as np

from .engine import run_backward
from .function import Context, Function
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import gradcheck


def grad(outputs, inputs, grad_outputs=None, retain_graph=False, allow_unused=False):
    """d(outputs)/d(inputs), as a tuple of arrays (one per input), without touching any ``.grad``.

    ``grad_outputs`` seeds each output (d(loss)/d(output)); it may be left out for
    outputs with one element. With ``allow_unused=True`` an input that no gradient
    reaches gets None instead of raising.

    >>> import lucid
    >>> x = lucid.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> lucid.autograd.grad((x * x).sum(), x)
    (array([2., 4., 6.], dtype=float32),)
    """
    from .._tensor import Tensor, _to_array

    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, (Tensor, np.ndarray)) or not isinstance(grad_outputs, (list, tuple)):
        grad_outputs = [grad_outputs]
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad: got {len(grad_outputs)} grad_outputs for {len(outputs)} outputs")
    for t in inputs:
        if not t.requires_grad:
            raise RuntimeError("grad: one of the differentiated Tensors does not require grad")
    seeds = []
    for o, g in zip(outputs, grad_outputs):
        if g is None:
            if o.data.size != 1:
                raise RuntimeError(
                    f"grad can be implicitly created only for outputs with one element "
                    f"(got shape {o.shape}); pass grad_outputs"
                )
            g = np.ones_like(o.data)
        seeds.append(_to_array(g))
    res = run_backward(outputs, seeds, retain_graph=retain_graph, capture=inputs)
    if not allow_unused and any(r is None for r in res):
        raise RuntimeError(
            "One of the differentiated Tensors appears to not have been used in the graph. "
            "Set allow_unused=True if this is the desired behavior."
        )
    return tuple(res)


__all__ = [
    "Function",
    "Context",
    "grad",
    "gradcheck",
    "no_grad",
    "enable_grad",
    "set_grad_enabled",
    "is_grad_enabled",
    "run_backward",
]
