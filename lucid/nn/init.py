"""Initializers: each fills a tensor in place (its ``data``, no graph) and returns it.

All draws come from lucid's one generator (``lucid.manual_seed``), or from
``generator=`` (a ``numpy.random.Generator``). Values are drawn in float64 and
stored in the tensor's own dtype.

The scaled initializers keep the variance of activations steady through depth:
for a weight of shape ``(out, in, *kernel)``, ``fan_in = in·prod(kernel)`` and
``fan_out = out·prod(kernel)``;

- Xavier/Glorot: ``std = gain·√(2/(fan_in + fan_out))``;
- Kaiming/He: ``std = gain/√fan`` with ``fan`` = fan_in (or fan_out).

A uniform distribution ``U(−b, b)`` has std ``b/√3``, so the uniform forms use ``b = √3·std``.
"""

import math
import numbers
import warnings

import numpy as np

from .. import random as _random

__all__ = [
    "calculate_gain",
    "uniform_",
    "normal_",
    "trunc_normal_",
    "constant_",
    "ones_",
    "zeros_",
    "eye_",
    "xavier_uniform_",
    "xavier_normal_",
    "kaiming_uniform_",
    "kaiming_normal_",
]


def _rng(generator):
    return _random.generator() if generator is None else generator


def _fill(tensor, values):
    tensor.data[...] = values
    tensor._bump()
    return tensor


def calculate_gain(nonlinearity, param=None):
    """The factor that keeps a nonlinearity's output variance equal to its input's.

    ``linear``, ``conv*``, ``sigmoid``: 1;  ``tanh``: 5/3;  ``relu``: √2;
    ``leaky_relu``: √(2/(1 + slope²)) (``param`` is the slope, default 0.01);  ``selu``: 3/4.
    """
    linear = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d")
    if nonlinearity in linear or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif not isinstance(param, bool) and isinstance(param, numbers.Real):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(tensor):
    """``(fan_in, fan_out)`` of a weight shaped ``(out, in, *kernel)``."""
    if tensor.ndim < 2:
        raise ValueError(
            "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions "
            f"(got shape {tuple(tensor.shape)})"
        )
    receptive = math.prod(tensor.shape[2:])
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _calculate_correct_fan(tensor, mode):
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(tensor, a=0.0, b=1.0, generator=None):
    """Fill with draws from ``U(a, b)``."""
    return _fill(tensor, _rng(generator).uniform(a, b, tensor.shape))


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    """Fill with draws from ``N(mean, std²)``."""
    return _fill(tensor, _rng(generator).normal(mean, std, tensor.shape))


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
    """Fill with draws from ``N(mean, std²)`` restricted to ``[a, b]`` (rejection sampling)."""
    rng = _rng(generator)
    out = np.empty(tensor.shape)
    flat, todo = out.reshape(-1), np.arange(out.size)
    while todo.size:
        v = rng.normal(mean, std, todo.size)
        ok = (v >= a) & (v <= b)
        flat[todo[ok]] = v[ok]
        todo = todo[~ok]
    return _fill(tensor, out)


def constant_(tensor, val):
    """Fill with ``val``."""
    return _fill(tensor, val)


def ones_(tensor):
    return _fill(tensor, 1)


def zeros_(tensor):
    return _fill(tensor, 0)


def eye_(tensor):
    """Fill a 2-D tensor with the identity matrix."""
    if tensor.ndim != 2:
        raise ValueError(f"Only tensors with 2 dimensions are supported (got {tensor.ndim}D)")
    return _fill(tensor, np.eye(*tensor.shape))


def xavier_uniform_(tensor, gain=1.0, generator=None):
    """``U(−b, b)`` with ``b = gain·√(6/(fan_in + fan_out))``."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    bound = math.sqrt(3.0) * gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor, gain=1.0, generator=None):
    """``N(0, std²)`` with ``std = gain·√(2/(fan_in + fan_out))``."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / float(fan_in + fan_out)), generator)


def _kaiming_std(tensor, a, mode, nonlinearity):
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
        return None
    return calculate_gain(nonlinearity, a) / math.sqrt(_calculate_correct_fan(tensor, mode))


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """``U(−b, b)`` with ``b = √3·gain/√fan``; ``a`` is the leaky_relu slope the gain is for.

    ``a=√5`` (what Linear and Conv use) gives ``b = 1/√fan_in``.
    """
    std = _kaiming_std(tensor, a, mode, nonlinearity)
    if std is None:
        return tensor
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """``N(0, std²)`` with ``std = gain/√fan``."""
    std = _kaiming_std(tensor, a, mode, nonlinearity)
    if std is None:
        return tensor
    return normal_(tensor, 0.0, std, generator)


def _default_layer_init_(weight, bias=None):
    """PyTorch's default for Linear and Conv: W ~ kaiming-uniform with a=√5, i.e. U(±1/√fan_in),
    and b ~ U(±1/√fan_in)."""
    kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in, _ = _calculate_fan_in_and_fan_out(weight)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        uniform_(bias, -bound, bound)
