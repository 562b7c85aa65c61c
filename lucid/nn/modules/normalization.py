"""The normalization layers: BatchNorm1d/2d/3d, InstanceNorm1d/2d/3d, LayerNorm, GroupNorm, RMSNorm.

A layer holds state (γ, β, the running statistics), checks its input and calls
the functional form in ``lucid.nn.functional.normalization``, where the forward
and the exact backward are written side by side. No math happens here.

Running statistics (BatchNorm, and InstanceNorm with ``track_running_stats``):
each training call folds the batch into them,

    running ← (1 − m)·running + m·batch,   m = momentum,  or 1/num_batches_tracked when momentum=None

(``running_var`` from the unbiased batch variance), and counts the call in
``num_batches_tracked``. In eval mode they replace the batch statistics. A call
that raises changes none of them.
"""

import numbers
from collections.abc import Sequence

import numpy as np

from ... import _dtype
from ..._tensor import Tensor
from ...ops import reshape
from .. import functional as F
from .. import init
from ..module import Module, Parameter

__all__ = [
    "BatchNorm1d",
    "BatchNorm2d",
    "BatchNorm3d",
    "InstanceNorm1d",
    "InstanceNorm2d",
    "InstanceNorm3d",
    "LayerNorm",
    "GroupNorm",
    "RMSNorm",
]


def _positive_int(cls, name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{cls}: {name} must be a positive integer, got {value!r}")
    return int(value)


def _shape_tuple(cls, normalized_shape):
    shape = (normalized_shape,) if isinstance(normalized_shape, numbers.Integral) else tuple(normalized_shape)
    for s in shape:
        _positive_int(cls, "every entry of normalized_shape", s)
    return shape


def _affine_parameters(module, shape, dtype, weight, bias):
    """Register ``weight`` (ones) and ``bias`` (zeros) of ``shape``, or None for each one not wanted."""
    module.register_parameter("weight", Parameter(np.ones(shape, dtype)) if weight else None)
    module.register_parameter("bias", Parameter(np.zeros(shape, dtype)) if weight and bias else None)


def _reset_affine(module):
    """γ ← 1, β ← 0, in place."""
    if module.weight is not None:
        init.ones_(module.weight)
    if getattr(module, "bias", None) is not None:
        init.zeros_(module.bias)


class _NormBase(Module):
    """What BatchNorm and InstanceNorm share: γ and β, the running statistics, their resets, the checks.

    The subclasses only say which input ranks they accept (``_dims``) and, for
    InstanceNorm, which rank is an unbatched input (``_unbatched``).
    """

    _dims = ()
    _unbatched = None

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device: str | None = None,
        dtype=None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        dtype = _dtype.as_dtype(dtype) or _dtype.float32
        self.num_features = _positive_int(type(self).__name__, "num_features", num_features)
        self.eps, self.momentum = eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        _affine_parameters(self, (num_features,), dtype, affine, bias)
        if track_running_stats:
            self.register_buffer("running_mean", Tensor(np.zeros(num_features, dtype)))
            self.register_buffer("running_var", Tensor(np.ones(num_features, dtype)))
            self.register_buffer("num_batches_tracked", Tensor(np.array(0, dtype=np.int64)))
        else:
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(name, None)
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        """running_mean ← 0, running_var ← 1, num_batches_tracked ← 0 (in place)."""
        if self.track_running_stats:
            self.running_mean.zero_()
            self.running_var.fill_(1)
            self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        """The running statistics, and γ ← 1, β ← 0."""
        self.reset_running_stats()
        _reset_affine(self)

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
            f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}"
        )

    def _check_input(self, input):
        """The rank, then the channel count (dim 1, or dim 0 of an unbatched input)."""
        if input.ndim not in self._dims:
            expected = " or ".join(f"{d}D" for d in self._dims)
            raise ValueError(f"expected {expected} input (got {input.ndim}D input)")
        dim = 0 if input.ndim == self._unbatched else 1
        if input.shape[dim] != self.num_features:
            raise ValueError(
                f"expected input's size at dim={dim} to match num_features ({self.num_features}), "
                f"but got: {input.shape[dim]}."
            )

    _version = 2  # version 2 added num_batches_tracked

    def _load_from_state_dict(
        self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
    ):
        """A checkpoint older than num_batches_tracked keeps this module's count (0 when fresh), as PyTorch."""
        key = prefix + "num_batches_tracked"
        if local_metadata.get("version", 1) < 2 and self.track_running_stats and key not in state_dict:
            state_dict[key] = self.num_batches_tracked.detach()
        return super()._load_from_state_dict(
            state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
        )

    def _momentum_factor(self):
        """The weight of this training batch in the running statistics (None: no update happens)."""
        if not (self.training and self.track_running_stats):
            return None
        if self.momentum is None:  # cumulative average: this is batch number num_batches_tracked + 1
            return 1.0 / (int(self.num_batches_tracked.data) + 1)
        return self.momentum

    def _count_batch(self, factor):
        # only after the call succeeded, so a call that raises leaves the count as it was
        if factor is not None and self.num_batches_tracked is not None:
            self.num_batches_tracked.add_(1)
            self.running_mean._bump()  # F.batch_norm wrote both in place
            self.running_var._bump()


class _BatchNorm(_NormBase):
    """Batch normalization: per channel, statistics over the batch and every spatial position."""

    def forward(self, input: Tensor) -> Tensor:
        self._check_input(input)
        factor = self._momentum_factor()
        # batch statistics when training, or when there are no running statistics to use
        bn_training = self.training or (self.running_mean is None and self.running_var is None)
        use_running = not self.training or self.track_running_stats
        out = F.batch_norm(
            input,
            self.running_mean if use_running else None,
            self.running_var if use_running else None,
            self.weight,
            self.bias,
            bn_training,
            0.0 if factor is None else factor,
            self.eps,
        )
        self._count_batch(factor)
        return out


class BatchNorm1d(_BatchNorm):
    """``BatchNorm1d(num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True)``.

    Input ``(N, C)`` or ``(N, C, L)``; per channel c, over the M = N·L values:
    y = γ_c·(x − μ_c)/√(σ²_c + ε) + β_c. The exact gradient is in ``F.batch_norm``.

    >>> import lucid
    >>> bn = lucid.nn.BatchNorm1d(2)
    >>> x = lucid.Tensor([[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]], requires_grad=True)
    >>> y = bn(x)
    >>> y.data.round(4)
    array([[[-1.2247,  0.    ,  1.2247],
            [-1.2247,  0.    ,  1.2247]]], dtype=float32)
    >>> bn.running_mean.data, bn.running_var.data, int(bn.num_batches_tracked.data)
    (array([0.2, 0.5], dtype=float32), array([1., 1.], dtype=float32), 1)
    """

    _dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """``BatchNorm2d(num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True)``.

    Input ``(N, C, H, W)``; statistics per channel over N·H·W values. See ``BatchNorm1d``.
    """

    _dims = (4,)


class BatchNorm3d(_BatchNorm):
    """``BatchNorm3d(num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True)``.

    Input ``(N, C, D, H, W)``; statistics per channel over N·D·H·W values. See ``BatchNorm1d``.
    """

    _dims = (5,)


class _InstanceNorm(_NormBase):
    """Instance normalization: per (instance, channel), statistics over the spatial positions.

    lucid's defaults are ``affine=True, track_running_stats=True`` (PyTorch's are False, False).
    With tracked statistics, each training call folds the mean over the batch of the
    instance statistics into them, and eval mode normalizes with them. Unlike PyTorch,
    ``momentum=None`` is a cumulative average and ``num_batches_tracked`` counts, as in
    BatchNorm; and a channel count other than ``num_features`` is always an error
    (PyTorch only warns when ``affine=False``).
    """

    def forward(self, input: Tensor) -> Tensor:
        self._check_input(input)
        unbatched = input.ndim == self._unbatched
        x = reshape(input, (1,) + input.shape) if unbatched else input
        factor = self._momentum_factor()
        use_input_stats = self.training or not self.track_running_stats
        track = self.track_running_stats
        out = F.instance_norm(
            x,
            self.running_mean if track else None,
            self.running_var if track else None,
            self.weight,
            self.bias,
            use_input_stats,
            0.0 if factor is None else factor,
            self.eps,
        )
        self._count_batch(factor)
        return reshape(out, input.shape) if unbatched else out


class InstanceNorm1d(_InstanceNorm):
    """``InstanceNorm1d(num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True)``.

    Input ``(N, C, L)`` or unbatched ``(C, L)``; per (n, c), over the M = L values:
    y = γ_c·(x − μ_nc)/√(σ²_nc + ε) + β_c. The exact gradient is in ``F.instance_norm``.

    >>> import lucid
    >>> norm = lucid.nn.InstanceNorm1d(2)
    >>> y = norm(lucid.Tensor([[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]]))
    >>> y.data.round(4)
    array([[[-1.2247,  0.    ,  1.2247],
            [-1.2247,  0.    ,  1.2247]]], dtype=float32)
    """

    _dims, _unbatched = (2, 3), 2


class InstanceNorm2d(_InstanceNorm):
    """``InstanceNorm2d(num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True)``.

    Input ``(N, C, H, W)`` or unbatched ``(C, H, W)``; statistics per (n, c) over H·W values.
    See ``InstanceNorm1d``.
    """

    _dims, _unbatched = (3, 4), 3


class InstanceNorm3d(_InstanceNorm):
    """``InstanceNorm3d(num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True)``.

    Input ``(N, C, D, H, W)`` or unbatched ``(C, D, H, W)``; statistics per (n, c) over D·H·W values.
    See ``InstanceNorm1d``.
    """

    _dims, _unbatched = (4, 5), 4


class LayerNorm(Module):
    """``LayerNorm(normalized_shape, eps=1e-5, elementwise_affine=True, bias=True)``.

    Normalizes over the last ``len(normalized_shape)`` dimensions of each input, with
    γ, β of shape ``normalized_shape`` (one per element). See ``F.layer_norm``.
    """

    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        device: str | None = None,
        dtype=None,
    ) -> None:
        super().__init__()
        self.normalized_shape = _shape_tuple("LayerNorm", normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        _affine_parameters(
            self, self.normalized_shape, _dtype.as_dtype(dtype) or _dtype.float32, elementwise_affine, bias
        )

    def reset_parameters(self) -> None:
        """γ ← 1, β ← 0."""
        _reset_affine(self)

    def forward(self, input: Tensor) -> Tensor:
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
            f"bias={self.bias is not None}"
        )


class GroupNorm(Module):
    """``GroupNorm(num_groups, num_channels, eps=1e-5, affine=True)``.

    Input ``(N, C, *)``; the C channels form ``num_groups`` groups, each normalized over its
    C/G channels and every position, with γ, β per channel. See ``F.group_norm``.
    """

    def __init__(
        self,
        num_groups: int,
        num_channels: int,
        eps: float = 1e-5,
        affine: bool = True,
        device: str | None = None,
        dtype=None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        num_groups = _positive_int("GroupNorm", "num_groups", num_groups)
        num_channels = _positive_int("GroupNorm", "num_channels", num_channels)
        if num_channels % num_groups:
            raise ValueError(f"num_channels ({num_channels}) must be divisible by num_groups ({num_groups})")
        self.num_groups, self.num_channels, self.eps, self.affine = num_groups, num_channels, eps, affine
        _affine_parameters(self, (num_channels,), _dtype.as_dtype(dtype) or _dtype.float32, affine, bias)

    def reset_parameters(self) -> None:
        """γ ← 1, β ← 0."""
        _reset_affine(self)

    def forward(self, input: Tensor) -> Tensor:
        if input.ndim < 2:
            raise ValueError(f"expected an input of at least 2 dimensions (N, C, *) (got {input.ndim}D input)")
        if input.shape[1] != self.num_channels:
            raise ValueError(
                f"expected input's size at dim=1 to match num_channels ({self.num_channels}), "
                f"but got: {input.shape[1]}."
            )
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
            f"bias={self.bias is not None}"
        )


class RMSNorm(Module):
    """``RMSNorm(normalized_shape, eps=None, elementwise_affine=True)``.

    y = γ·x/√(mean(x²) + ε) over the last ``len(normalized_shape)`` dimensions; ``eps=None``
    is the machine epsilon of the input's dtype. See ``F.rms_norm``.
    """

    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float | None = None,
        elementwise_affine: bool = True,
        device: str | None = None,
        dtype=None,
    ) -> None:
        super().__init__()
        self.normalized_shape = _shape_tuple("RMSNorm", normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        dtype = _dtype.as_dtype(dtype) or _dtype.float32
        self.register_parameter(
            "weight", Parameter(np.ones(self.normalized_shape, dtype)) if elementwise_affine else None
        )  # and no bias: RMSNorm only scales

    def reset_parameters(self) -> None:
        """γ ← 1, β ← 0."""
        _reset_affine(self)

    def forward(self, input: Tensor) -> Tensor:
        return F.rms_norm(input, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
