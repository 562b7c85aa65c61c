"""Data loading: ``Dataset``, ``TensorDataset`` and ``DataLoader``.

A dataset is anything with ``__len__`` and ``__getitem__(i)``; a DataLoader walks
it in batches, in order or shuffled, and stacks each field of the samples into
one Tensor (``default_collate``)::

    loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True, seed=0)
    for xb, yb in loader:      # xb: (32, ...), yb: (32,)
        ...
"""

import math
import numbers
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from . import random as _random
from ._tensor import Tensor
from .ops import stack

__all__ = ["Dataset", "TensorDataset", "DataLoader", "default_collate", "DistributedSampler"]


class Dataset:
    """Base class of map-style datasets: subclasses define ``__getitem__(index)`` and ``__len__()``."""

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__")


class TensorDataset(Dataset):
    """``TensorDataset(*tensors)``: sample ``i`` is ``(t[i] for t in tensors)``; all share their first dimension."""

    def __init__(self, *tensors: Tensor | np.ndarray) -> None:
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        tensors = tuple(t if isinstance(t, Tensor) else Tensor(t) for t in tensors)
        sizes = [t.shape[0] if t.ndim else None for t in tensors]
        if None in sizes or len(set(sizes)) != 1:
            raise ValueError(
                f"Size mismatch between tensors: every tensor needs the same first dimension "
                f"(got shapes {[tuple(t.shape) for t in tensors]})"
            )
        self.tensors = tensors

    def __getitem__(self, index: int) -> tuple[Tensor, ...]:
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]


def default_collate(batch: list) -> Any:
    """Stack a list of samples into a batch: Tensors and arrays are stacked along a new first axis, numbers
    become a 1-D Tensor (ints int64, floats float64, as PyTorch), and tuples, lists and dicts are collated
    field by field."""
    first = batch[0]
    if isinstance(first, Tensor):
        return stack(batch, 0)
    if isinstance(first, (np.ndarray, np.generic)) and not isinstance(first, (np.str_, np.bytes_)):
        return Tensor(np.stack([np.asarray(b) for b in batch]))
    if isinstance(first, bool):
        return Tensor(np.array(batch, dtype=np.bool_))
    if isinstance(first, numbers.Integral):
        return Tensor(np.array(batch, dtype=np.int64))
    if isinstance(first, numbers.Real):
        return Tensor(np.array(batch, dtype=np.float64))
    if isinstance(first, (str, bytes)):
        return list(batch)
    if isinstance(first, dict):
        return {k: default_collate([b[k] for b in batch]) for k in first}
    if isinstance(first, (tuple, list)):
        if any(len(b) != len(first) for b in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        fields = [default_collate(list(f)) for f in zip(*batch)]
        return tuple(fields) if isinstance(first, tuple) else fields
    raise TypeError(
        f"default_collate: batch must contain Tensors, arrays, numbers, str, dicts or lists "
        f"(got {type(first).__name__})"
    )


class DataLoader:
    """``DataLoader(dataset, batch_size=1, shuffle=False, drop_last=False, collate_fn=None, generator=None,
    seed=None)``.

    Each pass (``for batch in loader``) visits every sample once, in order, or in a new
    random order if ``shuffle``. The order comes from ``generator`` (a
    ``numpy.random.Generator``), or from a generator made from ``seed``, or else from
    lucid's global generator (``lucid.manual_seed``). The last, smaller batch is kept
    unless ``drop_last``. ``batch_size=None`` yields single samples, not collated.
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: int | None = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        collate_fn: Callable[[list], Any] | None = None,
        generator: np.random.Generator | None = None,
        seed: int | None = None,
    ) -> None:
        # PyTorch's checks and messages; a bool is not a number of samples
        if batch_size is not None and (type(batch_size) is bool or not isinstance(batch_size, int) or batch_size < 1):
            raise ValueError(f"batch_size should be a positive integer value, but got batch_size={batch_size}")
        if batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually exclusive with drop_last")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last}")
        if not (hasattr(dataset, "__getitem__") and hasattr(dataset, "__len__")):
            raise TypeError(f"DataLoader: dataset must support indexing and len() (got {type(dataset).__name__})")
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError(f"DataLoader: collate_fn must be callable (got {type(collate_fn).__name__})")
        if generator is not None and seed is not None:
            raise ValueError("DataLoader: give a generator or a seed, not both")
        if generator is not None and not isinstance(generator, np.random.Generator):
            raise TypeError(f"DataLoader: generator must be a numpy.random.Generator (got {type(generator).__name__})")
        if seed is not None and (type(seed) is bool or not isinstance(seed, int) or seed < 0):
            raise ValueError(f"DataLoader: seed should be a non-negative integer, but got seed={seed!r}")
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = bool(shuffle)
        self.drop_last = drop_last
        self.collate_fn = default_collate if collate_fn is None else collate_fn
        self.generator = np.random.default_rng(seed) if seed is not None else generator

    def _order(self):
        n = len(self.dataset)
        if not self.shuffle:
            return np.arange(n)
        rng = self.generator if self.generator is not None else _random.generator()
        return rng.permutation(n)

    def __iter__(self) -> Iterator[Any]:
        order = self._order()
        if self.batch_size is None:
            for i in order:
                yield self.dataset[int(i)]
            return
        stop = len(self) * self.batch_size if self.drop_last else len(order)
        for start in range(0, stop, self.batch_size):
            idx = order[start : start + self.batch_size]
            yield self.collate_fn([self.dataset[int(i)] for i in idx])

    def __len__(self) -> int:
        n = len(self.dataset)
        if self.batch_size is None:
            return n
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)


class DistributedSampler:
    """``DistributedSampler(dataset, num_replicas=None, rank=None, shuffle=True, seed=0, drop_last=False)``.

    The indices of ``dataset`` that rank ``rank`` of ``num_replicas`` visits in one epoch,
    partitioned as PyTorch does: the (shuffled) indices are padded by repeating the first ones
    (or, with ``drop_last``, cut) to ``num_samples·num_replicas``, and rank r takes every
    ``num_replicas``-th one from position r. Every rank has ``num_samples`` indices. The shuffle
    is ``numpy.random.default_rng(seed + epoch).permutation`` (the same on every rank; not
    PyTorch's generator, so not PyTorch's order). Call ``set_epoch(e)`` before each epoch to
    get a new order. ``num_replicas`` and ``rank`` default to the process group's.

    Iterate it for the indices, e.g. ``x[np.fromiter(sampler, int)]``.
    """

    def __init__(
        self,
        dataset: Any,
        num_replicas: int | None = None,
        rank: int | None = None,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
    ) -> None:
        if num_replicas is None or rank is None:
            from . import distributed as dist

            if not dist.is_initialized():
                raise RuntimeError(
                    "DistributedSampler: give num_replicas and rank, or call "
                    "lucid.distributed.init_process_group() first"
                )
            num_replicas = dist.get_world_size() if num_replicas is None else num_replicas
            rank = dist.get_rank() if rank is None else rank
        if isinstance(num_replicas, bool) or not isinstance(num_replicas, numbers.Integral) or num_replicas < 1:
            raise ValueError(f"DistributedSampler: num_replicas must be a positive integer (got {num_replicas!r})")
        if isinstance(rank, bool) or not isinstance(rank, numbers.Integral) or not 0 <= rank < num_replicas:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]")
        self.dataset, self.num_replicas, self.rank = dataset, int(num_replicas), int(rank)
        self.shuffle, self.seed, self.drop_last, self.epoch = bool(shuffle), int(seed), bool(drop_last), 0
        n = len(dataset)
        if self.drop_last and n % self.num_replicas:
            self.num_samples = math.ceil((n - self.num_replicas) / self.num_replicas)
        else:
            self.num_samples = math.ceil(n / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas

    def __iter__(self) -> Iterator[int]:
        n = len(self.dataset)
        order = np.random.default_rng(self.seed + self.epoch).permutation(n) if self.shuffle else np.arange(n)
        if self.drop_last:
            order = order[: self.total_size]
        elif self.total_size > n:  # pad with the first indices, repeated as often as needed
            order = np.concatenate([order, np.resize(order, self.total_size - n)])
        return iter(order[self.rank : self.total_size : self.num_replicas].tolist())

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """The epoch whose order the next iteration uses (shuffle seed: ``seed + epoch``)."""
        self.epoch = int(epoch)
