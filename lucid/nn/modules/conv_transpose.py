"""``ConvTranspose2d``: the layer around ``F.conv_transpose2d``."""

from collections.abc import Sequence

import numpy as np
from numpy.typing import DTypeLike

from ... import _dtype
from ..._tensor import Tensor
from .. import init
from ..functional.conv_transpose import _pair, conv_transpose2d
from ..module import Module, Parameter

__all__ = ["ConvTranspose2d"]


class ConvTranspose2d(Module):
    """``ConvTranspose2d(in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
    bias=True, dilation=1, padding_mode="zeros", device=None, dtype=None)``.

    weight: (in_channels, out_channels/groups, kH, kW); H_out = (H − 1)·stride − 2·padding +
    dilation·(kH − 1) + output_padding + 1. ``forward(input, output_size)`` picks the output_padding
    that gives ``output_size`` (a stride > 1 leaves several sizes possible).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        output_padding: int | tuple[int, int] = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: int | tuple[int, int] = 1,
        padding_mode: str = "zeros",
        device: str | None = None,
        dtype: DTypeLike | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(groups, int) or groups <= 0:
            raise ValueError(f"groups must be a positive integer (got groups={groups!r})")
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for ConvTranspose2d (got {padding_mode!r})')
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.stride, self.padding = _pair(stride, "stride"), _pair(padding, "padding")
        self.output_padding, self.dilation = _pair(output_padding, "output_padding"), _pair(dilation, "dilation")
        self.groups, self.padding_mode, self.transposed = groups, padding_mode, True
        dtype = _dtype.as_dtype(dtype) or _dtype.float32
        self.weight = Parameter(np.empty((in_channels, out_channels // groups) + self.kernel_size, dtype=dtype))
        if bias:
            self.bias = Parameter(np.empty((out_channels,), dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default: W, b ~ U(±1/√fan_in), fan_in = weight.size(1)·kH·kW."""
        init._default_layer_init_(self.weight, self.bias)

    def _output_padding(self, input, output_size: Sequence[int] | None):
        if output_size is None:
            return self.output_padding
        output_size = [int(s) for s in output_size]
        if len(output_size) == input.ndim:
            output_size = output_size[-2:]
        if len(output_size) != 2:
            raise ValueError(
                f"ConvTranspose2D: for {input.ndim}D input, output_size must have 2 or {input.ndim} "
                f"elements (got {len(output_size)})"
            )
        hw = input.shape[-2:]
        lo = [
            (L - 1) * s - 2 * p + d * (k - 1) + 1
            for L, s, p, d, k in zip(hw, self.stride, self.padding, self.dilation, self.kernel_size)
        ]
        hi = [m + s - 1 for m, s in zip(lo, self.stride)]
        for size, a, b in zip(output_size, lo, hi):
            if not a <= size <= b:
                raise ValueError(
                    f"requested an output size of {output_size}, but valid sizes range from {lo} to "
                    f"{hi} (for an input of {list(hw)})"
                )
        return tuple(size - a for size, a in zip(output_size, lo))

    def forward(self, input: Tensor, output_size: Sequence[int] | None = None) -> Tensor:
        if input.ndim not in (3, 4):
            raise ValueError(f"expected 3D or 4D input (got {input.ndim}D input)")
        op = self._output_padding(input, output_size)
        return conv_transpose2d(
            input, self.weight, self.bias, self.stride, self.padding, op, self.groups, self.dilation
        )

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.output_padding != (0, 0):
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s
