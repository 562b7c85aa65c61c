"""``Conv1d``, ``Conv2d``, ``Conv3d``: the layers around ``F.conv1d/2d/3d``."""

import numpy as np

from ... import _dtype
from .. import init
from ..functional.conv import _padding, _tuple, conv1d, conv2d, conv3d, pad_mode
from ..module import Module, Parameter

__all__ = ["Conv1d", "Conv2d", "Conv3d"]

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    """What Conv1d/2d/3d share: arguments, parameters, initialization, repr. Subclasses set ``_n`` and ``_conv``."""

    _n = 0
    _conv = None

    def __init__(
        self,
        in_channels,
        out_channels,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups=1,
        bias=True,
        padding_mode="zeros",
        device=None,
        dtype=None,
    ):
        super().__init__()
        n = self._n
        if not isinstance(groups, int) or groups <= 0:
            raise ValueError(f"groups must be a positive integer (got groups={groups!r})")
        if in_channels % groups != 0:
            raise ValueError(
                f"in_channels must be divisible by groups (got in_channels={in_channels}, groups={groups})"
            )
        if out_channels % groups != 0:
            raise ValueError(
                f"out_channels must be divisible by groups (got out_channels={out_channels}, groups={groups})"
            )
        if padding_mode not in _PADDING_MODES:
            raise ValueError(
                f"padding_mode must be one of {list(_PADDING_MODES)}, but got padding_mode={padding_mode!r}"
            )
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = _tuple(kernel_size, n, "kernel_size")
        self.stride = _tuple(stride, n, "stride")
        self.dilation = _tuple(dilation, n, "dilation")
        self.padding = padding if isinstance(padding, str) else _tuple(padding, n, "padding")
        # checks 'same'/'valid' and strides now, and gives the ((lo, hi), ...) a non-zeros padding_mode pads by
        self._pads = _padding(padding, n, self.kernel_size, self.stride, self.dilation)
        self.groups, self.padding_mode = groups, padding_mode
        self.output_padding = (0,) * n
        self.transposed = False
        dtype = _dtype.as_dtype(dtype) or _dtype.float32
        self.weight = Parameter(np.empty((out_channels, in_channels // groups) + self.kernel_size, dtype=dtype))
        if bias:
            self.bias = Parameter(np.empty((out_channels,), dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        """PyTorch's default: kaiming-uniform with a=√5, i.e. W ~ U(±1/√fan_in), and b ~ U(±1/√fan_in)."""
        init._default_layer_init_(self.weight, self.bias)

    def forward(self, input):
        conv = type(self)._conv
        if self.padding_mode != "zeros":
            return conv(
                pad_mode(input, self._pads, self.padding_mode),
                self.weight,
                self.bias,
                self.stride,
                0,
                self.dilation,
                self.groups,
            )
        return conv(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)

    def extra_repr(self):
        n = self._n
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * n:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * n:
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class Conv1d(_ConvNd):
    """``Conv1d(in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
    padding_mode='zeros')``: input ``(N, C_in, L)``, weight ``(C_out, C_in/groups, k)``."""

    _n = 1
    _conv = staticmethod(conv1d)


class Conv2d(_ConvNd):
    """``Conv2d(in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
    padding_mode='zeros')``: input ``(N, C_in, H, W)``, weight ``(C_out, C_in/groups, kH, kW)``.

    ``padding`` is an int, a pair, ``'valid'`` (none) or ``'same'`` (output as large as the input;
    stride 1 only). ``padding_mode`` pads with zeros or by ``'reflect'``, ``'replicate'``, ``'circular'``.
    """

    _n = 2
    _conv = staticmethod(conv2d)


class Conv3d(_ConvNd):
    """``Conv3d(...)``: as Conv2d, on input ``(N, C_in, D, H, W)``, weight ``(C_out, C_in/groups, kD, kH, kW)``."""

    _n = 3
    _conv = staticmethod(conv3d)
