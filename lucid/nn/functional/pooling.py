"""Pooling: max_pool1d/2d/3d, avg_pool1d/2d/3d, adaptive_avg_pool1d/2d.

Max and average pooling read the same windows as a convolution (see conv.py):
output ``o`` looks at the taps ``j`` of ``x[..., o·stride + j·dilation − padding]``.
Max pooling sends each output's gradient to the one input it took (the first
largest, as PyTorch); average pooling spreads it evenly over its window. The loops
are the ``pooling`` kernels (``lucid/_kernels/pooling``), on planes ``(N·C, *spatial)``.
"""

import math

import numpy as np

from ... import backends
from ...autograd.function import Function
from .conv import _tuple

__all__ = [
    "max_pool1d",
    "max_pool2d",
    "max_pool3d",
    "avg_pool1d",
    "avg_pool2d",
    "avg_pool3d",
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
]


def _out_size(L, k, s, p, d, ceil_mode):
    """PyTorch's pooling output length (with ``ceil_mode`` the last window may hang over the end)."""
    span = d * (k - 1) + 1
    num = L + 2 * p - span
    out = (-(-num // s) if ceil_mode else num // s) + 1
    if ceil_mode and (out - 1) * s >= L + p:  # a window must start inside the input or its left padding
        out -= 1
    return out


def _to_planes(x, n):
    """``(N, C, *spatial)`` (or ``(C, *spatial)``) -> ``(1, *spatial, N·C)``, the layout the window helpers use."""
    planes = x.reshape((-1,) + x.shape[-n:])
    return np.moveaxis(planes, 0, -1)[None]


def _from_planes(y, lead):
    """The inverse of ``_to_planes``: ``(1, *spatial, N·C)`` -> ``lead + spatial``."""
    return np.ascontiguousarray(np.moveaxis(y[0], -1, 0)).reshape(lead + y.shape[1:-1])


def _pool():
    return backends.kernels("pooling")


class MaxPoolNd(Function):
    """y[o] = max_j x[o·s + j·d − p];  dx gets g[o] at the position of that max (the first one on ties)."""

    saves = (0,)

    @staticmethod
    def forward(ctx, x, n, kernel, stride, pads, dilation, return_indices):
        lead, spatial = x.shape[:-n], x.shape[-n:]
        y, idx = _pool().max_pool_forward(x.reshape((-1,) + spatial), kernel, stride, pads, dilation)
        out = y.shape[1:]
        ctx.geometry = (lead, spatial)
        ctx.save_for_backward(idx)
        y = y.reshape(lead + out)
        return (y, idx.reshape(lead + out)) if return_indices else y

    @staticmethod
    def backward(ctx, g, *_):
        (idx,) = ctx.saved_tensors
        lead, spatial = ctx.geometry
        dx = _pool().max_pool_backward(g.reshape((-1,) + idx.shape[1:]), idx, spatial)
        return dx.reshape(lead + spatial), None, None, None, None, None, None


def _avg_divisor(L, k, s, p, out, count_include_pad):
    """How many elements each output along one axis is divided by (PyTorch's rule)."""
    start = np.arange(out) * s - p
    end = np.minimum(start + k, L + p)  # a window may cover padding, never more
    if count_include_pad:
        return end - start
    return np.minimum(end, L) - np.maximum(start, 0)


class AvgPoolNd(Function):
    """y[o] = Σ_j x[o·s + j − p] / divisor[o];  dx[i] = Σ over the windows holding i of g[o] / divisor[o]."""

    saves = (0,)

    @staticmethod
    def forward(ctx, x, n, kernel, stride, pads, divisor):
        lead, spatial = x.shape[:-n], x.shape[-n:]
        y = _pool().avg_pool_forward(x.reshape((-1,) + spatial), kernel, stride, pads, divisor)
        ctx.geometry = (lead, spatial, kernel, stride, pads)
        ctx.divisor = divisor
        return y.reshape(lead + divisor.shape)

    @staticmethod
    def backward(ctx, g):
        lead, spatial, kernel, stride, pads = ctx.geometry
        dx = _pool().avg_pool_backward(g.reshape((-1,) + ctx.divisor.shape), spatial, kernel, stride, pads, ctx.divisor)
        return dx.reshape(lead + spatial), None, None, None, None, None


def _pool_args(name, n, input, kernel_size, stride, padding, dilation, ceil_mode):
    """Check a pooling call and return its geometry: kernel, stride, pads ((lo, hi), ...), dilation, out."""
    from ..._tensor import Tensor

    input = input if isinstance(input, Tensor) else Tensor(input)
    if input.ndim not in (n + 1, n + 2):
        raise ValueError(
            f"{name}: expected {n + 1}D (unbatched) or {n + 2}D (batched) input, "
            f"but got input of size: {list(input.shape)}"
        )
    kernel = _tuple(kernel_size, n, "kernel_size")
    stride = (
        kernel if stride is None or (not isinstance(stride, int) and len(stride) == 0) else _tuple(stride, n, "stride")
    )
    padding = _tuple(padding, n, "padding")
    dilation = _tuple(dilation, n, "dilation")
    if any(k < 1 for k in kernel):
        raise ValueError(f"{name}: kernel_size must be greater than zero (got {kernel})")
    if any(s < 1 for s in stride):
        raise ValueError(f"{name}: stride must be greater than zero (got {stride})")
    if any(d < 1 for d in dilation):
        raise ValueError(f"{name}: dilation must be greater than zero (got {dilation})")
    if any(p < 0 or p > k // 2 for p, k in zip(padding, kernel)):
        raise ValueError(
            f"{name}: pad should be at most half of effective kernel size, "
            f"but got pad={padding} and kernel_size={kernel}"
        )
    spatial = input.shape[-n:]
    out = tuple(
        _out_size(L, k, s, p, d, ceil_mode) for L, k, s, p, d in zip(spatial, kernel, stride, padding, dilation)
    )
    if any(o < 1 for o in out):
        raise ValueError(f"{name}: given input size {tuple(spatial)}, the calculated output size {out} is too small")
    # with ceil_mode the last window may run past the right padding: pad a little more on the right
    pads = tuple(
        (p, max(p, (o - 1) * s + d * (k - 1) + 1 - L - p))
        for L, k, s, p, d, o in zip(spatial, kernel, stride, padding, dilation, out)
    )
    return input, kernel, stride, padding, pads, dilation, out


def _max_pool(n, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    input, kernel, stride, _, pads, dilation, _ = _pool_args(
        f"max_pool{n}d", n, input, kernel_size, stride, padding, dilation, ceil_mode
    )
    return MaxPoolNd.apply(input, n, kernel, stride, pads, dilation, bool(return_indices))


def _avg_pool(n, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
    input, kernel, stride, padding, pads, _, out = _pool_args(
        f"avg_pool{n}d", n, input, kernel_size, stride, padding, 1, ceil_mode
    )
    if divisor_override is not None:
        if divisor_override == 0:
            raise ValueError(f"avg_pool{n}d: divisor_override must not be zero")
        divisor = np.full(out, float(divisor_override))
    else:
        per_axis = [
            _avg_divisor(L, k, s, p, o, count_include_pad)
            for L, k, s, p, o in zip(input.shape[-n:], kernel, stride, padding, out)
        ]
        divisor = np.ones(out)
        for i, d in enumerate(per_axis):  # the window's size is the product of its sizes along each axis
            divisor = divisor * d.reshape((-1,) + (1,) * (n - 1 - i)).astype(float)
    return AvgPoolNd.apply(input, n, kernel, stride, pads, divisor)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max over windows of ``input`` ``(N, C, L)``; with ``return_indices`` also where each max was."""
    return _max_pool(1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max over windows of ``input`` ``(N, C, H, W)``; with ``return_indices`` also where each max was."""
    return _max_pool(2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max over windows of ``input`` ``(N, C, D, H, W)``; with ``return_indices`` also where each max was."""
    return _max_pool(3, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """Mean over windows of ``input`` ``(N, C, L)``; zero padding counts in the mean if ``count_include_pad``."""
    return _avg_pool(1, input, kernel_size, stride, padding, ceil_mode, count_include_pad, None)


def avg_pool2d(
    input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True, divisor_override=None
):
    """Mean over windows of ``input`` ``(N, C, H, W)``; zero padding counts in the mean if ``count_include_pad``."""
    return _avg_pool(2, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)


def avg_pool3d(
    input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True, divisor_override=None
):
    """Mean over windows of ``input`` ``(N, C, D, H, W)``."""
    return _avg_pool(3, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)


def _adaptive_matrix(L, out, dtype):
    """A ``(out, L)`` matrix whose row i averages x[⌊iL/out⌋ : ⌈(i+1)L/out⌉]."""
    A = np.zeros((out, L), dtype=dtype)
    for i in range(out):
        lo, hi = (i * L) // out, -(-((i + 1) * L) // out)
        A[i, lo:hi] = 1.0 / (hi - lo)
    return A


class AdaptiveAvgPoolNd(Function):
    """y = x averaged over PyTorch's adaptive windows, one matrix per axis: y = A·x (·Bᵀ);  dx = Aᵀ·g (·B)."""

    saves = (0,)

    @staticmethod
    def forward(ctx, x, mats):
        ctx.mats = mats
        y = x
        for i, A in enumerate(mats):  # contract the i-th spatial axis with A
            axis = x.ndim - len(mats) + i
            y = np.moveaxis(np.tensordot(A, y, axes=([1], [axis])), 0, axis)
        return np.ascontiguousarray(y)

    @staticmethod
    def backward(ctx, g):
        dx = g
        for i, A in enumerate(ctx.mats):
            axis = g.ndim - len(ctx.mats) + i
            dx = np.moveaxis(np.tensordot(A.T, dx, axes=([1], [axis])), 0, axis)
        return np.ascontiguousarray(dx), None


def _adaptive_avg_pool(n, input, output_size):
    from ..._tensor import Tensor

    input = input if isinstance(input, Tensor) else Tensor(input)
    name = f"adaptive_avg_pool{n}d"
    if input.ndim not in (n + 1, n + 2):
        raise ValueError(
            f"{name}: expected {n + 1}D (unbatched) or {n + 2}D (batched) input, "
            f"but got input of size: {list(input.shape)}"
        )
    spatial = input.shape[-n:]
    if isinstance(output_size, (int, np.integer)) or output_size is None:
        output_size = (output_size,) * n
    output_size = tuple(L if o is None else int(o) for o, L in zip(output_size, spatial))
    if len(output_size) != n or any(o < 1 for o in output_size):
        raise ValueError(f"{name}: expected output_size of {n} positive ints (got {output_size})")
    if any(L < 1 for L in spatial):
        raise ValueError(f"{name}: expected input with non-zero spatial size (got {list(input.shape)})")
    dtype = input.dtype if input.dtype.kind == "f" else np.float64
    mats = tuple(_adaptive_matrix(L, o, dtype) for L, o in zip(spatial, output_size))
    return AdaptiveAvgPoolNd.apply(input, mats)


def adaptive_avg_pool1d(input, output_size):
    """Average ``input`` ``(N, C, L)`` down to ``output_size`` with PyTorch's adaptive windows."""
    return _adaptive_avg_pool(1, input, output_size)


def adaptive_avg_pool2d(input, output_size):
    """Average ``input`` ``(N, C, H, W)`` down to ``output_size`` (an int, or a pair with None to keep a size)."""
    return _adaptive_avg_pool(2, input, output_size)


# ---- adaptive max pooling ------------------------------------------------------------------------
__all__ += ["adaptive_max_pool2d"]


def _adaptive_bounds(L, out):
    """PyTorch's adaptive windows: window i covers [⌊iL/out⌋, ⌈(i+1)L/out⌉)."""
    return [((i * L) // out, -(-((i + 1) * L) // out)) for i in range(out)]


class AdaptiveMaxPool2d(Function):
    """y[i, j] = max of x over window (i, j) (NaN if the window has one);  dx gets g at the element taken
    (the first largest, as PyTorch), summed where windows overlap.

    Backward reads only the indices, and a copy of them: the indices are also an output, which may be changed
    in place (PyTorch keeps x and that output and raises; lucid's gradient stays right)."""

    saves = ()

    @staticmethod
    def forward(ctx, x, output_size):
        H, W = x.shape[-2:]
        rows, cols = _adaptive_bounds(H, output_size[0]), _adaptive_bounds(W, output_size[1])
        y = np.empty(x.shape[:-2] + tuple(output_size), dtype=x.dtype)
        idx = np.empty(y.shape, dtype=np.int64)
        for i, (r0, r1) in enumerate(rows):
            for j, (c0, c1) in enumerate(cols):
                win = x[..., r0:r1, c0:c1].reshape(x.shape[:-2] + ((r1 - r0) * (c1 - c0),))
                nan = np.isnan(win)
                k = np.where(nan.any(-1), nan.argmax(-1), win.argmax(-1))  # a NaN wins, as in PyTorch
                idx[..., i, j] = (r0 + k // (c1 - c0)) * W + c0 + k % (c1 - c0)
                y[..., i, j] = np.take_along_axis(win, k[..., None], -1)[..., 0]
        ctx.save_for_backward(idx.copy() if ctx.needs_input_grad[0] else idx)
        ctx.in_shape = x.shape
        return y, idx

    @staticmethod
    def backward(ctx, g, _):
        (idx,) = ctx.saved_tensors
        planes = (math.prod(ctx.in_shape[:-2]),)  # the scatter of max pooling's backward, per plane
        dx = _pool().max_pool_backward(
            g.reshape(planes + g.shape[-2:]), idx.reshape(planes + idx.shape[-2:]), ctx.in_shape[-2:]
        )
        return dx.reshape(ctx.in_shape), None


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """The maximum of ``input`` ``(N, C, H, W)`` or ``(C, H, W)`` over PyTorch's adaptive windows; with
    ``return_indices`` also where each came from (h·W + w in its plane)."""
    from ..._tensor import Tensor

    input = input if isinstance(input, Tensor) else Tensor(input)
    if input.ndim not in (3, 4):
        raise RuntimeError(f"adaptive_max_pool2d(): Expected 3D or 4D tensor, but got: {list(input.shape)}")
    spatial = input.shape[-2:]
    if isinstance(output_size, (int, np.integer)) or output_size is None:
        output_size = (output_size,) * 2
    output_size = tuple(L if o is None else int(o) for o, L in zip(output_size, spatial))
    if len(output_size) != 2 or any(o < 1 for o in output_size):
        raise RuntimeError(f"adaptive_max_pool2d: expected output_size of 2 positive ints (got {output_size})")
    if any(n == 0 for n in input.shape[-3:]):
        raise RuntimeError(
            f"adaptive_max_pool2d(): Expected input to have non-zero size for non-batch "
            f"dimensions, but input has sizes {list(input.shape)} with dimension "
            f"{input.ndim - 3 + [n == 0 for n in input.shape[-3:]].index(True)} being empty"
        )
    y, idx = AdaptiveMaxPool2d.apply(input, output_size)
    return (y, idx) if return_indices else y
