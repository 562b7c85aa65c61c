"""``Optimizer``: the base class. It holds ``param_groups`` and per-parameter ``state``.

Each group is a dict: ``{"params": [Parameter, ...], "lr": ..., ...}``, the
hyperparameters that apply to those parameters (missing ones are filled from the
optimizer's ``defaults``). ``state[p]`` is a dict of what the optimizer keeps for
parameter ``p`` between steps (momentum buffers, moving averages, the step count).
An optimizer works on the parameters' arrays in place and records no graph; SGD, Adam and AdamW
update each parameter in one pass of the ``optim`` kernels (``lucid/_kernels/optim``).
"""

import copy
from collections.abc import Callable, Iterable

import numpy as np

from .._tensor import Tensor

__all__ = ["Optimizer", "required"]


class _Required:
    def __repr__(self):
        return "<required parameter>"


required = _Required()  # a default that each param group must give itself


class Optimizer:
    """``Optimizer(params, defaults)``: ``params`` is an iterable of Tensors, or of dicts that define param groups."""

    def __init__(self, params: Iterable, defaults: dict) -> None:
        self.defaults = defaults
        self.state = {}  # Parameter -> dict
        self.param_groups = []
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or dicts, "
                f"but got {type(params).__name__}"
            )
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for g in groups:
            self.add_param_group(g)

    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters with its own hyperparameters (e.g. a smaller lr for a pretrained part)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        group = dict(param_group)
        params = group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the ordering "
                "of tensors in sets will change between runs. Please use a list instead."
            )
        group["params"] = list(params)
        for p in group["params"]:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter {name}")
            group.setdefault(name, default)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in group["params"]):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget every parameter's gradient: ``grad = None`` (or zeros, with ``set_to_none=False``)."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    if set_to_none:
                        p.grad = None
                    else:
                        p.grad = np.zeros_like(p.grad)

    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        """One update of every parameter that has a gradient. ``closure`` re-evaluates the model and returns the
        loss."""
        loss = None
        if closure is not None:
            from ..autograd.grad_mode import enable_grad

            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    self._update(p, np.asarray(p.grad, dtype=p.data.dtype), self.state.setdefault(p, {}), group)
                    p._bump()  # the update is an in-place write: a graph that saved p can no longer use it
        return loss

    def _update(self, p, grad, state, group):
        """Update ``p.data`` in place from ``grad``; ``state`` is this parameter's dict, ``group`` its
        hyperparameters."""
        raise NotImplementedError

    # ---- checkpoints --------------------------------------------------------
    def state_dict(self) -> dict:
        """``{"state": {index: {...}}, "param_groups": [{..., "params": [index, ...]}]}``, as PyTorch.

        Parameters are named by their position across all groups, so the dict does not
        depend on the parameter objects; arrays are copies.
        """
        index, groups = {}, []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = [index.setdefault(id(p), len(index)) for p in group["params"]]
            groups.append(packed)
        state = {}
        for group in self.param_groups:
            for p in group["params"]:
                if p in self.state:
                    state[index[id(p)]] = {k: _copy(v) for k, v in self.state[p].items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Load what ``state_dict()`` returned. Checked whole before anything changes."""
        try:
            saved_groups, saved_state = state_dict["param_groups"], state_dict["state"]
        except (TypeError, KeyError):
            raise ValueError("expected an optimizer state dict with keys 'state' and 'param_groups'") from None
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"loaded state dict has a different number of parameter groups "
                f"({len(saved_groups)}, the optimizer has {len(self.param_groups)})"
            )
        for i, (g, s) in enumerate(zip(self.param_groups, saved_groups)):
            if len(g["params"]) != len(s["params"]):
                raise ValueError(
                    f"loaded state dict contains a parameter group that doesn't match the size of "
                    f"optimizer's group (group {i}: {len(s['params'])} saved, {len(g['params'])} here)"
                )
        id_map = {}
        for g, s in zip(self.param_groups, saved_groups):
            id_map.update(zip(s["params"], g["params"]))
        new_state = {}
        for key, values in saved_state.items():
            if key not in id_map:
                continue
            p = id_map[key]
            entry = {}
            for k, v in values.items():
                arr = _array(v)
                if arr is not None and k != "step":
                    if arr.shape != p.shape:
                        raise ValueError(
                            f"loaded state for parameter {key}: {k!r} has shape {arr.shape}, "
                            f"but the parameter has shape {p.shape}"
                        )
                    v = arr.astype(p.dtype) if arr.dtype.kind == "f" else arr.copy()
                elif k == "step":
                    v = int(arr) if arr is not None else v
                else:
                    v = copy.deepcopy(v)
                entry[k] = v
            new_state[p] = entry
        new_groups = []
        for g, s in zip(self.param_groups, saved_groups):
            group = copy.deepcopy({k: v for k, v in s.items() if k != "params"})
            group["params"] = g["params"]
            new_groups.append(group)
        self.state, self.param_groups = new_state, new_groups

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {group[k]}" for k in sorted(group) if k != "params"]
        return "\n".join(lines) + "\n)"


def _array(v):
    """``v`` as an ndarray if it is a Tensor or an array (or an array-like from another framework), else None."""
    if isinstance(v, Tensor):
        return v.data
    if isinstance(v, np.ndarray) or isinstance(v, np.generic):
        return np.asarray(v)
    if hasattr(v, "numpy") and hasattr(v, "shape"):  # a tensor of another framework
        return np.asarray(v.detach().numpy() if hasattr(v, "detach") else v.numpy())
    return None


def _copy(v):
    return v.copy() if isinstance(v, np.ndarray) else copy.deepcopy(v)
