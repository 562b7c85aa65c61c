"""Convolutions: conv1d, conv2d, conv3d, as im2col + one matrix product (the ``conv`` kernels).

For each output position ``o`` and kernel tap ``j`` the input element read is
``xp[..., o·stride + j·dilation]`` of the zero-padded input ``xp``. Gathering
those elements for every ``(o, j)`` gives the "columns" (im2col): a matrix with
one row per (input channel, tap) and one column per (output position, sample).
The convolution is then one matrix product per group, ``W @ cols``::

    y[n, f, o] = b[f] + Σ_c Σ_j  W[f, c, j] · xp[n, c, o·s + j·d]

    dW = g @ colsᵀ       dcols = Wᵀ @ g       db[f] = Σ_{n,o} g[n, f, o]

and ``dx`` is ``dcols`` added back to the input position each entry was read from
(col2im), then cropped to the unpadded input.
"""

import numpy as np

from ... import backends
from ..._kernels.conv.reference import col2im, crop_spatial, pad_spatial, windows  # noqa: F401 (the array helpers)
from ...autograd.function import Function

__all__ = ["conv1d", "conv2d", "conv3d"]


def _tuple(v, n, name):
    """``v`` as a tuple of ``n`` ints (an int is repeated)."""
    if isinstance(v, (int, np.integer)):
        return (int(v),) * n
    v = tuple(int(a) for a in v)
    if len(v) != n:
        raise ValueError(f"expected {name} to be a single int or a tuple of {n} ints (got {v})")
    return v


class ConvNd(Function):
    """y = b + W @ cols per group (im2col + GEMM);  dW = g @ colsᵀ,  dx = col2im(Wᵀ @ g),  db = Σ g.

    The arrays are computed by the ``conv`` kernels (``lucid/_kernels/conv``); the backward
    gathers the columns again instead of keeping them from the forward.
    """

    saves = (0, 1)

    @staticmethod
    def forward(ctx, x, w, b, stride, pads, dilation, groups):
        ctx.save_for_backward(x, w)
        ctx.geometry = (stride, pads, dilation, groups)
        return backends.kernels("conv").forward(x, w, b, stride, pads, dilation, groups)

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        need = ctx.needs_input_grad
        dx, dw, db = backends.kernels("conv").backward(g, x, w, *ctx.geometry, need[0], need[1], need[2])
        return dx, dw, db, None, None, None, None


_NP_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


class ModePad(Function):
    """Padding by ``reflect``, ``replicate`` or ``circular``: y = x[map], with ``map`` the source of each padded
    position.

    Backward: dx[i] = Σ over the padded positions p with map[p] = i of g[p] (scatter-add along each axis).
    """

    saves = (0,)

    @staticmethod
    def forward(ctx, x, pads, mode):
        if mode == "circular":
            ctx.saves = ()  # as in PyTorch, whose reflect and replicate padding keep the input
        n = len(pads)
        # the padded axis reads x at these positions: np.pad applied to the positions themselves
        maps = [np.pad(np.arange(L), pad, mode=_NP_MODES[mode]) for L, pad in zip(x.shape[-n:], pads)]
        ctx.maps, ctx.shape = maps, x.shape
        y = x
        for i, m in enumerate(maps):
            y = np.take(y, m, axis=x.ndim - n + i)
        return y

    @staticmethod
    def backward(ctx, g):
        n = len(ctx.maps)
        for i, m in enumerate(ctx.maps):
            axis = g.ndim - n + i
            moved = np.moveaxis(g, axis, 0)
            dx = np.zeros((ctx.shape[axis],) + moved.shape[1:], dtype=g.dtype)
            np.add.at(dx, m, moved)
            g = np.moveaxis(dx, 0, axis)
        return g, None, None


def pad_mode(input, pads, mode):
    """Pad the last ``len(pads)`` axes of ``input`` by ``pads = ((lo, hi), ...)`` with ``mode``
    ('reflect', 'replicate' or 'circular'), as the Conv modules' ``padding_mode`` does."""
    if mode not in _NP_MODES:
        raise ValueError(f"padding mode must be one of {sorted(_NP_MODES)} (got {mode!r})")
    for L, (lo, hi) in zip(input.shape[-len(pads) :], pads):
        if mode == "reflect" and max(lo, hi) >= L:
            raise ValueError(
                f"Argument #4: Padding size should be less than the corresponding input dimension, "
                f"but got: padding ({lo}, {hi}) at dimension of size {L}"
            )
        if mode == "circular" and max(lo, hi) > L:
            raise ValueError(
                f"Padding value causes wrapping around more than once (padding ({lo}, {hi}) at dimension of size {L})"
            )
    return ModePad.apply(input, tuple(pads), mode)


def _padding(padding, n, kernel, stride, dilation):
    """``padding`` (int, tuple, 'valid' or 'same') as ``((lo, hi), ...)`` per spatial dimension."""
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * n
        if padding != "same":
            raise ValueError(f"Invalid padding string {padding!r}, should be one of {{'valid', 'same'}}")
        if any(s != 1 for s in stride):
            raise ValueError("padding='same' is not supported for strided convolutions")
        # total d·(k−1), the odd one out goes to the end, as PyTorch does
        total = [d * (k - 1) for k, d in zip(kernel, dilation)]
        return tuple((t // 2, t - t // 2) for t in total)
    p = _tuple(padding, n, "padding")
    if any(a < 0 for a in p):
        raise ValueError(f"negative padding is not supported (got padding={p})")
    return tuple((a, a) for a in p)


def _conv(n, input, weight, bias, stride, padding, dilation, groups):
    from ..._tensor import Tensor

    name = f"conv{n}d"
    input = input if isinstance(input, Tensor) else Tensor(input)
    if input.ndim not in (n + 1, n + 2):
        raise ValueError(
            f"Expected {n + 1}D (unbatched) or {n + 2}D (batched) input to {name}, "
            f"but got input of size: {list(input.shape)}"
        )
    if weight.ndim != n + 2:
        raise ValueError(
            f"{name}: expected a {n + 2}-dimensional weight (out_channels, in_channels/groups, "
            f"*kernel_size) (got weight of size {list(weight.shape)})"
        )
    groups = int(groups)
    if groups < 1:
        raise ValueError(f"non-positive groups is not supported (got groups={groups})")
    kernel = tuple(weight.shape[2:])
    stride = _tuple(stride, n, "stride")
    dilation = _tuple(dilation, n, "dilation")
    if any(s < 1 for s in stride):
        raise ValueError(f"non-positive stride is not supported (got stride={stride})")
    if any(d < 1 for d in dilation):
        raise ValueError(f"dilation should be greater than zero (got dilation={dilation})")
    pads = _padding(padding, n, kernel, stride, dilation)
    batched = input.ndim == n + 2
    shape = tuple(input.shape) if batched else (1,) + tuple(input.shape)
    F, Cg = weight.shape[:2]
    if F % groups:
        raise ValueError(
            f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, "
            f"but got weight of size {list(weight.shape)} instead"
        )
    if shape[1] != Cg * groups:
        raise ValueError(
            f"Given groups={groups}, weight of size {list(weight.shape)}, expected input"
            f"{list(shape)} to have {Cg * groups} channels, but got {shape[1]} channels instead"
        )
    if bias is not None and tuple(bias.shape) != (F,):
        raise ValueError(
            f"Given weight of size {list(weight.shape)}, expected bias to be 1-dimensional with {F} "
            f"elements, but got bias of size {list(bias.shape)} instead"
        )
    padded = tuple(s + lo + hi for s, (lo, hi) in zip(shape[2:], pads))
    span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    if any(p < s for p, s in zip(padded, span)):
        raise ValueError(
            f"Calculated padded input size per channel: ({' x '.join(map(str, padded))}). "
            f"Kernel size: ({' x '.join(map(str, span))}). "
            "Kernel size can't be greater than actual input size"
        )
    _bias_dtype = (bias.dtype,) if bias is not None else ()
    if len({input.dtype, weight.dtype, *_bias_dtype}) > 1:
        raise TypeError(
            f"{name}: expected input, weight and bias of one dtype "
            f"(got {', '.join(str(t) for t in (input.dtype, weight.dtype) + _bias_dtype)})"
        )
    x = input if batched else input.unsqueeze(0)
    y = ConvNd.apply(x, weight, bias, stride, pads, dilation, groups)
    return y if batched else y.squeeze(0)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution of ``input`` ``(N, C_in, L)`` (or ``(C_in, L)``) with ``weight`` ``(C_out, C_in/groups, k)``."""
    return _conv(1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution of ``input`` ``(N, C_in, H, W)`` (or ``(C_in, H, W)``) with ``weight``
    ``(C_out, C_in/groups, kH, kW)``."""
    return _conv(2, input, weight, bias, stride, padding, dilation, groups)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """3-D convolution of ``input`` ``(N, C_in, D, H, W)`` (or unbatched) with ``weight``
    ``(C_out, C_in/groups, kD, kH, kW)``."""
    return _conv(3, input, weight, bias, stride, padding, dilation, groups)
