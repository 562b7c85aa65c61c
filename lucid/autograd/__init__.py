"""Reverse-mode automatic differentiation."""
from .engine import run_backward
from .function import Context, Function
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import gradcheck


def grad(outputs, inputs, grad_outputs=None, retain_graph=False, allow_unused=False):
    """d(outputs)/d(inputs), as a tuple of arrays, without touching any ``.grad``."""
    from .._tensor import Tensor, _to_array

    single_out = isinstance(outputs, Tensor)
    outputs = [outputs] if single_out else list(outputs)
    single_in = isinstance(inputs, Tensor)
    inputs = [inputs] if single_in else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, Tensor) or not isinstance(grad_outputs, (list, tuple)):
        grad_outputs = [grad_outputs]
    gs = []
    for o, g in zip(outputs, grad_outputs):
        if g is None:
            if o.size != 1:
                raise RuntimeError(f"grad can be implicitly created only for scalar outputs (got shape {o.shape})")
            g = __import__("numpy").ones_like(o.data)
        gs.append(_to_array(g))
    res = run_backward(outputs, gs, retain_graph=retain_graph, capture=inputs)
    for t, r in zip(inputs, res):
        if r is None and not allow_unused:
            raise RuntimeError("One of the differentiated Tensors appears to not have been used in the graph. "
                               "Set allow_unused=True if this is the desired behavior.")
    return tuple(res)


__all__ = ["Function", "Context", "grad", "gradcheck", "no_grad", "enable_grad", "set_grad_enabled",
           "is_grad_enabled"]
