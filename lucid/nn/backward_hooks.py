"""Module backward hooks: ``register_full_backward_hook`` and ``register_full_backward_pre_hook``.

While a module with such hooks runs, its tensor inputs and outputs pass through two identity
ops. The backward of the one on the outputs sees ``grad_output`` (pre-hooks may replace it);
the backward of the one on the inputs sees ``grad_input`` and calls
``hook(module, grad_input, grad_output)``, whose non-None return replaces ``grad_input``.
Inputs that do not require grad get None in ``grad_input``, outputs that do not get None in
``grad_output`` (one entry per tensor output, as PyTorch); when no input requires grad, the hooks
run with ``grad_input`` all None as soon as ``grad_output`` is known.
"""

import warnings

from .._tensor import Tensor
from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled


def _tensors(arrays):
    return tuple(None if a is None else Tensor._from_array(a) for a in arrays)


def _arrays(values, like, what):
    values = values if isinstance(values, (tuple, list)) else (values,)
    if len(values) != len(like):
        raise RuntimeError(
            f"backward hook returned an invalid number of {what} (expected {len(like)}, got {len(values)})"
        )
    out = []
    for v, ref in zip(values, like):
        if v is None or ref is None:
            out.append(None if ref is None else v)
            continue
        arr = v.data if isinstance(v, Tensor) else v
        if arr.shape != ref.shape:
            raise RuntimeError(f"backward hook returned a {what[:-1]} of shape {arr.shape}, expected {ref.shape}")
        out.append(arr.astype(ref.dtype, copy=False))
    return out


class _Record:
    """What the two identity nodes of one call share."""

    def __init__(self, module, n_inputs, need):
        self.module, self.n_inputs, self.need = module, n_inputs, need  # need[i]: input i requires grad
        self.grad_output = None
        self.wired = []  # wired[j]: tensor output j goes through the outputs' identity (it requires grad)

    def call_hooks(self, grad_input):
        """Run the full backward hooks; returns the (maybe replaced) grad_input."""
        for hook in list(self.module._backward_hooks.values()):
            res = hook(self.module, _tensors(grad_input), _tensors(self.grad_output))
            if res is not None:
                grad_input = _arrays(res, grad_input, "grad_inputs")
        return grad_input


class _OutputsIdentity(Function):
    saves = ()

    @staticmethod
    def forward(ctx, *arrays, record):
        ctx.record = record
        return tuple(a.view() for a in arrays)  # views: each output shares its input's version counter

    @staticmethod
    def backward(ctx, *grads):
        rec = ctx.record
        it = iter(grads)
        grads = [next(it) if wired else None for wired in rec.wired]  # None for outputs without a gradient
        for hook in list(rec.module._backward_pre_hooks.values()):
            res = hook(rec.module, _tensors(grads))
            if res is not None:
                grads = _arrays(res, grads, "grad_outputs")
        rec.grad_output = tuple(grads)
        if not any(rec.need):
            rec.call_hooks([None] * rec.n_inputs)
        return tuple(g for g, wired in zip(grads, rec.wired) if wired)


class _InputsIdentity(Function):
    saves = ()

    @staticmethod
    def forward(ctx, *arrays, record):
        ctx.record = record
        return tuple(a.view() for a in arrays)  # views: each output shares its input's version counter

    @staticmethod
    def backward(ctx, *grads):
        rec = ctx.record
        it = iter(grads)
        grad_input = [next(it) if need else None for need in rec.need]
        if rec.grad_output is not None:  # None: the outputs were not tensors, the hooks do not run
            grad_input = rec.call_hooks(grad_input)
        return tuple(g for g, need in zip(grad_input, rec.need) if need)


def call_with_backward_hooks(module, args, kwargs):
    """``module.forward(*args, **kwargs)`` with its inputs and outputs wired to the module's backward hooks."""
    if not is_grad_enabled():
        return module.forward(*args, **kwargs)
    positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
    need = [args[i].requires_grad for i in positions]
    record = _Record(module, len(positions), need)
    args = list(args)
    if any(need):
        wired = _InputsIdentity.apply(*[args[i] for i, n in zip(positions, need) if n], record=record)
        for i, t in zip([i for i, n in zip(positions, need) if n], wired):
            args[i] = t
    out = module.forward(*args, **kwargs)
    outs = out if isinstance(out, tuple) else (out,)
    if not isinstance(out, (Tensor, tuple)):
        warnings.warn(
            f"{type(module).__name__}: its full backward hooks are not called, since its output is a "
            f"{type(out).__name__} (they take a Tensor or a tuple of Tensors); the gradients flow unchanged",
            stacklevel=3,
        )
        return out  # outputs in a list or dict: the full backward hooks are not called, as in PyTorch
    hooked = [i for i, o in enumerate(outs) if isinstance(o, Tensor) and o.requires_grad]
    if not hooked:
        return out
    record.wired = [o.requires_grad for o in outs if isinstance(o, Tensor)]
    wired = _OutputsIdentity.apply(*[outs[i] for i in hooked], record=record)
    outs = list(outs)
    for i, t in zip(hooked, wired):
        outs[i] = t
    return tuple(outs) if isinstance(out, tuple) else outs[0]
