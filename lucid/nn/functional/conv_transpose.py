"""``conv_transpose2d``: the adjoint of conv2d, as one matrix product and a scatter.

A transposed convolution sends each input pixel through the kernel to a window of
the output: input (i, j) lands, through tap (a, b), on output (i·s + a·d, j·s + b·d),
before ``padding`` is cropped from each side. Per group, with x as (C_in/G, H·W)::

    cols = Wᵀ @ x                     cols[(c_out, a, b), (i, j)] = Σ_c W[c, c_out, a, b] · x[c, i, j]
    y_full[c_out, i·s + a·d, j·s + b·d] += cols[(c_out, a, b), (i, j)]      (col2im)
    y = y_full[p : p + H_out, p : p + W_out] + bias

H_out = (H − 1)·s − 2p + d·(k − 1) + output_padding + 1. The backward reads the same windows::

    dcols[(c_out, a, b), (i, j)] = g_full[c_out, i·s + a·d, j·s + b·d]      (g zero-padded by p: im2col)
    dx = W @ dcols        dW = Σ_n x @ dcolsᵀ        db = Σ g
"""

import numpy as np

from ..._tensor import Tensor
from ...autograd.function import Function

__all__ = ["conv_transpose2d"]

_Pair = int | tuple[int, int]


def _pair(v, name) -> tuple[int, int]:
    if isinstance(v, (int, np.integer)):
        return (int(v), int(v))
    v = tuple(int(a) for a in v)
    if len(v) != 2:
        raise ValueError(f"expected {name} to be a single int or a tuple of 2 ints (got {v})")
    return v


def _tap(a, b, stride, dilation, in_hw):
    """The slices of the uncropped output that tap (a, b) touches, one per input pixel."""
    (s0, s1), (d0, d1), (H, W) = stride, dilation, in_hw
    return (
        slice(None),
        slice(None),
        slice(a * d0, a * d0 + s0 * (H - 1) + 1, s0),
        slice(b * d1, b * d1 + s1 * (W - 1) + 1, s1),
    )


class ConvTranspose2d(Function):
    """cols = Wᵀ @ x, y = crop(col2im(cols)) + b;  dx = W @ im2col(pad(g)),  dW = Σₙ x @ im2col(pad(g))ᵀ."""

    saves = (0, 1)

    @staticmethod
    def forward(ctx, x, w, b, stride, padding, output_padding, groups, dilation):
        needs = ctx.needs_input_grad
        ctx.saves = tuple(i for i, read in ((0, needs[1]), (1, needs[0])) if read)  # x is read for dW, W for dx
        N, C, H, W = x.shape
        G = groups
        Co_g, kh, kw = w.shape[1:]
        full = tuple(
            (L - 1) * s + d * (k - 1) + 1 + op
            for L, s, d, k, op in zip((H, W), stride, dilation, (kh, kw), output_padding)
        )
        wg = w.reshape(G, C // G, Co_g * kh * kw)
        xg = x.reshape(N, G, C // G, H * W)
        cols = np.matmul(wg.transpose(0, 2, 1), xg)  # (N, G, Co_g·kh·kw, H·W)
        cols = cols.reshape(N, G * Co_g, kh, kw, H, W)
        y = np.zeros((N, G * Co_g) + full, dtype=x.dtype)
        for a in range(kh):
            for c in range(kw):
                y[_tap(a, c, stride, dilation, (H, W))] += cols[:, :, a, c]
        (p0, p1) = padding
        y = y[:, :, p0 : full[0] - p0, p1 : full[1] - p1]
        if b is not None:
            y = y + b.reshape(1, -1, 1, 1)
        ctx.save_for_backward(x, w)
        ctx.args = (stride, padding, groups, dilation, full)
        return np.ascontiguousarray(y)

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        stride, (p0, p1), G, dilation, full = ctx.args
        N, C, H, W = x.shape
        Co_g, kh, kw = w.shape[1:]
        gf = np.zeros((N, g.shape[1]) + full, dtype=g.dtype)
        gf[:, :, p0 : full[0] - p0, p1 : full[1] - p1] = g
        dcols = np.empty((N, G * Co_g, kh, kw, H, W), dtype=g.dtype)
        for a in range(kh):
            for c in range(kw):
                dcols[:, :, a, c] = gf[_tap(a, c, stride, dilation, (H, W))]
        dcols = dcols.reshape(N, G, Co_g * kh * kw, H * W)
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        dx = dw = db = None
        if need_x:
            dx = np.matmul(w.reshape(G, C // G, -1), dcols).reshape(x.shape)
        if need_w:
            xg = x.reshape(N, G, C // G, H * W).transpose(1, 2, 0, 3).reshape(G, C // G, N * H * W)
            dg = dcols.transpose(1, 0, 3, 2).reshape(G, N * H * W, Co_g * kh * kw)
            dw = np.matmul(xg, dg).reshape(w.shape)
        if need_b:
            db = g.sum(axis=(0, 2, 3))
        return dx, dw, db, None, None, None, None, None


def conv_transpose2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: _Pair = 1,
    padding: _Pair = 0,
    output_padding: _Pair = 0,
    groups: int = 1,
    dilation: _Pair = 1,
) -> Tensor:
    """The transposed 2-D convolution (the gradient of conv2d with respect to its input), with a bias.

    input (N, C_in, H, W) or (C_in, H, W); weight (C_in, C_out/groups, kH, kW);
    H_out = (H − 1)·stride − 2·padding + dilation·(kH − 1) + output_padding + 1.
    """
    input = input if isinstance(input, Tensor) else Tensor(input)
    if input.ndim not in (3, 4):
        raise RuntimeError(
            f"Expected 3D (unbatched) or 4D (batched) input to conv_transpose2d, but got input of "
            f"size: {list(input.shape)}"
        )
    if weight.ndim != 4:
        raise RuntimeError(
            f"conv_transpose2d: expected a 4-dimensional weight (in_channels, out_channels/groups, "
            f"kH, kW) (got weight of size {list(weight.shape)})"
        )
    stride, padding = _pair(stride, "stride"), _pair(padding, "padding")
    output_padding, dilation = _pair(output_padding, "output_padding"), _pair(dilation, "dilation")
    groups = int(groups)
    if groups < 1:
        raise RuntimeError(f"non-positive groups is not supported (got groups={groups})")
    if any(s < 1 for s in stride):
        raise RuntimeError(f"non-positive stride is not supported (got stride={stride})")
    if any(d < 1 for d in dilation):
        raise RuntimeError(f"dilation should be greater than zero (got dilation={dilation})")
    if any(p < 0 for p in padding) or any(p < 0 for p in output_padding):
        raise RuntimeError(
            f"negative padding is not supported (got padding={padding}, output_padding={output_padding})"
        )
    if any(op >= s and op >= d for op, s, d in zip(output_padding, stride, dilation)):
        raise RuntimeError(
            "output padding must be smaller than either stride or dilation, but got "
            f"output_padding_height: {output_padding[0]} output_padding_width: {output_padding[1]} "
            f"stride_height: {stride[0]} stride_width: {stride[1]} dilation_height: {dilation[0]} "
            f"dilation_width: {dilation[1]}"
        )
    batched = input.ndim == 4
    C = input.shape[1] if batched else input.shape[0]
    if weight.shape[0] != C or C % groups:
        raise RuntimeError(
            f"Given transposed=1, weight of size {list(weight.shape)}, expected input "
            f"{list(input.shape)} to have {weight.shape[0]} channels, but got {C} channels instead"
            if weight.shape[0] != C
            else f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, "
            f"but got weight of size {list(weight.shape)} instead"
        )
    out_channels = weight.shape[1] * groups
    if bias is not None and tuple(bias.shape) != (out_channels,):
        raise RuntimeError(
            f"Given transposed=1, weight of size {list(weight.shape)}, expected bias to be "
            f"1-dimensional with {out_channels} elements, but got bias of size {list(bias.shape)} "
            "instead"
        )
    hw = input.shape[-2:]
    out = tuple(
        (L - 1) * s - 2 * p + d * (k - 1) + op + 1
        for L, s, p, d, k, op in zip(hw, stride, padding, dilation, weight.shape[2:], output_padding)
    )
    if any(o <= 0 for o in out):
        raise RuntimeError(
            f"Given input size per channel: ({hw[0]} x {hw[1]}). Calculated output size per "
            f"channel: ({out[0]} x {out[1]}). Output size is too small"
        )
    dtypes = {input.dtype, weight.dtype} | ({bias.dtype} if bias is not None else set())
    if len(dtypes) > 1:
        raise TypeError(
            f"conv_transpose2d: expected input, weight and bias of one dtype (got {sorted(map(str, dtypes))})"
        )
    x = input if batched else input.unsqueeze(0)
    y = ConvTranspose2d.apply(x, weight, bias, stride, padding, output_padding, groups, dilation)
    return y if batched else y.squeeze(0)
