"""``SyncBatchNorm``: BatchNorm whose training statistics span every process of a group.

In training, with more than one rank, the mean and variance of each channel are those
of the whole batch, every rank's part together (``F.sync_batch_norm``: an exact Chan
merge forward, one all-reduce of the two backward sums). In eval mode, or on one
process, it is plain BatchNorm and communicates nothing. Its state dict has
BatchNorm's keys (``weight``, ``bias``, ``running_mean``, ``running_var``,
``num_batches_tracked``), so a checkpoint moves between the two.
"""

from numpy.typing import DTypeLike

from ... import distributed as dist
from ..._tensor import Tensor
from ..functional.sync_batch_norm import sync_batch_norm
from ..module import Module
from .normalization import _BatchNorm

__all__ = ["SyncBatchNorm"]


class SyncBatchNorm(_BatchNorm):
    """``SyncBatchNorm(num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
    process_group=None)``.

    Input ``(N, C, *)``; per channel c, over the M values of c on every rank of
    ``process_group`` (default: the default group): y = γ_c·(x − μ_c)/√(σ²_c + ε) + β_c.
    Every rank must call it in the same order; a rank's N may be 0.
    """

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        process_group: dist.ProcessGroup | None = None,
        device: str | None = None,
        dtype: DTypeLike | None = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype, bias=bias)
        self.process_group = process_group

    def _check_input(self, input):
        if input.ndim < 2:
            raise ValueError(f"expected at least 2D input (got {input.ndim}D input)")
        if input.shape[1] == 0:
            raise ValueError("SyncBatchNorm number of input channels should be non-zero")
        if input.shape[1] != self.num_features:
            raise ValueError(
                f"expected input's size at dim=1 to match num_features ({self.num_features}), "
                f"but got: {input.shape[1]}."
            )

    def _world_size(self):
        if self.process_group is not None:
            return self.process_group.size
        return dist.get_world_size() if dist.is_initialized() else 1

    def forward(self, input: Tensor) -> Tensor:
        if not self.training or self._world_size() == 1:
            return super().forward(input)  # plain BatchNorm: nothing to synchronize
        self._check_input(input)
        factor = self._momentum_factor()
        track = self.track_running_stats
        out = sync_batch_norm(
            input,
            self.running_mean if track else None,
            self.running_var if track else None,
            self.weight,
            self.bias,
            0.0 if factor is None else factor,
            self.eps,
            self.process_group,
        )
        self._count_batch(factor)
        return out

    @classmethod
    def convert_sync_batchnorm(cls, module: Module, process_group: dist.ProcessGroup | None = None) -> Module:
        """``module`` with every BatchNorm*D inside it replaced by a SyncBatchNorm that shares its
        parameters and buffers (the same Tensors) and its train/eval mode. Returns the new root."""
        out = module
        if isinstance(module, _BatchNorm):
            out = cls(
                module.num_features,
                module.eps,
                module.momentum,
                module.affine,
                module.track_running_stats,
                process_group,
                bias=module.bias is not None,
            )
            if module.affine:
                out.weight = module.weight
                out.bias = module.bias
            out.running_mean = module.running_mean
            out.running_var = module.running_var
            out.num_batches_tracked = module.num_batches_tracked
            out.training = module.training
        for name, child in module.named_children():
            out.add_module(name, cls.convert_sync_batchnorm(child, process_group))
        return out
