"""``interpolate`` (nearest, linear, bilinear): resizing one spatial axis after another.

Each output position reads one input position (nearest) or mixes two neighbours (linear),
so resizing an axis of length L to length M is a fixed (M, L) matrix A, and a resize of
several axes applies one matrix per axis: y = A_h · x · A_wᵀ, and dx = A_hᵀ · g · A_w.
The source coordinate of output i, PyTorch's rules (scale = L/M, or 1/scale_factor):

    nearest:                     ⌊i·scale⌋, at most L − 1
    linear, align_corners=False: max((i + ½)·scale − ½, 0)
    linear, align_corners=True:  i·(L − 1)/(M − 1)
    linear, M = L:               i (the axis is copied, whatever the scale factor)

and a fractional coordinate s mixes x[⌊s⌋] and x[⌊s⌋ + 1] with weights 1 − (s − ⌊s⌋) and s − ⌊s⌋.
"""

import math
from collections.abc import Sequence

import numpy as np

from ..._tensor import Tensor
from ...autograd.function import Function

__all__ = ["interpolate", "upsample"]

_LINEAR = {"linear": 3, "bilinear": 4}


def _taps(L, M, mode, align_corners, scale, dtype):
    """``(lo, hi, w, A)``: output i = (1 − wᵢ)·x[loᵢ] + wᵢ·x[hiᵢ]; A is that map as an (M, L) matrix."""
    A = np.zeros((M, L), dtype=dtype)
    i = np.arange(M)
    if mode == "nearest":
        s = 1.0 / scale if scale is not None else L / M
        src = np.minimum(np.floor(i * np.float32(s)).astype(np.int64), L - 1)
        A[i, src] = 1.0
        return src, src, None, A
    if M == L:  # an axis that keeps its length is copied, whatever the scale factor (as PyTorch)
        src = i.astype(np.float64)
    elif align_corners:
        src = i * ((L - 1) / (M - 1)) if M > 1 else np.zeros(M)
    else:
        s = 1.0 / scale if scale is not None else L / M
        src = np.maximum((i + 0.5) * s - 0.5, 0.0)
    lo = np.minimum(np.floor(src).astype(np.int64), L - 1)
    hi = np.minimum(lo + 1, L - 1)
    w = (src - lo).astype(dtype)
    np.add.at(A, (i, lo), 1.0 - w)
    np.add.at(A, (i, hi), w)
    return lo, hi, w, A


class Resize(Function):
    """y = x with each of its last axes resized (each output reads its one or two taps, so a NaN spreads only
    where it is read);  dx = g with each axis multiplied by Aᵀ."""

    saves = ()

    @staticmethod
    def forward(ctx, x, taps):
        ctx.mats = [A for *_, A in taps]
        y = x
        for k, (lo, hi, w, _) in enumerate(taps):
            axis = x.ndim - len(taps) + k
            if w is None:
                y = np.take(y, lo, axis=axis)
            else:
                shape = (-1,) + (1,) * (x.ndim - 1 - axis)
                y = np.take(y, lo, axis=axis) * (1 - w).reshape(shape) + np.take(y, hi, axis=axis) * w.reshape(shape)
        return np.ascontiguousarray(y)

    @staticmethod
    def backward(ctx, g):
        dx = g
        for k, A in enumerate(ctx.mats):
            axis = g.ndim - len(ctx.mats) + k
            dx = np.moveaxis(np.tensordot(A.T, dx, axes=([1], [axis])), 0, axis)
        return np.ascontiguousarray(dx), None


def interpolate(
    input: Tensor,
    size: int | Sequence[int] | None = None,
    scale_factor: float | Sequence[float] | None = None,
    mode: str = "nearest",
    align_corners: bool | None = None,
    recompute_scale_factor: bool | None = None,
    antialias: bool = False,
) -> Tensor:
    """Resize the spatial axes of ``input`` (N, C, *spatial) to ``size`` or by ``scale_factor``.

    ``mode``: "nearest" (any 1 to 3 spatial axes), "linear" (3-D input) or "bilinear" (4-D input).
    """
    input = input if isinstance(input, Tensor) else Tensor(input)
    if mode not in ("nearest", "linear", "bilinear"):
        raise NotImplementedError(f"interpolate: mode {mode!r} is not supported (nearest, linear, bilinear are)")
    if mode == "nearest":
        if align_corners is not None:
            raise ValueError(
                "align_corners option can only be set with the interpolating modes: "
                "linear | bilinear | bicubic | trilinear"
            )
    elif input.ndim != _LINEAR[mode]:
        raise NotImplementedError(f"Got {input.ndim}D input, but {mode} mode needs {_LINEAR[mode]}D input")
    if antialias:
        raise NotImplementedError("Anti-alias option is not supported by lucid's interpolate")
    n = input.ndim - 2
    if n < 1 or n > 3:
        raise ValueError(
            f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {input.ndim}D) for the "
            f"modes: nearest | linear | bilinear | bicubic | trilinear | area | nearest-exact "
            f"(got {mode})"
        )
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    spatial = input.shape[2:]
    scales = None
    if size is not None:
        out = tuple(size) if isinstance(size, (list, tuple)) else (size,) * n
        if len(out) != n:
            raise ValueError(
                f"Input and output must have the same number of spatial dimensions, but got input with "
                f"spatial dimensions of {list(spatial)} and output size of {list(out)}. Please "
                "provide input tensor in (N, C, d1, d2, ...,dK) format and output size in (o1, o2, "
                "...,oK) format."
            )
        out = tuple(int(o) for o in out)
    elif scale_factor is not None:
        sf = tuple(scale_factor) if isinstance(scale_factor, (list, tuple)) else (scale_factor,) * n
        if len(sf) != n:
            raise ValueError(
                f"Input and scale_factor must have the same number of spatial dimensions, but got "
                f"input with spatial dimensions of {list(spatial)} and scale_factor of shape "
                f"{list(sf)}. Please provide input tensor in (N, C, d1, d2, ...,dK) format and "
                "scale_factor in (s1, s2, ...,sK) format."
            )
        out = tuple(math.floor(L * float(s)) for L, s in zip(spatial, sf))
        scales = None if recompute_scale_factor else tuple(float(s) for s in sf)
    else:
        raise ValueError("either size or scale_factor should be defined")
    if any(o <= 0 for o in out) or any(L <= 0 for L in spatial):
        raise ValueError(
            f"interpolate: input and output sizes should be greater than 0, but got input "
            f"{list(spatial)} and output {list(out)}"
        )
    dtype = input.dtype if input.dtype.kind == "f" else np.float64
    taps = tuple(
        _taps(L, M, mode, bool(align_corners), None if scales is None else scales[k], dtype)
        for k, (L, M) in enumerate(zip(spatial, out))
    )
    return Resize.apply(input, taps)


def upsample(
    input: Tensor,
    size: int | Sequence[int] | None = None,
    scale_factor: float | Sequence[float] | None = None,
    mode: str = "nearest",
    align_corners: bool | None = None,
) -> Tensor:
    """``interpolate`` under its older name."""
    return interpolate(input, size, scale_factor, mode, align_corners)
