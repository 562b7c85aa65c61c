"""Tensor gradient hooks: ``t.register_hook(fn)`` calls ``fn(grad)`` when ``t``'s gradient is known.

``fn`` gets the whole gradient of ``t`` for this backward pass (a Tensor) and may return a
replacement of the same shape, which then flows on: into ``.grad`` for a leaf, into the op
that made ``t`` otherwise. Hooks run in the order they were registered, each on the result
of the one before. ``handle.remove()`` takes a hook away.
"""

import itertools

import numpy as np


class RemovableHandle:
    """What ``register_hook`` (and a Module's ``register_*_hook``) returns; ``remove()`` unregisters the
    hook (twice is harmless)."""

    _ids = itertools.count()

    def __init__(self, hooks_dict: dict) -> None:
        self._hooks_dict = hooks_dict
        self.id = next(RemovableHandle._ids)

    def remove(self) -> None:
        self._hooks_dict.pop(self.id, None)

    def __enter__(self) -> "RemovableHandle":
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


def register(tensor, hook):
    """Add ``hook`` to ``tensor``'s hooks; returns its handle."""
    if not tensor.requires_grad:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
    if not callable(hook):
        raise TypeError(f"hook must be callable (got {type(hook).__name__})")
    hooks = tensor.__dict__.setdefault("_grad_hooks", {})
    handle = RemovableHandle(hooks)
    hooks[handle.id] = hook
    return handle


def has_hooks(tensor):
    return bool(tensor.__dict__.get("_grad_hooks"))


def run(tensor, grad):
    """``grad`` (an array) passed through ``tensor``'s hooks."""
    from .._tensor import Tensor

    for hook in list(tensor.__dict__["_grad_hooks"].values()):
        out = hook(Tensor._from_array(grad))
        if out is None:
            continue
        new = out.data if isinstance(out, Tensor) else np.asarray(out)
        if new.shape != grad.shape:
            raise RuntimeError(
                f"hook '{getattr(hook, '__name__', type(hook).__name__)}' has changed the size "
                f"of value (expected {grad.shape}, got {new.shape})"
            )
        grad = new.astype(grad.dtype, copy=False)
    return grad
