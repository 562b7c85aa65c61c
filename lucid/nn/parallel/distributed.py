"""``DistributedDataParallel``: one replica of the model per rank, gradients averaged after each backward.

Every rank runs the same model on its own part of the batch. At construction the
parameters and buffers of rank 0 are copied to every rank, so all replicas start equal.
A backward through the wrapper's output ends with the gradients averaged over the ranks,

    p.grad ← (1/W)·Σ_r p.grad_r

so an optimizer step keeps the replicas equal, bit for bit. The gradients travel in
buckets: parameters of one dtype are packed, in reverse registration order, into flat
arrays of at most ``bucket_cap_mb`` MiB, one ``Allreduce`` each, after one small
all-reduce that says which parameters got a gradient on some rank (those that got none
anywhere keep ``grad = None``; where only some ranks got one, the others count zeros).

``state_dict()`` and ``load_state_dict()`` are the wrapped module's, without PyTorch's
``module.`` prefix, so a checkpoint loads into the bare model; ``load_state_dict``
also accepts keys that all start with ``module.`` (a PyTorch DDP checkpoint).
"""

import contextlib
import zlib
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from ... import distributed as dist
from ..._tensor import Tensor
from ...autograd.engine import queue_callback
from ...autograd.function import Function
from ...autograd.grad_mode import is_grad_enabled
from ...distributed import collectives
from ..module import Module, _IncompatibleKeys

__all__ = ["DistributedDataParallel"]


class _Bucket:
    """Parameters of one dtype packed into one flat array: ``params[i]`` is ``flat[offsets[i]:offsets[i + 1]]``."""

    def __init__(self, params, dtype):
        self.params = params
        self.offsets = np.cumsum([0] + [p.data.size for p in params])
        self.flat = np.empty(self.offsets[-1], dtype=np.float32 if dtype == np.float16 else dtype)


def _buckets(tensors, cap_bytes):
    """``tensors`` grouped by dtype, in the order given, cut into buckets of at most ``cap_bytes``."""
    by_dtype = {}
    for t in tensors:
        by_dtype.setdefault(t.data.dtype, []).append(t)
    out = []
    for dtype, group in by_dtype.items():
        current, size = [], 0
        for t in group:
            if current and size + t.data.nbytes > cap_bytes:
                out.append(_Bucket(current, dtype))
                current, size = [], 0
            current.append(t)
            size += t.data.nbytes
        out.append(_Bucket(current, dtype))
    return out


def _broadcast_from_rank0(buckets, group):
    """Every tensor of ``buckets`` ← rank 0's, one ``Bcast`` per bucket."""
    for b in buckets:
        for t, lo, hi in zip(b.params, b.offsets, b.offsets[1:]):
            b.flat[lo:hi] = t.data.reshape(-1)
        group.comm.Bcast(b.flat, root=0)
        for t, lo, hi in zip(b.params, b.offsets, b.offsets[1:]):
            t.data[...] = b.flat[lo:hi].reshape(t.data.shape)


class _SyncAfterBackward(Function):
    """The identity on the model's output; its backward asks for the gradient average at the end of the pass."""

    saves = ()

    @staticmethod
    def forward(ctx, x, *, ddp):
        ctx.ddp = ddp
        return x.view()  # a view: the output shares the input's memory, and so its version counter

    @staticmethod
    def backward(ctx, g):
        ctx.ddp._queue_sync()
        return g


class DistributedDataParallel(Module):
    """``DistributedDataParallel(module, device_ids=None, broadcast_buffers=True, process_group=None,
    bucket_cap_mb=25)``: data parallel training of ``module`` (see the module docstring).

    ``broadcast_buffers``: before each training forward, rank 0's buffers (BatchNorm's running
    statistics) are copied to every rank. ``no_sync()``: backwards inside it only accumulate
    local gradients; the next backward outside averages the accumulated sum.
    """

    def __init__(
        self,
        module: Module,
        device_ids: list[int] | None = None,
        broadcast_buffers: bool = True,
        process_group: dist.ProcessGroup | None = None,
        bucket_cap_mb: float = 25,
    ) -> None:
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: expected a lucid.nn.Module (got {type(module).__name__})")
        if device_ids is not None:
            raise ValueError(f"DistributedDataParallel: device_ids must be None on the CPU (got {device_ids!r})")
        if not bucket_cap_mb > 0:
            raise ValueError(f"DistributedDataParallel: bucket_cap_mb must be positive (got {bucket_cap_mb!r})")
        group = dist.process_group.default_group(process_group)
        self.module = module
        self.process_group = group
        self.broadcast_buffers = broadcast_buffers
        self.require_backward_grad_sync = True
        self._params = [p for p in module.parameters() if p.requires_grad]
        cap = int(bucket_cap_mb * 2**20)
        # reverse order: the last layers' gradients are the first to be ready in a backward pass
        self._grad_buckets = _buckets(list(reversed(self._params)), cap)
        self._buffer_buckets = _buckets([b for b in module.buffers() if b is not None], cap)
        self._sync_queued = False
        if group.comm is not None:
            self._check_same_model()
            _broadcast_from_rank0(_buckets(list(module.parameters()), cap) + self._buffer_buckets, group)

    def _check_same_model(self):
        """Raise on every rank (never hang) when the ranks' models differ in their parameters' shapes."""
        shapes = ";".join(f"{p.data.dtype}{p.data.shape}" for p in self.module.parameters())
        mine = np.array([len(shapes), zlib.crc32(shapes.encode())], dtype=np.int64)
        low, high = mine.copy(), mine.copy()
        collectives.allreduce_(low, self.process_group, dist.ReduceOp.MIN)
        collectives.allreduce_(high, self.process_group, dist.ReduceOp.MAX)
        if not np.array_equal(low, high):
            raise RuntimeError(
                "DistributedDataParallel: the ranks' models differ (parameter shapes or dtypes "
                "are not the same on every rank); build the same model on every rank"
            )

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        group = self.process_group
        if self.training and self.broadcast_buffers and group.comm is not None:
            _broadcast_from_rank0(self._buffer_buckets, group)
        out = self.module(*inputs, **kwargs)
        if not (self.require_backward_grad_sync and is_grad_enabled() and group.comm is not None):
            return out
        return _map_tensors(out, lambda t: _SyncAfterBackward.apply(t, ddp=self) if t.requires_grad else t)

    def _queue_sync(self):
        if not self._sync_queued:
            self._sync_queued = True
            queue_callback(self._average_gradients)

    def _average_gradients(self):
        """p.grad ← mean over the ranks of p.grad, bucket by bucket (module docstring)."""
        self._sync_queued = False
        group = self.process_group
        got = np.array([p.grad is not None for p in self._params], dtype=np.int32)
        collectives.allreduce_(got, group)
        anywhere = {id(p) for p, n in zip(self._params, got) if n}
        for b in self._grad_buckets:
            for p, lo, hi in zip(b.params, b.offsets, b.offsets[1:]):
                b.flat[lo:hi] = 0 if p.grad is None else p.grad.reshape(-1)
            collectives.allreduce_(b.flat, group, dist.ReduceOp.AVG)
            for p, lo, hi in zip(b.params, b.offsets, b.offsets[1:]):
                if id(p) in anywhere:
                    p.grad = b.flat[lo:hi].reshape(p.data.shape).astype(p.data.dtype)

    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Backwards inside only accumulate each rank's own gradients (no communication)."""
        before = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = before

    def state_dict(
        self, destination: dict | None = None, prefix: str = "", keep_vars: bool = False
    ) -> OrderedDict[str, Tensor]:
        """The wrapped module's state dict (no ``module.`` prefix)."""
        return self.module.state_dict(destination, prefix, keep_vars)

    def load_state_dict(self, state_dict: Mapping[str, Tensor | np.ndarray], strict: bool = True) -> _IncompatibleKeys:
        """Load into the wrapped module; keys that all start with ``module.`` lose that prefix first."""
        keys = list(state_dict)
        if keys and all(k.startswith("module.") for k in keys):
            state_dict = {k[len("module.") :]: v for k, v in state_dict.items()}
        return self.module.load_state_dict(state_dict, strict)


def _map_tensors(obj, fn):
    """``obj`` with ``fn`` applied to every Tensor inside (tuples, lists and dicts followed)."""
    if isinstance(obj, Tensor):
        return fn(obj)
    if isinstance(obj, (tuple, list)):
        return type(obj)(_map_tensors(o, fn) for o in obj)
    if isinstance(obj, dict):
        return {k: _map_tensors(v, fn) for k, v in obj.items()}
    return obj
